//! Layers that own parameters, with PyTorch's layout and default init.

use crate::error::Result;
use crate::params::{ParamId, Params};
use crate::real::Real;
use crate::tape::{NodeId, Tape};
use crate::tensor::Tensor;
use rand::RngExt;

/// A fully connected layer `y = x · Wᵀ + b`, W `[out, in]`, b `[out]`,
/// stored as `<name>.weight` and `<name>.bias` like `torch.nn.Linear`.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    pub weight: ParamId,
    pub bias: Option<ParamId>,
    pub in_features: usize,
    pub out_features: usize,
}

impl Linear {
    /// Adds the layer's parameters to `params`, both drawn from
    /// U(−1/√in, 1/√in) as PyTorch does by default. Values are drawn in f64 and
    /// rounded, so an f32 and an f64 net from the same seed agree.
    pub fn new<T: Real, R: rand::Rng + ?Sized>(
        params: &mut Params<T>,
        name: &str,
        in_features: usize,
        out_features: usize,
        bias: bool,
        rng: &mut R,
    ) -> Result<Self> {
        let bound = 1.0 / (in_features.max(1) as f64).sqrt();
        let mut draw = || T::from_f64(rng.random_range(-bound..bound));
        let w = Tensor::from_fn(out_features, in_features, |_, _| draw());
        let weight = params.add(format!("{name}.weight"), w)?;
        let bias = if bias {
            let b = Tensor::from_fn(1, out_features, |_, _| draw());
            Some(params.add_with_dims(format!("{name}.bias"), b, vec![out_features])?)
        } else {
            None
        };
        Ok(Linear {
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// Records the layer on `tape` for the batch `x` `[batch, in]`.
    pub fn forward<T: Real>(
        &self,
        tape: &mut Tape<T>,
        params: &Params<T>,
        x: NodeId,
    ) -> Result<NodeId> {
        tape.linear_param(params, x, self.weight, self.bias)
    }
}
