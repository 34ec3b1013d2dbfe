//! `netc train FILE`: train as the file says, writing the run directory.

use super::Reporter;
use super::console::outln;
use super::data_places;
use super::progress::{Progress, fmt_epoch};
use super::recorded::{self, wrong_run_file};
use super::wording;
use clap::Args;
use netc::checkpoint;
use netc::lang::Model;
use netc::run::{CHECKPOINT, Placement};
use netc::train::provenance::{self, Recorded};
use netc::train::{self, Config, Outcome};
use std::path::{Path, PathBuf};

/// `netc train`'s arguments. A sweep builds its trials' command lines from
/// this same struct ([`TrainArgs::to_argv`]), so they follow its definition.
#[derive(Args, Clone, Debug, PartialEq, Eq)]
pub struct TrainArgs {
    /// The .net file to train.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The run directory [default: runs/<net name>/, or the first free
    /// runs/<net name>-2/, -3/, ...; when resuming, the checkpoint's directory].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Overrides the file's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Overrides the length: this many epochs (at least 1).
    #[arg(long, conflicts_with = "steps", value_parser = at_least_one())]
    pub epochs: Option<usize>,
    /// Overrides the length: this many optimizer steps (at least 1).
    #[arg(long, value_parser = at_least_one())]
    pub steps: Option<usize>,
    /// Where `mnist`/`fashion-mnist` folders are looked for first (then
    /// $NETC_DATA, ./data, /usr/share/datasets).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Continues a run from its checkpoint.safetensors (into its directory,
    /// unless --out says otherwise).
    #[arg(long, value_name = "CKPT")]
    pub resume: Option<PathBuf>,
    /// Lets --out name a directory that holds an earlier run, overwriting it
    /// (without it, that is refused; the default directory moves on to
    /// runs/<net name>-2/, ...), and --resume continue a checkpoint made
    /// from another net.
    #[arg(long)]
    pub force: bool,
    /// Prints errors, warnings and the summary only (without it: a progress
    /// bar on a terminal, a line per evaluation otherwise).
    #[arg(long)]
    pub quiet: bool,
    /// Threads for the run: large products, batches split into parts, the
    /// optimizer's large parameters (1: all of it on one thread).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Changes a number of the file for this run: `d.p=0.2`, `h1.units=256`,
    /// `l1(h1)=0.1`, `lr=0.01`, `batch=64`, ... (see `netc check FILE --keys`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
}

impl TrainArgs {
    /// The command line that parses back to these arguments (`train FILE
    /// --set K=V ... --out DIR ...`), with `--threads` only when not 1.
    pub fn to_argv(&self) -> Vec<String> {
        let s = |p: &Path| p.display().to_string();
        let mut a = vec!["train".to_string(), s(&self.file)];
        for set in &self.sets {
            push(&mut a, "--set", Some(set.clone()));
        }
        push(&mut a, "--out", self.out.as_deref().map(s));
        if self.force {
            a.push("--force".into());
        }
        push(&mut a, "--resume", self.resume.as_deref().map(s));
        push(&mut a, "--seed", self.seed.map(|v| v.to_string()));
        push(&mut a, "--epochs", self.epochs.map(|v| v.to_string()));
        push(&mut a, "--steps", self.steps.map(|v| v.to_string()));
        push(&mut a, "--data-dir", self.data_dir.as_deref().map(s));
        let threads = (self.threads != 1).then(|| self.threads.to_string());
        push(&mut a, "--threads", threads);
        if self.quiet {
            a.push("--quiet".into());
        }
        a
    }
}

/// `flag value`, when there is a value.
fn push(argv: &mut Vec<String>, flag: &str, value: Option<String>) {
    if let Some(v) = value {
        argv.extend([flag.to_string(), v]);
    }
}

/// A count of 1 or more: as in a `.net` file, a run of no steps is a mistake.
fn at_least_one() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::new().range(1..)
}

pub fn run(args: &TrainArgs, r: &mut Reporter) {
    let Some(src) = r.read(&args.file) else {
        return;
    };
    let Some((model, overrides)) = r.model_from(&args.file, &src, &args.sets) else {
        return;
    };
    if let Some(ckpt) = &args.resume {
        if let Some(why) = wrong_run_file(ckpt, CHECKPOINT, "--resume") {
            return r.error(why);
        }
        if !resumable(args, ckpt, &src, &overrides, r) {
            return;
        }
    }
    // Before loading anything: a refused directory is told at once.
    let dir = match placement(args, &model).resolve() {
        Ok(d) => d,
        Err(e) => return r.error(wording::run_error(&e)),
    };
    let mut progress = Progress::new(args.quiet, curves_title(&model, &overrides));
    let config = Config {
        dir,
        seed: args.seed,
        epochs: args.epochs,
        steps: args.steps,
        data_places: data_places::places(args.data_dir.as_deref()),
        resume: args.resume.clone(),
        threads: args.threads.max(1),
        overrides,
    };
    match train::train(&model, &config, &mut progress) {
        Ok(o) => outln!("{}", summary(&o, &model)),
        Err(e) => r.error(wording::train_error(&e)),
    }
}

/// Where the run goes, as the flags say: `--resume` continues a run (into
/// `--out` if given); `--out` names the directory (one holding a run needs
/// `--force`); else the first free `runs/<net name>`, `-2`, ...
fn placement(args: &TrainArgs, model: &Model) -> Placement {
    match (&args.resume, &args.out) {
        (Some(ckpt), out) => Placement::Resume {
            checkpoint: ckpt.clone(),
            out: out.clone(),
        },
        (None, Some(dir)) => Placement::Exact {
            dir: dir.clone(),
            overwrite: args.force,
        },
        (None, None) => Placement::NextFree(Path::new("runs").join(&model.name)),
    }
}

