//! `--set KEY=VALUE`: change a number (or a flag) of a `.net` file without
//! editing it. Each override is applied to the text, then the whole file is
//! checked again, so every check (ranges, shapes, memory) applies to the new
//! value exactly as to one written in the file. The key scheme is documented
//! in `grammar/README.md` ("Overrides").
//!
//! ```
//! use netc::lang::overrides::{Override, parse_and_check_with};
//! let src = "net t v1\ninput x: 4\nlabel y: classes(2)\nh = dropout(x, 0.5)\n\
//!            out = linear(h, 2)\nloss = cross_entropy(out, y)\n\
//!            train { data: synthetic(samples: 8) }\n";
//! let sets = [Override::parse("h.p=0.2")?, Override::parse("out.units=2")?];
//! let given = |set: &str| format!("--set {set}");
//! let (model, applied) = parse_and_check_with("t.net", src, &sets, &given).unwrap();
//! assert!(model.source.contains("dropout(x, 0.2)"));
//! assert_eq!(applied, ["h.p=0.2", "out.units=2"]);
//! # Ok::<(), netc::lang::overrides::OverrideError>(())
//! ```

mod slots;

pub use slots::{Kind, Slot, is_number};

use super::builtins::{self, Role};
use super::diag::{Diagnostics, quote};
use super::model::Model;
use super::span::Span;
use super::suggest::did_you_mean;
use super::{parse, parse_and_check};
use std::fmt;
use thiserror::Error;

/// One `KEY=VALUE`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Override {
    pub key: String,
    pub value: String,
}

impl Override {
    /// Reads `KEY=VALUE` (split at the first `=`).
    pub fn parse(arg: &str) -> Result<Override, OverrideError> {
        match arg.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() && !v.trim().is_empty() => Ok(Override {
                key: k.trim().to_string(),
                value: v.trim().to_string(),
            }),
            _ => Err(OverrideError::Syntax {
                arg: quote(arg).to_string(),
            }),
        }
    }
}

impl fmt::Display for Override {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.key, self.value)
    }
}

/// Why overrides could not be applied (before the file is checked again).
/// Each holds the override as given (`key=value`); the caller, who knows
/// where the user wrote it, words it for them (the CLI: `--set key=value`).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum OverrideError {
    #[error("override `{arg}`: expected KEY=VALUE, e.g. `d.p=0.2`")]
    Syntax { arg: String },
    #[error(
        "unknown key `{}` in override `{}={}`",
        quote(key),
        quote(key),
        quote(value)
    )]
    UnknownKey {
        key: String,
        value: String,
        /// "did you mean ...", or what the key would need (boxed: it is
        /// the largest part, and the error travels in every `Result`).
        hint: Option<Box<KeyHint>>,
        /// The file's keys, for the note.
        known: Vec<String>,
    },
    #[error("override `{key}={value}`: `{key}` takes {expected}, not `{value}`")]
    BadValue {
        key: String,
        value: String,
        expected: String,
    },
    /// `first` and `second` are the two overrides as given (`d.p=0.1`).
    #[error("`{key}` is set twice (`{first}` and `{second}`)")]
    Twice {
        key: String,
        first: String,
        second: String,
    },
    #[error("override `{key}=...` is ambiguous: {why}")]
    Ambiguous { key: String, why: Ambiguity },
}

/// What to say about a key no slot answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyHint {
    /// A whole construct (`optimizer=adam`): `what` it is, and an `example`
    /// of writing it in the file instead.
    Construct {
        what: &'static str,
        example: &'static str,
    },
    /// A key of the file spelt nearly so.
    DidYouMean(String),
    /// `head.arg` where the binding `head` has other keys (`keys`).
    NoSuchSetting {
        head: String,
        arg: String,
        keys: Vec<String>,
    },
    /// A setting of the `optimizers` named, not of the file's.
    OtherOptimizer {
        setting: String,
        optimizers: Vec<String>,
    },
}

impl fmt::Display for KeyHint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyHint::Construct { what, example } => write!(
                f,
                "overrides change the numbers and options of a file, not its {what}: \
                 edit the file (`{example}`), or keep one file per {what}"
            ),
            KeyHint::DidYouMean(s) => write!(f, "did you mean `{s}`?"),
            KeyHint::NoSuchSetting { head, arg, keys } => {
                write!(
                    f,
                    "`{head}` has no `{arg}`; its keys are {}",
                    ticked(keys, ", ")
                )
            }
            KeyHint::OtherOptimizer {
                setting,
                optimizers,
            } => write!(
                f,
                "`{setting}` is a setting of {}, not of this file's optimizer",
                ticked(optimizers, " and ")
            ),
        }
    }
}

/// Why one override could reach more than one place.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ambiguity {
    /// `epochs` and `steps` both set; `first` is the one given first, as given.
    Length { first: String },
    /// One binding holds `count` settings of this name.
    Repeated { count: usize },
    /// The key could name each of these.
    Several { keys: Vec<String> },
}

