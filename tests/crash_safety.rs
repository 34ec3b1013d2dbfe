//! `netc train` killed (SIGKILL) at random moments: every file of the run
//! directory is then absent or complete and loadable, and resuming from the
//! last checkpoint ends with the same `model.safetensors`, byte for byte, as a
//! run that was never interrupted.

use netc::checkpoint;
use netc::lang::lower::init_params;
use netc::run::metrics;
use netc::train::make_optimizer;
use rand::{RngExt, SeedableRng};
use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const TINY: &str = "tests/fixtures/nets/tiny_mnist.net";
const DATA: &str = "tests/fixtures/data";
const EPOCHS: &str = "4";
/// 500 training images in batches of 50, for `EPOCHS` epochs.
const STEPS: u64 = 40;
const ROUNDS: usize = 4;

fn train(out: &Path, resume: bool) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_netc"));
    c.args([
        "train",
        TINY,
        "--data-dir",
        DATA,
        "--quiet",
        "--epochs",
        EPOCHS,
    ])
    .arg("--out")
    .arg(out)
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    if resume {
        c.arg("--resume").arg(out.join("checkpoint.safetensors"));
    } else {
        // Starting over: a run killed before its first checkpoint may have
        // left a model or metrics, which a fresh run refuses to overwrite.
        c.arg("--force");
    }
    c
}

/// Whether `name` is a temporary file of an atomic write (`.<file>.<pid>.<n>.tmp`):
/// invisible to readers, removed by the next run.
fn is_temp(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Every file in `dir` is a temporary or one of the run's files, complete
/// and loadable. Returns the names of the temporaries and the checkpoint's step.
fn check_run_dir(
    dir: &Path,
    model: &netc::lang::Model,
    round: usize,
) -> (Vec<String>, Option<u64>) {
    let (mut temps, mut step) = (Vec::new(), None);
    let Ok(entries) = fs::read_dir(dir) else {
        return (temps, step); // killed before it was made
    };
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let path = e.path();
        let what = format!("round {round}: {name}");
        match name.as_str() {
            "model.safetensors" => {
                let mut params = init_params::<f32>(model, 99).unwrap();
                let meta = checkpoint::load_model(&path, &mut params)
                    .unwrap_or_else(|err| panic!("{what}: {err}"));
                assert_eq!(meta.get("net_name").map(String::as_str), Some("tiny"));
            }
            "checkpoint.safetensors" => {
                let mut params = init_params::<f32>(model, 99).unwrap();
                let mut optim = make_optimizer(&model.train.optimizer).unwrap();
                let loaded =
                    checkpoint::load_checkpoint(&path, &mut params, &mut optim, &["dropout"])
                        .unwrap_or_else(|err| panic!("{what}: {err}"));
                assert!(loaded.state.step > 0, "{what}: a checkpoint at step 0");
                step = Some(loaded.state.step);
            }
            "metrics.csv" => {
                let text = fs::read_to_string(&path).unwrap();
                let (labels, rows) = metrics::read(&text)
                    .unwrap_or_else(|| panic!("{what}: not a metrics file:\n{text}"));
                assert_eq!(labels.len(), model.loss.penalties.len(), "{what}");
                assert!(!rows.is_empty(), "{what}: no rows");
            }
            "curves.svg" => {
                let text = fs::read_to_string(&path).unwrap();
                roxmltree::Document::parse(&text)
                    .unwrap_or_else(|err| panic!("{what}: not a whole SVG: {err}"));
            }
            other if is_temp(other) => temps.push(name),
            other => panic!("{what}: an unexpected file {other}"),
        }
    }
    (temps, step)
}

