//! Weights and training state in safetensors files, written atomically
//! (through [`crate::files`]).
//!
//! # `model.safetensors`
//! One little-endian F32 tensor per parameter, under the parameter's name and
//! recorded shape: `h1.weight` is `[out, in]`, `h1.bias` is `[out]`, exactly the
//! keys and shapes of a PyTorch `nn.Linear` state dict; `conv2d` weights are
//! `[out, in, k, k]` as `nn.Conv2d`'s, and a batch norm's running statistics
//! (`b.running_mean`, `b.running_var`, the store's buffers) are saved beside
//! its `b.weight` and `b.bias`, as in an `nn.BatchNorm2d` state dict. String metadata (the
//! net text, seed, epoch, version: whatever the caller passes) goes in
//! `__metadata__`. The header is written in a fixed order, so the same weights
//! and metadata always give the same bytes.
//!
//! # `checkpoint.safetensors`
//! The same tensors and metadata, plus:
//! - `optim/<param>/<buffer>` (F32, the parameter's shape): `momentum_buffer`
//!   (SGD with momentum) or `exp_avg` and `exp_avg_sq` (Adam, AdamW), present
//!   once the optimizer has taken a step, as in a PyTorch optimizer state dict;
//! - `optim/step` (U64 `[1]`): the optimizer's step count;
//! - `train/step`, `train/epoch` (U64 `[1]`);
//! - `train/rng/<name>` (U64 `[2]`): a 128-bit generator state, low 64 bits
//!   first (for `rand_pcg::Pcg64Mcg`, `state()` and `Pcg64Mcg::new(state)`
//!   round-trip it exactly).
//!
//! The scalars are tensors, not metadata strings, so they are typed and exact.
//!
//! # Loading
//! A load reads the whole file, header first: the header's size and the bytes
//! it describes are checked against the file's length and
//! [`MAX_TENSOR_FILE_BYTES`] before the data is read, and the read stops
//! there (a pipe or a device is read no further), compares it with the network
//! and reports every problem at once (missing and unexpected tensors, wrong
//! shapes and dtypes), naming the file. Nothing is changed unless everything
//! fits. Saving refuses weights or state that are not finite, so a run that
//! has diverged never replaces its last good file.

mod decode;
mod encode;

pub use decode::{MAX_TENSOR_FILE_BYTES, TensorFile, read_tensors, read_tensors_from};
pub use encode::{TensorData, TensorEntry, encode};

use crate::files::{FileError, write_atomic};
use crate::optim::{OptimError, OptimState, Optimizer, StateBuffer};
use crate::params::Params;
use crate::tensor::Tensor;
use decode::Expect;
use safetensors::Dtype;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

const OPTIM_STEP: &str = "optim/step";
const TRAIN_STEP: &str = "train/step";
const TRAIN_EPOCH: &str = "train/epoch";

/// The checkpoint name of the generator called `name`.
fn rng_tensor(name: &str) -> String {
    format!("train/rng/{name}")
}

/// What can go wrong reading or writing a weights or checkpoint file.
#[derive(Debug, Error)]
pub enum CheckpointError {
    /// The OS refused an operation on `path` (`action` says which).
    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// Writing the file failed; the previous one, if any, is kept.
    #[error(transparent)]
    Write(#[from] FileError),
    /// The file is not in the safetensors format at all.
    #[error("{}: not a safetensors file: {reason}", .path.display())]
    NotSafetensors { path: PathBuf, reason: String },
    /// The file starts as safetensors but its length does not fit its header.
    #[error("{}: truncated or damaged safetensors file: {detail}", .path.display())]
    Truncated { path: PathBuf, detail: String },
    /// The file is larger than the memory that could be reserved for it.
    #[error("{}: cannot load a file of {bytes} bytes into memory", .path.display())]
    TooLarge { path: PathBuf, bytes: u64 },
    /// The file is larger than netc reads into memory (see
    /// [`MAX_TENSOR_FILE_BYTES`]).
    #[error("{}: {what}, over netc's limit of {limit} bytes for a safetensors file", .path.display())]
    OverLimit {
        path: PathBuf,
        what: String,
        limit: u64,
    },
    /// The file's tensors differ from what was expected, in every listed way.
    #[error(
        "{} does not hold the expected tensors ({} problem{}):{}",
        .path.display(),
        .problems.len(),
        if .problems.len() == 1 { "" } else { "s" },
        ProblemList(.problems)
    )]
    Mismatch {
        path: PathBuf,
        problems: Vec<Problem>,
    },
    /// Refused to save a NaN or infinite value.
    #[error(
        "{}: not saved: `{tensor}`[{index}] is {value} (the previous file, if any, is kept)",
        .path.display()
    )]
    NonFinite {
        path: PathBuf,
        tensor: String,
        index: usize,
        value: f32,
    },
    /// The optimizer refused the state found in the file.
    #[error("{}: {source}", .path.display())]
    Optim { path: PathBuf, source: OptimError },
    /// The tensors to write are inconsistent (repeated names, wrong lengths).
    #[error("cannot encode a safetensors file: {reason}")]
    Encode { reason: String },
}

