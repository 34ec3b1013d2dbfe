//! "did you mean ...?": the closest known word by edit distance.

/// Edit distance where swapping two neighbours counts as one edit
/// (optimal string alignment), counting characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for i in 0..a.len() {
        cur[0] = i + 1;
        for j in 0..b.len() {
            let mut d = (prev[j] + usize::from(a[i] != b[j]))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                d = d.min(before[j - 1] + 1);
            }
            cur[j + 1] = d;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a likely typo
/// (a third of the word's length, at least one edit; or the same word in
/// another case).
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    // Long words are not typos of short names; skip the quadratic work.
    if word.is_empty() || word.chars().count() > 64 {
        return None;
    }
    let len = word.chars().count();
    let limit = (len / 3).max(1);
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != word && c.chars().count().abs_diff(len) <= limit)
        .map(|c| {
            let d = if c.to_lowercase() == lower {
                0
            } else {
                distance(&lower, &c.to_lowercase())
            };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_words_only() {
        let fs = [
            "relu",
            "sigmoid",
            "tanh",
            "linear",
            "log_softmax",
            "softmax",
        ];
        assert_eq!(did_you_mean("rleu", fs), Some("relu"));
        assert_eq!(did_you_mean("Linear", fs), Some("linear"));
        assert_eq!(did_you_mean("logsoftmax", fs), Some("log_softmax"));
        assert_eq!(did_you_mean("conv2d", fs), None);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("ab", "ba"), 1);
    }
}
