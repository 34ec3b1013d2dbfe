//! The summary `netc check` prints: activations and their shapes,
//! parameters and their counts, the loss terms, the training settings.

use super::builtins::{self, Role, label_text};
use super::check::{MEMORY_LIMIT, estimate_memory, human_bytes};
use super::model::{
    DataTerm, EvalSpec, Length, Model, Schedule, TrainSpec, Validation, Value, data_arg, data_name,
    num, optimizer_arg,
};
use crate::data::DataSpec;
use crate::optim::OptimizerConfig;
use crate::optim::schedule::{Decay, Unit};
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

/// `[28, 28]`: a shape as the summary and the editor show it.
pub fn shape(dims: &[usize]) -> String {
    let parts: Vec<String> = dims.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}

/// `name(a, k: v, ...)`: a call to the builtin of `role` called `name`, as a
/// file would write it: its parameters in the table's order, the required
/// ones by position, each with the value `arg` gives; a parameter `arg`
/// leaves out is not written, and a call with none is the bare name.
fn call_text(role: Role, name: &str, arg: impl Fn(&str) -> Option<Value>) -> String {
    let Some(b) = builtins::lookup(role, name) else {
        debug_assert!(false, "`{name}` is not in the builtins table");
        return name.to_string();
    };
    let args: Vec<String> = b
        .params
        .iter()
        .filter_map(|p| {
            let v = arg(p.name)?;
            Some(if p.required() {
                v.to_string()
            } else {
                format!("{}: {v}", p.name)
            })
        })
        .collect();
    if args.is_empty() {
        b.name.to_string()
    } else {
        format!("{}({})", b.name, args.join(", "))
    }
}

/// A data source as a `.net` file would write it, with its defaults filled in.
pub fn data_text(d: &DataSpec) -> String {
    call_text(Role::DataSource, data_name(d), |p| data_arg(d, false, p))
}

/// The `data:` setting as a file would write it: [`data_text`] with the
/// `normalize` option when it is on.
pub fn source_text(t: &TrainSpec) -> String {
    let d = &t.data;
    call_text(Role::DataSource, data_name(d), |p| {
        data_arg(d, t.normalize, p)
    })
}

/// An optimizer as a `.net` file would write it, with every setting filled in.
pub fn optimizer_text(c: &OptimizerConfig) -> String {
    call_text(Role::Optimizer, c.name(), |p| optimizer_arg(c, p))
}

/// `3 epochs` or `1000 steps`.
pub fn length_text(l: Length) -> String {
    match l {
        Length::Epochs(n) => format!("{n} epochs"),
        Length::Steps(n) => format!("{n} steps"),
    }
}

