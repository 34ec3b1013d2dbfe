//! Loading a [`DataSpec`] into a [`Dataset`] shaped for a net.

use super::csv::read_csv;
use super::digits::load_digits;
use super::error::DataError;
use super::idx::{IdxImages, read_labels};
use super::idx_files::{IdxFiles, SearchDir, find_set, idx_files_in};
use super::samples::{Labels, Split};
use super::shuffle::held_out_split;
use super::source::DataFile;
use super::synthetic::load_synthetic;
use super::{DataSpec, Dataset, LabelKind};
use std::path::Path;

/// Byte pixels are scaled by this to [0, 1].
pub(crate) const PIXEL_SCALE: f64 = 1.0 / 255.0;

/// Loads `spec` for a net whose input has `features` values and whose label
/// is `labels`. Named sets (`mnist`, `fashion-mnist`) are looked for in
/// `places`, in order (the caller decides where: see [`find_set`]).
pub fn load(
    spec: &DataSpec,
    features: usize,
    labels: LabelKind,
    places: &[SearchDir],
) -> Result<Dataset, DataError> {
    match spec {
        DataSpec::Synthetic {
            samples,
            test_samples,
            target,
            seed,
        } => load_synthetic(*samples, *test_samples, *target, *seed, features, labels),
        DataSpec::Digits { test_fraction } => load_digits(*test_fraction, features, labels),
        DataSpec::Mnist => load_idx_set("mnist", &find_set("mnist", places)?, features, labels),
        DataSpec::FashionMnist => load_idx_set(
            "fashion-mnist",
            &find_set("fashion-mnist", places)?,
            features,
            labels,
        ),
        DataSpec::Idx { dir } => {
            let name = dir.file_name().map_or_else(
                || dir.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            load_idx_set(&name, &idx_files_in(dir)?, features, labels)
        }
        DataSpec::Csv {
            path,
            test,
            test_fraction,
            header,
        } => load_csv(
            path,
            test.as_deref(),
            *test_fraction,
            *header,
            features,
            labels,
        ),
    }
}

/// Loads the four files of an IDX set. Headers are all checked (shapes,
/// counts) before any pixel data is decompressed.
fn load_idx_set(
    name: &str,
    files: &IdxFiles,
    features: usize,
    labels: LabelKind,
) -> Result<Dataset, DataError> {
    let LabelKind::Classes(classes) = labels else {
        return Err(DataError::LabelKind {
            path: files.train_labels.clone(),
            data: "class labels".into(),
            net: labels.to_string(),
        });
    };
    let train_images = IdxImages::open(&files.train_images)?;
    let test_images = IdxImages::open(&files.test_images)?;
    for images in [&train_images, &test_images] {
        if images.features != features {
            return Err(DataError::WrongFeatures {
                path: images.path().to_path_buf(),
                dims: images.dims_text(),
                found: images.features,
                expected: features,
            });
        }
    }
    if test_images.dims != train_images.dims {
        return Err(DataError::ImageShape {
            path: test_images.path().to_path_buf(),
            found: test_images.dims_text(),
            train_path: train_images.path().to_path_buf(),
            expected: train_images.dims_text(),
        });
    }
    let train_labels = read_labels(&files.train_labels, classes)?;
    let test_labels = read_labels(&files.test_labels, classes)?;
    for (images, labels, labels_path) in [
        (&train_images, &train_labels, &files.train_labels),
        (&test_images, &test_labels, &files.test_labels),
    ] {
        if images.count != labels.len() {
            return Err(DataError::CountMismatch {
                images_path: images.path().to_path_buf(),
                images: images.count,
                labels_path: labels_path.clone(),
                labels: labels.len(),
            });
        }
    }
    let dims = train_images.dims.clone();
    let train = Split::from_bytes(
        features,
        train_images.read()?,
        PIXEL_SCALE,
        Labels::Classes(train_labels),
    )?;
    let test = Split::from_bytes(
        features,
        test_images.read()?,
        PIXEL_SCALE,
        Labels::Classes(test_labels),
    )?;
    Ok(Dataset {
        name: name.to_string(),
        features,
        dims,
        labels,
        train,
        test,
    })
}

/// Loads a CSV file, and its test file or a held-out fraction of its rows.
fn load_csv(
    path: &Path,
    test: Option<&Path>,
    test_fraction: f64,
    header: bool,
    features: usize,
    labels: LabelKind,
) -> Result<Dataset, DataError> {
    let read = |p: &Path| -> Result<Split, DataError> {
        let table = read_csv(DataFile::open(p)?, header, features, labels)?;
        Split::from_floats(features, table.x, table.labels)
    };
    let all = read(path)?;
    let (train, test) = match test {
        Some(test_path) => (all, read(test_path)?),
        None => {
            let Some((train, test)) = held_out_split(all.len(), test_fraction) else {
                return Err(DataError::Setting {
                    source_name: path.display().to_string(),
                    message: format!(
                        "holding out test_fraction {test_fraction} of {} rows leaves no training \
                         or no test rows (the fraction must be between 0 and 1, both excluded, \
                         and there must be at least 2 rows)",
                        all.len()
                    ),
                });
            };
            (all.select(&train)?, all.select(&test)?)
        }
    };
    let name = path
        .file_stem()
        .map_or_else(|| "csv".to_string(), |s| s.to_string_lossy().into_owned());
    // `foo.csv.gz` is named `foo`.
    let name = name.strip_suffix(".csv").unwrap_or(&name).to_string();
    Ok(Dataset {
        name,
        features,
        dims: vec![features],
        labels,
        train,
        test,
    })
}
