//! `netc lsp`: a Language Server Protocol server on stdin and stdout, for
//! editors. Diagnostics on every change (those of `netc check`, with the
//! data files it reads read on open and save), hover, completion, go to
//! definition and formatting (that of `netc fmt`).
//!
//! One synchronous loop (rust-analyzer's `lsp-server`): each message is
//! handled in turn, and each open document is parsed and checked again when
//! it changes, so every request reads a fresh analysis.

mod completion;
mod data_check;
mod definition;
mod diagnostics;
mod document;
mod formatting;
mod hover;
mod position;
mod symbols;

use super::Reporter;
use clap::Args;
use data_check::DataChecks;
use document::{Document, Documents};
use lsp_server::{Connection, ErrorCode, Message, Notification, Request, Response};
use lsp_types::notification::{
    DidChangeTextDocument, DidCloseTextDocument, DidOpenTextDocument, DidSaveTextDocument,
    Notification as _, PublishDiagnostics,
};
use lsp_types::request::{Completion, Formatting, GotoDefinition, HoverRequest, Request as _};
use lsp_types::{
    CompletionOptions, CompletionParams, DocumentFormattingParams, GotoDefinitionParams, Hover,
    HoverContents, HoverParams, HoverProviderCapability, MarkupContent, MarkupKind, OneOf,
    PublishDiagnosticsParams, ServerCapabilities, TextDocumentSyncCapability, TextDocumentSyncKind,
    TextDocumentSyncOptions, TextDocumentSyncSaveOptions, Uri,
};
use position::Positions;
use serde::de::DeserializeOwned;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// `netc lsp`'s arguments.
#[derive(Args, Debug)]
pub struct LspArgs {
    /// Talk over stdin and stdout (the only transport; editors pass it).
    #[arg(long)]
    stdio: bool,
}

/// Serves one client until it asks the server to exit.
pub fn run(_: &LspArgs, r: &mut Reporter) {
    let (connection, io_threads) = Connection::stdio();
    let served = serve(&connection);
    drop(connection);
    match served {
        Ok(()) => {
            if let Err(e) = io_threads.join() {
                r.error(format!("the editor's connection failed: {e}"));
            }
        }
        // The reader stopped: at the end of the input, or at a message it
        // could not read.
        Err(Stop::Disconnected) => match io_threads.join() {
            Err(e) => r.error(format!("netc lsp could not read the editor's message: {e}")),
            Ok(()) => r.error("the editor closed the connection without shutting netc lsp down"),
        },
        // The reader may still wait on stdin: the threads end with the process.
        Err(Stop::Failed(e)) => r.error(e),
    }
}

/// Why the server stopped without a shutdown.
enum Stop {
    /// The editor's messages ended.
    Disconnected,
    /// A protocol error, worded.
    Failed(String),
}

impl From<lsp_server::ProtocolError> for Stop {
    fn from(e: lsp_server::ProtocolError) -> Self {
        Stop::Failed(e.to_string())
    }
}

/// What the server offers.
fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::Supported(true)),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        completion_provider: Some(CompletionOptions {
            trigger_characters: Some(vec![".".into(), ":".into(), "(".into()]),
            ..CompletionOptions::default()
        }),
        definition_provider: Some(OneOf::Left(true)),
        document_formatting_provider: Some(OneOf::Left(true)),
        ..ServerCapabilities::default()
    }
}

fn serve(conn: &Connection) -> Result<(), Stop> {
    let caps = serde_json::to_value(capabilities()).map_err(|e| Stop::Failed(e.to_string()))?;
    let (id, _params) = conn.initialize_start()?;
    let init = serde_json::json!({
        "capabilities": caps,
        "serverInfo": { "name": "netc", "version": env!("CARGO_PKG_VERSION") },
    });
    conn.initialize_finish(id, init)?;
    let mut docs = Documents::default();
    let checks = DataChecks::new();
    loop {
        crossbeam_channel::select! {
            recv(conn.receiver) -> msg => {
                let Ok(msg) = msg else {
                    return Err(Stop::Disconnected);
                };
                match msg {
                    Message::Request(req) => {
                        if conn.handle_shutdown(&req)? {
                            return Ok(());
                        }
                        let resp = guarded(|| answer(&docs, req.clone()))
                            .unwrap_or_else(|| internal_error(&req));
                        send(conn, resp.into());
                    }
                    Message::Notification(n) if n.method == "exit" => {
                        return Err(Stop::Failed(
                            "the editor asked netc lsp to exit before shutting it down".into(),
                        ));
                    }
                    Message::Notification(n) => {
                        if let Some(Some(note)) = guarded(|| notified(&mut docs, &checks, n)) {
                            send(conn, note.into());
                        }
                    }
                    Message::Response(_) => {}
                }
            }
            recv(checks.done) -> found => {
                if let Ok(r) = found
                    && let Some(doc) = docs.set_data(&r.uri, r.spec, r.diagnostics)
                {
                    send(conn, published(r.uri, doc).into());
                }
            }
        }
    }
}

