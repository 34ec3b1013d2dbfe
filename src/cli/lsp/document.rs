//! The open documents: each one's text, parsed and checked again on every
//! change (a few hundred microseconds for the models in `models/`), so every
//! request reads a fresh analysis.

use super::symbols;
use lsp_types::Uri;
use netc::data::DataSpec;
use netc::lang::ast::File;
use netc::lang::check::{Outcome, check_in_part};
use netc::lang::parse::parse;
use netc::lang::span::Span;
use netc::lang::statements::MAX_SOURCE;
use netc::lang::{Binding, Diagnostic, Diagnostics, Input, Model};
use std::collections::HashMap;

/// One open document and what the language makes of it.
pub struct Document {
    pub text: String,
    /// The syntax tree (the statements that parsed).
    pub file: File,
    /// The check: the model or the diagnostics, and what checked.
    pub outcome: Outcome,
    /// The client's version of the text.
    pub version: i32,
    /// The last reading of the data the model names, and what it found
    /// (see `data_check`); kept while the model names the same source.
    pub data: Option<(DataSpec, Vec<Diagnostic>)>,
}

impl Document {
    /// Parses and checks `text`; `path` names it in messages. A text over
    /// the language's size limit is refused by the parser with a diagnostic,
    /// as `netc check` refuses such a file.
    pub fn new(path: &str, text: String, version: i32) -> Self {
        let (file, errors) = parse(&text);
        let outcome = check_in_part(path, &text, &file, errors);
        Document {
            text,
            file,
            outcome,
            version,
            data: None,
        }
    }

    /// The checked model, when the file has no errors.
    pub fn model(&self) -> Option<&Model> {
        self.outcome.result.as_ref().ok()
    }

    /// Every diagnostic to show: the language's, and those of the last
    /// reading of the data while the model names the same source.
    pub fn all_diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        let data = match (&self.data, self.model()) {
            (Some((spec, d)), Some(m)) if *spec == m.train.data => d.as_slice(),
            _ => &[],
        };
        self.diagnostics().items.iter().chain(data)
    }

    /// Every error and warning the language finds, as `netc check` reports them.
    fn diagnostics(&self) -> &Diagnostics {
        match &self.outcome.result {
            Ok(m) => &m.warnings,
            Err(d) => d,
        }
    }

    /// The binding called `name`, if it checked.
    pub fn binding(&self, name: &str) -> Option<&Binding> {
        self.outcome.bindings.iter().find(|b| b.name == name)
    }

    /// The input, if it checked.
    pub fn input(&self) -> Option<&Input> {
        self.outcome.input.as_ref()
    }

    /// Where `name` is defined: the name in its `input`, `label` or binding
    /// statement, with the start of that statement.
    pub fn definition(&self, name: &str) -> Option<(Span, usize)> {
        symbols::defining(&self.file, name).map(|(s, n)| (n.span, s.span.start))
    }

    /// Whether the text is small enough to analyse: a larger one has only
    /// the diagnostic saying so, and requests on it get empty answers.
    pub fn analysed(&self) -> bool {
        self.text.len() <= MAX_SOURCE
    }
}

/// The documents the client has opened, by URI.
#[derive(Default)]
pub struct Documents {
    open: HashMap<Uri, Document>,
}

impl Documents {
    /// Opens or replaces the document at `uri` with `text`; the last
    /// reading of its data stays with it.
    pub fn set(&mut self, uri: &Uri, text: String, version: i32) -> &Document {
        let mut doc = Document::new(&shown(uri), text, version);
        doc.data = self.open.remove(uri).and_then(|old| old.data);
        self.open.insert(uri.clone(), doc);
        &self.open[uri]
    }

    /// Records a reading of the data of the document at `uri`, if it is
    /// still open; the document, to publish its diagnostics again.
    pub fn set_data(
        &mut self,
        uri: &Uri,
        spec: DataSpec,
        found: Vec<Diagnostic>,
    ) -> Option<&Document> {
        let doc = self.open.get_mut(uri)?;
        doc.data = Some((spec, found));
        Some(doc)
    }

    /// Forgets a closed document.
    pub fn close(&mut self, uri: &Uri) {
        self.open.remove(uri);
    }

    /// The open document at `uri`, if it is small enough to analyse.
    pub fn get(&self, uri: &Uri) -> Option<&Document> {
        self.open.get(uri).filter(|d| d.analysed())
    }
}

/// The document's name in messages: its file name, as `netc check` shows it.
fn shown(uri: &Uri) -> String {
    let path = uri.path().as_str();
    path.rsplit('/').next().unwrap_or(path).to_string()
}
