//! Dropout with a bit-packed mask drawn from a seeded generator.
//!
//! Each 64-bit draw gives four 16-bit uniforms `u`; a unit is kept when
//! `u ≥ round(p · 65536)`. So the drop probability is `p` rounded to a multiple
//! of 2⁻¹⁶ (off by at most 7.7e-6), the mask costs one bit per unit, and
//! backward reuses it.

use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Back, DropoutMode, NodeId, Op, Phase, Tape};

impl<T: Real> Tape<T> {
    /// Zeroes each unit of `x` with probability `p` in training and rescales as
    /// `mode` says; at evaluation, the identity (inverted) or `× (1−p)` (classic).
    /// `p` must be in `[0, 1)`.
    pub fn dropout<R: rand::Rng + ?Sized>(
        &mut self,
        x: NodeId,
        p: f64,
        mode: DropoutMode,
        phase: Phase,
        rng: &mut R,
    ) -> Result<NodeId> {
        check_p(p)?;
        if phase == Phase::Eval {
            return self.dropout_eval(x, p, mode);
        }
        let len = self.node(x)?.len();
        let off = self.masks.len();
        self.masks.resize(off + len.div_ceil(64), 0);
        fill_mask(&mut self.masks[off..], threshold(p), rng);
        self.apply_mask(x, p, mode, off)
    }

    /// Training-mode dropout with a given keep-mask (`true` = kept), e.g. one
    /// taken from another framework to compare results on the same numbers.
    pub fn dropout_with_mask(
        &mut self,
        x: NodeId,
        p: f64,
        mode: DropoutMode,
        keep: &[bool],
    ) -> Result<NodeId> {
        check_p(p)?;
        let n = *self.node(x)?;
        if keep.len() != n.len() {
            return Err(Error::ShapeMismatch {
                op: "dropout mask",
                lhs: (n.rows, n.cols),
                rhs: (1, keep.len()),
            });
        }
        let off = self.masks.len();
        self.masks.resize(off + n.len().div_ceil(64), 0);
        for (i, &k) in keep.iter().enumerate() {
            self.masks[off + i / 64] |= (k as u64) << (i % 64);
        }
        self.apply_mask(x, p, mode, off)
    }

    /// The keep-mask of a dropout node recorded in training mode.
    pub fn dropout_mask(&self, id: NodeId) -> Result<Option<Vec<bool>>> {
        let n = self.node(id)?;
        Ok(match n.op {
            Op::Dropout { mask, .. } => {
                Some((0..n.len()).map(|i| bit(&self.masks[mask..], i)).collect())
            }
            _ => None,
        })
    }

    fn dropout_eval(&mut self, x: NodeId, p: f64, mode: DropoutMode) -> Result<NodeId> {
        match mode {
            DropoutMode::Inverted => {
                self.node(x)?;
                Ok(x)
            }
            DropoutMode::Classic => self.scale(x, T::from_f64(1.0 - p)),
        }
    }

    fn apply_mask(&mut self, x: NodeId, p: f64, mode: DropoutMode, mask: usize) -> Result<NodeId> {
        let n = *self.node(x)?;
        let scale = match mode {
            DropoutMode::Inverted => T::from_f64(1.0 / (1.0 - p)),
            DropoutMode::Classic => T::ONE,
        };
        let id = self.push_uninit(Op::Dropout { x, scale, mask }, n.rows, n.cols, n.needs_grad);
        let n_out = self.nodes[id.index()];
        let (before, rest) = self.values.split_at_mut(n_out.off);
        apply(
            &mut rest[..n.len()],
            &before[n.range()],
            &self.masks[mask..],
            scale,
        );
        Ok(id)
    }
}

fn check_p(p: f64) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::BadProbability(p))
    }
}

/// Units whose 16-bit uniform is below this are dropped.
fn threshold(p: f64) -> u32 {
    (p * 65536.0).round() as u32
}

/// Fills `words` with keep-bits for drop probability `p` (bit `i % 64` of word
/// `i / 64` is unit `i`); one 64-bit draw makes four units.
pub fn mask_kernel<R: rand::Rng + ?Sized>(words: &mut [u64], p: f64, rng: &mut R) {
    fill_mask(words, threshold(p), rng);
}

fn fill_mask<R: rand::Rng + ?Sized>(words: &mut [u64], t: u32, rng: &mut R) {
    for w in words {
        let mut bits = 0u64;
        for j in 0..16 {
            let r = rng.next_u64();
            for lane in 0..4 {
                let u = ((r >> (16 * lane)) & 0xFFFF) as u32;
                bits |= ((u >= t) as u64) << (4 * j + lane);
            }
        }
        *w = bits;
    }
}

#[inline(always)]
fn bit(mask: &[u64], i: usize) -> bool {
    (mask[i / 64] >> (i % 64)) & 1 == 1
}

/// The forward kernel: `out[i] = x[i] · scale` where the mask bit is set, else 0.
pub fn apply<T: Real>(out: &mut [T], x: &[T], mask: &[u64], scale: T) {
    for (i, (o, &v)) in out.iter_mut().zip(x).enumerate() {
        *o = if bit(mask, i) { v * scale } else { T::ZERO };
    }
}

pub(crate) fn backward<T: Real>(mut b: Back<'_, T>, gy: &[T], x: NodeId, scale: T, mask: &[u64]) {
    if let Some((_, g)) = b.value_grad(x) {
        apply_backward(g, gy, mask, scale);
    }
}

/// The backward kernel: `g[i] += gy[i] · scale` where the mask bit is set.
pub fn apply_backward<T: Real>(g: &mut [T], gy: &[T], mask: &[u64], scale: T) {
    for (i, (g, &d)) in g.iter_mut().zip(gy).enumerate() {
        if bit(mask, i) {
            *g += d * scale;
        }
    }
}
