//! `netc predict FILE --weights W --input DATA --out preds.csv`: the net's
//! prediction for every sample of a file, one CSV row each, read and written
//! a batch at a time; with `--mc M`, Monte-Carlo dropout and each sample's
//! uncertainty; with `--images`, a picture of the least certain images.

use super::Reporter;
use super::console::outln;
use super::data_places;
use super::grad::{read_x, read_y};
use super::plot::svg_name;
use super::predictions_csv::{Score, header, label_of, row};
use super::recorded;
use super::wording;
use clap::{Args, ValueEnum};
use netc::checkpoint::{self, TensorFile, read_tensors};
use netc::data::{EVAL_BATCH, InputFile, InputSpec, LabelKind, Labels, Normalization, Split};
use netc::files::{write_atomic, write_atomic_with};
use netc::lang::{Model, lower};
use netc::plot::{Tile, image_grid};
use netc::tape::Tape;
use netc::train::net::{Batch, Net};
use netc::train::predict::{Method, Prediction, predict};
use netc::train::{MC_SALT, TrainError, load_data, stream};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::io::{self, Write};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The .net file the weights belong to.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A model.safetensors or checkpoint.safetensors.
    #[arg(long, value_name = "W")]
    weights: PathBuf,
    /// The samples: a CSV file (one sample a row, values as the net takes
    /// them), an IDX images file (bytes, scaled by 1/255 as in training), both
    /// gzipped or not and read a batch at a time; or a .safetensors file with
    /// `x` (f32 [N, features...]), read whole.
    #[arg(
        long,
        value_name = "DATA",
        required_unless_present = "test_split",
        conflicts_with = "test_split"
    )]
    input: Option<PathBuf>,
    /// Predict the held-out test split of the file's data source instead of
    /// --input; its labels are scored.
    #[arg(long)]
    test_split: bool,
    /// The CSV file to write: a header, then one row per sample (`sample`,
    /// `class`, `p0`..., `entropy`; `variance` with --mc; `label` when scored;
    /// for `values(N)` labels `y0`..., `variance` (the values', averaged) with
    /// --mc, and `target0`... when scored).
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// The input holds labels: a CSV's last column (or columns, for
    /// `values(N)`), the labels file beside an IDX images file
    /// (`t10k-images-idx3-ubyte` → `t10k-labels-idx1-ubyte`), a safetensors
    /// `y`. `ignore` skips them; `score` writes them beside each prediction
    /// and prints the accuracy (or mean squared error). Without --labels a
    /// CSV row holds the net's inputs only.
    #[arg(long, value_enum, value_name = "HOW")]
    labels: Option<LabelUse>,
    /// A CSV input's first line is a header.
    #[arg(long)]
    header: bool,
    /// Monte-Carlo dropout: the mean of M passes, and per sample the
    /// predictive entropy and the variance of the winning class's probability.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    mc: Option<u32>,
    /// Seed of the Monte-Carlo passes [default: the file's seed].
    #[arg(long)]
    seed: Option<u64>,
    /// Also draw the least certain images (highest entropy) in an SVG grid,
    /// each with its predicted class, entropy and label if scored.
    #[arg(long, value_name = "FILE.svg")]
    images: Option<PathBuf>,
    /// How many images --images draws.
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    images_count: u32,
    /// Where `mnist`/`fashion-mnist` folders are looked for first.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Overrides, as given to `netc train --set`, applied after those stored
    /// with the weights.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Lets --out and --images name existing files, replacing them.
    #[arg(long)]
    force: bool,
}

/// What to do with the labels an input holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LabelUse {
    /// Read past them.
    Ignore,
    /// Compare the predictions with them.
    Score,
}

pub fn run(args: &PredictArgs, r: &mut Reporter) {
    if let Some(svg) = &args.images
        && let Err(e) = svg_name(svg, "netc predict --images")
    {
        return r.error(e);
    }
    if !r.output_free(&args.out, args.force)
        || args
            .images
            .as_ref()
            .is_some_and(|p| !r.output_free(p, args.force))
    {
        return;
    }
    let Some((model, weights)) = model_and_weights(args, r) else {
        return;
    };
    if args.mc.is_some() && !model.has_dropout() {
        r.warning(format!(
            "Monte-Carlo prediction with a net without dropout: `{}` has no `dropout(...)`, so every pass gives the same result",
            args.file.display()
        ));
    }
    if args.images.is_some() && !classes(&model) {
        return r.error(format!(
            "--images shows the least certain predictions of a classifier; `{}` predicts values",
            args.file.display()
        ));
    }
    match predict_all(args, &model, &weights, r) {
        Ok(summary) => outln!("{summary}"),
        Err(e) => r.error(e),
    }
}

