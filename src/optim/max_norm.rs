//! The max-norm constraint (Srivastava et al. 2014, §5.1; Keras's `MaxNorm`):
//! each unit's incoming weight vector, a row of a `[units, inputs]` weight
//! (or one filter of a convolution stored as `[out, in·k·k]`), kept to norm ≤ c.

use crate::real::Real;
use crate::tensor::Tensor;
use rayon::prelude::*;

/// Elements a thread of rayon's current pool takes at a time in the
/// optimizer's element-wise passes (whole rows here, each constrained alone,
/// so the split changes no result): large enough that handing a part over
/// costs little beside it (128 KiB of f32 an array), small enough that a
/// 1024×1024 weight spreads over the threads.
pub(super) const CHUNK: usize = 1 << 15;

/// From this many elements a parameter's pass is shared out among threads;
/// a smaller one is done by the calling thread alone. Splitting the MNIST
/// net's 100k-element weight made its step on two threads slower (310 →
/// 335 µs); the Table 9 net's weights are 0.8M to 2.1M.
const PAR_MIN: usize = 1 << 18;

/// Rescales each row of `w` whose Euclidean norm exceeds `c` to norm `c`
/// (at most: rounding is corrected downwards); rows within it are not
/// touched. Returns how many rows were rescaled. Rows are shared out among
/// the threads of rayon's current pool.
pub fn constrain_rows<T: Real>(w: &mut Tensor<T>, c: f64) -> usize {
    let cols = w.cols().max(1);
    let part = part_of(w.len(), cols);
    let rows = |part: &mut [T]| {
        part.chunks_mut(cols)
            .map(|row| usize::from(constrain(row, c)))
            .sum::<usize>()
    };
    if part >= w.len() {
        return rows(w.as_mut_slice());
    }
    w.as_mut_slice().par_chunks_mut(part).map(rows).sum()
}

/// A thread's part of a pass over `len` elements in rows of `cols`: whole
/// rows of about [`CHUNK`] elements, or all `len` below [`PAR_MIN`].
pub(crate) fn part_of(len: usize, cols: usize) -> usize {
    let cols = cols.max(1);
    if len < PAR_MIN {
        len.max(1)
    } else {
        (CHUNK / cols).max(1) * cols
    }
}

/// Brings one row to norm `c` if above it; whether it was.
pub(super) fn constrain<T: Real>(row: &mut [T], c: f64) -> bool {
    let norm = row_norm(row);
    if norm <= c {
        return false;
    }
    scale(row, c / norm);
    // In T the scaled row may come out a hair above c: shrink by an ulp-sized
    // factor until it does not.
    let mut k = 1.0 - f64::from(f32::EPSILON);
    while row_norm(row) > c {
        scale(row, k);
        k *= k;
    }
    true
}

/// Lanes of the norm's sum: independent accumulators the compiler keeps in
/// vector registers. One running sum is a chain of dependent additions, and
/// on the Table 9 net's 4 M weights that chain cost more than the step's
/// other element-wise passes.
const LANES: usize = 8;

fn row_norm<T: Real>(row: &[T]) -> f64 {
    let mut acc = [0f64; LANES];
    let mut chunks = row.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (a, v) in acc.iter_mut().zip(chunk) {
            let v = v.to_f64();
            *a += v * v;
        }
    }
    let tail: f64 = chunks.remainder().iter().map(|v| v.to_f64().powi(2)).sum();
    (acc.iter().sum::<f64>() + tail).sqrt()
}

fn scale<T: Real>(row: &mut [T], k: f64) {
    let k = T::from_f64(k);
    for v in row {
        *v *= k;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_above_c_come_down_to_it_and_rows_within_stay_bit_for_bit() {
        // Rows of norm 5, 1, 13 and 0 against c = 2.
        let mut w =
            Tensor::from_vec(4, 2, vec![3.0f32, 4.0, 0.6, 0.8, 5.0, 12.0, 0.0, 0.0]).unwrap();
        let before = w.as_slice().to_vec();
        assert_eq!(constrain_rows(&mut w, 2.0), 2);
        let rows: Vec<&[f32]> = w.as_slice().chunks(2).collect();
        for r in &rows {
            assert!(row_norm(r) <= 2.0, "{r:?}");
        }
        assert!((row_norm(rows[0]) - 2.0).abs() < 1e-6);
        assert!(
            (rows[0][0] / rows[0][1] - 0.75).abs() < 1e-6,
            "direction kept"
        );
        assert_eq!(rows[1], &before[2..4]);
        assert_eq!(rows[3], &before[6..8]);
    }

    /// More rows than one thread's part, in pools of one and three threads:
    /// the same rows rescaled, the same bits.
    #[test]
    fn threads_share_out_the_rows_without_changing_a_bit() {
        let w0 = Tensor::from_fn(300, 1000, |r, c| {
            ((r * 1000 + c) as f32 * 0.013).sin() * (r % 7) as f32 * 0.05
        });
        let on = |threads| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            let mut w = w0.clone();
            let changed = pool.install(|| constrain_rows(&mut w, 3.0));
            (changed, w)
        };
        let (one, three) = (on(1), on(3));
        assert!(one.0 > 0 && one.0 < 300, "{}", one.0);
        assert_eq!(one.0, three.0);
        assert!(one.1.as_slice() == three.1.as_slice());
    }

    #[test]
    fn the_norm_summed_in_lanes_is_the_norm() {
        for n in [0, 1, 7, 8, 9, 33, 1024] {
            let row: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let plain = row
                .iter()
                .map(|v| f64::from(*v).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(
                (row_norm(&row) - plain).abs() <= 1e-12 * plain.max(1.0),
                "{n}"
            );
        }
    }

    #[test]
    fn random_rows_end_within_c_in_f32() {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
        for c in [0.5, 1.0, 3.0, 3.7] {
            let mut w = Tensor::from_fn(64, 33, |_, _| rng.random_range(-2.0f32..2.0));
            constrain_rows(&mut w, c);
            for r in w.as_slice().chunks(33) {
                assert!(row_norm(r) <= c);
            }
        }
    }
}
