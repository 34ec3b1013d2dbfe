//! What `model.safetensors` and `checkpoint.safetensors` record about their
//! run, as safetensors metadata strings: the keys, and the record written
//! and read back. Deterministic (no times): the same file and seed give the
//! same bytes.

use std::collections::BTreeMap;

/// The net file's text, as overridden.
pub const NET: &str = "net";
/// The net's name (the file's stem).
pub const NET_NAME: &str = "net_name";
/// The `key=value` overrides, space-joined.
pub const OVERRIDES: &str = "overrides";
pub const SEED: &str = "seed";
pub const EPOCH: &str = "epoch";
pub const STEP: &str = "step";
/// The steps the whole run takes, so a finished run can be told from a
/// stopped one (`netc sweep --collect`).
pub const TOTAL_STEPS: &str = "total_steps";
/// The checkpoint's copy of `metrics.csv`, continued when resuming.
pub const METRICS: &str = "metrics";

/// What a run records beside its weights.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    pub net: String,
    pub net_name: String,
    pub seed: u64,
    pub epoch: u64,
    pub step: u64,
    pub total_steps: u64,
    pub overrides: Vec<String>,
}

impl RunRecord {
    /// The metadata strings of `model.safetensors` (`format: pt` lets
    /// PyTorch's loaders take it).
    pub fn to_metadata(&self) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("format".into(), "pt".into()),
            (NET.into(), self.net.clone()),
            (NET_NAME.into(), self.net_name.clone()),
            (SEED.into(), self.seed.to_string()),
            (EPOCH.into(), self.epoch.to_string()),
            (STEP.into(), self.step.to_string()),
            (TOTAL_STEPS.into(), self.total_steps.to_string()),
            ("netc_version".into(), env!("CARGO_PKG_VERSION").into()),
            (OVERRIDES.into(), self.overrides.join(" ")),
        ])
    }
}

/// A number recorded under `key`, if there is one.
pub fn number(meta: &BTreeMap<String, String>, key: &str) -> Option<u64> {
    meta.get(key).and_then(|s| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_reads_back_from_its_metadata() {
        let r = RunRecord {
            net: "net x".into(),
            net_name: "x".into(),
            seed: 7,
            epoch: 2,
            step: 20,
            total_steps: 30,
            overrides: vec!["d.p=0.1".into(), "lr=0.01".into()],
        };
        let m = r.to_metadata();
        assert_eq!(m[OVERRIDES], "d.p=0.1 lr=0.01");
        assert_eq!(m["format"], "pt");
        assert_eq!(number(&m, SEED), Some(7));
        assert_eq!(number(&m, STEP), Some(20));
        assert_eq!(number(&m, TOTAL_STEPS), Some(30));
        assert_eq!(number(&m, NET), None);
    }
}