/// `digits`, or `digits  d.p=0.25 seed=1` with overrides.
fn curves_title(model: &Model, overrides: &[String]) -> String {
    if overrides.is_empty() {
        model.name.clone()
    } else {
        format!("{}  {}", model.name, overrides.join(" "))
    }
}

/// Whether the checkpoint may be continued with this file: another net is
/// refused unless `--force`; other training settings and overrides are told.
fn resumable(
    args: &TrainArgs,
    ckpt: &Path,
    src: &str,
    overrides: &[String],
    r: &mut Reporter,
) -> bool {
    // An unreadable checkpoint is reported by the run itself, in its words.
    let Ok(file) = checkpoint::read_tensors(ckpt) else {
        return true;
    };
    let Some(rec) = Recorded::from_metadata(file.metadata()) else {
        return true;
    };
    let c = provenance::compare(&args.file.display().to_string(), src, &rec);
    if c.net_differs() {
        let what = recorded::differences(&args.file, "is not", ckpt, &rec, &c);
        if !args.force {
            r.error(format!(
                "{what}\n  resuming would continue that run with another net or data; resume with \
                 the file it was trained with, train this file afresh, or give --force to resume anyway"
            ));
            return false;
        }
        r.warning(format!("{what}\n  resuming anyway (--force)"));
    } else if !c.differences.is_empty() {
        r.note(recorded::differences(
            &args.file,
            "differs in its training settings from",
            ckpt,
            &rec,
            &c,
        ));
    }
    let changed = recorded::changed_overrides(src, &rec, overrides);
    if !changed.is_empty() {
        r.note(format!(
            "resuming with other overrides than {} was trained with: {}",
            ckpt.display(),
            changed.join(", ")
        ));
    }
    true
}

/// The last line of a run.
fn summary(o: &Outcome, model: &Model) -> String {
    let mut s = String::new();
    if let Some(a) = o.test.acc {
        s.push_str(&format!("test acc {:.2}%  ", 100.0 * a));
    }
    s.push_str(&format!("test loss {:.4}", o.test.loss));
    if let Some(mc) = &o.mc {
        if let Some(a) = mc.acc {
            s.push_str(&format!(
                "  (mc×{}: acc {:.2}%, loss {:.4})",
                mc.passes,
                100.0 * a,
                mc.loss
            ));
        } else {
            s.push_str(&format!("  (mc×{}: loss {:.4})", mc.passes, mc.loss));
        }
    }
    s.push_str(&format!("  wall {:.2}s  ", o.wall));
    if o.nothing_left {
        s.push_str(&format!(
            "nothing was left to train: the checkpoint is at its last step, {}  -> {}",
            o.steps,
            o.dir.display()
        ));
    } else {
        s.push_str(&format!(
            "{:.0} samples/s  {} steps  -> {}",
            o.samples_per_sec,
            o.steps,
            o.dir.display()
        ));
    }
    if let Some(c) = o.clipped {
        s.push_str(&format!("  clipped {c} of {} steps", o.steps));
    }
    if let (true, Some(stop)) = (o.stopped_early, model.train.controls.early_stop) {
        s.push_str(&format!(
            "  stopped early at epoch {}: {} had not improved for {} evaluations",
            fmt_epoch(o.rows.last().map_or(0.0, |r| r.epoch)),
            stop.metric.name(),
            stop.patience
        ));
    }
    if let Some(b) = &o.best {
        s.push_str(&best_text(b));
    }
    if o.output_closed {
        s.push_str("  (stopped early: stderr was closed; --resume continues)");
    }
    s
}

/// `  best epoch 12 (val loss 0.0812, val acc 97.50%): test acc 97.10%, test loss 0.0950 -> best.safetensors`
fn best_text(b: &netc::run::Row) -> String {
    let pct = |a: Option<f64>| a.map(|a| format!("{:.2}%", 100.0 * a));
    let mut s = format!(
        "  best epoch {} (val loss {:.4}",
        fmt_epoch(b.epoch),
        b.val_loss.unwrap_or(f64::NAN)
    );
    if let Some(a) = pct(b.val_acc) {
        s.push_str(&format!(", val acc {a}"));
    }
    s.push_str("): ");
    if let Some(a) = pct(b.test_acc) {
        s.push_str(&format!("test acc {a}, "));
    }
    s.push_str(&format!(
        "test loss {:.4} -> {}",
        b.test_loss,
        netc::run::BEST
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command};
    use clap::Parser;

    fn parse(argv: &[String]) -> TrainArgs {
        let cli = Cli::try_parse_from(std::iter::once("netc".to_string()).chain(argv.to_vec()))
            .unwrap_or_else(|e| panic!("{argv:?}: {e}"));
        match cli.command {
            Command::Train(a) => a,
            other => panic!("{argv:?} parsed as {other:?}"),
        }
    }

    #[test]
    fn rendered_arguments_parse_back_to_the_same_value() {
        let all = TrainArgs {
            file: "models/my net.net".into(),
            out: Some("runs/x".into()),
            seed: Some(7),
            epochs: Some(3),
            steps: None,
            data_dir: Some("/data".into()),
            resume: Some("runs/x/checkpoint.safetensors".into()),
            force: true,
            quiet: true,
            threads: 2,
            sets: vec!["d.p=0.5".into(), "l1(h1)=0.1".into()],
        };
        assert_eq!(parse(&all.to_argv()), all);
        let least = parse(&["train".to_string(), "f.net".to_string()]);
        assert_eq!(least.to_argv(), ["train", "f.net"]);
        assert_eq!(parse(&least.to_argv()), least);
        let steps = TrainArgs {
            epochs: None,
            steps: Some(10),
            ..all
        };
        assert_eq!(parse(&steps.to_argv()), steps);
    }
}
