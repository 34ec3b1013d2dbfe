//! Where a sweep goes. As with a run ([`crate::run::Placement`]), a fresh
//! sweep never lands on an earlier one: the default moves on to `-2`, `-3`,
//! ...; a directory named for it that holds another sweep is refused unless
//! overwritten. The same sweep named again (the same `sweep.txt`) continues:
//! finished trials stay, interrupted ones resume from their checkpoints.

use super::SweepError;
use super::manifest::{MANIFEST, Manifest};
use crate::files;
use crate::run::first_free;
use std::path::{Path, PathBuf};

/// A sweep directory, and whether it continues an interrupted sweep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Placed {
    pub dir: PathBuf,
    pub continuing: bool,
}

/// Does `dir` hold a sweep?
fn holds_sweep(dir: &Path) -> bool {
    dir.join(MANIFEST).exists()
}

/// Where the sweep `planned` goes: `dir` if given (one holding another sweep
/// is refused unless `overwrite`), else the first free `default`, `-2`, ...
pub fn place(
    dir: Option<&Path>,
    overwrite: bool,
    default: &Path,
    planned: &Manifest,
) -> Result<Placed, SweepError> {
    let fresh = |dir: PathBuf| Placed {
        dir,
        continuing: false,
    };
    match dir {
        Some(d) if !overwrite && holds_sweep(d) => {
            let same =
                std::fs::read_to_string(d.join(MANIFEST)).is_ok_and(|m| m == planned.render());
            if same {
                Ok(Placed {
                    dir: d.to_path_buf(),
                    continuing: true,
                })
            } else {
                Err(SweepError::Exists(d.to_path_buf()))
            }
        }
        Some(d) => Ok(fresh(d.to_path_buf())),
        None => Ok(fresh(first_free(default, holds_sweep))),
    }
}

impl Placed {
    /// Creates the directory and records the plan in it.
    pub fn create(&self, planned: &Manifest) -> Result<(), SweepError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| SweepError::Create {
            path: self.dir.clone(),
            source,
        })?;
        let text = planned.render();
        Ok(files::write_atomic(
            &self.dir.join(MANIFEST),
            text.as_bytes(),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Trial;

    fn manifest(p: &str) -> Manifest {
        Manifest {
            file: "f.net".into(),
            keys: vec!["d.p".into()],
            trials: vec![Trial {
                dir: format!("d.p={p}_seed=0"),
                settings: vec![("d.p".into(), p.into())],
                seed: 0,
            }],
        }
    }

    #[test]
    fn a_sweep_continues_only_its_own_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let base = tmp.path().join("digits");
        let plan = manifest("0.5");
        let placed = place(None, false, &base, &plan).unwrap();
        assert_eq!(
            placed,
            Placed {
                dir: base.clone(),
                continuing: false
            }
        );
        placed.create(&plan).unwrap();
        // The default moves on; the same plan named again continues.
        assert_eq!(
            place(None, false, &base, &plan).unwrap().dir,
            tmp.path().join("digits-2")
        );
        assert_eq!(
            place(Some(&base), false, &base, &plan).unwrap(),
            Placed {
                dir: base.clone(),
                continuing: true
            }
        );
        // Another plan is refused, unless overwriting.
        let other = manifest("0.25");
        assert!(matches!(
            place(Some(&base), false, &base, &other),
            Err(SweepError::Exists(d)) if d == base
        ));
        assert_eq!(
            place(Some(&base), true, &base, &other).unwrap(),
            Placed {
                dir: base,
                continuing: false
            }
        );
    }
}
