//! Commands of the `netc` binary, and the reporter they share.
//! Exit status: 0 success, 1 a user error (with diagnostics), 2 a usage
//! error (from clap).

mod check;
mod console;
mod data_fetch;
mod data_places;
mod eval;
mod export;
mod fmt;
mod grad;
mod lsp;
mod plot;
mod predict;
mod predictions_csv;
mod progress;
mod recorded;
mod sweep;
mod sweep_plan;
mod train;
mod trial_command;
mod wording;

use clap::{Parser, Subcommand};
use console::errln;
use netc::lang::Diagnostics;
use netc::lang::overrides::{Override, SetError, parse_and_check_with};
use std::fs;
use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::ExitCode;

/// netc: a small, fast, honest deep-learning tool.
#[derive(Parser, Debug)]
#[command(name = "netc", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Parse and check .net files, and print what each declares.
    Check(check::CheckArgs),
    /// Rewrite .net files in the canonical layout.
    Fmt(fmt::FmtArgs),
    /// Train a .net file: metrics, checkpoints and the model in a run directory.
    Train(train::TrainArgs),
    /// Evaluate weights on the test split (weight scaling and Monte-Carlo dropout).
    Eval(eval::EvalArgs),
    /// Predict every sample of a file (CSV, IDX or safetensors) into a CSV file.
    Predict(predict::PredictArgs),
    /// One forward and backward pass on a given batch, written out.
    Grad(grad::GradArgs),
    /// Write a trained net for other tools: an ONNX model, a PyTorch module.
    Export(export::ExportArgs),
    /// Train a grid of overrides × seeds, one process per trial, and summarise it.
    Sweep(sweep::SweepArgs),
    /// Overlay the learning curves of several runs in one SVG.
    Plot(plot::PlotArgs),
    /// A language server for editors, on stdin and stdout.
    Lsp(lsp::LspArgs),
    /// Data sets: `netc data fetch mnist` downloads and checks one.
    Data(data_fetch::DataArgs),
}

/// Runs the command line; the process exit status.
pub fn run(cli: Cli) -> ExitCode {
    let mut r = Reporter::default();
    match cli.command {
        Command::Check(a) => check::run(&a, &mut r),
        Command::Fmt(a) => fmt::run(&a, &mut r),
        Command::Train(a) => train::run(&a, &mut r),
        Command::Eval(a) => eval::run(&a, &mut r),
        Command::Predict(a) => predict::run(&a, &mut r),
        Command::Grad(a) => grad::run(&a, &mut r),
        Command::Export(a) => export::run(&a, &mut r),
        Command::Sweep(a) => sweep::run(&a, &mut r),
        Command::Plot(a) => plot::run(&a, &mut r),
        Command::Lsp(a) => lsp::run(&a, &mut r),
        Command::Data(a) => data_fetch::run(&a, &mut r),
    }
    r.exit_code()
}

/// A `.net` file larger than the language's limit (1 MiB) is refused unread.
const MAX_FILE: u64 = netc::lang::statements::MAX_SOURCE as u64;

/// Prints diagnostics and messages (to stderr) and remembers whether any
/// user error occurred.
#[derive(Default)]
pub struct Reporter {
    failed: bool,
}

impl Reporter {
    /// `error: msg`, and the run fails.
    pub fn error(&mut self, msg: impl AsRef<str>) {
        self.failed = true;
        errln!("error: {}", msg.as_ref());
    }

    /// `warning: msg`; the command goes on.
    pub fn warning(&mut self, msg: impl AsRef<str>) {
        errln!("warning: {}", msg.as_ref());
    }

    /// `note: msg`: what the command does that a user may not expect.
    pub fn note(&mut self, msg: impl AsRef<str>) {
        errln!("note: {}", msg.as_ref());
    }

    /// Whether an error was reported.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The run fails without a further message (one was printed already).
    pub fn fail(&mut self) {
        self.failed = true;
    }

