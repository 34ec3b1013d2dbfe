//! Matrix products: every choice between faer, the register loops for small
//! products ([`small_loops`]) and the sparse gradients of a linear layer
//! ([`sparse_weight_grad`], [`sparse_input_grad`]) is made here, with the
//! threads and the workspace they use. The ops (`ops/linear.rs`) say what to multiply, never how.

mod avx_rows;
pub(crate) mod small_loops;
pub(crate) mod sparse_input_grad;
mod sparse_rows;
pub(crate) mod sparse_weight_grad;

use crate::real::Real;
use faer::{Accum, MatMut, MatRef, Par};
use sparse_input_grad::Rows;
use sparse_weight_grad::Columns;
use std::sync::atomic::{AtomicBool, Ordering};

/// Below this many multiply-adds (about 0.2 ms of one core here) a product
/// runs on one thread: handing half of it to another thread costs a wake-up
/// and a wait, which on this shared 2-core machine cost more than the half
/// saved. Measured with `netc train models/mnist.net --epochs 1`, runs
/// alternating: at 2^20 its 64x784x128 products (6.4M) were split and the
/// epoch took 1.4-2.8 s on two threads against 0.53-0.82 s on one; at 2^23
/// two threads took 0.73-0.76 s against 0.80-0.86 s. LeNet's largest
/// products (15.4M, `examples/lenet`) gained nothing split (6% slower), so
/// the line is above them too; the wide products of big layers still split.
const PAR_MIN_FLOPS: usize = 1 << 24;

/// Below this many multiply-adds an op's batch is not split into parts, one a
/// thread (see [`Products::parts`]). Parts share nothing until their results
/// are joined, so they pay off far below [`PAR_MIN_FLOPS`]: LeNet's
/// convolutions (7.5M and 15.4M multiply-adds a pass at batch 64) split.
const SPLIT_MIN_FLOPS: usize = 1 << 21;

/// The threads products may use, and the workspace of the sparse gradients
/// (kept between passes, so a step allocates nothing).
#[derive(Debug)]
pub(crate) struct Products<T> {
    threads: usize,
    columns: Columns<T>,
    rows: Rows<T>,
    /// `x` packed for the sparse weight gradient's f32 kernel.
    panels: Vec<avx_rows::Line>,
    /// Scratch space the ops lend themselves around their products (the
    /// convolution's unfolded patches), one buffer per part of a batch split
    /// across threads, kept between passes.
    pub(crate) scratch: Vec<Vec<T>>,
    /// Some work was shared among threads (see [`Products::shared_out`]).
    shared: AtomicBool,
    /// Some batch was split into parts (see [`Products::threads_for`]).
    split_batches: AtomicBool,
}

impl<T: Real> Default for Products<T> {
    fn default() -> Self {
        Products {
            threads: 1,
            columns: Columns::default(),
            rows: Rows::default(),
            panels: Vec::new(),
            scratch: Vec::new(),
            shared: AtomicBool::new(false),
            split_batches: AtomicBool::new(false),
        }
    }
}

