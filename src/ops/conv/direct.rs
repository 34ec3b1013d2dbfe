//! The direct ("implicit GEMM") convolution for stride 1 in f32, on CPUs with
//! AVX and FMA: no unfolded matrix is written. Each sample is copied once into
//! a zero-bordered scratch, so every tap of an output pixel is a fixed offset
//! from the pixel's place there and the kernels ([`super::avx`]) test no edge.
//!
//! The forward vectorises over output channels, the weight packed once a call
//! as `[tap][out_c rounded up to 8]`. The input gradient of a convolution with
//! padding `p ≤ k − 1` is itself one, run by the same kernel: the output
//! gradient padded by `k − 1 − p`, the filters flipped in both spatial axes
//! and their input and output channels swapped. The weight gradient sums, per
//! output channel (vectorised) and tap, the output gradient (transposed per
//! sample into `[pixel][out_c rounded up to 8]`) times the padded input under
//! the tap, over the pixels of every sample in order.

use super::Conv2dGeom;
use super::avx::{self, Padded};
use faer::Accum;

/// Whether the direct kernels compute `g`: stride 1, and a padding below the
/// kernel (so that the input gradient is a convolution too).
pub(super) fn fits(g: &Conv2dGeom) -> bool {
    g.stride == 1 && g.padding < g.kernel
}

fn round8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// `g`'s input with its zero border.
fn padded_input(g: &Conv2dGeom) -> Padded {
    Padded {
        channels: g.in_c,
        rows: g.in_h + 2 * g.padding,
        row: g.in_w + 2 * g.padding,
    }
}

/// The convolution whose forward is `g`'s input gradient: from the output
/// gradient, padded by `k − 1 − p`, to the input.
fn transposed(g: &Conv2dGeom) -> Conv2dGeom {
    Conv2dGeom {
        in_c: g.out_c,
        in_h: g.out_h(),
        in_w: g.out_w(),
        out_c: g.in_c,
        kernel: g.kernel,
        stride: 1,
        padding: g.kernel - 1 - g.padding,
    }
}

/// Zeros after a padded sample: a block of pixels that runs past a row's end
/// reads up to 7 floats past the last row.
const SLACK: usize = 8;

/// The workspace of [`forward`], in floats: the packed weight and the padded
/// sample.
pub(super) fn forward_len(g: &Conv2dGeom) -> usize {
    g.patch() * round8(g.out_c) + padded_input(g).len() + SLACK
}

/// The workspace of [`input_grad`].
pub(super) fn input_grad_len(g: &Conv2dGeom) -> usize {
    forward_len(&transposed(g))
}

/// The workspace of [`weight_grad`]: the sums (room for either
/// [`Lanes`]), the padded sample and its transposed output gradient.
pub(super) fn weight_grad_len(g: &Conv2dGeom) -> usize {
    let ocp = round8(g.out_c);
    g.patch() * g.out_c * 8 + g.out_h() * g.out_w() * ocp + padded_input(g).len()
}

/// `out = w ⊛ x + bias`, sample by sample.
///
/// # Panics
/// When `g` does not [`fit`](fits), or `ws` is shorter than [`forward_len`].
pub(super) fn forward(
    ws: &mut [f32],
    out: &mut [f32],
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    g: &Conv2dGeom,
) {
    forward_as(Lanes::pick(g.out_c, g.out_w()), ws, out, x, w, bias, g);
}

/// [`forward`], vectorised as `lanes` says.
fn forward_as(
    lanes: Lanes,
    ws: &mut [f32],
    out: &mut [f32],
    x: &[f32],
    w: &[f32],
    bias: Option<&[f32]>,
    g: &Conv2dGeom,
) {
    assert!(fits(g) && crate::real::has_fma());
    let (wp, xpad) = ws[..forward_len(g)].split_at_mut(g.patch() * round8(g.out_c));
    lanes.pack(wp, g.out_c, g.patch(), |o, t| w[o * g.patch() + t]);
    let xs = padded_input(g);
    xpad.fill(0.0);
    let samples = x
        .chunks_exact(g.in_len())
        .zip(out.chunks_exact_mut(g.out_len()));
    let into = Into {
        out_c: g.out_c,
        oh: g.out_h(),
        ow: g.out_w(),
        bias,
        add: false,
    };
    for (x, out) in samples {
        pad_into(xpad, xs, x, g.padding);
        lanes.sample(xpad, xs, g.kernel, wp, out, into);
    }
}

