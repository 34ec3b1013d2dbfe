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
    let (mut loss, mut correct) = (0.0, 0usize);
    let mut rng = Pcg64Mcg::new(0); // unused: no dropout is sampled at evaluation
    for chunk in indices(split.len()).chunks(EVAL_BATCH) {
        tape.clear();
        let pass = net.record(tape, params, split, chunk, batch, Mode::Eval, &mut rng)?;
        loss += tape.scalar(pass.data)? as f64 * chunk.len() as f64;
        correct += batch.correct(tape.value(pass.output)?, net.classes());
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
    let passes = passes.max(1);
    let (mut loss, mut correct, mut var, mut ent) = (0.0, 0usize, 0.0, 0.0);
    let mut sum = Vec::new();
    let mut sum_sq = Vec::new();
    for chunk in indices(split.len()).chunks(EVAL_BATCH) {
        tape.clear();
        let start = net.record_input(tape, split, chunk, batch)?;
        let mark = tape.len();
        for m in 0..passes {
            tape.truncate(mark);
            let pass = net.record_on(tape, params, start, batch, Mode::Sample, rng)?;
            let out = tape.value(pass.output)?;
            if m == 0 {
                sum.clear();
                sum.resize(out.len(), 0.0);
                sum_sq.clear();
                sum_sq.resize(out.len(), 0.0);
            }
            let width = out.len() / chunk.len();
            for (row, (s, q)) in out.chunks_exact(width).zip(
                sum.chunks_exact_mut(width)
                    .zip(sum_sq.chunks_exact_mut(width)),
            ) {
                let p = net.prediction(row);
                for ((s, q), p) in s.iter_mut().zip(q).zip(p) {
                    *s += p;
                    *q += p * p;
                }
            }
        }
        let width = sum.len() / chunk.len();
        let k = passes as f64;
        for (r, (s, q)) in sum
            .chunks_exact(width)
            .zip(sum_sq.chunks_exact(width))
            .enumerate()
        {
            let mean: Vec<f64> = s.iter().map(|v| v / k).collect();
            var += q
                .iter()
                .zip(&mean)
                .map(|(q, m)| (q / k - m * m).max(0.0))
                .sum::<f64>()
                / width as f64;
            match batch.label(r) {
                Some(y) => {
                    let y = y as usize;
                    loss -= mean[y].max(1e-300).ln();
                    correct += usize::from(argmax(&mean) == y);
                    ent -= mean
                        .iter()
                        .filter(|&&p| p > 0.0)
                        .map(|p| p * p.ln())
                        .sum::<f64>();
                }
                None => {
                    let t = batch.targets(r);
                    loss += mean
                        .iter()
                        .zip(t)
                        .map(|(m, &t)| (m - t as f64).powi(2))
                        .sum::<f64>()
                        / width as f64;
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
