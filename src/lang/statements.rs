//! Cuts a file into statements before pest sees it, so that a syntax error in
//! one statement does not hide the errors in the others, and so that nesting
//! is bounded before any recursive parser runs.
//!
//! A statement ends at a line end outside brackets, unless the line ends with
//! one of `+ * = , :` or the next line starts with `+` or `*` (a statement
//! continued on the next line). Inside brackets, a line that starts like a new
//! statement (`name =`, or a keyword) means a bracket was left open.

use super::diag::Diagnostic;
use super::span::Span;

/// Brackets may nest this deep (`relu(linear(...))` is two); deeper is an error.
pub const MAX_DEPTH: usize = 32;

/// A file longer than this (1 MiB) is refused before it is parsed. Real
/// files are a few kilobytes; the limits keep a hostile file's parse short.
pub const MAX_SOURCE: usize = 1 << 20;

/// A statement longer than this (64 KiB) is refused before pest sees it.
pub const MAX_STATEMENT: usize = 1 << 16;

/// A file with more statements than this is refused before any is parsed.
pub const MAX_STATEMENTS: usize = 10_000;

/// A `#` comment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Comment {
    /// From `#` to the end of the line (without `\r`).
    pub span: Span,
    /// Nothing but whitespace before it on its line.
    pub own_line: bool,
}

/// One statement's text.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunk {
    /// From its first to its last code character (comments at its end excluded).
    pub span: Span,
    /// The bracket or string error that makes it unparseable, if any.
    pub error: Option<Diagnostic>,
}

/// A file cut into statements and comments.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Split {
    pub chunks: Vec<Chunk>,
    pub comments: Vec<Comment>,
}

struct Splitter<'a> {
    src: &'a str,
    bytes: &'a [u8],
    out: Split,
    /// Open brackets: (char, byte offset).
    open: Vec<(u8, usize)>,
    chunk_start: Option<usize>,
    /// End of the last code character seen.
    code_end: usize,
    /// Last code byte, to see whether a line ends with an operator.
    last_code: u8,
    error: Option<Diagnostic>,
    line_has_code: bool,
}

/// Cuts `src` into statements and comments.
pub fn split(src: &str) -> Split {
    let mut s = Splitter {
        src,
        bytes: src.as_bytes(),
        out: Split::default(),
        open: Vec::new(),
        chunk_start: None,
        code_end: 0,
        last_code: 0,
        error: None,
        line_has_code: false,
    };
    s.run();
    s.out
}

