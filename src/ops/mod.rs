//! The ops: each family records its forward on the [`Tape`] and knows its backward.
//!
//! Every op is a method of `Tape` returning the new node (or a typed error for
//! bad shapes or labels); its backward, `fn(&mut Back, the variant's fields)`,
//! writes or adds into the gradients of its inputs. Adding an op is a variant
//! of `Op`, its file here and one arm in `Tape::backward_node`. Matrix products
//! go through [`matmul`], which picks the kernel.

pub mod activation;
pub mod batch_norm;
pub mod conv;
pub mod dropout;
pub mod dropout2d;
pub mod elementwise;
pub mod linear;
pub mod loss;
pub(crate) mod matmul;
pub mod pool;
pub mod reduce;

use crate::error::Result;
use crate::real::Real;
use crate::tape::{NodeId, Op, Tape};
use rayon::prelude::*;

/// One element of an element-wise pass, against a multiply-add, for
/// `Products::parts`: on several threads such a pass is shared out from
/// 2^16 elements. LeNet's second ReLU (10^5 elements a batch) is so shared
/// like the convolution before it and the pooling after, each thread
/// keeping to its own samples, whose values are in its cache: the
/// two-thread `lenet` example measured 5% faster than with the ReLU on one
/// thread (the line at 2^17). The MNIST net's (8·10^3) is not shared.
pub(crate) const ELEMENTWISE_COST: usize = 32;

/// `out[i] = f(x[i])`, in one part per thread from [`ELEMENTWISE_COST`]'s
/// size on (the same numbers however it is split).
pub(crate) fn map_into<T: Real>(parts: usize, out: &mut [T], x: &[T], f: impl Fn(T) -> T + Sync) {
    let one = |out: &mut [T], x: &[T]| out.iter_mut().zip(x).for_each(|(o, &v)| *o = f(v));
    if parts <= 1 {
        return one(out, x);
    }
    let per = x.len().div_ceil(parts).max(1);
    out.par_chunks_mut(per)
        .zip(x.par_chunks(per))
        .for_each(|(out, x)| one(out, x));
}

impl<T: Real> Tape<T> {
    /// Records `f` applied to every element of `x`.
    pub(crate) fn map(
        &mut self,
        x: NodeId,
        op: Op<T>,
        f: impl Fn(T) -> T + Sync,
    ) -> Result<NodeId> {
        let n = *self.node(x)?;
        let len = n.rows * n.cols;
        let parts = self.products.parts(len, len * ELEMENTWISE_COST);
        let id = self.push_uninit(op, n.rows, n.cols, n.needs_grad);
        let (before, out) = self.io(id);
        map_into(parts, out, &before[n.range()], f);
        Ok(id)
    }

    /// Records a `1x1` node computed from all of `x`.
    pub(crate) fn reduce(&mut self, x: NodeId, op: Op<T>, f: impl Fn(&[T]) -> T) -> Result<NodeId> {
        let n = *self.node(x)?;
        let id = self.push_uninit(op, 1, 1, n.needs_grad);
        let (before, out) = self.io(id);
        out[0] = f(&before[n.range()]);
        Ok(id)
    }
}
