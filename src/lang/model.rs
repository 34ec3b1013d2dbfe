//! The checked model: plain data the trainer and the lowering read.
//! Everything here has been checked: names resolve, shapes agree, numbers
//! are in range, and every default is filled in.

use super::builtins::dropout_mode_name;
use super::diag::Diagnostics;
use crate::data::DataSpec;
pub use crate::data::LabelKind;
use crate::ops::conv::Conv2dGeom;
use crate::ops::pool::Pool2dGeom;
pub use crate::optim::OptimizerConfig;
pub use crate::optim::{MomentumRamp, Schedule};
pub use crate::tape::DropoutMode;
use std::fmt;
use std::path::Path;

/// A number as a `.net` file would write it: `0.5`, `1e-8`.
pub fn num(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-4 || v.abs() >= 1e16) {
        format!("{v:e}")
    } else {
        format!("{v}")
    }
}

/// A checked `.net` file.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    /// From `net NAME v1`.
    pub name: String,
    /// The file name used in messages.
    pub path: String,
    /// The file's text (recorded in checkpoints).
    pub source: String,
    pub input: Input,
    pub label: Label,
    /// In file order; each uses only the input and earlier bindings.
    pub bindings: Vec<Binding>,
    pub loss: Loss,
    pub train: TrainSpec,
    /// Warnings found while checking (they do not stop a run).
    pub warnings: Diagnostics,
}

/// `input x: 28x28`
#[derive(Clone, Debug, PartialEq)]
pub struct Input {
    pub name: String,
    /// As declared, e.g. `[28, 28]`.
    pub dims: Vec<usize>,
    /// The product of `dims`: the width of a flattened sample.
    pub features: usize,
}

/// `label y: classes(10)` or `label y: values(3)`
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub name: String,
    pub kind: LabelKind,
}

/// `name = expression`: a named activation.
#[derive(Clone, Debug, PartialEq)]
pub struct Binding {
    pub name: String,
    pub expr: Expr,
    /// Per-sample shape, e.g. `[128]` or `[6, 28, 28]` (the batch dimension
    /// is not included).
    pub shape: Vec<usize>,
    /// The one layer with parameters in this binding, if any: its parameters
    /// are named after the binding (`<name>.weight`, `<name>.bias`).
    pub layer: Option<Layer>,
    /// 1-based line of the binding in the file.
    pub line: usize,
}

impl Binding {
    /// Number of features per sample.
    pub fn features(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A tensor a layer holds: its field (`weight`, `running_mean`) and shape.
pub type Field = (&'static str, Vec<usize>);

/// A layer with parameters, with the sizes its parameters need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layer {
    /// `linear`: weight `[units, inputs]`, bias `[units]`.
    Linear {
        inputs: usize,
        units: usize,
        bias: bool,
    },
    /// `conv2d`: weight `[channels, in_channels, kernel, kernel]`, bias
    /// `[channels]` (`nn.Conv2d`'s layout).
    Conv2d {
        in_channels: usize,
        channels: usize,
        kernel: usize,
        bias: bool,
    },
    /// `batch_norm`: weight (γ) and bias (β) `[features]`, and the running
    /// statistics, state that is saved but never trained.
    BatchNorm { features: usize },
}

impl Layer {
    /// Its parameters: (field, shape), weight first, as PyTorch lays them out.
    pub fn params(&self) -> Vec<Field> {
        let (weight, out, bias) = match *self {
            Layer::Linear {
                inputs,
                units,
                bias,
            } => (vec![units, inputs], units, bias),
            Layer::Conv2d {
                in_channels,
                channels,
                kernel,
                bias,
            } => (vec![channels, in_channels, kernel, kernel], channels, bias),
            Layer::BatchNorm { features } => (vec![features], features, true),
        };
        let mut out_params = vec![("weight", weight)];
        if bias {
            out_params.push(("bias", vec![out]));
        }
        out_params
    }

    /// Its state: running statistics that evaluation reads and training
    /// updates, outside the optimizer (`running_mean`, `running_var`).
    pub fn state(&self) -> Vec<Field> {
        match *self {
            Layer::BatchNorm { features } => {
                vec![
                    ("running_mean", vec![features]),
                    ("running_var", vec![features]),
                ]
            }
            _ => Vec::new(),
        }
    }

    /// The number of its weights (the largest layer is named when a net is
    /// too large to train).
    pub fn weights(&self) -> u128 {
        self.params()[0].1.iter().map(|&d| d as u128).product()
    }

    /// The builtin it is, as files call it.
    pub fn name(&self) -> &'static str {
        match self {
            Layer::Linear { .. } => "linear",
            Layer::Conv2d { .. } => "conv2d",
            Layer::BatchNorm { .. } => "batch_norm",
        }
    }
}

/// A `[channels, height, width]` activation's sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Chw {
    pub c: usize,
    pub h: usize,
    pub w: usize,
}

