//! The language's vocabulary, written once: every function, data term,
//! penalty, label kind, data source, optimizer and evaluation mode, with its
//! parameters (kind, range, default, a line of help) and an example.
//!
//! The checker binds calls with this table and fills in its defaults; `--set`
//! and `netc check --keys` read kinds and defaults from it; the hints ("did you
//! mean", "`l1` is a penalty: it belongs in ...") list its names; and a test
//! keeps `grammar/README.md`'s tables equal to it. The optimizers' defaults and
//! ranges are `optim`'s own constants, so the engine and the language agree.
//! Adding a builtin is one entry here plus its checking and lowering.

use super::model::num;
use crate::data::LabelKind;
use crate::optim::{AdamConfig, SgdConfig};
use crate::range::Range;
use crate::tape::DropoutMode;
use std::fmt;

/// The largest size any one dimension, width or count may have.
pub const MAX_SIZE: u64 = 1 << 31;

/// Where a builtin is used in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// In a binding: `h = relu(...)`.
    Function,
    /// The loss's data term.
    DataTerm,
    /// A penalty in the loss.
    Penalty,
    /// `label y: classes(10)`.
    LabelKind,
    /// `train { data: ... }`.
    DataSource,
    /// `train { optimizer: ... }`.
    Optimizer,
    /// `train { eval: ... }`.
    EvalMode,
    /// `train { schedule: ... }`.
    Schedule,
    /// `train { momentum_ramp: ... }`.
    Ramp,
    /// `train { early_stop: ... }`: the validation metric it watches.
    Monitor,
}

impl Role {
    /// "is a penalty: it belongs in `loss = ...`", for a builtin used elsewhere.
    pub fn place(self) -> &'static str {
        match self {
            Role::Function => "is an activation function: it belongs in a binding",
            Role::DataTerm => "is a data term: it belongs in `loss = ...`",
            Role::Penalty => "is a penalty: it belongs in `loss = ...`",
            Role::LabelKind => "is a label kind: it belongs in `label y: ...`",
            Role::DataSource => "is a data source: it belongs in `train { data: ... }`",
            Role::Optimizer => "is an optimizer: it belongs in `train { optimizer: ... }`",
            Role::EvalMode => "is an evaluation mode: it belongs in `train { eval: ... }`",
            Role::Schedule => {
                "is a learning-rate schedule: it belongs in `train { schedule: ... }`"
            }
            Role::Ramp => "is a momentum ramp: it belongs in `train { momentum_ramp: ... }`",
            Role::Monitor => "is a validation metric: it belongs in `train { early_stop: ... }`",
        }
    }
}

/// What a parameter takes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Kind {
    /// An activation: the input or an earlier binding.
    Activation,
    /// The label's name.
    Label,
    /// A penalty's target: an activation or a parameter (`h1.weight`).
    Target,
    /// A whole number in `min..=max`.
    Whole { min: u64, max: u64 },
    /// A real number in the range.
    Real(Range),
    /// `true` or `false`.
    Bool,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// A string (a path).
    Str,
    /// A list of two reals, each in the range.
    Pair(Range),
    /// A list of whole numbers, each at least 1, increasing.
    Wholes,
    /// A builtin of this role (`data: digits`).
    OneOf(Role),
}

/// A parameter's value when the call leaves it out.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Default {
    /// The argument must be given.
    Required,
    /// Optional, and nothing when left out (`csv`'s `test` file).
    Absent,
    Num(f64),
    Bool(bool),
    Word(&'static str),
    Pair(f64, f64),
    /// Worked out from other settings; the words say how (`samples/4`).
    Derived(&'static str),
}

impl Default {
    /// The default as a number, if it is one.
    pub fn num(self) -> Option<f64> {
        match self {
            Default::Num(v) => Some(v),
            _ => None,
        }
    }
}

impl fmt::Display for Default {
    /// As `grammar/README.md` and `netc check --keys` write it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Default::Required => Ok(()),
            Default::Absent => write!(f, "none"),
            Default::Num(v) => write!(f, "{}", num(*v)),
            Default::Bool(b) => write!(f, "{b}"),
            Default::Word(w) | Default::Derived(w) => write!(f, "{w}"),
            Default::Pair(a, b) => write!(f, "[{}, {}]", num(*a), num(*b)),
        }
    }
}

