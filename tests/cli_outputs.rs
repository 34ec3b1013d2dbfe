//! One rule for every file a command writes: an existing output is refused,
//! naming it and saying that `--force` replaces it; `netc plot` writes SVG
//! only. And when a run counted in steps is evaluated.

mod common;

use common::cli::{fails, netc, ok, train_tiny};
use netc::checkpoint;
use std::fs;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A batch of four zero samples of class 0 for `models/mlp.net`, as
/// safetensors bytes written by hand (netc's encoder has no i64 tensors).
fn mlp_batch(path: &Path) {
    let (x_len, y_len) = (4 * 128 * 4, 4 * 8);
    let mut header = format!(
        r#"{{"x":{{"dtype":"F32","shape":[4,128],"data_offsets":[0,{x_len}]}},"y":{{"dtype":"I64","shape":[4],"data_offsets":[{x_len},{}]}}}}"#,
        x_len + y_len
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.resize(bytes.len() + x_len + y_len, 0);
    fs::write(path, bytes).unwrap();
}

/// The refusal every command gives for an existing output.
fn refused(r: &common::cli::Run, out: &Path) {
    fails(r);
    let want = format!("error: {} already exists", out.display());
    assert!(r.stderr.contains(&want), "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
}

#[test]
fn grad_refuses_an_existing_out_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("b.safetensors");
    mlp_batch(&batch);
    let out = dir.path().join("g.safetensors");
    fs::write(&out, "keep me").unwrap();
    let grad = |extra: &[&str]| {
        let mut args = vec![
            "grad",
            "models/mlp.net",
            "--batch",
            s(&batch),
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        netc(&args)
    };
    refused(&grad(&[]), &out);
    assert_eq!(fs::read_to_string(&out).unwrap(), "keep me");

    ok(&grad(&["--force"]));
    let file = checkpoint::read_tensors(&out).unwrap();
    assert!(file.shape("loss").is_some() && file.shape("grad/h1.weight").is_some());
    // No temporary file is left beside it.
    let names: Vec<_> = fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

fn tiny_run(out: &Path, extra: &[&str]) {
    ok(&train_tiny(out, extra));
}

/// (epoch, step) of each row of a run's metrics.csv.
fn evaluations(run: &Path) -> Vec<(f64, u64)> {
    let text = fs::read_to_string(run.join("metrics.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().unwrap(), f[1].parse().unwrap())
        })
        .collect()
}

#[test]
fn plot_refuses_an_existing_file_and_any_format_but_svg() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    tiny_run(&run, &["--epochs", "1"]);

    let svg = dir.path().join("curves.svg");
    fs::write(&svg, "keep me").unwrap();
    refused(&netc(&["plot", s(&run), "-o", s(&svg)]), &svg);
    assert_eq!(fs::read_to_string(&svg).unwrap(), "keep me");
    ok(&netc(&["plot", s(&run), "-o", s(&svg), "--force"]));
    assert!(fs::read_to_string(&svg).unwrap().starts_with("<svg"));

    for name in ["x.png", "x.PDF", "x"] {
        let out = dir.path().join(name);
        let r = netc(&["plot", s(&run), "-o", s(&out)]);
        fails(&r);
        assert!(r.stderr.contains("writes SVG only"), "{}", r.stderr);
        let suggested = out.with_extension("svg");
        assert!(r.stderr.contains(s(&suggested)), "{}", r.stderr);
        assert!(!out.exists(), "{name} was written");
    }
    // The extension is a name's, whatever its case.
    ok(&netc(&[
        "plot",
        s(&run),
        "-o",
        s(&dir.path().join("y.SVG")),
    ]));
}

#[test]
fn a_run_counted_in_steps_is_evaluated_after_every_epoch_and_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one");
    tiny_run(&one, &["--epochs", "1"]);
    let per_epoch = evaluations(&one)[0].1;
    assert!(per_epoch > 4, "{per_epoch} steps an epoch");

    // Two epochs and three steps: both epochs' ends, then the last step.
    let total = 2 * per_epoch + 3;
    let steps = dir.path().join("steps");
    tiny_run(&steps, &["--steps", &total.to_string()]);
    let rows = evaluations(&steps);
    let at: Vec<u64> = rows.iter().map(|r| r.1).collect();
    assert_eq!(at, [per_epoch, 2 * per_epoch, total]);
    assert_eq!(rows[0].0, 1.0);
    assert_eq!(rows[2].0, total as f64 / per_epoch as f64);

    // `eval_every` adds its steps to those.
    let every = dir.path().join("every");
    let total = total.to_string();
    tiny_run(
        &every,
        &["--set", &format!("steps={total}"), "--set", "eval_every=4"],
    );
    let total: u64 = total.parse().unwrap();
    let mut want: Vec<u64> = (1..=total)
        .filter(|s| s % 4 == 0 || s % per_epoch == 0 || *s == total)
        .collect();
    want.dedup();
    let at: Vec<u64> = evaluations(&every).iter().map(|r| r.1).collect();
    assert_eq!(at, want);
}
