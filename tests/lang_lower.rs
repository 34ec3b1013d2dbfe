//! Lowering the model files onto the tape: gradients against central finite
//! differences in f64, against PyTorch on the reference files (through the
//! language), and a snapshot of each model's parameter gradients for a fixed
//! seed and batch.

mod common;

use common::{Tensors, assert_close, shared};
use netc::lang::lower::{Lowered, Pass, Targets, init_params};
use netc::lang::{LabelKind, Model, parse_and_check};
use netc::{Params, Phase, Real, Tape, Tensor};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::fmt::Write as _;

/// The model files, and a small net using every convolutional function
/// with penalties on a feature map and a convolution's weight.
const MODELS: [&str; 6] = [
    "models/mlp.net",
    "models/mnist.net",
    "models/digits.net",
    "models/lenet.net",
    "models/fashion_bn.net",
    "tests/fixtures/nets/tiny_conv.net",
];

fn model(path: &str) -> Model {
    let src = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    from_source(path, &src)
}

fn from_source(path: &str, src: &str) -> Model {
    parse_and_check(path, src).unwrap_or_else(|d| panic!("{}", d.render()))
}

/// A fixed batch for `m`: uniform [0, 1) inputs, labels cycling through the classes.
fn batch<T: Real>(m: &Model, rows: usize, seed: u64) -> (Tensor<T>, Vec<u32>) {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let x = Tensor::from_fn(rows, m.input.features, |_, _| {
        T::from_f64(rng.random::<f64>())
    });
    let LabelKind::Classes(n) = m.label.kind else {
        panic!("the model files have class labels")
    };
    let y = (0..rows).map(|i| ((i * 7 + 1) % n) as u32).collect();
    (x, y)
}

/// Records one pass of `m` on a fresh tape; `seed` seeds the dropout masks.
fn record<T: Real>(
    m: &Model,
    params: &mut Params<T>,
    x: &Tensor<T>,
    y: &[u32],
    phase: Phase,
    seed: u64,
) -> (Pass, Tape<T>) {
    let net = Lowered::new(m, &*params).unwrap();
    let mut tape = Tape::new();
    let xi = tape.input(x);
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let f = net
        .forward(&mut tape, params, xi, Targets::Classes(y), phase, &mut rng)
        .unwrap();
    (f, tape)
}

/// One training pass with the dropout generator seeded by `seed` (the same
/// masks at every call). Returns the loss.
fn pass(
    m: &Model,
    params: &mut Params<f64>,
    x: &Tensor<f64>,
    y: &[u32],
    seed: u64,
) -> (f64, Pass, Tape<f64>) {
    let (f, tape) = record(m, params, x, y, Phase::Train, seed);
    (tape.scalar(f.loss).unwrap(), f, tape)
}

#[test]
fn gradients_match_central_differences() {
    for path in MODELS {
        let m = model(path);
        let mut params = init_params::<f64>(&m, 3).unwrap();
        let (x, y) = batch::<f64>(&m, 4, 11);
        params.zero_grads();
        let (_, f, mut tape) = pass(&m, &mut params, &x, &y, 5);
        tape.backward(f.loss, &mut params).unwrap();
        let analytic = params.clone();

        let h = 1e-6;
        let mut pick = Pcg64Mcg::seed_from_u64(17);
        let mut checked = 0;
        for id in analytic.ids() {
            let n = analytic.value(id).len();
            // Every element of a small parameter, 30 of a large one.
            let ks: Vec<usize> = if n <= 600 {
                (0..n).collect()
            } else {
                (0..30).map(|_| pick.random_range(0..n)).collect()
            };
            for k in ks {
                let orig = params.value(id).as_slice()[k];
                let mut at = |v: f64| {
                    params.get_mut(id).value.as_mut_slice()[k] = v;
                    pass(&m, &mut params, &x, &y, 5).0
                };
                let numeric = (at(orig + h) - at(orig - h)) / (2.0 * h);
                params.get_mut(id).value.as_mut_slice()[k] = orig;
                let a = analytic.grad(id).as_slice()[k];
                let tol = 1e-6 + 1e-5 * a.abs().max(numeric.abs());
                assert!(
                    (a - numeric).abs() <= tol,
                    "{path}: {}[{k}]: analytic {a} vs numeric {numeric}",
                    analytic.name(id)
                );
                checked += 1;
            }
        }
        assert!(checked > 100, "{path}: only {checked} probes");
    }
}

