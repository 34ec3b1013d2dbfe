//! Seeded orderings: the epoch shuffle and the fixed held-out split.

use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// The seed of every fixed held-out split (digits, a CSV without a test
/// file): a constant, so a set's test samples never depend on the run's seed.
pub const SPLIT_SEED: u64 = 0x6e65_7463_5f73_706c; // "netc_spl"

/// Fills `out` with `0..n` in a random order (Fisher–Yates), reusing its
/// allocation. The same generator state gives the same order.
pub fn shuffled_indices(n: usize, rng: &mut impl Rng, out: &mut Vec<usize>) {
    out.clear();
    out.extend(0..n);
    for i in (1..n).rev() {
        let j = rng.random_range(0..=i);
        out.swap(i, j);
    }
}

/// Splits `0..n` into (train, test) index lists, `test_fraction` of them
/// (rounded, at least one of each) held out by a shuffle seeded with
/// [`SPLIT_SEED`]. Each list is in ascending order, so samples keep their
/// order in the source. Needs `n >= 2` and a fraction strictly between 0 and 1.
pub fn held_out_split(n: usize, test_fraction: f64) -> Option<(Vec<usize>, Vec<usize>)> {
    if n < 2 || !(test_fraction > 0.0 && test_fraction < 1.0) {
        return None;
    }
    let n_test = ((n as f64 * test_fraction).round() as usize).clamp(1, n - 1);
    Some(carve(n, n_test, SPLIT_SEED))
}

/// Splits `0..n` into (kept, held) index lists, `held` of them (at most `n`)
/// chosen by a shuffle seeded with `seed`; each list in ascending order.
pub fn carve(n: usize, held: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order = Vec::with_capacity(n);
    shuffled_indices(n, &mut Pcg64Mcg::seed_from_u64(seed), &mut order);
    let held = held.min(n);
    let mut out = order[..held].to_vec();
    let mut kept = order[held..].to_vec();
    out.sort_unstable();
    kept.sort_unstable();
    (kept, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carve_is_disjoint_complete_seeded_and_sorted() {
        let (kept, held) = carve(100, 20, 9);
        assert_eq!((kept.len(), held.len()), (80, 20));
        let mut all: Vec<usize> = kept.iter().chain(&held).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert!(kept.is_sorted() && held.is_sorted());
        assert_eq!(carve(100, 20, 9), (kept, held.clone()));
        assert_ne!(carve(100, 20, 10).1, held);
        assert_eq!(carve(3, 5, 1).1, [0, 1, 2]);
    }

    #[test]
    fn shuffle_is_a_permutation_and_deterministic() {
        let mut a = Vec::new();
        let mut b = vec![99; 3];
        shuffled_indices(1000, &mut Pcg64Mcg::seed_from_u64(7), &mut a);
        shuffled_indices(1000, &mut Pcg64Mcg::seed_from_u64(7), &mut b);
        assert_eq!(a, b);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
        assert_ne!(a, sorted, "a shuffle of 1000 left everything in place");
        let mut c = Vec::new();
        shuffled_indices(1000, &mut Pcg64Mcg::seed_from_u64(8), &mut c);
        assert_ne!(a, c);
    }

    #[test]
    fn shuffle_of_tiny_lengths() {
        let mut v = vec![5];
        let mut rng = Pcg64Mcg::seed_from_u64(0);
        shuffled_indices(0, &mut rng, &mut v);
        assert!(v.is_empty());
        shuffled_indices(1, &mut rng, &mut v);
        assert_eq!(v, [0]);
    }

    #[test]
    fn consecutive_epochs_differ_but_replay() {
        let run = || {
            let mut rng = Pcg64Mcg::seed_from_u64(3);
            let mut v = Vec::new();
            let mut epochs = Vec::new();
            for _ in 0..3 {
                shuffled_indices(50, &mut rng, &mut v);
                epochs.push(v.clone());
            }
            epochs
        };
        let a = run();
        assert_ne!(a[0], a[1]);
        assert_eq!(a, run());
    }

    #[test]
    fn held_out_split_partitions() {
        let (train, test) = held_out_split(100, 0.25).unwrap();
        assert_eq!((train.len(), test.len()), (75, 25));
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert!(test.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(held_out_split(100, 0.25), Some((train, test)));
        assert_eq!(held_out_split(3, 0.01).map(|(_, t)| t.len()), Some(1));
        assert_eq!(held_out_split(3, 0.99).map(|(tr, _)| tr.len()), Some(1));
        assert_eq!(held_out_split(1, 0.5), None);
        assert_eq!(held_out_split(10, 0.0), None);
        assert_eq!(held_out_split(10, 1.0), None);
        assert_eq!(held_out_split(10, f64::NAN), None);
    }
}
