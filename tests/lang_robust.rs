//! Hostile input: the front end never panics, never overflows the stack,
//! stays fast, lowers whatever checks, and formatting stays idempotent and
//! keeps the meaning. The properties are in `common/frontend.rs`, shared with
//! the `cargo fuzz` target in `fuzz/`; the inputs worth keeping are replayed
//! from `tests/fuzz-corpus/frontend/`.

#[path = "common/frontend.rs"]
mod frontend;

use frontend::exercise;
use netc::lang::parse_and_check;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs `exercise` and says how long it took (hostile inputs must stay fast).
fn timed(what: &str, src: &str) -> Duration {
    let t = Instant::now();
    exercise(src);
    let d = t.elapsed();
    eprintln!("{what}: {} bytes in {d:?}", src.len());
    d
}

/// The files of a directory of the repository, sorted.
fn files_in(dir: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Every `.net` file in `models/`, read once.
fn models() -> &'static [String] {
    static MODELS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    MODELS.get_or_init(|| {
        files_in("models")
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "net"))
            .map(|p| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
            .collect()
    })
}

/// Characters that matter to the grammar, to mutate files with.
const ALPHABET: &[char] = &[
    '(', ')', '[', ']', '{', '}', ',', ':', '=', '+', '*', '#', '"', '\n', '\r', '\t', ' ', '.',
    '-', '0', '1', '9', 'e', 'x', 'h', 'y', '_', '\\', 'é', '\u{0}', '\u{feff}', '\u{2028}',
];

/// Words and punctuation of the language (keywords, functions, options,
/// settings, sources, numbers at the edges of their ranges), for token soups
/// and to splice into real files.
const TOKENS: &[&str] = &[
    "net",
    "input",
    "label",
    "train",
    "loss",
    "v1",
    "v2",
    "x",
    "y",
    "h1",
    "h2",
    "out",
    "_h",
    "linear",
    "relu",
    "sigmoid",
    "tanh",
    "dropout",
    "softmax",
    "log_softmax",
    "flatten",
    "cross_entropy",
    "nll",
    "mse",
    "l1",
    "l2",
    "sumsq",
    "classes",
    "values",
    "units",
    "bias",
    "p",
    "mode",
    "inverted",
    "classic",
    "true",
    "false",
    "data",
    "batch",
    "epochs",
    "steps",
    "optimizer",
    "seed",
    "eval",
    "eval_every",
    "scaling",
    "mc",
    "passes",
    "synthetic",
    "samples",
    "test_samples",
    "target",
    "digits",
    "mnist",
    "fashion_mnist",
    "idx",
    "csv",
    "test",
    "test_fraction",
    "header",
    "sgd",
    "adam",
    "adamw",
    "lr",
    "momentum",
    "dampening",
    "nesterov",
    "weight_decay",
    "betas",
    "eps",
    "h1.weight",
    "out.bias",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "=",
    "+",
    "*",
    "#",
    "\n",
    "\r\n",
    " ",
    "  ",
    "0",
    "1",
    "2",
    "-1",
    "0.5",
    ".5",
    "1e-4",
    "1e999",
    "-0",
    "0.0",
    "1.0",
    "0.999",
    "28x28",
    "4",
    "99999999999",
    "2147483648",
    "4294967296",
    "18446744073709551616",
    "1e308",
    "\"a.csv\"",
    "\"\"",
];

