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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::{Config, train};

    const NET: &str = "net tiny v1\ninput x: 4\nlabel y: classes(2)\nout = linear(x, 2)\n\
        loss = cross_entropy(out, y)\ntrain {\n    data: synthetic(samples: 40)\n    \
        batch: 4\n    steps: 25\n    optimizer: sgd(lr: 0.1)\n}\n";

    /// Writes down what it is told; says stop at its `stop_at`-th evaluation.
    struct Record {
        events: Vec<String>,
        stop_at: usize,
    }

    impl Observer for Record {
        fn started(&mut self, total: u64, step: u64) {
            self.events.push(format!("started {step}/{total}"));
        }
        fn evaluated(&mut self, row: &Row, _: &[String]) -> bool {
            self.events.push(format!("evaluated {}", row.step));
            self.events.iter().filter(|e| e.starts_with("eval")).count() != self.stop_at
        }
        fn written(&mut self, dir: &RunDir, _: &[String], rows: &[Row]) -> Result<(), TrainError> {
            assert!(dir.model.exists() && dir.checkpoint.exists() && dir.metrics.exists());
            self.events.push(format!("written {}", rows.len()));
            Ok(())
        }
        fn finished(&mut self) {
            self.events.push("finished".into());
        }
    }

    fn run(stop_at: usize) -> (Vec<String>, crate::train::Outcome) {
        let model = crate::lang::parse_and_check("tiny.net", NET).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let config = Config {
            dir: tmp.path().join("run"),
            threads: 1,
            ..Config::default()
        };
        let mut record = Record {
            events: Vec::new(),
            stop_at,
        };
        let outcome = train(&model, &config, &mut record).unwrap();
        (record.events, outcome)
    }

    #[test]
    fn the_observer_hears_each_evaluation_then_that_its_files_are_written() {
        // 40 samples in batches of 4: an epoch is 10 steps, and the last step evaluates.
        let (events, outcome) = run(0);
        assert_eq!(
            events,
            [
                "started 0/25",
                "evaluated 10",
                "written 1",
                "evaluated 20",
                "written 2",
                "evaluated 25",
                "written 3",
                "finished"
            ]
        );
        assert!(!outcome.output_closed);
        assert_eq!(outcome.steps, 25);
    }

    #[test]
    fn an_observer_that_stops_listening_stops_the_run_at_that_evaluation() {
        let (events, outcome) = run(1);
        assert_eq!(
            events,
            ["started 0/25", "evaluated 10", "written 1", "finished"]
        );
        assert!(outcome.output_closed);
        assert_eq!(outcome.steps, 10);
    }
}
