//! `netc sweep FILE --set KEY=V1,V2,... [--seeds N] [--jobs J] [--out DIR]`:
//! every combination × seeds, each trial a `netc train` process with its own
//! directory; then `summary.csv`, a table over seeds and `summary.svg`.
//! `--plan [lines|slurm|k8s]` prints the trials for another runner instead
//! (`sweep_plan.rs`); `--collect DIR` summarises whatever trials of a sweep
//! directory have finished.

use super::Reporter;
use super::console::{errln, out, outln};
use super::sweep_plan::{self, Cluster, IMAGE_PLACEHOLDER, PlanFormat};
use super::trial_command::TrainCommand;
use super::wording;
use clap::Args;
use netc::files::write_atomic;
use netc::lang::overrides::{Override, SetError, apply, parse_and_check_with};
use netc::plot;
use netc::run::CHECKPOINT;
use netc::sweep::collect::{self, State};
use netc::sweep::place;
use netc::sweep::runner::Start;
use netc::sweep::{Axis, MANIFEST, Manifest, Trial, expand, results, runner, tied};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// The .net file to sweep.
    #[arg(value_name = "FILE", required_unless_present = "collect")]
    file: Option<PathBuf>,
    /// A key and the values to try, e.g. `d.p=0,0.25,0.5`; repeat for a grid
    /// (keys as for `netc train --set`; `netc check FILE --keys` lists them).
    /// Keys joined by `+` take the same value together: `d1.p+d2.p=0.2,0.5`.
    #[arg(long = "set", value_name = "KEY=V1,V2,...")]
    sets: Vec<String>,
    /// Seeds per setting: the file's seed and the N-1 after it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=10_000))]
    seeds: Option<u64>,
    /// Trials at a time [default: the number of cores].
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u64).range(1..=1024))]
    jobs: Option<u64>,
    /// The sweep directory [default: sweeps/<net name>/, or the first free
    /// sweeps/<net name>-2/, -3/, ...].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Lets --out name a directory that holds an earlier sweep, overwriting
    /// its trials (without it, that is refused).
    #[arg(long)]
    force: bool,
    /// Passed to each trial's `netc train`.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Threads per trial (each trial's `netc train --threads`).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=256))]
    threads: u64,
    /// Print the trials instead of running them: `lines` (the default), one
    /// shell command per trial (for GNU parallel, xargs, ...); `slurm`, an
    /// sbatch script with one array task per trial; `k8s`, a Kubernetes
    /// Indexed Job manifest. DIR/sweep.txt records the plan for --collect.
    #[arg(long, value_enum, value_name = "FORMAT", num_args = 0..=1,
          default_missing_value = "lines")]
    plan: Option<PlanFormat>,
    /// The Slurm job's or Kubernetes Job's name [default: netc- and the sweep
    /// directory's name, as a DNS label].
    #[arg(
        long,
        value_name = "NAME",
        help_heading = "Cluster plans (--plan slurm|k8s)"
    )]
    job_name: Option<String>,
    /// The container image of `--plan k8s`: one with netc on its PATH and
    /// /bin/sh [default: a placeholder to replace].
    #[arg(
        long,
        value_name = "IMAGE",
        help_heading = "Cluster plans (--plan slurm|k8s)"
    )]
    image: Option<String>,
    /// The PersistentVolumeClaim of `--plan k8s` holding the .net file, the
    /// data and the sweep directory, as named relative to here.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "netc-sweeps",
        help_heading = "Cluster plans (--plan slurm|k8s)"
    )]
    volume_claim: String,
    /// Where `--plan k8s` mounts the claim: the trials' working directory.
    #[arg(
        long,
        value_name = "PATH",
        default_value = "/netc",
        help_heading = "Cluster plans (--plan slurm|k8s)"
    )]
    mount: String,
    /// Summarise the finished trials of a sweep directory, naming the missing ones.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["file", "sets", "seeds", "jobs", "out", "force", "plan", "data_dir"])]
    collect: Option<PathBuf>,
}

