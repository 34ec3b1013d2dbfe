//! Library errors as the command line tells them. The library knows no flag
//! names; where the way out of an error is a flag, it is named here.

use super::data_places;
use netc::run::{CHECKPOINT, RunError};
use netc::sweep::SweepError;
use netc::train::TrainError;

/// A training error, with the flags that help.
pub fn train_error(e: &TrainError) -> String {
    match e {
        TrainError::Data(d) => data_places::explain(d),
        TrainError::Run(r) => run_error(r),
        TrainError::SeedMismatch { .. } => format!("{e}; drop --seed to continue it"),
        _ => e.to_string(),
    }
}

/// A run directory error, with the flags that help.
pub fn run_error(e: &RunError) -> String {
    match e {
        RunError::Exists(dir) => format!(
            "{} already holds a run; give another --out, continue it with --resume {}, \
             or overwrite it with --force",
            dir.display(),
            dir.join(CHECKPOINT).display()
        ),
        _ => e.to_string(),
    }
}

/// A sweep error, naming the `--set` it comes from.
pub fn sweep_error(e: &SweepError) -> String {
    match e {
        SweepError::Axis { arg, why } => format!("`--set {arg}`: {why}"),
        SweepError::Exists(dir) => format!(
            "{e}; give another --out, summarise it with `netc sweep --collect {}`, or overwrite \
             its trials with --force (the same file, --set and --seeds continue it)",
            dir.display()
        ),
        _ => e.to_string(),
    }
}