/// One parameter of a builtin, in positional order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Param {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Default,
    /// One line: what it is.
    pub help: &'static str,
}

impl Param {
    /// Whether a call must give it.
    pub fn required(&self) -> bool {
        self.default == Default::Required
    }
}

/// One word of the language with its parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Builtin {
    pub name: &'static str,
    pub role: Role,
    pub params: &'static [Param],
    /// A correct use, for help lines.
    pub example: &'static str,
    /// One line: what it does.
    pub help: &'static str,
}

impl Builtin {
    /// The parameter called `name`, with its position.
    pub fn param(&self, name: &str) -> Option<(usize, &'static Param)> {
        self.params.iter().enumerate().find(|(_, p)| p.name == name)
    }

    /// `dropout(x, p: 0.5, mode: inverted)`; `mnist` for a builtin without
    /// parameters: how `grammar/README.md` lists it.
    pub fn signature(&self) -> String {
        if self.params.is_empty() {
            return self.name.to_string();
        }
        let params: Vec<String> = self
            .params
            .iter()
            .map(|p| match p.default {
                Default::Required => p.name.to_string(),
                d => format!("{}: {d}", p.name),
            })
            .collect();
        format!("{}({})", self.name, params.join(", "))
    }
}

/// Every builtin of the given role, in table order.
pub fn of(role: Role) -> impl Iterator<Item = &'static Builtin> + Clone {
    BUILTINS.iter().filter(move |b| b.role == role)
}

/// The names of the builtins of a role, in table order.
pub fn names(role: Role) -> impl Iterator<Item = &'static str> + Clone {
    of(role).map(|b| b.name)
}

/// The builtin of `role` called `name`.
pub fn lookup(role: Role, name: &str) -> Option<&'static Builtin> {
    of(role).find(|b| b.name == name)
}

/// Any builtin called `name` (the first, in table order).
pub fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// `dropout`'s modes, in the order of [`dropout_mode`].
pub const DROPOUT_MODES: &[&str] = &["inverted", "classic"];

/// The mode named `DROPOUT_MODES[i]`.
pub fn dropout_mode(i: usize) -> DropoutMode {
    if i == 0 {
        DropoutMode::Inverted
    } else {
        DropoutMode::Classic
    }
}

/// The word a file writes for `mode`.
pub fn dropout_mode_name(mode: DropoutMode) -> &'static str {
    match mode {
        DropoutMode::Inverted => DROPOUT_MODES[0],
        DropoutMode::Classic => DROPOUT_MODES[1],
    }
}

/// `classes(10)` or `values(3)`: a label kind as a file writes it.
pub fn label_text(kind: LabelKind) -> String {
    match kind {
        LabelKind::Classes(n) => format!("{}({n})", CLASSES.name),
        LabelKind::Targets(n) => format!("{}({n})", VALUES.name),
    }
}

const fn p(name: &'static str, kind: Kind, default: Default, help: &'static str) -> Param {
    Param {
        name,
        kind,
        default,
        help,
    }
}

const X: Param = p(
    "x",
    Kind::Activation,
    Default::Required,
    "the activation it applies to",
);
const SIZE: Kind = Kind::Whole {
    min: 1,
    max: MAX_SIZE,
};

const fn unary(name: &'static str, example: &'static str, help: &'static str) -> Builtin {
    Builtin {
        name,
        role: Role::Function,
        params: &[X],
        example,
        help,
    }
}

const DROPOUT_MODE: Param = p(
    "mode",
    Kind::Choice(DROPOUT_MODES),
    Default::Word("inverted"),
    "how the expected activation is kept: `inverted` or `classic`",
);

/// `max_pool2d` and `avg_pool2d`: windows of `kernel` × `kernel`, `stride`
/// apart (by default the kernel: windows that do not overlap).
const fn pool(name: &'static str, example: &'static str, help: &'static str) -> Builtin {
    Builtin {
        name,
        role: Role::Function,
        params: POOL_PARAMS,
        example,
        help,
    }
}

