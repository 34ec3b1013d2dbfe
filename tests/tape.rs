//! The tape's contract: accumulation, errors, buffer reuse, dropout, stability.

use netc::{DropoutMode, Error, Linear, Params, Phase, Tape, Tensor};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

fn t(rows: usize, cols: usize, v: &[f64]) -> Tensor<f64> {
    Tensor::from_vec(rows, cols, v.to_vec()).unwrap()
}

#[test]
fn a_value_used_twice_gets_the_sum_of_both_gradients() {
    let mut params = Params::new();
    let a = params.add("a", t(1, 2, &[1.5, -2.0])).unwrap();
    let mut tape = Tape::new();
    let x = tape.param(&params, a);
    let y = tape.add(x, x).unwrap();
    let h = tape.scale(y, 3.0).unwrap();
    let z = tape.add(h, h).unwrap();
    let s = tape.sum(z).unwrap();
    tape.backward(s, &mut params).unwrap();
    assert_eq!(params.grad(a).as_slice(), &[12.0, 12.0]);
    assert_eq!(tape.grad(h).unwrap().unwrap(), &[2.0, 2.0]);
    // A parameter's gradient is in the store, not on the tape.
    assert_eq!(tape.grad(x).unwrap(), None);
}

#[test]
fn a_parameter_recorded_twice_accumulates_into_the_store() {
    let mut params = Params::new();
    let a = params.add("a", t(1, 1, &[3.0])).unwrap();
    let mut tape = Tape::new();
    let x1 = tape.param(&params, a);
    let x2 = tape.param(&params, a);
    let y = tape.matmul(x1, x2).unwrap(); // a², d/da = 2a
    tape.backward(y, &mut params).unwrap();
    assert_eq!(params.grad(a).as_slice(), &[6.0]);
    // The loss may be a parameter itself.
    tape.clear();
    let x = tape.param(&params, a);
    tape.backward(x, &mut params).unwrap();
    assert_eq!(params.grad(a).as_slice(), &[7.0]);
    params.zero_grads();
    params.get_mut(a).grad.as_mut_slice()[0] = 6.0;
    // A second pass adds on top until the grads are zeroed.
    tape.clear();
    let x = tape.param(&params, a);
    let y = tape.scale(x, 1.0).unwrap();
    tape.backward(y, &mut params).unwrap();
    assert_eq!(params.grad(a).as_slice(), &[7.0]);
    params.zero_grads();
    assert_eq!(params.grad(a).as_slice(), &[0.0]);
}

#[test]
fn a_parameter_that_changed_shape_is_refused_not_misread() {
    let mut params = Params::new();
    let a = params.add("a", t(1, 2, &[1.0, 2.0])).unwrap();
    let mut tape = Tape::new();
    let x = tape.param(&params, a);
    let s = tape.sum(x).unwrap();
    let p = params.get_mut(a);
    (p.value, p.grad) = (t(1, 3, &[0.0; 3]), t(1, 3, &[0.0; 3]));
    let err = tape.backward(s, &mut params).unwrap_err();
    assert!(err.to_string().contains("changed shape"), "{err}");
    assert_eq!(params.grad(a).as_slice(), &[0.0; 3]);
}

#[test]
fn backward_twice_is_an_error() {
    let mut params = Params::<f64>::new();
    let mut tape = Tape::new();
    let x = tape.input(&t(1, 1, &[1.0]));
    let y = tape.relu(x).unwrap();
    tape.backward(y, &mut params).unwrap();
    assert_eq!(tape.backward(y, &mut params), Err(Error::BackwardTwice));
}

#[test]
fn backward_on_a_non_scalar_is_an_error() {
    let mut params = Params::<f64>::new();
    let mut tape = Tape::new();
    let x = tape.input(&t(2, 3, &[1.0; 6]));
    let err = tape.backward(x, &mut params).unwrap_err();
    assert_eq!(err, Error::NotScalar(2, 3));
    assert_eq!(
        err.to_string(),
        "backward needs a scalar (1x1) loss, got a 2x3 tensor"
    );
}

