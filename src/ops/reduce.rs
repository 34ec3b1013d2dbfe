//! Reductions to a scalar: the penalties `l1`, `l2`, `sumsq`, and `sum`, `mean`.

use super::emit;
use crate::error::Result;
use crate::real::Real;
use crate::tape::{Back, Node, NodeId, Op, Tape};

impl<T: Real> Tape<T> {
    /// `Σ|x|` over every element (the L1 penalty). Its gradient at 0 is 0.
    pub fn l1(&mut self, x: NodeId) -> Result<NodeId> {
        self.reduce(x, Op::L1(x), |v| {
            v.iter().fold(T::ZERO, |s, &v| s + v.abs())
        })
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
        self.reduce(x, Op::Sum(x), |v| v.iter().fold(T::ZERO, |s, &v| s + v))
    }

    /// The mean of every element (0 for an empty tensor).
    pub fn mean(&mut self, x: NodeId) -> Result<NodeId> {
        self.reduce(x, Op::Mean(x), |v| {
            if v.is_empty() {
                T::ZERO
            } else {
                v.iter().fold(T::ZERO, |s, &v| s + v) / T::from_f64(v.len() as f64)
            }
        })
    }
}

fn sum_sq<T: Real>(v: &[T]) -> T {
    v.iter().fold(T::ZERO, |s, &v| s + v * v)
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

pub(crate) fn l1_backward<T: Real>(mut b: Back<'_, T>, gy: T, x: NodeId) {
    if let Some((v, g, overwrite)) = b.value_grad_dst(x) {
        emit(g, overwrite, v.iter().map(|&v| gy * sign(v)));
    }
}

pub(crate) fn l2_backward<T: Real>(mut b: Back<'_, T>, node: &Node<T>, gy: T, x: NodeId) {
    let norm = b.values[node.off];
    // The kink at 0 gets a zero gradient (as in PyTorch).
    let k = if norm == T::ZERO { T::ZERO } else { gy / norm };
    if let Some((v, g, overwrite)) = b.value_grad_dst(x) {
        emit(g, overwrite, v.iter().map(|&v| k * v));
    }
}

pub(crate) fn sumsq_backward<T: Real>(mut b: Back<'_, T>, gy: T, x: NodeId) {
    let k = gy + gy;
    if let Some((v, g, overwrite)) = b.value_grad_dst(x) {
        emit(g, overwrite, v.iter().map(|&v| k * v));
    }
}

/// Sum and mean: every element gets `gy · k`.
pub(crate) fn sum_backward<T: Real>(mut b: Back<'_, T>, gy: T, x: NodeId, k: T) {
    if let Some((_, g, overwrite)) = b.value_grad_dst(x) {
        let d = gy * k;
        emit(g, overwrite, std::iter::repeat(d));
    }
}
