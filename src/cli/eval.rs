//! `netc eval FILE --weights W`: loss and accuracy on the test split, by weight
//! scaling and, with `--mc M`, by Monte-Carlo dropout side by side; with
//! `--mc 1,2,5,...`, Monte-Carlo dropout's error at each pass count, from one
//! run of the largest (`--curve FILE.svg` draws it).

use super::Reporter;
use super::console::{errln, out, outln};
use super::data_places;
use super::plot::svg_name;
use super::recorded::{against_record, wrong_run_file};
use super::wording;
use clap::Args;
use netc::checkpoint;
use netc::files::write_atomic;
use netc::lang::lower;
use netc::lang::model_summary::data_text;
use netc::plot::{McCurve, mc_curve};
use netc::run::MODEL;
use netc::tape::Tape;
use netc::train::eval::{self, Confusion, McPoint, McScores, Scores};
use netc::train::net::{Batch, Net};
use netc::train::provenance::{Recorded, to_map};
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
    /// A list (`--mc 1,2,5,10,20,50,100`) runs the largest count once and
    /// reads the error off the running mean at each count: the figure at k
    /// is what `--mc k` gives with the same seed.
    #[arg(long, value_name = "M[,M...]", value_delimiter = ',',
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    mc: Vec<u32>,
    /// Draws Monte-Carlo dropout's test error against the passes of --mc
    /// (log axis), weight scaling as a horizontal line, into this SVG file.
    #[arg(long, value_name = "FILE.svg", requires = "mc")]
    curve: Option<PathBuf>,
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
    /// one the weights were trained with; lets --curve replace an existing file.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &EvalArgs, r: &mut Reporter) {
    if let Some(svg) = &args.curve {
        if let Err(e) = svg_name(svg, "netc eval --curve") {
            return r.error(e);
        }
        if !r.output_free(svg, args.force) {
            return;
        }
    }
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
        Some(rec) => match against_record(&args.file, &args.weights, &src, rec, !args.force, r) {
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
    // `--mc M` sets the passes; without it, the file's `eval:` decides.
    let mut counts: Vec<usize> = args.mc.iter().map(|&m| m as usize).collect();
    counts.sort_unstable();
    counts.dedup();
    if counts.is_empty() {
        counts.extend(model.train.eval.mc_passes);
    }
    let asked = !args.mc.is_empty();
    let passes = counts.last().copied();
    let scaling = model.train.eval.scaling || asked || passes.is_none();
    if !asked && let Some(m) = passes {
        r.note(format!(
            "evaluating by Monte-Carlo dropout with {m} passes too, as `eval:` in `{}` says \
             (--mc M sets the passes)",
            args.file.display()
        ));
    }
    if asked && !model.has_dropout() {
        r.warning(format!(
            "Monte-Carlo evaluation of a net without dropout: `{}` has no `dropout(...)`, so every pass gives the same result",
            args.file.display()
        ));
    }
    let result = (|| -> Result<Results, netc::train::TrainError> {
        let mut params = lower::init_params::<f32>(&model, 0)?;
        checkpoint::fill_params(&weights, &mut params, checkpoint::is_run_state)?;
        let net = Net::new(&model, &params)?;
        let data = load_data(&model, &data_places::places(args.data_dir.as_deref()))?;
        let mut tape = Tape::new();
        let mut batch = Batch::default();
        let confusion = || net.classes().map(Confusion::new);
        let scaled = if scaling {
            let mut c = confusion();
            let s = eval::evaluate_counting(
                &net,
                &mut params,
                &mut tape,
                &data.test,
                &mut batch,
                c.as_mut(),
            )?;
            Some((s, c))
        } else {
            None
        };
        let (mc, curve) = if counts.is_empty() {
            (None, Vec::new())
        } else {
            let seed = args.seed.unwrap_or(model.train.seed);
            let mut rng = Pcg64Mcg::seed_from_u64(stream(seed, MC_SALT));
            let mut c = confusion();
            let (s, curve) = eval::evaluate_mc_curve(
                &net,
                &mut params,
                &mut tape,
                &data.test,
                &mut batch,
                &counts,
                &mut rng,
                c.as_mut(),
            )?;
            (Some((s, c)), curve)
        };
        Ok(Results {
            samples: data.test.len(),
            scaled,
            mc,
            // One count is the M=... row already.
            curve: if curve.len() > 1 { curve } else { Vec::new() },
        })
    })();
    let res = match result {
        Ok(res) => res,
        Err(e) => return r.error(wording::train_error(&e)),
    };
    if args.json {
        outln!("{}", json(&res));
    } else {
        out!("{}", table(&res));
    }
    if let Some(svg) = &args.curve {
        draw_curve(args, svg, &res, r);
    }
}

