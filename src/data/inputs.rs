//! Samples to predict on, from a file read a batch at a time so that a file
//! larger than memory can be used: a CSV file, or an IDX images file (its
//! labels from the labels file beside it). The format is told by the
//! content: an IDX file starts with two zero bytes, which no CSV text does.

use super::LabelKind;
use super::csv::CsvRows;
use super::error::DataError;
use super::idx::{IdxImages, read_labels};
use super::load::PIXEL_SCALE;
use super::samples::{Labels, Split};
use super::source::DataFile;
use std::path::{Path, PathBuf};

/// What a file of samples to predict on holds, beside the net's inputs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InputSpec {
    /// Values per sample the net takes.
    pub features: usize,
    /// The net's label.
    pub labels: LabelKind,
    /// The file has labels: a CSV's last column(s), an IDX images file's
    /// labels file beside it. Without, a CSV holds the features alone.
    pub labelled: bool,
    /// A CSV's first line is a header.
    pub header: bool,
}

/// An open file of samples, read a batch at a time by [`InputFile::next_split`].
pub struct InputFile {
    spec: InputSpec,
    reader: Reader,
    /// The labels file read, for an IDX images file with labels.
    labels_path: Option<PathBuf>,
}

enum Reader {
    Csv(Box<CsvRows>),
    Idx {
        images: IdxImages,
        labels: Option<Vec<u32>>,
        next: usize,
    },
}

impl InputFile {
    /// Opens `path` (plain or gzipped) and checks its header (IDX) or nothing
    /// yet (CSV: each row is checked as it is read).
    pub fn open(path: &Path, spec: InputSpec) -> Result<InputFile, DataError> {
        let mut file = DataFile::open(path)?;
        let starts_with_zero = {
            let head = file.reader().fill_buf().map_err(DataError::io(path))?;
            head.first() == Some(&0)
        };
        if !starts_with_zero {
            let kind = if spec.labelled {
                spec.labels
            } else {
                LabelKind::Targets(0)
            };
            let rows = CsvRows::new(file, spec.header, spec.features, kind)?;
            return Ok(InputFile {
                spec,
                reader: Reader::Csv(Box::new(rows)),
                labels_path: None,
            });
        }
        let images = IdxImages::from_file(file)?;
        if images.features != spec.features {
            return Err(DataError::WrongFeatures {
                path: path.to_path_buf(),
                dims: images.dims_text(),
                found: images.features,
                expected: spec.features,
            });
        }
        let (mut labels, mut labels_path) = (None, None);
        if spec.labelled {
            let LabelKind::Classes(classes) = spec.labels else {
                return Err(DataError::LabelKind {
                    path: path.to_path_buf(),
                    data: "class labels (an IDX file)".into(),
                    net: spec.labels.to_string(),
                });
            };
            let lp = labels_beside(path)?;
            let l = read_labels(&lp, classes)?;
            if l.len() != images.count {
                return Err(DataError::CountMismatch {
                    images_path: path.to_path_buf(),
                    images: images.count,
                    labels_path: lp,
                    labels: l.len(),
                });
            }
            labels = Some(l);
            labels_path = Some(lp);
        }
        Ok(InputFile {
            spec,
            reader: Reader::Idx {
                images,
                labels,
                next: 0,
            },
            labels_path,
        })
    }

    /// The shape of one image (`[28, 28]`), for an IDX file.
    pub fn image_dims(&self) -> Option<&[usize]> {
        match &self.reader {
            Reader::Idx { images, .. } => Some(&images.dims),
            Reader::Csv(_) => None,
        }
    }

    /// The labels file, for an IDX images file read with labels.
    pub fn labels_path(&self) -> Option<&Path> {
        self.labels_path.as_deref()
    }

