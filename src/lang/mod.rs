//! The `.net` model language: parse, check, format, lower.
//!
//! Data flows one way: text → [`split`] (statements) → [`parse`] (pest, into
//! the [`ast`]) → check (names, shapes, settings) → a checked model.

pub mod ast;
pub mod diag;
pub mod parse;
pub mod span;
pub mod split;
pub mod suggest;
