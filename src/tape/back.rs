//! What an op's backward sees ([`Back`]) and where it writes: [`Grads::of`]
//! gives the destination ([`Dst`]) of any input's gradient, on the tape or in
//! the parameter store, to write the first time and add to after.

use super::{Arg, Node, NodeId, Op};
use crate::ops::matmul::Products;
use crate::params::Params;
use crate::real::Real;
use faer::Accum;

/// What an op's backward sees: its node and that node's gradient `gy`, every
/// value, the side buffers, where its inputs' gradients go, and the products.
pub(crate) struct Back<'a, T> {
    pub out: &'a Node<T>,
    pub gy: &'a [T],
    pub nodes: &'a [Node<T>],
    pub values: &'a [T],
    pub(super) masks: &'a [u64],
    pub(super) labels: &'a [u32],
    pub grads: Grads<'a, T>,
    pub products: &'a mut Products<T>,
}

impl<'a, T: Real> Back<'a, T> {
    pub fn node(&self, id: NodeId) -> Node<T> {
        self.nodes[id.index()]
    }

    /// The value of an earlier node.
    pub fn value(&self, id: NodeId) -> &'a [T] {
        &self.values[self.nodes[id.index()].range()]
    }

    /// The value of this node (the op's output).
    pub fn y(&self) -> &'a [T] {
        &self.values[self.out.range()]
    }

    /// The gradient of a scalar node.
    pub fn gy0(&self) -> T {
        self.gy[0]
    }

    /// The dropout mask this node recorded.
    pub fn mask(&self) -> &'a [u64] {
        &self.masks[self.out.masks..]
    }

    /// The labels this node recorded, one per row of its input.
    pub fn labels(&self) -> &'a [u32] {
        &self.labels[self.out.labels..]
    }
}

/// The gradients of the nodes before the one whose backward runs (to write
/// or add into), and of the parameters in the store.
pub(crate) struct Grads<'a, T> {
    pub(super) nodes: &'a [Node<T>],
    pub(super) grads: &'a mut [T],
    /// `reached` of the nodes before this one.
    pub(super) reached: &'a mut [bool],
    /// Per parameter: does its gradient in the store still await its first
    /// (overwriting) write?
    pub(super) param_fresh: &'a mut [bool],
    pub(super) params: &'a mut Params<T>,
}

impl<T: Real> Grads<'_, T> {
    /// Where the gradient of `of` goes, or `None` when it needs none: its
    /// part of the tape's gradients, or for a parameter (node or read in
    /// place) its gradient in the store.
    #[inline]
    pub fn of(&mut self, of: impl Into<Arg>) -> Option<Dst<'_, T>> {
        let p = match of.into() {
            Arg::Param(p) => p,
            Arg::Node(id) => {
                let n = self.nodes[id.index()];
                match n.op {
                    _ if !n.needs_grad => return None,
                    Op::Param(p) => p,
                    _ => {
                        let first = !std::mem::replace(&mut self.reached[id.index()], true);
                        return Some(Dst {
                            buf: &mut self.grads[n.range()],
                            accum: if first { Accum::Replace } else { Accum::Add },
                            store: Some(self.params),
                        });
                    }
                }
            }
        };
        let first = std::mem::replace(&mut self.param_fresh[p.index()], false);
        Some(Dst {
            buf: self.params.value_and_grad(p).1.as_mut_slice(),
            accum: if first { Accum::Replace } else { Accum::Add },
            store: None,
        })
    }
}

/// A gradient to write or add into.
pub(crate) struct Dst<'g, T> {
    pub buf: &'g mut [T],
    /// `Replace` on the first write (the buffer holds stale numbers, and
    /// writing saves zeroing it first), `Add` after.
    pub accum: Accum,
    /// The parameters' values, readable meanwhile (`None` when `buf` is in
    /// the store).
    pub store: Option<&'g Params<T>>,
}

impl<'g, T: Real> Dst<'g, T> {
    /// Writes or adds `vals`, element by element; returns the buffer.
    #[inline(always)]
    pub fn emit(self, vals: impl Iterator<Item = T>) -> &'g mut [T] {
        if self.accum == Accum::Replace {
            self.buf.iter_mut().zip(vals).for_each(|(g, v)| *g = v);
        } else {
            self.buf.iter_mut().zip(vals).for_each(|(g, v)| *g += v);
        }
        self.buf
    }

    /// The destination row by row, `cols` long (`cols` 0 is taken as 1:
    /// an empty buffer has no rows either way).
    pub fn rows(self, cols: usize) -> impl Iterator<Item = Dst<'g, T>> {
        let (accum, store) = (self.accum, self.store);
        self.buf
            .chunks_exact_mut(cols.max(1))
            .map(move |buf| Dst { buf, accum, store })
    }

    /// The buffer, zeroed if this is the first write: for ops that add in
    /// several strokes.
    pub fn zeroed(self) -> &'g mut [T] {
        if self.accum == Accum::Replace {
            self.buf.fill(T::ZERO);
        }
        self.buf
    }
}
