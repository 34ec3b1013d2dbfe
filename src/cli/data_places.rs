//! Where the command line looks for a named data set (`mnist`,
//! `fashion-mnist`): a folder of that name under `--data-dir`, then
//! `$NETC_DATA`, then `./data/`, then `/usr/share/datasets/` (where Debian's
//! `dataset-fashion-mnist` installs). The library is given this list.

use netc::data::fetch::remote_set;
use netc::data::{DataError, IDX_NAMES, SearchDir};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The system-wide data folder of Debian's dataset packages.
const SYSTEM_DATA_DIR: &str = "/usr/share/datasets";

/// The places to look, in order, for a command given `--data-dir`.
pub fn places(data_dir: Option<&Path>) -> Vec<SearchDir> {
    search_dirs(data_dir, std::env::var_os("NETC_DATA").as_deref())
}

/// The places to look, in order. `netc_data` is the value of `$NETC_DATA`,
/// passed in so the order can be tested without touching the environment;
/// an empty value counts as unset. `--data-dir` is listed only when given.
fn search_dirs(data_dir: Option<&Path>, netc_data: Option<&OsStr>) -> Vec<SearchDir> {
    let mut dirs = Vec::with_capacity(4);
    if let Some(d) = data_dir {
        dirs.push(SearchDir {
            dir: Some(d.to_path_buf()),
            origin: "--data-dir",
        });
    }
    dirs.push(SearchDir {
        dir: netc_data.filter(|v| !v.is_empty()).map(PathBuf::from),
        origin: "$NETC_DATA",
    });
    dirs.push(SearchDir {
        dir: Some(PathBuf::from("data")),
        origin: "./data",
    });
    dirs.push(SearchDir {
        dir: Some(PathBuf::from(SYSTEM_DATA_DIR)),
        origin: "system data sets",
    });
    dirs
}

/// A data error as the command line tells it: a set not found says how to
/// put it in one of these places.
pub fn explain(e: &DataError) -> String {
    match e {
        DataError::NotFound { set, looked } => {
            let mut text = format!("{e}\nhelp: {}", help_for(set));
            if let Some(command) = fetch_command(set, looked) {
                text.push_str(&format!("\nhelp: or download them: {command}"));
            }
            text
        }
        _ => e.to_string(),
    }
}

/// The `netc data fetch` command that puts the set `folder` where the
/// command that did not find it looks first: the `--data-dir` it was given,
/// else the first of the other places. `None` for a set netc cannot fetch.
fn fetch_command(folder: &str, looked: &[(PathBuf, String)]) -> Option<String> {
    let set = remote_set(folder)?;
    let data_dir = looked
        .iter()
        .find(|(_, why)| why.ends_with("(--data-dir)"))
        .and_then(|(place, _)| place.parent());
    Some(match data_dir {
        Some(d) => format!("netc data fetch {} --data-dir {}", set.name, d.display()),
        None => format!("netc data fetch {}", set.name),
    })
}

/// How to get a set, for the not-found message.
fn help_for(folder: &str) -> String {
    let mut help = format!(
        "put the four files {} (each gzipped or not) in a folder `{folder}` in one of these \
         places, e.g. ./data/{folder}/, or pass --data-dir DIR (or set NETC_DATA=DIR) where DIR \
         holds {folder}/",
        IDX_NAMES.map(|n| format!("{n}.gz")).join(", ")
    );
    if folder == "fashion-mnist" {
        help.push_str(
            "; on Debian, `apt-get install dataset-fashion-mnist` installs them in \
             /usr/share/datasets/fashion-mnist/",
        );
    }
    help
}

/// The place `netc data fetch` puts a set without `--data-dir`: the first
/// place the other commands look, `$NETC_DATA` if set, else `./data`.
pub fn first_place(data_dir: Option<&Path>) -> PathBuf {
    places(data_dir)
        .into_iter()
        .find_map(|p| p.dir)
        .unwrap_or_else(|| PathBuf::from("data"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use netc::data::{DataSpec, LabelKind, load};

    #[test]
    fn order_is_data_dir_env_local_system() {
        let dirs = search_dirs(Some(Path::new("/a")), Some(OsStr::new("/b")));
        let got: Vec<_> = dirs.iter().map(|d| (d.dir.clone(), d.origin)).collect();
        assert_eq!(
            got,
            [
                (Some(PathBuf::from("/a")), "--data-dir"),
                (Some(PathBuf::from("/b")), "$NETC_DATA"),
                (Some(PathBuf::from("data")), "./data"),
                (
                    Some(PathBuf::from("/usr/share/datasets")),
                    "system data sets"
                ),
            ]
        );
        let dirs = search_dirs(None, Some(OsStr::new("")));
        assert_eq!(dirs.len(), 3);
        assert_eq!(dirs[0].dir, None);
    }

    #[test]
    fn a_set_not_found_says_how_to_add_a_place() {
        let tmp = tempfile::tempdir().unwrap();
        let nowhere = tmp.path().join("nowhere");
        let dirs = search_dirs(Some(&nowhere), None);
        let e = load(
            &DataSpec::FashionMnist,
            784,
            LabelKind::Classes(10),
            &dirs[..2],
        )
        .unwrap_err();
        let text = explain(&e).replace(&tmp.path().display().to_string(), "TMP");
        assert_eq!(
            text,
            "data set `fashion-mnist` not found; looked in:\n  \
             TMP/nowhere/fashion-mnist: no such folder (--data-dir)\n  \
             $NETC_DATA: not set\n\
             help: put the four files train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, \
             t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz (each gzipped or not) in a \
             folder `fashion-mnist` in one of these places, e.g. ./data/fashion-mnist/, or pass \
             --data-dir DIR (or set NETC_DATA=DIR) where DIR holds fashion-mnist/; on Debian, \
             `apt-get install dataset-fashion-mnist` installs them in \
             /usr/share/datasets/fashion-mnist/\n\
             help: or download them: netc data fetch fashion_mnist --data-dir TMP/nowhere"
        );
    }
}
