//! The IDX reader (plain and gzipped) on arbitrary bytes: a value or a typed error naming the
//! file, never a panic. The properties are in `tests/common/formats.rs`;
//! run with `cargo fuzz run -s none idx` (see fuzz/README.md).
#![no_main]

#[path = "../../tests/common/formats.rs"]
mod formats;

libfuzzer_sys::fuzz_target!(|data: &[u8]| formats::idx(data));
