//! netc against PyTorch on the same numbers: `../shared/reference/*.safetensors`
//! hold fixed weights, a batch, and PyTorch's (float64) loss, activations and
//! gradients. The nets are built by hand on the tape, in f32 and in f64.

mod common;

use common::{Tensors, assert_close, shared};
use netc::{
    BnStats, Conv2dGeom, DropoutMode, NodeId, Params, Phase, Pool2dGeom, Real, Tape, Tensor,
};

/// One forward+backward; returns (loss, named activations, param gradients).
struct Outcome {
    loss: f64,
    acts: Vec<(String, Vec<f64>, Vec<f64>)>,
    params: Vec<(String, Vec<f64>)>,
}

fn load_params<T: Real>(file: &Tensors, names: &[&str]) -> Params<T> {
    let mut params = Params::new();
    for layer in names {
        for part in ["weight", "bias"] {
            let name = format!("{layer}.{part}");
            let (shape, v) = file.get(&name);
            let (r, c) = as_rows(&shape);
            let t = Tensor::from_vec(r, c, v.into_iter().map(T::from_f64).collect()).unwrap();
            params.add_with_dims(name, t, shape).unwrap();
        }
    }
    params
}

/// A tensor's shape on the tape: a vector is a row, and everything after the
/// first dimension is one row (a conv weight `[out, in, k, k]` -> `[out, in·k·k]`).
fn as_rows(shape: &[usize]) -> (usize, usize) {
    match shape {
        [n] => (1, *n),
        [n, rest @ ..] => (*n, rest.iter().product()),
        [] => (1, 1),
    }
}

fn input<T: Real>(tape: &mut Tape<T>, file: &Tensors, name: &str) -> NodeId {
    let (shape, v) = file.get(name);
    let (r, c) = as_rows(&shape);
    let t = Tensor::from_vec(r, c, v.into_iter().map(T::from_f64).collect()).unwrap();
    tape.input(&t)
}

fn labels(file: &Tensors) -> Vec<u32> {
    file.values("y").into_iter().map(|v| v as u32).collect()
}

fn finish<T: Real>(
    mut tape: Tape<T>,
    mut params: Params<T>,
    loss: NodeId,
    acts: &[(&str, NodeId)],
) -> Outcome {
    tape.backward(loss, &mut params).unwrap();
    let f = |v: &[T]| v.iter().map(|x| x.to_f64()).collect::<Vec<_>>();
    Outcome {
        loss: tape.scalar(loss).unwrap().to_f64(),
        acts: acts
            .iter()
            .map(|(n, id)| {
                (
                    n.to_string(),
                    f(tape.value(*id).unwrap()),
                    f(tape.grad(*id).unwrap().unwrap()),
                )
            })
            .collect(),
        params: params
            .iter()
            .map(|p| (p.name.clone(), f(p.grad.as_slice())))
            .collect(),
    }
}

fn mlp<T: Real>(file: &Tensors) -> Outcome {
    let params = load_params::<T>(file, &["h1", "h2", "out"]);
    let mut tape = Tape::new();
    let x = input(&mut tape, file, "x");
    let layer = |tape: &mut Tape<T>, name: &str, x| {
        let w = tape.param(&params, params.id(&format!("{name}.weight")).unwrap());
        let b = tape.param(&params, params.id(&format!("{name}.bias")).unwrap());
        tape.linear(x, w, Some(b)).unwrap()
    };
    let h1 = layer(&mut tape, "h1", x);
    let h1 = tape.relu(h1).unwrap();
    let h2 = layer(&mut tape, "h2", h1);
    let h2 = tape.relu(h2).unwrap();
    let out = layer(&mut tape, "out", h2);
    let ce = tape.cross_entropy(out, &labels(file)).unwrap();
    let l1 = tape.l1(h1).unwrap();
    let l1 = tape.scale(l1, T::from_f64(0.5)).unwrap();
    let l2 = tape.l2(h2).unwrap();
    let l2 = tape.scale(l2, T::from_f64(0.01)).unwrap();
    let loss = tape.add(ce, l1).unwrap();
    let loss = tape.add(loss, l2).unwrap();
    finish(tape, params, loss, &[("h1", h1), ("h2", h2), ("out", out)])
}

