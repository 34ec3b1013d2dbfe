//! `netc export FILE --weights W --onnx model.onnx --pytorch model.py`: the
//! net with its trained weights, for ONNX runtimes and for PyTorch.

use super::Reporter;
use super::console::outln;
use super::recorded::model_and_weights;
use clap::Args;
use netc::checkpoint;
use netc::export::{onnx, pytorch};
use netc::lang::{Model, lower};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The .net file the weights belong to.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A model.safetensors (or checkpoint.safetensors).
    #[arg(long, value_name = "W")]
    weights: PathBuf,
    /// Write the evaluation graph as an ONNX model here.
    #[arg(long, value_name = "OUT", required_unless_present = "pytorch")]
    onnx: Option<PathBuf>,
    /// Write a PyTorch module (Python source) whose state dict the weights are.
    #[arg(long, value_name = "OUT")]
    pytorch: Option<PathBuf>,
    /// Lets --onnx and --pytorch name existing files, replacing them.
    #[arg(long)]
    force: bool,
    /// Overrides, as given to `netc train --set`, applied after those stored
    /// with the weights (the weights must fit the net they make).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

pub fn run(args: &ExportArgs, r: &mut Reporter) {
    let outputs = [(&args.onnx, "--onnx"), (&args.pytorch, "--pytorch")];
    if let (Some(a), Some(b)) = (&args.onnx, &args.pytorch)
        && a == b
    {
        return r.error(format!(
            "--onnx and --pytorch both name {}: give each its own file",
            a.display()
        ));
    }
    for (path, flag) in outputs {
        if let Some(p) = path
            && !r.output_free_for(p, args.force, flag)
        {
            return;
        }
    }
    // The net as trained: the overrides stored with the weights (a dropout's
    // p, say) change the graph.
    let Some((model, weights)) = model_and_weights(&args.file, &args.weights, &args.sets, r) else {
        return;
    };
    let mut params = match lower::init_params::<f32>(&model, 0) {
        Ok(p) => p,
        Err(e) => return r.error(e.to_string()),
    };
    if let Err(e) = checkpoint::fill_params(&weights, &mut params, checkpoint::is_run_state) {
        return r.error(e.to_string());
    }
    if let Some(path) = &args.onnx {
        let bytes = onnx::onnx(&model, &params);
        write(r, path, bytes.map(|b| (b, onnx_summary(&model))));
    }
    if let Some(path) = &args.pytorch {
        let text = pytorch::pytorch(&model);
        write(
            r,
            path,
            text.map(|t| (t.into_bytes(), "PyTorch module".to_string())),
        );
    }
}

/// `ONNX, opset 21: x [N, 784] → out [N, 10]`.
fn onnx_summary(model: &Model) -> String {
    let shape = |d: &[usize]| {
        let dims: Vec<String> = d.iter().map(usize::to_string).collect();
        format!("[{}, {}]", onnx::BATCH, dims.join(", "))
    };
    let out = model
        .binding(&model.loss.data.on)
        .map_or(Vec::new(), |b| b.shape.clone());
    format!(
        "ONNX, opset {}: {} {} → {} {}",
        onnx::OPSET,
        model.input.name,
        shape(&model.input.dims),
        model.loss.data.on,
        shape(&out)
    )
}

/// Writes what an exporter made, atomically, or reports why it could not.
fn write(
    r: &mut Reporter,
    path: &Path,
    made: Result<(Vec<u8>, String), netc::export::ExportError>,
) {
    match made {
        Err(e) => r.error(format!("cannot export: {e}")),
        Ok((bytes, what)) => match netc::files::write_atomic(path, &bytes) {
            Ok(()) => outln!("wrote {} ({what})", path.display()),
            Err(e) => r.error(e.to_string()),
        },
    }
}
