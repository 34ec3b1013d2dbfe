//! Typed errors of the engine.

use thiserror::Error;

/// What can go wrong when building or differentiating a graph.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum Error {
    #[error("{op}: shapes do not match: {lhs:?} and {rhs:?}")]
    ShapeMismatch {
        op: &'static str,
        lhs: (usize, usize),
        rhs: (usize, usize),
    },
    #[error("tensor of shape {rows}x{cols} needs {expected} elements, got {got}")]
    BadLength {
        rows: usize,
        cols: usize,
        expected: usize,
        got: usize,
    },
    #[error("{op}: {count} labels for a batch of {rows}")]
    LabelCount {
        op: &'static str,
        count: usize,
        rows: usize,
    },
    #[error("{op}: label {label} is out of range for {classes} classes")]
    LabelOutOfRange {
        op: &'static str,
        label: u32,
        classes: usize,
    },
    #[error("dropout probability must be in [0, 1), got {0}")]
    BadProbability(f64),
    #[error("backward needs a scalar (1x1) loss, got a {0}x{1} tensor")]
    NotScalar(usize, usize),
    #[error("backward was already called on this tape; clear it and record a new pass")]
    BackwardTwice,
    #[error("node {0} does not belong to this tape (was the tape cleared?)")]
    StaleNode(u32),
    #[error("a parameter named `{0}` already exists")]
    DuplicateParam(String),
    #[error("{op}: {problem}")]
    Geometry {
        op: &'static str,
        problem: GeometryError,
    },
    #[error("{0}")]
    Invalid(String),
}

/// Why a convolution's or pooling's geometry cannot work.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum GeometryError {
    #[error("the stride must be at least 1")]
    ZeroStride,
    #[error("the kernel must be at least 1")]
    ZeroKernel,
    #[error("the channels must be at least 1")]
    ZeroChannels,
    #[error(
        "a {kernel}x{kernel} kernel does not fit the {height}x{width} input (padding included)"
    )]
    KernelTooLarge {
        kernel: usize,
        height: usize,
        width: usize,
    },
    #[error("the input has {got} values per sample, not {channels}x{height}x{width}")]
    InputSize {
        got: usize,
        channels: usize,
        height: usize,
        width: usize,
    },
}

/// Result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
