//! The convolution by unfolding (im2col), for every geometry and element
//! type: a chunk of samples is unfolded into one `[in_c·k·k, samples·out_h·out_w]`
//! matrix, so the whole chunk is one product with the weight `[out_c, in_c·k·k]`
//! (one large product runs far closer to the machine's peak than a small one
//! per sample); the result is then permuted into the samples' rows. Backward
//! permutes the output gradient the same way, and folds (col2im) the input
//! gradient back. Chunks keep the unfolded matrix within [`COL_MAX`] elements.

use super::Conv2dGeom;
use crate::ops::matmul::{Products, product_seq};
use crate::real::Real;
use faer::{Accum, MatMut, MatRef};

/// At most this many elements in a chunk's unfolded matrix (2 MB in f32:
/// it stays in the cache while the product reads it).
const COL_MAX: usize = 1 << 19;

/// Samples per chunk, so that a chunk's unfolded matrix stays within [`COL_MAX`].
pub(super) fn chunk(g: &Conv2dGeom, n: usize) -> usize {
    (COL_MAX / (g.patch() * g.out_hw()).max(1)).clamp(1, n.max(1))
}

/// The workspace of a part of up to `n` samples: a chunk's unfolded
/// matrix and its output (or output gradient) beside it.
pub(super) fn part_len(g: &Conv2dGeom, n: usize) -> usize {
    (g.patch() + g.out_c) * chunk(g, n) * g.out_hw()
}

/// A product on `pr`'s threads, or on this thread alone (`None`: in a part
/// of a split batch).
fn product<T: Real>(
    pr: Option<&Products<T>>,
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) {
    match pr {
        Some(pr) => pr.product(dst, accum, lhs, rhs),
        None => product_seq(dst, accum, lhs, rhs),
    }
}

/// [`forward`] for the samples of one part.
pub(super) fn forward_part<T: Real>(
    pr: Option<&Products<T>>,
    ws: &mut [T],
    out: &mut [T],
    x: &[T],
    w: &[T],
    bias: Option<&[T]>,
    g: &Conv2dGeom,
) {
    let (patch, ohw, oc) = (g.patch(), g.out_hw(), g.out_c);
    let n = out.len() / g.out_len().max(1);
    let cn = chunk(g, n);
    let (col, tmp) = ws[..part_len(g, n)].split_at_mut(patch * cn * ohw);
    let w = MatRef::from_row_major_slice(w, oc, patch);
    for s0 in (0..n).step_by(cn) {
        let m = cn.min(n - s0);
        let cols = m * ohw;
        let col = &mut col[..patch * cols];
        unfold_chunk(g, x, s0, m, col);
        let tmp = &mut tmp[..oc * cols];
        let rhs = MatRef::from_row_major_slice(col, patch, cols);
        product(
            pr,
            MatMut::from_row_major_slice_mut(tmp, oc, cols),
            Accum::Replace,
            w,
            rhs,
        );
        for j in 0..m {
            let o_row = &mut out[(s0 + j) * g.out_len()..][..g.out_len()];
            for (o, dst) in o_row.chunks_exact_mut(ohw).enumerate() {
                let b = bias.map_or(T::ZERO, |b| b[o]);
                let src = &tmp[o * cols + j * ohw..][..ohw];
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d = v + b);
            }
        }
    }
}

/// `dst[o, j·ohw + p] = gy[s0 + j][o, p]`: a chunk's output gradient as one matrix.
fn gather_dy<T: Real>(dst: &mut [T], gy: &[T], s0: usize, m: usize, g: &Conv2dGeom) {
    let (ohw, cols) = (g.out_hw(), m * g.out_hw());
    for j in 0..m {
        let g_row = &gy[(s0 + j) * g.out_len()..][..g.out_len()];
        for (o, src) in g_row.chunks_exact(ohw).enumerate() {
            dst[o * cols + j * ohw..][..ohw].copy_from_slice(src);
        }
    }
}

