//! 2-D convolution as PyTorch's `nn.Conv2d` computes it (cross-correlation,
//! zero padding, square kernels), on nodes of one sample a row, each row in
//! PyTorch's order (channel, row, column): `flatten` is no op at all.
//!
//! Two ways compute it, chosen per geometry and element type by [`Path::of`]:
//! the direct kernels ([`direct`]: stride 1, padding below the kernel, f32 on
//! a CPU with AVX and FMA), which write no unfolded matrix, and the unfolding
//! into one matrix product ([`unfold`]) for everything else.
//!
//! On several threads a large enough batch is split into parts of whole
//! samples, one a thread ([`Products::parts`]); the weight gradient is the sum
//! of the parts' sums, added in the parts' order, so a given thread count
//! always gives the same numbers.

#[cfg(target_arch = "x86_64")]
mod avx;
#[cfg(target_arch = "x86_64")]
mod direct;
mod unfold;

use crate::error::{Error, GeometryError, Result};
use crate::ops::ELEMENTWISE_COST;
use crate::ops::matmul::Products;
use crate::params::{ParamId, Params};
use crate::real::{Real, as_f32, as_f32_mut};
use crate::tape::{Arg, Back, NodeId, Op, Tape};
use faer::Accum;
use rayon::prelude::*;

/// The shapes of a convolution: input `[in_c, in_h, in_w]`, `out_c` filters of
/// `kernel × kernel`, the stride and the zero padding on every side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Conv2dGeom {
    pub in_c: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub out_c: usize,
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
}

impl Conv2dGeom {
    /// Output rows: `(in_h + 2·padding − kernel) / stride + 1`, rounded down.
    #[inline]
    pub fn out_h(&self) -> usize {
        out_size(self.in_h + 2 * self.padding, self.kernel, self.stride)
    }

    /// Output columns, as [`Conv2dGeom::out_h`].
    #[inline]
    pub fn out_w(&self) -> usize {
        out_size(self.in_w + 2 * self.padding, self.kernel, self.stride)
    }

    /// Values per sample in: `in_c · in_h · in_w`.
    pub fn in_len(&self) -> usize {
        self.in_c * self.in_h * self.in_w
    }

    /// Values per sample out: `out_c · out_h · out_w`.
    pub fn out_len(&self) -> usize {
        self.out_c * self.out_h() * self.out_w()
    }

    /// Columns of the weight: `in_c · kernel · kernel`, one filter a row.
    pub fn patch(&self) -> usize {
        self.in_c * self.kernel * self.kernel
    }

    /// A stride or kernel of 0, no channels, or a kernel larger than the
    /// padded input are refused.
    pub fn validate(&self) -> Result<()> {
        let (h, w) = (self.in_h + 2 * self.padding, self.in_w + 2 * self.padding);
        check_window(
            "conv2d",
            self.in_c.min(self.out_c),
            h,
            w,
            self.kernel,
            self.stride,
        )
    }

    #[inline]
    fn out_hw(&self) -> usize {
        self.out_h() * self.out_w()
    }
}

/// Floor output size of a window sliding over `size` (padding included).
pub(crate) fn out_size(size: usize, kernel: usize, stride: usize) -> usize {
    size.saturating_sub(kernel) / stride.max(1) + 1
}

/// The checks a sliding window's geometry shares between conv and pooling.
pub(crate) fn check_window(
    op: &'static str,
    channels: usize,
    h: usize,
    w: usize,
    kernel: usize,
    stride: usize,
) -> Result<()> {
    let problem = if stride == 0 {
        GeometryError::ZeroStride
    } else if kernel == 0 {
        GeometryError::ZeroKernel
    } else if channels == 0 {
        GeometryError::ZeroChannels
    } else if kernel > h || kernel > w {
        GeometryError::KernelTooLarge {
            kernel,
            height: h,
            width: w,
        }
    } else {
        return Ok(());
    };
    Err(Error::Geometry { op, problem })
}

/// A node's row length against the `c × h × w` it should hold.
pub(crate) fn check_input(
    op: &'static str,
    cols: usize,
    c: usize,
    h: usize,
    w: usize,
) -> Result<()> {
    if cols == c * h * w {
        return Ok(());
    }
    Err(Error::Geometry {
        op,
        problem: GeometryError::InputSize {
            got: cols,
            channels: c,
            height: h,
            width: w,
        },
    })
}

