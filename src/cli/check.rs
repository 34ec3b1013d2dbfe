//! `netc check FILE...`: parse and check, print a summary of each file.
//! With `--set`, the files are checked as overridden; with `--keys`, the
//! keys `--set` accepts are listed with their values.

use super::Reporter;
use super::console::{out, outln};
use clap::Args;
use netc::lang::overrides::keys;
use netc::lang::summary;
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
