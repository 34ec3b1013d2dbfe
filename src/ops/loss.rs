//! Data terms: cross-entropy from logits, NLL from log-probabilities, MSE.
//! Each is the mean over the batch, as in PyTorch's defaults.

use super::activation::logsumexp;
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Back, Node, NodeId, Op, Tape};

impl<T: Real> Tape<T> {
    /// Mean over rows of `logsumexp(x) − x[label]`: softmax and NLL fused, stable
    /// for logits of any magnitude.
    pub fn cross_entropy(&mut self, logits: NodeId, labels: &[u32]) -> Result<NodeId> {
        let n = self.check_labels("cross_entropy", logits, labels)?;
        let id = self.push_uninit(Op::CrossEntropy(logits), 1, 1, n.needs_grad);
        self.labels.extend_from_slice(labels);
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
        let n = self.check_labels("nll", logp, labels)?;
        let id = self.push_uninit(Op::Nll(logp), 1, 1, n.needs_grad);
        self.labels.extend_from_slice(labels);
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

    /// Checks one label per row, each a valid class; returns x's node. The
    /// op stores them for backward right after its node.
    fn check_labels(&self, op: &'static str, x: NodeId, labels: &[u32]) -> Result<Node<T>> {
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
        Ok(n)
    }
}

/// dx = gy/N · (softmax(x) − onehot(label)).
pub(crate) fn cross_entropy_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    let (n, v, labels) = (b.node(x), b.value(x), b.labels());
    let k = b.gy0() / T::from_f64(n.rows as f64);
    if let Some(d) = b.grads.of(x) {
        for ((row, g), &l) in v.chunks_exact(n.cols).zip(d.rows(n.cols)).zip(labels) {
            let lse = logsumexp(row);
            g.emit(row.iter().map(|&xv| k * (xv - lse).exp()))[l as usize] -= k;
        }
    }
}

/// dx[label] = −gy/N.
pub(crate) fn nll_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    let (n, labels) = (b.node(x), b.labels());
    let k = b.gy0() / T::from_f64(n.rows as f64);
    if let Some(d) = b.grads.of(x) {
        for (g, &l) in d.zeroed().chunks_exact_mut(n.cols).zip(labels) {
            g[l as usize] -= k;
        }
    }
}

/// d pred = 2·gy/n · (pred − target), d target = its negative.
pub(crate) fn mse_backward<T: Real>(b: &mut Back<'_, T>, pred: NodeId, target: NodeId) {
    let len = b.node(pred).len();
    let k = (b.gy0() + b.gy0()) / T::from_f64(len as f64);
    let (p, t) = (b.value(pred), b.value(target));
    for (id, sign) in [(pred, T::ONE), (target, -T::ONE)] {
        if let Some(d) = b.grads.of(id) {
            d.emit(p.iter().zip(t).map(|(&p, &t)| sign * k * (p - t)));
        }
    }
}