impl<T: Real> Tape<T> {
    /// A convolution of `x` (`[n, in_c·in_h·in_w]`) by the filters `w`
    /// (`[out_c, in_c·k·k]`: PyTorch's `[out, in, kH, kW]` flattened, one filter a
    /// row), plus `bias` (`[1, out_c]`) on every output channel:
    /// `[n, out_c·out_h·out_w]`.
    pub fn conv2d(
        &mut self,
        x: NodeId,
        w: NodeId,
        bias: Option<NodeId>,
        g: Conv2dGeom,
    ) -> Result<NodeId> {
        self.record_conv(None, x, Arg::Node(w), bias.map(Arg::Node), g)
    }

    /// [`Tape::conv2d`] with the weight and bias read straight from the store,
    /// as [`Tape::linear_param`] reads a linear layer's.
    pub fn conv2d_param(
        &mut self,
        params: &Params<T>,
        x: NodeId,
        weight: ParamId,
        bias: Option<ParamId>,
        g: Conv2dGeom,
    ) -> Result<NodeId> {
        self.check_in_store(params, weight, bias)?;
        if matches!(self.node(x)?.op, Op::Param(_)) {
            // As in `linear_param`: the store cannot be read and written at once.
            let w = self.param(params, weight);
            let b = bias.map(|b| self.param(params, b));
            return self.conv2d(x, w, b, g);
        }
        self.record_conv(Some(params), x, Arg::Param(weight), bias.map(Arg::Param), g)
    }

    fn record_conv(
        &mut self,
        params: Option<&Params<T>>,
        x: NodeId,
        w: Arg,
        bias: Option<Arg>,
        g: Conv2dGeom,
    ) -> Result<NodeId> {
        g.validate()?;
        let nx = *self.node(x)?;
        check_input("conv2d", nx.cols, g.in_c, g.in_h, g.in_w)?;
        let ws = self.arg_shape(params, w)?;
        if ws != (g.out_c, g.patch()) {
            return Err(Error::ShapeMismatch {
                op: "conv2d weight",
                lhs: (g.out_c, g.patch()),
                rhs: ws,
            });
        }
        if let Some(b) = bias {
            let bs = self.arg_shape(params, b)?;
            if bs != (1, g.out_c) {
                return Err(Error::ShapeMismatch {
                    op: "conv2d bias",
                    lhs: (1, g.out_c),
                    rhs: bs,
                });
            }
        }
        if let Some(params) = params {
            self.reads_store(params)?;
        }
        let needs_grad =
            nx.needs_grad || self.arg_needs_grad(w) || bias.is_some_and(|b| self.arg_needs_grad(b));
        let op = Op::Conv2d { x, w, bias, g };
        let id = self.push_uninit(op, nx.rows, g.out_len(), needs_grad);
        let off = self.nodes[id.index()].off;
        let (before, dst) = self.values.split_at_mut(off);
        let nodes = &self.nodes;
        let value = |a: Arg| match (a, params) {
            (Arg::Node(id), _) => &before[nodes[id.index()].range()],
            (Arg::Param(p), Some(params)) => params.value(p).as_slice(),
            (Arg::Param(_), None) => unreachable!("a stored weight comes with its store"),
        };
        let mut ws = std::mem::take(&mut self.products.scratch);
        let out = &mut dst[..nx.rows * g.out_len()];
        forward(
            &self.products,
            &mut ws,
            out,
            &before[nx.range()],
            value(w),
            bias.map(value),
            &g,
        );
        self.products.scratch = ws;
        Ok(id)
    }
}

/// How a pass over `n` samples is split: the parts, the samples a part (the
/// last may have fewer), and the parts' workspaces, each grown to at least
/// `len(samples a part)` (only while the sizes grow).
fn split<'w, T: Real>(
    pr: &Products<T>,
    ws: &'w mut Vec<Vec<T>>,
    n: usize,
    g: &Conv2dGeom,
    len: impl Fn(usize) -> usize,
) -> (usize, &'w mut [Vec<T>]) {
    let parts = pr.parts(n, n * g.out_len() * g.patch());
    let per = n.div_ceil(parts).max(1);
    if ws.len() < parts {
        ws.resize_with(parts, Vec::new);
    }
    let len = len(per);
    for w in &mut ws[..parts] {
        if w.len() < len {
            w.resize(len, T::ZERO);
        }
    }
    (per, &mut ws[..parts])
}

