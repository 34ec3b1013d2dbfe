//! The input gradient `dx = dy · w` of a linear layer when most of `dy` is zero.
//!
//! Behind ReLU and dropout most of a layer's output gradient is exactly zero
//! (three in four on the Table 9 net's hidden layers). Row `r` of `dx` is
//! `Σ_j dy[r, j] · w[j, :]`, so only the rows `j` of `w` with
//! `dy[r, j] ≠ 0` need adding: whole rows, contiguous, as in
//! [`super::sparse_weight_grad`]. There each sum reads a small `x`; here it
//! reads the large `w`, so the f32 kernel copies `w` a 64×64 block at a time
//! into a buffer that stays in L1 while every row of `dx` takes what it needs
//! from it.
//!
//! Each sum adds its terms in order of `j`, so it is deterministic, and the
//! same on any number of threads (they take whole rows of `dx`); it is not
//! faer's order to the last bit. Only zeros of `dy` are skipped: a NaN or
//! infinity in `w` reaches `dx` wherever the dense product would carry it,
//! except through terms `0 · inf`, which the dense product turns into NaN.

use super::sparse_rows::{Terms, portable, split};
use crate::real::{Real, as_f32, as_f32_mut, has_fma};
use rayon::prelude::*;

/// At most this share of `dy` nonzero (measured on the Table 9 net's
/// shapes; see [`Rows::of`]).
const MAX_DENSITY: f64 = 0.4;

/// From this many multiply-adds of the dense product: below, faer (or the
/// small kernels) are as fast without the passes that find the nonzeros and
/// copy the blocks of `w`. High enough that the nets of `models/` keep
/// faer's products (the digits net's hidden layer, 32×256×256, is 2M).
pub(crate) const MIN_MACS: usize = 1 << 22;

/// The block of `w` the f32 kernel copies: `BLOCK` rows by `BLOCK` columns
/// (16 KiB), the columns eight registers of eight.
const BLOCK: usize = 64;

/// The nonzeros of `dy` `[m, n]` row by row: row `r` has `n` places from
/// `r·n` in `col`/`val`, and its nonzeros fill them from the first, in
/// column order; those in columns `b·BLOCK..(b+1)·BLOCK` start at
/// `block_start[r·(blocks+1) + b]` (an index into the whole), and the last
/// entry of a row is where its nonzeros end. Rows own their places, so
/// threads gather them apart. Kept by the tape between passes, so a step
/// allocates nothing.
#[derive(Debug, Default)]
pub(crate) struct Rows<T> {
    col: Vec<u32>,
    val: Vec<T>,
    block_start: Vec<u32>,
    /// Blocks of columns a row has (`n` / [`BLOCK`], rounded up).
    blocks: usize,
}

impl<T: Real> Rows<T> {
    /// Gathers the nonzeros of `dy` `[m, n]` on `threads` threads; whether
    /// they are few enough for [`input_grad`] to pay with `k` columns of `w`
    /// (nothing is gathered below its size).
    pub(crate) fn of(&mut self, dy: &[T], n: usize, k: usize, threads: usize) -> bool {
        if n == 0 || dy.len().saturating_mul(k) < MIN_MACS || dy.len() > u32::MAX as usize {
            return false;
        }
        // Gathered first and counted from the rows' ends: the gathering is
        // shared among threads, a count before it would not be.
        self.fill(dy, n, threads);
        let stride = self.blocks + 1;
        let ends = self
            .block_start
            .chunks_exact(stride)
            .map(|s| s[self.blocks]);
        let nnz: usize = ends.enumerate().map(|(r, end)| end as usize - r * n).sum();
        nnz as f64 <= MAX_DENSITY * dy.len() as f64
    }

    /// Writes each row's nonzeros into its places, and where its blocks start.
    fn fill(&mut self, dy: &[T], n: usize, threads: usize) {
        self.blocks = n.div_ceil(BLOCK);
        let (m, stride) = (dy.len() / n, self.blocks + 1);
        // Grown to the largest batch seen, never shrunk: no allocation later.
        if self.col.len() < dy.len() {
            self.col.resize(dy.len(), 0);
            self.val.resize(dy.len(), T::ZERO);
        }
        self.block_start.resize(m * stride, 0);
        let per = if threads > 1 { m.div_ceil(threads) } else { m }.max(1);
        let parts = dy.par_chunks(per * n).zip(
            self.col
                .par_chunks_mut(per * n)
                .zip(self.val.par_chunks_mut(per * n))
                .zip(self.block_start.par_chunks_mut(per * stride)),
        );
        parts
            .enumerate()
            .for_each(|(i, (dy, ((col, val), starts)))| {
                let rows = dy
                    .chunks_exact(n)
                    .zip(col.chunks_exact_mut(n).zip(val.chunks_exact_mut(n)))
                    .zip(starts.chunks_exact_mut(stride));
                for (r, ((dy, (col, val)), starts)) in rows.enumerate() {
                    fill_row(dy, col, val, starts, (i * per + r) * n);
                }
            });
    }

