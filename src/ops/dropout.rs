//! Dropout with a bit-packed mask drawn from a seeded generator.
//!
//! Each unit gets a 16-bit uniform `u` and is kept when `u ≥ round(p · 65536)`.
//! So the drop probability is `p` rounded to a multiple of 2⁻¹⁶ (off by at most
//! 7.7e-6), the mask costs one bit per unit, and backward reuses it. A 64-bit
//! draw holds four uniforms, or more when fewer bits decide (one bit per unit
//! at p = 0.5). The draws come from a few PCG streams seeded from the caller's
//! generator (see [`mask_kernel`]), so a seed fixes the mask.

use super::ELEMENTWISE_COST;
use crate::error::{Error, Result};
use crate::real::Real;
use crate::tape::{Back, DropoutMode, NodeId, Op, Phase, Tape};
use faer::Accum;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;
use rayon::prelude::*;

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
        self.apply_mask(x, p, mode, |words| fill_mask(words, threshold(p), rng))
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
        self.apply_mask(x, p, mode, |words| {
            for (i, &k) in keep.iter().enumerate() {
                words[i / 64] |= (k as u64) << (i % 64);
            }
        })
    }

    /// The keep-mask of a dropout node recorded in training mode.
    pub fn dropout_mask(&self, id: NodeId) -> Result<Option<Vec<bool>>> {
        let n = self.node(id)?;
        Ok(match n.op {
            Op::Dropout { .. } => Some(
                (0..n.len())
                    .map(|i| bit(&self.masks[n.masks..], i))
                    .collect(),
            ),
            _ => None,
        })
    }

    pub(crate) fn dropout_eval(&mut self, x: NodeId, p: f64, mode: DropoutMode) -> Result<NodeId> {
        match mode {
            DropoutMode::Inverted => {
                self.node(x)?;
                Ok(x)
            }
            DropoutMode::Classic => self.scale(x, T::from_f64(1.0 - p)),
        }
    }

    /// Records `x` with the mask `fill` writes into zeroed words.
    fn apply_mask(
        &mut self,
        x: NodeId,
        p: f64,
        mode: DropoutMode,
        fill: impl FnOnce(&mut [u64]),
    ) -> Result<NodeId> {
        let n = *self.node(x)?;
        let scale = match mode {
            DropoutMode::Inverted => T::from_f64(1.0 / (1.0 - p)),
            DropoutMode::Classic => T::ONE,
        };
        let id = self.push_uninit(Op::Dropout { x, scale }, n.rows, n.cols, n.needs_grad);
        let off = self.masks.len();
        self.masks.resize(off + n.len().div_ceil(64), 0);
        fill(&mut self.masks[off..]);
        let parts = self.products.parts(n.len(), n.len() * ELEMENTWISE_COST);
        let (before, out) = self.values.split_at_mut(self.nodes[id.index()].off);
        let (out, x) = (&mut out[..n.len()], &before[n.range()]);
        in_parts(parts, apply, out, x, &self.masks[off..], scale);
        Ok(id)
    }
}

pub(crate) fn check_p(p: f64) -> Result<()> {
    if (0.0..1.0).contains(&p) {
        Ok(())
    } else {
        Err(Error::BadProbability(p))
    }
}

/// Units whose 16-bit uniform is below this are dropped (`0..=65536`).
pub(crate) fn threshold(p: f64) -> u32 {
    (p * 65536.0).round() as u32
}

/// Independent generators advanced side by side: their multiply chains
/// overlap in the CPU, where one generator would wait on each product.
const STREAMS: usize = 4;
const _: () = assert!(STREAMS == 4, "mask_kernel's documentation says 4");

/// How many bits of each uniform decide against the threshold `t`
/// (`0 < t < 65536`): `u ≥ t` depends only on the top `16 − tz` bits of `u`
/// when `t` ends in `tz` zero bits, so lanes of that many bits (rounded up to
/// a power of two) give exactly the same drop probability. At p = 0.5
/// (`t = 2¹⁵`) one bit per unit is enough; at p = 0.25 or 0.75, two.
fn lane_bits(t: u32) -> u32 {
    (16 - t.trailing_zeros().min(16)).next_power_of_two()
}

