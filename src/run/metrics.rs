//! `metrics.csv`: one row per evaluation (each epoch, or each interval of a run
//! counted in steps), rewritten whole and atomically after each.

use std::fmt::Write;

/// One evaluation point of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Epochs done, possibly fractional in a run counted in steps.
    pub epoch: f64,
    pub step: u64,
    /// Mean total loss (data term + penalties) over the interval's batches, dropout on.
    pub train_loss: f64,
    /// Mean of each weighted penalty term over the interval, in file order.
    pub penalties: Vec<f64>,
    /// Accuracy on the training split at evaluation (dropout off); `None` for regression.
    pub train_acc: Option<f64>,
    /// Mean data-term loss on the test split at evaluation.
    pub test_loss: f64,
    pub test_acc: Option<f64>,
    /// Training time of the interval, evaluation excluded.
    pub seconds: f64,
}

/// The header: fixed columns with one per penalty, named as the file writes it.
pub fn header(penalty_labels: &[String]) -> String {
    let mut h = String::from("epoch,step,train_loss");
    for p in penalty_labels {
        h.push(',');
        h.push_str(&csv_field(p));
    }
    h.push_str(",train_acc,test_loss,test_acc,seconds");
    h
}

/// The whole file for these rows.
pub fn render(penalty_labels: &[String], rows: &[Row]) -> String {
    let mut s = header(penalty_labels);
    s.push('\n');
    for r in rows {
        let _ = write!(s, "{},{},{}", fmt_epoch(r.epoch), r.step, r.train_loss);
        for p in &r.penalties {
            let _ = write!(s, ",{p}");
        }
        let acc = |a: Option<f64>| a.map(|a| a.to_string()).unwrap_or_default();
        let _ = writeln!(
            s,
            ",{},{},{},{:.6}",
            acc(r.train_acc),
            r.test_loss,
            acc(r.test_acc),
            r.seconds
        );
    }
    s
}

/// Reads back what [`render`] wrote (for resuming a run); `None` if the text
/// is not such a file.
pub fn parse(text: &str, penalties: usize) -> Option<Vec<Row>> {
    let mut lines = text.lines();
    lines.next()?;
    lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != 7 + penalties {
                return None;
            }
            let num = |s: &str| s.parse::<f64>().ok();
            let opt = |s: &str| {
                if s.is_empty() {
                    Some(None)
                } else {
                    num(s).map(Some)
                }
            };
            Some(Row {
                epoch: num(f[0])?,
                step: f[1].parse().ok()?,
                train_loss: num(f[2])?,
                penalties: f[3..3 + penalties]
                    .iter()
                    .map(|s| num(s))
                    .collect::<Option<_>>()?,
                train_acc: opt(f[3 + penalties])?,
                test_loss: num(f[4 + penalties])?,
                test_acc: opt(f[5 + penalties])?,
                seconds: num(f[6 + penalties])?,
            })
        })
        .collect()
}

/// Reads a whole `metrics.csv`: the penalty labels from its header, and its
/// rows; `None` if the text is not such a file.
pub fn read(text: &str) -> Option<(Vec<String>, Vec<Row>)> {
    let header = split_fields(text.lines().next()?);
    let fixed = ["epoch", "step", "train_loss"];
    let tail = ["train_acc", "test_loss", "test_acc", "seconds"];
    if header.len() < fixed.len() + tail.len()
        || header[..3] != fixed
        || header[header.len() - 4..] != tail
    {
        return None;
    }
    let labels: Vec<String> = header[3..header.len() - 4].to_vec();
    let rows = parse(text, labels.len())?;
    Some((labels, rows))
}

/// The fields of one CSV line, with `"..."` quoting as [`csv_field`] writes it.
fn split_fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = out.last_mut() {
                    f.push('"');
                }
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(String::new()),
            (c, _) => {
                if let Some(f) = out.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    out
}

fn fmt_epoch(e: f64) -> String {
    if e.fract() == 0.0 {
        format!("{e}")
    } else {
        format!("{e:.3}")
    }
}

/// A label with a comma or quote is quoted, CSV-style.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_round_trip_through_the_csv_text() {
        let labels = vec!["0.5 * l1(h1)".to_string()];
        let rows = vec![
            Row {
                epoch: 1.0,
                step: 10,
                train_loss: 0.25,
                penalties: vec![0.125],
                train_acc: Some(0.5),
                test_loss: 0.75,
                test_acc: Some(0.625),
                seconds: 1.5,
            },
            Row {
                epoch: 1.5,
                step: 15,
                train_loss: 0.2,
                penalties: vec![0.1],
                train_acc: None,
                test_loss: 0.7,
                test_acc: None,
                seconds: 0.25,
            },
        ];
        let text = render(&labels, &rows);
        assert!(text.starts_with(
            "epoch,step,train_loss,0.5 * l1(h1),train_acc,test_loss,test_acc,seconds\n"
        ));
        assert_eq!(parse(&text, 1).unwrap(), rows);
        assert_eq!(parse("header\n1,2", 1), None);
        assert_eq!(read(&text), Some((labels, rows)));
        let quoted = render(&["a, \"b\"".to_string()], &[]);
        assert_eq!(read(&quoted), Some((vec!["a, \"b\"".to_string()], vec![])));
        assert_eq!(read("epoch,step\n"), None);
    }
}
