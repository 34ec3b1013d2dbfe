//! Training controls end to end, through the library: the scheduled rate and
//! ramped momentum in metrics, clipping counted, max-norm kept, the
//! validation split, early stopping with its best weights, and resuming all
//! of it bit for bit.

mod common;

use common::Tensors;
use netc::run::{Row, RunDir};
use netc::train::{Config, Observer, Outcome, TrainError, train};
use std::path::Path;

/// Random inputs with random labels: nothing to learn, everything to
/// memorise, so the validation loss soon rises.
fn noise_net(train_block: &str) -> String {
    format!(
        "net noise v1\ninput x: 16\nlabel y: classes(4)\n\
         h = relu(linear(x, 64))\nout = linear(h, 4)\nloss = cross_entropy(out, y)\n\
         train {{\n    data: synthetic(samples: 160, test_samples: 40)\n    batch: 16\n{train_block}\n}}\n"
    )
}

/// Stops listening at its `stop_at`-th evaluation (0: never).
struct StopAt(usize, usize);

impl Observer for StopAt {
    fn evaluated(&mut self, _: &Row, _: &[String]) -> bool {
        self.1 += 1;
        self.1 != self.0
    }
}

fn run(src: &str, dir: &Path, resume: bool, stop_at: usize) -> Result<Outcome, TrainError> {
    let model = netc::lang::parse_and_check("t.net", src).unwrap();
    let config = Config {
        dir: dir.to_path_buf(),
        threads: 1,
        resume: resume.then(|| RunDir::new(dir).checkpoint),
        ..Config::default()
    };
    train(&model, &config, &mut StopAt(stop_at, 0))
}

fn metrics(dir: &Path) -> Vec<Row> {
    let text = std::fs::read_to_string(RunDir::new(dir).metrics).unwrap();
    netc::run::metrics::read(&text).unwrap().1
}

#[test]
fn the_rate_and_momentum_in_force_are_metrics_columns() {
    let src = noise_net(
        "    epochs: 4\n    optimizer: sgd(lr: 0.1)\n    schedule: step(every: 1, gamma: 0.5)\n\
         \x20   warmup: 1\n    warmup_start: 0.2\n    momentum_ramp: ramp(0.5, 0.9, epochs: 2)",
    );
    let tmp = tempfile::tempdir().unwrap();
    run(&src, tmp.path(), false, 0).unwrap();
    let rows = metrics(tmp.path());
    let lr: Vec<f64> = rows.iter().map(|r| r.lr.unwrap()).collect();
    let momentum: Vec<f64> = rows.iter().map(|r| r.momentum.unwrap()).collect();
    // Epoch 0 warms up at 0.2 of the rate; StepLR halves it every epoch.
    let want = [0.1 * 0.2, 0.05, 0.025, 0.0125];
    for (g, w) in lr.iter().zip(want) {
        assert!((g - w).abs() < 1e-15, "{lr:?}");
    }
    assert_eq!(momentum, [0.5, 0.7, 0.9, 0.9]);
}

#[test]
fn clipping_is_counted_and_max_norm_holds_in_the_trained_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let src = noise_net(
        "    epochs: 3\n    optimizer: sgd(lr: 0.5, momentum: 0.9)\n    clip_grad_norm: 1e-3\n    max_norm: 0.4",
    )
    .replace("linear(x, 64)", "linear(x, 64, max_norm: 0.25)");
    let o = run(&src, tmp.path(), false, 0).unwrap();
    // A bound this small clips every step.
    assert_eq!(o.clipped, Some(o.steps));
    assert_eq!(metrics(tmp.path())[0].clipped, Some(10));
    let t = Tensors::read(&RunDir::new(tmp.path()).model);
    for (name, c) in [("h.weight", 0.25), ("out.weight", 0.4)] {
        let (dims, w) = t.get(name);
        let norms: Vec<f64> = w
            .chunks(dims[1])
            .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect();
        assert!(norms.iter().all(|&n| n <= c), "{name}: {norms:?}");
        // The bound binds: the large rate pushed some row to it.
        assert!(norms.iter().any(|&n| n > 0.99 * c), "{name}: {norms:?}");
    }
    let loose = noise_net("    epochs: 1\n    clip_grad_norm: 1e6");
    assert_eq!(
        run(&loose, &tmp.path().join("b"), false, 0)
            .unwrap()
            .clipped,
        Some(0)
    );
}

