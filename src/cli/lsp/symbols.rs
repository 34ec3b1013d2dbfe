//! What the word under the cursor is: a name the file defines, a layer's
//! parameter, a builtin, a builtin's parameter or a `train { }` setting.
//! Hover and go-to-definition both start here; everything is read from the
//! syntax tree and the builtins table.

use netc::lang::ast::{Expr, ExprKind, File, Ident, Statement, StmtKind};
use netc::lang::builtins::{self, Builtin, Param};
use netc::lang::span::Span;

/// What a word of the file refers to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target<'a> {
    /// A name the file defines (the input, the label, a binding, `loss`),
    /// where it is defined or used.
    Name(&'a str),
    /// `h1.weight`: a parameter of the layer in binding `layer`.
    Param { layer: &'a str, param: &'a str },
    /// A function, data source, optimizer, ... of the builtins table.
    Builtin(&'static Builtin),
    /// A named argument of a builtin: `lr` in `sgd(lr: 0.1)`.
    Arg(&'static Builtin, &'static Param),
    /// A `train { }` setting: `batch` in `batch: 64`.
    Setting(&'static Param),
}

/// A word and what it refers to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Occurrence<'a> {
    pub span: Span,
    pub target: Target<'a>,
}

/// The word at byte `offset` (or just before it, as a cursor after a word
/// is still on it), the innermost if words nest.
pub fn at(file: &File, offset: usize) -> Option<Occurrence<'_>> {
    let mut found = Vec::new();
    for s in &file.statements {
        if offset < s.span.start || offset > s.span.end {
            continue;
        }
        match &s.kind {
            StmtKind::Header { .. } => {}
            StmtKind::Input { name, .. } => found.push(name_at(name.span, &name.text)),
            StmtKind::Label { name, kind } => {
                found.push(name_at(name.span, &name.text));
                expr(file, kind, &mut found);
            }
            StmtKind::Binding { name, value } => {
                found.push(name_at(name.span, &name.text));
                expr(file, value, &mut found);
            }
            StmtKind::Train { entries, .. } => {
                for e in entries {
                    if let Some(p) = builtins::train_setting(&e.key.text) {
                        found.push(Occurrence {
                            span: e.key.span,
                            target: Target::Setting(p),
                        });
                    }
                    expr(file, &e.value, &mut found);
                }
            }
        }
    }
    found
        .into_iter()
        .filter(|o| o.span.start <= offset && offset <= o.span.end)
        .min_by_key(|o| o.span.len())
}

fn name_at(span: Span, text: &str) -> Occurrence<'_> {
    Occurrence {
        span,
        target: Target::Name(text),
    }
}

/// Every word of an expression.
fn expr<'a>(file: &'a File, e: &'a Expr, found: &mut Vec<Occurrence<'a>>) {
    match &e.kind {
        ExprKind::Number(_) | ExprKind::Str { .. } => {}
        ExprKind::Path(parts) => {
            let Some(first) = parts.first() else { return };
            found.push(Occurrence {
                span: first.span,
                target: word(file, &first.text),
            });
            if let Some(second) = parts.get(1) {
                found.push(Occurrence {
                    span: second.span,
                    target: Target::Param {
                        layer: &first.text,
                        param: &second.text,
                    },
                });
            }
        }
        ExprKind::Call { func, args } => {
            let b = builtins::find(&func.text);
            if let Some(b) = b {
                found.push(Occurrence {
                    span: func.span,
                    target: Target::Builtin(b),
                });
            }
            for a in args {
                if let (Some(b), Some(n)) = (b, &a.name)
                    && let Some((_, p)) = b.param(&n.text)
                {
                    found.push(Occurrence {
                        span: n.span,
                        target: Target::Arg(b, p),
                    });
                }
                expr(file, &a.value, found);
            }
        }
        ExprKind::List(items) | ExprKind::Sum(items) | ExprKind::Product(items) => {
            for i in items {
                expr(file, i, found);
            }
        }
    }
}

/// A bare word: a name the file defines, else a builtin written without
/// parentheses (`data: mnist`), else a name (undefined, but a name).
fn word<'a>(file: &File, text: &'a str) -> Target<'a> {
    if defining(file, text).is_some() {
        return Target::Name(text);
    }
    match builtins::find(text) {
        Some(b) => Target::Builtin(b),
        None => Target::Name(text),
    }
}

/// The statement of `file` that defines `name`, and the name in it.
pub fn defining<'a>(file: &'a File, name: &str) -> Option<(&'a Statement, &'a Ident)> {
    file.statements.iter().find_map(|s| match &s.kind {
        StmtKind::Input { name: n, .. }
        | StmtKind::Label { name: n, .. }
        | StmtKind::Binding { name: n, .. } => (n.text == name).then_some((s, n)),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netc::lang::parse::parse;

    const SRC: &str = "net t v1\ninput x: 4\nlabel y: classes(2)\nh1 = relu(linear(x, 8))\n\
        loss = cross_entropy(h1, y) + 0.1 * l1(h1.weight)\n\
        train {\n  data: digits\n  optimizer: sgd(lr: 0.1)\n}\n";

    fn target_at(needle: &str, skip: usize) -> Option<String> {
        let (file, _) = parse(SRC);
        let at = SRC.match_indices(needle).nth(skip)?.0 + 1;
        at_debug(&file, at)
    }

    fn at_debug(file: &File, offset: usize) -> Option<String> {
        at(file, offset).map(|o| match o.target {
            Target::Name(n) => format!("name {n}"),
            Target::Param { layer, param } => format!("param {layer}.{param}"),
            Target::Builtin(b) => format!("builtin {}", b.name),
            Target::Arg(b, p) => format!("arg {}.{}", b.name, p.name),
            Target::Setting(p) => format!("setting {}", p.name),
        })
    }

    #[test]
    fn words_resolve_to_names_builtins_arguments_and_settings() {
        let t = |n, k| target_at(n, k);
        assert_eq!(t("h1", 0).as_deref(), Some("name h1"));
        assert_eq!(t("linear", 0).as_deref(), Some("builtin linear"));
        assert_eq!(t("x, 8", 0).as_deref(), Some("name x"));
        assert_eq!(t("weight", 0).as_deref(), Some("param h1.weight"));
        assert_eq!(t("digits", 0).as_deref(), Some("builtin digits"));
        assert_eq!(t("lr:", 0).as_deref(), Some("arg sgd.lr"));
        assert_eq!(t("optimizer", 0).as_deref(), Some("setting optimizer"));
        assert_eq!(t("0.1", 0), None);
    }

    #[test]
    fn a_cursor_just_after_a_word_is_on_it() {
        let (file, _) = parse(SRC);
        let end = SRC.find("relu").unwrap_or(0) + "relu".len();
        assert_eq!(at_debug(&file, end).as_deref(), Some("builtin relu"));
    }
}
