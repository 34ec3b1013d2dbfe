//! One whole training step on the tape, built by hand (no language): clear,
//! record the forward pass, backward, optimizer update.
//!
//! - `mlp`: the reference MLP 128→32→16→2, ReLU, batch 4, loss =
//!   cross_entropy + 0.5·Σ|h1| + 0.01·‖h2‖₂, plain SGD lr 1e-4.
//! - `mnist`: 784→128 ReLU → dropout 0.5 → 10, log_softmax + NLL, batch 64,
//!   SGD lr 0.01 momentum 0.9. An epoch of MNIST is 938 such steps.
//! - `lenet`: LeNet (`examples/lenet/net.rs`, the net the `lenet` example
//!   times over an epoch), batch 64, SGD lr 0.01 momentum 0.9; one and two
//!   threads.
//! - `table9`: the dropout paper's MNIST net (Srivastava et al. 2014, Table
//!   9): 784 → dropout 0.2 → 1024 → 1024 → 2048 ReLU, dropout 0.5 after each
//!   → 10, log_softmax + NLL, batch 100, SGD lr 0.01 momentum 0.95, max-norm 3
//!   on every weight's rows; one and two threads. Its throughput counts the
//!   step's matrix-product FLOPs, so criterion's Gelem/s reads as GFLOP/s;
//!   `faer_1024` (raw faer, 1024³, `Par::Seq` and two threads) measures the
//!   machine's peak in the same run, to compare against.
//!
//! The data are synthetic batches of the right shapes, made once and cycled,
//! so the figures are the engine's work alone (no data loading).

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use netc::optim::{Optimizer, SgdConfig};
use netc::{DropoutMode, Linear, NodeId, ParamId, Params, Phase, Tape, Tensor};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::hint::black_box;

#[path = "../../examples/lenet/net.rs"]
mod lenet;

/// Batches cycled through, so the step does not always see the same numbers.
const BATCHES: usize = 8;

fn batches(
    rows: usize,
    cols: usize,
    classes: u32,
    rng: &mut Pcg64Mcg,
) -> Vec<(Tensor<f32>, Vec<u32>)> {
    (0..BATCHES)
        .map(|_| {
            let x = Tensor::from_fn(rows, cols, |_, _| rng.random::<f32>());
            let y = (0..rows).map(|_| rng.random_range(0..classes)).collect();
            (x, y)
        })
        .collect()
}

/// Times training steps on `threads` threads (the tape's and a rayon pool's):
/// `record` puts one batch's loss on the cleared tape, then backward and the
/// optimizer's update with the max-norm constraints `max_norms` (as `netc
/// train` steps) run, cycling through `data`.
#[allow(clippy::too_many_arguments)]
fn time_steps(
    g: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    threads: usize,
    data: &[(Tensor<f32>, Vec<u32>)],
    params: &mut Params<f32>,
    opt: &mut Optimizer<f32>,
    mut record: impl FnMut(&mut Tape<f32>, &Params<f32>, &Tensor<f32>, &[u32]) -> NodeId + Send,
    max_norms: &[(ParamId, f64)],
) {
    let mut tape = Tape::new();
    tape.set_threads(threads);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut i = 0;
    g.bench_function(name, |b| {
        pool.install(|| {
            b.iter(|| {
                let (x, y) = &data[i % BATCHES];
                i += 1;
                // As `netc train` steps: the pool's other threads awake throughout.
                netc::tape::awake(|| {
                    tape.clear();
                    let loss = record(&mut tape, params, x, y);
                    tape.backward_replacing(loss, params).unwrap();
                    opt.step_max_norm(params, max_norms).unwrap();
                    black_box(tape.scalar(loss).unwrap());
                })
            })
        })
    });
}

/// SGD at `lr` with `momentum`, as the benched recipes use it.
fn sgd(lr: f64, momentum: f64) -> Optimizer<f32> {
    Optimizer::sgd(SgdConfig {
        momentum,
        ..SgdConfig::new(lr)
    })
    .unwrap()
}

fn mlp(c: &mut Criterion) {
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let mut params = Params::<f32>::new();
    let layers = [
        Linear::new(&mut params, "h1", 128, 32, true, &mut rng).unwrap(),
        Linear::new(&mut params, "h2", 32, 16, true, &mut rng).unwrap(),
        Linear::new(&mut params, "out", 16, 2, true, &mut rng).unwrap(),
    ];
    let data = batches(4, 128, 2, &mut rng);
    let mut opt = Optimizer::sgd(SgdConfig::new(1e-4)).unwrap();
    let mut tape = Tape::new();
    let mut i = 0;
    c.bench_function("step/mlp", |b| {
        b.iter(|| {
            let (x, y) = &data[i % BATCHES];
            i += 1;
            tape.clear();
            let xi = tape.input(x);
            let h1 = layers[0].forward(&mut tape, &params, xi).unwrap();
            let h1 = tape.relu(h1).unwrap();
            let h2 = layers[1].forward(&mut tape, &params, h1).unwrap();
            let h2 = tape.relu(h2).unwrap();
            let out = layers[2].forward(&mut tape, &params, h2).unwrap();
            let ce = tape.cross_entropy(out, y).unwrap();
            let p1 = tape.l1(h1).unwrap();
            let p1 = tape.scale(p1, 0.5).unwrap();
            let p2 = tape.l2(h2).unwrap();
            let p2 = tape.scale(p2, 0.01).unwrap();
            let loss = tape.add(ce, p1).unwrap();
            let loss = tape.add(loss, p2).unwrap();
            tape.backward_replacing(loss, &mut params).unwrap();
            opt.step(&mut params).unwrap();
            black_box(tape.scalar(loss).unwrap());
        })
    });
}

