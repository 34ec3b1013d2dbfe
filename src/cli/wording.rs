//! Library errors as the command line tells them. The library knows no flag
//! names; where the way out of an error is a flag, it is named here.

use super::data_places;
use netc::lang::diag::quote;
use netc::lang::overrides::{Ambiguity, KeyHint, OverrideError, ticked};
use netc::run::{CHECKPOINT, RunError};
use netc::sweep::SweepError;
use netc::train::TrainError;

/// A training error, with the flags that help.
pub fn train_error(e: &TrainError) -> String {
    match e {
        TrainError::Data(d) => data_places::explain(d),
        TrainError::Run(r) => run_error(r),
        TrainError::SeedMismatch { .. } => format!("{e}; drop --seed to continue it"),
        _ => e.to_string(),
    }
}

/// A run directory error, with the flags that help.
pub fn run_error(e: &RunError) -> String {
    match e {
        RunError::Exists(dir) => format!(
            "{} already holds a run; give another --out, continue it with --resume {}, \
             or overwrite it with --force",
            dir.display(),
            dir.join(CHECKPOINT).display()
        ),
        _ => e.to_string(),
    }
}

/// A sweep error, naming the `--set` it comes from.
pub fn sweep_error(e: &SweepError) -> String {
    match e {
        SweepError::Axis { arg, why } => format!("`--set {arg}`: {why}"),
        SweepError::Exists(dir) => format!(
            "{e}; give another --out, summarise it with `netc sweep --collect {}`, or overwrite \
             its trials with --force (the same file, --set and --seeds continue it)",
            dir.display()
        ),
        _ => e.to_string(),
    }
}

/// An override as the command line takes it: `--set key=value`.
pub fn set_arg(set: &str) -> String {
    format!("--set {set}")
}

/// An override error, naming the `--set` it comes from.
pub fn override_error(e: &OverrideError) -> String {
    match e {
        OverrideError::Syntax { arg } => {
            format!("`--set {arg}`: expected KEY=VALUE, e.g. `--set d.p=0.2`")
        }
        OverrideError::UnknownKey {
            key,
            value,
            hint,
            known,
        } => unknown_key(key, value, hint.as_deref(), known),
        OverrideError::BadValue {
            key,
            value,
            expected,
        } => format!("`--set {key}={value}`: `{key}` takes {expected}, not `{value}`"),
        OverrideError::Twice { key, first, second } => {
            format!("`{key}` is set twice (`--set {first}` and `--set {second}`)")
        }
        OverrideError::Ambiguous { key, why } => {
            let why = match why {
                Ambiguity::Length { first } => Ambiguity::Length {
                    first: set_arg(first),
                },
                other => other.clone(),
            };
            format!("`--set {key}=...` is ambiguous: {why}")
        }
    }
}

fn unknown_key(key: &str, value: &str, hint: Option<&KeyHint>, known: &[String]) -> String {
    let mut s = format!(
        "unknown key `{}` in `--set {}={}`",
        quote(key),
        quote(key),
        quote(value)
    );
    match hint {
        Some(KeyHint::Construct { what, example }) => s.push_str(&format!(
            "\n  = help: `--set` changes the numbers and options of a file, not its {what}: \
             edit the file (`{example}`), or keep one file per {what}"
        )),
        Some(h) => s.push_str(&format!("\n  = help: {h}")),
        None => {}
    }
    if !known.is_empty() {
        s.push_str(&format!(
            "\n  = note: this file's keys are {} (`netc check FILE --keys` lists them with their values)",
            ticked(known, ", ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use netc::lang::overrides::{Override, SetError, parse_and_check_with};

    const NET: &str = "net t v1\ninput x: 8x8\nlabel y: classes(10)\n\
        h1 = relu(linear(flatten(x), 32))\nd = dropout(h1, 0.5)\nout = linear(d, 10)\n\
        loss = cross_entropy(out, y) + 0.5 * l1(h1)\n\
        train {\n    data: digits\n    epochs: 3\n    optimizer: adam(lr: 1e-3)\n}\n";

    /// What `--set ARG...` on `NET` tells the user.
    fn told(args: &[&str]) -> String {
        let mut sets = Vec::new();
        for a in args {
            match Override::parse(a) {
                Ok(o) => sets.push(o),
                Err(e) => return override_error(&e),
            }
        }
        match parse_and_check_with("t.net", NET, &sets, &set_arg) {
            Ok(_) => panic!("{args:?} should fail"),
            Err(SetError::Override(e)) => override_error(&e),
            Err(SetError::Check(d)) => d.render(),
        }
    }

    #[test]
    fn override_errors_name_the_set_they_come_from() {
        assert_eq!(
            told(&["d.p"]),
            "`--set d.p`: expected KEY=VALUE, e.g. `--set d.p=0.2`"
        );
        assert_eq!(
            told(&["d.p=half"]),
            "`--set d.p=half`: `d.p` takes a number, not `half`"
        );
        assert_eq!(
            told(&["d.p=0.1", "d.p=0.2"]),
            "`d.p` is set twice (`--set d.p=0.1` and `--set d.p=0.2`)"
        );
        assert_eq!(
            told(&["epochs=2", "steps=9"]),
            "`--set steps=...` is ambiguous: `--set epochs=2` is given too, \
             and a run is counted in epochs or in steps"
        );
    }

    #[test]
    fn an_unknown_key_helps_and_points_to_check_keys() {
        let e = told(&["d.pp=0.2"]);
        let mut lines = e.lines();
        assert_eq!(lines.next(), Some("unknown key `d.pp` in `--set d.pp=0.2`"));
        assert_eq!(lines.next(), Some("  = help: did you mean `d.p`?"));
        let note = lines.next().unwrap();
        assert!(
            note.starts_with("  = note: this file's keys are `h1.units`, "),
            "{e}"
        );
        assert!(
            note.ends_with("(`netc check FILE --keys` lists them with their values)"),
            "{e}"
        );
        assert_eq!(
            told(&["optimizer=adam"]).lines().nth(1),
            Some(
                "  = help: `--set` changes the numbers and options of a file, not its \
                 optimizer: edit the file (`optimizer: adam(lr: 1e-3)`), or keep one file \
                 per optimizer"
            )
        );
    }

    #[test]
    fn diagnostics_note_the_set_they_come_from() {
        let e = told(&["d.p=1.5"]);
        assert!(
            e.contains("note: this value comes from `--set d.p=1.5`"),
            "{e}"
        );
        let e = told(&["out.units=7", "d.p=0.2"]);
        assert!(
            e.contains("note: checked with `--set out.units=7 --set d.p=0.2`"),
            "{e}"
        );
    }
}
