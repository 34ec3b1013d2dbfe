//! `netc check FILE...`: parse and check, print a summary of each file.
//! With `--set`, the files are checked as overridden; with `--keys`, the
//! keys `--set` accepts are listed with their values.

use super::Reporter;
use super::console::{out, outln};
use clap::Args;
use netc::data::DataSpec;
use netc::lang::ast::StmtKind;
use netc::lang::overrides::keys;
use netc::lang::summary;
use netc::lang::{Diagnostic, Diagnostics, Model, parse};
use netc::train::load_data;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The .net files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Checks the files as `netc train --set KEY=VALUE` would run them.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Lists the keys `--set` accepts, with their values.
    #[arg(long)]
    keys: bool,
}

pub fn run(args: &CheckArgs, r: &mut Reporter) {
    for (i, path) in args.files.iter().enumerate() {
        let Some((m, _)) = r.model_with(path, &args.sets) else {
            continue;
        };
        if let Some(d) = data_problem(&m) {
            r.diagnostics(&d, "check");
            continue;
        }
        if i > 0 {
            outln!();
        }
        if args.keys {
            out!("{}", key_table(&m.source));
        } else {
            out!("{}", summary(&m));
        }
    }
}

/// A user's `csv(...)` or `idx(...)` source read as `netc train` would read
/// it: a missing file, a width that does not fit the input, or a label
/// outside the classes is an error at the `data:` line now, not at the start
/// of training. (The built-in sets' shapes are checked by the language.)
pub(super) fn data_problem(m: &Model) -> Option<Diagnostics> {
    if !reads_user_files(m) {
        return None;
    }
    // A file's own source names its path: no places to look.
    let e = load_data(m, &[]).err()?;
    let (file, _) = parse::parse(&m.source);
    let at = file
        .statements
        .iter()
        .find_map(|s| match &s.kind {
            StmtKind::Train { entries, .. } => entries
                .iter()
                .find(|e| e.key.text == "data")
                .map(|e| e.value.span),
            _ => None,
        })
        .unwrap_or_default();
    let mut d = Diagnostics::new(&m.path, &m.source);
    d.extend([Diagnostic::error(at, e.to_string()).label("read as `netc train` would read it")]);
    Some(d)
}

/// Whether the model's data source is the user's own files, which
/// [`data_problem`] reads.
pub(super) fn reads_user_files(m: &Model) -> bool {
    matches!(m.train.data, DataSpec::Csv { .. } | DataSpec::Idx { .. })
}

/// One line per key: the key, its value (or default), its other spellings.
fn key_table(source: &str) -> String {
    let rows = keys(source);
    let width = rows.iter().map(|k| k.key.len()).max().unwrap_or(0);
    let vwidth = rows.iter().map(|k| k.value.len()).max().unwrap_or(0);
    let mut s = String::new();
    for k in rows {
        let also = if k.aliases.is_empty() {
            String::new()
        } else {
            format!("  (also {})", k.aliases.join(", "))
        };
        let line = format!("{:<width$}  {:<vwidth$}{also}", k.key, k.value);
        s.push_str(line.trim_end());
        s.push('\n');
    }
    s
}
