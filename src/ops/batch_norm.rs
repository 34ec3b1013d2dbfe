//! Batch normalisation as PyTorch's `BatchNorm1d` (over the features of
//! `[n, f]`) and `BatchNorm2d` (over the channels of `[n, c·h·w]`) compute it.
//!
//! Training normalises by the batch's mean and biased variance and folds them
//! into the running statistics (momentum [`BN_MOMENTUM`], the running variance
//! from the unbiased variance); evaluation normalises by the running
//! statistics and changes nothing. The running statistics are state, not
//! parameters: they live in the store's buffers ([`crate::params::Buffer`]),
//! outside the optimizer, and get no gradient. The statistics a pass used
//! are recorded on the tape as a `[2, channels]` leaf (mean; 1/√(var + eps)),
//! which backward reads. Sums run in f64 in a fixed order, so a run and its
//! resumption update the running statistics bit for bit alike.

use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Back, NodeId, Op, Phase, Tape};

/// Added to the variance before its square root (PyTorch's default).
pub const BN_EPS: f64 = 1e-5;
/// Weight of a batch in the running statistics (PyTorch's default).
pub const BN_MOMENTUM: f64 = 0.1;

/// A batch-norm layer's running statistics, one value per channel: read at
/// evaluation, updated in training.
#[derive(Debug)]
pub struct BnStats<'a, T> {
    pub running_mean: &'a mut [T],
    pub running_var: &'a mut [T],
}

impl<T: Real> Tape<T> {
    /// `(x − mean) / √(var + eps) · gamma + beta` per channel, `x` holding
    /// `channels` planes of `spatial` values a row, `gamma` and `beta` `[1, channels]`.
    /// Training uses the batch's statistics and updates `stats`; evaluation
    /// uses `stats` and leaves them. Training needs two values a channel or more.
    #[allow(clippy::too_many_arguments)]
    pub fn batch_norm(
        &mut self,
        x: NodeId,
        gamma: NodeId,
        beta: NodeId,
        stats: BnStats<'_, T>,
        channels: usize,
        spatial: usize,
        phase: Phase,
    ) -> Result<NodeId> {
        let n = *self.node(x)?;
        if n.cols != channels * spatial || channels == 0 {
            return Err(Error::Invalid(format!(
                "batch_norm: {} values per sample are not {channels} channels of {spatial}",
                n.cols
            )));
        }
        for (what, shape) in [("gamma", self.shape(gamma)?), ("beta", self.shape(beta)?)] {
            if shape != (1, channels) {
                return Err(Error::ShapeMismatch {
                    op: if what == "gamma" {
                        "batch_norm weight"
                    } else {
                        "batch_norm bias"
                    },
                    lhs: (1, channels),
                    rhs: shape,
                });
            }
        }
        let lens = (stats.running_mean.len(), stats.running_var.len());
        if lens != (channels, channels) {
            return Err(Error::ShapeMismatch {
                op: "batch_norm running statistics",
                lhs: (channels, channels),
                rhs: lens,
            });
        }
        let count = n.rows * spatial;
        let train = phase == Phase::Train;
        if train && count < 2 {
            return Err(Error::Invalid(format!(
                "batch_norm: training needs more than one value per channel, got {count}"
            )));
        }
        let used = self.bn_statistics(x, stats, channels, spatial, train)?;
        let needs_grad =
            n.needs_grad || self.node(gamma)?.needs_grad || self.node(beta)?.needs_grad;
        let op = Op::BatchNorm {
            x,
            gamma,
            beta,
            stats: used,
            spatial,
            train,
        };
        let id = self.push_uninit(op, n.rows, n.cols, needs_grad);
        let [gr, br, ur] = [gamma, beta, used].map(|id| self.nodes[id.index()].range());
        let (before, out) = self.io(id);
        let xv = &before[n.range()];
        let (g, bt) = (&before[gr], &before[br]);
        let (mean, inv) = before[ur].split_at(channels);
        let s = spatial.max(1);
        // planes come channel after channel, sample after sample
        for (i, (o, x)) in out.chunks_exact_mut(s).zip(xv.chunks_exact(s)).enumerate() {
            let c = i % channels;
            let (m, a, b) = (mean[c], inv[c] * g[c], bt[c]);
            o.iter_mut().zip(x).for_each(|(o, &v)| *o = (v - m) * a + b);
        }
        Ok(id)
    }

