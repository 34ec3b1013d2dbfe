//! The named parameter store: values and their gradients, outside any tape.

use crate::error::{Error, Result};
use crate::real::Real;
use crate::tensor::Tensor;

/// Index of a parameter in a [`Params`] store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParamId(pub(crate) u32);

impl ParamId {
    /// Position in the store (creation order).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One named parameter.
#[derive(Clone, Debug)]
pub struct Param<T> {
    /// e.g. `h1.weight`
    pub name: String,
    /// The shape a file format should record (a bias is `[out]`, not `[1, out]`).
    pub dims: Vec<usize>,
    pub value: Tensor<T>,
    /// Accumulated by [`crate::Tape::backward`]; reset with [`Params::zero_grads`].
    pub grad: Tensor<T>,
}

/// Parameters in creation order, addressed by [`ParamId`] or by name.
#[derive(Clone, Debug, Default)]
pub struct Params<T> {
    items: Vec<Param<T>>,
    /// Changes whenever the values may have changed (any mutable access but
    /// to the gradients), to a number never used before by any store: a tape
    /// that reads values straight from the store checks it at backward.
    version: u64,
}

/// A fresh [`Params`] version, unique in the process.
fn next_version() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl<T: Real> Params<T> {
    pub fn new() -> Self {
        Params {
            items: Vec::new(),
            version: next_version(),
        }
    }

    /// Adds a parameter; its external shape is `[rows, cols]`.
    pub fn add(&mut self, name: impl Into<String>, value: Tensor<T>) -> Result<ParamId> {
        let dims = vec![value.rows(), value.cols()];
        self.add_with_dims(name, value, dims)
    }

    /// Adds a parameter recorded in files with the shape `dims`
    /// (whose product must be its length).
    pub fn add_with_dims(
        &mut self,
        name: impl Into<String>,
        value: Tensor<T>,
        dims: Vec<usize>,
    ) -> Result<ParamId> {
        let name = name.into();
        if self.id(&name).is_some() {
            return Err(Error::DuplicateParam(name));
        }
        if dims.iter().product::<usize>() != value.len() {
            return Err(Error::Invalid(format!(
                "parameter `{name}`: dims {dims:?} do not match {} elements",
                value.len()
            )));
        }
        let grad = Tensor::zeros(value.rows(), value.cols());
        self.version = next_version();
        self.items.push(Param {
            name,
            dims,
            value,
            grad,
        });
        Ok(ParamId(self.items.len() as u32 - 1))
    }

    /// The id of the parameter called `name`.
    pub fn id(&self, name: &str) -> Option<ParamId> {
        self.items
            .iter()
            .position(|p| p.name == name)
            .map(|i| ParamId(i as u32))
    }

    pub fn get(&self, id: ParamId) -> &Param<T> {
        &self.items[id.index()]
    }
    pub fn get_mut(&mut self, id: ParamId) -> &mut Param<T> {
        self.version = next_version();
        &mut self.items[id.index()]
    }
    pub fn value(&self, id: ParamId) -> &Tensor<T> {
        &self.items[id.index()].value
    }
    pub fn grad(&self, id: ParamId) -> &Tensor<T> {
        &self.items[id.index()].grad
    }
    pub fn name(&self, id: ParamId) -> &str {
        &self.items[id.index()].name
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Total number of scalar parameters.
    pub fn count(&self) -> usize {
        self.items.iter().map(|p| p.value.len()).sum()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Param<T>> {
        self.items.iter()
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Param<T>> {
        self.version = next_version();
        self.items.iter_mut()
    }
    pub fn ids(&self) -> impl Iterator<Item = ParamId> + use<T> {
        (0..self.items.len() as u32).map(ParamId)
    }

    /// Changes with every mutable access that can reach the values.
    pub(crate) fn version(&self) -> u64 {
        self.version
    }

    /// The value (read) and gradient (write) of one parameter, leaving the
    /// version alone: for backward, which only adds to gradients.
    pub(crate) fn value_and_grad(&mut self, id: ParamId) -> (&Tensor<T>, &mut Tensor<T>) {
        let p = &mut self.items[id.index()];
        (&p.value, &mut p.grad)
    }

    /// Sets every gradient to zero (gradients accumulate across backward passes).
    pub fn zero_grads(&mut self) {
        for p in &mut self.items {
            p.grad.as_mut_slice().fill(T::ZERO);
        }
    }
}
