//! `netc check FILE...`: parse and check, print a summary of each file.

use super::Reporter;
use clap::Args;
use netc::lang::{parse_and_check, summary};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The .net files to check.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
}

pub fn run(args: &CheckArgs, r: &mut Reporter) {
    for (i, path) in args.files.iter().enumerate() {
        let Some(src) = r.read(path) else {
            continue;
        };
        let shown = path.display().to_string();
        match parse_and_check(&shown, &src) {
            Ok(m) => {
                r.diagnostics(&m.warnings, "check");
                if i > 0 {
                    println!();
                }
                print!("{}", summary(&m));
            }
            Err(d) => r.diagnostics(&d, "check"),
        }
    }
}
