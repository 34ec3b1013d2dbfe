//! `netc eval --mc 1,2,5,...`: Monte-Carlo dropout read off at several pass
//! counts from one run of the largest, and `--curve` drawing it.

mod common;

use common::cli::{DATA, Run, TINY, fails, netc, ok, says, train_tiny};
use serde_json::Value;
use std::path::Path;

fn eval(weights: &Path, extra: &[&str]) -> Run {
    eval_net(Path::new(TINY), weights, extra)
}

fn eval_net(net: &Path, weights: &Path, extra: &[&str]) -> Run {
    let w = weights.to_str().unwrap();
    let mut args = vec![
        "eval",
        net.to_str().unwrap(),
        "--weights",
        w,
        "--data-dir",
        DATA,
    ];
    args.extend_from_slice(extra);
    netc(&args)
}

/// A net with dropout whose test split (2500 samples) spans three of
/// evaluation's batches, trained for a few steps in `dir`: (net, weights).
fn three_batch_net(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let net = dir.join("wide.net");
    std::fs::write(
        &net,
        "net wide v1\ninput x: 8\nlabel y: classes(3)\n\
         h = dropout(relu(linear(x, 32)), 0.5)\nout = linear(h, 3)\n\
         loss = cross_entropy(out, y)\n\
         train {\n    data: synthetic(samples: 200, test_samples: 2500)\n    batch: 20\n    \
         steps: 30\n    optimizer: sgd(lr: 0.1)\n    seed: 2\n}\n",
    )
    .unwrap();
    let out = dir.join("run");
    ok(&netc(&[
        "train",
        net.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ]));
    (net, out.join("model.safetensors"))
}

fn json(r: &Run) -> Value {
    ok(r);
    serde_json::from_str(r.stdout.trim()).expect("one JSON object")
}

/// Holds by construction: each evaluation batch's passes draw from a
/// generator of their own, so the first k passes of a longer run are the
/// passes of a run of k, batch after batch.
#[test]
fn each_count_of_a_list_equals_a_run_of_that_count_alone() {
    let dir = tempfile::tempdir().unwrap();
    let (net, w) = three_batch_net(dir.path());
    let eval = |extra: &[&str]| eval_net(&net, &w, extra);
    let list = json(&eval(&["--mc", "7,1,3", "--seed", "5", "--json"]));
    assert_eq!(list["samples"], 2500);
    let curve = list["mc_curve"].as_array().expect("mc_curve");
    let counts: Vec<u64> = curve
        .iter()
        .map(|p| p["passes"].as_u64().unwrap())
        .collect();
    assert_eq!(counts, [1, 3, 7]);
    for point in curve {
        let k = point["passes"].to_string();
        let alone = json(&eval(&["--mc", &k, "--seed", "5", "--json"]));
        assert!(alone.get("mc_curve").is_none(), "{alone}");
        assert_eq!(point["accuracy"], alone["mc"]["accuracy"], "k={k}");
        assert_eq!(point["loss"], alone["mc"]["loss"], "k={k}");
        if k == "7" {
            // The largest count's full figures are those of --mc 7.
            assert_eq!(list["mc"], alone["mc"]);
        }
    }
    // Passes differ from one to the next: the curve is not one pass repeated.
    assert_ne!(curve[0]["loss"], curve[2]["loss"]);
    // Another seed, other passes.
    let other = json(&eval(&["--mc", "7,1,3", "--seed", "6", "--json"]));
    assert_ne!(other["mc_curve"], list["mc_curve"]);
}

#[test]
fn the_text_has_a_row_per_count_and_one_count_keeps_the_old_table() {
    let dir = tempfile::tempdir().unwrap();
    ok(&train_tiny(dir.path(), &[]));
    let w = dir.path().join("model.safetensors");
    let r = eval(&w, &["--mc", "1,2,4"]);
    ok(&r);
    assert!(r.stdout.contains("monte carlo (M=4)"), "{}", r.stdout);
    let table = &r.stdout[r.stdout.find("monte carlo by passes").expect("the table")..];
    let rows: Vec<&str> = table
        .lines()
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(rows.len(), 3, "{table}");
    for (row, k) in rows.iter().zip(["1", "2", "4"]) {
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[0], k, "{row}");
        assert!(cells[2].ends_with('%') && cells[3].ends_with('%'), "{row}");
    }
    let single = eval(&w, &["--mc", "4"]);
    ok(&single);
    assert!(
        !single.stdout.contains("monte carlo by passes"),
        "{}",
        single.stdout
    );
}

#[test]
fn the_curve_is_well_formed_svg_with_a_point_per_count_and_the_scaling_line() {
    let dir = tempfile::tempdir().unwrap();
    ok(&train_tiny(dir.path(), &[]));
    let w = dir.path().join("model.safetensors");
    let svg = dir.path().join("mc.svg");
    let r = eval(&w, &["--mc", "1,2,5,10", "--curve", svg.to_str().unwrap()]);
    ok(&r);
    says(&r, "wrote");
    let text = std::fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).expect("well-formed SVG");
    let texts: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .map(str::trim)
        .collect();
    for label in [
        "1",
        "10",
        "weight scaling: one pass",
        "passes k (log scale)",
    ] {
        assert!(texts.contains(&label), "{label} not in {texts:?}");
    }
    // One dot per count on the Monte-Carlo line.
    let dots = doc
        .descendants()
        .filter(|n| n.has_tag_name("circle"))
        .count();
    assert_eq!(dots, 4, "{text}");
    // An existing file is kept unless --force.
    let again = eval(&w, &["--mc", "1,2", "--curve", svg.to_str().unwrap()]);
    fails(&again);
    says(&again, "already exists");
    assert_eq!(std::fs::read_to_string(&svg).unwrap(), text);
    ok(&eval(
        &w,
        &["--mc", "1,2", "--curve", svg.to_str().unwrap(), "--force"],
    ));
}

#[test]
fn a_curve_needs_mc_and_an_svg_name() {
    let dir = tempfile::tempdir().unwrap();
    ok(&train_tiny(dir.path(), &[]));
    let w = dir.path().join("model.safetensors");
    let png = dir.path().join("mc.png");
    let r = eval(&w, &["--mc", "1,2", "--curve", png.to_str().unwrap()]);
    fails(&r);
    says(&r, "writes SVG only");
    assert!(!png.exists());
    let r = eval(&w, &["--curve", dir.path().join("c.svg").to_str().unwrap()]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = eval(&w, &["--mc", "1,0"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