impl Splitter<'_> {
    fn run(&mut self) {
        let mut i = 0;
        while i < self.bytes.len() {
            let b = self.bytes[i];
            match b {
                b'#' => {
                    let end = self.line_end(i);
                    let mut text_end = end;
                    if text_end > i && self.bytes[text_end - 1] == b'\r' {
                        text_end -= 1;
                    }
                    self.out.comments.push(Comment {
                        span: Span::new(i, text_end),
                        own_line: !self.line_has_code,
                    });
                    i = end;
                }
                b'\n' => {
                    self.newline(i);
                    i += 1;
                }
                b'"' => {
                    i = self.string(i);
                }
                b'(' | b'[' | b'{' => {
                    self.code(i, i + 1);
                    self.open.push((b, i));
                    if self.open.len() > MAX_DEPTH && self.error.is_none() {
                        self.error = Some(
                            Diagnostic::error(
                                Span::new(i, i + 1),
                                format!(
                                    "brackets are nested too deeply (more than {MAX_DEPTH} levels)"
                                ),
                            )
                            .label("too deep")
                            .help("bind inner expressions to their own names, one line each"),
                        );
                    }
                    i += 1;
                }
                b')' | b']' | b'}' => {
                    self.code(i, i + 1);
                    self.close(b, i);
                    i += 1;
                }
                b' ' | b'\t' | b'\r' => i += 1,
                _ => {
                    // A whole character (it may be several bytes); Unicode
                    // whitespace counts as whitespace, as in the grammar.
                    let c = self.src[i..].chars().next().unwrap_or(' ');
                    let n = c.len_utf8();
                    if !c.is_whitespace() && c != '\u{FEFF}' {
                        self.code(i, i + n);
                    }
                    i += n;
                }
            }
        }
        if let Some(&(ch, pos)) = self.open.last() {
            self.unclosed(ch, pos);
        }
        self.end_chunk();
    }

    /// Offset of the `\n` ending the line at `i` (or the end of the text).
    fn line_end(&self, i: usize) -> usize {
        self.bytes[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |p| i + p)
    }

    fn code(&mut self, start: usize, end: usize) {
        if self.chunk_start.is_none() {
            self.chunk_start = Some(start);
        }
        self.code_end = end;
        self.last_code = self.bytes[end - 1];
        self.line_has_code = true;
    }

    fn string(&mut self, start: usize) -> usize {
        let mut i = start + 1;
        while i < self.bytes.len() {
            match self.bytes[i] {
                b'\\' if i + 1 < self.bytes.len() && self.bytes[i + 1] != b'\n' => i += 2,
                b'"' => {
                    self.code(start, i + 1);
                    return i + 1;
                }
                b'\n' => break,
                _ => i += 1,
            }
        }
        let end = if i > start + 1 && self.bytes[i - 1] == b'\r' {
            i - 1
        } else {
            i
        };
        self.code(start, end.max(start + 1));
        if self.error.is_none() {
            self.error = Some(
                Diagnostic::error(Span::new(start, start + 1), "unterminated string")
                    .label("this string is never closed")
                    .help("end it with `\"` on the same line"),
            );
        }
        i
    }

    fn close(&mut self, b: u8, i: usize) {
        let want = match b {
            b')' => b'(',
            b']' => b'[',
            _ => b'{',
        };
        match self.open.pop() {
            None => {
                if self.error.is_none() {
                    self.error = Some(
                        Diagnostic::error(
                            Span::new(i, i + 1),
                            format!("unexpected closing `{}`", b as char),
                        )
                        .label("nothing to close here"),
                    );
                }
            }
            Some((open, pos)) if open != want => {
                if self.error.is_none() {
                    self.error = Some(
                        Diagnostic::error(
                            Span::new(i, i + 1),
                            format!("mismatched closing `{}`", b as char),
                        )
                        .label(format!("expected `{}`", closer(open) as char))
                        .with(Span::new(pos, pos + 1), "to close this"),
                    );
                }
            }
            Some(_) => {}
        }
    }

    fn newline(&mut self, i: usize) {
        let continued = matches!(self.last_code, b'+' | b'*' | b'=' | b',' | b':')
            || self.next_line_starts_with_operator(i + 1);
        self.line_has_code = false;
        if self.chunk_start.is_none() || continued {
            return;
        }
        if self.open.is_empty() {
            self.end_chunk();
        } else if self.next_line_starts_statement(i + 1)
            && let Some(&(ch, pos)) = self.open.last()
        {
            self.unclosed(ch, pos);
            self.end_chunk();
        }
    }

    fn unclosed(&mut self, ch: u8, pos: usize) {
        if self.error.is_none() {
            self.error = Some(
                Diagnostic::error(
                    Span::new(pos, pos + 1),
                    format!("unclosed `{}`", ch as char),
                )
                .label("this is never closed")
                .help(format!(
                    "add `{}` at the end of the statement",
                    closer(ch) as char
                )),
            );
        }
        self.open.clear();
    }

    fn end_chunk(&mut self) {
        if let Some(start) = self.chunk_start.take() {
            self.out.chunks.push(Chunk {
                span: Span::new(start, self.code_end),
                error: self.error.take(),
            });
        }
        self.open.clear();
        self.last_code = 0;
    }

    fn next_line_text(&self, from: usize) -> &str {
        let end = self.line_end(from.min(self.bytes.len()));
        self.src[from.min(end)..end].trim_start()
    }

    fn next_line_starts_with_operator(&self, from: usize) -> bool {
        let t = self.next_line_text(from);
        t.starts_with('+') || t.starts_with('*')
    }

    /// `name =` (not `==`) or a statement keyword.
    fn next_line_starts_statement(&self, from: usize) -> bool {
        let t = self.next_line_text(from);
        let word_len = t
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if word_len == 0 {
            return false;
        }
        let (word, rest) = t.split_at(word_len);
        let rest = rest.trim_start();
        if matches!(word, "net" | "input" | "label" | "train") {
            return true;
        }
        rest.starts_with('=') && !rest.starts_with("==")
    }
}

fn closer(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<&str> {
        split(src)
            .chunks
            .iter()
            .map(|c| &src[c.span.start..c.span.end])
            .collect()
    }

    #[test]
    fn statements_end_at_line_ends_outside_brackets() {
        let src = "net a v1 # c\ninput x: 4\r\n\ntrain {\n  batch: 4 # b\n}\n";
        assert_eq!(
            texts(src),
            vec!["net a v1", "input x: 4", "train {\n  batch: 4 # b\n}"]
        );
        let s = split(src);
        assert_eq!(s.comments.len(), 2);
        assert!(!s.comments[0].own_line);
    }

    #[test]
    fn operators_continue_a_statement() {
        let src = "loss = a +\n  b\n  * c\nh = x";
        assert_eq!(texts(src), vec!["loss = a +\n  b\n  * c", "h = x"]);
    }

    #[test]
    fn an_open_bracket_stops_at_the_next_statement() {
        let src = "h1 = relu(linear(x, 3)\nh2 = relu(h1)\n";
        let s = split(src);
        assert_eq!(s.chunks.len(), 2);
        let e = s.chunks[0].error.as_ref().map(|e| e.primary.span);
        assert_eq!(e, Some(Span::new(9, 10)));
        assert!(s.chunks[1].error.is_none());
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let src = format!("h = {}x{}", "relu(".repeat(100_000), ")".repeat(100_000));
        let s = split(&src);
        assert_eq!(s.chunks.len(), 1);
        assert!(s.chunks[0].error.is_some());
    }

    #[test]
    fn strings_hide_brackets_and_comments() {
        let src = "t = csv(\"a#(b\\\".csv\")\n";
        let s = split(src);
        assert!(s.chunks[0].error.is_none());
        assert!(s.comments.is_empty());
    }
}
