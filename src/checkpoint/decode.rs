//! Reading safetensors files defensively, and checking one against what a
//! network expects.

use super::encode::MAX_HEADER_BYTES;
use super::{CheckpointError, Problem};
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Where one tensor lives in a parsed file.
#[derive(Clone, Debug)]
struct Info {
    dtype: Dtype,
    shape: Vec<usize>,
    /// Byte range within the data section (checked against it by safetensors).
    start: usize,
    end: usize,
}

/// A whole safetensors file in memory, its header parsed and validated.
#[derive(Debug)]
pub(crate) struct Parsed {
    bytes: Vec<u8>,
    data_start: usize,
    tensors: BTreeMap<String, Info>,
    pub(crate) metadata: BTreeMap<String, String>,
}

/// What a load expects one tensor to be.
#[derive(Clone, Debug)]
pub(crate) struct Expect {
    pub name: String,
    pub dims: Vec<usize>,
    pub dtype: Dtype,
}

/// Reads and parses `path`. Nothing is allocated from the header's claims: the
/// header size is checked against the real file length first, and the file is
/// read into a buffer of exactly that length (a failed allocation is an error).
pub(crate) fn read(path: &Path) -> Result<Parsed, CheckpointError> {
    let io = |action: &'static str| {
        move |source| CheckpointError::Io {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    let mut file = File::open(path).map_err(io("open"))?;
    let len = file.metadata().map_err(io("read"))?.len();
    let not_st = |reason: String| CheckpointError::NotSafetensors {
        path: path.to_path_buf(),
        reason,
    };
    if len < 8 {
        return Err(not_st(format!(
            "it is {len} bytes long, too short to hold the 8-byte header size"
        )));
    }
    let mut prefix = [0u8; 8];
    file.read_exact(&mut prefix).map_err(io("read"))?;
    let header = u64::from_le_bytes(prefix);
    if header > MAX_HEADER_BYTES as u64 {
        return Err(not_st(format!(
            "its first 8 bytes give a header size of {header} bytes, over the \
             {MAX_HEADER_BYTES}-byte limit"
        )));
    }
    if header > len - 8 {
        return Err(CheckpointError::Truncated {
            path: path.to_path_buf(),
            detail: format!(
                "its header should be {header} bytes, but only {} bytes follow the size field",
                len - 8
            ),
        });
    }
    let too_large = || CheckpointError::TooLarge {
        path: path.to_path_buf(),
        bytes: len,
    };
    let total = usize::try_from(len).map_err(|_| too_large())?;
    let mut bytes = Vec::new();
    bytes.try_reserve_exact(total).map_err(|_| too_large())?;
    bytes.extend_from_slice(&prefix);
    // `take` bounds the read even if the file grows meanwhile.
    file.take(len - 8)
        .read_to_end(&mut bytes)
        .map_err(io("read"))?;
    parse(path, bytes)
}

/// Parses a whole file already in memory.
pub(crate) fn parse(path: &Path, bytes: Vec<u8>) -> Result<Parsed, CheckpointError> {
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
    Ok(Parsed {
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

impl Parsed {
    fn data(&self, name: &str, dtype: Dtype) -> Option<&[u8]> {
        let info = self.tensors.get(name).filter(|i| i.dtype == dtype)?;
        let data = self.bytes.get(self.data_start..)?;
        data.get(info.start..info.end)
    }

    /// The values of an F32 tensor (`None` if absent or of another dtype).
    pub(crate) fn f32s(&self, name: &str) -> Option<Vec<f32>> {
        let raw = self.data(name, Dtype::F32)?;
        let mut out = Vec::with_capacity(raw.len() / 4);
        for c in raw.chunks_exact(4) {
            out.push(f32::from_le_bytes([c[0], c[1], c[2], c[3]]));
        }
        Some(out)
    }

    /// The values of a U64 tensor (`None` if absent or of another dtype).
    pub(crate) fn u64s(&self, name: &str) -> Option<Vec<u64>> {
        let raw = self.data(name, Dtype::U64)?;
        let mut out = Vec::with_capacity(raw.len() / 8);
        for c in raw.chunks_exact(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            out.push(u64::from_le_bytes(b));
        }
        Some(out)
    }

    /// Compares the file with `expected`, listing every problem at once.
    /// Tensors for which `tolerated` is true are not reported as unexpected.
    pub(crate) fn check(
        &self,
        path: &Path,
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
                path: path.to_path_buf(),
                problems,
            })
        }
    }
}