const POOL_PARAMS: &[Param] = &[
    X,
    p(
        "kernel",
        SIZE,
        Default::Required,
        "the side of the square window",
    ),
    p(
        "stride",
        SIZE,
        Default::Derived("kernel"),
        "the step between windows",
    ),
];

const DATA_TERM_PARAMS: &[Param] = &[
    p(
        "input",
        Kind::Activation,
        Default::Required,
        "the activation it reads",
    ),
    p("target", Kind::Label, Default::Required, "the label"),
];

const fn data_term(name: &'static str, example: &'static str, help: &'static str) -> Builtin {
    Builtin {
        name,
        role: Role::DataTerm,
        params: DATA_TERM_PARAMS,
        example,
        help,
    }
}

const PENALTY_PARAMS: &[Param] = &[p(
    "target",
    Kind::Target,
    Default::Required,
    "an activation or a parameter",
)];

const fn penalty(name: &'static str, example: &'static str, help: &'static str) -> Builtin {
    Builtin {
        name,
        role: Role::Penalty,
        params: PENALTY_PARAMS,
        example,
        help,
    }
}

/// `classes(n)`.
pub const CLASSES: Builtin = Builtin {
    name: "classes",
    role: Role::LabelKind,
    params: &[p(
        "n",
        Kind::Whole {
            min: 2,
            max: MAX_SIZE,
        },
        Default::Required,
        "the number of classes",
    )],
    example: "classes(10)",
    help: "a class index 0..n per sample",
};

/// `values(n)`.
pub const VALUES: Builtin = Builtin {
    name: "values",
    role: Role::LabelKind,
    params: &[p("n", SIZE, Default::Required, "the number of targets")],
    example: "values(1)",
    help: "n real targets per sample (for mse)",
};

const TEST_FRACTION: Param = p(
    "test_fraction",
    Kind::Real(Range::Fraction),
    Default::Num(0.2),
    "the fraction of the samples held out",
);

const NORMALIZE: Param = p(
    "normalize",
    Kind::Bool,
    Default::Bool(false),
    "inputs less the training split's mean, over its standard deviation",
);

const SGD: SgdConfig = SgdConfig::DEFAULT;
const LR: &str = "the learning rate";

/// The parameters of `adam` and `adamw`, which differ in their defaults.
const fn adam_params(c: AdamConfig, decay: &'static str) -> [Param; 4] {
    [
        p("lr", Kind::Real(AdamConfig::LR), Default::Num(c.lr), LR),
        p(
            "betas",
            Kind::Pair(AdamConfig::BETA),
            Default::Pair(c.beta1, c.beta2),
            "the decay rates of the two moments",
        ),
        p(
            "eps",
            Kind::Real(AdamConfig::EPS),
            Default::Num(c.eps),
            "added to the denominator, for stability",
        ),
        p(
            "weight_decay",
            Kind::Real(AdamConfig::WEIGHT_DECAY),
            Default::Num(c.weight_decay),
            decay,
        ),
    ]
}

const ADAM_PARAMS: &[Param] = &adam_params(AdamConfig::ADAM, "an L2 term added to the gradient");
const ADAMW_PARAMS: &[Param] = &adam_params(AdamConfig::ADAMW, "decoupled weight decay");

