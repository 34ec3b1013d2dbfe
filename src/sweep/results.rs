//! A sweep's results: `summary.csv` (one row per trial), the table over
//! seeds (mean ± std) and the data of `summary.svg`.

use super::collect::{Outcome, State};
use super::grid::Trial;
use crate::plot::{SummaryLine, SummaryPlot};
use std::fmt::Write as _;

/// Mean and sample standard deviation (n − 1) of some numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stat {
    pub mean: f64,
    /// 0 for a single number.
    pub std: f64,
    pub n: usize,
}

impl Stat {
    /// `None` for no numbers.
    pub fn of(xs: &[f64]) -> Option<Stat> {
        let n = xs.len();
        if n == 0 {
            return None;
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = if n > 1 {
            xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Stat {
            mean,
            std: var.sqrt(),
            n,
        })
    }

    fn show(&self, digits: usize) -> String {
        if self.n > 1 {
            format!("{:.digits$} ± {:.digits$}", self.mean, self.std)
        } else {
            format!("{:.digits$}", self.mean)
        }
    }
}

/// The trials of one setting of the swept keys, over seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub settings: Vec<(String, String)>,
    /// Trials planned for this setting, and how many finished.
    pub planned: usize,
    pub done: usize,
    /// The seeds of its trials that have no result (missing or unfinished).
    pub unfinished: Vec<u64>,
    /// Percent.
    pub train_acc: Option<Stat>,
    pub test_acc: Option<Stat>,
    /// Train minus test accuracy, percentage points.
    pub gap: Option<Stat>,
    pub train_loss: Option<Stat>,
    pub test_loss: Option<Stat>,
    pub seconds: Option<Stat>,
}

/// Groups the trials by setting (in plan order) and aggregates the finished ones.
pub fn aggregate(trials: &[(Trial, State)]) -> Vec<Group> {
    let mut order: Vec<Vec<(String, String)>> = Vec::new();
    for (t, _) in trials {
        if !order.contains(&t.settings) {
            order.push(t.settings.clone());
        }
    }
    order
        .into_iter()
        .map(|settings| {
            let mine: Vec<&State> = trials
                .iter()
                .filter(|(t, _)| t.settings == settings)
                .map(|(_, s)| s)
                .collect();
            let unfinished = trials
                .iter()
                .filter(|(t, s)| t.settings == settings && !matches!(s, State::Done(_)))
                .map(|(t, _)| t.seed)
                .collect();
            let done: Vec<&Outcome> = mine
                .iter()
                .filter_map(|s| match s {
                    State::Done(o) => Some(o),
                    _ => None,
                })
                .collect();
            let stat = |f: &dyn Fn(&Outcome) -> Option<f64>| {
                let xs: Vec<f64> = done.iter().filter_map(|o| f(o)).collect();
                Stat::of(&xs)
            };
            Group {
                planned: mine.len(),
                done: done.len(),
                unfinished,
                train_acc: stat(&|o| o.train_acc.map(|a| 100.0 * a)),
                test_acc: stat(&|o| o.test_acc.map(|a| 100.0 * a)),
                gap: stat(&|o| o.gap()),
                train_loss: stat(&|o| Some(o.train_loss)),
                test_loss: stat(&|o| Some(o.test_loss)),
                seconds: stat(&|o| Some(o.seconds)),
                settings,
            }
        })
        .collect()
}

