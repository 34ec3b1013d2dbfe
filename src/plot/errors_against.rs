//! A sweep's final test and training error against the numeric value of
//! one swept key (`netc plot --x KEY`), at the values' true spacing: mean
//! and spread over seeds, one colour per setting of the other keys.

use super::PlotError;
use super::figure::{Figure, LegendEntry, Panel, Series, render};
use super::sweep_chart::missing_note;

/// One x value of a line: (mean, spread) of each error in %, `None` where
/// no trial finished.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorPoint {
    pub x: f64,
    pub test: Option<(f64, f64)>,
    pub train: Option<(f64, f64)>,
    /// Fewer of its trials finished than planned (drawn hollow).
    pub partial: bool,
}

/// One setting of the other swept keys.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorLine {
    /// `h1.units=256`; empty when nothing else is swept.
    pub label: String,
    /// Ascending in x.
    pub points: Vec<ErrorPoint>,
}

/// What to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct ErrorPlot {
    pub title: String,
    pub x_key: String,
    pub lines: Vec<ErrorLine>,
    /// What the error bars are ("± std over 3 seeds"); empty for one seed.
    pub bars: String,
    /// How many trials were planned, and the ones without a result
    /// (`d.p=0.5 seed 2`), named under the legend.
    pub planned: usize,
    pub missing: Vec<String>,
}

/// The errors as SVG: test error solid, training error dashed.
pub fn errors_against(p: &ErrorPlot) -> Result<String, PlotError> {
    if p.lines.iter().all(|l| l.points.is_empty()) {
        return Err(PlotError::Empty("the sweep has no finished trial".into()));
    }
    let mut series = Vec::new();
    for (i, line) in p.lines.iter().enumerate() {
        for (train, pick) in [(false, test_of as fn(&ErrorPoint) -> _), (true, train_of)] {
            series.push(one_series(line, i, train, pick));
        }
    }
    let single = p.lines.len() == 1;
    let mut legend = Vec::new();
    for (i, line) in p.lines.iter().enumerate() {
        if single {
            legend.push(entry("test error", Some(i), false, false));
            legend.push(entry("training error", Some(i), true, false));
        } else {
            legend.push(entry(&line.label, Some(i), false, false));
        }
    }
    if !single {
        legend.push(entry("test error", None, false, false));
        legend.push(entry("training error", None, true, false));
    }
    if !p.bars.is_empty() {
        legend.push(entry(
            &format!("error bars: {}", p.bars),
            None,
            false,
            false,
        ));
    }
    if p.lines.iter().flat_map(|l| &l.points).any(|pt| pt.partial) {
        legend.push(entry(
            "fewer seeds finished than planned",
            None,
            false,
            true,
        ));
    }
    render(&Figure {
        title: p.title.clone(),
        panels: vec![Panel {
            title: format!("final error against {}", p.x_key),
            x_desc: p.x_key.clone(),
            y_desc: "classification error (%)".into(),
            series,
            x_ticks: None,
        }],
        legend,
        notes: missing_note(p.planned, &p.missing),
        panel_size: (720, 460),
    })
}

fn test_of(p: &ErrorPoint) -> Option<(f64, f64)> {
    p.test
}

fn train_of(p: &ErrorPoint) -> Option<(f64, f64)> {
    p.train
}

fn one_series(
    line: &ErrorLine,
    color: usize,
    dashed: bool,
    pick: fn(&ErrorPoint) -> Option<(f64, f64)>,
) -> Series {
    let (mut points, mut errors, mut hollow) = (Vec::new(), Vec::new(), Vec::new());
    for pt in &line.points {
        if let Some((m, s)) = pick(pt) {
            if pt.partial {
                hollow.push(points.len());
            }
            points.push((pt.x, m));
            errors.push(s);
        }
    }
    Series {
        label: line.label.clone(),
        points,
        errors: Some(errors),
        color,
        dashed,
        markers: true,
        hollow,
    }
}

fn entry(label: &str, color: Option<usize>, dashed: bool, hollow: bool) -> LegendEntry {
    LegendEntry {
        label: label.into(),
        color,
        dashed,
        hollow,
    }
}
