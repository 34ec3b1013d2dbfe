//! `--set KEY=VALUE` arguments on arbitrary bytes, applied to a model: a
//! model that checks or a typed error, never a panic. The properties are in `tests/common/formats.rs`;
//! run with `cargo fuzz run -s none set` (see fuzz/README.md).
#![no_main]

#[path = "../../tests/common/formats.rs"]
mod formats;

libfuzzer_sys::fuzz_target!(|data: &[u8]| formats::set(data));
