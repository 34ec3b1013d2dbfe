//! The named parameter store: values and their gradients, outside any tape;
//! beside them, named buffers: state a layer keeps that is not trained (batch
//! norm's running statistics), saved with the weights but never given a
//! gradient or seen by an optimizer.

use crate::error::{Error, Result};
use crate::ops::batch_norm::BnStats;
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

/// Index of a buffer in a [`Params`] store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BufferId(u32);

impl BufferId {
    /// Position among the store's buffers (creation order).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One named buffer: state that is saved but not trained.
#[derive(Clone, Debug)]
pub struct Buffer<T> {
    /// e.g. `bn1.running_mean`
    pub name: String,
    /// The shape a file format should record.
    pub dims: Vec<usize>,
    pub value: Tensor<T>,
}

/// Parameters in creation order, addressed by [`ParamId`] or by name, and
/// the buffers (addressed by [`BufferId`]): [`Params::iter`] and the
/// optimizers see the parameters only.
#[derive(Clone, Debug, Default)]
pub struct Params<T> {
    items: Vec<Param<T>>,
    buffers: Vec<Buffer<T>>,
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
            buffers: Vec::new(),
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
        self.check_new(&name, &dims, value.len())?;
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

    /// A name not taken (by a parameter or a buffer), and dims that fit.
    fn check_new(&self, name: &str, dims: &[usize], len: usize) -> Result<()> {
        if self.id(name).is_some() || self.buffer_id(name).is_some() {
            return Err(Error::DuplicateParam(name.to_string()));
        }
        if dims.iter().product::<usize>() != len {
            return Err(Error::Invalid(format!(
                "parameter `{name}`: dims {dims:?} do not match {len} elements"
            )));
        }
        Ok(())
    }

    /// Adds a buffer recorded in files with the shape `dims`.
    pub fn add_buffer(
        &mut self,
        name: impl Into<String>,
        value: Tensor<T>,
        dims: Vec<usize>,
    ) -> Result<BufferId> {
        let name = name.into();
        self.check_new(&name, &dims, value.len())?;
        self.buffers.push(Buffer { name, dims, value });
        Ok(BufferId(self.buffers.len() as u32 - 1))
    }

    /// The id of the buffer called `name`.
    pub fn buffer_id(&self, name: &str) -> Option<BufferId> {
        self.buffers
            .iter()
            .position(|b| b.name == name)
            .map(|i| BufferId(i as u32))
    }

    pub fn buffer(&self, id: BufferId) -> &Buffer<T> {
        &self.buffers[id.index()]
    }

    /// A buffer to change. Leaves the version alone: no op reads a buffer
    /// in place after recording it.
    pub fn buffer_mut(&mut self, id: BufferId) -> &mut Buffer<T> {
        &mut self.buffers[id.index()]
    }

    /// The buffers, in creation order.
    pub fn buffers(&self) -> impl Iterator<Item = &Buffer<T>> {
        self.buffers.iter()
    }

    /// The buffers, to load or change.
    pub fn buffers_mut(&mut self) -> impl Iterator<Item = &mut Buffer<T>> {
        self.buffers.iter_mut()
    }

    /// The running statistics of a batch-norm layer, from its two buffers
    /// (which must differ).
    pub fn bn_stats(&mut self, mean: BufferId, var: BufferId) -> Result<BnStats<'_, T>> {
        let (i, j) = (mean.index(), var.index());
        if i == j || i.max(j) >= self.buffers.len() {
            return Err(Error::Invalid(
                "batch_norm needs two distinct buffers of this store".into(),
            ));
        }
        let (lo, hi) = self.buffers.split_at_mut(i.max(j));
        let (a, b) = (&mut lo[i.min(j)], &mut hi[0]);
        let (m, v) = if i < j { (a, b) } else { (b, a) };
        Ok(BnStats {
            running_mean: m.value.as_mut_slice(),
            running_var: v.value.as_mut_slice(),
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_share_the_names_but_stay_out_of_the_parameters() {
        let mut p = Params::<f32>::new();
        p.add("bn.weight", Tensor::zeros(1, 2)).unwrap();
        let m = p
            .add_buffer("bn.running_mean", Tensor::zeros(1, 2), vec![2])
            .unwrap();
        let v = p
            .add_buffer("bn.running_var", Tensor::zeros(1, 2), vec![2])
            .unwrap();
        assert!(p.add("bn.running_mean", Tensor::zeros(1, 1)).is_err());
        assert!(
            p.add_buffer("bn.weight", Tensor::zeros(1, 1), vec![1])
                .is_err()
        );
        assert_eq!((p.len(), p.count(), p.iter().count()), (1, 2, 1));
        let version = p.version();
        // the first id is the mean, whichever buffer comes first in the store
        let s = p.bn_stats(v, m).unwrap();
        s.running_mean[0] = 7.0;
        let s = p.bn_stats(m, v).unwrap();
        s.running_mean[1] = 3.0;
        assert_eq!(p.buffer(v).value.as_slice(), &[7.0, 0.0]);
        assert_eq!(p.buffer(m).value.as_slice(), &[0.0, 3.0]);
        assert_eq!(p.version(), version, "buffers are not read in place by ops");
        assert!(p.bn_stats(m, m).is_err());
        let names: Vec<&str> = p.buffers().map(|b| b.name.as_str()).collect();
        assert_eq!(names, ["bn.running_mean", "bn.running_var"]);
    }
}
