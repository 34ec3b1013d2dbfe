//! Gradients of small fixed networks, snapshotted (rounded to 5 significant
//! digits so the last bits of a SIMD kernel do not matter).

use netc::{DropoutMode, Linear, Params, Phase, Tape, Tensor};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::fmt::Write;

fn sig(v: f32) -> String {
    format!("{:.4e}", v)
}

/// Loss, then per parameter: shape, Σ|g|, Σg² and the first values (no plain
/// Σg: where it cancels to ~0 its digits are rounding noise).
fn report(loss: f32, params: &Params<f32>) -> String {
    let mut s = format!("loss {}\n", sig(loss));
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
    s
}

fn uniform(rows: usize, cols: usize, rng: &mut Pcg64Mcg) -> Tensor<f32> {
    Tensor::from_fn(rows, cols, |_, _| rng.random::<f32>())
}

#[test]
fn reference_mlp_gradients() {
    // 128→32→16→2, ReLU, batch 4 of uniform inputs, every label 1,
    // loss = cross_entropy + 0.5·l1(h1) + 0.01·l2(h2).
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let mut params = Params::new();
    let l1 = Linear::new(&mut params, "h1", 128, 32, true, &mut rng).unwrap();
    let l2 = Linear::new(&mut params, "h2", 32, 16, true, &mut rng).unwrap();
    let l3 = Linear::new(&mut params, "out", 16, 2, true, &mut rng).unwrap();
    let x = uniform(4, 128, &mut rng);
    let mut tape = Tape::new();
    let xi = tape.input(&x);
    let h1 = l1.forward(&mut tape, &params, xi).unwrap();
    let h1 = tape.relu(h1).unwrap();
    let h2 = l2.forward(&mut tape, &params, h1).unwrap();
    let h2 = tape.relu(h2).unwrap();
    let out = l3.forward(&mut tape, &params, h2).unwrap();
    let ce = tape.cross_entropy(out, &[1; 4]).unwrap();
    let p1 = tape.l1(h1).unwrap();
    let p1 = tape.scale(p1, 0.5).unwrap();
    let p2 = tape.l2(h2).unwrap();
    let p2 = tape.scale(p2, 0.01).unwrap();
    let loss = tape.add(ce, p1).unwrap();
    let loss = tape.add(loss, p2).unwrap();
    tape.backward(loss, &mut params).unwrap();
    insta::assert_snapshot!(report(tape.scalar(loss).unwrap(), &params));
}

#[test]
fn small_dropout_net_gradients() {
    // 6→5 tanh → dropout 0.5 (classic) → 3, log_softmax + nll, batch 3.
    let mut rng = Pcg64Mcg::seed_from_u64(1);
    let mut params = Params::new();
    let a = Linear::new(&mut params, "a", 6, 5, true, &mut rng).unwrap();
    let b = Linear::new(&mut params, "b", 5, 3, false, &mut rng).unwrap();
    let x = uniform(3, 6, &mut rng);
    let mut tape = Tape::new();
    let xi = tape.input(&x);
    let h = a.forward(&mut tape, &params, xi).unwrap();
    let h = tape.tanh(h).unwrap();
    let d = tape
        .dropout(h, 0.5, DropoutMode::Classic, Phase::Train, &mut rng)
        .unwrap();
    let z = b.forward(&mut tape, &params, d).unwrap();
    let lp = tape.log_softmax(z).unwrap();
    let loss = tape.nll(lp, &[0, 2, 1]).unwrap();
    tape.backward(loss, &mut params).unwrap();
    insta::assert_snapshot!(report(tape.scalar(loss).unwrap(), &params));
}

#[test]
fn small_regression_net_gradients() {
    // 4→3 sigmoid → 2, mse against fixed targets, + 1e-2·sumsq(weights).
    let mut rng = Pcg64Mcg::seed_from_u64(2);
    let mut params = Params::new();
    let a = Linear::new(&mut params, "a", 4, 3, true, &mut rng).unwrap();
    let b = Linear::new(&mut params, "b", 3, 2, true, &mut rng).unwrap();
    let x = uniform(5, 4, &mut rng);
    let y = uniform(5, 2, &mut rng);
    let mut tape = Tape::new();
    let xi = tape.input(&x);
    let yi = tape.input(&y);
    let h = a.forward(&mut tape, &params, xi).unwrap();
    let h = tape.sigmoid(h).unwrap();
    let out = b.forward(&mut tape, &params, h).unwrap();
    let mse = tape.mse(out, yi).unwrap();
    let w = tape.param(&params, a.weight);
    let pen = tape.sumsq(w).unwrap();
    let pen = tape.scale(pen, 1e-2).unwrap();
    let loss = tape.add(mse, pen).unwrap();
    tape.backward(loss, &mut params).unwrap();
    insta::assert_snapshot!(report(tape.scalar(loss).unwrap(), &params));
}
