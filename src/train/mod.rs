//! Training and evaluation: the loop over batches on the tape, evaluation
//! (weight scaling and Monte-Carlo dropout) and resuming. The loop steps,
//! evaluates and reports what happens to an [`Observer`]; the run directory
//! it writes belongs to [`crate::run`].

mod early_stop;
pub mod eval;
mod fit;
pub mod net;
mod observer;
pub mod predict;
pub mod provenance;
mod steering;

pub use eval::{McScores, Scores};
pub use fit::{DROPOUT_SALT, MC_SALT, Outcome, load_data, make_optimizer, stream, train};
pub use observer::Observer;

use crate::checkpoint::CheckpointError;
use crate::data::{DataError, SearchDir};
use crate::files::FileError;
use crate::optim::OptimError;
use crate::run::RunError;
use std::path::PathBuf;
use thiserror::Error;

/// How to train, beyond what the file says.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// The run directory, already placed (see [`crate::run::Placement`]);
    /// created once the run is known to start.
    pub dir: PathBuf,
    /// Replaces the file's seed.
    pub seed: Option<u64>,
    /// Replaces the file's length with this many epochs.
    pub epochs: Option<usize>,
    /// Replaces the file's length with this many steps.
    pub steps: Option<usize>,
    /// Where named data sets (`mnist`, ...) are looked for, in order.
    pub data_places: Vec<SearchDir>,
    /// The checkpoint to continue.
    pub resume: Option<PathBuf>,
    /// Threads for the run's work: large products, batches split into parts, the
    /// optimizer's large parameters (1 = all of it on one thread).
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
    File(#[from] FileError),
    #[error(transparent)]
    Run(#[from] RunError),
    #[error(transparent)]
    Engine(#[from] crate::Error),
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
    #[error("cannot resume from {path}: {why}")]
    Resume { path: PathBuf, why: String },
    /// The seed asked for is not the one the checkpoint's run was trained with.
    #[error("cannot resume from {path}: it was trained with seed {recorded}, not {asked}")]
    SeedMismatch {
        path: PathBuf,
        recorded: u64,
        asked: u64,
    },
    #[error("{0}")]
    Settings(String),
    /// The observer could not do its part (drawing or writing a file).
    #[error(transparent)]
    Observer(Box<dyn std::error::Error + Send + Sync>),
}