    /// The next at most `max` samples (`None` after the last). Without
    /// labels in the file, the split's labels are zeros of the net's kind.
    pub fn next_split(&mut self, max: usize) -> Result<Option<Split>, DataError> {
        let InputSpec {
            features,
            labels: kind,
            labelled,
            ..
        } = self.spec;
        match &mut self.reader {
            Reader::Csv(rows) => {
                let Some(table) = rows.next_rows(max)? else {
                    return Ok(None);
                };
                let n = table.x.len() / features.max(1);
                let labels = if labelled {
                    table.labels
                } else {
                    Labels::zeros(kind, n)
                };
                Split::from_floats(features, table.x, labels).map(Some)
            }
            Reader::Idx {
                images,
                labels,
                next,
            } => {
                let Some(data) = images.next_images(max)? else {
                    return Ok(None);
                };
                let n = data.len() / features.max(1);
                let l = match labels {
                    Some(all) => Labels::Classes(all[*next..*next + n].to_vec()),
                    None => Labels::zeros(kind, n),
                };
                *next += n;
                Split::from_bytes(features, data, PIXEL_SCALE, l).map(Some)
            }
        }
    }
}

/// The labels file of an IDX images file: `t10k-images-idx3-ubyte[.gz]` →
/// `t10k-labels-idx1-ubyte[.gz]` in the same folder, plain or gzipped.
pub fn labels_beside(images: &Path) -> Result<PathBuf, DataError> {
    let name = images
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = name.strip_suffix(".gz").unwrap_or(&name);
    let not_found = |why: String| DataError::Setting {
        source_name: images.display().to_string(),
        message: why,
    };
    let Some(prefix) = stem.strip_suffix("images-idx3-ubyte") else {
        return Err(not_found(
            "cannot tell its labels file: an images file named `PREFIX-images-idx3-ubyte` has \
             its labels in `PREFIX-labels-idx1-ubyte` beside it"
                .into(),
        ));
    };
    let labels = format!("{prefix}labels-idx1-ubyte");
    let dir = images.parent().unwrap_or(Path::new(""));
    let plain = dir.join(&labels);
    let gz = dir.join(format!("{labels}.gz"));
    if plain.is_file() {
        Ok(plain)
    } else if gz.is_file() {
        Ok(gz)
    } else {
        Err(not_found(format!(
            "its labels file `{}` (or `.gz`) is not there",
            plain.display()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::IMAGES_MAGIC;

    fn spec(labelled: bool) -> InputSpec {
        InputSpec {
            features: 2,
            labels: LabelKind::Classes(3),
            labelled,
            header: false,
        }
    }

    fn splits(path: &Path, spec: InputSpec, max: usize) -> Result<Vec<Split>, DataError> {
        let mut f = InputFile::open(path, spec)?;
        let mut all = Vec::new();
        while let Some(s) = f.next_split(max)? {
            all.push(s);
        }
        Ok(all)
    }

    #[test]
    fn a_csv_is_read_in_batches_with_or_without_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.csv");
        std::fs::write(&p, "1,2,0\n3,4,2\n5,6,1\n").unwrap();
        let s = splits(&p, spec(true), 2).unwrap();
        assert_eq!(s.iter().map(Split::len).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(s[0].classes(), Some(&[0, 2][..]));
        assert_eq!(s[1].classes(), Some(&[1][..]));
        // Without labels the third column is one too many.
        let e = splits(&p, spec(false), 2).unwrap_err().to_string();
        assert!(e.contains("3 columns, expected 2"), "{e}");
        std::fs::write(&p, "1,2\n3,4\n").unwrap();
        assert_eq!(splits(&p, spec(false), 10).unwrap()[0].len(), 2);
    }

    #[test]
    fn an_idx_file_is_read_in_batches_and_a_short_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t10k-images-idx3-ubyte");
        let mut bytes = IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [3u32, 1, 2] {
            bytes.extend_from_slice(&d.to_be_bytes());
        }
        bytes.extend_from_slice(&[0, 255, 51, 0, 1, 2]);
        std::fs::write(&p, &bytes).unwrap();
        let s = splits(&p, spec(false), 2).unwrap();
        assert_eq!(s.iter().map(Split::len).collect::<Vec<_>>(), [2, 1]);
        let e = splits(&p, spec(true), 2).unwrap_err().to_string();
        assert!(
            e.contains("t10k-labels-idx1-ubyte` (or `.gz`) is not there"),
            "{e}"
        );
        std::fs::write(&p, &bytes[..bytes.len() - 1]).unwrap();
        // The header's claim is checked against the file's length first.
        let e = splits(&p, spec(false), 2).unwrap_err().to_string();
        assert!(e.contains("truncated: expected 22 bytes, found 21"), "{e}");
    }
}
