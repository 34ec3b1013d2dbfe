//! Matrix products on faer, through views of the tape's buffers (no copies,
//! transposes are free). Linear layers send small products to `ops/small.rs` and
//! weight gradients from a mostly-zero output gradient to `ops/sparse.rs`.

use super::{small, sparse};
use crate::error::{Error, Result};
use crate::params::{ParamId, Params};
use crate::real::Real;
use crate::tape::{Back, Node, NodeId, Op, Tape};
use faer::{Accum, MatMut, MatRef, Par};

impl<T: Real> Tape<T> {
    /// `a · b`: `[m, k] · [k, n] -> [m, n]`.
    pub fn matmul(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.product(a, b, false)
    }

    /// `a · bᵀ`: `[m, k] · [n, k]ᵀ -> [m, n]`, a linear layer's `x · Wᵀ`.
    pub fn matmul_nt(&mut self, a: NodeId, b: NodeId) -> Result<NodeId> {
        self.product(a, b, true)
    }

    /// A PyTorch linear layer: `x · wᵀ + bias`, with `w` `[out, in]` and `bias` `[1, out]`.
    /// One node: the bias is written first and the product added onto it.
    pub fn linear(&mut self, x: NodeId, w: NodeId, bias: Option<NodeId>) -> Result<NodeId> {
        let (nx, nw) = (*self.node(x)?, *self.node(w)?);
        if nx.cols != nw.cols {
            return Err(Error::ShapeMismatch {
                op: "matmul_nt",
                lhs: (nx.rows, nx.cols),
                rhs: (nw.rows, nw.cols),
            });
        }
        let nb = match bias {
            Some(b) => Some(*self.node(b)?),
            None => None,
        };
        if let Some(nb) = nb
            && (nb.rows != 1 || nb.cols != nw.rows)
        {
            return Err(Error::ShapeMismatch {
                op: "bias_add",
                lhs: (nx.rows, nw.rows),
                rhs: (nb.rows, nb.cols),
            });
        }
        let needs_grad = nx.needs_grad || nw.needs_grad || nb.is_some_and(|n| n.needs_grad);
        let op = Op::Linear { x, w, bias };
        let id = self.push_uninit(op, nx.rows, nw.rows, needs_grad);
        let par = self.par_for(nx.rows, nx.cols, nw.rows);
        let (before, out) = self.io(id);
        let b = nb.map(|nb| &before[nb.range()]);
        let shape = (nx.rows, nx.cols, nw.rows);
        affine(out, &before[nx.range()], &before[nw.range()], shape, b, par);
        Ok(id)
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
        let nx = *self.node(x)?;
        if matches!(nx.op, Op::Param(_)) {
            // A parameter as the input too: both would live in the store,
            // which backward cannot read and write at once. The copying form.
            let w = self.param(params, weight);
            let b = bias.map(|b| self.param(params, b));
            return self.linear(x, w, b);
        }
        for id in std::iter::once(weight).chain(bias) {
            if id.index() >= params.len() {
                return Err(Error::Invalid(format!(
                    "parameter #{} is not in this store",
                    id.index()
                )));
            }
        }
        let w = params.value(weight);
        if w.cols() != nx.cols {
            return Err(Error::ShapeMismatch {
                op: "matmul_nt",
                lhs: (nx.rows, nx.cols),
                rhs: w.shape(),
            });
        }
        let out = w.rows();
        let b = bias.map(|b| params.value(b));
        if let Some(b) = b
            && b.shape() != (1, out)
        {
            return Err(Error::ShapeMismatch {
                op: "bias_add",
                lhs: (nx.rows, out),
                rhs: b.shape(),
            });
        }
        match self.params_version {
            Some(v) if v != params.version() => {
                return Err(Error::Invalid(
                    "the parameters were changed (or another store given) during the pass".into(),
                ));
            }
            _ => self.params_version = Some(params.version()),
        }
        let op = Op::LinearParam { x, w: weight, bias };
        let id = self.push_uninit(op, nx.rows, out, true);
        let par = self.par_for(nx.rows, nx.cols, out);
        let (before, dst) = self.io(id);
        let shape = (nx.rows, nx.cols, out);
        let b = b.map(|b| b.as_slice());
        affine(dst, &before[nx.range()], w.as_slice(), shape, b, par);
        Ok(id)
    }

