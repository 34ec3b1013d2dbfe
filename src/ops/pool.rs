//! Max and average pooling over `kernel × kernel` windows, as PyTorch's
//! `max_pool2d` and `avg_pool2d` without padding (output sizes rounded down).
//! The max's gradient goes to the first maximum of its window in row-major
//! order, as PyTorch's does; forward records where it was for backward.
//! On several threads a large enough batch is split into parts of whole
//! samples, one a thread (each sample's windows are its own: the numbers do
//! not depend on the split).

use super::conv::{check_input, check_window, out_size};
use crate::error::Result;
use crate::real::{Real, all_finite};
use crate::tape::{Back, NodeId, Op, Tape};
use faer::Accum;
use rayon::prelude::*;

/// A pooled value costs about what this many multiply-adds of a matrix
/// product do: the measure [`crate::ops::matmul::Products::parts`] splits by
/// (callgrind on LeNet: 12 instructions a pooled value, 0.36 a multiply-add).
const POOL_COST: usize = 32;

/// The shapes of a pooling: input `[c, h, w]`, window `kernel × kernel`, stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pool2dGeom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub kernel: usize,
    pub stride: usize,
}

impl Pool2dGeom {
    /// Output rows: `(h − kernel) / stride + 1`, rounded down.
    pub fn out_h(&self) -> usize {
        out_size(self.h, self.kernel, self.stride)
    }

    /// Output columns, as [`Pool2dGeom::out_h`].
    pub fn out_w(&self) -> usize {
        out_size(self.w, self.kernel, self.stride)
    }

    /// Values per sample out: `c · out_h · out_w`.
    pub fn out_len(&self) -> usize {
        self.c * self.out_h() * self.out_w()
    }

    /// A stride or kernel of 0, no channels, or a kernel larger than the
    /// input are refused.
    pub fn validate(&self) -> Result<()> {
        check_window("pool2d", self.c, self.h, self.w, self.kernel, self.stride)
    }
}

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pooling {
    Max,
    Avg,
}

impl<T: Real> Tape<T> {
    /// The maximum of each window, per channel: `[n, c·h·w] -> [n, c·out_h·out_w]`.
    /// A NaN in a window is its maximum, as in PyTorch.
    pub fn max_pool2d(&mut self, x: NodeId, g: Pool2dGeom) -> Result<NodeId> {
        self.pool(x, g, Pooling::Max)
    }

    /// The mean of each window, per channel.
    pub fn avg_pool2d(&mut self, x: NodeId, g: Pool2dGeom) -> Result<NodeId> {
        self.pool(x, g, Pooling::Avg)
    }

    fn pool(&mut self, x: NodeId, g: Pool2dGeom, kind: Pooling) -> Result<NodeId> {
        g.validate()?;
        let n = *self.node(x)?;
        check_input("pool2d", n.cols, g.c, g.h, g.w)?;
        let op = Op::Pool2d { x, g, kind };
        let id = self.push_uninit(op, n.rows, g.out_len(), n.needs_grad);
        let (before, out) = self.values.split_at_mut(self.nodes[id.index()].off);
        let (x, out) = (&before[n.range()], &mut out[..n.rows * g.out_len()]);
        let parts = self.products.parts(n.rows, x.len() * POOL_COST);
        let per = n.rows.div_ceil(parts).max(1);
        let (xs, outs) = (per * n.cols, per * g.out_len());
        match kind {
            Pooling::Max => {
                // where each maximum was, for backward: one u32 per output
                let at = self.labels.len();
                self.labels.resize(at + out.len(), 0);
                let arg = &mut self.labels[at..];
                if parts == 1 {
                    max_forward(&g, x, out, arg);
                } else {
                    x.par_chunks(xs)
                        .zip(out.par_chunks_mut(outs))
                        .zip(arg.par_chunks_mut(outs))
                        .for_each(|((x, out), arg)| max_forward(&g, x, out, arg));
                }
            }
            Pooling::Avg if parts == 1 => avg_forward(&g, x, out),
            Pooling::Avg => x
                .par_chunks(xs)
                .zip(out.par_chunks_mut(outs))
                .for_each(|(x, out)| avg_forward(&g, x, out)),
        }
        Ok(id)
    }
}

