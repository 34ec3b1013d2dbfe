//! netc: a small, fast, honest deep-learning tool.
//!
//! The engine (`tensor`, `tape`, `ops`, `params`, `layers`, `optim`) knows nothing of the
//! language, the data or the command line, so Rust code can use it alone.
//!
//! A two-layer net built by hand on the tape, and one gradient step:
//!
//! ```
//! use netc::{DropoutMode, Linear, Params, Phase, Tape, Tensor};
//! use rand::SeedableRng;
//!
//! let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(0);
//! let mut params = Params::<f32>::new();
//! let fc1 = Linear::new(&mut params, "fc1", 4, 8, true, &mut rng)?;
//! let fc2 = Linear::new(&mut params, "fc2", 8, 3, true, &mut rng)?;
//! let x = Tensor::from_vec(2, 4, vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8])?;
//! let labels = [2, 0];
//!
//! let mut tape = Tape::new();
//! let mut step = |tape: &mut Tape<f32>, params: &mut Params<f32>| -> netc::Result<f32> {
//!     tape.clear(); // reuses the buffers of the last pass
//!     params.zero_grads(); // gradients accumulate otherwise
//!     let xi = tape.input(&x);
//!     let h = fc1.forward(tape, params, xi)?;
//!     let h = tape.relu(h)?;
//!     let h = tape.dropout(h, 0.5, DropoutMode::Inverted, Phase::Train, &mut rng)?;
//!     let out = fc2.forward(tape, params, h)?;
//!     let ce = tape.cross_entropy(out, &labels)?;
//!     let penalty = tape.l1(h)?;
//!     let penalty = tape.scale(penalty, 1e-3)?;
//!     let loss = tape.add(ce, penalty)?;
//!     tape.backward(loss, params)?;
//!     for p in params.iter_mut() {
//!         for (v, g) in p.value.as_mut_slice().iter_mut().zip(p.grad.as_slice()) {
//!             *v -= 0.1 * g; // plain SGD
//!         }
//!     }
//!     tape.scalar(loss)
//! };
//! let first = step(&mut tape, &mut params)?;
//! for _ in 0..50 {
//!     step(&mut tape, &mut params)?;
//! }
//! assert!(step(&mut tape, &mut params)? < first);
//! # Ok::<(), netc::Error>(())
//! ```

pub mod checkpoint;
mod claimed;
pub mod data;
pub mod error;
pub mod export;
pub mod files;
pub mod lang;
pub mod layers;
pub mod ops;
pub mod optim;
pub mod params;
pub mod plot;
pub mod range;
pub mod real;
pub mod run;
pub mod sweep;
pub mod tape;
pub mod tensor;
pub mod train;

pub use error::{Error, Result};
pub use layers::{BatchNorm, Conv2d, Linear};
pub use ops::batch_norm::BnStats;
pub use ops::conv::Conv2dGeom;
pub use ops::pool::Pool2dGeom;
pub use params::{Buffer, BufferId, Param, ParamId, Params};
pub use real::Real;
pub use tape::{DropoutMode, NodeId, Phase, Tape};
pub use tensor::Tensor;
