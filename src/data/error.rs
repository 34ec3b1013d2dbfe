//! What can go wrong when loading a data set. Every error names the file (or
//! the set) and says what is wrong in terms a user can act on.

use std::path::PathBuf;
use thiserror::Error;

/// An error loading or batching data.
#[derive(Debug, Error)]
pub enum DataError {
    /// The operating system refused to open or read a file.
    #[error("{}: cannot read: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file with no bytes, or (CSV) no data rows.
    #[error("{}: {what}", .path.display())]
    Empty { path: PathBuf, what: &'static str },

    /// An IDX file whose first four bytes are not the expected magic number.
    #[error(
        "{}: wrong magic number {found:#010x} ({found_means}); expected {expected:#010x} ({expected_means})",
        .path.display()
    )]
    BadMagic {
        path: PathBuf,
        found: u32,
        found_means: String,
        expected: u32,
        expected_means: &'static str,
    },

    /// A file shorter than its header says.
    #[error(
        "{}: truncated: expected {expected} bytes{}, found {actual}",
        .path.display(),
        if *.gzip { " once decompressed" } else { "" }
    )]
    Truncated {
        path: PathBuf,
        expected: u128,
        actual: u128,
        gzip: bool,
    },

    /// A file longer than its header says (often a wrong header). `extra` is
    /// `None` when the rest was too long to count.
    #[error(
        "{}: {} bytes{} follow the {expected} bytes its header describes",
        .path.display(),
        .extra.map_or_else(|| "more".to_string(), |n| n.to_string()),
        if *.gzip { " (decompressed)" } else { "" }
    )]
    TrailingBytes {
        path: PathBuf,
        expected: u128,
        extra: Option<u128>,
        gzip: bool,
    },

    /// A file (or a stream: a pipe, a device) that went on past the most
    /// netc reads from one file.
    #[error(
        "{}: more than {limit} bytes{}, netc's limit for one data file",
        .path.display(),
        if *.gzip { " once decompressed" } else { "" }
    )]
    OverLimit {
        path: PathBuf,
        limit: u128,
        gzip: bool,
    },

    /// A gzip stream that does not decompress.
    #[error("{}: corrupt gzip data: {message}", .path.display())]
    Gzip { path: PathBuf, message: String },

    /// A header (or a request) claiming more data than can exist or than netc
    /// will hold; refused before allocating.
    #[error("{}: {what} would need {bytes} bytes: {why}", .path.display())]
    TooLarge {
        path: PathBuf,
        what: String,
        bytes: u128,
        why: String,
    },

    /// The samples' width does not match the net's input.
    #[error(
        "{}: samples are {dims} = {found} features, but the net's input has {expected}",
        .path.display()
    )]
    WrongFeatures {
        path: PathBuf,
        dims: String,
        found: usize,
        expected: usize,
    },

    /// Test images of another shape than the training images.
    #[error(
        "{}: images are {found}, but the training images in {} are {expected}",
        .path.display(),
        .train_path.display()
    )]
    ImageShape {
        path: PathBuf,
        found: String,
        train_path: PathBuf,
        expected: String,
    },

    /// An images file and its labels file disagree on the number of samples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        .images_path.display(),
        .labels_path.display()
    )]
    CountMismatch {
        images_path: PathBuf,
        images: usize,
        labels_path: PathBuf,
        labels: usize,
    },

    /// A class label not in `0..classes`.
    #[error(
        "{}: label {label} at {place} is out of range for {classes} classes (0..={})",
        .path.display(),
        .classes.saturating_sub(1)
    )]
    LabelOutOfRange {
        path: PathBuf,
        place: String,
        label: String,
        classes: usize,
    },

    /// The set has class labels and the net wants regression targets, or the
    /// other way round.
    #[error("{}: the data has {data}, but the net's label is {net}", .path.display())]
    LabelKind {
        path: PathBuf,
        data: String,
        net: String,
    },

    /// Text on the first line of a CSV read without a header: perhaps a header.
    #[error(
        "{}:1: column {column}: `{text}` is not a number (if the first line is a header, \
         read the file with `header: true` in `csv(...)`)",
        .path.display()
    )]
    HeaderRow {
        path: PathBuf,
        column: usize,
        text: String,
    },

    /// A CSV cell that is not a finite number.
    #[error("{}:{line}: column {column}: `{text}` is {why}", .path.display())]
    BadCell {
        path: PathBuf,
        line: usize,
        column: usize,
        text: String,
        why: &'static str,
    },

    /// A CSV row with a different number of columns from the first data row
    /// (or, for the first row, from what the net needs).
    #[error("{}:{line}: {found} columns, expected {expected} ({why})", .path.display())]
    Ragged {
        path: PathBuf,
        line: usize,
        found: usize,
        expected: usize,
        why: String,
    },

    /// A CSV record whose quote is still open at the end of the file.
    #[error(
        "{}:{line}: a quote opened in this record is not closed before the end of the file",
        .path.display()
    )]
    OpenQuote { path: PathBuf, line: usize },

    /// A CSV line too long to be a row of the expected width.
    #[error(
        "{}:{line}: line is longer than {limit} bytes, too long for {columns} columns",
        .path.display()
    )]
    LineTooLong {
        path: PathBuf,
        line: usize,
        limit: usize,
        columns: usize,
    },

    /// A data set folder found in none of the places netc was told to look
    /// (the caller, who chose them, says how to add one).
    #[error("{}", not_found_message(.set, .looked))]
    NotFound {
        set: String,
        /// Each place looked, with why it did not do.
        looked: Vec<(PathBuf, String)>,
    },

    /// A folder that lacks some of the four IDX files.
    #[error(
        "{}: missing {}; expected the four standard IDX files (gzipped or not)",
        .dir.display(),
        .missing.join(", ")
    )]
    MissingFiles { dir: PathBuf, missing: Vec<String> },

    /// A downloaded file whose content is not the data set's.
    #[error(
        "{}: does not match netc's checksum: expected SHA-256 {expected} over {expected_bytes} \
         bytes once decompressed, found {found}",
        .path.display()
    )]
    Checksum {
        path: PathBuf,
        expected: String,
        expected_bytes: u64,
        found: String,
    },

    /// A bad setting of a data source (a fraction, a sample count).
    #[error("{source_name}: {message}")]
    Setting {
        source_name: String,
        message: String,
    },

    /// Buffers or indices whose sizes do not fit a split (a caller's bug,
    /// reported rather than panicking).
    #[error("data shape: {0}")]
    Shape(String),
}

/// The text of [`DataError::NotFound`]: every place looked.
fn not_found_message(set: &str, looked: &[(PathBuf, String)]) -> String {
    let mut text = format!("data set `{set}` not found; looked in:");
    for (place, why) in looked {
        text.push_str(&format!("\n  {}: {why}", place.display()));
    }
    text
}

impl DataError {
    /// An [`DataError::Io`] for `path`, as a closure for `map_err`.
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
        move |source| DataError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