/// `dx += the input gradient of the convolution for the output gradient gy`,
/// as the forward of [`transposed`].
///
/// # Panics
/// As [`forward`], with [`input_grad_len`].
pub(super) fn input_grad(ws: &mut [f32], dx: &mut [f32], gy: &[f32], w: &[f32], g: &Conv2dGeom) {
    input_grad_as(Lanes::pick(g.in_c, g.in_w), ws, dx, gy, w, g);
}

/// [`input_grad`], vectorised as `lanes` says.
fn input_grad_as(
    lanes: Lanes,
    ws: &mut [f32],
    dx: &mut [f32],
    gy: &[f32],
    w: &[f32],
    g: &Conv2dGeom,
) {
    assert!(fits(g) && crate::real::has_fma());
    let gt = transposed(g);
    let (k, kk) = (g.kernel, g.kernel * g.kernel);
    let (wp, ypad) = ws[..input_grad_len(g)].split_at_mut(gt.patch() * round8(gt.out_c));
    // tap (o, ki, kj) of input channel c reads w[o, c, k−1−ki, k−1−kj]
    lanes.pack(wp, g.in_c, gt.patch(), |c, t| {
        let (o, r) = (t / kk, t % kk);
        w[o * g.patch() + c * kk + kk - 1 - r]
    });
    let ys = padded_input(&gt);
    ypad.fill(0.0);
    let samples = gy
        .chunks_exact(g.out_len())
        .zip(dx.chunks_exact_mut(g.in_len()));
    let into = Into {
        out_c: g.in_c,
        oh: g.in_h,
        ow: g.in_w,
        bias: None,
        add: true,
    };
    for (gy, dx) in samples {
        pad_into(ypad, ys, gy, gt.padding);
        lanes.sample(ypad, ys, k, wp, dx, into);
    }
}

/// `dw (=|+=) Σ over samples and pixels of gy[o, pixel] · x[pixel + tap]`,
/// the samples in order.
///
/// # Panics
/// As [`forward`], with [`weight_grad_len`].
pub(super) fn weight_grad(
    ws: &mut [f32],
    dw: &mut [f32],
    accum: Accum,
    gy: &[f32],
    x: &[f32],
    g: &Conv2dGeom,
) {
    weight_grad_as(Lanes::pick(g.out_c, g.out_w()), ws, dw, accum, gy, x, g);
}

/// [`weight_grad`], vectorised as `lanes` says: over output channels, the
/// sums `[tap][out_c rounded up to 8]`; over a row's pixels, `[out_c][tap][8]`
/// (each sum's eight lanes added at the end, in order).
fn weight_grad_as(
    lanes: Lanes,
    ws: &mut [f32],
    dw: &mut [f32],
    accum: Accum,
    gy: &[f32],
    x: &[f32],
    g: &Conv2dGeom,
) {
    assert!(fits(g) && crate::real::has_fma());
    let (ocp, taps) = (round8(g.out_c), g.patch());
    let (oh, ow, k) = (g.out_h(), g.out_w(), g.kernel);
    let xs = padded_input(g);
    let (sums, rest) = ws[..weight_grad_len(g)].split_at_mut(taps * g.out_c * 8);
    let (xpad, dyt) = rest.split_at_mut(xs.len());
    assert!(dyt.len() == oh * ow * ocp);
    sums.fill(0.0);
    xpad.fill(0.0);
    dyt.fill(0.0);
    let samples = x.chunks_exact(g.in_len()).zip(gy.chunks_exact(g.out_len()));
    for (x, gy) in samples {
        pad_into(xpad, xs, x, g.padding);
        match lanes {
            Lanes::Channels => sample_weight_grad(xpad, xs, k, gy, dyt, sums, g.out_c),
            Lanes::Pixels => sample_weight_grad_by_pixels(xpad, xs, k, gy, sums, g.out_c),
        }
    }
    let put = |d: &mut f32, s: f32| {
        if accum == Accum::Replace {
            *d = s;
        } else {
            *d += s;
        }
    };
    match lanes {
        Lanes::Channels => {
            for (o, dw) in dw.chunks_exact_mut(taps).enumerate() {
                let sums = sums[o..].iter().step_by(ocp);
                dw.iter_mut().zip(sums).for_each(|(d, &s)| put(d, s));
            }
        }
        Lanes::Pixels => {
            for (d, lanes) in dw.iter_mut().zip(sums.chunks_exact(8)) {
                put(d, lanes.iter().fold(0.0, |a, &v| a + v));
            }
        }
    }
}

