//! The command that runs one trial, as arguments and as a shell line
//! (`netc sweep --plan` prints one per trial for GNU parallel, a Slurm job
//! array or a Kubernetes Job).

use super::grid::Trial;
use std::path::{Path, PathBuf};

/// A trial's checkpoint, in its directory.
pub const CHECKPOINT: &str = "checkpoint.safetensors";

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
    /// (not `--quiet`: the trial's log keeps a line per evaluation).
    pub fn args(&self, trial: &Trial) -> Vec<String> {
        let s = |p: &Path| p.display().to_string();
        let mut a = vec!["train".to_string(), s(&self.file)];
        for o in trial.overrides() {
            a.push("--set".into());
            a.push(o);
        }
        a.extend([
            "--out".into(),
            s(&self.out.join(&trial.dir)),
            // The sweep owns its trials' directories (checked before planning).
            "--force".into(),
        ]);
        if let Some(d) = &self.data_dir {
            a.extend(["--data-dir".into(), s(d)]);
        }
        if self.threads != 1 {
            a.extend(["--threads".into(), self.threads.to_string()]);
        }
        a
    }

    /// The command that continues a trial from its checkpoint (as
    /// [`args`](Self::args), with `--resume` in place of `--force`):
    /// resumed, it ends with the same weights as a trial never interrupted.
    pub fn resume_args(&self, trial: &Trial) -> Vec<String> {
        let ckpt = self.out.join(&trial.dir).join(CHECKPOINT);
        self.args(trial)
            .into_iter()
            .flat_map(|a| match a.as_str() {
                "--force" => vec!["--resume".to_string(), ckpt.display().to_string()],
                _ => vec![a],
            })
            .collect()
    }

    /// The trial's command as one POSIX shell line.
    pub fn shell_line(&self, trial: &Trial) -> String {
        std::iter::once(self.exe.display().to_string())
            .chain(self.args(trial))
            .map(|a| quote(&a))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `word` as a POSIX shell word: unchanged when safe, else in single quotes.
pub fn quote(word: &str) -> String {
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

    #[test]
    fn a_trial_command_names_its_overrides_and_directory() {
        let c = TrainCommand {
            exe: "/usr/bin/netc".into(),
            file: "models/digits.net".into(),
            out: "sweeps/digits".into(),
            data_dir: Some("data dir".into()),
            threads: 1,
        };
        let t = Trial {
            dir: "l1.h1=0.1_seed=2".into(),
            settings: vec![("l1(h1)".into(), "0.1".into())],
            seed: 2,
        };
        assert_eq!(
            c.shell_line(&t),
            "/usr/bin/netc train models/digits.net --set 'l1(h1)=0.1' --set seed=2 \
             --out sweeps/digits/l1.h1=0.1_seed=2 --force --data-dir 'data dir'"
        );
    }
}
