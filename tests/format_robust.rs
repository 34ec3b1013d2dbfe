//! Hostile bytes for every file format netc reads (IDX, CSV, safetensors
//! weights, checkpoints and batches) and for `--set`: a value or a typed
//! error naming the file, never a panic, and quickly. The properties are in
//! `common/formats.rs`, shared with the `cargo fuzz` targets in `fuzz/`; the
//! inputs worth keeping are replayed from `tests/fuzz-corpus/<format>/`.

#[path = "common/formats.rs"]
mod formats;

use proptest::prelude::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// A target: the properties of one format, on one input.
type Target = fn(&[u8]);

/// What one input may take, on a loaded shared machine (they take microseconds).
const SLOW: Duration = Duration::from_secs(2);

/// Runs `f` on `input`, checking it stays fast.
fn timed(what: &str, f: Target, input: &[u8]) {
    let t = Instant::now();
    f(input);
    let took = t.elapsed();
    assert!(took < SLOW, "{what}: {} bytes took {took:?}", input.len());
}

/// The inputs of `tests/fuzz-corpus/<format>/`, sorted, with their names.
fn corpus(format: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-corpus")
        .join(format);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} is empty", dir.display());
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

#[test]
fn the_fuzz_corpora_replay() {
    let targets: [(&str, Target); 4] = [
        ("idx", formats::idx),
        ("csv", formats::csv),
        ("safetensors", formats::safetensors),
        ("set", formats::set),
    ];
    for (format, f) in targets {
        for (name, bytes) in corpus(format) {
            timed(&name, f, &bytes);
        }
    }
}

/// A corpus file with some bytes overwritten, some cut off and some added.
fn mutated(format: &'static str) -> impl Strategy<Value = Vec<u8>> {
    let seeds = corpus(format);
    (
        0..seeds.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
        any::<prop::sample::Index>(),
        prop::collection::vec(any::<u8>(), 0..8),
    )
        .prop_map(move |(which, edits, cut, tail)| {
            let mut bytes = seeds[which].1.clone();
            for (at, b) in edits {
                if !bytes.is_empty() {
                    let i = at.index(bytes.len());
                    bytes[i] = b;
                }
            }
            // Keep at least three quarters, so that most inputs get past the header.
            let keep = bytes.len() * 3 / 4 + cut.index(bytes.len() / 4 + 1);
            bytes.truncate(keep);
            bytes.extend(tail);
            bytes
        })
}

/// Random bytes, or a corpus file mutated.
fn hostile(format: &'static str) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..200), mutated(format),]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn idx_files_give_images_labels_or_an_error(bytes in hostile("idx")) {
        timed("idx", formats::idx, &bytes);
    }

    #[test]
    fn csv_files_give_rows_or_an_error(bytes in hostile("csv")) {
        timed("csv", formats::csv, &bytes);
    }

    #[test]
    fn safetensors_files_give_tensors_or_an_error(bytes in hostile("safetensors")) {
        timed("safetensors", formats::safetensors, &bytes);
    }

    #[test]
    fn set_arguments_give_a_model_or_an_error(
        flags in any::<u8>(),
        args in prop::collection::vec(
            (
                prop::sample::select(&[
                    "h1.units", "h2.units", "out.units", "lr", "momentum", "nesterov",
                    "batch", "epochs", "steps", "seed", "samples", "d.p", "l1(h1)",
                    "l2.h2", "l2(out)", "data.seed", "weight_decay", "h1.bias", "x", "",
                ][..]),
                prop::sample::select(&[
                    "0", "1", "-1", "0.5", "1e-3", "1e39", "nan", "inf", "true", "false",
                    "2147483648", "4294967297", "99999999999999999999", "1,2", "(", "\"",
                    "sgd", "é", "",
                ][..]),
            ),
            0..4,
        ),
    ) {
        let mut input = vec![flags];
        for (k, v) in args {
            input.extend_from_slice(format!("{k}={v}\n").as_bytes());
        }
        timed("set", formats::set, &input);
    }
}