/// The settings of the `train { }` block, in the order `--keys` lists them.
pub static TRAIN_SETTINGS: &[Param] = &[
    p(
        "data",
        Kind::OneOf(Role::DataSource),
        Default::Required,
        "the data source",
    ),
    p("batch", SIZE, Default::Num(32.0), "samples per step"),
    p(
        "epochs",
        SIZE,
        Default::Num(10.0),
        "passes over the training split (when `steps` is not set)",
    ),
    p(
        "steps",
        SIZE,
        Default::Absent,
        "optimizer steps instead of epochs",
    ),
    p(
        "optimizer",
        Kind::OneOf(Role::Optimizer),
        Default::Word("sgd"),
        "the optimizer",
    ),
    p(
        "seed",
        Kind::Whole {
            min: 0,
            max: u64::MAX,
        },
        Default::Num(0.0),
        "initialisation, shuffling, dropout masks, synthetic data",
    ),
    p(
        "eval",
        Kind::OneOf(Role::EvalMode),
        Default::Word("scaling"),
        "the evaluation on the held-out split",
    ),
    p(
        "eval_every",
        SIZE,
        Default::Absent,
        "with `steps`: also evaluate every this many steps",
    ),
    p(
        "schedule",
        Kind::OneOf(Role::Schedule),
        Default::Absent,
        "the learning rate's schedule (else the optimizer's `lr` throughout)",
    ),
    p(
        "warmup",
        Kind::Whole {
            min: 0,
            max: MAX_SIZE,
        },
        Default::Num(0.0),
        "epochs (or steps, with a schedule `per: step`) of linear warm-up",
    ),
    p(
        "warmup_start",
        Kind::Real(Range::Fraction),
        Default::Num(0.1),
        "the warm-up's first factor of the rate",
    ),
    p(
        "momentum_ramp",
        Kind::OneOf(Role::Ramp),
        Default::Absent,
        "SGD's momentum raised over the first epochs",
    ),
    p(
        "clip_grad_norm",
        Kind::Real(Range::Positive),
        Default::Absent,
        "the largest global norm of the gradients (else no clipping)",
    ),
    p(
        "max_norm",
        Kind::Real(Range::Positive),
        Default::Absent,
        "the largest norm of each unit's incoming weights (each filter's), for every `linear` and `conv2d`",
    ),
    p(
        "validation",
        Kind::Real(Range::Positive),
        Default::Absent,
        "samples (or a fraction below 1) of the training split held out to validate",
    ),
    p(
        "early_stop",
        Kind::OneOf(Role::Monitor),
        Default::Absent,
        "stop when a validation metric no longer improves",
    ),
];

/// The `train { }` setting called `name`.
pub fn train_setting(name: &str) -> Option<&'static Param> {
    TRAIN_SETTINGS.iter().find(|p| p.name == name)
}

