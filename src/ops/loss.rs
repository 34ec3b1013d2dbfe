//! Data terms: cross-entropy from logits, NLL from log-probabilities, MSE.
//! Each is the mean over the batch, as in PyTorch's defaults.

use super::activation::logsumexp;
use super::emit;
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Back, NodeId, Op, Tape};

impl<T: Real> Tape<T> {
    /// Mean over rows of `logsumexp(x) − x[label]`: softmax and NLL fused, stable
    /// for logits of any magnitude.
    pub fn cross_entropy(&mut self, logits: NodeId, labels: &[u32]) -> Result<NodeId> {
        let off = self.push_labels("cross_entropy", logits, labels)?;
        let n = *self.node(logits)?;
        let id = self.push_uninit(
            Op::CrossEntropy {
                x: logits,
                labels: off,
            },
            1,
            1,
            n.needs_grad,
        );
        let (before, out) = self.io(id);
        let mut total = T::ZERO;
        for (row, &l) in before[n.range()].chunks_exact(n.cols).zip(labels) {
            total += logsumexp(row) - row[l as usize];
        }
        out[0] = total / T::from_f64(n.rows as f64);
        Ok(id)
    }

    /// Mean over rows of `−logp[label]`, for log-probabilities (after `log_softmax`).
    pub fn nll(&mut self, logp: NodeId, labels: &[u32]) -> Result<NodeId> {
        let off = self.push_labels("nll", logp, labels)?;
        let n = *self.node(logp)?;
        let id = self.push_uninit(
            Op::Nll {
                x: logp,
                labels: off,
            },
            1,
            1,
            n.needs_grad,
        );
        let (before, out) = self.io(id);
        let mut total = T::ZERO;
        for (row, &l) in before[n.range()].chunks_exact(n.cols).zip(labels) {
            total -= row[l as usize];
        }
        out[0] = total / T::from_f64(n.rows as f64);
        Ok(id)
    }

    /// Mean over every element of `(pred − target)²`.
    pub fn mse(&mut self, pred: NodeId, target: NodeId) -> Result<NodeId> {
        let (np, nt) = (*self.node(pred)?, *self.node(target)?);
        if (np.rows, np.cols) != (nt.rows, nt.cols) {
            return Err(Error::ShapeMismatch {
                op: "mse",
                lhs: (np.rows, np.cols),
                rhs: (nt.rows, nt.cols),
            });
        }
        let id = self.push_uninit(Op::Mse(pred, target), 1, 1, np.needs_grad || nt.needs_grad);
        let (before, out) = self.io(id);
        let s = before[np.range()]
            .iter()
            .zip(&before[nt.range()])
            .fold(T::ZERO, |s, (&p, &t)| s + (p - t) * (p - t));
        out[0] = if np.len() == 0 {
            T::ZERO
        } else {
            s / T::from_f64(np.len() as f64)
        };
        Ok(id)
    }

    /// Checks one label per row, each a valid class, and stores them for backward.
    fn push_labels(&mut self, op: &'static str, x: NodeId, labels: &[u32]) -> Result<usize> {
        let n = *self.node(x)?;
        if labels.len() != n.rows || n.rows == 0 {
            return Err(Error::LabelCount {
                op,
                count: labels.len(),
                rows: n.rows,
            });
        }
        if let Some(&bad) = labels.iter().find(|&&l| l as usize >= n.cols) {
            return Err(Error::LabelOutOfRange {
                op,
                label: bad,
                classes: n.cols,
            });
        }
        let off = self.labels.len();
        self.labels.extend_from_slice(labels);
        Ok(off)
    }
}

/// dx = gy/N · (softmax(x) − onehot(label)).
pub(crate) fn cross_entropy_backward<T: Real>(
    mut b: Back<'_, T>,
    gy: T,
    x: NodeId,
    labels: &[u32],
) {
    let n = b.node(x);
    let k = gy / T::from_f64(n.rows as f64);
    if let Some((v, g, overwrite)) = b.value_grad_dst(x) {
        for ((row, grow), &l) in v
            .chunks_exact(n.cols)
            .zip(g.chunks_exact_mut(n.cols))
            .zip(labels)
        {
            let lse = logsumexp(row);
            emit(grow, overwrite, row.iter().map(|&xv| k * (xv - lse).exp()));
            grow[l as usize] -= k;
        }
    }
}

/// dx[label] = −gy/N.
pub(crate) fn nll_backward<T: Real>(mut b: Back<'_, T>, gy: T, x: NodeId, labels: &[u32]) {
    let n = b.node(x);
    let k = gy / T::from_f64(n.rows as f64);
    if let Some((_, g)) = b.value_grad(x) {
        for (grow, &l) in g.chunks_exact_mut(n.cols).zip(labels) {
            grow[l as usize] -= k;
        }
    }
}

/// d pred = 2·gy/n · (pred − target), d target = its negative.
pub(crate) fn mse_backward<T: Real>(mut b: Back<'_, T>, gy: T, pred: NodeId, target: NodeId) {
    let len = b.node(pred).len();
    let k = (gy + gy) / T::from_f64(len as f64);
    let values = b.values;
    let p = &values[b.node(pred).range()];
    let t = &values[b.node(target).range()];
    for (id, sign) in [(pred, T::ONE), (target, -T::ONE)] {
        if let Some((_, g, overwrite)) = b.value_grad_dst(id) {
            emit(
                g,
                overwrite,
                p.iter().zip(t).map(|(&p, &t)| sign * k * (p - t)),
            );
        }
    }
}