    fn product(&mut self, a: NodeId, b: NodeId, nt: bool) -> Result<NodeId> {
        let (na, nb) = (*self.node(a)?, *self.node(b)?);
        let (k_b, n) = if nt {
            (nb.cols, nb.rows)
        } else {
            (nb.rows, nb.cols)
        };
        if na.cols != k_b {
            return Err(Error::ShapeMismatch {
                op: if nt { "matmul_nt" } else { "matmul" },
                lhs: (na.rows, na.cols),
                rhs: (nb.rows, nb.cols),
            });
        }
        let op = if nt {
            Op::MatMulNt(a, b)
        } else {
            Op::MatMul(a, b)
        };
        let id = self.push_uninit(op, na.rows, n, na.needs_grad || nb.needs_grad);
        let par = self.par_for(na.rows, na.cols, n);
        let (before, out) = self.io(id);
        let lhs = view(before, &na);
        let rhs = if nt {
            view(before, &nb).transpose()
        } else {
            view(before, &nb)
        };
        let dst = MatMut::from_row_major_slice_mut(out, na.rows, n);
        matmul(dst, Accum::Replace, lhs, rhs, T::ONE, par);
        Ok(id)
    }
}

/// `out = x · wᵀ (+ bias on every row)`, `x` `[m, k]` and `w` `[out, k]`
/// row-major. Small products take [`small`]'s loops. For faer the bias is
/// written first and the product added onto it, so it costs no extra pass.
fn affine<T: Real>(
    out: &mut [T],
    x: &[T],
    w: &[T],
    (m, k, cols): (usize, usize, usize),
    bias: Option<&[T]>,
    par: Par,
) {
    if small::fits(m, k, cols) {
        return small::nt(out, x, w, (k, cols), bias, false);
    }
    let x = MatRef::from_row_major_slice(x, m, k);
    let w = MatRef::from_row_major_slice(w, cols, k);
    let accum = match bias {
        Some(b) if cols > 0 => {
            for row in out.chunks_exact_mut(cols) {
                row.copy_from_slice(b);
            }
            Accum::Add
        }
        _ => Accum::Replace,
    };
    let dst = MatMut::from_row_major_slice_mut(out, x.nrows(), cols);
    matmul(dst, accum, x, w.transpose(), T::ONE, par);
}

/// faer's product, then [`clean_upper_simd`].
fn matmul<T: Real>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
    par: Par,
) {
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, alpha, par);
    clean_upper_simd();
}

/// faer's x86 kernels (hand-written assembly in private-gemm-x86) return with
/// the upper halves of the 256-bit registers dirty. Until a `vzeroupper`, every
/// SSE instruction after them pays a state-transition penalty: on this machine
/// a 64x10 log_softmax after a matmul took 92 µs instead of 4.6 µs (its `expf`
/// calls switch between VEX and SSE code), and a ReLU 3x longer. So we clean
/// the state after each product, as compiled AVX code does before returning.
#[inline]
fn clean_upper_simd() {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx") {
        // SAFETY: `vzeroupper` needs AVX, checked just above. It zeroes bits
        // 128..256 of the vector registers, where none of our (SSE) code keeps
        // values; the compiler knows the intrinsic's effect on registers.
        unsafe { std::arch::x86_64::_mm256_zeroupper() }
    }
}

fn view<'a, T: Real>(buf: &'a [T], n: &Node<T>) -> MatRef<'a, T> {
    MatRef::from_row_major_slice(&buf[n.range()], n.rows, n.cols)
}

/// Single-threaded below a size where threads pay off.
pub(crate) fn par_for(par: Par, m: usize, k: usize, n: usize) -> Par {
    if m.saturating_mul(k).saturating_mul(n) < crate::tape::PAR_MIN_FLOPS {
        Par::Seq
    } else {
        par
    }
}

