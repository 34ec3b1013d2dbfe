//! Monte-Carlo dropout against weight scaling: the test error of the mean of
//! k stochastic passes against k (log axis), the single weight-scaled pass
//! as a horizontal line (the paper's Figure 11).

use super::PlotError;
use super::figure::{Figure, LegendEntry, Panel, Series, render};

/// What to draw.
#[derive(Clone, Debug, PartialEq)]
pub struct McCurve {
    pub title: String,
    /// (passes, test error in %), passes ascending.
    pub points: Vec<(usize, f64)>,
    /// The weight-scaled pass's test error in %, if measured.
    pub scaling: Option<f64>,
}

/// The curve as SVG. The x axis is log10 of the passes, its ticks the
/// decades (1, 10, 100, ...) covering them.
pub fn mc_curve(c: &McCurve) -> Result<String, PlotError> {
    if c.points.is_empty() {
        return Err(PlotError::Empty("no pass count to draw".into()));
    }
    let log = |k: usize| (k.max(1) as f64).log10();
    let last = c.points.iter().map(|p| p.0).max().unwrap_or(1);
    let decades = log(last).ceil().max(1.0) as u32;
    let ticks: Vec<String> = (0..=decades).map(|d| 10u64.pow(d).to_string()).collect();
    let mut series = vec![Series {
        label: "Monte-Carlo dropout".into(),
        points: c.points.iter().map(|&(k, e)| (log(k), e)).collect(),
        errors: None,
        color: 0,
        dashed: false,
        markers: true,
        hollow: Vec::new(),
    }];
    let mut legend = vec![entry("Monte-Carlo dropout: mean of k passes", 0, false)];
    if let Some(e) = c.scaling {
        series.push(Series {
            label: "weight scaling".into(),
            points: vec![(0.0, e), (f64::from(decades), e)],
            errors: None,
            color: 3,
            dashed: true,
            markers: false,
            hollow: Vec::new(),
        });
        legend.push(entry("weight scaling: one pass", 3, true));
    }
    render(&Figure {
        title: c.title.clone(),
        panels: vec![Panel {
            title: "test error against Monte-Carlo passes".into(),
            x_desc: "passes k (log scale)".into(),
            y_desc: "test error (%)".into(),
            series,
            x_ticks: Some(ticks),
        }],
        legend,
        notes: Vec::new(),
        panel_size: (640, 420),
    })
}

fn entry(label: &str, color: usize, dashed: bool) -> LegendEntry {
    LegendEntry {
        label: label.into(),
        color: Some(color),
        dashed,
        hollow: false,
    }
}
