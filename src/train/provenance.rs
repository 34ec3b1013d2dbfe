//! What a `model.safetensors` or `checkpoint.safetensors` records of the net
//! it was trained with (the metadata keys `net`, `net_name`, `overrides`),
//! and how a `.net` file compares with that record. Files written elsewhere
//! (PyTorch) record nothing, and nothing is compared.

use crate::data::DataSpec;
use crate::lang::compare::{Aspect, Difference, differences};
use crate::lang::overrides::{Override, OverrideError, apply};
use crate::lang::parse_and_check;
use crate::run::metadata;
use std::collections::BTreeMap;

/// The net a weights or checkpoint file was trained with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recorded {
    /// The net's text, with the overrides already applied.
    pub net: String,
    /// From its `net NAME v1`.
    pub name: String,
    /// The `--set` overrides it was trained with, in canonical `key=value` form.
    pub overrides: Vec<String>,
}

impl Recorded {
    /// The record in a file's metadata; `None` when it holds none.
    pub fn from_metadata(meta: &BTreeMap<String, String>) -> Option<Recorded> {
        let net = meta.get(metadata::NET)?.clone();
        Some(Recorded {
            name: meta.get(metadata::NET_NAME).cloned().unwrap_or_default(),
            overrides: split_overrides(meta.get(metadata::OVERRIDES).map_or("", String::as_str)),
            net,
        })
    }

    /// The data source the weights were trained on (so their held-out
    /// split), if the recorded net checks.
    pub fn data(&self) -> Option<DataSpec> {
        parse_and_check(&self.name, &self.net)
            .ok()
            .map(|m| m.train.data)
    }

    /// The recorded value of each overridden key.
    pub fn override_map(&self) -> BTreeMap<String, String> {
        to_map(&self.overrides)
    }
}

/// `key=value` pairs by key.
pub fn to_map(overrides: &[String]) -> BTreeMap<String, String> {
    overrides
        .iter()
        .filter_map(|o| o.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The space-joined `key=value` list of the metadata. A word without `=`
/// belongs to the value before it (a value written with a space).
fn split_overrides(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match out.last_mut() {
            Some(last) if !word.contains('=') => {
                last.push(' ');
                last.push_str(word);
            }
            _ => out.push(word.to_string()),
        }
    }
    out
}

/// How a `.net` file compares with a record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comparison {
    /// The file's text with the recorded overrides applied: the text to run
    /// the weights with. The file's own text when they do not apply.
    pub source: String,
    /// Why the recorded overrides do not apply to the file, if they do not.
    pub unapplied: Option<OverrideError>,
    /// How the file (with the overrides) differs from the recorded net.
    pub differences: Vec<Difference>,
}

impl Comparison {
    /// The data source, and so the held-out split, is not the recorded one.
    pub fn split_differs(&self) -> bool {
        self.has(Aspect::Data)
    }

    /// The net, its loss or its data differ (not only training settings).
    pub fn net_differs(&self) -> bool {
        self.unapplied.is_some() || self.has(Aspect::Net) || self.has(Aspect::Data)
    }

    fn has(&self, aspect: Aspect) -> bool {
        self.differences.iter().any(|d| d.aspect == aspect)
    }
}

/// Compares the file `path` (text `source`), with the recorded overrides
/// applied, with the recorded net, by meaning.
pub fn compare(path: &str, source: &str, rec: &Recorded) -> Comparison {
    let (text, unapplied) = match with_overrides(source, &rec.overrides) {
        Ok(t) => (t, None),
        Err(why) => (source.to_string(), Some(why)),
    };
    let differences = match (
        parse_and_check(path, &text),
        parse_and_check(path, &rec.net),
    ) {
        (Ok(ours), Ok(theirs)) => differences(&ours, &theirs),
        // A file that does not check is reported by the command itself.
        (Err(_), _) => Vec::new(),
        (Ok(_), Err(d)) => vec![Difference {
            aspect: Aspect::Net,
            what: "the recorded net".into(),
            ours: "checks".into(),
            theirs: format!(
                "does not check with this netc ({} error(s))",
                d.error_count()
            ),
        }],
    };
    Comparison {
        source: text,
        unapplied,
        differences,
    }
}

/// `source` with `overrides` applied, or why they do not apply.
fn with_overrides(source: &str, overrides: &[String]) -> Result<String, OverrideError> {
    if overrides.is_empty() {
        return Ok(source.to_string());
    }
    let parsed = overrides
        .iter()
        .map(|o| Override::parse(o))
        .collect::<Result<Vec<_>, _>>()?;
    apply(source, &parsed).map(|a| a.source)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::compare::tests::NET;

    fn record(net: &str, overrides: &str) -> Recorded {
        let meta = BTreeMap::from([
            ("net".to_string(), net.to_string()),
            ("net_name".to_string(), "t".to_string()),
            ("overrides".to_string(), overrides.to_string()),
        ]);
        Recorded::from_metadata(&meta).unwrap()
    }

    #[test]
    fn weights_without_a_record_have_nothing_to_compare() {
        let meta = BTreeMap::from([("format".to_string(), "pt".to_string())]);
        assert_eq!(Recorded::from_metadata(&meta), None);
    }

    #[test]
    fn the_file_with_the_recorded_overrides_is_the_recorded_net() {
        let trained = NET.replace("dropout(h, 0.5)", "dropout(h, 0.1)");
        let rec = record(&trained, "d.p=0.1 epochs=2");
        assert_eq!(rec.overrides, ["d.p=0.1", "epochs=2"]);
        let c = compare("t.net", &format!("# a comment\n{NET}"), &rec);
        assert!(c.differences.is_empty(), "{:?}", c.differences);
        assert!(!c.net_differs());
        assert!(c.source.contains("dropout(h, 0.1)"));
    }

    #[test]
    fn another_split_is_told_apart_from_another_net() {
        let rec = record(NET, "");
        assert_eq!(rec.data(), Some(DataSpec::Digits { test_fraction: 0.5 }));
        let other = NET.replace("test_fraction: 0.5", "test_fraction: 0.2");
        let c = compare("t.net", &other, &rec);
        assert!(c.split_differs() && c.net_differs());
        let wider = NET.replace("linear(x, 16)", "linear(x, 32)");
        let c = compare("t.net", &wider, &rec);
        assert!(!c.split_differs() && c.net_differs());
        let longer = NET.replace("epochs: 2", "epochs: 5");
        let c = compare("t.net", &longer, &rec);
        assert!(!c.net_differs() && c.differences.len() == 1);
    }

    #[test]
    fn overrides_that_do_not_apply_make_another_net() {
        let rec = record(NET, "h9.units=4");
        let c = compare("t.net", NET, &rec);
        assert!(c.net_differs());
        assert!(
            matches!(&c.unapplied, Some(OverrideError::UnknownKey { key, .. }) if key == "h9.units"),
            "{:?}",
            c.unapplied
        );
        assert_eq!(c.source, NET);
    }
}
