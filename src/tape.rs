//! The tape: a flat arena of nodes in creation order, so backward is a reverse loop.
//!
//! Values and gradients of all nodes live in two flat buffers (`values`, `grads`)
//! that are kept, not freed, between steps: a steady-state training step
//! allocates nothing. Ops are recorded by the methods in [`crate::ops`].
//!
//! The buffers only grow: `top` marks the part of `values` in use, and what lies
//! beyond it is left from earlier passes. So recording a node writes its value
//! once (every op overwrites its whole output) instead of zero-filling it first,
//! and a gradient is zeroed only when backward first reaches its node.
//!
//! Backward is one `match` over [`Op`]: each arm calls its op's backward with a
//! [`Back`] (the node, its gradient, every value) and the variant's fields.
//! An op gets the gradient destination of an input from [`Grads::of`], the one
//! way to write (first time) or add (after) a gradient, on the tape or in the
//! parameter store alike.

mod awake;
mod back;

use crate::error::{Error, Result};
use crate::ops;
use crate::ops::conv::Conv2dGeom;
use crate::ops::matmul::Products;
use crate::ops::pool::{Pool2dGeom, Pooling};
use crate::params::{ParamId, Params};
use crate::real::Real;
use crate::tensor::Tensor;
pub use awake::awake;
pub(crate) use back::{Back, Grads};

/// A node on a [`Tape`]: its index, and the pass it belongs to (so an id kept
/// across [`Tape::clear`] is caught instead of silently reading another node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeId {
    index: u32,
    pass: u32,
}

impl NodeId {
    /// Position on the tape (creation order).
    pub fn index(self) -> usize {
        self.index as usize
    }
}

/// Dropout's behaviour at evaluation, chosen per layer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum DropoutMode {
    /// Train: kept units × 1/(1-p). Eval: identity. (PyTorch's behaviour.)
    #[default]
    Inverted,
    /// Train: kept units unscaled. Eval: × (1-p). (Hinton et al. 2012.)
    Classic,
}

/// Training or evaluation: passed explicitly to the ops that care, never global.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    Train,
    Eval,
}

/// An op's input that may live on the tape or in the parameter store (read
/// in place, its gradient written there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    Node(NodeId),
    Param(ParamId),
}

impl From<NodeId> for Arg {
    fn from(id: NodeId) -> Self {
        Arg::Node(id)
    }
}

/// What produced a node; the inputs are earlier nodes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op<T> {
    Input,
    Param(ParamId),
    /// a · b
    MatMul(NodeId, NodeId),
    /// x · wᵀ (+ bias, a `[1, out]` row): a linear layer, and `matmul_nt`
    Linear {
        x: NodeId,
        w: Arg,
        bias: Option<Arg>,
    },
    /// x + b, b a `[1, cols]` row broadcast over x's rows
    BiasAdd(NodeId, NodeId),
    Add(NodeId, NodeId),
    Scale(NodeId, T),
    Relu(NodeId),
    Sigmoid(NodeId),
    Tanh(NodeId),
    /// x ⊙ mask · scale; the mask's bits are in `Tape::masks` from the node's `masks`
    Dropout {
        x: NodeId,
        scale: T,
    },
    /// x ⊙ (per sample and channel) mask · scale; `channels` planes a row
    Dropout2d {
        x: NodeId,
        scale: T,
        channels: usize,
    },
    /// w ⊛ x (+ bias per output channel), the geometry in `g`
    Conv2d {
        x: NodeId,
        w: Arg,
        bias: Option<Arg>,
        g: Conv2dGeom,
    },
    Pool2d {
        x: NodeId,
        g: Pool2dGeom,
        kind: Pooling,
    },
    /// Normalised by the `[2, channels]` leaf `stats` (mean; 1/√(var + eps)),
    /// batch statistics when `train`
    BatchNorm {
        x: NodeId,
        gamma: NodeId,
        beta: NodeId,
        stats: NodeId,
        spatial: usize,
        train: bool,
    },
    Softmax(NodeId),
    LogSoftmax(NodeId),
    /// The batch's labels are in `Tape::labels` from the node's `labels`
    CrossEntropy(NodeId),
    Nll(NodeId),
    Mse(NodeId, NodeId),
    L1(NodeId),
    L2(NodeId),
    SumSq(NodeId),
    Sum(NodeId),
    Mean(NodeId),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Node<T> {
    pub op: Op<T>,
    /// Offset of this node's value (and gradient) in the flat buffers.
    pub off: usize,
    pub rows: usize,
    pub cols: usize,
    /// False for inputs and for anything computed from inputs only:
    /// backward skips them (no dX for the data batch).
    pub needs_grad: bool,
    /// Lengths of the side buffers `masks` and `labels` when the node was
    /// recorded: where its own side data (if any) begins, and what
    /// [`Tape::truncate`] keeps.
    pub masks: usize,
    pub labels: usize,
}

