//! What `netc train` shows while it goes: a progress bar on a terminal, a
//! plain line per evaluation otherwise, nothing when quiet; warnings always.
//! Only these go to stderr; the summary goes to stdout. It also draws the
//! run's `curves.svg` each time the run's files are written.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use netc::plot;
use netc::run::{Row, RunDir};
use netc::train::{Observer, TrainError};
use std::io::{IsTerminal, Write as _};

/// The command line's [`Observer`] of a run.
pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    /// The title of the curves: the net's name and the overrides.
    title: String,
}

impl Progress {
    pub fn new(quiet: bool, title: String) -> Self {
        Progress {
            bar: None,
            quiet,
            title,
        }
    }

    /// A line that stays (an evaluation), unless quiet. `false` when stderr
    /// is closed (`netc train f.net 2>&1 | head -3`): the run then stops at
    /// this evaluation, its files written, instead of panicking in `eprintln!`.
    fn line(&self, text: &str) -> bool {
        if self.quiet {
            return true;
        }
        self.show(text)
    }

    fn show(&self, text: &str) -> bool {
        match &self.bar {
            Some(bar) => {
                bar.println(text);
                true
            }
            None => writeln!(std::io::stderr(), "{text}").is_ok(),
        }
    }
}

impl Observer for Progress {
    fn started(&mut self, total: u64, step: u64) {
        self.bar = (!self.quiet && std::io::stderr().is_terminal()).then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(10));
            let style =
                ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(step);
            bar
        });
    }

    /// `warning: text`, shown even when quiet.
    fn warning(&mut self, text: &str) {
        self.show(&format!("warning: {text}"));
    }

    fn stepped(&mut self, step: u64, loss: f64, samples_per_sec: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(step);
            bar.set_message(format!("loss {loss:.4}  {samples_per_sec:.0} samples/s"));
        }
    }

    fn evaluated(&mut self, row: &Row, labels: &[String]) -> bool {
        self.line(&epoch_line(row, labels))
    }

    fn written(&mut self, dir: &RunDir, labels: &[String], rows: &[Row]) -> Result<(), TrainError> {
        let svg =
            plot::curves(&self.title, labels, rows).map_err(|e| TrainError::Observer(e.into()))?;
        Ok(dir.write_curves(&svg)?)
    }

    fn finished(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The line shown for an evaluation.
fn epoch_line(r: &Row, labels: &[String]) -> String {
    let mut s = format!(
        "epoch {:>6} step {:>7}  train loss {:.4}",
        fmt_epoch(r.epoch),
        r.step,
        r.train_loss
    );
    for (l, v) in labels.iter().zip(&r.penalties) {
        s.push_str(&format!(" ({l} = {v:.4})"));
    }
    if let Some(a) = r.train_acc {
        s.push_str(&format!("  train acc {:.2}%", 100.0 * a));
    }
    if let Some(v) = r.val_loss {
        s.push_str(&format!("  val loss {v:.4}"));
    }
    if let Some(a) = r.val_acc {
        s.push_str(&format!("  val acc {:.2}%", 100.0 * a));
    }
    s.push_str(&format!("  test loss {:.4}", r.test_loss));
    if let Some(a) = r.test_acc {
        s.push_str(&format!("  test acc {:.2}%", 100.0 * a));
    }
    s.push_str(&format!("  {:.2}s", r.seconds));
    s
}

/// Whole epochs as `12`, a fraction of one as `12.50`.
pub(super) fn fmt_epoch(e: f64) -> String {
    if e.fract() == 0.0 {
        format!("{e}")
    } else {
        format!("{e:.2}")
    }
}
