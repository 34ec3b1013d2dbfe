//! `netc export`: the ONNX model run by ONNX Runtime and the PyTorch module
//! run by PyTorch give netc's own outputs (`netc grad`), for every model of
//! `models/` and for a net that uses every function of the language. The
//! runtimes come from Python (`NETC_PYTHON`, else `python3`): without
//! `onnx`/`onnxruntime`/`numpy`, or `torch`/`safetensors`, those tests say
//! they are skipped (`NETC_REQUIRE_ONNX`, `NETC_REQUIRE_TORCH` make them fail
//! instead). `scripts/test-pytorch.sh` installs PyTorch and runs its tests.

mod common;

use common::cli::{fails, netc, ok, says};
use common::skipped;
use netc::lang::builtins::{self, DROPOUT_MODES, Role};
use std::path::{Path, PathBuf};
use std::process::Command;

const EVERY_OP: &str = "tests/fixtures/nets/every_op.net";

/// A Python with `modules` importable, or `None` after saying why the test is skipped.
fn python(modules: &str, require: Option<&str>) -> Option<String> {
    let py = std::env::var("NETC_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = Command::new(&py)
        .args(["-c", &format!("import {modules}")])
        .output();
    match probe {
        Ok(o) if o.status.success() => Some(py),
        _ => {
            let why = format!("`{py}` cannot import {modules} (NETC_PYTHON names another Python)");
            if require.is_some_and(|v| std::env::var_os(v).is_some()) {
                panic!("{why}, and {} asks for it", require.unwrap());
            }
            skipped(&why);
            None
        }
    }
}

/// Runs `tests/export/SCRIPT ARGS...` with `py`; fails with its output if it fails.
fn script(py: &str, name: &str, args: &[&Path]) -> String {
    let out = Command::new(py)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .arg(Path::new("tests/export").join(name))
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{name} failed:\n{text}");
    text
}

/// A model file with its weights after a few training steps, and a batch.
struct Trained {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    net: PathBuf,
    weights: PathBuf,
    batch: PathBuf,
    output: String,
}

/// `path`'s net trained 2 steps; one on MNIST or Fashion-MNIST on synthetic
/// data instead (its data line replaced), so the test needs no data set.
/// Batch norm's running statistics move.
fn trained(path: &str) -> Trained {
    let text = std::fs::read_to_string(path).unwrap();
    let d = tempfile::tempdir().unwrap();
    let dir = d.path().to_path_buf();
    let mut replaced = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("data:") && l.contains("mnist") {
                replaced = true;
                "    data: synthetic(samples: 64, test_samples: 8)".to_string()
            } else {
                l.to_string()
            }
        })
        .collect();
    let net = if replaced {
        let net = dir.join(Path::new(path).file_name().unwrap());
        std::fs::write(&net, lines.join("\n") + "\n").unwrap();
        net
    } else {
        PathBuf::from(path)
    };
    let run = dir.join("run");
    let args = ["train", net.to_str().unwrap(), "--quiet", "--steps", "2"];
    ok(&netc(
        &[&args[..], &["--out", run.to_str().unwrap()]].concat(),
    ));
    let model = netc::lang::parse_and_check(&net.display().to_string(), &text).unwrap();
    let batch = dir.join("batch.safetensors");
    write_batch(&batch, &model, 5);
    Trained {
        output: model.loss.data.on.clone(),
        net,
        weights: run.join("model.safetensors"),
        batch,
        dir,
        _dir: d,
    }
}

/// `rows` samples: `x` `[rows, input dims...]` in [-1, 1); `y`, class
/// labels or value targets `[rows, width]`.
fn write_batch(path: &Path, model: &netc::lang::Model, rows: usize) {
    use safetensors::{Dtype, tensor::TensorView};
    let wave = |n: usize| -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 7919 % 1000) as f32 / 500.0) - 1.0)
            .collect()
    };
    let x = wave(rows * model.input.features);
    let (y, ydtype, ydims): (Vec<u8>, _, _) = match model.label.kind {
        netc::lang::LabelKind::Classes(c) => (
            (0..rows)
                .flat_map(|i| ((i % c) as i64).to_le_bytes())
                .collect(),
            Dtype::I64,
            vec![rows],
        ),
        netc::lang::LabelKind::Targets(w) => (
            wave(rows * w)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            Dtype::F32,
            vec![rows, w],
        ),
    };
    let xb: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut dims = vec![rows];
    dims.extend(&model.input.dims);
    let tensors = [
        ("x", TensorView::new(Dtype::F32, dims, &xb).unwrap()),
        ("y", TensorView::new(ydtype, ydims, &y).unwrap()),
    ];
    safetensors::serialize_to_file(tensors, None, path).unwrap();
}

/// `netc grad` of the trained net on its batch, into `name`, with `extra` arguments.
fn grads(t: &Trained, name: &str, extra: &[&str]) -> PathBuf {
    let out = t.dir.join(name);
    let mut args = vec![
        "grad",
        t.net.to_str().unwrap(),
        "--weights",
        t.weights.to_str().unwrap(),
        "--batch",
        t.batch.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&netc(&args));
    out
}

