//! CSV data: one sample per line, numeric cells separated by commas, the
//! features first and the label last (the last `width` columns for
//! regression targets). Blank lines are skipped, CRLF line ends and spaces
//! around cells are accepted; there is no quoting (every cell is a number).

use super::LabelKind;
use super::error::DataError;
use super::samples::Labels;
use super::source::{DataFile, MAX_FILE_BYTES};
use std::io::{BufRead, Read};

/// Bytes a cell may take on average before a line is refused as too long.
const BYTES_PER_CELL: usize = 64;

/// A parsed CSV file: `rows` samples of `features` values, and their labels.
#[derive(Debug)]
pub(crate) struct Table {
    pub x: Vec<f32>,
    pub labels: Labels,
}

/// Reads every data row of `file`, each of `features` inputs plus the label
/// columns of `kind`. With `header`, the first line is skipped.
pub(crate) fn read_csv(
    file: &mut DataFile,
    header: bool,
    features: usize,
    kind: LabelKind,
) -> Result<Table, DataError> {
    let path = file.path.clone();
    let width = kind.width();
    let columns = features.saturating_add(width);
    let limit = columns.saturating_mul(BYTES_PER_CELL).saturating_add(1024);
    if columns as u128 * 4 > MAX_FILE_BYTES {
        return Err(DataError::TooLarge {
            path,
            what: format!("one row of {columns} values"),
            bytes: columns as u128 * 4,
            why: format!("more than netc's limit of {MAX_FILE_BYTES} bytes per file"),
        });
    }
    let mut x: Vec<f32> = Vec::new();
    let mut classes: Vec<u32> = Vec::new();
    let mut targets: Vec<f32> = Vec::new();
    let mut line = Vec::new();
    let mut line_no = 0usize;
    let mut first_row: Option<usize> = None;
    let mut values: Vec<f32> = Vec::new();
    loop {
        line.clear();
        let got = file
            .reader()
            .take(limit as u64 + 1)
            .read_until(b'\n', &mut line);
        let got = got.map_err(|e| file.read_error(e))?;
        if got == 0 {
            break;
        }
        line_no += 1;
        if line.len() > limit {
            return Err(DataError::LineTooLong {
                path,
                line: line_no,
                limit,
                columns,
            });
        }
        if header && line_no == 1 {
            continue;
        }
        let text = trim_line(&line);
        if text.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let cells = text.split(|&b| b == b',');
        let found = cells.clone().count();
        if found != columns {
            return Err(DataError::Ragged {
                path,
                line: line_no,
                found,
                expected: columns,
                why: match first_row {
                    None => format!(
                        "the net's input has {features} features, plus {width} label column{}",
                        if width == 1 { "" } else { "s" }
                    ),
                    Some(first) => format!("as on line {first}"),
                },
            });
        }
        first_row.get_or_insert(line_no);
        let rows_after = (x.len() / features.max(1) + 1) as u128;
        if rows_after * columns as u128 * 4 > MAX_FILE_BYTES {
            return Err(DataError::TooLarge {
                path,
                what: format!("{rows_after} rows of {columns} values"),
                bytes: rows_after * columns as u128 * 4,
                why: format!("more than netc's limit of {MAX_FILE_BYTES} bytes per file"),
            });
        }
        // Sized once, on the first row: the line held that many cells.
        values.resize(columns, 0.0);
        for (c, (cell, v)) in cells.zip(values.iter_mut()).enumerate() {
            *v = parse_cell(&path, line_no, c + 1, cell, c >= features, kind)
                .map_err(|e| header_row(e, line_no))?;
        }
        x.try_reserve(features)
            .map_err(|_| too_much(&path, x.len()))?;
        x.extend_from_slice(&values[..features]);
        match kind {
            // `parse_cell` checked the label is a whole number in range.
            LabelKind::Classes(_) => classes.push(values[features] as u32),
            LabelKind::Targets(_) => targets.extend_from_slice(&values[features..]),
        }
    }
    if x.is_empty() {
        return Err(DataError::Empty {
            path,
            what: "the CSV file has no data rows",
        });
    }
    let labels = match kind {
        LabelKind::Classes(_) => Labels::Classes(classes),
        LabelKind::Targets(width) => Labels::Targets {
            width,
            values: targets,
        },
    };
    Ok(Table { x, labels })
}

/// Parses one cell: a finite number, or for a class label a whole number in range.
fn parse_cell(
    path: &std::path::Path,
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

/// The line without its `\n` or `\r\n`.
fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn too_much(path: &std::path::Path, have: usize) -> DataError {
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
    use std::path::Path;

    fn parse(
        text: &'static str,
        header: bool,
        features: usize,
        kind: LabelKind,
    ) -> Result<Table, DataError> {
        let bytes = text.as_bytes();
        let mut file = DataFile::from_reader(Path::new("t.csv"), Some(bytes.len() as u64), bytes)?;
        read_csv(&mut file, header, features, kind)
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
        let mut file = DataFile::from_reader(Path::new("t.csv"), Some(8), bytes).unwrap();
        let e = read_csv(&mut file, false, 2, LabelKind::Classes(2))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.csv:1: column 2: `"), "{e}");
        assert!(e.ends_with("is not valid UTF-8 text"), "{e}");
    }
}
