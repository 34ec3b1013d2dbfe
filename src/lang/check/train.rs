//! The `train { }` block: data source, batch, length, optimizer, seed, evaluation.

use super::Checker;
use super::args::{Bound, describe};
use crate::data::DataSpec;
use crate::lang::ast::{self, Entry, Expr, ExprKind, StmtKind};
use crate::lang::builtins::{self, Kind, Role, TRAIN_SETTINGS, label_text, train_setting};
use crate::lang::diag::{Diagnostic, quote};
use crate::lang::model::{EvalSpec, LabelKind, Length, TrainSpec, data_name};
use crate::lang::span::Span;
use crate::lang::suggest::did_you_mean;
use crate::optim::{AdamConfig, OptimError, OptimizerConfig, SgdConfig};
use std::path::PathBuf;

/// "the sources are `synthetic`, `digits`, ...".
fn all_of(role: Role, what: &str) -> String {
    let names: Vec<&str> = builtins::names(role).collect();
    format!("the {what} are `{}`", names.join("`, `"))
}

/// How to write an evaluation, for help lines.
const EVAL_HELP: &str = "write `scaling`, `mc(passes: 30)`, or both: `scaling + mc(passes: 30)`";

/// The default of the `train` setting `name` as a file would write it
/// (`sgd`), placed at `at`; `None` when its default is no word.
fn default_word(name: &str, at: Span) -> Option<Expr> {
    let builtins::Default::Word(word) = train_setting(name)?.default else {
        debug_assert!(false, "`{name}` has no word as its default");
        return None;
    };
    let ident = ast::Ident {
        text: word.to_string(),
        span: at,
    };
    Some(Expr {
        kind: ExprKind::Path(vec![ident]),
        span: at,
    })
}

/// A word or a call: `digits` and `digits()` are the same.
pub(super) fn word_or_call(e: &Expr) -> Option<(&ast::Ident, &[ast::Arg])> {
    match &e.kind {
        ExprKind::Path(p) if p.len() == 1 => Some((&p[0], &[])),
        ExprKind::Call { func, args } => Some((func, args.as_slice())),
        _ => None,
    }
}