/// [`input_grad`] for the samples of one part.
pub(super) fn input_grad_part<T: Real>(
    pr: Option<&Products<T>>,
    ws: &mut [T],
    dx: &mut [T],
    gy: &[T],
    w: &[T],
    g: &Conv2dGeom,
) {
    let (patch, ohw, oc) = (g.patch(), g.out_hw(), g.out_c);
    let n = gy.len() / g.out_len().max(1);
    let cn = chunk(g, n);
    let (dcol, dy) = ws[..part_len(g, n)].split_at_mut(patch * cn * ohw);
    let w = MatRef::from_row_major_slice(w, oc, patch);
    for s0 in (0..n).step_by(cn) {
        let m = cn.min(n - s0);
        let cols = m * ohw;
        let dy = &mut dy[..oc * cols];
        gather_dy(dy, gy, s0, m, g);
        let dcol = &mut dcol[..patch * cols];
        let dst = MatMut::from_row_major_slice_mut(dcol, patch, cols);
        let dy = MatRef::from_row_major_slice(dy, oc, cols);
        product(pr, dst, Accum::Replace, w.transpose(), dy);
        for j in 0..m {
            col2im(
                g,
                dcol,
                cols,
                j * ohw,
                &mut dx[(s0 + j) * g.in_len()..][..g.in_len()],
            );
        }
    }
}

/// [`weight_grad`] for the samples of one part.
pub(super) fn weight_grad_part<T: Real>(
    pr: Option<&Products<T>>,
    ws: &mut [T],
    dw: &mut [T],
    accum: Accum,
    gy: &[T],
    x: &[T],
    g: &Conv2dGeom,
) {
    let (patch, ohw, oc) = (g.patch(), g.out_hw(), g.out_c);
    let n = gy.len() / g.out_len().max(1);
    let cn = chunk(g, n);
    let (col, dy) = ws[..part_len(g, n)].split_at_mut(patch * cn * ohw);
    if n == 0 && accum == Accum::Replace {
        dw.fill(T::ZERO);
    }
    for s0 in (0..n).step_by(cn) {
        let m = cn.min(n - s0);
        let cols = m * ohw;
        let col = &mut col[..patch * cols];
        unfold_chunk(g, x, s0, m, col);
        let dy = &mut dy[..oc * cols];
        gather_dy(dy, gy, s0, m, g);
        let acc = if s0 == 0 { accum } else { Accum::Add };
        let dst = MatMut::from_row_major_slice_mut(dw, oc, patch);
        let dy = MatRef::from_row_major_slice(dy, oc, cols);
        let col = MatRef::from_row_major_slice(col, patch, cols);
        product(pr, dst, acc, dy, col.transpose());
    }
}

/// The output columns `lo..hi` whose input column (`ox·stride + kj − padding`)
/// lies inside an input `size` wide; the others read padding.
fn inside(out: usize, size: usize, k_off: usize, stride: usize, padding: usize) -> (usize, usize) {
    let lo = if k_off >= padding {
        0
    } else {
        (padding - k_off).div_ceil(stride)
    };
    let hi = if size + padding <= k_off {
        0
    } else {
        ((size + padding - k_off - 1) / stride + 1).min(out)
    };
    (lo.min(hi), hi)
}

/// Unfolds samples `s0..s0 + m` of `x` side by side into `col`
/// (`[patch, m·out_h·out_w]`), the right operand of one product for the chunk.
fn unfold_chunk<T: Real>(g: &Conv2dGeom, x: &[T], s0: usize, m: usize, col: &mut [T]) {
    let (ohw, cols) = (g.out_hw(), m * g.out_hw());
    for j in 0..m {
        im2col(
            g,
            &x[(s0 + j) * g.in_len()..][..g.in_len()],
            col,
            cols,
            j * ohw,
        );
    }
}

