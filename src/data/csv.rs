//! CSV data: one sample per record, numeric cells, the features first and
//! the label last (the last `width` columns for regression targets).
//!
//! The `csv` crate splits the records, so the files pandas, Excel and
//! LibreOffice write are read: quoted header names and quoted numbers,
//! CRLF line ends, a UTF-8 byte order mark. Blank lines are skipped and
//! spaces around cells are accepted. What is refused names the file, the
//! line and the column. A record may take at most [`BYTES_PER_CELL`] bytes
//! a cell on average: that is enforced while reading (the crate itself
//! would grow its buffer for a record without bound).

use super::LabelKind;
use super::error::DataError;
use super::samples::Labels;
use super::source::{DataFile, MAX_FILE_BYTES};
use std::cell::Cell;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// Bytes a cell may take on average before a line is refused as too long.
const BYTES_PER_CELL: usize = 64;

/// The UTF-8 byte order mark Excel writes at the start of a "CSV UTF-8" file.
const BOM: &[u8] = b"\xef\xbb\xbf";

/// A parsed CSV file: `rows` samples of `features` values, and their labels.
#[derive(Debug)]
pub(crate) struct Table {
    pub x: Vec<f32>,
    pub labels: Labels,
}

/// What a row must hold.
#[derive(Clone, Copy)]
struct Shape {
    features: usize,
    kind: LabelKind,
    columns: usize,
    /// The most bytes one record may take, its line end included.
    limit: usize,
}

/// Why reading stopped: bad data, or the reader's own error (which the
/// [`DataFile`] words, once the CSV reader no longer borrows it).
enum Failure {
    Data(DataError),
    Io(io::Error),
}

impl From<DataError> for Failure {
    fn from(e: DataError) -> Self {
        Failure::Data(e)
    }
}

/// Reads every data row of `file`, each of `features` inputs plus the label
/// columns of `kind`. With `header`, the first record is skipped.
pub(crate) fn read_csv(
    file: DataFile,
    header: bool,
    features: usize,
    kind: LabelKind,
) -> Result<Table, DataError> {
    let mut rows = CsvRows::new(file, header, features, kind)?;
    rows.read(usize::MAX)?;
    rows.rows.finish()
}

/// The bytes the CSV reader reads: the file's, a `\n`, held to a budget.
type Source = Budgeted<io::Chain<Box<dyn io::BufRead>, &'static [u8]>>;

/// A CSV file read a number of rows at a time, so that a file larger than
/// memory can be used batch by batch.
pub(crate) struct CsvRows {
    file: DataFile,
    reader: csv::Reader<Source>,
    budget: Rc<Budget>,
    record: csv::ByteRecord,
    rows: Rows,
    header_left: bool,
}

impl CsvRows {
    /// Prepares to read `file`'s rows, each of `features` inputs plus the
    /// label columns of `kind`; with `header`, the first record is skipped.
    pub fn new(
        mut file: DataFile,
        header: bool,
        features: usize,
        kind: LabelKind,
    ) -> Result<CsvRows, DataError> {
        let path = file.path.clone();
        let columns = features.saturating_add(kind.width());
        if columns as u128 * 4 > MAX_FILE_BYTES {
            return Err(DataError::TooLarge {
                path,
                what: format!("one row of {columns} values"),
                bytes: columns as u128 * 4,
                why: format!("more than netc's limit of {MAX_FILE_BYTES} bytes per file"),
            });
        }
        let shape = Shape {
            features,
            kind,
            columns,
            limit: columns.saturating_mul(BYTES_PER_CELL).saturating_add(1024),
        };
        let budget = Rc::new(Budget {
            until: Cell::new(shape.limit as u64),
            at_end: Cell::new(false),
        });
        // A `\n` after the data ends the last record like every other, so a
        // record's line is known from the line it ends on.
        let source = Budgeted {
            inner: file.take_reader().chain(&b"\n"[..]),
            read: 0,
            budget: Rc::clone(&budget),
        };
        let reader = csv::ReaderBuilder::new()
            // The header is skipped here, so that it has a budget of its own.
            .has_headers(false)
            .flexible(true)
            // Only `\n` ends a record: the `\r` of a CRLF stays at the end of the
            // last cell and is trimmed with the spaces.
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(source);
        Ok(CsvRows {
            file,
            reader,
            budget,
            record: csv::ByteRecord::new(),
            rows: Rows::new(shape, path),
            header_left: header,
        })
    }

