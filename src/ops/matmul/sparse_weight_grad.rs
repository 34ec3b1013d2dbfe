//! The weight gradient `dW = dyᵀ · x` of a linear layer when most of `dy` is zero.
//!
//! Behind ReLU and dropout most of a layer's output gradient is exactly zero:
//! in the MNIST net a unit passes a gradient only if it fired and was kept,
//! about one in four. Row `j` of `dW` is `Σ_r dy[r, j] · x[r, :]`, so only the
//! rows `r` with `dy[r, j] ≠ 0` need adding. Both `x` and `dW` are row-major,
//! so each term runs along contiguous rows; no transposes.
//!
//! Each sum adds its rows in order, so it is deterministic (not faer's order
//! to the last bit). Only zeros of `dy` are skipped: a NaN or infinity in `x`
//! still reaches `dW` wherever the dense product would carry it, except
//! through terms `0 · inf`, which the dense product turns into NaN.

use super::avx_rows::{Line, floats, floats_mut};
use super::sparse_rows::{Terms, portable, split};
use crate::real::{Real, as_f32, as_f32_mut, has_fma};
use rayon::prelude::*;

/// At most this share of `dy` nonzero (measured on the MNIST step: at 1/4
/// the product takes about half faer's time, and the two tie near 1/2).
const MAX_DENSITY: f64 = 0.4;

/// From this many multiply-adds of the dense product: below, faer (or the
/// small kernels) are as fast without the pass that finds the nonzeros.
pub(crate) const MIN_MACS: usize = 1 << 20;

/// The nonzeros of `dy` `[m, n]` column by column: column `j`'s rows and
/// values are `row`/`val` from `begin[j]` to `end[j]`, in row order. Each
/// column has one spare place after it (see [`Columns::fill`]). Kept by the
/// tape between passes, so a step allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Columns<T> {
    row: Vec<u32>,
    val: Vec<T>,
    begin: Vec<u32>,
    end: Vec<u32>,
}

impl<T: Real> Columns<T> {
    /// Gathers the nonzeros of `dy`, if few enough for [`weight_grad`] to
    /// pay, sharing its columns out among `threads` threads.
    pub(crate) fn of(&mut self, dy: &[T], n: usize, k: usize, threads: usize) -> bool {
        if n == 0 || dy.len().saturating_mul(k) < MIN_MACS {
            return false;
        }
        let nnz = self.count(dy, n, threads);
        if nnz as f64 > MAX_DENSITY * dy.len() as f64 {
            return false;
        }
        self.fill(dy, n, threads);
        true
    }

    /// Places each column's part (its nonzeros and a spare); returns the
    /// number of nonzeros.
    fn count(&mut self, dy: &[T], n: usize, threads: usize) -> usize {
        // `end[j]` counts first (branch-free, so it vectorizes), each thread
        // its own columns.
        self.end.clear();
        self.end.resize(n, 0);
        let per = column_share(n, threads);
        self.end
            .par_chunks_mut(per)
            .enumerate()
            .for_each(|(i, counts)| {
                let j0 = i * per;
                for r in dy.chunks_exact(n) {
                    for (count, &v) in counts.iter_mut().zip(&r[j0..]) {
                        *count += u32::from(v != T::ZERO);
                    }
                }
            });
        self.begin.clear();
        let mut at = 0;
        for &count in &self.end {
            self.begin.push(at);
            at += count + 1;
        }
        // Room for the most a batch of this size can need, so a step with
        // more nonzeros than the ones before allocates nothing.
        self.row.resize(dy.len() + n, 0);
        self.val.resize(dy.len() + n, T::ZERO);
        self.end.iter().map(|&c| c as usize).sum()
    }

    /// The capacity of its buffers (see [`crate::Tape::capacities`]).
    pub(crate) fn capacity(&self) -> usize {
        self.row.capacity() + self.val.capacity() + self.begin.capacity() + self.end.capacity()
    }