/// Applies `edits` (position, operation, what) to `text`: insert, delete or
/// replace a character, insert a token, or duplicate or drop a whole line.
fn mutate(text: &str, edits: &[(usize, u8, usize)]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for &(at, op, what) in edits {
        let i = at % (chars.len() + 1);
        match op {
            0 => chars.insert(i, ALPHABET[what % ALPHABET.len()]),
            1 if i < chars.len() => {
                chars.remove(i);
            }
            2 if i < chars.len() => chars[i] = ALPHABET[what % ALPHABET.len()],
            3 => {
                let t = TOKENS[what % TOKENS.len()];
                chars.splice(i..i, t.chars());
            }
            4 | 5 => {
                let start = chars[..i]
                    .iter()
                    .rposition(|&c| c == '\n')
                    .map_or(0, |p| p + 1);
                let end = chars[i..]
                    .iter()
                    .position(|&c| c == '\n')
                    .map_or(chars.len(), |p| i + p + 1);
                if op == 4 {
                    let line: Vec<char> = chars[start..end].to_vec();
                    let to = if what % 2 == 0 { start } else { chars.len() };
                    chars.splice(to..to, line);
                } else {
                    chars.drain(start..end);
                }
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_text(src in "\\PC{0,200}") {
        exercise(&src);
    }

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        // As the fuzz target does: what is not UTF-8 becomes U+FFFD.
        exercise(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_grammar_soup(chars in proptest::collection::vec(proptest::sample::select(ALPHABET), 0..120)) {
        let src: String = chars.into_iter().collect();
        exercise(&src);
    }

    #[test]
    fn arbitrary_token_soup(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..80)) {
        exercise(&tokens.join(" "));
        exercise(&tokens.concat());
    }

}

/// One layer of a generated net: what follows the previous activation.
#[derive(Clone, Debug)]
enum Step {
    Dense {
        func: &'static str,
        units: usize,
    },
    Dropout {
        p: f64,
        classic: bool,
    },
    Act(&'static str),
    /// The previous activation plus an earlier one of the same width.
    Residual,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (
            proptest::sample::select(&["relu", "tanh", "sigmoid", ""][..]),
            1usize..12
        )
            .prop_map(|(func, units)| Step::Dense { func, units }),
        (0.0f64..0.95, any::<bool>()).prop_map(|(p, classic)| Step::Dropout { p, classic }),
        proptest::sample::select(&["relu", "tanh", "sigmoid"][..]).prop_map(Step::Act),
        Just(Step::Residual),
    ]
}

/// A generated net, and how its text is laid out.
#[derive(Clone, Debug)]
struct Gen {
    dims: (usize, Option<usize>),
    classes: Option<usize>,
    steps: Vec<Step>,
    log_softmax: bool,
    /// (kind, target index, coefficient)
    penalties: Vec<(usize, usize, f64)>,
    optimizer: usize,
    mc: bool,
    /// (comments, CRLF, extra spaces, one-line train block)
    layout: (bool, bool, bool, bool),
}

fn gen_net() -> impl Strategy<Value = Gen> {
    (
        (1usize..9, proptest::option::of(1usize..5)),
        proptest::option::of(2usize..6),
        proptest::collection::vec(step(), 0..6),
        any::<bool>(),
        proptest::collection::vec((0usize..3, any::<usize>(), 0.0f64..2.0), 0..4),
        0usize..3,
        any::<bool>(),
        any::<(bool, bool, bool, bool)>(),
    )
        .prop_map(
            |(dims, classes, steps, log_softmax, penalties, optimizer, mc, layout)| Gen {
                dims,
                classes,
                steps,
                log_softmax,
                penalties,
                optimizer,
                mc,
                layout,
            },
        )
}

/// The text of a generated net: valid by construction, in the layout
/// `g.layout` asks for.
fn render(g: &Gen) -> String {
    let (comments, crlf, spaced, one_line) = g.layout;
    let sp = if spaced { "  " } else { " " };
    let mut lines = vec!["net gen v1".to_string()];
    match g.dims.1 {
        Some(d) => lines.push(format!("input x: {} x {d}", g.dims.0)),
        None => lines.push(format!("input x:{sp}{}", g.dims.0)),
    }
    let width = g.classes.unwrap_or(2);
    match g.classes {
        Some(c) => lines.push(format!("label y: classes({c})")),
        None => lines.push("label y: values(2)".into()),
    }
    // (name, width) of every binding so far.
    let mut acts: Vec<(String, usize)> = Vec::new();
    let mut prev = match g.dims.1 {
        Some(_) => "flatten(x)".to_string(),
        None => "x".to_string(),
    };
    let mut w = g.dims.0 * g.dims.1.unwrap_or(1);
    for (i, s) in g.steps.iter().enumerate() {
        let rhs = match s {
            Step::Dense { func: "", units } => {
                w = *units;
                format!("linear({prev},{sp}{units})")
            }
            Step::Dense { func, units } => {
                w = *units;
                format!("{func}(linear({prev}, units: {units}))")
            }
            Step::Dropout { p, classic } => {
                let mode = if *classic { ", mode: classic" } else { "" };
                format!("dropout({prev}, p: {p:.3}{mode})")
            }
            Step::Act(f) => format!("{f}({prev})"),
            Step::Residual => match acts.iter().rev().find(|(n, aw)| *aw == w && *n != prev) {
                Some((other, _)) if !prev.contains('(') => format!("{prev}{sp}+ {other}"),
                _ => format!("relu({prev})"),
            },
        };
        let comment = if comments {
            format!("  # layer {i}")
        } else {
            String::new()
        };
        lines.push(format!("h{i}{sp}={sp}{rhs}{comment}"));
        acts.push((format!("h{i}"), w));
        prev = format!("h{i}");
    }
    let head = format!("linear({prev}, {width})");
    let (out, data) = match (g.classes, g.log_softmax) {
        (Some(_), true) => (format!("log_softmax({head})"), "nll"),
        (Some(_), false) => (head, "cross_entropy"),
        (None, _) => (head, "mse"),
    };
    lines.push(format!("out = {out}"));
    let mut loss = format!("loss = {data}(out, y)");
    let targets: Vec<String> = acts
        .iter()
        .map(|(n, _)| n.clone())
        .chain(["out".to_string(), "out.weight".to_string()])
        .collect();
    let mut used = std::collections::HashSet::new();
    for &(kind, target, coef) in &g.penalties {
        let t = &targets[target % targets.len()];
        let k = ["l1", "l2", "sumsq"][kind];
        if used.insert((k, t.clone())) {
            let sep = if comments { "\n    + " } else { " + " };
            loss.push_str(&format!("{sep}{coef:.4} * {k}({t})"));
        }
    }
    lines.push(loss);
    let data = match g.classes {
        Some(_) => "synthetic(samples: 16)",
        None => "csv(\"train.csv\")",
    };
    let optimizer = [
        "sgd(lr: 0.1, momentum: 0.9)",
        "adam",
        "adamw(lr: 1e-3, betas: [0.8, 0.99],)",
    ][g.optimizer];
    let eval = if g.mc {
        "scaling + mc(passes: 3)"
    } else {
        "scaling"
    };
    let settings = [
        format!("data: {data}"),
        "batch: 4".to_string(),
        "steps: 3".to_string(),
        format!("optimizer: {optimizer}"),
        format!("eval: {eval}"),
        "seed: 7".to_string(),
    ];
    if one_line {
        lines.push(format!("train {{ {} }}", settings.join(", ")));
    } else {
        lines.push("train {".into());
        lines.extend(settings.iter().map(|s| format!("    {s}")));
        lines.push("}".into());
    }
    if comments {
        lines.insert(0, "# a generated net".into());
    }
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut text = lines.join(nl);
    text.push_str(nl);
    text
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Valid nets of many shapes and layouts check, lower, run a pass, and
    /// format to the same model: the properties beyond the checker.
    #[test]
    fn generated_nets_check_lower_and_format(g in gen_net()) {
        let src = render(&g);
        if let Err(d) = parse_and_check("gen.net", &src) {
            panic!("a generated net does not check:\n{src}\n{}", d.render());
        }
        exercise(&src);
    }

    /// Every file in `models/`, mutated.
    #[test]
    fn mutated_models(which in any::<usize>(), edits in proptest::collection::vec((any::<usize>(), 0u8..6, any::<usize>()), 1..6)) {
        let all = models();
        exercise(&mutate(&all[which % all.len()], &edits));
    }

    /// The same nets, mutated: near-valid inputs reach deepest into the checker.
    #[test]
    fn mutated_generated_nets(g in gen_net(), edits in proptest::collection::vec((any::<usize>(), 0u8..6, any::<usize>()), 1..4)) {
        exercise(&mutate(&render(&g), &edits));
    }
}

/// The fuzzer's finds (minimised) and hand-picked hostile inputs, replayed.
#[test]
fn the_fuzz_corpus_replays() {
    let files = files_in("tests/fuzz-corpus/frontend");
    assert!(files.len() >= 10, "only {} corpus files", files.len());
    for f in files {
        let bytes = std::fs::read(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let d = timed(&f.display().to_string(), &String::from_utf8_lossy(&bytes));
        assert!(d < Duration::from_secs(10), "{} took {d:?}", f.display());
    }
}

#[test]
fn pathological_inputs_stay_fast() {
    // Bytes are cheap; statements are not in a debug build, where the parser
    // pest generates runs unoptimised (~1 ms a statement on this machine), so
    // `m` statements are enough to show there is nothing quadratic. Files past
    // the limits are refused whole (`files_over_the_limits_...`).
    let n = 50_000;
    let m = 1_000;
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
            format!("net a v1\nh = x{}\n", " + x".repeat(5 * m)),
        ),
        (
            "many unknown names",
            (0..m).map(|i| format!("h{i} = relu(z{i})\n")).collect(),
        ),
        ("many headers", "net a v1\n".repeat(m)),
        ("many syntax errors", "h relu(x)\n".repeat(m)),
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
            format!("train {{ {} }}", "batch: 1, ".repeat(m)),
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

/// A file over a limit gets one error that says which limit, quickly, and
/// nothing else of it is parsed.
#[test]
fn files_over_the_limits_are_refused_with_one_error() {
    let layers: String = (0..100_000)
        .map(|i| format!("h{} = linear(h{i}, 1)\n", i + 1))
        .collect();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "a 10 MB single line",
            format!("h = x{}", " + x".repeat(2_500_000)),
            "bytes long, more than the limit of 1048576 for a .net file",
        ),
        (
            "10^5 layers",
            format!("net deep v1\ninput h0: 4\n{layers}"),
            "more than the limit of 1048576",
        ),
        (
            "10^5 short statements",
            "h=x\n".repeat(100_000),
            "this file has 100000 statements, more than the limit of 10000",
        ),
        (
            "a 100 kB statement",
            models()[0].replacen(
                "loss = ",
                &format!("loss = {}", "l1(h1) + ".repeat(11_111)),
                1,
            ),
            "this statement is 100",
        ),
    ];
    for (what, src, msg) in &cases {
        let t = Instant::now();
        let d = match parse_and_check("big.net", src) {
            Ok(_) => panic!("{what}: checked"),
            Err(d) => d,
        };
        let text = d.render();
        let took = t.elapsed();
        assert!(took < Duration::from_secs(5), "{what} took {took:?}");
        // Only the limit: a statement over it says nothing more either.
        assert_eq!(d.error_count(), 1, "{what}: {text}");
        assert!(text.contains(msg), "{what}: {text}");
        assert!(
            text.len() < 2000,
            "{what}: {} bytes of diagnostics",
            text.len()
        );
        assert!(
            netc::lang::fmt::format_source("big.net", src).is_err(),
            "{what}: formatted"
        );
    }
}
