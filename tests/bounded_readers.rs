//! Every reader stops at its limit while reading, whatever the file system
//! says of the file's length: `/dev/zero` and pipes (whose metadata says 0
//! bytes) and large sparse files (which say the truth, cheaply) are refused
//! quickly with an error naming the file, by the library and through the
//! command line.

mod common;

use common::cli::{fails, netc};
use netc::checkpoint::{CheckpointError, MAX_TENSOR_FILE_BYTES, read_tensors};
use netc::data::{DataError, DataSpec, LabelKind, load};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What a quick refusal may take, on a loaded shared machine.
const QUICK: Duration = Duration::from_secs(10);

/// `/dev/zero`, or `None` with a note where the system has none.
fn dev_zero() -> Option<&'static Path> {
    let p = Path::new("/dev/zero");
    if p.exists() {
        Some(p)
    } else {
        eprintln!("note: skipped: this system has no /dev/zero");
        None
    }
}

/// Runs `f`, checking that it took less than [`QUICK`].
fn quickly<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let out = f();
    let took = t.elapsed();
    assert!(took < QUICK, "{what} took {took:?}");
    out
}

/// A named pipe in a new folder, fed from a thread by `head` and then by
/// `filler` repeated until the reader closes it.
struct Fifo {
    dir: tempfile::TempDir,
}

impl Fifo {
    fn new(name: &str, head: Vec<u8>, filler: &'static [u8]) -> Option<Fifo> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        let made = std::process::Command::new("mkfifo").arg(&path).status();
        if !made.is_ok_and(|s| s.success()) {
            eprintln!("note: skipped: mkfifo is not available here");
            return None;
        }
        std::thread::spawn(move || {
            // Blocks until a reader opens the pipe; ends when it closes it
            // (Rust ignores SIGPIPE: the write fails instead).
            let Ok(mut pipe) = std::fs::OpenOptions::new().write(true).open(&path) else {
                return;
            };
            if pipe.write_all(&head).is_err() {
                return;
            }
            while pipe.write_all(filler).is_ok() {}
        });
        Some(Fifo { dir })
    }

    fn path(&self) -> PathBuf {
        std::fs::read_dir(self.dir.path())
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path()
    }
}

/// A sparse file of `len` bytes starting with `head` (nothing is written
/// past it, so it costs no disk).
fn sparse(dir: &Path, name: &str, head: &[u8], len: u64) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(head).unwrap();
    f.set_len(len).unwrap();
    path
}

/// A safetensors header for one F32 tensor `x` of shape [2, 2] (16 bytes).
fn tensor_head() -> Vec<u8> {
    let json = br#"{"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#;
    let mut head = (json.len() as u64).to_le_bytes().to_vec();
    head.extend_from_slice(json);
    head
}

fn csv_spec(path: &Path) -> DataSpec {
    DataSpec::Csv {
        path: path.to_path_buf(),
        test: None,
        test_fraction: 0.2,
        header: false,
    }
}

#[test]
fn dev_zero_is_refused_quickly_by_the_safetensors_and_csv_readers() {
    let Some(zero) = dev_zero() else { return };
    let e = quickly("read_tensors", || read_tensors(zero)).unwrap_err();
    assert!(matches!(e, CheckpointError::NotSafetensors { .. }), "{e:?}");
    assert!(e.to_string().starts_with("/dev/zero: "), "{e}");
    let e = quickly("csv", || {
        load(&csv_spec(zero), 2, LabelKind::Classes(2), &[])
    })
    .unwrap_err();
    assert!(matches!(e, DataError::LineTooLong { .. }), "{e:?}");
    assert!(e.to_string().starts_with("/dev/zero:1: "), "{e}");
}

#[test]
fn a_pipe_that_never_ends_is_refused_at_the_limit() {
    // A valid header and its data, then more for ever.
    let mut head = tensor_head();
    head.extend_from_slice(&[0; 16]);
    let Some(fifo) = Fifo::new("batch.safetensors", head, &[0; 4096]) else {
        return;
    };
    let e = quickly("read_tensors", || read_tensors(&fifo.path())).unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, CheckpointError::Truncated { .. }), "{e:?}");
    assert!(
        text.contains("batch.safetensors") && text.contains("bytes appended"),
        "{text}"
    );

    // A CSV line that never ends.
    let Some(fifo) = Fifo::new("rows.csv", b"1,2,0\n".to_vec(), b"1111111111") else {
        return;
    };
    let e = quickly("csv", || {
        load(&csv_spec(&fifo.path()), 2, LabelKind::Classes(2), &[])
    })
    .unwrap_err();
    assert!(matches!(e, DataError::LineTooLong { line: 2, .. }), "{e:?}");
}