/// The planes of `x` and `out`, one per (sample, channel), paired.
fn planes<'a, T: Real, O>(
    g: &Pool2dGeom,
    x: &'a [T],
    out: &'a mut [O],
) -> impl Iterator<Item = (&'a [T], &'a mut [O])> {
    let oh_ow = (g.out_h() * g.out_w()).max(1);
    x.chunks_exact((g.h * g.w).max(1))
        .zip(out.chunks_exact_mut(oh_ow))
}

/// Each window's first maximum (row-major; a NaN counts as the maximum, as
/// in PyTorch), and its place in the plane in `arg`.
fn max_forward<T: Real>(g: &Pool2dGeom, x: &[T], out: &mut [T], arg: &mut [u32]) {
    // `all_finite` vectorizes where a search for the first NaN does not; an
    // infinity takes the slower path too, which handles it the same way.
    if !all_finite(x) {
        window_max::<T, true>(g, x, out, arg)
    } else if g.kernel == 2 && g.stride == 2 {
        max_2x2(g, x, out, arg)
    } else {
        window_max::<T, false>(g, x, out, arg)
    }
}

/// [`max_forward`], with the NaN rule only when `NAN`: without it the
/// comparison is one `>`, so the winner is kept with a mask and a max, not a
/// branch (which one wins is a coin toss, and a mispredicted branch cost more
/// than the rest of the loop).
fn window_max<T: Real, const NAN: bool>(g: &Pool2dGeom, x: &[T], out: &mut [T], arg: &mut [u32]) {
    let (k, s, w, ow) = (g.kernel, g.stride, g.w, g.out_w());
    let arg_planes = arg.chunks_exact_mut((g.out_h() * ow).max(1));
    for ((xp, op), ap) in planes(g, x, out).zip(arg_planes) {
        let rows = op
            .chunks_exact_mut(ow.max(1))
            .zip(ap.chunks_exact_mut(ow.max(1)));
        for (oy, (orow, arow)) in rows.enumerate() {
            for (ox, (o, a)) in orow.iter_mut().zip(arow.iter_mut()).enumerate() {
                let at = oy * s * w + ox * s;
                let (mut best, mut bi) = (xp[at], at);
                for r in 0..k {
                    let row = at + r * w;
                    for (j, &v) in xp[row..row + k].iter().enumerate() {
                        #[allow(clippy::eq_op)]
                        let take = v > best || (NAN && v != v && best == best);
                        let m = (take as usize).wrapping_neg();
                        bi = (bi & !m) | ((row + j) & m);
                        best = if NAN { xp[bi] } else { best.max(v) };
                    }
                }
                (*o, *a) = (best, bi as u32);
            }
        }
    }
}

/// [`window_max`] without NaNs for the common 2×2 window at stride 2, with
/// the four taps read straight from two input rows: the same comparisons in
/// the same order, so the same winners and values, in a third of the time.
fn max_2x2<T: Real>(g: &Pool2dGeom, x: &[T], out: &mut [T], arg: &mut [u32]) {
    let (w, ow) = (g.w, g.out_w());
    let arg_planes = arg.chunks_exact_mut((g.out_h() * ow).max(1));
    for ((xp, op), ap) in planes(g, x, out).zip(arg_planes) {
        let rows = op
            .chunks_exact_mut(ow.max(1))
            .zip(ap.chunks_exact_mut(ow.max(1)));
        for (oy, (orow, arow)) in rows.enumerate() {
            let top = 2 * oy * w;
            let (r0, r1) = (&xp[top..][..2 * ow], &xp[top + w..][..2 * ow]);
            let taps = r0.chunks_exact(2).zip(r1.chunks_exact(2));
            for (ox, ((o, a), (t, b))) in orow.iter_mut().zip(arow).zip(taps).enumerate() {
                let at = top + 2 * ox;
                let (mut best, mut bi) = (t[0], at);
                for (v, i) in [(t[1], at + 1), (b[0], at + w), (b[1], at + w + 1)] {
                    if v > best {
                        bi = i;
                    }
                    best = best.max(v);
                }
                (*o, *a) = (best, bi as u32);
            }
        }
    }
}

/// Each window's mean.
fn avg_forward<T: Real>(g: &Pool2dGeom, x: &[T], out: &mut [T]) {
    let (k, s, w, ow) = (g.kernel, g.stride, g.w, g.out_w());
    let inv = T::ONE / T::from_f64((k * k) as f64);
    for (xp, op) in planes(g, x, out) {
        for (i, o) in op.iter_mut().enumerate() {
            let at = (i / ow) * s * w + (i % ow) * s;
            let mut sum = T::ZERO;
            for r in 0..k {
                sum += xp[at + r * w..][..k].iter().fold(T::ZERO, |a, &v| a + v);
            }
            *o = sum * inv;
        }
    }
}