impl fmt::Display for Ambiguity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ambiguity::Length { first } => write!(
                f,
                "`{first}` is given too, and a run is counted in epochs or in steps"
            ),
            Ambiguity::Repeated { count } => write!(
                f,
                "the binding has {count} such settings; give each its own line to set them apart"
            ),
            Ambiguity::Several { keys } => write!(
                f,
                "it could be {}; write one of these",
                ticked(keys, " or ")
            ),
        }
    }
}

/// Each item in backticks, joined by `sep`: `` `a`, `b` ``.
pub fn ticked(items: &[String], sep: &str) -> String {
    items
        .iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(sep)
}

/// Overrides that could not be applied, or the file's diagnostics once they were.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SetError {
    #[error(transparent)]
    Override(#[from] OverrideError),
    /// The checker's errors, each noting the override it concerns.
    #[error("{0}")]
    Check(Diagnostics),
}

/// A settable key of a file, for `netc check --keys`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    pub key: String,
    pub aliases: Vec<String>,
    /// The value as written, or the default (`default 0.5`).
    pub value: String,
    pub written: bool,
}

/// The keys `--set` accepts for this (parsed) source, in file order.
pub fn keys(source: &str) -> Vec<KeyInfo> {
    let (file, _) = parse::parse(source);
    let mut seen = Vec::<String>::new();
    slots::slots(source, &file)
        .into_iter()
        .filter(|s| {
            let fresh = !seen.contains(&s.key);
            seen.push(s.key.clone());
            fresh
        })
        .map(|s| KeyInfo {
            key: s.key,
            aliases: s.aliases,
            written: s.written.is_some(),
            value: s
                .written
                .unwrap_or_else(|| format!("default {}", s.default)),
        })
        .collect()
}

/// The source with every override applied, the canonical `key=value` of
/// each, and the spans of the new values in the new text.
pub struct Applied {
    pub source: String,
    pub canonical: Vec<String>,
    regions: Vec<(Span, String)>,
}

/// Applies `overrides` to `source` in order, each on the text the previous
/// one left (so two settings of one call combine).
pub fn apply(source: &str, overrides: &[Override]) -> Result<Applied, OverrideError> {
    let mut text = source.to_string();
    let mut regions: Vec<(Span, String)> = Vec::new();
    let mut canonical: Vec<String> = Vec::new();
    let mut seen: Vec<(String, String)> = Vec::new();
    for o in overrides {
        let (file, _) = parse::parse(&text);
        let slot = resolve(&text, &file, o)?;
        if let Some((_, first)) = seen.iter().find(|(k, _)| *k == slot.key) {
            return Err(OverrideError::Twice {
                key: slot.key.clone(),
                first: first.clone(),
                second: o.to_string(),
            });
        }
        let length_keys = ["epochs", "steps"];
        if length_keys.contains(&slot.key.as_str())
            && let Some((_, first)) = seen.iter().find(|(k, _)| length_keys.contains(&k.as_str()))
        {
            return Err(OverrideError::Ambiguous {
                key: slot.key.clone(),
                why: Ambiguity::Length {
                    first: first.clone(),
                },
            });
        }
        if !slot.kind.admits(&o.value) {
            return Err(OverrideError::BadValue {
                key: o.key.clone(),
                value: quote(&o.value),
                expected: slot.kind.describe(),
            });
        }
        seen.push((slot.key.clone(), o.to_string()));
        let new = format!("{}{}{}", slot.edit.before, o.value, slot.edit.after);
        let span = slot.edit.span;
        text.replace_range(span.start..span.end, &new);
        let grown = new.len() as isize - span.len() as isize;
        for (r, _) in &mut regions {
            if r.start >= span.end {
                *r = Span::new(
                    r.start.saturating_add_signed(grown),
                    r.end.saturating_add_signed(grown),
                );
            }
        }
        // The new value itself, for diagnostics that point at it.
        let at = span.start + slot.edit.before.len();
        let set = format!("{}={}", slot.key, o.value);
        regions.push((Span::new(at, at + o.value.len()), set.clone()));
        canonical.push(set);
    }
    Ok(Applied {
        source: text,
        canonical,
        regions,
    })
}

