//! A checked model as the training loop drives it: batches in, a recorded pass out.

use super::TrainError;
use super::eval::{argmax, prediction_of};
use crate::data::Split;
use crate::lang::lower::{Lowered, Mode, Pass, Targets};
use crate::lang::{DataLoss, LabelKind, Model};
use crate::params::Params;
use crate::tape::{NodeId, Tape};
use rand_pcg::Pcg64Mcg;

/// The model plus what the loop needs to know of it.
pub struct Net<'m> {
    pub model: &'m Model,
    lowered: Lowered<'m>,
}

/// The label side of the current batch (reused from batch to batch).
#[derive(Default)]
pub struct Batch {
    pub rows: usize,
    pub labels: Vec<u32>,
    pub targets: Vec<f32>,
    width: usize,
}

/// The leaves of a recorded batch.
#[derive(Clone, Copy)]
pub struct Start {
    x: NodeId,
    target: Option<NodeId>,
}

impl<'m> Net<'m> {
    /// Lowers `model` against `params` (as made by `lower::init_params`).
    pub fn new(model: &'m Model, params: &Params<f32>) -> Result<Self, TrainError> {
        Ok(Net {
            model,
            lowered: Lowered::new(model, params)?,
        })
    }

    /// Number of classes, or `None` for a regression net.
    pub fn classes(&self) -> Option<usize> {
        match self.model.label.kind {
            LabelKind::Classes(n) => Some(n),
            LabelKind::Targets(_) => None,
        }
    }

    pub fn data_loss(&self) -> DataLoss {
        self.model.loss.data.kind
    }

    /// The prediction (probabilities, or values) from one row of the output.
    pub fn prediction(&self, row: &[f32]) -> Vec<f64> {
        prediction_of(self.data_loss(), row)
    }

    /// Gathers the rows `idx` of `split` onto the tape as the batch.
    pub fn record_input(
        &self,
        tape: &mut Tape<f32>,
        split: &Split,
        idx: &[usize],
        batch: &mut Batch,
    ) -> Result<Start, TrainError> {
        let features = self.model.input.features;
        batch.rows = idx.len();
        match self.model.label.kind {
            LabelKind::Classes(_) => {
                batch.labels.resize(idx.len(), 0);
                let labels = &mut batch.labels;
                let mut gathered = Ok(());
                let x = tape.input_with(idx.len(), features, |buf| {
                    gathered = split.gather(idx, buf, labels);
                })?;
                gathered?;
                Ok(Start { x, target: None })
            }
            LabelKind::Targets(width) => {
                batch.width = width;
                batch.targets.resize(idx.len() * width, 0.0);
                let targets = &mut batch.targets;
                let mut gathered = Ok(());
                let x = tape.input_with(idx.len(), features, |buf| {
                    gathered = split.gather_targets(idx, buf, targets);
                })?;
                gathered?;
                let t = tape.input_slice(idx.len(), width, &batch.targets)?;
                Ok(Start { x, target: Some(t) })
            }
        }
    }

    /// Records the net on an already recorded batch.
    pub fn record_on(
        &self,
        tape: &mut Tape<f32>,
        params: &mut Params<f32>,
        start: Start,
        batch: &Batch,
        mode: Mode,
        rng: &mut Pcg64Mcg,
    ) -> Result<Pass, TrainError> {
        let targets = match start.target {
            Some(t) => Targets::Values(t),
            None => Targets::Classes(&batch.labels[..batch.rows]),
        };
        Ok(self
            .lowered
            .forward(tape, params, start.x, targets, mode, rng)?)
    }

    /// [`Net::record_input`] then [`Net::record_on`].
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        tape: &mut Tape<f32>,
        params: &mut Params<f32>,
        split: &Split,
        idx: &[usize],
        batch: &mut Batch,
        mode: Mode,
        rng: &mut Pcg64Mcg,
    ) -> Result<Pass, TrainError> {
        let start = self.record_input(tape, split, idx, batch)?;
        self.record_on(tape, params, start, batch, mode, rng)
    }
}

impl Batch {
    /// How many rows of `out` have their argmax at the label.
    pub fn correct(&self, out: &[f32], classes: Option<usize>) -> usize {
        let Some(c) = classes else { return 0 };
        out.chunks_exact(c)
            .zip(&self.labels[..self.rows])
            .filter(|(row, y)| argmax(row) == **y as usize)
            .count()
    }

    /// The class label of row `r`, for a classifier.
    pub fn label(&self, r: usize) -> Option<u32> {
        (self.width == 0).then(|| self.labels[r])
    }

    /// The targets of row `r`, for a regression net.
    pub fn targets(&self, r: usize) -> &[f32] {
        &self.targets[r * self.width..(r + 1) * self.width]
    }
}
