//! Running the `netc` binary as a user does, for the command-line tests.

use std::ffi::OsStr;

/// A small net on the 500-image MNIST fixture.
pub const TINY: &str = "tests/fixtures/nets/tiny_mnist.net";
/// The folder holding that fixture's `mnist/`.
pub const DATA: &str = "tests/fixtures/data";

/// What one run of `netc` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `netc ARGS...` in the crate's directory and waits for it.
pub fn netc<S: AsRef<OsStr>>(args: &[S]) -> Run {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("netc did not run: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The run succeeded (both streams shown if not).
pub fn ok(r: &Run) {
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

/// The run failed with exit status 1, a user error.
pub fn fails(r: &Run) {
    assert_eq!(r.code, 1, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
}

/// The run's standard error holds `text` (shown whole if not).
pub fn says(r: &Run, text: &str) {
    assert!(r.stderr.contains(text), "{}", r.stderr);
}

/// `netc train` of the tiny net on the fixture, quietly, into `out`, with
/// `extra` arguments.
pub fn train_tiny(out: &std::path::Path, extra: &[&str]) -> Run {
    let out = out.to_str().expect("a UTF-8 path");
    let mut args = vec!["train", TINY, "--data-dir", DATA, "--quiet", "--out", out];
    args.extend_from_slice(extra);
    netc(&args)
}

/// Trains with `train` (into a folder, with extra arguments) whole, and for
/// one epoch then resumed from its checkpoint: the two model files are the
/// same bytes and the metrics the same numbers (all but the times).
pub fn assert_resume_is_bit_identical(train: impl Fn(&std::path::Path, &[&str]) -> Run) {
    let (whole, part) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    ok(&train(whole.path(), &[]));
    ok(&train(part.path(), &["--epochs", "1"]));
    let ckpt = part.path().join("checkpoint.safetensors");
    ok(&train(part.path(), &["--resume", ckpt.to_str().unwrap()]));
    let bytes = |d: &std::path::Path| std::fs::read(d.join("model.safetensors")).unwrap();
    assert_eq!(bytes(whole.path()), bytes(part.path()));
    // The metrics carry on from the checkpoint: the same rows, but for the time.
    let rows = |d: &std::path::Path| -> Vec<String> {
        let m = std::fs::read_to_string(d.join("metrics.csv")).unwrap();
        m.lines()
            .map(|l| l.rsplit_once(',').unwrap().0.to_string())
            .collect()
    };
    assert_eq!(rows(whole.path()), rows(part.path()));
}
