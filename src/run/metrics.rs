//! `metrics.csv`: one row per evaluation (each epoch, or each interval of a run
//! counted in steps), rewritten whole and atomically after each.

use std::fmt::Write;

/// One evaluation point of a run.
#[derive(Clone, Debug, PartialEq, Default)]
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
    /// Mean data-term loss on the validation split, when the run holds one out.
    pub val_loss: Option<f64>,
    pub val_acc: Option<f64>,
    /// Mean data-term loss on the test split at evaluation.
    pub test_loss: f64,
    pub test_acc: Option<f64>,
    /// The learning rate of the interval's last step.
    pub lr: Option<f64>,
    /// SGD's momentum of the interval's last step (none for Adam).
    pub momentum: Option<f64>,
    /// Steps of the interval whose gradients were clipped (with `clip_grad_norm`).
    pub clipped: Option<u64>,
    /// Training time of the interval, evaluation excluded.
    pub seconds: f64,
}

/// The optional columns, in their order; each is written when any row has it.
const OPTIONAL: [&str; 5] = ["val_loss", "val_acc", "lr", "momentum", "clipped"];

/// Which optional columns `rows` fill: `val_acc` goes with `val_loss`.
fn columns(rows: &[Row]) -> [bool; 5] {
    let any = |f: &dyn Fn(&Row) -> bool| rows.iter().any(f);
    let val = any(&|r| r.val_loss.is_some());
    [
        val,
        val,
        any(&|r| r.lr.is_some()),
        any(&|r| r.momentum.is_some()),
        any(&|r| r.clipped.is_some()),
    ]
}

/// The header: fixed columns with one per penalty, named as the file writes
/// it, and the optional columns `shown`.
fn header(penalty_labels: &[String], shown: [bool; 5]) -> String {
    let mut h = String::from("epoch,step,train_loss");
    for p in penalty_labels {
        h.push(',');
        h.push_str(&csv_field(p));
    }
    h.push_str(",train_acc");
    if shown[0] {
        h.push_str(",val_loss,val_acc");
    }
    h.push_str(",test_loss,test_acc");
    for (name, on) in OPTIONAL.iter().zip(shown).skip(2) {
        if on {
            h.push(',');
            h.push_str(name);
        }
    }
    h.push_str(",seconds");
    h
}

/// The whole file for these rows.
pub fn render(penalty_labels: &[String], rows: &[Row]) -> String {
    let shown = columns(rows);
    let mut s = header(penalty_labels, shown);
    s.push('\n');
    let opt = |a: Option<f64>| a.map(|a| a.to_string()).unwrap_or_default();
    for r in rows {
        let _ = write!(s, "{},{},{}", fmt_epoch(r.epoch), r.step, r.train_loss);
        for p in &r.penalties {
            let _ = write!(s, ",{p}");
        }
        let _ = write!(s, ",{}", opt(r.train_acc));
        if shown[0] {
            let _ = write!(s, ",{},{}", opt(r.val_loss), opt(r.val_acc));
        }
        let _ = write!(s, ",{},{}", r.test_loss, opt(r.test_acc));
        let optional = [r.lr, r.momentum, r.clipped.map(|c| c as f64)];
        for (v, on) in optional.iter().zip(&shown[2..]) {
            if *on {
                let _ = write!(s, ",{}", opt(*v));
            }
        }
        let _ = writeln!(s, ",{:.6}", r.seconds);
    }
    s
}

/// Reads a whole `metrics.csv` (of this version of netc or an earlier one,
/// without the optional columns): the penalty labels from its header, and
/// its rows; `None` if the text is not such a file.
pub fn read(text: &str) -> Option<(Vec<String>, Vec<Row>)> {
    let mut lines = text.lines();
    let header = split_fields(lines.next()?);
    let at = |name: &str| header.iter().position(|h| h == name);
    let (acc_at, seconds_at) = (at("train_acc")?, at("seconds")?);
    if header.len() < 7 || header[..3] != ["epoch", "step", "train_loss"] || acc_at < 3 {
        return None;
    }
    let labels: Vec<String> = header[3..acc_at].to_vec();
    let known = |h: &String| {
        ["train_acc", "test_loss", "test_acc", "seconds"].contains(&h.as_str())
            || OPTIONAL.contains(&h.as_str())
    };
    if !header[acc_at..].iter().all(known) {
        return None;
    }
    let rows = lines
        .map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            if f.len() != header.len() {
                return None;
            }
            let num = |s: &str| s.parse::<f64>().ok();
            // An optional value: absent (no column, or an empty cell) or a number.
            let opt = |name: &str| match at(name).map(|i| f[i]) {
                None | Some("") => Some(None),
                Some(s) => num(s).map(Some),
            };
            Some(Row {
                epoch: num(f[0])?,
                step: f[1].parse().ok()?,
                train_loss: num(f[2])?,
                penalties: f[3..acc_at].iter().map(|s| num(s)).collect::<Option<_>>()?,
                train_acc: opt("train_acc")?,
                val_loss: opt("val_loss")?,
                val_acc: opt("val_acc")?,
                test_loss: num(f[at("test_loss")?])?,
                test_acc: opt("test_acc")?,
                lr: opt("lr")?,
                momentum: opt("momentum")?,
                clipped: match at("clipped").map(|i| f[i]) {
                    None | Some("") => None,
                    Some(s) => Some(s.parse().ok()?),
                },
                seconds: num(f[seconds_at])?,
            })
        })
        .collect::<Option<Vec<Row>>>()?;
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
        let mut rows = vec![
            Row {
                epoch: 1.0,
                step: 10,
                train_loss: 0.25,
                penalties: vec![0.125],
                train_acc: Some(0.5),
                test_loss: 0.75,
                test_acc: Some(0.625),
                seconds: 1.5,
                ..Row::default()
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
                ..Row::default()
            },
        ];
        let text = render(&labels, &rows);
        assert!(text.starts_with(
            "epoch,step,train_loss,0.5 * l1(h1),train_acc,test_loss,test_acc,seconds\n"
        ));
        assert_eq!(read(&text), Some((labels.clone(), rows.clone())));
        assert_eq!(read("header\n1,2"), None);
        // Every optional column, written and read back.
        rows[0].val_loss = Some(0.5);
        rows[0].val_acc = Some(0.75);
        rows[1].val_loss = Some(0.25);
        for r in &mut rows {
            r.lr = Some(0.01);
            r.momentum = Some(0.9);
            r.clipped = Some(3);
        }
        let text = render(&labels, &rows);
        assert!(text.starts_with(
            "epoch,step,train_loss,0.5 * l1(h1),train_acc,val_loss,val_acc,test_loss,test_acc,lr,momentum,clipped,seconds\n"
        ), "{text}");
        assert_eq!(read(&text), Some((labels, rows)));
        let quoted = render(&["a, \"b\"".to_string()], &[]);
        assert_eq!(read(&quoted), Some((vec!["a, \"b\"".to_string()], vec![])));
        assert_eq!(read("epoch,step\n"), None);
    }
}