fn two_layer<T: Real>(file: &Tensors, train: bool, mode: DropoutMode) -> Outcome {
    let params = load_params::<T>(file, &["h", "out"]);
    let mut tape = Tape::new();
    let x = input(&mut tape, file, "x");
    let p = |tape: &mut Tape<T>, n: &str| tape.param(&params, params.id(n).unwrap());
    let (w, b) = (p(&mut tape, "h.weight"), p(&mut tape, "h.bias"));
    let h = tape.linear(x, w, Some(b)).unwrap();
    let h = tape.relu(h).unwrap();
    let d = if train {
        let keep: Vec<bool> = file.values("mask/d").iter().map(|&m| m != 0.0).collect();
        tape.dropout_with_mask(h, 0.5, mode, &keep).unwrap()
    } else {
        let mut rng = <rand_pcg::Pcg64Mcg as rand::SeedableRng>::seed_from_u64(0);
        tape.dropout(h, 0.5, mode, Phase::Eval, &mut rng).unwrap()
    };
    let (w, b) = (p(&mut tape, "out.weight"), p(&mut tape, "out.bias"));
    let z = tape.linear(d, w, Some(b)).unwrap();
    let out = tape.log_softmax(z).unwrap();
    let loss = tape.nll(out, &labels(file)).unwrap();
    finish(tape, params, loss, &[("h", h), ("d", d), ("out", out)])
}

/// `c1 = relu(conv2d(x, 4, 3))` on `[1, 10, 10]`, `p1 = max_pool2d(c1, 2)`,
/// `out = linear(flatten(p1), 3)`; `cross_entropy + 0.01·l1(c1)`.
fn conv_small<T: Real>(file: &Tensors) -> Outcome {
    let params = load_params::<T>(file, &["c1", "out"]);
    let mut tape = Tape::new();
    let x = input(&mut tape, file, "x");
    let id = |n: &str| params.id(n).unwrap();
    let g = Conv2dGeom {
        in_c: 1,
        in_h: 10,
        in_w: 10,
        out_c: 4,
        kernel: 3,
        stride: 1,
        padding: 0,
    };
    let c = tape
        .conv2d_param(&params, x, id("c1.weight"), Some(id("c1.bias")), g)
        .unwrap();
    let c1 = tape.relu(c).unwrap();
    let pool = Pool2dGeom {
        c: 4,
        h: 8,
        w: 8,
        kernel: 2,
        stride: 2,
    };
    let p1 = tape.max_pool2d(c1, pool).unwrap();
    let (w, b) = (
        tape.param(&params, id("out.weight")),
        tape.param(&params, id("out.bias")),
    );
    let out = tape.linear(p1, w, Some(b)).unwrap();
    let ce = tape.cross_entropy(out, &labels(file)).unwrap();
    let l1 = tape.l1(c1).unwrap();
    let l1 = tape.scale(l1, T::from_f64(0.01)).unwrap();
    let loss = tape.add(ce, l1).unwrap();
    finish(tape, params, loss, &[("c1", c1), ("p1", p1), ("out", out)])
}

/// `c = tanh(conv2d(x, 5, 3, stride 2, padding 1))` on `[3, 9, 9]`,
/// `out = linear(flatten(c), 2)`; `mse(out, y)`. The weight as a node here.
fn conv_stride_pad<T: Real>(file: &Tensors) -> Outcome {
    let params = load_params::<T>(file, &["c", "out"]);
    let mut tape = Tape::new();
    let x = input(&mut tape, file, "x");
    let p = |tape: &mut Tape<T>, n: &str| tape.param(&params, params.id(n).unwrap());
    let g = Conv2dGeom {
        in_c: 3,
        in_h: 9,
        in_w: 9,
        out_c: 5,
        kernel: 3,
        stride: 2,
        padding: 1,
    };
    let (w, b) = (p(&mut tape, "c.weight"), p(&mut tape, "c.bias"));
    let c = tape.conv2d(x, w, Some(b), g).unwrap();
    let c = tape.tanh(c).unwrap();
    let (w, b) = (p(&mut tape, "out.weight"), p(&mut tape, "out.bias"));
    let out = tape.linear(c, w, Some(b)).unwrap();
    let y = input(&mut tape, file, "y");
    let loss = tape.mse(out, y).unwrap();
    finish(tape, params, loss, &[("c", c), ("out", out)])
}

/// `h = linear(x, 6)`, `b = relu(batch_norm(h))` in training,
/// `out = linear(b, 3)`; `cross_entropy + 0.1·sumsq(b)`.
fn bn_train<T: Real>(file: &Tensors) -> Outcome {
    let params = load_params::<T>(file, &["h", "b", "out"]);
    let mut tape = Tape::new();
    let x = input(&mut tape, file, "x");
    let p = |tape: &mut Tape<T>, n: &str| tape.param(&params, params.id(n).unwrap());
    let (w, b) = (p(&mut tape, "h.weight"), p(&mut tape, "h.bias"));
    let h = tape.linear(x, w, Some(b)).unwrap();
    let (gamma, beta) = (p(&mut tape, "b.weight"), p(&mut tape, "b.bias"));
    let (mut mean, mut var) = (vec![T::ZERO; 6], vec![T::ONE; 6]);
    let stats = BnStats {
        running_mean: &mut mean,
        running_var: &mut var,
    };
    let bn = tape
        .batch_norm(h, gamma, beta, stats, 6, 1, Phase::Train)
        .unwrap();
    let bb = tape.relu(bn).unwrap();
    let (w, b) = (p(&mut tape, "out.weight"), p(&mut tape, "out.bias"));
    let out = tape.linear(bb, w, Some(b)).unwrap();
    let ce = tape.cross_entropy(out, &labels(file)).unwrap();
    let sq = tape.sumsq(bb).unwrap();
    let sq = tape.scale(sq, T::from_f64(0.1)).unwrap();
    let loss = tape.add(ce, sq).unwrap();
    finish(tape, params, loss, &[("h", h), ("b", bb), ("out", out)])
}

