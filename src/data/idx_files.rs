//! The four files of an IDX set, and finding a named set (`mnist`,
//! `fashion-mnist`) as a folder of that name in the first of an ordered list
//! of places that holds it. The caller chooses the places (the command line:
//! `--data-dir`, `$NETC_DATA`, `./data/`, `/usr/share/datasets/`).

use super::error::DataError;
use std::path::{Path, PathBuf};

/// The standard names of the four IDX files, each also read as `NAME.gz`.
pub const IDX_NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// The four files of an IDX set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxFiles {
    pub train_images: PathBuf,
    pub train_labels: PathBuf,
    pub test_images: PathBuf,
    pub test_labels: PathBuf,
}

/// A place to look, or why there is none (a variable that is unset).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchDir {
    /// The folder that may hold the set's folder; `None` if not configured.
    pub dir: Option<PathBuf>,
    /// Where it comes from, as the caller names it in messages.
    pub origin: &'static str,
}

/// The four IDX files directly in `dir`, each as `NAME` or `NAME.gz` (the
/// uncompressed one if both exist: it loads faster).
pub fn idx_files_in(dir: &Path) -> Result<IdxFiles, DataError> {
    let mut found = Vec::with_capacity(4);
    let mut missing = Vec::new();
    for name in IDX_NAMES {
        let plain = dir.join(name);
        let gz = dir.join(format!("{name}.gz"));
        if plain.is_file() {
            found.push(plain);
        } else if gz.is_file() {
            found.push(gz);
        } else {
            missing.push(format!("{name}[.gz]"));
        }
    }
    match <[PathBuf; 4]>::try_from(found) {
        Ok([train_images, train_labels, test_images, test_labels]) if missing.is_empty() => {
            Ok(IdxFiles {
                train_images,
                train_labels,
                test_images,
                test_labels,
            })
        }
        _ => Err(DataError::MissingFiles {
            dir: dir.to_path_buf(),
            missing,
        }),
    }
}

/// Finds the set's folder (`mnist`, `fashion-mnist`) in the first of `dirs`
/// that holds all four files; otherwise one error listing every place looked.
pub fn find_set(folder: &str, dirs: &[SearchDir]) -> Result<IdxFiles, DataError> {
    let mut looked = Vec::with_capacity(dirs.len());
    for place in dirs {
        let Some(dir) = &place.dir else {
            looked.push((PathBuf::from(place.origin), "not set".to_string()));
            continue;
        };
        let candidate = dir.join(folder);
        let why = if !candidate.exists() && idx_files_in(dir).is_ok() {
            // A place `D/mnist`: the files are right there, one level up
            // from where netc looks.
            let parent = dir.parent().unwrap_or(dir);
            format!(
                "no such folder, but {} itself holds the four files: name its parent, {}",
                dir.display(),
                parent.display()
            )
        } else if !candidate.exists() {
            "no such folder".to_string()
        } else if !candidate.is_dir() {
            "not a folder".to_string()
        } else {
            match idx_files_in(&candidate) {
                Ok(files) => return Ok(files),
                Err(DataError::MissingFiles { missing, .. }) => {
                    format!("missing {}", missing.join(", "))
                }
                Err(e) => e.to_string(),
            }
        };
        looked.push((candidate, format!("{why} ({})", place.origin)));
    }
    Err(DataError::NotFound {
        set: folder.to_string(),
        looked,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch_set(dir: &Path, gz: bool) {
        fs::create_dir_all(dir).unwrap();
        for n in IDX_NAMES {
            let name = if gz { format!("{n}.gz") } else { n.to_string() };
            fs::write(dir.join(name), b"x").unwrap();
        }
    }

    #[test]
    fn first_complete_place_wins() {
        let tmp = tempfile::tempdir().unwrap();
        let a = tmp.path().join("a");
        let b = tmp.path().join("b");
        fs::create_dir_all(a.join("mnist")).unwrap(); // incomplete: skipped
        touch_set(&b.join("mnist"), true);
        let place = |dir: &Path| SearchDir {
            dir: Some(dir.to_path_buf()),
            origin: "test",
        };
        let dirs = [place(&a), place(&b)];
        let files = find_set("mnist", &dirs).unwrap();
        assert_eq!(
            files.train_images,
            b.join("mnist/train-images-idx3-ubyte.gz")
        );
        touch_set(&a.join("mnist"), false);
        let files = find_set("mnist", &dirs).unwrap();
        assert_eq!(files.test_labels, a.join("mnist/t10k-labels-idx1-ubyte"));
    }

    #[test]
    fn plain_file_preferred_over_gz() {
        let tmp = tempfile::tempdir().unwrap();
        touch_set(tmp.path(), true);
        touch_set(tmp.path(), false);
        let files = idx_files_in(tmp.path()).unwrap();
        assert_eq!(
            files.train_labels,
            tmp.path().join("train-labels-idx1-ubyte")
        );
    }

    #[test]
    fn missing_files_are_listed() {
        let tmp = tempfile::tempdir().unwrap();
        fs::write(tmp.path().join("train-images-idx3-ubyte.gz"), b"x").unwrap();
        let e = idx_files_in(tmp.path()).unwrap_err().to_string();
        assert!(
            e.ends_with(
                "missing train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], \
                 t10k-labels-idx1-ubyte[.gz]; expected the four standard IDX files (gzipped or not)"
            ),
            "{e}"
        );
    }
}