    /// Prints every diagnostic about one file, then a line counting them.
    /// `what` is the action: "check" or "format".
    pub fn diagnostics(&mut self, d: &Diagnostics, what: &str) {
        if d.is_empty() {
            return;
        }
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{}", d.render());
        let (e, w) = (d.error_count(), d.warning_count());
        let plural = |n: usize, s: &str| {
            if n == 1 {
                format!("1 {s}")
            } else {
                format!("{n} {s}s")
            }
        };
        if e > 0 {
            self.failed = true;
            let warn = if w > 0 {
                format!("; {} emitted", plural(w, "warning"))
            } else {
                String::new()
            };
            let _ = writeln!(
                err,
                "error: could not {what} `{}` due to {}{warn}",
                d.path,
                plural(e, "error")
            );
        } else {
            let _ = writeln!(
                err,
                "warning: `{}` generated {}",
                d.path,
                plural(w, "warning")
            );
        }
    }

    fn exit_code(&self) -> ExitCode {
        if self.failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        }
    }

    /// Whether the command may write `path` (a file given with `--out`): an
    /// existing file or directory is refused, naming it, unless `force` lets
    /// the command replace it (atomically, as it writes every file).
    pub fn output_free(&mut self, path: &Path, force: bool) -> bool {
        self.output_free_for(path, force, "--out")
    }

    /// [`Reporter::output_free`] for a file given with the flag `flag`.
    pub fn output_free_for(&mut self, path: &Path, force: bool, flag: &str) -> bool {
        if force || fs::symlink_metadata(path).is_err() {
            return true;
        }
        self.error(format!(
            "{} already exists; give another {flag}, or overwrite it with --force",
            path.display()
        ));
        false
    }

    /// A checked model with `--set KEY=VALUE` overrides applied, and the
    /// overrides in canonical form; or the errors reported here. Warnings are
    /// shown and do not stop the command.
    pub fn model_with(
        &mut self,
        path: &Path,
        sets: &[String],
    ) -> Option<(netc::lang::Model, Vec<String>)> {
        let src = self.read(path)?;
        self.model_from(path, &src, sets)
    }

    /// [`Reporter::model_with`] on the text `src` of the file `path`.
    pub fn model_from(
        &mut self,
        path: &Path,
        src: &str,
        sets: &[String],
    ) -> Option<(netc::lang::Model, Vec<String>)> {
        let mut overrides = Vec::new();
        let mut bad = false;
        for s in sets {
            match Override::parse(s) {
                Ok(o) => overrides.push(o),
                Err(e) => {
                    self.error(wording::override_error(&e));
                    bad = true;
                }
            }
        }
        if bad {
            return None;
        }
        let shown = path.display().to_string();
        match parse_and_check_with(&shown, src, &overrides, &wording::set_arg) {
            Ok((m, applied)) => {
                self.diagnostics(&m.warnings, "check");
                Some((m, applied))
            }
            Err(SetError::Check(d)) => {
                self.diagnostics(&d, "check");
                None
            }
            Err(SetError::Override(e)) => {
                self.error(wording::override_error(&e));
                None
            }
        }
    }

    /// The text of a `.net` file, or an error reported here.
    pub fn read(&mut self, path: &Path) -> Option<String> {
        let shown = path.display();
        let too_large = |size: String| {
            format!("`{shown}` is {size} bytes, too large for a .net file (at most {MAX_FILE})")
        };
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                self.error(format!("`{shown}` is a directory, not a .net file"));
                return None;
            }
            Ok(m) if m.len() > MAX_FILE => {
                self.error(too_large(m.len().to_string()));
                return None;
            }
            _ => {}
        }
        // The metadata says 0 for a pipe or a device (`/dev/zero`): the read
        // itself stops one byte past the limit.
        let mut bytes = Vec::new();
        let read = fs::File::open(path).and_then(|f| f.take(MAX_FILE + 1).read_to_end(&mut bytes));
        if let Err(e) = read {
            self.error(format!("cannot read `{shown}`: {e}"));
            return None;
        }
        if bytes.len() as u64 > MAX_FILE {
            self.error(too_large(format!("more than {MAX_FILE}")));
            return None;
        }
        match String::from_utf8(bytes) {
            Ok(s) => Some(s),
            Err(e) => {
                self.error(format!(
                    "`{shown}` is not UTF-8 text (invalid byte at offset {})",
                    e.utf8_error().valid_up_to()
                ));
                None
            }
        }
    }
}
