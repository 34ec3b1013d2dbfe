//! f32 matmul: raw faer against the same product recorded on netc's tape.
//! Throughput is in "elements" = floating-point operations (2·M·K·N), so
//! criterion's Gelem/s reads as GFLOP/s.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use netc::{Tape, Tensor};
use std::hint::black_box;

const SHAPES: [(usize, usize, usize); 3] = [(64, 784, 128), (256, 256, 256), (1024, 1024, 1024)];

fn filled(rows: usize, cols: usize) -> Tensor<f32> {
    Tensor::from_fn(rows, cols, |r, c| {
        ((r * 31 + c * 17) % 97) as f32 / 97.0 - 0.5
    })
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("matmul");
    g.sample_size(20);
    for (m, k, n) in SHAPES {
        let id = format!("{m}x{k}x{n}");
        g.throughput(Throughput::Elements((2 * m * k * n) as u64));
        let (a, b) = (filled(m, k), filled(k, n));
        let mut out = vec![0f32; m * n];
        g.bench_function(BenchmarkId::new("faer", &id), |bench| {
            bench.iter(|| {
                let dst = MatMut::from_row_major_slice_mut(&mut out, m, n);
                let (ra, rb) = (
                    MatRef::from_row_major_slice(a.as_slice(), m, k),
                    MatRef::from_row_major_slice(b.as_slice(), k, n),
                );
                matmul(dst, Accum::Replace, ra, rb, 1.0, Par::Seq);
                black_box(&out);
            })
        });
        let mut tape = Tape::new();
        let (ia, ib) = (tape.input(&a), tape.input(&b));
        g.bench_function(BenchmarkId::new("netc_tape", &id), |bench| {
            bench.iter(|| {
                tape.truncate(2);
                black_box(tape.matmul(ia, ib).unwrap());
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
