//! Numerical safety beyond tests/tape.rs (which checks that softmax losses
//! stay finite for logits of ±1e4 and that l2 at zero has a zero gradient in
//! f64): values and gradients at ±1e4 in f32 (to f32's precision there), l2 at zero in f32 inside
//! a loss, and a non-finite loss reported with its term and step by `netc train`.

use netc::{Params, Tape, Tensor};
use std::fs;

const TINY: &str = "tests/fixtures/nets/tiny_mnist.net";
const DATA: &str = "tests/fixtures/data";

fn close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "got {got:?}, want {want:?}");
    }
}

#[test]
fn log_softmax_and_cross_entropy_are_right_for_logits_of_1e4() {
    let logits = vec![1e4, -1e4, 0.0, -1e4, 1e4, 1e4];
    let ln2 = std::f32::consts::LN_2;
    let mut params = Params::new();
    let a = params
        .add("a", Tensor::<f32>::from_vec(2, 3, logits).unwrap())
        .unwrap();

    let mut tape = Tape::new();
    let x = tape.param(&params, a);
    let lp = tape.log_softmax(x).unwrap();
    close(
        tape.value(lp).unwrap(),
        &[0.0, -2e4, -1e4, -2e4 - ln2, -ln2, -ln2],
        1e-3,
    );
    // softmax − onehot, over a batch of 2: row 0 is certain and right (no
    // gradient), row 1 splits between the two wrong classes. f32's spacing
    // near 1e4 is ~1e-3, so probabilities recovered from such logits are
    // right to ~1e-4: stable, not exact.
    let ce = tape.cross_entropy(x, &[0, 0]).unwrap();
    tape.backward(ce, &mut params).unwrap();
    close(
        &[tape.scalar(ce).unwrap()],
        &[(0.0 + 2e4 + ln2) / 2.0],
        1e-2,
    );
    close(
        params.grad(a).as_slice(),
        &[0.0, 0.0, 0.0, -0.5, 0.25, 0.25],
        2e-4,
    );

    // The same through log_softmax + nll.
    params.zero_grads();
    let mut tape = Tape::new();
    let x = tape.param(&params, a);
    let lp = tape.log_softmax(x).unwrap();
    let nll = tape.nll(lp, &[0, 0]).unwrap();
    tape.backward(nll, &mut params).unwrap();
    close(
        params.grad(a).as_slice(),
        &[0.0, 0.0, 0.0, -0.5, 0.25, 0.25],
        2e-4,
    );
}

#[test]
fn l2_at_exactly_zero_has_a_zero_gradient_in_f32_inside_a_loss() {
    let mut params = Params::new();
    let w = params.add("w", Tensor::<f32>::zeros(2, 3)).unwrap();
    let mut tape = Tape::new();
    let x = tape.param(&params, w);
    let h = tape.relu(x).unwrap();
    let n = tape.l2(h).unwrap();
    let s = tape.sumsq(x).unwrap();
    let pen = tape.scale(n, 0.5).unwrap();
    let loss = tape.add(pen, s).unwrap();
    tape.backward(loss, &mut params).unwrap();
    assert_eq!(tape.scalar(loss).unwrap(), 0.0);
    assert_eq!(params.grad(w).as_slice(), &[0.0; 6]);
}

/// `netc train` on the fixture net with `from` replaced by `to`: its stderr.
fn train_stderr(from: &str, to: &str) -> (i32, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let text = fs::read_to_string(TINY).unwrap();
    assert!(text.contains(from));
    let net = dir.path().join("t.net");
    fs::write(&net, text.replacen(from, to, 1)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args([
            "train",
            net.to_str().unwrap(),
            "--data-dir",
            DATA,
            "--quiet",
        ])
        .arg("--out")
        .arg(dir.path().join("run"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr, dir)
}

#[test]
fn a_non_finite_penalty_is_reported_with_its_term_and_step() {
    let (code, stderr, dir) = train_stderr("1e-4 * l1(h)", "1e38 * sumsq(h)");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "error: step 1 (epoch 1): the penalty term `1e38 * sumsq(h)` is inf; training stopped"
        ),
        "{stderr}"
    );
    // Stopped before any evaluation: nothing was written.
    assert!(!dir.path().join("run/model.safetensors").exists());
    assert!(!dir.path().join("run/checkpoint.safetensors").exists());
}

#[test]
fn a_non_finite_data_term_is_reported_with_its_term_and_step() {
    // The first step is fine; its update sends the weights past f32's range.
    let (code, stderr, _dir) = train_stderr("lr: 0.05", "lr: 1e30");
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(
            "error: step 2 (epoch 1): the loss term `nll(out, y)` is NaN; training stopped"
        ),
        "{stderr}"
    );
}

/// ReLU passes a NaN on, as PyTorch's does (`max(x, 0)` written carelessly
/// turns it into 0 and hides it from the loss while its gradient is NaN),
/// and its gradient flows where the input is NaN, as PyTorch's `x <= 0 ? 0 : g`.
#[test]
fn relu_keeps_a_nan_in_its_value_and_its_gradient_path() {
    let mut params = Params::new();
    let a = params
        .add(
            "a",
            Tensor::<f32>::from_vec(1, 4, vec![f32::NAN, -1.0, 0.0, 2.0]).unwrap(),
        )
        .unwrap();
    let mut tape = Tape::new();
    let x = tape.param(&params, a);
    let y = tape.relu(x).unwrap();
    let v = tape.value(y).unwrap();
    assert!(v[0].is_nan(), "relu(NaN) = {}", v[0]);
    assert_eq!(&v[1..], &[0.0, 0.0, 2.0]);
    let s = tape.sum(y).unwrap();
    assert!(
        tape.value(s).unwrap()[0].is_nan(),
        "the NaN reaches the sum"
    );
    tape.backward(s, &mut params).unwrap();
    assert_eq!(params.grad(a).as_slice(), &[1.0, 0.0, 0.0, 1.0]);
}

/// A NaN in a batch given to `netc grad` is refused, naming the sample and
/// feature; data sets are checked the same way when they are made.
#[test]
fn a_non_finite_input_is_named_by_sample_and_feature() {
    let dir = tempfile::tempdir().unwrap();
    let batch = dir.path().join("batch.safetensors");
    let mut x = vec![0.5f32; 3 * 784];
    x[784 + 17] = f32::INFINITY;
    let xb: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    let yb: Vec<u8> = [1i64, 2, 3].iter().flat_map(|v| v.to_le_bytes()).collect();
    let tensors = [
        (
            "x",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3, 784], &xb)
                .unwrap(),
        ),
        (
            "y",
            safetensors::tensor::TensorView::new(safetensors::Dtype::I64, vec![3], &yb).unwrap(),
        ),
    ];
    safetensors::serialize_to_file(tensors, None, &batch).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netc"))
        .args(["grad", TINY, "--batch"])
        .arg(&batch)
        .arg("--out")
        .arg(dir.path().join("g.safetensors"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("sample 1, feature 17) is inf"), "{stderr}");
    assert!(!dir.path().join("g.safetensors").exists());

    let labels = netc::data::Labels::Classes(vec![0, 1]);
    let err = netc::data::Split::from_floats(2, vec![0.0, 1.0, f32::NAN, 3.0], labels)
        .unwrap_err()
        .to_string();
    assert!(err.contains("sample 1, feature 0 is NaN"), "{err}");
}