/// Writes the unfolded patches of one sample `x` into the columns
/// `at..at + out_h·out_w` of `col` (`patch` rows, `ld` columns): row
/// `(c·k + ki)·k + kj` holds, per output position, the input value under that
/// kernel tap (0 in the padding).
fn im2col<T: Real>(g: &Conv2dGeom, x: &[T], col: &mut [T], ld: usize, at: usize) {
    let (k, s, p, ow) = (g.kernel, g.stride, g.padding, g.out_w());
    let (oh, ohw) = (g.out_h(), g.out_hw());
    for c in 0..g.in_c {
        let plane = &x[c * g.in_h * g.in_w..][..g.in_h * g.in_w];
        for ki in 0..k {
            let (rlo, rhi) = inside(oh, g.in_h, ki, s, p);
            for kj in 0..k {
                let (lo, hi) = inside(ow, g.in_w, kj, s, p);
                let r = (c * k + ki) * k + kj;
                let row = &mut col[r * ld + at..][..ohw];
                for (oy, dst) in row.chunks_exact_mut(ow).enumerate() {
                    if oy < rlo || oy >= rhi {
                        dst.fill(T::ZERO);
                        continue;
                    }
                    let src = &plane[(oy * s + ki - p) * g.in_w..][..g.in_w];
                    // most rows have no padding tap: skip the empty fills,
                    // which cost more than their test
                    if lo > 0 {
                        dst[..lo].fill(T::ZERO);
                    }
                    if hi < ow {
                        dst[hi..].fill(T::ZERO);
                    }
                    if s == 1 {
                        copy_short(&mut dst[lo..hi], &src[lo + kj - p..hi + kj - p]);
                    } else {
                        for (ox, d) in dst[lo..hi].iter_mut().enumerate() {
                            *d = src[(ox + lo) * s + kj - p];
                        }
                    }
                }
            }
        }
    }
}

/// `dst = src` for a short row, in copies of fixed sizes that compile inline:
/// `copy_from_slice`, or any plain copying loop (LLVM recognises one, even of
/// blocks of 8), is a call to `memmove` per row, which cost more than the
/// copy of a 28-value row. An empty `asm!` in the loop (it may have effects,
/// as far as LLVM knows) keeps the loop a loop; it emits no instruction.
#[inline(always)]
fn copy_short<T: Copy>(mut dst: &mut [T], mut src: &[T]) {
    while dst.len() >= 8 {
        let (d, rest) = dst.split_at_mut(8);
        d.copy_from_slice(&src[..8]);
        (dst, src) = (rest, &src[8..]);
        // SAFETY: an empty template: no instruction, no register, no memory.
        unsafe { std::arch::asm!("", options(nostack, preserves_flags)) };
    }
    for w in [4, 2, 1] {
        if dst.len() >= w {
            let (d, rest) = dst.split_at_mut(w);
            d.copy_from_slice(&src[..w]);
            (dst, src) = (rest, &src[w..]);
        }
    }
}

/// The reverse of [`im2col`]: adds each tap's column back onto the input
/// value it was read from (padding taps are dropped).
fn col2im<T: Real>(g: &Conv2dGeom, col: &[T], ld: usize, at: usize, dx: &mut [T]) {
    let (k, s, p, ow) = (g.kernel, g.stride, g.padding, g.out_w());
    let (oh, ohw) = (g.out_h(), g.out_hw());
    for c in 0..g.in_c {
        let plane = &mut dx[c * g.in_h * g.in_w..][..g.in_h * g.in_w];
        for ki in 0..k {
            let (rlo, rhi) = inside(oh, g.in_h, ki, s, p);
            for kj in 0..k {
                let (lo, hi) = inside(ow, g.in_w, kj, s, p);
                let r = (c * k + ki) * k + kj;
                let row = &col[r * ld + at..][..ohw];
                for oy in rlo..rhi {
                    let src = &row[oy * ow..][lo..hi];
                    let dst = &mut plane[(oy * s + ki - p) * g.in_w..][..g.in_w];
                    if s == 1 {
                        let dst = &mut dst[lo + kj - p..hi + kj - p];
                        dst.iter_mut().zip(src).for_each(|(d, &v)| *d += v);
                    } else {
                        for (ox, &v) in src.iter().enumerate() {
                            dst[(ox + lo) * s + kj - p] += v;
                        }
                    }
                }
            }
        }
    }
}
