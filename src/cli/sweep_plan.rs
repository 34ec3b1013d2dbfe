//! `netc sweep --plan [lines|slurm|k8s]`: a sweep's trials for another
//! runner. `lines` is one shell command per trial; `slurm` an `sbatch` script
//! whose array task `SLURM_ARRAY_TASK_ID` runs that trial; `k8s` a Kubernetes
//! Indexed Job whose pod `JOB_COMPLETION_INDEX` runs it. All three run the
//! same `netc train` commands into the same trial directories, so
//! `netc sweep --collect DIR` gathers what finished.

use super::trial_command::{TrainCommand, quote};
use clap::ValueEnum;
use netc::run::CHECKPOINT;
use netc::sweep::Trial;
use netc::sweep::runner::Start;
use std::fmt::Write;
use std::path::Path;

/// How `--plan` writes the trials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// One shell command per trial (for GNU parallel, xargs, ...).
    Lines,
    /// An sbatch script: one Slurm array task per trial.
    Slurm,
    /// A Kubernetes Indexed Job manifest: one completion index per trial.
    K8s,
}

/// The image `--plan k8s` names when `--image` is not given: it cannot run,
/// and says what to put there.
pub const IMAGE_PLACEHOLDER: &str = "REPLACE-ME/netc-image:with-netc-on-its-path";

/// What a scheduler plan needs beyond the trials' commands.
pub struct Cluster<'a> {
    /// The Slurm job's or Kubernetes Job's name.
    pub name: &'a str,
    /// Trials at a time (`--jobs`); `None`: as many as the scheduler allows.
    pub jobs: Option<usize>,
    /// CPUs of one trial (`--threads`).
    pub threads: usize,
    /// Kubernetes: the container image holding `netc`.
    pub image: &'a str,
    /// Kubernetes: the PersistentVolumeClaim holding the files.
    pub claim: &'a str,
    /// Kubernetes: where the claim is mounted, the trials' working directory.
    pub mount: &'a str,
}

