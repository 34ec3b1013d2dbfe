//! `fmt`: the model files are in canonical layout, formatting is idempotent,
//! keeps comments, and never changes what a file means.

use netc::lang::fmt::format_source;
use netc::lang::parse_and_check;
use proptest::prelude::*;
use std::fs;

/// The model files, and a net whose lines are too long for one.
const MODELS: [&str; 6] = [
    "models/mlp.net",
    "models/mnist.net",
    "models/digits.net",
    "models/lenet.net",
    "models/fashion_bn.net",
    "tests/fixtures/nets/long_lines.net",
];

fn fmt(src: &str) -> String {
    match format_source("t.net", src) {
        Ok(s) => s,
        Err(d) => panic!("{}", d.render()),
    }
}

#[test]
fn the_model_files_format_to_themselves() {
    for f in MODELS {
        let src = fs::read_to_string(f).unwrap_or_default();
        assert!(!src.is_empty(), "{f}");
        assert_eq!(fmt(&src), src, "{f} is not in canonical layout");
    }
}

/// The code blocks of grammar/README.md, without the indentation of the
/// list item holding them.
fn readme_blocks() -> Vec<String> {
    let text = fs::read_to_string("grammar/README.md").unwrap();
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for line in text.lines() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => open = Some((line.len() - line.trim_start().len(), String::new())),
            (Some((_, block)), true) => {
                blocks.push(std::mem::take(block));
                open = None;
            }
            (Some((indent, block)), false) => {
                block.push_str(line.get(*indent..).unwrap_or(""));
                block.push('\n');
            }
            (None, false) => {}
        }
    }
    blocks
}

#[test]
fn the_grammar_readme_examples_are_in_canonical_layout() {
    let examples: Vec<String> = readme_blocks()
        .into_iter()
        .filter(|b| {
            ["# The reference MLP", "loss =", "train {"]
                .iter()
                .any(|s| b.starts_with(s))
        })
        // The loss's pattern (`loss = DATA_TERM + ...`) is not code.
        .filter(|b| !b.contains("..."))
        .collect();
    // The whole reference MLP, the loss spanning lines, the train blocks
    // (plain, with a schedule, with validation).
    assert_eq!(examples.len(), 5, "{examples:?}");
    assert!(examples[1].lines().count() > 2, "{}", examples[1]);
    for b in &examples {
        assert_eq!(
            fmt(b),
            *b,
            "grammar/README.md's example is not a fixed point"
        );
    }
}

#[test]
fn a_messy_file_is_laid_out_and_keeps_its_comments() {
    let src = "\u{feff}# my net\r\n\r\n\r\nnet   messy   v1   # header\r\ninput x:28 x 28\r\n\tlabel y : classes( 10 )\r\n\
               h=relu(linear(flatten(x),64,))#hidden\r\n\
               out = linear(h,\r\n  # ten classes\r\n  10)\r\n\
               loss = cross_entropy(out,y)\r\n   + 1e-4*sumsq(h.weight)\r\n\
               train{data:mnist,batch:64 # bigger is faster\r\n optimizer : sgd( lr:0.01 , momentum:0.9 ) }\r\n\r\n\r\n# end\r\n";
    let want = "# my net\n\nnet messy v1  # header\ninput x: 28x28\nlabel y: classes(10)\n\
                h = relu(linear(flatten(x), 64))  #hidden\n\
                # ten classes\nout = linear(h, 10)\n\
                loss = cross_entropy(out, y) + 1e-4 * sumsq(h.weight)\n\
                train {\n    data: mnist\n    batch: 64  # bigger is faster\n    optimizer: sgd(lr: 0.01, momentum: 0.9)\n}\n\n# end\n";
    let got = fmt(src);
    assert_eq!(got, want);
    assert_eq!(fmt(&got), got);
}

#[test]
fn formatting_keeps_the_meaning() {
    for f in MODELS {
        let src = fs::read_to_string(f).unwrap_or_default();
        let squeezed = src
            .replace("    ", "")
            .replace(" = ", "=")
            .replace(", ", ",");
        let back = fmt(&squeezed);
        let (a, b) = (parse_and_check(f, &src), parse_and_check(f, &back));
        match (a, b) {
            (Ok(mut a), Ok(mut b)) => {
                a.source.clear();
                b.source.clear();
                a.warnings = b.warnings.clone();
                assert_eq!(a, b, "{f}");
            }
            _ => panic!("{f} stopped checking after formatting"),
        }
    }
}

/// A model file with its spacing and line ends varied by `choices`, and
/// with comments added at line ends when `comments` is set.
fn perturb(src: &str, choices: &[u8], comments: bool) -> String {
    let mut out = String::new();
    let mut k = 0;
    let mut next = || {
        k += 1;
        choices[k % choices.len()]
    };
    let mut in_comment = false;
    for c in src.chars() {
        // Comments are kept verbatim: leave them alone.
        in_comment = (in_comment || c == '#') && c != '\n';
        if in_comment {
            out.push(c);
            continue;
        }
        match c {
            ' ' => {
                for _ in 0..=next() % 3 {
                    out.push(if next() % 2 == 0 { ' ' } else { '\t' });
                }
            }
            '\n' => {
                if comments && next() % 3 == 0 {
                    out.push_str(" # note");
                }
                out.push_str(if next() % 2 == 0 { "\r\n" } else { "\n" });
            }
            '(' | '[' => {
                out.push(c);
                if next() % 3 == 0 {
                    out.push(' ');
                }
            }
            ')' | ']' | ',' | ':' => {
                if next() % 3 == 0 {
                    out.push(' ');
                }
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

proptest! {
    #[test]
    fn layout_does_not_depend_on_spacing(choices in proptest::collection::vec(any::<u8>(), 1..64), which in 0usize..4) {
        let src = fs::read_to_string(MODELS[which]).unwrap_or_default();
        let messy = perturb(&src, &choices, false);
        prop_assert_eq!(fmt(&messy), src);
    }

    #[test]
    fn formatting_is_idempotent_with_comments(choices in proptest::collection::vec(any::<u8>(), 1..64), which in 0usize..4) {
        let src = fs::read_to_string(MODELS[which]).unwrap_or_default();
        let once = fmt(&perturb(&src, &choices, true));
        prop_assert_eq!(fmt(&once), once.clone());
        prop_assert_eq!(once.matches("# note").count(), perturb(&src, &choices, true).matches("# note").count());
    }
}
