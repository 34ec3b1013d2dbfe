//! Lowering: a checked [`Model`] recorded onto the engine's tape.
//!
//! Names are resolved once, in [`Lowered::new`], into binding indices and
//! parameter ids, so recording a pass does no lookups by name.

use super::model::{DataLoss, Expr, Func, Layer, Model, PenaltyKind, PenaltyTarget, Pool};
use crate::error::{Error, Result};
use crate::layers::{BatchNorm, Conv2d, Linear};
use crate::ops::pool::Pool2dGeom;
use crate::params::{ParamId, Params};
use crate::real::Real;
use crate::tape::{DropoutMode, NodeId, Phase, Tape};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// Fresh parameters for `model`, in file order, as PyTorch initialises them:
/// a `linear` binding's `<name>.weight` `[units, inputs]` and `<name>.bias`
/// `[units]`, and a `conv2d`'s `[out, in, k, k]` and `[out]`, drawn from
/// U(−1/√fan_in, 1/√fan_in) by a generator seeded with `seed` (fan_in is
/// `in·k·k` for a convolution); a `batch_norm`'s weight 1 and bias 0.
pub fn init_params<T: Real>(model: &Model, seed: u64) -> Result<Params<T>> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut params = Params::new();
    for b in &model.bindings {
        let Some(layer) = b.layer else {
            continue;
        };
        let call = layer_call(&b.expr)
            .ok_or_else(|| Error::Invalid(format!("`{}` holds no {}", b.name, layer.name())))?;
        match (layer, call) {
            (
                Layer::Linear {
                    inputs,
                    units,
                    bias,
                },
                _,
            ) => {
                Linear::new(&mut params, &b.name, inputs, units, bias, &mut rng)?;
            }
            (Layer::Conv2d { bias, .. }, Expr::Conv2d { .. }) => {
                let g = call.conv_geom().unwrap_or_else(|| unreachable!());
                Conv2d::new(&mut params, &b.name, g, bias, &mut rng)?;
            }
            (Layer::BatchNorm { .. }, Expr::BatchNorm { input, .. }) => {
                let (channels, spatial) = planes(input);
                BatchNorm::new(&mut params, &b.name, channels, spatial)?;
            }
            _ => {
                return Err(Error::Invalid(format!(
                    "`{}` holds no {}",
                    b.name,
                    layer.name()
                )));
            }
        }
    }
    Ok(params)
}

/// The call in `e` that owns its binding's parameters, if any.
fn layer_call(e: &Expr) -> Option<&Expr> {
    match e {
        Expr::Linear { .. } | Expr::Conv2d { .. } | Expr::BatchNorm { .. } => Some(e),
        _ => e.inputs().into_iter().find_map(layer_call),
    }
}

/// What batch norm normalises over a shape: (channels, values per channel
/// and sample): the features of `[n]`, the channels of `[c, h, w]`.
fn planes(shape: &[usize]) -> (usize, usize) {
    match *shape {
        [c, h, w] => (c, h * w),
        _ => (shape.iter().product(), 1),
    }
}

/// What the data term is compared with.
#[derive(Clone, Copy, Debug)]
pub enum Targets<'a> {
    /// One class index per row (cross_entropy, nll).
    Classes(&'a [u32]),
    /// A `[batch, width]` node of values (mse).
    Values(NodeId),
}

/// The nodes of one recorded pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Pass {
    /// Data term + every penalty.
    pub loss: NodeId,
    /// The data term alone (mean over the batch).
    pub data: NodeId,
    /// Each penalty, weighted by its coefficient, in file order.
    pub penalties: Vec<NodeId>,
    /// The activation the data term reads (logits, log-probabilities or values).
    pub output: NodeId,
    /// Every named activation, in binding order.
    pub activations: Vec<NodeId>,
}