/// The way a convolution is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Path {
    /// The direct kernels ([`direct`]), writing no unfolded matrix.
    Direct,
    /// The unfolding into one matrix product ([`unfold`]).
    Unfold,
}

/// A pass of the convolution, for the workspace it needs.
#[derive(Clone, Copy)]
enum Pass {
    Forward,
    InputGrad,
    WeightGrad,
}

impl Path {
    /// The direct kernels where they apply (f32 on a CPU with AVX and FMA,
    /// stride 1, padding below the kernel), else the unfolding.
    pub(crate) fn of<T: Real>(g: &Conv2dGeom) -> Path {
        #[cfg(target_arch = "x86_64")]
        if as_f32::<T>(&[]).is_some() && crate::real::has_fma() && direct::fits(g) {
            return Path::Direct;
        }
        Path::Unfold
    }
}

/// The workspace of a part of `per` samples for `pass`, in elements.
fn part_len<T: Real>(g: &Conv2dGeom, per: usize, pass: Pass) -> usize {
    match (Path::of::<T>(g), pass) {
        #[cfg(target_arch = "x86_64")]
        (Path::Direct, Pass::Forward) => direct::forward_len(g),
        #[cfg(target_arch = "x86_64")]
        (Path::Direct, Pass::InputGrad) => direct::input_grad_len(g),
        #[cfg(target_arch = "x86_64")]
        (Path::Direct, Pass::WeightGrad) => direct::weight_grad_len(g),
        _ => unfold::part_len(g, per),
    }
}

/// The forward of one part, on the path [`Path::of`] picks (`pr`: the
/// threads its products may use, `None` in a part of a split batch).
fn forward_part<T: Real>(
    pr: Option<&Products<T>>,
    ws: &mut [T],
    out: &mut [T],
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    g: &Conv2dGeom,
) {
    #[cfg(target_arch = "x86_64")]
    if Path::of::<T>(g) == Path::Direct
        && let (Some(ws), Some(out), Some(x), Some(w)) =
            (as_f32_mut(ws), as_f32_mut(out), as_f32(x), as_f32(w))
    {
        let bias = bias.map(|b| as_f32(b).unwrap_or_default());
        return direct::forward(ws, out, x, w, bias, g);
    }
    unfold::forward_part(pr, ws, out, x, w, bias, g)
}

/// The input gradient of one part, as [`forward_part`].
fn input_grad_part<T: Real>(
    pr: Option<&Products<T>>,
    ws: &mut [T],
    dx: &mut [T],
    gy: &[T],
    w: &[T],
    g: &Conv2dGeom,
) {
    #[cfg(target_arch = "x86_64")]
    if Path::of::<T>(g) == Path::Direct
        && let (Some(ws), Some(dx), Some(gy), Some(w)) =
            (as_f32_mut(ws), as_f32_mut(dx), as_f32(gy), as_f32(w))
    {
        return direct::input_grad(ws, dx, gy, w, g);
    }
    unfold::input_grad_part(pr, ws, dx, gy, w, g)
}

/// The weight gradient of one part, as [`forward_part`].
fn weight_grad_part<T: Real>(
    pr: Option<&Products<T>>,
    ws: &mut [T],
    dw: &mut [T],
    accum: Accum,
    gy: &[T],
    x: &[T],
    g: &Conv2dGeom,
) {
    #[cfg(target_arch = "x86_64")]
    if Path::of::<T>(g) == Path::Direct
        && let (Some(ws), Some(dw), Some(gy), Some(x)) =
            (as_f32_mut(ws), as_f32_mut(dw), as_f32(gy), as_f32(x))
    {
        return direct::weight_grad(ws, dw, accum, gy, x, g);
    }
    unfold::weight_grad_part(pr, ws, dw, accum, gy, x, g)
}

/// `out = w ⊛ x + bias` for every sample of `x`, the batch split across threads.
fn forward<T: Real>(
    pr: &Products<T>,
    ws: &mut Vec<Vec<T>>,
    out: &mut [T],
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    g: &Conv2dGeom,
) {
    let n = out.len() / g.out_len().max(1);
    let (per, ws) = split(pr, ws, n, g, |per| part_len::<T>(g, per, Pass::Forward));
    if let [ws] = ws {
        return forward_part(Some(pr), ws, out, x, w, bias, g);
    }
    out.par_chunks_mut(per * g.out_len())
        .zip(x.par_chunks(per * g.in_len()))
        .zip(ws.par_iter_mut())
        .for_each(|((out, x), ws)| forward_part(None, ws, out, x, w, bias, g));
}

