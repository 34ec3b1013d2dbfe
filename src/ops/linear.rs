//! The product ops: `matmul` (`a · b`) and the linear layer `x · wᵀ (+ bias)`,
//! one op whatever its spelling (`matmul_nt`, `linear`, `linear_param`), its
//! weight and bias read from a node or straight from the parameter store.
//! Which kernel runs is [`super::matmul`]'s choice.

use crate::error::{Error, Result};
use crate::params::{ParamId, Params};
use crate::real::Real;
use crate::tape::{Arg, Back, NodeId, Op, Tape};
use faer::{Accum, MatMut, MatRef};
use rayon::prelude::*;

impl<T: Real> Tape<T> {
    /// `a · b`: `[m, k] · [k, n] -> [m, n]`.
    pub fn matmul(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        let (na, nb) = (*self.node(a)?, *self.node(b)?);
        if na.cols != nb.rows {
            return Err(Error::ShapeMismatch {
                op: "matmul",
                lhs: (na.rows, na.cols),
                rhs: (nb.rows, nb.cols),
            });
        }
        let needs_grad = na.needs_grad || nb.needs_grad;
        let id = self.push_uninit(Op::MatMul(a, b), na.rows, nb.cols, needs_grad);
        let (before, out) = self.values.split_at_mut(self.nodes[id.index()].off);
        let out = &mut out[..na.rows * nb.cols];
        let lhs = MatRef::from_row_major_slice(&before[na.range()], na.rows, na.cols);
        let rhs = MatRef::from_row_major_slice(&before[nb.range()], nb.rows, nb.cols);
        let dst = MatMut::from_row_major_slice_mut(out, na.rows, nb.cols);
        self.products.product(dst, Accum::Replace, lhs, rhs);
        Ok(id)
    }

    /// `a · bᵀ`: `[m, k] · [n, k]ᵀ -> [m, n]`, a linear layer's `x · Wᵀ`.
    pub fn matmul_nt(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.linear(a, b, None)
    }

    /// A PyTorch linear layer: `x · wᵀ + bias`, with `w` `[out, in]` and `bias` `[1, out]`.
    pub fn linear(&mut self, x: NodeId, w: NodeId, bias: Option<NodeId>) -> Result<NodeId> {
        self.record_linear(None, x, Arg::Node(w), bias.map(Arg::Node))
    }

    /// [`Tape::linear`] with the weight `[out, in]` and bias `[1, out]` read
    /// straight from the store instead of copied onto the tape (the faster
    /// form for a layer: no copy forward, gradients added into the store).
    /// The store must not change until backward, which checks it.
    pub fn linear_param(
        &mut self,
        params: &Params<T>,
        x: NodeId,
        weight: ParamId,
        bias: Option<ParamId>,
    ) -> Result<NodeId> {
        self.check_in_store(params, weight, bias)?;
        if matches!(self.node(x)?.op, Op::Param(_)) {
            // A parameter as the input too: both would live in the store,
            // which backward cannot read and write at once. The copying form.
            let w = self.param(params, weight);
            let b = bias.map(|b| self.param(params, b));
            return self.linear(x, w, b);
        }
        self.record_linear(Some(params), x, Arg::Param(weight), bias.map(Arg::Param))
    }

    /// The weight and bias are parameters of `params`.
    pub(crate) fn check_in_store(
        &self,
        params: &Params<T>,
        weight: ParamId,
        bias: Option<ParamId>,
    ) -> Result<()> {
        for id in std::iter::once(weight).chain(bias) {
            if id.index() >= params.len() {
                return Err(Error::Invalid(format!(
                    "parameter #{} is not in this store",
                    id.index()
                )));
            }
        }
        Ok(())
    }

    /// Checks the shapes and records the layer: one node.
    fn record_linear(
        &mut self,
        params: Option<&Params<T>>,
        x: NodeId,
        w: Arg,
        bias: Option<Arg>,
    ) -> Result<NodeId> {
        let nx = *self.node(x)?;
        let (out, k) = self.arg_shape(params, w)?;
        if nx.cols != k {
            return Err(Error::ShapeMismatch {
                op: "matmul_nt",
                lhs: (nx.rows, nx.cols),
                rhs: (out, k),
            });
        }
        if let Some(b) = bias {
            let nb = self.arg_shape(params, b)?;
            if nb != (1, out) {
                return Err(Error::ShapeMismatch {
                    op: "bias_add",
                    lhs: (nx.rows, out),
                    rhs: nb,
                });
            }
        }
        if let Some(params) = params {
            self.reads_store(params)?;
        }
        let needs_grad =
            nx.needs_grad || self.arg_needs_grad(w) || bias.is_some_and(|b| self.arg_needs_grad(b));
        let id = self.push_uninit(Op::Linear { x, w, bias }, nx.rows, out, needs_grad);
        let off = self.nodes[id.index()].off;
        let (before, dst) = self.values.split_at_mut(off);
        let nodes = &self.nodes;
        let value = |a: Arg| match (a, params) {
            (Arg::Node(id), _) => &before[nodes[id.index()].range()],
            (Arg::Param(p), Some(params)) => params.value(p).as_slice(),
            (Arg::Param(_), None) => unreachable!("a stored weight comes with its store"),
        };
        let (x, shape) = (&before[nx.range()], (nx.rows, k, out));
        let dst = &mut dst[..nx.rows * out];
        self.products.x_wt(dst, x, value(w), shape, bias.map(value));
        Ok(id)
    }

