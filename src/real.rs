//! The element type of the engine: `f32` for training, `f64` for gradient checks.
//!
//! Every op is written once, generic over [`Real`], so the f64 checks test the
//! very code that trains.

use std::any::TypeId;
use std::fmt::{Debug, Display};
use std::ops::{Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Sub, SubAssign};

/// A floating-point scalar faer can multiply and the ops can compute with.
pub trait Real:
    faer::traits::RealField
    + Copy
    + Default
    + Debug
    + Display
    + PartialOrd
    + Send
    + Sync
    + 'static
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
{
    const ZERO: Self;
    const ONE: Self;
    /// The name used in file formats (`"F32"`, `"F64"`).
    const NAME: &'static str;
    fn from_f64(v: f64) -> Self;
    fn to_f64(self) -> f64;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn abs(self) -> Self;
    fn tanh(self) -> Self;
    fn max(self, other: Self) -> Self;
    fn is_finite(self) -> bool;
}

/// True when no element is NaN or infinite. Branch-free, so it vectorizes:
/// `x · 0` is ±0 for every finite `x` and NaN otherwise, and a NaN survives the
/// sums of sixteen independent lanes.
pub fn all_finite<T: Real>(xs: &[T]) -> bool {
    let mut acc = [T::ZERO; 16];
    let chunks = xs.chunks_exact(16);
    for &v in chunks.remainder() {
        acc[0] += v * T::ZERO;
    }
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v * T::ZERO;
        }
    }
    acc.iter().all(|&a| a == T::ZERO)
}

/// The first NaN or infinite value of a row-major table `width` wide, as
/// (row, column, value): for messages that say which sample and feature.
pub fn first_non_finite<T: Real>(xs: &[T], width: usize) -> Option<(usize, usize, T)> {
    if all_finite(xs) {
        return None;
    }
    let i = xs.iter().position(|v| !v.is_finite())?;
    let w = width.max(1);
    Some((i / w, i % w, xs[i]))
}

/// `xs` seen as f32, when `T` is f32: for kernels written for f32 alone.
pub(crate) fn as_f32<T: Real>(xs: &[T]) -> Option<&[f32]> {
    // SAFETY: T is f32 (checked), so this is the same slice.
    (TypeId::of::<T>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts(xs.as_ptr().cast::<f32>(), xs.len()) })
}

/// [`as_f32`] for a slice to write.
pub(crate) fn as_f32_mut<T: Real>(xs: &mut [T]) -> Option<&mut [f32]> {
    // SAFETY: T is f32 (checked), so this is the same slice, borrowed as mutably.
    (TypeId::of::<T>() == TypeId::of::<f32>())
        .then(|| unsafe { std::slice::from_raw_parts_mut(xs.as_mut_ptr().cast::<f32>(), xs.len()) })
}

/// Whether this CPU has AVX and FMA, which the f32 kernels need (checked at
/// run time, as faer does, so a portable build uses them too).
pub(crate) fn has_fma() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx")
        && std::arch::is_x86_feature_detected!("fma");
    #[allow(unreachable_code)]
    false
}

macro_rules! impl_real {
    ($t:ty, $name:literal) => {
        impl Real for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            const NAME: &'static str = $name;
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn abs(self) -> Self {
                <$t>::abs(self)
            }
            #[inline(always)]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
            #[inline(always)]
            fn max(self, other: Self) -> Self {
                <$t>::max(self, other)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
        }
    };
}

impl_real!(f32, "F32");
impl_real!(f64, "F64");

#[cfg(test)]
mod finite_tests {
    use super::all_finite;

    #[test]
    fn all_finite_finds_one_bad_value_anywhere() {
        assert!(all_finite::<f32>(&[]));
        for len in [1, 15, 16, 17, 40] {
            let mut xs: Vec<f32> = (0..len).map(|i| i as f32 * 1e36 - 3.0).collect();
            xs[0] = f32::MAX;
            assert!(all_finite(&xs), "len {len}");
            for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
                for at in [0, len / 2, len - 1] {
                    let mut ys = xs.clone();
                    ys[at] = bad;
                    assert!(!all_finite(&ys), "len {len}, {bad} at {at}");
                }
            }
        }
        assert!(!all_finite(&[1.0f64, f64::NAN]));
    }
}