/// `scaling + mc(passes: 20), every 100 steps`: how a file evaluates, its
/// modes in the table's order.
pub fn eval_text(e: &EvalSpec) -> String {
    let parts: Vec<String> = builtins::names(Role::EvalMode)
        .filter(|mode| e.uses(mode))
        .map(|mode| call_text(Role::EvalMode, mode, |p| e.arg(mode, p)))
        .collect();
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

/// `cosine(min_lr: 0.001)`: a schedule as a file writes it (its defaults
/// left out), with its warm-up.
pub fn schedule_text(s: &Schedule) -> Option<String> {
    let per = match s.per {
        Unit::Epoch => String::new(),
        Unit::Step => ", per: step".to_string(),
    };
    let unit = match s.per {
        Unit::Epoch => "epochs",
        Unit::Step => "steps",
    };
    let decay = s.decay.as_ref().map(|d| match d {
        Decay::Step { every, gamma } => {
            format!("step(every: {every}, gamma: {}{per})", num(*gamma))
        }
        Decay::MultiStep { milestones, gamma } => {
            let m: Vec<String> = milestones.iter().map(u64::to_string).collect();
            format!("multistep([{}], gamma: {}{per})", m.join(", "), num(*gamma))
        }
        Decay::Exponential { gamma } => format!("exponential({}{per})", num(*gamma)),
        Decay::Cosine { t_max, min_lr } => {
            let t = t_max.map(|t| format!("t_max: {t}, ")).unwrap_or_default();
            format!("cosine({t}min_lr: {}{per})", num(*min_lr))
        }
    });
    let warmup = (s.warmup > 0).then(|| {
        format!(
            "linear warm-up over {} {unit} from {} of the rate",
            s.warmup,
            num(s.warmup_start)
        )
    });
    match (decay, warmup) {
        (Some(d), Some(w)) => Some(format!("{d}, after a {w}")),
        (d, w) => d.or(w),
    }
}

/// The summary's lines for the controls a file sets (none when it sets none).
fn controls_rows(m: &Model) -> Vec<Vec<String>> {
    let c = &m.train.controls;
    let mut rows = Vec::new();
    if let Some(s) = schedule_text(&c.schedule) {
        rows.push(vec!["schedule".into(), s]);
    }
    if let Some(r) = c.momentum_ramp {
        rows.push(vec![
            "momentum".into(),
            format!(
                "ramp({}, {}, epochs: {}): from {0} to {1} over the first {2} epochs",
                num(r.from),
                num(r.to),
                r.epochs
            ),
        ]);
    }
    if let Some(g) = c.clip_grad_norm {
        rows.push(vec![
            "clipping".into(),
            format!("gradients to a global norm of {}", num(g)),
        ]);
    }
    let bounds: Vec<String> = m
        .max_norms()
        .iter()
        .map(|(p, c)| format!("{p} ≤ {}", num(*c)))
        .collect();
    if !bounds.is_empty() {
        rows.push(vec![
            "max-norm".into(),
            format!("rows of {}", bounds.join(", ")),
        ]);
    }
    if let Some(v) = c.validation {
        let held = match v {
            Validation::Samples(k) => format!("{k} samples"),
            Validation::Fraction(f) => num(f),
        };
        let mut text = format!("{held} of the training split, held out by the seeded shuffle");
        if let Some(e) = c.early_stop {
            let _ = write!(
                text,
                "; stops when `{}` has not improved by more than {} for {} evaluations",
                e.metric.name(),
                num(e.min_delta),
                e.patience
            );
        }
        rows.push(vec!["validation".into(), text]);
    }
    rows
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

    // Running statistics: saved with the weights, never trained.
    let state = m.state();
    if !state.is_empty() {
        let mut rows = vec![vec!["state".to_string(), "shape".to_string()]];
        for p in &state {
            rows.push(vec![p.name.clone(), shape(&p.dims)]);
        }
        table(&mut out, &rows);
        out.push('\n');
    }

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
    let mut rows = vec![
        vec!["data".into(), source_text(t)],
        vec![
            "run".into(),
            format!("batch {}, {length}, seed {}", t.batch, t.seed),
        ],
        vec!["optimizer".into(), optimizer_text(&t.optimizer)],
        vec!["eval".into(), eval],
    ];
    rows.extend(controls_rows(m));
    rows.push(vec![
        "memory".into(),
        format!(
            "about {} to train (limit {})",
            human_bytes(mem.total()),
            human_bytes(MEMORY_LIMIT)
        ),
    ]);
    table(&mut out, &rows);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::{AdamConfig, SgdConfig};
    use std::path::PathBuf;

    /// Every data source, each option set, with and without `normalize`.
    fn sources() -> Vec<(DataSpec, bool)> {
        let csv = |test: Option<&str>| DataSpec::Csv {
            path: PathBuf::from("train.csv"),
            test: test.map(PathBuf::from),
            test_fraction: 0.25,
            header: true,
        };
        let specs = [
            DataSpec::Synthetic {
                samples: 40,
                test_samples: 10,
                target: Some(1),
                seed: 7,
            },
            DataSpec::Digits { test_fraction: 0.3 },
            DataSpec::Mnist,
            DataSpec::FashionMnist,
            DataSpec::Idx {
                dir: PathBuf::from("data/set"),
            },
            csv(None),
            csv(Some("test.csv")),
        ];
        let both = specs
            .iter()
            .flat_map(|d| [(d.clone(), false), (d.clone(), true)]);
        both.collect()
    }

    fn optimizers() -> Vec<OptimizerConfig> {
        vec![
            OptimizerConfig::Sgd(SgdConfig::DEFAULT),
            OptimizerConfig::Adam(AdamConfig::ADAM),
            OptimizerConfig::Adam(AdamConfig::ADAMW),
        ]
    }

    fn train(data: DataSpec, normalize: bool) -> TrainSpec {
        TrainSpec {
            controls: Default::default(),
            data,
            normalize,
            batch: 8,
            length: Length::Epochs(1),
            optimizer: OptimizerConfig::Sgd(SgdConfig::DEFAULT),
            seed: 0,
            eval: EvalSpec {
                scaling: true,
                mc_passes: None,
                every: None,
            },
        }
    }

    /// Whether `text` writes parameter `p`: by name, or, for a required one,
    /// by position (its value follows the call's opening parenthesis).
    fn writes(text: &str, p: &builtins::Param) -> bool {
        text.contains(&format!("{}: ", p.name)) || (p.required() && text.contains('('))
    }

    #[test]
    fn every_parameter_of_every_data_source_shows_in_its_text() {
        let texts: Vec<String> = sources()
            .into_iter()
            .map(|(d, n)| source_text(&train(d, n)))
            .collect();
        for b in builtins::of(Role::DataSource) {
            let own: Vec<&String> = texts
                .iter()
                .filter(|t| t.split('(').next() == Some(b.name))
                .collect();
            assert!(!own.is_empty(), "no source is `{}`", b.name);
            for p in b.params {
                assert!(
                    own.iter().any(|t| writes(t, p)),
                    "`{}` never shows `{}`: {own:?}",
                    b.name,
                    p.name
                );
            }
        }
    }

    #[test]
    fn every_parameter_of_every_optimizer_shows_in_its_text() {
        let texts: Vec<String> = optimizers().iter().map(optimizer_text).collect();
        for b in builtins::of(Role::Optimizer) {
            let text = texts
                .iter()
                .find(|t| t.split('(').next() == Some(b.name))
                .unwrap_or_else(|| panic!("no optimizer is `{}`", b.name));
            for p in b.params {
                assert!(writes(text, p), "`{text}` lacks `{}`", p.name);
            }
        }
    }

    #[test]
    fn every_evaluation_mode_and_its_parameters_show() {
        let e = EvalSpec {
            scaling: true,
            mc_passes: Some(20),
            every: Some(100),
        };
        let text = eval_text(&e);
        assert_eq!(text, "scaling + mc(passes: 20), every 100 steps");
        for b in builtins::of(Role::EvalMode) {
            assert!(text.contains(b.name), "{}", b.name);
            for p in b.params {
                assert!(text.contains(&format!("{}: ", p.name)), "{}", p.name);
            }
        }
    }

    #[test]
    fn calls_read_as_a_file_writes_them() {
        let text = |d: DataSpec, n| source_text(&train(d, n));
        let specs: Vec<DataSpec> = sources().into_iter().step_by(2).map(|(d, _)| d).collect();
        let [synthetic, digits, mnist, _, idx, csv, csv_test]: [DataSpec; 7] =
            specs.try_into().unwrap();
        assert_eq!(
            text(synthetic, false),
            "synthetic(samples: 40, test_samples: 10, target: 1, seed: 7)"
        );
        assert_eq!(text(digits.clone(), false), "digits(test_fraction: 0.3)");
        assert_eq!(
            text(digits, true),
            "digits(test_fraction: 0.3, normalize: true)"
        );
        assert_eq!(text(mnist.clone(), false), "mnist");
        assert_eq!(text(mnist, true), "mnist(normalize: true)");
        assert_eq!(text(idx, false), "idx(\"data/set\")");
        assert_eq!(
            text(csv, true),
            "csv(\"train.csv\", test_fraction: 0.25, header: true, normalize: true)"
        );
        // `test_fraction` is unused when a `test` file holds the split out.
        assert_eq!(
            data_text(&csv_test),
            "csv(\"train.csv\", test: \"test.csv\", header: true)"
        );
        assert_eq!(
            optimizer_text(&OptimizerConfig::Adam(AdamConfig::ADAMW)),
            "adamw(lr: 0.001, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.01)"
        );
    }
}