    /// Records the statistics the pass normalises by, `[2, channels]`
    /// (mean; 1/√(var + eps)), updating `stats` in training.
    fn bn_statistics(
        &mut self,
        x: NodeId,
        stats: BnStats<'_, T>,
        channels: usize,
        spatial: usize,
        train: bool,
    ) -> Result<NodeId> {
        let n = *self.node(x)?;
        let id = self.push_uninit(Op::Input, 2, channels, false);
        let (before, out) = self.io(id);
        let xv = &before[n.range()];
        let (mean_out, inv_out) = out.split_at_mut(channels);
        let count = (n.rows * spatial) as f64;
        for c in 0..channels {
            let (mean, var) = if train {
                let (mean, var) = moments(xv, c, channels, spatial);
                let m = BN_MOMENTUM;
                let rm = &mut stats.running_mean[c];
                *rm = T::from_f64((1.0 - m) * rm.to_f64() + m * mean);
                let rv = &mut stats.running_var[c];
                let unbiased = var * count / (count - 1.0);
                *rv = T::from_f64((1.0 - m) * rv.to_f64() + m * unbiased);
                (mean, var)
            } else {
                (
                    stats.running_mean[c].to_f64(),
                    stats.running_var[c].to_f64(),
                )
            };
            mean_out[c] = T::from_f64(mean);
            inv_out[c] = T::from_f64(1.0 / (var + BN_EPS).sqrt());
        }
        Ok(id)
    }
}

/// The planes of channel `c`, sample after sample.
fn planes<T: Real>(
    xs: &[T],
    c: usize,
    channels: usize,
    spatial: usize,
) -> impl Iterator<Item = &[T]> {
    xs.chunks_exact(channels * spatial)
        .map(move |row| &row[c * spatial..][..spatial])
}

/// Mean and biased variance of channel `c` (two passes, in f64).
fn moments<T: Real>(xs: &[T], c: usize, channels: usize, spatial: usize) -> (f64, f64) {
    let mut count = 0usize;
    let mut sum = 0.0;
    for p in planes(xs, c, channels, spatial) {
        sum += p.iter().map(|v| v.to_f64()).sum::<f64>();
        count += p.len();
    }
    let mean = sum / count.max(1) as f64;
    let sq: f64 = planes(xs, c, channels, spatial)
        .map(|p| p.iter().map(|v| (v.to_f64() - mean).powi(2)).sum::<f64>())
        .sum();
    (mean, sq / count.max(1) as f64)
}

