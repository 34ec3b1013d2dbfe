//! Optimizers over a [`Params`] store: SGD and Adam/AdamW, as PyTorch defines them.
//!
//! Each update follows PyTorch's single-tensor (`foreach=False`) code path step by
//! step, so the order of the floating-point operations is PyTorch's: hyper-parameter
//! scalars are computed in f64 (as Python does) and rounded to `T` once, the
//! per-element arithmetic runs in `T`. An optimizer reads each parameter's `grad`
//! and never zeroes it (call [`Params::zero_grads`]); its state buffers are
//! allocated on the first step, sized from the store, and reused after that, so a
//! step in the steady state does not allocate.
//!
//! Unlike PyTorch, every parameter has a gradient (zero if unused), so every
//! parameter takes part in every step and one step count serves them all.
//!
//! ```
//! use netc::optim::{Optimizer, SgdConfig};
//! use netc::{Params, Tensor};
//!
//! let mut params = Params::<f32>::new();
//! let w = params.add("w", Tensor::from_vec(1, 2, vec![1.0, -1.0])?)?;
//! let config = SgdConfig { momentum: 0.9, ..SgdConfig::new(0.5) };
//! let mut sgd = Optimizer::sgd(config).expect("valid settings");
//! params.get_mut(w).grad.as_mut_slice().copy_from_slice(&[0.5, 0.25]);
//! sgd.step(&mut params).expect("the store did not change");
//! // The first momentum buffer is the gradient itself: p - lr·g.
//! assert_eq!(params.value(w).as_slice(), &[0.75, -1.125]);
//! # Ok::<(), netc::Error>(())
//! ```

mod adam;
mod clip;
mod max_norm;
pub mod schedule;
mod sgd;
mod state;

pub use adam::{Adam, AdamConfig};
pub use clip::clip_grad_norm;
pub use max_norm::constrain_rows;
pub(crate) use max_norm::part_of;
pub use schedule::{Decay, MomentumRamp, Schedule};
pub use sgd::{Sgd, SgdConfig};
pub use state::{OptimState, StateBuffer};

use crate::params::{ParamId, Params};
use crate::range::Range;
use crate::real::Real;
use thiserror::Error;

/// What can go wrong when building, stepping or restoring an optimizer.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum OptimError {
    /// A hyper-parameter is out of its range.
    #[error("{optimizer}: {setting} must be {rule}, got {value}")]
    BadSetting {
        optimizer: &'static str,
        setting: &'static str,
        rule: &'static str,
        value: f64,
    },
    /// Nesterov momentum without momentum, or with dampening.
    #[error(
        "sgd: nesterov momentum needs momentum > 0 and dampening = 0 \
         (got momentum {momentum}, dampening {dampening})"
    )]
    Nesterov { momentum: f64, dampening: f64 },
    /// The store no longer has the layout the state was sized from.
    #[error("{optimizer}: the parameter store changed after the first step: {detail}")]
    StoreChanged {
        optimizer: &'static str,
        detail: String,
    },
    /// An imported state does not fit the parameters (every problem listed).
    #[error("{optimizer}: the saved state does not fit the parameters: {}", .problems.join("; "))]
    BadState {
        optimizer: &'static str,
        problems: Vec<String>,
    },
}

/// The settings of one of the supported optimizers, chosen at run time
/// (e.g. from a `.net` file).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerConfig {
    /// `torch.optim.SGD`.
    Sgd(SgdConfig),
    /// `torch.optim.Adam` or `torch.optim.AdamW` (per `decoupled`).
    Adam(AdamConfig),
}

impl OptimizerConfig {
    /// `"sgd"`, `"adam"` or `"adamw"`.
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd(_) => sgd::NAME,
            OptimizerConfig::Adam(a) => a.name(),
        }
    }

    /// The learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Sgd(s) => s.lr,
            OptimizerConfig::Adam(a) => a.lr,
        }
    }

    /// How many values of state it keeps per parameter (for memory estimates).
    pub fn slots(&self) -> usize {
        match self {
            OptimizerConfig::Sgd(s) => usize::from(s.momentum != 0.0),
            OptimizerConfig::Adam(_) => 2,
        }
    }

    /// Checks every setting (each rule is the config type's own).
    pub fn validate(&self) -> Result<(), OptimError> {
        match self {
            OptimizerConfig::Sgd(s) => s.validate(),
            OptimizerConfig::Adam(a) => a.validate(),
        }
    }
}

