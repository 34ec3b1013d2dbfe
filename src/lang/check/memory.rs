//! How much memory a model needs to train, so absurd sizes are refused
//! before anything is allocated.

use super::Checker;
use crate::data::{DIGITS_SAMPLES, DataSpec, EVAL_BATCH};
use crate::lang::diag::Diagnostic;
use crate::lang::model::{Expr, Func, LabelKind, Model, Pool};
use crate::lang::span::Span;

/// A model whose estimate is above this (8 GiB) is refused by `check`.
pub const MEMORY_LIMIT: u64 = 8 << 30;

/// Bytes per stored value (training runs in f32).
const VALUE: u128 = 4;

/// What a training process holds whatever its net and data: the program's
/// pages, the allocator's and the thread pool's. Measured as the peak
/// resident memory of runs less what the other terms count (the reference
/// MLP peaks at 9.2 MiB, 3.4 MiB of it counted by the other terms).
const RUNTIME: u128 = 6 << 20;

/// An estimate of the memory a training run needs, in bytes: within 12% of
/// the peak resident memory measured for the three models and variants of
/// them (see the tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// The program itself ([`RUNTIME`]).
    pub runtime: u64,
    /// Parameters, their gradients and the optimizer's state, and the
    /// tape's copy of the parameters with room for their gradients.
    pub params: u64,
    /// The tape: every activation of a batch (dropout masks too) with their
    /// gradients; its values also hold an evaluation batch.
    pub activations: u64,
    /// The data set as held in memory: image sets as bytes, other sets as
    /// f32, and the labels (0 when unknown before loading: csv, idx).
    pub data: u64,
}

impl MemoryEstimate {
    /// All the terms together.
    pub fn total(&self) -> u64 {
        self.runtime
            .saturating_add(self.params)
            .saturating_add(self.activations)
            .saturating_add(self.data)
    }
}

/// Estimates the memory `m` needs to train with its batch size.
pub fn estimate_memory(m: &Model) -> MemoryEstimate {
    let param_count = m.param_count() as u128;
    // The store holds each parameter's value, gradient and optimizer slots;
    // the tape copies the values in on every pass, and sizes its gradient
    // buffer to match.
    let params = param_count * VALUE * (2 + m.train.optimizer.slots() as u128 + 2);
    let mut per_sample = m.input.features as u128;
    for b in &m.bindings {
        per_sample += nodes(m, &b.expr).0;
    }
    let (samples, bytes_per_value) = data_size(&m.train.data);
    // Evaluation records batches of up to EVAL_BATCH rows, without gradients;
    // the tape's buffers keep the size of the largest pass.
    let eval_rows = samples.map_or(EVAL_BATCH as u128, |n| n.min(EVAL_BATCH as u128));
    let batch = m.train.batch as u128;
    let values = per_sample * batch.max(eval_rows);
    let grads = per_sample * batch;
    // A class label is a u32, a target an f32.
    let label_bytes = match m.label.kind {
        LabelKind::Classes(_) => VALUE,
        LabelKind::Targets(width) => width as u128 * VALUE,
    };
    let data = samples.unwrap_or(0) * (m.input.features as u128 * bytes_per_value + label_bytes);
    let clamp = |v: u128| u64::try_from(v).unwrap_or(u64::MAX);
    MemoryEstimate {
        runtime: clamp(RUNTIME),
        params: clamp(params),
        activations: clamp((values + grads) * VALUE),
        data: clamp(data),
    }
}

