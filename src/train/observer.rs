//! What a run tells whoever runs it, as it goes: the command line shows it
//! (a progress bar, a line per evaluation) and draws the curves.

use super::TrainError;
use crate::run::{Row, RunDir};

/// Receives a run's events, in order: `started`, then `stepped` every few
/// steps, `evaluated` and `written` at each evaluation, `finished`.
/// Warnings may come at any time.
pub trait Observer {
    /// The run starts at `step` (0, or a resumed checkpoint's) of `total`.
    fn started(&mut self, _total: u64, _step: u64) {}

    /// Something the user should know that does not stop the run.
    fn warning(&mut self, _text: &str) {}

    /// Training goes on: the interval's mean loss so far, and the speed.
    fn stepped(&mut self, _step: u64, _loss: f64, _samples_per_sec: f64) {}

    /// An evaluation point, `row` being its metrics (penalties named by
    /// `labels`). `false` stops the run after this evaluation's files are
    /// written (resumable from its checkpoint): nobody is listening any more.
    fn evaluated(&mut self, _row: &Row, _labels: &[String]) -> bool {
        true
    }

    /// The run's files were (re)written with these metrics.
    fn written(
        &mut self,
        _dir: &RunDir,
        _labels: &[String],
        _rows: &[Row],
    ) -> Result<(), TrainError> {
        Ok(())
    }

    /// The loop is over (before the final Monte-Carlo evaluation, if any).
    fn finished(&mut self) {}
}
