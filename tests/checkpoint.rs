//! Weights and checkpoint files: layout, round trips, resume, and every way a
//! file can be wrong.

mod common;

use netc::checkpoint::{
    CheckpointError, Problem, TrainState, load_checkpoint, load_model, save_checkpoint, save_model,
};
use netc::optim::{AdamConfig, Optimizer, SgdConfig};
use netc::{Params, Tensor};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use safetensors::{Dtype, SafeTensors};
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

/// A 3 -> 4 -> 2 MLP's parameters, named and shaped as PyTorch's nn.Linear.
fn mlp(sizes: &[(&str, usize, usize)], offset: f32) -> Params<f32> {
    let mut s = Params::new();
    for (k, &(layer, fan_in, fan_out)) in sizes.iter().enumerate() {
        let w = Tensor::from_fn(fan_out, fan_in, |r, c| {
            offset + 0.01 * (r * fan_in + c) as f32 - 0.1 * k as f32
        });
        s.add(format!("{layer}.weight"), w).unwrap();
        let b = Tensor::from_fn(1, fan_out, |_, c| offset - 0.02 * c as f32);
        s.add_with_dims(format!("{layer}.bias"), b, vec![fan_out])
            .unwrap();
    }
    s
}

const NET: &[(&str, usize, usize)] = &[("h1", 3, 4), ("out", 4, 2)];

fn metadata() -> BTreeMap<String, String> {
    [
        (
            "net",
            "net mlp {\n  h1 = linear(4) \"quoted\" \\ tab\there ü →\n}\u{1}",
        ),
        ("seed", "42"),
        ("epoch", "3"),
        ("netc_version", "0.1.0"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn bits(s: &Params<f32>) -> Vec<u32> {
    s.iter()
        .flat_map(|p| p.value.as_slice().iter().map(|v| v.to_bits()))
        .collect()
}

fn zeroed(s: &Params<f32>) -> Params<f32> {
    let mut z = s.clone();
    for p in z.iter_mut() {
        p.value.as_mut_slice().fill(0.0);
    }
    z
}

#[test]
fn a_model_file_is_a_pytorch_state_dict() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let params = mlp(NET, 0.5);
    save_model(&path, &params, &metadata()).unwrap();

    let bytes = fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(names, ["h1.bias", "h1.weight", "out.bias", "out.weight"]);
    let shapes: HashMap<&str, Vec<usize>> = [
        ("h1.weight", vec![4, 3]),
        ("h1.bias", vec![4]),
        ("out.weight", vec![2, 4]),
        ("out.bias", vec![2]),
    ]
    .into();
    for p in params.iter() {
        let t = st.tensor(&p.name).unwrap();
        assert_eq!(t.dtype(), Dtype::F32);
        assert_eq!(t.shape(), shapes[p.name.as_str()].as_slice(), "{}", p.name);
        let values: Vec<f32> = t
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, p.value.as_slice(), "{}", p.name);
    }
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let got: BTreeMap<String, String> = header.metadata().clone().unwrap().into_iter().collect();
    assert_eq!(got, metadata());
}

#[test]
fn a_model_round_trips_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let mut params = mlp(NET, 0.5);
    params.iter_mut().next().unwrap().value.as_mut_slice()[0] = f32::MIN_POSITIVE / 3.0;
    save_model(&path, &params, &metadata()).unwrap();
    let mut loaded = zeroed(&params);
    let meta = load_model(&path, &mut loaded).unwrap();
    assert_eq!(bits(&loaded), bits(&params));
    assert_eq!(meta, metadata());
}

#[test]
fn the_same_weights_give_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let params = mlp(NET, 0.5);
    save_model(&a, &params, &metadata()).unwrap();
    save_model(&b, &params.clone(), &metadata().clone()).unwrap();
    assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap());
}

