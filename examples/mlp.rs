//! The reference MLP trained with the engine alone, no `.net` file: 128→32→16→2,
//! ReLU, batch 4 of uniform inputs all labelled 1, loss = cross-entropy plus
//! 0.5·Σ|h1| plus 0.01·‖h2‖₂, plain SGD lr 1e-4, 1000 steps. The model is
//! built once (the PyTorch original re-created it every step).

use netc::{Linear, Params, Tape, Tensor};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::time::Instant;

fn main() -> netc::Result<()> {
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let mut params = Params::<f32>::new();
    let layers = [
        Linear::new(&mut params, "h1", 128, 32, true, &mut rng)?,
        Linear::new(&mut params, "h2", 32, 16, true, &mut rng)?,
        Linear::new(&mut params, "out", 16, 2, true, &mut rng)?,
    ];
    let mut x = Tensor::<f32>::zeros(4, 128);
    let labels = [1u32; 4];
    let mut tape = Tape::new();
    let (steps, lr) = (1000, 1e-4f32);
    let start = Instant::now();
    let mut last = 0.0;
    for step in 0..steps {
        x.as_mut_slice().iter_mut().for_each(|v| *v = rng.random());
        tape.clear();
        params.zero_grads();
        let mut h = tape.input(&x);
        let mut hidden = Vec::new();
        for (i, layer) in layers.iter().enumerate() {
            h = layer.forward(&mut tape, &params, h)?;
            if i < 2 {
                h = tape.relu(h)?;
                hidden.push(h);
            }
        }
        let ce = tape.cross_entropy(h, &labels)?;
        let l1 = tape.l1(hidden[0])?;
        let l1 = tape.scale(l1, 0.5)?;
        let l2 = tape.l2(hidden[1])?;
        let l2 = tape.scale(l2, 0.01)?;
        let loss = tape.add(ce, l1)?;
        let loss = tape.add(loss, l2)?;
        tape.backward(loss, &mut params)?;
        for p in params.iter_mut() {
            for (v, g) in p.value.as_mut_slice().iter_mut().zip(p.grad.as_slice()) {
                *v -= lr * g;
            }
        }
        last = tape.scalar(loss)?;
        if step % 200 == 0 {
            println!(
                "step {step:4}  loss {last:.4}  ce {:.4}  0.5·l1(h1) {:.4}  0.01·l2(h2) {:.4}",
                tape.scalar(ce)?,
                tape.scalar(l1)?,
                tape.scalar(l2)?
            );
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{steps} steps: final loss {last:.4}, {:.2} µs/step",
        secs * 1e6 / steps as f64
    );
    Ok(())
}
