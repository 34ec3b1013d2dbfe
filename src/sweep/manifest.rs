//! `DIR/sweep.txt`: the planned trials of a sweep, written before any runs,
//! so `netc sweep --collect DIR` knows what is missing without the original
//! command line. Plain text, one record per line, fields separated by tabs
//! (shown here as `→`):
//!
//! ```text
//! netc-sweep→v1
//! file→models/digits.net
//! keys→d.p
//! trial→d.p=0_seed=0→d.p=0 seed=0
//! ```

use super::SweepError;
use super::grid::Trial;
use std::path::Path;

/// The manifest's file name in a sweep directory.
pub const MANIFEST: &str = "sweep.txt";

/// What a sweep planned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// The .net file, as given.
    pub file: String,
    /// The swept keys (canonical), in `--set` order; the seed is not one.
    pub keys: Vec<String>,
    pub trials: Vec<Trial>,
}

impl Manifest {
    /// The text of `sweep.txt`.
    pub fn render(&self) -> String {
        let mut s = String::from("netc-sweep\tv1\n");
        s.push_str(&format!("file\t{}\n", self.file));
        s.push_str(&format!("keys\t{}\n", self.keys.join(" ")));
        for t in &self.trials {
            s.push_str(&format!("trial\t{}\t{}\n", t.dir, t.label()));
        }
        s
    }

    /// Reads what [`render`](Self::render) wrote.
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, SweepError> {
        let bad = |line: usize, why: &str| SweepError::Manifest {
            path: path.to_path_buf(),
            line,
            why: why.to_string(),
        };
        let mut lines = text.lines().enumerate();
        match lines.next() {
            Some((_, "netc-sweep\tv1")) => {}
            _ => return Err(bad(1, "not a netc sweep manifest (`netc-sweep v1` first)")),
        }
        let mut m = Manifest {
            file: String::new(),
            keys: Vec::new(),
            trials: Vec::new(),
        };
        for (i, line) in lines {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["file", f] => m.file = f.to_string(),
                ["keys", k] => m.keys = k.split_whitespace().map(str::to_string).collect(),
                ["trial", dir, label] => {
                    let trial = trial(dir, label)
                        .ok_or_else(|| bad(i + 1, "a trial needs its settings and `seed=N`"))?;
                    m.trials.push(trial);
                }
                [""] => {}
                _ => return Err(bad(i + 1, "expected `file`, `keys` or `trial`")),
            }
        }
        Ok(m)
    }
}

/// A trial from its directory and `k=v ... seed=N`.
fn trial(dir: &str, label: &str) -> Option<Trial> {
    if dir.is_empty() || dir.contains(['/', '\\']) || dir == ".." || dir == "." {
        return None;
    }
    let mut settings = Vec::new();
    let mut seed = None;
    for part in label.split_whitespace() {
        let (k, v) = part.split_once('=')?;
        if k == "seed" {
            seed = Some(v.parse().ok()?);
        } else {
            settings.push((k.to_string(), v.to_string()));
        }
    }
    Some(Trial {
        dir: dir.to_string(),
        settings,
        seed: seed?,
    })
}

/// Splits recorded overrides (`d.p=0.25 seed=1`) into settings and a seed.
pub fn split_overrides(text: &str) -> (Vec<(String, String)>, Option<u64>) {
    let mut settings = Vec::new();
    let mut seed = None;
    for part in text.split_whitespace() {
        match part.split_once('=') {
            Some(("seed", v)) => seed = v.parse().ok(),
            Some((k, v)) => settings.push((k.to_string(), v.to_string())),
            None => {}
        }
    }
    (settings, seed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::grid::{Axis, expand};

    #[test]
    fn a_manifest_reads_back_as_written() {
        let axes = [
            Axis::parse("d.p=0,0.5").unwrap(),
            Axis::parse("l1(h1)=1e-4").unwrap(),
        ];
        let m = Manifest {
            file: "models/digits.net".into(),
            keys: vec!["d.p".into(), "l1(h1)".into()],
            trials: expand(&axes, &[0, 1]),
        };
        let text = m.render();
        assert!(text.contains("trial\td.p=0.5_l1.h1=1e-4_seed=1\td.p=0.5 l1(h1)=1e-4 seed=1\n"));
        assert_eq!(Manifest::parse(&text, Path::new("x")).unwrap(), m);
    }

    #[test]
    fn a_broken_manifest_names_its_line() {
        let p = Path::new("s/sweep.txt");
        let e = Manifest::parse("hello\n", p).unwrap_err().to_string();
        assert!(e.contains("s/sweep.txt:1"), "{e}");
        let e = Manifest::parse("netc-sweep\tv1\ntrial\t../x\tseed=0\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("s/sweep.txt:2"), "{e}");
        let e = Manifest::parse("netc-sweep\tv1\ntrial\tx\td.p=1\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("seed=N"), "{e}");
    }

    #[test]
    fn recorded_overrides_split_into_settings_and_seed() {
        let (s, seed) = split_overrides("d.p=0.25 l1(h1)=0.1 seed=4");
        assert_eq!(
            s,
            vec![
                ("d.p".into(), "0.25".into()),
                ("l1(h1)".into(), "0.1".into())
            ]
        );
        assert_eq!(seed, Some(4));
        assert_eq!(split_overrides(""), (vec![], None));
    }
}
