//! The image ops on the tape, f32, one thread: convolution forward and
//! forward + backward (input and weight gradients) at LeNet's two layers
//! (batch 64) and a wider layer (64→64 channels, 3×3, padding 1, 28×28; batch
//! 16 to keep the bench short), each beside its floor: the same products on
//! faer with no unfolding (`floor_forward`: `[out, in·k·k] · [in·k·k, n·oh·ow]`;
//! `floor_backward`: that, plus the weight gradient's and the input
//! gradient's products). Throughput is in FLOPs (2 per multiply-add), so
//! criterion's Gelem/s reads as GFLOP/s. Then pooling and batch norm at
//! LeNet's first feature map (64 × 6 × 28 × 28).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use netc::{BnStats, Conv2dGeom, Params, Phase, Pool2dGeom, Tape, Tensor};
use std::hint::black_box;

fn filled(rows: usize, cols: usize) -> Tensor<f32> {
    Tensor::from_fn(rows, cols, |r, c| {
        ((r * 31 + c * 17) % 97) as f32 / 97.0 - 0.5
    })
}

fn conv_geom(in_c: usize, side: usize, out_c: usize, kernel: usize, padding: usize) -> Conv2dGeom {
    Conv2dGeom {
        in_c,
        in_h: side,
        in_w: side,
        out_c,
        kernel,
        stride: 1,
        padding,
    }
}

/// `dst = a · b` on faer, one thread, `a` `[m, k]`, `b` `[k, n]` (views as given).
fn product(dst: &mut [f32], a: MatRef<'_, f32>, b: MatRef<'_, f32>) {
    let (m, n) = (a.nrows(), b.ncols());
    let dst = MatMut::from_row_major_slice_mut(dst, m, n);
    matmul(dst, Accum::Replace, a, b, 1.0, Par::Seq);
}

fn conv(c: &mut Criterion) {
    let cases = [
        ("lenet_c1", conv_geom(1, 28, 6, 5, 2), 64),
        ("lenet_c2", conv_geom(6, 14, 16, 5, 0), 64),
        ("wide_64x64", conv_geom(64, 28, 64, 3, 1), 16),
    ];
    let mut g = c.benchmark_group("conv");
    g.sample_size(20);
    for (name, geom, n) in cases {
        let (oc, patch, cols) = (geom.out_c, geom.patch(), n * geom.out_h() * geom.out_w());
        let macs = oc * patch * cols;
        let (w, col, dy) = (filled(oc, patch), filled(patch, cols), filled(oc, cols));
        let (mut out, mut dw, mut dcol) = (
            vec![0f32; oc * cols],
            vec![0f32; oc * patch],
            vec![0f32; patch * cols],
        );
        g.throughput(Throughput::Elements(2 * macs as u64));
        g.bench_function(BenchmarkId::new("floor_forward", name), |b| {
            b.iter(|| {
                product(&mut out, w.view(), col.view());
                black_box(&out);
            })
        });
        let mut params = Params::new();
        let wid = params.add("w", w.clone()).unwrap();
        let bid = params.add("b", filled(1, oc)).unwrap();
        let x = filled(n, geom.in_len());
        let mut tape = Tape::new();
        g.bench_function(BenchmarkId::new("netc_forward", name), |b| {
            b.iter(|| {
                tape.clear();
                let xi = tape.input(&x);
                black_box(
                    tape.conv2d_param(&params, xi, wid, Some(bid), geom)
                        .unwrap(),
                );
            })
        });
        g.throughput(Throughput::Elements(6 * macs as u64));
        g.bench_function(BenchmarkId::new("floor_backward", name), |b| {
            b.iter(|| {
                product(&mut out, w.view(), col.view());
                product(&mut dw, dy.view(), col.view().transpose());
                product(&mut dcol, w.view().transpose(), dy.view());
                black_box((&out, &dw, &dcol));
            })
        });
        let xp = params.add("x", x.clone()).unwrap();
        g.bench_function(BenchmarkId::new("netc_backward", name), |b| {
            b.iter(|| {
                // the input is a computed node, so its gradient is wanted too
                tape.clear();
                let xi = tape.param(&params, xp);
                let xi = tape.scale(xi, 1.0).unwrap();
                let y = tape
                    .conv2d_param(&params, xi, wid, Some(bid), geom)
                    .unwrap();
                let s = tape.sum(y).unwrap();
                tape.backward_replacing(s, &mut params).unwrap();
                black_box(tape.grad(xi).unwrap());
            })
        });
    }
    g.finish();
}

fn pool_and_batch_norm(c: &mut Criterion) {
    let (n, ch, side) = (64, 6, 28);
    let x = filled(n, ch * side * side);
    let pool = Pool2dGeom {
        c: ch,
        h: side,
        w: side,
        kernel: 2,
        stride: 2,
    };
    let mut g = c.benchmark_group("image_ops");
    g.sample_size(30);
    g.throughput(Throughput::Elements(x.len() as u64));
    let mut params = Params::new();
    let xp = params.add("x", x).unwrap();
    let gamma = params.add("gamma", filled(1, ch)).unwrap();
    let beta = params.add("beta", filled(1, ch)).unwrap();
    let mut tape = Tape::new();
    for (name, max) in [("max_pool2d", true), ("avg_pool2d", false)] {
        g.bench_function(BenchmarkId::new(name, "forward_backward"), |b| {
            b.iter(|| {
                tape.clear();
                let xi = tape.param(&params, xp);
                let xi = tape.scale(xi, 1.0).unwrap();
                let y = if max {
                    tape.max_pool2d(xi, pool)
                } else {
                    tape.avg_pool2d(xi, pool)
                };
                let s = tape.sum(y.unwrap()).unwrap();
                tape.backward_replacing(s, &mut params).unwrap();
                black_box(tape.grad(xi).unwrap());
            })
        });
    }
    let (mut mean, mut var) = (vec![0f32; ch], vec![1f32; ch]);
    g.bench_function(BenchmarkId::new("batch_norm", "forward_backward"), |b| {
        b.iter(|| {
            tape.clear();
            let xi = tape.param(&params, xp);
            let xi = tape.scale(xi, 1.0).unwrap();
            let (gm, bt) = (tape.param(&params, gamma), tape.param(&params, beta));
            let stats = BnStats {
                running_mean: &mut mean,
                running_var: &mut var,
            };
            let y = tape
                .batch_norm(xi, gm, bt, stats, ch, side * side, Phase::Train)
                .unwrap();
            let s = tape.sumsq(y).unwrap();
            tape.backward_replacing(s, &mut params).unwrap();
            black_box(tape.grad(xi).unwrap());
        })
    });
    g.finish();
}

criterion_group!(benches, conv, pool_and_batch_norm);
criterion_main!(benches);
