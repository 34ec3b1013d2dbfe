//! Every file in models/ parses and checks without a warning, and its
//! summary (shapes, parameter counts, penalties, settings) is as expected.

use netc::lang::{parse_and_check, summary};
use std::fs;

fn model_files() -> Vec<String> {
    let mut files: Vec<String> = fs::read_dir("models")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().display().to_string())
                .filter(|p| p.ends_with(".net"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn every_model_checks_without_warnings() {
    let files = model_files();
    assert_eq!(files.len(), 6, "{files:?}");
    for f in files {
        let src = fs::read_to_string(&f).unwrap_or_default();
        match parse_and_check(&f, &src) {
            Ok(m) => assert!(m.warnings.is_empty(), "{f}:\n{}", m.warnings.render()),
            Err(d) => panic!("{f} does not check:\n{}", d.render()),
        }
    }
}

#[test]
fn model_summaries() {
    for f in model_files() {
        let src = fs::read_to_string(&f).unwrap_or_default();
        let m = parse_and_check(&f, &src).map_err(|d| d.render());
        let name = f.trim_start_matches("models/").trim_end_matches(".net");
        let text = match m {
            Ok(m) => summary(&m),
            Err(e) => e,
        };
        insta::assert_snapshot!(format!("summary_{name}"), text);
    }
}
