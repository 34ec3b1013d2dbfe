//! The editor files in `editors/`: the TextMate grammar is valid JSON whose
//! patterns compile and scope the language's constructs, and the VS Code
//! extension's manifest points at files that exist. The patterns are
//! compiled with the `regex` crate: the grammar keeps to what it and
//! Oniguruma (VS Code's, GitHub's engine) read alike, without look-around.

mod common;

use regex::Regex;
use serde_json::Value;
use std::path::Path;

fn json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn grammar() -> Value {
    json("editors/netc.tmLanguage.json")
}

/// Every rule object of the grammar, wherever it is nested.
fn rules(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(m) => {
            if m.contains_key("match") || m.contains_key("begin") || m.contains_key("include") {
                out.push(v.clone());
            }
            m.values().for_each(|x| rules(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| rules(x, out)),
        _ => {}
    }
}

fn regex(pattern: &str) -> Regex {
    // Oniguruma's `$` in TextMate matches at a line's end: lines are fed one at a time.
    Regex::new(&format!("(?m){pattern}")).unwrap_or_else(|e| panic!("`{pattern}`: {e}"))
}

/// The repository rule `name`'s single `match`.
fn rule(name: &str) -> Regex {
    let g = grammar();
    regex(
        g["repository"][name]["match"]
            .as_str()
            .unwrap_or_else(|| panic!("no rule {name}")),
    )
}

#[test]
fn the_grammar_is_json_its_patterns_compile_and_its_includes_resolve() {
    let g = grammar();
    assert_eq!(g["scopeName"], "source.netc");
    let mut all = Vec::new();
    rules(&g, &mut all);
    assert!(all.len() > 20, "{}", all.len());
    for r in &all {
        for key in ["match", "begin", "end"] {
            if let Some(p) = r[key].as_str() {
                regex(p);
            }
        }
        if let Some(inc) = r["include"].as_str() {
            let name = inc
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("include {inc}"));
            assert!(
                g["repository"].get(name).is_some(),
                "include {inc} has no rule"
            );
        }
    }
    // Every scope is the language's own.
    let text = serde_json::to_string(&g).unwrap_or_default();
    let scopes = Regex::new(r#""name":"([^"]+)""#).unwrap_or_else(|e| panic!("{e}"));
    for c in scopes.captures_iter(&text) {
        assert!(c[1].ends_with(".netc") || &c[1] == "netc", "{}", &c[1]);
    }
}

#[test]
fn the_grammar_scopes_the_constructs_of_the_models() {
    let caps = |r: &Regex, line: &str, group: usize| {
        r.captures(line)
            .and_then(|c| c.get(group))
            .map(|m| m.as_str().to_string())
    };
    assert_eq!(
        caps(&rule("header"), "net mnist v1", 2).as_deref(),
        Some("mnist")
    );
    assert_eq!(
        caps(&rule("declaration"), "input x: 28x28", 2).as_deref(),
        Some("x")
    );
    assert_eq!(
        caps(&rule("binding"), "h = relu(linear(x, 8))", 2).as_deref(),
        Some("h")
    );
    assert_eq!(
        caps(&rule("binding"), "loss = nll(out, y)", 1).as_deref(),
        Some("loss")
    );
    assert_eq!(
        caps(&rule("comment"), "x: 28x28  # pixels", 0).as_deref(),
        Some("# pixels")
    );
    assert_eq!(
        caps(&rule("dims"), "input x: 28x28", 0).as_deref(),
        Some("28x28")
    );
    for n in ["0.5", "1e-4", ".5", "32", "1.5E+3"] {
        assert_eq!(caps(&rule("number"), n, 0).as_deref(), Some(n));
    }
    // Each model's statements start with a construct the grammar names.
    let starts = [
        rule("header"),
        rule("declaration"),
        rule("binding"),
        regex(r"^\s*train\s*\{"),
    ];
    for m in ["models/mlp.net", "models/mnist.net", "models/digits.net"] {
        let text = std::fs::read_to_string(m).unwrap_or_default();
        for line in text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with([' ', '#', '}']))
        {
            assert!(starts.iter().any(|r| r.is_match(line)), "{m}: `{line}`");
        }
    }
}

