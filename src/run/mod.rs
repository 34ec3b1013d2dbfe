//! A run directory: where a run goes (new, `-2`, overwrite, resume), the
//! files it holds, what `model.safetensors` records about the run, and the
//! `metrics.csv` format. Everything here is written atomically
//! ([`crate::files`]); `train`, `sweep`, `plot` and the command line read and
//! write runs through this module.
//!
//! It sits below them: it uses only the engine (`params`, `optim`),
//! `checkpoint` and `files`, so every import between the layers points down
//! (engine < data < lang < run < train < sweep, plot < cli).

pub mod metadata;
pub mod metrics;

pub use metadata::RunRecord;
pub use metrics::Row;

use crate::checkpoint::{self, CheckpointError, TrainState};
use crate::files::{self, FileError};
use crate::optim::Optimizer;
use crate::params::Params;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The weights and what the run records, PyTorch-loadable.
pub const MODEL: &str = "model.safetensors";
/// Weights, optimizer state, step and generator states, for resuming.
pub const CHECKPOINT: &str = "checkpoint.safetensors";
/// One row per evaluation.
pub const METRICS: &str = "metrics.csv";
/// The learning curves drawn from the metrics.
pub const CURVES: &str = "curves.svg";
/// The weights of the best validation evaluation, when the run holds out a
/// validation split.
pub const BEST: &str = "best.safetensors";

/// What can go wrong placing or writing a run directory.
#[derive(Debug, Error)]
pub enum RunError {
    /// A fresh run was asked for in a directory that holds one.
    #[error("{} already holds a run", .0.display())]
    Exists(PathBuf),
    #[error("cannot create the run directory {path}: {source}", path = .path.display())]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// Where a run goes, as the caller chose it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    /// A fresh run in `base`, or the first of `base-2`, `base-3`, ... that
    /// holds no run: an earlier run is never overwritten.
    NextFree(PathBuf),
    /// A fresh run in exactly `dir`; one holding a run is refused unless
    /// `overwrite`.
    Exact { dir: PathBuf, overwrite: bool },
    /// A run continued from `checkpoint`, into `out` or else the
    /// checkpoint's own directory.
    Resume {
        checkpoint: PathBuf,
        out: Option<PathBuf>,
    },
}

impl Placement {
    /// The run directory this placement names (nothing is created).
    pub fn resolve(&self) -> Result<PathBuf, RunError> {
        match self {
            Placement::Resume { checkpoint, out } => {
                Ok(out.clone().unwrap_or_else(|| files::parent_dir(checkpoint)))
            }
            Placement::Exact { dir, overwrite } if !overwrite && holds_run(dir) => {
                Err(RunError::Exists(dir.clone()))
            }
            Placement::Exact { dir, .. } => Ok(dir.clone()),
            Placement::NextFree(base) => Ok(first_free(base, holds_run)),
        }
    }
}

/// Does `dir` hold any file a run writes?
pub fn holds_run(dir: &Path) -> bool {
    RunDir::new(dir).all().iter().any(|f| f.exists())
}

/// `base` if `taken(base)` is false, else the first free `base-2`, `base-3`, ...
pub fn first_free(base: &Path, taken: impl Fn(&Path) -> bool) -> PathBuf {
    let mut dir = base.to_path_buf();
    let mut k = 2u64;
    while taken(&dir) {
        let mut name = base.file_name().unwrap_or_default().to_os_string();
        name.push(format!("-{k}"));
        dir = base.with_file_name(name);
        k += 1;
    }
    dir
}

/// The files of one run directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunDir {
    pub dir: PathBuf,
    pub model: PathBuf,
    pub checkpoint: PathBuf,
    pub metrics: PathBuf,
    pub curves: PathBuf,
    pub best: PathBuf,
}

impl RunDir {
    /// The files of the run in `dir` (nothing is read or created).
    pub fn new(dir: &Path) -> Self {
        RunDir {
            dir: dir.to_path_buf(),
            model: dir.join(MODEL),
            checkpoint: dir.join(CHECKPOINT),
            metrics: dir.join(METRICS),
            curves: dir.join(CURVES),
            best: dir.join(BEST),
        }
    }

    fn all(&self) -> [&PathBuf; 5] {
        [
            &self.model,
            &self.checkpoint,
            &self.metrics,
            &self.curves,
            &self.best,
        ]
    }

    /// Creates the directory and removes the temporary files an earlier,
    /// killed run left in it.
    pub fn create(&self) -> Result<(), RunError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| RunError::Create {
            path: self.dir.clone(),
            source,
        })?;
        for f in self.all() {
            files::remove_stale_temps(f)?;
        }
        Ok(())
    }

    /// Writes an evaluation point: metrics, then the checkpoint, then the
    /// model, each atomically, so a kill at any moment leaves every file
    /// whole (old or new). The checkpoint also records the metrics, so a
    /// resumed run continues them.
    pub fn write_evaluation(
        &self,
        record: &RunRecord,
        params: &Params<f32>,
        optim: &Optimizer<f32>,
        state: &TrainState,
        labels: &[String],
        rows: &[Row],
    ) -> Result<(), RunError> {
        let csv = metrics::render(labels, rows);
        files::write_atomic(&self.metrics, csv.as_bytes())?;
        let meta = record.to_metadata();
        let mut ckpt_meta = meta.clone();
        ckpt_meta.insert(metadata::METRICS.into(), csv);
        checkpoint::save_checkpoint(&self.checkpoint, params, optim, state, &ckpt_meta)?;
        checkpoint::save_model(&self.model, params, &meta)?;
        Ok(())
    }

    /// Writes the weights of the best validation evaluation (`record` says
    /// which), atomically, before that evaluation's checkpoint: a checkpoint
    /// never names a best evaluation whose weights are not on disk.
    pub fn write_best(&self, record: &RunRecord, params: &Params<f32>) -> Result<(), RunError> {
        checkpoint::save_model(&self.best, params, &record.to_metadata())?;
        Ok(())
    }

    /// Writes the learning curves (SVG text drawn by the caller).
    pub fn write_curves(&self, svg: &str) -> Result<(), RunError> {
        Ok(files::write_atomic(&self.curves, svg.as_bytes())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_run_never_lands_on_an_earlier_one() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("mlp");
        let next = Placement::NextFree(base.clone());
        assert_eq!(next.resolve().unwrap(), base);
        std::fs::create_dir_all(&base).unwrap();
        // An empty directory holds no run.
        assert_eq!(next.resolve().unwrap(), base);
        std::fs::write(base.join(METRICS), "x").unwrap();
        assert_eq!(next.resolve().unwrap(), tmp.path().join("mlp-2"));

        let exact = |overwrite| Placement::Exact {
            dir: base.clone(),
            overwrite,
        };
        assert!(matches!(exact(false).resolve(), Err(RunError::Exists(d)) if d == base));
        assert_eq!(exact(true).resolve().unwrap(), base);

        let resume = |out: Option<PathBuf>| Placement::Resume {
            checkpoint: base.join(CHECKPOINT),
            out,
        };
        assert_eq!(resume(None).resolve().unwrap(), base);
        assert_eq!(
            resume(Some("elsewhere".into())).resolve().unwrap(),
            Path::new("elsewhere")
        );
        let bare = Placement::Resume {
            checkpoint: CHECKPOINT.into(),
            out: None,
        };
        assert_eq!(bare.resolve().unwrap(), Path::new("."));
    }
}
