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

impl<T: Real> Tape<T> {
    /// Records `f` applied to every element of `x`.
    pub(crate) fn map(&mut self, x: NodeId, op: Op<T>, f: impl Fn(T) -> T) -> Result<NodeId> {
        let n = *self.node(x)?;
        let id = self.push_uninit(op, n.rows, n.cols, n.needs_grad);
        let (before, out) = self.io(id);
        for (o, &v) in out.iter_mut().zip(&before[n.range()]) {
            *o = f(v);
        }
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
