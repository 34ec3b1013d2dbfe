//! A LeNet epoch on the engine alone: 938 steps (60,000 images, batch 64) of
//! forward, backward and SGD (lr 0.01, momentum 0.9) on synthetic batches of
//! MNIST's shape, so the figure is the engine's work without data loading.
//!
//! `cargo run --release --example lenet -- [THREADS] [STEPS]` prints the
//! seconds per epoch and the process's peak resident memory.

mod net;

use net::LeNet;
use netc::optim::{Optimizer, SgdConfig};
use netc::{Params, Tape, Tensor};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let threads: usize = args.next().map_or(Ok(1), |a| a.parse())?;
    let steps: usize = args.next().map_or(Ok(938), |a| a.parse())?;
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let mut params = Params::<f32>::new();
    let lenet = LeNet::new(&mut params, &mut rng)?;
    // Pixels in [0, 1), three in four of them background, as in MNIST.
    let batches: Vec<(Tensor<f32>, Vec<u32>)> = (0..8)
        .map(|_| {
            let x = Tensor::from_fn(64, 784, |_, _| {
                let v: f32 = rng.random();
                if v < 0.75 { 0.0 } else { v }
            });
            (x, (0..64).map(|_| rng.random_range(0..10)).collect())
        })
        .collect();
    let mut opt = Optimizer::sgd(SgdConfig {
        momentum: 0.9,
        ..SgdConfig::new(0.01)
    })?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()?;
    let mut tape = Tape::new();
    tape.set_threads(threads);
    let start = Instant::now();
    let last = pool.install(|| -> netc::Result<f32> {
        let mut last = 0.0;
        for step in 0..steps {
            let (x, y) = &batches[step % batches.len()];
            // As `netc train` steps: the pool's other threads awake throughout.
            last = netc::tape::awake(|| -> netc::Result<f32> {
                tape.clear();
                let loss = lenet.record(&mut tape, &params, x, y, &mut rng)?;
                tape.backward_replacing(loss, &mut params)?;
                opt.step(&mut params)
                    .map_err(|e| netc::Error::Invalid(e.to_string()))?;
                tape.scalar(loss)
            })?;
        }
        Ok(last)
    })?;
    let secs = start.elapsed().as_secs_f64();
    let hwm = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM"))
                .map(str::to_string)
        })
        .unwrap_or_default();
    println!(
        "lenet: {steps} steps on {threads} thread(s): {secs:.3} s, {:.3} s/epoch (938 steps), last loss {last:.4}; {hwm}",
        secs * 938.0 / steps as f64
    );
    Ok(())
}
