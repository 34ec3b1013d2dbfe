//! Hostile input: the front end never panics, never overflows the stack,
//! stays fast, and formatting stays idempotent on whatever parses.

use netc::lang::fmt::format_source;
use netc::lang::parse_and_check;
use proptest::prelude::*;
use std::time::{Duration, Instant};

/// Checks and formats `src`; formatting what formats must be a fixed point.
fn survive(src: &str) {
    let checked = parse_and_check("fuzz.net", src);
    if let Err(d) = &checked {
        assert!(d.has_errors());
        let _ = d.render();
    }
    if let Ok(once) = format_source("fuzz.net", src) {
        match format_source("fuzz.net", &once) {
            Ok(twice) => assert_eq!(twice, once, "not idempotent on {src:?}"),
            Err(d) => panic!(
                "formatted text does not parse: {src:?}\n{once}\n{}",
                d.render()
            ),
        }
    }
}

/// Runs `survive` and says how long it took (hostile inputs must stay fast).
fn timed(what: &str, src: &str) -> Duration {
    let t = Instant::now();
    survive(src);
    let d = t.elapsed();
    eprintln!("{what}: {} bytes in {d:?}", src.len());
    d
}

const MODELS: [&str; 3] = [
    include_str!("../models/mlp.net"),
    include_str!("../models/mnist.net"),
    include_str!("../models/digits.net"),
];

/// Characters that matter to the grammar, to mutate files with.
const ALPHABET: &[char] = &[
    '(', ')', '[', ']', '{', '}', ',', ':', '=', '+', '*', '#', '"', '\n', '\r', '\t', ' ', '.',
    '-', '0', '1', '9', 'e', 'x', 'h', 'y', '_', '\\', 'é', '\u{0}', '\u{feff}', '\u{2028}',
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text(src in "\\PC{0,200}") {
        survive(&src);
    }

    #[test]
    fn arbitrary_grammar_soup(chars in proptest::collection::vec(proptest::sample::select(ALPHABET), 0..120)) {
        let src: String = chars.into_iter().collect();
        survive(&src);
    }

    #[test]
    fn mutated_models(which in 0usize..3, edits in proptest::collection::vec((any::<usize>(), 0u8..3, proptest::sample::select(ALPHABET)), 1..6)) {
        let mut chars: Vec<char> = MODELS[which].chars().collect();
        for (at, op, c) in edits {
            let i = at % (chars.len() + 1);
            match op {
                0 => chars.insert(i, c),
                1 if i < chars.len() => { chars.remove(i); }
                _ if i < chars.len() => chars[i] = c,
                _ => {}
            }
        }
        let src: String = chars.into_iter().collect();
        survive(&src);
    }
}

#[test]
fn pathological_inputs_stay_fast() {
    let n = 50_000;
    let cases: Vec<(&str, String)> = vec![
        (
            "deep brackets",
            format!("h = {}x{}", "(".repeat(n), ")".repeat(n)),
        ),
        (
            "deep calls",
            format!("h = {}x{}", "relu(".repeat(n / 5), ")".repeat(n / 5)),
        ),
        ("unclosed brackets", "h = relu(".repeat(n / 10)),
        (
            "long sum",
            format!("net a v1\nh = x{}\n", " + x".repeat(n / 4)),
        ),
        (
            "many unknown names",
            (0..n / 4).map(|i| format!("h{i} = relu(z{i})\n")).collect(),
        ),
        ("many headers", "net a v1\n".repeat(n / 4)),
        ("many syntax errors", "h relu(x)\n".repeat(n / 4)),
        ("many comments", "# c\n".repeat(n / 4)),
        ("long comment", format!("# {}", "c".repeat(n * 5))),
        ("long name", format!("{} = relu(x)", "h".repeat(n * 5))),
        ("long number", format!("h = linear(x, {})", "9".repeat(n))),
        (
            "long string",
            format!("train {{ data: csv(\"{}\") }}", "a".repeat(n * 5)),
        ),
        ("carriage returns", "\r".repeat(n * 5)),
        ("nul bytes", "\u{0}".repeat(n)),
        (
            "one long line of settings",
            format!("train {{ {} }}", "batch: 1, ".repeat(n / 10)),
        ),
    ];
    for (what, src) in &cases {
        let d = timed(what, src);
        // Generous: a debug build on a loaded 2-core machine.
        assert!(d < Duration::from_secs(30), "{what} took {d:?}");
    }
}

#[test]
fn too_many_errors_are_counted_not_listed() {
    let src: String = (0..1000).map(|i| format!("h{i} = relu(z{i})\n")).collect();
    let d = match parse_and_check("many.net", &src) {
        Ok(_) => panic!("checked"),
        Err(d) => d,
    };
    assert!(d.items.len() <= 101, "{}", d.items.len());
    assert!(d.render().contains("more errors and"), "{}", d.render());
}
