//! Checking a parsed file before anything runs: names, shapes, settings.
//! Every error in the file is reported, not just the first: a statement with
//! an error leaves its name "unknown", and what depends on it is not checked
//! again (no cascades).

mod args;
mod controls;
mod loss;
mod memory;
mod net;
mod spatial;
mod train;

pub use memory::{MEMORY_LIMIT, MemoryEstimate, estimate_memory, human_bytes};

use super::ast::{self, StmtKind};
use super::diag::{Diagnostic, Diagnostics};
use super::model::{self, Model};
use super::span::{LineIndex, Span};
use std::collections::{HashMap, HashSet};

pub use super::builtins::MAX_SIZE;

/// At most this many diagnostics are reported for one file; the rest are
/// counted. This also bounds the work spent on hints for a hostile file.
pub const MAX_DIAGNOSTICS: usize = 100;

/// What a name in the file refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NameKind {
    Input,
    Label,
    Binding,
    Loss,
    /// A statement that did not parse: uses of it are not checked.
    Broken,
}

#[derive(Clone, Copy, Debug)]
struct NameInfo {
    kind: NameKind,
    /// The defining name's span.
    span: Span,
    /// Start of the defining statement: a use must come after it.
    pos: usize,
}

/// A checked binding with where it came from, before the model is assembled.
struct Checked {
    expr: model::Expr,
    shape: Vec<usize>,
    layer: Option<model::Layer>,
    /// The layer's call (`linear(...)`, `conv2d(...)`), for messages about sizes.
    layer_span: Option<Span>,
}

/// The state of one check.
pub(crate) struct Checker<'a> {
    src: &'a str,
    lines: LineIndex,
    diags: Vec<Diagnostic>,
    names: HashMap<String, NameInfo>,
    checked: HashMap<String, Checked>,
    input: Option<(model::Input, Span)>,
    label: Option<(model::Label, Span)>,
    /// Diagnostics beyond [`MAX_DIAGNOSTICS`]: (errors, warnings, first span).
    dropped: (usize, usize, Span),
    /// A statement of the net failed to parse or check: what the net as a
    /// whole lacks (dropout, say) is then unknown, and no warning rests on it.
    net_failed: bool,
}

impl<'a> Checker<'a> {
    fn new(src: &'a str) -> Self {
        Checker {
            src,
            lines: LineIndex::new(src),
            diags: Vec::new(),
            names: HashMap::new(),
            checked: HashMap::new(),
            input: None,
            label: None,
            dropped: (0, 0, Span::default()),
            net_failed: false,
        }
    }

    fn push(&mut self, d: Diagnostic) {
        if self.diags.len() < MAX_DIAGNOSTICS {
            self.diags.push(d);
            return;
        }
        if self.dropped == (0, 0, Span::default()) {
            self.dropped.2 = d.primary.span;
        }
        if d.is_error() {
            self.dropped.0 += 1;
        } else {
            self.dropped.1 += 1;
        }
    }

    /// Whether further diagnostics would be dropped (so hints need no work).
    fn saturated(&self) -> bool {
        self.diags.len() >= MAX_DIAGNOSTICS
    }

    /// One last diagnostic counting the ones not shown.
    fn report_dropped(&mut self) {
        let (errors, warnings, span) = self.dropped;
        if errors + warnings == 0 {
            return;
        }
        let msg = format!("{errors} more errors and {warnings} more warnings are not shown");
        let d = if errors > 0 {
            Diagnostic::error(span, msg)
        } else {
            Diagnostic::warning(span, msg)
        };
        self.diags.push(
            d.label("the first one not shown")
                .help("fix the errors above and check again"),
        );
    }

    fn errors(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// Whether any checked binding uses dropout.
    fn any_dropout(&self) -> bool {
        self.checked.values().any(|c| c.expr.has_dropout())
    }

    /// 1-based line of a byte offset.
    fn line(&self, pos: usize) -> usize {
        self.lines.line_col(self.src, pos).line
    }
}

/// Checks a parsed file. `parse_errors` are the syntax errors found while
/// parsing it; they are reported with the rest.
pub fn check(
    path: &str,
    src: &str,
    file: &ast::File,
    parse_errors: Vec<Diagnostic>,
) -> Result<Model, Diagnostics> {
    check_in_part(path, src, file, parse_errors).result
}

/// What a check found, also in a file with errors: an editor shows the
/// shapes of the bindings that checked while the user mends the rest.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The model, or every diagnostic.
    pub result: Result<Model, Diagnostics>,
    /// The input, if its statement checked.
    pub input: Option<model::Input>,
    /// The bindings that checked, in file order (the model's own when it
    /// checked).
    pub bindings: Vec<model::Binding>,
}