    /// The shape of a node, or of a parameter in `params` (checked to be there).
    pub(crate) fn arg_shape(&self, params: Option<&Params<T>>, a: Arg) -> Result<(usize, usize)> {
        match (a, params) {
            (Arg::Node(id), _) => self.shape(id),
            (Arg::Param(p), Some(params)) => Ok(params.value(p).shape()),
            (Arg::Param(_), None) => unreachable!("a stored weight comes with its store"),
        }
    }

    /// Whether a layer's weight or bias wants a gradient: a stored parameter
    /// always does, a node as its own inputs decide.
    pub(crate) fn arg_needs_grad(&self, a: Arg) -> bool {
        match a {
            Arg::Node(id) => self.nodes[id.index()].needs_grad,
            Arg::Param(_) => true,
        }
    }

    /// Notes that the pass reads values in place from `params`, which must be
    /// the store (and version) any earlier such op read.
    pub(crate) fn reads_store(&mut self, params: &Params<T>) -> Result<()> {
        match self.store_read {
            Some((v, _)) if v != params.version() => Err(Error::Invalid(
                "the parameters were changed (or another store given) during the pass".into(),
            )),
            Some(_) => Ok(()),
            None => {
                self.store_read = Some((params.version(), self.nodes.len()));
                Ok(())
            }
        }
    }
}

/// `C = A·B`: dA (=|+=) dC·Bᵀ, dB (=|+=) Aᵀ·dC.
pub(crate) fn matmul_backward<T: Real>(b: &mut Back<'_, T>, lhs: NodeId, rhs: NodeId) {
    let gy = MatRef::from_row_major_slice(b.gy, b.out.rows, b.out.cols);
    let (na, nb) = (b.node(lhs), b.node(rhs));
    let a = MatRef::from_row_major_slice(b.value(lhs), na.rows, na.cols);
    let c = MatRef::from_row_major_slice(b.value(rhs), nb.rows, nb.cols);
    if let Some(d) = b.grads.of(lhs) {
        let ga = MatMut::from_row_major_slice_mut(d.buf, na.rows, na.cols);
        b.products.product(ga, d.accum, gy, c.transpose());
    }
    if let Some(d) = b.grads.of(rhs) {
        let gc = MatMut::from_row_major_slice_mut(d.buf, nb.rows, nb.cols);
        b.products.product(gc, d.accum, a.transpose(), gy);
    }
}

/// `y = x · wᵀ + bias`: dx (=|+=) dy · w, dw (=|+=) dyᵀ · x, and the bias
/// gets the column sums of dy.
pub(crate) fn backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, w: Arg, bias: Option<Arg>) {
    let (gy, xv) = (b.gy, b.value(x));
    let shape = (b.out.rows, b.node(x).cols, b.out.cols);
    let w_on_tape = match w {
        Arg::Node(id) => Some(b.value(id)),
        Arg::Param(_) => None,
    };
    if let Some(d) = b.grads.of(x) {
        let wv = match (w, w_on_tape, d.store) {
            (_, Some(v), _) => v,
            (Arg::Param(p), None, Some(store)) => store.value(p).as_slice(),
            // `linear_param` copies the weight onto the tape for a parameter input.
            _ => unreachable!("a stored weight with a stored input"),
        };
        b.products.dy_w(d.buf, d.accum, gy, wv, shape);
    }
    if let Some(d) = b.grads.of(w) {
        b.products.dyt_x(d.buf, d.accum, gy, xv, shape);
    }
    if let Some(d) = bias.and_then(|bias| b.grads.of(bias)) {
        let parts = b
            .products
            .parts(gy.len(), gy.len() * super::ELEMENTWISE_COST);
        bias_grad(parts, d.zeroed(), gy);
    }
}

/// `gb +=` every row of `dy`, row after row. On several threads each part
/// takes a range of columns, whose sums it alone writes, in the same order.
fn bias_grad<T: Real>(parts: usize, gb: &mut [T], dy: &[T]) {
    let cols = gb.len().max(1);
    let per = cols.div_ceil(parts.max(1));
    let part = |(i, gb): (usize, &mut [T])| {
        for row in dy.chunks_exact(cols) {
            super::elementwise::add_into(gb, &row[i * per..i * per + gb.len()]);
        }
    };
    if parts <= 1 {
        return part((0, gb));
    }
    gb.par_chunks_mut(per).enumerate().for_each(part);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Split into parts of columns (some widths not a multiple of the
    /// parts), the bias gradient has the bits of the rows added in order.
    #[test]
    fn the_bias_gradient_split_by_columns_gives_the_same_bits() {
        for (rows, cols) in [(1, 1), (3, 5), (7, 64), (5, 1027)] {
            let dy: Vec<f32> = (0..rows * cols)
                .map(|i| ((i * 7919) % 201) as f32 * 10f32.powi((i % 9) as i32 - 4))
                .collect();
            let mut want = vec![0.5f32; cols];
            for row in dy.chunks_exact(cols) {
                want.iter_mut().zip(row).for_each(|(w, &v)| *w += v);
            }
            for parts in 1..=3 {
                let mut got = vec![0.5f32; cols];
                bias_grad(parts, &mut got, &dy);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{rows}x{cols}, {parts} parts");
            }
        }
    }
}
