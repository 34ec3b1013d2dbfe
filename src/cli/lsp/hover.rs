//! Hover: what the word under the cursor is. A name shows its statement and
//! shape (a layer's parameters too), a parameter its shape and count, a
//! builtin its signature, help and parameters from the builtins table.

use super::document::Document;
use super::symbols::{self, Target};
use netc::lang::Binding;
use netc::lang::ast::{ExprKind, StmtKind};
use netc::lang::builtins::{self, Builtin, Default, Param, Role};
use netc::lang::fmt::expr_text;
use netc::lang::model_summary::shape;
use netc::lang::span::Span;

/// The hover text (Markdown) at byte `offset`, and the span it is about.
pub fn hover(doc: &Document, offset: usize) -> Option<(String, Span)> {
    let o = symbols::at(&doc.file, offset)?;
    let text = match o.target {
        Target::Name(n) => name(doc, n)?,
        Target::Param { layer, param } => parameter(doc, layer, param)?,
        Target::Builtin(b) => builtin(b),
        Target::Arg(b, p) => format!("`{}` of `{}`: {}", p.name, b.name, param_line(p)),
        Target::Setting(p) => format!("`train {{ {}: ... }}`: {}", p.name, param_line(p)),
    };
    Some((text, o.span))
}

/// A name's statement as written, and its shape when it checked.
fn name(doc: &Document, n: &str) -> Option<String> {
    let (stmt, _) = symbols::defining(&doc.file, n)?;
    let mut out = format!("```netc\n{}\n```\n", statement_text(&stmt.kind, n));
    match &stmt.kind {
        StmtKind::Input { .. } => {
            if let Some(i) = doc.input() {
                out.push_str(&format!(
                    "input: `{}` per sample ({} features)",
                    shape(&i.dims),
                    i.features
                ));
            }
        }
        StmtKind::Label { kind, .. } => {
            out.push_str("the label of each sample");
            if let ExprKind::Call { func, .. } = &kind.kind
                && let Some(b) = builtins::lookup(Role::LabelKind, &func.text)
            {
                out.push_str(&format!(": {}", b.help));
            }
        }
        StmtKind::Binding { .. } if n == "loss" => out.push_str(
            "the loss training minimises: its data term is a mean over the batch, \
             its penalties sums over the whole batch",
        ),
        _ => match doc.binding(n) {
            Some(b) => out.push_str(&activation(b)),
            None => out.push_str("shape unknown: this binding or one it uses has an error"),
        },
    }
    Some(out)
}

/// A defining statement in `netc fmt`'s layout, on one line, without the
/// comments a statement spread over lines may hold.
fn statement_text(kind: &StmtKind, name: &str) -> String {
    match kind {
        StmtKind::Input { dims, .. } => {
            let dims: Vec<&str> = dims.iter().map(|d| d.text.as_str()).collect();
            format!("input {name}: {}", dims.join("x"))
        }
        StmtKind::Label { kind, .. } => format!("label {name}: {}", expr_text(kind)),
        StmtKind::Binding { value, .. } => format!("{name} = {}", expr_text(value)),
        _ => name.to_string(),
    }
}

fn activation(b: &Binding) -> String {
    let mut out = format!(
        "activation: `{}` per sample ({} features)",
        shape(&b.shape),
        b.features()
    );
    if let Some(l) = b.layer {
        let params = l.params();
        let count: usize = params
            .iter()
            .map(|(_, d)| d.iter().product::<usize>())
            .sum();
        let listed: Vec<String> = params
            .iter()
            .map(|(field, dims)| format!("`{}.{field}` `{}`", b.name, shape(dims)))
            .collect();
        out.push_str(&format!(
            "\n\nparameters: {} ({count} values)",
            listed.join(", ")
        ));
        let state: Vec<String> = l
            .state()
            .iter()
            .map(|(field, dims)| format!("`{}.{field}` `{}`", b.name, shape(dims)))
            .collect();
        if !state.is_empty() {
            out.push_str(&format!("\n\nstate (not trained): {}", state.join(", ")));
        }
    }
    out
}

/// `h1.weight`: its shape and count, from its layer.
fn parameter(doc: &Document, layer: &str, param: &str) -> Option<String> {
    let l = doc.binding(layer)?.layer?;
    let (what, dims) = match l.params().into_iter().find(|(f, _)| *f == param) {
        Some((_, dims)) => ("parameter", dims),
        None => ("state", l.state().into_iter().find(|(f, _)| *f == param)?.1),
    };
    let count: usize = dims.iter().product();
    Some(format!(
        "{what} `{layer}.{param}`: `{}` ({count} values)",
        shape(&dims)
    ))
}

/// A builtin's signature, what it is, its parameters and an example.
fn builtin(b: &Builtin) -> String {
    let mut out = format!(
        "```netc\n{}\n```\n{}\n\n`{}` {}",
        b.signature(),
        b.help,
        b.name,
        b.role.place()
    );
    if !b.params.is_empty() {
        out.push('\n');
    }
    for p in b.params {
        out.push_str(&format!("\n- `{}`: {}", p.name, param_line(p)));
    }
    out.push_str(&format!("\n\nexample: `{}`", b.example));
    out
}

/// What a parameter is, and its default.
fn param_line(p: &Param) -> String {
    match p.default {
        Default::Required => format!("{} (required)", p.help),
        d => format!("{} (default: {d})", p.help),
    }
}

/// For completion's details: a builtin's signature and help.
pub fn builtin_detail(b: &Builtin) -> (String, String) {
    (b.signature(), builtin(b))
}

/// For completion's details: a parameter's help and default.
pub fn param_detail(p: &Param) -> String {
    param_line(p)
}
