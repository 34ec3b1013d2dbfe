//! `netc train`, `eval` and `grad` as a user runs them, on a 500-image MNIST
//! fixture (tests/fixtures/data/mnist).

mod common;

use common::cli::{DATA, Run, TINY, netc, ok, says, train_tiny};

use netc::checkpoint::{self, TensorData, TensorEntry, read_tensors};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

fn write_net(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_run_leaves_model_checkpoint_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let r = train_tiny(dir.path(), &[]);
    ok(&r);
    // --quiet: nothing on stderr, the summary alone on stdout.
    assert_eq!(r.stderr, "");
    assert_eq!(r.stdout.lines().count(), 1, "{}", r.stdout);
    let last = r.stdout.lines().last().unwrap();
    assert!(
        last.starts_with("test acc ") && last.contains("samples/s"),
        "{last}"
    );
    let metrics = fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    let lines: Vec<&str> = metrics.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,step,train_loss,0.0001 * l1(h),train_acc,test_loss,test_acc,lr,momentum,seconds"
    );
    assert_eq!(lines.len(), 4);
    assert!(lines[3].starts_with("3,30,"), "{}", lines[3]);
    // Learning happened: test accuracy well above chance on 100 test images.
    let acc: f64 = lines[3].split(',').nth(6).unwrap().parse().unwrap();
    assert!(acc > 0.5, "test acc {acc}");
    // PyTorch names and layout, and the metadata a user needs to reproduce it.
    let model = read_tensors(&dir.path().join("model.safetensors")).unwrap();
    assert_eq!(model.shape("h.weight"), Some(&[16, 784][..]));
    assert_eq!(model.shape("h.bias"), Some(&[16][..]));
    assert_eq!(model.metadata()["seed"], "1");
    assert_eq!(model.metadata()["epoch"], "3");
    assert_eq!(model.metadata()["net"], fs::read_to_string(TINY).unwrap());
    assert!(model.metadata().contains_key("netc_version"));
    let ckpt = read_tensors(&dir.path().join("checkpoint.safetensors")).unwrap();
    assert!(ckpt.names().any(|n| n == "optim/h.weight/momentum_buffer"));
    assert!(ckpt.names().any(|n| n == "train/rng/dropout"));
    // Nothing half-written is left behind.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "checkpoint.safetensors",
            "curves.svg",
            "metrics.csv",
            "model.safetensors"
        ]
    );
}

#[test]
fn same_file_and_seed_give_bit_identical_weights() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    ok(&train_tiny(a.path(), &[]));
    ok(&train_tiny(b.path(), &[]));
    ok(&train_tiny(c.path(), &["--seed", "2"]));
    let bytes = |d: &Path| fs::read(d.join("model.safetensors")).unwrap();
    assert_eq!(bytes(a.path()), bytes(b.path()));
    assert_ne!(bytes(a.path()), bytes(c.path()));
}

#[test]
fn a_resumed_run_ends_bit_identical_to_an_uninterrupted_one() {
    common::cli::assert_resume_is_bit_identical(train_tiny);
}