/// A POSIX shell script that runs the trial numbered by the environment
/// variable `var` (0-based, in plan order): resumed from its checkpoint if
/// it has one (a requeued or retried task), else from the start. An unset or
/// unknown index fails with a message naming the plan's range.
pub fn trial_selector(cmd: &TrainCommand, trials: &[Trial], var: &str) -> String {
    let n = trials.len();
    let exe = cmd.exe.display().to_string();
    let line = |t: &Trial, start: Start| {
        std::iter::once(exe.clone())
            .chain(cmd.train_args(t, start).to_argv())
            .map(|a| quote(&a))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut s = format!(
        "i=\"${{{var}:-}}\"\n\
         case \"$i\" in\n"
    );
    for (i, t) in trials.iter().enumerate() {
        let dir = cmd.out.join(&t.dir).join(CHECKPOINT);
        let _ = write!(
            s,
            "  {i})\n    if [ -f {} ]; then\n      set -- {}\n    else\n      set -- {}\n    fi ;;\n",
            quote(&dir.display().to_string()),
            line(t, Start::Resume),
            line(t, Start::Fresh),
        );
    }
    let _ = write!(
        s,
        "  *)\n    echo \"netc sweep plan: {var}='$i' is not a trial of this plan (0 to {}, {n} trials)\" >&2\n    exit 1 ;;\nesac\n\
         echo \"netc sweep plan: trial $i of {n}: $*\" >&2\n\
         exec \"$@\"\n",
        n.saturating_sub(1)
    );
    s
}

/// An sbatch script: `#SBATCH --array=0-(N-1)`, a CPU-bound task of
/// `threads` CPUs, the output of each task in its own file, and the trial
/// chosen by `SLURM_ARRAY_TASK_ID`; run from `cwd` (where the plan was made),
/// as the trials' relative paths are.
pub fn slurm(cmd: &TrainCommand, trials: &[Trial], c: &Cluster<'_>, cwd: &Path) -> String {
    let n = trials.len();
    let limit = c.jobs.map_or(String::new(), |j| format!("%{j}"));
    let mut s = String::from("#!/bin/bash\n");
    let _ = writeln!(s, "#SBATCH --job-name={}", c.name);
    let _ = writeln!(s, "#SBATCH --array=0-{}{limit}", n.saturating_sub(1));
    s.push_str("#SBATCH --ntasks=1\n");
    let _ = writeln!(s, "#SBATCH --cpus-per-task={}", c.threads);
    s.push_str("#SBATCH --output=%x_%A_%a.out\n");
    let _ = write!(
        s,
        "# netc sweep: {n} trials of {} into {}, one array task each.\n\
         # Submit with `sbatch THIS_FILE`; a task's output goes to <job name>_<job id>_<task>.out\n\
         # in the directory sbatch ran in. Then `netc sweep --collect {}` summarises the finished trials.\n\
         set -eu\n\
         cd -- {}\n",
        one_line(&cmd.file.display().to_string()),
        one_line(&cmd.out.display().to_string()),
        one_line(&quote(&cmd.out.display().to_string())),
        quote(&cwd.display().to_string()),
    );
    s.push_str(&trial_selector(cmd, trials, "SLURM_ARRAY_TASK_ID"));
    s
}

/// A Kubernetes batch/v1 Indexed Job: one completion per trial, the trial
/// chosen by `JOB_COMPLETION_INDEX`, the files on a PersistentVolumeClaim
/// mounted as the working directory. Strings are written as JSON strings,
/// which YAML reads as they are, whatever they hold.
pub fn k8s(cmd: &TrainCommand, trials: &[Trial], c: &Cluster<'_>) -> String {
    let n = trials.len();
    let q = |v: &str| serde_json::Value::from(v).to_string();
    let script = format!(
        "set -eu\n{}",
        trial_selector(cmd, trials, "JOB_COMPLETION_INDEX")
    );
    let parallelism = c.jobs.unwrap_or(n).min(n);
    let image_note = if c.image == IMAGE_PLACEHOLDER {
        "# THE IMAGE IS A PLACEHOLDER: give --image with one holding netc on its PATH and /bin/sh.\n"
    } else {
        ""
    };
    format!(
        "# netc sweep: {n} trials of {file} into {out}, one completion index each.\n\
         # The PersistentVolumeClaim {claim} must hold the files the trials name, as\n\
         # they are named here (relative to where the plan was made), mounted at {mount}.\n\
         # Apply with `kubectl apply -f THIS_FILE`; then `netc sweep --collect {out}` on a\n\
         # machine that sees the volume summarises the finished trials.\n\
         {image_note}\
         apiVersion: batch/v1\n\
         kind: Job\n\
         metadata:\n  name: {name}\n  labels:\n    app.kubernetes.io/name: netc-sweep\n\
         spec:\n  completionMode: Indexed\n  completions: {n}\n  parallelism: {parallelism}\n\
         \x20 # failed pods in all, before the Job gives up; a retried trial resumes from its checkpoint\n\
         \x20 backoffLimit: {n}\n\
         \x20 template:\n    metadata:\n      labels:\n        app.kubernetes.io/name: netc-sweep\n\
         \x20   spec:\n      restartPolicy: Never\n      containers:\n        - name: trial\n\
         \x20         image: {image}\n          workingDir: {qmount}\n\
         \x20         command: [\"/bin/sh\", \"-c\", {script}]\n\
         \x20         resources:\n            requests:\n              cpu: {cpu}\n\
         \x20         volumeMounts:\n            - name: sweep-files\n              mountPath: {qmount}\n\
         \x20     volumes:\n        - name: sweep-files\n          persistentVolumeClaim:\n\
         \x20           claimName: {qclaim}\n",
        file = one_line(&cmd.file.display().to_string()),
        out = one_line(&quote(&cmd.out.display().to_string())),
        claim = one_line(c.claim),
        mount = one_line(c.mount),
        name = q(c.name),
        image = q(c.image),
        qmount = q(c.mount),
        script = q(&script),
        cpu = q(&c.threads.to_string()),
        qclaim = q(c.claim),
    )
}

/// `text` for a comment line: control characters (a newline would end the
/// comment and start code) written as escapes.
fn one_line(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// `text` made a name both schedulers take: a Kubernetes object name
/// (DNS-1123: lowercase letters, digits and `-`, starting and ending with an
/// alphanumeric) of at most 52 characters, so the pods' names fit in 63.
pub fn job_name(text: &str) -> String {
    let mut name = String::new();
    for ch in text.chars().flat_map(char::to_lowercase) {
        let ch = if ch.is_ascii_alphanumeric() { ch } else { '-' };
        if !(ch == '-' && (name.is_empty() || name.ends_with('-'))) {
            name.push(ch);
        }
    }
    name.truncate(52);
    let name = name.trim_end_matches('-').to_string();
    if name.is_empty() {
        "netc-sweep".into()
    } else {
        name
    }
}

/// Whether `name` is already a valid job name ([`job_name`] leaves it alone).
pub fn is_job_name(name: &str) -> bool {
    job_name(name) == name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_stay_on_one_line() {
        assert_eq!(one_line("a\nb\tc d"), "a\\nb\\tc d");
    }

    #[test]
    fn job_names_are_dns_labels() {
        assert_eq!(job_name("netc-Digits_2"), "netc-digits-2");
        assert_eq!(job_name("--a..b--"), "a-b");
        assert_eq!(job_name("ünïcode"), "n-code");
        assert_eq!(job_name("..."), "netc-sweep");
        assert_eq!(job_name(&"x".repeat(80)).len(), 52);
        assert!(is_job_name("netc-mnist"));
        assert!(!is_job_name("Netc"));
    }
}
