//! Axes: the range a panel shows, and its ticks at round values (1, 2 or
//! 5 × 10^k apart), each labelled with as many digits as the step needs so
//! that no two read alike and zero reads `0`.

/// The smallest and largest finite values, padded by `pad` of their spread
/// so lines do not touch the frame. A single value (or all equal) gets room
/// around it in proportion to its size; no values at all show 0..1.
pub fn range(values: impl Iterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let size = lo.abs().max(hi.abs());
    if hi - lo <= 1e-9 * size || hi - lo < f64::MIN_POSITIVE {
        let d = if size == 0.0 {
            1.0
        } else if size >= 1.0 {
            (size * 0.05).max(0.5)
        } else {
            size * 0.5
        };
        return (lo - d, hi + d);
    }
    let d = (hi - lo) * pad;
    (lo - d, hi + d)
}

/// At most `max` (≥ 2) ticks inside `lo..=hi`, ascending: each value and its
/// label. Values are whole multiples of the step, computed from integers, so
/// zero is exactly 0 and no float noise (`-3.5e-18`) reaches a label.
pub fn ticks(lo: f64, hi: f64, max: usize) -> Vec<(f64, String)> {
    let span = hi - lo;
    if !lo.is_finite() || !hi.is_finite() || span.is_nan() || span <= 0.0 {
        return Vec::new();
    }
    let max = max.max(2);
    let Some((m, k)) = step(lo, hi, max) else {
        return Vec::new();
    };
    let value = |i: i64| {
        let n = (i * m) as f64;
        if k >= 0 {
            n * 10f64.powi(k)
        } else {
            n / 10f64.powi(-k)
        }
    };
    let step = value(1);
    let (first, last) = ((lo / step).ceil() as i64, (hi / step).floor() as i64);
    let values: Vec<f64> = (first..=last).map(value).collect();
    let biggest = values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    // Scientific labels share the biggest one's number of digits.
    let scientific = (biggest >= 1e6 || (biggest > 0.0 && biggest < 1e-3))
        .then(|| ((biggest.log10() + 1e-9).floor() as i32 - k).max(0) as usize);
    values
        .into_iter()
        .map(|v| (v, label(v, k, scientific)))
        .collect()
}

/// The step `m × 10^k` (m of 1, 2, 5) giving the most ticks up to `max`.
fn step(lo: f64, hi: f64, max: usize) -> Option<(i64, i32)> {
    let raw = (hi - lo) / (max - 1) as f64;
    let start = raw.log10().floor() as i32 - 1;
    // Far more than enough: each exponent grows the step tenfold.
    (start..start + 4)
        .flat_map(|k| [1i64, 2, 5].map(|m| (m, k)))
        .find(|&(m, k)| {
            let step = m as f64 * 10f64.powi(k);
            let count = (hi / step).floor() - (lo / step).ceil() + 1.0;
            count <= max as f64 && count.abs() < 1e15
        })
}

/// `v`, a multiple of a step of exponent `k`, with the decimals that step
/// needs, or in scientific form with these digits after the point.
fn label(v: f64, k: i32, scientific: Option<usize>) -> String {
    if v == 0.0 {
        return "0".into();
    }
    match scientific {
        Some(digits) => format!("{v:.digits$e}"),
        None => {
            let decimals = (-k).max(0) as usize;
            format!("{v:.decimals$}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(lo: f64, hi: f64, max: usize) -> Vec<String> {
        ticks(lo, hi, max).into_iter().map(|(_, l)| l).collect()
    }

    #[test]
    fn ticks_are_round_and_read_distinctly() {
        assert_eq!(
            labels(0.0, 1.0, 6),
            ["0", "0.2", "0.4", "0.6", "0.8", "1.0"]
        );
        assert_eq!(labels(-0.3, 0.7, 8), ["-0.2", "0", "0.2", "0.4", "0.6"]);
        assert_eq!(labels(94.66, 94.84, 8), ["94.70", "94.75", "94.80"]);
        assert_eq!(labels(3.0, 1000.0, 6), ["200", "400", "600", "800", "1000"]);
        // A penalty axis starting at a float's breath below zero reads 0.
        assert_eq!(
            labels(-3.5e-18, 1.1e-5, 6),
            ["0", "2.0e-6", "4.0e-6", "6.0e-6", "8.0e-6", "1.0e-5"]
        );
        assert_eq!(labels(2e6, 3e6, 3), ["2.0e6", "2.5e6", "3.0e6"]);
        // Never more than asked, never two alike.
        for (lo, hi) in [(0.0, 1e-7), (-5.0, 5.0), (97.21, 97.22), (0.5, 1.5)] {
            let t = ticks(lo, hi, 7);
            assert!((2..=7).contains(&t.len()), "{lo}..{hi}: {t:?}");
            for w in t.windows(2) {
                assert!(w[0].0 < w[1].0 && w[0].1 != w[1].1, "{t:?}");
            }
            assert!(t.iter().all(|(v, _)| (lo..=hi).contains(v)));
        }
        assert!(ticks(1.0, 1.0, 5).is_empty());
        assert!(ticks(0.0, f64::NAN, 5).is_empty());
    }

    #[test]
    fn ranges_pad_and_survive_flat_or_empty_data() {
        assert_eq!(range([1.0, 1.0].into_iter(), 0.1), (0.5, 1.5));
        assert_eq!(range([0.0].into_iter(), 0.1), (-1.0, 1.0));
        let (lo, hi) = range([2e-5, 2e-5].into_iter(), 0.1);
        assert!(
            (lo - 1e-5).abs() < 1e-20 && (hi - 3e-5).abs() < 1e-20,
            "{lo} {hi}"
        );
        assert_eq!(range([94.8].into_iter(), 0.1), (94.8 - 4.74, 94.8 + 4.74));
        assert_eq!(range(std::iter::empty(), 0.1), (0.0, 1.0));
        let (lo, hi) = range([0.0, 10.0, f64::NAN].into_iter(), 0.1);
        assert_eq!((lo, hi), (-1.0, 11.0));
    }
}