/// How a pass treats the layers that behave differently in training.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Dropout samples its masks; batch norm normalises by the batch's
    /// statistics and moves its running statistics towards them.
    Train,
    /// Dropout is replaced by its expectation; batch norm uses its running
    /// statistics.
    Eval,
    /// A Monte-Carlo evaluation pass: dropout samples its masks, batch norm
    /// stays on its running statistics (and leaves them alone).
    Sample,
}

impl Mode {
    /// The phase dropout runs in.
    pub fn dropout(self) -> Phase {
        match self {
            Mode::Train | Mode::Sample => Phase::Train,
            Mode::Eval => Phase::Eval,
        }
    }

    /// The phase batch norm runs in.
    pub fn norm(self) -> Phase {
        match self {
            Mode::Train => Phase::Train,
            Mode::Eval | Mode::Sample => Phase::Eval,
        }
    }
}

impl From<Phase> for Mode {
    fn from(p: Phase) -> Self {
        match p {
            Phase::Train => Mode::Train,
            Phase::Eval => Mode::Eval,
        }
    }
}

/// An expression with its names resolved.
#[derive(Clone, Debug)]
enum Node {
    Input,
    Binding(usize),
    Linear {
        x: Box<Node>,
        weight: ParamId,
        bias: Option<ParamId>,
    },
    Apply {
        func: Func,
        x: Box<Node>,
    },
    Dropout {
        x: Box<Node>,
        p: f64,
        mode: DropoutMode,
    },
    Conv2d {
        x: Box<Node>,
        layer: Conv2d,
    },
    Pool {
        pool: Pool,
        x: Box<Node>,
        geom: Pool2dGeom,
    },
    Dropout2d {
        x: Box<Node>,
        channels: usize,
        p: f64,
        mode: DropoutMode,
    },
    BatchNorm {
        x: Box<Node>,
        layer: BatchNorm,
    },
    Add(Vec<Node>),
}

#[derive(Clone, Debug)]
enum Target {
    Binding(usize),
    Param(ParamId),
}

/// A model ready to be recorded again and again against one parameter store.
#[derive(Clone, Debug)]
pub struct Lowered<'m> {
    model: &'m Model,
    bindings: Vec<Node>,
    output: usize,
    penalties: Vec<(f64, PenaltyKind, Target)>,
}

impl<'m> Lowered<'m> {
    /// Resolves every name of `model` against itself and `params` (as made by
    /// [`init_params`] or loaded from a file with the same names).
    pub fn new<T: Real>(model: &'m Model, params: &Params<T>) -> Result<Self> {
        let index = |name: &str| index(model, name);
        let param = |name: String| param_id(params, name);
        let mut bindings = Vec::with_capacity(model.bindings.len());
        for b in &model.bindings {
            bindings.push(resolve(&b.expr, &b.name, model, params)?);
        }
        let output = index(&model.loss.data.on).ok_or_else(|| {
            Error::Invalid(format!(
                "the loss reads `{}`, which is not a binding",
                model.loss.data.on
            ))
        })?;
        let mut penalties = Vec::new();
        for p in &model.loss.penalties {
            let target = match &p.target {
                PenaltyTarget::Activation(n) => Target::Binding(index(n).ok_or_else(|| {
                    Error::Invalid(format!("penalty on unknown activation `{n}`"))
                })?),
                PenaltyTarget::Param(n) => Target::Param(param(n.clone())?),
            };
            penalties.push((p.coef, p.kind, target));
        }
        Ok(Lowered {
            model,
            bindings,
            output,
            penalties,
        })
    }