impl Checker<'_> {
    /// "unknown data source `digts`" (`what`), labelled "not a data source"
    /// (`a_what`), with "did you mean" among the builtins of `role`, else `help`.
    pub(super) fn unknown(
        &mut self,
        func: &ast::Ident,
        role: Role,
        what: (&str, &str),
        help: String,
    ) {
        let ((what, a_what), word) = (what, func.text.as_str());
        let d = Diagnostic::error(func.span, format!("unknown {what} `{}`", quote(word)))
            .label(format!("not {a_what}"));
        self.push(match did_you_mean(word, builtins::names(role)) {
            Some(s) => d.help(format!("did you mean `{s}`?")),
            None => d.help(help),
        });
    }

    /// The whole-number `train` setting `name`: the entry's value checked
    /// against its bounds, or its default.
    fn whole_setting(&mut self, entry: Option<&Entry>, name: &str) -> Option<u64> {
        let p = train_setting(name)?;
        let Kind::Whole { min, max } = p.kind else {
            return None;
        };
        match entry {
            Some(e) => self.whole(&e.value, name, min, max),
            None => p.default.num().map(|v| v as u64),
        }
    }

    /// The first `train { }` block, checked; later ones are errors.
    pub(super) fn train(&mut self, file: &ast::File) -> Option<(TrainSpec, Span)> {
        let mut blocks = file.statements.iter().filter_map(|s| match &s.kind {
            StmtKind::Train { keyword, entries } => Some((*keyword, entries, s.span)),
            _ => None,
        });
        let (keyword, entries, span) = blocks.next()?;
        for (k2, _, _) in blocks {
            self.push(
                Diagnostic::error(k2, "a second `train` block")
                    .label("declared again here")
                    .with(keyword, "first declared here")
                    .help("put every setting in one `train { }` block"),
            );
        }
        let keys = TRAIN_SETTINGS.iter().map(|p| p.name);
        let mut found: Vec<Option<&Entry>> = vec![None; TRAIN_SETTINGS.len()];
        for e in entries {
            match keys.clone().position(|k| k == e.key.text) {
                Some(i) => match found[i] {
                    Some(first) => self.push(
                        Diagnostic::error(e.key.span, format!("`{}` is set twice", e.key.text))
                            .label("set again here")
                            .with(first.key.span, "first set here"),
                    ),
                    None => found[i] = Some(e),
                },
                None => {
                    let mut d = Diagnostic::error(
                        e.key.span,
                        format!("unknown setting `{}`", quote(&e.key.text)),
                    )
                    .label("not a `train` setting");
                    d = match did_you_mean(&e.key.text, keys.clone()) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => {
                            let all: Vec<&str> = keys.clone().collect();
                            d.help(format!("the settings are `{}`", all.join("`, `")))
                        }
                    };
                    self.push(d);
                }
            }
        }
        let get = |k: &str| keys.clone().position(|x| x == k).and_then(|i| found[i]);
        let errors_before = self.errors();

        let seed = self.whole_setting(get("seed"), "seed");
        let batch = self.whole_setting(get("batch"), "batch");
        let length = match (get("epochs"), get("steps")) {
            (Some(ep), Some(st)) => {
                self.push(
                    Diagnostic::error(st.key.span, "both `epochs` and `steps` are set")
                        .label("steps")
                        .with(ep.key.span, "epochs")
                        .help("a run is counted in epochs or in steps: keep one"),
                );
                None
            }
            (ep, None) => self
                .whole_setting(ep, "epochs")
                .map(|n| Length::Epochs(n as usize)),
            (None, st) => self
                .whole_setting(st, "steps")
                .map(|n| Length::Steps(n as usize)),
        };
        // A setting left out reads as if the file wrote the table's default.
        let setting = |name: &str| {
            get(name)
                .map(|e| e.value.clone())
                .or_else(|| default_word(name, keyword))
        };
        let optimizer = setting("optimizer").and_then(|e| self.optimizer(&e));
        let mut eval = setting("eval").and_then(|e| self.eval(&e));
        if let Some(ev) = get("eval_every") {
            let every = self.whole_setting(Some(ev), "eval_every");
            if let Some(Length::Epochs(_)) = length {
                self.push(
                    Diagnostic::error(ev.key.span, "`eval_every` needs a run counted in `steps`")
                        .label("only for step-counted runs")
                        .help("a run counted in epochs is evaluated after every epoch"),
                );
            }
            if let (Some(ev), Some(n)) = (eval.as_mut(), every) {
                ev.every = Some(n as usize);
            }
        }
        let data = match get("data") {
            Some(e) => self.data(&e.value, seed.unwrap_or(0)),
            None => {
                self.push(
                    Diagnostic::error(keyword, "the `train` block has no `data`")
                        .label("`data` is missing")
                        .help("add a line like `data: digits` (see grammar/README.md for the sources)"),
                );
                None
            }
        };
        if let (Some(ev), Some(entry)) = (&eval, get("eval"))
            && ev.mc_passes.is_some()
            && !self.net_failed
            && !self.any_dropout()
        {
            self.push(
                Diagnostic::warning(
                    entry.value.span,
                    "Monte-Carlo evaluation of a net without dropout",
                )
                .label("every pass gives the same result")
                .help("add a `dropout(...)`, or evaluate with `scaling` alone"),
            );
        }
        let controls = self.controls(get, optimizer.as_ref());
        // A ramp's momentum is in force from the first step: the optimizer
        // keeps its momentum buffers throughout (and in every checkpoint).
        let mut optimizer = optimizer;
        if let (Some(OptimizerConfig::Sgd(s)), Some(Some(r))) = (
            optimizer.as_mut(),
            controls.as_ref().map(|c| c.momentum_ramp),
        ) {
            s.momentum = r.from;
        }
        if self.errors() > errors_before {
            return None;
        }
        let (data, normalize) = data?;
        Some((
            TrainSpec {
                data,
                normalize,
                batch: batch? as usize,
                length: length?,
                optimizer: optimizer?,
                seed: seed?,
                eval: eval?,
                controls: controls?,
            },
            span,
        ))
    }

    /// The data source, and whether its inputs are normalised.
    fn data(&mut self, e: &Expr, default_seed: u64) -> Option<(DataSpec, bool)> {
        let Some((func, args)) = word_or_call(e) else {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!("expected a data source, found {}", describe(e)),
                )
                .label("not a data source")
                .help(all_of(Role::DataSource, "sources")),
            );
            return None;
        };
        let Some(sig) = builtins::lookup(Role::DataSource, &func.text) else {
            let help = all_of(Role::DataSource, "sources");
            let what = ("data source", "a data source");
            self.unknown(func, Role::DataSource, what, help);
            return None;
        };
        let b = self.bind(args, e.span, sig)?;
        let normalize = match sig.param("normalize") {
            Some(_) => self.bool_param(&b, "normalize"),
            None => Some(false),
        };
        let spec = match sig.name {
            "synthetic" => self.synthetic(&b, default_seed)?,
            "digits" => DataSpec::Digits {
                test_fraction: self.real_param(&b, "test_fraction")?,
            },
            "mnist" => DataSpec::Mnist,
            "fashion_mnist" => DataSpec::FashionMnist,
            "idx" => DataSpec::Idx {
                dir: PathBuf::from(self.string(b.arg("dir")?, "dir")?),
            },
            _ => {
                let path = b.arg("path").and_then(|p| self.string(p, "path"));
                let test = b
                    .arg("test")
                    .map(|t| self.string(t, "test").map(PathBuf::from));
                let test_fraction = self.real_param(&b, "test_fraction");
                let header = self.bool_param(&b, "header");
                if let (Some(_), Some(t)) = (&test, b.arg("test_fraction")) {
                    self.push(
                        Diagnostic::warning(
                            t.span,
                            "`test_fraction` is not used when a `test` file is given",
                        )
                        .label("ignored"),
                    );
                }
                DataSpec::Csv {
                    path: PathBuf::from(path?),
                    test: match test {
                        Some(t) => Some(t?),
                        None => None,
                    },
                    test_fraction: test_fraction?,
                    header: header?,
                }
            }
        };
        self.data_fits(e.span, &spec);
        Some((spec, normalize?))
    }

    fn synthetic(&mut self, b: &Bound, default_seed: u64) -> Option<DataSpec> {
        let samples = self.whole_param(b, "samples");
        // Given or derived: `test_samples`, `target` and `seed` have no number as default.
        let given = |c: &mut Self, name| b.arg(name).map(|_| c.whole_param(b, name));
        let test = given(self, "test_samples");
        let target = b
            .arg("target")
            .map(|t| (self.whole_param(b, "target"), t.span));
        let seed = given(self, "seed").unwrap_or(Some(default_seed));
        let samples = samples? as usize;
        if let (Some((Some(t), span)), Some((label, label_span))) = (&target, self.label.clone())
            && let LabelKind::Classes(n) = label.kind
            && *t as usize >= n
        {
            self.push(
                Diagnostic::error(
                    *span,
                    format!(
                        "`target` must be a class of `{}`: 0 to {}",
                        label.name,
                        n - 1
                    ),
                )
                .label("no such class")
                .with(label_span, label_text(label.kind)),
            );
            return None;
        }
        Some(DataSpec::Synthetic {
            samples,
            // A quarter as many held out, unless given.
            test_samples: match test {
                Some(t) => t? as usize,
                None => (samples / 4).max(1),
            },
            target: match target {
                Some((t, _)) => Some(t? as u32),
                None => None,
            },
            seed: seed?,
        })
    }

    /// Whether a known data set's samples and labels match the input and label.
    fn data_fits(&mut self, span: Span, spec: &DataSpec) {
        let (side, dims) = match spec {
            DataSpec::Digits { .. } => (8, "8x8"),
            DataSpec::Mnist | DataSpec::FashionMnist => (28, "28x28"),
            DataSpec::Synthetic { .. } | DataSpec::Idx { .. } => {
                if let Some((l, ls)) = self.label.clone()
                    && let LabelKind::Targets(_) = l.kind
                {
                    self.push(
                        Diagnostic::error(span, "this data source has class labels")
                            .label("class labels")
                            .with(ls, format!("declared as {}", label_text(l.kind)))
                            .help("declare the label as `classes(N)`, or use `csv(...)` for value targets"),
                    );
                }
                return;
            }
            DataSpec::Csv { .. } => return,
        };
        let name = data_name(spec);
        let features = side * side;
        // One grey image per sample: flat, square, or with its one channel.
        let fits = |d: &[usize]| {
            matches!(*d, [f] if f == features) || d == [side, side] || d == [1, side, side]
        };
        if let Some((input, is)) = self.input.clone()
            && input.features == features
            && !fits(&input.dims)
        {
            let shape = crate::lang::check::net::shape_text(&input.dims);
            self.push(
                Diagnostic::error(
                    span,
                    format!(
                        "`{name}` has one channel of {side}×{side} per sample, but the input `{}` is {shape}",
                        input.name
                    ),
                )
                .label(format!("[1, {side}, {side}]"))
                .with(is, shape)
                .help(format!(
                    "declare `input {0}: 1x{dims}` (or `{dims}`, or `{features}`)",
                    input.name
                )),
            );
        }
        if let Some((input, is)) = self.input.clone()
            && input.features != features
        {
            self.push(
                Diagnostic::error(
                    span,
                    format!(
                        "`{name}` has {features} features per sample, but the input `{}` has {}",
                        input.name, input.features
                    ),
                )
                .label(format!("{features} features"))
                .with(is, format!("{} features", input.features))
                .help(format!("declare `input {}: {dims}`", input.name)),
            );
        }
        if let Some((l, ls)) = self.label.clone()
            && l.kind != LabelKind::Classes(10)
        {
            self.push(
                Diagnostic::error(
                    span,
                    format!(
                        "`{name}` has 10 classes, but the label `{}` is {}",
                        l.name,
                        label_text(l.kind)
                    ),
                )
                .label("10 classes")
                .with(ls, label_text(l.kind))
                .help(format!("declare `label {}: classes(10)`", l.name)),
            );
        }
    }

    fn optimizer(&mut self, e: &Expr) -> Option<OptimizerConfig> {
        let Some((func, args)) = word_or_call(e) else {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!("expected an optimizer, found {}", describe(e)),
                )
                .label("not an optimizer")
                .help(format!(
                    "{}, e.g. `sgd(lr: 0.01)`",
                    all_of(Role::Optimizer, "optimizers")
                )),
            );
            return None;
        };
        let Some(sig) = builtins::lookup(Role::Optimizer, &func.text) else {
            let help = all_of(Role::Optimizer, "optimizers");
            let what = ("optimizer", "an optimizer");
            self.unknown(func, Role::Optimizer, what, help);
            return None;
        };
        let b = self.bind(args, e.span, sig)?;
        let lr = self.real_param(&b, "lr");
        let config = if sig.name == "sgd" {
            let momentum = self.real_param(&b, "momentum");
            let dampening = self.real_param(&b, "dampening");
            let nesterov = self.bool_param(&b, "nesterov");
            let wd = self.real_param(&b, "weight_decay");
            OptimizerConfig::Sgd(SgdConfig {
                lr: lr?,
                momentum: momentum?,
                dampening: dampening?,
                nesterov: nesterov?,
                weight_decay: wd?,
            })
        } else {
            let betas = self.pair_param(&b, "betas");
            let eps = self.real_param(&b, "eps");
            let wd = self.real_param(&b, "weight_decay");
            let (beta1, beta2) = betas?;
            OptimizerConfig::Adam(AdamConfig {
                lr: lr?,
                beta1,
                beta2,
                eps: eps?,
                weight_decay: wd?,
                decoupled: sig.name == "adamw",
            })
        };
        // Each value is in its range already; what is left are the rules
        // between settings, which the config type keeps.
        match config.validate() {
            Ok(()) => Some(config),
            Err(OptimError::Nesterov { .. }) => {
                let at = b.arg("nesterov").map_or(e.span, |v| v.span);
                self.push(
                    Diagnostic::error(
                        at,
                        "nesterov momentum needs `momentum` above 0 and `dampening` 0",
                    )
                    .label("nesterov")
                    .help("set e.g. `momentum: 0.9` and leave `dampening` at 0"),
                );
                None
            }
            Err(other) => {
                self.push(Diagnostic::error(e.span, other.to_string()).label("not accepted"));
                None
            }
        }
    }

    /// `scaling`, `mc(passes: 30)`, or `scaling + mc(passes: 30)`.
    fn eval(&mut self, e: &Expr) -> Option<EvalSpec> {
        let parts: &[Expr] = match &e.kind {
            ExprKind::Sum(t) => t,
            _ => std::slice::from_ref(e),
        };
        let mut spec = EvalSpec {
            scaling: false,
            mc_passes: None,
            every: None,
        };
        let mut ok = true;
        for p in parts {
            let Some((func, args)) = word_or_call(p) else {
                self.push(
                    Diagnostic::error(
                        p.span,
                        format!("expected an evaluation mode, found {}", describe(p)),
                    )
                    .label("not an evaluation mode")
                    .help(EVAL_HELP),
                );
                ok = false;
                continue;
            };
            ok &= self.eval_mode(&mut spec, func, args, p.span);
        }
        ok.then_some(spec)
    }

    /// Adds the evaluation mode `func(args)` to `spec`; `false` on an error.
    fn eval_mode(
        &mut self,
        spec: &mut EvalSpec,
        func: &ast::Ident,
        args: &[ast::Arg],
        span: Span,
    ) -> bool {
        let Some(sig) = builtins::lookup(Role::EvalMode, &func.text) else {
            let what = ("evaluation mode", "an evaluation mode");
            self.unknown(func, Role::EvalMode, what, EVAL_HELP.to_string());
            return false;
        };
        let twice = spec.uses(sig.name);
        if twice {
            self.push(
                Diagnostic::error(span, format!("`{}` is given twice", func.text))
                    .label("again here"),
            );
        }
        let Some(b) = self.bind(args, span, sig) else {
            return false;
        };
        match sig.name {
            "mc" => match self.whole_param(&b, "passes") {
                Some(n) => spec.mc_passes = Some(n as usize),
                None => return false,
            },
            // `scaling`, the mode without parameters.
            _ => spec.scaling = true,
        }
        !twice
    }
}