impl<T> Node<T> {
    pub fn len(&self) -> usize {
        self.rows * self.cols
    }
    pub fn range(&self) -> std::ops::Range<usize> {
        self.off..self.off + self.len()
    }
}

/// A recording of one forward pass, and its reverse.
#[derive(Debug)]
pub struct Tape<T> {
    pub(crate) nodes: Vec<Node<T>>,
    /// Values of the nodes in `..top`; the rest is stale, kept for reuse.
    pub(crate) values: Vec<T>,
    top: usize,
    /// Gradients, laid out like `values`; a node's part is meaningful once
    /// `reached` says backward got to it.
    pub(crate) grads: Vec<T>,
    /// Per node: has backward written (or zeroed) its gradient yet?
    reached: Vec<bool>,
    /// Per parameter: must backward's next write to its gradient in the store
    /// overwrite it (see [`Tape::backward_replacing`]) rather than add?
    param_fresh: Vec<bool>,
    pub(crate) masks: Vec<u64>,
    pub(crate) labels: Vec<u32>,
    pass: u32,
    backward_done: bool,
    /// The matrix products' threads and workspace.
    pub(crate) products: Products<T>,
    /// The store version seen by the ops that read parameters in place, and
    /// the first such node, if any.
    pub(crate) store_read: Option<(u64, usize)>,
}

impl<T: Real> Default for Tape<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Real> Tape<T> {
    /// An empty tape; matmuls run on one thread.
    pub fn new() -> Self {
        Tape {
            nodes: Vec::new(),
            values: Vec::new(),
            top: 0,
            grads: Vec::new(),
            reached: Vec::new(),
            param_fresh: Vec::new(),
            masks: Vec::new(),
            labels: Vec::new(),
            pass: 0,
            backward_done: false,
            products: Products::default(),
            store_read: None,
        }
    }

    /// Lets large matmuls use `threads` threads, from rayon's current pool:
    /// record and run the step inside a pool's `install` (as `netc train`
    /// does), so the recording thread takes its share of each product.
    pub fn set_threads(&mut self, threads: usize) {
        self.products.set_threads(threads);
    }

    /// Whether any op recorded or differentiated on this tape since this was
    /// last asked (through every [`Tape::clear`]) shared its work among
    /// threads: when none did, a pool of threads only costs it hand-offs.
    pub fn take_shared_out(&self) -> bool {
        self.products.take_shared_out()
    }

    /// Forgets every node but keeps the buffers, for the next pass.
    pub fn clear(&mut self) {
        self.truncate(0);
        self.pass = self.pass.wrapping_add(1);
        self.backward_done = false;
    }

