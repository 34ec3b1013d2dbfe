//! Learning curves: one run's (`curves.svg`), and several runs overlaid.

use super::PlotError;
use super::figure::{Figure, LegendEntry, Panel, Series, render};
use crate::run::Row;

const PANEL: (u32, u32) = (440, 380);

fn series(
    label: &str,
    rows: &[Row],
    color: usize,
    dashed: bool,
    y: impl Fn(&Row) -> Option<f64>,
) -> Series {
    Series {
        label: label.to_string(),
        points: rows.iter().filter_map(|r| Some((r.epoch, y(r)?))).collect(),
        errors: None,
        color,
        dashed,
        markers: false,
        hollow: Vec::new(),
    }
}

fn panel(title: &str, y_desc: &str, series: Vec<Series>) -> Panel {
    Panel {
        title: title.to_string(),
        x_desc: "epoch".to_string(),
        y_desc: y_desc.to_string(),
        series,
        x_ticks: None,
    }
}

fn pct(a: Option<f64>) -> Option<f64> {
    a.map(|a| 100.0 * a)
}

/// One run's curves: loss and accuracy, train and test, per evaluation; the
/// penalty terms (`penalty_labels`, as in metrics.csv) on their own axis.
pub fn curves(title: &str, penalty_labels: &[String], rows: &[Row]) -> Result<String, PlotError> {
    if rows.is_empty() {
        return Err(PlotError::Empty("the run has no evaluation yet".into()));
    }
    // A validation split gets the colour after the penalties'.
    let val = rows
        .iter()
        .any(|r| r.val_loss.is_some())
        .then_some(2 + penalty_labels.len());
    let mut loss = vec![
        series("train", rows, 0, false, |r| Some(r.train_loss)),
        series("test", rows, 1, false, |r| Some(r.test_loss)),
    ];
    loss.extend(val.map(|c| series("validation", rows, c, false, |r| r.val_loss)));
    let mut panels = vec![panel("loss", "loss", loss)];
    let mut legend = vec![
        LegendEntry {
            label: "train".into(),
            color: Some(0),
            dashed: false,
            hollow: false,
        },
        LegendEntry {
            label: "test".into(),
            color: Some(1),
            dashed: false,
            hollow: false,
        },
    ];
    if rows.iter().any(|r| r.test_acc.is_some()) {
        let mut acc = vec![
            series("train", rows, 0, false, |r| pct(r.train_acc)),
            series("test", rows, 1, false, |r| pct(r.test_acc)),
        ];
        acc.extend(val.map(|c| series("validation", rows, c, false, |r| pct(r.val_acc))));
        panels.push(panel("accuracy", "accuracy (%)", acc));
    }
    if !penalty_labels.is_empty() {
        let s = penalty_labels
            .iter()
            .enumerate()
            .map(|(i, l)| series(l, rows, 2 + i, false, |r| r.penalties.get(i).copied()))
            .collect();
        panels.push(panel("penalties", "penalty term (train)", s));
        legend.extend(penalty_labels.iter().enumerate().map(|(i, l)| LegendEntry {
            label: l.clone(),
            color: Some(2 + i),
            dashed: false,
            hollow: false,
        }));
    }
    if let Some(c) = val {
        legend.push(LegendEntry {
            label: "validation".into(),
            color: Some(c),
            dashed: false,
            hollow: false,
        });
    }
    // The rate and momentum in force, when a schedule or a ramp moves them.
    let moving = |y: fn(&Row) -> Option<f64>| {
        let mut values = rows.iter().filter_map(y);
        values
            .next()
            .is_some_and(|first| values.any(|v| v != first))
    };
    if moving(|r| r.lr) {
        let s = vec![series("lr", rows, 0, false, |r| r.lr)];
        panels.push(panel("learning rate", "learning rate", s));
    }
    if moving(|r| r.momentum) {
        let s = vec![series("momentum", rows, 0, false, |r| r.momentum)];
        panels.push(panel("momentum", "momentum", s));
    }
    render(&Figure {
        title: title.to_string(),
        panels,
        legend,
        notes: Vec::new(),
        panel_size: PANEL,
    })
}

/// One run of an overlay: its label (e.g. its overrides) and its metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    pub label: String,
    pub penalty_labels: Vec<String>,
    pub rows: Vec<Row>,
}

/// Several runs on the same axes, one colour each: test solid, train dashed.
/// Penalties, when any run has them, are drawn as each run's total.
pub fn overlay(title: &str, runs: &[Run]) -> Result<String, PlotError> {
    if runs.iter().all(|r| r.rows.is_empty()) {
        return Err(PlotError::Empty(
            "none of the runs has an evaluation yet".into(),
        ));
    }
    let (mut loss, mut acc) = (Vec::new(), Vec::new());
    for (i, run) in runs.iter().enumerate() {
        let (l, rows) = (&run.label, &run.rows);
        loss.push(series(l, rows, i, false, |r| Some(r.test_loss)));
        loss.push(series(l, rows, i, true, |r| Some(r.train_loss)));
        acc.push(series(l, rows, i, false, |r| pct(r.test_acc)));
        acc.push(series(l, rows, i, true, |r| pct(r.train_acc)));
    }
    let mut panels = vec![panel("loss", "loss", loss)];
    if runs
        .iter()
        .flat_map(|r| &r.rows)
        .any(|r| r.test_acc.is_some())
    {
        panels.push(panel("accuracy", "accuracy (%)", acc));
    }
    if runs.iter().any(|r| !r.penalty_labels.is_empty()) {
        let s = runs
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.penalty_labels.is_empty())
            .map(|(i, run)| {
                series(&run.label, &run.rows, i, false, |r| {
                    Some(r.penalties.iter().sum())
                })
            })
            .collect();
        panels.push(panel("penalties", "sum of penalty terms (train)", s));
    }
    let mut legend: Vec<LegendEntry> = runs
        .iter()
        .enumerate()
        .map(|(i, r)| LegendEntry {
            label: r.label.clone(),
            color: Some(i),
            dashed: false,
            hollow: false,
        })
        .collect();
    legend.push(LegendEntry {
        label: "test".into(),
        color: None,
        dashed: false,
        hollow: false,
    });
    legend.push(LegendEntry {
        label: "train".into(),
        color: None,
        dashed: true,
        hollow: false,
    });
    render(&Figure {
        title: title.to_string(),
        panels,
        legend,
        notes: Vec::new(),
        panel_size: PANEL,
    })
}