pub fn run(args: &SweepArgs, r: &mut Reporter) {
    if let Some(dir) = &args.collect {
        collect_dir(dir, r);
        return;
    }
    let Some(file) = &args.file else {
        r.error("`netc sweep` needs a .net file (or `--collect DIR`)");
        return;
    };
    let Some(plan) = make_plan(file, args, r) else {
        return;
    };
    let placed = match place::place(
        args.out.as_deref(),
        args.force,
        &plan.default_out,
        &plan.manifest,
    ) {
        Ok(p) => p,
        Err(e) => return r.error(wording::sweep_error(&e)),
    };
    if let Err(e) = placed.create(&plan.manifest) {
        return r.error(wording::sweep_error(&e));
    }
    let (out, continuing) = (placed.dir, placed.continuing);
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => {
            r.error(format!(
                "cannot find the netc executable to run the trials: {e}"
            ));
            return;
        }
    };
    let cmd = TrainCommand {
        exe,
        file: file.clone(),
        out: out.clone(),
        data_dir: args.data_dir.clone(),
        threads: args.threads as usize,
    };
    let trials = &plan.manifest.trials;
    if let Some(format) = args.plan {
        print_plan(format, cmd, trials, args, r);
        if r.failed() {
            return;
        }
        errln!(
            "{} trials planned in {}; `netc sweep --collect {}` summarises the finished ones",
            trials.len(),
            out.display(),
            out.display()
        );
        return;
    }
    let jobs = args.jobs.map_or_else(
        || std::thread::available_parallelism().map_or(1, |n| n.get()),
        |j| j as usize,
    );
    errln!(
        "sweep: {} trials ({} settings × {} seeds), {} at a time, in {}",
        trials.len(),
        trials.len() / plan.seeds.max(1),
        plan.seeds,
        jobs.min(trials.len()),
        out.display()
    );
    let todo = todo(&out, trials, continuing);
    let n = trials.len();
    let (mut finished, mut failed) = (n - todo.len(), 0usize);
    if continuing {
        errln!(
            "sweep: continuing {}: {} of {n} trials finished earlier, {} to resume, {} to start",
            out.display(),
            n - todo.len(),
            todo.iter().filter(|(_, s)| *s == Start::Resume).count(),
            todo.iter().filter(|(_, s)| *s == Start::Fresh).count(),
        );
    }
    runner::run(&cmd, trials, &todo, jobs, |f| {
        finished += 1;
        let t = &trials[f.index];
        let what = match &f.result {
            Ok(()) => match collect::read_planned(&out, t) {
                State::Done(o) => brief(&o),
                State::Incomplete(why) => why,
                State::Missing => "no directory".into(),
            },
            Err(why) => {
                failed += 1;
                let tail = collect::last_error(&out.join(&t.dir)).unwrap_or_default();
                format!("FAILED ({why}) {tail}")
            }
        };
        errln!(
            "[{finished}/{n}] {}  {}  {:.1}s",
            t.label(),
            what.trim_end(),
            f.wall.as_secs_f64()
        );
    });
    summarise(&out, &plan.manifest, r);
    if failed > 0 {
        r.error(format!(
            "{failed} of {n} trials failed; each one's output is in {}/<trial>/{}",
            out.display(),
            collect::LOG
        ));
    }
}