/// Max: each output's gradient to its window's first maximum (recorded by
/// the forward). Avg: spread evenly over the window. Windows may overlap:
/// contributions add.
pub(crate) fn backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, g: Pool2dGeom, kind: Pooling) {
    let (gy, arg) = (b.gy, b.labels());
    let n = gy.len() / g.out_len().max(1);
    let parts = b.products.parts(n, n * g.c * g.h * g.w * POOL_COST);
    let Some(d) = b.grads.of(x) else { return };
    // each part zeroes its own samples (a first write), so that the fill is
    // shared among the threads too
    let (dx, zero) = (d.buf, d.accum == Accum::Replace);
    if parts == 1 {
        return backward_part(&g, kind, zero, dx, gy, arg);
    }
    let per = n.div_ceil(parts);
    let (xs, outs) = (per * g.c * g.h * g.w, per * g.out_len());
    let parts = dx.par_chunks_mut(xs).zip(gy.par_chunks(outs));
    match kind {
        Pooling::Max => parts
            .zip(arg.par_chunks(outs))
            .for_each(|((dx, gy), arg)| backward_part(&g, kind, zero, dx, gy, arg)),
        // average pooling records no places
        Pooling::Avg => parts.for_each(|(dx, gy)| backward_part(&g, kind, zero, dx, gy, &[])),
    }
}

