//! The AVX + FMA micro-kernels of the direct convolution ([`super::direct`]):
//! a block of output pixels × up to 16 output channels for the forward (and
//! the input gradient, which is a forward), and a block of taps × up to 16
//! output channels for the weight gradient. The accumulators are ymm
//! registers, at most 12 of the 16; constant block sizes let the compiler
//! keep them there.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// The most pixels a forward block holds, by the registers a pixel needs:
/// one (8 channels) or two (16); 12 accumulators at most.
pub(super) const fn most_pixels(regs: usize) -> usize {
    if regs == 1 { 12 } else { 6 }
}

/// The most taps a weight-gradient block holds, as [`most_pixels`]: each tap
/// also keeps a pointer in a general register, so one register of channels
/// takes 8 taps, not 12.
pub(super) const fn most_taps(regs: usize) -> usize {
    if regs == 1 { 8 } else { 6 }
}

/// Where one image lies in a padded scratch: `channels` planes of `rows × row`
/// floats, one after the other.
#[derive(Clone, Copy, Debug)]
pub(super) struct Padded {
    pub channels: usize,
    pub rows: usize,
    pub row: usize,
}

impl Padded {
    pub(super) fn plane(&self) -> usize {
        self.rows * self.row
    }

    pub(super) fn len(&self) -> usize {
        self.channels * self.plane()
    }
}

/// `out[p][..8·B] = Σ over taps (c, ki, kj) of x[c·plane + ki·row + kj + p] ·
/// w[tap][..8·B]`, for `p < P`: the sums of `P` neighbouring output pixels of
/// one row, `x` pointing at the first pixel's top-left tap, `w` at the first
/// tap's channels, the taps `ld` floats apart.
///
/// # Safety
/// AVX and FMA must be available; every `x` read (up to
/// `(x.channels−1)·plane + (k−1)·row + k−1 + P−1` floats ahead) and every
/// `w` read (`k²·channels` taps of `8·B` floats, `ld` apart) in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
pub(super) unsafe fn pixels<const P: usize, const B: usize>(
    x: *const f32,
    xs: Padded,
    k: usize,
    w: *const f32,
    ld: usize,
    out: &mut [[f32; 16]; 12],
) {
    // SAFETY: the reads stay within the bounds the caller guarantees.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); B]; P];
        let mut wt = w;
        for c in 0..xs.channels {
            for ki in 0..k {
                let r = x.add(c * xs.plane() + ki * xs.row);
                for kj in 0..k {
                    let wv: [__m256; B] = std::array::from_fn(|b| _mm256_loadu_ps(wt.add(8 * b)));
                    for (p, acc) in acc.iter_mut().enumerate() {
                        let v = _mm256_broadcast_ss(&*r.add(kj + p));
                        for (a, &wv) in acc.iter_mut().zip(&wv) {
                            *a = _mm256_fmadd_ps(v, wv, *a);
                        }
                    }
                    wt = wt.add(ld);
                }
            }
        }
        for (acc, out) in acc.iter().zip(out.iter_mut()) {
            for (b, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add(8 * b), *a);
            }
        }
    }
}

/// `acc[t][..8·B] += Σ over the output pixels (oy, ox) of
/// x[at[t] + oy·row + ox] · dy[(oy·ow + ox)·ld ..][..8·B]`, for the `T` taps
/// whose offsets in the padded image are `at`: one sample's share of a block
/// of the weight gradient, `acc` (`[tap][8·B]`, `ld` floats a tap) read and
/// written back.
///
/// # Safety
/// AVX and FMA must be available; `x` holds every `at[t] + (oh−1)·row + ow−1`,
/// `dy` `oh·ow` pixels of `ld` floats, `acc` `T` taps of `ld` floats with
/// `8·B ≤ ld`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn taps<const T: usize, const B: usize>(
    x: *const f32,
    at: &[usize; 12],
    (oh, ow, row): (usize, usize, usize),
    dy: *const f32,
    ld: usize,
    acc_at: *mut f32,
) {
    // SAFETY: the reads and writes stay within the bounds the caller guarantees.
    unsafe {
        let mut acc: [[__m256; B]; T] = std::array::from_fn(|t| {
            std::array::from_fn(|b| _mm256_loadu_ps(acc_at.add(t * ld + 8 * b)))
        });
        let xt: [*const f32; T] = std::array::from_fn(|t| x.add(at[t]));
        let mut d = dy;
        for oy in 0..oh {
            let base = oy * row;
            for ox in base..base + ow {
                let dv: [__m256; B] = std::array::from_fn(|b| _mm256_loadu_ps(d.add(8 * b)));
                for (acc, &xt) in acc.iter_mut().zip(&xt) {
                    let v = _mm256_broadcast_ss(&*xt.add(ox));
                    for (a, &dv) in acc.iter_mut().zip(&dv) {
                        *a = _mm256_fmadd_ps(v, dv, *a);
                    }
                }
                d = d.add(ld);
            }
        }
        for (t, acc) in acc.iter().enumerate() {
            for (b, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(acc_at.add(t * ld + 8 * b), *a);
            }
        }
    }
}

