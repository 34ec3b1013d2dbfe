//! Data sources: what a `.net` file's `data:` names, and the loaded sets.

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