    /// Drops the nodes recorded after the first `len`, keeping their buffers:
    /// a shared prefix (say, the batch) is recorded once and several passes
    /// replayed on top. Gradients of an earlier backward are forgotten.
    pub fn truncate(&mut self, len: usize) {
        let Some(first) = self.nodes.get(len) else {
            return;
        };
        self.top = first.off;
        self.masks.truncate(first.masks);
        self.labels.truncate(first.labels);
        self.nodes.truncate(len);
        if self.store_read.is_some_and(|(_, at)| at >= len) {
            self.store_read = None;
        }
        self.backward_done = false;
    }

    /// Number of nodes recorded in this pass.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Records a batch (or any constant) as a leaf; no gradient flows into it.
    pub fn input(&mut self, t: &Tensor<T>) -> NodeId {
        self.input_slice(t.rows(), t.cols(), t.as_slice())
            .unwrap_or_else(|_| unreachable!("a Tensor's length is rows * cols"))
    }

    /// Records `rows x cols` row-major data as a leaf.
    pub fn input_slice(&mut self, rows: usize, cols: usize, data: &[T]) -> Result<NodeId> {
        crate::tensor::check_len(rows, cols, data.len())?;
        let id = self.push_uninit(Op::Input, rows, cols, false);
        let r = self.nodes[id.index()].range();
        self.values[r].copy_from_slice(data);
        Ok(id)
    }

    /// Records a `rows x cols` leaf whose values `fill` writes in place, e.g. a
    /// batch converted from bytes straight into the tape, saving the copy of
    /// [`Tape::input`]. `fill` gets the node's buffer as the last pass left it,
    /// and must overwrite every element.
    pub fn input_with(
        &mut self,
        rows: usize,
        cols: usize,
        fill: impl FnOnce(&mut [T]),
    ) -> Result<NodeId> {
        let len = rows.checked_mul(cols).ok_or(Error::BadLength {
            rows,
            cols,
            expected: usize::MAX,
            got: 0,
        })?;
        let short = (self.top + len).saturating_sub(self.values.len());
        if self.values.try_reserve(short).is_err() {
            return Err(Error::Invalid(format!(
                "cannot allocate a {rows}x{cols} input on the tape"
            )));
        }
        let id = self.push_uninit(Op::Input, rows, cols, false);
        let r = self.nodes[id.index()].range();
        fill(&mut self.values[r]);
        Ok(id)
    }

    /// Records a parameter's current value; backward adds into its gradient.
    pub fn param(&mut self, params: &Params<T>, id: ParamId) -> NodeId {
        let v = params.value(id);
        let node = self.push_uninit(Op::Param(id), v.rows(), v.cols(), true);
        let r = self.nodes[node.index()].range();
        self.values[r].copy_from_slice(v.as_slice());
        node
    }

    /// The shape `(rows, cols)` of a node.
    pub fn shape(&self, id: NodeId) -> Result<(usize, usize)> {
        let n = self.node(id)?;
        Ok((n.rows, n.cols))
    }

    /// The value of a node, row-major.
    pub fn value(&self, id: NodeId) -> Result<&[T]> {
        let n = self.node(id)?;
        Ok(&self.values[n.range()])
    }

    /// The value of a `1x1` node.
    pub fn scalar(&self, id: NodeId) -> Result<T> {
        let n = self.node(id)?;
        if n.len() != 1 {
            return Err(Error::NotScalar(n.rows, n.cols));
        }
        Ok(self.values[n.off])
    }

    /// The gradient of the loss with respect to a node, once backward has run.
    /// `None` before backward, for leaves that need no gradient, and for
    /// parameter nodes: backward adds their gradients straight into the store
    /// (read them with [`Params::grad`]).
    pub fn grad(&self, id: NodeId) -> Result<Option<&[T]>> {
        let n = self.node(id)?;
        let param = matches!(n.op, Op::Param(_));
        Ok((self.backward_done && n.needs_grad && !param).then(|| &self.grads[n.range()]))
    }

    pub(crate) fn node(&self, id: NodeId) -> Result<&Node<T>> {
        if id.pass != self.pass {
            return Err(Error::StaleNode(id.index));
        }
        self.nodes.get(id.index()).ok_or(Error::StaleNode(id.index))
    }

