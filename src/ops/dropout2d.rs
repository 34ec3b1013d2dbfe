//! Spatial dropout (PyTorch's `nn.Dropout2d`): whole channels of a sample are
//! dropped together, one keep-bit per (sample, channel), drawn as
//! [`super::dropout`] draws its units' bits (the same generator discipline
//! and 16-bit resolution of p), and both [`DropoutMode`]s.

use super::dropout::{bit, check_p, fill_mask, threshold};
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Back, DropoutMode, NodeId, Op, Phase, Tape};

impl<T: Real> Tape<T> {
    /// Zeroes each of the `channels` planes of each sample of `x` with
    /// probability `p` in training and rescales as `mode` says; at evaluation,
    /// the identity (inverted) or `× (1−p)` (classic), as [`Tape::dropout`].
    pub fn dropout2d<R: rand::Rng + ?Sized>(
        &mut self,
        x: NodeId,
        channels: usize,
        p: f64,
        mode: DropoutMode,
        phase: Phase,
        rng: &mut R,
    ) -> Result<NodeId> {
        check_p(p)?;
        let n = *self.node(x)?;
        if channels == 0 || n.cols % channels != 0 {
            return Err(Error::Invalid(format!(
                "dropout2d: {} values per sample do not split into {channels} channels",
                n.cols
            )));
        }
        if phase == Phase::Eval {
            return self.dropout_eval(x, p, mode);
        }
        let scale = match mode {
            DropoutMode::Inverted => T::from_f64(1.0 / (1.0 - p)),
            DropoutMode::Classic => T::ONE,
        };
        let op = Op::Dropout2d { x, scale, channels };
        let id = self.push_uninit(op, n.rows, n.cols, n.needs_grad);
        let off = self.masks.len();
        self.masks.resize(off + (n.rows * channels).div_ceil(64), 0);
        fill_mask(&mut self.masks[off..], threshold(p), rng);
        let (before, out) = self.values.split_at_mut(self.nodes[id.index()].off);
        let plane = n.cols / channels;
        let mask = &self.masks[off..];
        let src = before[n.range()].chunks_exact(plane.max(1));
        for (i, (o, x)) in out[..n.len()]
            .chunks_exact_mut(plane.max(1))
            .zip(src)
            .enumerate()
        {
            if bit(mask, i) {
                o.iter_mut().zip(x).for_each(|(o, &v)| *o = v * scale);
            } else {
                o.fill(T::ZERO);
            }
        }
        Ok(id)
    }

    /// The keep-mask of a `dropout2d` node recorded in training mode, one
    /// entry per (sample, channel).
    pub fn dropout2d_mask(&self, id: NodeId) -> Result<Option<Vec<bool>>> {
        let n = self.node(id)?;
        Ok(match n.op {
            Op::Dropout2d { channels, .. } => Some(
                (0..n.rows * channels)
                    .map(|i| bit(&self.masks[n.masks..], i))
                    .collect(),
            ),
            _ => None,
        })
    }
}

/// dx (=|+=) dy · scale on the kept channels.
pub(crate) fn backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, scale: T, channels: usize) {
    let (gy, mask) = (b.gy, b.mask());
    let plane = (b.out.cols / channels).max(1);
    let Some(d) = b.grads.of(x) else { return };
    for (i, (g, dy)) in d.rows(plane).zip(gy.chunks_exact(plane)).enumerate() {
        let kept = bit(mask, i);
        g.emit(dy.iter().map(|&v| if kept { v * scale } else { T::ZERO }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tensor::Tensor;
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    #[test]
    fn whole_channels_are_dropped_at_rate_p() {
        // 500 samples of 8 channels of 3 values
        let x = Tensor::from_fn(500, 24, |r, c| 1.0 + (r + c) as f32);
        let mut tape = Tape::<f32>::new();
        let xn = tape.input(&x);
        let mut rng = Pcg64Mcg::seed_from_u64(4);
        let y = tape
            .dropout2d(xn, 8, 0.25, DropoutMode::Inverted, Phase::Train, &mut rng)
            .unwrap();
        let mask = tape.dropout2d_mask(y).unwrap().unwrap();
        assert_eq!(mask.len(), 4000);
        let (v, xs) = (tape.value(y).unwrap(), x.as_slice());
        for (i, &kept) in mask.iter().enumerate() {
            let want = |j: usize| {
                if kept {
                    xs[i * 3 + j] * (1.0f64 / 0.75) as f32
                } else {
                    0.0
                }
            };
            assert_eq!(&v[i * 3..i * 3 + 3], &[want(0), want(1), want(2)]);
        }
        let dropped = mask.iter().filter(|&&k| !k).count() as f64 / 4000.0;
        assert!((dropped - 0.25).abs() < 0.025, "{dropped}");
        let e = tape.dropout2d(xn, 5, 0.5, DropoutMode::Inverted, Phase::Train, &mut rng);
        assert!(e.is_err());
    }
}