#[test]
fn a_node_from_a_cleared_pass_is_refused() {
    let mut tape = Tape::<f32>::new();
    let x = tape.input(&Tensor::zeros(1, 1));
    tape.clear();
    let _ = tape.input(&Tensor::zeros(1, 1));
    assert!(matches!(tape.relu(x), Err(Error::StaleNode(0))));
}

#[test]
fn shape_mismatches_name_the_op_and_both_shapes() {
    let mut tape = Tape::<f32>::new();
    let a = tape.input(&Tensor::zeros(2, 3));
    let b = tape.input(&Tensor::zeros(4, 5));
    let err = tape.matmul(a, b).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul: shapes do not match: (2, 3) and (4, 5)"
    );
    assert!(tape.add(a, b).is_err());
    assert!(tape.bias_add(a, b).is_err());
    assert!(tape.mse(a, b).is_err());
}

#[test]
fn bad_labels_are_refused() {
    let mut tape = Tape::<f32>::new();
    let x = tape.input(&Tensor::zeros(2, 3));
    assert_eq!(
        tape.cross_entropy(x, &[0]).unwrap_err().to_string(),
        "cross_entropy: 1 labels for a batch of 2"
    );
    assert_eq!(
        tape.nll(x, &[0, 3]).unwrap_err().to_string(),
        "nll: label 3 is out of range for 3 classes"
    );
}

#[test]
fn the_tape_reuses_its_buffers_between_passes() {
    // A small layer, and one big enough (behind dropout 0.75) for the sparse
    // weight gradient, whose share of nonzeros changes from pass to pass.
    for (inputs, units, batch, p) in [(8, 4, 16, 0.5), (300, 128, 64, 0.75)] {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let mut params = Params::<f32>::new();
        let l = Linear::new(&mut params, "fc", inputs, units, true, &mut rng).unwrap();
        let x = Tensor::from_fn(batch, inputs, |r, c| ((r + c) % 3) as f32);
        let labels = vec![1; batch];
        let mut tape = Tape::new();
        let mut pass = |tape: &mut Tape<f32>, params: &mut Params<f32>| {
            tape.clear();
            let xi = tape.input(&x);
            let h = l.forward(tape, params, xi).unwrap();
            let d = tape
                .dropout(h, p, DropoutMode::Inverted, Phase::Train, &mut rng)
                .unwrap();
            let loss = tape.cross_entropy(d, &labels).unwrap();
            tape.backward(loss, params).unwrap();
        };
        pass(&mut tape, &mut params);
        let before = tape.capacities();
        for _ in 0..5 {
            pass(&mut tape, &mut params);
        }
        assert_eq!(tape.capacities(), before, "{inputs}->{units}");
    }
}

#[test]
fn dropout_keeps_about_one_minus_p_and_is_seeded() {
    let x = Tensor::<f32>::from_fn(100, 1000, |_, _| 1.0);
    for p in [0.1, 0.5, 0.9] {
        let mut tape = Tape::new();
        let xi = tape.input(&x);
        let run = |tape: &mut Tape<f32>, seed| {
            let d = tape
                .dropout(
                    xi,
                    p,
                    DropoutMode::Inverted,
                    Phase::Train,
                    &mut Pcg64Mcg::seed_from_u64(seed),
                )
                .unwrap();
            tape.value(d).unwrap().to_vec()
        };
        let a = run(&mut tape, 7);
        let b = run(&mut tape, 7);
        let c = run(&mut tape, 8);
        assert_eq!(a, b, "same seed, same mask");
        assert_ne!(a, c, "another seed, another mask");
        let kept = a.iter().filter(|&&v| v != 0.0).count() as f64 / a.len() as f64;
        assert!((kept - (1.0 - p)).abs() < 0.005, "p={p}: kept {kept}");
        // Inverted: kept units are scaled so the expectation is unchanged.
        let scale = (1.0 / (1.0 - p)) as f32;
        assert!(a.iter().all(|&v| v == 0.0 || v == scale));
    }
}

