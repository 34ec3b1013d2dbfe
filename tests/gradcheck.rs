//! Every op's backward against central finite differences in f64 (Caffe-style):
//! random shapes and values from proptest, the dropout mask fixed across probes
//! by re-seeding, probe points kept away from the kinks of relu and |x|.

use netc::{
    BnStats, Conv2dGeom, DropoutMode, NodeId, ParamId, Params, Phase, Pool2dGeom, Result, Tape,
    Tensor,
};
use proptest::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Values in ±[0.05, 1.5): at least 0.05 from the kinks at 0, far more than the probe step.
fn away_from_zero(rows: usize, cols: usize, rng: &mut Pcg64Mcg) -> Tensor<f64> {
    Tensor::from_fn(rows, cols, |_, _| {
        let m = rng.random_range(0.05..1.5);
        if rng.random::<bool>() { m } else { -m }
    })
}

/// An op under test, on the inputs recorded as parameter nodes.
type Build<'a> = dyn Fn(&mut Tape<f64>, &[NodeId]) -> Result<NodeId> + 'a;
/// An op under test that reads the inputs from the store itself.
type BuildStore<'a> = dyn Fn(&mut Tape<f64>, &Params<f64>, &[ParamId]) -> Result<NodeId> + 'a;

/// Builds `build(inputs)`; a non-scalar result `y` becomes `Σ (y + c)²` with a fixed
/// random `c`, so every output element gets a different upstream gradient.
fn forward(
    tape: &mut Tape<f64>,
    params: &Params<f64>,
    build: &BuildStore<'_>,
    seed: u64,
) -> Result<NodeId> {
    tape.clear();
    let ids: Vec<ParamId> = params.ids().collect();
    let y = build(tape, params, &ids)?;
    let (r, c) = tape.shape(y)?;
    if (r, c) == (1, 1) {
        return Ok(y);
    }
    let mut rng = Pcg64Mcg::seed_from_u64(seed ^ 0xc0ffee);
    let shift = Tensor::from_fn(r, c, |_, _| rng.random_range(-1.0..1.0));
    let shift = tape.input(&shift);
    let z = tape.add(y, shift)?;
    tape.sumsq(z)
}

fn check(
    inputs: Vec<Tensor<f64>>,
    build: &Build<'_>,
    seed: u64,
) -> std::result::Result<(), TestCaseError> {
    check_store(
        inputs,
        &|t, p, ids| {
            let nodes: Vec<NodeId> = ids.iter().map(|&id| t.param(p, id)).collect();
            build(t, &nodes)
        },
        seed,
    )
}

fn check_store(
    inputs: Vec<Tensor<f64>>,
    build: &BuildStore<'_>,
    seed: u64,
) -> std::result::Result<(), TestCaseError> {
    let mut params = Params::new();
    for (i, t) in inputs.into_iter().enumerate() {
        params.add(format!("in{i}"), t).unwrap();
    }
    let mut tape = Tape::new();
    let loss = forward(&mut tape, &params, build, seed).unwrap();
    tape.backward(loss, &mut params).unwrap();
    let h = 1e-6;
    for id in params.clone().ids() {
        for k in 0..params.value(id).len() {
            let orig = params.value(id).as_slice()[k];
            let mut at = |v: f64, params: &mut Params<f64>| {
                params.get_mut(id).value.as_mut_slice()[k] = v;
                let l = forward(&mut tape, params, build, seed).unwrap();
                tape.scalar(l).unwrap()
            };
            let numeric = (at(orig + h, &mut params) - at(orig - h, &mut params)) / (2.0 * h);
            params.get_mut(id).value.as_mut_slice()[k] = orig;
            let analytic = params.grad(id).as_slice()[k];
            let tol = 1e-6 + 1e-6 * analytic.abs().max(numeric.abs());
            prop_assert!(
                (analytic - numeric).abs() <= tol,
                "{}[{k}]: analytic {analytic} vs numeric {numeric}",
                params.name(id)
            );
        }
    }
    Ok(())
}

/// A seeded generator for the dropout mask: the same mask at every probe.
fn mask_rng(seed: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(seed)
}

fn labels(rows: usize, classes: usize, seed: u64) -> Vec<u32> {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    (0..rows)
        .map(|_| rng.random_range(0..classes as u32))
        .collect()
}

fn shapes() -> impl Strategy<Value = (usize, usize, usize, u64)> {
    (1usize..5, 1usize..6, 1usize..5, any::<u64>())
}