/// The slot `o.key` reaches, or why none does.
fn resolve(src: &str, file: &super::ast::File, o: &Override) -> Result<Slot, OverrideError> {
    let all = slots::slots(src, file);
    let found: Vec<&Slot> = all.iter().filter(|s| s.answers(&o.key)).collect();
    match found.as_slice() {
        [one] => return Ok((*one).clone()),
        [first, ..] if found.iter().all(|s| s.key == first.key) => {
            return Err(OverrideError::Ambiguous {
                key: o.key.clone(),
                why: Ambiguity::Repeated { count: found.len() },
            });
        }
        [_, ..] => {
            return Err(OverrideError::Ambiguous {
                key: o.key.clone(),
                why: Ambiguity::Several {
                    keys: found.iter().map(|s| s.key.clone()).collect(),
                },
            });
        }
        [] => {}
    }
    if let Some((kind, target)) = slots::penalty_key(&o.key)
        && let Some(slot) = slots::new_penalty(file, kind, target)
    {
        return Ok(slot);
    }
    Err(OverrideError::UnknownKey {
        key: o.key.clone(),
        value: o.value.clone(),
        hint: hint(&all, &o.key).map(Box::new),
        known: {
            let mut k: Vec<String> = Vec::new();
            for s in &all {
                if !k.contains(&s.key) {
                    k.push(s.key.clone());
                }
            }
            k
        },
    })
}

/// What to say about a key no slot answers.
fn hint(all: &[Slot], key: &str) -> Option<KeyHint> {
    // `optimizer=adam`, `data=mnist`: a whole construct, not a
    // number or an option of one; "did you mean `optimizer.lr`" would mislead.
    let whole = match key {
        "optimizer" => Some(("optimizer", "optimizer: adam(lr: 1e-3)")),
        "data" => Some(("data source", "data: mnist")),
        "eval" => Some(("evaluation", "eval: scaling + mc(passes: 20)")),
        "loss" => Some(("loss", "loss = cross_entropy(out, y) + 0.01 * l2(h1)")),
        _ => None,
    };
    if let Some((what, example)) = whole {
        return Some(KeyHint::Construct { what, example });
    }
    let names = all
        .iter()
        .flat_map(|s| std::iter::once(s.key.as_str()).chain(s.aliases.iter().map(String::as_str)));
    if let Some(s) = did_you_mean(key, names) {
        return Some(KeyHint::DidYouMean(s.to_string()));
    }
    // `h1.p` where h1 has no dropout: say what h1 does have.
    if let Some((head, arg)) = key.split_once('.') {
        let own: Vec<String> = all
            .iter()
            .filter(|s| s.key.split_once('.').is_some_and(|(h, _)| h == head))
            .map(|s| s.key.clone())
            .collect();
        if !own.is_empty() && head != "data" && head != "optimizer" && head != "eval" {
            return Some(KeyHint::NoSuchSetting {
                head: head.to_string(),
                arg: arg.to_string(),
                keys: own,
            });
        }
    }
    // A setting of another optimizer than the file's.
    let bare = key.strip_prefix("optimizer.").unwrap_or(key);
    let has = builtins::names(Role::Optimizer)
        .filter(|o| slots::takes(o, bare))
        .map(str::to_string)
        .collect::<Vec<_>>();
    if !has.is_empty() {
        return Some(KeyHint::OtherOptimizer {
            setting: bare.to_string(),
            optimizers: has,
        });
    }
    None
}

/// How the user gave one override, from its `key=value`: the notes on
/// diagnostics name it so (the CLI's is `--set key=value`).
pub type Given<'a> = &'a dyn Fn(&str) -> String;

/// Parses and checks `source` with `overrides` applied. On success, the
/// model (whose `source` is the text as overridden) and each override in
/// canonical `key=value` form, to record with the run. A diagnostic notes
/// the overrides it concerns as `given` words them.
pub fn parse_and_check_with(
    path: &str,
    source: &str,
    overrides: &[Override],
    given: Given,
) -> Result<(Model, Vec<String>), SetError> {
    if overrides.is_empty() {
        return parse_and_check(path, source)
            .map(|m| (m, Vec::new()))
            .map_err(SetError::Check);
    }
    // A file that does not parse is reported as it is: its errors are not
    // the overrides'.
    let (_, syntax) = parse::parse(source);
    if !syntax.is_empty() {
        return Err(SetError::Check(
            parse_and_check(path, source)
                .err()
                .unwrap_or_else(|| Diagnostics::new(path, source)),
        ));
    }
    let applied = apply(source, overrides)?;
    match parse_and_check(path, &applied.source) {
        Ok(mut m) => {
            annotate(&mut m.warnings, &applied, given);
            Ok((m, applied.canonical))
        }
        Err(mut d) => {
            annotate(&mut d, &applied, given);
            Err(SetError::Check(d))
        }
    }
}

/// Notes on each diagnostic: the override whose value it points at, or, for
/// the others, the overrides the file was checked with.
fn annotate(d: &mut Diagnostics, applied: &Applied, given: Given) {
    let all: Vec<String> = applied.canonical.iter().map(|c| given(c)).collect();
    for item in &mut d.items {
        let p = item.primary.span;
        let hit = applied
            .regions
            .iter()
            .find(|(r, _)| p.start < r.end.max(r.start + 1) && r.start < p.end.max(p.start + 1));
        let note = match hit {
            Some((_, set)) => format!("this value comes from `{}`", given(set)),
            None => format!("checked with `{}`", all.join(" ")),
        };
        item.notes.push(note);
    }
}

#[cfg(test)]
mod tests;