#[test]
fn large_sparse_files_are_refused_without_reading_them() {
    let tmp = tempfile::tempdir().unwrap();
    let big = MAX_TENSOR_FILE_BYTES + 1;
    let path = sparse(tmp.path(), "w.safetensors", &tensor_head(), big);
    let e = quickly("read_tensors", || read_tensors(&path)).unwrap_err();
    assert!(matches!(e, CheckpointError::OverLimit { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!(
            "{}: it is {big} bytes long, over netc's limit of {MAX_TENSOR_FILE_BYTES} bytes for a safetensors file",
            path.display()
        )
    );
    let path = sparse(tmp.path(), "zeros.csv", b"", 20 << 30);
    let e = quickly("csv", || {
        load(&csv_spec(&path), 2, LabelKind::Classes(2), &[])
    })
    .unwrap_err();
    assert!(matches!(e, DataError::LineTooLong { .. }), "{e:?}");
}

#[test]
fn the_command_line_refuses_dev_zero_everywhere() {
    let Some(_) = dev_zero() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("g.safetensors");
    let run = tmp.path().join("run");
    let csv_net = tmp.path().join("zero.net");
    let mlp = std::fs::read_to_string("models/mlp.net").unwrap();
    let data = mlp
        .lines()
        .find(|l| l.trim_start().starts_with("data:"))
        .expect("models/mlp.net names its data");
    std::fs::write(&csv_net, mlp.replace(data, "  data: csv(\"/dev/zero\")")).unwrap();
    let runs: [(&str, Vec<&str>, &str); 5] = [
        (
            "check",
            vec!["check", "/dev/zero"],
            "error: `/dev/zero` is more than 1048576 bytes, too large for a .net file (at most 1048576)",
        ),
        (
            "eval --weights",
            vec!["eval", "models/mlp.net", "--weights", "/dev/zero"],
            "error: /dev/zero: not a safetensors file",
        ),
        (
            "grad --batch",
            vec![
                "grad",
                "models/mlp.net",
                "--batch",
                "/dev/zero",
                "--out",
                out.to_str().unwrap(),
            ],
            "error: /dev/zero: not a safetensors file",
        ),
        (
            "train --resume",
            vec!["train", "models/mlp.net", "--resume", "/dev/zero"],
            "error: /dev/zero: not a safetensors file",
        ),
        (
            "csv(\"/dev/zero\")",
            vec![
                "train",
                csv_net.to_str().unwrap(),
                "--out",
                run.to_str().unwrap(),
            ],
            "error: /dev/zero:1: line is longer than",
        ),
    ];
    for (what, args, expected) in runs {
        let r = quickly(what, || netc(&args));
        fails(&r);
        assert!(r.stderr.contains(expected), "{what}: {}", r.stderr);
    }
    assert!(!out.exists());
}

#[test]
fn the_command_line_refuses_an_endless_pipe_and_a_huge_sparse_net_file() {
    let Some(fifo) = Fifo::new("endless.net", b"net t v1\n".to_vec(), b"# more\n") else {
        return;
    };
    let path = fifo.path();
    let r = quickly("check FIFO", || netc(&["check", path.to_str().unwrap()]));
    fails(&r);
    assert!(
        r.stderr
            .contains("endless.net` is more than 1048576 bytes, too large for a .net file"),
        "{}",
        r.stderr
    );
    let tmp = tempfile::tempdir().unwrap();
    let path = sparse(tmp.path(), "huge.net", b"net t v1\n", 20 << 30);
    let r = quickly("check sparse", || netc(&["check", path.to_str().unwrap()]));
    fails(&r);
    assert!(
        r.stderr
            .contains("huge.net` is 21474836480 bytes, too large for a .net file"),
        "{}",
        r.stderr
    );
}