/// Fills `words` with keep-bits for drop probability `p` (bit `i % 64` of word
/// `i / 64` is unit `i`), drawing the seeds of 4 PCG generators (`Pcg64Mcg`,
/// 128-bit state each) from `rng`: the same `rng` state gives the same mask,
/// for any length.
///
/// The drop probability is `p` rounded to a multiple of 2⁻¹⁶ (off by at most
/// 7.7e-6): with `t = round(p · 65536)`, a unit is kept when its 16-bit
/// uniform `u` is `≥ t`. When `t` ends in zero bits, only the top `L` bits of
/// `u` matter (`L` = 16 minus those zeros, rounded up to a power of two: 16 for
/// most `p`, 2 for 0.25 or 0.75, 1 for 0.5), so each 64-bit draw holds `64 / L`
/// uniforms of `L` bits: lane `l` (bits `Ll..Ll+L`) of draw `j` is the uniform
/// of unit `Ll + j`, kept when it is `≥ t >> (16 − L)`. Generator `s` makes the
/// words `s`, `s + 4`, … with `L` draws each.
pub fn mask_kernel<R: rand::Rng + ?Sized>(words: &mut [u64], p: f64, rng: &mut R) {
    fill_mask(words, threshold(p), rng);
}

pub(crate) fn fill_mask<R: rand::Rng + ?Sized>(words: &mut [u64], t: u32, rng: &mut R) {
    let mut streams: [Pcg64Mcg; STREAMS] = std::array::from_fn(|_| Pcg64Mcg::from_rng(rng));
    if t == 0 {
        words.fill(u64::MAX);
        return;
    }
    if t >= 65536 {
        words.fill(0);
        return;
    }
    let g = &mut streams;
    match lane_bits(t) {
        1 => fill_lanes::<1>(words, t >> 15, g),
        2 => fill_lanes::<2>(words, t >> 14, g),
        4 => fill_lanes::<4>(words, t >> 12, g),
        8 => fill_lanes::<8>(words, t >> 8, g),
        _ => fill_lanes::<16>(words, t, g),
    }
}

/// Picks the comparison for a threshold with or without its top lane bit.
fn fill_lanes<const L: u32>(words: &mut [u64], t: u32, g: &mut [Pcg64Mcg; STREAMS]) {
    if t >> (L - 1) == 1 {
        fill_words::<L, true>(words, t, g);
    } else {
        fill_words::<L, false>(words, t, g);
    }
}

/// The comparisons `u ≥ t` of all `L`-bit lanes of a draw at once, without
/// branches. With `HIGH` = (t ≥ 2^(L−1)), `H` the top bit of every lane:
/// `d = (u | H) − (t mod 2^(L−1))` cannot borrow across lanes, and its top lane
/// bits say whether the low `L − 1` bits of `u` reach those of `t`; then `u ≥ t`
/// is "top bit of u AND that" if t has its top bit set, else "OR".
fn fill_words<const L: u32, const HIGH: bool>(
    words: &mut [u64],
    t: u32,
    streams: &mut [Pcg64Mcg; STREAMS],
) {
    // 1 in every lane, and the top bit of every lane.
    let ones = u64::MAX / ((1u64 << L) - 1);
    let high = ones << (L - 1);
    let low = u64::from(t & ((1 << (L - 1)) - 1)) * ones;
    for chunk in words.chunks_mut(STREAMS) {
        let mut acc = [0u64; STREAMS];
        for j in 0..L {
            for (a, g) in acc.iter_mut().zip(streams.iter_mut()) {
                let u = g.next_u64();
                let d = (u | high) - low;
                let ge = if HIGH { u & d } else { u | d } & high;
                // lane l's verdict (bit Ll + L − 1) lands on bit Ll + j
                *a |= ge >> (L - 1 - j);
            }
        }
        chunk.copy_from_slice(&acc[..chunk.len()]);
    }
}

#[inline(always)]
pub(crate) fn bit(mask: &[u64], i: usize) -> bool {
    (mask[i / 64] >> (i % 64)) & 1 == 1
}

// The two kernels below go over the mask a 64-bit word at a time, in halves of
// 32 units, with a fixed-length inner loop whose "is bit j set" test is a
// vector AND and compare per register: they compile to branch-free SIMD code
// (a branch per unit would be mispredicted half the time at p = 0.5).

/// The forward kernel: `out[i] = x[i] · scale` where the mask bit is set, else 0
/// (0 even for an infinite or NaN input: the unit is dropped).
pub fn apply<T: Real>(out: &mut [T], x: &[T], mask: &[u64], scale: T) {
    let n = out.len().min(x.len());
    let whole = n / 64 * 64;
    for ((o, x), &w) in out[..whole]
        .chunks_exact_mut(64)
        .zip(x[..whole].chunks_exact(64))
        .zip(mask)
    {
        for (k, (o, x)) in o.chunks_exact_mut(32).zip(x.chunks_exact(32)).enumerate() {
            let h = (w >> (32 * k)) as u32;
            for (j, (o, &v)) in o.iter_mut().zip(x).enumerate() {
                let v = v * scale;
                *o = if h & (1 << j) != 0 { v } else { T::ZERO };
            }
        }
    }
    for i in whole..n {
        out[i] = if bit(mask, i) { x[i] * scale } else { T::ZERO };
    }
}

