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
    /// `partial[x]`: fewer of that setting's trials finished than planned
    /// (its points are drawn hollow).
    pub partial: Vec<bool>,
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
    /// How many trials were planned, and the ones without a result
    /// (`d.p=0.5 seed 2`), named under the legend.
    pub planned: usize,
    pub missing: Vec<String>,
}

/// Lines sharing an x value are drawn this fraction of the spacing between
/// x values apart (at most [`SPREAD`] all told), so their error bars do not
/// hide each other; the tick stays on the value itself.
pub const DODGE: f64 = 0.08;
/// The widest the lines at one x value spread, as a fraction of the spacing.
pub const SPREAD: f64 = 0.4;

/// The summary as SVG. The x axis has one evenly spaced position per swept
/// value (in numeric order when every value is a number, else as planned),
/// labelled with the value as written; a sweep of 1e-3, 1e-2, 1e-1 is as
/// readable as one of 0, 0.25, 0.5.
pub fn summary(p: &SummaryPlot) -> Result<String, PlotError> {
    if p.x_values.is_empty() || p.lines.is_empty() {
        return Err(PlotError::Empty("the sweep has no finished trial".into()));
    }
    let order = x_order(&p.x_values);
    let lines = p.lines.len();
    let dodge = if lines > 1 {
        DODGE.min(SPREAD / (lines - 1) as f64)
    } else {
        0.0
    };
    let offset = |i: usize| (i as f64 - (lines as f64 - 1.0) / 2.0) * dodge;
    let panels = p
        .panels
        .iter()
        .enumerate()
        .map(|(k, (title, y_desc))| Panel {
            title: title.clone(),
            x_desc: p.x_key.clone(),
            y_desc: y_desc.clone(),
            x_ticks: Some(order.iter().map(|&j| p.x_values[j].clone()).collect()),
            series: p
                .lines
                .iter()
                .enumerate()
                .map(|(i, line)| line_series(line, k, i, &order, offset(i)))
                .collect(),
        })
        .collect();
    let mut legend: Vec<LegendEntry> = p
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| entry(l.label.clone(), Some(i), false))
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
        legend.push(entry(format!("error bars: {}", p.bars), None, false));
    }
    if p.lines.iter().flat_map(|l| &l.partial).any(|&b| b) {
        legend.push(entry(
            "fewer seeds finished than planned".into(),
            None,
            true,
        ));
    }
    render(&Figure {
        title: p.title.clone(),
        panels,
        legend,
        notes: missing_note(p.planned, &p.missing),
        panel_size: (460, 380),
    })
}

fn entry(label: String, color: Option<usize>, hollow: bool) -> LegendEntry {
    LegendEntry {
        label,
        color,
        dashed: false,
        hollow,
    }
}

/// The x values' indices in the order drawn: numeric order if all are numbers.
fn x_order(values: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    let numbers: Option<Vec<f64>> = values
        .iter()
        .map(|v| v.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect();
    if let Some(n) = numbers {
        order.sort_by(|&a, &b| n[a].total_cmp(&n[b]));
    }
    order
}

/// Line `i` of panel `k`: its points at their x positions moved by `offset`.
fn line_series(line: &SummaryLine, k: usize, i: usize, order: &[usize], offset: f64) -> Series {
    let row = line.values.get(k).map(Vec::as_slice).unwrap_or(&[]);
    let mut points = Vec::new();
    let mut errors = Vec::new();
    let mut hollow = Vec::new();
    for (pos, &j) in order.iter().enumerate() {
        if let Some(Some((m, s))) = row.get(j) {
            if line.partial.get(j).copied().unwrap_or(false) {
                hollow.push(points.len());
            }
            points.push((pos as f64 + offset, *m));
            errors.push(*s);
        }
    }
    Series {
        label: line.label.clone(),
        points,
        errors: Some(errors),
        color: i,
        dashed: false,
        markers: true,
        hollow,
    }
}

/// Characters in a line of the note (it must fit under two panels).
const NOTE_WIDTH: usize = 100;
/// Lines of the note at most; further trials are counted, not named.
const NOTE_LINES: usize = 3;

/// "2 of 6 trials have no result: d.p=0.5 seed 1, ...", in lines short
/// enough to read.
pub(super) fn missing_note(planned: usize, missing: &[String]) -> Vec<String> {
    if missing.is_empty() {
        return Vec::new();
    }
    let mut lines = vec![format!(
        "{} of {planned} trials have no result:",
        missing.len()
    )];
    for (shown, m) in missing.iter().enumerate() {
        let last = lines.len() - 1;
        let more = shown + 1 < missing.len();
        let item = format!(" {m}{}", if more { "," } else { "" });
        // The last line keeps room for " and N more".
        let room = if lines.len() == NOTE_LINES {
            NOTE_WIDTH - 16
        } else {
            NOTE_WIDTH
        };
        if lines[last].len() + item.len() <= room {
            lines[last].push_str(&item);
        } else if lines.len() < NOTE_LINES {
            lines.push(item.trim_start().to_string());
        } else {
            lines[last].push_str(&format!(" and {} more", missing.len() - shown));
            break;
        }
    }
    lines
}