/// The table.
pub static BUILTINS: &[Builtin] = &[
    Builtin {
        name: "linear",
        role: Role::Function,
        params: &[
            X,
            p(
                "units",
                SIZE,
                Default::Required,
                "the number of output units",
            ),
            p(
                "bias",
                Kind::Bool,
                Default::Bool(true),
                "whether it adds a bias",
            ),
            p(
                "max_norm",
                Kind::Real(Range::Positive),
                Default::Absent,
                "the largest norm of each unit's incoming weights (else the train block's)",
            ),
        ],
        example: "linear(x, 32)",
        help: "a fully connected layer: x · weightᵀ + bias",
    },
    unary("relu", "relu(h)", "max(0, x), element-wise"),
    unary("sigmoid", "sigmoid(h)", "1 / (1 + e^-x), element-wise"),
    unary("tanh", "tanh(h)", "tanh(x), element-wise"),
    Builtin {
        name: "dropout",
        role: Role::Function,
        params: &[
            X,
            p(
                "p",
                Kind::Real(Range::Prob),
                Default::Num(0.5),
                "the probability of dropping a unit",
            ),
            DROPOUT_MODE,
        ],
        example: "dropout(h, 0.5)",
        help: "drops each unit with probability p while training",
    },
    unary(
        "softmax",
        "softmax(out)",
        "over the features of each sample",
    ),
    unary(
        "log_softmax",
        "log_softmax(out)",
        "over the features of each sample",
    ),
    unary(
        "flatten",
        "flatten(x)",
        "[d1, d2, ...] → [d1·d2·...], in PyTorch's order",
    ),
    Builtin {
        name: "conv2d",
        role: Role::Function,
        params: &[
            X,
            p(
                "channels",
                SIZE,
                Default::Required,
                "the number of output channels",
            ),
            p(
                "kernel",
                SIZE,
                Default::Required,
                "the side of the square kernel",
            ),
            p(
                "stride",
                SIZE,
                Default::Num(1.0),
                "the step between windows",
            ),
            p(
                "padding",
                Kind::Whole {
                    min: 0,
                    max: MAX_SIZE,
                },
                Default::Num(0.0),
                "zeros added on every side",
            ),
            p(
                "bias",
                Kind::Bool,
                Default::Bool(true),
                "whether it adds a bias per channel",
            ),
            p(
                "max_norm",
                Kind::Real(Range::Positive),
                Default::Absent,
                "the largest norm of each filter (else the train block's)",
            ),
        ],
        example: "conv2d(x, 6, 5, padding: 2)",
        help: "a 2-d convolution (cross-correlation) over a `[c, h, w]` activation, as nn.Conv2d",
    },
    pool(
        "max_pool2d",
        "max_pool2d(c1, 2)",
        "the maximum of each window, per channel",
    ),
    pool(
        "avg_pool2d",
        "avg_pool2d(c1, 2)",
        "the mean of each window, per channel",
    ),
    Builtin {
        name: "dropout2d",
        role: Role::Function,
        params: &[
            X,
            p(
                "p",
                Kind::Real(Range::Prob),
                Default::Num(0.5),
                "the probability of dropping a channel",
            ),
            DROPOUT_MODE,
        ],
        example: "dropout2d(c1, 0.2)",
        help: "drops whole channels of a `[c, h, w]` activation with probability p while training",
    },
    Builtin {
        name: "batch_norm",
        role: Role::Function,
        params: &[X],
        example: "batch_norm(c1)",
        help: "normalises each feature of `[n]` or channel of `[c, h, w]` by batch statistics while training, running ones at evaluation",
    },
    data_term(
        "cross_entropy",
        "cross_entropy(out, y)",
        "softmax cross-entropy on logits, against classes",
    ),
    data_term(
        "nll",
        "nll(out, y)",
        "negative log-likelihood of log-probabilities, against classes",
    ),
    data_term("mse", "mse(out, y)", "mean squared error against values"),
    penalty("l1", "0.5 * l1(h1)", "Σ|t|, over the whole batch"),
    penalty("l2", "0.01 * l2(h2)", "√(Σt²), over the whole batch"),
    penalty(
        "sumsq",
        "1e-4 * sumsq(h1.weight)",
        "Σt², over the whole batch",
    ),
    CLASSES,
    VALUES,
    Builtin {
        name: "synthetic",
        role: Role::DataSource,
        params: &[
            p("samples", SIZE, Default::Num(1000.0), "training samples"),
            p(
                "test_samples",
                SIZE,
                Default::Derived("samples/4"),
                "held-out samples",
            ),
            p(
                "target",
                Kind::Whole {
                    min: 0,
                    max: u32::MAX as u64,
                },
                Default::Absent,
                "the class of every label (else uniform over the classes)",
            ),
            p(
                "seed",
                Kind::Whole {
                    min: 0,
                    max: u64::MAX,
                },
                Default::Derived("the run's seed"),
                "the generator's seed",
            ),
        ],
        example: "synthetic(samples: 4000, target: 1)",
        help: "uniform [0, 1) inputs of the input's width",
    },
    Builtin {
        name: "digits",
        role: Role::DataSource,
        params: &[TEST_FRACTION, NORMALIZE],
        example: "digits(test_fraction: 0.2)",
        help: "the 8×8 UCI digits, embedded in netc",
    },
    Builtin {
        name: "mnist",
        role: Role::DataSource,
        params: &[NORMALIZE],
        example: "mnist",
        help: "the four standard IDX files in a folder `mnist/`",
    },
    Builtin {
        name: "fashion_mnist",
        role: Role::DataSource,
        params: &[NORMALIZE],
        example: "fashion_mnist",
        help: "the four standard IDX files in a folder `fashion-mnist/`",
    },
    Builtin {
        name: "idx",
        role: Role::DataSource,
        params: &[
            p(
                "dir",
                Kind::Str,
                Default::Required,
                "the folder of the four IDX files",
            ),
            NORMALIZE,
        ],
        example: "idx(\"data/my-set\")",
        help: "your own four standard-named IDX files",
    },
    Builtin {
        name: "csv",
        role: Role::DataSource,
        params: &[
            p("path", Kind::Str, Default::Required, "the training file"),
            p("test", Kind::Str, Default::Absent, "the held-out file"),
            TEST_FRACTION,
            p(
                "header",
                Kind::Bool,
                Default::Bool(false),
                "whether the first row is a header",
            ),
            NORMALIZE,
        ],
        example: "csv(\"train.csv\", test: \"test.csv\")",
        help: "your own CSV of numbers, the label in the last column",
    },
    Builtin {
        name: "sgd",
        role: Role::Optimizer,
        params: &[
            p("lr", Kind::Real(SgdConfig::LR), Default::Num(SGD.lr), LR),
            p(
                "momentum",
                Kind::Real(SgdConfig::MOMENTUM),
                Default::Num(SGD.momentum),
                "the momentum factor (0: none)",
            ),
            p(
                "dampening",
                Kind::Real(SgdConfig::DAMPENING),
                Default::Num(SGD.dampening),
                "the dampening of the momentum",
            ),
            p(
                "nesterov",
                Kind::Bool,
                Default::Bool(SGD.nesterov),
                "Nesterov momentum",
            ),
            p(
                "weight_decay",
                Kind::Real(SgdConfig::WEIGHT_DECAY),
                Default::Num(SGD.weight_decay),
                "an L2 term added to the gradient",
            ),
        ],
        example: "sgd(lr: 0.01, momentum: 0.9)",
        help: "stochastic gradient descent, as torch.optim.SGD",
    },
    Builtin {
        name: "adam",
        role: Role::Optimizer,
        params: ADAM_PARAMS,
        example: "adam(lr: 1e-3)",
        help: "Adam, as torch.optim.Adam",
    },
    Builtin {
        name: "adamw",
        role: Role::Optimizer,
        params: ADAMW_PARAMS,
        example: "adamw(lr: 1e-3, weight_decay: 0.01)",
        help: "Adam with decoupled weight decay, as torch.optim.AdamW",
    },
    Builtin {
        name: "scaling",
        role: Role::EvalMode,
        params: &[],
        example: "scaling",
        help: "one pass, dropout replaced by its expectation",
    },
    Builtin {
        name: "mc",
        role: Role::EvalMode,
        params: &[p(
            "passes",
            SIZE,
            Default::Num(30.0),
            "the number of stochastic passes",
        )],
        example: "mc(passes: 30)",
        help: "Monte-Carlo dropout: the mean of stochastic passes",
    },
    Builtin {
        name: "step",
        role: Role::Schedule,
        params: &[
            p(
                "every",
                SIZE,
                Default::Required,
                "epochs (or steps) between decays",
            ),
            GAMMA,
            PER,
        ],
        example: "step(every: 30, gamma: 0.1)",
        help: "the rate times gamma every `every` epochs, as torch's StepLR",
    },
    Builtin {
        name: "multistep",
        role: Role::Schedule,
        params: &[
            p(
                "milestones",
                Kind::Wholes,
                Default::Required,
                "the epochs (or steps) at which the rate decays",
            ),
            GAMMA,
            PER,
        ],
        example: "multistep([30, 80], gamma: 0.1)",
        help: "the rate times gamma at each milestone, as torch's MultiStepLR",
    },
    Builtin {
        name: "exponential",
        role: Role::Schedule,
        params: &[
            p(
                "gamma",
                Kind::Real(Range::Positive),
                Default::Required,
                "the factor per epoch (or step)",
            ),
            PER,
        ],
        example: "exponential(0.998)",
        help: "the rate times gamma every epoch, as torch's ExponentialLR",
    },
    Builtin {
        name: "cosine",
        role: Role::Schedule,
        params: &[
            p(
                "t_max",
                SIZE,
                Default::Derived("the run's length"),
                "epochs (or steps) from `lr` down to `min_lr`",
            ),
            p(
                "min_lr",
                Kind::Real(Range::NonNegative),
                Default::Num(0.0),
                "the rate at `t_max`",
            ),
            PER,
        ],
        example: "cosine(min_lr: 1e-4)",
        help: "half a cosine from `lr` to `min_lr`, as torch's CosineAnnealingLR",
    },
    Builtin {
        name: "ramp",
        role: Role::Ramp,
        params: &[
            p(
                "from",
                MOMENTUM,
                Default::Required,
                "the first epoch's momentum",
            ),
            p(
                "to",
                MOMENTUM,
                Default::Required,
                "the momentum from `epochs` on",
            ),
            p(
                "epochs",
                SIZE,
                Default::Required,
                "the epochs it takes to rise",
            ),
        ],
        example: "ramp(0.5, 0.99, epochs: 10)",
        help: "SGD's momentum raised linearly, then held",
    },
    monitor(
        "val_loss",
        "val_loss(patience: 5)",
        "the data-term loss on the validation split; lower is better",
    ),
    monitor(
        "val_acc",
        "val_acc(patience: 5)",
        "the accuracy on the validation split; higher is better",
    ),
];