#[test]
fn dropout_modes_at_train_and_eval() {
    let x = t(1, 4, &[1.0, 2.0, 3.0, 4.0]);
    let keep = [true, false, true, true];
    let mut tape = Tape::new();
    let xi = tape.input(&x);
    let inv = tape
        .dropout_with_mask(xi, 0.5, DropoutMode::Inverted, &keep)
        .unwrap();
    let cls = tape
        .dropout_with_mask(xi, 0.5, DropoutMode::Classic, &keep)
        .unwrap();
    assert_eq!(tape.value(inv).unwrap(), &[2.0, 0.0, 6.0, 8.0]);
    assert_eq!(tape.value(cls).unwrap(), &[1.0, 0.0, 3.0, 4.0]);
    assert_eq!(tape.dropout_mask(inv).unwrap().unwrap(), keep.to_vec());
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let inv = tape
        .dropout(xi, 0.5, DropoutMode::Inverted, Phase::Eval, &mut rng)
        .unwrap();
    let cls = tape
        .dropout(xi, 0.25, DropoutMode::Classic, Phase::Eval, &mut rng)
        .unwrap();
    assert_eq!(tape.value(inv).unwrap(), &[1.0, 2.0, 3.0, 4.0]);
    assert_eq!(tape.value(cls).unwrap(), &[0.75, 1.5, 2.25, 3.0]);
}

#[test]
fn dropout_probability_must_be_in_0_1() {
    let mut tape = Tape::<f32>::new();
    let x = tape.input(&Tensor::zeros(1, 4));
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    for p in [-0.1, 1.0, 1.5, f64::NAN, f64::INFINITY] {
        let err = tape.dropout(x, p, DropoutMode::Inverted, Phase::Train, &mut rng);
        assert!(matches!(err, Err(Error::BadProbability(_))), "p={p}");
    }
    let p0 = tape
        .dropout(x, 0.0, DropoutMode::Inverted, Phase::Train, &mut rng)
        .unwrap();
    assert!(tape.dropout_mask(p0).unwrap().unwrap().iter().all(|&k| k));
}

#[test]
fn l2_at_zero_has_a_zero_gradient() {
    let mut params = Params::new();
    let a = params.add("a", t(1, 3, &[0.0; 3])).unwrap();
    let mut tape = Tape::new();
    let x = tape.param(&params, a);
    let n = tape.l2(x).unwrap();
    tape.backward(n, &mut params).unwrap();
    assert_eq!(tape.scalar(n).unwrap(), 0.0);
    assert_eq!(params.grad(a).as_slice(), &[0.0; 3]);
}

#[test]
fn softmax_losses_are_stable_for_huge_logits() {
    let mut params = Params::new();
    let a = params
        .add(
            "a",
            Tensor::<f32>::from_vec(2, 3, vec![1e4, -1e4, 0.0, -1e4, 1e4, 1e4]).unwrap(),
        )
        .unwrap();
    let mut tape = Tape::new();
    let x = tape.param(&params, a);
    let ce = tape.cross_entropy(x, &[0, 0]).unwrap();
    let lp = tape.log_softmax(x).unwrap();
    let sm = tape.softmax(x).unwrap();
    let nll = tape.nll(lp, &[0, 0]).unwrap();
    let loss = tape.add(ce, nll).unwrap();
    tape.backward(loss, &mut params).unwrap();
    let ce = tape.scalar(ce).unwrap();
    assert!((ce - 1e4).abs() < 1.0, "ce {ce}"); // row 0 is right (0), row 1 is off by 2e4, mean 1e4
    assert!(tape.value(lp).unwrap().iter().all(|v| v.is_finite()));
    assert!(tape.value(sm).unwrap().iter().all(|v| v.is_finite()));
    assert!(params.grad(a).as_slice().iter().all(|v| v.is_finite()));
}

