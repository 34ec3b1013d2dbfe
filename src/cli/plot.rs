//! `netc plot DIR... -o FILE.svg`: several runs' learning curves on the same
//! axes, each labelled by the overrides that set it apart; `netc plot --x KEY
//! SWEEPDIR -o FILE.svg`: a sweep's final test and training error against
//! the numeric value of a swept key.

use super::Reporter;
use super::console::{errln, outln};
use super::sweep::read_sweep;
use clap::Args;
use netc::checkpoint::read_tensors;
use netc::files::write_atomic;
use netc::plot::{self, Run};
use netc::run::{METRICS, RunDir, metadata, metrics};
use netc::sweep::collect::{self, State};
use netc::sweep::manifest::split_overrides;
use netc::sweep::{MANIFEST, Manifest, Trial, against, results};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct PlotArgs {
    /// Run directories (each with a metrics.csv), or a sweep directory (its trials).
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// The SVG file to write (netc draws SVG only).
    #[arg(short = 'o', long = "out", value_name = "FILE.svg")]
    out: PathBuf,
    /// Lets --out name an existing file, replacing it (without it, that is refused).
    #[arg(long)]
    force: bool,
    /// The picture's title [default: the runs' net name].
    #[arg(long)]
    title: Option<String>,
    /// Draw one sweep directory's final test and training error (mean ± std
    /// over seeds) against the numeric value of this swept key, instead of
    /// learning curves.
    #[arg(long, value_name = "KEY")]
    x: Option<String>,
}

/// One run directory as read.
struct Found {
    dir: PathBuf,
    net: Option<String>,
    settings: Vec<(String, String)>,
    labels: Vec<String>,
    rows: Vec<metrics::Row>,
}

pub fn run(args: &PlotArgs, r: &mut Reporter) {
    if let Err(e) = svg_name(&args.out, "netc plot") {
        r.error(e);
        return;
    }
    if !r.output_free(&args.out, args.force) {
        return;
    }
    if let Some(key) = &args.x {
        return errors_against(args, key, r);
    }
    let mut dirs = Vec::new();
    for d in &args.dirs {
        match run_dirs(d) {
            Ok(mut found) => dirs.append(&mut found),
            Err(e) => r.error(e),
        }
    }
    let mut runs = Vec::new();
    for d in dirs {
        match read_run(&d) {
            Ok(f) => runs.push(f),
            Err(e) => r.error(e),
        }
    }
    if runs.is_empty() {
        if !r.failed() {
            r.error("no run to plot");
        }
        return;
    }
    let labels = labels(&runs);
    let title = args.title.clone().unwrap_or_else(|| {
        let first = runs[0].net.clone();
        if first.is_some() && runs.iter().all(|f| f.net == first) {
            first.unwrap_or_default()
        } else {
            format!("{} runs", runs.len())
        }
    });
    let overlay: Vec<Run> = runs
        .into_iter()
        .zip(labels)
        .map(|(f, label)| Run {
            label,
            penalty_labels: f.labels,
            rows: f.rows,
        })
        .collect();
    let svg = match plot::overlay(&title, &overlay) {
        Ok(s) => s,
        Err(e) => {
            r.error(e.to_string());
            return;
        }
    };
    match write_atomic(&args.out, svg.as_bytes()) {
        Ok(()) => errln!("wrote {} ({} runs)", args.out.display(), overlay.len()),
        Err(e) => r.error(e.to_string()),
    }
}

