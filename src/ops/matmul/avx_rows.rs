//! The AVX row sum that the f32 kernels of `small_loops` and the sparse
//! gradients share, and the cache-line-aligned buffers they copy into.

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

/// Sixteen f32, aligned to a 64-byte cache line. A buffer of these is read
/// by 256-bit loads none of which straddles two lines: from a buffer only
/// 16-byte aligned (as `Vec<f32>` and the stack give), every other load of
/// a row split in two, and the sparse kernels, which load once per
/// multiply-add, ran that much slower.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
pub(crate) struct Line(pub(crate) [f32; 16]);

/// The numbers of `lines`, in order.
pub(crate) fn floats(lines: &[Line]) -> &[f32] {
    // SAFETY: `Line` is `repr(C)`: sixteen f32 and no padding (64 bytes,
    // aligned to 64), so `lines` is `16·len` f32 in a row.
    unsafe { std::slice::from_raw_parts(lines.as_ptr().cast::<f32>(), lines.len() * 16) }
}

/// [`floats`], to write.
pub(crate) fn floats_mut(lines: &mut [Line]) -> &mut [f32] {
    // SAFETY: as in `floats`, borrowed mutably.
    unsafe { std::slice::from_raw_parts_mut(lines.as_mut_ptr().cast::<f32>(), lines.len() * 16) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of 64 numbers in a buffer of lines starts a cache line.
    #[test]
    fn lines_are_numbers_in_a_row_each_row_on_a_cache_line() {
        let mut lines = vec![Line::default(); 12];
        for (i, v) in floats_mut(&mut lines).iter_mut().enumerate() {
            *v = i as f32;
        }
        let xs = floats(&lines);
        assert_eq!(xs.len(), 12 * 16);
        assert!(xs.iter().enumerate().all(|(i, &v)| v == i as f32));
        for row in xs.chunks(64) {
            assert_eq!(row.as_ptr() as usize % 64, 0);
        }
    }
}
