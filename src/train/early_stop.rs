//! The best validation evaluation so far, and when to stop for want of a
//! better one. Its whole state follows from the run's metrics rows, so a
//! resumed run takes it up from its checkpoint's rows exactly.

use crate::lang::model::{Controls, EarlyStop, Monitor};
use crate::run::Row;

/// Watches a validation metric across evaluations.
#[derive(Clone, Debug, PartialEq)]
pub struct Watch {
    metric: Monitor,
    min_delta: f64,
    /// Stop after this many evaluations without improvement.
    patience: Option<usize>,
    /// The index (in the rows) and value of the best evaluation.
    best: Option<(usize, f64)>,
    /// Evaluations since the best.
    waited: usize,
    seen: usize,
}

impl Watch {
    /// A watch when the run holds out a validation split: on the early-stop
    /// metric if one is set, else on the validation loss (for `best.safetensors`).
    pub fn new(controls: &Controls) -> Option<Watch> {
        controls.validation?;
        let stop = controls.early_stop;
        let EarlyStop {
            metric, min_delta, ..
        } = stop.unwrap_or(EarlyStop {
            metric: Monitor::ValLoss,
            patience: 0,
            min_delta: 0.0,
        });
        Some(Watch {
            metric,
            min_delta,
            patience: stop.map(|s| s.patience),
            best: None,
            waited: 0,
            seen: 0,
        })
    }

    /// Takes in the next row; whether it is the best so far.
    pub fn observe(&mut self, row: &Row) -> bool {
        let value = match self.metric {
            Monitor::ValLoss => row.val_loss,
            Monitor::ValAcc => row.val_acc,
        };
        let index = self.seen;
        self.seen += 1;
        let better = match (value, self.best) {
            (Some(v), None) => !v.is_nan(),
            (Some(v), Some((_, b))) => match self.metric {
                Monitor::ValLoss => v < b - self.min_delta,
                Monitor::ValAcc => v > b + self.min_delta,
            },
            (None, _) => false,
        };
        if better {
            self.best = value.map(|v| (index, v));
            self.waited = 0;
        } else {
            self.waited += 1;
        }
        better
    }

    /// Takes in every row of a run so far (a resumed run's).
    pub fn replay(&mut self, rows: &[Row]) {
        for r in rows {
            self.observe(r);
        }
    }

    /// Whether the run should stop: `patience` evaluations without improvement.
    pub fn should_stop(&self) -> bool {
        self.patience.is_some_and(|p| self.waited >= p)
    }

    /// The index of the best row so far.
    pub fn best(&self) -> Option<usize> {
        self.best.map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::model::Validation;

    fn controls(stop: Option<EarlyStop>) -> Controls {
        Controls {
            validation: Some(Validation::Fraction(0.1)),
            early_stop: stop,
            ..Controls::default()
        }
    }

    fn rows(losses: &[f64]) -> Vec<Row> {
        losses
            .iter()
            .map(|&v| Row {
                val_loss: Some(v),
                val_acc: Some(1.0 - v),
                ..Row::default()
            })
            .collect()
    }

    #[test]
    fn stops_after_patience_evaluations_without_an_improvement_beyond_min_delta() {
        let stop = EarlyStop {
            metric: Monitor::ValLoss,
            patience: 2,
            min_delta: 0.01,
        };
        let mut w = Watch::new(&controls(Some(stop))).unwrap();
        let seq = rows(&[0.5, 0.4, 0.395, 0.45, 0.3]);
        let verdicts: Vec<(bool, bool)> = seq
            .iter()
            .map(|r| (w.observe(r), w.should_stop()))
            .collect();
        // 0.395 is within min_delta of 0.4: no improvement; 0.45 worse: stop.
        assert_eq!(
            verdicts,
            [
                (true, false),
                (true, false),
                (false, false),
                (false, true),
                (true, false)
            ]
        );
        assert_eq!(w.best(), Some(4));
    }

    #[test]
    fn accuracy_is_better_higher_and_replay_gives_the_same_state() {
        let stop = EarlyStop {
            metric: Monitor::ValAcc,
            patience: 1,
            min_delta: 0.0,
        };
        let seq = rows(&[0.5, 0.2, 0.3]);
        let mut a = Watch::new(&controls(Some(stop))).unwrap();
        for r in &seq {
            a.observe(r);
        }
        let mut b = Watch::new(&controls(Some(stop))).unwrap();
        b.replay(&seq);
        assert_eq!(a, b);
        assert_eq!((a.best(), a.waited, a.should_stop()), (Some(1), 1, true));
    }

    #[test]
    fn without_early_stop_it_tracks_the_best_loss_and_never_stops() {
        let mut w = Watch::new(&controls(None)).unwrap();
        w.replay(&rows(&[0.5, f64::NAN, 0.6, 0.7, 0.8, 0.9, 1.0]));
        assert_eq!((w.best(), w.should_stop()), (Some(0), false));
        assert!(Watch::new(&Controls::default()).is_none());
    }
}