impl<T: Real> Products<T> {
    /// Lets large products use `threads` threads of rayon's current pool.
    pub(crate) fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
        self.split_batches = AtomicBool::new(false);
    }

    /// The capacity of the workspace (see [`crate::Tape::capacities`]).
    pub(crate) fn capacity(&self) -> usize {
        let scratch: usize = self.scratch.iter().map(Vec::capacity).sum();
        self.columns.capacity()
            + self.rows.capacity()
            + self.panels.capacity() * 16
            + scratch
            + self.scratch.capacity()
    }

    /// Into how many parts to split a batch of `n` samples, each part on a
    /// thread of its own with products on that thread alone
    /// ([`product_seq`]): one (no split) on one thread, or below
    /// [`SPLIT_MIN_FLOPS`] of work in all, which takes longer to hand over
    /// than to do.
    pub(crate) fn parts(&self, n: usize, flops: usize) -> usize {
        if self.threads <= 1 || flops < SPLIT_MIN_FLOPS {
            1
        } else {
            let parts = self.shares(self.threads.min(n).max(1));
            if parts > 1 {
                self.split_batches.store(true, Ordering::Relaxed);
            }
            parts
        }
    }

    /// Whether any decision of [`Products::parts`] or of a product's threads
    /// has given more than one thread work since this was last asked.
    pub(crate) fn take_shared_out(&self) -> bool {
        self.shared.swap(false, Ordering::Relaxed)
    }

    /// `threads`, noted for [`Products::take_shared_out`] when more than one.
    fn shares(&self, threads: usize) -> usize {
        if threads > 1 {
            self.shared.store(true, Ordering::Relaxed);
        }
        threads
    }

    /// The threads an `[m, k] · [k, n]` product takes: one below a size
    /// where threads pay off. That size is [`PAR_MIN_FLOPS`], unless this
    /// tape has split a batch into parts since its threads were set: such a
    /// net keeps the pool's threads at work through its step (a trainer
    /// keeps them [`crate::tape::awake`]), so a product pays off split from
    /// the size a batch does ([`SPLIT_MIN_FLOPS`]). LeNet's first linear
    /// layer (3.1M multiply-adds a pass) then splits; the MNIST net, which
    /// splits nothing, keeps its products on one thread.
    fn threads_for(&self, m: usize, k: usize, n: usize) -> usize {
        let min = if self.split_batches.load(Ordering::Relaxed) {
            SPLIT_MIN_FLOPS
        } else {
            PAR_MIN_FLOPS
        };
        if m.saturating_mul(k).saturating_mul(n) < min {
            1
        } else {
            self.shares(self.threads)
        }
    }

    /// `dst (=|+=) lhs · rhs` on faer, any operand transposed (a view).
    pub(crate) fn product(
        &self,
        dst: MatMut<'_, T>,
        accum: Accum,
        lhs: MatRef<'_, T>,
        rhs: MatRef<'_, T>,
    ) {
        let threads = self.threads_for(lhs.nrows(), lhs.ncols(), rhs.ncols());
        split_product(dst, accum, lhs, rhs, threads);
    }

    /// A linear layer's forward: `out = x · wᵀ (+ bias on every row)`, `x`
    /// `[m, k]` and `w` `[n, k]` row-major. Small products take the register
    /// loops. For faer the bias is written first and the product added onto
    /// it, so it costs no extra pass.
    pub(crate) fn x_wt(
        &self,
        out: &mut [T],
        x: &[T],
        w: &[T],
        (m, k, n): (usize, usize, usize),
        bias: Option<&[T]>,
    ) {
        if small_loops::fits(m, k, n) {
            return small_loops::nt(out, x, w, (k, n), bias, false);
        }
        let x = MatRef::from_row_major_slice(x, m, k);
        let w = MatRef::from_row_major_slice(w, n, k);
        let accum = match bias {
            Some(b) if n > 0 => {
                for row in out.chunks_exact_mut(n) {
                    row.copy_from_slice(b);
                }
                Accum::Add
            }
            _ => Accum::Replace,
        };
        let dst = MatMut::from_row_major_slice_mut(out, m, n);
        self.product(dst, accum, x, w.transpose());
    }

    /// A linear layer's input gradient: `dx (=|+=) dy · w`, `dy` `[m, n]`,
    /// `w` `[n, k]`: the register loops when small, the sparse kernel when
    /// enough of `dy` is zero to pay, else faer.
    pub(crate) fn dy_w(
        &mut self,
        dx: &mut [T],
        accum: Accum,
        dy: &[T],
        w: &[T],
        (m, k, n): (usize, usize, usize),
    ) {
        if small_loops::fits(m, k, n) {
            return small_loops::axpy_rows(dx, k, accum == Accum::Add, dy, (n, 1), w);
        }
        let threads = self.threads_for(m, k, n);
        if self.rows.of(dy, n, k, threads) {
            let add = accum == Accum::Add;
            return sparse_input_grad::input_grad(dx, add, &self.rows, w, k, threads);
        }
        let dst = MatMut::from_row_major_slice_mut(dx, m, k);
        let dy = MatRef::from_row_major_slice(dy, m, n);
        self.product(dst, accum, dy, MatRef::from_row_major_slice(w, n, k));
    }

    /// A linear layer's weight gradient: `dw (=|+=) dyᵀ · x`, `dw` `[n, k]`,
    /// `x` `[m, k]`: the register loops when small, the sparse kernel when
    /// enough of `dy` is zero to pay, else faer.
    pub(crate) fn dyt_x(
        &mut self,
        dw: &mut [T],
        accum: Accum,
        dy: &[T],
        x: &[T],
        (m, k, n): (usize, usize, usize),
    ) {
        let add = accum == Accum::Add;
        if small_loops::fits(m, k, n) {
            small_loops::axpy_rows(dw, k, add, dy, (1, n), x);
        } else if self.columns.of(dy, n, k, self.threads_for(m, k, n)) {
            let threads = self.threads_for(m, k, n);
            let (cols, panels) = (&self.columns, &mut self.panels);
            sparse_weight_grad::weight_grad(dw, add, cols, x, k, threads, panels);
        } else {
            let dst = MatMut::from_row_major_slice_mut(dw, n, k);
            let dy = MatRef::from_row_major_slice(dy, m, n);
            self.product(
                dst,
                accum,
                dy.transpose(),
                MatRef::from_row_major_slice(x, m, k),
            );
        }
    }
}