fn classes(model: &Model) -> bool {
    matches!(model.label.kind, LabelKind::Classes(_))
}

/// The checked model the weights were trained as, and the weights.
fn model_and_weights(args: &PredictArgs, r: &mut Reporter) -> Option<(Model, TensorFile)> {
    recorded::model_and_weights(&args.file, &args.weights, &args.sets, r)
}

/// Where the samples come from, a split at a time.
enum Samples {
    File(InputFile),
    /// A safetensors file or the test split: one split, in memory.
    Whole(Option<Split>),
}

impl Samples {
    fn next(&mut self) -> Result<Option<Split>, TrainError> {
        match self {
            Samples::File(f) => Ok(f.next_split(EVAL_BATCH)?),
            Samples::Whole(s) => Ok(s.take()),
        }
    }

    fn image_dims(&self, model: &Model) -> Option<(usize, usize)> {
        let dims = match self {
            Samples::File(f) => f.image_dims().unwrap_or(&model.input.dims),
            Samples::Whole(_) => &model.input.dims,
        };
        match dims {
            [r, c] => Some((*r, *c)),
            _ => None,
        }
    }
}

/// Opens what `--input` (or `--test-split`) names; whether its labels are
/// scored, and the normalisation training applied, if any.
fn samples(
    args: &PredictArgs,
    model: &Model,
    r: &mut Reporter,
) -> Result<(Samples, bool, Option<Normalization>), String> {
    let places = data_places::places(args.data_dir.as_deref());
    let err = |e: TrainError| wording::train_error(&e);
    let Some(input) = &args.input else {
        let data = load_data(model, &places).map_err(err)?;
        return Ok((Samples::Whole(Some(data.test)), true, None));
    };
    // Inputs are normalised as training normalised its data: by the
    // training split's statistics, measured again here.
    let norm = if model.train.normalize {
        r.note(format!(
            "the net's data source normalises its inputs: the training split's mean and \
             standard deviation are measured to normalise {} the same way",
            input.display()
        ));
        let data = load_data(model, &places).map_err(err)?;
        data.train.normalization()
    } else {
        None
    };
    let labelled = args.labels.is_some();
    let score = args.labels == Some(LabelUse::Score);
    let safetensors = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("safetensors"));
    if safetensors {
        let read = || -> Result<Split, TrainError> {
            let file = read_tensors(input)?;
            let (rows, x) = read_x(&file, model)?;
            let labels = if labelled {
                read_y(&file, rows, model)?
            } else {
                Labels::zeros(model.label.kind, rows)
            };
            Ok(Split::from_floats(model.input.features, x, labels)?)
        };
        return Ok((Samples::Whole(Some(read().map_err(err)?)), score, norm));
    }
    let spec = InputSpec {
        features: model.input.features,
        labels: model.label.kind,
        labelled,
        header: args.header,
    };
    let file = InputFile::open(input, spec).map_err(|e| err(e.into()))?;
    if let Some(lp) = file.labels_path().filter(|_| score) {
        r.note(format!("scoring against the labels in {}", lp.display()));
    }
    Ok((Samples::File(file), score, norm))
}

/// An image kept for the picture.
struct Uncertain {
    entropy: f64,
    sample: usize,
    class: usize,
    label: Option<u32>,
    pixels: Vec<f32>,
}

