//! Learning-rate schedules with a linear warm-up, and a momentum ramp: the
//! rate and momentum in force at each step, as PyTorch's schedulers give them.
//!
//! Each schedule is PyTorch's closed form (`_get_closed_form_lr`) at index `t`,
//! the epoch (0 for the first) or the step (0 for the first) being taken, as
//! the schedule says: `StepLR`, `MultiStepLR`, `ExponentialLR`,
//! `CosineAnnealingLR`. The warm-up is `LinearLR(start_factor, end_factor=1,
//! total_iters=warmup)` and multiplies the scheduled rate, as
//! `ChainedScheduler` composes multiplicative schedulers.

use std::f64::consts::PI;

/// What a schedule's index counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Unit {
    /// The rate changes between epochs (PyTorch's usual `scheduler.step()` per epoch).
    #[default]
    Epoch,
    /// The rate changes between optimizer steps.
    Step,
}

impl Unit {
    /// The words a file writes, in the order of [`Unit::named`].
    pub const NAMES: &[&str] = &["epoch", "step"];

    /// The unit called `NAMES[i]`.
    pub fn named(i: usize) -> Unit {
        if i == 0 { Unit::Epoch } else { Unit::Step }
    }

    /// `epoch` or `step`.
    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// How the rate decays from the optimizer's `lr`.
#[derive(Clone, Debug, PartialEq)]
pub enum Decay {
    /// `StepLR`: `lr · gamma^⌊t / every⌋`.
    Step { every: u64, gamma: f64 },
    /// `MultiStepLR`: `lr · gamma^(milestones ≤ t)`; milestones increasing.
    MultiStep { milestones: Vec<u64>, gamma: f64 },
    /// `ExponentialLR`: `lr · gamma^t`.
    Exponential { gamma: f64 },
    /// `CosineAnnealingLR`: `min_lr + (lr − min_lr)(1 + cos(π t / t_max)) / 2`;
    /// `t_max` `None` is the run's length in the schedule's unit.
    Cosine { t_max: Option<u64>, min_lr: f64 },
}

/// The rate in force at each step.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Schedule {
    pub decay: Option<Decay>,
    /// What `t` counts, for the decay and the warm-up.
    pub per: Unit,
    /// Epochs (or steps, per `per`) of linear warm-up; 0: none.
    pub warmup: u64,
    /// The warm-up's first factor (PyTorch's `start_factor`).
    pub warmup_start: f64,
}

impl Schedule {
    /// Whether the rate ever differs from the optimizer's.
    pub fn is_constant(&self) -> bool {
        self.decay.is_none() && self.warmup == 0
    }

    /// The rate at index `t` (in the schedule's unit) for base rate `lr`, in a
    /// run `length` units long (cosine's default `t_max`).
    pub fn lr(&self, lr: f64, t: u64, length: u64) -> f64 {
        let scheduled = match &self.decay {
            None => lr,
            Some(Decay::Step { every, gamma }) => lr * gamma.powf((t / every) as f64),
            Some(Decay::MultiStep { milestones, gamma }) => {
                let passed = milestones.partition_point(|&m| m <= t);
                lr * gamma.powf(passed as f64)
            }
            Some(Decay::Exponential { gamma }) => lr * gamma.powf(t as f64),
            Some(Decay::Cosine { t_max, min_lr }) => {
                let t_max = t_max.unwrap_or(length).max(1) as f64;
                min_lr + (lr - min_lr) * (1.0 + (PI * t as f64 / t_max).cos()) / 2.0
            }
        };
        if t >= self.warmup {
            return scheduled;
        }
        let s = self.warmup_start;
        scheduled * (s + (1.0 - s) * t as f64 / self.warmup as f64)
    }

    /// The index of step `step` (0 for the first) in the schedule's unit, with
    /// `per_epoch` steps an epoch.
    pub fn index(&self, step: u64, per_epoch: u64) -> u64 {
        match self.per {
            Unit::Epoch => step / per_epoch.max(1),
            Unit::Step => step,
        }
    }
}

/// SGD's momentum raised linearly from `from` to `to` over the first
/// `epochs` epochs, then held (Hinton et al. 2012; Srivastava et al. 2014).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MomentumRamp {
    pub from: f64,
    pub to: f64,
    pub epochs: u64,
}