impl Chw {
    /// As a per-sample shape.
    pub fn dims(self) -> Vec<usize> {
        vec![self.c, self.h, self.w]
    }
}

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    /// The maximum of each window (its gradient goes to the first maximum).
    Max,
    /// The mean of each window.
    Avg,
}

impl Pool {
    /// The name used in `.net` files.
    pub fn name(self) -> &'static str {
        match self {
            Pool::Max => "max_pool2d",
            Pool::Avg => "avg_pool2d",
        }
    }
}

/// An expression over primitives, as checked.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// The input or an earlier binding.
    Name(String),
    /// `x · weightᵀ + bias`, with the binding's parameters.
    Linear {
        x: Box<Expr>,
        units: usize,
        bias: bool,
        /// Its own max-norm constraint, when the call gives one.
        max_norm: Option<f64>,
    },
    /// A 2-d convolution of `input` with the binding's parameters.
    Conv2d {
        x: Box<Expr>,
        input: Chw,
        channels: usize,
        kernel: usize,
        stride: usize,
        padding: usize,
        bias: bool,
        /// Its own max-norm constraint on each filter, when the call gives one.
        max_norm: Option<f64>,
    },
    /// Max or average pooling of `input`, per channel.
    Pool {
        pool: Pool,
        x: Box<Expr>,
        input: Chw,
        kernel: usize,
        stride: usize,
    },
    /// An element-wise or per-sample function without parameters.
    Apply { func: Func, x: Box<Expr> },
    /// Dropout with drop probability `p`.
    Dropout {
        x: Box<Expr>,
        p: f64,
        mode: DropoutMode,
    },
    /// Dropout of whole channels of `input`, each with probability `p`.
    Dropout2d {
        x: Box<Expr>,
        input: Chw,
        p: f64,
        mode: DropoutMode,
    },
    /// Batch normalisation of the features of `[n]` or the channels of
    /// `[c, h, w]` (`input`), with the binding's parameters and state.
    BatchNorm { x: Box<Expr>, input: Vec<usize> },
    /// The element-wise sum of two or more activations of one shape.
    Add(Vec<Expr>),
}

impl Expr {
    /// The expressions it applies to directly.
    pub fn inputs(&self) -> Vec<&Expr> {
        match self {
            Expr::Name(_) => Vec::new(),
            Expr::Linear { x, .. }
            | Expr::Conv2d { x, .. }
            | Expr::Pool { x, .. }
            | Expr::Apply { x, .. }
            | Expr::Dropout { x, .. }
            | Expr::Dropout2d { x, .. }
            | Expr::BatchNorm { x, .. } => vec![x],
            Expr::Add(ts) => ts.iter().collect(),
        }
    }

    /// The engine's geometry of a `conv2d`.
    pub fn conv_geom(&self) -> Option<Conv2dGeom> {
        match *self {
            Expr::Conv2d {
                input,
                channels,
                kernel,
                stride,
                padding,
                ..
            } => Some(Conv2dGeom {
                in_c: input.c,
                in_h: input.h,
                in_w: input.w,
                out_c: channels,
                kernel,
                stride,
                padding,
            }),
            _ => None,
        }
    }

    /// The engine's geometry of a pooling.
    pub fn pool_geom(&self) -> Option<Pool2dGeom> {
        match *self {
            Expr::Pool {
                input,
                kernel,
                stride,
                ..
            } => Some(Pool2dGeom {
                c: input.c,
                h: input.h,
                w: input.w,
                kernel,
                stride,
            }),
            _ => None,
        }
    }

