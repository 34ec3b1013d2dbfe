//! Loads MNIST and times it, then gathers one shuffled epoch of batches of 64
//! the way training does. Prints the sizes, the times and the peak memory.
//!
//! `cargo run --release --example load_mnist [DATA_DIR] [mnist|fashion-mnist]`
//! (DATA_DIR defaults to `../shared/data` and must hold the set's folder).

use netc::data::{DataSpec, LabelKind, SearchDir, load, shuffled_indices};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "../shared/data".into()));
    let spec = match args.next().as_deref() {
        Some("fashion-mnist") => DataSpec::FashionMnist,
        _ => DataSpec::Mnist,
    };
    let start = Instant::now();
    let place = SearchDir {
        dir: Some(dir),
        origin: "DATA_DIR",
    };
    let data = match load(&spec, 784, LabelKind::Classes(10), &[place]) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let load_s = start.elapsed().as_secs_f64();
    println!(
        "{}: {} train + {} test samples of {:?} loaded in {load_s:.3} s",
        data.name,
        data.train.len(),
        data.test.len(),
        data.dims
    );

    // One epoch of batches, as the training loop gathers them.
    const BATCH: usize = 64;
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let mut order = Vec::new();
    let mut x = vec![0.0f32; BATCH * data.features];
    let mut y = vec![0u32; BATCH];
    let mut checksum = 0.0f64;
    shuffled_indices(data.train.len(), &mut rng, &mut order);
    let in_order: Vec<usize> = (0..data.train.len()).collect();
    for (what, indices) in [("shuffled", &order), ("in order", &in_order)] {
        let start = Instant::now();
        for batch in indices.chunks(BATCH) {
            let n = batch.len();
            if let Err(e) = data
                .train
                .gather(batch, &mut x[..n * data.features], &mut y[..n])
            {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
            checksum += f64::from(x[0]) + f64::from(y[0]);
        }
        let epoch_s = start.elapsed().as_secs_f64();
        println!(
            "one epoch of batches of {BATCH}, {what}, gathered in {:.1} ms ({:.2} ns per value)",
            epoch_s * 1e3,
            epoch_s * 1e9 / (data.train.len() * data.features) as f64
        );
    }
    println!("(checksum {checksum:.3})");
    if let Ok(status) = std::fs::read_to_string("/proc/self/status")
        && let Some(line) = status.lines().find(|l| l.starts_with("VmHWM"))
    {
        println!(
            "peak resident memory: {}",
            line.trim_start_matches("VmHWM:").trim()
        );
    }
    ExitCode::SUCCESS
}
