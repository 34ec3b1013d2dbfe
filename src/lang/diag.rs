//! Diagnostics: errors and warnings about a `.net` file, rendered like rustc's.
//!
//! ```text
//! error: unknown function `rleu`
//!  --> models/x.net:5:6
//!   |
//! 5 | h1 = rleu(linear(x, 32))
//!   |      ^^^^ not a known function
//!   |
//!   = help: did you mean `relu`?
//! ```

use super::span::{LineIndex, Span, floor_char_boundary};
use std::fmt::{self, Write as _};

/// How bad a diagnostic is: errors stop the run, warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a short text printed after its underline.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// One error or warning, pointing into the source.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Underlined with `^`.
    pub primary: Label,
    /// Underlined with `-` ("first defined here").
    pub secondary: Vec<Label>,
    pub help: Vec<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    /// An error at `span`.
    pub fn error(span: Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, span, message)
    }

    /// A warning at `span`.
    pub fn warning(span: Span, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, span, message)
    }

    fn new(severity: Severity, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity,
            message: message.into(),
            primary: Label {
                span,
                text: String::new(),
            },
            secondary: Vec::new(),
            help: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Sets the text beside the primary underline.
    pub fn label(mut self, text: impl Into<String>) -> Self {
        self.primary.text = text.into();
        self
    }

    /// Adds a secondary underlined span.
    pub fn with(mut self, span: Span, text: impl Into<String>) -> Self {
        self.secondary.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Adds a `= help:` line.
    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help.push(text.into());
        self
    }

    /// Adds a `= note:` line.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// All the diagnostics about one file, with the text needed to render them.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostics {
    /// The file name shown after `-->`.
    pub path: String,
    pub source: String,
    pub items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// No diagnostics yet about `source`, shown as `path`.
    pub fn new(path: impl Into<String>, source: impl Into<String>) -> Self {
        Diagnostics {
            path: path.into(),
            source: source.into(),
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, ds: impl IntoIterator<Item = Diagnostic>) {
        self.items.extend(ds);
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }

    pub fn has_errors(&self) -> bool {
        self.error_count() > 0
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Sorts by position in the file, so they read top to bottom.
    pub fn sort(&mut self) {
        self.items
            .sort_by_key(|d| (d.primary.span.start, d.severity));
    }

    /// Every diagnostic, rendered, separated by blank lines.
    pub fn render(&self) -> String {
        let index = LineIndex::new(&self.source);
        let mut out = String::new();
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            render_one(&mut out, d, &self.path, &self.source, &index);
        }
        out
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl std::error::Error for Diagnostics {}

const TAB: &str = "    ";

/// The part of a source line between display columns `from` and `to`, made
/// safe to print: tabs expanded, control characters replaced.
fn display_slice(text: &str, from: usize, to: usize) -> String {
    let mut out = String::new();
    let mut col = 0;
    for c in text.chars() {
        if col >= to {
            break;
        }
        let w = if c == '\t' { TAB.len() } else { 1 };
        if col >= from {
            match c {
                '\t' => out.push_str(TAB),
                c if c.is_control() => out.push('\u{FFFD}'),
                c => out.push(c),
            }
        }
        col += w;
    }
    out
}

/// Display width of `text` as [`display_line`] prints it.
fn display_width(text: &str) -> usize {
    text.chars()
        .map(|c| if c == '\t' { TAB.len() } else { 1 })
        .sum()
}

struct Mark<'a> {
    span: Span,
    text: &'a str,
    primary: bool,
}

fn render_one(out: &mut String, d: &Diagnostic, path: &str, source: &str, index: &LineIndex) {
    let kind = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let _ = writeln!(out, "{kind}: {}", d.message);

    let mut marks: Vec<Mark> = vec![Mark {
        span: d.primary.span,
        text: &d.primary.text,
        primary: true,
    }];
    marks.extend(d.secondary.iter().map(|l| Mark {
        span: l.span,
        text: &l.text,
        primary: false,
    }));
    marks.sort_by_key(|m| (index.line_of(m.span.start), m.span.start));

    let last_line = marks
        .iter()
        .map(|m| index.line_of(m.span.start) + 1)
        .max()
        .unwrap_or(1);
    let width = last_line.to_string().len();
    let pad = " ".repeat(width);
    let at = index.line_col(source, d.primary.span.start);
    let _ = writeln!(out, "{pad}--> {path}:{}:{}", at.line, at.col);
    let _ = writeln!(out, "{pad} |");

    let mut i = 0;
    let mut prev_line: Option<usize> = None;
    while i < marks.len() {
        let line = index.line_of(marks[i].span.start);
        let same = marks[i..]
            .iter()
            .take_while(|m| index.line_of(m.span.start) == line)
            .count();
        if let Some(p) = prev_line
            && line > p + 1
        {
            let _ = writeln!(out, "...");
        }
        render_line(out, &marks[i..i + same], line, source, index, &pad, width);
        prev_line = Some(line);
        i += same;
    }
    if !d.help.is_empty() || !d.notes.is_empty() {
        let _ = writeln!(out, "{pad} |");
    }
    for n in &d.notes {
        let _ = writeln!(out, "{pad} = note: {n}");
    }
    for h in &d.help {
        let _ = writeln!(out, "{pad} = help: {h}");
    }
}

/// Lines longer than this are shown as a window around their marks.
const MAX_SHOWN: usize = 120;
const CONTEXT: usize = 40;

/// One source line (cut to a window around the marks if it is long) and
/// the underline of each mark on it.
fn render_line(
    out: &mut String,
    marks: &[Mark],
    line: usize,
    source: &str,
    index: &LineIndex,
    pad: &str,
    width: usize,
) {
    let (ls, le) = index.line_range(source, line);
    // (display column, display length) of each mark, clipped to this line
    let cols: Vec<(usize, usize)> = marks
        .iter()
        .map(|m| {
            let start = floor_char_boundary(source, m.span.start.clamp(ls, le.max(ls)));
            let end = floor_char_boundary(source, m.span.end.clamp(start, le.max(start)));
            (
                display_width(&source[ls..start]),
                display_width(&source[start..end]).max(1),
            )
        })
        .collect();
    let raw = source[ls..le].trim_end();
    let total = display_width(raw);
    let (mut from, mut to) = (0, total);
    if total > MAX_SHOWN {
        let first = cols.iter().map(|c| c.0).min().unwrap_or(0);
        let last = cols.iter().map(|c| c.0 + c.1).max().unwrap_or(0);
        from = first.saturating_sub(CONTEXT);
        to = (last.min(first + MAX_SHOWN) + CONTEXT).min(total);
    }
    let mut shown = display_slice(raw, from, to);
    let mut shift = 0;
    if from > 0 {
        shown.insert_str(0, "...");
        shift = 3;
    }
    if to < total {
        shown.push_str("...");
    }
    let _ = writeln!(out, "{:>width$} | {}", line + 1, shown);
    for (m, (lead, len)) in marks.iter().zip(cols) {
        let lead = (lead + shift).saturating_sub(from);
        let len = len.min(MAX_SHOWN + CONTEXT);
        let ch = if m.primary { "^" } else { "-" };
        let mut s = format!("{pad} | {}{}", " ".repeat(lead), ch.repeat(len));
        if !m.text.is_empty() {
            s.push(' ');
            s.push_str(m.text);
        }
        let _ = writeln!(out, "{s}");
    }
}

/// Makes user text safe and short enough to quote in a message.
pub fn quote(text: &str) -> String {
    const MAX: usize = 40;
    let mut s: String = text
        .chars()
        .take(MAX)
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .collect();
    if text.chars().count() > MAX {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_rustc_style() {
        let src = "net a v1\nh1 = rleu(x)\n";
        let mut ds = Diagnostics::new("a.net", src);
        ds.push(
            Diagnostic::error(Span::new(14, 18), "unknown function `rleu`")
                .label("not a known function")
                .help("did you mean `relu`?"),
        );
        let want = "error: unknown function `rleu`\n --> a.net:2:6\n  |\n2 | h1 = rleu(x)\n  |      ^^^^ not a known function\n  |\n  = help: did you mean `relu`?\n";
        assert_eq!(ds.render(), want);
    }

    #[test]
    fn long_lines_are_cut_around_the_mark() {
        let src = format!("h = {}bad{}", "a + ".repeat(100), " + b".repeat(100));
        let at = src.find("bad").unwrap_or(0);
        let mut ds = Diagnostics::new("t.net", src.as_str());
        ds.push(Diagnostic::error(Span::new(at, at + 3), "x").label("here"));
        let r = ds.render();
        let lines: Vec<&str> = r.lines().collect();
        assert!(lines[3].starts_with("1 | ...a + a + "), "{r}");
        assert!(lines[3].ends_with("b + b..."), "{r}");
        let caret = lines[4].find('^').unwrap_or(0);
        assert_eq!(&lines[3][caret..caret + 3], "bad", "{r}");
    }

    #[test]
    fn caret_at_end_of_file_and_tabs() {
        let src = "\tab";
        let mut ds = Diagnostics::new("t.net", src);
        ds.push(Diagnostic::error(Span::at(3), "x"));
        assert!(
            ds.render().contains("1 |     ab\n  |       ^\n"),
            "{}",
            ds.render()
        );
    }
}