/// Predicts every sample, writing `--out` as it goes (atomically: on an
/// error the old file, if any, stays); the line to print.
fn predict_all(
    args: &PredictArgs,
    model: &Model,
    weights: &TensorFile,
    r: &mut Reporter,
) -> Result<String, String> {
    let err = |e: TrainError| wording::train_error(&e);
    let mut params = lower::init_params::<f32>(model, 0).map_err(|e| err(e.into()))?;
    checkpoint::fill_params(weights, &mut params, checkpoint::is_run_state)
        .map_err(|e| err(e.into()))?;
    let net = Net::new(model, &params).map_err(err)?;
    let (mut samples, score, norm) = samples(args, model, r)?;
    let dims = samples.image_dims(model);
    if args.images.is_some() && dims.is_none() {
        return Err(format!(
            "--images draws images, but the input is not an image file and `{}`'s input `{}` \
             is not 2-dimensional",
            args.file.display(),
            model.input.name
        ));
    }
    let mut rng = Pcg64Mcg::seed_from_u64(stream(args.seed.unwrap_or(model.train.seed), MC_SALT));
    let mut method = match args.mc {
        Some(m) => Method::MonteCarlo {
            passes: m as usize,
            rng: &mut rng,
        },
        None => Method::Scaling,
    };
    let keep = args.images.as_ref().map(|_| args.images_count as usize);
    let mut tape = Tape::new();
    let mut batch = Batch::default();
    let mut scored = Score::default();
    let mut worst: Vec<Uncertain> = Vec::new();
    let mut failure: Option<String> = None;
    let mut first = 0usize;
    let written = write_atomic_with(&args.out, |w| {
        let mut w = io::BufWriter::new(w);
        writeln!(w, "{}", header(model, args.mc.is_some(), score))?;
        let mut step = || -> Result<bool, String> {
            let Some(mut split) = samples.next().map_err(err)? else {
                return Ok(false);
            };
            if norm.is_some() {
                split.set_normalization(norm).map_err(|e| err(e.into()))?;
            }
            let preds = predict(
                &net,
                &mut params,
                &mut tape,
                &split,
                &mut batch,
                &mut method,
            )
            .map_err(err)?;
            for (i, p) in preds.iter().enumerate() {
                let label = score.then(|| label_of(split.labels(), i));
                row(&mut w, first + i, p, label.as_ref()).map_err(|e| e.to_string())?;
                if let Some(l) = &label {
                    scored.add(p, l);
                }
            }
            if let Some(k) = keep {
                remember(&mut worst, &split, &preds, first, score, k).map_err(err)?;
            }
            first += preds.len();
            Ok(true)
        };
        loop {
            match step() {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    failure = Some(e);
                    return Err(io::Error::other("stopped"));
                }
            }
        }
        w.flush()
    });
    if let Some(e) = failure {
        return Err(e);
    }
    written.map_err(|e| e.to_string())?;
    let mut summary = format!("{first} predictions -> {}", args.out.display());
    if score && first > 0 {
        summary.push_str(&scored.text(classes(model)));
    }
    if let (Some(svg), Some((rows, cols))) = (&args.images, dims) {
        let title = format!(
            "{} least certain of {first} ({})",
            worst.len(),
            match args.mc {
                Some(m) => format!("Monte-Carlo dropout, {m} passes"),
                None => "weight scaling".to_string(),
            }
        );
        let tiles: Vec<Tile> = worst
            .into_iter()
            .map(|u| Tile {
                caption: [
                    match u.label {
                        Some(l) => format!("{} (label {l})", u.class),
                        None => format!("class {}", u.class),
                    },
                    format!("H {:.3}  #{}", u.entropy, u.sample),
                ],
                pixels: u.pixels,
            })
            .collect();
        write_atomic(svg, image_grid(&title, &tiles, rows, cols).as_bytes())
            .map_err(|e| e.to_string())?;
        summary.push_str(&format!("; {} images -> {}", tiles.len(), svg.display()));
    }
    Ok(summary)
}

/// Keeps the `keep` samples of highest entropy seen so far (the first on
/// ties), with their pixels.
fn remember(
    worst: &mut Vec<Uncertain>,
    split: &Split,
    preds: &[Prediction],
    first: usize,
    score: bool,
    keep: usize,
) -> Result<(), TrainError> {
    for (i, p) in preds.iter().enumerate() {
        let (Some(entropy), Some(class)) = (p.entropy, p.class) else {
            continue;
        };
        if worst.len() >= keep && worst.last().is_some_and(|w| w.entropy >= entropy) {
            continue;
        }
        let mut pixels = vec![0.0; split.features()];
        split.gather_inputs(&[i], &mut pixels)?;
        let label = score.then(|| split.classes().map(|c| c[i])).flatten();
        let at = worst.partition_point(|w| w.entropy >= entropy);
        worst.insert(
            at,
            Uncertain {
                entropy,
                sample: first + i,
                class,
                label,
                pixels,
            },
        );
        worst.truncate(keep);
    }
    Ok(())
}
