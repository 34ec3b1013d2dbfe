//! What a run does around each optimizer step beyond the step itself: the
//! scheduled rate and ramped momentum set before it, the gradients clipped
//! before it, the max-norm constraints applied with it.

use super::TrainError;
use crate::lang::Model;
use crate::optim::schedule::Unit;
use crate::optim::{MomentumRamp, Optimizer, Schedule, clip_grad_norm};
use crate::params::{ParamId, Params};

/// The controls of one run, resolved against its parameters and length.
pub struct Steering {
    schedule: Schedule,
    ramp: Option<MomentumRamp>,
    clip: Option<f64>,
    max_norms: Vec<(ParamId, f64)>,
    /// Steps per epoch.
    per_epoch: u64,
    /// The run's length in the schedule's unit (cosine's default `t_max`).
    length: u64,
}

impl Steering {
    /// The controls `model` declares, for a run of `total` steps of
    /// `per_epoch` each.
    pub fn new(
        model: &Model,
        params: &Params<f32>,
        per_epoch: u64,
        total: u64,
    ) -> Result<Self, TrainError> {
        let c = &model.train.controls;
        let max_norms = model
            .max_norms()
            .into_iter()
            .map(|(name, bound)| {
                params.id(&name).map(|id| (id, bound)).ok_or_else(|| {
                    TrainError::Settings(format!("the net has no parameter `{name}`"))
                })
            })
            .collect::<Result<_, _>>()?;
        let length = match c.schedule.per {
            Unit::Step => total,
            Unit::Epoch => total.div_ceil(per_epoch.max(1)),
        };
        Ok(Steering {
            schedule: c.schedule.clone(),
            ramp: c.momentum_ramp,
            clip: c.clip_grad_norm,
            max_norms,
            per_epoch,
            length,
        })
    }

    /// Sets the rate and momentum in force for step `step` (0 for the first).
    /// A constant rate is left untouched: the optimizer's own, exactly.
    pub fn before_step(&self, optim: &mut Optimizer<f32>, base_lr: f64, step: u64) {
        if !self.schedule.is_constant() {
            let t = self.schedule.index(step, self.per_epoch);
            optim.set_lr(self.schedule.lr(base_lr, t, self.length));
        }
        if let Some(r) = self.ramp {
            optim.set_momentum(r.at(step / self.per_epoch.max(1)));
        }
    }

    /// Clips the gradients if the file asks; whether this step was clipped.
    pub fn clip(&self, params: &mut Params<f32>) -> bool {
        self.clip.is_some_and(|c| clip_grad_norm(params, c).1)
    }

    /// Whether gradients are clipped at all (for the metrics' column).
    pub fn clips(&self) -> bool {
        self.clip.is_some()
    }

    /// The max-norm constraints, for the optimizer to apply as it steps
    /// ([`Optimizer::step_max_norm`]).
    pub fn max_norms(&self) -> &[(ParamId, f64)] {
        &self.max_norms
    }
}