/// A wide net on a tenth of the digits, half of which held out to validate:
/// the validation loss falls for a few epochs, then rises as it memorises.
fn early_net(extra: &str) -> String {
    format!(
        "net small v1\ninput x: 8x8\nlabel y: classes(10)\nh = relu(linear(flatten(x), 128))\n\
         out = linear(h, 10)\nloss = cross_entropy(out, y)\ntrain {{\n    data: digits(test_fraction: 0.9)\n\
         \x20   batch: 16\n    epochs: 100\n    optimizer: adam(lr: 0.01)\n    validation: 0.5\n\
         \x20   early_stop: val_loss(patience: 4)\n{extra}}}\n"
    )
}

#[test]
fn a_rising_validation_loss_stops_the_run_and_keeps_the_best_weights() {
    let tmp = tempfile::tempdir().unwrap();
    let o = run(&early_net(""), tmp.path(), false, 0).unwrap();
    let rows = metrics(tmp.path());
    assert!(o.stopped_early && rows.len() < 100, "{} rows", rows.len());
    // The best is the lowest validation loss, and the run stopped `patience` after it.
    let val: Vec<f64> = rows.iter().map(|r| r.val_loss.unwrap()).collect();
    let best = (0..val.len())
        .min_by(|&a, &b| val[a].total_cmp(&val[b]))
        .unwrap();
    assert_eq!(rows.len(), best + 1 + 4, "{val:?}");
    let best_row = o.best.clone().map(|r| Row { seconds: 0.0, ..r });
    assert_eq!(
        best_row,
        Some(Row {
            seconds: 0.0,
            ..rows[best].clone()
        })
    );
    // The loss fell before it rose.
    assert!(best >= 2, "{val:?}");
    // Validation: 90 of the 180 training samples; 90 left make 6 steps an epoch.
    assert_eq!(rows[0].step, 6);
    let files = RunDir::new(tmp.path());
    let best_file = netc::checkpoint::read_tensors(&files.best).unwrap();
    assert_eq!(best_file.metadata()["step"], rows[best].step.to_string());
    assert_ne!(
        std::fs::read(&files.best).unwrap(),
        std::fs::read(&files.model).unwrap()
    );
    // The same file and seed carve the same split: the same run again.
    let again = tempfile::tempdir().unwrap();
    run(&early_net(""), again.path(), false, 0).unwrap();
    assert_eq!(
        std::fs::read(&files.best).unwrap(),
        std::fs::read(RunDir::new(again.path()).best).unwrap()
    );
    // Another seed, another split (and other losses).
    let other = early_net("    seed: 5\n");
    run(&other, &tmp.path().join("s5"), false, 0).unwrap();
    assert_ne!(
        metrics(&tmp.path().join("s5"))[0].val_loss,
        rows[0].val_loss
    );
}

#[test]
fn resuming_keeps_the_best_weights_and_the_early_stop_count_bit_for_bit() {
    let whole = tempfile::tempdir().unwrap();
    run(&early_net(""), whole.path(), false, 0).unwrap();
    let want = metrics(whole.path());
    let lowest = want
        .iter()
        .filter_map(|r| r.val_loss)
        .fold(f64::INFINITY, f64::min);
    let best_at = want
        .iter()
        .position(|r| r.val_loss == Some(lowest))
        .unwrap();
    assert!(best_at >= 2);
    // Interrupted before the best, just after it (the count under way), and
    // at the last evaluation (a finished run has nothing left).
    for stop_at in [1, best_at + 2, want.len()] {
        let tmp = tempfile::tempdir().unwrap();
        let first = run(&early_net(""), tmp.path(), false, stop_at).unwrap();
        assert!(first.output_closed, "{stop_at}");
        let o = run(&early_net(""), tmp.path(), true, 0).unwrap();
        assert!(o.stopped_early);
        assert_eq!(o.nothing_left, stop_at == want.len());
        let (a, b) = (RunDir::new(whole.path()), RunDir::new(tmp.path()));
        for (x, y) in [(&a.model, &b.model), (&a.best, &b.best)] {
            assert!(
                std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
                "{stop_at}: {}",
                y.display()
            );
        }
        let strip = |rows: Vec<Row>| -> Vec<Row> {
            rows.into_iter()
                .map(|r| Row { seconds: 0.0, ..r })
                .collect()
        };
        assert_eq!(strip(metrics(tmp.path())), strip(want.clone()), "{stop_at}");
    }
}