/// `--x KEY`: the sweep's final errors against KEY, drawn and tabulated.
fn errors_against(args: &PlotArgs, key: &str, r: &mut Reporter) {
    let [dir] = args.dirs.as_slice() else {
        return r.error(format!(
            "--x draws one sweep directory, and {} were given",
            args.dirs.len()
        ));
    };
    let Some(m) = read_sweep(dir, r) else {
        return;
    };
    let states: Vec<(Trial, State)> = m
        .trials
        .iter()
        .map(|t| (t.clone(), collect::read_planned(dir, t)))
        .collect();
    if !states.iter().any(|(_, s)| matches!(s, State::Done(_))) {
        return r.error(format!(
            "no trial of {} has finished: nothing to plot",
            dir.display()
        ));
    }
    let groups = results::aggregate(&states);
    let mut seeds: Vec<u64> = m.trials.iter().map(|t| t.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let title = args.title.clone().unwrap_or_else(|| {
        Path::new(&m.file)
            .file_stem()
            .map_or_else(|| m.file.clone(), |s| s.to_string_lossy().into_owned())
    });
    let data = match against::errors_against(&title, key, &m.keys, &groups, seeds.len()) {
        Ok(d) => d,
        Err(e) => return r.error(e.to_string()),
    };
    outln!("{}", against_table(&data));
    let written = plot::errors_against(&data)
        .map_err(|e| e.to_string())
        .and_then(|svg| write_atomic(&args.out, svg.as_bytes()).map_err(|e| e.to_string()));
    match written {
        Ok(()) => errln!("wrote {}", args.out.display()),
        Err(e) => r.error(e),
    }
}

/// The plotted numbers as a table: one row per line and x value.
fn against_table(p: &plot::ErrorPlot) -> String {
    let cell = |v: Option<(f64, f64)>| match v {
        Some((m, s)) if !p.bars.is_empty() => format!("{m:.2} ± {s:.2}"),
        Some((m, _)) => format!("{m:.2}"),
        None => "-".into(),
    };
    let labelled = p.lines.iter().any(|l| !l.label.is_empty());
    let mut t = format!(
        "{:<12} {:>16} {:>16}",
        p.x_key, "test error %", "train error %"
    );
    if labelled {
        t.push_str("  other keys");
    }
    for line in &p.lines {
        for pt in &line.points {
            t.push_str(&format!(
                "\n{:<12} {:>16} {:>16}",
                pt.x,
                cell(pt.test),
                cell(pt.train)
            ));
            if labelled {
                t.push_str(&format!("  {}", line.label));
            }
        }
    }
    t
}

/// netc draws SVG only (a bitmap would need a rasteriser and font files), so
/// a name promising another format is refused rather than filled with SVG.
pub(super) fn svg_name(out: &Path, command: &str) -> Result<(), String> {
    let ext = out.extension().map(|e| e.to_string_lossy().to_lowercase());
    if ext.as_deref() == Some("svg") {
        return Ok(());
    }
    let what = ext.map_or("a file without an extension".to_string(), |e| {
        format!("a .{e} file")
    });
    Err(format!(
        "{} would be {what}, but {command} writes SVG only; give a name ending in .svg ({})",
        out.display(),
        out.with_extension("svg").display()
    ))
}

/// `dir` itself if it holds a run, else the runs in it (a sweep's trials, in
/// plan order when it has a sweep.txt).
fn run_dirs(dir: &Path) -> Result<Vec<PathBuf>, String> {
    if dir.join(METRICS).exists() {
        return Ok(vec![dir.to_path_buf()]);
    }
    if !dir.is_dir() {
        return Err(format!("{} is not a run directory", dir.display()));
    }
    let manifest = dir.join(MANIFEST);
    if let Ok(text) = std::fs::read_to_string(&manifest)
        && let Ok(m) = Manifest::parse(&text, &manifest)
    {
        let found: Vec<PathBuf> = m
            .trials
            .iter()
            .map(|t| dir.join(&t.dir))
            .filter(|d| d.join(METRICS).exists())
            .collect();
        if !found.is_empty() {
            return Ok(found);
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join(METRICS).exists())
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(format!(
            "{} holds no metrics.csv, and no run directory with one",
            dir.display()
        ));
    }
    Ok(found)
}

fn read_run(dir: &Path) -> Result<Found, String> {
    let files = RunDir::new(dir);
    let path = &files.metrics;
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let (labels, rows) = metrics::read(&text)
        .ok_or_else(|| format!("{} is not a netc metrics.csv", path.display()))?;
    // The model's metadata names the net and the overrides; a run that has
    // no model yet is still plotted, labelled by its directory.
    let meta = read_tensors(&files.model)
        .map(|t| t.into_metadata())
        .unwrap_or_default();
    let (settings, seed) =
        split_overrides(meta.get(metadata::OVERRIDES).map_or("", String::as_str));
    let mut settings = settings;
    if let Some(s) = seed.or_else(|| metadata::number(&meta, metadata::SEED)) {
        settings.push(("seed".into(), s.to_string()));
    }
    Ok(Found {
        dir: dir.to_path_buf(),
        net: meta.get(metadata::NET_NAME).cloned(),
        settings,
        labels,
        rows,
    })
}

/// Each run's label: the settings whose values differ between the runs
/// (`d.p=0.25`), else its directory name.
fn labels(runs: &[Found]) -> Vec<String> {
    let mut keys: Vec<&str> = Vec::new();
    for f in runs {
        for (k, _) in &f.settings {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let value = |f: &Found, k: &str| {
        f.settings
            .iter()
            .find(|(sk, _)| sk == k)
            .map(|(_, v)| v.clone())
    };
    let differing: Vec<&str> = keys
        .into_iter()
        .filter(|k| runs.iter().any(|f| value(f, k) != value(&runs[0], k)))
        .collect();
    let labels: Vec<String> = runs
        .iter()
        .map(|f| {
            differing
                .iter()
                .filter_map(|k| value(f, k).map(|v| format!("{k}={v}")))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let distinct = labels.iter().all(|l| !l.is_empty())
        && labels
            .iter()
            .enumerate()
            .all(|(i, l)| !labels[..i].contains(l));
    if distinct {
        labels
    } else {
        runs.iter()
            .map(|f| {
                f.dir.file_name().map_or_else(
                    || f.dir.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                )
            })
            .collect()
    }
}