    /// Appends a node whose value the caller must overwrite entirely: its part
    /// of the buffer holds whatever an earlier pass left there.
    pub(crate) fn push_uninit(
        &mut self,
        op: Op<T>,
        rows: usize,
        cols: usize,
        needs_grad: bool,
    ) -> NodeId {
        let off = self.top;
        self.top = off + rows * cols;
        if self.values.len() < self.top {
            // Only while the buffer grows (the first passes).
            self.values.resize(self.top, T::ZERO);
        }
        self.nodes.push(Node {
            op,
            off,
            rows,
            cols,
            needs_grad,
            masks: self.masks.len(),
            labels: self.labels.len(),
        });
        NodeId {
            index: self.nodes.len() as u32 - 1,
            pass: self.pass,
        }
    }

    /// Splits the values into (everything before `out`, `out`'s value) so an op
    /// can read its inputs while writing its output.
    pub(crate) fn io(&mut self, out: NodeId) -> (&[T], &mut [T]) {
        let n = self.nodes[out.index()];
        let (before, rest) = self.values.split_at_mut(n.off);
        (before, &mut rest[..n.len()])
    }

    /// Reverse pass from the scalar `loss`: fills every node's gradient and adds
    /// each parameter's into `params` (gradients accumulate: call
    /// [`Params::zero_grads`] between steps). Runs once per recorded pass.
    ///
    /// Ops add the gradients of parameter nodes directly into the store, with
    /// no copy on the tape: the store's parameters must still have the shapes
    /// they had when recorded (checked).
    pub fn backward(&mut self, loss: NodeId, params: &mut Params<T>) -> Result<()> {
        self.reverse(loss, params, false)
    }

    /// [`Tape::backward`], but each parameter's gradient in the store is
    /// replaced by this pass's instead of added to: a training step needs no
    /// [`Params::zero_grads`] first, and the first write of each gradient
    /// skips reading the old one. Parameters off the loss path get zeros.
    pub fn backward_replacing(&mut self, loss: NodeId, params: &mut Params<T>) -> Result<()> {
        self.reverse(loss, params, true)
    }

    fn reverse(&mut self, loss: NodeId, params: &mut Params<T>, replace: bool) -> Result<()> {
        let last = *self.node(loss)?;
        if self.backward_done {
            return Err(Error::BackwardTwice);
        }
        if last.len() != 1 {
            return Err(Error::NotScalar(last.rows, last.cols));
        }
        self.check_params(params)?;
        if self.grads.len() < self.top {
            self.grads.resize(self.top, T::ZERO);
        }
        self.reached.clear();
        self.reached.resize(self.nodes.len(), false);
        self.reached[loss.index()] = true;
        self.param_fresh.clear();
        self.param_fresh.resize(params.len(), replace);
        match last.op {
            Op::Param(id) => {
                let g = &mut params.value_and_grad(id).1.as_mut_slice()[0];
                let fresh = std::mem::replace(&mut self.param_fresh[id.index()], false);
                *g = if fresh { T::ONE } else { *g + T::ONE };
            }
            _ => self.grads[last.off] = T::ONE,
        }
        for i in (0..=loss.index()).rev() {
            // A node backward never reached is off the loss path: nothing to pass on.
            if self.nodes[i].needs_grad && self.reached[i] {
                self.backward_node(i, params);
            }
        }
        // Nodes off the path (or after the loss) read as zero gradients.
        for (node, reached) in self.nodes.iter().zip(&self.reached) {
            if node.needs_grad && !reached && !matches!(node.op, Op::Param(_)) {
                self.grads[node.range()].fill(T::ZERO);
            }
        }
        for (p, fresh) in params.iter_mut().zip(&self.param_fresh) {
            if *fresh {
                p.grad.as_mut_slice().fill(T::ZERO);
            }
        }
        self.backward_done = true;
        Ok(())
    }