/// `netc export` of the trained net: `--onnx` or `--pytorch` into `name`.
fn export(t: &Trained, flag: &str, name: &str, extra: &[&str]) -> PathBuf {
    let out = t.dir.join(name);
    let mut args = vec![
        "export",
        t.net.to_str().unwrap(),
        "--weights",
        t.weights.to_str().unwrap(),
        flag,
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&netc(&args));
    out
}

/// Every model of `models/`, the every-op net and a regression net.
fn nets() -> Vec<String> {
    let mut all: Vec<String> = std::fs::read_dir("models")
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".net"))
        .collect();
    all.sort();
    all.push(EVERY_OP.into());
    all.push("tests/fixtures/nets/values_conv.net".into());
    all
}

#[test]
fn onnx_runtime_gives_netcs_outputs_for_every_model_and_every_op() {
    let Some(py) = python("onnx, onnxruntime, numpy", Some("NETC_REQUIRE_ONNX")) else {
        return;
    };
    for net in nets() {
        let t = trained(&net);
        let want = grads(&t, "eval.safetensors", &["--eval"]);
        let model = export(&t, "--onnx", "model.onnx", &[]);
        let said = script(&py, "check_onnx.py", &[&model, &t.batch, &want]);
        assert!(
            said.contains(&format!("onnxruntime {}", t.output)),
            "{net}: {said}"
        );
        println!("{net}:\n{said}");
    }
}

/// The `--set KEY=0` that turns each dropout of `net` off.
fn dropout_off(net: &Path) -> Vec<String> {
    let keys = netc(&["check", net.to_str().unwrap(), "--keys"]);
    ok(&keys);
    keys.stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|k| k.ends_with(".p"))
        .map(|k| format!("{k}=0"))
        .collect()
}

#[test]
fn the_pytorch_module_loads_netcs_weights_strictly_and_gives_its_outputs_and_loss() {
    let Some(py) = python("torch, safetensors, numpy", Some("NETC_REQUIRE_TORCH")) else {
        return;
    };
    for net in nets() {
        let t = trained(&net);
        let eval = grads(&t, "eval.safetensors", &["--eval"]);
        let mut off = Vec::new();
        for s in dropout_off(&t.net) {
            off.extend(["--set".to_string(), s]);
        }
        let off: Vec<&str> = off.iter().map(String::as_str).collect();
        let train = grads(&t, "train.safetensors", &off);
        // The eval outputs do not depend on p for inverted dropout, but do
        // for classic: the module for the eval check is the net as trained.
        let module = export(&t, "--pytorch", "module.py", &[]);
        let module_off = export(&t, "--pytorch", "module_off.py", &off);
        let out = Path::new(&t.output);
        let evaluated = script(
            &py,
            "check_pytorch.py",
            &[&module, &t.weights, &t.batch, out, &eval],
        );
        let said = script(
            &py,
            "check_pytorch.py",
            &[
                &module_off,
                &t.weights,
                &t.batch,
                out,
                &eval_off(&t, &off),
                &train,
            ],
        );
        assert!(said.contains("pytorch train loss"), "{net}: {said}");
        println!("{net}:\n{evaluated}{said}");
    }
}

/// `netc grad --eval` with dropout off (the eval outputs of the module made with it).
fn eval_off(t: &Trained, off: &[&str]) -> PathBuf {
    let mut args = vec!["--eval"];
    args.extend_from_slice(off);
    grads(t, "eval_off.safetensors", &args)
}

/// The every-op net calls every function of the builtins table and uses
/// every dropout mode: a function added to the language without an
/// exporter fails this test until the net uses it.
#[test]
fn the_every_op_net_uses_every_function_and_dropout_mode() {
    let text = std::fs::read_to_string(EVERY_OP).unwrap();
    for f in builtins::names(Role::Function) {
        assert!(
            text.contains(&format!("{f}(")),
            "{EVERY_OP} does not call `{f}`"
        );
    }
    for mode in DROPOUT_MODES.iter().filter(|m| **m != "inverted") {
        assert!(
            text.contains(&format!("mode: {mode}")),
            "{EVERY_OP}: no `mode: {mode}`"
        );
    }
    assert!(text.contains(" + "), "{EVERY_OP}: no sum");
}

/// The PyTorch module of the every-op net, as reviewed.
#[test]
fn the_pytorch_module_of_the_every_op_net_reads_as_the_net() {
    let t = trained(EVERY_OP);
    let module = std::fs::read_to_string(export(&t, "--pytorch", "m.py", &[])).unwrap();
    let module = module
        .replace(&t.dir.display().to_string(), "DIR")
        .replace(env!("CARGO_PKG_VERSION"), "VERSION");
    insta::assert_snapshot!(module);
}