/// With `x̂ = (x − mean)·inv`: dgamma = Σ dy·x̂, dbeta = Σ dy, and dx =
/// `gamma·inv·dy` at evaluation, or in training (the statistics depend on x)
/// `gamma·inv·(dy − Σdy/N − x̂·Σ(dy·x̂)/N)`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn backward<T: Real>(
    b: &mut Back<'_, T>,
    x: NodeId,
    gamma: NodeId,
    beta: NodeId,
    stats: NodeId,
    spatial: usize,
    train: bool,
) {
    let (gy, xv, gv) = (b.gy, b.value(x), b.value(gamma));
    let channels = gv.len();
    let (mean, inv) = b.value(stats).split_at(channels);
    let s = spatial.max(1);
    // Σ dy and Σ dy·x̂ of channel c
    let sums = |c: usize| {
        let (mut sg, mut sgx) = (0.0, 0.0);
        for (dy, xp) in planes(gy, c, channels, spatial).zip(planes(xv, c, channels, spatial)) {
            for (&d, &v) in dy.iter().zip(xp) {
                let d = d.to_f64();
                sg += d;
                sgx += d * ((v - mean[c]) * inv[c]).to_f64();
            }
        }
        (sg, sgx)
    };
    if let Some(d) = b.grads.of(gamma) {
        d.emit((0..channels).map(|c| T::from_f64(sums(c).1)));
    }
    if let Some(d) = b.grads.of(beta) {
        d.emit((0..channels).map(|c| T::from_f64(sums(c).0)));
    }
    let Some(d) = b.grads.of(x) else { return };
    let replace = d.accum == faer::Accum::Replace;
    let count = (b.out.rows * spatial) as f64;
    for c in 0..channels {
        let a = gv[c] * inv[c];
        let (mg, mgx) = if train {
            let (g_sum, gx_sum) = sums(c);
            (T::from_f64(g_sum / count), T::from_f64(gx_sum / count))
        } else {
            (T::ZERO, T::ZERO)
        };
        let (m, iv) = (mean[c], inv[c]);
        let rows = d
            .buf
            .chunks_exact_mut(channels * s)
            .zip(gy.chunks_exact(channels * s));
        for ((g_row, dy_row), x_row) in rows.zip(xv.chunks_exact(channels * s)) {
            let at = c * s..(c + 1) * s;
            let (g, dy, xp) = (&mut g_row[at.clone()], &dy_row[at.clone()], &x_row[at]);
            for ((g, &d), &v) in g.iter_mut().zip(dy).zip(xp) {
                let val = if train {
                    a * (d - mg - (v - m) * iv * mgx)
                } else {
                    a * d
                };
                *g = if replace { val } else { *g + val };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;

    #[test]
    fn training_updates_the_running_statistics_as_pytorch_and_evaluation_reads_them() {
        // two channels of two values, two samples: channel 0 holds 1, 2, 3, 4
        let x = Tensor::from_vec(2, 4, vec![1.0, 2.0, 10.0, 10.0, 3.0, 4.0, 10.0, 14.0]).unwrap();
        let mut tape = Tape::<f64>::new();
        let xn = tape.input(&x);
        let gamma = tape.input(&Tensor::from_vec(1, 2, vec![1.0, 2.0]).unwrap());
        let beta = tape.input(&Tensor::from_vec(1, 2, vec![0.0, 0.5]).unwrap());
        let (mut mean, mut var) = (vec![0.0, 1.0], vec![1.0, 2.0]);
        let stats = BnStats {
            running_mean: &mut mean,
            running_var: &mut var,
        };
        let y = tape
            .batch_norm(xn, gamma, beta, stats, 2, 2, Phase::Train)
            .unwrap();
        // channel 0: mean 2.5, biased var 1.25, unbiased 5/3
        assert!((mean[0] - 0.25).abs() < 1e-15);
        assert!((var[0] - (0.9 + 0.1 * 5.0 / 3.0)).abs() < 1e-15);
        // channel 1: 10, 10, 10, 14: mean 11, biased var 3, unbiased 4
        assert!((mean[1] - (0.9 + 1.1)).abs() < 1e-15);
        assert!((var[1] - (1.8 + 0.4)).abs() < 1e-15);
        let inv0 = 1.0 / (1.25f64 + BN_EPS).sqrt();
        assert!((tape.value(y).unwrap()[0] - (1.0 - 2.5) * inv0).abs() < 1e-12);

        let (m0, v0) = (mean.clone(), var.clone());
        let stats = BnStats {
            running_mean: &mut mean,
            running_var: &mut var,
        };
        let y = tape
            .batch_norm(xn, gamma, beta, stats, 2, 2, Phase::Eval)
            .unwrap();
        assert_eq!((&mean, &var), (&m0, &v0), "evaluation changes nothing");
        let want = (14.0 - m0[1]) / (v0[1] + BN_EPS).sqrt() * 2.0 + 0.5;
        assert!((tape.value(y).unwrap()[7] - want).abs() < 1e-12);
    }

    #[test]
    fn training_on_one_value_per_channel_is_refused() {
        let mut tape = Tape::<f32>::new();
        let x = tape.input(&Tensor::zeros(1, 3));
        let g = tape.input(&Tensor::zeros(1, 3));
        let (mut m, mut v) = (vec![0.0; 3], vec![1.0; 3]);
        let stats = BnStats {
            running_mean: &mut m,
            running_var: &mut v,
        };
        let e = tape
            .batch_norm(x, g, g, stats, 3, 1, Phase::Train)
            .unwrap_err();
        assert!(
            e.to_string().contains("more than one value per channel"),
            "{e}"
        );
    }
}