/// `kernel(out, x, mask, scale)` in `parts` pieces of whole mask words, one a
/// thread: each unit's result depends on its own values alone, so the
/// numbers are the same however it is split. (The Table 9 net's four
/// dropouts, half a million units a step each way, were among the largest
/// pieces its two-thread step left on one thread in a perf profile.)
fn in_parts<T: Real>(
    parts: usize,
    kernel: fn(&mut [T], &[T], &[u64], T),
    out: &mut [T],
    x: &[T],
    mask: &[u64],
    scale: T,
) {
    if parts <= 1 {
        return kernel(out, x, mask, scale);
    }
    let words = out.len().div_ceil(64).div_ceil(parts).max(1);
    out.par_chunks_mut(64 * words)
        .zip(x.par_chunks(64 * words))
        .zip(mask.par_chunks(words))
        .for_each(|((out, x), mask)| kernel(out, x, mask, scale));
}

pub(crate) fn backward<T: Real>(b: &mut Back<'_, T>, x: NodeId, scale: T) {
    let (gy, mask) = (b.gy, b.mask());
    if let Some(d) = b.grads.of(x) {
        let parts = b.products.parts(gy.len(), gy.len() * ELEMENTWISE_COST);
        // The forward kernel is exactly "write gy · scale where kept, else 0".
        let kernel = match d.accum {
            Accum::Replace => apply,
            Accum::Add => apply_backward,
        };
        in_parts(parts, kernel, d.buf, gy, mask, scale);
    }
}

