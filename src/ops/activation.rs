//! Elementwise activations and the row-wise (soft)max family.

use crate::error::Result;
use crate::real::Real;
use crate::tape::{Back, NodeId, Op, Tape};

impl<T: Real> Tape<T> {
    /// `max(x, 0)`.
    pub fn relu(&mut self, x: NodeId) -> Result<NodeId> {
        // Written so that NaN passes through, as in PyTorch: `v > 0 ? v : 0`
        // would turn a NaN input into 0 and hide it from the loss.
        self.map(x, Op::Relu(x), |v| if v <= T::ZERO { T::ZERO } else { v })
    }

    /// `1 / (1 + e^-x)`, computed without overflow for large |x|.
    pub fn sigmoid(&mut self, x: NodeId) -> Result<NodeId> {
        self.map(x, Op::Sigmoid(x), sigmoid)
    }

    /// `tanh(x)`.
    pub fn tanh(&mut self, x: NodeId) -> Result<NodeId> {
        self.map(x, Op::Tanh(x), |v| v.tanh())
    }

    /// Row-wise softmax, shifted by the row maximum for stability.
    pub fn softmax(&mut self, x: NodeId) -> Result<NodeId> {
        self.rowwise(x, Op::Softmax(x), |row, out| {
            let m = row_max(row);
            let mut s = T::ZERO;
            for (o, &v) in out.iter_mut().zip(row) {
                *o = (v - m).exp();
                s += *o;
            }
            let inv = T::ONE / s;
            out.iter_mut().for_each(|o| *o *= inv);
        })
    }

    /// Row-wise `x - logsumexp(x)`, stable for logits of any size.
    pub fn log_softmax(&mut self, x: NodeId) -> Result<NodeId> {
        self.rowwise(x, Op::LogSoftmax(x), |row, out| {
            let lse = logsumexp(row);
            for (o, &v) in out.iter_mut().zip(row) {
                *o = v - lse;
            }
        })
    }

    fn rowwise(&mut self, x: NodeId, op: Op<T>, f: impl Fn(&[T], &mut [T])) -> Result<NodeId> {
        let n = *self.node(x)?;
        let id = self.push_uninit(op, n.rows, n.cols, n.needs_grad);
        let (before, out) = self.io(id);
        if n.cols > 0 {
            for (o, r) in out
                .chunks_exact_mut(n.cols)
                .zip(before[n.range()].chunks_exact(n.cols))
            {
                f(r, o);
            }
        }
        Ok(id)
    }
}

pub(crate) fn sigmoid<T: Real>(v: T) -> T {
    if v >= T::ZERO {
        T::ONE / (T::ONE + (-v).exp())
    } else {
        let e = v.exp();
        e / (T::ONE + e)
    }
}

pub(crate) fn row_max<T: Real>(row: &[T]) -> T {
    row.iter()
        .copied()
        .fold(T::from_f64(f64::NEG_INFINITY), T::max)
}

/// `log Σ e^v`, shifted by the maximum so no term overflows.
pub(crate) fn logsumexp<T: Real>(row: &[T]) -> T {
    let m = row_max(row);
    let s = row.iter().fold(T::ZERO, |s, &v| s + (v - m).exp());
    m + s.ln()
}

/// Each backward here needs only the output `y` (already on the tape) and `dy`.
fn elementwise_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, local: impl Fn(T) -> T) {
    let (gy, y) = (b.gy, b.y());
    if let Some(d) = b.grads.of(x) {
        d.emit(gy.iter().zip(y).map(|(&d, &yv)| d * local(yv)));
    }
}

pub(crate) fn relu_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    elementwise_backward(b, x, |y| if y <= T::ZERO { T::ZERO } else { T::ONE });
}

pub(crate) fn sigmoid_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    elementwise_backward(b, x, |y| y * (T::ONE - y));
}

pub(crate) fn tanh_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    elementwise_backward(b, x, |y| T::ONE - y * y);
}

/// dx = y ⊙ (dy − Σ dy⊙y), row by row.
pub(crate) fn softmax_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    let (gy, y, cols) = (b.gy, b.y(), b.out.cols.max(1));
    if let Some(d) = b.grads.of(x) {
        for ((g, d), y) in d
            .rows(cols)
            .zip(gy.chunks_exact(cols))
            .zip(y.chunks_exact(cols))
        {
            let dot = d.iter().zip(y).fold(T::ZERO, |s, (&d, &y)| s + d * y);
            g.emit(d.iter().zip(y).map(|(&d, &y)| y * (d - dot)));
        }
    }
}

/// dx = dy − softmax(x) · Σ dy, row by row (softmax(x) = e^y).
pub(crate) fn log_softmax_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    let (gy, y, cols) = (b.gy, b.y(), b.out.cols.max(1));
    if let Some(d) = b.grads.of(x) {
        for ((g, d), y) in d
            .rows(cols)
            .zip(gy.chunks_exact(cols))
            .zip(y.chunks_exact(cols))
        {
            let total = d.iter().fold(T::ZERO, |s, &d| s + d);
            g.emit(d.iter().zip(y).map(|(&d, &y)| d - y.exp() * total));
        }
    }
}