/// Prints the plan in `format`.
fn print_plan(
    format: PlanFormat,
    mut cmd: TrainCommand,
    trials: &[Trial],
    args: &SweepArgs,
    r: &mut Reporter,
) {
    let dir_name = cmd
        .out
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let name = match &args.job_name {
        Some(n) if sweep_plan::is_job_name(n) => n.clone(),
        Some(n) => {
            return r.error(format!(
                "--job-name `{n}` is not a name Kubernetes takes: lowercase letters, digits \
                 and `-`, starting and ending with a letter or digit, at most 52 characters \
                 (e.g. `{}`)",
                sweep_plan::job_name(n)
            ));
        }
        None => sweep_plan::job_name(&format!("netc-{dir_name}")),
    };
    let cluster = Cluster {
        name: &name,
        jobs: args.jobs.map(|j| j as usize),
        threads: args.threads as usize,
        image: args.image.as_deref().unwrap_or(IMAGE_PLACEHOLDER),
        claim: &args.volume_claim,
        mount: &args.mount,
    };
    match format {
        PlanFormat::Lines => {
            for t in trials {
                outln!("{}", cmd.shell_line(t));
            }
        }
        PlanFormat::Slurm => {
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            out!("{}", sweep_plan::slurm(&cmd, trials, &cluster, &cwd));
        }
        PlanFormat::K8s => {
            // The container runs the image's netc, in the mounted volume.
            cmd.exe = PathBuf::from("netc");
            let outside: Vec<String> = [Some(&cmd.file), Some(&cmd.out), cmd.data_dir.as_ref()]
                .into_iter()
                .flatten()
                .filter(|p| p.is_absolute())
                .map(|p| p.display().to_string())
                .collect();
            if !outside.is_empty() {
                r.warning(format!(
                    "{} {} absolute: the pods see it only if the image or the volume mounted \
                     at {} has it there; relative paths are read on the volume",
                    outside.join(", "),
                    if outside.len() == 1 { "is" } else { "are" },
                    args.mount
                ));
            }
            if args.image.is_none() {
                r.warning(format!(
                    "no --image: the manifest names the placeholder `{IMAGE_PLACEHOLDER}`; \
                     replace it with an image holding netc"
                ));
            }
            out!("{}", sweep_plan::k8s(&cmd, trials, &cluster));
        }
    }
}

/// The trials to run and how each starts. A new sweep starts them all; one
/// continued skips the finished trials and resumes those with a checkpoint
/// (a trial killed before its first checkpoint starts again).
fn todo(out: &Path, trials: &[Trial], continuing: bool) -> Vec<(usize, Start)> {
    let mut todo = Vec::new();
    for (i, t) in trials.iter().enumerate() {
        if !continuing {
            todo.push((i, Start::Fresh));
            continue;
        }
        match collect::read_planned(out, t) {
            State::Done(_) => {}
            _ if out.join(&t.dir).join(CHECKPOINT).is_file() => todo.push((i, Start::Resume)),
            _ => todo.push((i, Start::Fresh)),
        }
    }
    todo
}

/// The most trials one sweep may plan.
const MAX_TRIALS: usize = 10_000;

/// The plan of a sweep, checked: every trial's overrides apply and check.
struct Plan {
    manifest: Manifest,
    seeds: usize,
    default_out: PathBuf,
}