    /// The capacity of its buffers (see [`crate::Tape::capacities`]).
    pub(crate) fn capacity(&self) -> usize {
        self.col.capacity() + self.val.capacity() + self.block_start.capacity()
    }

    /// The rows gathered.
    fn rows(&self) -> usize {
        self.block_start.len() / (self.blocks + 1)
    }

    /// The nonzeros from index `from` to `to` of the whole.
    #[inline]
    fn between(&self, from: u32, to: u32) -> (&[u32], &[T]) {
        let (from, to) = (from as usize, to as usize);
        (&self.col[from..to], &self.val[from..to])
    }

    /// Row `r`'s nonzeros.
    #[inline]
    fn row(&self, r: usize) -> (&[u32], &[T]) {
        let stride = self.blocks + 1;
        self.between(
            self.block_start[r * stride],
            self.block_start[r * stride + self.blocks],
        )
    }
}

impl<T: Real> Terms<T> for Rows<T> {
    /// Row `r` of `dx` sums the rows of `w` named in row `r` of `dy`.
    #[inline]
    fn terms(&self, r: usize) -> (&[u32], &[T]) {
        self.row(r)
    }
}

/// One row's nonzeros into its places (`col`, `val`: `n` of them, the first
/// at index `base` of the whole), and where its blocks start. Every element
/// is written and only a nonzero advances: no branch to mispredict (at one
/// in four nonzero, a branch cost 3% of the Table 9 step). A zero lands
/// after the last nonzero, in a place the row owns (there are `n`).
fn fill_row<T: Real>(dy: &[T], col: &mut [u32], val: &mut [T], starts: &mut [u32], base: usize) {
    let mut p = 0;
    for (b, part) in dy.chunks(BLOCK).enumerate() {
        starts[b] = (base + p) as u32;
        for (j, &v) in part.iter().enumerate() {
            col[p] = (b * BLOCK + j) as u32;
            val[p] = v;
            p += usize::from(v != T::ZERO);
        }
    }
    starts[starts.len() - 1] = (base + p) as u32;
}