#[test]
fn linear_init_follows_pytorch_bounds_and_seed() {
    let make = |seed| {
        let mut params = Params::<f32>::new();
        Linear::new(
            &mut params,
            "h1",
            128,
            32,
            true,
            &mut Pcg64Mcg::seed_from_u64(seed),
        )
        .unwrap();
        params
    };
    let (a, b, c) = (make(0), make(0), make(1));
    assert_eq!(a.get(a.id("h1.weight").unwrap()).dims, vec![32, 128]);
    assert_eq!(a.get(a.id("h1.bias").unwrap()).dims, vec![32]);
    let bound = 1.0 / (128f32).sqrt();
    for p in a.iter() {
        assert!(p.value.as_slice().iter().all(|v| v.abs() <= bound));
    }
    let w = |p: &Params<f32>| p.value(p.id("h1.weight").unwrap()).as_slice().to_vec();
    assert_eq!(w(&a), w(&b));
    assert_ne!(w(&a), w(&c));
    // Spread over the whole interval, not a corner of it.
    let max = w(&a).iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(max > 0.95 * bound);
}

#[test]
fn truncate_replays_passes_on_a_shared_prefix() {
    let mut params = Params::new();
    let a = params.add("a", t(2, 2, &[1.0, -2.0, 3.0, -4.0])).unwrap();
    let mut tape = Tape::new();
    let x = tape.param(&params, a);
    let mark = tape.len();
    let pass = |tape: &mut Tape<f64>, params: &mut Params<f64>, seed| {
        tape.truncate(mark);
        params.zero_grads();
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let d = tape
            .dropout(x, 0.5, DropoutMode::Inverted, Phase::Train, &mut rng)
            .unwrap();
        let loss = tape.cross_entropy(d, &[0, 1]).unwrap();
        tape.backward(loss, params).unwrap();
        (
            tape.value(d).unwrap().to_vec(),
            params.grad(a).as_slice().to_vec(),
        )
    };
    let first = pass(&mut tape, &mut params, 3);
    let _ = pass(&mut tape, &mut params, 4);
    assert_eq!(pass(&mut tape, &mut params, 3), first);
    assert_eq!(tape.len(), mark + 2);
}

#[test]
fn empty_inner_dimensions_give_zero_products_on_a_reused_tape() {
    let mut tape = Tape::<f64>::new();
    let mut params = Params::new();
    let a = params.add("a", Tensor::zeros(3, 0)).unwrap();
    let b = params.add("b", Tensor::zeros(0, 2)).unwrap();
    let c = params.add("c", t(3, 2, &[1.0; 6])).unwrap();
    for fill in [f64::NAN, 0.0] {
        tape.clear();
        let ci = tape.param(&params, c);
        let junk = tape.scale(ci, fill).unwrap();
        let s = tape.sum(junk).unwrap();
        tape.backward(s, &mut params).unwrap();
        tape.clear();
        let (ai, bi, ci) = (
            tape.param(&params, a),
            tape.param(&params, b),
            tape.param(&params, c),
        );
        let p = tape.matmul(ai, bi).unwrap();
        assert_eq!(tape.value(p).unwrap(), &[0.0; 6]);
        let q = tape.add(p, ci).unwrap();
        let s = tape.sumsq(q).unwrap();
        params.zero_grads();
        tape.backward(s, &mut params).unwrap();
        assert_eq!(tape.grad(q).unwrap().unwrap(), &[2.0; 6]);
        assert_eq!(params.grad(c).as_slice(), &[2.0; 6]);
    }
}

