//! A checked net with its weights, written for other tools: an ONNX model of
//! its evaluation graph (`onnx`), and a PyTorch module whose state dict is
//! netc's `model.safetensors` (`pytorch`).

pub mod onnx;
mod proto;
pub mod pytorch;

use crate::lang::Model;
use crate::params::Params;
use thiserror::Error;

/// Why a net cannot be exported.
#[derive(Debug, Error, PartialEq)]
pub enum ExportError {
    /// A name the target language cannot hold (a Python keyword, or an
    /// attribute `nn.Module` already has).
    #[error("`{name}` (line {line}) cannot be a name in {target}: {why}")]
    Name {
        name: String,
        line: usize,
        target: &'static str,
        why: String,
    },
    /// The loss's data term reads the input itself: there is no layer to export.
    #[error("the loss reads the input `{0}` directly: the net has no output activation to export")]
    NoOutput(String),
    /// Weights past what one protobuf message holds.
    #[error(
        "the weights take {0} bytes, more than the 2 GiB an ONNX file holds in itself \
         (larger models keep their weights in external data files, which netc does not write)"
    )]
    TooLarge(u64),
    /// A tensor the net needs is not in the weights (a bug: the weights were checked).
    #[error("the weights hold no tensor `{0}`")]
    Missing(String),
}

/// The shape (PyTorch's layout) and values of the parameter or buffer
/// (running statistic) called `name`.
fn tensor<'a>(
    params: &'a Params<f32>,
    name: &str,
) -> Result<(&'a [usize], &'a [f32]), ExportError> {
    if let Some(id) = params.id(name) {
        let p = params.get(id);
        return Ok((&p.dims, p.value.as_slice()));
    }
    let id = params
        .buffer_id(name)
        .ok_or_else(|| ExportError::Missing(name.to_string()))?;
    let b = params.buffer(id);
    Ok((&b.dims, b.value.as_slice()))
}

/// The binding the loss's data term reads: the net's output.
fn output(model: &Model) -> Result<&crate::lang::model::Binding, ExportError> {
    let on = &model.loss.data.on;
    model
        .binding(on)
        .ok_or_else(|| ExportError::NoOutput(on.clone()))
}
