//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cli;
pub mod lsp;

use safetensors::{Dtype, SafeTensors};
use std::io::Write as _;
use std::path::PathBuf;

/// A file or folder under `../shared` beside the repository, which CI and
/// developers have and a new user does not. Every test that needs it asks
/// here: when it is absent the test says that it is skipped (on the terminal,
/// past the test harness's capture) and passes, unless `NETC_REQUIRE_SHARED`
/// is set, as `.ci/run` sets it for the run that has `../shared`.
/// `NETC_SHARED` points elsewhere (an empty value hides it).
pub fn shared(rel: &str) -> Option<PathBuf> {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    let root = match std::env::var_os("NETC_SHARED") {
        Some(d) if d.is_empty() => None,
        Some(d) => Some(PathBuf::from(d)),
        None => Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")),
    };
    let path = root.map(|r| r.join(rel));
    match path {
        Some(p) if p.exists() => Some(p),
        _ if std::env::var_os("NETC_REQUIRE_SHARED").is_some() => {
            panic!("{test}: ../shared/{rel} is required (NETC_REQUIRE_SHARED) but absent")
        }
        _ => {
            skipped(&format!(
                "../shared/{rel} is absent (a new user's checkout)"
            ));
            None
        }
    }
}

/// Says that the running test is skipped, and why: `note: NAME skipped: WHY`.
pub fn skipped(why: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    // Straight to the stream: libtest captures `eprintln!`, and a skip
    // that nobody sees reads as a pass.
    let _ = writeln!(std::io::stderr(), "note: {test} skipped: {why}");
}

/// A safetensors file's tensors, every dtype read as f64.
pub struct Tensors {
    bytes: Vec<u8>,
}

impl Tensors {
    pub fn read(path: &std::path::Path) -> Self {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Tensors { bytes }
    }

    pub fn get(&self, name: &str) -> (Vec<usize>, Vec<f64>) {
        let st = SafeTensors::deserialize(&self.bytes).unwrap();
        let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = t.data();
        let v: Vec<f64> = match t.dtype() {
            Dtype::F32 => d
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect(),
            Dtype::F64 => d
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
                .collect(),
            Dtype::I64 => d
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().unwrap()) as f64)
                .collect(),
            other => panic!("{name}: unexpected dtype {other:?}"),
        };
        (t.shape().to_vec(), v)
    }

    pub fn values(&self, name: &str) -> Vec<f64> {
        self.get(name).1
    }
}

/// Asserts `got ≈ want` elementwise within `rel` times the tensor's largest
/// magnitude: an f32 dot product of 784 terms cannot hold a small result to
/// 1e-5 of itself, only to 1e-5 of the scale of its terms.
pub fn assert_close(what: &str, got: &[f64], want: &[f64], rel: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = rel * scale.max(1e-12);
        assert!(
            (g - w).abs() <= tol,
            "{what}[{i}]: got {g}, want {w} (tol {tol:e})"
        );
    }
}