/// `dx (=|+=) dy · w`, `dx` `[m, k]` and `w` `[n, k]`, with `dy`'s nonzeros
/// gathered by [`Rows::of`], on `threads` threads. The f32 kernel gives each
/// thread its own columns of `dx` (see [`avx::input_grad`]); the portable
/// form, whole rows.
pub(crate) fn input_grad<T: Real>(
    dx: &mut [T],
    add: bool,
    dy: &Rows<T>,
    w: &[T],
    k: usize,
    threads: usize,
) {
    let m = dy.rows();
    if k == 0 || m == 0 {
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if let (Some(dx), Some(w)) = (as_f32_mut(dx), as_f32(w))
        && has_fma()
    {
        // SAFETY: T is f32 (as_f32 said so), so `Rows<T>` is `Rows<f32>`;
        // AVX and FMA are available (checked).
        unsafe {
            let dy = &*(dy as *const Rows<T>).cast::<Rows<f32>>();
            return avx::input_grad(dx, add, dy, w, k, threads);
        }
    }
    split(dx, k, threads, |part, r0| portable(part, r0, add, dy, w, k));
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::{BLOCK, Rows};
    use crate::ops::matmul::avx_rows::{Line, floats_mut, sum_rows};
    use rayon::prelude::*;

    /// `dx` `[m, k]` as the threads of [`input_grad`] share it: each makes
    /// slices of its own columns of every row, which no other thread touches.
    #[derive(Clone, Copy)]
    struct Shared {
        ptr: *mut f32,
        k: usize,
    }

    // SAFETY: the threads holding a `Shared` write disjoint columns (see
    // `Shared::columns`), and `input_grad` holds `dx` mutably borrowed
    // until they are done.
    unsafe impl Send for Shared {}
    unsafe impl Sync for Shared {}

    impl Shared {
        /// Columns `c0..c1` of row `r`.
        ///
        /// # Safety
        /// Row `r` and columns `c0 <= c1 <= k` are in the matrix, and no
        /// other live slice holds any of these columns of row `r`.
        #[allow(clippy::mut_from_ref)]
        unsafe fn columns(&self, r: usize, (c0, c1): (usize, usize)) -> &mut [f32] {
            // SAFETY: in bounds and not aliased (the caller's guarantee).
            unsafe { std::slice::from_raw_parts_mut(self.ptr.add(r * self.k + c0), c1 - c0) }
        }
    }

    /// [`super::input_grad`] for f32, its columns in panels of [`BLOCK`]
    /// shared out among `threads` threads, the last `k % BLOCK` with the
    /// last part. Cut by columns, each thread reads only its columns of `w`
    /// (the largest operand) and copies each block of them once for every
    /// row of `dx`; cut by rows, both threads read all of `w`, and on two
    /// threads the Table 9 net's input gradients ran 1.4× faster instead of
    /// 2×. A column's sums are the same whichever part takes it.
    ///
    /// # Safety
    /// AVX and FMA must be available.
    #[target_feature(enable = "avx,fma")]
    pub(super) unsafe fn input_grad(
        dx: &mut [f32],
        add: bool,
        dy: &Rows<f32>,
        w: &[f32],
        k: usize,
        threads: usize,
    ) {
        let m = dx.len() / k;
        let n = w.len() / k;
        assert!(dx.len() == m * k && w.len() == n * k && m == dy.rows());
        assert!(dy.blocks == n.div_ceil(BLOCK));
        assert!((0..m).all(|r| dy.row(r).0.iter().all(|&j| (j as usize) < n)));
        let panels = k / BLOCK;
        let parts = threads.min(panels).max(1);
        let bounds = |t: usize| {
            let c1 = if t + 1 == parts {
                k
            } else {
                panels * (t + 1) / parts * BLOCK
            };
            (panels * t / parts * BLOCK, c1)
        };
        let dx = Shared {
            ptr: dx.as_mut_ptr(),
            k,
        };
        // SAFETY: the parts' columns are disjoint and cover 0..k; AVX and
        // FMA are available (the caller's guarantee), `w` holds every row
        // `dy` names (asserted).
        let part = |t| unsafe { columns(dx, add, dy, w, bounds(t)) };
        if parts == 1 {
            part(0);
        } else {
            (0..parts).into_par_iter().for_each(part);
        }
    }

    /// Columns `c0..c1` of every row of `dx` (`c0` a multiple of [`BLOCK`]):
    /// in panels of [`BLOCK`], and in each panel the rows of `w` a block of
    /// [`BLOCK`] at a time, copied into a buffer (16 KiB, on the stack) that
    /// every row of `dx` reads while it is in L1. Read in place, the rows of
    /// `w` lie `4·k` bytes apart, a multiple of 4 KiB for k = 1024, and
    /// would evict each other from the cache. The last `(c1 - c0) % BLOCK`
    /// columns read `w` in place.
    ///
    /// # Safety
    /// AVX and FMA must be available; no other thread writes columns
    /// `c0..c1` of `dx`; `w` holds every row `dy` names.
    #[target_feature(enable = "avx,fma")]
    unsafe fn columns(dx: Shared, add: bool, dy: &Rows<f32>, w: &[f32], (c0, c1): (usize, usize)) {
        let (k, m, n) = (dx.k, dy.rows(), w.len() / dx.k);
        let blocks = dy.blocks;
        // SAFETY: row r and columns c0..c1 are in `dx` and this part's alone
        // (the caller's guarantee); one slice of them is live at a time.
        let row = |r: usize| unsafe { dx.columns(r, (c0, c1)) };
        let mut lines = [Line::default(); BLOCK * BLOCK / 16];
        let block = floats_mut(&mut lines);
        let whole = c0 + (c1 - c0) / BLOCK * BLOCK;
        for p0 in (c0..whole).step_by(BLOCK) {
            for b in 0..blocks {
                let rows = BLOCK.min(n - b * BLOCK);
                for (i, dst) in block.chunks_exact_mut(BLOCK).take(rows).enumerate() {
                    let from = (b * BLOCK + i) * k + p0;
                    dst.copy_from_slice(&w[from..from + BLOCK]);
                }
                for r in 0..m {
                    let at = r * (blocks + 1) + b;
                    let (cols, vals) = dy.between(dy.block_start[at], dy.block_start[at + 1]);
                    // The first block writes (or adds onto what was there),
                    // the others add; a block without terms adds nothing.
                    if b > 0 && cols.is_empty() {
                        continue;
                    }
                    let terms = cols.iter().zip(vals).map(|(&j, &v)| {
                        let i = j as usize - b * BLOCK;
                        (v, block.as_ptr().wrapping_add(i * BLOCK))
                    });
                    // SAFETY: columns p0..p0+64 of the row are in its
                    // slice (p0 + 64 <= whole <= c1); each term's `j` is in
                    // block b (`block_start`), so its row of `block` is one
                    // of the `rows` copied.
                    unsafe { sum_rows::<8>(row(r).as_mut_ptr().add(p0 - c0), add || b > 0, terms) };
                }
            }
        }
        if whole == c1 {
            return;
        }
        for r in 0..m {
            let (js, vals) = dy.row(r);
            let out = &mut row(r)[whole - c0..];
            let mut c = whole;
            for chunk in out.chunks_mut(8) {
                if chunk.len() == 8 {
                    let terms = js.iter().zip(vals);
                    let terms =
                        terms.map(|(&j, &v)| (v, w.as_ptr().wrapping_add(j as usize * k + c)));
                    // SAFETY: columns c..c+8 are in the chunk and in each
                    // named row of `w` (c + 8 <= c1 <= k, j < n).
                    unsafe { sum_rows::<1>(chunk.as_mut_ptr(), add, terms) };
                } else {
                    for (i, d) in chunk.iter_mut().enumerate() {
                        let init = if add { *d } else { 0.0 };
                        let terms = js.iter().zip(vals);
                        *d =
                            terms.fold(init, |s, (&j, &v)| v.mul_add(w[j as usize * k + c + i], s));
                    }
                }
                c += 8;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::sparse_rows::{assert_near, test_cast};
    use super::*;
    use faer::{Accum, MatMut, MatRef, Par};

    /// `dy · w` by faer.
    fn dense(dy: &[f64], w: &[f64], m: usize, n: usize, k: usize) -> Vec<f64> {
        let mut out = vec![0.0; m * k];
        let lhs = MatRef::from_row_major_slice(dy, m, n);
        let rhs = MatRef::from_row_major_slice(w, n, k);
        let dst = MatMut::from_row_major_slice_mut(&mut out, m, k);
        faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
        out
    }

    /// `dy` with about one value in `keep` nonzero, and `w`.
    fn operands(m: usize, n: usize, k: usize, keep: usize) -> (Vec<f64>, Vec<f64>) {
        super::super::sparse_rows::test_operands(m, n, n, k, keep)
    }

    /// The kernel (whatever `of` would decide) against faer, replacing and
    /// adding, on one thread and on three (the same bits).
    fn check<T: Real>(m: usize, n: usize, k: usize, keep: usize) {
        let (dy, w) = operands(m, n, k, keep);
        let want = dense(&dy, &w, m, n, k);
        let to = test_cast::<T>;
        let mut rows = Rows::default();
        let taken = rows.of(&to(&dy), n, k, 1);
        assert_eq!(
            taken,
            m * n * k >= MIN_MACS && keep >= 4,
            "{m}x{n}x{k} 1/{keep}"
        );
        rows.fill(&to(&dy), n, 1);
        let mut dx = vec![T::from_f64(f64::NAN); m * k];
        input_grad(&mut dx, false, &rows, &to(&w), k, 1);
        let tol = if size_of::<T>() == 4 { 1e-5 } else { 1e-12 };
        assert_near(&dx, &want, tol, &format!("{m}x{n}x{k} 1/{keep}"));
        // Parts take whole columns (f32) or rows: the same bits; a part
        // dropped leaves NaN, a part done twice doubles it in the sum below.
        for threads in [2, 3] {
            let mut rows = Rows::default();
            assert_eq!(rows.of(&to(&dy), n, k, threads), taken);
            let mut threaded = vec![T::from_f64(f64::NAN); m * k];
            rows.fill(&to(&dy), n, threads);
            input_grad(&mut threaded, false, &rows, &to(&w), k, threads);
            assert!(threaded == dx, "{m}x{n}x{k}: {threads} threads differ");
        }
        input_grad(&mut dx, true, &rows, &to(&w), k, 3);
        for (i, (g, w)) in dx.iter().zip(&want).enumerate() {
            assert!(
                (g.to_f64() - 2.0 * w).abs() <= 2.0 * tol * (1.0 + w.abs()),
                "added [{i}]"
            );
        }
    }

    /// Through the tape: a linear layer behind dropout (a quarter of its
    /// output gradient nonzero) passes back to its input the gradient of the
    /// dense product, in f32 (the kernel) and f64 (the portable form).
    fn through_the_tape<T: Real>() {
        use crate::{DropoutMode, Params, Phase, Tape, Tensor};
        use rand::SeedableRng;
        let (m, k, n) = (64, 300, 256);
        assert!(m * k * n >= MIN_MACS);
        let value = |r: usize, c: usize, s: usize| {
            T::from_f64(((r * 31 + c * 7 + s) % 19) as f64 / 19.0 - 0.5)
        };
        let mut params = Params::<T>::new();
        let w0 = params
            .add("w0", Tensor::from_fn(k, 40, |r, c| value(r, c, 1)))
            .unwrap();
        let w1 = params
            .add("w1", Tensor::from_fn(n, k, |r, c| value(r, c, 2)))
            .unwrap();
        let x = Tensor::from_fn(m, 40, |r, c| value(r, c, 3));
        let mut tape = Tape::new();
        let xi = tape.input(&x);
        let h = tape.linear_param(&params, xi, w0, None).unwrap();
        let z = tape.linear_param(&params, h, w1, None).unwrap();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        let d = tape
            .dropout(z, 0.75, DropoutMode::Inverted, Phase::Train, &mut rng)
            .unwrap();
        let loss = tape.sum(d).unwrap();
        tape.backward_replacing(loss, &mut params).unwrap();
        let f64s = |v: &[T]| v.iter().map(|v| v.to_f64()).collect::<Vec<f64>>();
        let dz = f64s(tape.grad(z).unwrap().unwrap());
        let nonzero = dz.iter().filter(|&&v| v != 0.0).count();
        assert!(nonzero > 0 && (nonzero as f64) < MAX_DENSITY * dz.len() as f64);
        let want = dense(&dz, &f64s(params.value(w1).as_slice()), m, n, k);
        let tol = if size_of::<T>() == 4 { 1e-5 } else { 1e-12 };
        let got = f64s(tape.grad(h).unwrap().unwrap());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() <= tol * (1.0 + w.abs()), "[{i}]: {g} vs {w}");
        }
    }

    #[test]
    fn a_layer_behind_dropout_passes_back_the_dense_gradient() {
        through_the_tape::<f32>();
        through_the_tape::<f64>();
    }

    #[test]
    fn matches_the_dense_product_over_every_remainder() {
        for (m, n, k) in [
            (1, 1, 1),
            (3, 5, 7),
            (4, 8, 64),
            (9, 70, 137),
            (5, 129, 200),
            (100, 256, 1024),
            (40, 1024, 200),
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
        let (dy, w) = operands(m, n, k, keep);
        let want = dense(&dy, &w, m, n, k);
        let to = test_cast::<f32>;
        let mut rows = Rows::default();
        rows.fill(&to(&dy), n, 1);
        let mut dx = vec![f32::NAN; m * k];
        portable(&mut dx, 0, false, &rows, &to(&w), k);
        assert_near(&dx, &want, 1e-5, &format!("portable {m}x{n}x{k}"));
    }

    /// The buffers keep what a bigger batch left (as an epoch's last, short
    /// batch finds them); only the rows' own places are read.
    #[test]
    fn a_smaller_batch_after_a_bigger_one() {
        let mut rows = Rows::<f32>::default();
        let (n, k) = (130, 72);
        for m in [64, 5] {
            let (dy, w) = operands(m, n, k, 3);
            let want = dense(&dy, &w, m, n, k);
            let to = test_cast::<f32>;
            rows.fill(&to(&dy), n, 2);
            let mut dx = vec![f32::NAN; m * k];
            input_grad(&mut dx, false, &rows, &to(&w), k, 1);
            assert_near(&dx, &want, 1e-5, &format!("m {m}"));
        }
    }
}