    /// Writes the nonzeros into their columns ([`Columns::count`] first),
    /// each of `threads` threads its own columns, which own their places.
    fn fill(&mut self, dy: &[T], n: usize, threads: usize) {
        self.end.clear();
        self.end.extend_from_slice(&self.begin);
        let per = column_share(n, threads);
        let (row, val, end) = (&mut self.row[..], &mut self.val[..], &mut self.end[..]);
        fill_parts(dy, n, &self.begin, (0, end), (row, val, 0), per);
    }

    #[inline]
    fn column(&self, j: usize) -> (&[u32], &[T]) {
        let (from, to) = (self.begin[j] as usize, self.end[j] as usize);
        (&self.row[from..to], &self.val[from..to])
    }
}

impl<T: Real> Terms<T> for Columns<T> {
    /// Row `j` of `dW` sums the rows of `x` named in column `j` of `dy`.
    #[inline]
    fn terms(&self, j: usize) -> (&[u32], &[T]) {
        self.column(j)
    }
}

/// How many columns of `dy` `[_, n]` each of `threads` threads gathers: a
/// multiple of [`FILL_BLOCK`], all of them on one thread.
fn column_share(n: usize, threads: usize) -> usize {
    if threads <= 1 {
        n.max(1)
    } else {
        n.div_ceil(threads).next_multiple_of(FILL_BLOCK)
    }
}

/// The columns [`fill_columns`] writes in one sweep over the rows of `dy`:
/// 64 places written side by side stay in L1, where a sweep across all of
/// a wide layer's (2048) wrote too far apart.
const FILL_BLOCK: usize = 64;

/// [`fill_columns`] on columns `j0..j0 + end.len()`, `per` of them a part,
/// the parts on rayon's current pool. Where each column's places start is
/// `begin`; they lie from index `base` of the whole in `row` and `val`, and
/// each part takes its columns' places.
fn fill_parts<T: Real>(
    dy: &[T],
    n: usize,
    begin: &[u32],
    (j0, end): (usize, &mut [u32]),
    (row, val, base): (&mut [u32], &mut [T], usize),
    per: usize,
) {
    if end.len() <= per {
        return fill_columns(dy, n, (j0, end), (row, val, base));
    }
    let cut = begin[j0 + per] as usize;
    let (end0, end1) = end.split_at_mut(per);
    let (row0, row1) = row.split_at_mut(cut - base);
    let (val0, val1) = val.split_at_mut(cut - base);
    rayon::join(
        || fill_columns(dy, n, (j0, end0), (row0, val0, base)),
        || fill_parts(dy, n, begin, (j0 + per, end1), (row1, val1, cut), per),
    );
}

/// Columns `j0..j0 + end.len()` of `dy`'s nonzeros into their places, which
/// start at index `base` of the whole in `row` and `val`. Every element is
/// written and only a nonzero advances its column: no branch to mispredict.
/// A zero after a column's last nonzero lands in the spare place.
fn fill_columns<T: Real>(
    dy: &[T],
    n: usize,
    (j0, end): (usize, &mut [u32]),
    (row, val, base): (&mut [u32], &mut [T], usize),
) {
    for (b, ends) in end.chunks_mut(FILL_BLOCK).enumerate() {
        let c0 = j0 + b * FILL_BLOCK;
        for (r, dr) in dy.chunks_exact(n).enumerate() {
            for (e, &v) in ends.iter_mut().zip(&dr[c0..]) {
                let p = *e as usize - base;
                row[p] = r as u32;
                val[p] = v;
                *e += u32::from(v != T::ZERO);
            }
        }
    }
}

/// The columns of `x` the f32 kernel sums in one sweep over the rows of `dw`
/// (eight registers of eight).
const PANEL: usize = 64;

