//! The command that runs one trial of a sweep, built as `netc train`'s own
//! arguments ([`TrainArgs`]), run as a process or printed as a shell line
//! (`netc sweep --plan`; `sweep_plan.rs` wraps the lines for Slurm and
//! Kubernetes).

use super::train::TrainArgs;
use netc::run::CHECKPOINT;
use netc::sweep::Trial;
use netc::sweep::runner::{Start, TrialCommand};
use std::path::{Path, PathBuf};

/// What every trial's `netc train` shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainCommand {
    /// The netc executable.
    pub exe: PathBuf,
    /// The .net file.
    pub file: PathBuf,
    /// The sweep directory; each trial writes into its own subdirectory.
    pub out: PathBuf,
    pub data_dir: Option<PathBuf>,
    pub threads: usize,
}

impl TrainCommand {
    /// `netc train FILE --set k=v ... --set seed=S --out DIR/TRIAL --force ...`
    /// (not `--quiet`: the trial's log keeps a line per evaluation). Resumed,
    /// `--resume DIR/TRIAL/checkpoint.safetensors` replaces `--force`, and the
    /// trial ends with the same weights as one never interrupted.
    pub fn train_args(&self, trial: &Trial, start: Start) -> TrainArgs {
        let dir = self.out.join(&trial.dir);
        TrainArgs {
            file: self.file.clone(),
            sets: trial.overrides(),
            resume: (start == Start::Resume).then(|| dir.join(CHECKPOINT)),
            out: Some(dir),
            // The sweep owns its trials' directories (checked before planning).
            force: start == Start::Fresh,
            data_dir: self.data_dir.clone(),
            threads: self.threads,
            seed: None,
            epochs: None,
            steps: None,
            quiet: false,
        }
    }

    /// The trial's command as one POSIX shell line.
    pub fn shell_line(&self, trial: &Trial) -> String {
        std::iter::once(self.exe.display().to_string())
            .chain(self.args(trial, Start::Fresh))
            .map(|a| quote(&a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

impl TrialCommand for TrainCommand {
    fn exe(&self) -> &Path {
        &self.exe
    }

    fn out(&self) -> &Path {
        &self.out
    }

    fn args(&self, trial: &Trial, start: Start) -> Vec<String> {
        self.train_args(trial, start).to_argv()
    }
}

/// `word` as a POSIX shell word: unchanged when safe, else in single quotes.
pub(super) fn quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(quote("d.p=0.25"), "d.p=0.25");
        assert_eq!(quote("l1(h1)=0.1"), "'l1(h1)=0.1'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
    }

    fn command() -> TrainCommand {
        TrainCommand {
            exe: "/usr/bin/netc".into(),
            file: "models/digits.net".into(),
            out: "sweeps/digits".into(),
            data_dir: Some("data dir".into()),
            threads: 1,
        }
    }

    fn trial() -> Trial {
        Trial {
            dir: "l1.h1=0.1_seed=2".into(),
            settings: vec![("l1(h1)".into(), "0.1".into())],
            seed: 2,
        }
    }

    #[test]
    fn a_trial_command_names_its_overrides_and_directory() {
        assert_eq!(
            command().shell_line(&trial()),
            "/usr/bin/netc train models/digits.net --set 'l1(h1)=0.1' --set seed=2 \
             --out sweeps/digits/l1.h1=0.1_seed=2 --force --data-dir 'data dir'"
        );
        assert_eq!(
            command().args(&trial(), Start::Resume).join(" "),
            "train models/digits.net --set l1(h1)=0.1 --set seed=2 \
             --out sweeps/digits/l1.h1=0.1_seed=2 \
             --resume sweeps/digits/l1.h1=0.1_seed=2/checkpoint.safetensors --data-dir data dir"
        );
    }
}