/// `dst (=|+=) lhs · rhs` on faer, on the calling thread: for work that is
/// already split across threads.
pub(crate) fn product_seq<T: Real>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
) {
    matmul(dst, accum, lhs, rhs, Par::Seq);
}

/// A part of a split product's destination is at least this many rows or
/// columns wide, and a multiple of it (faer's kernels work in tiles of 24 by
/// 4 or 8; a ragged cut would leave a thin tail to each part).
const SPLIT_ALIGN: usize = 32;

/// `dst (=|+=) lhs · rhs` in `parts` parts, one a thread of rayon's current
/// pool, each a one-thread faer product: `dst` is cut across its longer side
/// (a linear layer's units, or its inputs for the input gradient), so each
/// part reads its share of the weight and all of the (small) batch.
///
/// Why not faer's own threads (`Par::Rayon`): they meet at spinning
/// barriers inside every product. At the Table 9 net's shapes (batch 100)
/// one thread did most of the work while the other waited, and on a busy
/// machine a descheduled thread stalled the barrier; the step ran 1.44×
/// faster on two threads where faer's 1024³ product ran 2.2× faster. With
/// `rayon::join` a part no other thread has taken yet is done by the thread
/// that made it. Each part is a fixed range, so the result depends on
/// `parts` alone.
fn split_product<T: Real>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    parts: usize,
) {
    let long = dst.nrows().max(dst.ncols());
    if parts <= 1 || long < 2 * SPLIT_ALIGN {
        return matmul(dst, accum, lhs, rhs, Par::Seq);
    }
    let first = parts / 2;
    let at = (long * first / parts)
        .next_multiple_of(SPLIT_ALIGN)
        .min(long - SPLIT_ALIGN);
    let (a, b) = if dst.ncols() >= dst.nrows() {
        let (d0, d1) = dst.split_at_col_mut(at);
        let (r0, r1) = rhs.split_at_col(at);
        ((d0, lhs, r0), (d1, lhs, r1))
    } else {
        let (d0, d1) = dst.split_at_row_mut(at);
        let (l0, l1) = lhs.split_at_row(at);
        ((d0, l0, rhs), (d1, l1, rhs))
    };
    rayon::join(
        || split_product(a.0, accum, a.1, a.2, first),
        || split_product(b.0, accum, b.1, b.2, parts - first),
    );
}

