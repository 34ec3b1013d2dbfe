//! Evaluation on a split: the deterministic pass (dropout replaced by its
//! expectation, per each layer's mode) and Monte-Carlo dropout (the mean of M
//! stochastic passes).

use super::TrainError;
use super::net::{Batch, Net};
use crate::data::Split;
use crate::lang::DataLoss;
use crate::lang::lower::Mode;
use crate::params::Params;
use crate::tape::Tape;
use rand_pcg::Pcg64Mcg;

pub use crate::data::EVAL_BATCH;

/// Loss and accuracy of one deterministic pass over a split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scores {
    /// Mean data-term loss (penalties are training terms and left out).
    pub loss: f64,
    /// Fraction of correct argmax predictions; `None` for regression.
    pub acc: Option<f64>,
}

/// Monte-Carlo dropout over a split.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct McScores {
    pub passes: usize,
    /// NLL of the mean predicted distribution (MSE of the mean prediction for regression).
    pub loss: f64,
    pub acc: Option<f64>,
    /// Variance across passes of each predicted probability (or value), averaged.
    pub mean_variance: f64,
    /// Entropy of the mean predicted distribution, averaged over samples (nats).
    pub mean_entropy: Option<f64>,
}

/// Dropout off (weight scaling), in batches of [`EVAL_BATCH`].
pub fn evaluate(
    net: &Net<'_>,
    params: &mut Params<f32>,
    tape: &mut Tape<f32>,
    split: &Split,
    batch: &mut Batch,
) -> Result<Scores, TrainError> {
    evaluate_counting(net, params, tape, split, batch, None)
}

/// [`evaluate`], also counting each (label, predicted class) pair of a
/// classifier in `confusion`.
pub fn evaluate_counting(
    net: &Net<'_>,
    params: &mut Params<f32>,
    tape: &mut Tape<f32>,
    split: &Split,
    batch: &mut Batch,
    mut confusion: Option<&mut Confusion>,
) -> Result<Scores, TrainError> {
    let (mut loss, mut correct) = (0.0, 0usize);
    let mut rng = Pcg64Mcg::new(0); // unused: no dropout is sampled at evaluation
    for chunk in indices(split.len()).chunks(EVAL_BATCH) {
        tape.clear();
        let pass = net.record(tape, params, split, chunk, batch, Mode::Eval, &mut rng)?;
        loss += tape.scalar(pass.data)? as f64 * chunk.len() as f64;
        let out = tape.value(pass.output)?;
        correct += batch.correct(out, net.classes());
        if let (Some(c), Some(classes)) = (confusion.as_deref_mut(), net.classes()) {
            for (r, row) in out.chunks_exact(classes).enumerate() {
                c.add(batch.labels[r] as usize, argmax(row));
            }
        }
    }
    let n = split.len().max(1) as f64;
    Ok(Scores {
        loss: loss / n,
        acc: net.classes().map(|_| correct as f64 / n),
    })
}

/// The mean of `passes` stochastic passes (dropout sampled as in training,
/// batch norm on its running statistics as at evaluation).
pub fn evaluate_mc(
    net: &Net<'_>,
    params: &mut Params<f32>,
    tape: &mut Tape<f32>,
    split: &Split,
    batch: &mut Batch,
    passes: usize,
    rng: &mut Pcg64Mcg,
) -> Result<McScores, TrainError> {
    evaluate_mc_counting(net, params, tape, split, batch, passes, rng, None)
}

/// [`evaluate_mc`], also counting each (label, class of the mean prediction)
/// pair of a classifier in `confusion`.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_mc_counting(
    net: &Net<'_>,
    params: &mut Params<f32>,
    tape: &mut Tape<f32>,
    split: &Split,
    batch: &mut Batch,
    passes: usize,
    rng: &mut Pcg64Mcg,
    mut confusion: Option<&mut Confusion>,
) -> Result<McScores, TrainError> {
    let passes = passes.max(1);
    let (mut loss, mut correct, mut var, mut ent) = (0.0, 0usize, 0.0, 0.0);
    let mut sums = McSums::default();
    for chunk in indices(split.len()).chunks(EVAL_BATCH) {
        sums.collect(net, params, tape, split, chunk, batch, passes, rng)?;
        for r in 0..chunk.len() {
            let (mean, variance) = sums.moments(r);
            var += variance.iter().sum::<f64>() / variance.len() as f64;
            match batch.label(r) {
                Some(y) => {
                    let y = y as usize;
                    loss -= mean[y].max(1e-300).ln();
                    let predicted = argmax(&mean);
                    correct += usize::from(predicted == y);
                    ent += entropy(&mean);
                    if let Some(c) = confusion.as_deref_mut() {
                        c.add(y, predicted);
                    }
                }
                None => {
                    let t = batch.targets(r);
                    loss += mean
                        .iter()
                        .zip(t)
                        .map(|(m, &t)| (m - t as f64).powi(2))
                        .sum::<f64>()
                        / mean.len() as f64;
                }
            }
        }
    }
    let n = split.len().max(1) as f64;
    let classes = net.classes().is_some();
    Ok(McScores {
        passes,
        loss: loss / n,
        acc: classes.then(|| correct as f64 / n),
        mean_variance: var / n,
        mean_entropy: classes.then(|| ent / n),
    })
}

