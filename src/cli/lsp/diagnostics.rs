//! `netc check`'s diagnostics as the protocol's: the primary span is the
//! range, the label, notes and help lines follow the message as `netc check`
//! prints them, and secondary spans ("first defined here") are related
//! information.

use super::position::Positions;
use lsp_types::{Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, Uri};
use netc::lang::{self, Severity};

/// The diagnostics about the document at `uri`, whose text is `text`.
pub fn to_lsp<'a>(
    uri: &Uri,
    text: &str,
    diags: impl Iterator<Item = &'a lang::Diagnostic>,
) -> Vec<Diagnostic> {
    let pos = Positions::new(text);
    diags.map(|d| one(uri, &pos, d)).collect()
}

fn one(uri: &Uri, pos: &Positions, d: &lang::Diagnostic) -> Diagnostic {
    let mut message = d.message.clone();
    if !d.primary.text.is_empty() {
        message.push_str(&format!("\n{}", d.primary.text));
    }
    for n in &d.notes {
        message.push_str(&format!("\nnote: {n}"));
    }
    for h in &d.help {
        message.push_str(&format!("\nhelp: {h}"));
    }
    let related: Vec<DiagnosticRelatedInformation> = d
        .secondary
        .iter()
        .map(|l| DiagnosticRelatedInformation {
            location: Location::new(uri.clone(), pos.range(l.span)),
            message: l.text.clone(),
        })
        .collect();
    Diagnostic {
        range: pos.range(d.primary.span),
        severity: Some(match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        }),
        source: Some("netc".to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Diagnostic::default()
    }
}
