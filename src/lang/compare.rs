//! How two checked models differ, by meaning: comments, layout, line numbers
//! and the order of the `train` settings do not count; the name, the input
//! and label, every binding's expression (layer sizes, dropout p and mode),
//! the loss, the data source and the training settings do.

use super::builtins::label_text;
use super::model::{Model, TrainSpec, num};
use super::model_summary::{data_term, eval_text, length_text, optimizer_text, source_text};
use std::fmt;

/// What a difference touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Aspect {
    /// The data source, and with it the held-out split a run evaluates on.
    Data,
    /// The net or its loss: name, input, label, bindings, penalties.
    Net,
    /// How it is trained: batch, length, optimizer, seed, evaluation.
    Training,
}

/// One way a model (`ours`) differs from another (`theirs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    pub aspect: Aspect,
    /// What differs, e.g. "`d`" or "the data".
    pub what: String,
    /// Its value in the first model (`absent` for a binding it lacks).
    pub ours: String,
    /// Its value in the second.
    pub theirs: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} vs {}", self.what, self.ours, self.theirs)
    }
}

/// Every difference between `ours` and `theirs`, the net first, then the
/// data, then the training settings. Empty when they are the same net.
pub fn differences(ours: &Model, theirs: &Model) -> Vec<Difference> {
    let mut d = Diffs::default();
    d.net(ours, theirs);
    let (a, b) = (&ours.train, &theirs.train);
    d.push(Aspect::Data, "the data", source_text(a), source_text(b));
    let settings: [Setting; 5] = [
        ("the batch", |t| t.batch.to_string()),
        ("the length", |t| length_text(t.length)),
        ("the optimizer", |t| optimizer_text(&t.optimizer)),
        ("the seed", |t| t.seed.to_string()),
        ("the evaluation", |t| eval_text(&t.eval)),
    ];
    for (what, text) in settings {
        d.push(Aspect::Training, what, text(a), text(b));
    }
    d.0
}

/// A training setting: its name, and its text in a model.
type Setting = (&'static str, fn(&TrainSpec) -> String);

#[derive(Default)]
struct Diffs(Vec<Difference>);

impl Diffs {
    /// Records a difference when the two texts differ.
    fn push(&mut self, aspect: Aspect, what: &str, ours: String, theirs: String) {
        if ours != theirs {
            self.0.push(Difference {
                aspect,
                what: what.to_string(),
                ours: format!("`{ours}`"),
                theirs: format!("`{theirs}`"),
            });
        }
    }

    fn net(&mut self, ours: &Model, theirs: &Model) {
        self.push(
            Aspect::Net,
            "the name",
            ours.name.clone(),
            theirs.name.clone(),
        );
        let input = |m: &Model| {
            let dims: Vec<String> = m.input.dims.iter().map(usize::to_string).collect();
            format!("input {}: {}", m.input.name, dims.join("x"))
        };
        self.push(Aspect::Net, "the input", input(ours), input(theirs));
        let label = |m: &Model| format!("label {}: {}", m.label.name, label_text(m.label.kind));
        self.push(Aspect::Net, "the label", label(ours), label(theirs));
        // By name, not position: reordering independent bindings is the same net.
        for b in &ours.bindings {
            match theirs.binding(&b.name) {
                Some(t) => self.push(
                    Aspect::Net,
                    &format!("`{}`", b.name),
                    b.expr.to_string(),
                    t.expr.to_string(),
                ),
                None => self.0.push(Difference {
                    aspect: Aspect::Net,
                    what: format!("`{}`", b.name),
                    ours: format!("`{}`", b.expr),
                    theirs: "absent".into(),
                }),
            }
        }
        for t in theirs
            .bindings
            .iter()
            .filter(|t| ours.binding(&t.name).is_none())
        {
            self.0.push(Difference {
                aspect: Aspect::Net,
                what: format!("`{}`", t.name),
                ours: "absent".into(),
                theirs: format!("`{}`", t.expr),
            });
        }
        self.push(Aspect::Net, "the loss", loss_text(ours), loss_text(theirs));
    }
}

/// `nll(out, y) + 0.0001 * l1(h)`
fn loss_text(m: &Model) -> String {
    let mut s = data_term(&m.loss.data, &m.label.name);
    for p in &m.loss.penalties {
        s.push_str(&format!(" + {} * {}", num(p.coef), p.label()));
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::lang::parse_and_check;

    /// A small net on the digits, for the tests here and in `train::provenance`.
    pub(crate) const NET: &str = "net t v1
input x: 64
label y: classes(10)
h = relu(linear(x, 16))
d = dropout(h, 0.5)
out = linear(d, 10)
loss = cross_entropy(out, y) + 0.001 * l1(h)
train { data: digits(test_fraction: 0.5), batch: 10, epochs: 2, optimizer: sgd(lr: 0.1), seed: 1 }
";

    fn model(src: &str) -> Model {
        parse_and_check("t.net", src).unwrap_or_else(|d| panic!("{}", d.render()))
    }

    fn diffs(other: &str) -> Vec<String> {
        differences(&model(other), &model(NET))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn comments_and_layout_are_the_same_net() {
        let other = NET
            .replace("h = relu", "# the hidden layer\nh   =   relu")
            .replace(
                "train { data: digits(test_fraction: 0.5), batch: 10,",
                "train {\n  batch: 10\n  data: digits(test_fraction: 0.5),",
            );
        assert!(diffs(&other).is_empty(), "{:?}", diffs(&other));
    }

    #[test]
    fn dropout_sizes_and_data_are_named_with_both_values() {
        let other = NET
            .replace("dropout(h, 0.5)", "dropout(h, 0.2, mode: classic)")
            .replace("linear(x, 16)", "linear(x, 32)")
            .replace("test_fraction: 0.5", "test_fraction: 0.2");
        let found = differences(&model(&other), &model(NET));
        let text: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "`h`: `relu(linear(x, 32))` vs `relu(linear(x, 16))`",
                "`d`: `dropout(h, 0.2, mode: classic)` vs `dropout(h, 0.5)`",
                "the data: `digits(test_fraction: 0.2)` vs `digits(test_fraction: 0.5)`",
            ]
        );
        assert_eq!(found[2].aspect, Aspect::Data);
        assert_eq!(found[0].aspect, Aspect::Net);
    }

    #[test]
    fn a_binding_on_one_side_only_and_training_settings_are_told() {
        let other = NET
            .replace("out = linear(d, 10)", "e = relu(d)\nout = linear(e, 10)")
            .replace("epochs: 2", "epochs: 9")
            .replace("net t v1", "net u v1");
        assert_eq!(
            diffs(&other),
            [
                "the name: `u` vs `t`",
                "`e`: `relu(d)` vs absent",
                "`out`: `linear(e, 10)` vs `linear(d, 10)`",
                "the length: `9 epochs` vs `2 epochs`",
            ]
        );
    }
}