/// One way a file differs from what the network expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// An expected tensor is absent.
    Missing { name: String, dims: Vec<usize> },
    /// Asked for by name, with no expected shape.
    NotFound { name: String },
    /// The file holds a tensor nothing expects.
    Unexpected { name: String, dims: Vec<usize> },
    /// Present, with another shape.
    Shape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    /// Present, with another element type (as safetensors names it).
    Dtype {
        name: String,
        expected: String,
        found: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { name, dims } => {
                write!(f, "missing tensor `{name}` (expected shape {dims:?})")
            }
            Problem::NotFound { name } => write!(f, "missing tensor `{name}`"),
            Problem::Unexpected { name, dims } => {
                write!(f, "unexpected tensor `{name}` (shape {dims:?})")
            }
            Problem::Shape {
                name,
                expected,
                found,
            } => write!(
                f,
                "tensor `{name}` has shape {found:?}, expected {expected:?}"
            ),
            Problem::Dtype {
                name,
                expected,
                found,
            } => write!(f, "tensor `{name}` is {found}, expected {expected}"),
        }
    }
}

/// Formats problems one per indented line.
struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|p| write!(f, "\n  {p}"))
    }
}

/// Where a run is, beyond its weights and optimizer: saved in checkpoints.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrainState {
    /// Optimizer steps taken by the run.
    pub step: u64,
    /// Epochs completed.
    pub epoch: u64,
    /// Random generator states by name (e.g. `shuffle`, `dropout`).
    pub rngs: BTreeMap<String, u128>,
}

/// What [`load_checkpoint`] returns besides filling the parameters and optimizer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Loaded {
    /// Step, epoch and generator states.
    pub state: TrainState,
    /// The file's `__metadata__` strings.
    pub metadata: BTreeMap<String, String>,
}

/// Writes the weights and `metadata` to `path` atomically.
pub fn save_model(
    path: &Path,
    params: &Params<f32>,
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let entries = param_entries(path, params)?;
    Ok(write_atomic(path, &encode(&entries, metadata)?)?)
}

/// Fills `params` from a weights file and returns its metadata. A checkpoint
/// file works too (its `optim/` and `train/` tensors are skipped); any other
/// difference is an error listing all of them, and `params` is then unchanged.
pub fn load_model(
    path: &Path,
    params: &mut Params<f32>,
) -> Result<BTreeMap<String, String>, CheckpointError> {
    model_from(read_tensors(path)?, params)
}

/// [`load_model`] from a file already read.
pub fn model_from(
    file: TensorFile,
    params: &mut Params<f32>,
) -> Result<BTreeMap<String, String>, CheckpointError> {
    fill_params(&file, params, is_run_state)?;
    Ok(file.into_metadata())
}

/// A checkpoint's optimizer or training-state tensor, which a weights load skips.
pub fn is_run_state(name: &str) -> bool {
    name.starts_with("optim/") || name.starts_with("train/")
}