#[test]
fn a_file_from_another_net_lists_every_difference() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_model(&path, &mlp(NET, 0.5), &BTreeMap::new()).unwrap();
    // Wider h1, a renamed output layer.
    let mut other = mlp(&[("h1", 3, 5), ("head", 5, 2)], 0.25);
    let before = bits(&other);
    let err = load_model(&path, &mut other).unwrap_err();
    let CheckpointError::Mismatch { problems, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        problems,
        &[
            Problem::Shape {
                name: "h1.weight".into(),
                expected: vec![5, 3],
                found: vec![4, 3]
            },
            Problem::Shape {
                name: "h1.bias".into(),
                expected: vec![5],
                found: vec![4]
            },
            Problem::Missing {
                name: "head.weight".into(),
                dims: vec![2, 5]
            },
            Problem::Missing {
                name: "head.bias".into(),
                dims: vec![2]
            },
            Problem::Unexpected {
                name: "out.bias".into(),
                dims: vec![2]
            },
            Problem::Unexpected {
                name: "out.weight".into(),
                dims: vec![2, 4]
            },
        ]
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} does not hold the expected tensors (6 problems):\n  \
             tensor `h1.weight` has shape [4, 3], expected [5, 3]\n  \
             tensor `h1.bias` has shape [4], expected [5]\n  \
             missing tensor `head.weight` (expected shape [2, 5])\n  \
             missing tensor `head.bias` (expected shape [2])\n  \
             unexpected tensor `out.bias` (shape [2])\n  \
             unexpected tensor `out.weight` (shape [2, 4])",
            path.display()
        )
    );
    assert_eq!(bits(&other), before, "a failed load changed the parameters");
}

#[test]
fn a_wrong_dtype_is_reported_with_the_rest() {
    // A file written by another tool: f64 weights and a stray tensor.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.safetensors");
    let w64: Vec<u8> = (0..12).flat_map(|i| (i as f64).to_le_bytes()).collect();
    let b32: Vec<u8> = (0..4).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let tensors = vec![
        (
            "h1.weight",
            safetensors::tensor::TensorView::new(Dtype::F64, vec![4, 3], &w64).unwrap(),
        ),
        (
            "h1.bias",
            safetensors::tensor::TensorView::new(Dtype::F32, vec![4], &b32).unwrap(),
        ),
        (
            "step",
            safetensors::tensor::TensorView::new(Dtype::F32, vec![4], &b32).unwrap(),
        ),
    ];
    fs::write(&path, safetensors::serialize(tensors, None).unwrap()).unwrap();
    let mut params = mlp(&[("h1", 3, 4)], 0.5);
    let err = load_model(&path, &mut params).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("(2 problems)"), "{msg}");
    assert!(
        msg.contains("tensor `h1.weight` is F64, expected F32"),
        "{msg}"
    );
    assert!(
        msg.contains("unexpected tensor `step` (shape [4])"),
        "{msg}"
    );
}

/// Loads `bytes` as a model file of the test net.
fn load_bytes(dir: &Path, bytes: &[u8]) -> Result<BTreeMap<String, String>, CheckpointError> {
    let path = dir.join("bad.safetensors");
    fs::write(&path, bytes).unwrap();
    load_model(&path, &mut mlp(NET, 0.0))
}

#[test]
fn every_truncation_is_a_clean_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    save_model(&path, &mlp(NET, 0.5), &metadata()).unwrap();
    let bytes = fs::read(&path).unwrap();
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    for cut in 0..bytes.len() {
        let err = load_bytes(dir.path(), &bytes[..cut]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("bad.safetensors"), "{msg}");
        match cut {
            0..8 => assert!(
                matches!(err, CheckpointError::NotSafetensors { .. }) && msg.contains("too short"),
                "{cut}: {msg}"
            ),
            _ => assert!(
                matches!(err, CheckpointError::Truncated { .. }),
                "{cut} of {} (header {header}): {msg}",
                bytes.len()
            ),
        }
    }
    let mut padded = bytes.clone();
    padded.extend_from_slice(b"junk");
    let err = load_bytes(dir.path(), &padded).unwrap_err();
    assert!(err.to_string().contains("bytes appended"), "{err}");
}

