//! The summary `netc check` prints: activations and their shapes,
//! parameters and their counts, the loss terms, the training settings.

use super::builtins::label_text;
use super::check::{MEMORY_LIMIT, estimate_memory, human_bytes};
use super::model::{DataTerm, EvalSpec, Length, Model, TrainSpec, num};
use crate::data::DataSpec;
use crate::optim::OptimizerConfig;
use std::fmt::Write as _;

/// Rows of cells printed with aligned columns, indented by two spaces.
fn table(out: &mut String, rows: &[Vec<String>]) {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = String::from(" ");
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c].saturating_sub(cell.chars().count());
            line.push(' ');
            line.push_str(cell);
            if c + 1 < r.len() {
                line.push_str(&" ".repeat(pad + 1));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn shape(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// A data source as a `.net` file would write it, with its defaults filled in.
pub fn data_text(d: &DataSpec) -> String {
    match d {
        DataSpec::Synthetic {
            samples,
            test_samples,
            target,
            seed,
        } => {
            let t = target.map_or(String::new(), |t| format!(", target: {t}"));
            format!("synthetic(samples: {samples}, test_samples: {test_samples}{t}, seed: {seed})")
        }
        DataSpec::Digits { test_fraction } => format!("digits(test_fraction: {test_fraction})"),
        DataSpec::Mnist => "mnist".to_string(),
        DataSpec::FashionMnist => "fashion_mnist".to_string(),
        DataSpec::Idx { dir } => format!("idx({:?})", dir.display().to_string()),
        DataSpec::Csv {
            path,
            test,
            test_fraction,
            header,
        } => {
            let held = match test {
                Some(t) => format!("test: {:?}", t.display().to_string()),
                None => format!("test_fraction: {test_fraction}"),
            };
            format!(
                "csv({:?}, {held}, header: {header})",
                path.display().to_string()
            )
        }
    }
}

/// The `data:` setting as a file would write it: [`data_text`] with the
/// `normalize` option when it is on.
pub fn source_text(t: &TrainSpec) -> String {
    let text = data_text(&t.data);
    if !t.normalize {
        return text;
    }
    match text.strip_suffix(')') {
        Some(call) => format!("{call}, normalize: true)"),
        None => format!("{text}(normalize: true)"),
    }
}

/// An optimizer as a `.net` file would write it, with every setting filled in.
pub fn optimizer_text(c: &OptimizerConfig) -> String {
    match c {
        OptimizerConfig::Sgd(s) => format!(
            "sgd(lr: {}, momentum: {}, dampening: {}, nesterov: {}, weight_decay: {})",
            num(s.lr),
            num(s.momentum),
            num(s.dampening),
            s.nesterov,
            num(s.weight_decay)
        ),
        OptimizerConfig::Adam(a) => format!(
            "{}(lr: {}, betas: [{}, {}], eps: {}, weight_decay: {})",
            a.name(),
            num(a.lr),
            num(a.beta1),
            num(a.beta2),
            num(a.eps),
            num(a.weight_decay)
        ),
    }
}

/// `3 epochs` or `1000 steps`.
pub fn length_text(l: Length) -> String {
    match l {
        Length::Epochs(n) => format!("{n} epochs"),
        Length::Steps(n) => format!("{n} steps"),
    }
}

/// `scaling + mc(passes: 20), every 100 steps`: how a file evaluates.
pub fn eval_text(e: &EvalSpec) -> String {
    let mut parts = Vec::new();
    if e.scaling {
        parts.push("scaling".to_string());
    }
    if let Some(n) = e.mc_passes {
        parts.push(format!("mc(passes: {n})"));
    }
    let mut text = parts.join(" + ");
    if let Some(n) = e.every {
        let _ = write!(text, ", every {n} steps");
    }
    text
}

/// `nll(out, y)`: the loss's data term as a file writes it.
pub fn data_term(d: &DataTerm, label: &str) -> String {
    format!("{}({}, {label})", d.kind.name(), d.on)
}

/// The summary table of a checked model.
pub fn summary(m: &Model) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "net {} v1 ({})", m.name, m.path);
    out.push('\n');
    table(
        &mut out,
        &[
            vec![
                "input".into(),
                m.input.name.clone(),
                shape(&m.input.dims),
                format!("{} features", m.input.features),
            ],
            vec![
                "label".into(),
                m.label.name.clone(),
                label_text(m.label.kind),
            ],
        ],
    );
    out.push('\n');

    let mut rows = vec![vec![
        "activation".to_string(),
        "shape".to_string(),
        "expression".to_string(),
    ]];
    for b in &m.bindings {
        rows.push(vec![b.name.clone(), shape(&b.shape), b.expr.to_string()]);
    }
    table(&mut out, &rows);
    out.push('\n');

    let mut rows = vec![vec![
        "parameter".to_string(),
        "shape".to_string(),
        "count".to_string(),
    ]];
    let params = m.params();
    for p in &params {
        rows.push(vec![p.name.clone(), shape(&p.dims), p.count().to_string()]);
    }
    rows.push(vec![
        "total".into(),
        String::new(),
        m.param_count().to_string(),
    ]);
    table(&mut out, &rows);
    out.push('\n');

    let mut rows = vec![vec![
        "loss".to_string(),
        data_term(&m.loss.data, &m.label.name),
    ]];
    for p in &m.loss.penalties {
        rows.push(vec!["penalty".into(), p.to_string()]);
    }
    table(&mut out, &rows);
    out.push('\n');

    let t = &m.train;
    let length = length_text(t.length);
    let eval = eval_text(&t.eval);
    let mem = estimate_memory(m);
    table(
        &mut out,
        &[
            vec!["data".into(), source_text(t)],
            vec![
                "run".into(),
                format!("batch {}, {length}, seed {}", t.batch, t.seed),
            ],
            vec!["optimizer".into(), optimizer_text(&t.optimizer)],
            vec!["eval".into(), eval],
            vec![
                "memory".into(),
                format!(
                    "about {} to train (limit {})",
                    human_bytes(mem.total()),
                    human_bytes(MEMORY_LIMIT)
                ),
            ],
        ],
    );
    out
}
