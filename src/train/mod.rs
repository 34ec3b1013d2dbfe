//! Training, evaluation and the files a run leaves: the loop over batches on
//! the tape, evaluation (weight scaling and Monte-Carlo dropout), metrics,
//! checkpoints and resuming.

pub mod eval;
pub mod metrics;
pub mod net;
mod progress;
pub mod provenance;
mod run;

pub use eval::{McScores, Scores};
pub use run::{
    DROPOUT_SALT, MC_SALT, Outcome, first_free, load_data, make_optimizer, stream, train,
};

use crate::checkpoint::CheckpointError;
use crate::data::DataError;
use crate::optim::OptimError;
use std::path::PathBuf;
use thiserror::Error;

/// How `netc train` was asked to run, beyond what the file says.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The run directory (default `runs/<net name>/`).
    pub out: Option<PathBuf>,
    pub seed: Option<u64>,
    pub epochs: Option<usize>,
    pub steps: Option<usize>,
    /// Where `mnist` and `fashion_mnist` are looked for first.
    pub data_dir: Option<PathBuf>,
    pub resume: Option<PathBuf>,
    /// Train into `out` even if it holds an earlier run (overwriting it).
    pub force: bool,
    /// Nothing shown while training (no progress bar, no line per
    /// evaluation); warnings still are.
    pub quiet: bool,
    /// Threads for large matmuls (1 = sequential).
    pub threads: usize,
    /// Overrides applied to the file, recorded in the run's metadata.
    pub overrides: Vec<String>,
}

/// Why a run stopped early.
#[derive(Debug, Error)]
pub enum TrainError {
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Optim(#[from] OptimError),
    #[error(transparent)]
    Engine(#[from] crate::Error),
    #[error("cannot create the run directory {path}: {source}")]
    OutDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "step {step} (epoch {epoch}): {what} is {value}; training stopped{}",
        kept.as_ref().map(|p| format!(", the last good checkpoint is {}", p.display())).unwrap_or_default()
    )]
    NonFinite {
        step: u64,
        epoch: u64,
        what: String,
        value: f32,
        kept: Option<PathBuf>,
    },
    #[error(
        "{} already holds a run; give another --out, continue it with --resume {}, \
         or overwrite it with --force",
        .0.display(),
        .0.join("checkpoint.safetensors").display()
    )]
    RunExists(PathBuf),
    #[error("cannot resume from {path}: {why}")]
    Resume { path: PathBuf, why: String },
    #[error("{0}")]
    Settings(String),
    #[error(transparent)]
    Plot(#[from] crate::plot::PlotError),
}
