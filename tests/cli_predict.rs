//! `netc predict` as a user runs it, on the 500-image MNIST fixture: it
//! agrees with `netc eval` (whose confusion matrix it checks too), reads CSV,
//! IDX and safetensors inputs a batch at a time, and names the file and the
//! problem when an input is wrong. And `netc eval` honouring the file's `eval:`.

mod common;

use common::cli::{DATA, Run, TINY, fails, netc, ok, says, train_tiny};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

const IMAGES: &str = "tests/fixtures/data/mnist/t10k-images-idx3-ubyte";
const LABELS: &str = "tests/fixtures/data/mnist/t10k-labels-idx1-ubyte";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Trains the tiny net into `dir/run`; its weights.
fn weights(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    ok(&train_tiny(&run, &[]));
    run.join("model.safetensors")
}

/// `netc predict TINY --weights W --out OUT ARGS...`
fn predict(w: &Path, out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["predict", TINY, "--weights", s(w), "--out", s(out)];
    args.extend_from_slice(extra);
    netc(&args)
}

/// The rows of a predictions file, as maps from column name to text.
fn rows(path: &Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(String::from))
                .collect()
        })
        .collect()
}

/// The fraction of rows whose `class` is their `label`.
fn accuracy(path: &Path) -> f64 {
    let rows = rows(path);
    let right = rows.iter().filter(|r| r["class"] == r["label"]).count();
    right as f64 / rows.len() as f64
}

/// `netc eval --json`'s accuracy for `method` (`scaling` or `mc`).
fn eval_accuracy(w: &Path, extra: &[&str], method: &str) -> f64 {
    let mut args = vec![
        "eval",
        TINY,
        "--weights",
        s(w),
        "--data-dir",
        DATA,
        "--json",
    ];
    args.extend_from_slice(extra);
    let r = netc(&args);
    ok(&r);
    let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    j[method]["accuracy"].as_f64().unwrap()
}

#[test]
fn predict_round_trips_with_eval_on_the_test_files() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("p.csv");
    let r = predict(&w, &out, &["--input", IMAGES, "--labels", "score"]);
    ok(&r);
    let want = eval_accuracy(&w, &[], "scaling");
    assert_eq!(accuracy(&out), want);
    assert!(
        r.stdout.contains(&format!("accuracy {:.2}%", 100.0 * want)),
        "{}",
        r.stdout
    );
    says(&r, &format!("scoring against the labels in {LABELS}"));
    // Monte-Carlo dropout with the same seed makes the same passes.
    let mc = dir.path().join("mc.csv");
    ok(&predict(
        &w,
        &mc,
        &["--input", IMAGES, "--labels", "score", "--mc", "7"],
    ));
    assert_eq!(accuracy(&mc), eval_accuracy(&w, &["--mc", "7"], "mc"));
    // And the file's own test split gives the same rows.
    let split = dir.path().join("split.csv");
    ok(&predict(
        &w,
        &split,
        &["--test-split", "--data-dir", DATA, "--mc", "7"],
    ));
    assert_eq!(fs::read(&split).unwrap(), fs::read(&mc).unwrap());
}

#[test]
fn each_row_holds_the_class_probabilities_and_with_mc_the_uncertainty() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("p.csv");
    ok(&predict(&w, &out, &["--input", IMAGES, "--mc", "5"]));
    let text = fs::read_to_string(&out).unwrap();
    let header = text.lines().next().unwrap();
    assert_eq!(
        header,
        "sample,class,p0,p1,p2,p3,p4,p5,p6,p7,p8,p9,entropy,variance"
    );
    let rows = rows(&out);
    assert_eq!(rows.len(), 100);
    for (i, r) in rows.iter().enumerate() {
        assert_eq!(r["sample"], i.to_string());
        let p: Vec<f64> = (0..10)
            .map(|c| r[&format!("p{c}")].parse().unwrap())
            .collect();
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{p:?}");
        let class: usize = r["class"].parse().unwrap();
        assert!(p.iter().all(|&q| q <= p[class]), "{r:?}");
        let h: f64 = r["entropy"].parse().unwrap();
        let want = -p.iter().map(|q| q * q.ln()).sum::<f64>();
        assert!((h - want).abs() < 1e-4, "{h} vs {want}");
        let v: f64 = r["variance"].parse().unwrap();
        assert!((0.0..=0.25).contains(&v), "{v}");
    }
    // Without labels asked for, none is written; without --mc, no variance.
    let plain = dir.path().join("plain.csv");
    ok(&predict(&w, &plain, &["--input", IMAGES]));
    let first = fs::read_to_string(&plain).unwrap();
    assert!(first.starts_with("sample,class,p0,"), "{first}");
    assert!(first.lines().next().unwrap().ends_with(",p9,entropy"));
}