/// `1.23457e-3`: six significant digits, so the last bits of a kernel do not matter.
/// Values below 1e-12 are rounding left of an exact zero (a bias before
/// batch norm) and read as 0.
fn sig(v: f64) -> String {
    let v = if v.abs() < 1e-12 { 0.0 } else { v };
    format!("{v:.5e}")
}

#[test]
fn parameter_gradients_of_each_model() {
    for path in MODELS {
        let m = model(path);
        let mut params = init_params::<f64>(&m, 0).unwrap();
        let (x, y) = batch::<f64>(&m, 8, 1);
        let (loss, f, mut tape) = pass(&m, &mut params, &x, &y, 2);
        tape.backward(f.loss, &mut params).unwrap();
        let mut s = format!(
            "{path}: seed 0, batch of 8 (uniform inputs from seed 1, dropout from seed 2)\n"
        );
        writeln!(s, "loss {}", sig(loss)).unwrap();
        writeln!(s, "data {}", sig(tape.scalar(f.data).unwrap())).unwrap();
        for (p, node) in m.loss.penalties.iter().zip(&f.penalties) {
            writeln!(s, "{p} = {}", sig(tape.scalar(*node).unwrap())).unwrap();
        }
        for p in params.iter() {
            let g = p.grad.as_slice();
            let head: Vec<String> = g.iter().take(6).map(|&v| sig(v)).collect();
            writeln!(
                s,
                "{} {:?} abs {} sq {} head [{}]",
                p.name,
                p.dims,
                sig(g.iter().map(|v| v.abs()).sum()),
                sig(g.iter().map(|v| v * v).sum()),
                head.join(", ")
            )
            .unwrap();
        }
        let name = std::path::Path::new(path).file_stem().unwrap();
        insta::assert_snapshot!(format!("gradients_{}", name.display()), s);
    }
}

#[test]
fn evaluation_is_deterministic_and_training_draws_masks() {
    let m = model("models/mnist.net");
    let mut params = init_params::<f32>(&m, 0).unwrap();
    let (x, y) = batch::<f32>(&m, 4, 1);
    let mut run = |phase, seed| {
        let (f, tape) = record(&m, &mut params, &x, &y, phase, seed);
        tape.scalar(f.loss).unwrap()
    };
    assert_eq!(run(Phase::Eval, 1), run(Phase::Eval, 2));
    assert_eq!(run(Phase::Train, 1), run(Phase::Train, 1));
    assert_ne!(run(Phase::Train, 1), run(Phase::Train, 2));
}

#[test]
fn every_activation_and_penalty_has_a_node() {
    let m = model("models/mlp.net");
    let mut params = init_params::<f32>(&m, 0).unwrap();
    let (x, y) = batch::<f32>(&m, 4, 1);
    let (f, tape) = record(&m, &mut params, &x, &y, Phase::Train, 0);
    let shapes: Vec<(usize, usize)> = f
        .activations
        .iter()
        .map(|a| tape.shape(*a).unwrap())
        .collect();
    assert_eq!(shapes, vec![(4, 32), (4, 16), (4, 2)]);
    assert_eq!(f.output, f.activations[2]);
    let terms: f32 = f.penalties.iter().map(|p| tape.scalar(*p).unwrap()).sum();
    let data = tape.scalar(f.data).unwrap();
    let loss = tape.scalar(f.loss).unwrap();
    assert!((data + terms - loss).abs() <= 1e-5 * loss.abs());
}

#[test]
fn parameters_that_do_not_fit_are_errors_not_panics() {
    let m = model("models/mlp.net");
    let other = model("models/mnist.net");
    // No `h1.weight` among the mnist net's parameters.
    let params = init_params::<f32>(&other, 0).unwrap();
    let err = Lowered::new(&m, &params).map(|_| ()).unwrap_err();
    assert!(err.to_string().contains("h1.weight"), "{err}");

    // A batch of the wrong width.
    let mut params = init_params::<f32>(&m, 0).unwrap();
    let net = Lowered::new(&m, &params).unwrap();
    let (x, _) = batch::<f32>(&other, 2, 1);
    let mut tape = Tape::new();
    let xi = tape.input(&x);
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let r = net.forward(
        &mut tape,
        &mut params,
        xi,
        Targets::Classes(&[0, 1]),
        Phase::Eval,
        &mut rng,
    );
    assert!(r.is_err());
}