    /// The next at most `max` rows (`None` after the last); a file without
    /// any data row is an error.
    pub fn next_rows(&mut self, max: usize) -> Result<Option<Table>, DataError> {
        let read = self.read(max)?;
        if read == 0 {
            if self.rows.total == 0 {
                return Err(self.rows.no_rows());
            }
            return Ok(None);
        }
        Ok(Some(self.rows.take()))
    }

    /// Reads up to `max` more rows into `self.rows`; how many.
    fn read(&mut self, max: usize) -> Result<usize, DataError> {
        match self.read_rows(max) {
            Ok(n) => Ok(n),
            Err(Failure::Data(e)) => Err(e),
            Err(Failure::Io(e)) => Err(self.file.read_error(e)),
        }
    }

    fn read_rows(&mut self, max: usize) -> Result<usize, Failure> {
        let limit = self.rows.shape.limit as u64;
        let mut read = 0;
        while read < max {
            let record = &mut self.record;
            match self.reader.read_byte_record(record) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    let line = self.reader.position().line();
                    return Err(failure(e, line, &self.rows.shape, &self.rows.path));
                }
            }
            self.budget.until.set(self.reader.position().byte() + limit);
            if self.reader.position().record() == 1 {
                *record = without_bom(std::mem::take(record));
            }
            // The line the record starts on: where it ends, less its own line
            // breaks (inside quoted cells, and the one that ends it). Only a
            // record in a quote left open runs to the end of the data, past the
            // added `\n`: that `\n` is then inside its last cell.
            let open_quote = self.budget.at_end.get();
            let breaks = record.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
            let ends_with_break = u64::from(!open_quote);
            let line = self
                .reader
                .position()
                .line()
                .saturating_sub(breaks + ends_with_break) as usize;
            if open_quote {
                return Err(Failure::Data(DataError::OpenQuote {
                    path: self.rows.path.clone(),
                    line,
                }));
            }
            let blank = record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace);
            if blank {
                continue;
            }
            if std::mem::take(&mut self.header_left) {
                continue;
            }
            self.rows.push(&self.record, line)?;
            read += 1;
        }
        Ok(read)
    }
}

/// The file's first record without the byte order mark it may start with.
fn without_bom(record: csv::ByteRecord) -> csv::ByteRecord {
    match record.get(0).and_then(|cell| cell.strip_prefix(BOM)) {
        Some(first) => std::iter::once(first)
            .chain(record.iter().skip(1))
            .collect(),
        None => record,
    }
}

/// Words a CSV reader's error: a record over its budget, or a read error.
fn failure(e: csv::Error, line: u64, shape: &Shape, path: &Path) -> Failure {
    match e.into_kind() {
        csv::ErrorKind::Io(e) if e.get_ref().is_some_and(|inner| inner.is::<OverBudget>()) => {
            Failure::Data(DataError::LineTooLong {
                path: path.to_path_buf(),
                line: line as usize,
                limit: shape.limit,
                columns: shape.columns,
            })
        }
        csv::ErrorKind::Io(e) => Failure::Io(e),
        // Not expected of byte records read flexibly, but worded if it comes.
        other => Failure::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{other:?}"),
        )),
    }
}

/// A reader that gives at most `budget.until` bytes in all; the caller
/// moves `until` on after each record, so that no record is read past its
/// budget. The CSV reader asks for more only once it has used all it was
/// given, so reaching `until` means the record being read is over its
/// budget, and reaching the end means the record being read needed more
/// than the final `\n` to end.
struct Budgeted<R> {
    inner: R,
    read: u64,
    budget: Rc<Budget>,
}

/// What [`Budgeted`] shares with the loop that reads the records.
struct Budget {
    /// The byte offset the current record must end before.
    until: Cell<u64>,
    /// The data ran out.
    at_end: Cell<bool>,
}

/// The error [`Budgeted`] stops with.
#[derive(Debug)]
struct OverBudget;

impl std::fmt::Display for OverBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a CSV record longer than its budget")
    }
}

impl std::error::Error for OverBudget {}

impl<R: Read> Read for Budgeted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.budget.until.get().saturating_sub(self.read);
        if left == 0 {
            return Err(io::Error::other(OverBudget));
        }
        let n = usize::try_from(left).map_or(buf.len(), |left| left.min(buf.len()));
        let got = self.inner.read(&mut buf[..n])?;
        if got == 0 && n > 0 {
            self.budget.at_end.set(true);
        }
        self.read += got as u64;
        Ok(got)
    }
}

