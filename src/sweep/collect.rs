//! Reading a trial's directory back: its settings (from the overrides
//! `netc train` recorded in `model.safetensors`), whether it finished (its
//! step against `total_steps`), and its final numbers (from `metrics.csv`).

use super::grid::Trial;
use super::manifest::split_overrides;
use crate::checkpoint::read_tensors;
use crate::run::{MODEL, RunDir, metadata, metrics};
use std::fs;
use std::path::Path;

/// The log a sweep keeps of each trial's output, in its directory.
pub const LOG: &str = "train.log";

/// The final numbers of a finished trial.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub train_acc: Option<f64>,
    pub test_acc: Option<f64>,
    /// The last interval's mean training loss (dropout on, penalties in).
    pub train_loss: f64,
    pub test_loss: f64,
    /// Each penalty's term in the loss (coefficient × value), named as in
    /// the file without the coefficient (`l1(h1)`).
    pub penalties: Vec<(String, f64)>,
    /// Training time, evaluation excluded (the sum of metrics.csv's column).
    pub seconds: f64,
}

impl Outcome {
    /// Train minus test accuracy, in percentage points.
    pub fn gap(&self) -> Option<f64> {
        Some(100.0 * (self.train_acc? - self.test_acc?))
    }
}

/// Where a trial stands.
#[derive(Clone, Debug, PartialEq)]
pub enum State {
    Done(Outcome),
    /// Started but not finished (or failed): why, as far as the files say.
    Incomplete(String),
    /// No directory.
    Missing,
}

/// What a trial directory holds, read without knowing the sweep.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    /// The overrides it was trained with, as recorded (`d.p=0.25 seed=1`).
    pub overrides: Option<String>,
    pub seed: Option<u64>,
    pub state: State,
}

/// Reads the trial directory `dir`.
pub fn read(dir: &Path) -> Found {
    let missing = |state| Found {
        overrides: None,
        seed: None,
        state,
    };
    if !dir.is_dir() {
        return missing(State::Missing);
    }
    let files = RunDir::new(dir);
    let model = files.model;
    if !model.exists() {
        return missing(State::Incomplete(with_log(dir, "no evaluation yet".into())));
    }
    let meta = match read_tensors(&model) {
        Ok(t) => t.into_metadata(),
        Err(e) => return missing(State::Incomplete(format!("unreadable model: {e}"))),
    };
    let overrides = meta.get(metadata::OVERRIDES).cloned();
    let seed = metadata::number(&meta, metadata::SEED);
    let num = |k: &str| metadata::number(&meta, k);
    let state = match (num(metadata::STEP), num(metadata::TOTAL_STEPS)) {
        (Some(step), Some(total)) if step < total => {
            State::Incomplete(with_log(dir, format!("stopped at step {step} of {total}")))
        }
        // A run by a netc that did not record its length counts as finished.
        _ => outcome(dir),
    };
    Found {
        overrides,
        seed,
        state,
    }
}

/// The final row of the trial's metrics.
fn outcome(dir: &Path) -> State {
    let path = RunDir::new(dir).metrics;
    let Ok(text) = fs::read_to_string(&path) else {
        return State::Incomplete("no metrics.csv".into());
    };
    let Some((labels, rows)) = metrics::read(&text) else {
        return State::Incomplete("metrics.csv is not netc's".into());
    };
    let Some(last) = rows.last() else {
        return State::Incomplete("metrics.csv has no row".into());
    };
    State::Done(Outcome {
        train_acc: last.train_acc,
        test_acc: last.test_acc,
        train_loss: last.train_loss,
        test_loss: last.test_loss,
        penalties: labels
            .iter()
            .map(|l| penalty_name(l))
            .zip(last.penalties.iter().copied())
            .collect(),
        seconds: rows.iter().map(|r| r.seconds).sum(),
    })
}

/// `0.5 * l1(h1)` → `l1(h1)`: the same column whatever the coefficient.
pub fn penalty_name(label: &str) -> String {
    match label.split_once(" * ") {
        Some((_, name)) => name.to_string(),
        None => label.to_string(),
    }
}

/// `why`, and the error the trial's log ends with, if any.
fn with_log(dir: &Path, why: String) -> String {
    match last_error(dir) {
        Some(e) => format!("{why}; {e}"),
        None => why,
    }
}

/// The first `error:` line of the trial's log, else its last line.
pub fn last_error(dir: &Path) -> Option<String> {
    let text = fs::read_to_string(dir.join(LOG)).ok()?;
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .find(|l| l.starts_with("error:"))
        .or(lines.last())
        .map(|l| l.chars().take(300).collect())
}

/// A planned trial's state: as [`read`], and `Incomplete` if the directory
/// holds a run with other settings (left from another sweep).
pub fn read_planned(root: &Path, trial: &Trial) -> State {
    let found = read(&root.join(&trial.dir));
    if let (State::Done(_), Some(recorded)) = (&found.state, &found.overrides) {
        let (settings, seed) = split_overrides(recorded);
        if settings != trial.flat_settings() || seed.is_some_and(|s| s != trial.seed) {
            return State::Incomplete(format!("it holds a run with other settings (`{recorded}`)"));
        }
    }
    found.state
}

/// Trials found in `root`'s subdirectories without a manifest: every
/// directory holding a `model.safetensors`, with the settings it records.
pub fn scan(root: &Path) -> std::io::Result<Vec<(Trial, State)>> {
    let mut dirs: Vec<_> = fs::read_dir(root)?
        .filter_map(Result::ok)
        .filter(|e| e.path().join(MODEL).exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    Ok(dirs
        .into_iter()
        .map(|d| {
            let found = read(&root.join(&d));
            let (settings, seed) = split_overrides(found.overrides.as_deref().unwrap_or(""));
            let trial = Trial {
                dir: d,
                settings,
                seed: seed.or(found.seed).unwrap_or(0),
            };
            (trial, found.state)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn penalty_columns_drop_the_coefficient() {
        assert_eq!(penalty_name("0.5 * l1(h1)"), "l1(h1)");
        assert_eq!(penalty_name("1e-4 * sumsq(h1.weight)"), "sumsq(h1.weight)");
        assert_eq!(penalty_name("l2(h2)"), "l2(h2)");
    }

    #[test]
    fn a_missing_or_empty_directory_says_so() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read(&dir.path().join("nope")).state, State::Missing);
        fs::write(
            dir.path().join(LOG),
            "epoch 1\nerror: step 3: the loss is NaN\nmore\n",
        )
        .unwrap();
        assert_eq!(
            read(dir.path()).state,
            State::Incomplete("no evaluation yet; error: step 3: the loss is NaN".into())
        );
    }
}
