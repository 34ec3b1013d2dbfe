//! "did you mean ...?": the closest known word by edit distance (strsim's
//! optimal string alignment: a swap of neighbours is one edit; strsim is in
//! the build already, for clap's own suggestions).

use strsim::osa_distance as distance;

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