/// The fixture's test images as CSV rows of pixel values in [0, 1] (as the
/// net takes them), with the label last when `labels`.
fn images_csv(path: &Path, labels: bool, header: bool, repeat: usize) {
    let pixels = fs::read(IMAGES).unwrap();
    let classes = fs::read(LABELS).unwrap();
    let mut f = std::io::BufWriter::new(fs::File::create(path).unwrap());
    if header {
        let mut names: Vec<String> = (0..784).map(|i| format!("px{i}")).collect();
        if labels {
            names.push("label".into());
        }
        writeln!(f, "{}", names.join(",")).unwrap();
    }
    for _ in 0..repeat {
        for (img, label) in pixels[16..].chunks(784).zip(&classes[8..]) {
            let mut cells: Vec<String> = img
                .iter()
                .map(|&b| (b as f32 / 255.0).to_string())
                .collect();
            if labels {
                cells.push(label.to_string());
            }
            writeln!(f, "{}", cells.join(",")).unwrap();
        }
    }
}

#[test]
fn a_csv_input_predicts_as_the_idx_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let idx = dir.path().join("idx.csv");
    ok(&predict(
        &w,
        &idx,
        &["--input", IMAGES, "--labels", "score"],
    ));
    let csv = dir.path().join("x.csv");
    images_csv(&csv, true, true, 1);
    let out = dir.path().join("csv.csv");
    ok(&predict(
        &w,
        &out,
        &["--input", s(&csv), "--labels", "score", "--header"],
    ));
    let classes = |p: &Path| {
        rows(p)
            .into_iter()
            .map(|r| r["class"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(classes(&out), classes(&idx));
    assert_eq!(accuracy(&out), accuracy(&idx));
    // `ignore` reads past the label; without --labels the row is one too wide.
    let ignored = dir.path().join("ignored.csv");
    ok(&predict(
        &w,
        &ignored,
        &["--input", s(&csv), "--labels", "ignore", "--header"],
    ));
    assert_eq!(classes(&ignored), classes(&idx));
    assert!(!fs::read_to_string(&ignored).unwrap().contains("label"));
    let r = predict(
        &w,
        &dir.path().join("wide.csv"),
        &["--input", s(&csv), "--header"],
    );
    fails(&r);
    says(
        &r,
        &format!(
            "{}:2: 785 columns, expected 784 (the net's input has 784 features)",
            csv.display()
        ),
    );
}

#[test]
fn a_file_larger_than_a_batch_is_predicted_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    // 2500 rows: two whole batches of 1000 and a part, the 100 images 25 times.
    let csv = dir.path().join("big.csv");
    images_csv(&csv, false, false, 25);
    let out = dir.path().join("big-p.csv");
    let r = predict(&w, &out, &["--input", s(&csv)]);
    ok(&r);
    assert!(r.stdout.starts_with("2500 predictions -> "), "{}", r.stdout);
    let rows = rows(&out);
    assert_eq!(rows.len(), 2500);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["sample"], i.to_string());
        // The same image gives the same prediction in whichever batch.
        let same = &rows[i % 100];
        assert_eq!((&row["class"], &row["p3"]), (&same["class"], &same["p3"]));
    }
}

#[test]
fn a_safetensors_x_is_predicted_and_a_wrong_dtype_named() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let pixels = fs::read(IMAGES).unwrap();
    let x: Vec<f32> = pixels[16..16 + 3 * 784]
        .iter()
        .map(|&b| b as f32 / 255.0)
        .collect();
    let batch = dir.path().join("x.safetensors");
    write_x(
        &batch,
        "F32",
        &x.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<_>>(),
    );
    let out = dir.path().join("p.csv");
    ok(&predict(&w, &out, &["--input", s(&batch)]));
    let idx = dir.path().join("idx.csv");
    ok(&predict(&w, &idx, &["--input", IMAGES]));
    assert_eq!(rows(&out)[..], rows(&idx)[..3]);
    let f64s = dir.path().join("f64.safetensors");
    let wide: Vec<u8> = x.iter().flat_map(|&v| (v as f64).to_le_bytes()).collect();
    write_x(&f64s, "F64", &wide);
    let r = predict(&w, &dir.path().join("q.csv"), &["--input", s(&f64s)]);
    fails(&r);
    says(&r, &f64s.display().to_string());
    says(&r, "`x`");
    says(&r, "F64");
}