fn make_plan(file: &Path, args: &SweepArgs, r: &mut Reporter) -> Option<Plan> {
    let (base, _) = r.model_with(file, &[])?;
    let mut axes = Vec::new();
    for s in &args.sets {
        match Axis::parse(s) {
            Ok(a) => axes.push(a),
            Err(e) => r.error(wording::sweep_error(&e)),
        }
    }
    if axes.len() != args.sets.len() {
        return None;
    }
    // Keys as the file names them (`l1.h1` is `l1(h1)`), each swept once.
    for a in &mut axes {
        if a.key == "seed" {
            continue;
        }
        let mut canonical = Vec::new();
        for key in tied(&a.key) {
            if key == "seed" {
                r.error("`seed` cannot be tied to other keys: sweep it with --seeds");
                return None;
            }
            let probe = [Override {
                key: key.to_string(),
                value: a.values[0].clone(),
            }];
            match apply(&base.source, &probe) {
                Ok(applied) => canonical.push(
                    match applied.canonical.first().and_then(|c| c.split_once('=')) {
                        Some((k, _)) => k.to_string(),
                        None => key.to_string(),
                    },
                ),
                Err(e) => {
                    r.error(wording::override_error(&e));
                    return None;
                }
            }
        }
        a.key = canonical.join("+");
    }
    let mut seen: Vec<&str> = Vec::new();
    for a in &axes {
        for key in tied(&a.key) {
            if seen.contains(&key) {
                r.error(format!(
                    "`{key}` is swept twice: list its values in one --set"
                ));
                return None;
            }
            seen.push(key);
        }
    }
    let seeds: Vec<u64> = match (axes.iter().position(|a| a.key == "seed"), args.seeds) {
        (Some(_), Some(_)) => {
            r.error("both `--seeds` and `--set seed=...` choose the seeds: give one");
            return None;
        }
        (Some(i), None) => {
            let a = axes.remove(i);
            let mut seeds = Vec::new();
            for v in &a.values {
                match v.parse::<u64>() {
                    Ok(s) => seeds.push(s),
                    Err(_) => {
                        r.error(format!(
                            "`--set seed=...`: `{v}` is not a seed (a whole number 0..2^64-1)"
                        ));
                        return None;
                    }
                }
            }
            seeds
        }
        (None, n) => {
            let first = base.train.seed;
            let n = n.unwrap_or(1);
            match first.checked_add(n - 1) {
                Some(_) => (0..n).map(|k| first + k).collect(),
                None => {
                    r.error(format!(
                        "--seeds {n} from the file's seed {first} runs past 2^64-1"
                    ));
                    return None;
                }
            }
        }
    };
    // Refuse an absurd grid before building it.
    let count = axes
        .iter()
        .try_fold(seeds.len(), |n, a| n.checked_mul(a.values.len()))
        .filter(|&n| n <= MAX_TRIALS);
    let Some(_) = count else {
        let sizes: Vec<String> = axes
            .iter()
            .map(|a| a.values.len().to_string())
            .chain(std::iter::once(seeds.len().to_string()))
            .collect();
        r.error(format!(
            "the grid has {} trials, more than {MAX_TRIALS}: sweep fewer values at once",
            sizes.join(" × ")
        ));
        return None;
    };
    let trials = expand(&axes, &seeds);
    if !check_trials(file, &base.source, &trials, r) {
        return None;
    }
    Some(Plan {
        manifest: Manifest {
            file: file.display().to_string(),
            keys: axes.iter().map(|a| a.key.clone()).collect(),
            trials,
        },
        seeds: seeds.len(),
        default_out: Path::new("sweeps").join(&base.name),
    })
}

/// Applies and checks each trial's overrides before anything runs, so a
/// bad value is reported now rather than by one trial in the middle.
fn check_trials(file: &Path, source: &str, trials: &[Trial], r: &mut Reporter) -> bool {
    let shown = file.display().to_string();
    for t in trials {
        let overrides: Vec<Override> = t
            .overrides()
            .iter()
            .filter_map(|o| Override::parse(o).ok())
            .collect();
        match parse_and_check_with(&shown, source, &overrides, &wording::set_arg) {
            Ok(_) => {}
            Err(SetError::Override(e)) => {
                r.error(format!(
                    "trial `{}`: {}",
                    t.label(),
                    wording::override_error(&e)
                ));
                return false;
            }
            Err(SetError::Check(d)) => {
                r.diagnostics(&d, "check");
                r.error(format!(
                    "trial `{}` does not check; nothing was run",
                    t.label()
                ));
                return false;
            }
        }
    }
    true
}

/// `test acc 96.10%  train acc 100.00%  gap 3.90`
fn brief(o: &netc::sweep::Outcome) -> String {
    match (o.test_acc, o.train_acc) {
        (Some(te), Some(tr)) => format!(
            "test acc {:.2}%  train acc {:.2}%  gap {:.2}",
            100.0 * te,
            100.0 * tr,
            100.0 * (tr - te)
        ),
        _ => format!(
            "test loss {:.4}  train loss {:.4}",
            o.test_loss, o.train_loss
        ),
    }
}

