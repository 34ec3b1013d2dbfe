//! `netc fmt FILE... [--check]`: rewrite files in the canonical layout.

use super::Reporter;
use super::console::{out, outln};
use clap::Args;
use netc::lang::fmt::format_source;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct FmtArgs {
    /// The .net files to format.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Change nothing: list the files that would change (with the lines
    /// that differ) and exit with status 1 if there are any.
    #[arg(long)]
    check: bool,
}

pub fn run(args: &FmtArgs, r: &mut Reporter) {
    for path in &args.files {
        let Some(src) = r.read(path) else {
            continue;
        };
        let shown = path.display().to_string();
        let formatted = match format_source(&shown, &src) {
            Ok(f) => f,
            Err(d) => {
                r.diagnostics(&d, "format");
                continue;
            }
        };
        if formatted == src {
            continue;
        }
        if args.check {
            outln!("would reformat {shown}");
            out!("{}", diff(&src, &formatted));
            r.fail();
        } else if let Err(e) = netc::files::write_atomic(path, formatted.as_bytes()) {
            r.error(e.to_string());
        }
    }
}

/// The changed region of two texts: the lines between their common start
/// and common end, old ones with `-`, new ones with `+`.
fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = format!("  at line {}:\n", prefix + 1);
    for l in &a[prefix..a.len() - suffix] {
        out.push_str(&format!("  -{l}\n"));
    }
    for l in &b[prefix..b.len() - suffix] {
        out.push_str(&format!("  +{l}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diff_shows_the_changed_lines_only() {
        let d = diff("a\nb  =c\nd\n", "a\nb = c\nd\n");
        assert_eq!(d, "  at line 2:\n  -b  =c\n  +b = c\n");
    }
}