    /// The input shape of the `batch_norm` in it, if any.
    pub fn norm_input(&self) -> Option<&[usize]> {
        match self {
            Expr::BatchNorm { input, .. } => Some(input),
            _ => self.inputs().into_iter().find_map(Expr::norm_input),
        }
    }

    /// Whether it samples a dropout mask while training, here or below.
    pub fn has_dropout(&self) -> bool {
        matches!(self, Expr::Dropout { .. } | Expr::Dropout2d { .. })
            || self.inputs().into_iter().any(Expr::has_dropout)
    }
}

/// The functions without parameters or settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Func {
    Relu,
    Sigmoid,
    Tanh,
    Softmax,
    LogSoftmax,
    /// Reshapes `[28, 28]` to `[784]`; no work on the engine's flat rows.
    Flatten,
}

impl Func {
    /// Every function, in the order of the builtins table.
    pub const ALL: [Func; 6] = [
        Func::Relu,
        Func::Sigmoid,
        Func::Tanh,
        Func::Softmax,
        Func::LogSoftmax,
        Func::Flatten,
    ];

    /// The function a `.net` file calls `name`.
    pub fn named(name: &str) -> Option<Func> {
        Func::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The name used in `.net` files.
    pub fn name(self) -> &'static str {
        match self {
            Func::Relu => "relu",
            Func::Sigmoid => "sigmoid",
            Func::Tanh => "tanh",
            Func::Softmax => "softmax",
            Func::LogSoftmax => "log_softmax",
            Func::Flatten => "flatten",
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Name(n) => write!(f, "{n}"),
            Expr::Linear {
                x,
                units,
                bias,
                max_norm,
            } => {
                write!(f, "linear({x}, {units}")?;
                if !bias {
                    write!(f, ", bias: false")?;
                }
                if let Some(c) = max_norm {
                    write!(f, ", max_norm: {}", num(*c))?;
                }
                write!(f, ")")
            }
            Expr::Apply { func, x } => write!(f, "{}({x})", func.name()),
            Expr::Dropout { x, p, mode } | Expr::Dropout2d { x, p, mode, .. } => {
                let name = match self {
                    Expr::Dropout { .. } => "dropout",
                    _ => "dropout2d",
                };
                write!(f, "{name}({x}, {}", num(*p))?;
                if *mode != DropoutMode::Inverted {
                    write!(f, ", mode: {}", dropout_mode_name(*mode))?;
                }
                write!(f, ")")
            }
            Expr::Conv2d {
                x,
                channels,
                kernel,
                stride,
                padding,
                bias,
                max_norm,
                ..
            } => {
                write!(f, "conv2d({x}, {channels}, {kernel}")?;
                if *stride != 1 {
                    write!(f, ", stride: {stride}")?;
                }
                if *padding != 0 {
                    write!(f, ", padding: {padding}")?;
                }
                if !bias {
                    write!(f, ", bias: false")?;
                }
                if let Some(c) = max_norm {
                    write!(f, ", max_norm: {}", num(*c))?;
                }
                write!(f, ")")
            }
            Expr::Pool {
                pool,
                x,
                kernel,
                stride,
                ..
            } => {
                write!(f, "{}({x}, {kernel}", pool.name())?;
                if stride != kernel {
                    write!(f, ", stride: {stride}")?;
                }
                write!(f, ")")
            }
            Expr::BatchNorm { x, .. } => write!(f, "batch_norm({x})"),
            Expr::Add(terms) => {
                for (i, t) in terms.iter().enumerate() {
                    if i > 0 {
                        write!(f, " + ")?;
                    }
                    write!(f, "{t}")?;
                }
                Ok(())
            }
        }
    }
}

/// The loss: a data term plus penalty terms, each reported on its own.
#[derive(Clone, Debug, PartialEq)]
pub struct Loss {
    pub data: DataTerm,
    pub penalties: Vec<Penalty>,
}