/// One sample's share of the weight gradient over eights of output channels:
/// `sums[tap][o] += Σ_pixels dy[o, pixel] · xpad[pixel + tap]`, `dyt` the
/// sample's output gradient transposed (`[pixel][out_c rounded up to 8]`,
/// zeros in the unused lanes).
fn sample_weight_grad(
    xpad: &[f32],
    xs: Padded,
    k: usize,
    gy: &[f32],
    dyt: &mut [f32],
    sums: &mut [f32],
    out_c: usize,
) {
    let (oh, ow) = (xs.rows + 1 - k, xs.row + 1 - k);
    let (ocp, taps) = (round8(out_c), xs.channels * k * k);
    assert!(xpad.len() >= xs.len() && dyt.len() >= oh * ow * ocp && sums.len() >= taps * ocp);
    for (o, plane) in gy.chunks_exact(oh * ow).enumerate() {
        for (row, &v) in dyt.chunks_exact_mut(ocp).zip(plane) {
            row[o] = v;
        }
    }
    for (o0, regs) in groups(out_c) {
        let mut tap = Taps::new(xs, k);
        for (t0, n) in blocks(taps, avx::most_taps(regs)) {
            let mut at = [0; 12];
            for a in &mut at[..n] {
                *a = tap.next_offset();
            }
            let f = taps_kernel(n, regs);
            // SAFETY: AVX and FMA were checked; the taps t0..t0 + n < taps
            // read the padded sample within its length (each tap's offset
            // plus the last pixel's is below it), `dyt` holds oh·ow pixels
            // of ocp ≥ o0 + 8·regs floats, `sums` taps of ocp floats.
            unsafe {
                f(
                    xpad.as_ptr(),
                    &at,
                    (oh, ow, xs.row),
                    dyt.as_ptr().add(o0),
                    ocp,
                    sums.as_mut_ptr().add(t0 * ocp + o0),
                );
            }
        }
    }
}

/// One sample's share of the weight gradient over a row's pixels:
/// `sums[o][tap][lane] += Σ_pixels in the lane dy[o, pixel] · xpad[pixel + tap]`,
/// six channels by two taps at a time.
fn sample_weight_grad_by_pixels(
    xpad: &[f32],
    xs: Padded,
    k: usize,
    gy: &[f32],
    sums: &mut [f32],
    out_c: usize,
) {
    let (oh, ow) = (xs.rows + 1 - k, xs.row + 1 - k);
    let taps = xs.channels * k * k;
    assert!(
        xpad.len() >= xs.len() && gy.len() == out_c * oh * ow && sums.len() >= out_c * taps * 8
    );
    for o0 in (0..out_c).step_by(6) {
        let m = (out_c - o0).min(6);
        let mut tap = Taps::new(xs, k);
        for t0 in (0..taps).step_by(2) {
            let n = (taps - t0).min(2);
            let mut at = [0; 12];
            for a in &mut at[..n] {
                *a = tap.next_offset();
            }
            // SAFETY: AVX and FMA were checked; the taps t0..t0 + n < taps
            // read the padded sample within its length (each tap's offset
            // plus the last pixel's is below it), `gy` holds o0 + m planes of
            // oh·ow floats, `sums` out_c channels of taps·8 floats.
            unsafe {
                by_pixels_kernel(m, n)(
                    xpad.as_ptr(),
                    &at,
                    (oh, ow, xs.row),
                    gy.as_ptr().add(o0 * oh * ow),
                    oh * ow,
                    sums.as_mut_ptr().add((o0 * taps + t0) * 8),
                    taps * 8,
                );
            }
        }
    }
}