/// Fills `params` from the tensors of the same names in `file`, after checking
/// them all (missing, shape, dtype, and tensors the network does not have
/// unless `ignore` accepts their name). On error `params` is unchanged.
pub fn fill_params(
    file: &TensorFile,
    params: &mut Params<f32>,
    ignore: impl Fn(&str) -> bool,
) -> Result<(), CheckpointError> {
    file.check(&param_expectations(params), ignore)?;
    let values = param_values(file, params)?;
    store_values(params, values);
    Ok(())
}

/// Writes weights, optimizer state, `state` and `metadata` to `path` atomically.
pub fn save_checkpoint(
    path: &Path,
    params: &Params<f32>,
    optim: &Optimizer<f32>,
    state: &TrainState,
    metadata: &BTreeMap<String, String>,
) -> Result<(), CheckpointError> {
    let mut entries = param_entries(path, params)?;
    let optim_state = optim.export_state(params);
    for b in &optim_state.buffers {
        check_finite(path, &b.name, &b.data)?;
        entries.push(TensorEntry {
            name: b.name.clone(),
            dims: b.dims.clone(),
            data: TensorData::F32(&b.data),
        });
    }
    let scalars = [
        (OPTIM_STEP, [optim_state.steps]),
        (TRAIN_STEP, [state.step]),
        (TRAIN_EPOCH, [state.epoch]),
    ];
    for (name, value) in &scalars {
        entries.push(TensorEntry {
            name: name.to_string(),
            dims: vec![1],
            data: TensorData::U64(value),
        });
    }
    let rngs: Vec<(String, [u64; 2])> = state
        .rngs
        .iter()
        .map(|(name, &s)| (rng_tensor(name), [s as u64, (s >> 64) as u64]))
        .collect();
    for (name, parts) in &rngs {
        entries.push(TensorEntry {
            name: name.clone(),
            dims: vec![2],
            data: TensorData::U64(parts),
        });
    }
    Ok(write_atomic(path, &encode(&entries, metadata)?)?)
}

/// Restores `params`, `optim` and the run state from a checkpoint that must
/// hold exactly the tensors this network, this optimizer and the generators
/// `rng_names` need. Every difference is reported at once; on error nothing
/// is changed.
pub fn load_checkpoint(
    path: &Path,
    params: &mut Params<f32>,
    optim: &mut Optimizer<f32>,
    rng_names: &[&str],
) -> Result<Loaded, CheckpointError> {
    checkpoint_from(read_tensors(path)?, params, optim, rng_names)
}

/// [`load_checkpoint`] from a file already read.
pub fn checkpoint_from(
    file: TensorFile,
    params: &mut Params<f32>,
    optim: &mut Optimizer<f32>,
    rng_names: &[&str],
) -> Result<Loaded, CheckpointError> {
    // The optimizer's buffers exist only once it has stepped, so the expected
    // set depends on the step count the file records.
    let steps = match file.u64s(OPTIM_STEP).as_deref() {
        Ok([steps]) => Some(*steps),
        _ => None,
    };
    let layout = steps
        .map(|s| optim.state_layout(params, s))
        .unwrap_or_default();
    let mut expected = param_expectations(params);
    for (name, dims) in &layout {
        expected.push(expect(name, dims.clone(), Dtype::F32));
    }
    for name in [OPTIM_STEP, TRAIN_STEP, TRAIN_EPOCH] {
        expected.push(expect(name, vec![1], Dtype::U64));
    }
    for name in rng_names {
        expected.push(expect(&rng_tensor(name), vec![2], Dtype::U64));
    }
    // Without a readable step count, the buffers cannot be judged: only the
    // step count is reported then.
    let unjudged = steps.is_none();
    file.check(&expected, |name| unjudged && name.starts_with("optim/"))?;

    let values = param_values(&file, params)?;
    let mut buffers = Vec::with_capacity(layout.len());
    for (name, dims) in layout {
        let data = file.f32s(&name)?;
        buffers.push(StateBuffer { name, dims, data });
    }
    let [step] = u64_array(&file, TRAIN_STEP)?;
    let [epoch] = u64_array(&file, TRAIN_EPOCH)?;
    let mut rngs = BTreeMap::new();
    for name in rng_names {
        let [lo, hi] = u64_array(&file, &rng_tensor(name))?;
        rngs.insert(name.to_string(), (lo as u128) | ((hi as u128) << 64));
    }
    let optim_state = OptimState {
        steps: steps.unwrap_or_default(),
        buffers,
    };
    // The optimizer checks the state itself and is unchanged if it refuses.
    optim
        .import_state(params, optim_state)
        .map_err(|source| CheckpointError::Optim {
            path: file.path().to_path_buf(),
            source,
        })?;
    store_values(params, values);
    Ok(Loaded {
        state: TrainState { step, epoch, rngs },
        metadata: file.into_metadata(),
    })
}