/// The data term, averaged over the batch.
#[derive(Clone, Debug, PartialEq)]
pub struct DataTerm {
    pub kind: DataLoss,
    /// The named activation it reads.
    pub on: String,
}

/// Which data term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataLoss {
    /// Softmax cross-entropy on logits, against class labels.
    CrossEntropy,
    /// Negative log-likelihood on log-probabilities (a `log_softmax`), against class labels.
    Nll,
    /// Mean squared error against value targets.
    Mse,
}

impl DataLoss {
    /// The data term a `.net` file calls `name`.
    pub fn named(name: &str) -> Option<DataLoss> {
        [DataLoss::CrossEntropy, DataLoss::Nll, DataLoss::Mse]
            .into_iter()
            .find(|d| d.name() == name)
    }

    /// The name used in `.net` files.
    pub fn name(self) -> &'static str {
        match self {
            DataLoss::CrossEntropy => "cross_entropy",
            DataLoss::Nll => "nll",
            DataLoss::Mse => "mse",
        }
    }
}

/// `coef * kind(target)`, summed over the whole batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Penalty {
    pub coef: f64,
    pub kind: PenaltyKind,
    pub target: PenaltyTarget,
}

impl Penalty {
    /// `l1(h1)`: how the penalty is labelled in reports and metrics.
    pub fn label(&self) -> String {
        format!("{}({})", self.kind.name(), self.target.name())
    }
}

impl fmt::Display for Penalty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} * {}", num(self.coef), self.label())
    }
}

/// Which norm a penalty takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PenaltyKind {
    /// `Σ|a|`
    L1,
    /// `sqrt(Σa²)` (the norm, not its square)
    L2,
    /// `Σa²`
    SumSq,
}

impl PenaltyKind {
    /// The penalty a `.net` file calls `name`.
    pub fn named(name: &str) -> Option<PenaltyKind> {
        [PenaltyKind::L1, PenaltyKind::L2, PenaltyKind::SumSq]
            .into_iter()
            .find(|k| k.name() == name)
    }

    /// The name used in `.net` files.
    pub fn name(self) -> &'static str {
        match self {
            PenaltyKind::L1 => "l1",
            PenaltyKind::L2 => "l2",
            PenaltyKind::SumSq => "sumsq",
        }
    }
}

/// What a penalty is taken of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PenaltyTarget {
    /// A named activation, over the whole batch.
    Activation(String),
    /// A parameter, e.g. `h1.weight`.
    Param(String),
}

impl PenaltyTarget {
    pub fn name(&self) -> &str {
        match self {
            PenaltyTarget::Activation(n) | PenaltyTarget::Param(n) => n,
        }
    }
}

/// The `train { }` block with every default filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainSpec {
    pub data: DataSpec,
    /// The source's `normalize` option: inputs less the training split's mean,
    /// over its standard deviation (one pair for every value), on both splits.
    pub normalize: bool,
    pub batch: usize,
    pub length: Length,
    /// The optimizer and its settings (PyTorch's meanings and defaults).
    pub optimizer: OptimizerConfig,
    pub seed: u64,
    pub eval: EvalSpec,
    /// Schedules, clipping, constraints, validation and early stopping.
    pub controls: Controls,
}

/// What steers a run beyond its optimizer; every part is off by default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Controls {
    /// The learning rate in force at each step (constant by default).
    pub schedule: Schedule,
    pub momentum_ramp: Option<MomentumRamp>,
    /// Clip the gradients to this global norm.
    pub clip_grad_norm: Option<f64>,
    /// The max-norm of every `linear` that gives none of its own.
    pub max_norm: Option<f64>,
    pub validation: Option<Validation>,
    pub early_stop: Option<EarlyStop>,
}

/// How much of the training split is held out to validate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Validation {
    Samples(usize),
    /// Of the training split, rounded, at least one sample.
    Fraction(f64),
}

impl Validation {
    /// How many of `n` training samples it holds out.
    pub fn count(self, n: usize) -> usize {
        match self {
            Validation::Samples(k) => k,
            Validation::Fraction(f) => ((n as f64 * f).round() as usize).max(1),
        }
    }
}