/// The taps (channel, row, column) of a padded image in order, as offsets
/// from a pixel's place: counted, since a division per tap would cost more
/// than a block of taps' sums over a small image.
struct Taps {
    xs: Padded,
    k: usize,
    at: (usize, usize, usize),
}

impl Taps {
    fn new(xs: Padded, k: usize) -> Taps {
        Taps {
            xs,
            k,
            at: (0, 0, 0),
        }
    }

    fn next_offset(&mut self) -> usize {
        let (c, ki, kj) = self.at;
        self.at = match (ki + 1 == self.k, kj + 1 == self.k) {
            (_, false) => (c, ki, kj + 1),
            (false, true) => (c, ki + 1, 0),
            (true, true) => (c + 1, 0, 0),
        };
        c * self.xs.plane() + ki * self.xs.row + kj
    }
}

/// Copies the image `x` inside the zero border of `dst` (`p` wide on every side).
fn pad_into(dst: &mut [f32], ds: Padded, x: &[f32], p: usize) {
    let (h, w) = (ds.rows - 2 * p, ds.row - 2 * p);
    for (c, plane) in x.chunks_exact(h * w).enumerate() {
        for (y, src) in plane.chunks_exact(w).enumerate() {
            dst[c * ds.plane() + (y + p) * ds.row + p..][..w].copy_from_slice(src);
        }
    }
}

/// Where a sample's convolution goes: `out_c × oh × ow`, written with the
/// bias added, or added.
#[derive(Clone, Copy)]
struct Into<'b> {
    out_c: usize,
    oh: usize,
    ow: usize,
    bias: Option<&'b [f32]>,
    add: bool,
}

impl Into<'_> {
    /// Writes (or adds) `sums[l][..n]`, the sums of channel `o0 + l` at the
    /// pixels `ox0..ox0 + n` of row `oy`, for the channels `o0..o0 + channels`.
    fn put<const W: usize>(
        &self,
        out: &mut [f32],
        sums: &[[f32; W]],
        (o0, oy, ox0, n): (usize, usize, usize, usize),
    ) {
        for (l, sums) in sums.iter().enumerate() {
            let o = o0 + l;
            let dst = &mut out[(o * self.oh + oy) * self.ow + ox0..][..n];
            if self.add {
                dst.iter_mut().zip(sums).for_each(|(d, v)| *d += v);
            } else {
                let b = self.bias.map_or(0.0, |b| b[o]);
                dst.iter_mut().zip(sums).for_each(|(d, v)| *d = v + b);
            }
        }
    }
}

/// What a register of sums holds: 8 output channels of one pixel (the weight
/// packed `[tap][out_c rounded up to 8]`), or 8 neighbouring pixels of one
/// output channel (the weight `[out_c][tap]`, for a few channels over wide
/// rows).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lanes {
    Channels,
    Pixels,
}

impl Lanes {
    /// The one whose registers hold fewer unused lanes: channels come in
    /// eights, a row's pixels too (ties go to channels). LeNet's first layer
    /// (6 channels, rows of 28) and its second's input gradient (6, rows of
    /// 14) take pixels.
    fn pick(out_c: usize, ow: usize) -> Lanes {
        if ow * round8(out_c) > out_c * round8(ow) {
            Lanes::Pixels
        } else {
            Lanes::Channels
        }
    }

