//! Opening a data file: gzip detected by its magic bytes (never by its name),
//! with errors that name the file, and the limits that keep a hostile header
//! from making netc allocate without bound.

use super::error::DataError;
use crate::claimed::{ClaimedError, read_claimed};
use flate2::bufread::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// The first two bytes of every gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Deflate cannot expand one compressed byte into more than about 1032 bytes,
/// so a gzip file of `n` bytes holds at most `n * 1032` (+ a little slack).
const MAX_DEFLATE_RATIO: u128 = 1032;

/// The most bytes of data netc reads from one file (16 GiB): more is refused
/// before allocating.
pub const MAX_FILE_BYTES: u128 = 1 << 34;

/// A readable data file, decompressing if it starts with the gzip magic.
pub(crate) struct DataFile {
    pub path: PathBuf,
    pub gzip: bool,
    /// Length on disk (compressed if `gzip`), when the file system knows it:
    /// `None` for a device, a pipe or a `/proc` file, whose metadata says 0
    /// whatever they hold.
    pub len: Option<u64>,
    reader: Box<dyn BufRead>,
}

impl DataFile {
    /// Opens `path`, refusing an empty file.
    pub fn open(path: &Path) -> Result<DataFile, DataError> {
        let file = File::open(path).map_err(DataError::io(path))?;
        let meta = file.metadata().map_err(DataError::io(path))?;
        let len = Some(meta.len()).filter(|&n| meta.is_file() && n > 0);
        Self::from_reader(path, len, BufReader::with_capacity(1 << 16, file))
    }

    /// Wraps an in-memory or other reader named `path`, of `len` bytes if
    /// known. Whatever `len` says, at most [`MAX_FILE_BYTES`] are read from
    /// it, and at most as many once decompressed.
    pub fn from_reader(
        path: &Path,
        len: Option<u64>,
        inner: impl BufRead + 'static,
    ) -> Result<DataFile, DataError> {
        Self::with_limit(path, len, inner, MAX_FILE_BYTES)
    }

    /// [`DataFile::from_reader`] reading at most `limit` bytes.
    fn with_limit(
        path: &Path,
        len: Option<u64>,
        inner: impl BufRead + 'static,
        limit: u128,
    ) -> Result<DataFile, DataError> {
        let mut inner = Bounded::new(inner, limit);
        let head = peek(&mut inner, 2).map_err(DataError::io(path))?;
        if head.is_empty() {
            return Err(DataError::Empty {
                path: path.to_path_buf(),
                what: "the file is empty",
            });
        }
        let gzip = head == GZIP_MAGIC;
        let reader: Box<dyn BufRead> = if gzip {
            let decoded = BufReader::with_capacity(1 << 16, MultiGzDecoder::new(inner));
            Box::new(Bounded::new(decoded, limit))
        } else {
            Box::new(inner)
        };
        Ok(DataFile {
            path: path.to_path_buf(),
            gzip,
            len,
            reader,
        })
    }

    /// The decompressed bytes, as a buffered reader.
    pub fn reader(&mut self) -> &mut dyn BufRead {
        &mut self.reader
    }

    /// The decompressed bytes, as a reader to own; this file then reads as
    /// empty, and still words the errors of what was taken.
    pub fn take_reader(&mut self) -> Box<dyn BufRead> {
        std::mem::replace(&mut self.reader, Box::new(io::empty()))
    }

