//! Which real numbers a setting accepts: one type for the language's checker
//! and the engine's configuration rules (`optim`), so the two cannot disagree.

/// An interval a real setting must lie in. NaN and infinities lie in none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Range {
    /// `> 0`
    Positive,
    /// `>= 0`
    NonNegative,
    /// `0 <= v < 1`
    Prob,
    /// `0 <= v <= 1`
    Closed,
    /// `0 < v < 1`
    Fraction,
}

impl Range {
    /// Whether `v` is finite and in the interval.
    pub fn admits(self, v: f64) -> bool {
        v.is_finite()
            && match self {
                Range::Positive => v > 0.0,
                Range::NonNegative => v >= 0.0,
                Range::Prob => (0.0..1.0).contains(&v),
                Range::Closed => (0.0..=1.0).contains(&v),
                Range::Fraction => v > 0.0 && v < 1.0,
            }
    }

    /// The interval in words, to follow "must be": `greater than 0`, `in [0, 1)`.
    pub fn describe(self) -> &'static str {
        match self {
            Range::Positive => "greater than 0",
            Range::NonNegative => "0 or more",
            Range::Prob => "in [0, 1)",
            Range::Closed => "in [0, 1]",
            Range::Fraction => "in (0, 1)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Range;

    #[test]
    fn bounds_are_open_or_closed_as_named() {
        assert!(!Range::Positive.admits(0.0) && Range::Positive.admits(1e-30));
        assert!(Range::NonNegative.admits(0.0) && !Range::NonNegative.admits(-1e-30));
        assert!(Range::Prob.admits(0.0) && !Range::Prob.admits(1.0));
        assert!(Range::Closed.admits(1.0) && !Range::Closed.admits(1.0 + 1e-9));
        assert!(!Range::Fraction.admits(0.0) && !Range::Fraction.admits(1.0));
        for r in [Range::Positive, Range::NonNegative, Range::Closed] {
            assert!(!r.admits(f64::NAN) && !r.admits(f64::INFINITY), "{r:?}");
        }
    }
}