    /// `f(o, t)`, the weight of output channel `o` at tap `t`, into `wp` as
    /// these lanes read it (zeros in the channels' unused lanes).
    fn pack(self, wp: &mut [f32], out_c: usize, taps: usize, f: impl Fn(usize, usize) -> f32) {
        match self {
            Lanes::Channels => {
                let ocp = round8(out_c);
                for (t, row) in wp.chunks_exact_mut(ocp).take(taps).enumerate() {
                    for (o, v) in row.iter_mut().enumerate() {
                        *v = if o < out_c { f(o, t) } else { 0.0 };
                    }
                }
            }
            Lanes::Pixels => {
                for (o, row) in wp.chunks_exact_mut(taps).take(out_c).enumerate() {
                    for (t, v) in row.iter_mut().enumerate() {
                        *v = f(o, t);
                    }
                }
            }
        }
    }

    /// One sample's convolution from its padded image `xpad` (followed by
    /// [`SLACK`] floats, read into lanes that are dropped) and the weight [`Lanes::pack`] wrote: `out[o, oy, ox]
    /// (=|+=) Σ_taps w[o, tap] · xpad[pixel + tap] (+ bias[o])`.
    fn sample(self, xpad: &[f32], xs: Padded, k: usize, wp: &[f32], out: &mut [f32], to: Into) {
        let (out_c, oh, ow) = (to.out_c, to.oh, to.ow);
        let taps = xs.channels * k * k;
        assert!(xs.rows + 1 == oh + k && xs.row + 1 == ow + k);
        assert!(xpad.len() >= xs.len() + SLACK);
        assert!(wp.len() >= taps * round8(out_c) && out.len() == out_c * oh * ow);
        match self {
            Lanes::Channels => {
                let ocp = round8(out_c);
                let mut buf = [[0f32; 16]; 12];
                let mut sums = [[0f32; 12]; 16];
                for (o0, regs) in groups(out_c) {
                    let f = pixels_kernel(regs);
                    let lanes = (8 * regs).min(out_c - o0);
                    for oy in 0..oh {
                        for (ox0, n) in blocks(ow, avx::most_pixels(regs)) {
                            // SAFETY: AVX and FMA were checked. The block's
                            // last read, (channels−1)·plane + (oy+k−1)·row +
                            // ox0+n−1+k−1, is below the padded length (oy <
                            // oh = rows−k+1, ox0+n ≤ ow = row−k+1); the weight
                            // holds taps of ocp ≥ o0 + 8·regs floats.
                            unsafe {
                                f[n - 1](
                                    xpad.as_ptr().add(oy * xs.row + ox0),
                                    xs,
                                    k,
                                    wp.as_ptr().add(o0),
                                    ocp,
                                    &mut buf,
                                );
                            }
                            for (l, s) in sums[..lanes].iter_mut().enumerate() {
                                for (s, px) in s.iter_mut().zip(&buf[..n]) {
                                    *s = px[l];
                                }
                            }
                            to.put(out, &sums[..lanes], (o0, oy, ox0, n));
                        }
                    }
                }
            }
            Lanes::Pixels => {
                let mut buf = [[0f32; 16]; 6];
                for o0 in (0..out_c).step_by(6) {
                    let m = (out_c - o0).min(6);
                    for oy in 0..oh {
                        for ox0 in (0..ow).step_by(16) {
                            let n = (ow - ox0).min(16);
                            let f = row_kernel(m, n.div_ceil(8));
                            // SAFETY: AVX and FMA were checked. The block's
                            // last read, (channels−1)·plane + (oy+k−1)·row +
                            // ox0 + 8·⌈n/8⌉−1 + k−1, is at most 7 past the
                            // padded length (ox0 + n ≤ ow = row−k+1), within
                            // the slack; the weight holds out_c ≥ o0 + m
                            // channels of `taps` floats.
                            unsafe {
                                f(
                                    xpad.as_ptr().add(oy * xs.row + ox0),
                                    xs,
                                    k,
                                    wp.as_ptr().add(o0 * taps),
                                    taps,
                                    &mut buf,
                                );
                            }
                            to.put(out, &buf[..m], (o0, oy, ox0, n));
                        }
                    }
                }
            }
        }
    }
}

/// The groups of output channels a kernel call covers: (first, registers),
/// 16 channels (two registers) at a time, the last 8 or fewer in one.
fn groups(out_c: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..out_c)
        .step_by(16)
        .map(move |o0| (o0, if out_c - o0 > 8 { 2 } else { 1 }))
}