/// [`check`], keeping what checked when the file as a whole does not.
pub fn check_in_part(
    path: &str,
    src: &str,
    file: &ast::File,
    parse_errors: Vec<Diagnostic>,
) -> Outcome {
    let mut c = Checker::new(src);
    // Errors and nothing parsed: a file over a size limit (see `parse`), of
    // which nothing more is said.
    let refused = file.statements.is_empty() && file.broken.is_empty() && !parse_errors.is_empty();
    for e in parse_errors {
        c.push(e);
    }
    if refused {
        let mut diags = Diagnostics::new(path, src);
        diags.extend(c.diags);
        return Outcome {
            result: Err(diags),
            input: None,
            bindings: Vec::new(),
        };
    }

    let header = c.header(file);
    c.register(file);
    let input = file.statements.iter().find_map(|s| match &s.kind {
        StmtKind::Input { name, dims } => Some((name, dims, s.span)),
        _ => None,
    });
    if let Some((name, dims, span)) = input {
        c.input(name, dims, span);
    }
    let label = file.statements.iter().find_map(|s| match &s.kind {
        StmtKind::Label { name, kind } => Some((name, kind)),
        _ => None,
    });
    if let Some((name, kind)) = label {
        c.label(name, kind);
    }

    let mut bindings = Vec::new();
    let mut loss = None;
    for s in &file.statements {
        if let StmtKind::Binding { name, value } = &s.kind {
            if c.names.get(&name.text).is_none_or(|n| n.span != name.span) {
                continue; // a duplicate: reported already
            }
            if name.text == "loss" {
                loss = c.loss(value, s.span).map(|l| (l, s.span));
            } else if let Some(b) = c.binding(name, value, s.span) {
                bindings.push(b);
            } else {
                c.net_failed = true;
            }
        }
    }
    c.net_failed |= !file.broken.is_empty();
    let train = c.train(file);
    if let Some((t, _)) = &train {
        c.batch_norm_batch(&bindings, t.batch);
    }
    c.unused(file);
    c.missing(file, header.as_ref().map(|h| h.1));

    let input = c.input.as_ref().map(|(i, _)| i.clone());
    let mut model = None;
    let mut partial = Vec::new();
    if c.errors() == 0
        && let (
            Some((name, _)),
            Some((input, _)),
            Some((label, _)),
            Some((loss, _)),
            Some((train, train_span)),
        ) = (header, c.input.clone(), c.label.clone(), loss, train)
    {
        let m = Model {
            name,
            path: path.to_string(),
            source: src.to_string(),
            input,
            label,
            bindings,
            loss,
            train,
            warnings: Diagnostics::new(path, src),
        };
        c.memory(&m, train_span);
        model = Some(m);
    } else {
        partial = bindings;
    }

    c.report_dropped();
    let mut diags = Diagnostics::new(path, src);
    diags.extend(c.diags);
    diags.sort();
    let result = match model {
        Some(mut m) if !diags.has_errors() => {
            m.warnings = diags;
            partial = m.bindings.clone();
            Ok(m)
        }
        Some(m) => {
            partial = m.bindings;
            Err(diags)
        }
        None => Err(diags),
    };
    Outcome {
        result,
        input,
        bindings: partial,
    }
}