#[test]
fn resuming_a_different_net_lists_what_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    ok(&train_tiny(dir.path(), &["--epochs", "1"]));
    let other = fs::read_to_string(TINY).unwrap().replace("16)", "32)");
    let net = write_net(dir.path(), "wide.net", &other);
    let ckpt = dir.path().join("checkpoint.safetensors");
    let r = netc(&[
        "train",
        net.to_str().unwrap(),
        "--data-dir",
        DATA,
        "--quiet",
        "--resume",
        ckpt.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    // Refused by what the checkpoint records, naming both files and the layer.
    assert!(
        r.stderr.contains(&format!(
            "`{}` is not the net `tiny` recorded in {}",
            net.display(),
            ckpt.display()
        )) && r
            .stderr
            .contains("`h`: `relu(linear(flatten(x), 32))` vs `relu(linear(flatten(x), 16))`")
            && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    // Forced, the tensors that do not fit are listed.
    let r = netc(&[
        "train",
        net.to_str().unwrap(),
        "--data-dir",
        DATA,
        "--quiet",
        "--force",
        "--resume",
        ckpt.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    says(&r, "does not hold the expected tensors");
    assert!(r.stderr.contains("h.weight"), "{}", r.stderr);
}

#[test]
fn a_diverging_run_stops_at_the_step_and_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    // A sane first epoch, then the learning rate explodes in a second file.
    ok(&train_tiny(dir.path(), &["--epochs", "1"]));
    let good = fs::read(dir.path().join("checkpoint.safetensors")).unwrap();
    let text = fs::read_to_string(TINY)
        .unwrap()
        .replace("lr: 0.05", "lr: 1e30");
    let net = write_net(dir.path(), "boom.net", &text);
    let ckpt = dir.path().join("checkpoint.safetensors");
    let r = netc(&[
        "train",
        net.to_str().unwrap(),
        "--data-dir",
        DATA,
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
        "--resume",
        ckpt.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("training stopped"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("step 12 (epoch 2): the loss term `nll(out, y)` is NaN"),
        "{}",
        r.stderr
    );
    says(&r, "the last good checkpoint is");
    assert_eq!(
        fs::read(dir.path().join("checkpoint.safetensors")).unwrap(),
        good
    );
}

#[test]
fn a_missing_data_set_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    let r = netc(&[
        "train",
        TINY,
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--quiet",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(dir.path().to_str().unwrap()),
        "{}",
        r.stderr
    );
    // The command line, which chose the places, says how to add one.
    assert!(
        r.stderr.contains("help: put the four files")
            && r.stderr
                .contains("or pass --data-dir DIR (or set NETC_DATA=DIR)"),
        "{}",
        r.stderr
    );
}

/// Without `--data-dir`, `$NETC_DATA` is where the command line looks first.
#[test]
fn netc_data_names_the_data_folder_when_no_data_dir_is_given() {
    let dir = tempfile::tempdir().unwrap();
    let data = fs::canonicalize(DATA).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(["train", TINY, "--quiet", "--steps", "2", "--out"])
        .arg(dir.path().join("run"))
        .env("NETC_DATA", &data)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(["train", TINY, "--quiet", "--steps", "2", "--out"])
        .arg(dir.path().join("run2"))
        .env("NETC_DATA", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("($NETC_DATA)"), "{stderr}");
}

#[test]
fn an_unwritable_run_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    fs::write(&file, "x").unwrap();
    let r = train_tiny(&file.join("run"), &[]);
    assert_eq!(r.code, 1);
    says(&r, "cannot create the run directory");
}

#[test]
fn usage_errors_exit_2_and_never_101() {
    assert_eq!(netc(&["train"]).code, 2);
    assert_eq!(netc(&["train", TINY, "--epochs", "x"]).code, 2);
    assert_eq!(
        netc(&["train", TINY, "--epochs", "1", "--steps", "2"]).code,
        2
    );
    assert_eq!(netc(&["eval", TINY]).code, 2);
    assert_eq!(netc(&["train", "no-such.net"]).code, 1);
}

#[test]
fn eval_reports_weight_scaling_and_monte_carlo_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    ok(&train_tiny(dir.path(), &[]));
    let w = dir.path().join("model.safetensors");
    let r = netc(&[
        "eval",
        TINY,
        "--weights",
        w.to_str().unwrap(),
        "--data-dir",
        DATA,
        "--mc",
        "10",
    ]);
    ok(&r);
    assert!(
        r.stdout.contains("weight scaling") && r.stdout.contains("monte carlo (M=10)"),
        "{}",
        r.stdout
    );
    let r = netc(&[
        "eval",
        TINY,
        "--weights",
        w.to_str().unwrap(),
        "--data-dir",
        DATA,
        "--mc",
        "10",
        "--json",
    ]);
    ok(&r);
    let j = r.stdout.trim();
    assert!(
        j.starts_with("{\"samples\":100,\"scaling\":{\"loss\":")
            && j.contains("\"mc\":{\"passes\":10,"),
        "{j}"
    );
    // The same weights evaluated by the training run's last row.
    let metrics = fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    let last: Vec<&str> = metrics.lines().last().unwrap().split(',').collect();
    assert!(
        j.contains(&format!("\"accuracy\":{}", last[6])),
        "{j} vs {last:?}"
    );
}

#[test]
fn monte_carlo_with_one_pass_and_p_zero_equals_the_deterministic_pass() {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(TINY)
        .unwrap()
        .replace("dropout(h, 0.5)", "dropout(h, 0)");
    let net = write_net(dir.path(), "p0.net", &text);
    let out = train_net(&net, &dir.path().join("run"), &[]);
    let w = out.join("model.safetensors");
    let r = netc(&[
        "eval",
        net.to_str().unwrap(),
        "--weights",
        w.to_str().unwrap(),
        "--data-dir",
        DATA,
        "--mc",
        "1",
        "--json",
    ]);
    ok(&r);
    let j = r.stdout.trim();
    let field = |obj: &str, key: &str| -> f64 {
        let o = &j[j.find(obj).unwrap()..];
        let v = &o[o.find(key).unwrap() + key.len() + 1..];
        v[..v.find([',', '}']).unwrap()].parse().unwrap()
    };
    assert_eq!(
        field("\"scaling\"", "\"accuracy\""),
        field("\"mc\"", "\"accuracy\"")
    );
    let (a, b) = (
        field("\"scaling\"", "\"loss\""),
        field("\"mc\"", "\"loss\""),
    );
    assert!((a - b).abs() < 1e-5 * a.abs(), "{a} vs {b}");
    assert_eq!(field("\"mc\"", "\"mean_variance\""), 0.0);
}

#[test]
fn eval_with_weights_of_another_net_lists_the_differences() {
    let dir = tempfile::tempdir().unwrap();
    let other = fs::read_to_string(TINY).unwrap().replace("16)", "8)");
    let net = write_net(dir.path(), "narrow.net", &other);
    let out = train_net(&net, &dir.path().join("run"), &[]);
    let w = out.join("model.safetensors");
    let r = netc(&[
        "eval",
        TINY,
        "--weights",
        w.to_str().unwrap(),
        "--data-dir",
        DATA,
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("h.weight") && r.stderr.contains("[8, 784]"),
        "{}",
        r.stderr
    );
}

/// Writes the weights of a reference file (every f32 tensor but the batch),
/// with `extra` tensors beside them, as a user would save them from PyTorch.
fn pytorch_weights(reference: &Path, extra: &[(&str, Vec<f32>)], dir: &Path) -> PathBuf {
    let file = read_tensors(reference).unwrap();
    let names: Vec<String> = file
        .names()
        .filter(|n| !n.contains('/') && !["x", "y", "loss"].contains(n))
        .map(String::from)
        .collect();
    let mut values: Vec<(String, Vec<usize>, Vec<f32>)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                file.shape(n).unwrap().to_vec(),
                file.f32s(n).unwrap(),
            )
        })
        .collect();
    for (n, v) in extra {
        values.push((n.to_string(), vec![v.len()], v.clone()));
    }
    let entries: Vec<TensorEntry> = values
        .iter()
        .map(|(n, dims, v)| TensorEntry {
            name: n.clone(),
            dims: dims.clone(),
            data: TensorData::F32(v),
        })
        .collect();
    let weights = dir.join("w.safetensors");
    netc::files::write_atomic(
        &weights,
        &checkpoint::encode(&entries, &BTreeMap::new()).unwrap(),
    )
    .unwrap();
    weights
}

/// What `netc grad NET --batch BATCH --weights WEIGHTS FLAGS...` writes.
fn grad_on(net: &str, batch: &Path, weights: &Path, flags: &[&str]) -> checkpoint::TensorFile {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("g.safetensors");
    let mut args = vec![
        "grad",
        net,
        "--batch",
        batch.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend(flags);
    ok(&netc(&args));
    read_tensors(&out).unwrap()
}

/// `netc grad NET` on PyTorch's reference batch and weights (with `extra`
/// tensors beside them) matches every tensor PyTorch computed to 1e-5 of its
/// scale, and writes nothing else; the activations have PyTorch's shapes.
/// A tensor that is zero in exact arithmetic is measured against the scale
/// of another, named in `scale_of` as (tensor, the one giving the scale).
fn grad_matches(net: &str, reference: &str, extra: &[(&str, Vec<f32>)], scale_of: &[(&str, &str)]) {
    let Some(reference) = common::shared(&format!("reference/{reference}")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let weights = pytorch_weights(&reference, extra, dir.path());
    let got = grad_on(net, &reference, &weights, &[]);
    let want = read_tensors(&reference).unwrap();
    let as64 = |v: Vec<f32>| v.into_iter().map(f64::from).collect::<Vec<_>>();
    for name in got.names() {
        if name != "loss" {
            assert_eq!(got.shape(name), want.shape(name), "{name}");
        }
        let got = as64(got.f32s(name).unwrap());
        match scale_of.iter().find(|(n, _)| *n == name) {
            Some((_, by)) => {
                let scale = want
                    .f64s(by)
                    .unwrap()
                    .iter()
                    .fold(0f64, |m, v| m.max(v.abs()));
                assert!(
                    got.iter().all(|g| g.abs() <= 1e-5 * scale),
                    "{name}: {got:?}"
                );
            }
            None => common::assert_close(name, &got, &want.f64s(name).unwrap(), 1e-5),
        }
    }
    let expected = want
        .names()
        .filter(|n| n.starts_with("grad") || n.starts_with("act/") || *n == "loss");
    for name in expected {
        assert!(got.shape(name).is_some(), "netc grad did not write {name}");
    }
}

/// `netc grad` on PyTorch's reference batch and weights reproduces PyTorch's numbers.
#[test]
fn grad_matches_pytorch_on_the_reference_mlp() {
    grad_matches("models/mlp.net", "mlp_penalties.safetensors", &[], &[]);
}

#[test]
fn grad_matches_pytorch_on_a_small_conv_net_with_max_pooling() {
    grad_matches(
        "tests/fixtures/nets/conv_small.net",
        "conv_small.safetensors",
        &[],
        &[],
    );
}

#[test]
fn grad_matches_pytorch_on_a_conv_with_stride_and_padding() {
    grad_matches(
        "tests/fixtures/nets/conv_stride_pad.net",
        "conv_stride_pad.safetensors",
        &[],
        &[],
    );
}

/// In training, batch norm normalises by the batch's statistics: the
/// running statistics read from `--weights` (which PyTorch's state dict
/// holds) do not change the numbers. It takes out each feature's mean, so the
/// bias before it has a gradient of exactly zero in theory: what is left is
/// rounding, measured against the gradient it sums (of `h`).
#[test]
fn grad_matches_pytorch_on_batch_norm_in_training() {
    let stats = [
        ("b.running_mean", vec![0.5, -1.0, 2.0, 0.0, 3.0, 1.0]),
        ("b.running_var", vec![4.0, 0.25, 1.0, 9.0, 2.0, 1.0]),
    ];
    grad_matches(
        "tests/fixtures/nets/bn_train.net",
        "bn_train.safetensors",
        &stats,
        &[("grad/h.bias", "grad_act/h")],
    );
}

/// At evaluation, batch norm normalises by the running statistics `netc
/// grad` reads from `--weights`: `b = relu((h − mean) / √(var + 1e-5) · γ + β)`.
#[test]
fn grad_at_evaluation_reads_the_running_statistics_from_the_weights() {
    let Some(reference) = common::shared("reference/bn_train.safetensors") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mean = vec![0.5f32, -1.0, 2.0, 0.0, 3.0, 1.0];
    let var = vec![4.0f32, 0.25, 1.0, 9.0, 2.0, 1.0];
    let stats = [
        ("b.running_mean", mean.clone()),
        ("b.running_var", var.clone()),
    ];
    let weights = pytorch_weights(&reference, &stats, dir.path());
    let net = "tests/fixtures/nets/bn_train.net";
    let got = grad_on(net, &reference, &weights, &["--eval"]);
    let file = read_tensors(&reference).unwrap();
    let (gamma, beta) = (file.f32s("b.weight").unwrap(), file.f32s("b.bias").unwrap());
    let h = got.f32s("act/h").unwrap();
    let want: Vec<f64> = h
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = i % 6;
            let z = (v as f64 - mean[c] as f64) / (var[c] as f64 + 1e-5).sqrt();
            (z * gamma[c] as f64 + beta[c] as f64).max(0.0)
        })
        .collect();
    let b: Vec<f64> = got
        .f32s("act/b")
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect();
    common::assert_close("act/b", &b, &want, 1e-5);
    // PyTorch's own numbers are those of the batch's statistics, not these.
    let train = file.f64s("act/b").unwrap();
    assert!(b.iter().zip(&train).any(|(x, y)| (x - y).abs() > 1e-2));
}

#[test]
fn grad_refuses_a_batch_of_the_wrong_shape() {
    let dir = tempfile::tempdir().unwrap();
    let x = vec![0f32; 3 * 5];
    let y = [0u64; 3];
    let entries = vec![
        TensorEntry {
            name: "x".into(),
            dims: vec![3, 5],
            data: TensorData::F32(&x),
        },
        TensorEntry {
            name: "y".into(),
            dims: vec![3],
            data: TensorData::U64(&y),
        },
    ];
    let batch = dir.path().join("b.safetensors");
    netc::files::write_atomic(
        &batch,
        &checkpoint::encode(&entries, &BTreeMap::new()).unwrap(),
    )
    .unwrap();
    let out = dir.path().join("g.safetensors");
    let r = netc(&[
        "grad",
        "models/mlp.net",
        "--batch",
        batch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    says(&r, "`x` is [3, 5]: expected [N, 128]");
    assert!(!out.exists());
}

/// A run killed after its last checkpoint but before its model file: resuming
/// the finished checkpoint writes the model file of the finished run.
#[test]
fn resuming_a_finished_checkpoint_rewrites_the_run_files() {
    let (whole, part) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    ok(&train_tiny(whole.path(), &[]));
    let ckpt = whole.path().join("checkpoint.safetensors");
    let r = train_tiny(part.path(), &["--resume", ckpt.to_str().unwrap()]);
    ok(&r);
    let bytes = |d: &Path| fs::read(d.join("model.safetensors")).unwrap();
    assert_eq!(bytes(whole.path()), bytes(part.path()));
    // The summary says so, not "0 samples/s".
    assert!(
        r.stdout
            .contains("nothing was left to train: the checkpoint is at its last step, 30")
            && !r.stdout.contains("samples/s"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_second_run_into_the_same_out_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    ok(&train_tiny(dir.path(), &["--epochs", "1"]));
    let model = dir.path().join("model.safetensors");
    let before = fs::read(&model).unwrap();
    let r = train_tiny(dir.path(), &["--seed", "7"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("already holds a run"), "{}", r.stderr);
    assert!(r.stderr.contains("--force"), "{}", r.stderr);
    assert!(r.stderr.contains("--resume"), "{}", r.stderr);
    assert_eq!(
        fs::read(&model).unwrap(),
        before,
        "the earlier run was touched"
    );
    ok(&train_tiny(dir.path(), &["--seed", "7", "--force"]));
    assert_ne!(fs::read(&model).unwrap(), before);
}

#[test]
fn the_default_run_directory_moves_on_instead_of_overwriting() {
    let cwd = tempfile::tempdir().unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
            .current_dir(cwd.path())
            .args(["train", "--quiet", "--epochs", "1", "--data-dir"])
            .arg(root.join(DATA))
            .arg(root.join(TINY))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first = run();
    let second = run();
    let runs = cwd.path().join("runs");
    assert!(runs.join("tiny/model.safetensors").exists());
    assert!(runs.join("tiny-2/model.safetensors").exists());
    assert!(first.contains("runs/tiny"), "{first}");
    assert!(second.contains("runs/tiny-2"), "{second}");
}

#[test]
fn resuming_writes_into_the_checkpoint_directory_and_a_refusal_creates_nothing() {
    let (whole, part) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    ok(&train_tiny(whole.path(), &[]));
    ok(&train_tiny(part.path(), &["--epochs", "1"]));
    let ckpt = part.path().join("checkpoint.safetensors");
    // No --out: the run carries on where its checkpoint is.
    ok(&netc(&[
        "train",
        TINY,
        "--data-dir",
        DATA,
        "--quiet",
        "--resume",
        ckpt.to_str().unwrap(),
    ]));
    let bytes = |d: &Path| fs::read(d.join("model.safetensors")).unwrap();
    assert_eq!(bytes(whole.path()), bytes(part.path()));
    // A checkpoint past the requested length is refused before any directory is made.
    let never = part.path().join("never");
    let r = train_tiny(
        &never,
        &["--epochs", "1", "--resume", ckpt.to_str().unwrap()],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("past the"), "{}", r.stderr);
    assert!(!never.exists());
}

#[test]
fn two_threads_give_the_same_weights_run_after_run() {
    // 50x784x64 products: above the size where the second thread joins in.
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let args = ["--epochs", "1", "--threads", "2", "--set", "h.units=64"];
    ok(&train_tiny(a.path(), &args));
    ok(&train_tiny(b.path(), &args));
    let bytes = |d: &Path| fs::read(d.join("model.safetensors")).unwrap();
    assert_eq!(bytes(a.path()), bytes(b.path()));
}

#[test]
fn without_quiet_a_pipe_gets_a_plain_line_per_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let r = netc(&[
        "train",
        TINY,
        "--data-dir",
        DATA,
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&r);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stderr);
    assert!(lines.iter().all(|l| l.starts_with("epoch")), "{}", r.stderr);
    assert!(r.stdout.starts_with("test acc "), "{}", r.stdout);
}

/// `netc train --epochs 1 --out DIR ARGS...` on `net`: the run directory.
fn train_net(net: &Path, out: &Path, extra: &[&str]) -> PathBuf {
    let mut args = vec![
        "train",
        net.to_str().unwrap(),
        "--data-dir",
        DATA,
        "--quiet",
        "--epochs",
        "1",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&netc(&args));
    out.to_path_buf()
}

/// `netc eval FILE --weights W --data-dir DATA --json ARGS...`
fn eval(net: &Path, weights: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "eval",
        net.to_str().unwrap(),
        "--weights",
        weights.to_str().unwrap(),
        "--data-dir",
        DATA,
        "--json",
    ];
    args.extend_from_slice(extra);
    netc(&args)
}

#[test]
fn eval_warns_when_the_file_is_not_the_net_the_weights_were_trained_with() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_net(Path::new(TINY), &dir.path().join("run"), &[]);
    let w = run.join("model.safetensors");
    // Comments and layout: the same net, nothing said.
    let text = fs::read_to_string(TINY).unwrap();
    let relaid = write_net(
        dir.path(),
        "relaid.net",
        &text
            .replace("h = relu(", "# hidden\nh   =   relu(")
            .replace("    batch: 50\n", "")
            .replace("    seed: 1\n", "    seed: 1\n    batch: 50\n"),
    );
    let r = eval(&relaid, &w, &[]);
    ok(&r);
    assert_eq!(r.stderr, "");
    // Another dropout mode, the same shapes: evaluated, with a warning
    // naming both files and the difference.
    let classic = write_net(
        dir.path(),
        "classic.net",
        &text.replace("dropout(h, 0.5)", "dropout(h, 0.5, mode: classic)"),
    );
    let r = eval(&classic, &w, &[]);
    ok(&r);
    assert!(
        r.stderr.contains(&format!(
            "warning: `{}` is not the net `tiny` recorded in {}",
            classic.display(),
            w.display()
        )) && r
            .stderr
            .contains("`d`: `dropout(h, 0.5, mode: classic)` vs `dropout(h, 0.5)`"),
        "{}",
        r.stderr
    );
}

/// A small net on the embedded digits, holding out `fraction` of them.
fn digits_net(dir: &Path, name: &str, fraction: &str) -> PathBuf {
    write_net(
        dir,
        name,
        &format!(
            "net small v1\ninput x: 8x8\nlabel y: classes(10)\n\
             h = relu(linear(flatten(x), 16))\nout = linear(h, 10)\n\
             loss = cross_entropy(out, y)\n\
             train {{ data: digits(test_fraction: {fraction}), batch: 64, epochs: 1, \
             optimizer: sgd(lr: 0.1), seed: 0 }}\n"
        ),
    )
}

#[test]
fn eval_refuses_another_held_out_split_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let half = digits_net(dir.path(), "half.net", "0.5");
    let run = train_net(&half, &dir.path().join("run"), &[]);
    let w = run.join("model.safetensors");
    let fifth = digits_net(dir.path(), "fifth.net", "0.2");
    let r = eval(&fifth, &w, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "error: `{}` is not the net `small` recorded in {}",
            fifth.display(),
            w.display()
        )) && r
            .stderr
            .contains("the data: `digits(test_fraction: 0.2)` vs `digits(test_fraction: 0.5)`")
            && r.stderr.contains("partly on training data")
            && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
    let r = eval(&fifth, &w, &["--force"]);
    ok(&r);
    assert!(r.stderr.contains("warning: "), "{}", r.stderr);
    assert!(r.stdout.starts_with("{\"samples\":359,"), "{}", r.stdout);
    // The same split changed by a --set is refused too.
    let r = eval(&half, &w, &["--set", "test_fraction=0.2"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "error: with --set test_fraction=0.2, `{}` holds out another test split than the weights in {} were trained with",
            half.display(),
            w.display()
        )) && r.stderr.contains("partly on training data"),
        "{}",
        r.stderr
    );
    ok(&eval(&half, &w, &["--set", "test_fraction=0.2", "--force"]));
}