fn compare(file: &Tensors, got: &Outcome, rel: f64) {
    compare_but(file, got, rel, &[]);
}

/// [`compare`], leaving out the parameter gradients in `skip`.
fn compare_but(file: &Tensors, got: &Outcome, rel: f64, skip: &[&str]) {
    let want = file.values("loss")[0];
    assert!(
        (got.loss - want).abs() <= rel * want.abs(),
        "loss {} vs {want}",
        got.loss
    );
    for (name, act, grad) in &got.acts {
        assert_close(
            &format!("act/{name}"),
            act,
            &file.values(&format!("act/{name}")),
            rel,
        );
        assert_close(
            &format!("grad_act/{name}"),
            grad,
            &file.values(&format!("grad_act/{name}")),
            rel,
        );
    }
    for (name, grad) in got
        .params
        .iter()
        .filter(|(n, _)| !skip.contains(&n.as_str()))
    {
        assert_close(
            &format!("grad/{name}"),
            grad,
            &file.values(&format!("grad/{name}")),
            rel,
        );
    }
}

fn reference(name: &str) -> Option<Tensors> {
    shared(&format!("reference/{name}")).map(|p| Tensors::read(&p))
}

#[test]
fn mlp_with_l1_and_l2_penalties_matches_pytorch() {
    let Some(file) = reference("mlp_penalties.safetensors") else {
        return;
    };
    compare(&file, &mlp::<f32>(&file), 1e-5);
    compare(&file, &mlp::<f64>(&file), 1e-10);
}

#[test]
fn two_layer_inverted_dropout_in_training_matches_pytorch() {
    let Some(file) = reference("two_layer_dropout.safetensors") else {
        return;
    };
    compare(
        &file,
        &two_layer::<f32>(&file, true, DropoutMode::Inverted),
        1e-5,
    );
    compare(
        &file,
        &two_layer::<f64>(&file, true, DropoutMode::Inverted),
        1e-10,
    );
}

#[test]
fn two_layer_classic_dropout_at_evaluation_matches_pytorch() {
    let Some(file) = reference("two_layer_eval_classic.safetensors") else {
        return;
    };
    compare(
        &file,
        &two_layer::<f32>(&file, false, DropoutMode::Classic),
        1e-5,
    );
    compare(
        &file,
        &two_layer::<f64>(&file, false, DropoutMode::Classic),
        1e-10,
    );
}

#[test]
fn conv_relu_max_pool_linear_matches_pytorch() {
    let Some(file) = reference("conv_small.safetensors") else {
        return;
    };
    compare(&file, &conv_small::<f32>(&file), 1e-5);
    compare(&file, &conv_small::<f64>(&file), 1e-10);
}

#[test]
fn conv_with_stride_and_padding_matches_pytorch() {
    let Some(file) = reference("conv_stride_pad.safetensors") else {
        return;
    };
    compare(&file, &conv_stride_pad::<f32>(&file), 1e-5);
    compare(&file, &conv_stride_pad::<f64>(&file), 1e-10);
}

#[test]
fn batch_norm_in_training_matches_pytorch() {
    let Some(file) = reference("bn_train.safetensors") else {
        return;
    };
    // Batch norm takes out the mean of each feature, so the bias before it
    // has a gradient of exactly zero in theory: what is left is rounding,
    // measured against the scale of the gradient it sums (of `h`).
    for (got, rel) in [
        (bn_train::<f32>(&file), 1e-5),
        (bn_train::<f64>(&file), 1e-10),
    ] {
        compare_but(&file, &got, rel, &["h.bias"]);
        let scale = file
            .values("grad_act/h")
            .iter()
            .fold(0f64, |m, v| m.max(v.abs()));
        let (_, bias) = got.params.iter().find(|(n, _)| n == "h.bias").unwrap();
        assert!(bias.iter().all(|g| g.abs() <= rel * scale), "{bias:?}");
    }
}
