//! What a run shows while it goes: a progress bar on a terminal, a plain
//! line per evaluation otherwise, nothing when quiet; warnings always. Only
//! these go to stderr; the summary goes to stdout.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::{IsTerminal, Write as _};

pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    pub fn new(total_steps: u64, start: u64, quiet: bool) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(
                Some(total_steps),
                ProgressDrawTarget::stderr_with_hz(10),
            );
            let style =
                ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(start);
            bar
        });
        Progress { bar, quiet }
    }

    /// Called every few steps.
    pub fn step(&self, step: u64, loss: f64, samples_per_sec: f64) {
        if let Some(bar) = &self.bar {
            bar.set_position(step);
            bar.set_message(format!("loss {loss:.4}  {samples_per_sec:.0} samples/s"));
        }
    }

    /// A line that stays (an evaluation), unless quiet. `false` when stderr
    /// is closed (`netc train f.net 2>&1 | head -3`): the run then stops at
    /// this evaluation, its files written, instead of panicking in `eprintln!`.
    pub fn line(&self, text: &str) -> bool {
        if self.quiet {
            return true;
        }
        self.show(text)
    }

    /// `warning: text`, shown even when quiet.
    pub fn warning(&self, text: &str) -> bool {
        self.show(&format!("warning: {text}"))
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

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
