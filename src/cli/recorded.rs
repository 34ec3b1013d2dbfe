//! The words `eval` and `train --resume` use about the net recorded in a
//! weights or checkpoint file, when the `.net` file given is not that net or
//! the overrides differ.

use super::Reporter;
use super::wording;
use netc::checkpoint::{self, TensorFile};
use netc::lang::Model;
use netc::lang::overrides::keys;
use netc::run::{CHECKPOINT, MODEL};
use netc::train::provenance::{self, Comparison, Recorded, to_map};
use std::path::Path;

/// How `file` differs from the net recorded in `weights`: a header (`file`
/// `relation` the net ...) and one indented line per difference, the file's
/// value first.
pub fn differences(
    file: &Path,
    relation: &str,
    weights: &Path,
    rec: &Recorded,
    c: &Comparison,
) -> String {
    let mut s = format!(
        "`{}` {relation} the net `{}` recorded in {} (the file's value first):",
        file.display(),
        rec.name,
        weights.display()
    );
    if let Some(why) = &c.unapplied {
        s.push_str(&format!(
            "\n  the overrides it was trained with ({}) do not apply to the file: {}",
            rec.overrides.join(" "),
            first_line(&wording::override_error(why))
        ));
    }
    for d in &c.differences {
        s.push_str(&format!("\n  {d}"));
    }
    s
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// Each key whose value differs between the recorded overrides and `now`
/// (this run's), as `key old → new`; a key set on one side only shows the
/// file's value on the other.
pub fn changed_overrides(source: &str, rec: &Recorded, now: &[String]) -> Vec<String> {
    let (old, new) = (rec.override_map(), to_map(now));
    let file = keys(source);
    let file_value = |k: &str| {
        file.iter().find(|i| i.key == k).map_or_else(
            || "unset".to_string(),
            |i| format!("{} (the file's)", i.value),
        )
    };
    let mut all: Vec<&String> = old.keys().chain(new.keys()).collect();
    all.sort();
    all.dedup();
    all.into_iter()
        .filter(|k| old.get(*k) != new.get(*k))
        .map(|k| {
            let side = |m: &std::collections::BTreeMap<String, String>| {
                m.get(k).cloned().unwrap_or_else(|| file_value(k))
            };
            format!("{k} {} → {}", side(&old), side(&new))
        })
        .collect()
}

/// When `given` is not the file `flag` wants (`want`: `checkpoint.safetensors`
/// for `--resume`, `model.safetensors` for `--weights`) but a run directory,
/// or a run's model where its checkpoint is needed: the words that point at
/// the right file.
pub fn wrong_run_file(given: &Path, want: &str, flag: &str) -> Option<String> {
    let shown = given.display();
    if given.is_dir() {
        let inside = given.join(want);
        return Some(if inside.is_file() {
            format!(
                "`{shown}` is a run directory; give its {want}: {flag} {}",
                inside.display()
            )
        } else {
            format!("`{shown}` is a directory, not a {want} file")
        });
    }
    let beside = given.with_file_name(want);
    let is_model = given.file_name().is_some_and(|n| n == MODEL);
    (want == CHECKPOINT && is_model).then(|| {
        let mut s =
            format!("`{shown}` holds a run's weights only; {flag} continues from a checkpoint");
        if beside.is_file() {
            s.push_str(&format!(": {flag} {}", beside.display()));
        }
        s
    })
}

/// Compares `file` (its text `src`) with the net the weights in `weights`
/// record: warns when it differs, refuses another held-out split when
/// `refuse_split` (the accuracy would be measured partly on training data),
/// and says which stored overrides are applied. The text to use (the file
/// with them), or `None` when refused.
pub fn against_record(
    file: &Path,
    weights: &Path,
    src: &str,
    rec: &Recorded,
    refuse_split: bool,
    r: &mut Reporter,
) -> Option<String> {
    let c = provenance::compare(&file.display().to_string(), src, rec);
    if c.net_differs() || !c.differences.is_empty() {
        let what = differences(file, "is not", weights, rec, &c);
        if c.split_differs() && refuse_split {
            r.error(format!(
                "{what}\n  the weights were trained on another split of the data: the accuracy would be \
                 measured partly on training data; evaluate with the file they were trained with, \
                 or give --force to evaluate anyway"
            ));
            return None;
        }
        r.warning(what);
    }
    if c.unapplied.is_none() && !rec.overrides.is_empty() {
        r.note(format!(
            "applying the overrides stored with {}: {}",
            weights.display(),
            rec.overrides.join(" ")
        ));
    }
    Some(c.source)
}

/// The checked model of `file` as the weights in `weights` were trained (the
/// overrides stored with them applied, then `sets`), and the weights; `None`
/// when an error was reported. Another held-out split is not refused:
/// nothing is measured on it.
pub fn model_and_weights(
    file: &Path,
    weights: &Path,
    sets: &[String],
    r: &mut Reporter,
) -> Option<(Model, TensorFile)> {
    let src = r.read(file)?;
    if let Some(why) = wrong_run_file(weights, MODEL, "--weights") {
        r.error(why);
        return None;
    }
    let tensors = match checkpoint::read_tensors(weights) {
        Ok(w) => w,
        Err(e) => {
            r.error(e.to_string());
            return None;
        }
    };
    let base = match Recorded::from_metadata(tensors.metadata()) {
        Some(rec) => against_record(file, weights, &src, &rec, false, r)?,
        None => src,
    };
    let (model, _) = r.model_from(file, &base, sets)?;
    Some((model, tensors))
}
