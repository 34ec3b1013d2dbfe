//! Optimizer steps and checkpoint save/load on the MNIST net's parameters
//! (784→128→10: 101 770 f32).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use netc::checkpoint::{
    TensorData, TensorEntry, TrainState, encode, load_checkpoint, save_checkpoint,
};
use netc::optim::{AdamConfig, Optimizer, SgdConfig, constrain_rows};
use netc::{Params, Tensor};
use std::collections::BTreeMap;
use std::hint::black_box;

fn mnist_params() -> Params<f32> {
    let mut s = Params::new();
    for (name, fan_in, fan_out) in [("h", 784, 128), ("out", 128, 10)] {
        let w = Tensor::from_fn(fan_out, fan_in, |r, c| {
            ((r * 31 + c * 7) % 97) as f32 * 1e-3
        });
        s.add(format!("{name}.weight"), w).unwrap();
        let b = Tensor::from_fn(1, fan_out, |_, c| c as f32 * 1e-3);
        s.add_with_dims(format!("{name}.bias"), b, vec![fan_out])
            .unwrap();
    }
    for p in s.iter_mut() {
        for (i, g) in p.grad.as_mut_slice().iter_mut().enumerate() {
            *g = ((i % 13) as f32 - 6.0) * 1e-4;
        }
    }
    s
}

fn steps(c: &mut Criterion) {
    let mut group = c.benchmark_group("optim_step");
    let params = mnist_params();
    group.throughput(Throughput::Elements(params.count() as u64));
    let optimizers = [
        ("sgd", Optimizer::sgd(SgdConfig::new(0.01)).unwrap()),
        (
            "sgd_momentum",
            Optimizer::sgd(SgdConfig {
                momentum: 0.9,
                ..SgdConfig::new(0.01)
            })
            .unwrap(),
        ),
        ("adam", Optimizer::adam(AdamConfig::adam(1e-3)).unwrap()),
        ("adamw", Optimizer::adam(AdamConfig::adamw(1e-3)).unwrap()),
    ];
    for (name, mut opt) in optimizers {
        let mut p = params.clone();
        group.bench_function(name, |b| {
            b.iter(|| {
                opt.step(black_box(&mut p)).unwrap();
            })
        });
    }
    group.finish();
}

/// The max-norm constraint on the Table 9 net's four weights (4.0 M f32),
/// rows at PyTorch's initial norms (≈ 0.58 < 3): the norm pass alone, as in
/// most steps of training.
fn max_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("optim_step");
    let widths = [784, 1024, 1024, 2048, 10];
    let mut weights: Vec<Tensor<f32>> = widths
        .windows(2)
        .map(|w| {
            let bound = 1.0 / (w[0] as f32).sqrt();
            Tensor::from_fn(w[1], w[0], |r, c| {
                (((r * 31 + c * 7) % 97) as f32 / 48.0 - 1.0) * bound
            })
        })
        .collect();
    let count: usize = weights.iter().map(|w| w.as_slice().len()).sum();
    group.throughput(Throughput::Elements(count as u64));
    group.bench_function("max_norm_table9", |b| {
        b.iter(|| {
            for w in &mut weights {
                black_box(constrain_rows(w, 3.0));
            }
        })
    });
    group.finish();
}

fn checkpoints(c: &mut Criterion) {
    let mut group = c.benchmark_group("checkpoint");
    group.sample_size(20);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checkpoint.safetensors");
    let mut params = mnist_params();
    let mut opt = Optimizer::sgd(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.01)
    })
    .unwrap();
    opt.step(&mut params).unwrap();
    let state = TrainState::default();
    let meta = BTreeMap::from([("net".to_string(), "x".repeat(500))]);
    // The bytes alone, then the whole atomic save with its fsyncs.
    let entries: Vec<TensorEntry> = params
        .iter()
        .map(|p| TensorEntry {
            name: p.name.clone(),
            dims: p.dims.clone(),
            data: TensorData::F32(p.value.as_slice()),
        })
        .collect();
    group.bench_function("encode_mnist_weights", |b| {
        b.iter(|| encode(black_box(&entries), &meta).unwrap())
    });
    group.bench_function("save_mnist_sgd_momentum", |b| {
        b.iter(|| save_checkpoint(&path, &params, &opt, &state, &meta).unwrap())
    });
    group.bench_function("load_mnist_sgd_momentum", |b| {
        b.iter(|| load_checkpoint(&path, &mut params, &mut opt, &[]).unwrap())
    });
    group.finish();
}

criterion_group!(benches, steps, max_norm, checkpoints);
criterion_main!(benches);
