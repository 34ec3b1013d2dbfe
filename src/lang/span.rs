//! Byte spans into a source file, and their line/column positions.

use std::fmt;

/// A half-open byte range `start..end` into the text of one `.net` file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The span `start..end`.
    pub fn new(start: usize, end: usize) -> Self {
        Span { start, end }
    }

    /// An empty span at `pos` (a caret between two characters).
    pub fn at(pos: usize) -> Self {
        Span::new(pos, pos)
    }

    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }

    /// Moves the span by `offset` bytes (a statement parsed on its own).
    pub fn shift(self, offset: usize) -> Span {
        Span::new(self.start + offset, self.end + offset)
    }

    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start)
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// 1-based line and column (in characters) of a byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: usize,
    pub col: usize,
}

/// Line starts of a text, to turn byte offsets into lines and columns.
#[derive(Clone, Debug)]
pub struct LineIndex {
    starts: Vec<usize>,
    len: usize,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex {
            starts,
            len: text.len(),
        }
    }

    /// 0-based index of the line holding byte `pos` (clamped to the text).
    pub fn line_of(&self, pos: usize) -> usize {
        let pos = pos.min(self.len);
        match self.starts.binary_search(&pos) {
            Ok(i) => i,
            Err(i) => i - 1,
        }
    }

    /// The byte range of line `line` (0-based), without its `\n` or `\r\n`.
    pub fn line_range(&self, text: &str, line: usize) -> (usize, usize) {
        let start = self.starts[line];
        let mut end = self.starts.get(line + 1).map_or(self.len, |s| s - 1);
        if end > start && text.as_bytes().get(end - 1) == Some(&b'\r') {
            end -= 1;
        }
        (start, end)
    }

    /// 1-based line and column of byte `pos`.
    pub fn line_col(&self, text: &str, pos: usize) -> LineCol {
        let pos = floor_char_boundary(text, pos.min(self.len));
        let line = self.line_of(pos);
        let col = text[self.starts[line]..pos].chars().count() + 1;
        LineCol {
            line: line + 1,
            col,
        }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }
}

/// The largest char boundary of `text` at or before `pos`.
pub fn floor_char_boundary(text: &str, mut pos: usize) -> usize {
    pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    pos
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let text = "ab\r\nçd\nx";
        let idx = LineIndex::new(text);
        assert_eq!(idx.line_col(text, 0), LineCol { line: 1, col: 1 });
        assert_eq!(idx.line_col(text, 4), LineCol { line: 2, col: 1 });
        // `d` comes after the two-byte `ç`
        assert_eq!(idx.line_col(text, 6), LineCol { line: 2, col: 2 });
        assert_eq!(idx.line_range(text, 0), (0, 2));
        assert_eq!(idx.line_col(text, 100), LineCol { line: 3, col: 2 });
    }
}
