//! Reductions to a scalar: the penalties `l1`, `l2`, `sumsq`, and `sum`, `mean`.

use crate::error::Result;
use crate::real::Real;
use crate::tape::{Back, NodeId, Op, Tape};

impl<T: Real> Tape<T> {
    /// `Σ|x|` over every element (the L1 penalty). Its gradient at 0 is 0.
    pub fn l1(&mut self, x: NodeId) -> Result<NodeId> {
        self.reduce(x, Op::L1(x), |v| sum_of(v, |v| v.abs()))
    }

    /// `sqrt(Σx²)`, the Euclidean norm (not its square: see [`Tape::sumsq`]).
    /// Its gradient `x/‖x‖` is defined as 0 at `x = 0`, where the norm has a
    /// kink; this matches PyTorch's `torch.norm` backward.
    pub fn l2(&mut self, x: NodeId) -> Result<NodeId> {
        self.reduce(x, Op::L2(x), |v| sum_sq(v).sqrt())
    }

    /// `Σx²`, the squared norm (weight-decay style penalty).
    pub fn sumsq(&mut self, x: NodeId) -> Result<NodeId> {
        self.reduce(x, Op::SumSq(x), sum_sq)
    }

    /// `Σx` over every element.
    pub fn sum(&mut self, x: NodeId) -> Result<NodeId> {
        self.reduce(x, Op::Sum(x), |v| sum_of(v, |v| v))
    }

    /// The mean of every element (0 for an empty tensor).
    pub fn mean(&mut self, x: NodeId) -> Result<NodeId> {
        self.reduce(x, Op::Mean(x), |v| {
            if v.is_empty() {
                T::ZERO
            } else {
                sum_of(v, |v| v) / T::from_f64(v.len() as f64)
            }
        })
    }
}

fn sum_sq<T: Real>(v: &[T]) -> T {
    sum_of(v, |v| v * v)
}

/// `Σ f(v)` as sixteen interleaved partial sums combined pairwise, in a fixed
/// order (deterministic): the adds do not wait on each other, so the loop
/// vectorizes (one running sum is bound by add latency, ~1 ns per element),
/// and rounding error grows more slowly than in one long sum.
fn sum_of<T: Real>(v: &[T], f: impl Fn(T) -> T) -> T {
    let mut acc = [T::ZERO; 16];
    let chunks = v.chunks_exact(16);
    let mut tail = T::ZERO;
    for &x in chunks.remainder() {
        tail += f(x);
    }
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += f(x);
        }
    }
    let mut width = acc.len();
    while width > 1 {
        width /= 2;
        for i in 0..width {
            acc[i] += acc[i + width];
        }
    }
    acc[0] + tail
}

fn sign<T: Real>(v: T) -> T {
    if v > T::ZERO {
        T::ONE
    } else if v < T::ZERO {
        -T::ONE
    } else {
        T::ZERO
    }
}

pub(crate) fn l1_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    let (gy, v) = (b.gy0(), b.value(x));
    if let Some(d) = b.grads.of(x) {
        d.emit(v.iter().map(|&v| gy * sign(v)));
    }
}

pub(crate) fn l2_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    let (gy, norm, v) = (b.gy0(), b.y()[0], b.value(x));
    // The kink at 0 gets a zero gradient (as in PyTorch).
    let k = if norm == T::ZERO { T::ZERO } else { gy / norm };
    if let Some(d) = b.grads.of(x) {
        d.emit(v.iter().map(|&v| k * v));
    }
}

pub(crate) fn sumsq_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    let (gy, v) = (b.gy0(), b.value(x));
    let k = gy + gy;
    if let Some(d) = b.grads.of(x) {
        d.emit(v.iter().map(|&v| k * v));
    }
}

/// Every element gets `gy`.
pub(crate) fn sum_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    spread(b, x, T::ONE);
}

/// Every element gets `gy / n`.
pub(crate) fn mean_backward<T: Real>(b: &mut Back<'_, T>, x: NodeId) {
    let n = b.node(x).len();
    spread(b, x, T::ONE / T::from_f64(n as f64));
}

/// Every element of x gets `gy · k`.
fn spread<T: Real>(b: &mut Back<'_, T>, x: NodeId, k: T) {
    let d = b.gy0() * k;
    if let Some(dst) = b.grads.of(x) {
        dst.emit(std::iter::repeat(d));
    }
}

#[cfg(test)]
mod tests {
    use super::sum_of;

    #[test]
    fn sum_of_matches_a_plain_sum_at_every_length() {
        // Integers: every partial sum is exact, so any order gives the same.
        for len in 0..70 {
            let v: Vec<f32> = (0..len).map(|i| (i % 7) as f32 - 3.0).collect();
            let plain: f32 = v.iter().map(|x| x.abs()).sum();
            assert_eq!(sum_of(&v, |x| x.abs()), plain, "len {len}");
        }
        // A long f32 sum in lanes is closer to the exact one than one running sum.
        let v: Vec<f32> = (0..1_000_000).map(|i| 0.1 + (i % 3) as f32).collect();
        let exact: f64 = v.iter().map(|&x| x as f64).sum();
        let serial = v.iter().fold(0f32, |s, &x| s + x) as f64;
        let lanes = sum_of(&v, |x| x) as f64;
        assert!(
            (lanes - exact).abs() < (serial - exact).abs() / 4.0,
            "lanes {lanes}, serial {serial}, exact {exact}"
        );
    }
}