#[test]
fn files_that_are_not_safetensors_are_named_and_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = load_bytes(dir.path(), b"net mlp { h1 = linear(4) }\n").unwrap_err();
    assert!(
        matches!(text, CheckpointError::NotSafetensors { .. }),
        "{text}"
    );
    assert!(
        text.to_string().contains("over the 100000000-byte limit"),
        "{text}"
    );
    let png = load_bytes(dir.path(), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap_err();
    assert!(
        matches!(png, CheckpointError::NotSafetensors { .. }),
        "{png}"
    );
    let empty = load_bytes(dir.path(), b"").unwrap_err();
    assert!(empty.to_string().ends_with(
        "bad.safetensors: not a safetensors file: it is 0 bytes long, too short to hold the 8-byte header size"
    ), "{empty}");
    let mut json = 5u64.to_le_bytes().to_vec();
    json.extend_from_slice(b"[1,2]");
    let err = load_bytes(dir.path(), &json).unwrap_err();
    assert!(
        err.to_string().contains("not a safetensors JSON header"),
        "{err}"
    );
    let mut utf8 = 4u64.to_le_bytes().to_vec();
    utf8.extend_from_slice(b"{\xff\xfe}");
    let err = load_bytes(dir.path(), &utf8).unwrap_err();
    assert!(
        matches!(err, CheckpointError::NotSafetensors { .. }),
        "{err}"
    );
}

#[test]
fn absurd_headers_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    for claim in [u64::MAX, 1 << 40, 100_000_001] {
        let mut b = claim.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        let err = load_bytes(dir.path(), &b).unwrap_err();
        assert!(
            matches!(err, CheckpointError::NotSafetensors { .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains(&format!("header size of {claim} bytes")),
            "{err}"
        );
    }
    // Within the limit but longer than the file: truncated.
    let mut b = 99_000_000u64.to_le_bytes().to_vec();
    b.extend_from_slice(b"{\"");
    let err = load_bytes(dir.path(), &b).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: truncated or damaged safetensors file: its header should be 99000000 bytes, \
             but only 2 bytes follow the size field",
            dir.path().join("bad.safetensors").display()
        )
    );
}

#[test]
fn headers_with_impossible_shapes_or_offsets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [&str; 4] = [
        r#"{"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,0]}}"#,
        r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#,
        r#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
        r#"{"w":{"dtype":"NOPE","shape":[1],"data_offsets":[0,4]}}"#,
    ];
    for header in cases {
        let mut b = (header.len() as u64).to_le_bytes().to_vec();
        b.extend_from_slice(header.as_bytes());
        b.extend_from_slice(&[0u8; 8]);
        let err = load_bytes(dir.path(), &b).unwrap_err();
        assert!(
            matches!(
                err,
                CheckpointError::NotSafetensors { .. } | CheckpointError::Truncated { .. }
            ),
            "{header}: {err}"
        );
    }
}

#[test]
fn a_missing_file_or_a_directory_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.safetensors");
    let err = load_model(&missing, &mut mlp(NET, 0.0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "cannot open {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    let err = load_model(dir.path(), &mut mlp(NET, 0.0)).unwrap_err();
    assert!(err.to_string().contains("Is a directory"), "{err}");
}

#[test]
fn non_finite_weights_never_replace_the_last_good_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let mut params = mlp(NET, 0.5);
    save_model(&path, &params, &metadata()).unwrap();
    let good = fs::read(&path).unwrap();
    params.iter_mut().nth(2).unwrap().value.as_mut_slice()[5] = f32::NAN;
    let err = save_model(&path, &params, &metadata()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not saved: `out.weight`[5] is NaN (the previous file, if any, is kept)",
            path.display()
        )
    );
    assert_eq!(fs::read(&path).unwrap(), good);
    let opt = Optimizer::sgd(SgdConfig::new(0.1)).unwrap();
    let ckpt = dir.path().join("checkpoint.safetensors");
    let err = save_checkpoint(&ckpt, &params, &opt, &TrainState::default(), &metadata());
    assert!(matches!(err, Err(CheckpointError::NonFinite { .. })));
    assert!(!ckpt.exists());
}