/// [`backward`] for the samples of one part; `zero` first clears `dx`.
fn backward_part<T: Real>(
    g: &Pool2dGeom,
    kind: Pooling,
    zero: bool,
    dx: &mut [T],
    gy: &[T],
    arg: &[u32],
) {
    if zero {
        dx.fill(T::ZERO);
    }
    let (k, s, w, ow) = (g.kernel, g.stride, g.w, g.out_w());
    let oh_ow = (g.out_h() * ow).max(1);
    let dx_planes = dx.chunks_exact_mut((g.h * w).max(1));
    for (i, (dp, gp)) in dx_planes.zip(gy.chunks_exact(oh_ow)).enumerate() {
        match kind {
            Pooling::Max => {
                for (&a, &v) in arg[i * oh_ow..][..oh_ow].iter().zip(gp) {
                    dp[a as usize] += v;
                }
            }
            Pooling::Avg => {
                let inv = T::ONE / T::from_f64((k * k) as f64);
                for (o, &v) in gp.iter().enumerate() {
                    let at = (o / ow) * s * w + (o % ow) * s;
                    let v = v * inv;
                    for r in 0..k {
                        dp[at + r * w..][..k].iter_mut().for_each(|d| *d += v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::tensor::Tensor;

    #[test]
    fn the_max_gradient_goes_to_the_first_maximum_and_nan_wins() {
        // one 2x4 plane, two 2x2 windows: ties in the first, a NaN in the second
        let x = [1.0, 3.0, 2.0, 0.5, 3.0, 3.0, f64::NAN, 9.0];
        let mut params = Params::new();
        let id = params
            .add("x", Tensor::from_vec(1, 8, x.to_vec()).unwrap())
            .unwrap();
        let mut tape = Tape::new();
        let xn = tape.param(&params, id);
        let g = Pool2dGeom {
            c: 1,
            h: 2,
            w: 4,
            kernel: 2,
            stride: 2,
        };
        let y = tape.max_pool2d(xn, g).unwrap();
        let v = tape.value(y).unwrap();
        assert_eq!(v[0], 3.0);
        assert!(v[1].is_nan());
        let s = tape.sum(y).unwrap();
        tape.backward(s, &mut params).unwrap();
        assert_eq!(
            params.grad(id).as_slice(),
            &[0., 1., 0., 0., 0., 0., 1., 0.]
        );
    }

    #[test]
    fn the_2x2_path_picks_the_same_winners_as_the_general_one() {
        // odd widths and heights (a row and column left over), many ties and
        // zeros of both signs, so every tie-break is exercised
        let g = Pool2dGeom {
            c: 3,
            h: 7,
            w: 9,
            kernel: 2,
            stride: 2,
        };
        let vals = [0.0f32, -0.0, 1.0, 1.0, -2.0, 0.5];
        let x: Vec<f32> = (0..2 * 3 * 7 * 9)
            .map(|i| vals[(i * 7 + i / 5) % 6])
            .collect();
        let n = 2 * g.out_len();
        let (mut o1, mut a1) = (vec![9.0; n], vec![9; n]);
        let (mut o2, mut a2) = (vec![7.0; n], vec![7; n]);
        window_max::<f32, false>(&g, &x, &mut o1, &mut a1);
        max_2x2(&g, &x, &mut o2, &mut a2);
        let bits = |o: &[f32]| o.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&o1), bits(&o2));
        assert_eq!(a1, a2);
    }

    /// 8 samples of 4 × 47 × 45 (odd: a row and a column left over) are
    /// enough to split; 1, 2 and 3 threads give the same bits, forward and
    /// backward, for both poolings and overlapping windows.
    #[test]
    fn splitting_the_batch_across_threads_changes_no_number() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for (kernel, stride) in [(2, 2), (3, 2)] {
            let g = Pool2dGeom {
                c: 4,
                h: 47,
                w: 45,
                kernel,
                stride,
            };
            let cols = g.c * g.h * g.w;
            let x: Vec<f32> = (0..8 * cols).map(|i| ((i * 7919) % 101) as f32).collect();
            let weights: Vec<f32> = (0..8 * g.out_len()).map(|i| (i % 13) as f32).collect();
            // `also`: x feeds Σ x² too, whose gradient reaches it first, so the
            // pooling's adds onto it; without, the pooling's is the first
            // write, onto a buffer that holds the last pass's numbers
            let run = |threads: usize, kind: Pooling, also: bool| {
                let mut params = Params::new();
                let id = params
                    .add("x", Tensor::from_vec(8, cols, x.clone()).unwrap())
                    .unwrap();
                let mut tape = Tape::new();
                tape.set_threads(threads);
                assert_eq!(tape.products.parts(8, 8 * cols * POOL_COST), threads);
                let mut pass = |tape: &mut Tape<f32>| {
                    tape.clear();
                    let xn = tape.param(&params, id);
                    let xn = tape.scale(xn, 1.0).unwrap();
                    let y = tape.pool(xn, g, kind).unwrap();
                    let w = Tensor::from_vec(8, g.out_len(), weights.clone()).unwrap();
                    let wn = tape.input(&w);
                    // loss = Σ (y + w)², so dy = 2 (y + w) differs everywhere
                    let l = tape.add(y, wn).unwrap();
                    let mut l = tape.sumsq(l).unwrap();
                    if also {
                        let l2 = tape.sumsq(xn).unwrap();
                        l = tape.add(l, l2).unwrap();
                    }
                    tape.backward_replacing(l, &mut params).unwrap();
                    (
                        tape.value(y).unwrap().to_vec(),
                        params.grad(id).as_slice().to_vec(),
                    )
                };
                let first = pass(&mut tape);
                assert_eq!(pass(&mut tape), first, "a second pass, {threads} threads");
                first
            };
            for kind in [Pooling::Max, Pooling::Avg] {
                let one = pool.install(|| run(1, kind, false));
                assert!(one.1.iter().any(|&v| v != 0.0));
                let with_sq = pool.install(|| run(1, kind, true));
                // the same terms, added in another order where windows overlap
                for ((&got, &d), &v) in with_sq.1.iter().zip(&one.1).zip(&x) {
                    let want = d + 2.0 * v;
                    let close = (got - want).abs() <= 1e-5 * want.abs().max(1.0);
                    assert!(
                        close,
                        "{kind:?} {g:?}: the pooling's gradient adds: {got} vs {want}"
                    );
                }
                for threads in [2, 3] {
                    let got = pool.install(|| run(threads, kind, false));
                    assert_eq!(got, one, "{kind:?} {g:?}");
                    let got = pool.install(|| run(threads, kind, true));
                    assert_eq!(got, with_sq, "{kind:?} {g:?}, added");
                }
            }
        }
    }

    #[test]
    fn output_sizes_round_down_as_pytorch() {
        let g = Pool2dGeom {
            c: 6,
            h: 28,
            w: 27,
            kernel: 2,
            stride: 2,
        };
        assert_eq!((g.out_h(), g.out_w()), (14, 13));
        let g = Pool2dGeom {
            c: 1,
            h: 5,
            w: 5,
            kernel: 3,
            stride: 1,
        };
        assert_eq!((g.out_h(), g.out_w(), g.out_len()), (3, 3, 9));
        let e = Pool2dGeom { kernel: 6, ..g }.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "pool2d: a 6x6 kernel does not fit the 5x5 input (padding included)"
        );
    }
}