/// `dx +=` the input gradient, the batch split across threads.
fn input_grad<T: Real>(
    pr: &Products<T>,
    ws: &mut Vec<Vec<T>>,
    dx: &mut [T],
    gy: &[T],
    w: &[T],
    g: &Conv2dGeom,
) {
    let n = gy.len() / g.out_len().max(1);
    let (per, ws) = split(pr, ws, n, g, |per| part_len::<T>(g, per, Pass::InputGrad));
    if let [ws] = ws {
        return input_grad_part(Some(pr), ws, dx, gy, w, g);
    }
    dx.par_chunks_mut(per * g.in_len())
        .zip(gy.par_chunks(per * g.out_len()))
        .zip(ws.par_iter_mut())
        .for_each(|((dx, gy), ws)| input_grad_part(None, ws, dx, gy, w, g));
}

/// `dw (=|+=) Σ over samples of dy ⊛ x`, the batch split across
/// threads: the first part writes (or adds) into `dw`, each other part sums
/// into the front of its workspace, and those sums are added to `dw` in the
/// parts' order.
fn weight_grad<T: Real>(
    pr: &Products<T>,
    ws: &mut Vec<Vec<T>>,
    dw: &mut [T],
    accum: Accum,
    gy: &[T],
    x: &[T],
    g: &Conv2dGeom,
) {
    let n = gy.len() / g.out_len().max(1);
    let size = dw.len();
    let (per, ws) = split(pr, ws, n, g, |per| {
        size + part_len::<T>(g, per, Pass::WeightGrad)
    });
    let Some((first, rest)) = ws.split_first_mut() else {
        unreachable!("a pass has one part at least")
    };
    if rest.is_empty() {
        return weight_grad_part(Some(pr), first, dw, accum, gy, x, g);
    }
    let (gy0, gy_rest) = gy.split_at(per * g.out_len());
    let (x0, x_rest) = x.split_at(per * g.in_len());
    rayon::join(
        || weight_grad_part(None, first, dw, accum, gy0, x0, g),
        || {
            rest.par_iter_mut()
                .zip(gy_rest.par_chunks(per * g.out_len()))
                .zip(x_rest.par_chunks(per * g.in_len()))
                .for_each(|((ws, gy), x)| {
                    let (sum, ws) = ws.split_at_mut(size);
                    weight_grad_part(None, ws, sum, Accum::Replace, gy, x, g);
                });
        },
    );
    let used = gy_rest.len().div_ceil(per * g.out_len());
    for ws in &rest[..used] {
        dw.iter_mut().zip(&ws[..size]).for_each(|(d, &s)| *d += s);
    }
}

/// `gb += Σ` of each output channel's plane, sample after sample. Each plane
/// is summed in order from 0 (what a plain fold does) and added to its
/// channel's entry in the samples' order, so every split gives the same bits.
/// On several threads each part takes a range of channels (writing only
/// their entries). Within a channel, eight samples' planes are summed side
/// by side: eight independent chains of additions, where one chain waited
/// on each addition's latency (with four, the backward pass where the bias
/// gradient was inlined took about 7% of the stepping thread's samples in a
/// perf profile of a two-thread LeNet step, none of it shared).
fn bias_grad<T: Real>(pr: &Products<T>, gb: &mut [T], gy: &[T], g: &Conv2dGeom) {
    let parts = pr.parts(g.out_c, gy.len() * ELEMENTWISE_COST);
    if parts <= 1 {
        return channel_sums(gb, 0, gy, g);
    }
    let per = g.out_c.div_ceil(parts).max(1);
    gb.par_chunks_mut(per)
        .enumerate()
        .for_each(|(i, gb)| channel_sums(gb, i * per, gy, g));
}