/// One of the supported optimizers, chosen at run time (e.g. from a `.net` file).
#[derive(Clone, Debug)]
pub enum Optimizer<T> {
    /// `torch.optim.SGD`.
    Sgd(Sgd<T>),
    /// `torch.optim.Adam` or `torch.optim.AdamW`.
    Adam(Adam<T>),
}

impl<T: Real> Optimizer<T> {
    /// `torch.optim.SGD` with these settings (validated).
    pub fn sgd(config: SgdConfig) -> Result<Self, OptimError> {
        Ok(Optimizer::Sgd(Sgd::new(config)?))
    }

    /// `torch.optim.Adam` or `torch.optim.AdamW` (per `config.decoupled`), validated.
    pub fn adam(config: AdamConfig) -> Result<Self, OptimError> {
        Ok(Optimizer::Adam(Adam::new(config)?))
    }

    /// The optimizer `config` describes, validated.
    pub fn new(config: OptimizerConfig) -> Result<Self, OptimError> {
        match config {
            OptimizerConfig::Sgd(c) => Self::sgd(c),
            OptimizerConfig::Adam(c) => Self::adam(c),
        }
    }

    /// `"sgd"`, `"adam"` or `"adamw"`.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd(_) => sgd::NAME,
            Optimizer::Adam(a) => a.name(),
        }
    }

    /// Updates every parameter from its gradient (the gradients are left as they are).
    pub fn step(&mut self, params: &mut Params<T>) -> Result<(), OptimError> {
        self.step_max_norm(params, &[])
    }

    /// [`Optimizer::step`], then each parameter `id` of `max_norms` kept to
    /// rows of norm at most `c` ([`constrain_rows`]): the same numbers as the
    /// two calls. SGD constrains each row right after updating it, while it
    /// is in cache, instead of reading every weight again.
    pub fn step_max_norm(
        &mut self,
        params: &mut Params<T>,
        max_norms: &[(ParamId, f64)],
    ) -> Result<(), OptimError> {
        match self {
            Optimizer::Sgd(o) => o.step_max_norm(params, max_norms),
            Optimizer::Adam(o) => {
                o.step(params)?;
                for &(id, c) in max_norms {
                    constrain_rows(&mut params.get_mut(id).value, c);
                }
                Ok(())
            }
        }
    }

    /// Sets the learning rate for the next steps (a schedule's rate in force).
    pub fn set_lr(&mut self, lr: f64) {
        match self {
            Optimizer::Sgd(o) => o.config.lr = lr,
            Optimizer::Adam(o) => o.config.lr = lr,
        }
    }

    /// Sets SGD's momentum for the next steps (a momentum ramp); `false` for
    /// an optimizer without one.
    pub fn set_momentum(&mut self, momentum: f64) -> bool {
        match self {
            Optimizer::Sgd(o) => {
                o.config.momentum = momentum;
                true
            }
            Optimizer::Adam(_) => false,
        }
    }

    /// The learning rate in force.
    pub fn lr(&self) -> f64 {
        match self {
            Optimizer::Sgd(o) => o.config().lr,
            Optimizer::Adam(o) => o.config().lr,
        }
    }

    /// SGD's momentum in force (`None` for Adam).
    pub fn momentum(&self) -> Option<f64> {
        match self {
            Optimizer::Sgd(o) => Some(o.config().momentum),
            Optimizer::Adam(_) => None,
        }
    }

    /// Steps taken so far (restored by [`Optimizer::import_state`]).
    pub fn steps(&self) -> u64 {
        match self {
            Optimizer::Sgd(o) => o.steps(),
            Optimizer::Adam(o) => o.steps(),
        }
    }

    /// Names and shapes of the buffers this optimizer holds after `steps` steps
    /// on `params`: what a checkpoint must contain to restore it.
    pub fn state_layout(&self, params: &Params<T>, steps: u64) -> Vec<(String, Vec<usize>)> {
        let kinds: &[&str] = match self {
            Optimizer::Sgd(o) => o.buffer_kinds(),
            Optimizer::Adam(_) => Adam::<T>::BUFFER_KINDS,
        };
        state::layout(params, kinds, steps)
    }

    /// A copy of the state, with buffers named `optim/<param>/<buffer>`.
    pub fn export_state(&self, params: &Params<T>) -> OptimState<T> {
        match self {
            Optimizer::Sgd(o) => o.export_state(params),
            Optimizer::Adam(o) => o.export_state(params),
        }
    }

    /// Restores a state exported by the same kind of optimizer on the same
    /// parameters; the next step continues exactly where the exported one stopped.
    /// On error the optimizer is unchanged.
    pub fn import_state(
        &mut self,
        params: &Params<T>,
        state: OptimState<T>,
    ) -> Result<(), OptimError> {
        match self {
            Optimizer::Sgd(o) => o.import_state(params, state),
            Optimizer::Adam(o) => o.import_state(params, state),
        }
    }
}

