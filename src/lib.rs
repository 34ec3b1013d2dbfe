//! netc: a small, fast, honest deep-learning tool.
//!
//! The engine (`tensor`, `tape`, `ops`, `params`, `optim`) knows nothing of the
//! language, the data or the command line, so Rust code can use it alone.

pub mod data;
pub mod error;
pub mod lang;
pub mod params;
pub mod real;
pub mod tensor;

pub use error::{Error, Result};
pub use params::{Param, ParamId, Params};
pub use real::Real;
pub use tensor::Tensor;
