//! Reading safetensors files defensively, and checking one against what a
//! network expects.

use super::encode::MAX_HEADER_BYTES;
use super::{CheckpointError, Problem};
use crate::claimed::{ClaimedError, read_claimed};
use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

/// Where one tensor lives in a parsed file.
#[derive(Clone, Debug)]
struct Info {
    dtype: Dtype,
    shape: Vec<usize>,
    /// Byte range within the data section (checked against it by safetensors).
    start: usize,
    end: usize,
}

/// A whole safetensors file in memory, its header parsed and validated: for
/// reading tensors other than a network's (a batch, reference values).
pub struct TensorFile {
    path: PathBuf,
    bytes: Vec<u8>,
    data_start: usize,
    tensors: BTreeMap<String, Info>,
    metadata: BTreeMap<String, String>,
}

/// What a load expects one tensor to be.
#[derive(Clone, Debug)]
pub(crate) struct Expect {
    pub name: String,
    pub dims: Vec<usize>,
    pub dtype: Dtype,
}

impl std::fmt::Debug for TensorFile {
    /// The path and the tensor table, not the (possibly huge) bytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TensorFile")
            .field("path", &self.path)
            .field("tensors", &self.tensors)
            .field("metadata", &self.metadata)
            .finish()
    }
}

/// The largest safetensors file netc reads (8 GiB, 2³³ bytes), whole, into
/// memory: more than the weights and optimizer state of any net within the
/// 8 GiB a net may need to train.
pub const MAX_TENSOR_FILE_BYTES: u64 = 1 << 33;

/// Reads and parses `path`. Nothing is allocated from the header's claims
/// beyond [`MAX_TENSOR_FILE_BYTES`], and the read stops there whatever the
/// file system says of the file's length (0 for a pipe or a device).
pub fn read_tensors(path: &Path) -> Result<TensorFile, CheckpointError> {
    let file = File::open(path).map_err(io_error(path, "open"))?;
    let meta = file.metadata().map_err(io_error(path, "read"))?;
    let len = Some(meta.len()).filter(|&n| meta.is_file() && n > 0);
    read_tensors_from(path, len, BufReader::new(file))
}

/// [`read_tensors`] from any reader, as from a file named `path` of `len`
/// bytes (`None` if its length is not known before reading). The 8-byte size
/// and the header are read first and checked; then exactly the data the
/// header describes, into a buffer reserved once; a byte more is an error.
pub fn read_tensors_from(
    path: &Path,
    len: Option<u64>,
    mut reader: impl Read,
) -> Result<TensorFile, CheckpointError> {
    let over_limit = |what: String| CheckpointError::OverLimit {
        path: path.to_path_buf(),
        what,
        limit: MAX_TENSOR_FILE_BYTES,
    };
    let not_st = |reason: String| CheckpointError::NotSafetensors {
        path: path.to_path_buf(),
        reason,
    };
    let truncated = |detail: String| CheckpointError::Truncated {
        path: path.to_path_buf(),
        detail,
    };
    if let Some(len) = len.filter(|&n| n > MAX_TENSOR_FILE_BYTES) {
        return Err(over_limit(format!("it is {len} bytes long")));
    }
    let mut bytes = Vec::new();
    let got = read_more(path, &mut reader, &mut bytes, 8, true)?;
    if got < 8 {
        return Err(not_st(format!(
            "it is {got} bytes long, too short to hold the 8-byte header size"
        )));
    }
    let header = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
    if header > MAX_HEADER_BYTES as u64 {
        return Err(not_st(format!(
            "its first 8 bytes give a header size of {header} bytes, over the \
             {MAX_HEADER_BYTES}-byte limit"
        )));
    }
    let header_short = |found: u64| {
        truncated(format!(
            "its header should be {header} bytes, but only {found} bytes follow the size field"
        ))
    };
    if let Some(len) = len.filter(|&n| header > n.saturating_sub(8)) {
        return Err(header_short(len.saturating_sub(8)));
    }
    let got = read_more(path, &mut reader, &mut bytes, header, len.is_some())?;
    if got < header {
        return Err(header_short(got));
    }
    let data = data_len(path, &bytes)?;
    let total = u128::from(8 + header) + data as u128;
    if total > u128::from(MAX_TENSOR_FILE_BYTES) {
        return Err(over_limit(format!("its header describes {total} bytes")));
    }
    let unfilled = |found: u128| {
        truncated(format!(
            "the tensors its header lists do not fill its {found} bytes exactly \
             (cut short, or bytes appended)"
        ))
    };
    if let Some(len) = len.filter(|&n| u128::from(n) != total) {
        return Err(unfilled(u128::from(len)));
    }
    // Both fit in u64: `total` is within the limit.
    let (data, total) = (data as u64, total as u64);
    let got = read_more(path, &mut reader, &mut bytes, data, len.is_some())?;
    if got < data {
        return Err(unfilled(u128::from(8 + header + got)));
    }
    if read_more(path, &mut reader, &mut Vec::new(), 1, true)? > 0 {
        return Err(truncated(format!(
            "more than the {total} bytes its header describes follow (bytes appended)"
        )));
    }
    parse(path, bytes)
}

