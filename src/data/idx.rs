//! IDX files, the MNIST format: a four-byte magic number (two zero bytes, the
//! element type, the number of dimensions), each dimension as a big-endian u32,
//! then the elements. netc reads unsigned-byte images (`0x00000803`) and
//! labels (`0x00000801`), gzipped or not.

use super::error::DataError;
use super::source::{DataFile, read_data};
use std::path::Path;

/// Magic number of an images file: unsigned bytes, 3 dimensions.
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of a labels file: unsigned bytes, 1 dimension.
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// An images file whose header has been read and checked; the pixels are
/// read by [`IdxImages::read`], so a bad header is reported before any
/// decompression work.
pub(crate) struct IdxImages {
    file: DataFile,
    /// Number of images.
    pub count: usize,
    /// Dimensions of one image (`[rows, cols]`).
    pub dims: Vec<usize>,
    /// Values per image (rows x cols).
    pub features: usize,
    /// Bytes of pixel data (count x features).
    len: usize,
    header_len: u128,
    /// Images already read by [`IdxImages::next_images`].
    taken: usize,
}

impl IdxImages {
    /// Opens `path` and reads its header.
    pub fn open(path: &Path) -> Result<IdxImages, DataError> {
        Self::from_file(DataFile::open(path)?)
    }

    /// Reads the header of an opened file.
    pub fn from_file(mut file: DataFile) -> Result<IdxImages, DataError> {
        let path = file.path.clone();
        let path = path.as_path();
        let dims = read_header(
            &mut file,
            IMAGES_MAGIC,
            "unsigned-byte images, N x rows x cols",
        )?;
        let header_len = 4 + 4 * dims.len() as u128;
        // In u128, three u32 factors cannot overflow.
        let features = dims[1..].iter().map(|&d| d as u128).product::<u128>();
        if dims[0] == 0 || features == 0 {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
                what: "the file holds no pixels (a zero in its dimensions)",
            });
        }
        let claimed = features * dims[0] as u128;
        file.check_claim("its images", header_len, claimed)?;
        let (Ok(len), Ok(features)) = (usize::try_from(claimed), usize::try_from(features)) else {
            return Err(DataError::TooLarge {
                path: path.to_path_buf(),
                what: "its images".into(),
                bytes: claimed,
                why: "more than this machine can address".into(),
            });
        };
        Ok(IdxImages {
            file,
            count: dims[0],
            dims: dims[1..].to_vec(),
            features,
            len,
            header_len,
            taken: 0,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.file.path
    }

    /// The dimensions as text, e.g. `28x28`.
    pub fn dims_text(&self) -> String {
        dims_text(&self.dims)
    }

    /// Reads the next at most `max` images (`None` after the last), for a
    /// file used a batch at a time; after the last, checks nothing follows.
    pub fn next_images(&mut self, max: usize) -> Result<Option<Vec<u8>>, DataError> {
        let n = max.min(self.count - self.taken);
        if n == 0 {
            return Ok(None);
        }
        let mut data = vec![0u8; n * self.features];
        let got = self.file.read_up_to(&mut data)?;
        let before = self.header_len + (self.taken * self.features) as u128;
        if got < data.len() {
            return Err(DataError::Truncated {
                path: self.file.path.clone(),
                expected: self.header_len + self.len as u128,
                actual: before + got as u128,
                gzip: self.file.gzip,
            });
        }
        self.taken += n;
        if self.taken == self.count {
            self.file.expect_end(self.header_len + self.len as u128)?;
        }
        Ok(Some(data))
    }

    /// Reads all pixels, row-major, one image after another.
    pub fn read(mut self) -> Result<Vec<u8>, DataError> {
        let len = self.len;
        let data = read_data(&mut self.file, "its images", self.header_len, len)?;
        self.file.expect_end(self.header_len + len as u128)?;
        Ok(data)
    }
}

/// Reads a labels file, checking each label is below `classes`.
pub(crate) fn read_labels(path: &Path, classes: usize) -> Result<Vec<u32>, DataError> {
    labels_from(DataFile::open(path)?, classes)
}

/// [`read_labels`] from an opened file.
pub(crate) fn labels_from(mut file: DataFile, classes: usize) -> Result<Vec<u32>, DataError> {
    let path = file.path.clone();
    let path = path.as_path();
    let dims = read_header(&mut file, LABELS_MAGIC, "unsigned-byte labels, N")?;
    let header_len = 8u128;
    let count = dims[0];
    file.check_claim("its labels", header_len, count as u128)?;
    if count == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
            what: "the file holds no labels",
        });
    }
    let bytes = read_data(&mut file, "its labels", header_len, count)?;
    file.expect_end(header_len + count as u128)?;
    bytes
        .iter()
        .enumerate()
        .map(|(i, &label)| {
            if usize::from(label) < classes {
                Ok(u32::from(label))
            } else {
                Err(DataError::LabelOutOfRange {
                    path: path.to_path_buf(),
                    place: format!("item {i} (byte offset {})", 8 + i),
                    label: label.to_string(),
                    classes,
                })
            }
        })
        .collect()
}

