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
use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use std::fmt;

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
        let renderer = Renderer::plain();
        let mut out = String::new();
        for (i, d) in self.items.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            let group = group(d, &self.path, &self.source, &index);
            out.push_str(&renderer.render(&[group]));
            out.push('\n');
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

/// One diagnostic as annotate-snippets draws it: the title, the source
/// lines its spans fall on, and the notes and help.
fn group<'a>(d: &'a Diagnostic, path: &'a str, source: &'a str, index: &LineIndex) -> Group<'a> {
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
    };
    let labels = std::iter::once((&d.primary, AnnotationKind::Primary))
        .chain(d.secondary.iter().map(|l| (l, AnnotationKind::Context)));
    // Only the lines the spans are on are handed over (numbered from the
    // first of them), not the whole file once per diagnostic.
    let spans = || labels.clone().map(|(l, _)| clamp(source, l.span));
    let first = spans().map(|s| index.line_of(s.start)).min().unwrap_or(0);
    let last = spans().map(|s| index.line_of(s.end)).max().unwrap_or(0);
    let from = index.line_range(source, first).0;
    // The `\r` of a CRLF line end is left out, as `line_range` leaves it.
    let to = index.line_range(source, last).1;
    let mut snippet = Snippet::source(&source[from..to])
        .path(path)
        .line_start(first + 1);
    for (label, kind) in labels {
        let span = clamp(source, label.span);
        let mut annotation = kind.span(span.start.min(to) - from..span.end.min(to) - from);
        if !label.text.is_empty() {
            annotation = annotation.label(&label.text);
        }
        snippet = snippet.annotation(annotation);
    }
    let notes = d.notes.iter().map(|n| Level::NOTE.message(n));
    let help = d.help.iter().map(|h| Level::HELP.message(h));
    level
        .primary_title(&d.message)
        .element(snippet)
        .elements(notes)
        .elements(help)
}

/// `span` within `source` and on character boundaries.
fn clamp(source: &str, span: Span) -> Span {
    let start = floor_char_boundary(source, span.start);
    Span::new(start, floor_char_boundary(source, span.end).max(start))
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
        assert!(lines[3].starts_with("1 | ... a + a + "), "{r}");
        assert!(lines[3].ends_with("b + b +..."), "{r}");
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

    #[test]
    fn columns_count_characters_and_control_characters_are_shown_safely() {
        let src = "h = relu(linéar(x, 8)) # 日本語\r\nb = \u{7}x\r\n";
        let at = src.find("x,").unwrap_or(0);
        let bell = src.find('\u{7}').unwrap_or(0);
        let mut ds = Diagnostics::new("t.net", src);
        ds.push(Diagnostic::error(Span::new(at, at + 1), "x").label("here"));
        ds.push(Diagnostic::warning(Span::new(bell, bell + 1), "y").label("bell"));
        let want = "error: x\n --> t.net:1:17\n  |\n1 | h = relu(linéar(x, 8)) # 日本語\n  |                 ^ here\n\nwarning: y\n --> t.net:2:5\n  |\n2 | b = \u{2407}x\n  |     ^ bell\n";
        assert_eq!(ds.render(), want);
    }

    #[test]
    fn spans_past_the_end_or_inside_a_character_do_not_panic() {
        let src = "é\r\n";
        let mut ds = Diagnostics::new("t.net", src);
        for (start, end) in [(1, 2), (3, 3), (4, 99), (99, 5)] {
            ds.push(Diagnostic::error(Span::new(start, end), "x").label("l"));
        }
        let r = ds.render();
        assert_eq!(r.matches("error: x").count(), 4, "{r}");
    }
}