/// Sums over Monte-Carlo passes of each predicted probability (or value) of
/// a batch, and of its square.
#[derive(Default)]
pub(super) struct McSums {
    passes: usize,
    width: usize,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl McSums {
    /// Runs `passes` stochastic passes on the rows `chunk` of `split`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn collect(
        &mut self,
        net: &Net<'_>,
        params: &mut Params<f32>,
        tape: &mut Tape<f32>,
        split: &Split,
        chunk: &[usize],
        batch: &mut Batch,
        passes: usize,
        rng: &mut Pcg64Mcg,
    ) -> Result<(), TrainError> {
        tape.clear();
        let start = net.record_input(tape, split, chunk, batch)?;
        let mark = tape.len();
        self.passes = passes;
        for m in 0..passes {
            tape.truncate(mark);
            let pass = net.record_on(tape, params, start, batch, Mode::Sample, rng)?;
            let out = tape.value(pass.output)?;
            if m == 0 {
                self.width = out.len() / chunk.len();
                self.sum.clear();
                self.sum.resize(out.len(), 0.0);
                self.sum_sq.clear();
                self.sum_sq.resize(out.len(), 0.0);
            }
            let width = self.width;
            for (row, (s, q)) in out.chunks_exact(width).zip(
                self.sum
                    .chunks_exact_mut(width)
                    .zip(self.sum_sq.chunks_exact_mut(width)),
            ) {
                let p = net.prediction(row);
                for ((s, q), p) in s.iter_mut().zip(q).zip(p) {
                    *s += p;
                    *q += p * p;
                }
            }
        }
        Ok(())
    }

    /// Row `r`'s mean prediction over the passes, and each value's variance.
    pub(super) fn moments(&self, r: usize) -> (Vec<f64>, Vec<f64>) {
        let k = self.passes as f64;
        let w = self.width;
        let (s, q) = (
            &self.sum[r * w..(r + 1) * w],
            &self.sum_sq[r * w..(r + 1) * w],
        );
        let mean: Vec<f64> = s.iter().map(|v| v / k).collect();
        let var = q
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / k - m * m).max(0.0))
            .collect();
        (mean, var)
    }
}

/// Entropy of a distribution, in nats (`0 ln 0` counts as 0).
pub fn entropy(p: &[f64]) -> f64 {
    -p.iter()
        .filter(|&&p| p > 0.0)
        .map(|p| p * p.ln())
        .sum::<f64>()
}

/// How often each class (row) was predicted as each class (column).
#[derive(Clone, Debug, PartialEq)]
pub struct Confusion {
    classes: usize,
    counts: Vec<u64>,
}

impl Confusion {
    /// All zeros, for `classes` classes.
    pub fn new(classes: usize) -> Self {
        Confusion {
            classes,
            counts: vec![0; classes * classes],
        }
    }

    /// Counts one sample of class `label` predicted as `predicted`.
    pub fn add(&mut self, label: usize, predicted: usize) {
        self.counts[label * self.classes + predicted] += 1;
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Samples of class `label` predicted as `predicted`.
    pub fn count(&self, label: usize, predicted: usize) -> u64 {
        self.counts[label * self.classes + predicted]
    }

    /// Samples of class `label`.
    pub fn support(&self, label: usize) -> u64 {
        (0..self.classes).map(|p| self.count(label, p)).sum()
    }

    /// The fraction of class `label`'s samples predicted right; `None`
    /// when the split has none.
    pub fn accuracy(&self, label: usize) -> Option<f64> {
        let n = self.support(label);
        (n > 0).then(|| self.count(label, label) as f64 / n as f64)
    }
}

fn indices(n: usize) -> Vec<usize> {
    (0..n).collect()
}

/// Index of the largest value (the first on ties).
pub fn argmax<T: PartialOrd + Copy>(row: &[T]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

/// How a data term's activation becomes a prediction.
pub fn prediction_of(kind: DataLoss, row: &[f32]) -> Vec<f64> {
    match kind {
        DataLoss::CrossEntropy => {
            let m = row.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
            let e: Vec<f64> = row.iter().map(|&v| (v as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            e.into_iter().map(|v| v / s).collect()
        }
        DataLoss::Nll => row.iter().map(|&v| (v as f64).exp()).collect(),
        DataLoss::Mse => row.iter().map(|&v| v as f64).collect(),
    }
}