/// `len` split into the fewest blocks of at most `most`, as even as can be:
/// (start, size).
fn blocks(len: usize, most: usize) -> impl Iterator<Item = (usize, usize)> {
    let count = len.div_ceil(most);
    let (base, extra) = (len / count.max(1), len % count.max(1));
    (0..count).scan(0, move |start, i| {
        let size = base + usize::from(i < extra);
        let block = (*start, size);
        *start += size;
        Some(block)
    })
}

type PixelsKernel = unsafe fn(*const f32, Padded, usize, *const f32, usize, &mut [[f32; 16]; 12]);
type RowKernel = unsafe fn(*const f32, Padded, usize, *const f32, usize, &mut [[f32; 16]; 6]);
type TapsKernel =
    unsafe fn(*const f32, &[usize; 12], (usize, usize, usize), *const f32, usize, *mut f32);

/// The pixel-block kernels for one or two registers of channels, by block
/// size − 1.
fn pixels_kernel(regs: usize) -> &'static [PixelsKernel] {
    use avx::pixels as p;
    if regs == 1 {
        &[
            p::<1, 1>, p::<2, 1>, p::<3, 1>, p::<4, 1>, p::<5, 1>, p::<6, 1>, p::<7, 1>, p::<8, 1>,
            p::<9, 1>, p::<10, 1>, p::<11, 1>, p::<12, 1>,
        ]
    } else {
        &[
            p::<1, 2>, p::<2, 2>, p::<3, 2>, p::<4, 2>, p::<5, 2>, p::<6, 2>,
        ]
    }
}

/// The row kernel for `o` output channels (1 to 6) of `v` registers of pixels (1 or 2).
fn row_kernel(o: usize, v: usize) -> RowKernel {
    use avx::row as r;
    let ones: [RowKernel; 6] = [
        r::<1, 1>, r::<2, 1>, r::<3, 1>, r::<4, 1>, r::<5, 1>, r::<6, 1>,
    ];
    let twos: [RowKernel; 6] = [
        r::<1, 2>, r::<2, 2>, r::<3, 2>, r::<4, 2>, r::<5, 2>, r::<6, 2>,
    ];
    if v == 1 { ones[o - 1] } else { twos[o - 1] }
}

type ByPixelsKernel =
    unsafe fn(*const f32, &[usize; 12], (usize, usize, usize), *const f32, usize, *mut f32, usize);

/// The weight-gradient kernel over pixels for `o` output channels (1 to 6)
/// and `t` taps (1 or 2).
fn by_pixels_kernel(o: usize, t: usize) -> ByPixelsKernel {
    use avx::taps_by_pixels as b;
    let ones: [ByPixelsKernel; 6] = [
        b::<1, 1>, b::<2, 1>, b::<3, 1>, b::<4, 1>, b::<5, 1>, b::<6, 1>,
    ];
    let twos: [ByPixelsKernel; 6] = [
        b::<1, 2>, b::<2, 2>, b::<3, 2>, b::<4, 2>, b::<5, 2>, b::<6, 2>,
    ];
    if t == 1 { ones[o - 1] } else { twos[o - 1] }
}

/// The tap-block kernel of `n` taps for one or two registers of channels.
fn taps_kernel(n: usize, regs: usize) -> TapsKernel {
    use avx::taps as t;
    let ones: [TapsKernel; 8] = [
        t::<1, 1>, t::<2, 1>, t::<3, 1>, t::<4, 1>, t::<5, 1>, t::<6, 1>, t::<7, 1>, t::<8, 1>,
    ];
    let twos: [TapsKernel; 6] = [
        t::<1, 2>, t::<2, 2>, t::<3, 2>, t::<4, 2>, t::<5, 2>, t::<6, 2>,
    ];
    if regs == 1 { ones[n - 1] } else { twos[n - 1] }
}

#[cfg(test)]
mod tests {
    use super::super::Path;
    use super::super::tests::{expected, inputs, naive, on_tape};
    use super::*;

