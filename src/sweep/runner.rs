//! Running trials as separate processes, `jobs` at a time. Each trial's
//! output goes to `train.log` in its directory; a trial that fails is
//! reported and the others go on.

use super::collect::LOG;
use super::grid::Trial;
use std::fs::{self, File};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How one trial's process ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Finished {
    /// Its index in the plan.
    pub index: usize,
    /// `Ok` when the process exited with status 0; else what went wrong
    /// (the exit status, or why it could not start).
    pub result: Result<(), String>,
    pub wall: Duration,
}

/// How a trial's process begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Start {
    /// From scratch, over whatever its directory holds.
    Fresh,
    /// From the checkpoint an interrupted sweep left in its directory.
    Resume,
}

/// How to start a trial's process.
pub trait TrialCommand: Sync {
    /// The executable (netc itself).
    fn exe(&self) -> &Path;
    /// The sweep directory; each trial has its own directory in it.
    fn out(&self) -> &Path;
    /// The arguments that train `trial`, starting as `start` says.
    fn args(&self, trial: &Trial, start: Start) -> Vec<String>;
}

/// Runs the trials `todo` names (indices into `trials`), at most `jobs` at
/// once, calling `done` (on this thread) as each one ends, in the order they end.
pub fn run(
    cmd: &dyn TrialCommand,
    trials: &[Trial],
    todo: &[(usize, Start)],
    jobs: usize,
    mut done: impl FnMut(Finished),
) {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, todo.len().max(1)) {
            let tx = tx.clone();
            let next = &next;
            scope.spawn(move || {
                while let Some(&(index, start)) = todo.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let t0 = Instant::now();
                    let result = run_one(cmd, &trials[index], start);
                    let f = Finished {
                        index,
                        result,
                        wall: t0.elapsed(),
                    };
                    if tx.send(f).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        for f in rx {
            done(f);
        }
    });
}

/// One trial: its directory, its log (continued when resuming), its process.
fn run_one(cmd: &dyn TrialCommand, trial: &Trial, start: Start) -> Result<(), String> {
    let dir = cmd.out().join(&trial.dir);
    fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let log_path = dir.join(LOG);
    let log = File::options()
        .create(true)
        .write(true)
        .append(start == Start::Resume)
        .truncate(start == Start::Fresh)
        .open(&log_path)
        .map_err(|e| format!("cannot create {}: {e}", log_path.display()))?;
    let args = cmd.args(trial, start);
    let err = log
        .try_clone()
        .map_err(|e| format!("cannot share {}: {e}", log_path.display()))?;
    let status = Command::new(cmd.exe())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .status()
        .map_err(|e| format!("cannot start {}: {e}", cmd.exe().display()))?;
    if status.success() {
        Ok(())
    } else {
        Err(match status.code() {
            Some(c) => format!("exit status {c}"),
            None => "killed by a signal".to_string(),
        })
    }
}
