//! Go to definition: from a name (or a layer's parameter) to the statement
//! that defines it.

use super::document::Document;
use super::position::Positions;
use super::symbols::{self, Target};
use lsp_types::{GotoDefinitionResponse, Location, Position, Uri};

/// Where the name at `pos` is defined, in the same document.
pub fn definition(uri: &Uri, doc: &Document, pos: Position) -> Option<GotoDefinitionResponse> {
    let positions = Positions::new(&doc.text);
    let o = symbols::at(&doc.file, positions.offset(pos))?;
    let name = match o.target {
        Target::Name(n) => n,
        Target::Param { layer, .. } => layer,
        _ => return None,
    };
    let (span, _) = doc.definition(name)?;
    Some(GotoDefinitionResponse::Scalar(Location::new(
        uri.clone(),
        positions.range(span),
    )))
}