    /// Every parameter node still matches its parameter in `params`, and the
    /// ops that read values in place see the values they saw.
    fn check_params(&self, params: &Params<T>) -> Result<()> {
        if let Some((v, _)) = self.store_read
            && v != params.version()
        {
            return Err(Error::Invalid(
                "the parameters were changed (or another store given) between recording \
                 and backward: record the pass again"
                    .into(),
            ));
        }
        for n in &self.nodes {
            if let Op::Param(id) = n.op
                && !(id.index() < params.len() && params.grad(id).len() == n.len())
            {
                return Err(Error::Invalid(format!(
                    "parameter #{} is not in the store or changed shape since it was \
                     recorded ({}x{})",
                    id.index(),
                    n.rows,
                    n.cols
                )));
            }
        }
        Ok(())
    }

    fn backward_node(&mut self, i: usize, params: &mut Params<T>) {
        let node = &self.nodes[i];
        let (lower, upper) = self.grads.split_at_mut(node.off);
        let b = &mut Back {
            out: node,
            gy: &upper[..node.len()],
            nodes: &self.nodes,
            values: &self.values,
            masks: &self.masks,
            labels: &self.labels,
            grads: Grads {
                nodes: &self.nodes,
                grads: lower,
                reached: &mut self.reached[..i],
                param_fresh: &mut self.param_fresh,
                params,
            },
            products: &mut self.products,
        };
        use ops::{activation as act, batch_norm, conv, dropout, dropout2d, pool};
        use ops::{elementwise as ew, linear, loss, reduce};
        match node.op {
            // Their gradients went into the store as the ops that use them ran.
            Op::Input | Op::Param(_) => {}
            Op::MatMul(x, y) => linear::matmul_backward(b, x, y),
            Op::Linear { x, w, bias } => linear::backward(b, x, w, bias),
            Op::BiasAdd(x, bias) => ew::bias_add_backward(b, x, bias),
            Op::Add(x, y) => ew::add_backward(b, x, y),
            Op::Scale(x, c) => ew::scale_backward(b, x, c),
            Op::Relu(x) => act::relu_backward(b, x),
            Op::Sigmoid(x) => act::sigmoid_backward(b, x),
            Op::Tanh(x) => act::tanh_backward(b, x),
            Op::Dropout { x, scale } => dropout::backward(b, x, scale),
            Op::Dropout2d { x, scale, channels } => dropout2d::backward(b, x, scale, channels),
            Op::Conv2d { x, w, bias, g } => conv::backward(b, x, w, bias, g),
            Op::Pool2d { x, g, kind } => pool::backward(b, x, g, kind),
            Op::BatchNorm {
                x,
                gamma,
                beta,
                stats,
                spatial,
                train,
            } => batch_norm::backward(b, x, gamma, beta, stats, spatial, train),
            Op::Softmax(x) => act::softmax_backward(b, x),
            Op::LogSoftmax(x) => act::log_softmax_backward(b, x),
            Op::CrossEntropy(x) => loss::cross_entropy_backward(b, x),
            Op::Nll(x) => loss::nll_backward(b, x),
            Op::Mse(x, t) => loss::mse_backward(b, x, t),
            Op::L1(x) => reduce::l1_backward(b, x),
            Op::L2(x) => reduce::l2_backward(b, x),
            Op::SumSq(x) => reduce::sumsq_backward(b, x),
            Op::Sum(x) => reduce::sum_backward(b, x),
            Op::Mean(x) => reduce::mean_backward(b, x),
        }
    }

