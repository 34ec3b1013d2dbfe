//! Sweeps: a grid of overrides × seeds, each trial its own `netc train`
//! process and run directory, and the summary over them (`summary.csv`, a
//! table over seeds, `summary.svg`). `sweep.txt` records the plan, so a
//! sweep run elsewhere (`--plan`) can be collected from its directories.

pub mod against;
pub mod collect;
pub mod grid;
pub mod manifest;
pub mod place;
pub mod results;
pub mod runner;

pub use collect::{Outcome, State};
pub use grid::{Axis, Trial, expand, tied};
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
    /// The directory named for a new sweep holds another one.
    #[error("{} already holds another sweep (its {MANIFEST} plans other trials)", .0.display())]
    Exists(PathBuf),
    #[error("cannot create the sweep directory {}: {source}", .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] crate::files::FileError),
}