impl MomentumRamp {
    /// The momentum during epoch `epoch` (0 for the first).
    pub fn at(&self, epoch: u64) -> f64 {
        let k = epoch.min(self.epochs) as f64 / self.epochs.max(1) as f64;
        self.from + (self.to - self.from) * k
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-12)
    }

    fn schedule(decay: Decay) -> Schedule {
        Schedule {
            decay: Some(decay),
            ..Schedule::default()
        }
    }

    /// Rates PyTorch's schedulers give (their documented closed forms, worked
    /// by hand) at chosen indices: `(t, rate)` for base rate 0.1.
    #[test]
    fn each_schedule_gives_pytorchs_rates() {
        let table: Vec<(Schedule, Vec<(u64, f64)>)> = vec![
            // StepLR(step_size=3, gamma=0.5)
            (
                schedule(Decay::Step {
                    every: 3,
                    gamma: 0.5,
                }),
                vec![
                    (0, 0.1),
                    (2, 0.1),
                    (3, 0.05),
                    (5, 0.05),
                    (6, 0.025),
                    (10, 0.0125),
                ],
            ),
            // MultiStepLR(milestones=[2, 5], gamma=0.1)
            (
                schedule(Decay::MultiStep {
                    milestones: vec![2, 5],
                    gamma: 0.1,
                }),
                vec![
                    (0, 0.1),
                    (1, 0.1),
                    (2, 0.01),
                    (4, 0.01),
                    (5, 0.001),
                    (50, 0.001),
                ],
            ),
            // ExponentialLR(gamma=0.9)
            (
                schedule(Decay::Exponential { gamma: 0.9 }),
                vec![(0, 0.1), (1, 0.09), (2, 0.081), (10, 0.1 * 0.9f64.powi(10))],
            ),
            // CosineAnnealingLR(T_max=10, eta_min=0.01)
            (
                schedule(Decay::Cosine {
                    t_max: Some(10),
                    min_lr: 0.01,
                }),
                vec![
                    (0, 0.1),
                    (5, 0.055),
                    (10, 0.01),
                    (2, 0.01 + 0.09 * (1.0 + (0.2 * PI).cos()) / 2.0),
                ],
            ),
            // LinearLR(start_factor=0.25, total_iters=4) alone
            (
                Schedule {
                    warmup: 4,
                    warmup_start: 0.25,
                    ..Schedule::default()
                },
                vec![
                    (0, 0.025),
                    (1, 0.04375),
                    (2, 0.0625),
                    (3, 0.08125),
                    (4, 0.1),
                    (9, 0.1),
                ],
            ),
            // ChainedScheduler([LinearLR(0.5, total_iters=2), StepLR(2, 0.1)])
            (
                Schedule {
                    warmup: 2,
                    warmup_start: 0.5,
                    ..schedule(Decay::Step {
                        every: 2,
                        gamma: 0.1,
                    })
                },
                vec![(0, 0.05), (1, 0.075), (2, 0.01), (4, 0.001)],
            ),
            // ChainedScheduler([LinearLR(0.1, total_iters=5), CosineAnnealingLR(T_max=20)])
            (
                Schedule {
                    warmup: 5,
                    warmup_start: 0.1,
                    ..schedule(Decay::Cosine {
                        t_max: Some(20),
                        min_lr: 0.0,
                    })
                },
                vec![
                    (0, 0.01),
                    (3, 0.1 * (0.1 + 0.9 * 0.6) * (1.0 + (0.15 * PI).cos()) / 2.0),
                    (10, 0.05),
                    (20, 0.0),
                ],
            ),
        ];
        for (s, points) in table {
            for (t, want) in points {
                let got = s.lr(0.1, t, 1000);
                assert!(close(got, want), "{s:?} at {t}: {got} != {want}");
            }
        }
    }

    #[test]
    fn cosine_without_t_max_spans_the_run_and_units_index_steps_or_epochs() {
        let s = schedule(Decay::Cosine {
            t_max: None,
            min_lr: 0.0,
        });
        assert!(close(s.lr(0.2, 15, 30), 0.1));
        assert_eq!(s.index(25, 10), 2);
        let per_step = Schedule {
            per: Unit::Step,
            ..s
        };
        assert_eq!(per_step.index(25, 10), 25);
        assert!(Schedule::default().is_constant());
        assert_eq!(Schedule::default().lr(0.3, 7, 9), 0.3);
    }

    #[test]
    fn the_momentum_ramp_rises_linearly_then_holds() {
        let r = MomentumRamp {
            from: 0.5,
            to: 0.99,
            epochs: 10,
        };
        assert_eq!(r.at(0), 0.5);
        assert!(close(r.at(5), 0.745));
        assert!(close(r.at(10), 0.99));
        assert!(close(r.at(500), 0.99));
    }
}