/// Writes `--curve`: the Monte-Carlo error at each count (or the one count).
fn draw_curve(args: &EvalArgs, svg: &std::path::Path, res: &Results, r: &mut Reporter) {
    let Some((m, _)) = &res.mc else {
        return;
    };
    let points: Vec<McPoint> = if res.curve.is_empty() {
        vec![McPoint {
            passes: m.passes,
            loss: m.loss,
            acc: m.acc,
        }]
    } else {
        res.curve.clone()
    };
    let error = |acc: Option<f64>| acc.map(|a| 100.0 * (1.0 - a));
    let Some(points) = points
        .iter()
        .map(|p| error(p.acc).map(|e| (p.passes, e)))
        .collect::<Option<Vec<_>>>()
    else {
        return r.error(format!(
            "--curve draws test error, but `{}` is not a classifier (its labels are values)",
            args.file.display()
        ));
    };
    let title = args
        .file
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    let curve = McCurve {
        title: format!("{title}: Monte-Carlo dropout against weight scaling"),
        points,
        scaling: res.scaled.as_ref().and_then(|(s, _)| error(s.acc)),
    };
    let written = mc_curve(&curve)
        .map_err(|e| e.to_string())
        .and_then(|text| write_atomic(svg, text.as_bytes()).map_err(|e| e.to_string()));
    match written {
        Ok(()) => errln!("wrote {}", svg.display()),
        Err(e) => r.error(e),
    }
}

/// What `netc eval` measured, by each method asked for.
struct Results {
    samples: usize,
    scaled: Option<(Scores, Option<Confusion>)>,
    mc: Option<(McScores, Option<Confusion>)>,
    /// Monte-Carlo dropout at each count of a `--mc` list (empty for one count).
    curve: Vec<McPoint>,
}

fn pct(a: Option<f64>) -> String {
    a.map(|a| format!("{:.2}%", 100.0 * a))
        .unwrap_or_else(|| "-".into())
}

