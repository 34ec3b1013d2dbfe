//! `grammar/README.md`'s tables list exactly the builtins of
//! `netc::lang::builtins`, with the same parameters and defaults.

use netc::lang::builtins::{self, BUILTINS, Default, Role, TRAIN_SETTINGS};

const README: &str = include_str!("../grammar/README.md");

/// The role a README table lists, from its first header cell.
fn role_of(header: &str) -> Option<Role> {
    Some(match header {
        "function" => Role::Function,
        "data term" => Role::DataTerm,
        "penalty" => Role::Penalty,
        "label kind" => Role::LabelKind,
        "source" => Role::DataSource,
        "optimizer" => Role::Optimizer,
        "`eval:`" => Role::EvalMode,
        "schedule" => Role::Schedule,
        "`momentum_ramp:`" => Role::Ramp,
        "`early_stop:`" => Role::Monitor,
        _ => return None,
    })
}

/// One listed builtin: its role, name, number of positional (required)
/// arguments, and its named arguments with their defaults as written.
#[derive(Debug, PartialEq)]
struct Listed {
    role: Role,
    name: String,
    positional: usize,
    named: Vec<(String, String)>,
}

/// `a, b: [1, 2], c: x` split at the commas outside brackets.
fn split_args(s: &str) -> Vec<String> {
    let (mut out, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for c in s.chars() {
        match c {
            '[' | '(' => depth += 1,
            ']' | ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(cur.trim().to_string());
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// `dropout(x, p: 0.5)` or `mnist`, as listed.
fn parse_entry(role: Role, code: &str) -> Listed {
    let (name, args) = match code.split_once('(') {
        Some((n, rest)) => (n, rest.strip_suffix(')').unwrap_or(rest)),
        None => (code, ""),
    };
    let mut positional = 0;
    let mut named = Vec::new();
    for a in split_args(args) {
        match a.split_once(": ") {
            Some((k, v)) => named.push((k.to_string(), v.to_string())),
            None => positional += 1,
        }
    }
    Listed {
        role,
        name: name.to_string(),
        positional,
        named,
    }
}

/// Every builtin the tables of `text` list: the first code span of each row
/// of a table whose header names a role (`scaling + mc(...)`, a combination,
/// is not an entry).
fn listed(text: &str) -> Vec<Listed> {
    let mut out = Vec::new();
    let mut role = None;
    for line in text.lines() {
        let Some(row) = line.trim_start().strip_prefix('|') else {
            role = None;
            continue;
        };
        let first = row.split('|').next().unwrap_or("").trim();
        if role.is_none() {
            role = role_of(first);
            continue;
        }
        let code = first.trim_matches('`');
        if first.starts_with("---") || code.contains(" + ") {
            continue;
        }
        out.extend(role.map(|r| parse_entry(r, code)));
    }
    out
}

/// What the table says the README should list.
fn expected() -> Vec<Listed> {
    BUILTINS
        .iter()
        .map(|b| Listed {
            role: b.role,
            name: b.name.to_string(),
            positional: b.params.iter().filter(|p| p.required()).count(),
            named: b
                .params
                .iter()
                .filter(|p| p.default != Default::Required)
                .map(|p| (p.name.to_string(), p.default.to_string()))
                .collect(),
        })
        .collect()
}

/// Each difference between the README's tables and the builtins table.
fn differences(text: &str) -> Vec<String> {
    let (doc, table) = (listed(text), expected());
    let mut out = Vec::new();
    for e in &table {
        match doc.iter().find(|d| d.role == e.role && d.name == e.name) {
            None => out.push(format!("{:?} `{}` is not listed", e.role, e.name)),
            Some(d) if d != e => out.push(format!("`{}`: listed {d:?}, builtin {e:?}", e.name)),
            Some(_) => {}
        }
    }
    for d in &doc {
        if !table.iter().any(|e| e.role == d.role && e.name == d.name) {
            out.push(format!(
                "{:?} `{}` is listed but not a builtin",
                d.role, d.name
            ));
        }
    }
    out
}

/// The rows of the `train { }` settings table: (setting, default cell).
fn train_rows(text: &str) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        let Some(row) = line.trim_start().strip_prefix('|') else {
            inside = false;
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if !inside {
            inside = cells.first() == Some(&"setting");
            continue;
        }
        if let [name, _, default, ..] = cells.as_slice()
            && !name.starts_with("---")
        {
            rows.push((name.trim_matches('`').to_string(), default.to_string()));
        }
    }
    rows
}

/// Each difference between the README's train table and [`TRAIN_SETTINGS`].
fn train_differences(text: &str) -> Vec<String> {
    let rows = train_rows(text);
    let mut out = Vec::new();
    for p in TRAIN_SETTINGS {
        let Some((_, cell)) = rows.iter().find(|(n, _)| n == p.name) else {
            out.push(format!("`{}` is not listed", p.name));
            continue;
        };
        let ok = match p.default {
            Default::Required => cell == "required",
            Default::Absent => !cell.starts_with('`'),
            d => cell.starts_with(&format!("`{d}`")),
        };
        if !ok {
            out.push(format!(
                "`{}`: default {:?}, listed `{cell}`",
                p.name, p.default
            ));
        }
    }
    for (n, _) in &rows {
        if !TRAIN_SETTINGS.iter().any(|p| p.name == n) {
            out.push(format!("`{n}` is listed but not a setting"));
        }
    }
    out
}

#[test]
fn the_readme_lists_exactly_the_train_settings_and_their_defaults() {
    let problems = train_differences(README);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(train_rows(README).len(), TRAIN_SETTINGS.len());
    let wrong = README.replacen("| `32` |", "| `64` |", 1);
    assert_eq!(train_differences(&wrong).len(), 1);
}

#[test]
fn the_readme_lists_exactly_the_builtins_and_their_defaults() {
    let problems = differences(README);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every role has its table (the comparison is not vacuous).
    for role in [
        Role::Function,
        Role::DataTerm,
        Role::Penalty,
        Role::LabelKind,
        Role::DataSource,
        Role::Optimizer,
        Role::EvalMode,
        Role::Schedule,
        Role::Ramp,
        Role::Monitor,
    ] {
        assert!(
            listed(README).iter().filter(|l| l.role == role).count() == builtins::of(role).count(),
            "{role:?}"
        );
    }
}

#[test]
fn a_wrong_default_a_missing_entry_and_an_extra_one_are_each_found() {
    let wrong = README.replacen(
        "`dropout(x, p: 0.5, mode: inverted)`",
        "`dropout(x, p: 0.3, mode: inverted)`",
        1,
    );
    assert_eq!(differences(&wrong).len(), 1, "{:?}", differences(&wrong));
    let missing: String = README
        .lines()
        .filter(|l| !l.starts_with("| `tanh(x)`"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(differences(&missing), ["Function `tanh` is not listed"]);
    let extra = README.replacen("| `relu(x)` |", "| `gelu(x)` | |\n| `relu(x)` |", 1);
    assert_eq!(
        differences(&extra),
        ["Function `gelu` is listed but not a builtin"]
    );
}
