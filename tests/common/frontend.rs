//! The whole front end on one input, with the properties every input must
//! keep: parse → check → lower (one forward and backward pass) → format.
//! Shared by `tests/lang_robust.rs` (proptest, the kept corpus) and the
//! `cargo fuzz` target in `fuzz/` (which includes this file by path).
//!
//! The properties:
//! - nothing panics, and a failed check reports at least one error;
//! - a checked model lowers onto the tape and runs a pass (the checker lets
//!   nothing through that the engine refuses);
//! - formatting is idempotent and keeps the meaning: the formatted text of a
//!   file that checks checks to the same model, and the formatted text of a
//!   file that does not check does not check either.

use netc::lang::fmt::format_source;
use netc::lang::lower::{Lowered, Targets, init_params};
use netc::lang::{LabelKind, Model, parse_and_check, summary};
use netc::tape::{Phase, Tape};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

/// Models with more parameters or wider activations than this are checked
/// and formatted but not run: the checker's own limit is gigabytes, and a
/// fuzzer must stay fast.
const RUN_PARAMS: usize = 1 << 18;
const RUN_WIDTH: usize = 1 << 14;

/// Rows in the batch a checked model is run on.
const ROWS: usize = 2;

/// Runs the front end on `src` and panics if a property does not hold.
pub fn exercise(src: &str) {
    let checked = parse_and_check("fuzz.net", src);
    match &checked {
        Ok(m) => {
            let _ = summary(m);
            let _ = m.warnings.render();
            run(m);
        }
        Err(d) => {
            assert!(d.has_errors(), "a failed check without an error: {src:?}");
            let _ = d.render();
        }
    }
    let Ok(once) = format_source("fuzz.net", src) else {
        return;
    };
    let twice = match format_source("fuzz.net", &once) {
        Ok(t) => t,
        Err(d) => panic!(
            "formatted text does not parse: {src:?}\n{once}\n{}",
            d.render()
        ),
    };
    assert_eq!(twice, once, "formatting is not idempotent on {src:?}");
    match (&checked, parse_and_check("fuzz.net", &once)) {
        (Ok(a), Ok(b)) => assert_eq!(
            meaning(a),
            meaning(&b),
            "formatting changed the model of {src:?}\n{once}"
        ),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(d)) => panic!(
            "the formatted text of a file that checks does not: {src:?}\n{once}\n{}",
            d.render()
        ),
        (Err(_), Ok(_)) => panic!("formatting fixed a file that does not check: {src:?}\n{once}"),
    }
}

/// A model without what depends on the layout of its text (the text itself,
/// line numbers, the spans in warnings), and its warnings' messages.
fn meaning(m: &Model) -> (Model, Vec<String>) {
    let mut m = m.clone();
    m.source.clear();
    for b in &mut m.bindings {
        b.line = 0;
    }
    let messages = m.warnings.items.iter().map(|w| w.message.clone()).collect();
    m.warnings = netc::lang::Diagnostics::new("", "");
    (m, messages)
}

/// One training-mode and one evaluation-mode pass on a small batch, each
/// with a backward pass, when the model is small enough.
fn run(m: &Model) {
    let widest = m.bindings.iter().map(|b| b.features()).max().unwrap_or(0);
    if m.param_count() > RUN_PARAMS || widest.max(m.input.features) > RUN_WIDTH {
        return;
    }
    let mut params = match init_params::<f32>(m, 0) {
        Ok(p) => p,
        Err(e) => panic!(
            "cannot make the parameters of a checked model: {e}\n{}",
            m.source
        ),
    };
    let lowered = match Lowered::new(m, &params) {
        Ok(l) => l,
        Err(e) => panic!("cannot lower a checked model: {e}\n{}", m.source),
    };
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let mut tape = Tape::<f32>::new();
    let x: Vec<f32> = (0..ROWS * m.input.features)
        .map(|i| (i % 7) as f32 / 7.0 - 0.4)
        .collect();
    for phase in [Phase::Train, Phase::Eval] {
        tape.clear();
        params.zero_grads();
        let result = (|| {
            let xi = tape.input_slice(ROWS, m.input.features, &x)?;
            let classes: Vec<u32>;
            let targets = match m.label.kind {
                LabelKind::Classes(n) => {
                    classes = (0..ROWS).map(|i| (i % n.max(1)) as u32).collect();
                    Targets::Classes(&classes)
                }
                LabelKind::Targets(w) => {
                    let t = tape.input_slice(ROWS, w, &vec![0.5; ROWS * w])?;
                    Targets::Values(t)
                }
            };
            let pass = lowered.forward(&mut tape, &mut params, xi, targets, phase, &mut rng)?;
            tape.backward(pass.loss, &mut params)?;
            tape.scalar(pass.loss)
        })();
        if let Err(e) = result {
            panic!(
                "a checked model fails to run ({phase:?}): {e}\n{}",
                m.source
            );
        }
    }
}
