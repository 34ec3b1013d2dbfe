//! The pictures' axes as a reader sees them: tick labels read distinctly, in
//! order, at round values with 0 written `0`; a sweep's points sit on their
//! values' ticks; trials without a result are marked and named.

use netc::plot::{self, SummaryLine, SummaryPlot};
use netc::run::Row;

/// A text of the SVG, where it is drawn and how.
#[derive(Debug)]
struct Text {
    x: f64,
    y: f64,
    anchor: String,
    size: f64,
    text: String,
}

/// The parts of an SVG the tests look at.
struct Svg {
    texts: Vec<Text>,
    /// (cx, cy, filled) of each circle.
    circles: Vec<(f64, f64, bool)>,
}

fn num(n: roxmltree::Node, a: &str) -> f64 {
    n.attribute(a)
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

fn read(svg: &str) -> Svg {
    let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
    let mut out = Svg {
        texts: Vec::new(),
        circles: Vec::new(),
    };
    for n in doc.descendants() {
        match n.tag_name().name() {
            "text" => out.texts.push(Text {
                x: num(n, "x"),
                y: num(n, "y"),
                anchor: n.attribute("text-anchor").unwrap_or("").into(),
                size: num(n, "font-size"),
                text: n.text().unwrap_or("").trim().into(),
            }),
            "circle" => out.circles.push((
                num(n, "cx"),
                num(n, "cy"),
                n.attribute("fill") != Some("none"),
            )),
            _ => {}
        }
    }
    out
}

/// One axis's tick labels: (position along the axis, text).
type Ticks = Vec<(f64, String)>;

impl Svg {
    /// Tick labels are the smallest texts: right-aligned ones label a y
    /// axis, centred ones an x axis. Returns (x axis, y axis) of the panel
    /// spanning `left..right` pixels.
    fn axes(&self, left: f64, right: f64) -> (Ticks, Ticks) {
        let smallest = self
            .texts
            .iter()
            .map(|t| t.size)
            .fold(f64::INFINITY, f64::min);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for t in &self.texts {
            if t.size != smallest || t.x < left || t.x >= right {
                continue;
            }
            match t.anchor.as_str() {
                "end" => y.push((t.y, t.text.clone())),
                "middle" => x.push((t.x, t.text.clone())),
                _ => {}
            }
        }
        x.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Up the y axis: the largest pixel row first.
        y.sort_by(|a, b| b.0.total_cmp(&a.0));
        (x, y)
    }

    fn has_text(&self, s: &str) -> bool {
        self.texts.iter().any(|t| t.text == s)
    }
}

/// Labels all different, evenly spaced in pixels.
fn assert_distinct_and_even(what: &str, ticks: &Ticks) {
    for (i, a) in ticks.iter().enumerate() {
        assert!(ticks[..i].iter().all(|b| b.1 != a.1), "{what}: {ticks:?}");
    }
    for w in ticks.windows(2) {
        let dp = w[1].0 - w[0].0;
        assert!(
            (dp - (ticks[1].0 - ticks[0].0)).abs() <= 1.5,
            "{what}: {ticks:?}"
        );
    }
}

/// Ticks read as numbers, each distinct, increasing along the axis, evenly
/// spaced in value and in pixels.
fn assert_good_axis(what: &str, ticks: &Ticks) {
    assert_distinct_and_even(what, ticks);
    assert!(ticks.len() >= 2, "{what}: {ticks:?}");
    let values: Vec<f64> = ticks
        .iter()
        .map(|(_, t)| {
            t.parse()
                .unwrap_or_else(|_| panic!("{what}: {t:?} is not a number"))
        })
        .collect();
    for (i, w) in values.windows(2).enumerate() {
        assert!(w[0] < w[1], "{what}: {ticks:?}");
        assert_ne!(ticks[i].1, ticks[i + 1].1, "{what}: {ticks:?}");
    }
    let step = values[1] - values[0];
    let px = ticks[1].0 - ticks[0].0;
    for i in 1..values.len() {
        let dv = values[i] - values[i - 1];
        assert!((dv - step).abs() <= 1e-9 * step.abs(), "{what}: {ticks:?}");
        let dp = ticks[i].0 - ticks[i - 1].0;
        assert!((dp - px).abs() <= 1.5, "{what}: uneven spacing {ticks:?}");
    }
    // A round step: 1, 2 or 5 times a power of ten.
    let mantissa = step / 10f64.powf(step.log10().floor());
    assert!(
        [1.0, 2.0, 5.0, 10.0]
            .iter()
            .any(|m| (mantissa - m).abs() < 1e-6),
        "{what}: step {step} in {ticks:?}"
    );
    for (_, t) in ticks {
        assert!(
            !t.starts_with("-0") || t.parse::<f64>().unwrap() != 0.0,
            "{what}: {t}"
        );
        if t.parse::<f64>().unwrap() == 0.0 {
            assert_eq!(t, "0", "{what}");
        }
    }
}

fn row(epoch: f64, loss: f64, penalty: f64, train: f64, test: f64) -> Row {
    Row {
        epoch,
        step: (epoch * 10.0) as u64,
        train_loss: loss,
        penalties: vec![penalty],
        train_acc: Some(train),
        test_loss: loss + 0.1,
        test_acc: Some(test),
        seconds: 1.0,
        ..Row::default()
    }
}

/// Panel width of `curves.svg`.
const PANEL: f64 = 440.0;

#[test]
fn a_one_epoch_run_has_distinct_ticks_on_every_axis() {
    let rows = [row(1.0, 0.31, 1.2e-5, 0.948, 0.947)];
    let svg = read(&plot::curves("tiny", &["1e-4 * l1(h)".into()], &rows).unwrap());
    for (k, name) in ["loss", "accuracy", "penalties"].iter().enumerate() {
        let (x, y) = svg.axes(k as f64 * PANEL, (k + 1) as f64 * PANEL);
        assert_good_axis(&format!("{name} x"), &x);
        assert_good_axis(&format!("{name} y"), &y);
        // The one epoch is on the x axis.
        assert!(x.iter().any(|(_, t)| t.parse::<f64>() == Ok(1.0)), "{x:?}");
    }
    // Both accuracies, 94.8 and 94.7, fall between distinct ticks.
    let (_, acc) = svg.axes(PANEL, 2.0 * PANEL);
    let v: Vec<f64> = acc.iter().map(|(_, t)| t.parse().unwrap()).collect();
    assert!(v[0] <= 94.7 && *v.last().unwrap() >= 94.8, "{acc:?}");
}

#[test]
fn a_penalty_axis_from_zero_reads_zero() {
    // A penalty that is 0 at first (and float noise around it) then grows.
    let rows = [
        row(1.0, 0.9, -3.5e-18, 0.5, 0.5),
        row(2.0, 0.5, 4.0e-6, 0.8, 0.8),
        row(3.0, 0.4, 1.1e-5, 0.9, 0.85),
    ];
    let svg = read(&plot::curves("tiny", &["1e-4 * l1(h)".into()], &rows).unwrap());
    let (x, y) = svg.axes(2.0 * PANEL, 3.0 * PANEL);
    assert_good_axis("penalty x", &x);
    assert_good_axis("penalty y", &y);
    assert!(y.iter().any(|(_, t)| t == "0"), "{y:?}");
    assert!(y.iter().all(|(_, t)| !t.contains("e-18")), "{y:?}");
    let (_, acc) = svg.axes(PANEL, 2.0 * PANEL);
    assert_good_axis("accuracy y", &acc);
}

#[test]
fn validation_curves_and_a_moving_rate_and_momentum_are_drawn() {
    let mut rows: Vec<Row> = (1..=4)
        .map(|e| row(e as f64, 1.0 / e as f64, 0.0, 0.8, 0.7))
        .collect();
    let constant = read(&plot::curves("run", &[], &rows).unwrap());
    assert!(!constant.has_text("validation") && !constant.has_text("learning rate"));
    for (i, r) in rows.iter_mut().enumerate() {
        r.val_loss = Some(0.5 + 0.1 * i as f64);
        r.val_acc = Some(0.6);
        r.lr = Some(0.1 / (1 << i) as f64);
        r.momentum = Some(0.5 + 0.1 * i as f64);
    }
    let svg = read(&plot::curves("run", &[], &rows).unwrap());
    assert!(svg.has_text("validation"));
    // loss, accuracy, then the rate and the momentum, each on good axes.
    for (k, name) in ["learning rate", "momentum"].iter().enumerate() {
        assert!(svg.has_text(name), "{name}");
        let left = (k + 2) as f64 * PANEL;
        let (x, y) = svg.axes(left, left + PANEL);
        assert_good_axis(&format!("{name} x"), &x);
        assert_good_axis(&format!("{name} y"), &y);
    }
}

/// A sweep of d.p over two settings of h1.units, with one trial missing and
/// another setting's only trial missing (values as planned: not sorted).
fn partial_sweep() -> SummaryPlot {
    let cell = |m: f64| Some((m, 0.5));
    SummaryPlot {
        title: "tiny".into(),
        x_key: "d.p".into(),
        x_values: vec!["0.5".into(), "0".into(), "0.25".into()],
        panels: vec![
            ("test accuracy".into(), "test accuracy (%)".into()),
            (
                "generalisation gap".into(),
                "train − test accuracy (points)".into(),
            ),
        ],
        lines: vec![
            SummaryLine {
                label: "h1.units=16".into(),
                values: vec![
                    vec![cell(95.0), cell(96.0), cell(95.5)],
                    vec![cell(1.0), cell(3.0), cell(2.0)],
                ],
                partial: vec![true, false, false],
            },
            SummaryLine {
                label: "h1.units=32".into(),
                values: vec![
                    vec![cell(96.5), cell(97.0), None],
                    vec![cell(0.5), cell(2.5), None],
                ],
                partial: vec![false, false, false],
            },
        ],
        bars: "mean ± std over 2 seeds".into(),
        planned: 12,
        missing: vec![
            "d.p=0.5 h1.units=16 seed 1".into(),
            "d.p=0.25 h1.units=32 seed 0".into(),
            "d.p=0.25 h1.units=32 seed 1".into(),
        ],
    }
}

#[test]
fn a_sweep_puts_each_setting_on_its_value_and_marks_what_is_missing() {
    let svg = read(&plot::summary(&partial_sweep()).unwrap());
    let (x, y) = svg.axes(0.0, 460.0);
    // The values as written, in numeric order, evenly spaced.
    let labels: Vec<&str> = x.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(labels, ["0", "0.25", "0.5"]);
    assert_distinct_and_even("sweep x", &x);
    assert_good_axis("sweep y", &y);
    let spacing = x[1].0 - x[0].0;

    // Points of the first panel: each line DODGE of the spacing either side
    // of its value's tick, the same in every column.
    // (The legend, below the panels at 420 px, has a ring as its key.)
    let left: Vec<(f64, f64, bool)> = svg
        .circles
        .iter()
        .copied()
        .filter(|c| c.0 < 460.0 && c.1 < 420.0)
        .collect();
    let offset = plot::DODGE * spacing / 2.0;
    let near = |cx: f64, want: f64| (cx - want).abs() <= 1.5;
    for (i, (tx, label)) in x.iter().enumerate() {
        let here: Vec<_> = left
            .iter()
            .filter(|c| (c.0 - tx).abs() < spacing / 2.0)
            .collect();
        assert!(
            here.iter().any(|c| near(c.0, tx - offset)),
            "no point of the first line at {label}: {here:?} (tick at {tx})"
        );
        // The second line has no result at 0.25.
        let second = here.iter().any(|c| near(c.0, tx + offset));
        assert_eq!(second, i != 1, "{label}: {here:?}");
    }
    // The point measured on fewer seeds than planned is a ring, at d.p=0.5.
    let rings: Vec<_> = left.iter().filter(|c| !c.2).collect();
    assert_eq!(rings.len(), 1, "{left:?}");
    assert!(near(rings[0].0, x[2].0 - offset), "{rings:?} {x:?}");
    assert!(svg.has_text("fewer seeds finished than planned"));
    let texts: Vec<&str> = svg.texts.iter().map(|t| t.text.as_str()).collect();
    let note = texts
        .iter()
        .position(|t| t.starts_with("3 of 12 trials have no result:"))
        .unwrap_or_else(|| panic!("no note of the missing trials: {texts:?}"));
    assert_eq!(
        texts[note..].join(" "),
        "3 of 12 trials have no result: d.p=0.5 h1.units=16 seed 1, \
         d.p=0.25 h1.units=32 seed 0, d.p=0.25 h1.units=32 seed 1"
    );
}

#[test]
fn a_complete_sweep_has_no_missing_mark() {
    let mut p = partial_sweep();
    for l in &mut p.lines {
        l.partial = vec![false; 3];
    }
    p.lines[1].values = vec![vec![Some((96.5, 0.5)); 3], vec![Some((0.5, 0.5)); 3]];
    p.missing.clear();
    let svg = read(&plot::summary(&p).unwrap());
    assert!(svg.circles.iter().all(|c| c.2));
    assert!(!svg.texts.iter().any(|t| t.text.contains("no result")));
    assert!(!svg.has_text("fewer seeds finished than planned"));
}

#[test]
fn many_missing_trials_are_named_in_a_few_lines_then_counted() {
    let mut p = partial_sweep();
    p.planned = 400;
    p.missing = (0..300)
        .map(|s| format!("d.p=0.5 h1.units=16 seed {s}"))
        .collect();
    let svg = read(&plot::summary(&p).unwrap());
    let texts: Vec<&str> = svg.texts.iter().map(|t| t.text.as_str()).collect();
    let note = texts
        .iter()
        .position(|t| t.starts_with("300 of 400 trials have no result: d.p=0.5"))
        .unwrap_or_else(|| panic!("{texts:?}"));
    let lines = &texts[note..];
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| l.chars().count() <= 100), "{lines:?}");
    assert!(lines[2].ends_with(" more"), "{lines:?}");
}
