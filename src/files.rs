//! Crash-safe file replacement: write a temporary sibling, sync it, rename it
//! over the target, sync the directory. Every file netc writes goes through
//! here (run directories, sweeps, pictures, `netc fmt`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use thiserror::Error;

/// The OS refused an operation on `path` (`action` says which).
#[derive(Debug, Error)]
#[error("cannot {action} {}: {source}", .path.display())]
pub struct FileError {
    pub path: PathBuf,
    pub action: &'static str,
    pub source: io::Error,
}

/// Writes `bytes` to `path` atomically: readers (and a crash at any moment) see
/// either the old file or the complete new one. On error the old file is left
/// as it was and the temporary file is removed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// Like [`write_atomic`], with the contents produced by `write` (which may
/// stream them). If `write` fails, the old file is left as it was.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), FileError> {
    let io_err = |action: &'static str| {
        move |source: io::Error| FileError {
            path: path.to_path_buf(),
            action,
            source,
        }
    };
    // A symbolic link is followed: its target is replaced, the link stays.
    let target = match fs::canonicalize(path) {
        Ok(t) => t,
        Err(_) => path.to_path_buf(),
    };
    let Some(name) = target.file_name() else {
        return Err(io_err("write")(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path does not name a file",
        )));
    };
    let dir = parent_dir(&target);
    let (tmp_path, file) = create_temp(&dir, &name.to_string_lossy()).map_err(io_err("write"))?;
    // A file replaced keeps its permissions (a script's or a shared file's).
    let keep = fs::metadata(&target).ok().map(|m| m.permissions());
    let result = fill_and_sync(file, write)
        .and_then(|()| keep.map_or(Ok(()), |p| fs::set_permissions(&tmp_path, p)))
        .map_err(io_err("write"))
        .and_then(|()| fs::rename(&tmp_path, &target).map_err(io_err("replace")));
    if let Err(e) = result {
        // Best effort: the error that matters is the one being returned.
        let _ = fs::remove_file(&tmp_path);
        return Err(e);
    }
    // Makes the rename itself durable. The new file is already in place here.
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| FileError {
            path: dir,
            action: "sync the directory",
            source,
        })
}