/// The samples of a data source (train and test) if known before loading,
/// and the bytes it keeps per input value: image sets stay bytes.
fn data_size(spec: &DataSpec) -> (Option<u128>, u128) {
    match spec {
        DataSpec::Synthetic {
            samples,
            test_samples,
            ..
        } => (Some(*samples as u128 + *test_samples as u128), VALUE),
        DataSpec::Digits { .. } => (Some(DIGITS_SAMPLES as u128), 1),
        DataSpec::Mnist | DataSpec::FashionMnist => (Some(70_000), 1),
        DataSpec::Idx { .. } => (None, 1),
        DataSpec::Csv { .. } => (None, VALUE),
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
        Expr::Apply { func, x } => {
            let (inner, w) = nodes(m, x);
            // `flatten` is a view of its input: lowering records no node.
            let own = if *func == Func::Flatten { 0 } else { w };
            (inner + own, w)
        }
        Expr::Dropout { x, .. } => {
            let (inner, w) = nodes(m, x);
            // output and mask
            (inner + 2 * w, w)
        }
        // The output (the masks of dropout2d are a bit per channel; batch
        // norm keeps two numbers per channel).
        Expr::Dropout2d { x, .. } | Expr::BatchNorm { x, .. } => {
            let (inner, w) = nodes(m, x);
            (inner + w, w)
        }
        // The output; a convolution's unfolded windows live in a scratch
        // buffer of bounded size.
        Expr::Conv2d { x, .. } => {
            let (inner, _) = nodes(m, x);
            let out = e.conv_geom().map_or(0, |g| g.out_len()) as u128;
            (inner + out, out)
        }
        // The output, and for the maximum where it was (a u32 each).
        Expr::Pool { x, pool, .. } => {
            let (inner, _) = nodes(m, x);
            let out = e.pool_geom().map_or(0, |g| g.out_len()) as u128;
            let own = if *pool == Pool::Max { 2 * out } else { out };
            (inner + own, out)
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
                Some((l.weights(), span))
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
                "parameters with gradients, optimizer state and the tape's copy: {}; activations for a batch of {}: {}; data set: {}; the program itself: {}",
                human_bytes(est.params),
                m.train.batch,
                human_bytes(est.activations),
                human_bytes(est.data),
                human_bytes(est.runtime)
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

    const MLP: &str = include_str!("../../../models/mlp.net");
    const DIGITS: &str = include_str!("../../../models/digits.net");
    const MNIST: &str = include_str!("../../../models/mnist.net");
    const LENET: &str = include_str!("../../../models/lenet.net");
    const FASHION_BN: &str = include_str!("../../../models/fashion_bn.net");

    /// `source` with each `(from, to)` replaced.
    fn variant(source: &str, edits: &[(&str, &str)]) -> String {
        edits.iter().fold(source.to_string(), |s, (from, to)| {
            assert!(s.contains(from), "{from}");
            s.replace(from, to)
        })
    }

    /// The estimate is within 25% of the peak resident memory (`/usr/bin/time
    /// -f %M`, in KiB) measured of `netc train` on each model (MNIST with
    /// `--data-dir`), on Linux x86-64 with two cores. Before the estimate
    /// counted the runtime, image sets as bytes and the evaluation batch,
    /// it said 211.8 MiB for the 66 MiB MNIST run and 2.5 MiB for the 9.2
    /// MiB MLP run.
    #[test]
    fn the_estimate_is_near_the_measured_peak() {
        let wide = |n: &str| format!("linear(flatten(x), {n})");
        let runs: [(&str, String, u64); 10] = [
            ("mlp", MLP.to_string(), 9460),
            ("digits", DIGITS.to_string(), 13020),
            (
                "digits, 1024 wide, batch 256",
                variant(
                    DIGITS,
                    &[
                        ("epochs: 60", "steps: 100"),
                        ("batch: 32", "batch: 256"),
                        (", 256)", ", 1024)"),
                    ],
                ),
                60112,
            ),
            ("mnist", MNIST.to_string(), 67828),
            ("lenet", LENET.to_string(), 136748),
            ("fashion_bn", FASHION_BN.to_string(), 210664),
            (
                "mnist, batch 512",
                variant(
                    MNIST,
                    &[("epochs: 10", "steps: 100"), ("batch: 64", "batch: 512")],
                ),
                70632,
            ),
            (
                "mnist, 1024 wide",
                variant(
                    MNIST,
                    &[("epochs: 10", "steps: 200"), (&wide("128"), &wide("1024"))],
                ),
                93860,
            ),
            (
                "mnist, 512 wide, adam",
                variant(
                    MNIST,
                    &[
                        ("epochs: 10", "steps: 100"),
                        (&wide("128"), &wide("512")),
                        ("sgd(lr: 0.01, momentum: 0.9)", "adam(lr: 0.001)"),
                    ],
                ),
                83448,
            ),
            (
                "mlp on 100000 samples of 256",
                variant(
                    MLP,
                    &[
                        ("input x: 128", "input x: 256"),
                        ("samples: 4000", "samples: 100000"),
                        ("steps: 1000", "steps: 100"),
                        ("batch: 4", "batch: 128"),
                    ],
                ),
                134628,
            ),
        ];
        for (name, source, kib) in runs {
            let m = crate::lang::parse_and_check("t.net", &source)
                .unwrap_or_else(|d| panic!("{name}: {}", d.render()));
            let estimate = estimate_memory(&m).total() as f64;
            let measured = (kib * 1024) as f64;
            let ratio = estimate / measured;
            assert!(
                (0.75..=1.25).contains(&ratio),
                "{name}: estimated {} against {} measured",
                human_bytes(estimate as u64),
                human_bytes(measured as u64)
            );
        }
    }
}