/// The rows read so far.
struct Rows {
    shape: Shape,
    path: PathBuf,
    /// Rows read from the file, including those already taken.
    total: usize,
    x: Vec<f32>,
    classes: Vec<u32>,
    targets: Vec<f32>,
    /// The line of the first data row: later rows must have as many columns.
    first_row: Option<usize>,
    /// One row's values, reused.
    values: Vec<f32>,
}

impl Rows {
    fn new(shape: Shape, path: PathBuf) -> Self {
        Rows {
            shape,
            path,
            total: 0,
            x: Vec::new(),
            classes: Vec::new(),
            targets: Vec::new(),
            first_row: None,
            values: Vec::new(),
        }
    }

    /// Checks and adds the row `record`, which starts on `line`.
    fn push(&mut self, record: &csv::ByteRecord, line: usize) -> Result<(), DataError> {
        let Shape {
            features,
            kind,
            columns,
            ..
        } = self.shape;
        let path = self.path.as_path();
        if record.len() != columns {
            let width = kind.width();
            return Err(DataError::Ragged {
                path: path.to_path_buf(),
                line,
                found: record.len(),
                expected: columns,
                why: match self.first_row {
                    None if width == 0 => format!("the net's input has {features} features"),
                    None => format!(
                        "the net's input has {features} features, plus {width} label column{}",
                        if width == 1 { "" } else { "s" }
                    ),
                    Some(first) => format!("as on line {first}"),
                },
            });
        }
        self.first_row.get_or_insert(line);
        let rows_after = (self.total + 1) as u128;
        if rows_after * columns as u128 * 4 > MAX_FILE_BYTES {
            return Err(DataError::TooLarge {
                path: path.to_path_buf(),
                what: format!("{rows_after} rows of {columns} values"),
                bytes: rows_after * columns as u128 * 4,
                why: format!("more than netc's limit of {MAX_FILE_BYTES} bytes per file"),
            });
        }
        // Sized once, on the first row: the record held that many cells.
        self.values.resize(columns, 0.0);
        for (c, (cell, v)) in record.iter().zip(self.values.iter_mut()).enumerate() {
            *v = parse_cell(path, line, c + 1, cell, c >= features, kind)
                .map_err(|e| header_row(e, line))?;
        }
        self.x
            .try_reserve(features)
            .map_err(|_| too_much(path, self.x.len()))?;
        self.x.extend_from_slice(&self.values[..features]);
        match kind {
            // `parse_cell` checked the label is a whole number in range.
            LabelKind::Classes(_) => self.classes.push(self.values[features] as u32),
            LabelKind::Targets(_) => self.targets.extend_from_slice(&self.values[features..]),
        }
        self.total += 1;
        Ok(())
    }

    /// The rows read since the last call, as a table.
    fn take(&mut self) -> Table {
        let labels = match self.shape.kind {
            LabelKind::Classes(_) => Labels::Classes(std::mem::take(&mut self.classes)),
            LabelKind::Targets(width) => Labels::Targets {
                width,
                values: std::mem::take(&mut self.targets),
            },
        };
        Table {
            x: std::mem::take(&mut self.x),
            labels,
        }
    }

    fn no_rows(&self) -> DataError {
        DataError::Empty {
            path: self.path.clone(),
            what: "the CSV file has no data rows",
        }
    }

    /// The table, refused if no row was read.
    fn finish(mut self) -> Result<Table, DataError> {
        if self.total == 0 {
            return Err(self.no_rows());
        }
        Ok(self.take())
    }
}

/// Parses one cell: a finite number, or for a class label a whole number in range.
fn parse_cell(
    path: &Path,
    line: usize,
    column: usize,
    cell: &[u8],
    is_label: bool,
    kind: LabelKind,
) -> Result<f32, DataError> {
    let bad = |text: String, why| DataError::BadCell {
        path: path.to_path_buf(),
        line,
        column,
        text,
        why,
    };
    let Ok(text) = std::str::from_utf8(cell) else {
        return Err(bad(
            String::from_utf8_lossy(cell).into_owned(),
            "not valid UTF-8 text",
        ));
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(bad(String::new(), "an empty cell, not a number"));
    }
    let Ok(value) = text.parse::<f64>() else {
        return Err(bad(shorten(text), "not a number"));
    };
    if !value.is_finite() {
        return Err(bad(shorten(text), "not a finite number"));
    }
    if let (true, LabelKind::Classes(classes)) = (is_label, kind)
        && !(value >= 0.0 && value.fract() == 0.0 && value < classes as f64)
    {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            place: format!("line {line}, column {column}"),
            label: shorten(text),
            classes,
        });
    }
    let v = value as f32;
    if !v.is_finite() {
        return Err(bad(shorten(text), "too large for f32"));
    }
    Ok(v)
}