/// Stop when `metric` has not improved by more than `min_delta` for
/// `patience` evaluations.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EarlyStop {
    pub metric: Monitor,
    pub patience: usize,
    pub min_delta: f64,
}

/// A validation metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Monitor {
    /// Lower is better.
    ValLoss,
    /// Higher is better.
    ValAcc,
}

impl Monitor {
    /// `val_loss` or `val_acc`, as files and metrics.csv write it.
    pub fn name(self) -> &'static str {
        match self {
            Monitor::ValLoss => "val_loss",
            Monitor::ValAcc => "val_acc",
        }
    }
}

/// A builtin parameter's value in a checked model, as a file writes it.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Whole(u64),
    Real(f64),
    Bool(bool),
    /// A path, written quoted.
    Str(String),
    Pair(f64, f64),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Whole(n) => write!(f, "{n}"),
            Value::Real(v) => write!(f, "{}", num(*v)),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Pair(a, b) => write!(f, "[{}, {}]", num(*a), num(*b)),
        }
    }
}

fn path_value(p: &Path) -> Value {
    Value::Str(p.display().to_string())
}

/// The data source builtin `d` is.
pub fn data_name(d: &DataSpec) -> &'static str {
    match d {
        DataSpec::Synthetic { .. } => "synthetic",
        DataSpec::Digits { .. } => "digits",
        DataSpec::Mnist => "mnist",
        DataSpec::FashionMnist => "fashion_mnist",
        DataSpec::Idx { .. } => "idx",
        DataSpec::Csv { .. } => "csv",
    }
}

/// The value of `d`'s parameter `name` (with the source's `normalize`
/// option), or `None` where a file would leave it out: `normalize` when off,
/// as every model writes it; an absent `target` or `test`; `csv`'s
/// `test_fraction` when a `test` file makes it unused.
pub fn data_arg(d: &DataSpec, normalize: bool, name: &str) -> Option<Value> {
    if name == "normalize" {
        return normalize.then_some(Value::Bool(true));
    }
    match (d, name) {
        (DataSpec::Synthetic { samples, .. }, "samples") => Some(Value::Whole(*samples as u64)),
        (DataSpec::Synthetic { test_samples, .. }, "test_samples") => {
            Some(Value::Whole(*test_samples as u64))
        }
        (DataSpec::Synthetic { target, .. }, "target") => target.map(|t| Value::Whole(t.into())),
        (DataSpec::Synthetic { seed, .. }, "seed") => Some(Value::Whole(*seed)),
        (DataSpec::Digits { test_fraction }, "test_fraction") => Some(Value::Real(*test_fraction)),
        (DataSpec::Idx { dir }, "dir") => Some(path_value(dir)),
        (DataSpec::Csv { path, .. }, "path") => Some(path_value(path)),
        (DataSpec::Csv { test, .. }, "test") => test.as_deref().map(path_value),
        (
            DataSpec::Csv {
                test: None,
                test_fraction,
                ..
            },
            "test_fraction",
        ) => Some(Value::Real(*test_fraction)),
        (DataSpec::Csv { header, .. }, "header") => Some(Value::Bool(*header)),
        _ => None,
    }
}

/// The value of optimizer parameter `name` in `c` (every one is filled in).
pub fn optimizer_arg(c: &OptimizerConfig, name: &str) -> Option<Value> {
    let real = |v: f64| Some(Value::Real(v));
    match (c, name) {
        (OptimizerConfig::Sgd(s), "lr") => real(s.lr),
        (OptimizerConfig::Sgd(s), "momentum") => real(s.momentum),
        (OptimizerConfig::Sgd(s), "dampening") => real(s.dampening),
        (OptimizerConfig::Sgd(s), "nesterov") => Some(Value::Bool(s.nesterov)),
        (OptimizerConfig::Sgd(s), "weight_decay") => real(s.weight_decay),
        (OptimizerConfig::Adam(a), "lr") => real(a.lr),
        (OptimizerConfig::Adam(a), "betas") => Some(Value::Pair(a.beta1, a.beta2)),
        (OptimizerConfig::Adam(a), "eps") => real(a.eps),
        (OptimizerConfig::Adam(a), "weight_decay") => real(a.weight_decay),
        _ => None,
    }
}