#[test]
fn the_vscode_manifest_points_at_the_grammar_and_starts_netc_lsp() {
    let m = json("editors/vscode/package.json");
    let dir = Path::new("editors/vscode");
    let lang = &m["contributes"]["languages"][0];
    assert_eq!(lang["id"], "netc");
    assert!(
        lang["extensions"]
            .as_array()
            .is_some_and(|e| e.contains(&".net".into()))
    );
    let config = dir.join(lang["configuration"].as_str().unwrap_or(""));
    assert_eq!(
        json(config.to_str().unwrap_or(""))["comments"]["lineComment"],
        "#"
    );
    let gr = &m["contributes"]["grammars"][0];
    assert_eq!(gr["language"], "netc");
    assert_eq!(gr["scopeName"], grammar()["scopeName"]);
    let path = dir.join(gr["path"].as_str().unwrap_or(""));
    assert_eq!(
        json(path.to_str().unwrap_or(""))["scopeName"],
        "source.netc"
    );
    let main = dir.join(m["main"].as_str().unwrap_or(""));
    let js = std::fs::read_to_string(&main).unwrap_or_else(|e| panic!("{}: {e}", main.display()));
    assert!(js.contains(r#"args: ["lsp"]"#), "{js}");
}

#[test]
fn the_extension_script_is_valid_javascript() {
    let run = std::process::Command::new("node")
        .args(["--check", "editors/vscode/extension.js"])
        .output();
    match run {
        Err(_) => common::skipped("`node` is not installed"),
        Ok(out) => assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// The scopes VS Code's own engine (vscode-textmate on Oniguruma) gives the
/// models' words: `editors/test/tokenize.js`, with the packages `.ci/run`
/// installs there (`npm ci`). Skipped with a note without node or them.
#[test]
fn vs_code_s_engine_scopes_the_models() {
    if !Path::new("editors/test/node_modules/vscode-textmate").exists() {
        common::skipped("editors/test/node_modules is absent (`npm ci` there)");
        return;
    }
    // The models, and a file with what they do not show.
    let dir = tempfile::tempdir().expect("a temporary folder");
    let extra = dir.path().join("extra.net");
    let extra_text = "loss = mse(out, y) + 1e-4 * sumsq(h1.weight)\n\
                      train {\n    data: csv(\"a \\\"b\\\".csv\", header: true)\n}\n";
    std::fs::write(&extra, extra_text).expect("write extra.net");
    let extra = extra.to_str().unwrap_or("").to_string();
    let models = [
        "models/mlp.net",
        "models/mnist.net",
        "models/digits.net",
        extra.as_str(),
    ];
    let out = std::process::Command::new("node")
        .arg("editors/test/tokenize.js")
        .args(models)
        .output();
    let Ok(out) = out else {
        common::skipped("`node` is not installed");
        return;
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tokens: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    // (a word, where it stands, the innermost scope it must have)
    let want = [
        ("net", "net mnist v1", "keyword.other.net.netc"),
        ("mnist", "net mnist v1", "entity.name.type.netc"),
        ("input", "input x", "keyword.other.declaration.netc"),
        ("28x28", "input x", "constant.numeric.dimensions.netc"),
        (
            "# pixels scaled to [0, 1]",
            "input x",
            "comment.line.number-sign.netc",
        ),
        ("h", "h = relu", "variable.other.definition.netc"),
        ("relu", "h = relu", "entity.name.function.call.netc"),
        ("x", "flatten(x)", "variable.other.netc"),
        ("0.5", "d = dropout", "constant.numeric.netc"),
        ("loss", "loss = nll", "variable.language.loss.netc"),
        ("train", "train {", "keyword.other.train.netc"),
        (
            "batch",
            "batch: 64",
            "support.type.property-name.setting.netc",
        ),
        ("lr", "optimizer:", "variable.parameter.netc"),
        ("1e-4", "optimizer:", "constant.numeric.netc"),
        ("1e-4", "sumsq", "constant.numeric.netc"),
        ("weight", "h1.weight", "variable.other.property.netc"),
        ("sumsq", "h1.weight", "entity.name.function.call.netc"),
        ("\\\"", "csv(", "constant.character.escape.netc"),
        ("true", "csv(", "constant.language.boolean.netc"),
        ("header", "csv(", "variable.parameter.netc"),
    ];
    for (word, line_has, scope) in want {
        let found = models.iter().any(|m| {
            let lines = tokens[m].as_array().cloned().unwrap_or_default();
            lines.iter().filter_map(Value::as_array).any(|line| {
                let text: String = line.iter().filter_map(|t| t[0].as_str()).collect();
                text.contains(line_has)
                    && line.iter().any(|t| {
                        t[0] == word
                            && t[1]
                                .as_array()
                                .and_then(|s| s.last())
                                .is_some_and(|s| s == scope)
                    })
            })
        });
        assert!(found, "`{word}` on a line with `{line_has}` is not {scope}");
    }
    // Every word outside comments has a scope of its own, not the file's alone.
    for m in models {
        for line in tokens[m]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_array)
        {
            for t in line {
                let bare = t[1].as_array().is_some_and(|s| s.len() == 1);
                let text = t[0].as_str().unwrap_or("");
                assert!(
                    !bare || text.trim().is_empty(),
                    "{m}: `{text}` has no scope"
                );
            }
        }
    }
}
