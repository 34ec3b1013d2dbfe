//! Products too small for faer's blocking: straight loops, sums in registers.
//!
//! A step of the reference MLP (batch 4, 128→32→16→2) makes eight products of
//! at most 16k multiply-adds. faer packs, dispatches and finds its workspace
//! for each, which was about 70% of the step's instructions. These loops do
//! the arithmetic alone: rows of the operands are contiguous (everything is
//! row-major), so each inner loop runs along them in SIMD-width lanes.
//!
//! f32 on a CPU with AVX and FMA (chosen at run time, as faer does, so a
//! portable build and a native one agree on one machine) runs hand-written
//! kernels; f64 (the gradient checks) and older CPUs a plain form. Sums run in
//! a fixed order: deterministic, though not faer's order to the last bit.

use crate::real::{Real, as_f32, as_f32_mut, has_fma};

/// Products up to this many multiply-adds take these loops (the reference
/// MLP's largest is 4·128·32 = 16384; from about 2^15 faer's blocking wins).
pub(crate) const MAX_MACS: usize = 1 << 15;

/// Small enough for these loops: `m·k·n` multiply-adds.
pub(crate) fn fits(m: usize, k: usize, n: usize) -> bool {
    m.saturating_mul(k).saturating_mul(n) <= MAX_MACS
}