/// A safetensors file holding `x` [3, 784] of `dtype`.
fn write_x(path: &Path, dtype: &str, data: &[u8]) {
    let mut header = format!(
        r#"{{"x":{{"dtype":"{dtype}","shape":[3,784],"data_offsets":[0,{}]}}}}"#,
        data.len()
    );
    while header.len() % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(data);
    fs::write(path, bytes).unwrap();
}

#[test]
fn bad_inputs_name_the_file_and_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("p.csv");
    let bad = dir.path().join("bad.csv");
    fs::write(&bad, format!("{}x\n", "0,".repeat(783))).unwrap();
    let r = predict(&w, &out, &["--input", s(&bad)]);
    fails(&r);
    says(
        &r,
        &format!("{}:1: column 784: `x` is not a number", bad.display()),
    );
    fs::write(&bad, "1,2,3\n").unwrap();
    let r = predict(&w, &out, &["--input", s(&bad)]);
    fails(&r);
    says(&r, &format!("{}:1: 3 columns, expected 784", bad.display()));
    // An IDX file cut short, gzipped (its length tells nothing beforehand).
    let whole = fs::read(IMAGES).unwrap();
    let cut = dir.path().join("cut-images-idx3-ubyte.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&whole[..whole.len() - 500]).unwrap();
    fs::write(&cut, gz.finish().unwrap()).unwrap();
    let r = predict(&w, &out, &["--input", s(&cut)]);
    fails(&r);
    says(
        &r,
        &format!(
            "{}: truncated: expected 78416 bytes once decompressed, found 77916",
            cut.display()
        ),
    );
    // Labels asked for where there are none beside the images.
    let r = predict(&w, &out, &["--input", s(&cut), "--labels", "score"]);
    fails(&r);
    says(&r, "cut-labels-idx1-ubyte` (or `.gz`) is not there");
    // A labels file given as the images.
    let r = predict(&w, &out, &["--input", LABELS]);
    fails(&r);
    says(&r, "wrong magic number 0x00000801");
    assert!(!out.exists(), "nothing is written on an error");
    // Neither --input nor --test-split is a usage error.
    assert_eq!(
        netc(&["predict", TINY, "--weights", s(&w), "--out", s(&out)]).code,
        2
    );
}

#[test]
fn an_existing_out_is_refused_unless_forced_and_images_must_be_svg() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("p.csv");
    fs::write(&out, "mine").unwrap();
    let r = predict(&w, &out, &["--input", IMAGES]);
    fails(&r);
    says(&r, &format!("error: {} already exists", out.display()));
    assert_eq!(fs::read_to_string(&out).unwrap(), "mine");
    ok(&predict(&w, &out, &["--input", IMAGES, "--force"]));
    assert!(fs::read_to_string(&out).unwrap().starts_with("sample,"));
    let png = dir.path().join("u.png");
    let r = predict(
        &w,
        &dir.path().join("q.csv"),
        &["--input", IMAGES, "--images", s(&png)],
    );
    fails(&r);
    says(&r, "netc predict --images writes SVG only");
}

#[test]
fn images_shows_the_least_certain_samples_most_uncertain_first() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("p.csv");
    let svg = dir.path().join("u.svg");
    let r = predict(
        &w,
        &out,
        &[
            "--input",
            IMAGES,
            "--labels",
            "score",
            "--mc",
            "5",
            "--images",
            s(&svg),
            "--images-count",
            "6",
        ],
    );
    ok(&r);
    let mut by_entropy: Vec<(f64, String)> = rows(&out)
        .into_iter()
        .map(|r| (r["entropy"].parse().unwrap(), r["sample"].clone()))
        .collect();
    by_entropy.sort_by(|a, b| b.0.total_cmp(&a.0));
    let text = fs::read_to_string(&svg).unwrap();
    let doc = roxmltree::Document::parse(&text).unwrap();
    let captions: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .filter(|t| t.starts_with("H "))
        .collect();
    let shown: Vec<String> = captions
        .iter()
        .map(|c| c.rsplit('#').next().unwrap().to_string())
        .collect();
    let want: Vec<String> = by_entropy[..6].iter().map(|(_, s)| s.clone()).collect();
    assert_eq!(shown, want);
    assert!(text.contains("6 least certain of 100 (Monte-Carlo dropout, 5 passes)"));
}

