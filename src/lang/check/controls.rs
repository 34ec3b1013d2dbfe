//! The `train { }` settings that steer a run beyond its optimizer: the
//! learning-rate schedule and warm-up, the momentum ramp, gradient clipping,
//! the max-norm default, the validation split and early stopping.

use super::Checker;
use super::args::{Bound, describe};
use super::train::word_or_call;
use crate::lang::ast::{Entry, Expr, ExprKind};
use crate::lang::builtins::{self, Kind, Role, train_setting};
use crate::lang::diag::Diagnostic;
use crate::lang::model::{
    Controls, EarlyStop, LabelKind, MomentumRamp, Monitor, Schedule, Validation,
};
use crate::optim::OptimizerConfig;
use crate::optim::schedule::{Decay, Unit};
use crate::range::Range;

/// "the schedules are `step`, `multistep`, ...".
fn all_of(role: Role, what: &str) -> String {
    let names: Vec<&str> = builtins::names(role).collect();
    format!("the {what} are `{}`", names.join("`, `"))
}

impl Checker<'_> {
    /// The controls the block's entries (`get`) give; `None` after an error.
    pub(super) fn controls<'e>(
        &mut self,
        get: impl Fn(&str) -> Option<&'e Entry>,
        optimizer: Option<&OptimizerConfig>,
    ) -> Option<Controls> {
        let before = self.errors();
        let mut c = Controls::default();
        if let Some(e) = get("schedule") {
            c.schedule = self.schedule(&e.value).unwrap_or_default();
        }
        if let Some(w) = self.optional_whole(get("warmup"), "warmup") {
            c.schedule.warmup = w;
        }
        c.schedule.warmup_start = self.optional_real(get("warmup_start"), "warmup_start")?;
        if let Some(e) = get("momentum_ramp") {
            c.momentum_ramp = self.ramp(&e.value);
            if let Some(OptimizerConfig::Adam(_)) = optimizer {
                self.push(
                    Diagnostic::error(e.key.span, "`momentum_ramp` needs the `sgd` optimizer")
                        .label("sets SGD's momentum")
                        .help(
                            "use `optimizer: sgd(lr: ..., momentum: ...)`, or leave the ramp out",
                        ),
                );
            }
        }
        c.clip_grad_norm = self.given_real(get("clip_grad_norm"), "clip_grad_norm");
        c.max_norm = self.given_real(get("max_norm"), "max_norm");
        if let Some(e) = get("validation") {
            c.validation = self.validation(&e.value);
        }
        if let Some(e) = get("early_stop") {
            c.early_stop = self.early_stop(&e.value);
            if get("validation").is_none() {
                self.push(
                    Diagnostic::error(e.key.span, "`early_stop` needs a validation split")
                        .label("watches the validation split")
                        .help("add `validation: 0.1` (a tenth of the training split) or a number of samples"),
                );
            }
        }
        (self.errors() == before).then_some(c)
    }

    /// A whole-number setting's value if given, else its default.
    fn optional_whole(&mut self, e: Option<&Entry>, name: &str) -> Option<u64> {
        let p = train_setting(name)?;
        let Kind::Whole { min, max } = p.kind else {
            return None;
        };
        match e {
            Some(e) => self.whole(&e.value, name, min, max),
            None => p.default.num().map(|v| v as u64),
        }
    }

    /// A real setting's value if given, else its default.
    fn optional_real(&mut self, e: Option<&Entry>, name: &str) -> Option<f64> {
        match e {
            Some(_) => self.given_real(e, name),
            None => train_setting(name)?.default.num(),
        }
    }

    /// A real setting's value if given (checked against its range).
    fn given_real(&mut self, e: Option<&Entry>, name: &str) -> Option<f64> {
        let Kind::Real(range) = train_setting(name)?.kind else {
            return None;
        };
        self.real(&e?.value, name, range)
    }

    /// The builtin of `role` that `e` calls, bound to its arguments.
    fn call_of<'e>(
        &mut self,
        e: &'e Expr,
        role: Role,
        what: (&str, &str),
        example: &str,
    ) -> Option<(&'static builtins::Builtin, Bound<'e>)> {
        let help = format!(
            "{}, e.g. `{example}`",
            all_of(role, &format!("{}s", what.0))
        );
        let Some((func, args)) = word_or_call(e) else {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!("expected {}, found {}", what.1, describe(e)),
                )
                .label(format!("not {}", what.1))
                .help(help),
            );
            return None;
        };
        let Some(sig) = builtins::lookup(role, &func.text) else {
            self.unknown(func, role, what, help);
            return None;
        };
        let b = self.bind(args, e.span, sig)?;
        Some((sig, b))
    }

    /// `step(every: 30)`, `multistep([30, 80])`, `exponential(0.95)`, `cosine()`.
    fn schedule(&mut self, e: &Expr) -> Option<Schedule> {
        let what = ("learning-rate schedule", "a learning-rate schedule");
        let (sig, b) = self.call_of(e, Role::Schedule, what, "step(every: 30, gamma: 0.1)")?;
        let per = self.choice_param(&b, "per").map(Unit::named);
        let decay = match sig.name {
            "step" => {
                let every = self.whole_param(&b, "every");
                let gamma = self.real_param(&b, "gamma");
                Decay::Step {
                    every: every?,
                    gamma: gamma?,
                }
            }
            "multistep" => {
                let milestones = b.arg("milestones").and_then(|m| self.milestones(m));
                let gamma = self.real_param(&b, "gamma");
                Decay::MultiStep {
                    milestones: milestones?,
                    gamma: gamma?,
                }
            }
            "exponential" => Decay::Exponential {
                gamma: self.real_param(&b, "gamma")?,
            },
            _ => {
                let t_max = b.arg("t_max").map(|_| self.whole_param(&b, "t_max"));
                let min_lr = self.real_param(&b, "min_lr");
                Decay::Cosine {
                    t_max: t_max.map(|t| t.ok_or(())).transpose().ok()?,
                    min_lr: min_lr?,
                }
            }
        };
        Some(Schedule {
            decay: Some(decay),
            per: per?,
            ..Schedule::default()
        })
    }

    /// `[30, 80]`: whole numbers of at least 1, increasing.
    fn milestones(&mut self, e: &Expr) -> Option<Vec<u64>> {
        let ExprKind::List(items) = &e.kind else {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!(
                        "`milestones` must be a list of whole numbers, found {}",
                        describe(e)
                    ),
                )
                .label("expected `[a, b, ...]`")
                .help("for example: `multistep([30, 80], gamma: 0.1)`"),
            );
            return None;
        };
        if items.is_empty() {
            self.push(
                Diagnostic::error(e.span, "`milestones` is empty")
                    .label("no milestone")
                    .help("list the epochs at which the rate decays: `[30, 80]`"),
            );
            return None;
        }
        let values: Vec<Option<u64>> = items
            .iter()
            .map(|i| self.whole(i, "milestones", 1, builtins::MAX_SIZE))
            .collect();
        let values: Vec<u64> = values.into_iter().collect::<Option<_>>()?;
        for (k, pair) in values.windows(2).enumerate() {
            if pair[1] <= pair[0] {
                self.push(
                    Diagnostic::error(items[k + 1].span, "`milestones` must increase")
                        .label(format!("not after {}", pair[0]))
                        .help("list each milestone once, in increasing order"),
                );
                return None;
            }
        }
        Some(values)
    }

    /// `ramp(0.5, 0.99, epochs: 10)`.
    fn ramp(&mut self, e: &Expr) -> Option<MomentumRamp> {
        let what = ("momentum ramp", "a momentum ramp");
        let (_, b) = self.call_of(e, Role::Ramp, what, "ramp(0.5, 0.99, epochs: 10)")?;
        let from = self.real_param(&b, "from");
        let to = self.real_param(&b, "to");
        let epochs = self.whole_param(&b, "epochs");
        Some(MomentumRamp {
            from: from?,
            to: to?,
            epochs: epochs?,
        })
    }

    /// `0.1` (a fraction of the training split) or `500` (samples).
    fn validation(&mut self, e: &Expr) -> Option<Validation> {
        let v = self.real(e, "validation", Range::Positive)?;
        if v < 1.0 {
            return Some(Validation::Fraction(v));
        }
        if v.fract() != 0.0 {
            self.push(
                Diagnostic::error(e.span, format!("`validation` must be a fraction below 1 or a whole number of samples, found {}", describe(e)))
                    .label("neither a fraction nor a count")
                    .help("write `validation: 0.1` for a tenth of the training split, or `validation: 500` for 500 samples"),
            );
            return None;
        }
        Some(Validation::Samples(v as usize))
    }

    /// `val_loss(patience: 5, min_delta: 0.001)` or `val_acc(...)`.
    fn early_stop(&mut self, e: &Expr) -> Option<EarlyStop> {
        let what = ("validation metric", "a validation metric");
        let (sig, b) = self.call_of(e, Role::Monitor, what, "val_loss(patience: 5)")?;
        let patience = self.whole_param(&b, "patience");
        let min_delta = self.real_param(&b, "min_delta");
        let metric = if sig.name == "val_acc" {
            Monitor::ValAcc
        } else {
            Monitor::ValLoss
        };
        if let (Monitor::ValAcc, Some((l, ls))) = (metric, self.label.clone())
            && let LabelKind::Targets(_) = l.kind
        {
            self.push(
                Diagnostic::error(e.span, "`val_acc` needs class labels")
                    .label("no accuracy for value targets")
                    .with(ls, format!("declared as {}", builtins::label_text(l.kind)))
                    .help("watch `val_loss` instead"),
            );
            return None;
        }
        Some(EarlyStop {
            metric,
            patience: patience? as usize,
            min_delta: min_delta?,
        })
    }
}