fn expect(name: &str, dims: Vec<usize>, dtype: Dtype) -> Expect {
    Expect {
        name: name.to_string(),
        dims,
        dtype,
    }
}

/// One tensor of the store as files hold it: a parameter's value, or a
/// buffer (batch norm's running statistics), which is saved and loaded
/// beside the parameters under its own name but is no parameter.
struct Saved<'a> {
    name: &'a str,
    dims: &'a [usize],
    value: &'a Tensor<f32>,
}

/// Every tensor of the store a file holds: the parameters, then the buffers.
fn saved(params: &Params<f32>) -> impl Iterator<Item = Saved<'_>> {
    let values = params.iter().map(|p| Saved {
        name: &p.name,
        dims: &p.dims,
        value: &p.value,
    });
    let buffers = params.buffers().map(|b| Saved {
        name: &b.name,
        dims: &b.dims,
        value: &b.value,
    });
    values.chain(buffers)
}

fn param_expectations(params: &Params<f32>) -> Vec<Expect> {
    saved(params)
        .map(|p| expect(p.name, p.dims.to_vec(), Dtype::F32))
        .collect()
}

/// The parameters and buffers as tensors to write, refusing non-finite values.
fn param_entries<'a>(
    path: &Path,
    params: &'a Params<f32>,
) -> Result<Vec<TensorEntry<'a>>, CheckpointError> {
    saved(params)
        .map(|p| {
            check_finite(path, p.name, p.value.as_slice())?;
            Ok(TensorEntry {
                name: p.name.to_string(),
                dims: p.dims.to_vec(),
                data: TensorData::F32(p.value.as_slice()),
            })
        })
        .collect()
}

fn check_finite(path: &Path, tensor: &str, values: &[f32]) -> Result<(), CheckpointError> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(CheckpointError::NonFinite {
            path: path.to_path_buf(),
            tensor: tensor.to_string(),
            index,
            value: values[index],
        }),
    }
}

/// Every parameter's and buffer's values from a file already checked against `params`.
fn param_values(file: &TensorFile, params: &Params<f32>) -> Result<Vec<Vec<f32>>, CheckpointError> {
    saved(params)
        .map(|p| {
            let v = file.f32s(p.name)?;
            // `dims` and `value` are public fields: guard against a store
            // whose recorded shape no longer matches its values.
            if v.len() != p.value.len() {
                return Err(CheckpointError::Mismatch {
                    path: file.path().to_path_buf(),
                    problems: vec![Problem::Shape {
                        name: p.name.to_string(),
                        expected: vec![p.value.len()],
                        found: p.dims.to_vec(),
                    }],
                });
            }
            Ok(v)
        })
        .collect()
}

fn store_values(params: &mut Params<f32>, values: Vec<Vec<f32>>) {
    let count = params.len();
    let (weights, buffers) = values.split_at(count.min(values.len()));
    for (p, v) in params.iter_mut().zip(weights) {
        p.value.as_mut_slice().copy_from_slice(v);
    }
    for (b, v) in params.buffers_mut().zip(buffers) {
        b.value.as_mut_slice().copy_from_slice(v);
    }
}

/// A U64 tensor of `N` values, from a file already checked for it.
fn u64_array<const N: usize>(file: &TensorFile, name: &str) -> Result<[u64; N], CheckpointError> {
    let v = file.u64s(name)?;
    v.try_into().map_err(|_| CheckpointError::Mismatch {
        path: file.path().to_path_buf(),
        problems: vec![Problem::NotFound {
            name: name.to_string(),
        }],
    })
}
