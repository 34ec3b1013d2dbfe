//! The file `netc predict` writes: a CSV header and one row per sample, and
//! the score of the predictions against the labels when asked for.

use netc::data::{LabelKind, Labels};
use netc::lang::Model;
use netc::train::predict::Prediction;
use std::io::{self, Write};

/// What the predictions scored against the labels, summed.
#[derive(Default)]
pub struct Score {
    samples: usize,
    correct: usize,
    squared_error: f64,
}

/// A sample's label, as the split holds it.
pub enum Truth {
    Class(u32),
    Values(Vec<f32>),
}

pub fn label_of(labels: &Labels, i: usize) -> Truth {
    match labels {
        Labels::Classes(c) => Truth::Class(c[i]),
        Labels::Targets { width, values } => {
            Truth::Values(values[i * width..(i + 1) * width].to_vec())
        }
    }
}

impl Score {
    pub fn add(&mut self, p: &Prediction, truth: &Truth) {
        self.samples += 1;
        match truth {
            Truth::Class(c) => self.correct += usize::from(p.class == Some(*c as usize)),
            Truth::Values(t) => {
                self.squared_error += p
                    .values
                    .iter()
                    .zip(t)
                    .map(|(v, &t)| (v - t as f64).powi(2))
                    .sum::<f64>()
                    / t.len().max(1) as f64;
            }
        }
    }

    pub fn text(&self, classes: bool) -> String {
        if classes {
            format!(
                "; accuracy {:.2}% ({} of {})",
                100.0 * self.correct as f64 / self.samples as f64,
                self.correct,
                self.samples
            )
        } else {
            format!(
                "; mean squared error {:.6} over {} samples",
                self.squared_error / self.samples as f64,
                self.samples
            )
        }
    }
}

/// The CSV header.
pub fn header(model: &Model, mc: bool, score: bool) -> String {
    let mut cols = vec!["sample".to_string()];
    match model.label.kind {
        LabelKind::Classes(n) => {
            cols.push("class".into());
            cols.extend((0..n).map(|c| format!("p{c}")));
            cols.push("entropy".into());
            if mc {
                cols.push("variance".into());
            }
            if score {
                cols.push("label".into());
            }
        }
        LabelKind::Targets(w) => {
            cols.extend((0..w).map(|c| format!("y{c}")));
            if mc {
                cols.push("variance".into());
            }
            if score {
                cols.extend((0..w).map(|c| format!("target{c}")));
            }
        }
    }
    cols.join(",")
}

/// One sample's row. Numbers are written as the shortest text that reads
/// back as the same f32.
pub fn row(
    w: &mut impl Write,
    sample: usize,
    p: &Prediction,
    label: Option<&Truth>,
) -> io::Result<()> {
    write!(w, "{sample}")?;
    if let Some(c) = p.class {
        write!(w, ",{c}")?;
    }
    for v in &p.values {
        write!(w, ",{}", *v as f32)?;
    }
    if let Some(e) = p.entropy {
        write!(w, ",{}", e as f32)?;
    }
    if let Some(v) = p.variance {
        write!(w, ",{}", v as f32)?;
    }
    match label {
        Some(Truth::Class(c)) => write!(w, ",{c}")?,
        Some(Truth::Values(t)) => {
            for v in t {
                write!(w, ",{v}")?;
            }
        }
        None => {}
    }
    writeln!(w)
}