/// `out[o][..8·V] = Σ over taps t = (c, ki, kj) of w[o·ld + t] ·
/// x[c·plane + ki·row + kj ..][..8·V]`, for `o < O`: `8·V` neighbouring
/// output pixels of one row (vectorised over pixels, for few output channels),
/// `x` pointing at the first pixel's top-left tap, `w` at the first channel's
/// first tap.
///
/// # Safety
/// AVX and FMA must be available; every `x` read (up to
/// `(channels−1)·plane + (k−1)·row + k−1 + 8·V−1` floats ahead) and every `w`
/// read (`O` channels of `k²·channels` taps, `ld` apart) in bounds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
pub(super) unsafe fn row<const O: usize, const V: usize>(
    x: *const f32,
    xs: Padded,
    k: usize,
    w: *const f32,
    ld: usize,
    out: &mut [[f32; 16]; 6],
) {
    // SAFETY: the reads stay within the bounds the caller guarantees.
    unsafe {
        let mut acc = [[_mm256_setzero_ps(); V]; O];
        let wo: [*const f32; O] = std::array::from_fn(|o| w.add(o * ld));
        let mut t = 0;
        for c in 0..xs.channels {
            for ki in 0..k {
                let r = x.add(c * xs.plane() + ki * xs.row);
                for kj in 0..k {
                    let xv: [__m256; V] =
                        std::array::from_fn(|v| _mm256_loadu_ps(r.add(kj + 8 * v)));
                    for (acc, &wo) in acc.iter_mut().zip(&wo) {
                        let wv = _mm256_broadcast_ss(&*wo.add(t));
                        for (a, &xv) in acc.iter_mut().zip(&xv) {
                            *a = _mm256_fmadd_ps(xv, wv, *a);
                        }
                    }
                    t += 1;
                }
            }
        }
        for (acc, out) in acc.iter().zip(out.iter_mut()) {
            for (v, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(out.as_mut_ptr().add(8 * v), *a);
            }
        }
    }
}

/// Lane masks: the 8 floats from `MASKS[8 − n]` select the first `n` lanes.
#[cfg(target_arch = "x86_64")]
static MASKS: [i32; 16] = [-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0];

/// `acc[o][t][..8] += Σ over rows oy and pixels ox ≡ lane (mod 8) of
/// dy[o·plane + oy·ow + ox] · x[at[t] + oy·row + ox]`, for `o < O` and the
/// `T` taps at offsets `at`: one sample's share of a block of the weight
/// gradient, vectorised over a row's pixels (a row's last pixels masked), the
/// eight lanes of each sum kept apart (`acc`: channels `ld` floats apart, taps
/// 8 apart), read and written back.
///
/// # Safety
/// AVX and FMA must be available; `x` holds every `at[t] + (oh−1)·row + ow−1`,
/// `dy` `O` planes of `oh·ow` floats `plane` apart, `acc` `O` channels of `T`
/// taps of 8 floats, `ld` apart.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn taps_by_pixels<const O: usize, const T: usize>(
    x: *const f32,
    at: &[usize; 12],
    (oh, ow, row): (usize, usize, usize),
    dy: *const f32,
    plane: usize,
    acc_at: *mut f32,
    ld: usize,
) {
    // SAFETY: the reads and writes stay within the bounds the caller
    // guarantees; the masked loads read nothing past a row's last pixel.
    unsafe {
        let mut acc: [[__m256; T]; O] = std::array::from_fn(|o| {
            std::array::from_fn(|t| _mm256_loadu_ps(acc_at.add(o * ld + 8 * t)))
        });
        let full = ow / 8 * 8;
        let mask = _mm256_loadu_si256(MASKS.as_ptr().add(8 - (ow - full)).cast());
        macro_rules! step {
            ($load:expr, $xr:expr, $dr:expr) => {
                let xv: [__m256; T] = std::array::from_fn(|t| $load(x.add(at[t] + $xr)));
                for (o, acc) in acc.iter_mut().enumerate() {
                    let d = $load(dy.add(o * plane + $dr));
                    for (a, &xv) in acc.iter_mut().zip(&xv) {
                        *a = _mm256_fmadd_ps(d, xv, *a);
                    }
                }
            };
        }
        for oy in 0..oh {
            for ox in (0..full).step_by(8) {
                step!(|p| _mm256_loadu_ps(p), oy * row + ox, oy * ow + ox);
            }
            if full < ow {
                step!(
                    |p| _mm256_maskload_ps(p, mask),
                    oy * row + full,
                    oy * ow + full
                );
            }
        }
        for (o, acc) in acc.iter().enumerate() {
            for (t, a) in acc.iter().enumerate() {
                _mm256_storeu_ps(acc_at.add(o * ld + 8 * t), *a);
            }
        }
    }
}
