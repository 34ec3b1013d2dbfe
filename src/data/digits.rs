//! The 8x8 UCI digits (1797 samples), embedded in the binary so `data: digits`
//! works with no files at all. See `DIGITS-LICENSE.md` for its source and licence.

use super::csv::read_csv;
use super::error::DataError;
use super::samples::Split;
use super::shuffle::held_out_split;
use super::source::DataFile;
use super::{Dataset, LabelKind};
use std::path::Path;

/// The gzipped CSV: 64 pixel values 0..16, then the label, per row.
static DIGITS_CSV_GZ: &[u8] = include_bytes!("digits.csv.gz");

/// Name used for the embedded file in messages.
const NAME: &str = "digits (embedded)";

/// Pixels per image.
pub const DIGITS_FEATURES: usize = 64;

/// Images in the set (train and test).
pub const DIGITS_SAMPLES: usize = 1797;

/// The most a pixel counts (16 bits of a 4x4 block): pixels are scaled by 1/16.
const DIGITS_MAX: f32 = 16.0;

/// Loads the digits, holding out `test_fraction` of them by the fixed seeded
/// split (see [`super::shuffle::SPLIT_SEED`]). `features` and `labels` are
/// what the net expects.
pub(crate) fn load_digits(
    test_fraction: f64,
    features: usize,
    labels: LabelKind,
) -> Result<Dataset, DataError> {
    let path = Path::new(NAME);
    if features != DIGITS_FEATURES {
        return Err(DataError::WrongFeatures {
            path: path.to_path_buf(),
            dims: "8x8".into(),
            found: DIGITS_FEATURES,
            expected: features,
        });
    }
    if let LabelKind::Targets(_) = labels {
        return Err(DataError::LabelKind {
            path: path.to_path_buf(),
            data: "class labels 0..9".into(),
            net: labels.to_string(),
        });
    }
    let file = DataFile::from_reader(path, Some(DIGITS_CSV_GZ.len() as u64), DIGITS_CSV_GZ)?;
    let table = read_csv(file, false, DIGITS_FEATURES, labels)?;
    let n = table.labels.len();
    let Some((train, test)) = held_out_split(n, test_fraction) else {
        return Err(DataError::Setting {
            source_name: "digits".into(),
            message: format!(
                "test_fraction must be between 0 and 1 (both excluded), got {test_fraction}"
            ),
        });
    };
    // Every value is a whole count 0..=16, so bytes hold them exactly.
    let bytes = table
        .x
        .iter()
        .map(|&v| v.clamp(0.0, DIGITS_MAX) as u8)
        .collect();
    let all = Split::from_bytes(
        DIGITS_FEATURES,
        bytes,
        1.0 / f64::from(DIGITS_MAX),
        table.labels,
    )?;
    Ok(Dataset {
        name: "digits".into(),
        features: DIGITS_FEATURES,
        dims: vec![8, 8],
        labels,
        train: all.select(&train)?,
        test: all.select(&test)?,
    })
}