#[test]
fn an_unwritable_destination_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("runs");
    fs::write(&blocker, b"a file where the run directory should be").unwrap();
    let path = blocker.join("model.safetensors");
    let err = save_model(&path, &mlp(NET, 0.5), &metadata()).unwrap_err();
    assert!(err.to_string().starts_with("cannot write "), "{err}");
    assert!(
        err.to_string()
            .contains("runs/model.safetensors: Not a directory"),
        "{err}"
    );
}

// ---- checkpoints and resuming ----

/// Gradients that depend on the weights and on a noise generator, so a resume
/// must restore both to continue exactly.
fn fill_grads(params: &mut Params<f32>, rng: &mut Pcg64Mcg) {
    for p in params.iter_mut() {
        let (value, grad) = (p.value.as_slice(), p.grad.as_mut_slice());
        for (g, v) in grad.iter_mut().zip(value) {
            *g = 0.3 * v - 0.05 + rng.random_range(-0.1f32..0.1);
        }
    }
}

/// A toy run: `steps` steps of `opt`, `per_epoch` steps an epoch.
struct Run {
    params: Params<f32>,
    opt: Optimizer<f32>,
    rng: Pcg64Mcg,
    state: TrainState,
}

impl Run {
    fn new(opt: Optimizer<f32>) -> Run {
        Run {
            params: mlp(NET, 0.5),
            opt,
            rng: Pcg64Mcg::seed_from_u64(7),
            state: TrainState::default(),
        }
    }
    fn advance(&mut self, steps: u64, per_epoch: u64) {
        for _ in 0..steps {
            fill_grads(&mut self.params, &mut self.rng);
            self.opt.step(&mut self.params).unwrap();
            self.state.step += 1;
            if self.state.step.is_multiple_of(per_epoch) {
                self.state.epoch += 1;
            }
        }
    }
    fn save(&mut self, path: &Path) {
        self.state.rngs.insert("noise".into(), self.rng.state());
        save_checkpoint(path, &self.params, &self.opt, &self.state, &metadata()).unwrap();
    }
}

fn optimizers() -> Vec<Optimizer<f32>> {
    vec![
        Optimizer::sgd(SgdConfig {
            momentum: 0.9,
            nesterov: true,
            weight_decay: 1e-3,
            ..SgdConfig::new(0.05)
        })
        .unwrap(),
        Optimizer::adam(AdamConfig::adamw(1e-2)).unwrap(),
        Optimizer::sgd(SgdConfig::new(0.1)).unwrap(),
    ]
}

#[test]
fn resuming_from_a_checkpoint_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    for fresh in optimizers() {
        let mut straight = Run::new(fresh.clone());
        straight.advance(12, 4);
        let end_straight: PathBuf = dir.path().join("straight.safetensors");
        straight.save(&end_straight);

        for stop in [0u64, 4, 8] {
            let mut first = Run::new(fresh.clone());
            first.advance(stop, 4);
            let ckpt = dir.path().join("checkpoint.safetensors");
            first.save(&ckpt);
            drop(first);

            // A new process: fresh weights, optimizer and generator.
            let mut resumed = Run::new(fresh.clone());
            let loaded =
                load_checkpoint(&ckpt, &mut resumed.params, &mut resumed.opt, &["noise"]).unwrap();
            assert_eq!(loaded.metadata, metadata());
            assert_eq!((loaded.state.step, loaded.state.epoch), (stop, stop / 4));
            resumed.rng = Pcg64Mcg::new(loaded.state.rngs["noise"]);
            resumed.state = loaded.state;
            resumed.advance(12 - stop, 4);
            assert_eq!(
                bits(&resumed.params),
                bits(&straight.params),
                "{}",
                fresh.name()
            );
            assert_eq!(resumed.state.epoch, 3);
            let end_resumed = dir.path().join("resumed.safetensors");
            resumed.save(&end_resumed);
            assert_eq!(
                fs::read(&end_resumed).unwrap(),
                fs::read(&end_straight).unwrap(),
                "{} resumed at {stop}: the checkpoints differ",
                fresh.name()
            );
        }
    }
}