    /// Capacities of the internal buffers (nodes, values, gradients, masks,
    /// labels, the products' workspace): a steady-state step must leave them
    /// unchanged.
    pub fn capacities(&self) -> [usize; 6] {
        [
            self.nodes.capacity(),
            self.values.capacity(),
            self.grads.capacity(),
            self.masks.capacity(),
            self.labels.capacity(),
            self.products.capacity(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    /// Records every op on `tape` from the parameters `a` `[3, 4]`, `w` `[5, 4]`,
    /// `bias` `[1, 5]`; returns the loss and every node recorded.
    fn every_op(
        tape: &mut Tape<f64>,
        params: &Params<f64>,
        x: &Tensor<f64>,
    ) -> (NodeId, Vec<NodeId>) {
        let id = |n: &str| params.id(n).unwrap();
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        let xi = tape.input(x);
        let a = tape.param(params, id("a"));
        let w = tape.param(params, id("w"));
        let b = tape.param(params, id("bias"));
        let s = tape.add(xi, a).unwrap();
        let lin = tape.linear(s, w, Some(b)).unwrap();
        let wt = tape.matmul_nt(w, w).unwrap();
        let m = tape.matmul(lin, wt).unwrap();
        let r = tape.relu(m).unwrap();
        let sg = tape.sigmoid(lin).unwrap();
        let th = tape.tanh(lin).unwrap();
        let d = tape
            .dropout(th, 0.3, DropoutMode::Inverted, Phase::Train, &mut rng)
            .unwrap();
        let sm = tape.softmax(sg).unwrap();
        let lsm = tape.log_softmax(d).unwrap();
        let ce = tape.cross_entropy(r, &[0, 4, 2]).unwrap();
        let nll = tape.nll(lsm, &[1, 1, 3]).unwrap();
        let mse = tape.mse(sm, sg).unwrap();
        let l1 = tape.l1(a).unwrap();
        let l2 = tape.l2(r).unwrap();
        let sq = tape.sumsq(w).unwrap();
        let su = tape.sum(th).unwrap();
        let me = tape.mean(lin).unwrap();
        let off_path = tape.scale(me, 3.0).unwrap();
        let mut loss = ce;
        for t in [nll, mse, l1, l2, sq, su, me] {
            let t = tape.scale(t, 0.5).unwrap();
            loss = tape.add(loss, t).unwrap();
        }
        let after = tape.relu(lin).unwrap();
        let nodes = vec![
            xi, a, w, b, s, lin, wt, m, r, sg, th, d, sm, lsm, ce, nll, mse, l1, l2, sq, su, me,
            off_path, loss, after,
        ];
        (loss, nodes)
    }

    /// The parameters `a`, `w`, `bias` and the batch [`every_op`] records.
    fn every_op_inputs() -> (Params<f64>, Tensor<f64>) {
        let mut params = Params::new();
        params
            .add("a", Tensor::from_fn(3, 4, |r, c| r as f64 - c as f64 + 0.5))
            .unwrap();
        params
            .add(
                "w",
                Tensor::from_fn(5, 4, |r, c| 0.1 * (r * c) as f64 - 0.3),
            )
            .unwrap();
        params
            .add("bias", Tensor::from_fn(1, 5, |_, c| 0.2 * c as f64))
            .unwrap();
        let x = Tensor::from_fn(3, 4, |r, c| 0.25 * (r + 2 * c) as f64 - 1.0);
        (params, x)
    }

    #[test]
    fn a_reused_tape_gives_exactly_what_a_fresh_one_gives() {
        // Buffers are reused without zeroing: NaN left in every value and
        // gradient by an earlier pass must leave no trace in the next one.
        let (params, x) = every_op_inputs();
        let run = |tape: &mut Tape<f64>| {
            let mut params = params.clone();
            let (loss, nodes) = every_op(tape, &params, &x);
            tape.backward(loss, &mut params).unwrap();
            let grads: Vec<Option<Vec<f64>>> = nodes
                .iter()
                .map(|&n| tape.grad(n).unwrap().map(|g| g.to_vec()))
                .collect();
            let values: Vec<Vec<f64>> = nodes
                .iter()
                .map(|&n| tape.value(n).unwrap().to_vec())
                .collect();
            let store: Vec<Vec<f64>> = params.iter().map(|p| p.grad.as_slice().to_vec()).collect();
            format!("{:?}", (values, grads, store))
        };
        let mut tape = Tape::new();
        let fresh = run(&mut tape);
        assert!(!fresh.contains("NaN") && !fresh.contains("inf"), "{fresh}");
        tape.values.fill(f64::NAN);
        tape.grads.fill(f64::NAN);
        tape.clear();
        assert_eq!(run(&mut tape), fresh);
    }

    #[test]
    fn backward_replacing_equals_zeroing_then_backward() {
        // Store gradients full of NaN must not leak into a replacing backward;
        // `w` and `bias` get gradients from a copied node and an in-place
        // layer, `unused` from nothing.
        let (mut params, x) = every_op_inputs();
        params
            .add("unused", Tensor::from_fn(2, 2, |_, _| 1.0))
            .unwrap();
        let record = |tape: &mut Tape<f64>, params: &Params<f64>| {
            let (loss, _) = every_op(tape, params, &x);
            let xi = tape.input(&x);
            let (w, b) = (params.id("w").unwrap(), params.id("bias").unwrap());
            let lin = tape.linear_param(params, xi, w, Some(b)).unwrap();
            let s = tape.sumsq(lin).unwrap();
            tape.add(loss, s).unwrap()
        };
        let grads = |params: &Params<f64>| -> Vec<Vec<f64>> {
            params.iter().map(|p| p.grad.as_slice().to_vec()).collect()
        };
        let mut tape = Tape::new();
        let mut expected = params.clone();
        expected.zero_grads();
        let loss = record(&mut tape, &expected);
        tape.backward(loss, &mut expected).unwrap();

        let mut got = params.clone();
        for p in got.iter_mut() {
            p.grad.as_mut_slice().fill(f64::NAN);
        }
        tape.clear();
        let loss = record(&mut tape, &got);
        tape.backward_replacing(loss, &mut got).unwrap();
        assert_eq!(grads(&got), grads(&expected));
        assert!(grads(&got)[3].iter().all(|&g| g == 0.0));
        assert!(grads(&got)[1].iter().all(|&g| g != 0.0 && g.is_finite()));
    }

    #[test]
    fn input_with_writes_in_place_and_refuses_absurd_sizes() {
        let mut tape = Tape::<f32>::new();
        let x = tape
            .input_with(2, 3, |b| {
                for (i, v) in b.iter_mut().enumerate() {
                    *v = i as f32;
                }
            })
            .unwrap();
        assert_eq!(tape.value(x).unwrap(), &[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(tape.shape(x).unwrap(), (2, 3));
        let overflow = tape.input_with(usize::MAX, 2, |_| unreachable!());
        assert!(matches!(overflow, Err(Error::BadLength { .. })));
        let huge = tape.input_with(1 << 40, 1 << 20, |_| unreachable!());
        assert!(matches!(huge, Err(Error::Invalid(_))), "{huge:?}");
        assert_eq!(tape.len(), 1);
    }

    #[test]
    fn gradients_off_the_loss_path_read_as_zero() {
        let mut params = Params::new();
        let a = params
            .add("a", Tensor::from_fn(2, 2, |r, c| (r + c) as f64))
            .unwrap();
        let mut tape = Tape::new();
        let x = tape.param(&params, a);
        let off = tape.scale(x, 2.0).unwrap();
        let loss = tape.sum(x).unwrap();
        let after = tape.relu(x).unwrap();
        tape.grads.resize(64, f64::NAN);
        tape.backward(loss, &mut params).unwrap();
        assert_eq!(tape.grad(off).unwrap().unwrap(), &[0.0; 4]);
        assert_eq!(tape.grad(after).unwrap().unwrap(), &[0.0; 4]);
        assert_eq!(params.grad(a).as_slice(), &[1.0; 4]);
    }
}