/// The directory holding `path`: the temporary file goes there, so the rename
/// stays on one filesystem (where it is atomic).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        // `Path::parent` of a bare file name is "", which means ".".
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Removes the temporary files that writes of `path` left behind when their
/// process was killed (`.<name>.<pid>.<n>.tmp` next to it), and returns how
/// many. Call it before the first write of a run. A writer whose temporary is
/// removed under it fails its rename and reports it; the target stays intact.
pub fn remove_stale_temps(path: &Path) -> Result<usize, FileError> {
    let Some(name) = path.file_name() else {
        return Ok(0);
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let dir = parent_dir(path);
    let io_err = |action: &'static str| {
        let dir = dir.clone();
        move |source| FileError {
            path: dir,
            action,
            source,
        }
    };
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        // No directory yet: nothing was left behind.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(io_err("list")(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(io_err("list"))?;
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if let Some(rest) = file_name.strip_prefix(&prefix)
            && is_temp_suffix(rest)
        {
            fs::remove_file(entry.path()).map_err(io_err("clean up"))?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Whether `rest` is the `<pid>.<n>.tmp` tail of one of our temporary names.
fn is_temp_suffix(rest: &str) -> bool {
    let Some(numbers) = rest.strip_suffix(".tmp") else {
        return false;
    };
    let mut parts = numbers.split('.');
    let numeric =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()
}

/// Writes through a buffer, flushes, and syncs the data to disk.
fn fill_and_sync(
    file: File,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write(&mut w)?;
    let file = w.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

/// Creates a new hidden temporary file next to the target, never reusing one
/// that exists (another writer may own it).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let pid = std::process::id();
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{pid}.{n}.tmp"));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A replaced file keeps its permissions; a link is followed and stays a link.
    #[test]
    fn a_replaced_file_keeps_its_mode_and_a_link_stays_a_link() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("run.sh");
        fs::write(&target, b"old").unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o751)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read(&target).unwrap(), b"new");
        let mode = fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o751);
    }

    /// Names of the entries of `dir`, sorted.
    fn entries(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        write_atomic(&path, b"first").unwrap();
        write_atomic(&path, b"second").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert_eq!(entries(dir.path()), ["model.safetensors"]);
    }

    #[test]
    fn a_failing_write_keeps_the_old_file() {
        // Stands in for a full disk: half the bytes go out, then ENOSPC.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.safetensors");
        write_atomic(&path, b"last good checkpoint").unwrap();
        let err = write_atomic_with(&path, |w| {
            w.write_all(&[7u8; 3 << 20])?;
            Err(io::Error::from(io::ErrorKind::StorageFull))
        })
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("cannot write "), "{msg}");
        assert!(msg.contains("checkpoint.safetensors"), "{msg}");
        assert!(msg.contains("no storage space"), "{msg}");
        assert_eq!(fs::read(&path).unwrap(), b"last good checkpoint");
        assert_eq!(entries(dir.path()), ["checkpoint.safetensors"]);
    }

    #[test]
    fn a_parent_that_is_a_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let err = write_atomic(&file.join("model.safetensors"), b"data").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("not-a-dir/model.safetensors"), "{msg}");
        assert!(msg.contains("Not a directory"), "{msg}");
        assert_eq!(fs::read(&file).unwrap(), b"x");
    }

    #[test]
    fn a_missing_directory_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("no/such/m.safetensors"), b"d").unwrap_err();
        assert!(
            err.to_string().contains("No such file or directory"),
            "{err}"
        );
    }

    #[test]
    fn a_failing_rename_removes_the_temporary() {
        // The target is a non-empty directory: the data is written and synced,
        // then the rename fails.
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("model.safetensors");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("keep"), b"k").unwrap();
        let err = write_atomic(&target, b"data").unwrap_err();
        assert!(err.to_string().starts_with("cannot replace "), "{err}");
        assert_eq!(entries(dir.path()), ["model.safetensors"]);
        assert_eq!(fs::read(target.join("keep")).unwrap(), b"k");
    }

    #[test]
    fn a_path_without_a_file_name_is_refused() {
        let err = write_atomic(Path::new("/"), b"d").unwrap_err();
        assert!(err.to_string().contains("does not name a file"), "{err}");
    }

    #[test]
    fn stale_temporaries_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoint.safetensors");
        write_atomic(&path, b"good").unwrap();
        for name in [
            ".checkpoint.safetensors.4242.0.tmp",
            ".checkpoint.safetensors.17.3.tmp",
            ".checkpoint.safetensors.x.0.tmp",
            ".checkpoint.safetensors.1.tmp",
            ".model.safetensors.4242.0.tmp",
            "checkpoint.safetensors.4242.0.tmp",
        ] {
            fs::write(dir.path().join(name), b"partial").unwrap();
        }
        assert_eq!(remove_stale_temps(&path).unwrap(), 2);
        assert_eq!(
            entries(dir.path()),
            [
                ".checkpoint.safetensors.1.tmp",
                ".checkpoint.safetensors.x.0.tmp",
                ".model.safetensors.4242.0.tmp",
                "checkpoint.safetensors",
                "checkpoint.safetensors.4242.0.tmp",
            ]
        );
        assert_eq!(fs::read(&path).unwrap(), b"good");
        let missing = dir.path().join("no-run-yet/model.safetensors");
        assert_eq!(remove_stale_temps(&missing).unwrap(), 0);
    }

    #[test]
    fn a_bare_file_name_lives_in_the_current_directory() {
        assert_eq!(parent_dir(Path::new("m.safetensors")), Path::new("."));
        assert_eq!(
            parent_dir(Path::new("runs/m.safetensors")),
            Path::new("runs")
        );
        assert_eq!(parent_dir(Path::new("/m.safetensors")), Path::new("/"));
    }
}
