//! Sums and scaling: add, bias add (row broadcast), scale.

use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Back, NodeId, Op, Tape};

impl<T: Real> Tape<T> {
    /// `a + b`, same shapes.
    pub fn add(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        let (na, nb) = (*self.node(a)?, *self.node(b)?);
        if (na.rows, na.cols) != (nb.rows, nb.cols) {
            return Err(Error::ShapeMismatch {
                op: "add",
                lhs: (na.rows, na.cols),
                rhs: (nb.rows, nb.cols),
            });
        }
        let id = self.push_uninit(
            Op::Add(a, b),
            na.rows,
            na.cols,
            na.needs_grad || nb.needs_grad,
        );
        let (before, out) = self.io(id);
        for ((o, &x), &y) in out
            .iter_mut()
            .zip(&before[na.range()])
            .zip(&before[nb.range()])
        {
            *o = x + y;
        }
        Ok(id)
    }

    /// `x + bias` with `bias` a `[1, cols]` row added to every row of `x`.
    pub fn bias_add(&mut self, x: NodeId, bias: NodeId) -> Result<NodeId> {
        let (nx, nb) = (*self.node(x)?, *self.node(bias)?);
        if nb.rows != 1 || nb.cols != nx.cols {
            return Err(Error::ShapeMismatch {
                op: "bias_add",
                lhs: (nx.rows, nx.cols),
                rhs: (nb.rows, nb.cols),
            });
        }
        let op = Op::BiasAdd(x, bias);
        let id = self.push_uninit(op, nx.rows, nx.cols, nx.needs_grad || nb.needs_grad);
        let (before, out) = self.io(id);
        let b = &before[nb.range()];
        let src = &before[nx.range()];
        if nx.cols > 0 {
            for (orow, xrow) in out.chunks_exact_mut(nx.cols).zip(src.chunks_exact(nx.cols)) {
                for ((o, &v), &bv) in orow.iter_mut().zip(xrow).zip(b) {
                    *o = v + bv;
                }
            }
        }
        Ok(id)
    }

    /// `c · x` for a constant `c`.
    pub fn scale(&mut self, x: NodeId, c: T) -> Result<NodeId> {
        self.map(x, Op::Scale(x, c), |v| c * v)
    }
}

pub(crate) fn add_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, y: NodeId) {
    for id in [x, y] {
        if let Some(d) = b.grads.of(id) {
            d.emit(b.gy.iter().copied());
        }
    }
}

/// dx = dy, and the row-broadcast bias gets the column sums of dy.
pub(crate) fn bias_add_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, bias: NodeId) {
    if let Some(d) = b.grads.of(x) {
        d.emit(b.gy.iter().copied());
    }
    if let Some(d) = b.grads.of(bias) {
        let g = d.zeroed();
        for row in b.gy.chunks_exact(g.len().max(1)) {
            add_into(g, row);
        }
    }
}

pub(crate) fn scale_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, c: T) {
    if let Some(d) = b.grads.of(x) {
        d.emit(b.gy.iter().map(|&d| c * d));
    }
}

/// `dst += src`, elementwise.
pub(crate) fn add_into<T: Real>(dst: &mut [T], src: &[T]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}
