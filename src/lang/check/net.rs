//! The net itself: the header, the input, the label, and each binding's
//! expression with its shape.

use super::args::describe;
use super::{Checked, Checker, MAX_SIZE, NameKind};
use crate::lang::ast::{self, Expr, ExprKind, Ident, StmtKind};
use crate::lang::builtins::{self, CLASSES, Role, dropout_mode};
use crate::lang::diag::{Diagnostic, quote};
use crate::lang::model::{self, Func, LabelKind, Pool};
use crate::lang::span::Span;
use crate::lang::suggest::did_you_mean;

/// The language versions this netc reads.
pub const VERSIONS: [&str; 1] = ["v1"];

/// Where a builtin that is not an activation function belongs.
fn elsewhere(name: &str) -> Option<&'static str> {
    builtins::find(name)
        .filter(|b| b.role != Role::Function)
        .map(|b| b.role.place())
}

pub fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// Per-binding state while its expression is checked.
pub(super) struct Scope {
    /// Where the binding's statement starts: names used must be defined before it.
    pos: usize,
    binding: String,
    /// Every call of a layer with parameters in the binding, in reading order.
    pub(super) layers: Vec<(Span, model::Layer)>,
}

impl Checker<'_> {
    /// `net NAME v1`: present, first, and a known version.
    pub(super) fn header(&mut self, file: &ast::File) -> Option<(String, Span)> {
        let mut found = None;
        for (i, s) in file.statements.iter().enumerate() {
            let StmtKind::Header { name, version } = &s.kind else {
                continue;
            };
            if let Some((_, first)) = &found {
                let first: Span = *first;
                self.push(
                    Diagnostic::error(s.span, "a second `net` line")
                        .label("declared again here")
                        .with(first, "first declared here")
                        .help("a file holds one net"),
                );
                continue;
            }
            // Only statements that parsed count as coming first: a line that
            // failed to parse (a `//` comment, say) has its own error already.
            if i > 0 {
                let first = file.statements[0].span.start;
                self.push(
                    Diagnostic::error(s.span, "the `net` line must come first")
                        .label("not the first statement")
                        .with(Span::new(first, first), "the file starts here")
                        .help("move it to the top of the file (comments may come before it)"),
                );
            }
            if !VERSIONS.contains(&version.text.as_str()) {
                self.push(
                    Diagnostic::error(
                        version.span,
                        format!("unknown language version `{}`", quote(&version.text)),
                    )
                    .label("not a version this netc reads")
                    .help(format!("this netc reads `{}`", VERSIONS.join("`, `"))),
                );
            }
            found = Some((name.text.clone(), s.span));
        }
        let header_broken = file
            .broken
            .iter()
            .any(|b| b.keyword.as_deref() == Some("net"));
        let empty = file.statements.is_empty() && file.broken.is_empty();
        if found.is_none() && !header_broken && !empty {
            let at = file.statements.first().map_or(Span::at(0), |s| s.span);
            self.push(
                Diagnostic::error(Span::at(at.start), "missing the `net` line")
                    .label("expected `net NAME v1` before this")
                    .help("start the file with a line like `net mlp v1`"),
            );
        }
        found
    }

    /// `input x: 28x28`
    pub(super) fn input(&mut self, name: &Ident, dims: &[ast::Number], span: Span) {
        let mut out = Vec::new();
        let mut features: u64 = 1;
        for n in dims {
            let e = Expr {
                kind: ExprKind::Number(n.clone()),
                span: n.span,
            };
            let Some(d) = self.whole(&e, "input size", 1, MAX_SIZE) else {
                continue;
            };
            features = features.saturating_mul(d);
            out.push(d as usize);
        }
        if out.len() != dims.len() {
            return;
        }
        if features > MAX_SIZE {
            let all = dims
                .first()
                .map_or(span, |f| f.span.to(dims[dims.len() - 1].span));
            self.push(
                Diagnostic::error(all, format!("the input has too many features: {features}"))
                    .label(format!("at most {MAX_SIZE} features per sample")),
            );
            return;
        }
        let input = model::Input {
            name: name.text.clone(),
            dims: out,
            features: features as usize,
        };
        self.input = Some((input, name.span));
    }

    /// `label y: classes(10)` or `label y: values(3)`
    pub(super) fn label(&mut self, name: &Ident, kind: &Expr) {
        let kinds = builtins::names(Role::LabelKind);
        let (func, args) = match &kind.kind {
            ExprKind::Call { func, args } => (func, args.as_slice()),
            ExprKind::Path(p) if p.len() == 1 && kinds.clone().any(|k| k == p[0].text) => {
                let w = &p[0].text;
                self.push(
                    Diagnostic::error(kind.span, format!("`{w}` needs a count"))
                        .label("how many?")
                        .help(format!("for example: `{w}(10)`")),
                );
                return;
            }
            _ => {
                self.push(
                    Diagnostic::error(
                        kind.span,
                        format!(
                            "a label is `classes(N)` or `values(N)`, found {}",
                            describe(kind)
                        ),
                    )
                    .label("not a label kind")
                    .help("`classes(10)` for class indices, `values(1)` for real targets (mse)"),
                );
                return;
            }
        };
        let sig = match builtins::lookup(Role::LabelKind, &func.text) {
            Some(sig) => sig,
            None => {
                let other = func.text.as_str();
                let mut d =
                    Diagnostic::error(func.span, format!("unknown label kind `{}`", quote(other)))
                        .label("not a label kind");
                d = match did_you_mean(other, kinds) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("a label is `classes(N)` or `values(N)`"),
                };
                self.push(d);
                return;
            }
        };
        let Some(bound) = self.bind(args, kind.span, sig) else {
            return;
        };
        let Some(n_expr) = bound.get(0) else {
            return;
        };
        let classes = sig.name == CLASSES.name;
        let builtins::Kind::Whole { min, max } = sig.params[0].kind else {
            return;
        };
        // Messages name the kind (`classes` must be at least 2), not `n`.
        let Some(n) = self.whole(n_expr, sig.name, min, max) else {
            return;
        };
        let kind = if classes {
            LabelKind::Classes(n as usize)
        } else {
            LabelKind::Targets(n as usize)
        };
        self.label = Some((
            model::Label {
                name: name.text.clone(),
                kind,
            },
            name.span,
        ));
    }

    /// `name = expression`: checks the expression and infers its shape.
    pub(super) fn binding(
        &mut self,
        name: &Ident,
        value: &Expr,
        stmt: Span,
    ) -> Option<model::Binding> {
        let mut scope = Scope {
            pos: stmt.start,
            binding: name.text.clone(),
            layers: Vec::new(),
        };
        let result = self.act(value, &mut scope);
        if scope.layers.len() > 1 {
            self.second_layer(&scope);
            return None;
        }
        let (expr, shape) = result?;
        let (layer_span, layer) = match scope.layers.first() {
            Some((s, l)) => (Some(*s), Some(*l)),
            None => (None, None),
        };
        self.checked.insert(
            name.text.clone(),
            Checked {
                expr: expr.clone(),
                shape: shape.clone(),
                layer,
                layer_span,
            },
        );
        Some(model::Binding {
            name: name.text.clone(),
            expr,
            shape,
            layer,
            line: self.line(stmt.start),
        })
    }

    /// Every layer but the outermost one (which owns the binding's
    /// parameters) needs its own binding.
    fn second_layer(&mut self, scope: &Scope) {
        let Some((owner, _)) = scope.layers.last() else {
            return;
        };
        let owner = *owner;
        for (span, _) in &scope.layers[..scope.layers.len() - 1] {
            self.push(
                Diagnostic::error(*span, format!("a second layer with parameters in `{}`", scope.binding))
                    .label("this layer needs its own name")
                    .with(owner, format!("this one's parameters are `{}.weight` and `{0}.bias`", scope.binding))
                    .note("a layer's parameters are named after its binding, so a binding holds one layer")
                    .help(format!(
                        "bind it on the line before: `{}_in = {}`, and use `{0}_in` here",
                        scope.binding,
                        self.text(*span)
                    )),
            );
        }
    }

    /// An activation expression: its checked form and per-sample shape.
    fn act(&mut self, e: &Expr, scope: &mut Scope) -> Option<(model::Expr, Vec<usize>)> {
        match &e.kind {
            ExprKind::Path(parts) if parts.len() == 1 => self.name_ref(&parts[0], scope),
            ExprKind::Path(parts) => {
                self.push(
                    Diagnostic::error(
                        e.span,
                        format!("`{}` is a parameter, not an activation", self.text(e.span)),
                    )
                    .label("a parameter")
                    .help(format!(
                        "parameters are used by their layer; name the activation instead: `{}`",
                        parts[0].text
                    )),
                );
                None
            }
            ExprKind::Sum(terms) => self.sum(terms, scope),
            ExprKind::Call { func, args } => self.call(e, func, args, scope),
            ExprKind::Product(_) => {
                self.push(
                    Diagnostic::error(e.span, "`*` is not an operation on activations")
                        .label("not an activation")
                        .help("`*` scales a penalty in the loss: `0.5 * l1(h1)`"),
                );
                None
            }
            ExprKind::Number(_) | ExprKind::Str { .. } | ExprKind::List(_) => {
                self.push(
                    Diagnostic::error(
                        e.span,
                        format!("expected an activation, found {}", describe(e)),
                    )
                    .label("not an activation")
                    .help("an activation is the input, an earlier name, or a call like `relu(h1)`"),
                );
                None
            }
        }
    }

    /// A use of an earlier activation in the statement starting at `pos`; its shape.
    pub(super) fn activation_ref(&mut self, id: &Ident, pos: usize) -> Option<Vec<usize>> {
        let scope = Scope {
            pos,
            binding: String::new(),
            layers: Vec::new(),
        };
        self.name_ref(id, &scope).map(|(_, shape)| shape)
    }

    fn name_ref(&mut self, id: &Ident, scope: &Scope) -> Option<(model::Expr, Vec<usize>)> {
        let Some(info) = self.names.get(&id.text).copied() else {
            if self.saturated() {
                self.push(Diagnostic::error(id.span, "unknown name"));
                return None;
            }
            // Suggestions cost a pass over every name: only for the first errors.
            let mut known: Vec<(usize, &str)> = Vec::new();
            if self.diags.len() < 20 {
                known = self
                    .names
                    .iter()
                    .filter(|(_, n)| matches!(n.kind, NameKind::Input | NameKind::Binding))
                    .map(|(k, n)| (n.pos, k.as_str()))
                    .collect();
                // In file order, so that among equally close names the first wins.
                known.sort();
            }
            let known = known.into_iter().map(|(_, k)| k);
            let mut d = Diagnostic::error(id.span, format!("unknown name `{}`", quote(&id.text)))
                .label("not defined in this file");
            if let Some(s) = did_you_mean(&id.text, known) {
                d = d.help(format!("did you mean `{s}`?"));
            } else if builtins::lookup(Role::Function, &id.text).is_some() {
                d = d.help(format!(
                    "`{0}` is a function: call it, e.g. `{0}(x)`",
                    id.text
                ));
            }
            self.push(d);
            return None;
        };
        match info.kind {
            NameKind::Broken => None,
            NameKind::Label => {
                self.push(
                    Diagnostic::error(id.span, format!("`{}` is the label", id.text))
                        .label("the label is not an activation")
                        .help("the label is only read by the data term of the loss"),
                );
                None
            }
            NameKind::Loss => {
                self.push(
                    Diagnostic::error(id.span, "the loss cannot be used in an expression")
                        .label("the loss"),
                );
                None
            }
            NameKind::Input | NameKind::Binding => {
                if info.pos >= scope.pos {
                    let d = if info.pos == scope.pos {
                        Diagnostic::error(id.span, format!("`{}` refers to itself", id.text))
                            .label("used in its own definition")
                            .help("an activation is computed from the input and earlier names")
                    } else {
                        let line = self.line(info.pos);
                        Diagnostic::error(id.span, format!("`{}` is used before it is defined", id.text))
                            .label("used here")
                            .with(info.span, "defined here")
                            .help(format!(
                                "`{}` is defined on line {line}, after its use; move that line above this one",
                                id.text
                            ))
                    };
                    self.push(d);
                    return None;
                }
                let shape = if info.kind == NameKind::Input {
                    self.input.as_ref().map(|(i, _)| i.dims.clone())?
                } else {
                    self.checked.get(&id.text).map(|c| c.shape.clone())?
                };
                Some((model::Expr::Name(id.text.clone()), shape))
            }
        }
    }

    fn sum(&mut self, terms: &[Expr], scope: &mut Scope) -> Option<(model::Expr, Vec<usize>)> {
        let checked: Vec<_> = terms.iter().map(|t| self.act(t, scope)).collect();
        let mut out = Vec::new();
        let mut first: Option<(Vec<usize>, Span)> = None;
        let mut ok = true;
        for (c, t) in checked.into_iter().zip(terms) {
            let Some((expr, shape)) = c else {
                ok = false;
                continue;
            };
            match &first {
                None => first = Some((shape, t.span)),
                Some((s0, span0)) if *s0 != shape => {
                    let (s0, span0) = (s0.clone(), *span0);
                    self.push(
                        Diagnostic::error(
                            t.span,
                            format!(
                                "shape mismatch: cannot add {} and {}",
                                shape_text(&s0),
                                shape_text(&shape)
                            ),
                        )
                        .label(format!("this has shape {}", shape_text(&shape)))
                        .with(span0, format!("this has shape {}", shape_text(&s0)))
                        .help("only activations of the same shape can be added"),
                    );
                    ok = false;
                }
                Some(_) => {}
            }
            out.push(expr);
        }
        let shape = first?.0;
        ok.then_some((model::Expr::Add(out), shape))
    }

    fn call(
        &mut self,
        e: &Expr,
        func: &Ident,
        args: &[ast::Arg],
        scope: &mut Scope,
    ) -> Option<(model::Expr, Vec<usize>)> {
        let name = func.text.as_str();
        let Some(sig) = builtins::lookup(Role::Function, name) else {
            let functions = builtins::names(Role::Function);
            let mut d = Diagnostic::error(func.span, format!("unknown function `{}`", quote(name)))
                .label("not an activation function");
            if let Some(place) = elsewhere(name) {
                d = Diagnostic::error(func.span, format!("`{name}` {place}"))
                    .label("not an activation function");
            } else if let Some(s) = did_you_mean(name, functions.clone()) {
                d = d.help(format!("did you mean `{s}`?"));
            } else {
                let all: Vec<&str> = functions.collect();
                d = d.help(format!("the functions are `{}`", all.join("`, `")));
            }
            self.push(d);
            // Still check the arguments that read as activations, for their
            // own errors; numbers, strings and named arguments belong to a
            // function nobody knows, so nothing can be said of them.
            for a in args {
                let reads_as_activation =
                    matches!(a.value.kind, ExprKind::Path(_) | ExprKind::Call { .. });
                if a.name.is_none() && reads_as_activation {
                    let _ = self.act(&a.value, scope);
                }
            }
            return None;
        };
        let bound = self.bind(args, e.span, sig)?;
        let x_expr = bound.get(0)?;
        let x = self.act(x_expr, scope);
        match name {
            "linear" => {
                let inputs = x
                    .as_ref()
                    .and_then(|(_, shape)| self.flat(x_expr, shape, "linear"));
                let note = bound.arg("units").and_then(|u| layer_note(u, inputs));
                let units = self.whole_param_with(&bound, "units", note);
                let bias = self.bool_param(&bound, "bias");
                let max_norm = bound
                    .arg("max_norm")
                    .map(|e| self.real(e, "max_norm", crate::range::Range::Positive));
                let (x, _) = x?;
                let max_norm = max_norm.map(|c| c.ok_or(())).transpose().ok()?;
                let (inputs, units, bias) = (inputs?, units? as usize, bias?);
                scope.layers.push((
                    e.span,
                    model::Layer::Linear {
                        inputs,
                        units,
                        bias,
                    },
                ));
                Some((
                    model::Expr::Linear {
                        x: Box::new(x),
                        units,
                        bias,
                        max_norm,
                    },
                    vec![units],
                ))
            }
            "conv2d" => self.conv2d(e, &bound, x, scope),
            "max_pool2d" => self.pool(e, Pool::Max, &bound, x),
            "avg_pool2d" => self.pool(e, Pool::Avg, &bound, x),
            "dropout2d" => self.dropout2d(&bound, x),
            "batch_norm" => self.batch_norm(e, &bound, x, scope),
            "dropout" => {
                let p = self.real_param(&bound, "p");
                let mode = self.choice_param(&bound, "mode").map(dropout_mode);
                let (x, shape) = x?;
                Some((
                    model::Expr::Dropout {
                        x: Box::new(x),
                        p: p?,
                        mode: mode?,
                    },
                    shape,
                ))
            }
            _ => {
                let (x, shape) = x?;
                let func = Func::named(name)?;
                let shape = match func {
                    Func::Flatten => vec![shape.iter().product()],
                    Func::Softmax | Func::LogSoftmax => {
                        self.flat(x_expr, &shape, name)?;
                        shape
                    }
                    _ => shape,
                };
                Some((
                    model::Expr::Apply {
                        func,
                        x: Box::new(x),
                    },
                    shape,
                ))
            }
        }
    }

    /// The width of a one-dimensional shape, or an error suggesting `flatten`.
    fn flat(&mut self, x: &Expr, shape: &[usize], func: &str) -> Option<usize> {
        if let [w] = shape {
            return Some(*w);
        }
        let hint = format!("flatten it first: `flatten({})`", self.text(x.span));
        self.push(
            Diagnostic::error(
                x.span,
                format!(
                    "`{func}` needs a flat input, but this has shape {}",
                    shape_text(shape)
                ),
            )
            .label(format!("shape {}", shape_text(shape)))
            .help(hint),
        );
        None
    }
}

/// For `units` above [`MAX_SIZE`]: the memory such a layer would need, worked
/// out from the numbers alone (nothing is allocated to find out).
fn layer_note(units: &Expr, inputs: Option<usize>) -> Option<String> {
    let ExprKind::Number(n) = &units.kind else {
        return None;
    };
    let v = n.value()?;
    let inputs = inputs?;
    if v <= MAX_SIZE as f64 || !v.is_finite() {
        return None;
    }
    // weights and bias, each with its gradient, as f32
    let bytes = v * (inputs as f64 + 1.0) * 2.0 * 4.0;
    let size = if bytes < u64::MAX as f64 {
        super::human_bytes(bytes as u64)
    } else {
        format!("more than {}", super::human_bytes(u64::MAX))
    };
    Some(format!(
        "a layer of {} units on {inputs} inputs would need {size} for its weights and their gradients alone",
        n.text
    ))
}
