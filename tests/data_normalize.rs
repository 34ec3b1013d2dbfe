//! The data sources' `normalize` option: inputs less the training split's
//! mean, over its standard deviation, on both splits; off by default.

use netc::lang::compare::differences;
use netc::lang::overrides::{Override, parse_and_check_with};
use netc::lang::{Model, parse_and_check, summary};
use netc::train::load_data;

const NET: &str = "net d v1
input x: 8x8
label y: classes(10)
out = linear(flatten(x), 10)
loss = cross_entropy(out, y)
train { data: digits(normalize: true), batch: 8, epochs: 1 }
";

fn model(src: &str) -> Model {
    parse_and_check("d.net", src).unwrap_or_else(|d| panic!("{}", d.render()))
}

/// Mean and (population) standard deviation of every input value of a split.
fn stats(split: &netc::data::Split) -> (f64, f64) {
    let all: Vec<usize> = (0..split.len()).collect();
    let mut x = vec![0.0f32; all.len() * split.features()];
    split.gather_inputs(&all, &mut x).unwrap();
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    (mean, var.sqrt())
}

#[test]
fn normalised_training_inputs_have_mean_0_and_std_1() {
    let set = load_data(&model(NET), &[]).unwrap();
    let (mean, std) = stats(&set.train);
    assert!(mean.abs() < 1e-5, "mean {mean}");
    assert!((std - 1.0).abs() < 1e-5, "std {std}");
    // The held-out split is scaled by the training split's numbers, not its own.
    assert!(set.train.normalization().is_some());
    assert_eq!(set.test.normalization(), set.train.normalization());
}

#[test]
fn normalisation_is_off_by_default() {
    let plain = model(&NET.replace("digits(normalize: true)", "digits"));
    assert!(!plain.train.normalize);
    let set = load_data(&plain, &[]).unwrap();
    assert_eq!(set.train.normalization(), None);
    let (mean, _) = stats(&set.train);
    assert!(mean > 0.1, "raw pixels in [0, 1]: mean {mean}");
}

#[test]
fn the_summary_the_keys_and_resume_see_the_option() {
    let m = model(NET);
    assert!(
        summary(&m).contains("digits(test_fraction: 0.2, normalize: true)"),
        "{}",
        summary(&m)
    );
    let plain = NET.replace("digits(normalize: true)", "digits");
    let set = [Override::parse("normalize=true").unwrap()];
    let (m2, canonical) = parse_and_check_with("d.net", &plain, &set, &|s| s.to_string()).unwrap();
    assert!(m2.train.normalize);
    assert_eq!(canonical, ["normalize=true"]);
    assert!(
        m2.source.contains("digits(normalize: true)"),
        "{}",
        m2.source
    );
    // A run normalised and one not are trained on different data.
    let off = model(&NET.replace("normalize: true", "normalize: false"));
    let d = differences(&m, &off);
    assert_eq!(d.len(), 1, "{d:?}");
}

#[test]
fn synthetic_data_has_no_normalize_option() {
    let src = NET
        .replace("8x8", "64")
        .replace("digits(normalize: true)", "synthetic(normalize: true)");
    let e = parse_and_check("d.net", &src).unwrap_err().render();
    assert!(e.contains("`synthetic` has no option `normalize`"), "{e}");
}