/// How long to train.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Length {
    /// Passes over the training split.
    Epochs(usize),
    /// Optimizer steps (batches), across epochs as needed.
    Steps(usize),
}

/// How to evaluate on the held-out split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvalSpec {
    /// Deterministic pass with dropout replaced by its expectation
    /// (the identity for inverted dropout, `×(1-p)` for classic).
    pub scaling: bool,
    /// Monte-Carlo dropout: the mean of this many stochastic passes.
    pub mc_passes: Option<usize>,
    /// For a run counted in steps: also evaluate every this many steps (besides
    /// after every epoch and at the end).
    pub every: Option<usize>,
}

impl EvalSpec {
    /// Whether it evaluates with the evaluation mode called `mode`.
    pub fn uses(&self, mode: &str) -> bool {
        match mode {
            "scaling" => self.scaling,
            "mc" => self.mc_passes.is_some(),
            _ => false,
        }
    }

    /// The value of the parameter `name` of the evaluation mode `mode`.
    pub fn arg(&self, mode: &str, name: &str) -> Option<Value> {
        match (mode, name) {
            ("mc", "passes") => self.mc_passes.map(|n| Value::Whole(n as u64)),
            _ => None,
        }
    }
}

/// One parameter of the model, as `netc` names and stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamSpec {
    /// `h1.weight` or `h1.bias`
    pub name: String,
    /// PyTorch's layout: `[out, in]` for a linear weight, `[out, in, k, k]`
    /// for a convolution's, `[out]` for a bias.
    pub dims: Vec<usize>,
    /// The binding it belongs to.
    pub binding: String,
}

impl ParamSpec {
    /// Number of scalars.
    pub fn count(&self) -> usize {
        self.dims.iter().product()
    }
}

impl Model {
    /// Every parameter in creation order (binding order; weight before bias).
    pub fn params(&self) -> Vec<ParamSpec> {
        self.specs(Layer::params)
    }

    /// Every tensor of state (batch norm's running statistics), in binding order.
    pub fn state(&self) -> Vec<ParamSpec> {
        self.specs(Layer::state)
    }

    fn specs(&self, of: fn(&Layer) -> Vec<Field>) -> Vec<ParamSpec> {
        let mut out = Vec::new();
        for b in &self.bindings {
            for (field, dims) in b.layer.as_ref().map(of).unwrap_or_default() {
                out.push(ParamSpec {
                    name: format!("{}.{field}", b.name),
                    dims,
                    binding: b.name.clone(),
                });
            }
        }
        out
    }

    /// Total number of scalar parameters.
    pub fn param_count(&self) -> usize {
        self.params().iter().map(ParamSpec::count).sum()
    }

    /// The binding called `name`.
    pub fn binding(&self, name: &str) -> Option<&Binding> {
        self.bindings.iter().find(|b| b.name == name)
    }

    /// Every weight under a max-norm constraint, with its bound: a layer's
    /// own, else the train block's.
    pub fn max_norms(&self) -> Vec<(String, f64)> {
        fn own(e: &Expr) -> Option<Option<f64>> {
            match e {
                Expr::Linear { max_norm, .. } => Some(*max_norm),
                // A filter is a row of the stored weight, held as a unit's row is.
                Expr::Conv2d { max_norm, .. } => Some(*max_norm),
                // A scale per channel, not a unit's incoming weights.
                Expr::Name(_) | Expr::BatchNorm { .. } => None,
                Expr::Apply { x, .. }
                | Expr::Dropout { x, .. }
                | Expr::Dropout2d { x, .. }
                | Expr::Pool { x, .. } => own(x),
                Expr::Add(ts) => ts.iter().find_map(own),
            }
        }
        self.bindings
            .iter()
            .filter_map(|b| {
                let c = own(&b.expr)?.or(self.train.controls.max_norm)?;
                Some((format!("{}.weight", b.name), c))
            })
            .collect()
    }

    /// Whether any binding uses dropout.
    pub fn has_dropout(&self) -> bool {
        self.bindings.iter().any(|b| b.expr.has_dropout())
    }
}