/// A field of `summary.csv`, quoted when it must be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `summary.csv`: one row per trial, in plan order: the swept values, seed,
/// status, final accuracies (fractions) and losses, the gap (train − test
/// accuracy), each penalty term, and training seconds. Unfinished trials
/// have empty numbers.
pub fn csv(keys: &[String], trials: &[(Trial, State)]) -> String {
    let mut penalties: Vec<String> = Vec::new();
    for (_, s) in trials {
        if let State::Done(o) = s {
            for (name, _) in &o.penalties {
                if !penalties.contains(name) {
                    penalties.push(name.clone());
                }
            }
        }
    }
    let mut head: Vec<String> = keys.to_vec();
    head.extend(
        [
            "seed",
            "status",
            "train_acc",
            "test_acc",
            "gap",
            "train_loss",
            "test_loss",
        ]
        .map(String::from),
    );
    head.extend(penalties.iter().cloned());
    head.push("seconds".into());
    let mut out = head.iter().map(|h| field(h)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for (t, s) in trials {
        let mut row: Vec<String> = keys
            .iter()
            .map(|k| {
                t.settings
                    .iter()
                    .find(|(sk, _)| sk == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect();
        row.push(t.seed.to_string());
        let opt = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
        match s {
            State::Done(o) => {
                row.push("done".into());
                row.push(opt(o.train_acc));
                row.push(opt(o.test_acc));
                row.push(opt(o.train_acc.zip(o.test_acc).map(|(a, b)| a - b)));
                row.push(o.train_loss.to_string());
                row.push(o.test_loss.to_string());
                for p in &penalties {
                    row.push(opt(o
                        .penalties
                        .iter()
                        .find(|(n, _)| n == p)
                        .map(|(_, v)| *v)));
                }
                row.push(format!("{:.3}", o.seconds));
            }
            other => {
                row.push(
                    if *other == State::Missing {
                        "missing"
                    } else {
                        "incomplete"
                    }
                    .into(),
                );
                row.extend(std::iter::repeat_n(String::new(), 6 + penalties.len()));
            }
        }
        out.push_str(&row.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// The table printed at the end of a sweep: one line per setting, each
/// measure as mean ± std over its finished seeds.
pub fn table(keys: &[String], groups: &[Group]) -> String {
    let accuracy = groups.iter().any(|g| g.test_acc.is_some());
    let mut head: Vec<String> = keys.to_vec();
    head.push("seeds".into());
    if accuracy {
        head.extend(["train acc %", "test acc %", "gap (points)"].map(String::from));
    }
    head.extend(["train loss", "test loss", "seconds"].map(String::from));
    let mut rows = vec![head];
    for g in groups {
        let mut r: Vec<String> = keys
            .iter()
            .map(|k| {
                g.settings
                    .iter()
                    .find(|(sk, _)| sk == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
            .collect();
        r.push(if g.done == g.planned {
            g.done.to_string()
        } else {
            format!("{} of {}", g.done, g.planned)
        });
        let show = |s: &Option<Stat>, d: usize| s.map(|s| s.show(d)).unwrap_or_else(|| "-".into());
        if accuracy {
            r.push(show(&g.train_acc, 2));
            r.push(show(&g.test_acc, 2));
            r.push(show(&g.gap, 2));
        }
        r.push(show(&g.train_loss, 4));
        r.push(show(&g.test_loss, 4));
        r.push(show(&g.seconds, 1));
        rows.push(r);
    }
    let cols = rows[0].len();
    let width: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            let pad = width[c] - cell.chars().count();
            if c < keys.len() {
                let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
            } else {
                let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The data of `summary.svg`: test accuracy and the gap (or, for a
/// regression, test loss and test − train loss) against the first swept
/// key, one line per setting of the others.
pub fn plot(title: &str, keys: &[String], groups: &[Group], seeds: usize) -> SummaryPlot {
    let accuracy = groups.iter().any(|g| g.test_acc.is_some());
    let value = |g: &Group, k: &str| -> String {
        g.settings
            .iter()
            .find(|(sk, _)| sk == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    // A key given one value is the same in every trial: it goes in the
    // title, not on an axis.
    let mut varying: Vec<String> = Vec::new();
    let mut fixed: Vec<String> = Vec::new();
    for k in keys {
        let mut vs: Vec<String> = groups.iter().map(|g| value(g, k)).collect();
        vs.dedup();
        vs.sort();
        vs.dedup();
        if vs.len() > 1 {
            varying.push(k.clone());
        } else if let Some(v) = vs.first() {
            fixed.push(format!("{k}={v}"));
        }
    }
    let (x_key, others) = match varying.split_first() {
        Some((x, rest)) => (x.clone(), rest.to_vec()),
        None => (keys.first().cloned().unwrap_or_default(), Vec::new()),
    };
    let title = if fixed.is_empty() {
        title.to_string()
    } else {
        format!("{title}  ({})", fixed.join(" "))
    };
    let mut x_values: Vec<String> = Vec::new();
    let mut line_keys: Vec<Vec<String>> = Vec::new();
    for g in groups {
        let x = value(g, &x_key);
        if !x_values.contains(&x) {
            x_values.push(x);
        }
        let l: Vec<String> = others.iter().map(|k| value(g, k)).collect();
        if !line_keys.contains(&l) {
            line_keys.push(l);
        }
    }
    let pair = |s: Option<Stat>| s.map(|s| (s.mean, s.std));
    let lines = line_keys
        .iter()
        .map(|l| {
            let label = if others.is_empty() {
                String::new()
            } else {
                others
                    .iter()
                    .zip(l)
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let cell = |x: &String| {
                groups.iter().find(|g| {
                    value(g, &x_key) == *x
                        && others.iter().map(|k| value(g, k)).collect::<Vec<_>>() == *l
                })
            };
            let measure = |f: &dyn Fn(&Group) -> Option<(f64, f64)>| -> Vec<Option<(f64, f64)>> {
                x_values.iter().map(|x| cell(x).and_then(f)).collect()
            };
            let values = if accuracy {
                vec![measure(&|g| pair(g.test_acc)), measure(&|g| pair(g.gap))]
            } else {
                vec![
                    measure(&|g| pair(g.test_loss)),
                    measure(&|g| {
                        let (t, r) = (g.test_loss?, g.train_loss?);
                        // The difference of means; its spread is not the std of a difference.
                        Some((t.mean - r.mean, 0.0))
                    }),
                ]
            };
            let partial = x_values
                .iter()
                .map(|x| cell(x).is_some_and(|g| g.done > 0 && g.done < g.planned))
                .collect();
            SummaryLine {
                label,
                values,
                partial,
            }
        })
        .collect();
    let panels = if accuracy {
        vec![
            ("test accuracy".to_string(), "test accuracy (%)".to_string()),
            (
                "generalisation gap".to_string(),
                "train − test accuracy (points)".to_string(),
            ),
        ]
    } else {
        vec![
            ("test loss".to_string(), "test loss".to_string()),
            (
                "generalisation gap".to_string(),
                "test − train loss".to_string(),
            ),
        ]
    };
    let describe = |g: &Group, seed: u64| {
        let mut words: Vec<String> = g
            .settings
            .iter()
            .filter(|(k, _)| varying.contains(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        words.push(format!("seed {seed}"));
        words.join(" ")
    };
    let missing = groups
        .iter()
        .flat_map(|g| g.unfinished.iter().map(move |&seed| describe(g, seed)))
        .collect();
    SummaryPlot {
        planned: groups.iter().map(|g| g.planned).sum(),
        missing,
        title,
        x_key: if x_key.is_empty() {
            "(nothing swept)".into()
        } else {
            x_key
        },
        x_values,
        panels,
        lines,
        bars: if seeds > 1 {
            format!("mean ± std over {seeds} seeds")
        } else {
            String::new()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(train: f64, test: f64) -> State {
        State::Done(Outcome {
            train_acc: Some(train),
            test_acc: Some(test),
            train_loss: 0.1,
            test_loss: 0.3,
            penalties: vec![("l1(h1)".into(), 0.05)],
            seconds: 2.0,
        })
    }

    fn trial(p: &str, seed: u64) -> Trial {
        Trial {
            dir: format!("d.p={p}_seed={seed}"),
            settings: vec![("d.p".into(), p.into())],
            seed,
        }
    }

    #[test]
    fn stats_are_mean_and_sample_std() {
        let s = Stat::of(&[1.0, 2.0, 3.0]).unwrap();
        assert_eq!((s.mean, s.std, s.n), (2.0, 1.0, 3));
        assert_eq!(Stat::of(&[5.0]).unwrap().std, 0.0);
        assert_eq!(Stat::of(&[]), None);
        assert_eq!(s.show(2), "2.00 ± 1.00");
        assert_eq!(Stat::of(&[5.0]).unwrap().show(1), "5.0");
    }

    #[test]
    fn groups_aggregate_finished_seeds_only() {
        let trials = vec![
            (trial("0", 0), done(1.0, 0.9)),
            (trial("0", 1), done(1.0, 0.8)),
            (trial("0.5", 0), done(0.95, 0.94)),
            (trial("0.5", 1), State::Incomplete("stopped".into())),
        ];
        let g = aggregate(&trials);
        assert_eq!(g.len(), 2);
        assert_eq!((g[0].planned, g[0].done), (2, 2));
        let gap = g[0].gap.unwrap();
        assert!((gap.mean - 15.0).abs() < 1e-9, "{gap:?}");
        assert_eq!((g[1].planned, g[1].done), (2, 1));
        let keys = vec!["d.p".to_string()];
        let t = table(&keys, &g);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("d.p   seeds    train acc %"), "{t}");
        assert!(
            lines[1].contains("85.00 ± 7.07") && lines[1].contains("15.00 ± 7.07"),
            "{t}"
        );
        assert!(
            lines[2].contains("1 of 2") && lines[2].contains("94.00"),
            "{t}"
        );

        let c = csv(&keys, &trials);
        let rows: Vec<&str> = c.lines().collect();
        assert_eq!(
            rows[0],
            "d.p,seed,status,train_acc,test_acc,gap,train_loss,test_loss,l1(h1),seconds"
        );
        assert!(
            rows[1].starts_with("0,0,done,1,0.9,0.09999999999999998,0.1,0.3,0.05,2.000"),
            "{c}"
        );
        assert_eq!(rows[4], "0.5,1,incomplete,,,,,,,");

        let p = plot("t", &keys, &g, 2);
        assert_eq!(p.x_values, ["0", "0.5"]);
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.lines[0].values[0][1], Some((94.0, 0.0)));
        assert_eq!(p.bars, "mean ± std over 2 seeds");
        // One of d.p=0.5's two seeds finished: its point is partial.
        assert_eq!(p.lines[0].partial, [false, true]);
        assert_eq!(p.missing, ["d.p=0.5 seed 1"]);
        assert_eq!(g[1].unfinished, [1]);
    }

    #[test]
    fn other_keys_make_one_line_each() {
        let t = |p: &str, u: &str| Trial {
            dir: String::new(),
            settings: vec![("d.p".into(), p.into()), ("h1.units".into(), u.into())],
            seed: 0,
        };
        let trials = vec![
            (t("0", "16"), done(1.0, 0.8)),
            (t("0", "32"), done(1.0, 0.9)),
            (t("0.5", "16"), done(0.9, 0.85)),
            (t("0.5", "32"), State::Missing),
        ];
        let keys = vec!["d.p".to_string(), "h1.units".to_string()];
        let p = plot("t", &keys, &aggregate(&trials), 1);
        assert_eq!(p.x_key, "d.p");
        let labels: Vec<&str> = p.lines.iter().map(|l| l.label.as_str()).collect();
        assert_eq!(labels, ["h1.units=16", "h1.units=32"]);
        assert_eq!(p.lines[1].values[0][1], None);
        assert_eq!(p.bars, "");
        assert_eq!(p.planned, 4);
        assert_eq!(p.missing, ["d.p=0.5 h1.units=32 seed 0"]);
        assert_eq!(p.lines[0].partial, [false, false]);
    }

    #[test]
    fn a_key_with_one_value_goes_in_the_title() {
        let t = |p: &str| Trial {
            dir: String::new(),
            settings: vec![("epochs".into(), "2".into()), ("d.p".into(), p.into())],
            seed: 0,
        };
        let trials = vec![(t("0"), done(1.0, 0.8)), (t("0.5"), done(0.9, 0.85))];
        let keys = vec!["epochs".to_string(), "d.p".to_string()];
        let p = plot("tiny", &keys, &aggregate(&trials), 1);
        assert_eq!(p.x_key, "d.p");
        assert_eq!(p.title, "tiny  (epochs=2)");
        assert_eq!(p.lines.len(), 1);
        assert_eq!(p.lines[0].label, "");
    }
}
