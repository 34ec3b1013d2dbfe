//! `netc fmt`: the canonical layout of a `.net` file, keeping its comments.
//!
//! Only syntax matters here: a file with a semantic error is still formatted.
//! The layout is documented in grammar/README.md ("Formatting").

use super::ast::{Entry, Expr, ExprKind, File, Statement, StmtKind};
use super::diag::Diagnostics;
use super::parse::parse;
use super::span::{LineIndex, Span};
use super::statements::Comment;

const INDENT: &str = "    ";

/// The canonical layout of `src`, or its syntax errors (shown as `path`).
pub fn format_source(path: &str, src: &str) -> Result<String, Diagnostics> {
    let (file, errors) = parse(src);
    if !errors.is_empty() {
        let mut d = Diagnostics::new(path, src);
        d.extend(errors);
        d.sort();
        return Err(d);
    }
    Ok(Formatter::new(src, &file).run())
}

/// The text of an expression in canonical layout.
pub fn expr_text(e: &Expr) -> String {
    let mut s = String::new();
    write_expr(&mut s, e);
    s
}

fn write_expr(out: &mut String, e: &Expr) {
    match &e.kind {
        ExprKind::Number(n) => out.push_str(&n.text),
        ExprKind::Str { raw, .. } => out.push_str(raw),
        ExprKind::Path(parts) => {
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(&p.text);
            }
        }
        ExprKind::Call { func, args } => {
            out.push_str(&func.text);
            out.push('(');
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                if let Some(n) = &a.name {
                    out.push_str(&n.text);
                    out.push_str(": ");
                }
                write_expr(out, &a.value);
            }
            out.push(')');
        }
        ExprKind::List(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_expr(out, x);
            }
            out.push(']');
        }
        ExprKind::Sum(xs) | ExprKind::Product(xs) => {
            let op = if matches!(e.kind, ExprKind::Sum(_)) {
                " + "
            } else {
                " * "
            };
            for (i, x) in xs.iter().enumerate() {
                if i > 0 {
                    out.push_str(op);
                }
                write_expr(out, x);
            }
        }
    }
}

/// The widest a line may be, in characters, before a statement is broken
/// (as rustfmt's `max_width`; a single long name or string may still exceed it).
pub const WIDTH: usize = 100;

/// The column where the next character of `out` goes.
fn column(out: &str) -> usize {
    out.rsplit('\n').next().map_or(0, |l| l.chars().count())
}

/// Writes `e` from the current column: on one line if it fits in [`WIDTH`],
/// else broken. A sum breaks before each `+`, the `+` hanging two columns
/// left of where its first term starts, so the terms align; a call or list
/// puts one argument per line, indented four spaces past `indent` (the
/// indentation of the line it opens on), with a trailing comma.
fn write_wrapped(out: &mut String, e: &Expr, indent: usize) {
    let col = column(out);
    let flat = expr_text(e);
    if col + flat.chars().count() <= WIDTH {
        out.push_str(&flat);
        return;
    }
    match &e.kind {
        ExprKind::Sum(terms) => {
            for (i, t) in terms.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                    push_spaces(out, col.saturating_sub(2));
                    out.push_str("+ ");
                }
                write_wrapped(out, t, col.saturating_sub(2).max(indent));
            }
        }
        ExprKind::Product(factors) => {
            for (i, f) in factors.iter().enumerate() {
                if i > 0 {
                    out.push_str(" * ");
                }
                write_wrapped(out, f, indent);
            }
        }
        ExprKind::Call { func, args } if !args.is_empty() => {
            out.push_str(&func.text);
            out.push('(');
            for a in args {
                out.push('\n');
                push_spaces(out, indent + INDENT.len());
                if let Some(n) = &a.name {
                    out.push_str(&n.text);
                    out.push_str(": ");
                }
                write_wrapped(out, &a.value, indent + INDENT.len());
                out.push(',');
            }
            out.push('\n');
            push_spaces(out, indent);
            out.push(')');
        }
        ExprKind::List(items) if !items.is_empty() => {
            out.push('[');
            for x in items {
                out.push('\n');
                push_spaces(out, indent + INDENT.len());
                write_wrapped(out, x, indent + INDENT.len());
                out.push(',');
            }
            out.push('\n');
            push_spaces(out, indent);
            out.push(']');
        }
        _ => out.push_str(&flat),
    }
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `prefix` then `e`, broken as [`write_wrapped`] does if it does not fit.
fn wrapped(prefix: &str, e: &Expr, indent: usize) -> String {
    let mut s = prefix.to_string();
    write_wrapped(&mut s, e, indent);
    s
}

/// One statement, on one line if it fits (the `train` block is written separately).
fn statement_text(s: &Statement) -> String {
    match &s.kind {
        StmtKind::Header { name, version } => format!("net {} {}", name.text, version.text),
        StmtKind::Input { name, dims } => {
            let d: Vec<&str> = dims.iter().map(|n| n.text.as_str()).collect();
            format!("input {}: {}", name.text, d.join("x"))
        }
        StmtKind::Label { name, kind } => wrapped(&format!("label {}: ", name.text), kind, 0),
        StmtKind::Binding { name, value } => wrapped(&format!("{} = ", name.text), value, 0),
        StmtKind::Train { entries, .. } => {
            let e: Vec<String> = entries.iter().map(|e| entry_text(e, 0)).collect();
            format!("train {{ {} }}", e.join(", "))
        }
    }
}

