//! `netc grad FILE --batch B --out G`: one forward and backward pass on a given
//! batch, everything written out, to compare netc with another framework on
//! the same numbers.

use super::Reporter;
use super::console::outln;
use clap::Args;
use netc::checkpoint::{self, TensorData, TensorEntry, TensorFile, read_tensors};
use netc::data::Labels;
use netc::lang::lower::{self, Lowered, Targets};
use netc::lang::{LabelKind, Model};
use netc::real::first_non_finite;
use netc::run::metadata;
use netc::tape::{Phase, Tape};
use netc::train::{DROPOUT_SALT, TrainError, stream};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct GradArgs {
    /// The .net file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A safetensors file with `x` (f32 [N, features...]) and `y` (i64 class
    /// indices [N], or f32 targets [N, width] for mse).
    #[arg(long, value_name = "B")]
    batch: PathBuf,
    /// Where to write loss, grad/<param>, act/<name> and grad_act/<name>.
    #[arg(long, value_name = "G")]
    out: PathBuf,
    /// Lets --out name an existing file, replacing it (without it, that is refused).
    #[arg(long)]
    force: bool,
    /// Weights to use [default: initialised from the seed].
    #[arg(long, value_name = "W")]
    weights: Option<PathBuf>,
    /// Evaluation mode: no dropout sampling.
    #[arg(long)]
    eval: bool,
    /// Seed for initialisation and the dropout mask [default: the file's].
    #[arg(long)]
    seed: Option<u64>,
    /// Overrides, as for `netc train --set`.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
}

pub fn run(args: &GradArgs, r: &mut Reporter) {
    if !r.output_free(&args.out, args.force) {
        return;
    }
    let Some((model, _)) = r.model_with(&args.file, &args.sets) else {
        return;
    };
    if let Err(e) = grad(&model, args) {
        r.error(e.to_string());
    }
}

/// The batch as the net needs it: rows of features, and labels or targets.
struct BatchFile {
    rows: usize,
    x: Vec<f32>,
    labels: Vec<u32>,
    targets: Vec<f32>,
}

fn bad(path: &Path, why: String) -> TrainError {
    TrainError::Settings(format!("{}: {why}", path.display()))
}

fn read_batch(path: &Path, model: &Model) -> Result<BatchFile, TrainError> {
    let file = read_tensors(path)?;
    let (rows, x) = read_x(&file, model)?;
    let mut batch = BatchFile {
        rows,
        x,
        labels: Vec::new(),
        targets: Vec::new(),
    };
    match read_y(&file, rows, model)? {
        Labels::Classes(c) => batch.labels = c,
        Labels::Targets { values, .. } => batch.targets = values,
    }
    Ok(batch)
}

/// The inputs `x` of a batch file, checked against the net's input: the
/// number of rows and the values.
pub(super) fn read_x(file: &TensorFile, model: &Model) -> Result<(usize, Vec<f32>), TrainError> {
    let path = file.path();
    let shape = file
        .shape("x")
        .ok_or_else(|| bad(path, "no tensor `x`".into()))?
        .to_vec();
    let rows = *shape
        .first()
        .ok_or_else(|| bad(path, "`x` has no dimensions".into()))?;
    let features: usize = shape[1..].iter().product();
    if rows == 0 || features != model.input.features {
        return Err(bad(
            path,
            format!(
                "`x` is {shape:?}: expected [N, {}] (N > 0) for input `{}`",
                model.input.features, model.input.name
            ),
        ));
    }
    let x = file.f32s("x")?;
    if let Some((row, col, v)) = first_non_finite(&x, features) {
        return Err(bad(
            path,
            format!(
                "`x`[{row}, {col}] (sample {row}, feature {col}) is {v}: inputs must be finite"
            ),
        ));
    }
    Ok((rows, x))
}