#[test]
fn initialisation_is_seeded_and_pytorch_shaped() {
    let m = model("models/mnist.net");
    let a = init_params::<f32>(&m, 7).unwrap();
    let b = init_params::<f32>(&m, 7).unwrap();
    let c = init_params::<f32>(&m, 8).unwrap();
    let names: Vec<(&str, Vec<usize>)> = a
        .iter()
        .map(|p| (p.name.as_str(), p.dims.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("h.weight", vec![128, 784]),
            ("h.bias", vec![128]),
            ("out.weight", vec![10, 128]),
            ("out.bias", vec![10]),
        ]
    );
    let bound = 1.0 / (784f32).sqrt();
    assert!(
        a.iter()
            .next()
            .unwrap()
            .value
            .as_slice()
            .iter()
            .all(|v| v.abs() <= bound)
    );
    assert_eq!(
        a.value(a.ids().next().unwrap()),
        b.value(b.ids().next().unwrap())
    );
    assert_ne!(
        a.value(a.ids().next().unwrap()),
        c.value(c.ids().next().unwrap())
    );
}

// ---- against PyTorch: the reference files in ../shared/reference ----

fn reference(name: &str) -> Option<Tensors> {
    shared(&format!("reference/{name}")).map(|p| Tensors::read(&p))
}

/// The reference file's weights, under the model's parameter names.
fn load<T: Real>(m: &Model, file: &Tensors) -> Params<T> {
    let mut params = init_params::<T>(m, 0).unwrap();
    for id in params.clone().ids() {
        let name = params.name(id).to_string();
        let v = file.values(&name);
        let dst = params.get_mut(id).value.as_mut_slice();
        assert_eq!(dst.len(), v.len(), "{name}");
        for (d, s) in dst.iter_mut().zip(v) {
            *d = T::from_f64(s);
        }
    }
    params
}

fn tensor<T: Real>(file: &Tensors, name: &str) -> Tensor<T> {
    let (shape, v) = file.get(name);
    Tensor::from_vec(shape[0], shape[1], v.into_iter().map(T::from_f64).collect()).unwrap()
}

/// Loss, activations and gradients of one pass through the lowered model,
/// compared with PyTorch's.
fn compare<T: Real>(m: &Model, file: &Tensors, phase: Phase, rel: f64) {
    let mut params = load::<T>(m, file);
    let x = tensor::<T>(file, "x");
    let y: Vec<u32> = file.values("y").iter().map(|v| *v as u32).collect();
    let (f, mut tape) = record(m, &mut params, &x, &y, phase, 0);
    tape.backward(f.loss, &mut params).unwrap();
    let to64 = |v: &[T]| v.iter().map(|x| x.to_f64()).collect::<Vec<f64>>();
    let loss = tape.scalar(f.loss).unwrap().to_f64();
    let want = file.values("loss")[0];
    assert!(
        (loss - want).abs() <= rel * want.abs(),
        "loss {loss} vs {want}"
    );
    for (b, node) in m.bindings.iter().zip(&f.activations) {
        let name = &b.name;
        let act = to64(tape.value(*node).unwrap());
        assert_close(
            &format!("act/{name}"),
            &act,
            &file.values(&format!("act/{name}")),
            rel,
        );
        let grad = to64(tape.grad(*node).unwrap().unwrap());
        let want = file.values(&format!("grad_act/{name}"));
        assert_close(&format!("grad_act/{name}"), &grad, &want, rel);
    }
    for p in params.iter() {
        let want = file.values(&format!("grad/{}", p.name));
        assert_close(
            &format!("grad/{}", p.name),
            &to64(p.grad.as_slice()),
            &want,
            rel,
        );
    }
}

#[test]
fn the_mlp_file_matches_pytorch() {
    let Some(file) = reference("mlp_penalties.safetensors") else {
        return;
    };
    let m = model("models/mlp.net");
    compare::<f32>(&m, &file, Phase::Train, 1e-5);
    compare::<f64>(&m, &file, Phase::Train, 1e-10);
}

#[test]
fn the_mnist_file_with_classic_dropout_at_evaluation_matches_pytorch() {
    let Some(file) = reference("two_layer_eval_classic.safetensors") else {
        return;
    };
    let src = std::fs::read_to_string("models/mnist.net").unwrap();
    let src = src.replace("dropout(h, 0.5)", "dropout(h, 0.5, mode: classic)");
    let m = from_source("classic.net", &src);
    compare::<f32>(&m, &file, Phase::Eval, 1e-5);
    compare::<f64>(&m, &file, Phase::Eval, 1e-10);
}