/// faer's product, then [`clean_upper_simd`].
fn matmul<T: Real>(
    dst: MatMut<'_, T>,
    accum: Accum,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    par: Par,
) {
    faer::linalg::matmul::matmul(dst, accum, lhs, rhs, T::ONE, par);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `[rows, cols]` of numbers exact in f32, varied by `seed`.
    fn matrix(rows: usize, cols: usize, seed: usize) -> Vec<f32> {
        (0..rows * cols)
            .map(|i| ((i * 37 + seed * 11) % 29) as f32 / 16.0 - 0.875)
            .collect()
    }

    /// A decision that gives work to several threads is remembered; one
    /// thread, or work too small to split, leaves nothing to remember; asking
    /// forgets.
    #[test]
    fn sharing_out_is_noted_only_when_it_happens() {
        let mut pr = Products::<f32>::default();
        pr.set_threads(1);
        assert_eq!(pr.parts(64, 1 << 30), 1);
        assert_eq!(pr.threads_for(1 << 10, 1 << 10, 1 << 10), 1);
        pr.set_threads(2);
        assert_eq!(pr.parts(64, SPLIT_MIN_FLOPS - 1), 1);
        assert_eq!(pr.threads_for(1, 1, PAR_MIN_FLOPS - 1), 1);
        assert!(!pr.take_shared_out());
        assert_eq!(pr.parts(64, SPLIT_MIN_FLOPS), 2);
        assert!(pr.take_shared_out());
        assert!(!pr.take_shared_out(), "asked once");
        let pr = Products::<f32> {
            threads: 2,
            ..Products::default()
        };
        assert_eq!(pr.threads_for(1, 1, PAR_MIN_FLOPS), 2);
        assert!(pr.take_shared_out());
    }

    /// Products split from [`PAR_MIN_FLOPS`] until a batch has been split
    /// into parts, from [`SPLIT_MIN_FLOPS`] after, until the threads are set
    /// again; on one thread never.
    #[test]
    fn products_split_smaller_once_a_batch_has_been_split() {
        let mut pr = Products::<f32>::default();
        pr.set_threads(2);
        assert_eq!(pr.threads_for(1, 1, SPLIT_MIN_FLOPS), 1);
        assert_eq!(pr.parts(1, SPLIT_MIN_FLOPS), 1, "one sample: no split");
        assert_eq!(pr.threads_for(1, 1, SPLIT_MIN_FLOPS), 1);
        assert_eq!(pr.parts(64, SPLIT_MIN_FLOPS), 2);
        assert_eq!(pr.threads_for(1, 1, SPLIT_MIN_FLOPS - 1), 1);
        assert_eq!(pr.threads_for(1, 1, SPLIT_MIN_FLOPS), 2);
        assert_eq!(
            pr.threads_for(64, 400, 120),
            2,
            "LeNet's first linear layer"
        );
        pr.set_threads(2);
        assert_eq!(pr.threads_for(1, 1, SPLIT_MIN_FLOPS), 1);
        pr.set_threads(1);
        assert_eq!(pr.parts(64, 1 << 30), 1);
        assert_eq!(pr.threads_for(1 << 10, 1 << 10, 1 << 10), 1);
    }

    /// Cut into 2 or 3 parts on two threads, a product (`x · wᵀ`, `w`
    /// transposed as a view, replacing or adding) is faer's on one thread to
    /// rounding, and the same bits every time for the same number of parts.
    #[test]
    fn a_split_product_is_the_product_and_depends_on_its_parts_alone() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        for (m, k, n) in [(100, 70, 300), (300, 50, 100), (64, 33, 64), (5, 7, 3)] {
            let (x, w) = (matrix(m, k, 1), matrix(n, k, 2));
            let x_ = MatRef::from_row_major_slice(&x, m, k);
            let w_ = MatRef::from_row_major_slice(&w, n, k).transpose();
            for accum in [Accum::Replace, Accum::Add] {
                let mut want = matrix(m, n, 3);
                let dst = MatMut::from_row_major_slice_mut(&mut want, m, n);
                matmul(dst, accum, x_, w_, Par::Seq);
                for parts in [2, 3] {
                    let split = || {
                        let mut got = matrix(m, n, 3);
                        let dst = MatMut::from_row_major_slice_mut(&mut got, m, n);
                        pool.install(|| split_product(dst, accum, x_, w_, parts));
                        got
                    };
                    let got = split();
                    for (g, w) in got.iter().zip(&want) {
                        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{m}x{k}x{n}");
                    }
                    assert!(split() == got, "{m}x{k}x{n} in {parts} parts");
                }
            }
        }
    }
}