/// Convolutions of 1–3 channels in and out, kernels 1–4, strides 1–3,
/// padding 0–2, inputs of 1–7 rows and columns; only possible ones.
fn conv_geoms() -> impl Strategy<Value = Conv2dGeom> {
    (
        1usize..4,
        1usize..8,
        1usize..8,
        1usize..4,
        1usize..5,
        1usize..4,
        0usize..3,
    )
        .prop_map(
            |(in_c, in_h, in_w, out_c, kernel, stride, padding)| Conv2dGeom {
                in_c,
                in_h,
                in_w,
                out_c,
                kernel,
                stride,
                padding,
            },
        )
        .prop_filter("a possible geometry", |g| g.validate().is_ok())
}

/// Pooling of 1–3 channels, windows 1–3, strides 1–3, inputs 1–7 square or not.
fn pool_geoms() -> impl Strategy<Value = Pool2dGeom> {
    (1usize..4, 1usize..8, 1usize..8, 1usize..4, 1usize..4)
        .prop_map(|(c, h, w, kernel, stride)| Pool2dGeom {
            c,
            h,
            w,
            kernel,
            stride,
        })
        .prop_filter("a possible geometry", |g| g.validate().is_ok())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn matmul((m, k, n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let a = away_from_zero(m, k, &mut rng);
        let b = away_from_zero(k, n, &mut rng);
        check(vec![a, b], &|t, i| t.matmul(i[0], i[1]), seed)?;
    }

    #[test]
    fn matmul_nt((m, k, n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let a = away_from_zero(m, k, &mut rng);
        let b = away_from_zero(n, k, &mut rng);
        check(vec![a, b], &|t, i| t.matmul_nt(i[0], i[1]), seed)?;
    }

    #[test]
    fn matmul_same_operand_twice((m, _k, _n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let a = away_from_zero(m, m, &mut rng);
        check(vec![a], &|t, i| t.matmul(i[0], i[0]), seed)?;
    }

    #[test]
    fn linear_with_bias((m, k, n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        let w = away_from_zero(n, k, &mut rng);
        let b = away_from_zero(1, n, &mut rng);
        check(vec![x, w, b], &|t, i| t.linear(i[0], i[1], Some(i[2])), seed)?;
    }

    #[test]
    fn linear_without_bias((m, k, n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        let w = away_from_zero(n, k, &mut rng);
        check(vec![x, w], &|t, i| t.linear(i[0], i[1], None), seed)?;
    }

    /// One computed node as both the input and the weight (`h · hᵀ + b`).
    #[test]
    fn linear_of_one_node_twice((m, k, _n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        let b = away_from_zero(1, m, &mut rng);
        check(vec![x, b], &|t, i| {
            let h = t.tanh(i[0])?;
            t.linear(h, h, Some(i[1]))
        }, seed)?;
    }

    /// The linear layer reading its weight and bias from the store (no copy),
    /// after a computed input, with and without bias, and on a parameter input
    /// (which takes the copying form).
    #[test]
    fn linear_param((m, k, n, seed) in shapes(), with_bias in any::<bool>()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        let w = away_from_zero(n, k, &mut rng);
        let b = away_from_zero(1, n, &mut rng);
        let bias = |ids: &[ParamId]| with_bias.then_some(ids[2]);
        check_store(vec![x.clone(), w.clone(), b.clone()], &|t, p, ids| {
            let xi = t.param(p, ids[0]);
            let h = t.tanh(xi)?;
            t.linear_param(p, h, ids[1], bias(ids))
        }, seed)?;
        check_store(vec![x, w, b], &|t, p, ids| {
            let xi = t.param(p, ids[0]);
            t.linear_param(p, xi, ids[1], bias(ids))
        }, seed)?;
    }

    /// Two stored layers in a row, the second fed by the first.
    #[test]
    fn linear_param_chain((m, k, n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        let w1 = away_from_zero(n, k, &mut rng);
        let b1 = away_from_zero(1, n, &mut rng);
        let w2 = away_from_zero(3, n, &mut rng);
        check_store(vec![x, w1, b1, w2], &|t, p, ids| {
            let xi = t.param(p, ids[0]);
            let h = t.sigmoid(xi)?;
            let h = t.linear_param(p, h, ids[1], Some(ids[2]))?;
            let h = t.tanh(h)?;
            t.linear_param(p, h, ids[3], None)
        }, seed)?;
    }

    #[test]
    fn bias_add((m, k, _n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        let b = away_from_zero(1, k, &mut rng);
        check(vec![x, b], &|t, i| t.bias_add(i[0], i[1]), seed)?;
    }

    #[test]
    fn add_and_scale((m, k, _n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let a = away_from_zero(m, k, &mut rng);
        let b = away_from_zero(m, k, &mut rng);
        check(vec![a, b], &|t, i| {
            let s = t.scale(i[1], -0.7)?;
            t.add(i[0], s)
        }, seed)?;
    }

    #[test]
    fn activations((m, k, _n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        check(vec![x.clone()], &|t, i| t.relu(i[0]), seed)?;
        check(vec![x.clone()], &|t, i| t.sigmoid(i[0]), seed)?;
        check(vec![x], &|t, i| t.tanh(i[0]), seed)?;
    }

    #[test]
    fn softmax_family((m, k, _n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        check(vec![x.clone()], &|t, i| t.softmax(i[0]), seed)?;
        check(vec![x], &|t, i| t.log_softmax(i[0]), seed)?;
    }

    #[test]
    fn losses((m, k, _n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        let target = away_from_zero(m, k, &mut rng);
        let y = labels(m, k, seed);
        check(vec![x.clone()], &|t, i| t.cross_entropy(i[0], &y), seed)?;
        check(vec![x.clone()], &|t, i| {
            let lp = t.log_softmax(i[0])?;
            t.nll(lp, &y)
        }, seed)?;
        check(vec![x, target], &|t, i| t.mse(i[0], i[1]), seed)?;
    }

    #[test]
    fn reductions((m, k, _n, seed) in shapes()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        check(vec![x.clone()], &|t, i| t.l1(i[0]), seed)?;
        check(vec![x.clone()], &|t, i| t.l2(i[0]), seed)?;
        check(vec![x.clone()], &|t, i| t.sumsq(i[0]), seed)?;
        check(vec![x.clone()], &|t, i| t.sum(i[0]), seed)?;
        check(vec![x], &|t, i| t.mean(i[0]), seed)?;
    }

    #[test]
    fn dropout_train((m, k, _n, seed) in shapes(), p in 0.0f64..0.9) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        for mode in [DropoutMode::Inverted, DropoutMode::Classic] {
            check(vec![x.clone()], &|t, i| t.dropout(i[0], p, mode, Phase::Train, &mut mask_rng(seed)), seed)?;
        }
    }

    #[test]
    fn dropout_eval((m, k, _n, seed) in shapes(), p in 0.0f64..0.9) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, k, &mut rng);
        for mode in [DropoutMode::Inverted, DropoutMode::Classic] {
            check(vec![x.clone()], &|t, i| {
                let d = t.dropout(i[0], p, mode, Phase::Eval, &mut mask_rng(seed))?;
                t.tanh(d)
            }, seed)?;
        }
    }

    /// Odd sizes, strides above 1, padding, several channels and samples, with
    /// and without bias; the weight from a node and from the store.
    #[test]
    fn conv2d(g in conv_geoms(), n in 1usize..4, with_bias in any::<bool>(), seed in any::<u64>()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(n, g.in_len(), &mut rng);
        let w = away_from_zero(g.out_c, g.patch(), &mut rng);
        let b = away_from_zero(1, g.out_c, &mut rng);
        check(vec![x.clone(), w.clone(), b.clone()], &|t, i| {
            t.conv2d(i[0], i[1], with_bias.then_some(i[2]), g)
        }, seed)?;
        check_store(vec![x, w, b], &|t, p, ids| {
            let xi = t.param(p, ids[0]);
            let h = t.tanh(xi)?;
            t.conv2d_param(p, h, ids[1], with_bias.then_some(ids[2]), g)
        }, seed)?;
    }

    /// Windows that overlap (stride below the kernel), tile, or skip inputs.
    #[test]
    fn pooling(g in pool_geoms(), n in 1usize..4, seed in any::<u64>()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(n, g.c * g.h * g.w, &mut rng);
        check(vec![x.clone()], &|t, i| t.max_pool2d(i[0], g), seed)?;
        check(vec![x], &|t, i| t.avg_pool2d(i[0], g), seed)?;
    }

    #[test]
    fn dropout2d((m, c, s, seed) in shapes(), p in 0.0f64..0.9) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, c * s, &mut rng);
        for mode in [DropoutMode::Inverted, DropoutMode::Classic] {
            for phase in [Phase::Train, Phase::Eval] {
                check(vec![x.clone()], &|t, i| {
                    let d = t.dropout2d(i[0], c, p, mode, phase, &mut mask_rng(seed))?;
                    t.tanh(d)
                }, seed)?;
            }
        }
    }

    /// Over the features of `[n, f]` (spatial 1) and the channels of
    /// `[c, h, w]`, in training (batch statistics) and evaluation (given ones).
    #[test]
    fn batch_norm((m, c, s, seed) in shapes(), spatial_layout in any::<bool>()) {
        let spatial = if spatial_layout { s } else { 1 };
        let m = if spatial == 1 { m + 1 } else { m };
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(m, c * spatial, &mut rng);
        let gamma = away_from_zero(1, c, &mut rng);
        let beta = away_from_zero(1, c, &mut rng);
        let (mean, var): (Vec<f64>, Vec<f64>) =
            (0..c).map(|_| (rng.random_range(-1.0..1.0), rng.random_range(0.1..2.0))).unzip();
        for phase in [Phase::Train, Phase::Eval] {
            check(vec![x.clone(), gamma.clone(), beta.clone()], &|t, i| {
                let (mut rm, mut rv) = (mean.clone(), var.clone());
                let stats = BnStats { running_mean: &mut rm, running_var: &mut rv };
                let y = t.batch_norm(i[0], i[1], i[2], stats, c, spatial, phase)?;
                t.tanh(y)
            }, seed)?;
        }
    }

    /// The reference MLP's shape of graph: two hidden layers, both penalties.
    #[test]
    fn composite_mlp(seed in any::<u64>()) {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let x = away_from_zero(3, 5, &mut rng);
        let w1 = away_from_zero(4, 5, &mut rng);
        let b1 = away_from_zero(1, 4, &mut rng);
        let w2 = away_from_zero(2, 4, &mut rng);
        let y = labels(3, 2, seed);
        check(vec![x, w1, b1, w2], &|t, i| {
            let h = t.linear(i[0], i[1], Some(i[2]))?;
            let h = t.tanh(h)?;
            let d = t.dropout(h, 0.3, DropoutMode::Inverted, Phase::Train, &mut mask_rng(seed))?;
            let out = t.linear(d, i[3], None)?;
            let ce = t.cross_entropy(out, &y)?;
            let l1 = t.l1(h)?;
            let l1 = t.scale(l1, 0.5)?;
            let l2 = t.l2(d)?;
            let l2 = t.scale(l2, 0.01)?;
            let s = t.add(ce, l1)?;
            t.add(s, l2)
        }, seed)?;
    }
}

/// One layer as big as the MNIST net's first, 64×784 → 128, behind ReLU and
/// dropout, in f64: large enough that the forward product goes through faer
/// and the weight gradient through the sparse kernel (about a quarter of the
/// output gradient is nonzero). Central differences on a seeded sample of
/// entries of the input, the weight and the bias (every entry would take
/// 200k forward passes).
#[test]
fn a_layer_large_enough_for_faer_and_the_sparse_weight_gradient() {
    let (m, k, n) = (64, 784, 128);
    let mut rng = Pcg64Mcg::seed_from_u64(31);
    let mut params = Params::new();
    let x = params.add("x", away_from_zero(m, k, &mut rng)).unwrap();
    let w = params
        .add(
            "w",
            Tensor::from_fn(n, k, |_, _| rng.random_range(-0.05..0.05)),
        )
        .unwrap();
    let b = params
        .add(
            "b",
            Tensor::from_fn(1, n, |_, _| rng.random_range(-0.1..0.1)),
        )
        .unwrap();
    let shift = Tensor::from_fn(m, n, |_, _| rng.random_range(-1.0..1.0));
    let mut tape = Tape::new();
    let loss_of = |tape: &mut Tape<f64>, params: &Params<f64>| {
        tape.clear();
        let xn = tape.param(params, x);
        // A computed input, so that the layer reads its weight in place.
        let h0 = tape.tanh(xn).unwrap();
        let z = tape.linear_param(params, h0, w, Some(b)).unwrap();
        let h = tape.relu(z).unwrap();
        let d = tape
            .dropout(
                h,
                0.5,
                DropoutMode::Inverted,
                Phase::Train,
                &mut mask_rng(7),
            )
            .unwrap();
        let s = tape.input(&shift);
        let y = tape.add(d, s).unwrap();
        tape.sumsq(y).unwrap()
    };
    let loss = loss_of(&mut tape, &params);
    let total = tape.scalar(loss).unwrap();
    tape.backward(loss, &mut params).unwrap();
    let h = 1e-5;
    let mut pick = Pcg64Mcg::seed_from_u64(5);
    for id in [x, w, b] {
        let len = params.value(id).len();
        for _ in 0..12 {
            let e = pick.random_range(0..len);
            let orig = params.value(id).as_slice()[e];
            let mut at = |v: f64| {
                params.get_mut(id).value.as_mut_slice()[e] = v;
                let l = loss_of(&mut tape, &params);
                tape.scalar(l).unwrap()
            };
            let numeric = (at(orig + h) - at(orig - h)) / (2.0 * h);
            params.get_mut(id).value.as_mut_slice()[e] = orig;
            let analytic = params.grad(id).as_slice()[e];
            // Rounding of a loss of this size, over the step, plus a relative part.
            let tol = 1e-12 * total.abs() / h + 1e-6 * analytic.abs().max(numeric.abs());
            assert!(
                (analytic - numeric).abs() <= tol,
                "{}[{e}]: analytic {analytic} vs numeric {numeric} (tol {tol})",
                params.name(id)
            );
        }
    }
}
