//! netc against PyTorch on the same numbers: `../shared/reference/*.safetensors`
//! hold fixed weights, a batch, and PyTorch's (float64) loss, activations and
//! gradients. The nets are built by hand on the tape, in f32 and in f64.

mod common;

use common::{Tensors, assert_close, shared};
use netc::{DropoutMode, NodeId, Params, Phase, Real, Tape, Tensor};

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
            let (r, c) = if shape.len() == 2 {
                (shape[0], shape[1])
            } else {
                (1, shape[0])
            };
            let t = Tensor::from_vec(r, c, v.into_iter().map(T::from_f64).collect()).unwrap();
            params.add_with_dims(name, t, shape).unwrap();
        }
    }
    params
}

fn input<T: Real>(tape: &mut Tape<T>, file: &Tensors, name: &str) -> NodeId {
    let (shape, v) = file.get(name);
    let t = Tensor::from_vec(shape[0], shape[1], v.into_iter().map(T::from_f64).collect()).unwrap();
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

fn compare(file: &Tensors, got: &Outcome, rel: f64) {
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
    for (name, grad) in &got.params {
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
