//! `netc eval FILE --weights W`: loss and accuracy on the test split, by weight
//! scaling and, with `--mc M`, by Monte-Carlo dropout side by side.

use super::Reporter;
use super::console::{out, outln};
use super::data_places;
use super::recorded::{self, wrong_run_file};
use super::wording;
use clap::Args;
use netc::checkpoint;
use netc::lang::lower;
use netc::lang::model_summary::data_text;
use netc::run::MODEL;
use netc::tape::Tape;
use netc::train::eval::{self, McScores, Scores};
use netc::train::net::{Batch, Net};
use netc::train::provenance::{self, Recorded, to_map};
use netc::train::{MC_SALT, load_data, stream};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The .net file the weights belong to.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// A model.safetensors or checkpoint.safetensors.
    #[arg(long, value_name = "W")]
    weights: PathBuf,
    /// Also evaluate by Monte-Carlo dropout: the mean of M stochastic passes.
    #[arg(long, value_name = "M", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    mc: Option<u32>,
    /// Seed of the Monte-Carlo passes [default: the file's seed].
    #[arg(long)]
    seed: Option<u64>,
    /// Where `mnist`/`fashion-mnist` folders are looked for first.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
    /// Overrides, as given to `netc train --set`, applied after those stored
    /// with the weights (the weights must fit the net they make).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Evaluates even when the file holds out another test split than the
    /// one the weights were trained with.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &EvalArgs, r: &mut Reporter) {
    let Some(src) = r.read(&args.file) else {
        return;
    };
    if let Some(why) = wrong_run_file(&args.weights, MODEL, "--weights") {
        return r.error(why);
    }
    let weights = match checkpoint::read_tensors(&args.weights) {
        Ok(w) => w,
        Err(e) => return r.error(e.to_string()),
    };
    let rec = Recorded::from_metadata(weights.metadata());
    let base = match &rec {
        Some(rec) => match against_record(args, &src, rec, r) {
            Some(text) => text,
            None => return,
        },
        None => src.clone(),
    };
    let Some((model, applied)) = r.model_from(&args.file, &base, &args.sets) else {
        return;
    };
    if let Some(rec) = &rec {
        // The file's split was checked above; a --set can still change it.
        if let Some(trained) = rec.data().filter(|d| *d != model.train.data)
            && !args.force
        {
            return r.error(format!(
                "with {}, `{}` holds out another test split than the weights in {} were trained \
                 with (the data: `{}` vs `{}`): the accuracy would be measured partly on training \
                 data; drop that --set, or give --force to evaluate anyway",
                applied
                    .iter()
                    .map(|a| format!("--set {a}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                args.file.display(),
                args.weights.display(),
                data_text(&model.train.data),
                data_text(&trained)
            ));
        }
        let stored = rec.override_map();
        for (k, v) in to_map(&applied) {
            if let Some(old) = stored.get(&k).filter(|old| **old != v) {
                r.note(format!(
                    "`--set {k}={v}` replaces {k}={old} stored with {}",
                    args.weights.display()
                ));
            }
        }
    }
    if args.mc.is_some() && !model.has_dropout() {
        r.warning(format!(
            "Monte-Carlo evaluation of a net without dropout: `{}` has no `dropout(...)`, so every pass gives the same result",
            args.file.display()
        ));
    }
    let result = (|| -> Result<(Scores, Option<McScores>, usize), netc::train::TrainError> {
        let mut params = lower::init_params::<f32>(&model, 0)?;
        checkpoint::fill_params(&weights, &mut params, checkpoint::is_run_state)?;
        let net = Net::new(&model, &params)?;
        let data = load_data(&model, &data_places::places(args.data_dir.as_deref()))?;
        let mut tape = Tape::new();
        let mut batch = Batch::default();
        let scaled = eval::evaluate(&net, &mut params, &mut tape, &data.test, &mut batch)?;
        let mc = match args.mc {
            Some(m) => {
                let seed = args.seed.unwrap_or(model.train.seed);
                let mut rng = Pcg64Mcg::seed_from_u64(stream(seed, MC_SALT));
                Some(eval::evaluate_mc(
                    &net,
                    &mut params,
                    &mut tape,
                    &data.test,
                    &mut batch,
                    m as usize,
                    &mut rng,
                )?)
            }
            None => None,
        };
        Ok((scaled, mc, data.test.len()))
    })();
    match result {
        Ok((s, mc, n)) if args.json => outln!("{}", json(&s, mc.as_ref(), n)),
        Ok((s, mc, n)) => out!("{}", table(&s, mc.as_ref(), n)),
        Err(e) => r.error(wording::train_error(&e)),
    }
}

/// Compares the file with the net the weights record: warns when it differs,
/// refuses another held-out split unless `--force`, and says which stored
/// overrides are applied. The text to evaluate (the file with them), or
/// `None` when refused.
fn against_record(args: &EvalArgs, src: &str, rec: &Recorded, r: &mut Reporter) -> Option<String> {
    let c = provenance::compare(&args.file.display().to_string(), src, rec);
    if c.net_differs() || !c.differences.is_empty() {
        let what = recorded::differences(&args.file, "is not", &args.weights, rec, &c);
        if c.split_differs() && !args.force {
            r.error(format!(
                "{what}\n  the weights were trained on another split of the data: the accuracy would be \
                 measured partly on training data; evaluate with the file they were trained with, \
                 or give --force to evaluate anyway"
            ));
            return None;
        }
        r.warning(what);
    }
    if c.unapplied.is_none() && !rec.overrides.is_empty() {
        r.note(format!(
            "applying the overrides stored with {}: {}",
            args.weights.display(),
            rec.overrides.join(" ")
        ));
    }
    Some(c.source)
}

fn pct(a: Option<f64>) -> String {
    a.map(|a| format!("{:.2}%", 100.0 * a))
        .unwrap_or_else(|| "-".into())
}

fn table(s: &Scores, mc: Option<&McScores>, n: usize) -> String {
    let mut t = format!(
        "test split: {n} samples\n{:<22} {:>10} {:>10} {:>14} {:>14}\n",
        "method", "loss", "accuracy", "mean variance", "mean entropy"
    );
    t.push_str(&format!(
        "{:<22} {:>10.4} {:>10} {:>14} {:>14}\n",
        "weight scaling",
        s.loss,
        pct(s.acc),
        "-",
        "-"
    ));
    if let Some(m) = mc {
        let ent = m
            .mean_entropy
            .map(|e| format!("{e:.4}"))
            .unwrap_or_else(|| "-".into());
        t.push_str(&format!(
            "{:<22} {:>10.4} {:>10} {:>14.3e} {:>14}\n",
            format!("monte carlo (M={})", m.passes),
            m.loss,
            pct(m.acc),
            m.mean_variance,
            ent
        ));
    }
    t
}

/// A JSON number, or null for NaN/inf and absent values (JSON has neither).
fn num(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v}"),
        _ => "null".into(),
    }
}

fn json(s: &Scores, mc: Option<&McScores>, n: usize) -> String {
    let mut j = format!(
        "{{\"samples\":{n},\"scaling\":{{\"loss\":{},\"accuracy\":{}}}",
        num(Some(s.loss)),
        num(s.acc)
    );
    if let Some(m) = mc {
        j.push_str(&format!(
            ",\"mc\":{{\"passes\":{},\"loss\":{},\"accuracy\":{},\"mean_variance\":{},\"mean_entropy\":{}}}",
            m.passes,
            num(Some(m.loss)),
            num(m.acc),
            num(Some(m.mean_variance)),
            num(m.mean_entropy)
        ));
    }
    j.push('}');
    j
}
