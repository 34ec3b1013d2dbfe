//! The `.net` model language: parse, check, format, lower.
//!
//! Data flows one way: text → [`statements`] → [`parse`] (pest, into the
//! [`ast`]) → [`check`] (names, shapes, settings) → a [`Model`]. The
//! vocabulary (functions, data sources, optimizers, ... with their parameters
//! and defaults) is the table in [`builtins`]. The language reference is
//! `grammar/README.md`.
//!
//! ```
//! let src = "net tiny v1\ninput x: 4\nlabel y: classes(2)\nout = linear(x, 2)\n\
//!            loss = cross_entropy(out, y)\ntrain { data: synthetic(samples: 8) }\n";
//! let model = netc::lang::parse_and_check("tiny.net", src).unwrap();
//! assert_eq!(model.param_count(), 4 * 2 + 2);
//! ```

pub mod ast;
pub mod builtins;
pub mod check;
pub mod compare;
pub mod diag;
pub mod fmt;
pub mod lower;
pub mod model;
pub mod model_summary;
pub mod overrides;
pub mod parse;
pub mod span;
pub mod statements;
pub mod suggest;

pub use check::{MEMORY_LIMIT, MemoryEstimate, estimate_memory};
pub use diag::{Diagnostic, Diagnostics, Severity};
pub use model::*;
pub use model_summary::summary;

/// Parses and checks one `.net` file. `path` is only used in messages.
/// On success the model carries any warnings; on failure every error and
/// warning found in the file is returned.
pub fn parse_and_check(path: &str, source: &str) -> Result<Model, Diagnostics> {
    let (file, errors) = parse::parse(source);
    check::check(path, source, &file, errors)
}