fn mnist(c: &mut Criterion) {
    let mut g = c.benchmark_group("step");
    for (name, threads) in [("mnist", 1), ("mnist_2threads", 2)] {
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        let mut params = Params::<f32>::new();
        let hidden = Linear::new(&mut params, "h", 784, 128, true, &mut rng).unwrap();
        let out = Linear::new(&mut params, "out", 128, 10, true, &mut rng).unwrap();
        let data = batches(64, 784, 10, &mut rng);
        let mut opt = sgd(0.01, 0.9);
        let record = |tape: &mut Tape<f32>, params: &Params<f32>, x: &Tensor<f32>, y: &[u32]| {
            let xi = tape.input(x);
            let h = hidden.forward(tape, params, xi).unwrap();
            let h = tape.relu(h).unwrap();
            let h = tape
                .dropout(h, 0.5, DropoutMode::Inverted, Phase::Train, &mut rng)
                .unwrap();
            let z = out.forward(tape, params, h).unwrap();
            let lp = tape.log_softmax(z).unwrap();
            tape.nll(lp, y).unwrap()
        };
        time_steps(
            &mut g,
            name,
            threads,
            &data,
            &mut params,
            &mut opt,
            record,
            &[],
        );
    }
    g.finish();
}

fn lenet(c: &mut Criterion) {
    let mut g = c.benchmark_group("step");
    for (name, threads) in [("lenet", 1), ("lenet_2threads", 2)] {
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        let mut params = Params::<f32>::new();
        let net = lenet::LeNet::new(&mut params, &mut rng).unwrap();
        let data = batches(64, 784, 10, &mut rng);
        let mut opt = sgd(0.01, 0.9);
        let record = |tape: &mut Tape<f32>, params: &Params<f32>, x: &Tensor<f32>, y: &[u32]| {
            net.record(tape, params, x, y, &mut rng).unwrap()
        };
        time_steps(
            &mut g,
            name,
            threads,
            &data,
            &mut params,
            &mut opt,
            record,
            &[],
        );
    }
    g.finish();
}

/// The Table 9 net's widths, input to output.
const TABLE9: [usize; 5] = [784, 1024, 1024, 2048, 10];
const TABLE9_BATCH: usize = 100;

/// Matrix-product FLOPs of one Table 9 step: the forward products, the
/// weight gradients, and the input gradients of every layer but the first
/// (the data need none).
fn table9_flops() -> u64 {
    let b = TABLE9_BATCH as u64;
    let products: Vec<u64> = TABLE9
        .windows(2)
        .map(|w| 2 * b * (w[0] * w[1]) as u64)
        .collect();
    let all: u64 = products.iter().sum();
    2 * all + (all - products[0])
}

fn table9(c: &mut Criterion) {
    let mut g = c.benchmark_group("step");
    g.sample_size(20);
    g.throughput(Throughput::Elements(table9_flops()));
    for threads in [1, 2] {
        let name = if threads == 1 {
            "table9".to_string()
        } else {
            format!("table9_{threads}threads")
        };
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        let mut params = Params::<f32>::new();
        let layers: Vec<Linear> = TABLE9
            .windows(2)
            .enumerate()
            .map(|(i, w)| {
                Linear::new(&mut params, &format!("l{i}"), w[0], w[1], true, &mut rng).unwrap()
            })
            .collect();
        let data = batches(TABLE9_BATCH, TABLE9[0], 10, &mut rng);
        let mut opt = sgd(0.01, 0.95);
        let record = |tape: &mut Tape<f32>, params: &Params<f32>, x: &Tensor<f32>, y: &[u32]| {
            let mut h = tape.input(x);
            h = tape
                .dropout(h, 0.2, DropoutMode::Inverted, Phase::Train, &mut rng)
                .unwrap();
            for (k, layer) in layers.iter().enumerate() {
                h = layer.forward(tape, params, h).unwrap();
                if k + 1 < layers.len() {
                    h = tape.relu(h).unwrap();
                    h = tape
                        .dropout(h, 0.5, DropoutMode::Inverted, Phase::Train, &mut rng)
                        .unwrap();
                }
            }
            let lp = tape.log_softmax(h).unwrap();
            tape.nll(lp, y).unwrap()
        };
        let max_norms: Vec<_> = layers.iter().map(|l| (l.weight, 3.0)).collect();
        time_steps(
            &mut g,
            &name,
            threads,
            &data,
            &mut params,
            &mut opt,
            record,
            &max_norms,
        );
    }
    // The peak to compare with, in the same run: raw faer on 1024³.
    let n = 1024;
    g.throughput(Throughput::Elements((2 * n * n * n) as u64));
    let a: Vec<f32> = (0..n * n)
        .map(|i| ((i * 31) % 97) as f32 / 97.0 - 0.5)
        .collect();
    let b: Vec<f32> = (0..n * n)
        .map(|i| ((i * 17) % 89) as f32 / 89.0 - 0.5)
        .collect();
    let mut out = vec![0f32; n * n];
    for (name, par) in [
        ("faer_1024", Par::Seq),
        ("faer_1024_2threads", Par::rayon(2)),
    ] {
        g.bench_function(name, |bench| {
            bench.iter(|| {
                let dst = MatMut::from_row_major_slice_mut(&mut out, n, n);
                let (ra, rb) = (
                    MatRef::from_row_major_slice(&a, n, n),
                    MatRef::from_row_major_slice(&b, n, n),
                );
                matmul(dst, Accum::Replace, ra, rb, 1.0, par);
                black_box(&out);
            })
        });
    }
    g.finish();
}

criterion_group!(benches, mlp, mnist, lenet, table9);
criterion_main!(benches);
