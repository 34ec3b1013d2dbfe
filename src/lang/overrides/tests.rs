use super::*;
use crate::data::DataSpec;
use crate::lang::model::{DropoutMode, Expr, Layer, Length, OptimizerConfig};

const NET: &str = "\
net t v1
input x: 8x8
label y: classes(10)
h1 = relu(linear(flatten(x), 32))
d = dropout(h1, 0.5)
out = linear(d, 10)
loss = cross_entropy(out, y) + 0.5 * l1(h1)
train {
    data: digits
    batch: 16
    epochs: 3
    optimizer: adam(lr: 1e-3)
    seed: 0
}
";

fn sets(args: &[&str]) -> Vec<Override> {
    args.iter().map(|a| Override::parse(a).unwrap()).collect()
}

/// How these tests' overrides were given: the library words them only so.
fn given(set: &str) -> String {
    format!("given {set}")
}

fn with(src: &str, args: &[&str]) -> Result<(Model, Vec<String>), SetError> {
    parse_and_check_with("t.net", src, &sets(args), &given)
}

fn model(src: &str, args: &[&str]) -> Model {
    match with(src, args) {
        Ok((m, _)) => m,
        Err(e) => panic!("{e}"),
    }
}

fn dropout_p(m: &Model, name: &str) -> (f64, DropoutMode) {
    match &m.binding(name).unwrap().expr {
        Expr::Dropout { p, mode, .. } => (*p, *mode),
        e => panic!("not a dropout: {e}"),
    }
}

