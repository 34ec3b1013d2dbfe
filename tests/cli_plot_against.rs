//! `netc plot --x KEY SWEEPDIR`: a sweep's final test and training error
//! against a swept value, mean ± std over seeds, from the trials' metrics.

mod common;

use common::cli::{DATA, TINY, fails, netc, ok, says};
use std::fs;
use std::path::Path;

/// The last row's (train_acc, test_acc) of a trial's metrics.csv.
fn final_acc(trial: &Path) -> (f64, f64) {
    let text = fs::read_to_string(trial.join("metrics.csv")).unwrap();
    let mut lines = text.lines();
    let head: Vec<&str> = lines.next().unwrap().split(',').collect();
    let last: Vec<&str> = lines.last().unwrap().split(',').collect();
    let col = |name: &str| -> f64 {
        last[head.iter().position(|h| *h == name).unwrap()]
            .parse()
            .unwrap()
    };
    (col("train_acc"), col("test_acc"))
}

fn mean_std(xs: &[f64]) -> (f64, f64) {
    let m = xs.iter().sum::<f64>() / xs.len() as f64;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64;
    (m, v.sqrt())
}

#[test]
fn the_errors_are_the_trials_final_ones_against_the_value_with_their_seed_spread() {
    let dir = tempfile::tempdir().unwrap();
    let sweep = dir.path().join("sw");
    let s = sweep.to_str().unwrap();
    ok(&netc(&[
        "sweep",
        TINY,
        "--data-dir",
        DATA,
        "--set",
        "d.p=0.5,0",
        "--set",
        "epochs=1",
        "--seeds",
        "2",
        "--out",
        s,
        "--jobs",
        "2",
    ]));
    let svg = dir.path().join("p.svg");
    let r = netc(&["plot", "--x", "d.p", s, "-o", svg.to_str().unwrap()]);
    ok(&r);
    says(&r, "wrote");
    // Rows in numeric order of d.p, whatever the plan's order.
    let rows: Vec<&str> = r.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", r.stdout);
    for (row, p) in rows.iter().zip(["0", "0.5"]) {
        let accs: Vec<(f64, f64)> = (1..=2)
            .map(|seed| final_acc(&sweep.join(format!("d.p={p}_epochs=1_seed={seed}"))))
            .collect();
        let err = |f: fn(&(f64, f64)) -> f64| {
            mean_std(
                &accs
                    .iter()
                    .map(|a| 100.0 * (1.0 - f(a)))
                    .collect::<Vec<_>>(),
            )
        };
        let ((te, ts), (tr, trs)) = (err(|a| a.1), err(|a| a.0));
        let want = format!("{te:.2} ± {ts:.2}");
        assert!(
            row.starts_with(p) && row.contains(&want),
            "{row} lacks {want}"
        );
        let want = format!("{tr:.2} ± {trs:.2}");
        assert!(row.contains(&want), "{row} lacks {want}");
    }
    let text = fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for t in [
        "test error",
        "training error",
        "error bars: mean ± std over 2 seeds",
        "d.p",
    ] {
        assert!(texts.contains(&t), "{t} not in {texts:?}");
    }
    assert!(texts.iter().any(|t| t.contains("(epochs=1)")), "{texts:?}");
    // Two values × (test, training): four points.
    let dots = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    assert_eq!(dots, 4);
    // A key that was not swept, or two directories, are refused.
    let other = dir.path().join("q.svg");
    let r = netc(&["plot", "--x", "lr", s, "-o", other.to_str().unwrap()]);
    fails(&r);
    says(
        &r,
        "`lr` is not a swept key of this sweep (its keys: d.p, epochs)",
    );
    let r = netc(&["plot", "--x", "d.p", s, s, "-o", other.to_str().unwrap()]);
    fails(&r);
    says(&r, "--x draws one sweep directory");
    assert!(!other.exists());
}
