//! The data readers on bytes in memory, as if read from a file named `path`:
//! the same code the files go through, for fuzzing and tests. `len` is what
//! the file system would say of the file's length (`None`: a pipe or a
//! device, whose length is not known before reading).

use super::LabelKind;
use super::csv::read_csv;
use super::error::DataError;
use super::idx::{IdxImages, labels_from};
use super::samples::Labels;
use super::source::DataFile;
use std::io::Cursor;
use std::path::Path;

/// An IDX images file (plain or gzipped): the dimensions of one image and
/// all the pixels.
pub fn idx_images(
    path: &Path,
    len: Option<u64>,
    bytes: Vec<u8>,
) -> Result<(Vec<usize>, Vec<u8>), DataError> {
    let images = IdxImages::from_file(DataFile::from_reader(path, len, Cursor::new(bytes))?)?;
    let dims = images.dims.clone();
    Ok((dims, images.read()?))
}

/// An IDX labels file (plain or gzipped), each label below `classes`.
pub fn idx_labels(
    path: &Path,
    len: Option<u64>,
    bytes: Vec<u8>,
    classes: usize,
) -> Result<Vec<u32>, DataError> {
    labels_from(
        DataFile::from_reader(path, len, Cursor::new(bytes))?,
        classes,
    )
}

/// A CSV file (plain or gzipped) of `features` inputs and the label columns
/// of `kind` per row; with `header`, the first line is skipped.
pub fn csv(
    path: &Path,
    len: Option<u64>,
    bytes: Vec<u8>,
    header: bool,
    features: usize,
    kind: LabelKind,
) -> Result<(Vec<f32>, Labels), DataError> {
    let file = DataFile::from_reader(path, len, Cursor::new(bytes))?;
    let table = read_csv(file, header, features, kind)?;
    Ok((table.x, table.labels))
}
