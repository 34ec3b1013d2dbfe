//! The grid of a sweep: every combination of the swept values, times seeds,
//! each trial with its own directory name.

use super::SweepError;
use crate::lang::overrides::is_number;

/// One `--set KEY=V1,V2,...`, or `KEY1+KEY2=V1,V2,...`: keys tied
/// together, each taking the same value in a trial (the three dropout rates
/// of a net swept as one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// As written, tied keys joined by `+`.
    pub key: String,
    pub values: Vec<String>,
}

impl Axis {
    /// Reads `KEY=V1,V2,...` (values are single tokens: no spaces, no commas).
    pub fn parse(arg: &str) -> Result<Axis, SweepError> {
        let bad = |why: &str| SweepError::Axis {
            arg: arg.to_string(),
            why: why.to_string(),
        };
        let (key, values) = arg
            .split_once('=')
            .ok_or_else(|| bad("expected KEY=V1,V2,..., e.g. `d.p=0,0.25,0.5`"))?;
        let key = key.trim();
        if key.is_empty() {
            return Err(bad("the key is empty"));
        }
        if tied(key).any(str::is_empty) {
            return Err(bad("a key tied with `+` is empty"));
        }
        let values: Vec<String> = values.split(',').map(|v| v.trim().to_string()).collect();
        if values.iter().any(|v| v.is_empty()) {
            return Err(bad("a value is empty"));
        }
        if let Some(v) = values.iter().find(|v| v.chars().any(|c| c.is_whitespace())) {
            return Err(bad(&format!("the value `{v}` holds a space")));
        }
        for (i, v) in values.iter().enumerate() {
            if values[..i].contains(v) {
                return Err(bad(&format!("`{v}` is listed twice")));
            }
        }
        Ok(Axis {
            key: tied(key).collect::<Vec<_>>().join("+"),
            values,
        })
    }
}

/// The keys of a swept key: `d1.p+d2.p` → `d1.p`, `d2.p`.
pub fn tied(key: &str) -> impl Iterator<Item = &str> {
    key.split('+').map(str::trim)
}

/// One trial: the settings of the swept keys, and a seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trial {
    /// Its directory under the sweep's, e.g. `d.p=0.25_seed=1`.
    pub dir: String,
    /// (key, value) of each swept key, in the order of the `--set`s.
    pub settings: Vec<(String, String)>,
    pub seed: u64,
}

impl Trial {
    /// Its settings with tied keys apart: `d1.p+d2.p=0.5` → `d1.p=0.5`,
    /// `d2.p=0.5`, as the trial's run records them.
    pub fn flat_settings(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .flat_map(|(k, v)| tied(k).map(move |k| (k.to_string(), v.clone())))
            .collect()
    }

    /// The overrides to train it with: each setting, then the seed.
    pub fn overrides(&self) -> Vec<String> {
        self.flat_settings()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(std::iter::once(format!("seed={}", self.seed)))
            .collect()
    }

