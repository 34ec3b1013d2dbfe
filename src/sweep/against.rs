//! A sweep's final errors against the numeric value of one swept key: the
//! data of `netc plot --x KEY`, from the trials' groups over seeds.

use super::results::{Group, Stat};
use crate::plot::{ErrorLine, ErrorPlot, ErrorPoint};
use thiserror::Error;

/// Why the errors cannot be drawn against a key.
#[derive(Debug, Error, PartialEq)]
pub enum AgainstError {
    #[error("`{key}` is not a swept key of this sweep (its keys: {})", keys.join(", "))]
    UnknownKey { key: String, keys: Vec<String> },
    #[error("`{key}={value}` is not a number: the x axis needs numeric values")]
    NotNumeric { key: String, value: String },
    #[error(
        "the trials record no accuracy (a net whose labels are values): there is no error to draw"
    )]
    NoAccuracy,
}

/// `key` as the sweep names it: `l1.h1` and `l1(h1)` are one key.
fn same_key(a: &str, b: &str) -> bool {
    let norm = |k: &str| k.replace('(', ".").replace(')', "");
    norm(a) == norm(b)
}

/// The plot of each group's final test and training error (100 − accuracy,
/// mean ± std over its finished seeds) against `key`'s value, one line per
/// setting of the other keys; the trials without a result are named.
pub fn errors_against(
    title: &str,
    key: &str,
    keys: &[String],
    groups: &[Group],
    seeds: usize,
) -> Result<ErrorPlot, AgainstError> {
    let Some(x_key) = keys.iter().find(|k| same_key(k, key)) else {
        return Err(AgainstError::UnknownKey {
            key: key.into(),
            keys: keys.to_vec(),
        });
    };
    if groups.iter().all(|g| g.test_acc.is_none()) && groups.iter().any(|g| g.done > 0) {
        return Err(AgainstError::NoAccuracy);
    }
    let value = |g: &Group, k: &str| {
        g.settings
            .iter()
            .find(|(sk, _)| sk == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // A key with one value in every trial names no line: it goes in the title.
    let mut others: Vec<&String> = Vec::new();
    let mut fixed: Vec<String> = Vec::new();
    for k in keys.iter().filter(|k| *k != x_key) {
        let mut vs: Vec<String> = groups.iter().map(|g| value(g, k)).collect();
        vs.sort();
        vs.dedup();
        match vs.as_slice() {
            [one] => fixed.push(format!("{k}={one}")),
            _ => others.push(k),
        }
    }
    let title = if fixed.is_empty() {
        title.to_string()
    } else {
        format!("{title}  ({})", fixed.join(" "))
    };
    let mut lines: Vec<ErrorLine> = Vec::new();
    for g in groups {
        let raw = value(g, x_key);
        let x = raw
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| AgainstError::NotNumeric {
                key: x_key.clone(),
                value: raw.clone(),
            })?;
        let label = others
            .iter()
            .map(|k| format!("{k}={}", value(g, k)))
            .collect::<Vec<_>>()
            .join(" ");
        let error = |s: Option<Stat>| s.map(|s| (100.0 - s.mean, s.std));
        let point = ErrorPoint {
            x,
            test: error(g.test_acc),
            train: error(g.train_acc),
            partial: g.done > 0 && g.done < g.planned,
        };
        match lines.iter_mut().find(|l| l.label == label) {
            Some(l) => l.points.push(point),
            None => lines.push(ErrorLine {
                label,
                points: vec![point],
            }),
        }
    }
    for l in &mut lines {
        l.points.sort_by(|a, b| a.x.total_cmp(&b.x));
    }
    Ok(ErrorPlot {
        title,
        x_key: x_key.clone(),
        lines,
        bars: if seeds > 1 {
            format!("mean ± std over {seeds} seeds")
        } else {
            String::new()
        },
        planned: groups.iter().map(|g| g.planned).sum(),
        missing: groups
            .iter()
            .flat_map(|g| {
                let settings: Vec<String> =
                    g.settings.iter().map(|(k, v)| format!("{k}={v}")).collect();
                let settings = settings.join(" ");
                g.unfinished
                    .iter()
                    .map(move |seed| format!("{settings} seed {seed}"))
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(settings: &[(&str, &str)], train: f64, test: f64, done: usize) -> Group {
        let stat = |m| {
            Some(Stat {
                mean: m,
                std: 0.5,
                n: done,
            })
        };
        Group {
            settings: settings
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            planned: 2,
            done,
            unfinished: Vec::new(),
            train_acc: stat(train),
            test_acc: stat(test),
            gap: None,
            train_loss: None,
            test_loss: None,
            seconds: None,
        }
    }

    #[test]
    fn errors_are_a_hundred_minus_accuracy_in_numeric_order_one_line_per_other_setting() {
        let keys = vec!["d.p".to_string(), "h.units".to_string()];
        let groups = [
            group(&[("d.p", "0.5"), ("h.units", "8")], 99.0, 97.0, 2),
            group(&[("d.p", "1e-1"), ("h.units", "8")], 98.0, 96.0, 1),
            group(&[("d.p", "0.5"), ("h.units", "16")], 99.5, 97.5, 2),
        ];
        let p = errors_against("t", "d.p", &keys, &groups, 2).unwrap();
        assert_eq!(p.lines.len(), 2);
        assert_eq!(p.lines[0].label, "h.units=8");
        let xs: Vec<f64> = p.lines[0].points.iter().map(|pt| pt.x).collect();
        assert_eq!(xs, [0.1, 0.5]);
        assert_eq!(p.lines[0].points[0].test, Some((4.0, 0.5)));
        assert_eq!(p.lines[0].points[0].train, Some((2.0, 0.5)));
        assert!(p.lines[0].points[0].partial);
        assert_eq!(p.bars, "mean ± std over 2 seeds");
    }

    #[test]
    fn a_key_with_one_value_goes_in_the_title() {
        let keys = vec!["d.p".to_string(), "epochs".to_string()];
        let groups = [
            group(&[("d.p", "0.5"), ("epochs", "8")], 99.0, 97.0, 2),
            group(&[("d.p", "0.1"), ("epochs", "8")], 98.0, 96.0, 2),
        ];
        let p = errors_against("digits", "d.p", &keys, &groups, 2).unwrap();
        assert_eq!(p.title, "digits  (epochs=8)");
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.lines[0].label, "");
    }

    #[test]
    fn a_key_not_swept_or_not_numeric_is_refused() {
        let keys = vec!["act".to_string()];
        let groups = [group(&[("act", "relu")], 99.0, 97.0, 2)];
        assert_eq!(
            errors_against("t", "lr", &keys, &groups, 1),
            Err(AgainstError::UnknownKey {
                key: "lr".into(),
                keys: keys.clone()
            })
        );
        assert_eq!(
            errors_against("t", "act", &keys, &groups, 1),
            Err(AgainstError::NotNumeric {
                key: "act".into(),
                value: "relu".into()
            })
        );
    }

    #[test]
    fn the_file_s_and_the_dotted_spelling_of_a_key_are_one() {
        assert!(same_key("l1.h1", "l1(h1)"));
        assert!(!same_key("l1.h1", "l2(h1)"));
    }
}