/// `C = A·B`: dA += dC·Bᵀ, dB += Aᵀ·dC.  `C = A·Bᵀ`: dA += dC·B, dB += dCᵀ·A.
pub(crate) fn backward<T: Real>(
    b: &mut Back<'_, T>,
    node: &Node<T>,
    gy: &[T],
    lhs: NodeId,
    rhs: NodeId,
    nt: bool,
    par: Par,
) {
    let gy = MatRef::from_row_major_slice(gy, node.rows, node.cols);
    let k = b.node(lhs).cols;
    let p = par_for(par, node.rows, node.cols, k);
    if let Some((ga, r, accum)) = b.grad_mat_with(lhs, rhs) {
        let r = if nt { r } else { r.transpose() };
        matmul(ga, accum, gy, r, T::ONE, p);
    }
    if let Some((gb, l, accum)) = b.grad_mat_with(rhs, lhs) {
        if nt {
            matmul(gb, accum, gy.transpose(), l, T::ONE, p);
        } else {
            matmul(gb, accum, l.transpose(), gy, T::ONE, p);
        }
    }
}

/// The fused linear layer: the product's gradients, then the bias's (column sums).
pub(crate) fn linear_backward<T: Real>(
    b: &mut Back<'_, T>,
    node: &Node<T>,
    gy: &[T],
    (x, w, bias): (NodeId, NodeId, Option<NodeId>),
    par: Par,
) {
    backward(b, node, gy, x, w, true, par);
    if let Some(bias) = bias {
        super::elementwise::bias_grad(b, gy, bias);
    }
}

/// The linear layer on stored parameters: dx = dy · W (W read from the store),
/// dW += dyᵀ · x and db += column sums of dy, both into the store.
pub(crate) fn linear_param_backward<T: Real>(
    b: &mut Back<'_, T>,
    node: &Node<T>,
    gy: &[T],
    (x, w, bias): (NodeId, ParamId, Option<ParamId>),
    par: Par,
    cols: &mut sparse::Columns<T>,
) {
    let gy_m = MatRef::from_row_major_slice(gy, node.rows, node.cols);
    let nx = b.node(x);
    let values = b.values;
    let xv = view(values, &nx);
    let p = par_for(par, node.rows, node.cols, nx.cols);
    let w_accum = b.param_accum(w);
    let bias_accum = bias.map(|bias| b.param_accum(bias));
    let tiny = small::fits(node.rows, nx.cols, node.cols);
    let (gx, params) = b.grad_and_store(x);
    if let Some((gx, accum)) = gx {
        let wv = params.value(w);
        if tiny {
            small::axpy_rows(
                gx,
                nx.cols,
                accum == Accum::Add,
                gy,
                (node.cols, 1),
                wv.as_slice(),
            );
        } else {
            let gx = MatMut::from_row_major_slice_mut(gx, nx.rows, nx.cols);
            matmul(gx, accum, gy_m, wv.view(), T::ONE, p);
        }
    }
    let (_, gw) = params.value_and_grad(w);
    let (xs, add) = (&values[nx.range()], w_accum == Accum::Add);
    if tiny {
        small::axpy_rows(gw.as_mut_slice(), nx.cols, add, gy, (1, node.cols), xs);
    } else if cols.of(gy, node.cols, nx.cols) {
        sparse::weight_grad(gw.as_mut_slice(), add, cols, xs, nx.cols, p);
    } else {
        matmul(gw.view_mut(), w_accum, gy_m.transpose(), xv, T::ONE, p);
    }
    if let (Some(bias), Some(accum)) = (bias, bias_accum) {
        let g = params.value_and_grad(bias).1.as_mut_slice();
        if accum == Accum::Replace {
            g.fill(T::ZERO);
        }
        for row in gy.chunks_exact(node.cols.max(1)) {
            super::elementwise::add_into(g, row);
        }
    }
}