/// Reads and checks the magic number and the dimensions.
fn read_header(
    file: &mut DataFile,
    expected: u32,
    expected_means: &'static str,
) -> Result<Vec<usize>, DataError> {
    let mut magic = [0u8; 4];
    let got = file.read_up_to(&mut magic)?;
    if got < magic.len() {
        return Err(DataError::Truncated {
            path: file.path.clone(),
            expected: 4,
            actual: got as u128,
            gzip: file.gzip,
        });
    }
    let found = u32::from_be_bytes(magic);
    if found != expected {
        return Err(DataError::BadMagic {
            path: file.path.clone(),
            found,
            found_means: describe_magic(found),
            expected,
            expected_means,
        });
    }
    let ndims = usize::from(magic[3]);
    let mut raw = vec![0u8; 4 * ndims];
    let got = file.read_up_to(&mut raw)?;
    if got < raw.len() {
        return Err(DataError::Truncated {
            path: file.path.clone(),
            expected: 4 + raw.len() as u128,
            actual: 4 + got as u128,
            gzip: file.gzip,
        });
    }
    Ok(raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect())
}

/// What a magic number would mean, to help a user who passed the wrong file.
fn describe_magic(magic: u32) -> String {
    let [zero0, zero1, kind, ndims] = magic.to_be_bytes();
    if zero0 != 0 || zero1 != 0 {
        return "not an IDX file".to_string();
    }
    let kind = match kind {
        0x08 => "unsigned-byte",
        0x09 => "signed-byte",
        0x0B => "i16",
        0x0C => "i32",
        0x0D => "f32",
        0x0E => "f64",
        _ => return format!("an unknown IDX element type {kind:#04x}"),
    };
    let what = match magic {
        IMAGES_MAGIC => " (an images file)",
        LABELS_MAGIC => " (a labels file)",
        _ => "",
    };
    let plural = if ndims == 1 { "" } else { "s" };
    format!("{kind} elements in {ndims} dimension{plural}{what}")
}

/// Dimensions as `28x28`.
pub(crate) fn dims_text(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufReader, Cursor, Read};
    use std::time::Instant;

    fn header(magic: u32, dims: &[u32]) -> Vec<u8> {
        let mut h = magic.to_be_bytes().to_vec();
        for d in dims {
            h.extend_from_slice(&d.to_be_bytes());
        }
        h
    }

    #[test]
    fn dev_zero_is_refused_at_its_first_bytes() {
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            eprintln!("note: skipped: this system has no /dev/zero");
            return;
        }
        let t = Instant::now();
        let e = IdxImages::open(zero).err().unwrap().to_string();
        assert!(
            e.starts_with("/dev/zero: wrong magic number 0x00000000"),
            "{e}"
        );
        let e = read_labels(zero, 10).unwrap_err().to_string();
        assert!(
            e.starts_with("/dev/zero: wrong magic number 0x00000000"),
            "{e}"
        );
        assert!(t.elapsed().as_secs() < 5);
    }

    #[test]
    fn a_stream_that_goes_on_after_its_data_is_refused_without_reading_it_all() {
        let head = header(IMAGES_MAGIC, &[2, 2, 2]);
        let endless = BufReader::new(Cursor::new(head).chain(std::io::repeat(3)));
        let file = DataFile::from_reader(Path::new("pipe"), None, endless).unwrap();
        let e = IdxImages::from_file(file).unwrap().read().unwrap_err();
        assert!(
            matches!(e, DataError::TrailingBytes { extra: None, .. }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "pipe: more bytes follow the 24 bytes its header describes"
        );
    }

    #[test]
    fn a_stream_claiming_gigabytes_costs_only_what_it_holds() {
        // 2^33 pixels claimed, 100 there: nothing near the claim is reserved.
        let mut bytes = header(IMAGES_MAGIC, &[1 << 15, 1 << 9, 1 << 9]);
        bytes.extend_from_slice(&[1; 100]);
        let file = DataFile::from_reader(Path::new("pipe"), None, Cursor::new(bytes)).unwrap();
        let e = IdxImages::from_file(file).unwrap().read().unwrap_err();
        assert_eq!(
            e.to_string(),
            "pipe: truncated: expected 8589934608 bytes, found 116"
        );
    }
}