/// `dw (=|+=) dyᵀ · x`, `dw` `[n, k]` and `x` `[m, k]`, with `dy`'s nonzeros
/// gathered by [`Columns::of`]. `threads` threads take whole rows of `dw`. `panels` is
/// the f32 kernel's workspace (see [`pack`]), kept between calls.
pub(crate) fn weight_grad<T: Real>(
    dw: &mut [T],
    add: bool,
    dy: &Columns<T>,
    x: &[T],
    k: usize,
    threads: usize,
    panels: &mut Vec<Line>,
) {
    let packed = match as_f32(x) {
        Some(x) if has_fma() => pack(x, k, panels, threads),
        _ => 0,
    };
    let panels = &floats(panels)[..packed];
    split(dw, k, threads, |part, j0| {
        rows_of(part, j0, add, dy, (x, panels), k)
    });
}

/// Copies the first `k / PANEL` panels of `x` `[m, k]` (its columns
/// `p·PANEL..(p+1)·PANEL`) into `panels`, one after the other, each `[m,
/// PANEL]` row-major. Read in place, the rows of a panel lie `4·k` bytes
/// apart: a multiple of 4 KiB for the Table 9 net's k = 1024 and 2048, so
/// they all fall into the same few sets of the L1 cache and evict each other
/// (the kernel then ran from L2 at a third of its speed). Packed, a panel is
/// contiguous (25 KiB at batch 100), and stays in L1 while every row of `dw`
/// reads it. Returns how many numbers it wrote. On several threads the
/// panels are shared out (the Table 9 net copies 2 MB a step).
fn pack(x: &[f32], k: usize, panels: &mut Vec<Line>, threads: usize) -> usize {
    let m = x.len().checked_div(k).unwrap_or(0);
    let len = k / PANEL * m * PANEL;
    if panels.len() * 16 < len {
        panels.resize(len.div_ceil(16), Line::default());
    }
    if len > 0 {
        let out = &mut floats_mut(panels)[..len];
        let panel = |(p, panel): (usize, &mut [f32])| {
            for (row, dst) in x.chunks_exact(k).zip(panel.chunks_exact_mut(PANEL)) {
                dst.copy_from_slice(&row[p * PANEL..(p + 1) * PANEL]);
            }
        };
        if threads > 1 {
            out.par_chunks_exact_mut(m * PANEL)
                .enumerate()
                .for_each(panel);
        } else {
            out.chunks_exact_mut(m * PANEL).enumerate().for_each(panel);
        }
    }
    len
}