/// The labels `y` of a batch file of `rows` samples, checked against the
/// net's label: class indices in range, or finite targets of its width.
pub(super) fn read_y(file: &TensorFile, rows: usize, model: &Model) -> Result<Labels, TrainError> {
    let path = file.path();
    let yshape = file
        .shape("y")
        .ok_or_else(|| bad(path, "no tensor `y`".into()))?
        .to_vec();
    match model.label.kind {
        LabelKind::Classes(n) => {
            if yshape != [rows] {
                return Err(bad(
                    path,
                    format!("`y` is {yshape:?}: expected [{rows}] class indices"),
                ));
            }
            let mut labels = Vec::with_capacity(rows);
            for (i, v) in file.i64s("y")?.into_iter().enumerate() {
                if v < 0 || v as u64 >= n as u64 {
                    return Err(bad(
                        path,
                        format!("`y`[{i}] = {v} is not a class of 0..{n}"),
                    ));
                }
                labels.push(v as u32);
            }
            Ok(Labels::Classes(labels))
        }
        LabelKind::Targets(w) => {
            if yshape.first() != Some(&rows) || yshape[1..].iter().product::<usize>() != w {
                return Err(bad(
                    path,
                    format!("`y` is {yshape:?}: expected [{rows}, {w}] targets"),
                ));
            }
            let values = file.f32s("y")?;
            if let Some((row, col, v)) = first_non_finite(&values, w) {
                return Err(bad(
                    path,
                    format!(
                        "`y`[{row}, {col}] (sample {row}, target {col}) is {v}: targets must be finite"
                    ),
                ));
            }
            Ok(Labels::Targets { width: w, values })
        }
    }
}

fn grad(model: &Model, args: &GradArgs) -> Result<(), TrainError> {
    let batch = read_batch(&args.batch, model)?;
    let seed = args.seed.unwrap_or(model.train.seed);
    let mut params = lower::init_params::<f32>(model, seed)?;
    if let Some(w) = &args.weights {
        checkpoint::load_model(w, &mut params)?;
    }
    let lowered = Lowered::new(model, &params)?;
    let mut tape = Tape::new();
    let x = tape.input_slice(batch.rows, model.input.features, &batch.x)?;
    let targets = match model.label.kind {
        LabelKind::Classes(_) => Targets::Classes(&batch.labels),
        LabelKind::Targets(w) => {
            Targets::Values(tape.input_slice(batch.rows, w, &batch.targets)?)
        }
    };
    let phase = if args.eval { Phase::Eval } else { Phase::Train };
    // The same dropout stream as the first step of `netc train` with this seed.
    let mut rng = Pcg64Mcg::seed_from_u64(stream(seed, DROPOUT_SALT));
    let pass = lowered.forward(&mut tape, &mut params, x, targets, phase, &mut rng)?;
    tape.backward(pass.loss, &mut params)?;

    let loss = [tape.scalar(pass.loss)?];
    let mut owned: Vec<(String, Vec<usize>, Vec<f32>)> = Vec::new();
    for p in params.iter() {
        owned.push((
            format!("grad/{}", p.name),
            p.dims.clone(),
            p.grad.as_slice().to_vec(),
        ));
    }
    for (b, &id) in model.bindings.iter().zip(&pass.activations) {
        let (rows, _) = tape.shape(id)?;
        // `[N, C, H, W]` for a feature map, as PyTorch writes it.
        let dims: Vec<usize> = std::iter::once(rows)
            .chain(b.shape.iter().copied())
            .collect();
        let value = tape.value(id)?.to_vec();
        let grad = match tape.grad(id)? {
            Some(g) => g.to_vec(),
            None => vec![0.0; value.len()], // computed from the input alone
        };
        owned.push((format!("act/{}", b.name), dims.clone(), value));
        owned.push((format!("grad_act/{}", b.name), dims, grad));
    }
    let mut entries = vec![TensorEntry {
        name: "loss".into(),
        dims: vec![1],
        data: TensorData::F32(&loss),
    }];
    entries.extend(owned.iter().map(|(name, dims, data)| TensorEntry {
        name: name.clone(),
        dims: dims.clone(),
        data: TensorData::F32(data),
    }));
    let meta = BTreeMap::from([
        (metadata::NET.to_string(), model.source.clone()),
        (metadata::SEED.to_string(), seed.to_string()),
        (
            "mode".to_string(),
            if args.eval { "eval" } else { "train" }.to_string(),
        ),
    ]);
    netc::files::write_atomic(&args.out, &checkpoint::encode(&entries, &meta)?)?;
    outln!("loss {}  -> {}", loss[0], args.out.display());
    Ok(())
}