    /// Turns a read error into a [`DataError`]: more than netc reads from one
    /// file is [`DataError::OverLimit`], a decompression failure a corrupt
    /// gzip file, anything else an I/O error.
    pub fn read_error(&self, e: io::Error) -> DataError {
        let path = self.path.clone();
        if let Some(over) = e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<OverLimit>())
        {
            return DataError::OverLimit {
                path,
                limit: over.0,
                gzip: self.gzip,
            };
        }
        if !self.gzip {
            return DataError::Io { path, source: e };
        }
        match e.kind() {
            io::ErrorKind::UnexpectedEof => DataError::Gzip {
                path,
                message: "the compressed stream ends early (is the file truncated?)".into(),
            },
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                let text = e.to_string();
                // flate2's wording for a CRC failure repeats "corrupt"; say what it means.
                let message = if text.contains("checksum") {
                    "the data does not match its checksum (the file is damaged)".to_string()
                } else {
                    text
                };
                DataError::Gzip { path, message }
            }
            _ => DataError::Io { path, source: e },
        }
    }

    /// Reads into `buf` until it is full or the data ends; returns the count.
    pub fn read_up_to(&mut self, buf: &mut [u8]) -> Result<usize, DataError> {
        let mut filled = 0;
        while filled < buf.len() {
            match self.reader.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.read_error(e)),
            }
        }
        Ok(filled)
    }

    /// Checks that `claimed` bytes of data (what a header says follows it) can
    /// be in this file and are within netc's limit, before anything is allocated.
    /// `header` is the number of bytes already read. A file of unknown length
    /// (a pipe, a device) is held to the limit alone, here and while reading.
    pub fn check_claim(&self, what: &str, header: u128, claimed: u128) -> Result<(), DataError> {
        let too_large = |why: String| DataError::TooLarge {
            path: self.path.clone(),
            what: what.to_string(),
            bytes: claimed,
            why,
        };
        if claimed > MAX_FILE_BYTES {
            return Err(too_large(format!(
                "more than netc's limit of {MAX_FILE_BYTES} bytes per file; the header is probably wrong"
            )));
        }
        let Some(len) = self.len.map(u128::from) else {
            return Ok(());
        };
        if self.gzip {
            let most = len * MAX_DEFLATE_RATIO + 1024;
            if header + claimed > most {
                return Err(too_large(format!(
                    "a gzip file of {len} bytes holds at most {most}; the file is truncated or its header is wrong"
                )));
            }
        } else if header + claimed > len {
            return Err(DataError::Truncated {
                path: self.path.clone(),
                expected: header + claimed,
                actual: len,
                gzip: false,
            });
        } else if header + claimed < len {
            // Known before reading: a wrong header, refused without reading the data.
            return Err(DataError::TrailingBytes {
                path: self.path.clone(),
                expected: header + claimed,
                extra: Some(len - header - claimed),
                gzip: false,
            });
        }
        Ok(())
    }

    /// After the data the header described (`expected` bytes in all), checks
    /// that nothing follows.
    pub fn expect_end(&mut self, expected: u128) -> Result<(), DataError> {
        let mut probe = [0u8; 1];
        if self.read_up_to(&mut probe)? == 0 {
            return Ok(());
        }
        let extra = match (self.len, self.gzip) {
            (Some(len), false) => Some(u128::from(len).saturating_sub(expected)),
            // What is left is counted, up to a bound: a stream may never end.
            _ => {
                let counted = io::copy(
                    &mut self.reader.by_ref().take(MAX_COUNTED_TAIL),
                    &mut io::sink(),
                )
                .map_err(|e| self.read_error(e))?;
                let mut more = [0u8; 1];
                let ended = self.read_up_to(&mut more)? == 0;
                ended.then_some(u128::from(counted) + 1)
            }
        };
        Err(DataError::TrailingBytes {
            path: self.path.clone(),
            expected,
            extra,
            gzip: self.gzip,
        })
    }
}

/// How many bytes after the data [`DataFile::expect_end`] counts before it
/// stops and says only that more follow.
const MAX_COUNTED_TAIL: u64 = 1 << 24;

/// The error a [`Bounded`] reader gives when more than its limit arrives.
#[derive(Debug)]
struct OverLimit(u128);

impl std::fmt::Display for OverLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "more than {} bytes", self.0)
    }
}

impl std::error::Error for OverLimit {}

/// A reader that passes on at most `limit` bytes and fails with [`OverLimit`]
/// when more arrive, so that no file, whatever its metadata says, is read
/// without end.
struct Bounded<R> {
    inner: R,
    limit: u128,
    left: u128,
}

impl<R: BufRead> Bounded<R> {
    fn new(inner: R, limit: u128) -> Self {
        Bounded {
            inner,
            limit,
            left: limit,
        }
    }
}

