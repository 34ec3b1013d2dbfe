//! The properties every file format netc reads must keep on any input, shared
//! by the `cargo fuzz` targets in `fuzz/` and the bounded proptest suite that
//! `cargo test` runs (`tests/format_robust.rs`): any bytes give a value or a
//! typed error naming the file, never a panic, and a value is consistent with
//! itself. Allocation and time are bounded by the fuzzer's `-malloc_limit_mb`
//! and `-timeout`, and by the suite's own timings.
//!
//! Each target reads its first byte as flags (which reader, whether the file
//! system knows the length, whether to gzip the rest) and the rest as the
//! file.
#![allow(dead_code)]

use flate2::Compression;
use flate2::write::GzEncoder;
use netc::checkpoint::{TensorFile, checkpoint_from, model_from, read_tensors_from};
use netc::data::{LabelKind, Labels, from_bytes};
use netc::lang::overrides::{Override, parse_and_check_with};
use netc::optim::{AdamConfig, Optimizer, SgdConfig};
use netc::{Params, Tensor};
use std::fmt::Display;
use std::io::Write as _;
use std::path::Path;

/// The first byte (the flags) and the rest.
fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((&flags, rest)) => (flags, rest),
        None => (0, &[]),
    }
}

/// What the file system says of a file of `bytes`: its length, or nothing
/// (a pipe, a device) when the flag bit is set.
fn len_of(flags: u8, bytes: &[u8]) -> Option<u64> {
    (flags & 0x80 == 0).then_some(bytes.len() as u64)
}

/// `bytes` gzipped when the flag bit is set (the fuzzer rarely finds a valid
/// deflate stream by itself), as they are otherwise.
fn maybe_gzip(flags: u8, bytes: &[u8]) -> Vec<u8> {
    if flags & 0x40 == 0 {
        return bytes.to_vec();
    }
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).expect("gzip into memory");
    e.finish().expect("gzip into memory")
}

/// An error's message names the file and says something.
fn names_file(e: &impl Display, path: &Path) {
    let text = e.to_string();
    let name = path.display().to_string();
    assert!(text.contains(&name), "error does not name {name}: {text}");
    assert!(text.len() > name.len() + 2, "error says nothing: {text}");
}

/// IDX images or labels (flag bit 0), with up to 16 classes (bits 1-4).
pub fn idx(data: &[u8]) {
    let (flags, rest) = split(data);
    let bytes = maybe_gzip(flags, rest);
    let len = len_of(flags, &bytes);
    let path = Path::new("fuzz-idx-ubyte");
    if flags & 1 == 0 {
        match from_bytes::idx_images(path, len, bytes) {
            Ok((dims, pixels)) => {
                let per_image: usize = dims.iter().product();
                assert!(per_image > 0 && !pixels.is_empty());
                assert_eq!(pixels.len() % per_image, 0, "{dims:?}");
            }
            Err(e) => names_file(&e, path),
        }
    } else {
        let classes = usize::from((flags >> 1) & 0x0f);
        match from_bytes::idx_labels(path, len, bytes, classes) {
            Ok(labels) => {
                assert!(!labels.is_empty());
                assert!(labels.iter().all(|&l| (l as usize) < classes));
            }
            Err(e) => names_file(&e, path),
        }
    }
}

/// CSV rows: header or not (bit 0), classes or targets (bit 1); the second
/// byte gives the features (0-15) and the classes or target width (1-16).
pub fn csv(data: &[u8]) {
    let (flags, rest) = split(data);
    let (shape, rest) = split(rest);
    let features = usize::from(shape & 0x0f);
    let n = usize::from(shape >> 4) + 1;
    let kind = if flags & 2 == 0 {
        LabelKind::Classes(n)
    } else {
        LabelKind::Targets(n)
    };
    let bytes = maybe_gzip(flags, rest);
    let len = len_of(flags, &bytes);
    let path = Path::new("fuzz.csv");
    match from_bytes::csv(path, len, bytes, flags & 1 == 1, features, kind) {
        Ok((x, labels)) => {
            let rows = labels.len();
            assert!(rows > 0);
            assert_eq!(x.len(), rows * features);
            assert!(x.iter().all(|v| v.is_finite()));
            match labels {
                Labels::Classes(c) => assert!(c.iter().all(|&l| (l as usize) < n)),
                Labels::Targets { width, values } => {
                    assert_eq!(width, n);
                    assert_eq!(values.len(), rows * n);
                    assert!(values.iter().all(|v| v.is_finite()));
                }
            }
        }
        Err(e) => names_file(&e, path),
    }
}