/// Checks `value` against `range` (NaN and infinities never pass).
pub(crate) fn require(
    optimizer: &'static str,
    setting: &'static str,
    value: f64,
    range: Range,
) -> Result<(), OptimError> {
    if range.admits(value) {
        Ok(())
    } else {
        Err(OptimError::BadSetting {
            optimizer,
            setting,
            rule: range.describe(),
            value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    /// A layer `h1` (weight [3, 2], bias [3]) with deterministic values.
    fn store() -> Params<f32> {
        let mut s = Params::new();
        let w = Tensor::from_fn(3, 2, |r, c| 0.1 * (r as f32) - 0.2 * (c as f32) + 0.05);
        s.add("h1.weight", w).unwrap();
        let b = Tensor::from_fn(1, 3, |_, c| 0.3 - 0.1 * c as f32);
        s.add_with_dims("h1.bias", b, vec![3]).unwrap();
        s
    }

    /// Sets gradients that depend on the step and the current values, as a
    /// real loss would.
    fn fill_grads(s: &mut Params<f32>, step: usize) {
        for p in s.iter_mut() {
            let (value, grad) = (p.value.as_slice(), p.grad.as_mut_slice());
            for (i, (g, v)) in grad.iter_mut().zip(value).enumerate() {
                *g = 0.5 * v + ((step * 7 + i * 3) % 11) as f32 * 0.013 - 0.06;
            }
        }
    }

    fn configs() -> Vec<Optimizer<f32>> {
        let sgd = |c| Optimizer::sgd(c).unwrap();
        vec![
            sgd(SgdConfig::new(0.1)),
            sgd(SgdConfig {
                momentum: 0.9,
                nesterov: true,
                weight_decay: 1e-2,
                ..SgdConfig::new(0.05)
            }),
            sgd(SgdConfig {
                momentum: 0.8,
                dampening: 0.3,
                ..SgdConfig::new(0.05)
            }),
            Optimizer::adam(AdamConfig {
                weight_decay: 1e-3,
                ..AdamConfig::adam(1e-2)
            })
            .unwrap(),
            Optimizer::adam(AdamConfig::adamw(1e-2)).unwrap(),
        ]
    }

    fn bits(s: &Params<f32>) -> Vec<u32> {
        s.iter()
            .flat_map(|p| p.value.as_slice().iter().map(|v| v.to_bits()))
            .collect()
    }

    #[test]
    fn export_import_continues_bit_for_bit() {
        const STEPS: usize = 6;
        for fresh in configs() {
            let mut straight = fresh.clone();
            let mut s = store();
            for step in 0..STEPS {
                fill_grads(&mut s, step);
                straight.step(&mut s).unwrap();
            }
            for stop in 0..STEPS {
                let mut first = fresh.clone();
                let mut r = store();
                for step in 0..stop {
                    fill_grads(&mut r, step);
                    first.step(&mut r).unwrap();
                }
                let saved = first.export_state(&r);
                assert_eq!(saved.steps, stop as u64);
                drop(first);
                let mut resumed = fresh.clone();
                resumed.import_state(&r, saved).unwrap();
                for step in stop..STEPS {
                    fill_grads(&mut r, step);
                    resumed.step(&mut r).unwrap();
                }
                assert_eq!(bits(&r), bits(&s), "{} stopped at {stop}", fresh.name());
                assert_eq!(resumed.steps(), STEPS as u64);
            }
        }
    }

    #[test]
    fn exported_names_follow_the_checkpoint_layout() {
        let s = store();
        for mut opt in configs() {
            assert!(opt.export_state(&s).buffers.is_empty());
            let mut s = s.clone();
            opt.step(&mut s).unwrap();
            let state = opt.export_state(&s);
            let names: Vec<(String, Vec<usize>)> = state
                .buffers
                .iter()
                .map(|b| (b.name.clone(), b.dims.clone()))
                .collect();
            assert_eq!(names, opt.state_layout(&s, 1), "{}", opt.name());
        }
        let mut adam = Optimizer::adam(AdamConfig::adam(1e-3)).unwrap();
        let mut s = s.clone();
        adam.step(&mut s).unwrap();
        let names: Vec<String> = adam.state_layout(&s, 1).into_iter().map(|n| n.0).collect();
        assert_eq!(
            names,
            [
                "optim/h1.weight/exp_avg",
                "optim/h1.bias/exp_avg",
                "optim/h1.weight/exp_avg_sq",
                "optim/h1.bias/exp_avg_sq"
            ]
        );
        let sgd = Optimizer::<f32>::sgd(SgdConfig {
            momentum: 0.9,
            ..SgdConfig::new(0.1)
        })
        .unwrap();
        let layout = sgd.state_layout(&s, 3);
        assert_eq!(
            layout,
            [
                ("optim/h1.weight/momentum_buffer".to_string(), vec![3, 2]),
                ("optim/h1.bias/momentum_buffer".to_string(), vec![3]),
            ]
        );
        assert!(sgd.state_layout(&s, 0).is_empty());
    }

    #[test]
    fn import_reports_every_problem_and_changes_nothing() {
        let mut s = store();
        let mut adam = Optimizer::adam(AdamConfig::adam(1e-3)).unwrap();
        fill_grads(&mut s, 0);
        adam.step(&mut s).unwrap();
        let mut state = adam.export_state(&s);
        // Wrong shape for one buffer, another missing, a stranger added.
        state.buffers[0].dims = vec![2, 3];
        state.buffers.remove(1);
        state.buffers.push(StateBuffer {
            name: "optim/h1.weight/momentum_buffer".into(),
            dims: vec![3, 2],
            data: vec![0.0; 6],
        });
        let mut sgd = Optimizer::sgd(SgdConfig {
            momentum: 0.9,
            ..SgdConfig::new(0.1)
        })
        .unwrap();
        let before = sgd.export_state(&s);
        let e = adam.clone().import_state(&s, state.clone()).unwrap_err();
        let OptimError::BadState { problems, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(
            problems,
            &[
                "buffer `optim/h1.weight/exp_avg` has shape [2, 3] (6 values), expected [3, 2]",
                "missing buffer `optim/h1.bias/exp_avg`",
                "unexpected buffer `optim/h1.weight/momentum_buffer`",
            ]
        );
        // Adam's moments fed to SGD: everything is listed.
        let e = sgd.import_state(&s, state).unwrap_err();
        assert!(
            e.to_string()
                .contains("missing buffer `optim/h1.bias/momentum_buffer`"),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("unexpected buffer `optim/h1.weight/exp_avg_sq`"),
            "{e}"
        );
        assert_eq!(sgd.export_state(&s), before);
        assert_eq!(sgd.steps(), 0);
    }
}
