//! Seeded random data: uniform [0, 1) inputs of the net's width. The reference
//! MLP trains on such inputs with every label the same class.

use super::error::DataError;
use super::samples::{Labels, Split};
use super::source::{MAX_FILE_BYTES, try_buffer};
use super::{Dataset, LabelKind};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use std::path::Path;

/// Generates `samples` training and `test_samples` test samples from one
/// `Pcg64Mcg` seeded with `seed`, in this order: the training inputs
/// (row-major), the training labels, the test inputs, the test labels.
/// Labels: every one `target` if given (for regression targets, every value
/// `target`), else uniform classes (uniform [0, 1) regression targets).
pub(crate) fn load_synthetic(
    samples: usize,
    test_samples: usize,
    target: Option<u32>,
    seed: u64,
    features: usize,
    labels: LabelKind,
) -> Result<Dataset, DataError> {
    let setting = |message: String| DataError::Setting {
        source_name: "synthetic".into(),
        message,
    };
    if samples == 0 || test_samples == 0 {
        return Err(setting(format!(
            "needs at least one sample in each split, got samples {samples}, test_samples {test_samples}"
        )));
    }
    if features == 0 {
        return Err(setting("the net's input has no features".into()));
    }
    match (labels, target) {
        (LabelKind::Classes(0), _) => return Err(setting("the net's label has no classes".into())),
        (LabelKind::Targets(0), _) => return Err(setting("the net's targets have width 0".into())),
        (LabelKind::Classes(c), Some(t)) if t as usize >= c => {
            return Err(setting(format!(
                "target class {t} is out of range for {c} classes (0..={})",
                c - 1
            )));
        }
        _ => {}
    }
    let values = (samples as u128 + test_samples as u128) * (features + labels.width()) as u128;
    if values * 4 > MAX_FILE_BYTES {
        return Err(DataError::TooLarge {
            path: Path::new("synthetic").to_path_buf(),
            what: format!("{samples} + {test_samples} samples of {features} features"),
            bytes: values * 4,
            why: format!("more than netc's limit of {MAX_FILE_BYTES} bytes of data"),
        });
    }
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let train = make_split(&mut rng, samples, features, labels, target)?;
    let test = make_split(&mut rng, test_samples, features, labels, target)?;
    Ok(Dataset {
        name: "synthetic".into(),
        features,
        dims: vec![features],
        labels,
        train,
        test,
    })
}

fn make_split(
    rng: &mut Pcg64Mcg,
    n: usize,
    features: usize,
    kind: LabelKind,
    target: Option<u32>,
) -> Result<Split, DataError> {
    let path = Path::new("synthetic");
    let mut x: Vec<f32> = try_buffer(path, "the inputs", n * features)?;
    x.extend((0..n * features).map(|_| rng.random::<f32>()));
    let labels = match (kind, target) {
        (LabelKind::Classes(_), Some(t)) => Labels::Classes(vec![t; n]),
        (LabelKind::Classes(c), None) => {
            // `c` is at least 1 (checked) and a class index is a u32.
            let c = u32::try_from(c).unwrap_or(u32::MAX);
            Labels::Classes((0..n).map(|_| rng.random_range(0..c)).collect())
        }
        (LabelKind::Targets(w), Some(t)) => Labels::Targets {
            width: w,
            values: vec![t as f32; n * w],
        },
        (LabelKind::Targets(w), None) => Labels::Targets {
            width: w,
            values: (0..n * w).map(|_| rng.random::<f32>()).collect(),
        },
    };
    Split::from_floats(features, x, labels)
}
