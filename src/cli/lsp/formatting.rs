//! Formatting: `netc fmt`'s layout, as one edit replacing the whole text.
//! A file with syntax errors is left as it is (its errors are published).

use super::document::Document;
use super::position::Positions;
use lsp_types::{Range, TextEdit};
use netc::lang::fmt::format_source;

/// The edits that give the document `netc fmt`'s layout: none when it has
/// it already; `None` when it has syntax errors.
pub fn format(doc: &Document) -> Option<Vec<TextEdit>> {
    let formatted = format_source("", &doc.text).ok()?;
    if formatted == doc.text {
        return Some(Vec::new());
    }
    let pos = Positions::new(&doc.text);
    let whole = Range::new(pos.position(0), pos.position(doc.text.len()));
    Some(vec![TextEdit::new(whole, formatted)])
}