    /// Records one pass for the batch `x` `[batch, features]`: every binding,
    /// the data term against `targets`, each weighted penalty, and their sum.
    /// Dropout samples from `rng` in [`Mode::Train`] and [`Mode::Sample`];
    /// batch norm uses (and updates) the batch's statistics in
    /// [`Mode::Train`] only, which is why `params` is mutable.
    pub fn forward<T: Real, R: rand::Rng + ?Sized>(
        &self,
        tape: &mut Tape<T>,
        params: &mut Params<T>,
        x: NodeId,
        targets: Targets<'_>,
        mode: impl Into<Mode>,
        rng: &mut R,
    ) -> Result<Pass> {
        let mut acts = Vec::with_capacity(self.bindings.len());
        let mode = mode.into();
        for node in &self.bindings {
            let mut r = Recorder {
                params: &mut *params,
                x,
                acts: &acts,
                mode,
                rng: &mut *rng,
            };
            let id = r.node(node, tape)?;
            acts.push(id);
        }
        let output = acts[self.output];
        let data = match (self.model.loss.data.kind, targets) {
            (DataLoss::CrossEntropy, Targets::Classes(y)) => tape.cross_entropy(output, y)?,
            (DataLoss::Nll, Targets::Classes(y)) => tape.nll(output, y)?,
            (DataLoss::Mse, Targets::Values(t)) => tape.mse(output, t)?,
            (kind, _) => {
                return Err(Error::Invalid(format!(
                    "{} was given the wrong kind of targets",
                    kind.name()
                )));
            }
        };
        let mut loss = data;
        let mut penalties = Vec::with_capacity(self.penalties.len());
        for (coef, kind, target) in &self.penalties {
            let on = match target {
                Target::Binding(i) => acts[*i],
                Target::Param(id) => tape.param(params, *id),
            };
            let norm = match kind {
                PenaltyKind::L1 => tape.l1(on)?,
                PenaltyKind::L2 => tape.l2(on)?,
                PenaltyKind::SumSq => tape.sumsq(on)?,
            };
            let term = tape.scale(norm, T::from_f64(*coef))?;
            loss = tape.add(loss, term)?;
            penalties.push(term);
        }
        Ok(Pass {
            loss,
            data,
            penalties,
            output,
            activations: acts,
        })
    }
}

/// The binding called `name`'s position in `model`.
fn index(model: &Model, name: &str) -> Option<usize> {
    model.bindings.iter().position(|b| b.name == name)
}

/// The parameter called `name`.
fn param_id<T: Real>(params: &Params<T>, name: String) -> Result<ParamId> {
    params
        .id(&name)
        .ok_or(Error::Invalid(format!("no parameter `{name}`")))
}

/// `e`, a part of `binding`, with its names resolved against `model` and
/// the parameters and buffers of `params`.
fn resolve<T: Real>(e: &Expr, binding: &str, model: &Model, params: &Params<T>) -> Result<Node> {
    let sub = |x: &Expr| resolve(x, binding, model, params).map(Box::new);
    let param = |name: String| param_id(params, name);
    let buffer = |name: String| {
        params
            .buffer_id(&name)
            .ok_or(Error::Invalid(format!("no buffer `{name}`")))
    };
    let index = |name: &str| index(model, name);
    Ok(match e {
        Expr::Name(n) if *n == model.input.name => Node::Input,
        Expr::Name(n) => {
            Node::Binding(index(n).ok_or_else(|| Error::Invalid(format!("unknown name `{n}`")))?)
        }
        Expr::Linear { x, bias, .. } => Node::Linear {
            x: sub(x)?,
            weight: param(format!("{binding}.weight"))?,
            bias: if *bias {
                Some(param(format!("{binding}.bias"))?)
            } else {
                None
            },
        },
        Expr::Apply { func, x } => Node::Apply {
            func: *func,
            x: sub(x)?,
        },
        Expr::Dropout { x, p, mode } => Node::Dropout {
            x: sub(x)?,
            p: *p,
            mode: *mode,
        },
        Expr::Conv2d { x, bias, .. } => Node::Conv2d {
            x: sub(x)?,
            layer: Conv2d {
                weight: param(format!("{binding}.weight"))?,
                bias: if *bias {
                    Some(param(format!("{binding}.bias"))?)
                } else {
                    None
                },
                geom: e.conv_geom().unwrap_or_else(|| unreachable!()),
            },
        },
        Expr::Pool { pool, x, .. } => Node::Pool {
            pool: *pool,
            x: sub(x)?,
            geom: e.pool_geom().unwrap_or_else(|| unreachable!()),
        },
        Expr::Dropout2d { x, input, p, mode } => Node::Dropout2d {
            x: sub(x)?,
            channels: input.c,
            p: *p,
            mode: *mode,
        },
        Expr::BatchNorm { x, input } => {
            let (channels, spatial) = planes(input);
            Node::BatchNorm {
                x: sub(x)?,
                layer: BatchNorm {
                    weight: param(format!("{binding}.weight"))?,
                    bias: param(format!("{binding}.bias"))?,
                    running_mean: buffer(format!("{binding}.running_mean"))?,
                    running_var: buffer(format!("{binding}.running_var"))?,
                    channels,
                    spatial,
                },
            }
        }
        Expr::Add(terms) => Node::Add(
            terms
                .iter()
                .map(|t| resolve(t, binding, model, params))
                .collect::<Result<_>>()?,
        ),
    })
}

