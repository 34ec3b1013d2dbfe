//! A raw JSON-RPC client for `netc lsp`, as an editor drives it over stdio.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// How long a test waits for any one message before it fails.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running `netc lsp` and the messages it sends.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    from_server: Receiver<Value>,
    next_id: i64,
    /// Notifications received while waiting for a response.
    pending: Vec<Value>,
}

impl Client {
    /// Starts `netc lsp` and initialises it; the server's capabilities.
    pub fn start() -> (Client, Value) {
        Client::start_with(&["lsp"])
    }

    /// [`Client::start`] with these arguments to `netc`.
    pub fn start_with(args: &[&str]) -> (Client, Value) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_netc"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("netc lsp did not start: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(msg) = read_message(&mut r) {
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut c = Client {
            child,
            stdin,
            from_server: rx,
            next_id: 0,
            pending: Vec::new(),
        };
        let (init, _) = c.request(
            "initialize",
            json!({ "capabilities": {}, "processId": null }),
        );
        c.notify("initialized", json!({}));
        (c, init)
    }

    /// Sends a message as it is framed on the wire.
    pub fn send(&mut self, msg: &Value) {
        let body = msg.to_string();
        self.send_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    /// Sends bytes as they are, framed or not.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to netc lsp");
        stdin.flush().expect("flush to netc lsp");
    }

    /// Sends a notification.
    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// Sends a request and waits for its response: the whole response
    /// (with `result` or `error`) and how long it took.
    pub fn call(&mut self, method: &str, params: Value) -> (Value, Duration) {
        self.next_id += 1;
        let id = self.next_id;
        let t = Instant::now();
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let msg = self.recv();
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return (msg, t.elapsed());
            }
            self.pending.push(msg);
        }
    }

    /// A request's `result` (it must not fail) and how long it took.
    pub fn request(&mut self, method: &str, params: Value) -> (Value, Duration) {
        let (msg, took) = self.call(method, params);
        assert!(msg.get("error").is_none(), "{method} failed: {msg}");
        (msg["result"].clone(), took)
    }

    /// The next `textDocument/publishDiagnostics` for `uri`.
    pub fn diagnostics(&mut self, uri: &str) -> Vec<Value> {
        let matches = |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == uri
        };
        if let Some(i) = self.pending.iter().position(matches) {
            let m = self.pending.remove(i);
            return m["params"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default();
        }
        loop {
            let m = self.recv();
            if matches(&m) {
                return m["params"]["diagnostics"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
            }
            self.pending.push(m);
        }
    }

    /// Opens a document and returns its diagnostics.
    pub fn open(&mut self, uri: &str, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "netc", "version": 1, "text": text } }),
        );
        self.diagnostics(uri)
    }

    /// Replaces a document's text and returns its diagnostics.
    pub fn change(&mut self, uri: &str, version: i64, text: &str) -> Vec<Value> {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version },
                    "contentChanges": [{ "text": text }] }),
        );
        self.diagnostics(uri)
    }

    fn recv(&mut self) -> Value {
        match self.from_server.recv_timeout(PATIENCE) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => panic!("netc lsp sent nothing for {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => {
                let mut err = String::new();
                if let Some(mut e) = self.child.stderr.take() {
                    let _ = e.read_to_string(&mut err);
                }
                panic!("netc lsp closed its output; stderr:\n{err}")
            }
        }
    }

    /// Shuts the server down as an editor does; its exit status and stderr.
    pub fn shutdown(mut self) -> (i32, String) {
        let (r, _) = self.request("shutdown", Value::Null);
        assert_eq!(r, Value::Null);
        self.notify("exit", Value::Null);
        self.finish()
    }

    /// Closes the server's input and waits for it: its exit status and stderr.
    pub fn finish(mut self) -> (i32, String) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("netc lsp ran");
        let mut err = String::new();
        if let Some(mut e) = self.child.stderr.take() {
            let _ = e.read_to_string(&mut err);
        }
        (status.code().unwrap_or(-1), err)
    }
}

/// One framed message, or `None` at the end of the stream.
fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; len?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The protocol's position of byte `offset` in `text`: line, and column in
/// UTF-16 code units, counted here independently of the server.
pub fn position(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let character = before[line_start..].encode_utf16().count();
    json!({ "line": line, "character": character })
}

/// `{ textDocument, position }` at the first `needle` in `text` (plus `skip` bytes).
pub fn at(uri: &str, text: &str, needle: &str, skip: usize) -> Value {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"))
        + skip;
    json!({ "textDocument": { "uri": uri }, "position": position(text, offset) })
}
