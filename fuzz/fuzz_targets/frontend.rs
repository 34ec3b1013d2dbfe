//! The whole `.net` front end (parse → check → lower → format) on arbitrary
//! bytes. Run with `cargo fuzz run -s none frontend` (see fuzz/README.md).
#![no_main]

#[path = "../../tests/common/frontend.rs"]
mod frontend;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The command line refuses text that is not UTF-8 before parsing; the
    // fuzzer still gets to the parser with everything else it finds.
    frontend::exercise(&String::from_utf8_lossy(data));
});
