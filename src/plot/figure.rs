//! A figure: a title, panels side by side, and one legend below them (outside
//! the plots, so it never covers a curve however many runs are drawn).

use super::PlotError;
use super::ticks::{range, ticks};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;

/// One line in a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub label: String,
    /// (x, y) points; non-finite ones are skipped.
    pub points: Vec<(f64, f64)>,
    /// Half-height of an error bar at each point, if any.
    pub errors: Option<Vec<f64>>,
    /// Index into the palette.
    pub color: usize,
    pub dashed: bool,
    /// Marks each point with a dot.
    pub markers: bool,
    /// Points (by index) marked with a ring instead of a dot: measured on
    /// fewer runs than planned.
    pub hollow: Vec<usize>,
}

/// One chart with its axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    pub title: String,
    pub x_desc: String,
    pub y_desc: String,
    pub series: Vec<Series>,
    /// Categorical x axis: these labels at x = 0, 1, 2, ... (a series may
    /// place points between them; the ticks stay on the whole numbers).
    pub x_ticks: Option<Vec<String>>,
}

/// A line of the legend: a sample of the line style, then the label.
#[derive(Clone, Debug, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    /// Index into the palette; `None` draws the sample in grey (a style key).
    pub color: Option<usize>,
    pub dashed: bool,
    /// A ring instead of a line sample (the key to [`Series::hollow`]).
    pub hollow: bool,
}

/// A whole picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub title: String,
    pub panels: Vec<Panel>,
    pub legend: Vec<LegendEntry>,
    /// Lines of text under the legend, for what the reader must not miss.
    pub notes: Vec<String>,
    /// Size of one panel in pixels.
    pub panel_size: (u32, u32),
}

/// Tableau's ten colours: distinct, and readable on white.
const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// The palette colour `i` (wrapping).
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

const FONT: &str = "sans-serif";
/// At most this many ticks on an axis: room for their labels in a panel.
const X_TICKS: usize = 7;
const Y_TICKS: usize = 8;
const TITLE_H: u32 = 40;
const LEGEND_ROW: u32 = 24;
const LEGEND_FONT: u32 = 16;
/// Width of a legend entry's line sample and the gaps around it.
const SAMPLE_W: u32 = 28;
const ENTRY_GAP: u32 = 26;

/// Width of `text` in the legend font: plotters' own estimate (0.7 em per
/// character, generous for a proportional font), so nothing is clipped.
fn text_width(text: &str) -> u32 {
    let em = f64::from(LEGEND_FONT) / 1.24 / 1.24;
    (em * 0.7 * text.chars().count() as f64).ceil() as u32
}

/// Legend entries placed in rows that fit `width`: (row, x) of each.
fn legend_layout(entries: &[LegendEntry], width: u32) -> Vec<(u32, u32)> {
    let (mut row, mut x) = (0u32, ENTRY_GAP);
    let mut out = Vec::new();
    for e in entries {
        let w = SAMPLE_W + 8 + text_width(&e.label);
        if x > ENTRY_GAP && x + w > width.saturating_sub(ENTRY_GAP) {
            row += 1;
            x = ENTRY_GAP;
        }
        out.push((row, x));
        x += w + ENTRY_GAP;
    }
    out
}

fn draw_err<E: std::fmt::Display>(e: E) -> PlotError {
    PlotError::Draw(e.to_string())
}