/// A closure turning an I/O error on `path` into a [`CheckpointError::Io`].
fn io_error(path: &Path, action: &'static str) -> impl Fn(std::io::Error) -> CheckpointError {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// Appends up to `n` more bytes from `reader` to `bytes` (see
/// [`read_claimed`]); returns how many came (fewer only at the end).
fn read_more(
    path: &Path,
    reader: &mut impl Read,
    bytes: &mut Vec<u8>,
    n: u64,
    trusted: bool,
) -> Result<u64, CheckpointError> {
    read_claimed(reader, bytes, n, trusted).map_err(|e| match e {
        ClaimedError::Reserve => CheckpointError::TooLarge {
            path: path.to_path_buf(),
            bytes: n,
        },
        ClaimedError::Io(source) => CheckpointError::Io {
            path: path.to_path_buf(),
            action: "read",
            source,
        },
    })
}

/// The length of the data section that the header in `bytes` (the size
/// field and the header, nothing after) describes, or what is wrong with it.
fn data_len(path: &Path, bytes: &[u8]) -> Result<usize, CheckpointError> {
    match SafeTensors::read_metadata(bytes) {
        Ok(_) => Ok(0),
        // A valid header whose tensors' data is still to be read.
        Err(SafeTensorError::MetadataIncompleteBuffer) => {
            serde_json::from_slice::<Metadata>(&bytes[8..])
                .map(|m| m.data_len())
                .map_err(|e| CheckpointError::NotSafetensors {
                    path: path.to_path_buf(),
                    reason: format!("its header is not a safetensors JSON header ({e})"),
                })
        }
        Err(e) => Err(classify(path, e, bytes.len())),
    }
}

/// Parses a whole file already in memory.
fn parse(path: &Path, bytes: Vec<u8>) -> Result<TensorFile, CheckpointError> {
    let (header_len, meta) =
        SafeTensors::read_metadata(&bytes).map_err(|e| classify(path, e, bytes.len()))?;
    let tensors = meta
        .tensors()
        .into_iter()
        .map(|(name, info)| {
            let (start, end) = info.data_offsets;
            let info = Info {
                dtype: info.dtype,
                shape: info.shape.clone(),
                start,
                end,
            };
            (name, info)
        })
        .collect();
    let metadata = meta
        .metadata()
        .clone()
        .unwrap_or_default()
        .into_iter()
        .collect();
    Ok(TensorFile {
        path: path.to_path_buf(),
        bytes,
        data_start: 8 + header_len,
        tensors,
        metadata,
    })
}

/// Turns a safetensors error into one that says what is wrong with the file.
fn classify(path: &Path, e: SafeTensorError, len: usize) -> CheckpointError {
    let path = path.to_path_buf();
    match e {
        SafeTensorError::MetadataIncompleteBuffer => CheckpointError::Truncated {
            path,
            detail: format!(
                "the tensors its header lists do not fill its {len} bytes exactly \
                 (cut short, or bytes appended)"
            ),
        },
        SafeTensorError::InvalidHeader(_)
        | SafeTensorError::InvalidHeaderDeserialization(_)
        | SafeTensorError::JsonError(_) => CheckpointError::NotSafetensors {
            path,
            reason: format!("its header is not a safetensors JSON header ({e})"),
        },
        other => CheckpointError::NotSafetensors {
            path,
            reason: other.to_string(),
        },
    }
}

impl TensorFile {
    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `__metadata__` strings (empty if the file has none).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    /// Takes the metadata out.
    pub fn into_metadata(self) -> BTreeMap<String, String> {
        self.metadata
    }

    /// Tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The shape of tensor `name`.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|i| i.shape.as_slice())
    }

    /// The dtype of tensor `name`, as safetensors spells it (`"F32"`, `"I64"`...).
    pub fn dtype(&self, name: &str) -> Option<String> {
        self.tensors.get(name).map(|i| i.dtype.to_string())
    }

    /// The values of an F32 tensor.
    pub fn f32s(&self, name: &str) -> Result<Vec<f32>, CheckpointError> {
        self.values(name, Dtype::F32, f32::from_le_bytes)
    }

    /// The values of an F64 tensor.
    pub fn f64s(&self, name: &str) -> Result<Vec<f64>, CheckpointError> {
        self.values(name, Dtype::F64, f64::from_le_bytes)
    }

    /// The values of an I64 tensor.
    pub fn i64s(&self, name: &str) -> Result<Vec<i64>, CheckpointError> {
        self.values(name, Dtype::I64, i64::from_le_bytes)
    }

    /// The values of a U64 tensor.
    pub fn u64s(&self, name: &str) -> Result<Vec<u64>, CheckpointError> {
        self.values(name, Dtype::U64, u64::from_le_bytes)
    }

    /// Decodes tensor `name`, which must have `dtype` (of `N` bytes an element).
    fn values<const N: usize, E>(
        &self,
        name: &str,
        dtype: Dtype,
        from_le: fn([u8; N]) -> E,
    ) -> Result<Vec<E>, CheckpointError> {
        let problem = |p| CheckpointError::Mismatch {
            path: self.path.clone(),
            problems: vec![p],
        };
        let info = self.tensors.get(name).ok_or_else(|| {
            problem(Problem::NotFound {
                name: name.to_string(),
            })
        })?;
        if info.dtype != dtype {
            return Err(problem(Problem::Dtype {
                name: name.to_string(),
                expected: dtype.to_string(),
                found: info.dtype.to_string(),
            }));
        }
        // safetensors validated the offsets against the data section already.
        let raw = self
            .bytes
            .get(self.data_start..)
            .and_then(|d| d.get(info.start..info.end))
            .ok_or_else(|| CheckpointError::Truncated {
                path: self.path.clone(),
                detail: format!("the data of `{name}` lies outside the file"),
            })?;
        let mut out = Vec::with_capacity(raw.len() / N);
        for chunk in raw.chunks_exact(N) {
            let mut b = [0u8; N];
            b.copy_from_slice(chunk);
            out.push(from_le(b));
        }
        Ok(out)
    }

    /// Compares the file with `expected`, listing every problem at once.
    /// Tensors for which `tolerated` is true are not reported as unexpected.
    pub(crate) fn check(
        &self,
        expected: &[Expect],
        tolerated: impl Fn(&str) -> bool,
    ) -> Result<(), CheckpointError> {
        let mut problems = Vec::new();
        let mut known = BTreeSet::new();
        for e in expected {
            known.insert(e.name.as_str());
            let Some(info) = self.tensors.get(&e.name) else {
                problems.push(Problem::Missing {
                    name: e.name.clone(),
                    dims: e.dims.clone(),
                });
                continue;
            };
            if info.dtype != e.dtype {
                problems.push(Problem::Dtype {
                    name: e.name.clone(),
                    expected: e.dtype.to_string(),
                    found: info.dtype.to_string(),
                });
            }
            if info.shape != e.dims {
                problems.push(Problem::Shape {
                    name: e.name.clone(),
                    expected: e.dims.clone(),
                    found: info.shape.clone(),
                });
            }
        }
        for (name, info) in &self.tensors {
            if !known.contains(name.as_str()) && !tolerated(name) {
                problems.push(Problem::Unexpected {
                    name: name.clone(),
                    dims: info.shape.clone(),
                });
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(CheckpointError::Mismatch {
                path: self.path.clone(),
                problems,
            })
        }
    }
}
