//! The editor files in `editors/`: the TextMate grammar is valid JSON whose
//! patterns compile and scope the language's constructs, and the VS Code
//! extension's manifest points at files that exist. The patterns are
//! compiled with the `regex` crate: the grammar keeps to what it and
//! Oniguruma (VS Code's, GitHub's engine) read alike, without look-around.

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