/// The backward kernel: `g[i] += gy[i] · scale` where the mask bit is set.
pub fn apply_backward<T: Real>(g: &mut [T], gy: &[T], mask: &[u64], scale: T) {
    let n = g.len().min(gy.len());
    let whole = n / 64 * 64;
    for ((g, d), &w) in g[..whole]
        .chunks_exact_mut(64)
        .zip(gy[..whole].chunks_exact(64))
        .zip(mask)
    {
        for (k, (g, d)) in g.chunks_exact_mut(32).zip(d.chunks_exact(32)).enumerate() {
            let h = (w >> (32 * k)) as u32;
            for (j, (g, &d)) in g.iter_mut().zip(d).enumerate() {
                let d = d * scale;
                *g += if h & (1 << j) != 0 { d } else { T::ZERO };
            }
        }
    }
    for i in whole..n {
        if bit(mask, i) {
            g[i] += gy[i] * scale;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The documented mapping, one unit at a time: stream `s` makes words
    /// `s, s + STREAMS, …`; lane `l` of its draw `j` decides unit `Ll + j`.
    fn naive_mask(len: usize, t: u32, seed: u64) -> Vec<u64> {
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut streams: Vec<Pcg64Mcg> =
            (0..STREAMS).map(|_| Pcg64Mcg::from_rng(&mut rng)).collect();
        let l_bits = lane_bits(t) as usize;
        let lanes = 64 / l_bits;
        let mut words = vec![0u64; len];
        for base in (0..len).step_by(STREAMS) {
            for j in 0..l_bits {
                for (s, g) in streams.iter_mut().enumerate() {
                    let u = g.next_u64();
                    for l in 0..lanes {
                        let lane = (u >> (l_bits * l)) & ((1 << l_bits) - 1);
                        // the lane is the top bits of a 16-bit uniform
                        let kept = (lane << (16 - l_bits)) as u32 >= t;
                        if kept && base + s < len {
                            words[base + s] |= 1 << (l_bits * l + j);
                        }
                    }
                }
            }
        }
        words
    }

    #[test]
    fn lanes_are_as_narrow_as_the_threshold_allows() {
        assert_eq!(lane_bits(0x8000), 1);
        assert_eq!(lane_bits(0x4000), 2);
        assert_eq!(lane_bits(0xC000), 2);
        assert_eq!(lane_bits(0x2000), 4);
        assert_eq!(lane_bits(0x1000), 4);
        assert_eq!(lane_bits(0x0100), 8);
        assert_eq!(lane_bits(0x0080), 16);
        assert_eq!(lane_bits(6554), 16); // p = 0.1
        assert_eq!(lane_bits(1), 16);
    }

    #[test]
    fn the_branch_free_comparison_matches_the_naive_one() {
        let ts = [
            1, 2, 0x1234, 0x7FFF, 0x8000, 0x8001, 0xABCD, 0xFFFE, 0xFFFF, 0x4000, 0xC000, 0x2000,
            0x6000, 0xE000, 0x1100, 0xF100, 0x0100,
        ];
        for t in ts {
            for len in [0, 1, 3, 4, 5, 9, 40] {
                let mut words = vec![0xDEAD_BEEF; len];
                fill_mask(&mut words, t, &mut Pcg64Mcg::seed_from_u64(t as u64));
                assert_eq!(words, naive_mask(len, t, t as u64), "t={t} len={len}");
            }
        }
    }

    #[test]
    fn the_extreme_thresholds_keep_all_or_nothing() {
        let mut words = vec![0x5555; 7];
        fill_mask(&mut words, 0, &mut Pcg64Mcg::seed_from_u64(0));
        assert!(words.iter().all(|&w| w == u64::MAX));
        fill_mask(&mut words, 65536, &mut Pcg64Mcg::seed_from_u64(0));
        assert!(words.iter().all(|&w| w == 0));
        assert_eq!(threshold(0.0), 0);
        assert_eq!(threshold(0.5), 0x8000);
        assert_eq!(threshold(1.0 - 1e-9), 65536);
    }

    #[test]
    fn the_kept_fraction_is_p_at_16_bit_resolution() {
        // 2²⁰ units: the standard deviation of the kept fraction is below 5e-4.
        for p in [0.1, 0.25, 0.3, 0.5, 0.75, 0.77, 0.875] {
            let mut words = vec![0u64; 1 << 14];
            mask_kernel(&mut words, p, &mut Pcg64Mcg::seed_from_u64(9));
            let kept: u32 = words.iter().map(|w| w.count_ones()).sum();
            let frac = kept as f64 / (64 << 14) as f64;
            assert!((frac - (1.0 - p)).abs() < 2.5e-3, "p={p}: kept {frac}");
        }
    }

    /// Split into two or three parts (lengths that end inside a word or a
    /// part), both kernels give the bits of one part, and a mask longer than
    /// the units (as a node's mask is, the later nodes' following) changes
    /// nothing.
    #[test]
    fn the_kernels_split_into_parts_give_the_same_bits() {
        let mut rng = Pcg64Mcg::seed_from_u64(5);
        for len in [1usize, 64, 65, 129, 64 * 3 + 1, 70_001] {
            let mut mask = vec![0u64; len.div_ceil(64) + 3];
            mask_kernel(&mut mask, 0.3, &mut rng);
            let x: Vec<f32> = (0..len).map(|i| (i % 97) as f32 * 0.37 - 11.0).collect();
            for (kernel, start) in [
                (apply as fn(&mut [f32], &[f32], &[u64], f32), f32::NAN),
                (apply_backward, 0.25),
            ] {
                let mut want = vec![start; len];
                kernel(&mut want, &x, &mask, 1.25);
                for parts in [2, 3] {
                    let mut got = vec![start; len];
                    in_parts(parts, kernel, &mut got, &x, &mask, 1.25);
                    let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                    assert_eq!(bits(&got), bits(&want), "{len} units, {parts} parts");
                }
            }
        }
    }

    #[test]
    fn the_kernels_match_a_unit_by_unit_loop_at_every_length() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        for len in [0, 1, 31, 32, 33, 63, 64, 65, 100, 200, 257] {
            let mut mask = vec![0u64; usize::div_ceil(len, 64)];
            mask_kernel(&mut mask, 0.4, &mut rng);
            let x: Vec<f32> = (0..len).map(|i| i as f32 - 50.0).collect();
            let mut out = vec![f32::NAN; len];
            apply(&mut out, &x, &mask, 1.5);
            let mut g = vec![0.25f32; len];
            apply_backward(&mut g, &x, &mask, 1.5);
            for i in 0..len {
                let kept = bit(&mask, i);
                assert_eq!(
                    out[i],
                    if kept { x[i] * 1.5 } else { 0.0 },
                    "len={len} i={i}"
                );
                assert_eq!(g[i], if kept { 0.25 + x[i] * 1.5 } else { 0.25 });
            }
        }
    }

    #[test]
    fn a_dropped_unit_is_zero_even_if_infinite() {
        let x = [f32::INFINITY; 40];
        let mut out = [1f32; 40];
        apply(&mut out, &x, &[0], 2.0);
        assert!(out.iter().all(|&v| v == 0.0));
    }
}