#[test]
fn an_existing_output_is_refused_without_force_and_replaced_with_it() {
    let t = trained("models/mlp.net");
    let onnx = t.dir.join("m.onnx");
    std::fs::write(&onnx, "keep me").unwrap();
    let args = |force: bool| {
        let mut a = vec![
            "export".to_string(),
            t.net.display().to_string(),
            "--weights".into(),
            t.weights.display().to_string(),
            "--onnx".into(),
            onnx.display().to_string(),
        ];
        if force {
            a.push("--force".into());
        }
        a
    };
    let r = netc(&args(false));
    fails(&r);
    says(
        &r,
        "already exists; give another --onnx, or overwrite it with --force",
    );
    assert_eq!(std::fs::read_to_string(&onnx).unwrap(), "keep me");
    ok(&netc(&args(true)));
    assert_ne!(std::fs::read(&onnx).unwrap(), b"keep me");
}

#[test]
fn export_asks_for_onnx_or_pytorch_and_one_file_each() {
    let t = trained("models/mlp.net");
    let (net, w) = (t.net.to_str().unwrap(), t.weights.to_str().unwrap());
    let r = netc(&["export", net, "--weights", w]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    says(&r, "--onnx");
    let same = t.dir.join("same");
    let same = same.to_str().unwrap();
    let r = netc(&[
        "export",
        net,
        "--weights",
        w,
        "--onnx",
        same,
        "--pytorch",
        same,
    ]);
    fails(&r);
    says(&r, "--onnx and --pytorch both name");
    assert!(!Path::new(same).exists());
}

/// A binding named as a Python keyword, or as an attribute every
/// `nn.Module` has, cannot be in the module: refused, naming it and its
/// line; the ONNX model, which has no such limit, is still written.
#[test]
fn a_name_python_cannot_hold_is_refused_naming_it() {
    for (name, why) in [
        ("lambda", "it is a Python keyword"),
        ("training", "`nn.Module` has an attribute of that name"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let text = std::fs::read_to_string("models/mlp.net")
            .unwrap()
            .replace("h2", name);
        let net = dir.path().join("kw.net");
        std::fs::write(&net, text).unwrap();
        let run = dir.path().join("run");
        let (n, r) = (net.to_str().unwrap(), run.to_str().unwrap());
        ok(&netc(&["train", n, "--quiet", "--steps", "1", "--out", r]));
        let w = run.join("model.safetensors");
        let py = dir.path().join("m.py");
        let r = netc(&[
            "export",
            n,
            "--weights",
            w.to_str().unwrap(),
            "--pytorch",
            py.to_str().unwrap(),
        ]);
        fails(&r);
        says(
            &r,
            &format!(
                "cannot export: `{name}` (line 10) cannot be a name in a PyTorch module: {why}"
            ),
        );
        assert!(!py.exists());
        let onnx = dir.path().join("m.onnx");
        let o = onnx.to_str().unwrap();
        ok(&netc(&[
            "export",
            n,
            "--weights",
            w.to_str().unwrap(),
            "--onnx",
            o,
        ]));
    }
}

#[test]
fn weights_of_another_net_are_refused() {
    let t = trained(EVERY_OP);
    let out = t.dir.join("m.onnx");
    let r = netc(&[
        "export",
        "models/mlp.net",
        "--weights",
        t.weights.to_str().unwrap(),
        "--onnx",
        out.to_str().unwrap(),
    ]);
    fails(&r);
    says(&r, "is not the net `every_op`");
    assert!(!out.exists());
}

/// The overrides stored with the weights are the net's: a dropout trained
/// with `--set d.p=0.25 --set d.mode=classic` is exported so, and `--set`
/// after them still changes it.
#[test]
fn the_overrides_stored_with_the_weights_are_exported() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let r = run.to_str().unwrap();
    let sets = ["--set", "d.p=0.25", "--set", "d.mode=classic"];
    let args = [
        "train",
        "models/digits.net",
        "--quiet",
        "--steps",
        "1",
        "--out",
        r,
    ];
    ok(&netc(&[&args[..], &sets].concat()));
    let w = run.join("model.safetensors");
    let py = dir.path().join("m.py");
    let export = |extra: &[&str]| {
        let mut a = vec![
            "export",
            "models/digits.net",
            "--weights",
            w.to_str().unwrap(),
        ];
        a.extend(["--pytorch", py.to_str().unwrap(), "--force"]);
        a.extend(extra);
        netc(&a)
    };
    let r = export(&[]);
    ok(&r);
    says(&r, "applying the overrides stored with");
    let module = std::fs::read_to_string(&py).unwrap();
    assert!(
        module.contains("d = classic_dropout(h1, 0.25, self.training)"),
        "{module}"
    );
    ok(&export(&["--set", "d.p=0.1"]));
    let module = std::fs::read_to_string(&py).unwrap();
    assert!(
        module.contains("d = classic_dropout(h1, 0.1, self.training)"),
        "{module}"
    );
}
