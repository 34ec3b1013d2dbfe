//! `netc lsp` driven over stdio with raw JSON-RPC, as an editor drives it:
//! diagnostics as the file changes, hover, completion, definition,
//! formatting, bad input, and the time each request takes.

mod common;

use common::lsp::{Client, at, position};
use netc::lang::builtins::{self, Role, TRAIN_SETTINGS};
use serde_json::{Value, json};
use std::time::Duration;

const URI: &str = "file:///work/nets/a.net";

/// An error (`rleu`) on a line whose string holds characters outside the
/// Basic Multilingual Plane, so UTF-16 columns differ from bytes and chars.
const BROKEN: &str = "net a v1\ninput x: 4\nlabel y: classes(2)\n\
h1 = relu(linear(x, 8))\nout = linear(h1, 2)\nloss = cross_entropy(out, y)\n\
train {\n    data: csv(\"𝄞é.csv\", heder: true)\n}\n";

const GOOD: &str = "net a v1\ninput x: 8x8\nlabel y: classes(10)\n\
h1 = relu(linear(flatten(x), 8))\nout = linear(h1, 10)\nloss = cross_entropy(out, y) + 0.1 * l1(h1.weight)\n\
train {\n    data: digits\n    optimizer: sgd(lr: 0.1)\n}\n";