#[test]
fn eval_applies_the_overrides_stored_with_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    // h.units=8: the weights fit the file only with the stored overrides.
    let run = train_net(
        Path::new(TINY),
        &dir.path().join("run"),
        &["--set", "d.p=0.1", "--set", "h.units=8"],
    );
    let w = run.join("model.safetensors");
    let r = eval(Path::new(TINY), &w, &[]);
    ok(&r);
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "note: applying the overrides stored with {}: d.p=0.1 h.units=8",
            w.display()
        )
    );
    // The run's own last evaluation.
    let metrics = fs::read_to_string(run.join("metrics.csv")).unwrap();
    let last: Vec<&str> = metrics.lines().last().unwrap().split(',').collect();
    assert!(
        r.stdout.contains(&format!("\"accuracy\":{}", last[6])),
        "{} vs {last:?}",
        r.stdout
    );
    // A --set on top is applied after them, and said.
    let r = eval(Path::new(TINY), &w, &["--set", "d.p=0.3"]);
    ok(&r);
    assert!(
        r.stderr.contains(&format!(
            "note: `--set d.p=0.3` replaces d.p=0.1 stored with {}",
            w.display()
        )),
        "{}",
        r.stderr
    );
    // A file they do not apply to says which and why, as the `--set` it was.
    let text = fs::read_to_string(TINY).unwrap();
    let renamed = write_net(
        dir.path(),
        "renamed.net",
        &text
            .replace("d = dropout", "e = dropout")
            .replace("linear(d, 10)", "linear(e, 10)"),
    );
    let r = eval(&renamed, &w, &[]);
    assert!(
        r.stderr.contains(
            "\n  the overrides it was trained with (d.p=0.1 h.units=8) do not apply to the \
             file: unknown key `d.p` in `--set d.p=0.1`\n"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn resuming_another_net_of_the_same_shapes_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_net(Path::new(TINY), &dir.path().join("run"), &[]);
    let ckpt = run.join("checkpoint.safetensors");
    let before = fs::read(&ckpt).unwrap();
    let text = fs::read_to_string(TINY).unwrap();
    let classic = write_net(
        dir.path(),
        "classic.net",
        &text.replace("dropout(h, 0.5)", "dropout(h, 0.5, mode: classic)"),
    );
    let resume = |extra: &[&str]| {
        let mut args = vec![
            "train",
            classic.to_str().unwrap(),
            "--data-dir",
            DATA,
            "--quiet",
            "--resume",
            ckpt.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        netc(&args)
    };
    let r = resume(&[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "error: `{}` is not the net `tiny` recorded in {}",
            classic.display(),
            ckpt.display()
        )) && r
            .stderr
            .contains("`d`: `dropout(h, 0.5, mode: classic)` vs `dropout(h, 0.5)`")
            && r.stderr.contains("--force"),
        "{}",
        r.stderr
    );
    assert_eq!(fs::read(&ckpt).unwrap(), before, "a refused resume wrote");
    let r = resume(&["--force"]);
    ok(&r);
    says(&r, "resuming anyway (--force)");
}

#[test]
fn resuming_with_other_overrides_says_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let run = train_net(
        Path::new(TINY),
        &dir.path().join("run"),
        &["--set", "d.p=0.1"],
    );
    let ckpt = run.join("checkpoint.safetensors");
    let r = train_tiny(
        &run,
        &[
            "--resume",
            ckpt.to_str().unwrap(),
            "--set",
            "d.p=0.2",
            "--set",
            "lr=0.01",
        ],
    );
    ok(&r);
    let notes = |r: &Run| -> Vec<String> {
        r.stderr
            .lines()
            .filter(|l| l.starts_with("note:") || l.starts_with("warning:"))
            .map(String::from)
            .collect()
    };
    assert_eq!(
        notes(&r),
        [format!(
            "note: resuming with other overrides than {} was trained with: \
             d.p 0.1 → 0.2, lr 0.05 (the file's) → 0.01",
            ckpt.display()
        )]
    );
    // The same overrides again: nothing to say.
    let r = train_tiny(
        &run,
        &[
            "--resume",
            ckpt.to_str().unwrap(),
            "--epochs",
            "4",
            "--set",
            "d.p=0.2",
            "--set",
            "lr=0.01",
        ],
    );
    ok(&r);
    assert_eq!(notes(&r), Vec::<String>::new());
}

