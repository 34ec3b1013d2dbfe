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
use rand::{Rng, SeedableRng};
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
    confusion: Option<&mut Confusion>,
) -> Result<McScores, TrainError> {
    let (scores, _) =
        evaluate_mc_curve(net, params, tape, split, batch, &[passes], rng, confusion)?;
    Ok(scores)
}

/// The loss and accuracy of the mean of the first `passes` stochastic passes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct McPoint {
    pub passes: usize,
    /// As [`McScores::loss`].
    pub loss: f64,
    pub acc: Option<f64>,
}

/// Monte-Carlo dropout read off at each pass count of `at`, from one run of
/// `max(at)` passes: each count's figures are those of its passes' running
/// mean. Every batch's passes come from a generator of their own (see
/// [`McSums::collect_at`]), so the first k of them are the passes an evaluation
/// of k passes makes, and each point equals [`evaluate_mc`] with that count
/// and generator. The [`McScores`] (and `confusion`) are the largest count's.
#[allow(clippy::too_many_arguments)]
pub fn evaluate_mc_curve(
    net: &Net<'_>,
    params: &mut Params<f32>,
    tape: &mut Tape<f32>,
    split: &Split,
    batch: &mut Batch,
    at: &[usize],
    rng: &mut Pcg64Mcg,
    mut confusion: Option<&mut Confusion>,
) -> Result<(McScores, Vec<McPoint>), TrainError> {
    let mut counts: Vec<usize> = at.iter().map(|&k| k.max(1)).collect();
    counts.sort_unstable();
    counts.dedup();
    let passes = counts.last().copied().unwrap_or(1);
    // Per count: summed loss and correct predictions.
    let mut curve = vec![(0.0f64, 0usize); counts.len()];
    let (mut var, mut ent) = (0.0, 0.0);
    let mut sums = McSums::default();
    for chunk in indices(split.len()).chunks(EVAL_BATCH) {
        sums.collect_at(
            net,
            params,
            tape,
            split,
            chunk,
            batch,
            passes,
            &counts,
            rng,
            |done, sums, batch| {
                let i = counts.binary_search(&done).unwrap_or(0);
                for r in 0..chunk.len() {
                    let (mean, _) = sums.moments(r);
                    let (loss, correct) = sample_score(batch, r, &mean);
                    curve[i].0 += loss;
                    curve[i].1 += usize::from(correct == Some(true));
                }
            },
        )?;
        for r in 0..chunk.len() {
            let (mean, variance) = sums.moments(r);
            var += variance.iter().sum::<f64>() / variance.len() as f64;
            if let Some(y) = batch.label(r) {
                ent += entropy(&mean);
                if let Some(c) = confusion.as_deref_mut() {
                    c.add(y as usize, argmax(&mean));
                }
            }
        }
    }
    let n = split.len().max(1) as f64;
    let classes = net.classes().is_some();
    let points: Vec<McPoint> = counts
        .iter()
        .zip(&curve)
        .map(|(&k, &(loss, correct))| McPoint {
            passes: k,
            loss: loss / n,
            acc: classes.then(|| correct as f64 / n),
        })
        .collect();
    let last = points[points.len() - 1];
    let scores = McScores {
        passes,
        loss: last.loss,
        acc: last.acc,
        mean_variance: var / n,
        mean_entropy: classes.then(|| ent / n),
    };
    Ok((scores, points))
}

/// Row `r`'s loss under the mean prediction `mean` (NLL of its label, or
/// squared error against its targets) and, for a label, whether the mean's
/// class is right.
fn sample_score(batch: &Batch, r: usize, mean: &[f64]) -> (f64, Option<bool>) {
    match batch.label(r) {
        Some(y) => {
            let y = y as usize;
            (-mean[y].max(1e-300).ln(), Some(argmax(mean) == y))
        }
        None => {
            let t = batch.targets(r);
            let se = mean
                .iter()
                .zip(t)
                .map(|(m, &t)| (m - t as f64).powi(2))
                .sum::<f64>();
            (se / mean.len() as f64, None)
        }
    }
}

/// Sums over Monte-Carlo passes of each predicted probability (or value) of
/// a batch, and of its square.
#[derive(Default)]
pub(super) struct McSums {
    /// Passes summed so far.
    passes: usize,
    width: usize,
    sum: Vec<f64>,
    sum_sq: Vec<f64>,
}

impl McSums {
    /// Runs `passes` stochastic passes on the rows `chunk` of `split`,
    /// calling `at_count(k, self, batch)` once the first `k` passes are
    /// summed, for each `k` in `at`.
    ///
    /// The passes draw from a generator seeded by one draw of `rng`, so that
    /// `rng` moves on by the same amount whatever the number of passes: the
    /// next batch's passes are then the same for any count, and a count's
    /// passes are the first ones of any larger count.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn collect_at(
        &mut self,
        net: &Net<'_>,
        params: &mut Params<f32>,
        tape: &mut Tape<f32>,
        split: &Split,
        chunk: &[usize],
        batch: &mut Batch,
        passes: usize,
        at: &[usize],
        rng: &mut Pcg64Mcg,
        mut at_count: impl FnMut(usize, &Self, &Batch),
    ) -> Result<(), TrainError> {
        let mut passes_rng = Pcg64Mcg::seed_from_u64(rng.next_u64());
        tape.clear();
        let start = net.record_input(tape, split, chunk, batch)?;
        let mark = tape.len();
        for m in 0..passes {
            tape.truncate(mark);
            let pass = net.record_on(tape, params, start, batch, Mode::Sample, &mut passes_rng)?;
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
            self.passes = m + 1;
            if at.contains(&self.passes) {
                at_count(self.passes, self, batch);
            }
        }
        Ok(())
    }

    /// Row `r`'s mean prediction over the passes summed so far, and each
    /// value's variance.
    pub(super) fn moments(&self, r: usize) -> (Vec<f64>, Vec<f64>) {
        let k = self.passes.max(1) as f64;
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