#[test]
fn a_checkpoint_holds_named_optimizer_state() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let mut run = Run::new(Optimizer::adam(AdamConfig::adam(1e-3)).unwrap());
    run.advance(3, 2);
    run.save(&path);
    let bytes = fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert_eq!(
        names,
        [
            "h1.bias",
            "h1.weight",
            "optim/h1.bias/exp_avg",
            "optim/h1.bias/exp_avg_sq",
            "optim/h1.weight/exp_avg",
            "optim/h1.weight/exp_avg_sq",
            "optim/out.bias/exp_avg",
            "optim/out.bias/exp_avg_sq",
            "optim/out.weight/exp_avg",
            "optim/out.weight/exp_avg_sq",
            "optim/step",
            "out.bias",
            "out.weight",
            "train/epoch",
            "train/rng/noise",
            "train/step",
        ]
    );
    assert_eq!(
        st.tensor("optim/h1.weight/exp_avg").unwrap().shape(),
        &[4, 3]
    );
    assert_eq!(
        st.tensor("optim/out.bias/exp_avg_sq").unwrap().shape(),
        &[2]
    );
    let step = st.tensor("optim/step").unwrap();
    assert_eq!((step.dtype(), step.shape()), (Dtype::U64, &[1usize][..]));
    assert_eq!(step.data(), &3u64.to_le_bytes());
    let rng = st.tensor("train/rng/noise").unwrap();
    let s = run.rng.state();
    let mut want = (s as u64).to_le_bytes().to_vec();
    want.extend_from_slice(&((s >> 64) as u64).to_le_bytes());
    assert_eq!(rng.data(), &want[..]);
    // The weights of a checkpoint load as a model.
    let mut weights = zeroed(&run.params);
    load_model(&path, &mut weights).unwrap();
    assert_eq!(bits(&weights), bits(&run.params));
}

#[test]
fn a_checkpoint_of_another_optimizer_lists_every_difference() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let mut run = Run::new(Optimizer::adam(AdamConfig::adam(1e-3)).unwrap());
    run.advance(2, 10);
    run.save(&path);
    let mut params = mlp(NET, 0.0);
    let mut sgd = Optimizer::sgd(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.1)
    })
    .unwrap();
    let err = load_checkpoint(&path, &mut params, &mut sgd, &["noise", "dropout"]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("(13 problems)"), "{msg}");
    assert!(
        msg.contains("missing tensor `optim/h1.weight/momentum_buffer` (expected shape [4, 3])"),
        "{msg}"
    );
    assert!(
        msg.contains("missing tensor `train/rng/dropout` (expected shape [2])"),
        "{msg}"
    );
    assert!(
        msg.contains("unexpected tensor `optim/out.bias/exp_avg_sq` (shape [2])"),
        "{msg}"
    );
    assert_eq!(bits(&params), bits(&mlp(NET, 0.0)));
    assert_eq!(sgd.steps(), 0);
    // A weights-only file is not a checkpoint.
    let model = dir.path().join("model.safetensors");
    save_model(&model, &run.params, &metadata()).unwrap();
    let err = load_checkpoint(&model, &mut params, &mut sgd, &[]).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("missing tensor `optim/step`"), "{msg}");
    assert!(msg.contains("missing tensor `train/epoch`"), "{msg}");
}

