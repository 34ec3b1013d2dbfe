//! The AVX row sum that the f32 kernels of `small_loops` and `sparse_weight_grad` share.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// `d[..8·R] (=|+=) Σ v · s[..8·R]` over the `(v, s)` of `terms`, the `8·R`
/// sums in `R` registers (eight independent ones hide the multiply-add's
/// latency).
///
/// # Safety
/// AVX and FMA must be available; `d` points at `8·R` numbers to write and
/// every `s` at `8·R` to read.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx,fma")]
#[inline]
pub(crate) unsafe fn sum_rows<const R: usize>(
    d: *mut f32,
    add: bool,
    terms: impl Iterator<Item = (f32, *const f32)>,
) {
    // SAFETY: `d` and each `s` hold 8·R numbers (the caller's guarantee).
    unsafe {
        let mut acc: [__m256; R] = if add {
            std::array::from_fn(|i| _mm256_loadu_ps(d.add(8 * i)))
        } else {
            [_mm256_setzero_ps(); R]
        };
        for (v, s) in terms {
            let v = _mm256_set1_ps(v);
            for (i, acc) in acc.iter_mut().enumerate() {
                *acc = _mm256_fmadd_ps(v, _mm256_loadu_ps(s.add(8 * i)), *acc);
            }
        }
        for (i, acc) in acc.iter().enumerate() {
            _mm256_storeu_ps(d.add(8 * i), *acc);
        }
    }
}