/// `y[m, n] = init + x[m, k] · w[n, k]ᵀ`, where `init` is the bias on every
/// row (`Some`), what `y` holds (`add`), or zero.
pub(crate) fn nt<T: Real>(
    y: &mut [T],
    x: &[T],
    w: &[T],
    (k, n): (usize, usize),
    bias: Option<&[T]>,
    add: bool,
) {
    if k == 0 || n == 0 {
        // No products: the result is its starting value.
        for yr in y.chunks_exact_mut(n.max(1)) {
            for (j, v) in yr.iter_mut().enumerate() {
                *v = start(bias, add, *v, j);
            }
        }
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let (Some(y), Some(x), Some(w)) = (as_f32_mut(y), as_f32(x), as_f32(w))
        && has_fma()
    {
        let bias = bias.map(|b| as_f32(b).unwrap_or_default());
        // SAFETY: AVX and FMA are available (checked).
        return unsafe { avx::nt(y, x, k, w, n, bias, add) };
    }
    nt_portable(y, x, k, w, n, bias, add)
}

#[inline(always)]
fn start<T: Real>(bias: Option<&[T]>, add: bool, old: T, j: usize) -> T {
    match bias {
        Some(b) => b[j],
        None if add => old,
        None => T::ZERO,
    }
}

/// `dst[p, :] (=|+=) Σ_t coef[p·sp + t·st] · src[t, :]`, rows `q` long.
/// With `coef = dy` `[m, n]`: `dx = dy · w` is `(sp, st) = (n, 1)` and
/// `dw = dyᵀ · x` is `(1, n)`.
pub(crate) fn axpy_rows<T: Real>(
    dst: &mut [T],
    q: usize,
    add: bool,
    coef: &[T],
    strides: (usize, usize),
    src: &[T],
) {
    if q == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let (Some(d), Some(coef), Some(src)) = (as_f32_mut(dst), as_f32(coef), as_f32(src))
        && has_fma()
    {
        // SAFETY: AVX and FMA are available (checked).
        return unsafe { avx::axpy_rows(d, q, add, coef, strides, src) };
    }
    axpy_portable(dst, q, add, coef, strides, src)
}

/// The portable form (f64, and f32 without FMA): per output, a dot product in
/// four lanes (so it vectorizes), the lanes pairwise, then the rest of `k`.
fn nt_portable<T: Real>(
    y: &mut [T],
    x: &[T],
    k: usize,
    w: &[T],
    n: usize,
    bias: Option<&[T]>,
    add: bool,
) {
    for (xr, yr) in x.chunks_exact(k).zip(y.chunks_exact_mut(n)) {
        for (j, (wr, out)) in w.chunks_exact(k).zip(yr).enumerate() {
            let (xs, ws) = (xr.chunks_exact(4), wr.chunks_exact(4));
            let rest = xs.remainder().iter().zip(ws.remainder());
            let mut acc = [T::ZERO; 4];
            for (a, b) in xs.zip(ws) {
                for l in 0..4 {
                    acc[l] += a[l] * b[l];
                }
            }
            let s = rest.fold((acc[0] + acc[2]) + (acc[1] + acc[3]), |s, (&a, &b)| {
                s + a * b
            });
            *out = start(bias, add, *out, j) + s;
        }
    }
}

/// The portable form of [`axpy_rows`]: each term added along the whole row.
fn axpy_portable<T: Real>(
    dst: &mut [T],
    q: usize,
    add: bool,
    coef: &[T],
    (sp, st): (usize, usize),
    src: &[T],
) {
    for (p, row) in dst.chunks_exact_mut(q).enumerate() {
        if !add {
            row.fill(T::ZERO);
        }
        for (t, s) in src.chunks_exact(q).enumerate() {
            let a = coef[p * sp + t * st];
            for (d, &v) in row.iter_mut().zip(s) {
                *d += a * v;
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use crate::ops::matmul::avx_rows::sum_rows;
    use std::arch::x86_64::*;

    /// [`super::nt`] for f32: blocks of 4 rows of `x` by 2 rows of `w`, eight
    /// sums in registers, each register's lanes summed at the end; the rows
    /// and columns a block leaves, one by one.
    ///
    /// # Safety
    /// AVX and FMA must be available.
    #[target_feature(enable = "avx,fma")]
    pub(super) unsafe fn nt(
        y: &mut [f32],
        x: &[f32],
        k: usize,
        w: &[f32],
        n: usize,
        bias: Option<&[f32]>,
        add: bool,
    ) {
        let m = x.len() / k;
        assert!(x.len() == m * k && w.len() == n * k && y.len() == m * n);
        assert!(bias.is_none_or(|b| b.len() == n));
        let k8 = k / 8 * 8;
        let (m4, n2) = (m / 4 * 4, n / 2 * 2);
        let put = |y: &mut [f32], r: usize, j: usize, s: f32| {
            let out = &mut y[r * n + j];
            *out = super::start(bias, add, *out, j) + s;
        };
        // The k % 8 tail of one dot product, after its lanes' sum `s`.
        let tail = |s: f32, r: usize, j: usize| {
            (k8..k).fold(s, |s, c| x[r * k + c].mul_add(w[j * k + c], s))
        };
        for r0 in (0..m4).step_by(4) {
            for j0 in (0..n2).step_by(2) {
                let mut acc = [_mm256_setzero_ps(); 8];
                for c in (0..k8).step_by(8) {
                    // SAFETY: rows r0..r0+4 of x and j0..j0+2 of w hold
                    // columns c..c+8 (c + 8 <= k8 <= k; shapes asserted).
                    unsafe {
                        let w0 = _mm256_loadu_ps(w.as_ptr().add(j0 * k + c));
                        let w1 = _mm256_loadu_ps(w.as_ptr().add((j0 + 1) * k + c));
                        for i in 0..4 {
                            let xv = _mm256_loadu_ps(x.as_ptr().add((r0 + i) * k + c));
                            acc[2 * i] = _mm256_fmadd_ps(xv, w0, acc[2 * i]);
                            acc[2 * i + 1] = _mm256_fmadd_ps(xv, w1, acc[2 * i + 1]);
                        }
                    }
                }
                for i in 0..4 {
                    for jj in 0..2 {
                        let s = tail(lanes(acc[2 * i + jj]), r0 + i, j0 + jj);
                        put(y, r0 + i, j0 + jj, s);
                    }
                }
            }
        }
        // The rows past m4 (all columns) and the last column of the rest.
        for r in 0..m {
            let js = if r < m4 { n2..n } else { 0..n };
            for j in js {
                let mut acc = _mm256_setzero_ps();
                for c in (0..k8).step_by(8) {
                    // SAFETY: columns c..c+8 of row r of x and row j of w.
                    unsafe {
                        let xv = _mm256_loadu_ps(x.as_ptr().add(r * k + c));
                        let wv = _mm256_loadu_ps(w.as_ptr().add(j * k + c));
                        acc = _mm256_fmadd_ps(xv, wv, acc);
                    }
                }
                put(y, r, j, tail(lanes(acc), r, j));
            }
        }
    }

    /// [`super::axpy_rows`] for f32: each row of `dst` in chunks of four
    /// registers, then of one, then single numbers.
    ///
    /// # Safety
    /// AVX and FMA must be available.
    #[target_feature(enable = "avx,fma")]
    pub(super) unsafe fn axpy_rows(
        dst: &mut [f32],
        q: usize,
        add: bool,
        coef: &[f32],
        (sp, st): (usize, usize),
        src: &[f32],
    ) {
        let terms = src.len() / q;
        let rows = dst.len() / q;
        assert!(src.len() == terms * q && dst.len() == rows * q);
        if rows > 0 && terms > 0 {
            assert!((rows - 1) * sp + (terms - 1) * st < coef.len());
        }
        for (p, row) in dst.chunks_exact_mut(q).enumerate() {
            let a = |t: usize| coef[p * sp + t * st];
            let mut c0 = 0;
            // Column c of term t is at `src[t·q + c]`.
            let at = |c0| (0..terms).map(move |t| (a(t), src.as_ptr().wrapping_add(t * q + c0)));
            while c0 + 32 <= q {
                // SAFETY: columns c0..c0+32 of this row and of every row of
                // `src` are in bounds (c0 + 32 <= q; shapes asserted).
                unsafe { sum_rows::<4>(row.as_mut_ptr().add(c0), add, at(c0)) };
                c0 += 32;
            }
            while c0 + 8 <= q {
                // SAFETY: as above, for columns c0..c0+8.
                unsafe { sum_rows::<1>(row.as_mut_ptr().add(c0), add, at(c0)) };
                c0 += 8;
            }
            for c in c0..q {
                let init = if add { row[c] } else { 0.0 };
                row[c] = (0..terms).fold(init, |s, t| a(t).mul_add(src[t * q + c], s));
            }
        }
    }

    /// The eight lanes summed: halves, then quarters, then the last pair.
    #[inline]
    #[target_feature(enable = "avx")]
    fn lanes(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps::<1>(v));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_movehdup_ps(s));
        _mm_cvtss_f32(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::{Accum, MatMut, MatRef, Par};

    /// faer's product, the reference.
    fn faer_ref(m: usize, k: usize, n: usize, a: &[f64], b: &[f64], bt: bool) -> Vec<f64> {
        let mut out = vec![0.0; m * n];
        let lhs = MatRef::from_row_major_slice(a, m, k);
        let rhs = if bt {
            MatRef::from_row_major_slice(b, n, k).transpose()
        } else {
            MatRef::from_row_major_slice(b, k, n)
        };
        let dst = MatMut::from_row_major_slice_mut(&mut out, m, n);
        faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
        out
    }

    fn nums(len: usize, seed: usize) -> Vec<f64> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104729) % 1000) as f64 - 500.0) / 250.0)
            .collect()
    }

    fn close(got: &[f64], want: &[f64], what: &str) {
        assert_eq!(got.len(), want.len(), "{what}");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
                "{what} [{i}]: {g} vs {w}"
            );
        }
    }

    /// Every kind of product against faer, over shapes that leave every
    /// remainder (rows not a multiple of 4, lengths not of the lanes).
    #[test]
    fn all_three_forms_match_faer() {
        for m in [1, 2, 3, 4, 5, 9] {
            for k in [1, 3, 4, 8, 13, 33, 128] {
                for n in [1, 2, 7, 16, 37] {
                    let what = format!("{m}x{k}x{n}");
                    let (x, w, dy) = (nums(m * k, 1), nums(n * k, 2), nums(m * n, 3));
                    let bias = nums(n, 4);
                    // y = x·wᵀ, + bias, and added onto y.
                    let want = faer_ref(m, k, n, &x, &w, true);
                    let mut y = vec![f64::NAN; m * n];
                    nt(&mut y, &x, &w, (k, n), None, false);
                    close(&y, &want, &format!("nt {what}"));
                    nt(&mut y, &x, &w, (k, n), Some(&bias), false);
                    let with_bias: Vec<f64> = (0..m * n).map(|i| want[i] + bias[i % n]).collect();
                    close(&y, &with_bias, &format!("nt+bias {what}"));
                    let mut y2 = want.clone();
                    nt(&mut y2, &x, &w, (k, n), None, true);
                    close(
                        &y2,
                        &want.iter().map(|v| 2.0 * v).collect::<Vec<_>>(),
                        &format!("nt add {what}"),
                    );
                    // dx = dy·w (m x k)
                    let want = faer_ref(m, n, k, &dy, &w, false);
                    let mut dx = vec![f64::NAN; m * k];
                    axpy_rows(&mut dx, k, false, &dy, (n, 1), &w);
                    close(&dx, &want, &format!("dx {what}"));
                    axpy_rows(&mut dx, k, true, &dy, (n, 1), &w);
                    close(
                        &dx,
                        &want.iter().map(|v| 2.0 * v).collect::<Vec<_>>(),
                        &format!("dx add {what}"),
                    );
                    // dw = dyᵀ·x (n x k)
                    let dyt: Vec<f64> = (0..n * m).map(|i| dy[(i % m) * n + i / m]).collect();
                    let want = faer_ref(n, m, k, &dyt, &x, false);
                    let mut dw = vec![f64::NAN; n * k];
                    axpy_rows(&mut dw, k, false, &dy, (1, n), &x);
                    close(&dw, &want, &format!("dw {what}"));
                }
            }
        }
    }

    /// `nt` as dispatched, or its portable form (what a CPU without FMA runs).
    fn nt_as(
        portable: bool,
        y: &mut [f32],
        x: &[f32],
        w: &[f32],
        kn: (usize, usize),
        bias: Option<&[f32]>,
        add: bool,
    ) {
        if portable {
            nt_portable(y, x, kn.0, w, kn.1, bias, add);
        } else {
            nt(y, x, w, kn, bias, add);
        }
    }

    /// `axpy_rows` as dispatched, or its portable form.
    fn axpy_as(
        portable: bool,
        d: &mut [f32],
        q: usize,
        add: bool,
        coef: &[f32],
        st: (usize, usize),
        src: &[f32],
    ) {
        if portable {
            axpy_portable(d, q, add, coef, st, src);
        } else {
            axpy_rows(d, q, add, coef, st, src);
        }
    }

    /// The f32 forms against f64 faer, over the same remainders: as
    /// dispatched (on AVX machines, their own kernels) and the portable f32
    /// forms, which such a machine would not otherwise run.
    #[test]
    fn f32_forms_match_f64_to_rounding() {
        for portable in [false, true] {
            f32_forms(portable);
        }
    }

    fn f32_forms(portable: bool) {
        let to32 = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        let near = |got: &[f32], want: &[f64], what: &str| {
            for (i, (g, w)) in got.iter().zip(want).enumerate() {
                assert!(
                    (*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                    "{what} [{i}]: {g} vs {w}"
                );
            }
        };
        for m in [1, 3, 4, 5, 8, 9] {
            for k in [1, 7, 8, 9, 33, 40, 128] {
                for n in [1, 2, 3, 16, 17] {
                    let what = format!("{m}x{k}x{n} portable={portable}");
                    // Values exact in f32, so only the sums round.
                    let (x, w, dy) = (nums(m * k, 1), nums(n * k, 2), nums(m * n, 3));
                    let bias = nums(n, 4);
                    let want = faer_ref(m, k, n, &x, &w, true);
                    let mut y = vec![f32::NAN; m * n];
                    nt_as(
                        portable,
                        &mut y,
                        &to32(&x),
                        &to32(&w),
                        (k, n),
                        Some(&to32(&bias)),
                        false,
                    );
                    let with_bias: Vec<f64> = (0..m * n).map(|i| want[i] + bias[i % n]).collect();
                    near(&y, &with_bias, &format!("nt {what}"));
                    nt_as(portable, &mut y, &to32(&x), &to32(&w), (k, n), None, true);
                    let twice: Vec<f64> = (0..m * n).map(|i| with_bias[i] + want[i]).collect();
                    near(&y, &twice, &format!("nt add {what}"));
                    let want = faer_ref(m, n, k, &dy, &w, false);
                    let mut dx = vec![f32::NAN; m * k];
                    axpy_as(portable, &mut dx, k, false, &to32(&dy), (n, 1), &to32(&w));
                    near(&dx, &want, &format!("dx {what}"));
                    axpy_as(portable, &mut dx, k, true, &to32(&dy), (n, 1), &to32(&w));
                    near(
                        &dx,
                        &want.iter().map(|v| 2.0 * v).collect::<Vec<_>>(),
                        &format!("dx add {what}"),
                    );
                    let dyt: Vec<f64> = (0..n * m).map(|i| dy[(i % m) * n + i / m]).collect();
                    let want = faer_ref(n, m, k, &dyt, &x, false);
                    let mut dw = vec![f32::NAN; n * k];
                    axpy_as(portable, &mut dw, k, false, &to32(&dy), (1, n), &to32(&x));
                    near(&dw, &want, &format!("dw {what}"));
                }
            }
        }
    }

    #[test]
    fn empty_shapes_give_the_starting_values() {
        // k = 0: y is the bias (or what it held, or zero).
        let mut y = vec![9.0f32; 6];
        nt(&mut y, &[], &[], (0, 3), Some(&[1.0, 2.0, 3.0]), false);
        assert_eq!(y, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        nt(&mut y, &[], &[], (0, 3), None, true);
        assert_eq!(y, [1.0, 2.0, 3.0, 1.0, 2.0, 3.0]);
        nt(&mut y, &[], &[], (0, 3), None, false);
        assert_eq!(y, [0.0; 6]);
        // m = 0 and n = 0: nothing to write.
        nt::<f32>(&mut [], &[], &[1.0; 6], (3, 2), None, false);
        nt::<f32>(&mut [], &[1.0; 6], &[], (3, 0), None, false);
        // No terms: dx = dy · w with n = 0 is zero, or unchanged when adding.
        let mut dx = vec![5.0f32; 8];
        axpy_rows(&mut dx, 4, true, &[], (0, 1), &[]);
        assert_eq!(dx, [5.0; 8]);
        axpy_rows(&mut dx, 4, false, &[], (0, 1), &[]);
        assert_eq!(dx, [0.0; 8]);
        let mut dx64 = vec![5.0f64; 8];
        axpy_rows(&mut dx64, 4, false, &[], (0, 1), &[]);
        assert_eq!(dx64, [0.0; 8]);
    }

    #[test]
    fn f32_agrees_with_f64_to_rounding() {
        let (m, k, n) = (4, 128, 32);
        let (x, w) = (nums(m * k, 5), nums(n * k, 6));
        let want = faer_ref(m, k, n, &x, &w, true);
        let (x32, w32): (Vec<f32>, Vec<f32>) = (
            x.iter().map(|&v| v as f32).collect(),
            w.iter().map(|&v| v as f32).collect(),
        );
        let mut y = vec![0f32; m * n];
        nt(&mut y, &x32, &w32, (k, n), None, false);
        for (g, w) in y.iter().zip(&want) {
            assert!(
                (*g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
                "{g} vs {w}"
            );
        }
    }
}