#[test]
fn eval_counts_each_label_against_each_prediction_as_predict_does() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("p.csv");
    ok(&predict(
        &w,
        &out,
        &["--input", IMAGES, "--labels", "score", "--mc", "3"],
    ));
    let r = netc(&[
        "eval",
        TINY,
        "--weights",
        s(&w),
        "--data-dir",
        DATA,
        "--json",
        "--mc",
        "3",
    ]);
    ok(&r);
    let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let mut want = vec![vec![0u64; 10]; 10];
    for row in rows(&out) {
        let (l, p): (usize, usize) = (row["label"].parse().unwrap(), row["class"].parse().unwrap());
        want[l][p] += 1;
    }
    let got: Vec<Vec<u64>> = serde_json::from_value(j["mc"]["confusion"].clone()).unwrap();
    assert_eq!(got, want);
    // Per-class accuracy is the diagonal over the row; a row's total is its class's count.
    let acc = j["scaling"]["per_class_accuracy"].as_array().unwrap();
    let m: Vec<Vec<u64>> = serde_json::from_value(j["scaling"]["confusion"].clone()).unwrap();
    for (l, row) in m.iter().enumerate() {
        let n: u64 = row.iter().sum();
        assert_eq!(acc[l].as_f64().unwrap(), row[l] as f64 / n as f64);
    }
    let diag: u64 = (0..10).map(|l| m[l][l]).sum();
    assert_eq!(
        diag as f64 / 100.0,
        j["scaling"]["accuracy"].as_f64().unwrap()
    );
    // The text shows the same matrix, one row per label.
    let r = netc(&["eval", TINY, "--weights", s(&w), "--data-dir", DATA]);
    ok(&r);
    let first: Vec<String> = m[0].iter().map(u64::to_string).collect();
    assert!(
        r.stdout.contains(
            "confusion matrix, weight scaling (rows: labels, columns: predicted classes)"
        ),
        "{}",
        r.stdout
    );
    let line = r
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("0 "))
        .unwrap();
    let cells: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        cells[1..11],
        first.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
}

#[test]
fn eval_honours_the_files_eval_setting() {
    let dir = tempfile::tempdir().unwrap();
    let tiny = fs::read_to_string(TINY).unwrap();
    let eval_json = |eval: &str, extra: &[&str]| {
        let net = dir.path().join(format!("{}.net", eval.len()));
        fs::write(
            &net,
            tiny.replace("    seed: 1\n", &format!("    seed: 1\n    eval: {eval}\n")),
        )
        .unwrap();
        let run = dir.path().join(format!("run{}", eval.len()));
        if !run.exists() {
            ok(&netc(&[
                "train",
                s(&net),
                "--data-dir",
                DATA,
                "--quiet",
                "--out",
                s(&run),
            ]));
        }
        let w = run.join("model.safetensors");
        let mut args = vec![
            "eval",
            s(&net),
            "--weights",
            s(&w),
            "--data-dir",
            DATA,
            "--json",
        ];
        args.extend_from_slice(extra);
        let r = netc(&args);
        ok(&r);
        let j: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        (j, r.stderr)
    };
    let (j, err) = eval_json("scaling + mc(passes: 3)", &[]);
    assert_eq!(j["mc"]["passes"], 3);
    assert!(j["scaling"]["accuracy"].is_number());
    assert!(err.contains("with 3 passes too, as `eval:` in"), "{err}");
    let (j, _) = eval_json("scaling + mc(passes: 3)", &["--mc", "4"]);
    assert_eq!(j["mc"]["passes"], 4);
    // A file that evaluates by Monte-Carlo dropout alone.
    let (j, _) = eval_json("mc(passes: 2)", &[]);
    assert_eq!(j["mc"]["passes"], 2);
    assert!(j.get("scaling").is_none(), "{j}");
    // --mc asks for both.
    let (j, _) = eval_json("mc(passes: 2)", &["--mc", "2"]);
    assert!(j["scaling"]["accuracy"].is_number(), "{j}");
}