#[test]
fn a_validation_split_that_leaves_nothing_to_train_on_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let src = noise_net("    epochs: 1\n    validation: 160");
    let e = run(&src, tmp.path(), false, 0).unwrap_err();
    assert!(
        e.to_string()
            .contains("holds out 160 of the 160 training samples"),
        "{e}"
    );
}

#[test]
fn resuming_keeps_the_schedule_ramp_clipping_and_max_norm_bit_for_bit() {
    let src = noise_net(
        "    epochs: 6\n    optimizer: sgd(lr: 0.2)\n    schedule: cosine(min_lr: 0.01)\n\
         \x20   warmup: 2\n    momentum_ramp: ramp(0.5, 0.95, epochs: 4)\n    clip_grad_norm: 0.5\n\
         \x20   max_norm: 0.6\n    validation: 32",
    );
    let whole = tempfile::tempdir().unwrap();
    run(&src, whole.path(), false, 0).unwrap();
    let cut = tempfile::tempdir().unwrap();
    assert!(run(&src, cut.path(), false, 3).unwrap().output_closed);
    run(&src, cut.path(), true, 0).unwrap();
    let (a, b) = (RunDir::new(whole.path()), RunDir::new(cut.path()));
    for (x, y) in [(&a.model, &b.model), (&a.best, &b.best)] {
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{}",
            y.display()
        );
    }
    let strip = |rows: Vec<Row>| -> Vec<Row> {
        rows.into_iter()
            .map(|r| Row { seconds: 0.0, ..r })
            .collect()
    };
    let rows = strip(metrics(cut.path()));
    assert_eq!(rows, strip(metrics(whole.path())));
    assert!(rows.iter().any(|r| r.clipped.unwrap() > 0), "{rows:?}");
}

#[test]
fn max_norm_holds_each_filter_of_a_convolution() {
    let tmp = tempfile::tempdir().unwrap();
    let src = "net convnorm v1\ninput x: 1x8x8\nlabel y: classes(4)\n\
               c1 = relu(conv2d(x, 4, 3, max_norm: 0.3))\nc2 = relu(conv2d(c1, 4, 3))\n\
               out = linear(flatten(c2), 4)\nloss = cross_entropy(out, y)\n\
               train {\n    data: synthetic(samples: 160, test_samples: 40)\n    batch: 16\n\
               \x20   epochs: 3\n    optimizer: sgd(lr: 0.5, momentum: 0.9)\n    max_norm: 0.5\n}\n";
    run(src, tmp.path(), false, 0).unwrap();
    let t = Tensors::read(&RunDir::new(tmp.path()).model);
    // A filter is all of one output channel's weights: `[in, k, k]` of `[out, in, k, k]`.
    for (name, c) in [("c1.weight", 0.3), ("c2.weight", 0.5), ("out.weight", 0.5)] {
        let (dims, w) = t.get(name);
        let row: usize = dims[1..].iter().product();
        let norms: Vec<f64> = w
            .chunks(row)
            .map(|r| r.iter().map(|v| v * v).sum::<f64>().sqrt())
            .collect();
        assert_eq!(norms.len(), dims[0], "{name}");
        assert!(norms.iter().all(|&n| n <= c), "{name}: {norms:?}");
        assert!(norms.iter().any(|&n| n > 0.99 * c), "{name}: {norms:?}");
    }
}