fn err(src: &str, args: &[&str]) -> String {
    match with(src, args) {
        Ok(_) => panic!("{args:?} should fail"),
        Err(SetError::Check(d)) => d.render(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_dropout_probability_replaces_the_number_as_written() {
    let (m, applied) = with(NET, &["d.p=0.2"]).unwrap();
    assert_eq!(dropout_p(&m, "d").0, 0.2);
    assert!(m.source.contains("d = dropout(h1, 0.2)\n"));
    assert_eq!(applied, ["d.p=0.2"]);
    // Everything else is untouched, comments and layout included.
    assert_eq!(m.source.len(), NET.len());
}

#[test]
fn absent_arguments_are_inserted_named() {
    let src = NET.replace("dropout(h1, 0.5)", "dropout(h1)");
    let m = model(&src, &["d.p=0.1", "d.mode=classic", "h1.bias=false"]);
    assert_eq!(dropout_p(&m, "d"), (0.1, DropoutMode::Classic));
    assert!(m.source.contains("dropout(h1, p: 0.1, mode: classic)"));
    assert!(matches!(
        m.binding("h1").unwrap().layer,
        Some(Layer::Linear { bias: false, .. })
    ));
    // A trailing comma already there is kept, not doubled.
    let src = NET.replace("dropout(h1, 0.5)", "dropout(h1,)");
    let m = model(&src, &["d.p=0.3"]);
    assert!(m.source.contains("dropout(h1, p: 0.3)"), "{}", m.source);
}

#[test]
fn a_width_change_is_checked_through_every_shape() {
    let m = model(NET, &["h1.units=256"]);
    assert_eq!(m.binding("h1").unwrap().shape, vec![256]);
    assert_eq!(m.binding("d").unwrap().shape, vec![256]);
    assert!(matches!(
        m.binding("out").unwrap().layer,
        Some(Layer::Linear { inputs: 256, .. })
    ));
    // The output width must still match the label's classes.
    let e = err(NET, &["out.units=7"]);
    assert!(e.contains("shape [7]"), "{e}");
    assert!(e.contains("note: checked with `given out.units=7`"), "{e}");
    // A shape error away from the edited number still names the override.
    let src = NET.replace(
        "d = dropout(h1, 0.5)",
        "h2 = relu(linear(h1, 32))\nd = dropout(h1 + h2, 0.5)",
    );
    let e = err(&src, &["h2.units=16"]);
    assert!(e.contains("[32]") && e.contains("[16]"), "{e}");
    assert!(e.contains("given h2.units=16"), "{e}");
}

#[test]
fn penalty_coefficients_have_a_key_in_both_spellings() {
    let m = model(NET, &["l1(h1)=0.01"]);
    assert_eq!(m.loss.penalties[0].coef, 0.01);
    let m = model(NET, &["l1.h1=0"]);
    assert_eq!(m.loss.penalties[0].coef, 0.0);
    // Without a coefficient, one is written in.
    let src = NET.replace("0.5 * l1(h1)", "l1(h1)");
    let m = model(&src, &["l1(h1)=2"]);
    assert!(m.source.contains("+ 2 * l1(h1)"), "{}", m.source);
    // A penalty the loss lacks is added.
    let (m, applied) = with(NET, &["sumsq(out.weight)=1e-4"]).unwrap();
    assert_eq!(m.loss.penalties.len(), 2);
    assert_eq!(m.loss.penalties[1].label(), "sumsq(out.weight)");
    assert_eq!(applied, ["sumsq(out.weight)=1e-4"]);
    // ... and checked like one written in the file.
    let e = err(NET, &["l2(h9)=0.1"]);
    assert!(e.contains("h9") && e.contains("given l2(h9)=0.1"), "{e}");
}

#[test]
fn train_settings_and_optimizer_options_are_bare_keys() {
    let m = model(
        NET,
        &["batch=64", "epochs=5", "seed=7", "lr=0.01", "eps=1e-6"],
    );
    assert_eq!(m.train.batch, 64);
    assert_eq!(m.train.length, Length::Epochs(5));
    assert_eq!(m.train.seed, 7);
    let OptimizerConfig::Adam(a) = m.train.optimizer else {
        panic!("not adam")
    };
    assert_eq!((a.lr, a.eps), (0.01, 1e-6));
    // The long spelling works too.
    let m = model(NET, &["optimizer.lr=0.5"]);
    assert_eq!(m.train.optimizer.lr(), 0.5);
}

#[test]
fn steps_replace_epochs_and_absent_settings_are_added() {
    let m = model(NET, &["steps=40"]);
    assert_eq!(m.train.length, Length::Steps(40));
    let src = NET
        .replace("    batch: 16\n", "")
        .replace("    optimizer: adam(lr: 1e-3)\n", "");
    let m = model(&src, &["batch=8", "momentum=0.9", "lr=0.1"]);
    assert_eq!(m.train.batch, 8);
    let OptimizerConfig::Sgd(s) = m.train.optimizer else {
        panic!("not sgd")
    };
    assert_eq!((s.lr, s.momentum), (0.1, 0.9));
    assert!(
        m.source.contains("optimizer: sgd(momentum: 0.9, lr: 0.1)"),
        "{}",
        m.source
    );
    // A one-line block with a trailing comma.
    let src = NET.replace(
        "train {\n    data: digits\n    batch: 16\n    epochs: 3\n    optimizer: adam(lr: 1e-3)\n    seed: 0\n}",
        "train { data: digits, }",
    );
    let m = model(&src, &["batch=4"]);
    assert!(
        m.source.contains("train { data: digits, batch: 4 }"),
        "{}",
        m.source
    );
}

#[test]
fn data_source_and_monte_carlo_settings() {
    let src = NET.replace("    seed: 0\n", "    seed: 0\n    eval: scaling + mc\n");
    let m = model(&src, &["data.test_fraction=0.5", "passes=3"]);
    assert_eq!(m.train.data, DataSpec::Digits { test_fraction: 0.5 });
    assert_eq!(m.train.eval.mc_passes, Some(3));
    assert!(m.source.contains("data: digits(test_fraction: 0.5)"));
    assert!(m.source.contains("mc(passes: 3)"));
    let m = model(&m.source, &["test_fraction=0.25", "eval.passes=5"]);
    assert_eq!(m.train.eval.mc_passes, Some(5));
}

/// The hint and the file's keys of an unknown key's error.
fn unknown(src: &str, arg: &str) -> (Option<KeyHint>, Vec<String>) {
    match with(src, &[arg]) {
        Err(SetError::Override(OverrideError::UnknownKey {
            hint, known, key, ..
        })) => {
            assert_eq!(Override::parse(arg).unwrap().key, key);
            (hint.map(|h| *h), known)
        }
        other => panic!("{arg}: {other:?}"),
    }
}

#[test]
fn an_unknown_key_is_an_error_with_a_suggestion() {
    let e = err(NET, &["d.pp=0.2"]);
    assert_eq!(e, "unknown key `d.pp` in override `d.pp=0.2`");
    let (hint, known) = unknown(NET, "d.pp=0.2");
    assert_eq!(hint, Some(KeyHint::DidYouMean("d.p".into())));
    assert!(known.contains(&"h1.units".into()) && known.contains(&"lr".into()));
    let (hint, _) = unknown(NET, "bacth=3");
    assert_eq!(hint.unwrap().to_string(), "did you mean `batch`?");
    // A binding without that setting says what it has.
    let (hint, _) = unknown(NET, "h1.p=0.2");
    assert_eq!(
        hint.unwrap().to_string(),
        "`h1` has no `p`; its keys are `h1.units`, `h1.bias`, `h1.max_norm`"
    );
    // A setting of another optimizer.
    let (hint, _) = unknown(NET, "momentum=0.9");
    assert_eq!(
        hint.unwrap().to_string(),
        "`momentum` is a setting of `sgd`, not of this file's optimizer"
    );
}

#[test]
fn a_whole_construct_is_not_a_key() {
    for (set, what) in [
        ("optimizer=adam", "optimizer"),
        ("data=mnist", "data source"),
        ("loss=mse", "loss"),
    ] {
        match unknown(NET, set).0 {
            Some(KeyHint::Construct { what: w, .. }) => assert_eq!(w, what, "{set}"),
            h => panic!("{set}: {h:?}"),
        }
    }
}

#[test]
fn no_override_error_names_a_flag() {
    let cases: [&[&str]; 5] = [
        &["d.pp=0.2"],
        &["optimizer=adam"],
        &["d.p=half"],
        &["d.p=0.1", "d.p=0.2"],
        &["epochs=2", "steps=9"],
    ];
    for args in cases {
        match with(NET, args) {
            Err(SetError::Override(e)) => {
                let text = format!("{e} {:?}", e);
                assert!(!text.contains("--"), "{args:?}: {text}");
            }
            other => panic!("{args:?}: {other:?}"),
        }
    }
    let e = Override::parse("d.p").unwrap_err().to_string();
    assert_eq!(e, "override `d.p`: expected KEY=VALUE, e.g. `d.p=0.2`");
}

#[test]
fn a_bad_value_is_an_error_naming_the_key() {
    let e = err(NET, &["d.p=half"]);
    assert_eq!(e, "override `d.p=half`: `d.p` takes a number, not `half`");
    let e = err(NET, &["h1.bias=1"]);
    assert!(e.contains("`h1.bias` takes `true` or `false`"), "{e}");
    let e = err(NET, &["d.mode=scaled"]);
    assert!(e.contains("one of `inverted`, `classic`"), "{e}");
    // Out of range: the checker's own message, pointing at the new value.
    let e = err(NET, &["d.p=1.5"]);
    assert!(e.contains("d = dropout(h1, 1.5)"), "{e}");
    assert!(
        e.contains("note: this value comes from `given d.p=1.5`"),
        "{e}"
    );
    let e = err(NET, &["batch=0"]);
    assert!(
        e.contains("note: this value comes from `given batch=0`"),
        "{e}"
    );
    assert!(matches!(
        Override::parse("d.p"),
        Err(OverrideError::Syntax { .. })
    ));
    assert!(matches!(
        Override::parse("=3"),
        Err(OverrideError::Syntax { .. })
    ));
}

#[test]
fn a_key_set_twice_or_ambiguous_is_refused() {
    let e = err(NET, &["d.p=0.1", "d.p=0.2"]);
    assert!(e.contains("`d.p` is set twice"), "{e}");
    let e = err(NET, &["l1(h1)=0.1", "l1.h1=0.2"]);
    assert!(e.contains("`l1(h1)` is set twice"), "{e}");
    let e = err(NET, &["epochs=2", "steps=9"]);
    assert!(e.contains("ambiguous"), "{e}");
    let src = NET.replace("dropout(h1, 0.5)", "dropout(dropout(h1, 0.1), 0.5)");
    let e = err(&src, &["d.p=0.2"]);
    assert!(e.contains("ambiguous"), "{e}");
}

#[test]
fn a_file_with_syntax_errors_reports_them_unchanged() {
    let src = NET.replace("d = dropout", "d dropout");
    let e = err(&src, &["d.p=0.2"]);
    assert!(e.contains("expected `=`"), "{e}");
    assert!(!e.contains("given"), "{e}");
}

#[test]
fn keys_lists_every_setting_with_its_value() {
    let k = keys(NET);
    let find = |key: &str| {
        k.iter()
            .find(|i| i.key == key)
            .unwrap_or_else(|| panic!("{key}"))
    };
    assert_eq!(find("h1.units").value, "32");
    assert_eq!(find("d.p").value, "0.5");
    assert_eq!(find("d.mode").value, "default inverted");
    assert_eq!(find("l1(h1)").value, "0.5");
    assert_eq!(find("lr").value, "1e-3");
    assert_eq!(find("lr").aliases, ["optimizer.lr"]);
    assert_eq!(find("steps").value, "default none");
    assert_eq!(find("test_fraction").value, "default 0.2");
    assert_eq!(find("test_fraction").aliases, ["data.test_fraction"]);
}

#[test]
fn training_controls_are_set_whole_or_number_by_number() {
    use crate::optim::schedule::Decay;
    let m = model(
        NET,
        &[
            "schedule=step(every: 2)",
            "validation=0.25",
            "early_stop=val_acc(patience: 3)",
            "h1.max_norm=3",
            "clip_grad_norm=1",
            "warmup=2",
        ],
    );
    let c = &m.train.controls;
    assert_eq!(
        c.schedule.decay,
        Some(Decay::Step {
            every: 2,
            gamma: 0.1
        })
    );
    assert_eq!(c.schedule.warmup, 2);
    assert_eq!(c.early_stop.map(|e| e.patience), Some(3));
    assert_eq!(c.clip_grad_norm, Some(1.0));
    assert_eq!(m.max_norms(), [("h1.weight".to_string(), 3.0)]);
    // The numbers of a call the file (here, an earlier override) writes.
    let src = model(NET, &["schedule=cosine(min_lr: 0.01)"]).source;
    let m = model(&src, &["schedule.min_lr=0.001", "schedule.per=step"]);
    assert_eq!(
        m.train.controls.schedule.decay,
        Some(Decay::Cosine {
            t_max: None,
            min_lr: 0.001
        })
    );
    // Not a schedule: refused before the file is checked.
    let e = err(NET, &["schedule=adam(lr: 1)"]);
    assert!(
        e.contains("takes a call such as `step(every: 30, gamma: 0.1)`"),
        "{e}"
    );
}