impl<R: BufRead> BufRead for Bounded<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let (left, limit) = (self.left, self.limit);
        let buf = self.inner.fill_buf()?;
        if left == 0 && !buf.is_empty() {
            return Err(io::Error::other(OverLimit(limit)));
        }
        let n = usize::try_from(left).map_or(buf.len(), |l| l.min(buf.len()));
        Ok(&buf[..n])
    }

    fn consume(&mut self, amt: usize) {
        self.left = self.left.saturating_sub(amt as u128);
        self.inner.consume(amt);
    }
}

impl<R: BufRead> Read for Bounded<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let buf = self.fill_buf()?;
        let n = buf.len().min(out.len());
        out[..n].copy_from_slice(&buf[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// Up to `n` bytes at the front of `reader`, without consuming them.
fn peek(reader: &mut impl BufRead, n: usize) -> io::Result<Vec<u8>> {
    loop {
        match reader.fill_buf() {
            Ok(buf) => return Ok(buf[..buf.len().min(n)].to_vec()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A zeroed-free buffer of `len` bytes, reserved fallibly so an allocation the
/// machine cannot make is an error, not an abort.
pub(crate) fn try_buffer<T>(path: &Path, what: &str, len: usize) -> Result<Vec<T>, DataError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| DataError::TooLarge {
        path: path.to_path_buf(),
        what: what.to_string(),
        bytes: (len as u128) * (std::mem::size_of::<T>() as u128),
        why: "the memory could not be allocated".to_string(),
    })?;
    Ok(v)
}

/// Reads exactly `len` bytes of data into a new buffer, or says how many there were.
/// `header` is the number of bytes before the data (for the error's byte counts).
pub(crate) fn read_data(
    file: &mut DataFile,
    what: &str,
    header: u128,
    len: usize,
) -> Result<Vec<u8>, DataError> {
    let mut data = Vec::new();
    // The claim was checked against the file's length if it has one.
    let trusted = file.len.is_some();
    let got = read_claimed(file.reader(), &mut data, len as u64, trusted);
    match got {
        Ok(_) => {}
        Err(ClaimedError::Io(e)) => return Err(file.read_error(e)),
        Err(ClaimedError::Reserve) => {
            return Err(DataError::TooLarge {
                path: file.path.clone(),
                what: what.to_string(),
                bytes: len as u128,
                why: "the memory could not be allocated".to_string(),
            });
        }
    }
    if data.len() < len {
        return Err(DataError::Truncated {
            path: file.path.clone(),
            expected: header + len as u128,
            actual: header + data.len() as u128,
            gzip: file.gzip,
        });
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn a_stream_past_the_limit_is_refused_naming_the_file_and_the_limit() {
        let endless = BufReader::new(io::repeat(b'7'));
        let mut file = DataFile::with_limit(Path::new("p"), None, endless, 1000).unwrap();
        let mut buf = vec![0u8; 4096];
        let e = file.read_up_to(&mut buf).unwrap_err();
        assert!(
            matches!(e, DataError::OverLimit { limit: 1000, .. }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "p: more than 1000 bytes, netc's limit for one data file"
        );
    }

    #[test]
    fn gzip_past_the_limit_once_decompressed_is_refused() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        io::Write::write_all(&mut gz, &[0u8; 10_000]).unwrap();
        let gz = gz.finish().unwrap();
        let len = gz.len() as u64;
        let mut file =
            DataFile::with_limit(Path::new("z.gz"), Some(len), Cursor::new(gz), 5000).unwrap();
        let e = file.read_up_to(&mut vec![0u8; 20_000]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "z.gz: more than 5000 bytes once decompressed, netc's limit for one data file"
        );
    }

    #[test]
    fn exactly_the_limit_is_read() {
        let mut file =
            DataFile::with_limit(Path::new("p"), None, Cursor::new(vec![1u8; 1000]), 1000).unwrap();
        let mut buf = vec![0u8; 4096];
        assert_eq!(file.read_up_to(&mut buf).unwrap(), 1000);
    }

    #[test]
    fn an_empty_stream_is_empty() {
        let e = DataFile::from_reader(Path::new("p"), None, Cursor::new(Vec::new()))
            .err()
            .unwrap();
        assert_eq!(e.to_string(), "p: the file is empty");
    }
}