/// `--collect DIR`: the plan from DIR/sweep.txt (or, without one, every run
/// directory found), then the summary of whatever finished.
fn collect_dir(dir: &Path, r: &mut Reporter) {
    let Some(manifest) = read_sweep(dir, r) else {
        return;
    };
    summarise(dir, &manifest, r);
}

/// The plan of sweep directory `dir`: its sweep.txt, or without one the
/// trials its subdirectories record; `None` (reported) if it has none.
pub(super) fn read_sweep(dir: &Path, r: &mut Reporter) -> Option<Manifest> {
    let path = dir.join(MANIFEST);
    let manifest = if path.exists() {
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) => {
                r.error(format!("cannot read {}: {e}", path.display()));
                return None;
            }
        };
        match Manifest::parse(&text, &path) {
            Ok(m) => m,
            Err(e) => {
                r.error(e.to_string());
                return None;
            }
        }
    } else {
        match collect::scan(dir) {
            Ok(found) => {
                let mut keys: Vec<String> = Vec::new();
                for (t, _) in &found {
                    for (k, _) in &t.settings {
                        if !keys.contains(k) {
                            keys.push(k.clone());
                        }
                    }
                }
                Manifest {
                    file: dir.display().to_string(),
                    keys,
                    trials: found.into_iter().map(|(t, _)| t).collect(),
                }
            }
            Err(e) => {
                r.error(format!(
                    "cannot read the sweep directory {}: {e}",
                    dir.display()
                ));
                return None;
            }
        }
    };
    if manifest.trials.is_empty() {
        r.error(format!(
            "{} holds no {MANIFEST} and no run directory",
            dir.display()
        ));
        return None;
    }
    Some(manifest)
}

/// Reads every planned trial, names the unfinished ones, and writes
/// summary.csv, summary.svg and the table.
fn summarise(dir: &Path, m: &Manifest, r: &mut Reporter) {
    let states: Vec<(Trial, State)> = m
        .trials
        .iter()
        .map(|t| (t.clone(), collect::read_planned(dir, t)))
        .collect();
    let done = states
        .iter()
        .filter(|(_, s)| matches!(s, State::Done(_)))
        .count();
    for (t, s) in &states {
        match s {
            State::Done(_) => {}
            State::Missing => errln!("missing: {} (no directory {})", t.label(), t.dir),
            State::Incomplete(why) => errln!("incomplete: {} ({why})", t.label()),
        }
    }
    if done == 0 {
        r.error(format!(
            "no trial of {} has finished: nothing to summarise",
            dir.display()
        ));
        return;
    }
    if done < states.len() {
        errln!("{done} of {} trials finished", states.len());
    }
    let csv = results::csv(&m.keys, &states);
    let groups = results::aggregate(&states);
    let mut seeds: Vec<u64> = m.trials.iter().map(|t| t.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let title = Path::new(&m.file)
        .file_stem()
        .map_or_else(|| m.file.clone(), |s| s.to_string_lossy().into_owned());
    let picture = plot::summary(&results::plot(&title, &m.keys, &groups, seeds.len()));
    let written = write_atomic(&dir.join("summary.csv"), csv.as_bytes())
        .map_err(|e| e.to_string())
        .and_then(|_| picture.map_err(|e| e.to_string()))
        .and_then(|svg| {
            write_atomic(&dir.join("summary.svg"), svg.as_bytes()).map_err(|e| e.to_string())
        });
    out!("{}", results::table(&m.keys, &groups));
    match written {
        Ok(()) => errln!(
            "wrote {} and {}",
            dir.join("summary.csv").display(),
            dir.join("summary.svg").display()
        ),
        Err(e) => r.error(e),
    }
}