#[test]
fn classes_the_data_never_has_are_warned_and_mc_without_dropout_too() {
    let dir = tempfile::tempdir().unwrap();
    let rows: String = (0..40)
        .map(|i| format!("{},{},{}\n", i % 7, (i * 3) % 5, i % 3))
        .collect();
    let csv = dir.path().join("three.csv");
    fs::write(&csv, rows).unwrap();
    let net = write_net(
        dir.path(),
        "five.net",
        &format!(
            "net five v1\ninput x: 2\nlabel y: classes(5)\nout = linear(x, 5)\n\
             loss = cross_entropy(out, y)\n\
             train {{ data: csv({:?}), batch: 8, epochs: 1, optimizer: sgd(lr: 0.1) }}\n",
            csv.to_str().unwrap()
        ),
    );
    let out = dir.path().join("run");
    let r = netc(&[
        "train",
        net.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&r);
    assert_eq!(
        r.stderr.trim_end(),
        format!(
            "warning: `{}` declares `label y: classes(5)`, but classes 3 and 4 never occur \
             in the 32 training samples of `three`: the net cannot learn them",
            net.display()
        )
    );
    let r = netc(&[
        "eval",
        net.to_str().unwrap(),
        "--weights",
        out.join("model.safetensors").to_str().unwrap(),
        "--mc",
        "2",
    ]);
    ok(&r);
    assert!(
        r.stderr.contains(&format!(
            "warning: Monte-Carlo evaluation of a net without dropout: `{}` has no `dropout(...)`",
            net.display()
        )),
        "{}",
        r.stderr
    );
}

#[test]
fn an_early_stopped_run_names_its_best_epoch_and_keeps_its_weights() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let r = netc(&[
        "train",
        "models/digits_early.net",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]);
    ok(&r);
    let last = r.stdout.lines().last().unwrap();
    assert!(
        last.contains("stopped early at epoch ")
            && last.contains("val_loss had not improved for 5 evaluations")
            && last.contains("best epoch ")
            && last.ends_with("-> best.safetensors"),
        "{last}"
    );
    let best = read_tensors(&out.join("best.safetensors")).unwrap();
    let epoch = &best.metadata()["epoch"];
    assert!(
        last.contains(&format!("best epoch {epoch} (val loss")),
        "{last}"
    );
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        metrics.starts_with("epoch,step,train_loss,train_acc,val_loss,val_acc,test_loss,"),
        "{metrics}"
    );
}

#[test]
fn clipped_steps_are_counted_in_the_summary_and_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let r = train_tiny(dir.path(), &["--set", "clip_grad_norm=1e-4"]);
    ok(&r);
    // 500 images in batches of 50 for 3 epochs: a bound this small clips all 30 steps.
    assert!(r.stdout.contains("clipped 30 of 30 steps"), "{}", r.stdout);
    let metrics = fs::read_to_string(dir.path().join("metrics.csv")).unwrap();
    let header: Vec<&str> = metrics.lines().next().unwrap().split(',').collect();
    let at = header.iter().position(|h| *h == "clipped").unwrap();
    let counts: Vec<&str> = metrics
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(at).unwrap())
        .collect();
    assert_eq!(counts, ["10", "10", "10"]);
}
