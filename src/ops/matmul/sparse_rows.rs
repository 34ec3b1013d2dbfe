//! What the two sparse gradients of a linear layer share: row `i` of the
//! result is a sum of rows of a source, `out[i, :] (=|+=) Σ v · src[s, :]`
//! over the terms `(s, v)` of row `i`, in order. The terms are the nonzeros
//! of `dy`: a column of it for the weight gradient
//! ([`super::sparse_weight_grad`], the source `x`), a row of it for the input
//! gradient ([`super::sparse_input_grad`], the source `w`). Here are the
//! threads' split, the portable form and the f32 kernel's column chunks;
//! each gradient keeps its own way of keeping its source in cache.

use crate::real::Real;
use rayon::prelude::*;

/// The terms of each row of a sparse sum.
pub(crate) trait Terms<T>: Sync {
    /// Row `i`'s terms: the rows of the source and their factors, in order.
    fn terms(&self, i: usize) -> (&[u32], &[T]);
}

/// Runs `rows(part, i0)` over whole rows of `out` (`k` wide), the part
/// starting at row `i0`: `threads` parts on rayon's current pool, or all of
/// `out` at once. Each row's sum is the same whoever computes it.
pub(crate) fn split<T: Real>(
    out: &mut [T],
    k: usize,
    threads: usize,
    rows: impl Fn(&mut [T], usize) + Sync,
) {
    let n = out.len() / k.max(1);
    if threads > 1 && n > 1 && k > 0 {
        let per = n.div_ceil(threads);
        out.par_chunks_mut(per * k)
            .enumerate()
            .for_each(|(i, part)| rows(part, i * per));
    } else {
        rows(out, 0);
    }
}

/// The sums of rows `i0..` (as many as `out` holds), portably (f64, and f32
/// without FMA).
pub(crate) fn portable<T: Real>(
    out: &mut [T],
    i0: usize,
    add: bool,
    terms: &impl Terms<T>,
    src: &[T],
    k: usize,
) {
    for (i, row) in out.chunks_exact_mut(k.max(1)).enumerate() {
        if !add {
            row.fill(T::ZERO);
        }
        let (rows, vals) = terms.terms(i0 + i);
        for (&s, &v) in rows.iter().zip(vals) {
            let sr = &src[s as usize * k..(s as usize + 1) * k];
            for (d, &sv) in row.iter_mut().zip(sr) {
                *d += v * sv;
            }
        }
    }
}

/// Operands for the sparse kernels' tests: `terms` `[m, n]` with about one
/// value in `keep` nonzero, and `src` (`rows` × `k`), both exact in f32.
#[cfg(test)]
pub(crate) fn test_operands(
    m: usize,
    n: usize,
    rows: usize,
    k: usize,
    keep: usize,
) -> (Vec<f64>, Vec<f64>) {
    let terms = (0..m * n)
        .map(|i| {
            if (i * 7 + i / 5) % keep == 0 {
                ((i % 13) as f64 - 6.0) / 4.0
            } else {
                0.0
            }
        })
        .collect();
    let src = (0..rows * k)
        .map(|i| ((i * 31 % 17) as f64 - 8.0) / 8.0)
        .collect();
    (terms, src)
}

/// `v` in the sparse kernels' tests' element type.
#[cfg(test)]
pub(crate) fn test_cast<T: Real>(v: &[f64]) -> Vec<T> {
    v.iter().map(|&a| T::from_f64(a)).collect()
}

/// Asserts each of `got` is `want` to `tol` relative to `1 + |want|`.
#[cfg(test)]
pub(crate) fn assert_near<T: Real>(got: &[T], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let g = g.to_f64();
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what} [{i}]: {g} vs {w}"
        );
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx {
    use super::Terms;
    use crate::ops::matmul::avx_rows::sum_rows;

    /// Columns `c0..c0 + 8·R` of every row of `out` (`k` wide; rows `i0..`
    /// of the whole), from columns `s0..s0 + 8·R` of the source's rows,
    /// `stride` apart in `src` (the source itself, or a copy of part of it).
    ///
    /// # Safety
    /// AVX and FMA must be available; `c0 + 8·R <= k`, `s0 + 8·R <=
    /// stride`, and `src` holds every row the terms of rows `i0..` name.
    #[allow(clippy::too_many_arguments)]
    #[target_feature(enable = "avx,fma")]
    pub(crate) unsafe fn columns<const R: usize>(
        out: &mut [f32],
        i0: usize,
        add: bool,
        terms: &impl Terms<f32>,
        (src, stride, s0): (&[f32], usize, usize),
        (c0, k): (usize, usize),
    ) {
        for (i, row) in out.chunks_exact_mut(k).enumerate() {
            let (rows, vals) = terms.terms(i0 + i);
            let terms = rows
                .iter()
                .zip(vals)
                .map(|(&s, &v)| (v, src.as_ptr().wrapping_add(s as usize * stride + s0)));
            // SAFETY: columns c0..c0+8R of this row of `out` and s0..s0+8R
            // of the named rows of `src` are in bounds (the caller's
            // guarantee).
            unsafe { sum_rows::<R>(row.as_mut_ptr().add(c0), add, terms) };
        }
    }

    /// Columns `c0..k` of every row of `out` (rows `i0..` of the whole),
    /// reading the source `src` `[_, k]` in place: eight at a time, then the
    /// last `(k - c0) % 8` one by one.
    ///
    /// # Safety
    /// AVX and FMA must be available; `src` holds every row the terms of
    /// rows `i0..` name, and `out` is `k` wide.
    #[target_feature(enable = "avx,fma")]
    pub(crate) unsafe fn narrow(
        out: &mut [f32],
        i0: usize,
        add: bool,
        terms: &impl Terms<f32>,
        src: &[f32],
        (c0, k): (usize, usize),
    ) {
        let mut c0 = c0;
        while c0 + 8 <= k {
            // SAFETY: columns c0..c0+8 of `out` and of `src` are in bounds
            // (c0 + 8 <= k, both k wide); the rows, the caller's guarantee.
            unsafe { columns::<1>(out, i0, add, terms, (src, k, c0), (c0, k)) };
            c0 += 8;
        }
        for (i, row) in out.chunks_exact_mut(k).enumerate() {
            let (rows, vals) = terms.terms(i0 + i);
            for c in c0..k {
                let init = if add { row[c] } else { 0.0 };
                row[c] = rows
                    .iter()
                    .zip(vals)
                    .fold(init, |s, (&r, &v)| v.mul_add(src[r as usize * k + c], s));
            }
        }
    }
}