#[test]
fn a_layer_reading_the_store_refuses_a_store_changed_before_backward() {
    let mut rng = Pcg64Mcg::seed_from_u64(4);
    let mut params = Params::<f64>::new();
    let l = Linear::new(&mut params, "fc", 3, 2, true, &mut rng).unwrap();
    let x = t(2, 3, &[0.5, -1.0, 2.0, 1.5, 0.25, -0.5]);
    let record = |tape: &mut Tape<f64>, params: &Params<f64>| {
        tape.clear();
        let xi = tape.input(&x);
        let h = l.forward(tape, params, xi).unwrap();
        let h = tape.tanh(h).unwrap();
        tape.sum(h).unwrap()
    };
    let mut tape = Tape::new();
    // Zeroing the gradients in between is fine: the values are untouched.
    let s = record(&mut tape, &params);
    params.zero_grads();
    tape.backward(s, &mut params).unwrap();
    let good = params.grad(l.weight).as_slice().to_vec();
    assert!(good.iter().any(|&g| g != 0.0));

    // A value changed after recording: backward refuses, the store is untouched.
    params.zero_grads();
    let s = record(&mut tape, &params);
    let w0 = params.value(l.weight).as_slice()[0];
    params.get_mut(l.weight).value.as_mut_slice()[0] = w0 + 1.0;
    let err = tape.backward(s, &mut params).unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");
    assert!(params.grad(l.weight).as_slice().iter().all(|&g| g == 0.0));

    // Another store (even a copy that has since diverged) is refused too.
    let s = record(&mut tape, &params);
    let mut other = params.clone();
    other.get_mut(l.weight).value.as_mut_slice()[0] = w0;
    assert!(tape.backward(s, &mut other).is_err());

    // A new recording sees the new values.
    params.get_mut(l.weight).value.as_mut_slice()[0] = w0;
    let s = record(&mut tape, &params);
    params.zero_grads();
    tape.backward(s, &mut params).unwrap();
    assert_eq!(params.grad(l.weight).as_slice(), &good[..]);
}

#[test]
fn the_store_cannot_change_in_the_middle_of_a_pass() {
    let mut rng = Pcg64Mcg::seed_from_u64(4);
    let mut params = Params::<f32>::new();
    let a = Linear::new(&mut params, "a", 3, 3, false, &mut rng).unwrap();
    let mut tape = Tape::new();
    let xi = tape.input(&Tensor::zeros(1, 3));
    let h = a.forward(&mut tape, &params, xi).unwrap();
    params.get_mut(a.weight).value.as_mut_slice()[0] = 9.0;
    let err = a.forward(&mut tape, &params, h).unwrap_err();
    assert!(err.to_string().contains("changed"), "{err}");
    // Replaying after the shared prefix (the input) starts afresh.
    tape.truncate(1);
    let h = a.forward(&mut tape, &params, xi).unwrap();
    let s = tape.sum(h).unwrap();
    tape.backward(s, &mut params).unwrap();
}

#[test]
fn a_stored_layer_checks_its_shapes() {
    let mut params = Params::<f32>::new();
    let w = params.add("w", Tensor::zeros(2, 3)).unwrap();
    let b = params.add("b", Tensor::zeros(1, 4)).unwrap();
    let mut tape = Tape::new();
    let x = tape.input(&Tensor::zeros(5, 4));
    let err = tape.linear_param(&params, x, w, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        "matmul_nt: shapes do not match: (5, 4) and (2, 3)"
    );
    let x = tape.input(&Tensor::zeros(5, 3));
    let err = tape.linear_param(&params, x, w, Some(b)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "bias_add: shapes do not match: (5, 2) and (1, 4)"
    );
    let other = Params::<f32>::new();
    assert!(tape.linear_param(&other, x, w, None).is_err());
    // A parameter as the input takes another path; a foreign store is an
    // error there too, not a panic.
    let xp = tape.param(&params, b);
    let err = tape.linear_param(&other, xp, w, None).unwrap_err();
    assert_eq!(err.to_string(), "parameter #0 is not in this store");
}

/// Output, input gradient and parameter gradients of one linear layer behind
/// ReLU and dropout (so the output gradient is mostly zero, as in the MNIST
/// net), recorded by `layer` on a fresh tape.
fn linear_pass(
    shape: (usize, usize, usize),
    layer: impl Fn(&mut Tape<f32>, &Params<f32>, netc::NodeId) -> netc::NodeId,
) -> (Vec<f32>, Vec<f32>, Vec<Vec<f32>>) {
    let (m, k, n) = shape;
    let mut rng = Pcg64Mcg::seed_from_u64(7);
    let mut params = Params::new();
    Linear::new(&mut params, "l", k, n, true, &mut rng).unwrap();
    let x0 = params
        .add(
            "x",
            Tensor::from_fn(m, k, |r, c| ((r * 31 + c * 17) % 23) as f32 / 11.0 - 1.0),
        )
        .unwrap();
    let mut tape = Tape::new();
    let x0 = tape.param(&params, x0);
    let x = tape.scale(x0, 1.0).unwrap();
    let y = layer(&mut tape, &params, x);
    let h = tape.relu(y).unwrap();
    let h = tape
        .dropout(h, 0.5, DropoutMode::Inverted, Phase::Train, &mut rng)
        .unwrap();
    let loss = tape.sumsq(h).unwrap();
    tape.backward(loss, &mut params).unwrap();
    let grads = params.iter().map(|p| p.grad.as_slice().to_vec()).collect();
    let gx = tape.grad(x).unwrap().unwrap().to_vec();
    (tape.value(y).unwrap().to_vec(), gx, grads)
}

