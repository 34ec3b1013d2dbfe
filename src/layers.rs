//! Layers that own parameters (and buffers), with PyTorch's layout and default init.

use crate::error::Result;
use crate::ops::conv::Conv2dGeom;
use crate::params::{BufferId, ParamId, Params};
use crate::real::Real;
use crate::tape::{NodeId, Phase, Tape};
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

/// A convolution layer, stored as `<name>.weight` `[out, in, k, k]` and
/// `<name>.bias` `[out]` like `torch.nn.Conv2d` (on the tape the weight is
/// `[out, in·k·k]`, one filter a row: the same numbers in the same order).
#[derive(Clone, Copy, Debug)]
pub struct Conv2d {
    pub weight: ParamId,
    pub bias: Option<ParamId>,
    pub geom: Conv2dGeom,
}

impl Conv2d {
    /// Adds the layer's parameters, both drawn from U(−1/√fan_in, 1/√fan_in)
    /// with fan_in = in·k·k, as PyTorch does by default (its Kaiming-uniform
    /// init with a = √5 comes to that bound).
    pub fn new<T: Real, R: rand::Rng + ?Sized>(
        params: &mut Params<T>,
        name: &str,
        geom: Conv2dGeom,
        bias: bool,
        rng: &mut R,
    ) -> Result<Self> {
        geom.validate()?;
        let bound = 1.0 / (geom.patch() as f64).sqrt();
        let mut draw = || T::from_f64(rng.random_range(-bound..bound));
        let w = Tensor::from_fn(geom.out_c, geom.patch(), |_, _| draw());
        let dims = vec![geom.out_c, geom.in_c, geom.kernel, geom.kernel];
        let weight = params.add_with_dims(format!("{name}.weight"), w, dims)?;
        let bias = if bias {
            let b = Tensor::from_fn(1, geom.out_c, |_, _| draw());
            Some(params.add_with_dims(format!("{name}.bias"), b, vec![geom.out_c])?)
        } else {
            None
        };
        Ok(Conv2d { weight, bias, geom })
    }

    /// Records the layer on `tape` for the batch `x` `[batch, in·h·w]`.
    pub fn forward<T: Real>(
        &self,
        tape: &mut Tape<T>,
        params: &Params<T>,
        x: NodeId,
    ) -> Result<NodeId> {
        tape.conv2d_param(params, x, self.weight, self.bias, self.geom)
    }
}

/// A batch-norm layer over `channels` planes of `spatial` values (`spatial`
/// 1: the features of `[n, f]`), stored like `torch.nn.BatchNorm1d/2d`:
/// parameters `<name>.weight` (γ, ones) and `<name>.bias` (β, zeros), buffers
/// `<name>.running_mean` (zeros) and `<name>.running_var` (ones), all `[channels]`.
#[derive(Clone, Copy, Debug)]
pub struct BatchNorm {
    pub weight: ParamId,
    pub bias: ParamId,
    pub running_mean: BufferId,
    pub running_var: BufferId,
    pub channels: usize,
    pub spatial: usize,
}

impl BatchNorm {
    /// Adds the layer's parameters and buffers with PyTorch's initial values.
    pub fn new<T: Real>(
        params: &mut Params<T>,
        name: &str,
        channels: usize,
        spatial: usize,
    ) -> Result<Self> {
        let row = |v: f64| Tensor::from_fn(1, channels, |_, _| T::from_f64(v));
        let dims = || vec![channels];
        Ok(BatchNorm {
            weight: params.add_with_dims(format!("{name}.weight"), row(1.0), dims())?,
            bias: params.add_with_dims(format!("{name}.bias"), row(0.0), dims())?,
            running_mean: params.add_buffer(format!("{name}.running_mean"), row(0.0), dims())?,
            running_var: params.add_buffer(format!("{name}.running_var"), row(1.0), dims())?,
            channels,
            spatial,
        })
    }

    /// Records the layer on `tape` (updating the running statistics in training).
    pub fn forward<T: Real>(
        &self,
        tape: &mut Tape<T>,
        params: &mut Params<T>,
        x: NodeId,
        phase: Phase,
    ) -> Result<NodeId> {
        let gamma = tape.param(params, self.weight);
        let beta = tape.param(params, self.bias);
        let stats = params.bn_stats(self.running_mean, self.running_var)?;
        tape.batch_norm(x, gamma, beta, stats, self.channels, self.spatial, phase)
    }
}
