//! Convolutional nets with batch norm as a user trains, resumes and
//! evaluates them, on the 500-image MNIST fixture: the running statistics
//! are saved under PyTorch's names, never seen by the optimizer, restored
//! bit for bit on resume, and used (not updated) by Monte-Carlo evaluation.

mod common;

use common::cli::{DATA, netc, ok};
use netc::checkpoint::read_tensors;
use std::fs;
use std::path::Path;

const CONV: &str = "tests/fixtures/nets/tiny_conv.net";

fn train(out: &Path, extra: &[&str]) -> common::cli::Run {
    let out = out.to_str().expect("a UTF-8 path");
    let mut args = vec!["train", CONV, "--data-dir", DATA, "--quiet", "--out", out];
    args.extend_from_slice(extra);
    netc(&args)
}

#[test]
fn a_conv_net_learns_and_its_model_file_has_pytorchs_names_and_shapes() {
    let dir = tempfile::tempdir().unwrap();
    ok(&train(dir.path(), &[]));
    let model = read_tensors(&dir.path().join("model.safetensors")).unwrap();
    let mut names: Vec<(String, Vec<usize>)> = model
        .names()
        .map(|n| (n.to_string(), model.shape(n).unwrap().to_vec()))
        .collect();
    names.sort();
    let want = [
        ("b.bias", vec![4]),
        ("b.running_mean", vec![4]),
        ("b.running_var", vec![4]),
        ("b.weight", vec![4]),
        ("c.weight", vec![4, 1, 5, 5]),
        ("h.bias", vec![16]),
        ("h.weight", vec![16, 144]),
        ("hb.bias", vec![16]),
        ("hb.running_mean", vec![16]),
        ("hb.running_var", vec![16]),
        ("hb.weight", vec![16]),
        ("out.bias", vec![10]),
        ("out.weight", vec![10, 16]),
    ];
    let want: Vec<(String, Vec<usize>)> = want.into_iter().map(|(n, d)| (n.into(), d)).collect();
    assert_eq!(names, want);
    // Training moved the running statistics from their start (0 and 1).
    let mean = model.f32s("b.running_mean").unwrap();
    let var = model.f32s("b.running_var").unwrap();
    assert!(mean.iter().all(|&m| m != 0.0) && var.iter().all(|&v| v != 1.0 && v > 0.0));
    // Learning happened: well above chance on the 100 test images.
    let metrics = fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    let last = metrics.lines().last().unwrap();
    let acc: f64 = last.split(',').nth(6).unwrap().parse().unwrap();
    assert!(acc > 0.5, "{last}");
    // The optimizer keeps state for the parameters only.
    let ckpt = read_tensors(&dir.path().join("checkpoint.safetensors")).unwrap();
    let optim: Vec<&str> = ckpt.names().filter(|n| n.starts_with("optim/")).collect();
    assert!(
        optim.contains(&"optim/c.weight/momentum_buffer"),
        "{optim:?}"
    );
    assert!(!optim.iter().any(|n| n.contains("running")), "{optim:?}");
    assert!(ckpt.shape("b.running_var").is_some());
}

#[test]
fn a_resumed_conv_net_with_batch_norm_ends_bit_identical_to_an_uninterrupted_one() {
    common::cli::assert_resume_is_bit_identical(train);
}

/// With dropout2d at p = 0, every Monte-Carlo pass is the deterministic one,
/// if batch norm stays on its running statistics (batch statistics of the
/// evaluation batches would give other numbers).
#[test]
fn monte_carlo_evaluation_keeps_batch_norm_in_evaluation_mode() {
    let dir = tempfile::tempdir().unwrap();
    ok(&train(dir.path(), &["--epochs", "1", "--set", "dc.p=0"]));
    let model = dir.path().join("model.safetensors");
    let eval = || {
        let r = netc(&[
            "eval",
            CONV,
            "--weights",
            model.to_str().unwrap(),
            "--data-dir",
            DATA,
            "--mc",
            "3",
            "--json",
        ]);
        ok(&r);
        r.stdout
    };
    let first = eval();
    let field = |text: &str, part: &str, key: &str| -> f64 {
        let part = &text[text.find(&format!("\"{part}\"")).unwrap()..];
        let at = part.find(&format!("\"{key}\":")).unwrap() + key.len() + 3;
        let end = part[at..].find([',', '}']).unwrap();
        part[at..at + end].parse().unwrap()
    };
    let (scaling, mc) = (
        field(&first, "scaling", "accuracy"),
        field(&first, "mc", "accuracy"),
    );
    assert_eq!(scaling, mc, "{first}");
    let (ls, lm) = (
        field(&first, "scaling", "loss"),
        field(&first, "mc", "loss"),
    );
    assert!((ls - lm).abs() <= 1e-5 * ls.abs().max(1.0), "{first}");
    assert!(field(&first, "mc", "mean_variance") <= 1e-12, "{first}");
    // Evaluation leaves the running statistics as they were: the same again.
    assert_eq!(eval(), first);
}

/// `--set` reaches the convolutional functions' settings, and every shape
/// after the change is checked again.
#[test]
fn overrides_reach_conv_and_pooling_settings_and_shapes_are_checked_again() {
    let r = netc(&["check", "models/lenet.net", "--keys"]);
    ok(&r);
    for key in [
        "c1.channels",
        "c1.padding",
        "c2.stride",
        "p1.kernel",
        "p2.stride",
    ] {
        assert!(r.stdout.contains(key), "{key}:\n{}", r.stdout);
    }
    let r = netc(&["check", "models/lenet.net", "--set", "c2.kernel=3"]);
    ok(&r);
    assert!(
        r.stdout.contains("c2          [16, 12, 12]"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("h1.weight   [120, 576]"), "{}", r.stdout);
    let r = netc(&["check", "models/lenet.net", "--set", "c2.kernel=15"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr
            .contains("the kernel (15×15) of `conv2d` is larger than its input (14×14)")
            && r.stderr.contains("--set c2.kernel=15"),
        "{}",
        r.stderr
    );
}