#[test]
fn every_spelling_of_a_linear_layer_gives_the_same_bits() {
    // Shapes for each kernel: the register loops, faer, and faer forward with
    // the sparse weight gradient backward.
    for shape in [(4, 16, 8), (8, 96, 64), (64, 784, 128)] {
        let stored = linear_pass(shape, |t, p, x| {
            let (w, b) = (p.id("l.weight").unwrap(), p.id("l.bias").unwrap());
            t.linear_param(p, x, w, Some(b)).unwrap()
        });
        let nodes = linear_pass(shape, |t, p, x| {
            let w = t.param(p, p.id("l.weight").unwrap());
            let b = t.param(p, p.id("l.bias").unwrap());
            t.linear(x, w, Some(b)).unwrap()
        });
        assert!(stored == nodes, "linear vs linear_param at {shape:?}");
        let no_bias = |nt: bool| {
            linear_pass(shape, move |t, p, x| {
                let w = p.id("l.weight").unwrap();
                if nt {
                    let w = t.param(p, w);
                    t.matmul_nt(x, w).unwrap()
                } else {
                    t.linear_param(p, x, w, None).unwrap()
                }
            })
        };
        assert!(no_bias(true) == no_bias(false), "matmul_nt at {shape:?}");
    }
}

#[test]
fn truncate_keeps_the_masks_and_labels_of_the_prefix() {
    // The prefix records a mask and labels; each replay records more of both.
    let x = Tensor::from_fn(4, 6, |r, c| (r as f64 - c as f64) / 3.0);
    let prefix = |tape: &mut Tape<f64>, rng: &mut Pcg64Mcg| {
        let xi = tape.input(&x);
        let d = tape
            .dropout(xi, 0.3, DropoutMode::Inverted, Phase::Train, rng)
            .unwrap();
        let l = tape.cross_entropy(d, &[0, 5, 2, 3]).unwrap();
        (d, l)
    };
    let replay = |tape: &mut Tape<f64>, d, l, rng: &mut Pcg64Mcg| {
        let e = tape
            .dropout(d, 0.6, DropoutMode::Classic, Phase::Train, rng)
            .unwrap();
        let ls = tape.log_softmax(e).unwrap();
        let n = tape.nll(ls, &[1, 1, 4, 0]).unwrap();
        let s = tape.add(l, n).unwrap();
        (tape.scalar(s).unwrap(), tape.dropout_mask(e).unwrap())
    };
    let mut rng = Pcg64Mcg::seed_from_u64(11);
    let mut tape = Tape::new();
    let (d, l) = prefix(&mut tape, &mut rng);
    let (mark, mask_d) = (tape.len(), tape.dropout_mask(d).unwrap());
    let mut replays = Vec::new();
    for seed in [1, 2, 1] {
        tape.truncate(mark);
        replays.push(replay(&mut tape, d, l, &mut Pcg64Mcg::seed_from_u64(seed)));
        assert_eq!(tape.dropout_mask(d).unwrap(), mask_d);
    }
    assert_eq!(replays[0], replays[2]);
    // The same as recording prefix and replay on a fresh tape.
    let mut fresh = Tape::new();
    let (d, l) = prefix(&mut fresh, &mut Pcg64Mcg::seed_from_u64(11));
    let want = replay(&mut fresh, d, l, &mut Pcg64Mcg::seed_from_u64(1));
    assert_eq!(replays[0], want);
}
