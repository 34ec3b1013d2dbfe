//! Data sources: what a `.net` file's `data:` names, and the loaded sets.
//!
//! # Choices
//! - **Scaling**: pixels are scaled to [0, 1] (MNIST bytes by 1/255, the
//!   digits' 0..16 counts by 1/16) and **not normalised** by default: that is
//!   the reference recipe the accuracy targets are measured with. Normalising
//!   by the training split's mean and standard deviation is one call,
//!   [`Dataset::normalize`] (MNIST: mean 0.1307, std 0.3081), which a source's
//!   `normalize: true` option asks for.
//! - **Memory**: image sets stay as bytes (MNIST: 55 MB instead of 220 MB as
//!   f32) and a batch is converted when it is gathered
//!   ([`Split::gather`]) into buffers the caller reuses, so the steady state
//!   allocates nothing. CSV and synthetic data are stored as f32.
//! - **Held-out splits**: MNIST-style sets have their own test files; the
//!   digits and a CSV without a test file hold out a fraction chosen by a
//!   shuffle with a fixed seed ([`SPLIT_SEED`]), the same on every run.
//! - **Hostile files**: gzip is detected by its magic bytes, headers are
//!   checked against the file's length and [`MAX_FILE_BYTES`] before any
//!   allocation, no file is read past [`MAX_FILE_BYTES`] (before and after
//!   decompression) whatever its metadata says (a pipe's or a device's says
//!   0), and every error names the file and what is wrong.

mod csv;
mod digits;
mod error;
pub mod fetch;
pub mod from_bytes;
mod idx;
mod idx_files;
mod inputs;
mod load;
mod samples;
mod shuffle;
mod source;
mod synthetic;

pub use digits::{DIGITS_FEATURES, DIGITS_SAMPLES};
pub use error::DataError;
pub use idx::{IMAGES_MAGIC, LABELS_MAGIC};
pub use idx_files::{IDX_NAMES, IdxFiles, SearchDir, find_set, idx_files_in};
pub use inputs::{InputFile, InputSpec, labels_beside};
pub use load::load;
pub use samples::{EVAL_BATCH, Labels, Normalization, Split};
pub use shuffle::{SPLIT_SEED, carve, held_out_split, shuffled_indices};
pub use source::MAX_FILE_BYTES;

use std::fmt;
use std::path::PathBuf;

/// A data source as a `.net` file describes it (checked, not yet loaded).
/// Every source has a held-out test split.
#[derive(Clone, Debug, PartialEq)]
pub enum DataSpec {
    /// Seeded uniform [0, 1) inputs of the net's input width. With `target`,
    /// every label is that class (the reference MLP); otherwise labels are
    /// drawn uniformly from the net's classes.
    Synthetic {
        samples: usize,
        test_samples: usize,
        target: Option<u32>,
        seed: u64,
    },
    /// The 8x8 UCI digits (1797 samples), embedded in the binary.
    /// `test_fraction` of them, chosen by a fixed seeded shuffle, are held out.
    Digits { test_fraction: f64 },
    /// The four standard IDX files in a folder `mnist/`.
    Mnist,
    /// The four standard IDX files in a folder `fashion-mnist/`.
    FashionMnist,
    /// A user's folder holding the four standard-named IDX files
    /// (`train-images-idx3-ubyte`, ... gzipped or not).
    Idx { dir: PathBuf },
    /// A user's CSV file: numeric cells, the label in the last column.
    /// Held out: the file `test` if given, else `test_fraction` of the rows.
    Csv {
        path: PathBuf,
        test: Option<PathBuf>,
        test_fraction: f64,
        header: bool,
    },
}

/// What the net's label is: classes, or regression targets of some width.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelKind {
    /// One class index in `0..n` per sample.
    Classes(usize),
    /// `width` f32 targets per sample.
    Targets(usize),
}

impl LabelKind {
    /// Label columns per sample: 1 for classes, the width for targets.
    pub fn width(self) -> usize {
        match self {
            LabelKind::Classes(_) => 1,
            LabelKind::Targets(w) => w,
        }
    }
}

impl fmt::Display for LabelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelKind::Classes(n) => write!(f, "classes({n})"),
            LabelKind::Targets(w) => write!(f, "regression targets of width {w}"),
        }
    }
}

/// A loaded data set: a training and a held-out test split of the same shape.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    /// e.g. `mnist`, `digits`, a CSV file's stem.
    pub name: String,
    /// Values per sample (the flattened width, e.g. 784).
    pub features: usize,
    /// The shape of one sample (e.g. `[28, 28]`; `[features]` for tabular data).
    pub dims: Vec<usize>,
    /// The labels, as the net declares them (every class label was checked
    /// to be in range).
    pub labels: LabelKind,
    pub train: Split,
    pub test: Split,
}

impl Dataset {
    /// Classes of the label that no training sample has: how many, and the
    /// first `shown` of them. None for regression targets.
    pub fn absent_classes(&self, shown: usize) -> (usize, Vec<u32>) {
        let (LabelKind::Classes(n), Some(labels)) = (self.labels, self.train.classes()) else {
            return (0, Vec::new());
        };
        // A set of what occurs, not a flag per class: `classes(n)` may be large.
        let seen: std::collections::BTreeSet<u32> = labels.iter().copied().collect();
        let count = n.saturating_sub(seen.len());
        let first = (0..n as u64)
            .map(|c| c as u32)
            .filter(|c| !seen.contains(c))
            .take(shown)
            .collect();
        (count, first)
    }

    /// Normalises both splits by the training split's mean and standard
    /// deviation (over all input values), and returns them.
    pub fn normalize(&mut self) -> Result<Normalization, DataError> {
        let stats = self.train.input_stats();
        self.train.set_normalization(Some(stats))?;
        self.test.set_normalization(Some(stats))?;
        Ok(stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_labels(classes: usize, labels: Vec<u32>) -> Dataset {
        let split = |l: Vec<u32>| Split::from_floats(1, vec![0.0; l.len()], Labels::Classes(l));
        Dataset {
            name: "t".into(),
            features: 1,
            dims: vec![1],
            labels: LabelKind::Classes(classes),
            train: split(labels).unwrap(),
            test: split(vec![0]).unwrap(),
        }
    }

    #[test]
    fn absent_classes_are_counted_and_the_first_listed() {
        assert_eq!(
            with_labels(3, vec![2, 0, 1]).absent_classes(10),
            (0, vec![])
        );
        assert_eq!(
            with_labels(5, vec![0, 2, 1, 2]).absent_classes(10),
            (2, vec![3, 4])
        );
        // A huge `classes(n)` is counted without a flag per class.
        assert_eq!(
            with_labels(1 << 30, vec![1]).absent_classes(3),
            ((1 << 30) - 1, vec![0, 2, 3])
        );
    }
}
