//! How much memory a model needs to train, so absurd sizes are refused
//! before anything is allocated.

use super::Checker;
use crate::data::DataSpec;
use crate::lang::diag::Diagnostic;
use crate::lang::model::{Expr, Model};
use crate::lang::span::Span;

/// A model whose estimate is above this (8 GiB) is refused by `check`.
pub const MEMORY_LIMIT: u64 = 8 << 30;

/// Bytes per stored value (training runs in f32).
const VALUE: u128 = 4;

/// An estimate of the memory a training run needs, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Parameters, their gradients and the optimizer's state.
    pub params: u64,
    /// Every activation of one batch, its gradient, and dropout masks.
    pub activations: u64,
    /// The data set held in memory as f32 (0 when unknown before loading: csv, idx).
    pub data: u64,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        self.params
            .saturating_add(self.activations)
            .saturating_add(self.data)
    }
}

/// Estimates the memory `m` needs to train with its batch size.
pub fn estimate_memory(m: &Model) -> MemoryEstimate {
    let params = m.param_count() as u128 * VALUE * (2 + m.train.optimizer.slots() as u128);
    let mut per_sample = m.input.features as u128;
    for b in &m.bindings {
        per_sample += nodes(m, &b.expr).0;
    }
    // value and gradient of each
    let activations = per_sample * 2 * VALUE * m.train.batch as u128;
    let f = m.input.features as u128 + 1;
    let samples: u128 = match &m.train.data {
        DataSpec::Synthetic {
            samples,
            test_samples,
            ..
        } => *samples as u128 + *test_samples as u128,
        DataSpec::Digits { .. } => 1797,
        DataSpec::Mnist | DataSpec::FashionMnist => 70_000,
        DataSpec::Idx { .. } | DataSpec::Csv { .. } => 0,
    };
    let clamp = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
    MemoryEstimate {
        params: clamp(params),
        activations: clamp(activations),
        data: clamp(samples * f * VALUE),
    }
}

/// (values stored per sample by the nodes of `e`, width of its output)
fn nodes(m: &Model, e: &Expr) -> (u128, u128) {
    match e {
        Expr::Name(n) => {
            let w = m.binding(n).map_or(m.input.features, |b| b.features());
            (0, w as u128)
        }
        Expr::Linear { x, units, .. } => {
            let (inner, _) = nodes(m, x);
            (inner + *units as u128, *units as u128)
        }
        Expr::Apply { x, .. } => {
            let (inner, w) = nodes(m, x);
            (inner + w, w)
        }
        Expr::Dropout { x, .. } => {
            let (inner, w) = nodes(m, x);
            // output and mask
            (inner + 2 * w, w)
        }
        Expr::Add(ts) => {
            let mut total = 0;
            let mut w = 0;
            for t in ts {
                let (inner, tw) = nodes(m, t);
                total += inner;
                w = tw;
            }
            (total + w, w)
        }
    }
}

/// `1.5 GiB`
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 7] = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = b as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{b} bytes")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

impl Checker<'_> {
    /// Refuses a model that would need more than [`MEMORY_LIMIT`] to train.
    pub(super) fn memory(&mut self, m: &Model, train: Span) {
        let est = estimate_memory(m);
        if est.total() <= MEMORY_LIMIT {
            return;
        }
        // Point at the biggest layer when parameters dominate, else at the block
        // that sets the batch.
        let biggest = m
            .bindings
            .iter()
            .filter_map(|b| {
                let l = b.layer?;
                let span = self.checked.get(&b.name)?.layer_span?;
                Some((l.units as u128 * l.inputs as u128, span))
            })
            .max_by_key(|(n, _)| *n);
        let (at, label) = match biggest {
            Some((_, span)) if est.params >= est.activations => (span, "the largest layer"),
            _ => (
                Span::new(train.start, train.start + 5),
                "for this batch size",
            ),
        };
        self.push(
            Diagnostic::error(
                at,
                format!(
                    "this net needs about {} to train, more than the limit of {}",
                    human_bytes(est.total()),
                    human_bytes(MEMORY_LIMIT)
                ),
            )
            .label(label)
            .note(format!(
                "parameters with gradients and optimizer state: {}; activations for a batch of {}: {}; data set: {}",
                human_bytes(est.params),
                m.train.batch,
                human_bytes(est.activations),
                human_bytes(est.data)
            ))
            .help("make the layers narrower or the batch smaller"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(12), "12 bytes");
        assert_eq!(human_bytes(3 << 29), "1.5 GiB");
    }
}
