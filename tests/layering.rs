//! The layers of ARCHITECTURE.md, enforced: a module may use only modules of
//! its own layer or the layers above it in the table, so no arrow runs from a
//! lower module up to a higher one. A new top-level module must be placed in
//! `LAYERS` (and in ARCHITECTURE.md) before this test passes.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// ARCHITECTURE.md's table: the top-level modules of `src/`, lowest first.
/// `src/cli/` and `src/main.rs` sit above all and use the crate as `netc::`.
const LAYERS: &[&[&str]] = &[
    &["error", "real", "range", "claimed", "tensor"],
    &["params", "tape", "ops", "layers", "optim"],
    &["files", "checkpoint"],
    &["data"],
    &["lang"],
    &["run"],
    &["plot"],
    &["train"],
    &["sweep"],
    &["export"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file of `src/` belongs to (`None` for the binary).
fn owner(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    match name {
        "cli" | "main" | "lib" => None,
        _ => Some(name.to_string()),
    }
}

/// Every module named after `crate::` in a text, with its line number.
fn crate_paths(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if rest.starts_with('{') {
                // `crate::{a, b::c}`: each item's first segment.
                let inner = &rest[1..rest.find('}').unwrap_or(rest.len())];
                for item in inner.split(',') {
                    let seg: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if !seg.is_empty() {
                        found.push((i + 1, seg));
                    }
                }
            } else {
                let seg: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                found.push((i + 1, seg));
            }
        }
    }
    found
}

/// Names re-exported at the crate's root (`pub use tape::Tape;` in lib.rs)
/// are reached as `crate::Tape`: the module they come from is the one used.
fn root_reexports(lib: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for line in lib.lines() {
        let Some(rest) = line.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((module, items)) = rest.split_once("::") else {
            continue;
        };
        let items = items
            .trim_end_matches(';')
            .trim_matches(|c| c == '{' || c == '}');
        for item in items.trim_end_matches('}').split(',') {
            let name = item.trim().rsplit("::").next().unwrap_or("").trim();
            if !name.is_empty() {
                pairs.push((name.to_string(), module.to_string()));
            }
        }
    }
    pairs
}

#[test]
fn no_module_uses_one_of_a_lower_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    let reexports = root_reexports(&lib);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();

    let mut upward = Vec::new();
    let mut unplaced = BTreeSet::new();
    for file in &files {
        let Some(from) = owner(&src, file) else {
            continue;
        };
        let Some(from_layer) = layer(&from) else {
            unplaced.insert(from);
            continue;
        };
        let text = fs::read_to_string(file).unwrap();
        for (line, seg) in crate_paths(&text) {
            let to = reexports
                .iter()
                .find(|(name, _)| *name == seg)
                .map_or(seg.clone(), |(_, module)| module.clone());
            if to == from {
                continue;
            }
            match layer(&to) {
                Some(to_layer) if to_layer > from_layer => upward.push(format!(
                    "{}:{line}: {from} (layer {from_layer}) uses {to} (layer {to_layer})",
                    file.strip_prefix(&src).unwrap().display()
                )),
                Some(_) => {}
                None => {
                    unplaced.insert(to);
                }
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "modules not placed in LAYERS (and ARCHITECTURE.md): {unplaced:?}"
    );
    assert!(
        upward.is_empty(),
        "arrows running upwards:\n{}",
        upward.join("\n")
    );
}

/// The check above sees what it is meant to: an upward path is caught, in
/// both spellings, and a comment is not code.
#[test]
fn the_scan_finds_paths_in_both_spellings() {
    let text = "use crate::train::fit;\nuse crate::{data::Split, lang};\n// crate::sweep\n";
    let found: Vec<String> = crate_paths(text).into_iter().map(|(_, m)| m).collect();
    assert_eq!(found, ["train", "data", "lang"]);
    assert!(layer("train") > layer("data"));
    let re = root_reexports("pub use tape::{DropoutMode, Tape};\npub use error::Error;\n");
    assert!(re.contains(&("Tape".to_string(), "tape".to_string())));
    assert!(re.contains(&("Error".to_string(), "error".to_string())));
}

/// ARCHITECTURE.md names every module of `LAYERS`, so the map and the test
/// cannot drift apart.
#[test]
fn the_map_names_every_layered_module() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let map = fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    for module in LAYERS.iter().flat_map(|l| l.iter()) {
        assert!(
            map.contains(&format!("`{module}`")),
            "ARCHITECTURE.md does not name `{module}`"
        );
    }
}