#[test]
fn a_checkpoint_before_the_first_step_has_no_buffers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let mut run = Run::new(optimizers().remove(0));
    run.save(&path);
    let bytes = fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    assert!(st.names().iter().all(|n| !n.contains("momentum_buffer")));
    let mut resumed = Run::new(optimizers().remove(0));
    load_checkpoint(&path, &mut resumed.params, &mut resumed.opt, &["noise"]).unwrap();
    assert_eq!(resumed.opt.steps(), 0);
}

// ---- files written by PyTorch ----

#[test]
fn a_pytorch_written_file_reads_with_every_dtype() {
    let Some(path) = common::shared("reference/mlp_penalties.safetensors") else {
        return;
    };
    let file = netc::checkpoint::read_tensors(&path).unwrap();
    assert_eq!(file.metadata()["net"], "mlp");
    assert_eq!(file.shape("h1.weight"), Some(&[32usize, 128][..]));
    assert_eq!(file.dtype("y").as_deref(), Some("I64"));
    assert_eq!(file.i64s("y").unwrap(), [1, 1, 1, 1]);
    let loss = file.f64s("loss").unwrap();
    assert!(loss.len() == 1 && loss[0].is_finite() && loss[0] > 0.0);
    assert_eq!(file.f32s("x").unwrap().len(), 4 * 128);
    assert_eq!(file.f64s("grad/h1.weight").unwrap().len(), 32 * 128);
    let err = file.f32s("loss").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("tensor `loss` is F64, expected F32"),
        "{err}"
    );
    let err = file.f32s("nope").unwrap_err();
    assert!(err.to_string().ends_with("missing tensor `nope`"), "{err}");

    // Its weights fill the reference MLP's parameters, the rest set aside.
    let sizes = [("h1", 128, 32), ("h2", 32, 16), ("out", 16, 2)];
    let mut params = mlp(&sizes, 0.0);
    let err = netc::checkpoint::fill_params(&file, &mut params, |_| false).unwrap_err();
    assert!(
        err.to_string()
            .contains("unexpected tensor `x` (shape [4, 128])"),
        "{err}"
    );
    assert_eq!(bits(&params), bits(&mlp(&sizes, 0.0)));
    // The batch, the loss and everything under a `kind/` prefix are not weights.
    let not_weights = |n: &str| n.contains('/') || ["x", "y", "loss"].contains(&n);
    netc::checkpoint::fill_params(&file, &mut params, not_weights).unwrap();
    let out_bias = params.iter().last().unwrap();
    assert_eq!(out_bias.value.as_slice(), file.f32s("out.bias").unwrap());
}

// ---- a real write failure from the OS ----

const FSIZE_CHILD: &str = "NETC_TEST_FSIZE_DIR";

/// A file-size limit (`ulimit -f`) makes the kernel fail a write half-way with
/// EFBIG, as a full disk fails it with ENOSPC. The test re-runs itself in a
/// child process under the limit (SIGXFSZ ignored, so the write returns an
/// error instead of killing the process); the child writes, the parent checks.
#[test]
fn a_write_the_os_cuts_short_keeps_the_previous_file() {
    if let Ok(dir) = std::env::var(FSIZE_CHILD) {
        let path = Path::new(&dir).join("checkpoint.safetensors");
        let err = netc::files::write_atomic(&path, &vec![1u8; 4 << 20]).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cannot write "), "{msg}");
        assert!(
            msg.contains("checkpoint.safetensors: File too large"),
            "{msg}"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    netc::files::write_atomic(&path, b"last good checkpoint").unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64 && exec \"$0\" \"$@\"")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_write_the_os_cuts_short_keeps_the_previous_file",
            "--test-threads=1",
        ])
        .env(FSIZE_CHILD, dir.path())
        .output()
        .unwrap();
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed: {report}");
    assert!(
        report.contains("1 passed"),
        "the child did not run the test: {report}"
    );
    assert_eq!(fs::read(&path).unwrap(), b"last good checkpoint");
    let left: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        left,
        ["checkpoint.safetensors"],
        "a temporary file was left behind"
    );
}