/// What recording a binding's nodes needs besides the tape.
struct Recorder<'a, T, R: ?Sized> {
    params: &'a mut Params<T>,
    /// The batch.
    x: NodeId,
    /// The bindings recorded so far.
    acts: &'a [NodeId],
    mode: Mode,
    rng: &'a mut R,
}

impl<T: Real, R: rand::Rng + ?Sized> Recorder<'_, T, R> {
    fn node(&mut self, node: &Node, tape: &mut Tape<T>) -> Result<NodeId> {
        match node {
            Node::Input => Ok(self.x),
            Node::Binding(i) => Ok(self.acts[*i]),
            Node::Linear {
                x: inner,
                weight,
                bias,
            } => {
                let h = self.node(inner, tape)?;
                // Weight and bias read in place: no copy onto the tape.
                tape.linear_param(self.params, h, *weight, *bias)
            }
            Node::Apply { func, x: inner } => {
                let h = self.node(inner, tape)?;
                match func {
                    Func::Relu => tape.relu(h),
                    Func::Sigmoid => tape.sigmoid(h),
                    Func::Tanh => tape.tanh(h),
                    Func::Softmax => tape.softmax(h),
                    Func::LogSoftmax => tape.log_softmax(h),
                    // Rows are already flat: `[28, 28]` per sample is stored as
                    // 784, and `[c, h, w]` in PyTorch's order.
                    Func::Flatten => Ok(h),
                }
            }
            Node::Dropout { x: inner, p, mode } => {
                let h = self.node(inner, tape)?;
                tape.dropout(h, *p, *mode, self.mode.dropout(), self.rng)
            }
            Node::Conv2d { x: inner, layer } => {
                let h = self.node(inner, tape)?;
                layer.forward(tape, self.params, h)
            }
            Node::Pool {
                pool,
                x: inner,
                geom,
            } => {
                let h = self.node(inner, tape)?;
                match pool {
                    Pool::Max => tape.max_pool2d(h, *geom),
                    Pool::Avg => tape.avg_pool2d(h, *geom),
                }
            }
            Node::Dropout2d {
                x: inner,
                channels,
                p,
                mode,
            } => {
                let h = self.node(inner, tape)?;
                tape.dropout2d(h, *channels, *p, *mode, self.mode.dropout(), self.rng)
            }
            Node::BatchNorm { x: inner, layer } => {
                let h = self.node(inner, tape)?;
                layer.forward(tape, self.params, h, self.mode.norm())
            }
            Node::Add(terms) => {
                let (first, rest) = terms
                    .split_first()
                    .ok_or_else(|| Error::Invalid("an empty sum".into()))?;
                let mut acc = self.node(first, tape)?;
                for t in rest {
                    let h = self.node(t, tape)?;
                    acc = tape.add(acc, h)?;
                }
                Ok(acc)
            }
        }
    }
}