#[test]
fn a_run_killed_at_random_moments_resumes_to_the_same_weights() {
    let model = netc::lang::parse_and_check(TINY, &fs::read_to_string(TINY).unwrap()).unwrap();
    let whole = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let out = train(whole.path(), false).output().unwrap();
    let full = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = fs::read(whole.path().join("model.safetensors")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    // Seeded: the same moments each time, spread over a whole run's length.
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(6);
    let mut step = None;
    for round in 0..ROUNDS {
        let mut child = train(&run, step.is_some()).spawn().unwrap();
        // A moment within what is left of the run (the start-up included).
        let left = 1.0 - step.unwrap_or(0) as f64 / STEPS as f64;
        let at = full.mul_f64(rng.random_range(0.05..1.0) * left.max(0.2));
        std::thread::sleep(at);
        // SIGKILL: no destructor, no flush, no cleanup.
        let _ = child.kill();
        let status = child.wait().unwrap();
        assert_ne!(status.code(), Some(101), "round {round}: netc panicked");
        let temps;
        (temps, step) = check_run_dir(&run, &model, round);
        eprintln!(
            "round {round}: stopped after {at:?} ({status}) with a checkpoint at step {step:?}; temporaries left: {temps:?}"
        );
    }

    // The last checkpoint (if any was written) carries the run to its end.
    let out = train(&run, step.is_some()).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (temps, _) = check_run_dir(&run, &model, ROUNDS);
    assert!(
        temps.is_empty(),
        "temporaries left after a finished run: {temps:?}"
    );
    assert!(
        fs::read(run.join("model.safetensors")).unwrap() == expected,
        "the resumed run's model differs from the uninterrupted run's"
    );
    assert!(
        t.elapsed() < full * 20 + Duration::from_secs(60),
        "took {:?}",
        t.elapsed()
    );
}

/// `netc sweep` (4 trials, 2 at a time) into `out`, in its own process group
/// so that a kill reaches its trials too, as Ctrl-C or a scheduler's does.
fn sweep(out: &Path) -> Command {
    use std::os::unix::process::CommandExt;
    let mut c = Command::new(env!("CARGO_BIN_EXE_netc"));
    c.args([
        "sweep",
        TINY,
        "--set",
        "d.p=0,0.5",
        "--set",
        "epochs=6",
        "--seeds",
        "2",
        "--jobs",
        "2",
        "--data-dir",
        DATA,
    ])
    .arg("--out")
    .arg(out)
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .process_group(0);
    c
}

/// Each trial directory's `model.safetensors`, by trial.
fn models(out: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    let mut trials: Vec<String> = fs::read_dir(out)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    trials.sort();
    trials
        .into_iter()
        .map(|t| {
            let model = fs::read(out.join(&t).join("model.safetensors")).ok();
            (t, model)
        })
        .collect()
}

/// The rows of a `summary.csv` as (trial columns, status), `seconds` left out.
fn summary_rows(out: &Path) -> Vec<String> {
    let text = fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let keep: Vec<usize> = (0..header.len())
        .filter(|&i| header[i] != "seconds")
        .collect();
    lines
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            keep.iter().map(|&i| cells[i]).collect::<Vec<_>>().join(",")
        })
        .collect()
}

/// A sweep and its trials killed together at random moments: `--collect`
/// reports as done only trials whose model is the final one, and the same
/// sweep run again into its directory finishes every trial (resuming the
/// interrupted ones from their checkpoints) with the same models, byte for
/// byte, and the same summary as a sweep never interrupted.
#[test]
fn a_sweep_killed_at_random_moments_continues_to_the_same_results() {
    let whole = tempfile::tempdir().unwrap();
    let t = Instant::now();
    let out = sweep(whole.path()).output().unwrap();
    let full = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = models(whole.path());
    assert_eq!(expected.len(), 4);
    assert!(expected.iter().all(|(_, m)| m.is_some()));

    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(13);
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("sweep");
    let mut interrupted = 0;
    // The first sweep's time is only a guide: on a loaded machine it can be
    // slower than later ones, and a kill then lands after the end.
    let mut budget = full;
    for round in 0..ROUNDS {
        let mut child = sweep(&out_dir).spawn().unwrap();
        std::thread::sleep(budget.mul_f64(rng.random_range(0.05..0.6)));
        // SIGKILL to the whole group: the sweep and every trial under it.
        let group = child.id();
        assert!(group > 1);
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{group}")])
            .status();
        let status = child.wait().unwrap();
        assert_ne!(status.code(), Some(101), "round {round}: netc panicked");

        // What --collect says is done is final.
        let collected = Command::new(env!("CARGO_BIN_EXE_netc"))
            .args(["sweep", "--collect"])
            .arg(&out_dir)
            .output()
            .unwrap();
        assert_ne!(collected.status.code(), Some(101));
        if !out_dir.join("summary.csv").exists() {
            continue; // killed before the plan was written
        }
        let text = fs::read_to_string(out_dir.join("summary.csv")).unwrap();
        let done = text.lines().filter(|l| l.contains(",done,")).count();
        for (trial, model) in models(&out_dir) {
            let final_model = expected
                .iter()
                .find(|(t, _)| *t == trial)
                .unwrap()
                .1
                .clone();
            if model.is_some() && model == final_model {
                continue;
            }
            // Not final: never counted as done.
            assert!(
                !text
                    .lines()
                    .any(|l| l.contains(",done,") && trial_matches(l, &trial)),
                "round {round}: {trial} is reported done with an unfinished model:\n{text}"
            );
        }
        eprintln!("round {round}: {status}; {done} of 4 trials done");
        interrupted += usize::from(done < 4);
        if done == 4 && interrupted == 0 {
            // Finished before the kill: start again, sooner.
            fs::remove_dir_all(&out_dir).unwrap();
            budget /= 2;
        }
    }
    assert!(interrupted > 0, "no round stopped the sweep before its end");

    let out = sweep(&out_dir).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(models(&out_dir), expected, "{stderr}");
    assert_eq!(summary_rows(&out_dir), summary_rows(whole.path()));
}

/// Whether a summary.csv row is the trial `dir` (`d.p=0_epochs=6_seed=1`):
/// its cells hold each of the trial's values.
fn trial_matches(row: &str, dir: &str) -> bool {
    let cells: Vec<&str> = row.split(',').collect();
    dir.split('_')
        .filter_map(|kv| kv.split_once('='))
        .all(|(_, v)| cells.contains(&v))
}