/// The parameters of a 3 -> 4 -> 2 MLP, as netc names and shapes them.
fn mlp() -> Params<f32> {
    let mut params = Params::new();
    for (layer, fan_in, fan_out) in [("h1", 3, 4), ("out", 4, 2)] {
        let w = Tensor::from_fn(fan_out, fan_in, |r, c| (r * fan_in + c) as f32 * 0.25);
        params
            .add(format!("{layer}.weight"), w)
            .expect("distinct names");
        let b = Tensor::from_fn(1, fan_out, |_, c| c as f32);
        params
            .add_with_dims(format!("{layer}.bias"), b, vec![fan_out])
            .expect("distinct names");
    }
    params
}

/// Every parameter value's bits, to see that a refused file changed nothing.
fn bits(params: &Params<f32>) -> Vec<u32> {
    params
        .iter()
        .flat_map(|p| p.value.as_slice().iter().map(|v| v.to_bits()))
        .collect()
}

/// A safetensors file read as weights (flags % 3 == 0), a checkpoint for SGD
/// with momentum or Adam (1), or a `netc grad` batch (2).
pub fn safetensors(data: &[u8]) {
    let (flags, bytes) = split(data);
    let path = Path::new("fuzz.safetensors");
    let file = match read_tensors_from(path, len_of(flags, bytes), bytes) {
        Ok(file) => file,
        Err(e) => return names_file(&e, path),
    };
    let mut params = mlp();
    let before = bits(&params);
    let result = match flags & 0x7f {
        f if f % 3 == 0 => model_from(file, &mut params).map(drop),
        f if f % 3 == 1 => {
            let config = if f & 8 == 0 {
                Optimizer::sgd(SgdConfig {
                    momentum: 0.9,
                    ..SgdConfig::new(0.1)
                })
            } else {
                Optimizer::adam(AdamConfig::adam(1e-3))
            };
            let mut optim = config.expect("valid settings");
            checkpoint_from(file, &mut params, &mut optim, &["shuffle", "dropout"]).map(drop)
        }
        _ => return batch(&file),
    };
    if let Err(e) = result {
        names_file(&e, path);
        assert_eq!(bits(&params), before, "a refused file changed the weights");
    }
}

/// What `netc grad` asks of a batch file: `x` as f32, `y` as i64 or f32, with
/// as many values as their shapes say; and everything the file lists.
fn batch(file: &TensorFile) {
    for name in ["x", "y"] {
        let Some(shape) = file.shape(name).map(<[usize]>::to_vec) else {
            continue;
        };
        let count: usize = shape.iter().product();
        if let Ok(v) = file.f32s(name) {
            assert_eq!(v.len(), count, "{name} {shape:?}");
        }
        if let Ok(v) = file.i64s(name) {
            assert_eq!(v.len(), count, "{name} {shape:?}");
        }
    }
    let names: Vec<String> = file.names().map(str::to_string).collect();
    for name in &names {
        assert!(file.dtype(name).is_some() && file.shape(name).is_some());
    }
    let _ = file.metadata().len();
}

/// The `.net` files `--set` is applied to: small nets (a fuzzer's inputs a
/// second fall with the length of the file) with every kind of key: layer
/// sizes and biases, dropout, penalties, SGD with momentum and Adam, the data
/// source, the run's length and seed.
const MODELS: &[&str] = &[
    "net t v1\ninput x: 4\nlabel y: classes(3)\nh = relu(linear(x, 8))\nd = dropout(h, 0.5)\n\
     out = linear(d, 3)\nloss = cross_entropy(out, y) + 1e-4 * l2(h)\n\
     train {\n  data: synthetic(samples: 64)\n  optimizer: adam(lr: 1e-3)\n  batch: 8\n  \
     epochs: 2\n  seed: 3\n}\n",
    "net r v1\ninput x: 3\nlabel y: values(2)\nh = tanh(linear(x, 4, bias: false))\n\
     out = linear(h, 2)\nloss = mse(out, y) + 0.5 * l1(h)\n\
     train {\n  data: csv(\"r.csv\", header: true)\n  \
     optimizer: sgd(lr: 0.1, momentum: 0.9)\n  steps: 10\n}\n",
];

/// `--set` arguments, one a line, applied to the model the flags pick.
pub fn set(data: &[u8]) {
    let (flags, rest) = split(data);
    let source = MODELS[usize::from(flags) % MODELS.len()];
    let text = String::from_utf8_lossy(rest);
    let mut sets = Vec::new();
    for arg in text.lines().take(8) {
        match Override::parse(arg) {
            Ok(o) => sets.push(o),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
    match parse_and_check_with("t.net", source, &sets, &|s| s.to_string()) {
        Ok((model, applied)) => {
            assert_eq!(applied.len(), sets.len());
            // Each override is recorded as it was applied, in canonical form.
            for (arg, o) in applied.iter().zip(&sets) {
                assert!(arg.contains('='), "{arg} for {o}");
            }
            assert!(!model.source.is_empty());
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}
