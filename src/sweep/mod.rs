//! Sweeps: a grid of overrides × seeds, each trial its own `netc train`
//! process and run directory, and the summary over them (`summary.csv`, a
//! table over seeds, `summary.svg`). `sweep.txt` records the plan, so a
//! sweep run elsewhere (`--plan`) can be collected from its directories.

pub mod collect;
pub mod grid;
pub mod manifest;
pub mod results;
pub mod runner;

pub use collect::{Outcome, State};
pub use grid::{Axis, Trial, expand};
pub use manifest::{MANIFEST, Manifest};

use std::path::PathBuf;
use thiserror::Error;

/// What can go wrong before or after the trials run.
#[derive(Debug, Error)]
pub enum SweepError {
    /// A swept key and its values (`KEY=V1,V2,...`) that cannot be read.
    #[error("`{arg}`: {why}")]
    Axis { arg: String, why: String },
    #[error("{}:{line}: {why}", path.display())]
    Manifest {
        path: PathBuf,
        line: usize,
        why: String,
    },
}