#[test]
fn a_regression_net_writes_its_values_and_scores_their_squared_error() {
    let dir = tempfile::tempdir().unwrap();
    // y = (x0 + x1, x0 - x1) on 200 rows.
    let data = dir.path().join("train.csv");
    let mut text = String::new();
    for i in 0..200 {
        let (a, b) = ((i % 13) as f32 / 13.0, (i % 7) as f32 / 7.0);
        text.push_str(&format!("{a},{b},{},{}\n", a + b, a - b));
    }
    fs::write(&data, &text).unwrap();
    let net = dir.path().join("reg.net");
    fs::write(
        &net,
        format!(
            "net reg v1\ninput x: 2\nlabel y: values(2)\nh = relu(linear(x, 8))\nd = dropout(h, 0.2)\n\
             out = linear(d, 2)\nloss = mse(out, y)\ntrain {{\n    data: csv(\"{}\")\n    batch: 20\n    \
             epochs: 3\n    optimizer: sgd(lr: 0.05)\n    seed: 0\n}}\n",
            data.display()
        ),
    )
    .unwrap();
    let run = dir.path().join("run");
    ok(&netc(&["train", s(&net), "--quiet", "--out", s(&run)]));
    let w = run.join("model.safetensors");
    let out = dir.path().join("p.csv");
    let r = netc(&[
        "predict",
        s(&net),
        "--weights",
        s(&w),
        "--input",
        s(&data),
        "--labels",
        "score",
        "--out",
        s(&out),
        "--mc",
        "4",
    ]);
    ok(&r);
    let rows = rows(&out);
    assert_eq!(
        fs::read_to_string(&out).unwrap().lines().next().unwrap(),
        "sample,y0,y1,variance,target0,target1"
    );
    assert_eq!(rows.len(), 200);
    let mse: f64 = rows
        .iter()
        .map(|r| {
            (0..2)
                .map(|k| {
                    let y: f64 = r[&format!("y{k}")].parse().unwrap();
                    let t: f64 = r[&format!("target{k}")].parse().unwrap();
                    (y - t).powi(2)
                })
                .sum::<f64>()
                / 2.0
        })
        .sum::<f64>()
        / 200.0;
    let said = r.stdout.split("mean squared error ").nth(1).unwrap();
    let said: f64 = said.split_whitespace().next().unwrap().parse().unwrap();
    assert!((said - mse).abs() < 1e-5, "{said} vs {mse}");
    // --images needs classes.
    let r = netc(&[
        "predict",
        s(&net),
        "--weights",
        s(&w),
        "--input",
        s(&data),
        "--out",
        s(&dir.path().join("q.csv")),
        "--images",
        s(&dir.path().join("u.svg")),
    ]);
    fails(&r);
    says(&r, "predicts values");
}

#[test]
fn inputs_are_normalised_as_training_normalised_them() {
    let dir = tempfile::tempdir().unwrap();
    let net = dir.path().join("norm.net");
    let tiny = fs::read_to_string(TINY).unwrap();
    fs::write(
        &net,
        tiny.replace("data: mnist", "data: mnist(normalize: true)"),
    )
    .unwrap();
    let run = dir.path().join("run");
    ok(&netc(&[
        "train",
        s(&net),
        "--data-dir",
        DATA,
        "--quiet",
        "--out",
        s(&run),
    ]));
    let w = run.join("model.safetensors");
    let out = dir.path().join("p.csv");
    let r = netc(&[
        "predict",
        s(&net),
        "--weights",
        s(&w),
        "--input",
        IMAGES,
        "--labels",
        "score",
        "--data-dir",
        DATA,
        "--out",
        s(&out),
    ]);
    ok(&r);
    says(
        &r,
        "the training split's mean and standard deviation are measured",
    );
    let e = netc(&[
        "eval",
        s(&net),
        "--weights",
        s(&w),
        "--data-dir",
        DATA,
        "--json",
    ]);
    ok(&e);
    let j: serde_json::Value = serde_json::from_str(e.stdout.trim()).unwrap();
    assert_eq!(accuracy(&out), j["scaling"]["accuracy"].as_f64().unwrap());
}

#[test]
fn devices_folders_and_missing_files_are_user_errors() {
    let dir = tempfile::tempdir().unwrap();
    let w = weights(dir.path());
    let out = dir.path().join("p.csv");
    let missing = dir.path().join("missing.csv");
    let mut cases = vec![
        (s(dir.path()).to_string(), "Is a directory".to_string()),
        (s(&missing).to_string(), "No such file".to_string()),
    ];
    if Path::new("/dev/zero").exists() {
        cases.push(("/dev/zero".into(), "/dev/zero: wrong magic number".into()));
        cases.push(("/dev/null".into(), "/dev/null: the file is empty".into()));
    }
    for (input, want) in cases {
        let r = predict(&w, &out, &["--input", &input]);
        fails(&r);
        says(&r, &want);
    }
}
