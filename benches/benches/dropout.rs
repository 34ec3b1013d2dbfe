//! Dropout, p = 0.5 (and the forward at p = 0.1), f32: the kernels (mask,
//! forward, backward) and the whole op on the tape, beside a plain copy of the
//! same data (the memory floor). Throughput in bytes of f32 data read and
//! written.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use netc::ops::dropout::{apply, apply_backward, mask_kernel};
use netc::{DropoutMode, Params, Phase, Tape, Tensor};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dropout");
    g.sample_size(20);
    for n in [10_000usize, 1_000_000, 16_000_000] {
        let x: Vec<f32> = (0..n).map(|i| (i % 13) as f32 - 6.0).collect();
        let mut out = vec![0f32; n];
        let mut mask = vec![0u64; n.div_ceil(64)];
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        // forward = mask generation + masked scale: reads x, writes out
        g.throughput(Throughput::Bytes((8 * n) as u64));
        g.bench_function(BenchmarkId::new("forward", n), |b| {
            b.iter(|| {
                mask_kernel(&mut mask, 0.5, &mut rng);
                apply(&mut out, &x, &mask, 2.0);
                black_box(&out);
            })
        });
        // the memory floor: a plain copy reads and writes as much as forward
        g.bench_function(BenchmarkId::new("copy", n), |b| {
            b.iter(|| {
                out.copy_from_slice(&x);
                black_box(&out);
            })
        });
        // the same at p = 0.1, where each unit needs a full 16-bit uniform
        // (at p = 0.5 one random bit per unit decides)
        g.bench_function(BenchmarkId::new("forward_p0.1", n), |b| {
            b.iter(|| {
                mask_kernel(&mut mask, 0.1, &mut rng);
                apply(&mut out, &x, &mask, 2.0);
                black_box(&out);
            })
        });
        // backward reuses the stored mask: reads dy and g, writes g
        g.throughput(Throughput::Bytes((12 * n) as u64));
        g.bench_function(BenchmarkId::new("backward", n), |b| {
            b.iter(|| {
                apply_backward(&mut out, &x, &mask, 2.0);
                black_box(&out);
            })
        });
        // the op as training records it, both modes: dropout, Σ, backward
        let t = Tensor::from_vec(n / 1000, 1000, x.clone()).unwrap();
        let mut params = Params::new();
        let id = params.add("x", t).unwrap();
        for mode in [DropoutMode::Inverted, DropoutMode::Classic] {
            let mut tape = Tape::new();
            g.throughput(Throughput::Bytes((20 * n) as u64));
            g.bench_function(BenchmarkId::new(format!("tape_fwd_bwd_{mode:?}"), n), |b| {
                b.iter(|| {
                    tape.clear();
                    let xi = tape.param(&params, id);
                    let d = tape.dropout(xi, 0.5, mode, Phase::Train, &mut rng).unwrap();
                    let s = tape.sum(d).unwrap();
                    tape.backward(s, &mut params).unwrap();
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
