//! A sweep's summary: each measure against the swept value, one line per
//! setting of the other keys, with error bars over seeds.

use super::PlotError;
use super::figure::{Figure, LegendEntry, Panel, Series, render};

/// One line: a setting of the other keys, with a (mean, std) per x value and
/// panel (`None` where no trial finished).
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryLine {
    /// The other keys' values (`h1.units=256`); empty for the only line.
    pub label: String,
    /// `values[panel][x]`
    pub values: Vec<Vec<Option<(f64, f64)>>>,
}

/// What to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryPlot {
    pub title: String,
    /// The swept key on the x axis, and its values as written.
    pub x_key: String,
    pub x_values: Vec<String>,
    /// (title, y axis) of each panel.
    pub panels: Vec<(String, String)>,
    pub lines: Vec<SummaryLine>,
    /// What the error bars are, for the legend (e.g. "± std over 3 seeds").
    pub bars: String,
}

/// The summary as SVG. The x axis is numeric when every value is a number,
/// else one evenly spaced position per value.
pub fn summary(p: &SummaryPlot) -> Result<String, PlotError> {
    if p.x_values.is_empty() || p.lines.is_empty() {
        return Err(PlotError::Empty("the sweep has no finished trial".into()));
    }
    let numeric: Option<Vec<f64>> = p
        .x_values
        .iter()
        .map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    let (xs, ticks) = match numeric {
        Some(xs) => (xs, None),
        None => (
            (0..p.x_values.len()).map(|i| i as f64).collect(),
            Some(p.x_values.clone()),
        ),
    };
    // Lines at the same x are moved apart a little, so error bars do not hide
    // each other.
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let span = if ticks.is_some() || hi <= lo {
        1.0
    } else {
        hi - lo
    };
    let lines = p.lines.len() as f64;
    let dodge = |i: usize| (i as f64 - (lines - 1.0) / 2.0) * 0.012 * span;
    let panels = p
        .panels
        .iter()
        .enumerate()
        .map(|(k, (title, y_desc))| Panel {
            title: title.clone(),
            x_desc: p.x_key.clone(),
            y_desc: y_desc.clone(),
            x_ticks: ticks.clone(),
            series: p
                .lines
                .iter()
                .enumerate()
                .map(|(i, line)| {
                    let cells: Vec<(f64, f64, f64)> = line
                        .values
                        .get(k)
                        .into_iter()
                        .flatten()
                        .zip(&xs)
                        .filter_map(|(v, &x)| v.map(|(m, s)| (x + dodge(i), m, s)))
                        .collect();
                    Series {
                        label: line.label.clone(),
                        points: cells.iter().map(|&(x, m, _)| (x, m)).collect(),
                        errors: Some(cells.iter().map(|&(_, _, s)| s).collect()),
                        color: i,
                        dashed: false,
                        markers: true,
                    }
                })
                .collect(),
        })
        .collect();
    let mut legend: Vec<LegendEntry> = p
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| LegendEntry {
            label: l.label.clone(),
            color: Some(i),
            dashed: false,
        })
        .collect();
    // A line without a label is the only one (nothing else swept): the legend
    // says what its points are.
    for e in legend.iter_mut().filter(|e| e.label.is_empty()) {
        e.label = if p.bars.is_empty() {
            "one seed per value".into()
        } else {
            p.bars.clone()
        };
    }
    if !p.bars.is_empty() && p.lines.iter().any(|l| !l.label.is_empty()) {
        legend.push(LegendEntry {
            label: format!("error bars: {}", p.bars),
            color: None,
            dashed: false,
        });
    }
    render(&Figure {
        title: p.title.clone(),
        panels,
        legend,
        panel_size: (460, 380),
    })
}
