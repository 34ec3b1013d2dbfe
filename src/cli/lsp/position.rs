//! Byte offsets into a document's UTF-8 text, and the protocol's positions:
//! a 0-based line and a column in UTF-16 code units (what LSP counts by
//! default), so that `é` counts one and `𝄞` two.

use lsp_types::{Position, Range};
use netc::lang::span::{LineIndex, Span, floor_char_boundary};

/// Converts between byte offsets and positions in one text.
pub struct Positions<'a> {
    text: &'a str,
    lines: LineIndex,
}

impl<'a> Positions<'a> {
    /// The line starts of `text`.
    pub fn new(text: &'a str) -> Self {
        Positions {
            text,
            lines: LineIndex::new(text),
        }
    }

    /// The position of byte `offset` (clamped to the text and to a
    /// character boundary).
    pub fn position(&self, offset: usize) -> Position {
        let offset = floor_char_boundary(self.text, offset);
        let line = self.lines.line_of(offset);
        let start = self.line_start(line);
        let character = utf16_len(&self.text[start..offset]);
        Position::new(to_u32(line), to_u32(character))
    }

    /// The range of a byte span.
    pub fn range(&self, span: Span) -> Range {
        Range::new(
            self.position(span.start),
            self.position(span.end.max(span.start)),
        )
    }

    /// The byte offset of a position. A line past the end gives the end of
    /// the text; a column past the end of its line, the line's end; a column
    /// inside a character (between the halves of a surrogate pair), the
    /// character's start.
    pub fn offset(&self, pos: Position) -> usize {
        let line = pos.line as usize;
        if line >= self.lines.line_count() {
            return self.text.len();
        }
        let (start, end) = self.lines.line_range(self.text, line);
        let mut units = 0usize;
        for (i, c) in self.text[start..end].char_indices() {
            units += c.len_utf16();
            if units > pos.character as usize {
                return start + i;
            }
        }
        end
    }

    fn line_start(&self, line: usize) -> usize {
        self.lines.line_range(self.text, line).0
    }
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

/// Lines and columns of a text under the size limit fit in `u32`; a larger
/// one is never analysed, but saturates rather than wraps.
fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_code_units() {
        // `é` is 2 bytes and 1 unit; `𝄞` 4 bytes and 2 units.
        let text = "é𝄞x\r\nab";
        let p = Positions::new(text);
        let x = text.find('x').unwrap_or(0);
        assert_eq!(p.position(x), Position::new(0, 3));
        assert_eq!(p.offset(Position::new(0, 3)), x);
        assert_eq!(p.position(text.len()), Position::new(1, 2));
        assert_eq!(p.offset(Position::new(1, 1)), text.len() - 1);
    }

    #[test]
    fn positions_outside_the_text_are_clamped() {
        let text = "é𝄞x\r\nab";
        let p = Positions::new(text);
        // Past the line's end: the end of the line, before its `\r\n`.
        assert_eq!(p.offset(Position::new(0, 99)), text.find('\r').unwrap_or(0));
        assert_eq!(p.offset(Position::new(7, 0)), text.len());
        // Between the halves of `𝄞`: its start.
        assert_eq!(p.offset(Position::new(0, 2)), 2);
        // Inside `é`'s bytes: the character's start.
        assert_eq!(p.position(1), Position::new(0, 0));
        assert_eq!(p.position(999), Position::new(1, 2));
    }
}