/// Runs a handler; a panic (a bug) costs that one answer, not the
/// server and the user's session.
fn guarded<T>(f: impl FnOnce() -> T) -> Option<T> {
    catch_unwind(AssertUnwindSafe(f)).ok()
}

fn internal_error(req: &Request) -> Response {
    Response::new_err(
        req.id.clone(),
        ErrorCode::InternalError as i32,
        format!("netc lsp failed on {}: please report it", req.method),
    )
}

fn send(conn: &Connection, msg: Message) {
    // A closed writer means the editor is gone; the loop ends on its own.
    let _ = conn.sender.send(msg);
}

/// The answer to one request.
fn answer(docs: &Documents, req: Request) -> Response {
    let id = req.id.clone();
    let result = match req.method.as_str() {
        HoverRequest::METHOD => params::<HoverParams>(req).map(|p| {
            let at = &p.text_document_position_params;
            json(docs.get(&at.text_document.uri).and_then(|d| {
                let pos = Positions::new(&d.text);
                let (value, span) = hover::hover(d, pos.offset(at.position))?;
                Some(Hover {
                    contents: HoverContents::Markup(MarkupContent {
                        kind: MarkupKind::Markdown,
                        value,
                    }),
                    range: Some(pos.range(span)),
                })
            }))
        }),
        Completion::METHOD => params::<CompletionParams>(req).map(|p| {
            let at = &p.text_document_position;
            json(docs.get(&at.text_document.uri).map(|d| {
                let offset = Positions::new(&d.text).offset(at.position);
                completion::complete(d, offset)
            }))
        }),
        GotoDefinition::METHOD => params::<GotoDefinitionParams>(req).map(|p| {
            let at = &p.text_document_position_params;
            let uri = &at.text_document.uri;
            json(
                docs.get(uri)
                    .and_then(|d| definition::definition(uri, d, at.position)),
            )
        }),
        Formatting::METHOD => params::<DocumentFormattingParams>(req)
            .map(|p| json(docs.get(&p.text_document.uri).and_then(formatting::format))),
        _ => Err((
            ErrorCode::MethodNotFound,
            format!("netc lsp does not answer {}", req.method),
        )),
    };
    match result {
        Ok(v) => Response::new_ok(id, v),
        Err((code, msg)) => Response::new_err(id, code as i32, msg),
    }
}

fn params<P: DeserializeOwned>(req: Request) -> Result<P, (ErrorCode, String)> {
    serde_json::from_value(req.params)
        .map_err(|e| (ErrorCode::InvalidParams, format!("{}: {e}", req.method)))
}

fn json<T: serde::Serialize>(v: T) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

/// Keeps the documents up to date; a change is answered with the
/// document's diagnostics. Opening and saving also read the data files the
/// document names, as `netc check` does.
fn notified(docs: &mut Documents, checks: &DataChecks, n: Notification) -> Option<Notification> {
    match n.method.as_str() {
        DidOpenTextDocument::METHOD => {
            let p: lsp_types::DidOpenTextDocumentParams = serde_json::from_value(n.params).ok()?;
            let d = p.text_document;
            let doc = docs.set(&d.uri, d.text, d.version);
            if let Some(m) = doc.model() {
                checks.start(d.uri.clone(), m);
            }
            Some(published(d.uri, doc))
        }
        DidChangeTextDocument::METHOD => {
            let p: lsp_types::DidChangeTextDocumentParams =
                serde_json::from_value(n.params).ok()?;
            // Full synchronisation: the last change holds the whole text.
            let text = p.content_changes.into_iter().last()?.text;
            let d = p.text_document;
            let doc = docs.set(&d.uri, text, d.version);
            Some(published(d.uri, doc))
        }
        DidSaveTextDocument::METHOD => {
            let p: lsp_types::DidSaveTextDocumentParams = serde_json::from_value(n.params).ok()?;
            let uri = p.text_document.uri;
            if let Some(m) = docs.get(&uri).and_then(|d| d.model()) {
                checks.start(uri, m);
            }
            None
        }
        DidCloseTextDocument::METHOD => {
            let p: lsp_types::DidCloseTextDocumentParams = serde_json::from_value(n.params).ok()?;
            docs.close(&p.text_document.uri);
            Some(diagnostics_note(p.text_document.uri, Vec::new(), None))
        }
        _ => None,
    }
}

/// The document's diagnostics, to publish.
fn published(uri: Uri, doc: &Document) -> Notification {
    let ds = diagnostics::to_lsp(&uri, &doc.text, doc.all_diagnostics());
    diagnostics_note(uri, ds, Some(doc.version))
}

fn diagnostics_note(
    uri: Uri,
    diagnostics: Vec<lsp_types::Diagnostic>,
    version: Option<i32>,
) -> Notification {
    Notification::new(
        PublishDiagnostics::METHOD.to_string(),
        PublishDiagnosticsParams {
            uri,
            diagnostics,
            version,
        },
    )
}