/// `schedule`'s factor.
const GAMMA: Param = p(
    "gamma",
    Kind::Real(Range::Positive),
    Default::Num(0.1),
    "the factor of each decay",
);

/// What a schedule counts.
const PER: Param = p(
    "per",
    Kind::Choice(crate::optim::schedule::Unit::NAMES),
    Default::Word("epoch"),
    "whether it counts `epoch`s or `step`s",
);

const MOMENTUM: Kind = Kind::Real(Range::Fraction);

const MONITOR_PARAMS: &[Param] = &[
    p(
        "patience",
        SIZE,
        Default::Num(5.0),
        "evaluations without improvement before stopping",
    ),
    p(
        "min_delta",
        Kind::Real(Range::NonNegative),
        Default::Num(0.0),
        "the least change that counts as an improvement",
    ),
];

const fn monitor(name: &'static str, example: &'static str, help: &'static str) -> Builtin {
    Builtin {
        name,
        role: Role::Monitor,
        params: MONITOR_PARAMS,
        example,
        help,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_within_a_role_and_params_within_a_builtin() {
        for (i, b) in BUILTINS.iter().enumerate() {
            assert!(
                !BUILTINS[..i].iter().any(|o| o.name == b.name),
                "{} twice",
                b.name
            );
            for (j, p) in b.params.iter().enumerate() {
                assert!(
                    !b.params[..j].iter().any(|o| o.name == p.name),
                    "{}.{}",
                    b.name,
                    p.name
                );
            }
            // Required parameters come first: they are the positional ones.
            let first_optional = b.params.iter().position(|p| !p.required());
            assert!(
                first_optional.is_none_or(|k| b.params[k..].iter().all(|p| !p.required())),
                "{}",
                b.name
            );
        }
    }

    #[test]
    fn signatures_show_defaults_as_files_write_them() {
        let sig = |n| find(n).unwrap().signature();
        assert_eq!(sig("dropout"), "dropout(x, p: 0.5, mode: inverted)");
        assert_eq!(
            sig("adam"),
            "adam(lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0)"
        );
        assert_eq!(sig("scaling"), "scaling");
    }

    #[test]
    fn every_default_lies_in_its_range() {
        for b in BUILTINS {
            for p in b.params {
                match (p.kind, p.default) {
                    (Kind::Real(r), Default::Num(v)) => assert!(r.admits(v), "{}", p.name),
                    (Kind::Whole { min, max }, Default::Num(v)) => {
                        assert!(v >= min as f64 && v <= max as f64, "{}", p.name)
                    }
                    (Kind::Pair(r), Default::Pair(a, c)) => {
                        assert!(r.admits(a) && r.admits(c), "{}", p.name)
                    }
                    (Kind::Choice(words), Default::Word(w)) => {
                        assert!(words.contains(&w), "{}", p.name)
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn dropout_modes_round_trip() {
        for (i, w) in DROPOUT_MODES.iter().enumerate() {
            assert_eq!(dropout_mode_name(dropout_mode(i)), *w);
        }
    }
}
