//! Predictions sample by sample, for `netc predict` and the confusion
//! matrix: each sample's probabilities (or values), its class, and how
//! uncertain the net is about it.

use super::TrainError;
use super::eval::{EVAL_BATCH, McSums, argmax, entropy};
use super::net::{Batch, Net};
use crate::data::Split;
use crate::lang::lower::Mode;
use crate::params::Params;
use crate::tape::Tape;
use rand_pcg::Pcg64Mcg;

/// What the net predicts for one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    /// The class probabilities, or the predicted values of a regression net
    /// (with Monte-Carlo dropout: their mean over the passes).
    pub values: Vec<f64>,
    /// The most probable class, for a classifier.
    pub class: Option<usize>,
    /// The entropy of `values` (nats), for a classifier: with Monte-Carlo
    /// dropout, the predictive entropy.
    pub entropy: Option<f64>,
    /// With Monte-Carlo dropout, the variance over the passes of the winning
    /// class's probability (for a regression net, of each value, averaged).
    pub variance: Option<f64>,
}

/// How predictions are made.
pub enum Method<'r> {
    /// One pass, dropout replaced by its expectation.
    Scaling,
    /// The mean of `passes` passes with dropout sampled as in training.
    MonteCarlo {
        passes: usize,
        rng: &'r mut Pcg64Mcg,
    },
}

/// Predicts every sample of `split`, in order, in batches of [`EVAL_BATCH`]
/// (as `netc eval` does, so that the same seed gives the same passes).
pub fn predict(
    net: &Net<'_>,
    params: &mut Params<f32>,
    tape: &mut Tape<f32>,
    split: &Split,
    batch: &mut Batch,
    method: &mut Method<'_>,
) -> Result<Vec<Prediction>, TrainError> {
    let all: Vec<usize> = (0..split.len()).collect();
    let mut out = Vec::with_capacity(split.len());
    let mut sums = McSums::default();
    let mut unused = Pcg64Mcg::new(0); // no dropout is sampled by weight scaling
    for chunk in all.chunks(EVAL_BATCH) {
        match method {
            Method::Scaling => {
                tape.clear();
                let pass =
                    net.record(tape, params, split, chunk, batch, Mode::Eval, &mut unused)?;
                let output = tape.value(pass.output)?;
                let width = output.len() / chunk.len();
                for row in output.chunks_exact(width) {
                    let values = net.prediction(row);
                    let classifier = net.classes().is_some();
                    out.push(Prediction {
                        // The class as evaluation counts it: the largest output.
                        class: classifier.then(|| argmax(row)),
                        entropy: classifier.then(|| entropy(&values)),
                        values,
                        variance: None,
                    });
                }
            }
            Method::MonteCarlo { passes, rng } => {
                let passes = (*passes).max(1);
                sums.collect_at(
                    net,
                    params,
                    tape,
                    split,
                    chunk,
                    batch,
                    passes,
                    &[],
                    rng,
                    |_, _, _| {},
                )?;
                for r in 0..chunk.len() {
                    let (mean, var) = sums.moments(r);
                    let classifier = net.classes().is_some();
                    let winner = if classifier { argmax(&mean) } else { 0 };
                    out.push(Prediction {
                        class: classifier.then_some(winner),
                        entropy: classifier.then(|| entropy(&mean)),
                        variance: if classifier {
                            var.get(winner).copied()
                        } else {
                            Some(var.iter().sum::<f64>() / var.len().max(1) as f64)
                        },
                        values: mean,
                    });
                }
            }
        }
    }
    Ok(out)
}