/// `key: value` at `indent` (the indentation is not included).
fn entry_text(e: &Entry, indent: usize) -> String {
    let mut s = " ".repeat(indent);
    s.push_str(&e.key.text);
    s.push_str(": ");
    write_wrapped(&mut s, &e.value, indent);
    s.split_off(indent)
}

struct Formatter<'a> {
    src: &'a str,
    file: &'a File,
    lines: LineIndex,
    out: String,
    /// Index of the first comment not yet written.
    next_comment: usize,
    /// End of the last source item written (for blank lines).
    last_end: Option<usize>,
}

impl<'a> Formatter<'a> {
    fn new(src: &'a str, file: &'a File) -> Self {
        Formatter {
            src,
            file,
            lines: LineIndex::new(src),
            out: String::new(),
            next_comment: 0,
            last_end: None,
        }
    }

    fn line(&self, pos: usize) -> usize {
        self.lines.line_of(pos)
    }

    fn comment_text(&self, c: &Comment) -> &'a str {
        self.src
            .get(c.span.start..c.span.end)
            .unwrap_or("#")
            .trim_end()
    }

    /// A blank line before an item starting at `start`, if the source had one
    /// since the last item.
    fn blank_before(&mut self, start: usize) {
        if let Some(end) = self.last_end
            && end <= start
            && self.src[end..start].matches('\n').count() >= 2
        {
            self.out.push('\n');
        }
    }

    fn comment_line(&mut self, c: &Comment, indent: &str) {
        self.blank_before(c.span.start);
        self.out.push_str(indent);
        self.out.push_str(self.comment_text(c));
        self.out.push('\n');
        self.last_end = Some(c.span.end);
    }

    fn trailing(&mut self, line: &mut String, c: Option<&Comment>) {
        if let Some(c) = c {
            line.push_str("  ");
            line.push_str(self.comment_text(c));
        }
    }

    fn run(mut self) -> String {
        let comments = &self.file.comments;
        for s in &self.file.statements {
            // Comments before the statement, on their own lines.
            while let Some(c) = comments.get(self.next_comment)
                && c.span.start < s.span.start
            {
                self.comment_line(c, "");
                self.next_comment += 1;
            }
            let first = self.next_comment;
            while comments
                .get(self.next_comment)
                .is_some_and(|c| c.span.start < s.span.end)
            {
                self.next_comment += 1;
            }
            let inner = &comments[first..self.next_comment];
            let trailing = comments
                .get(self.next_comment)
                .filter(|c| self.line(c.span.start) == self.line(s.span.end.saturating_sub(1)));
            if trailing.is_some() {
                self.next_comment += 1;
            }
            self.blank_before(s.span.start);
            match &s.kind {
                StmtKind::Train { entries, .. } => self.train(s.span, entries, inner, trailing),
                _ => {
                    for c in inner {
                        self.out.push_str(self.comment_text(c));
                        self.out.push('\n');
                    }
                    let mut line = statement_text(s);
                    self.trailing(&mut line, trailing);
                    self.out.push_str(&line);
                    self.out.push('\n');
                }
            }
            self.last_end = Some(trailing.map_or(s.span.end, |c| c.span.end));
        }
        while let Some(c) = comments.get(self.next_comment) {
            self.comment_line(c, "");
            self.next_comment += 1;
        }
        self.out
    }

    /// `train {`, one setting per line, `}`; comments stay with their settings.
    fn train(&mut self, span: Span, entries: &[Entry], inner: &[Comment], after: Option<&Comment>) {
        let header_line = self.line(span.start);
        let first_entry = entries.first().map_or(span.end, |e| e.span.start);
        let mut head = String::from("train {");
        let mut rest: Vec<&Comment> = Vec::new();
        for c in inner {
            if self.line(c.span.start) == header_line && c.span.start < first_entry && !c.own_line {
                self.trailing(&mut head, Some(c));
            } else {
                rest.push(c);
            }
        }
        if entries.is_empty() && rest.is_empty() {
            let mut line = String::from("train {}");
            self.trailing(&mut line, after);
            self.out.push_str(&line);
            self.out.push('\n');
            return;
        }
        self.out.push_str(&head);
        self.out.push('\n');
        self.last_end = Some(span.start);
        let mut k = 0;
        for (i, e) in entries.iter().enumerate() {
            let end_line = self.line(e.span.end.saturating_sub(1));
            // A comment after code belongs to the last setting before it.
            let next_start = entries.get(i + 1).map_or(usize::MAX, |n| n.span.start);
            // Comments before this setting or inside it go above it.
            let mut trailing = None;
            let mut above = Vec::new();
            while let Some(c) = rest.get(k) {
                let p = c.span.start;
                if p < e.span.end {
                    above.push(*c);
                } else if !c.own_line && self.line(p) == end_line && p < next_start {
                    trailing = Some(*c);
                    k += 1;
                    break;
                } else {
                    break;
                }
                k += 1;
            }
            for c in above {
                self.comment_line(c, INDENT);
            }
            self.blank_before(e.span.start);
            let mut line = format!("{INDENT}{}", entry_text(e, INDENT.len()));
            self.trailing(&mut line, trailing);
            self.out.push_str(&line);
            self.out.push('\n');
            self.last_end = Some(trailing.map_or(e.span.end, |c| c.span.end));
        }
        for c in &rest[k..] {
            self.comment_line(c, INDENT);
        }
        let mut close = String::from("}");
        self.trailing(&mut close, after);
        self.out.push_str(&close);
        self.out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        match format_source("t.net", src) {
            Ok(s) => s,
            Err(d) => panic!("{}", d.render()),
        }
    }

    #[test]
    fn canonical_spacing() {
        let src = "net  a   v1\r\ninput x :28 x 28\nh=relu( linear(flatten(x),units:32 ,bias:false, ) )\nloss=nll(h,y)+0.5*l1(h)\n";
        let want = "net a v1\ninput x: 28x28\nh = relu(linear(flatten(x), units: 32, bias: false))\nloss = nll(h, y) + 0.5 * l1(h)\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn train_block_one_setting_per_line_with_comments() {
        let src = "train { # settings\n  data: digits, batch: 4 # small\n  # the rest\n\n\n  seed: 1,\n  # end\n} # done\n";
        let want = "train {  # settings\n    data: digits\n    batch: 4  # small\n    # the rest\n\n    seed: 1\n    # end\n}  # done\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn comments_inside_a_statement_move_above_it() {
        let src = "\n\n# top\n\n\nloss = nll(out, y) # data\n  + l1(h) # sparsity\n\n# tail\n";
        let want = "# top\n\n# data\nloss = nll(out, y) + l1(h)  # sparsity\n\n# tail\n";
        assert_eq!(fmt(src), want);
    }

    #[test]
    fn formatting_twice_changes_nothing() {
        let srcs = [
            "net a v1 # hi\ntrain{data:csv(\"a b.csv\",header:true),optimizer:adam(betas:[0.9,0.99])}",
            "train {\n  data: digits # d\n  # x\n}\n#end",
            "h = a +\n# mid\n b\n",
            "train {}",
        ];
        for s in srcs {
            let once = fmt(s);
            assert_eq!(fmt(&once), once, "from {s:?}");
        }
    }

    #[test]
    fn a_sum_too_wide_breaks_before_each_plus_with_its_terms_aligned() {
        let one = "loss = cross_entropy(out, y) + 1e-4 * sumsq(h1.weight) + 1e-4 * sumsq(h2.weight) + 0.5 * l1(h1) + 0.01 * l2(h2)";
        assert!(one.len() > WIDTH);
        let want = "loss = cross_entropy(out, y)\n     + 1e-4 * sumsq(h1.weight)\n     + 1e-4 * sumsq(h2.weight)\n     + 0.5 * l1(h1)\n     + 0.01 * l2(h2)  # c\n";
        assert_eq!(fmt(&format!("{one}  # c\n")), want);
        assert_eq!(fmt(want), want);
        // What fits in the width stays on (or joins) one line.
        assert_eq!(
            fmt("loss = cross_entropy(out, y)\n     + 0.5 * l1(h1)\n"),
            "loss = cross_entropy(out, y) + 0.5 * l1(h1)\n"
        );
        let exactly = format!("h = {}", "a".repeat(WIDTH - 4));
        assert_eq!(fmt(&exactly), format!("{exactly}\n"));
    }

    #[test]
    fn a_call_too_wide_puts_one_argument_per_line() {
        let path = "d".repeat(70);
        let src = format!(
            "train {{ data: csv(\"{path}.csv\", header: true, test_fraction: 0.2) }}\nh = relu(linear(flatten(x), units: 32, bias: false)) + {path}\n"
        );
        let want = format!(
            "train {{\n    data: csv(\n        \"{path}.csv\",\n        header: true,\n        test_fraction: 0.2,\n    )\n}}\n\
             h = relu(linear(flatten(x), units: 32, bias: false))\n  + {path}\n"
        );
        let got = fmt(&src);
        assert_eq!(got, want);
        assert_eq!(fmt(&got), got);
        for line in got.lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        // Still too wide once broken: the arguments' own calls break too.
        let long = format!("out = f(g({path}, {path}), 1)\n");
        let want =
            format!("out = f(\n    g(\n        {path},\n        {path},\n    ),\n    1,\n)\n");
        assert_eq!(fmt(&long), want);
        assert_eq!(fmt(&want), want);
    }

    #[test]
    fn syntax_errors_are_returned() {
        assert!(format_source("t.net", "h = relu(").is_err());
    }
}