/// [`bias_grad`] for the channels from `first` on, `gb.len()` of them.
fn channel_sums<T: Real>(gb: &mut [T], first: usize, gy: &[T], g: &Conv2dGeom) {
    const LANES: usize = 8;
    let (ohw, len) = (g.out_hw(), g.out_len().max(1));
    let n = gy.len() / len;
    for (o, gb) in gb.iter_mut().enumerate() {
        let plane = |s: usize| {
            let at = s * len + (first + o) * ohw;
            &gy[at..at + ohw]
        };
        let mut s = 0;
        while s + LANES <= n {
            let planes: [&[T]; LANES] = std::array::from_fn(|j| plane(s + j));
            let mut sums = [T::ZERO; LANES];
            for i in 0..ohw {
                for (sum, p) in sums.iter_mut().zip(&planes) {
                    *sum += p[i];
                }
            }
            for sum in sums {
                *gb += sum;
            }
            s += LANES;
        }
        for s in s..n {
            *gb += plane(s).iter().fold(T::ZERO, |a, &v| a + v);
        }
    }
}

/// dx (=|+=) the folded `wᵀ · dy`, dw (=|+=) `dy · unfold(x)ᵀ`, and the bias
/// gets the sums of dy per output channel.
pub(crate) fn backward<T: Real>(
    b: &mut Back<'_, T>,
    x: NodeId,
    w: Arg,
    bias: Option<Arg>,
    g: Conv2dGeom,
) {
    let (gy, xv) = (b.gy, b.value(x));
    let mut ws = std::mem::take(&mut b.products.scratch);
    let w_on_tape = match w {
        Arg::Node(id) => Some(b.value(id)),
        Arg::Param(_) => None,
    };
    if let Some(d) = b.grads.of(x) {
        let wv = match (w, w_on_tape, d.store) {
            (_, Some(v), _) => v,
            (Arg::Param(p), None, Some(store)) => store.value(p).as_slice(),
            _ => unreachable!("a stored weight with a stored input"),
        };
        input_grad(b.products, &mut ws, d.zeroed(), gy, wv, &g);
    }
    if let Some(d) = b.grads.of(w) {
        weight_grad(b.products, &mut ws, d.buf, d.accum, gy, xv, &g);
    }
    if let Some(d) = bias.and_then(|bias| b.grads.of(bias)) {
        bias_grad(b.products, d.zeroed(), gy, &g);
    }
    b.products.scratch = ws;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::tensor::Tensor;

    /// The definition, one multiply-add at a time: (y, dx, dw) for the
    /// output gradient `gy`.
    pub(super) fn naive(
        g: &Conv2dGeom,
        n: usize,
        x: &[f64],
        w: &[f64],
        gy: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (oh, ow, k) = (g.out_h(), g.out_w(), g.kernel);
        let mut y = vec![0.0; n * g.out_len()];
        let mut dx = vec![0.0; n * g.in_len()];
        let mut dw = vec![0.0; w.len()];
        for s in 0..n {
            for o in 0..g.out_c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let yi = s * g.out_len() + (o * oh + oy) * ow + ox;
                        for c in 0..g.in_c {
                            for ki in 0..k {
                                for kj in 0..k {
                                    let iy = (oy * g.stride + ki) as isize - g.padding as isize;
                                    let ix = (ox * g.stride + kj) as isize - g.padding as isize;
                                    let inside = (0..g.in_h as isize).contains(&iy)
                                        && (0..g.in_w as isize).contains(&ix);
                                    if !inside {
                                        continue;
                                    }
                                    let xi = s * g.in_len()
                                        + (c * g.in_h + iy as usize) * g.in_w
                                        + ix as usize;
                                    let wi = o * g.patch() + (c * k + ki) * k + kj;
                                    y[yi] += w[wi] * x[xi];
                                    dx[xi] += w[wi] * gy[yi];
                                    dw[wi] += x[xi] * gy[yi];
                                }
                            }
                        }
                    }
                }
            }
        }
        (y, dx, dw)
    }

    /// Sizes whose unfolded batch spans several chunks with a remainder
    /// (18 samples a chunk: 20 = 18 + 2), and small odd ones in one chunk;
    /// on one thread, and split into parts on two and three (the first case
    /// is large enough to split: 15 + 15 and 10 + 10 + 10 samples; 31 splits
    /// unevenly: 16 + 15 and 11 + 11 + 9).
    #[test]
    fn the_chunked_and_split_products_match_the_definition() {
        let big = Conv2dGeom {
            in_c: 4,
            in_h: 28,
            in_w: 28,
            out_c: 3,
            kernel: 3,
            stride: 1,
            padding: 1,
        };
        assert!(unfold::chunk(&big, 20) == 18);
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for threads in [1, 2, 3] {
            let mut pr = Products::<f64>::default();
            pr.set_threads(threads);
            let flops = |n: usize| n * big.out_len() * big.patch();
            assert_eq!(pr.parts(30, flops(30)), threads, "the large case splits");
            pool.install(|| {
                for n in [20, 30, 31] {
                    match_the_definition(big, n, threads);
                }
                small_cases_match_the_definition(threads);
            });
        }
    }

    fn small_cases_match_the_definition(threads: usize) {
        let cases = [
            (
                Conv2dGeom {
                    in_c: 2,
                    in_h: 7,
                    in_w: 5,
                    out_c: 3,
                    kernel: 3,
                    stride: 2,
                    padding: 2,
                },
                3,
            ),
            (
                Conv2dGeom {
                    in_c: 1,
                    in_h: 6,
                    in_w: 9,
                    out_c: 2,
                    kernel: 4,
                    stride: 3,
                    padding: 0,
                },
                2,
            ),
        ];
        for (g, n) in cases {
            match_the_definition(g, n, threads);
        }
    }

    /// The tape's conv2d (forward, dx, dw, db) in f64 on `threads` threads
    /// against [`naive`], for `n` samples of `g`.
    fn match_the_definition(g: Conv2dGeom, n: usize, threads: usize) {
        let inputs = inputs(&g, n);
        let got = on_tape::<f64>(g, n, threads, &inputs);
        for ((got, want), what) in got
            .iter()
            .zip(expected(&g, n, &inputs))
            .zip(["y", "dx", "dw", "db"])
        {
            assert_eq!(got.len(), want.len());
            for (i, (p, q)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (p - q).abs() < 1e-12 * (1.0 + q.abs()),
                    "{what}[{i}] {g:?}, {n} samples, {threads} threads: {p} vs {q}"
                );
            }
        }
    }

    /// What the tests feed `n` samples of `g`: x, w, bias and the shift of
    /// the loss ½ Σ (y + shift)², values of a few magnitudes in [−1, 1].
    pub(super) fn inputs(g: &Conv2dGeom, n: usize) -> [Vec<f64>; 4] {
        let f = |i: usize, m: usize| ((i * 7919 + m) % 97) as f64 / 48.0 - 1.0;
        let lens = [
            n * g.in_len(),
            g.out_c * g.patch(),
            g.out_c,
            n * g.out_len(),
        ];
        std::array::from_fn(|v| (0..lens[v]).map(|i| f(i, v + 1)).collect())
    }

    /// y, dx, dw and db by [`naive`] for [`inputs`] under the loss
    /// ½ Σ (y + shift)², whose dy is y + shift.
    pub(super) fn expected(
        g: &Conv2dGeom,
        n: usize,
        [x, w, bias, shift]: &[Vec<f64>; 4],
    ) -> [Vec<f64>; 4] {
        let ohw = g.out_h() * g.out_w();
        let channel = |i: usize| i % g.out_len() / ohw;
        let (mut y, _, _) = naive(g, n, x, w, shift);
        y.iter_mut()
            .enumerate()
            .for_each(|(i, y)| *y += bias[channel(i)]);
        let gy: Vec<f64> = y.iter().zip(shift).map(|(a, b)| a + b).collect();
        let (_, dx, dw) = naive(g, n, x, w, &gy);
        let mut db = vec![0.0; g.out_c];
        gy.iter().enumerate().for_each(|(i, v)| db[channel(i)] += v);
        [y, dx, dw, db]
    }

    /// The tape's conv2d with a bias in `T` on `threads` threads, for
    /// [`inputs`] under the loss ½ Σ (y + shift)²: y, dx, dw and db, as f64.
    /// Two more passes must give the same bits (the same thread count gives
    /// the same numbers, pass after pass).
    pub(super) fn on_tape<T: Real>(
        g: Conv2dGeom,
        n: usize,
        threads: usize,
        [x, w, bias, shift]: &[Vec<f64>; 4],
    ) -> [Vec<f64>; 4] {
        let tensor = |v: &[f64], rows: usize| {
            let cols = v.len() / rows;
            Tensor::from_vec(rows, cols, v.iter().map(|&v| T::from_f64(v)).collect()).unwrap()
        };
        let mut params = Params::<T>::new();
        let wid = params.add("w", tensor(w, g.out_c)).unwrap();
        let bid = params.add("b", tensor(bias, 1)).unwrap();
        let xid = params.add("x", tensor(x, n)).unwrap();
        let shift = tensor(shift, n);
        let record = |tape: &mut Tape<T>, params: &Params<T>| {
            let xn = tape.param(params, xid);
            let xn = tape.scale(xn, T::ONE).unwrap();
            let out = tape.conv2d_param(params, xn, wid, Some(bid), g).unwrap();
            let sn = tape.input(&shift);
            let z = tape.add(out, sn).unwrap();
            let sq = tape.sumsq(z).unwrap();
            (out, tape.scale(sq, T::from_f64(0.5)).unwrap())
        };
        let mut tape = Tape::new();
        tape.set_threads(threads);
        let (out, loss) = record(&mut tape, &params);
        tape.backward(loss, &mut params).unwrap();
        let f64s = |v: &[T]| v.iter().map(|v| v.to_f64()).collect::<Vec<_>>();
        let results = |tape: &Tape<T>, params: &Params<T>, out| {
            [
                f64s(tape.value(out).unwrap()),
                f64s(params.grad(xid).as_slice()),
                f64s(params.grad(wid).as_slice()),
                f64s(params.grad(bid).as_slice()),
            ]
        };
        let first = results(&tape, &params, out);
        for _ in 0..2 {
            tape.clear();
            let (out, loss) = record(&mut tape, &params);
            tape.backward_replacing(loss, &mut params).unwrap();
            let bits =
                |r: &[Vec<f64>; 4]| r.iter().flatten().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert!(
                bits(&results(&tape, &params, out)) == bits(&first),
                "{g:?}, {threads} threads"
            );
        }
        first
    }

    /// Every count of channels, samples around the groups of eight, one to
    /// three threads (the larger batches split by channels), values of many
    /// magnitudes (so the order of the additions shows in the bits): the
    /// same bits as one plain fold per plane, added sample after sample.
    #[test]
    fn the_bias_gradient_sums_each_plane_in_order() {
        let mut split = 0;
        for out_c in [1, 3, 4, 6, 9] {
            let g = Conv2dGeom {
                in_c: 1,
                in_h: 40,
                in_w: 41,
                out_c,
                kernel: 2,
                stride: 1,
                padding: 0,
            };
            for n in [1, 3, 8, 19] {
                let gy: Vec<f32> = (0..n * g.out_len())
                    .map(|i| ((i * 7919) % 201) as f32 * 10f32.powi((i % 9) as i32 - 4))
                    .collect();
                let mut want = vec![0.5f32; out_c];
                for row in gy.chunks_exact(g.out_len()) {
                    for (o, plane) in row.chunks_exact(g.out_hw()).enumerate() {
                        want[o] += plane.iter().fold(0.0, |a, &v| a + v);
                    }
                }
                for threads in 1..=3 {
                    let mut pr = Products::<f32>::default();
                    pr.set_threads(threads);
                    split += usize::from(pr.parts(out_c, gy.len() * ELEMENTWISE_COST) > 1);
                    let mut got = vec![0.5f32; out_c];
                    bias_grad(&pr, &mut got, &gy, &g);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(
                        bits(&got),
                        bits(&want),
                        "{out_c} channels, {n} samples, {threads} threads"
                    );
                }
            }
        }
        assert!(split >= 10, "only {split} cases split by channels");
    }

    #[test]
    fn impossible_geometry_is_refused_with_its_reason() {
        let g = Conv2dGeom {
            in_c: 1,
            in_h: 4,
            in_w: 6,
            out_c: 2,
            kernel: 5,
            stride: 1,
            padding: 0,
        };
        let e = g.validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv2d: a 5x5 kernel does not fit the 4x6 input (padding included)"
        );
        assert!(Conv2dGeom { padding: 1, ..g }.validate().is_ok());
        let e = Conv2dGeom { stride: 0, ..g }.validate().unwrap_err();
        assert_eq!(e.to_string(), "conv2d: the stride must be at least 1");
        let mut tape = Tape::<f32>::new();
        let x = tape.input(&Tensor::zeros(2, 23));
        let w = tape.input(&Tensor::zeros(2, 25));
        let e = tape
            .conv2d(x, w, None, Conv2dGeom { padding: 1, ..g })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "conv2d: the input has 23 values per sample, not 1x4x6"
        );
    }
}