    /// `d.p=0.25 seed=1`, tied keys kept together (`d1.p+d2.p=0.5 seed=1`),
    /// as `sweep.txt` records a trial so that reading it back keeps the axis.
    pub fn label(&self) -> String {
        self.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(std::iter::once(format!("seed={}", self.seed)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Every combination of `axes` (the last one varying fastest) with every
/// seed (fastest of all): `len(a1) × len(a2) × ... × len(seeds)` trials.
pub fn expand(axes: &[Axis], seeds: &[u64]) -> Vec<Trial> {
    let mut combos: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for a in axes {
        combos = combos
            .into_iter()
            .flat_map(|c| {
                a.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((a.key.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    let mut trials: Vec<Trial> = Vec::new();
    for c in combos {
        for &seed in seeds {
            let mut dir = dir_name(&c, seed);
            // Distinct values can share a name once sanitised (`a/b`, `a?b`).
            let base = dir.clone();
            let mut n = 2;
            while trials.iter().any(|t| t.dir == dir) {
                dir = format!("{base}_{n}");
                n += 1;
            }
            trials.push(Trial {
                dir,
                settings: c.clone(),
                seed,
            });
        }
    }
    trials
}

/// `d.p=0.25_l1.h1=0.1_seed=1`: readable in `ls`, safe in any shell and
/// file system (`l1(h1)` is written `l1.h1`).
pub fn dir_name(settings: &[(String, String)], seed: u64) -> String {
    let clean = |s: &str| -> String {
        s.replace('(', ".")
            .replace(')', "")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._+-".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    settings
        .iter()
        .map(|(k, v)| format!("{}={}", clean(k), clean(v)))
        .chain(std::iter::once(format!("seed={seed}")))
        .collect::<Vec<_>>()
        .join("_")
}

/// Whether every value is a number (the summary's x axis is then numeric).
pub fn numeric(values: &[String]) -> bool {
    values.iter().all(|v| is_number(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn axis(s: &str) -> Axis {
        Axis::parse(s).unwrap()
    }

    #[test]
    fn the_grid_is_every_combination_times_every_seed() {
        let axes = [axis("d.p=0,0.5"), axis("h1.units=16,32,64")];
        let t = expand(&axes, &[0, 1]);
        assert_eq!(t.len(), 2 * 3 * 2);
        assert_eq!(t[0].label(), "d.p=0 h1.units=16 seed=0");
        assert_eq!(t[1].label(), "d.p=0 h1.units=16 seed=1");
        assert_eq!(t[2].label(), "d.p=0 h1.units=32 seed=0");
        assert_eq!(t[11].label(), "d.p=0.5 h1.units=64 seed=1");
        assert_eq!(t[11].dir, "d.p=0.5_h1.units=64_seed=1");
        let mut dirs: Vec<&str> = t.iter().map(|t| t.dir.as_str()).collect();
        dirs.sort();
        dirs.dedup();
        assert_eq!(dirs.len(), 12);
        // No axes: one trial per seed.
        let t = expand(&[], &[3]);
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].dir, "seed=3");
        assert_eq!(t[0].overrides(), ["seed=3"]);
    }

    #[test]
    fn tied_keys_take_one_value_each_trial() {
        let t = expand(&[axis("d1.p+d2.p=0.1,0.5")], &[0]);
        assert_eq!(t.len(), 2);
        assert_eq!(t[1].overrides(), ["d1.p=0.5", "d2.p=0.5", "seed=0"]);
        assert_eq!(t[1].dir, "d1.p+d2.p=0.5_seed=0");
        assert_eq!(t[1].label(), "d1.p+d2.p=0.5 seed=0");
        assert_eq!(
            t[1].flat_settings(),
            [
                ("d1.p".to_string(), "0.5".to_string()),
                ("d2.p".to_string(), "0.5".to_string())
            ]
        );
    }

    #[test]
    fn directory_names_are_safe_and_distinct() {
        let s = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert_eq!(dir_name(&s("l1(h1)", "1e-4"), 0), "l1.h1=1e-4_seed=0");
        assert_eq!(dir_name(&s("d.mode", "a/b"), 2), "d.mode=a-b_seed=2");
        let axes = [axis("d.mode=a/b,a?b")];
        let t = expand(&axes, &[0]);
        assert_eq!(t[0].dir, "d.mode=a-b_seed=0");
        assert_eq!(t[1].dir, "d.mode=a-b_seed=0_2");
    }

    #[test]
    fn axes_are_read_strictly() {
        assert_eq!(axis("d.p=0, 0.25,0.5").values, vec!["0", "0.25", "0.5"]);
        assert_eq!(axis("d1.p + d2.p=0.5").key, "d1.p+d2.p");
        for bad in [
            "d.p", "=1,2", "d1.p+=1", "+d.p=1", "d.p=1,,2", "d.p=1,1", "d.p=", "d.p=1 2",
        ] {
            assert!(Axis::parse(bad).is_err(), "{bad}");
        }
        assert!(numeric(&["0".into(), "1e-3".into()]));
        assert!(!numeric(&["inverted".into()]));
    }
}
