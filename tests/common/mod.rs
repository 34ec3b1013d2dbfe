//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cli;

use safetensors::{Dtype, SafeTensors};
use std::path::PathBuf;

/// `../shared` beside the repository, which CI and developers have. A new user
/// may not: tests that need it skip with a note, except under CI where its
/// absence is a failure.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.is_dir() {
        Some(dir)
    } else if std::env::var_os("CI").is_some() {
        panic!("../shared is missing under CI: {}", dir.display());
    } else {
        eprintln!("note: {} not found, skipping", dir.display());
        None
    }
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