fn table(res: &Results) -> String {
    let mut t = format!(
        "test split: {} samples\n{:<22} {:>10} {:>10} {:>14} {:>14}\n",
        res.samples, "method", "loss", "accuracy", "mean variance", "mean entropy"
    );
    if let Some((s, _)) = &res.scaled {
        t.push_str(&format!(
            "{:<22} {:>10.4} {:>10} {:>14} {:>14}\n",
            "weight scaling",
            s.loss,
            pct(s.acc),
            "-",
            "-"
        ));
    }
    if let Some((m, _)) = &res.mc {
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
    let scaled = res.scaled.as_ref().and_then(|(_, c)| c.as_ref());
    let mc = res
        .mc
        .as_ref()
        .and_then(|(m, c)| Some((m.passes, c.as_ref()?)));
    if !res.curve.is_empty() {
        t.push_str(&curve_text(&res.curve));
    }
    if let Some(c) = scaled {
        t.push_str(&confusion_text("weight scaling", c));
    }
    if let Some((passes, c)) = mc {
        t.push_str(&confusion_text(&format!("monte carlo (M={passes})"), c));
    }
    t
}

/// Monte-Carlo dropout at each pass count: loss, accuracy and error.
fn curve_text(curve: &[McPoint]) -> String {
    let mut t = format!(
        "\nmonte carlo by passes (the first k of the same passes):\n{:>8} {:>10} {:>10} {:>10}\n",
        "passes", "loss", "accuracy", "error"
    );
    for p in curve {
        t.push_str(&format!(
            "{:>8} {:>10.4} {:>10} {:>10}\n",
            p.passes,
            p.loss,
            pct(p.acc),
            pct(p.acc.map(|a| 1.0 - a))
        ));
    }
    t
}

/// Classes up to which the text shows the whole confusion matrix (`--json`
/// always holds it).
const MATRIX_CLASSES: usize = 20;

/// The confusion matrix (rows: labels, columns: predicted classes) and each
/// class's accuracy; past [`MATRIX_CLASSES`], the accuracies alone.
fn confusion_text(method: &str, c: &Confusion) -> String {
    let n = c.classes();
    let width = (0..n)
        .flat_map(|l| (0..n).map(move |p| (l, p)))
        .map(|(l, p)| c.count(l, p).to_string().len())
        .chain([(n - 1).to_string().len()])
        .max()
        .unwrap_or(1);
    let label_w = "label".len().max((n - 1).to_string().len());
    let mut t = String::new();
    if n > MATRIX_CLASSES {
        t.push_str(&format!(
            "\nper-class accuracy, {method} ({n} classes: the confusion matrix is in --json):\n"
        ));
        for l in 0..n {
            t.push_str(&format!(
                "{l:>label_w$} {:>8} of {}\n",
                pct(c.accuracy(l)),
                c.support(l)
            ));
        }
        return t;
    }
    t.push_str(&format!(
        "\nconfusion matrix, {method} (rows: labels, columns: predicted classes):\n"
    ));
    t.push_str(&format!("{:>label_w$}", "label"));
    for p in 0..n {
        t.push_str(&format!(" {p:>width$}"));
    }
    t.push_str(&format!(" {:>9} {:>7}\n", "accuracy", "samples"));
    for l in 0..n {
        t.push_str(&format!("{l:>label_w$}"));
        for p in 0..n {
            t.push_str(&format!(" {:>width$}", c.count(l, p)));
        }
        t.push_str(&format!(" {:>9} {:>7}\n", pct(c.accuracy(l)), c.support(l)));
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

/// `,"confusion":[[...],...],"per_class_accuracy":[...]` for a classifier.
fn confusion_json(c: Option<&Confusion>) -> String {
    let Some(c) = c else {
        return String::new();
    };
    let n = c.classes();
    let rows: Vec<String> = (0..n)
        .map(|l| {
            let counts: Vec<String> = (0..n).map(|p| c.count(l, p).to_string()).collect();
            format!("[{}]", counts.join(","))
        })
        .collect();
    let acc: Vec<String> = (0..n).map(|l| num(c.accuracy(l))).collect();
    format!(
        ",\"confusion\":[{}],\"per_class_accuracy\":[{}]",
        rows.join(","),
        acc.join(",")
    )
}

fn json(res: &Results) -> String {
    let mut j = format!("{{\"samples\":{}", res.samples);
    if let Some((s, c)) = &res.scaled {
        j.push_str(&format!(
            ",\"scaling\":{{\"loss\":{},\"accuracy\":{}{}}}",
            num(Some(s.loss)),
            num(s.acc),
            confusion_json(c.as_ref())
        ));
    }
    if let Some((m, c)) = &res.mc {
        j.push_str(&format!(
            ",\"mc\":{{\"passes\":{},\"loss\":{},\"accuracy\":{},\"mean_variance\":{},\"mean_entropy\":{}{}}}",
            m.passes,
            num(Some(m.loss)),
            num(m.acc),
            num(Some(m.mean_variance)),
            num(m.mean_entropy),
            confusion_json(c.as_ref())
        ));
    }
    if !res.curve.is_empty() {
        let points: Vec<String> = res
            .curve
            .iter()
            .map(|p| {
                format!(
                    "{{\"passes\":{},\"loss\":{},\"accuracy\":{}}}",
                    p.passes,
                    num(Some(p.loss)),
                    num(p.acc)
                )
            })
            .collect();
        j.push_str(&format!(",\"mc_curve\":[{}]", points.join(",")));
    }
    j.push('}');
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn many_classes_show_their_accuracies_and_leave_the_matrix_to_json() {
        let mut c = Confusion::new(21);
        c.add(0, 0);
        c.add(0, 3);
        c.add(20, 20);
        let t = confusion_text("weight scaling", &c);
        assert!(
            t.contains("(21 classes: the confusion matrix is in --json)"),
            "{t}"
        );
        assert!(t.contains("\n    0   50.00% of 2\n"), "{t}");
        assert!(t.contains("\n    1        - of 0\n"), "{t}");
        assert!(t.contains("\n   20  100.00% of 1\n"), "{t}");
        let j = confusion_json(Some(&c));
        assert!(j.contains("\"per_class_accuracy\":[0.5,null,"), "{j}");
    }
}