impl Checker<'_> {
    /// Every name the file defines, with duplicates and reserved words reported.
    fn register(&mut self, file: &ast::File) {
        let mut defs: Vec<(&ast::Ident, NameKind, usize)> = Vec::new();
        for s in &file.statements {
            match &s.kind {
                StmtKind::Input { name, .. } => defs.push((name, NameKind::Input, s.span.start)),
                StmtKind::Label { name, .. } => defs.push((name, NameKind::Label, s.span.start)),
                StmtKind::Binding { name, .. } => {
                    let kind = if name.text == "loss" {
                        NameKind::Loss
                    } else {
                        NameKind::Binding
                    };
                    defs.push((name, kind, s.span.start));
                }
                StmtKind::Header { .. } | StmtKind::Train { .. } => {}
            }
        }
        for b in &file.broken {
            for n in &b.names {
                self.names.entry(n.clone()).or_insert(NameInfo {
                    kind: NameKind::Broken,
                    span: b.span,
                    pos: b.span.start,
                });
            }
        }
        for (name, kind, pos) in defs {
            if matches!(name.text.as_str(), "net" | "input" | "label" | "train") {
                // Known but unchecked, so its uses are not reported again.
                self.names.entry(name.text.clone()).or_insert(NameInfo {
                    kind: NameKind::Broken,
                    span: name.span,
                    pos,
                });
                self.push(
                    Diagnostic::error(
                        name.span,
                        format!("`{}` is a keyword, not a name", name.text),
                    )
                    .label("reserved")
                    .help("choose another name"),
                );
                continue;
            }
            if let Some(first) = self.names.get(&name.text) {
                if first.kind == NameKind::Broken {
                    continue;
                }
                let what = match (kind, first.kind) {
                    (NameKind::Input, NameKind::Input) => "a second input".to_string(),
                    (NameKind::Label, NameKind::Label) => "a second label".to_string(),
                    (NameKind::Loss, _) => "a second loss".to_string(),
                    _ => format!("`{}` is defined twice", name.text),
                };
                let help = match kind {
                    NameKind::Input => "a net has one input",
                    NameKind::Label => "a net has one label",
                    NameKind::Loss => "sum every term into one `loss = ...` line",
                    _ => "give each activation its own name",
                };
                let first_span = first.span;
                self.push(
                    Diagnostic::error(name.span, what)
                        .label("defined again here")
                        .with(first_span, "first defined here")
                        .help(help),
                );
                continue;
            }
            if matches!(kind, NameKind::Input | NameKind::Label)
                && let Some(prev) = self.names.values().find(|n| n.kind == kind)
            {
                let first_span = prev.span;
                let (what, help) = if kind == NameKind::Input {
                    ("a second input", "a net has one input")
                } else {
                    ("a second label", "a net has one label")
                };
                self.push(
                    Diagnostic::error(name.span, what)
                        .label("declared again here")
                        .with(first_span, "first declared here")
                        .help(help),
                );
                continue;
            }
            self.names.insert(
                name.text.clone(),
                NameInfo {
                    kind,
                    span: name.span,
                    pos,
                },
            );
        }
    }

    /// Warns about activations nothing uses. A use is any mention in another
    /// statement, even one with errors, so an error does not also cause a
    /// misleading warning.
    fn unused(&mut self, file: &ast::File) {
        let mut used = HashSet::new();
        for s in &file.statements {
            if let StmtKind::Binding { name, value } = &s.kind {
                mentions(value, &mut |n| {
                    if n != name.text {
                        used.insert(n.to_string());
                    }
                });
            }
        }
        // Words in statements that did not parse count as uses too.
        for b in &file.broken {
            let text = self.src.get(b.span.start..b.span.end).unwrap_or("");
            for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                used.insert(w.to_string());
            }
        }
        for s in &file.statements {
            let (name, what) = match &s.kind {
                StmtKind::Binding { name, .. } if name.text != "loss" => (name, "activation"),
                StmtKind::Input { name, .. } => (name, "input"),
                _ => continue,
            };
            let registered = self
                .names
                .get(&name.text)
                .is_some_and(|n| n.span == name.span);
            if !registered || used.contains(&name.text) || name.text.starts_with('_') {
                continue;
            }
            self.push(
                Diagnostic::warning(name.span, format!("unused {what} `{}`", name.text))
                    .label("never used")
                    .help("use it in a later line or in the loss, or remove it (a name starting with `_` is not reported)"),
            );
        }
    }

    /// Errors for the statements every file needs, when they are absent
    /// (and not merely broken by a syntax error).
    fn missing(&mut self, file: &ast::File, header: Option<Span>) {
        let broken = |w: &str| file.broken.iter().any(|b| b.keyword.as_deref() == Some(w));
        let at = header.unwrap_or(Span::at(0));
        let has = |f: &dyn Fn(&StmtKind) -> bool| file.statements.iter().any(|s| f(&s.kind));
        let needs: [(&str, bool, &str); 4] = [
            (
                "input",
                has(&|k| matches!(k, StmtKind::Input { .. })),
                "input x: 784",
            ),
            (
                "label",
                has(&|k| matches!(k, StmtKind::Label { .. })),
                "label y: classes(10)",
            ),
            (
                "loss",
                has(&|k| matches!(k, StmtKind::Binding { name, .. } if name.text == "loss")),
                "loss = cross_entropy(out, y)",
            ),
            (
                "train",
                has(&|k| matches!(k, StmtKind::Train { .. })),
                "train { data: digits }",
            ),
        ];
        if file.statements.is_empty() && file.broken.is_empty() {
            self.push(
                Diagnostic::error(at, "this file declares no net")
                    .label("empty")
                    .help("start with `net NAME v1`, then an `input`, a `label`, bindings, a `loss` and a `train { }` block (see grammar/README.md)"),
            );
            return;
        }
        for (what, present, example) in needs {
            if !present && !broken(what) {
                self.push(
                    Diagnostic::error(at, format!("this net has no `{what}`"))
                        .label(format!("`{what}` is missing"))
                        .help(format!("add a line like `{example}`")),
                );
            }
        }
    }
}

/// Calls `f` with every plain name an expression mentions (the `h1` of `h1.weight` too).
fn mentions(e: &ast::Expr, f: &mut dyn FnMut(&str)) {
    use ast::ExprKind;
    match &e.kind {
        ExprKind::Path(parts) => {
            if let Some(p) = parts.first() {
                f(&p.text);
            }
        }
        ExprKind::Call { args, .. } => args.iter().for_each(|a| mentions(&a.value, f)),
        ExprKind::List(xs) | ExprKind::Sum(xs) | ExprKind::Product(xs) => {
            xs.iter().for_each(|x| mentions(x, f))
        }
        ExprKind::Number(_) | ExprKind::Str { .. } => {}
    }
}

#[cfg(test)]
mod tests;