    fn geom(
        in_c: usize,
        (in_h, in_w): (usize, usize),
        out_c: usize,
        kernel: usize,
        padding: usize,
    ) -> Conv2dGeom {
        Conv2dGeom {
            in_c,
            in_h,
            in_w,
            out_c,
            kernel,
            stride: 1,
            padding,
        }
    }

    /// The tape's f32 conv2d with a bias (forward, dx, dw, db) on `threads`
    /// threads against [`naive`] in f64, within f32's rounding of each
    /// tensor's scale (and the same bits pass after pass).
    fn matches_the_definition(g: Conv2dGeom, n: usize, threads: usize) {
        assert_eq!(Path::of::<f32>(&g), Path::Direct, "{g:?}");
        let inputs = inputs(&g, n);
        let got = on_tape::<f32>(g, n, threads, &inputs);
        for ((got, want), what) in got
            .iter()
            .zip(expected(&g, n, &inputs))
            .zip(["y", "dx", "dw", "db"])
        {
            close(
                got,
                &want,
                &format!("{what} {g:?}, {n} samples, {threads} threads"),
            );
        }
    }

    /// Within f32's rounding of `want`'s scale (its largest magnitude).
    fn close(got: &[f64], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
        for (i, (&p, &q)) in got.iter().zip(want).enumerate() {
            assert!(
                (p - q).abs() <= 2e-5 * scale,
                "{what}[{i}]: {p} vs {q} (scale {scale})"
            );
        }
    }

    fn on_threads(threads: usize, f: impl FnOnce() + Send) {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(f);
    }

    /// LeNet's two layers and the wide 64→64 layer, on one thread and split
    /// into parts on two and three (c1: 20 samples, 10 + 10 and 7 + 7 + 6;
    /// c2: 11, 6 + 5 and 4 + 4 + 3; the wide layer: 3, 2 + 1 and 1 + 1 + 1),
    /// and batches of one.
    #[test]
    fn lenet_and_the_wide_layer_match_the_definition_split_or_not() {
        if !crate::real::has_fma() {
            return eprintln!("skipped: this CPU has no AVX and FMA");
        }
        let c1 = geom(1, (28, 28), 6, 5, 2);
        let c2 = geom(6, (14, 14), 16, 5, 0);
        let wide = geom(64, (28, 28), 64, 3, 1);
        for threads in [1, 2, 3] {
            let mut pr = crate::ops::matmul::Products::<f32>::default();
            pr.set_threads(threads);
            for (g, n) in [(c1, 20), (c2, 11), (wide, 3)] {
                let flops = n * g.out_len() * g.patch();
                assert_eq!(pr.parts(n, flops), threads, "{g:?} splits");
            }
            on_threads(threads, || {
                for (g, n) in [(c1, 20), (c2, 11), (wide, 3), (c2, 1), (c1, 1)] {
                    matches_the_definition(g, n, threads);
                }
            });
        }
    }

    /// Every remainder of the blocking: output channels around the groups of
    /// 8 and 16, input channels 1, 2, 6, kernels 1, 3, 5 with every padding
    /// the direct kernels take, odd sizes and rows shorter than a block of
    /// pixels, batches of 1 and 2.
    #[test]
    fn every_remainder_of_the_blocking_matches_the_definition() {
        if !crate::real::has_fma() {
            return eprintln!("skipped: this CPU has no AVX and FMA");
        }
        let sizes = [(7, 5), (5, 13), (6, 3), (9, 14)];
        let mut i = 0;
        for out_c in [1, 3, 6, 8, 9, 16, 17] {
            for in_c in [1, 2, 6] {
                for kernel in [1, 3, 5] {
                    for padding in 0..kernel {
                        i += 1;
                        let g = geom(in_c, sizes[i % sizes.len()], out_c, kernel, padding);
                        if g.validate().is_ok() {
                            matches_the_definition(g, 1 + i % 2, 1);
                            both_lanes_match_the_definition(g, 1 + i % 2);
                        }
                    }
                }
            }
        }
    }

