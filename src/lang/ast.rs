//! The syntax tree of a `.net` file, as written: every node keeps its span,
//! every number its text, so the formatter reprints it faithfully and a
//! later override (`d.p=0.2`) can change one number and check again.

use super::span::Span;
use super::statements::Comment;

/// A name as written, with its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

/// A number literal as written (`32`, `1e-4`, `.5`).
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    pub text: String,
    pub span: Span,
}

impl Number {
    /// Its value, if it is a finite number.
    pub fn value(&self) -> Option<f64> {
        self.text.parse::<f64>().ok().filter(|v| v.is_finite())
    }

    /// Its value as a whole number, if it is one (`32`, `1e3`; not `0.5`, not `-1`).
    pub fn whole(&self) -> Option<u64> {
        if self.text.bytes().all(|b| b.is_ascii_digit()) {
            return self.text.parse::<u64>().ok();
        }
        // 2^53: above it f64 no longer holds every whole number.
        const EXACT: f64 = 9_007_199_254_740_992.0;
        let v = self.value()?;
        (v >= 0.0 && v.fract() == 0.0 && v <= EXACT).then_some(v as u64)
    }
}

/// An expression; the checker gives it meaning in its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Number(Number),
    /// A string literal: `raw` as written (with quotes), `value` unescaped.
    Str {
        raw: String,
        value: String,
    },
    /// `h1`, or `h1.weight`.
    Path(Vec<Ident>),
    /// `f(a, key: b)`.
    Call {
        func: Ident,
        args: Vec<Arg>,
    },
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `a + b + c` (two or more terms).
    Sum(Vec<Expr>),
    /// `a * b` (two or more factors).
    Product(Vec<Expr>),
}

/// One argument of a call: positional (`32`) or named (`bias: false`).
#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub name: Option<Ident>,
    pub value: Expr,
    pub span: Span,
}

/// A `key: value` line of a `train { }` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: Ident,
    pub value: Expr,
    pub span: Span,
}

/// A statement and its place.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub kind: StmtKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum StmtKind {
    /// `net NAME v1`
    Header { name: Ident, version: Ident },
    /// `input x: 28x28`
    Input { name: Ident, dims: Vec<Number> },
    /// `label y: classes(10)`
    Label { name: Ident, kind: Expr },
    /// `h1 = relu(linear(x, 32))`; `loss = ...` is a binding too.
    Binding { name: Ident, value: Expr },
    /// `train { key: value ... }`
    Train { keyword: Span, entries: Vec<Entry> },
}

/// A statement that did not parse, and what it seems to have meant, so
/// that its absence does not cause more errors.
#[derive(Clone, Debug, PartialEq)]
pub struct Broken {
    pub span: Span,
    /// The statement it seems to be: `net`, `input`, `label`, `train` or
    /// `loss` (also for a misspelt keyword such as `inptu`).
    pub keyword: Option<String>,
    /// The names it may define (its first words that are not keywords).
    pub names: Vec<String>,
}

/// A parsed file: its statements in order, its comments, and the statements
/// that did not parse (their errors are reported separately).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct File {
    pub statements: Vec<Statement>,
    pub comments: Vec<Comment>,
    pub broken: Vec<Broken>,
}
