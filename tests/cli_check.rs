//! The `check` and `fmt` commands, as a user runs them.

mod common;

use common::cli::{netc, says};
use std::fs;
use std::path::Path;

fn temp_file(dir: &Path, name: &str, text: &[u8]) -> String {
    let p = dir.join(name);
    if let Err(e) = fs::write(&p, text) {
        panic!("cannot write {}: {e}", p.display());
    }
    p.display().to_string()
}

fn tempdir() -> tempfile::TempDir {
    match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => panic!("no temp dir: {e}"),
    }
}

const BROKEN: &str = "net t v1\ninput x: 16\nlabel y: classes(4)\nh1 = rleu(linear(x, 8))\nout = linear(h1, 4)\nloss = cross_entropy(out, y)\ntrain { data: mnsit }\n";

#[test]
fn check_prints_a_summary_of_each_model() {
    let r = netc(&[
        "check",
        "models/mlp.net",
        "models/mnist.net",
        "models/digits.net",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.is_empty(), "{}", r.stderr);
    for want in [
        "net mlp v1 (models/mlp.net)",
        "h1.weight   [32, 128]  4096",
        "total                  4690",
        "penalty  0.5 * l1(h1)",
        "d           [128]  dropout(h, 0.5)",
        "total                   101770",
    ] {
        assert!(r.stdout.contains(want), "missing {want:?} in\n{}", r.stdout);
    }
}

#[test]
fn check_reports_every_error_and_exits_1() {
    let dir = tempdir();
    let f = temp_file(dir.path(), "bad.net", BROKEN.as_bytes());
    let r = netc(&["check", &f]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.is_empty());
    says(&r, "error: unknown function `rleu`");
    says(&r, "= help: did you mean `relu`?");
    says(&r, "error: unknown data source `mnsit`");
    assert!(r.stderr.contains(&format!("--> {f}:4:6")), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("error: could not check `{f}` due to 2 errors")),
        "{}",
        r.stderr
    );
}

#[test]
fn check_goes_on_after_a_bad_file() {
    let dir = tempdir();
    let f = temp_file(dir.path(), "bad.net", BROKEN.as_bytes());
    let r = netc(&["check", &f, "models/mlp.net"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.contains("net mlp v1"), "{}", r.stdout);
}

#[test]
fn warnings_do_not_fail_the_check() {
    let dir = tempdir();
    let src = BROKEN
        .replace("rleu", "relu")
        .replace("mnsit", "synthetic")
        .replace("out = ", "unused = tanh(h1)\nout = ");
    let f = temp_file(dir.path(), "warn.net", src.as_bytes());
    let r = netc(&["check", &f]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    says(&r, "warning: unused activation `unused`");
    assert!(r.stderr.contains("generated 1 warning"), "{}", r.stderr);
    assert!(r.stdout.contains("unused      [8]"), "{}", r.stdout);
}

#[test]
fn unreadable_files_are_user_errors() {
    let dir = tempdir();
    let missing = dir.path().join("nope.net").display().to_string();
    let r = netc(&["check", &missing]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("error: cannot read"), "{}", r.stderr);

    let binary = temp_file(dir.path(), "bin.net", b"net t v1\n\xff\xfe\n");
    let r = netc(&["check", &binary]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("is not UTF-8 text (invalid byte at offset 9)"),
        "{}",
        r.stderr
    );

    let d = dir.path().display().to_string();
    let r = netc(&["fmt", &d]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(netc::<&str>(&[]).code, 2);
    assert_eq!(netc(&["check"]).code, 2);
    assert_eq!(netc(&["fmt", "--chek", "models/mlp.net"]).code, 2);
    assert_eq!(netc(&["frobnicate"]).code, 2);
    assert_eq!(netc(&["--help"]).code, 0);
}

#[test]
fn fmt_check_passes_on_the_models() {
    let r = netc(&[
        "fmt",
        "--check",
        "models/mlp.net",
        "models/mnist.net",
        "models/digits.net",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.is_empty());
}

#[test]
fn fmt_check_lists_a_file_that_would_change_and_leaves_it() {
    let dir = tempdir();
    let messy = "net t v1\ninput x:4 # four\n";
    let f = temp_file(dir.path(), "messy.net", messy.as_bytes());
    let r = netc(&["fmt", "--check", &f]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains(&format!("would reformat {f}")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("  -input x:4 # four\n  +input x: 4  # four\n"),
        "{}",
        r.stdout
    );
    assert_eq!(fs::read_to_string(&f).unwrap_or_default(), messy);
}

#[test]
fn fmt_rewrites_in_place_and_then_has_nothing_to_do() {
    let dir = tempdir();
    let f = temp_file(
        dir.path(),
        "messy.net",
        b"net t v1\r\ninput   x :4\r\n\r\n\r\nh=relu(x)\r\n",
    );
    let r = netc(&["fmt", &f]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        fs::read_to_string(&f).unwrap_or_default(),
        "net t v1\ninput x: 4\n\nh = relu(x)\n"
    );
    assert_eq!(netc(&["fmt", "--check", &f]).code, 0);
    // no temporary file left behind
    let names: Vec<String> = fs::read_dir(dir.path())
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(names, vec!["messy.net".to_string()]);
}

#[test]
fn fmt_refuses_a_file_with_syntax_errors() {
    let dir = tempdir();
    let text = "net t v1\nh = relu(x\n";
    let f = temp_file(dir.path(), "bad.net", text.as_bytes());
    let r = netc(&["fmt", &f]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("error: unclosed `(`"), "{}", r.stderr);
    assert!(r.stderr.contains("could not format"), "{}", r.stderr);
    assert_eq!(fs::read_to_string(&f).unwrap_or_default(), text);
}

/// `csv(...)` and `idx(...)` sources are read as `netc train` would: a
/// missing file, a width that does not fit, a label beyond the classes are
/// errors at the `data:` line.
#[test]
fn check_reads_a_users_csv_and_idx_sources() {
    let dir = tempdir();
    let csv = temp_file(dir.path(), "d.csv", b"a,b,label\n1,2,0\n3,4,2\n");
    let net = |input: usize, classes: usize, data: &str| {
        let text = format!(
            "net c v1\ninput x: {input}\nlabel y: classes({classes})\nout = linear(x, {classes})\n\
             loss = cross_entropy(out, y)\ntrain {{\n    data: {data}\n    batch: 2\n    epochs: 1\n}}\n"
        );
        temp_file(dir.path(), "c.net", text.as_bytes())
    };
    let source = format!("csv(\"{csv}\", header: true)");
    let r = netc(&["check", &net(2, 3, &source)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for (input, classes, data, says) in [
        (3, 3, source.clone(), "3 columns, expected 4"),
        (
            2,
            2,
            source.clone(),
            "label 2 at line 3, column 3 is out of range for 2 classes",
        ),
        (
            2,
            3,
            "csv(\"nowhere.csv\")".to_string(),
            "nowhere.csv: cannot read",
        ),
        (
            784,
            10,
            format!("idx(\"{}\")", dir.path().display()),
            "missing train-images-idx3-ubyte[.gz]",
        ),
    ] {
        let r = netc(&["check", &net(input, classes, &data)]);
        assert_eq!(r.code, 1, "{data}: {}", r.stderr);
        assert!(r.stderr.contains(says), "{data}: {}", r.stderr);
        assert!(
            r.stderr.contains(":7:11"),
            "located at the data line: {}",
            r.stderr
        );
    }
}