    /// The forward and both gradients vectorised either way, whichever
    /// [`Lanes::pick`] would take, against [`naive`]; the gradients added
    /// onto what their buffers held.
    fn both_lanes_match_the_definition(g: Conv2dGeom, n: usize) {
        let inputs = inputs(&g, n);
        let [x, w, bias, gy] = inputs
            .clone()
            .map(|v| v.iter().map(|&v| v as f32).collect::<Vec<_>>());
        let [y, ..] = expected(&g, n, &inputs);
        // the gradients for dy = shift, added onto 0.5
        let (_, dx, dw) = naive(&g, n, &inputs[0], &inputs[1], &inputs[3]);
        let f64s = |v: &[f32]| v.iter().map(|&v| v as f64).collect::<Vec<_>>();
        let plus_half = |v: Vec<f64>| v.into_iter().map(|v| v + 0.5).collect::<Vec<_>>();
        for lanes in [Lanes::Channels, Lanes::Pixels] {
            let len = [forward_len(&g), input_grad_len(&g), weight_grad_len(&g)];
            let mut ws = vec![f32::NAN; len.into_iter().max().unwrap_or(0)];
            let mut out = vec![f32::NAN; n * g.out_len()];
            forward_as(lanes, &mut ws, &mut out, &x, &w, Some(&bias), &g);
            close(&f64s(&out), &y, &format!("y by {lanes:?}, {g:?}"));
            let mut got = vec![0.5; n * g.in_len()];
            input_grad_as(lanes, &mut ws, &mut got, &gy, &w, &g);
            close(
                &f64s(&got),
                &plus_half(dx.clone()),
                &format!("dx by {lanes:?}, {g:?}"),
            );
            let mut got = vec![0.5; g.out_c * g.patch()];
            weight_grad_as(lanes, &mut ws, &mut got, Accum::Add, &gy, &x, &g);
            close(
                &f64s(&got),
                &plus_half(dw.clone()),
                &format!("dw by {lanes:?}, {g:?}"),
            );
        }
    }

    #[test]
    fn the_lanes_are_the_fuller_ones() {
        assert_eq!(Lanes::pick(6, 28), Lanes::Pixels, "LeNet's c1");
        assert_eq!(
            Lanes::pick(6, 14),
            Lanes::Pixels,
            "LeNet's c2, input gradient"
        );
        assert_eq!(Lanes::pick(16, 10), Lanes::Channels, "LeNet's c2");
        assert_eq!(Lanes::pick(64, 28), Lanes::Channels, "the wide layer");
        assert_eq!(Lanes::pick(8, 5), Lanes::Channels, "a tie");
    }

    #[test]
    fn the_direct_path_is_taken_where_it_applies_and_only_there() {
        let c1 = geom(1, (28, 28), 6, 5, 2);
        let direct = if crate::real::has_fma() {
            Path::Direct
        } else {
            Path::Unfold
        };
        assert_eq!(Path::of::<f32>(&c1), direct);
        assert_eq!(Path::of::<f32>(&Conv2dGeom { padding: 4, ..c1 }), direct);
        assert_eq!(Path::of::<f64>(&c1), Path::Unfold);
        assert_eq!(
            Path::of::<f32>(&Conv2dGeom { stride: 2, ..c1 }),
            Path::Unfold
        );
        assert_eq!(
            Path::of::<f32>(&Conv2dGeom { padding: 5, ..c1 }),
            Path::Unfold
        );
    }

    #[test]
    fn blocks_are_as_even_as_can_be_and_cover_the_row() {
        let all = |len, most| blocks(len, most).collect::<Vec<_>>();
        assert_eq!(all(28, 12), [(0, 10), (10, 9), (19, 9)]);
        assert_eq!(all(10, 6), [(0, 5), (5, 5)]);
        assert_eq!(all(3, 12), [(0, 3)]);
        assert_eq!(all(0, 12), []);
        assert_eq!(groups(17).collect::<Vec<_>>(), [(0, 2), (16, 1)]);
        assert_eq!(groups(9).collect::<Vec<_>>(), [(0, 2)]);
        assert_eq!(groups(6).collect::<Vec<_>>(), [(0, 1)]);
    }
}
