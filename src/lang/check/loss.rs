//! `loss = data_term + coef * penalty(target) + ...`

use super::args::{Range, describe, plain_name};
use super::net::shape_text;
use super::{Checker, NameKind};
use crate::lang::ast::{Expr, ExprKind, Ident};
use crate::lang::builtins::{self, Role, label_text};
use crate::lang::diag::{Diagnostic, quote};
use crate::lang::model::{
    self, DataLoss, DataTerm, Func, LabelKind, Penalty, PenaltyKind, PenaltyTarget,
};
use crate::lang::span::Span;
use crate::lang::suggest::did_you_mean;

fn is(role: Role, name: &str) -> bool {
    builtins::lookup(role, name).is_some()
}

const SHAPE_HELP: &str = "a loss term is `cross_entropy(out, y)`, `nll(out, y)` or `mse(out, y)`, or a penalty like `0.5 * l1(h1)`";

impl Checker<'_> {
    /// The `loss = ...` binding.
    pub(super) fn loss(&mut self, value: &Expr, stmt: Span) -> Option<model::Loss> {
        let terms: &[Expr] = match &value.kind {
            ExprKind::Sum(t) => t,
            _ => std::slice::from_ref(value),
        };
        let mut data: Option<(DataTerm, Span)> = None;
        let mut penalties: Vec<(Penalty, Span)> = Vec::new();
        let mut ok = true;
        let mut unknown_term = false;
        for t in terms {
            match self.loss_term(t, stmt.start) {
                Term::Data(Some(d)) => {
                    if let Some((_, first)) = &data {
                        let first = *first;
                        self.push(
                            Diagnostic::error(t.span, "a second data term in the loss")
                                .label("second data term")
                                .with(first, "first data term")
                                .help("the loss has one data term (cross_entropy, nll or mse); the other terms are penalties"),
                        );
                        ok = false;
                    } else {
                        data = Some((d, t.span));
                    }
                }
                Term::Penalty(Some(p)) => {
                    if let Some((_, first)) = penalties
                        .iter()
                        .find(|(q, _)| q.kind == p.kind && q.target == p.target)
                    {
                        let first = *first;
                        self.push(
                            Diagnostic::error(
                                t.span,
                                format!("`{}` appears twice in the loss", p.label()),
                            )
                            .label("again here")
                            .with(first, "first here")
                            .help("add the coefficients into one term"),
                        );
                        ok = false;
                    } else {
                        penalties.push((p, t.span));
                    }
                }
                Term::Data(None) => {
                    // Its own error is reported; do not also say "no data term".
                    data = data.or(Some((
                        DataTerm {
                            kind: DataLoss::Mse,
                            on: String::new(),
                        },
                        Span::at(0),
                    )));
                    ok = false;
                }
                Term::Penalty(None) => ok = false,
                Term::Invalid => {
                    ok = false;
                    unknown_term = true;
                }
            }
        }
        let Some((data, _)) = data else {
            // A term nobody knows (`crossentropy(out, y)`) may be the data
            // term misspelt: its own error says so, this one would cascade.
            if unknown_term {
                return None;
            }
            self.push(
                Diagnostic::error(value.span, "the loss has no data term")
                    .label("only penalties")
                    .help("add one, e.g. `cross_entropy(out, y) + ...`"),
            );
            return None;
        };
        ok.then(|| model::Loss {
            data,
            penalties: penalties.into_iter().map(|(p, _)| p).collect(),
        })
    }

    fn loss_term(&mut self, t: &Expr, pos: usize) -> Term {
        match &t.kind {
            ExprKind::Call { func, args } if is(Role::DataTerm, &func.text) => {
                Term::Data(self.data_term(t, func, args, pos))
            }
            ExprKind::Call { func, args } if is(Role::Penalty, &func.text) => {
                Term::Penalty(self.penalty(t.span, func, args, 1.0, pos))
            }
            ExprKind::Product(factors) => self.scaled(t, factors, pos),
            ExprKind::Call { func, .. } => {
                let name = func.text.as_str();
                let function = is(Role::Function, name);
                let mut d = if function {
                    Diagnostic::error(func.span, format!("`{name}` is an activation function, not a loss term"))
                        .label("not a loss term")
                        .help(format!("bind it to a name on its own line, and use that name in a data term or a penalty; {SHAPE_HELP}"))
                } else {
                    Diagnostic::error(func.span, format!("unknown loss term `{}`", quote(name)))
                        .label("not a data term or a penalty")
                };
                let known = builtins::names(Role::DataTerm).chain(builtins::names(Role::Penalty));
                if !function {
                    d = match did_you_mean(name, known) {
                        Some(s) => d.help(format!("did you mean `{s}`?")),
                        None => d.help(SHAPE_HELP),
                    };
                }
                self.push(d);
                Term::Invalid
            }
            _ => {
                self.push(
                    Diagnostic::error(
                        t.span,
                        format!("expected a loss term, found {}", describe(t)),
                    )
                    .label("not a loss term")
                    .help(SHAPE_HELP),
                );
                Term::Invalid
            }
        }
    }

    /// `coef * penalty(target)` (either order).
    fn scaled(&mut self, t: &Expr, factors: &[Expr], pos: usize) -> Term {
        if let [a, b] = factors {
            let (num, call) = match (&a.kind, &b.kind) {
                (ExprKind::Number(_), ExprKind::Call { .. }) => (a, b),
                (ExprKind::Call { .. }, ExprKind::Number(_)) => (b, a),
                _ => (a, b),
            };
            if let (ExprKind::Number(_), ExprKind::Call { func, args }) = (&num.kind, &call.kind) {
                if is(Role::Penalty, &func.text) {
                    let coef = self.real(num, "coefficient", Range::NonNegative);
                    let p = self.penalty(t.span, func, args, coef.unwrap_or(0.0), pos);
                    return Term::Penalty(coef.and(p));
                }
                if is(Role::DataTerm, &func.text) {
                    self.push(
                        Diagnostic::error(num.span, "the data term cannot be scaled")
                            .label("a coefficient on the data term")
                            .help("scale the penalties instead (or change the learning rate)"),
                    );
                    return Term::Data(None);
                }
                // `0.01 * L2(h)`: a penalty misspelt, said as plainly as `L2(h)` alone.
                let name = func.text.as_str();
                let d = Diagnostic::error(func.span, format!("unknown penalty `{}`", quote(name)))
                    .label("not a penalty");
                let penalties = builtins::names(Role::Penalty);
                self.push(match did_you_mean(name, penalties.clone()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => {
                        let all: Vec<&str> = penalties.collect();
                        d.help(format!("the penalties are `{}`", all.join("`, `")))
                    }
                });
                return Term::Invalid;
            }
        }
        self.push(
            Diagnostic::error(
                t.span,
                "a scaled loss term is `COEFFICIENT * PENALTY(NAME)`",
            )
            .label("not a scaled penalty")
            .help("for example: `0.5 * l1(h1)` or `1e-4 * sumsq(h1.weight)`"),
        );
        Term::Invalid
    }

    fn data_term(
        &mut self,
        t: &Expr,
        func: &Ident,
        args: &[crate::lang::ast::Arg],
        pos: usize,
    ) -> Option<DataTerm> {
        let sig = builtins::lookup(Role::DataTerm, &func.text)?;
        let kind = DataLoss::named(sig.name)?;
        let bound = self.bind(args, t.span, sig)?;
        let (input, target) = (bound.get(0)?, bound.get(1)?);
        let on = self.loss_activation(input, pos, kind.name());
        let label_ok = self.label_arg(target);
        let (on, shape) = on?;
        label_ok?;
        let (label, label_span) = self.label.clone()?;
        let fname = kind.name();
        let kind_text = label_text(label.kind);
        let expected = match (kind, label.kind) {
            (DataLoss::Mse, LabelKind::Targets(w)) => w,
            (DataLoss::CrossEntropy | DataLoss::Nll, LabelKind::Classes(n)) => n,
            (DataLoss::Mse, LabelKind::Classes(_)) => {
                self.push(
                    Diagnostic::error(func.span, format!("`mse` needs value targets, but `{}` is {kind_text}", label.name))
                        .label("a loss for values")
                        .with(label_span, format!("declared as {kind_text}"))
                        .help("use `cross_entropy` (on logits) or `nll` (on log_softmax) for classes, or declare the label as `values(N)`"),
                );
                return None;
            }
            (_, LabelKind::Targets(_)) => {
                self.push(
                    Diagnostic::error(
                        func.span,
                        format!(
                            "`{fname}` needs class labels, but `{}` is {kind_text}",
                            label.name
                        ),
                    )
                    .label("a loss for classes")
                    .with(label_span, format!("declared as {kind_text}"))
                    .help("use `mse` for values, or declare the label as `classes(N)`"),
                );
                return None;
            }
        };
        if shape != [expected] {
            let what = match label.kind {
                LabelKind::Classes(_) => "one score per class",
                LabelKind::Targets(_) => "one output per target value",
            };
            self.push(
                Diagnostic::error(
                    input.span,
                    format!(
                        "shape mismatch: `{fname}` needs {} for {}, but `{on}` has shape {}",
                        shape_text(&[expected]),
                        kind_text,
                        shape_text(&shape)
                    ),
                )
                .label(format!("shape {}", shape_text(&shape)))
                .with(label_span, kind_text.clone())
                .help(format!(
                    "{what}: make the last layer `linear(..., {expected})`"
                )),
            );
            return None;
        }
        match (kind, self.root_func(&on)) {
            (DataLoss::Nll, Some(Func::LogSoftmax)) => {}
            (DataLoss::Nll, _) => {
                self.push(
                    Diagnostic::error(input.span, format!("`nll` needs log-probabilities, but `{on}` does not end with `log_softmax`"))
                        .label("not log-probabilities")
                        .help(format!("use `cross_entropy({on}, {})` on logits, or end `{on}` with `log_softmax(...)`", label.name)),
                );
                return None;
            }
            (DataLoss::CrossEntropy, Some(f @ (Func::Softmax | Func::LogSoftmax))) => {
                self.push(
                    Diagnostic::warning(input.span, format!("`cross_entropy` applies log_softmax itself, but `{on}` ends with `{}`", f.name()))
                        .label("expected logits")
                        .help("pass the logits (the output of the last `linear`), or use `nll` on a `log_softmax`"),
                );
            }
            _ => {}
        }
        Some(DataTerm { kind, on })
    }

    /// The function a binding ends with, following plain renames (`out = h`).
    fn root_func(&self, name: &str) -> Option<Func> {
        let mut name = name.to_string();
        for _ in 0..=self.checked.len() {
            match &self.checked.get(&name)?.expr {
                model::Expr::Apply { func, .. } => return Some(*func),
                model::Expr::Name(n) => name = n.clone(),
                _ => return None,
            }
        }
        None
    }

    /// A data term's or penalty's activation argument: an earlier binding.
    fn loss_activation(
        &mut self,
        e: &Expr,
        pos: usize,
        what: &str,
    ) -> Option<(String, Vec<usize>)> {
        let Some(id) = plain_name(e) else {
            self.push(
                Diagnostic::error(
                    e.span,
                    format!("`{what}` takes a named activation, found {}", describe(e)),
                )
                .label("not a name")
                .help(format!(
                    "bind it to a name on its own line (`out = {}`) and use the name here",
                    self.text(e.span)
                )),
            );
            return None;
        };
        if self
            .names
            .get(&id.text)
            .is_some_and(|n| n.kind == NameKind::Input)
        {
            self.push(
                Diagnostic::error(
                    id.span,
                    format!(
                        "`{what}` of the input `{}` does not depend on any parameter",
                        id.text
                    ),
                )
                .label("the input")
                .help("name an activation computed by the net"),
            );
            return None;
        }
        let shape = self.activation_ref(id, pos)?;
        Some((id.text.clone(), shape))
    }

    /// The label argument of a data term.
    fn label_arg(&mut self, e: &Expr) -> Option<()> {
        let label = self.label.as_ref().map(|(l, _)| l.name.clone());
        match (plain_name(e), label) {
            (Some(id), Some(l)) if id.text == l => Some(()),
            (_, Some(l)) => {
                self.push(
                    Diagnostic::error(
                        e.span,
                        format!("expected the label `{l}`, found {}", describe(e)),
                    )
                    .label("not the label")
                    .help(format!(
                        "the second argument of a data term is the label: `cross_entropy(out, {l})`"
                    )),
                );
                None
            }
            // No label declared: reported as missing elsewhere.
            (_, None) => None,
        }
    }

    fn penalty(
        &mut self,
        span: Span,
        func: &Ident,
        args: &[crate::lang::ast::Arg],
        coef: f64,
        pos: usize,
    ) -> Option<Penalty> {
        let sig = builtins::lookup(Role::Penalty, &func.text)?;
        let kind = PenaltyKind::named(sig.name)?;
        let bound = self.bind(args, span, sig)?;
        let e = bound.get(0)?;
        let target = match &e.kind {
            ExprKind::Path(parts) if parts.len() == 2 => {
                self.param_target(&parts[0], &parts[1], pos)?
            }
            _ => PenaltyTarget::Activation(self.loss_activation(e, pos, kind.name())?.0),
        };
        Some(Penalty { coef, kind, target })
    }

    /// `h1.weight` or `h1.bias`.
    fn param_target(&mut self, layer: &Ident, field: &Ident, pos: usize) -> Option<PenaltyTarget> {
        self.activation_ref(layer, pos)?;
        let has = self.checked.get(&layer.text).and_then(|c| c.layer);
        let Some(l) = has else {
            self.push(
                Diagnostic::error(layer.span, format!("`{}` has no parameters", layer.text))
                    .label("no layer with parameters in this binding")
                    .help("penalise the binding that holds the `linear(...)` (or `conv2d`, `batch_norm`), or the activation itself"),
            );
            return None;
        };
        let fields: Vec<&str> = l.params().into_iter().map(|(f, _)| f).collect();
        if l.state().iter().any(|(f, _)| *f == field.text) {
            self.push(
                Diagnostic::error(
                    field.span,
                    format!("`{}.{}` is not a parameter", layer.text, field.text),
                )
                .label("a running statistic: state, not trained")
                .help(format!(
                    "penalties apply to parameters (`{0}.weight`, `{0}.bias`) or activations (`{0}`)",
                    layer.text
                )),
            );
            return None;
        }
        if !fields.contains(&field.text.as_str()) {
            let mut d = Diagnostic::error(
                field.span,
                format!("`{}` has no parameter `{}`", layer.text, quote(&field.text)),
            )
            .label("unknown parameter");
            d = match (
                field.text.as_str(),
                did_you_mean(&field.text, fields.iter().copied()),
            ) {
                ("bias", _) => d.help(format!("`{}` is declared with `bias: false`", layer.text)),
                (_, Some(s)) => d.help(format!("did you mean `{}.{s}`?", layer.text)),
                _ => d.help(format!(
                    "its parameters are `{}`",
                    fields
                        .iter()
                        .map(|f| format!("{}.{f}", layer.text))
                        .collect::<Vec<_>>()
                        .join("`, `")
                )),
            };
            self.push(d);
            return None;
        }
        Some(PenaltyTarget::Param(format!(
            "{}.{}",
            layer.text, field.text
        )))
    }
}

/// One term of the loss, checked (`None`: its error is reported).
enum Term {
    Data(Option<DataTerm>),
    Penalty(Option<Penalty>),
    Invalid,
}
