//! Matrix products: every choice between faer, the register loops for small
//! products ([`small_loops`]) and the sparse weight gradient
//! ([`sparse_weight_grad`]) is made here, with the threads and the workspace
//! they use. The ops (`ops/linear.rs`) say what to multiply, never how.

mod avx_rows;
pub(crate) mod small_loops;
pub(crate) mod sparse_weight_grad;

use crate::real::Real;
use faer::{Accum, MatMut, MatRef, Par};
use sparse_weight_grad::Columns;

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

/// The threads products may use, and the workspace of the sparse weight
/// gradient (kept between passes, so a step allocates nothing).
#[derive(Debug)]
pub(crate) struct Products<T> {
    par: Par,
    threads: usize,
    columns: Columns<T>,
    /// Scratch space the ops lend themselves around their products (the
    /// convolution's unfolded patches), one buffer per part of a batch split
    /// across threads, kept between passes.
    pub(crate) scratch: Vec<Vec<T>>,
}

impl<T: Real> Default for Products<T> {
    fn default() -> Self {
        Products {
            par: Par::Seq,
            threads: 1,
            columns: Columns::default(),
            scratch: Vec::new(),
        }
    }
}

impl<T: Real> Products<T> {
    /// Lets large products use `threads` threads of rayon's current pool.
    pub(crate) fn set_threads(&mut self, threads: usize) {
        self.threads = threads.max(1);
        self.par = if threads <= 1 {
            Par::Seq
        } else {
            Par::rayon(threads)
        };
    }

    /// The capacity of the workspace (see [`crate::Tape::capacities`]).
    pub(crate) fn capacity(&self) -> usize {
        let scratch: usize = self.scratch.iter().map(Vec::capacity).sum();
        self.columns.capacity() + scratch + self.scratch.capacity()
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
            self.threads.min(n).max(1)
        }
    }

    /// Single-threaded below a size where threads pay off.
    fn par_for(&self, m: usize, k: usize, n: usize) -> Par {
        if m.saturating_mul(k).saturating_mul(n) < PAR_MIN_FLOPS {
            Par::Seq
        } else {
            self.par
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
        let par = self.par_for(lhs.nrows(), lhs.ncols(), rhs.ncols());
        matmul(dst, accum, lhs, rhs, par);
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
    /// `w` `[n, k]`.
    pub(crate) fn dy_w(
        &self,
        dx: &mut [T],
        accum: Accum,
        dy: &[T],
        w: &[T],
        (m, k, n): (usize, usize, usize),
    ) {
        if small_loops::fits(m, k, n) {
            return small_loops::axpy_rows(dx, k, accum == Accum::Add, dy, (n, 1), w);
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
        } else if self.columns.of(dy, n, k) {
            let par = self.par_for(m, k, n);
            sparse_weight_grad::weight_grad(dw, add, &self.columns, x, k, par);
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