/// Rows `j0..` of `dw` (as many as `dw` holds); `x` with its [`pack`]ed
/// panels (empty unless the f32 kernel runs).
fn rows_of<T: Real>(
    dw: &mut [T],
    j0: usize,
    add: bool,
    dy: &Columns<T>,
    (x, panels): (&[T], &[f32]),
    k: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if let (Some(dw), Some(x)) = (as_f32_mut(dw), as_f32(x))
        && has_fma()
    {
        // SAFETY: T is f32 (as_f32 said so), so `Columns<T>` is
        // `Columns<f32>`; AVX and FMA are available (checked).
        unsafe {
            let dy = &*(dy as *const Columns<T>).cast::<Columns<f32>>();
            return avx::weight_grad(dw, j0, add, dy, (x, panels), k);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = panels;
    portable(dw, j0, add, dy, x, k);
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{Columns, PANEL};
    use crate::ops::matmul::sparse_rows::avx::{columns, narrow};

    /// [`super::weight_grad`] for f32, in column chunks of 64 (eight
    /// registers: eight independent sums hide the multiply-add's latency)
    /// read from the packed panels, then narrower ones read from `x`, taken
    /// outermost: the chunk of every row of `x` (25 KiB for 100 rows) stays
    /// in L1 while all rows of `dw` use it.
    ///
    /// # Safety
    /// AVX and FMA must be available.
    #[target_feature(enable = "avx,fma")]
    pub(super) unsafe fn weight_grad(
        dw: &mut [f32],
        j0: usize,
        add: bool,
        dy: &Columns<f32>,
        (x, panels): (&[f32], &[f32]),
        k: usize,
    ) {
        if k == 0 {
            return;
        }
        let n = dw.len() / k;
        let m = x.len() / k;
        assert!(dw.len() == n * k && x.len() == m * k && j0 + n <= dy.begin.len());
        assert!(panels.len() == k / PANEL * m * PANEL);
        assert!((j0..j0 + n).all(|j| dy.column(j).0.iter().all(|&r| (r as usize) < m)));
        for (p, panel) in panels.chunks_exact(m * PANEL).enumerate() {
            // SAFETY: the panel holds PANEL columns of m rows, and columns
            // p·PANEL..(p+1)·PANEL of `dw` are in bounds (p < k / PANEL).
            unsafe { columns::<8>(dw, j0, add, dy, (panel, PANEL, 0), (p * PANEL, k)) };
        }
        // SAFETY: `x` holds every row `dy` names (asserted).
        unsafe { narrow(dw, j0, add, dy, x, (k / PANEL * PANEL, k)) };
    }
}

#[cfg(test)]
mod tests {
    use super::super::sparse_rows::{assert_near, test_cast};
    use super::*;
    use faer::{Accum, MatMut, MatRef, Par};

    /// `dyᵀ · x` by faer.
    fn dense(dy: &[f64], x: &[f64], m: usize, n: usize, k: usize) -> Vec<f64> {
        let mut out = vec![0.0; n * k];
        let lhs = MatRef::from_row_major_slice(dy, m, n).transpose();
        let rhs = MatRef::from_row_major_slice(x, m, k);
        let dst = MatMut::from_row_major_slice_mut(&mut out, n, k);
        faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
        out
    }

    /// `dy` with about one value in `keep` nonzero, and `x`.
    fn operands(m: usize, n: usize, k: usize, keep: usize) -> (Vec<f64>, Vec<f64>) {
        super::super::sparse_rows::test_operands(m, n, m, k, keep)
    }

    fn check<T: Real>(m: usize, n: usize, k: usize, keep: usize) {
        let (dy, x) = operands(m, n, k, keep);
        let want = dense(&dy, &x, m, n, k);
        let to = test_cast::<T>;
        let mut cols = Columns::default();
        // Below MIN_MACS `of` declines; the kernel itself works at any size.
        let taken = cols.of(&to(&dy), n, k, 1);
        assert_eq!(
            taken,
            m * n * k >= MIN_MACS && keep >= 4,
            "{m}x{n}x{k} 1/{keep}"
        );
        let nnz = dy.iter().filter(|&&v| v != 0.0).count();
        assert_eq!(cols.count(&to(&dy), n, 1), nnz);
        cols.fill(&to(&dy), n, 1);
        let mut dw = vec![T::from_f64(f64::NAN); n * k];
        weight_grad(&mut dw, false, &cols, &to(&x), k, 1, &mut Vec::new());
        let tol = if size_of::<T>() == 4 { 1e-5 } else { 1e-12 };
        assert_near(&dw, &want, tol, &format!("{m}x{n}x{k}"));
        // Threads split the columns of dy and the rows of dw, never a sum:
        // the same bits. A part of the gathering dropped leaves zeros in
        // place of terms, one done twice writes past its columns' places.
        for threads in [2, 3] {
            let mut split = Columns::default();
            assert_eq!(split.count(&to(&dy), n, threads), nnz);
            split.fill(&to(&dy), n, threads);
            let mut threaded = vec![T::from_f64(f64::NAN); n * k];
            weight_grad(
                &mut threaded,
                false,
                &split,
                &to(&x),
                k,
                threads,
                &mut Vec::new(),
            );
            assert!(threaded == dw, "{m}x{n}x{k}: {threads} threads differ");
        }
        weight_grad(&mut dw, true, &cols, &to(&x), k, 3, &mut Vec::new());
        for (i, (g, w)) in dw.iter().zip(&want).enumerate() {
            assert!(
                (g.to_f64() - 2.0 * w).abs() <= 2.0 * tol * (1.0 + w.abs()),
                "added [{i}]"
            );
        }
    }

    /// Through the tape: a linear layer behind dropout (a quarter of its
    /// output gradient nonzero) gets the weight gradient of the dense product.
    fn through_the_tape<T: Real>() {
        use crate::{DropoutMode, Params, Phase, Tape, Tensor};
        use rand::SeedableRng;
        let (m, k, n) = (64, 300, 128);
        let mut params = Params::<T>::new();
        let w = Tensor::from_fn(n, k, |r, c| {
            T::from_f64(((r * 31 + c * 7) % 19) as f64 / 19.0 - 0.5)
        });
        let w = params.add("w", w).unwrap();
        let x = Tensor::from_fn(m, k, |r, c| {
            T::from_f64(((r * 13 + c * 5) % 23) as f64 / 23.0)
        });
        let mut tape = Tape::new();
        let xi = tape.input(&x);
        let z = tape.linear_param(&params, xi, w, None).unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let d = tape
            .dropout(z, 0.75, DropoutMode::Inverted, Phase::Train, &mut rng)
            .unwrap();
        let loss = tape.sum(d).unwrap();
        tape.backward_replacing(loss, &mut params).unwrap();
        let dz: Vec<f64> = tape
            .grad(z)
            .unwrap()
            .unwrap()
            .iter()
            .map(|v| v.to_f64())
            .collect();
        let nonzero = dz.iter().filter(|&&v| v != 0.0).count();
        assert!(
            nonzero > 0 && (nonzero as f64) < MAX_DENSITY * dz.len() as f64,
            "{nonzero}"
        );
        let xs: Vec<f64> = x.as_slice().iter().map(|v| v.to_f64()).collect();
        let want = dense(&dz, &xs, m, n, k);
        let tol = if size_of::<T>() == 4 { 1e-5 } else { 1e-12 };
        for (i, (g, w)) in params.grad(w).as_slice().iter().zip(&want).enumerate() {
            assert!(
                (g.to_f64() - w).abs() <= tol * (1.0 + w.abs()),
                "[{i}]: {g} vs {w}"
            );
        }
    }

    #[test]
    fn a_layer_behind_dropout_gets_the_dense_gradient() {
        through_the_tape::<f32>();
        through_the_tape::<f64>();
    }

    /// The buffers keep what a bigger batch left (as an epoch's last, short
    /// batch finds them); only the columns' own places are read.
    #[test]
    fn a_smaller_batch_after_a_bigger_one() {
        let mut cols = Columns::<f32>::default();
        let (n, k) = (16, 40);
        for m in [64, 5] {
            let (dy, x) = operands(m, n, k, 3);
            let want = dense(&dy, &x, m, n, k);
            let to = test_cast::<f32>;
            cols.count(&to(&dy), n, 2);
            cols.fill(&to(&dy), n, 2);
            let mut dw = vec![f32::NAN; n * k];
            weight_grad(&mut dw, false, &cols, &to(&x), k, 1, &mut Vec::new());
            assert_near(&dw, &want, 1e-5, &format!("m {m}"));
        }
    }

    #[test]
    fn matches_the_dense_product_over_every_remainder() {
        for (m, n, k) in [
            (1, 1, 1),
            (3, 5, 7),
            (4, 8, 32),
            (9, 7, 33),
            (64, 128, 784),
            (20, 300, 40),
            (5, 3, 100),
        ] {
            for keep in [1, 2, 4, 50] {
                check::<f64>(m, n, k, keep);
                check::<f32>(m, n, k, keep);
                portable_f32(m, n, k, keep);
            }
        }
    }

    /// The portable f32 form, which a machine with FMA would not otherwise
    /// run, against the dense product.
    fn portable_f32(m: usize, n: usize, k: usize, keep: usize) {
        let (dy, x) = operands(m, n, k, keep);
        let want = dense(&dy, &x, m, n, k);
        let to = test_cast::<f32>;
        let mut cols = Columns::default();
        cols.count(&to(&dy), n, 1);
        cols.fill(&to(&dy), n, 1);
        let mut dw = vec![f32::NAN; n * k];
        portable(&mut dw, 0, false, &cols, &to(&x), k);
        assert_near(&dw, &want, 1e-5, &format!("portable {m}x{n}x{k}"));
    }
}