/// Text that is not a number on the first line of a file read without a
/// header may well be the header pandas and spreadsheets write.
fn header_row(e: DataError, line: usize) -> DataError {
    match e {
        DataError::BadCell {
            path,
            column,
            text,
            why,
            ..
        } if line == 1 && why == "not a number" => DataError::HeaderRow { path, column, text },
        e => e,
    }
}

/// A cell's text cut to a length fit for a message.
fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

fn too_much(path: &Path, have: usize) -> DataError {
    DataError::TooLarge {
        path: path.to_path_buf(),
        what: format!("more than {have} values"),
        bytes: (have as u128) * 4,
        why: "the memory could not be allocated".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(
        text: &'static str,
        header: bool,
        features: usize,
        kind: LabelKind,
    ) -> Result<Table, DataError> {
        let bytes = text.as_bytes();
        let file = DataFile::from_reader(Path::new("t.csv"), Some(bytes.len() as u64), bytes)?;
        read_csv(file, header, features, kind)
    }

    #[test]
    fn reads_rows_with_crlf_blank_lines_and_spaces() {
        let t = parse(
            "a,b,y\r\n1, 2.5 ,3\r\n\r\n-4,5e-1,0\n",
            true,
            2,
            LabelKind::Classes(4),
        )
        .unwrap();
        assert_eq!(t.x, [1.0, 2.5, -4.0, 0.5]);
        assert_eq!(t.labels, Labels::Classes(vec![3, 0]));
    }

    #[test]
    fn reads_regression_targets() {
        let t = parse("1,2,3\n4,5,6", false, 1, LabelKind::Targets(2)).unwrap();
        assert_eq!(t.x, [1.0, 4.0]);
        assert_eq!(
            t.labels,
            Labels::Targets {
                width: 2,
                values: vec![2.0, 3.0, 5.0, 6.0]
            }
        );
    }

    #[test]
    fn errors_name_line_column_and_text() {
        let k = LabelKind::Classes(3);
        let e = parse("1,2\n1,x7,0\n", false, 2, k).unwrap_err().to_string();
        assert_eq!(
            e,
            "t.csv:1: 2 columns, expected 3 (the net's input has 2 features, plus 1 label column)"
        );
        let e = parse("1,2,0\n1,x7,0\n", false, 2, k)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "t.csv:2: column 2: `x7` is not a number");
        let e = parse("1,2,0\n1,2\n", false, 2, k).unwrap_err().to_string();
        assert_eq!(e, "t.csv:2: 2 columns, expected 3 (as on line 1)");
        let e = parse("1,inf,0\n", false, 2, k).unwrap_err().to_string();
        assert_eq!(e, "t.csv:1: column 2: `inf` is not a finite number");
        let e = parse("1,,0\n", false, 2, k).unwrap_err().to_string();
        assert_eq!(e, "t.csv:1: column 2: `` is an empty cell, not a number");
        let e = parse("1,1e39,0\n", false, 2, k).unwrap_err().to_string();
        assert_eq!(e, "t.csv:1: column 2: `1e39` is too large for f32");
        let e = parse("1,2,3\n", false, 2, k).unwrap_err().to_string();
        assert_eq!(
            e,
            "t.csv: label 3 at line 1, column 3 is out of range for 3 classes (0..=2)"
        );
        let e = parse("1,2,1.5\n", false, 2, k).unwrap_err().to_string();
        assert!(e.contains("label 1.5 at line 1"), "{e}");
        let e = parse("1,2,-1\n", false, 2, k).unwrap_err().to_string();
        assert!(e.contains("label -1 at line 1"), "{e}");
        let e = parse("h\n\n", true, 2, k).unwrap_err().to_string();
        assert_eq!(e, "t.csv: the CSV file has no data rows");
    }

    #[test]
    fn long_lines_are_refused_without_reading_them_whole() {
        let long: &'static str = Box::leak(format!("{}\n", "1,".repeat(100_000)).into_boxed_str());
        let e = parse(long, false, 2, LabelKind::Classes(2))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "t.csv:1: line is longer than 1216 bytes, too long for 3 columns"
        );
    }

    #[test]
    fn invalid_utf8_is_a_bad_cell() {
        let bytes: &'static [u8] = b"1,\xff\xfe,0\n";
        let file = DataFile::from_reader(Path::new("t.csv"), Some(8), bytes).unwrap();
        let e = read_csv(file, false, 2, LabelKind::Classes(2))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv:1: column 2: `"), "{e}");
        assert!(e.ends_with("is not valid UTF-8 text"), "{e}");
    }

    /// The rows of `text` (2 features, a class label below 3) as (x, labels).
    fn rows(text: &'static str, header: bool) -> (Vec<f32>, Vec<u32>) {
        let t = parse(text, header, 2, LabelKind::Classes(3)).unwrap();
        let Labels::Classes(labels) = t.labels else {
            panic!("class labels")
        };
        (t.x, labels)
    }

    #[test]
    fn reads_what_pandas_writes() {
        // `df.to_csv(index=False)`, and with `quoting=csv.QUOTE_NONNUMERIC`.
        let want = (vec![0.5, 1.0, -2.0, 3.25], vec![1, 2]);
        assert_eq!(rows("a,b,label\n0.5,1.0,1\n-2.0,3.25,2\n", true), want);
        assert_eq!(
            rows("\"a\",\"b\",\"label\"\n0.5,1.0,1\n-2.0,3.25,2\n", true),
            want
        );
        // `df.to_csv()`: the index is a column of its own, under an empty name.
        let t = parse(
            ",a,b,label\n0,0.5,1.0,1\n1,-2.0,3.25,2\n",
            true,
            3,
            LabelKind::Classes(3),
        )
        .unwrap();
        assert_eq!(t.x, [0.0, 0.5, 1.0, 1.0, -2.0, 3.25]);
        assert_eq!(t.labels, Labels::Classes(vec![1, 2]));
    }

    #[test]
    fn reads_what_excel_and_libreoffice_write() {
        let want = (vec![1.0, 2.0, 3.0, 4.5], vec![0, 1]);
        // Excel's "CSV UTF-8": a byte order mark and CRLF line ends.
        assert_eq!(rows("\u{feff}a,b,y\r\n1,2,0\r\n3,4.5,1\r\n", true), want);
        assert_eq!(rows("\u{feff}1,2,0\r\n3,4.5,1\r\n", false), want);
        // LibreOffice with "quote all text cells", then with every cell quoted.
        assert_eq!(rows("\"a\",\"b\",\"y\"\n1,2,0\n3,4.5,1\n", true), want);
        assert_eq!(
            rows(
                "\"a\",\"b\",\"y\"\r\n\"1\",\"2\",\"0\"\r\n\"3\",\" 4.5 \",\"1\"\r\n",
                true
            ),
            want
        );
        // A header name holding a comma or a line break is one cell.
        assert_eq!(rows("\"a, cm\",\"b\nin kg\",y\n1,2,0\n3,4.5,1", true), want);
    }

    #[test]
    fn a_quoted_header_read_as_data_says_it_may_be_a_header() {
        let e = parse(
            "\"a\",\"b\",\"y\"\n1,2,0\n",
            false,
            2,
            LabelKind::Classes(3),
        )
        .unwrap_err();
        assert!(
            matches!(&e, DataError::HeaderRow { column: 1, text, .. } if text == "a"),
            "{e:?}"
        );
    }

    #[test]
    fn errors_name_the_line_a_record_starts_on() {
        let k = LabelKind::Classes(3);
        let e = |text| parse(text, false, 2, k).unwrap_err().to_string();
        // Blank lines, CRLF, and line breaks inside quoted cells are counted.
        assert_eq!(
            e("1,2,0\r\n\r\n\n1,x,0\r\n"),
            "t.csv:4: column 2: `x` is not a number"
        );
        assert_eq!(
            e("\"1\n\n\",2,0\n1,2,0\n\n1,2,x"),
            "t.csv:6: column 3: `x` is not a number"
        );
        // A quote left open would take the rest of the file into one cell.
        assert_eq!(
            e("1,2,0\n\n1,\"2,0\n3,4,1\n"),
            "t.csv:3: a quote opened in this record is not closed before the end of the file"
        );
        assert_eq!(
            e("1,2,\"0"),
            "t.csv:1: a quote opened in this record is not closed before the end of the file"
        );
    }

    #[test]
    fn a_quote_that_never_closes_is_refused_at_the_limit() {
        let long: &'static str =
            Box::leak(format!("1,2,0\n1,\"{}", "x\n".repeat(100_000)).into_boxed_str());
        let e = parse(long, false, 2, LabelKind::Classes(2)).unwrap_err();
        assert!(
            matches!(e, DataError::LineTooLong { limit: 1216, .. }),
            "{e:?}"
        );
    }
}