fn labels(items: &Value) -> Vec<String> {
    items
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["label"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn markdown(hover: &Value) -> String {
    hover["contents"]["value"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn a_session_diagnostics_hover_completion_definition_formatting_shutdown() {
    let (mut c, init) = Client::start();
    let caps = &init["capabilities"];
    for cap in [
        "hoverProvider",
        "completionProvider",
        "definitionProvider",
        "documentFormattingProvider",
    ] {
        assert!(!caps[cap].is_null(), "{cap} missing: {init}");
    }
    assert_eq!(init["serverInfo"]["name"], "netc");

    // The error, its help line, and its place in UTF-16 units.
    let d = c.open(URI, BROKEN);
    assert_eq!(d.len(), 1, "{d:?}");
    let msg = d[0]["message"].as_str().unwrap_or("");
    assert!(msg.contains("`heder`"), "{msg}");
    assert!(msg.contains("\nhelp: "), "no help line: {msg}");
    assert_eq!(d[0]["severity"], 1);
    let heder = BROKEN.find("heder").unwrap_or(0);
    assert_eq!(d[0]["range"]["start"], position(BROKEN, heder));
    assert_eq!(
        d[0]["range"]["end"],
        position(BROKEN, heder + "heder".len())
    );
    // In UTF-16 units: `𝄞` is two, `é` one.
    assert_eq!(d[0]["range"]["start"]["character"], 25);

    // The same diagnostic text as `netc check` prints.
    let checked = netc::lang::parse_and_check("a.net", BROKEN)
        .err()
        .map(|d| d.items[0].help.clone());
    for h in checked.unwrap_or_default() {
        assert!(msg.contains(&format!("help: {h}")), "{msg}");
    }

    // A misspelt function as the user types: located, with its hint.
    let typo = BROKEN
        .replace("relu(linear", "rleu(linear")
        .replace("heder", "header");
    let d = c.change(URI, 2, &typo);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("did you mean `relu`?"),
        "{d:?}"
    );
    assert_eq!(
        d[0]["range"]["start"],
        position(&typo, typo.find("rleu").unwrap_or(0))
    );

    // Mended: no diagnostics.
    let d = c.change(URI, 3, GOOD);
    assert!(d.is_empty(), "{d:?}");

    // Hover on an activation: its statement, shape and parameters.
    let (h, _) = c.request("textDocument/hover", at(URI, GOOD, "h1, 10", 0));
    let text = markdown(&h);
    assert!(text.contains("h1 = relu(linear(flatten(x), 8))"), "{text}");
    assert!(text.contains("`[8]` per sample"), "{text}");
    assert!(
        text.contains("`h1.weight` `[8, 64]`, `h1.bias` `[8]` (520 values)"),
        "{text}"
    );
    assert_eq!(
        h["range"]["start"],
        position(GOOD, GOOD.find("h1, 10").unwrap_or(0))
    );
    // A statement spread over lines, with a comment: shown on one line, without it.
    let spread = GOOD.replace(
        "h1 = relu(linear(flatten(x), 8))",
        "h1 = relu(  # hidden\n    linear(flatten(x), 8))",
    );
    c.change(URI, 4, &spread);
    let (h, _) = c.request("textDocument/hover", at(URI, &spread, "h1 =", 0));
    assert!(
        markdown(&h).starts_with("```netc\nh1 = relu(linear(flatten(x), 8))\n```"),
        "{h}"
    );
    c.change(URI, 5, GOOD);
    let (h, _) = c.request("textDocument/hover", at(URI, GOOD, "loss =", 0));
    assert!(
        markdown(&h).contains("loss = cross_entropy(out, y) + 0.1 * l1(h1.weight)"),
        "{h}"
    );
    // On the label: its kind's help, from the table.
    let (h, _) = c.request("textDocument/hover", at(URI, GOOD, "y: classes", 0));
    let classes = builtins::lookup(Role::LabelKind, "classes").map_or("", |b| b.help);
    assert!(
        markdown(&h).contains(&format!("the label of each sample: {classes}")),
        "{h}"
    );
    // On a parameter: its shape and count.
    let (h, _) = c.request("textDocument/hover", at(URI, GOOD, "weight)", 1));
    assert!(
        markdown(&h).contains("parameter `h1.weight`: `[8, 64]` (512 values)"),
        "{h}"
    );
    // On a builtin: the table's signature, help and parameters.
    let (h, _) = c.request("textDocument/hover", at(URI, GOOD, "sgd", 1));
    let text = markdown(&h);
    let sgd = builtins::find("sgd").expect("sgd in the table");
    assert!(
        text.contains(&sgd.signature()) && text.contains(sgd.help),
        "{text}"
    );
    for p in sgd.params {
        assert!(
            text.contains(&format!("`{}`: {}", p.name, p.help)),
            "{text}"
        );
    }
    // On a setting, and a named argument.
    let (h, _) = c.request("textDocument/hover", at(URI, GOOD, "optimizer:", 2));
    assert!(markdown(&h).contains("the optimizer (default: sgd)"), "{h}");
    let (h, _) = c.request("textDocument/hover", at(URI, GOOD, "lr:", 0));
    assert!(
        markdown(&h).contains("`lr` of `sgd`: the learning rate"),
        "{h}"
    );
    // On nothing in particular.
    let (h, _) = c.request("textDocument/hover", at(URI, GOOD, "0.1 *", 1));
    assert_eq!(h, Value::Null);

    // Go to definition: from a use to the name's statement.
    let (loc, _) = c.request("textDocument/definition", at(URI, GOOD, "h1, 10", 1));
    assert_eq!(loc["uri"], URI);
    assert_eq!(
        loc["range"]["start"],
        position(GOOD, GOOD.find("h1 =").unwrap_or(0))
    );
    let (loc, _) = c.request("textDocument/definition", at(URI, GOOD, "h1.weight", 4));
    assert_eq!(
        loc["range"]["start"],
        position(GOOD, GOOD.find("h1 =").unwrap_or(0))
    );

    // Completion: the names in scope and the functions...
    let typing = GOOD.replace("out = linear(h1, 10)", "out = linear(h1, 10)\nh2 = re");
    c.change(URI, 6, &typing);
    let (items, _) = c.request("textDocument/completion", at(URI, &typing, "h2 = re", 7));
    let got = labels(&items);
    for want in ["x", "h1", "out", "relu", "linear", "dropout"] {
        assert!(got.iter().any(|g| g == want), "{want} not in {got:?}");
    }
    assert!(!got.iter().any(|g| g == "loss" || g == "y"), "{got:?}");
    c.change(URI, 7, GOOD);
    // ... the data sources, from the table ...
    let (items, _) = c.request("textDocument/completion", at(URI, GOOD, "data: ", 6));
    assert_eq!(
        labels(&items),
        builtins::names(Role::DataSource).collect::<Vec<_>>()
    );
    // ... the optimizers, and a call's parameters with their help ...
    let (items, _) = c.request("textDocument/completion", at(URI, GOOD, "optimizer: ", 11));
    assert_eq!(
        labels(&items),
        builtins::names(Role::Optimizer).collect::<Vec<_>>()
    );
    let (items, _) = c.request("textDocument/completion", at(URI, GOOD, "lr: 0.1)", 0));
    let sgd_params: Vec<&str> = sgd.params.iter().map(|p| p.name).collect();
    assert_eq!(labels(&items), sgd_params);
    assert_eq!(items[0]["insertText"], "lr: ");
    // ... the settings not set yet ...
    let (items, _) = c.request("textDocument/completion", at(URI, GOOD, "\n}", 1));
    let left: Vec<&str> = TRAIN_SETTINGS
        .iter()
        .map(|p| p.name)
        .filter(|n| !["data", "optimizer"].contains(n))
        .collect();
    assert_eq!(labels(&items), left);
    // ... and a layer's parameters after its name and a dot.
    let (items, _) = c.request("textDocument/completion", at(URI, GOOD, "weight)", 0));
    assert_eq!(labels(&items), ["weight", "bias"]);

    // Formatting: `netc fmt`'s output, as one edit.
    let messy = GOOD.replace(
        "h1 = relu(linear(flatten(x), 8))",
        "h1=relu( linear(flatten(x),8) )",
    );
    c.change(URI, 8, &messy);
    let (edits, _) = c.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": URI }, "options": { "tabSize": 4, "insertSpaces": true } }),
    );
    assert_eq!(edits.as_array().map(Vec::len), Some(1), "{edits}");
    assert_eq!(edits[0]["newText"], GOOD);
    assert_eq!(
        edits[0]["range"]["start"],
        json!({ "line": 0, "character": 0 })
    );
    assert_eq!(edits[0]["range"]["end"], position(&messy, messy.len()));

    // Closing the document clears its diagnostics.
    c.notify(
        "textDocument/didClose",
        json!({ "textDocument": { "uri": URI } }),
    );
    assert!(c.diagnostics(URI).is_empty());

    let (code, err) = c.shutdown();
    assert_eq!(code, 0, "{err}");
}

/// Each request on each model in `models/`, timed: hover on every word,
/// definition on every word, completion at every line's end, formatting,
/// and a change until its diagnostics arrive.
/// Each is tried three times and the fastest counts, so that a build
/// running beside the test does not decide it.
#[test]
fn every_request_on_the_models_is_answered_within_50_ms() {
    let (mut c, _) = Client::start();
    let mut slowest = (Duration::ZERO, String::new());
    let mut worst_try = Duration::ZERO;
    let mut count = 0;
    for entry in std::fs::read_dir("models").expect("models/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_none_or(|e| e != "net") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a model");
        let uri = format!(
            "file:///models/{}",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("m.net")
        );
        let d = c.open(&uri, &text);
        assert!(
            d.iter().all(|d| d["severity"] != 1),
            "{}: {d:?}",
            path.display()
        );
        let mut requests = Vec::new();
        let words = text
            .match_indices(|ch: char| ch.is_alphabetic())
            .map(|(i, _)| i);
        for i in words.filter(|&i| i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric()) {
            let p = json!({ "textDocument": { "uri": uri }, "position": position(&text, i) });
            requests.push(("textDocument/hover", p.clone()));
            requests.push(("textDocument/definition", p));
        }
        for (i, _) in text.match_indices('\n') {
            let p = json!({ "textDocument": { "uri": uri }, "position": position(&text, i) });
            requests.push(("textDocument/completion", p));
        }
        requests.push((
            "textDocument/formatting",
            json!({ "textDocument": { "uri": uri }, "options": { "tabSize": 4, "insertSpaces": true } }),
        ));
        // A change, until its diagnostics arrive.
        let took = (2..5)
            .map(|v| {
                let t = std::time::Instant::now();
                c.change(&uri, v, &text);
                t.elapsed()
            })
            .min()
            .unwrap_or_default();
        count += 1;
        if took > slowest.0 {
            slowest = (
                took,
                format!("didChange → diagnostics on {}", path.display()),
            );
        }
        for (method, params) in requests {
            let tries: Vec<Duration> = (0..3)
                .map(|_| c.request(method, params.clone()).1)
                .collect();
            worst_try = worst_try.max(tries.iter().copied().max().unwrap_or_default());
            let took = tries.into_iter().min().unwrap_or_default();
            count += 1;
            if took > slowest.0 {
                slowest = (
                    took,
                    format!("{method} on {} at {}", path.display(), params["position"]),
                );
            }
        }
    }
    eprintln!(
        "netc lsp: {count} requests on models/, the slowest {:?} ({}); the slowest single try {worst_try:?}",
        slowest.0, slowest.1
    );
    assert!(count > 100, "{count}");
    assert!(
        slowest.0 < Duration::from_millis(50),
        "{:?}: {}",
        slowest.0,
        slowest.1
    );
    let (code, err) = c.shutdown();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn in_a_file_with_errors_hover_shows_the_shapes_of_what_checked() {
    let (mut c, _) = Client::start();
    let text = GOOD.replace(
        "out = linear(h1, 10)",
        "out = linear(h1, 10)\nbad = relu(nowhere)",
    );
    let d = c.open(URI, &text);
    assert!(d.iter().any(|d| d["severity"] == 1), "{d:?}");
    let (h, _) = c.request("textDocument/hover", at(URI, &text, "h1 =", 0));
    assert!(markdown(&h).contains("`[8]` per sample"), "{h}");
    let (h, _) = c.request("textDocument/hover", at(URI, &text, "bad", 0));
    assert!(markdown(&h).contains("shape unknown"), "{h}");
    let (code, err) = c.shutdown();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn warnings_are_warnings_and_secondary_spans_are_related_information() {
    let (mut c, _) = Client::start();
    let line = "h1 = relu(linear(flatten(x), 8))\n";
    let text = GOOD.replacen(line, &format!("{line}{line}spare = relu(h1)\n"), 1);
    let d = c.open(URI, &text);
    assert_eq!(d.len(), 2, "{d:?}");
    let first = text.find("h1 =").unwrap_or(0);
    let again = first + line.len();
    assert_eq!(d[0]["severity"], 1);
    assert_eq!(d[0]["range"]["start"], position(&text, again));
    let related = &d[0]["relatedInformation"][0];
    assert_eq!(related["location"]["uri"], URI);
    assert_eq!(
        related["location"]["range"]["start"],
        position(&text, first)
    );
    assert_eq!(related["message"], "first defined here");
    assert_eq!(d[1]["severity"], 2);
    assert!(
        d[1]["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("unused activation `spare`\nnever used\nhelp: "),
        "{d:?}"
    );
    let (code, err) = c.shutdown();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_data_files_a_document_names_are_read_on_open_and_on_save() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let csv = dir.path().join("train.csv");
    let text = format!(
        "net a v1\ninput x: 2\nlabel y: classes(2)\nout = linear(x, 2)\n\
         loss = cross_entropy(out, y)\ntrain {{\n    data: csv(\"{}\")\n}}\n",
        csv.display()
    );
    let data_at = position(&text, text.find("csv(").unwrap_or(0));
    let (mut c, _) = Client::start();
    let saved = json!({ "textDocument": { "uri": URI } });
    // Opened: the language finds nothing; reading the data, a missing file.
    assert!(c.open(URI, &text).is_empty());
    let d = c.diagnostics(URI);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("cannot read"),
        "{d:?}"
    );
    assert_eq!(d[0]["range"]["start"], data_at);
    // Still so as the text changes but names the same file.
    let edited = text.replace("out = linear", "out  = linear");
    assert_eq!(c.change(URI, 2, &edited).len(), 1);
    // The file written, and the document saved: read again, all well.
    std::fs::write(
        &csv,
        "0.1,0.2,1\n0.3,0.4,0\n0.5,0.5,1\n0.1,0.9,0\n0.2,0.2,1\n",
    )
    .expect("write");
    c.notify("textDocument/didSave", saved.clone());
    assert!(c.diagnostics(URI).is_empty());
    // Rows one column too wide: `netc check`'s error.
    std::fs::write(&csv, "0.1,0.2,0.3,1\n0.3,0.4,0.5,0\n").expect("write");
    c.notify("textDocument/didSave", saved);
    let d = c.diagnostics(URI);
    assert_eq!(d.len(), 1, "{d:?}");
    // The message `netc check` prints for the file.
    let net = dir.path().join("a.net");
    std::fs::write(&net, &edited).expect("write a.net");
    let checked = common::cli::netc(&["check", net.to_str().unwrap_or("")]);
    let first = checked.stderr.lines().next().unwrap_or("").to_string();
    let message = d[0]["message"]
        .as_str()
        .unwrap_or("")
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    assert_eq!(format!("error: {message}"), first, "{}", checked.stderr);
    let (code, err) = c.shutdown();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn huge_binary_and_broken_buffers_get_diagnostics_not_a_crash() {
    let (mut c, _) = Client::start();
    // Over the size limit `netc check` applies: one diagnostic saying so.
    let huge = format!("net a v1\n{}", "# padding\n".repeat(120_000));
    let d = c.open("file:///huge.net", &huge);
    assert_eq!(d.len(), 1, "{d:?}");
    assert!(
        d[0]["message"]
            .as_str()
            .unwrap_or("")
            .contains("more than the limit"),
        "{d:?}"
    );
    let (h, _) = c.request(
        "textDocument/hover",
        at("file:///huge.net", &huge, "a v1", 0),
    );
    assert_eq!(h, Value::Null);
    let end = json!({ "textDocument": { "uri": "file:///huge.net" }, "position": position(&huge, huge.len()) });
    let (items, took) = c.request("textDocument/completion", end);
    assert_eq!(items, Value::Null);
    assert!(took < Duration::from_millis(50), "{took:?}");
    // Control characters, NULs and stray bytes as text.
    let binary: String = (0u32..2000)
        .filter_map(|i| char::from_u32((i * 7919) % 0x3000))
        .collect();
    let d = c.open("file:///binary.net", &binary);
    assert!(!d.is_empty());
    for method in [
        "textDocument/hover",
        "textDocument/completion",
        "textDocument/definition",
    ] {
        for offset in (0..binary.len())
            .step_by(97)
            .filter(|&o| binary.is_char_boundary(o))
        {
            let p = json!({ "textDocument": { "uri": "file:///binary.net" }, "position": position(&binary, offset) });
            c.request(method, p);
        }
    }
    // Unclosed brackets, half-typed statements: every position answered.
    let half = "net a v1\ninput x: 4\nh = relu(linear(x, \ntrain {\n  data: csv(\"a\nloss = ";
    c.open("file:///half.net", half);
    for offset in (0..=half.len()).filter(|&o| half.is_char_boundary(o)) {
        let p = json!({ "textDocument": { "uri": "file:///half.net" }, "position": position(half, offset) });
        c.request("textDocument/completion", p.clone());
        c.request("textDocument/hover", p);
    }
    // Positions outside the text, and documents never opened.
    let far = json!({ "textDocument": { "uri": "file:///half.net" }, "position": { "line": 999, "character": 999 } });
    assert_eq!(c.request("textDocument/hover", far).0, Value::Null);
    let unopened = json!({ "textDocument": { "uri": "file:///none.net" }, "position": { "line": 0, "character": 0 } });
    assert_eq!(
        c.request("textDocument/hover", unopened.clone()).0,
        Value::Null
    );
    assert_eq!(
        c.request("textDocument/definition", unopened).0,
        Value::Null
    );
    let (code, err) = c.shutdown();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn malformed_requests_are_answered_with_errors_and_the_server_goes_on() {
    let (mut c, _) = Client::start();
    let (r, _) = c.call("textDocument/hover", json!({ "nonsense": true }));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let (r, _) = c.call("workspace/symbol", json!({ "query": "" }));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    // A notification it does not know, and one with bad parameters: ignored.
    c.notify("textDocument/didSave", json!({ "bad": 1 }));
    c.notify("textDocument/didOpen", json!({ "bad": 1 }));
    assert!(c.open(URI, GOOD).is_empty());
    let (code, err) = c.shutdown();
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_stdio_flag_editors_pass_is_accepted_and_others_are_usage_errors() {
    let (mut c, _) = Client::start_with(&["lsp", "--stdio"]);
    assert!(c.open(URI, GOOD).is_empty());
    let (code, err) = c.shutdown();
    assert_eq!(code, 0, "{err}");
    let r = common::cli::netc(&["lsp", "--tcp"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn an_editor_that_leaves_without_shutdown_is_a_user_error_not_a_crash() {
    let (c, _) = Client::start();
    let (code, err) = c.finish();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("without shutting netc lsp down"), "{err}");
    let (mut c, _) = Client::start();
    c.notify("exit", Value::Null);
    let (code, err) = c.finish();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("exit before shutting it down"), "{err}");
}

#[test]
fn a_message_that_is_not_json_rpc_stops_the_server_with_a_user_error() {
    let (mut c, _) = Client::start();
    c.send_raw(b"Content-Length: 5\r\n\r\nhello");
    let (code, err) = c.finish();
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("could not read the editor's message"), "{err}");
}
