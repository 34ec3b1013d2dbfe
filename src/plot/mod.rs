//! Pictures of runs and sweeps, as SVG text drawn with plotters: the learning
//! curves of one run (`curves.svg`), several runs overlaid (`netc plot`) and
//! a sweep's summary (`summary.svg`) and its errors against a swept value
//! (`netc plot --x`); Monte-Carlo dropout's test error
//! against its passes (`netc eval --curve`); and a grid of images with captions
//! (`netc predict --images`), written by hand.
//!
//! plotters is built without its default features: its SVG backend writes
//! `<text>` elements and leaves glyphs to the viewer, and layout uses
//! plotters' built-in size estimate, so no font files or system libraries
//! are needed (the `ttf` feature would pull font-kit and fontconfig).

mod curves;
mod errors_against;
mod figure;
mod image_grid;
mod mc_curve;
mod sweep_chart;
mod ticks;

pub use curves::{Run, curves, overlay};
pub use errors_against::{ErrorLine, ErrorPlot, ErrorPoint, errors_against};
pub use figure::{Figure, LegendEntry, Panel, Series, render};
pub use image_grid::{Tile, image_grid};
pub use mc_curve::{McCurve, mc_curve};
pub use sweep_chart::{DODGE, SPREAD, SummaryLine, SummaryPlot, summary};

use thiserror::Error;

/// Why a picture could not be drawn.
#[derive(Debug, Error)]
pub enum PlotError {
    #[error("cannot draw the plot: {0}")]
    Draw(String),
    #[error("nothing to plot: {0}")]
    Empty(String),
}