/// The figure as SVG text.
pub fn render(fig: &Figure) -> Result<String, PlotError> {
    if fig.panels.is_empty() {
        return Err(PlotError::Empty("a figure needs a panel".into()));
    }
    let (pw, ph) = fig.panel_size;
    let width = pw * fig.panels.len() as u32;
    let layout = legend_layout(&fig.legend, width);
    let legend_rows = layout.last().map_or(0, |(row, _)| row + 1);
    let rows = legend_rows + fig.notes.len() as u32;
    let legend_h = if rows == 0 { 0 } else { rows * LEGEND_ROW + 14 };
    let height = TITLE_H + ph + legend_h;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (top, bottom) = root.split_vertically(TITLE_H + ph);
        let body = top
            .titled(&fig.title, (FONT, 23).into_font())
            .map_err(draw_err)?;
        let areas = body.split_evenly((1, fig.panels.len()));
        for (area, panel) in areas.iter().zip(&fig.panels) {
            draw_panel(area, panel)?;
        }
        draw_legend(&bottom, &fig.legend, &layout)?;
        draw_notes(&bottom, &fig.notes, legend_rows)?;
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    layout: &[(u32, u32)],
) -> Result<(), PlotError> {
    let style = TextStyle::from((FONT, LEGEND_FONT).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (e, &(row, x)) in entries.iter().zip(layout) {
        let y = (row * LEGEND_ROW + LEGEND_ROW / 2 + 4) as i32;
        let x = x as i32;
        let c = e.color.map_or(RGBColor(90, 90, 90), color);
        let line = c.stroke_width(2);
        let (a, b) = ((x, y), (x + SAMPLE_W as i32, y));
        if e.hollow {
            area.draw(&Circle::new((x + SAMPLE_W as i32 / 2, y), 5, line))
                .map_err(draw_err)?;
        } else if e.dashed {
            area.draw(&DashedPathElement::new(vec![a, b], 6, 4, line))
                .map_err(draw_err)?;
        } else {
            area.draw(&PathElement::new(vec![a, b], line))
                .map_err(draw_err)?;
        }
        area.draw(&Text::new(
            e.label.clone(),
            (x + SAMPLE_W as i32 + 8, y),
            style.clone(),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// The notes, one a line under the legend's `rows` rows, in dark red.
fn draw_notes<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    notes: &[String],
    rows: u32,
) -> Result<(), PlotError> {
    let style = TextStyle::from((FONT, LEGEND_FONT).into_font())
        .color(&RGBColor(170, 20, 20))
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, note) in notes.iter().enumerate() {
        let y = ((rows + i as u32) * LEGEND_ROW + LEGEND_ROW / 2 + 4) as i32;
        area.draw(&Text::new(
            note.clone(),
            (ENTRY_GAP as i32, y),
            style.clone(),
        ))
        .map_err(draw_err)?;
    }
    Ok(())
}

/// A linear axis whose ticks are ours (plotters' own choice labels float
/// noise and repeats): the labelled values are its key points.
struct Ticked {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl Ticked {
    fn new(range: Range<f64>, ticks: &[(f64, String)]) -> Self {
        Ticked {
            range,
            ticks: ticks.iter().map(|t| t.0).collect(),
        }
    }
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<H: KeyPointHint>(&self, _: H) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

/// Looks up the label of tick `v` (ticks are drawn exactly at their values).
fn tick_label(ticks: &[(f64, String)], v: f64) -> String {
    ticks
        .iter()
        .find(|(t, _)| *t == v)
        .map(|(_, l)| l.clone())
        .unwrap_or_default()
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
) -> Result<(), PlotError> {
    let finite = |s: &Series| -> Vec<(f64, f64)> {
        s.points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect()
    };
    let (x0, x1) = match &p.x_ticks {
        Some(t) => (-0.5, t.len().max(1) as f64 - 0.5),
        None => range(p.series.iter().flat_map(&finite).map(|(x, _)| x), 0.02),
    };
    let ys = p.series.iter().flat_map(|s| {
        let errs = s.errors.clone().unwrap_or_default();
        s.points.iter().enumerate().flat_map(move |(i, &(_, y))| {
            let e = errs
                .get(i)
                .copied()
                .filter(|e| e.is_finite())
                .unwrap_or(0.0);
            [y - e, y + e]
        })
    });
    let (y0, y1) = range(ys, 0.06);
    let x_ticks: Vec<(f64, String)> = match &p.x_ticks {
        Some(t) => t
            .iter()
            .enumerate()
            .map(|(i, l)| (i as f64, l.clone()))
            .collect(),
        None => ticks(x0, x1, X_TICKS),
    };
    let y_ticks = ticks(y0, y1, Y_TICKS);
    let mut chart = ChartBuilder::on(area)
        .caption(&p.title, (FONT, 19).into_font())
        .margin(10)
        .margin_right(22)
        .x_label_area_size(50)
        .y_label_area_size(72)
        .build_cartesian_2d(Ticked::new(x0..x1, &x_ticks), Ticked::new(y0..y1, &y_ticks))
        .map_err(draw_err)?;
    let x_fmt = |x: &f64| tick_label(&x_ticks, *x);
    let y_fmt = |y: &f64| tick_label(&y_ticks, *y);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(p.x_desc.as_str())
        .y_desc(p.y_desc.as_str())
        .label_style((FONT, 15).into_font())
        .axis_desc_style((FONT, 16).into_font())
        .bold_line_style(RGBColor(215, 215, 215))
        .max_light_lines(0)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt);
    mesh.draw().map_err(draw_err)?;

    let cap = (x1 - x0) * 0.012;
    for s in &p.series {
        let c = color(s.color);
        let line = c.stroke_width(2);
        let pts = finite(s);
        if s.dashed {
            chart
                .draw_series(DashedLineSeries::new(pts.clone(), 7, 5, line))
                .map_err(draw_err)?;
        } else {
            chart
                .draw_series(LineSeries::new(pts.clone(), line))
                .map_err(draw_err)?;
        }
        // A lone point draws no line: mark it.
        if s.markers || pts.len() == 1 {
            let marks = s
                .points
                .iter()
                .enumerate()
                .filter(|(_, (x, y))| x.is_finite() && y.is_finite());
            for (i, &pt) in marks {
                let mark = if s.hollow.contains(&i) {
                    Circle::new(pt, 5, WHITE.filled())
                } else {
                    Circle::new(pt, 4, c.filled())
                };
                chart.draw_series(std::iter::once(mark)).map_err(draw_err)?;
                if s.hollow.contains(&i) {
                    chart
                        .draw_series(std::iter::once(Circle::new(pt, 5, c.stroke_width(2))))
                        .map_err(draw_err)?;
                }
            }
        }
        if let Some(errs) = &s.errors {
            let bars =
                s.points.iter().zip(errs).filter(|((x, y), e)| {
                    x.is_finite() && y.is_finite() && e.is_finite() && **e > 0.0
                });
            for (&(x, y), &e) in bars {
                let style = c.stroke_width(1);
                let segments = [
                    vec![(x, y - e), (x, y + e)],
                    vec![(x - cap, y - e), (x + cap, y - e)],
                    vec![(x - cap, y + e), (x + cap, y + e)],
                ];
                chart
                    .draw_series(segments.into_iter().map(|v| PathElement::new(v, style)))
                    .map_err(draw_err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_legend_wraps_to_the_width() {
        let e = |l: &str| LegendEntry {
            label: l.into(),
            color: Some(0),
            dashed: false,
            hollow: false,
        };
        let entries: Vec<LegendEntry> = (0..12).map(|i| e(&format!("run number {i}"))).collect();
        let layout = legend_layout(&entries, 600);
        assert_eq!(layout[0], (0, ENTRY_GAP));
        let rows = layout.last().unwrap().0 + 1;
        assert!(rows > 2, "{layout:?}");
        for (&(_, x), entry) in layout.iter().zip(&entries) {
            assert!(x + SAMPLE_W + 8 + text_width(&entry.label) <= 600);
        }
    }
}
