//! Elementwise activations and the row-wise (soft)max family.

use super::ELEMENTWISE_COST;
use crate::error::Result;
use crate::real::Real;
use crate::tape::{Back, NodeId, Op, Tape};
use faer::Accum;
use rayon::prelude::*;

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

/// Each backward here needs only the output `y` (already on the tape) and
/// `dy`; large ones are shared out among threads as [`super::map_into`] does.
fn elementwise_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, local: impl Fn(T) -> T + Sync) {
    let (gy, y) = (b.gy, b.y());
    let parts = b.products.parts(gy.len(), gy.len() * ELEMENTWISE_COST);
    let Some(d) = b.grads.of(x) else { return };
    let add = d.accum == Accum::Add;
    let one = |g: &mut [T], gy: &[T], y: &[T]| {
        let terms = gy.iter().zip(y).map(|(&d, &yv)| d * local(yv));
        if add {
            g.iter_mut().zip(terms).for_each(|(g, v)| *g += v);
        } else {
            g.iter_mut().zip(terms).for_each(|(g, v)| *g = v);
        }
    };
    if parts <= 1 {
        return one(d.buf, gy, y);
    }
    let per = gy.len().div_ceil(parts).max(1);
    d.buf
        .par_chunks_mut(per)
        .zip(gy.par_chunks(per))
        .zip(y.par_chunks(per))
        .for_each(|((g, gy), y)| one(g, gy, y));
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

#[cfg(test)]
mod tests {
    use crate::params::Params;
    use crate::tape::Tape;
    use crate::tensor::Tensor;

    /// Large enough to be shared out (2^17 and an odd remainder): relu,
    /// sigmoid, tanh and scale give the same bits on 1, 2 and 3 threads,
    /// forward and backward, where the gradient is the first write (onto
    /// the last pass's numbers) and where it adds.
    #[test]
    fn sharing_element_wise_passes_among_threads_changes_no_number() {
        let n = (1 << 17) + 77;
        let x: Vec<f32> = (0..n)
            .map(|i| ((i * 7919) % 201) as f32 / 50.0 - 2.0)
            .collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let run = |threads: usize| {
            let mut params = Params::new();
            let id = params
                .add("x", Tensor::from_vec(1, n, x.clone()).unwrap())
                .unwrap();
            let mut tape = Tape::new();
            tape.set_threads(threads);
            assert_eq!(tape.products.parts(n, n * super::ELEMENTWISE_COST), threads);
            let mut out = Vec::new();
            for _ in 0..2 {
                tape.clear();
                let xn = tape.param(&params, id);
                let xn = tape.scale(xn, 1.5).unwrap();
                let a = tape.relu(xn).unwrap();
                let b = tape.sigmoid(xn).unwrap();
                let c = tape.tanh(a).unwrap();
                // xn feeds two ops, so the second of its gradients adds
                let s = tape.add(b, c).unwrap();
                let l = tape.sumsq(s).unwrap();
                tape.backward_replacing(l, &mut params).unwrap();
                let values = [a, b, c].map(|v| tape.value(v).unwrap().to_vec());
                out.push((values, params.grad(id).as_slice().to_vec()));
            }
            assert_eq!(out[0], out[1], "a second pass, {threads} threads");
            out.pop().unwrap()
        };
        let one = pool.install(|| run(1));
        assert!(one.1.iter().filter(|&&g| g != 0.0).count() > n / 4);
        for threads in [2, 3] {
            assert_eq!(pool.install(|| run(threads)), one, "{threads} threads");
        }
    }
}
