//! Hostile inputs through the command line, as a user meets them: every bad
//! `.net` file, data file, checkpoint, output directory or flag gives a clear
//! error and exit status 1 (2 for a usage error), never a panic (101).
//!
//! The details of each message are tested where the error is made
//! (lang_errors, lang_robust, data_errors, checkpoint); cases already run
//! through the binary elsewhere (cli_check, cli_train) are not repeated.

mod common;

use common::cli::{DATA, Run, TINY, netc, train_tiny};
use std::fs;
use std::path::{Path, PathBuf};

/// `run` was refused with exit status `code` and a message containing `says`,
/// and did not panic.
fn refused(what: &str, r: &Run, code: i32, says: &str) {
    assert_ne!(r.code, 101, "{what}: netc panicked:\n{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{what}:\n{}", r.stderr);
    assert_eq!(r.code, code, "{what}: stderr:\n{}", r.stderr);
    assert!(
        r.stderr.contains(says),
        "{what}: expected {says:?} in:\n{}",
        r.stderr
    );
    if code == 1 {
        assert!(r.stderr.contains("error:"), "{what}:\n{}", r.stderr);
    }
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The fixture net with `from` replaced by `to` (which must occur).
fn tiny_with(from: &str, to: &str) -> String {
    let text = fs::read_to_string(TINY).unwrap();
    assert!(text.contains(from), "{from:?} is not in {TINY}");
    text.replacen(from, to, 1)
}

/// Bytes that look like nothing: a fixed pseudo-random stream.
fn garbage(n: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

#[test]
fn bad_net_files_exit_1_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let layers: String = (0..100_000)
        .map(|i| format!("h{} = relu(linear(h{i}, 4))\n", i + 1))
        .collect();
    let mut text = garbage(4096);
    text.retain(|b| b.is_ascii() && *b != 0);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty file", vec![], "this file declares no net"),
        ("binary garbage", garbage(4096), "is not UTF-8 text"),
        ("ASCII garbage", text, "error:"),
        (
            "invalid UTF-8",
            b"net t v1\ninput x: \xc3\x28\n".to_vec(),
            "invalid byte at offset 18",
        ),
        (
            "a 10 MB single line",
            format!("h = x{}", " + x".repeat(2_500_000)).into_bytes(),
            "too large for a .net file (at most 1048576)",
        ),
        (
            "10^5 layers",
            format!("net deep v1\ninput h0: 4\n{layers}").into_bytes(),
            "too large for a .net file",
        ),
        (
            "10^5 short statements",
            "h=x\n".repeat(100_000).into_bytes(),
            "this file has 100000 statements, more than the limit of 10000",
        ),
        (
            "a layer of 10^12 units",
            tiny_with("16)", "1000000000000)").into_bytes(),
            "a layer of 1000000000000 units on 784 inputs would need 5.6 PiB",
        ),
        (
            "a net too large for memory",
            tiny_with("16)", "2000000000)").into_bytes(),
            "to train, more than the limit of 8.0 GiB",
        ),
    ];
    for (what, bytes, says) in &cases {
        let f = dir.path().join("bad.net");
        fs::write(&f, bytes).unwrap();
        refused(what, &netc(&["check", &s(&f)]), 1, says);
    }
}

#[test]
fn bad_numbers_in_a_net_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // (what, replaced, by, the message)
    let cases = [
        (
            "negative units",
            "16)",
            "-16)",
            "`units` must be at least 1",
        ),
        ("zero units", "16)", "0)", "`units` must be at least 1"),
        ("fractional units", "16)", "16.5)", "must be a whole number"),
        ("huge units", "16)", "1e30)", "`units` is too large"),
        ("infinite units", "16)", "1e999)", "is not a finite number"),
        ("NaN units", "16)", "nan)", "error:"),
        ("zero size", "28x28", "0x28", "must be at least 1"),
        ("huge input", "28x28", "65536x65536", "too many features"),
        ("one class", "classes(10)", "classes(1)", "error:"),
        ("negative p", "0.5)", "-0.5)", "out of range for `p`"),
        ("p of 1", "0.5)", "1)", "out of range for `p`"),
        ("infinite p", "0.5)", "1e999)", "is not a finite number"),
        ("NaN p", "0.5)", "NaN)", "error:"),
        (
            "negative rate",
            "lr: 0.05",
            "lr: -0.05",
            "`lr` must be greater than 0",
        ),
        (
            "zero rate",
            "lr: 0.05",
            "lr: 0",
            "`lr` must be greater than 0",
        ),
        (
            "infinite rate",
            "lr: 0.05",
            "lr: 1e999",
            "is not a finite number",
        ),
        ("momentum of 1", "momentum: 0.9", "momentum: 1", "momentum"),
        ("negative coefficient", "1e-4 *", "-1e-4 *", "error:"),
        (
            "zero batch",
            "batch: 50",
            "batch: 0",
            "`batch` must be at least 1",
        ),
        (
            "huge batch",
            "batch: 50",
            "batch: 1e10",
            "`batch` is too large",
        ),
        (
            "zero epochs",
            "epochs: 3",
            "epochs: 0",
            "`epochs` must be at least 1",
        ),
        (
            "huge seed",
            "seed: 1",
            "seed: 18446744073709551616",
            "`seed` is too large",
        ),
    ];
    for (what, from, to, says) in cases {
        let f = dir.path().join("bad.net");
        fs::write(&f, tiny_with(from, to)).unwrap();
        refused(what, &netc(&["check", &s(&f)]), 1, says);
    }
}

#[test]
fn bad_flags_are_usage_errors_exit_2() {
    let cases: [&[&str]; 10] = [
        &["train", TINY, "--epochs", "0"],
        &["train", TINY, "--steps", "-1"],
        &["train", TINY, "--steps", "1e3"],
        &["train", TINY, "--seed", "-1"],
        &["train", TINY, "--threads", "many"],
        &["train", TINY, "--no-such-flag"],
        &["eval", TINY, "--weights", "w", "--mc", "0"],
        &["eval", TINY, "--weights"],
        &["grad", TINY, "--out", "g"],
        &["check", "--", "--"],
    ];
    for args in cases {
        let r = netc(args);
        assert_ne!(r.code, 101, "{args:?}: {}", r.stderr);
        if args == ["check", "--", "--"] {
            // `--` is a file name here: one that does not exist.
            refused("a file named --", &r, 1, "cannot read");
        } else {
            refused(&format!("{args:?}"), &r, 2, "error:");
        }
    }
}

#[test]
fn more_epochs_than_can_be_counted_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let r = netc(&[
        "train",
        TINY,
        "--data-dir",
        DATA,
        "--quiet",
        "--out",
        &s(dir.path()),
        "--epochs",
        "18446744073709551615",
    ]);
    refused("--epochs u64::MAX", &r, 1, "more steps than netc can count");
}

/// A copy of the MNIST fixture (as `DIR/mnist/`, in a new DIR under `dir`)
/// with one file changed by `f`.
fn broken_mnist(dir: &Path, file: &str, f: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let root = tempfile::tempdir_in(dir).unwrap().keep();
    let mnist = root.join("mnist");
    fs::create_dir_all(&mnist).unwrap();
    for e in fs::read_dir(Path::new(DATA).join("mnist")).unwrap() {
        let e = e.unwrap();
        fs::copy(e.path(), mnist.join(e.file_name())).unwrap();
    }
    let path = mnist.join(file);
    let mut bytes = fs::read(&path).unwrap();
    f(&mut bytes);
    fs::write(&path, bytes).unwrap();
    root
}

fn train_on(data_dir: &Path, out: &Path) -> Run {
    netc(&[
        "train",
        TINY,
        "--data-dir",
        &s(data_dir),
        "--quiet",
        "--steps",
        "1",
        "--out",
        &s(out),
    ])
}

#[test]
fn bad_idx_files_exit_1_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let images = "t10k-images-idx3-ubyte";
    let labels = "t10k-labels-idx1-ubyte";
    let put = |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_be_bytes());
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        (
            "truncated images",
            broken_mnist(dir.path(), images, |b| b.truncate(b.len() - 100)),
            "t10k-images-idx3-ubyte: truncated: expected 78416 bytes, found 78316",
        ),
        (
            "images cut inside the header",
            broken_mnist(dir.path(), images, |b| b.truncate(10)),
            "t10k-images-idx3-ubyte: truncated",
        ),
        (
            "wrong magic",
            broken_mnist(dir.path(), images, |b| put(b, 0, 0x0801)),
            "t10k-images-idx3-ubyte: wrong magic number",
        ),
        (
            "wrong dimensions",
            broken_mnist(dir.path(), images, |b| {
                put(b, 8, 14);
                put(b, 12, 56);
            }),
            "images are 14x56, but the training images",
        ),
        (
            "fewer labels than images",
            broken_mnist(dir.path(), labels, |b| {
                put(b, 4, 99);
                b.pop();
            }),
            "holds 100 images but",
        ),
        (
            "a label out of range",
            broken_mnist(dir.path(), labels, |b| b[8] = 10),
            "label 10 at",
        ),
        (
            "an empty label file",
            broken_mnist(dir.path(), labels, Vec::clear),
            "t10k-labels-idx1-ubyte",
        ),
        (
            "binary garbage for images",
            broken_mnist(dir.path(), images, |b| *b = garbage(5000)),
            "t10k-images-idx3-ubyte",
        ),
    ];
    for (what, data, says) in &cases {
        let r = train_on(data, &out);
        refused(what, &r, 1, says);
    }
    assert!(
        !out.join("model.safetensors").exists(),
        "a run on bad data wrote a model"
    );
}

#[test]
fn bad_csv_and_missing_data_files_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let csv = |name: &str, text: &str| {
        let p = dir.path().join(name);
        fs::write(&p, text).unwrap();
        s(&p)
    };
    let good = "0.1,0.2,0.3,0.4,1\n0.5,0.6,0.7,0.8,0\n";
    let net = |data: &str| {
        format!(
            "net c v1\ninput x: 4\nlabel y: classes(2)\nout = linear(x, 2)\n\
             loss = cross_entropy(out, y)\ntrain {{ data: {data}, batch: 2, steps: 1 }}\n"
        )
    };
    let missing = s(&dir.path().join("nowhere.csv"));
    let cases = [
        (
            "a missing csv",
            format!("csv(\"{missing}\")"),
            "nowhere.csv",
        ),
        (
            "a missing idx directory",
            format!("idx(\"{}\")", s(&dir.path().join("no-dir"))),
            "no-dir",
        ),
        (
            "a missing test file",
            format!("csv(\"{}\", test: \"{missing}\")", csv("a.csv", good)),
            "nowhere.csv",
        ),
        (
            "a truncated row",
            format!("csv(\"{}\")", csv("b.csv", "0.1,0.2,0.3,0.4,1\n0.5,0.6\n")),
            "b.csv:2: 2 columns, expected 5",
        ),
        (
            "a word in a cell",
            format!("csv(\"{}\")", csv("c.csv", "0.1,0.2,zero,0.4,1\n")),
            "c.csv:1: column 3: `zero`",
        ),
        (
            "a class out of range",
            format!("csv(\"{}\")", csv("d.csv", "0.1,0.2,0.3,0.4,7\n")),
            "d.csv",
        ),
        (
            "an empty csv",
            format!("csv(\"{}\")", csv("e.csv", "")),
            "e.csv",
        ),
        (
            "a NaN feature",
            format!("csv(\"{}\")", csv("f.csv", "0.1,NaN,0.3,0.4,1\n")),
            "f.csv:1: column 2",
        ),
        (
            "binary garbage",
            {
                let p = dir.path().join("g.csv");
                fs::write(&p, garbage(3000)).unwrap();
                format!("csv(\"{}\")", s(&p))
            },
            "g.csv",
        ),
    ];
    for (what, data, says) in &cases {
        let f = dir.path().join("c.net");
        fs::write(&f, net(data)).unwrap();
        let r = netc(&[
            "train",
            &s(&f),
            "--quiet",
            "--out",
            &s(&dir.path().join("run")),
        ]);
        refused(what, &r, 1, says);
    }
}

/// A trained fixture run (one epoch) in `dir`.
fn trained(dir: &Path) -> PathBuf {
    let run = dir.join("run");
    let r = train_tiny(&run, &["--epochs", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    run
}

#[test]
fn bad_checkpoints_and_weights_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let ckpt = fs::read(run.join("checkpoint.safetensors")).unwrap();
    let put = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        fs::write(&p, bytes).unwrap();
        s(&p)
    };
    let files = [
        (
            "a truncated checkpoint",
            put("cut.safetensors", &ckpt[..ckpt.len() / 2]),
            "truncated or damaged safetensors file",
        ),
        (
            "a checkpoint cut inside its header",
            put("head.safetensors", &ckpt[..20]),
            "head.safetensors",
        ),
        (
            "a text file",
            put("text.safetensors", b"{\"not\": \"safetensors\"}\n"),
            "not a safetensors file",
        ),
        (
            "binary garbage",
            put("junk.safetensors", &garbage(10_000)),
            "junk.safetensors",
        ),
        (
            "an empty file",
            put("empty.safetensors", b""),
            "empty.safetensors",
        ),
        (
            "a missing file",
            s(&dir.path().join("none.safetensors")),
            "none.safetensors",
        ),
    ];
    // A batch of two zero images for `grad`, written by hand (I64 labels).
    let batch = dir.path().join("batch2.safetensors");
    let header = br#"{"x":{"dtype":"F32","shape":[2,784],"data_offsets":[0,6272]},"y":{"dtype":"I64","shape":[2],"data_offsets":[6272,6288]}}"#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.resize(bytes.len() + 6272, 0);
    bytes.extend_from_slice(&1i64.to_le_bytes());
    bytes.extend_from_slice(&0i64.to_le_bytes());
    fs::write(&batch, bytes).unwrap();
    let batch = s(&batch);
    let wide = dir.path().join("wide.net");
    fs::write(&wide, tiny_with("16)", "32)")).unwrap();
    let wide = s(&wide);
    // Refused runs still get an --out of their own, not runs/ in the repository.
    let elsewhere = s(&dir.path().join("elsewhere"));
    let mut cases: Vec<(String, Vec<String>, &str)> = Vec::new();
    for (what, path, says) in &files {
        let train = [
            "train",
            TINY,
            "--data-dir",
            DATA,
            "--quiet",
            "--out",
            &elsewhere,
            "--resume",
            path,
        ];
        let eval = ["eval", TINY, "--data-dir", DATA, "--weights", path];
        let out = s(&dir.path().join("g.safetensors"));
        let grad = [
            "grad",
            TINY,
            "--batch",
            &batch,
            "--out",
            &out,
            "--weights",
            path,
        ];
        for (cmd, args) in [
            ("--resume", &train[..]),
            ("eval --weights", &eval[..]),
            ("grad --weights", &grad[..]),
        ] {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            cases.push((format!("{what} for {cmd}"), args, says));
        }
    }
    // A checkpoint of another net: the names and shapes that differ are listed.
    let renamed = dir.path().join("renamed.net");
    fs::write(
        &renamed,
        tiny_with("h = relu", "g = relu")
            .replace("dropout(h,", "dropout(g,")
            .replace("l1(h)", "l1(g)"),
    )
    .unwrap();
    let renamed = s(&renamed);
    let model = s(&run.join("model.safetensors"));
    let ckpt_path = s(&run.join("checkpoint.safetensors"));
    let shape = "tensor `h.weight` has shape [16, 784], expected [32, 784]";
    let resume_wide = |force: bool| {
        let mut a = vec![
            "train",
            &wide,
            "--data-dir",
            DATA,
            "--quiet",
            "--out",
            &elsewhere,
            "--resume",
            &ckpt_path,
        ];
        a.extend(force.then_some("--force"));
        a
    };
    for (what, args, says) in [
        (
            "another net's checkpoint for --resume",
            resume_wide(false),
            "is not the net `tiny` recorded in",
        ),
        (
            "another net's checkpoint for --resume --force",
            resume_wide(true),
            shape,
        ),
        (
            "another net's weights for eval --weights",
            vec!["eval", &wide, "--data-dir", DATA, "--weights", &model],
            shape,
        ),
        (
            "weights with other names for eval --weights",
            vec!["eval", &renamed, "--data-dir", DATA, "--weights", &model],
            "g.weight",
        ),
    ] {
        let args = args.iter().map(|a| a.to_string()).collect();
        cases.push((what.to_string(), args, says));
    }
    // A batch that is not a batch.
    let junk = put("batch.safetensors", &garbage(100));
    let out = s(&dir.path().join("g.safetensors"));
    cases.push((
        "garbage for grad --batch".into(),
        ["grad", TINY, "--batch", &junk, "--out", &out]
            .iter()
            .map(|a| a.to_string())
            .collect(),
        "batch.safetensors",
    ));
    for (what, args, says) in &cases {
        refused(what, &netc(args), 1, says);
    }
    assert!(!dir.path().join("g.safetensors").exists());
    assert_eq!(
        fs::read(run.join("checkpoint.safetensors")).unwrap(),
        ckpt,
        "a refused resume touched the checkpoint"
    );
}

#[test]
fn unwritable_output_places_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    // We run as root, so permission bits stop nothing: use places no one can write.
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let blocked = dir.path().join("blocked");
    fs::create_dir_all(blocked.join("checkpoint.safetensors")).unwrap();
    let cases = [
        (
            "--out is a regular file",
            s(&file),
            "cannot create the run directory",
        ),
        (
            "--out is in /proc",
            "/proc/netc-cannot-be-here".to_string(),
            "cannot create the run directory",
        ),
        (
            "checkpoint.safetensors is a directory",
            s(&blocked),
            "checkpoint.safetensors",
        ),
    ];
    for (what, out, says) in &cases {
        let r = netc(&[
            "train",
            TINY,
            "--data-dir",
            DATA,
            "--quiet",
            "--steps",
            "1",
            "--out",
            out,
        ]);
        refused(what, &r, 1, says);
    }
    let r = netc(&[
        "grad",
        TINY,
        "--batch",
        "no-such-batch",
        "--out",
        &s(&file.join("g")),
    ]);
    refused("grad with no batch", &r, 1, "no-such-batch");
}

/// A write the OS cuts short (`ulimit -f`, EFBIG, as a full disk gives
/// ENOSPC) stops the run with exit 1; the last checkpoint and model are
/// intact and no temporary file is left.
#[test]
fn a_disk_that_fills_keeps_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let before: Vec<(String, Vec<u8>)> = ["checkpoint.safetensors", "model.safetensors"]
        .iter()
        .map(|f| (f.to_string(), fs::read(run.join(f)).unwrap()))
        .collect();
    // The checkpoint is ~100 KiB: a 64 KiB limit lets metrics.csv through
    // and cuts the checkpoint.
    let bin = env!("CARGO_BIN_EXE_netc");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64 && exec \"$0\" \"$@\"")
        .arg(bin)
        .args([
            "train",
            TINY,
            "--data-dir",
            DATA,
            "--quiet",
            "--epochs",
            "2",
        ])
        .arg("--out")
        .arg(&run)
        .arg("--resume")
        .arg(run.join("checkpoint.safetensors"))
        .output()
        .unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    refused("a full disk", &r, 1, "File too large");
    for (f, bytes) in &before {
        assert!(fs::read(run.join(f)).unwrap() == *bytes, "{f} changed");
    }
    let mut left: Vec<String> = fs::read_dir(&run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "checkpoint.safetensors",
            "curves.svg",
            "metrics.csv",
            "model.safetensors"
        ],
        "a temporary file was left behind"
    );
    // The checkpoint left behind still resumes.
    let r = netc(&[
        "train",
        TINY,
        "--data-dir",
        DATA,
        "--quiet",
        "--epochs",
        "2",
        "--out",
        &s(&run),
        "--resume",
        &s(&run.join("checkpoint.safetensors")),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// `netc fmt` rewrites a file by replacing it whole; through a symbolic link
/// it rewrites the target and leaves the link a link.
#[test]
fn fmt_through_a_symlink_keeps_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.net");
    fs::write(
        &target,
        fs::read_to_string(TINY)
            .unwrap()
            .replace("h = relu", "h   =   relu"),
    )
    .unwrap();
    let link = dir.path().join("link.net");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let r = netc(&["fmt", &s(&link)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        fs::read_to_string(TINY).unwrap()
    );
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

/// `netc ARGS... | head -N` in bash, as a user types it (`2>&1` first when
/// `both`): netc's own exit status, and what head let through.
fn piped_into_head(args: &[&str], both: bool, lines: usize) -> (i32, String) {
    let redirect = if both { "2>&1" } else { "2>/dev/null" };
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "\"$0\" \"$@\" {redirect} | head -{lines}; exit \"${{PIPESTATUS[0]}}\""
        ))
        .arg(env!("CARGO_BIN_EXE_netc"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// A closed pipe ends netc quietly with status 0 (as `ls | head` ends), never
/// with a panic; a run stops at an evaluation with its files whole, and
/// `--resume` takes it to the same weights as a run never interrupted.
#[test]
fn a_closed_pipe_ends_netc_quietly_and_a_run_stays_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("piped");
    let epochs = ["--epochs", "40"];
    let mut args = vec!["train", TINY, "--data-dir", DATA, "--out"];
    let run_s = s(&run);
    args.push(&run_s);
    args.extend(epochs);
    let (code, shown) = piped_into_head(&args, true, 1);
    assert_eq!(
        code, 0,
        "netc's status behind `| head -1`; it showed:\n{shown}"
    );
    assert!(!shown.contains("panicked"), "{shown}");
    let metrics = fs::read_to_string(run.join("metrics.csv")).unwrap();
    let rows = metrics.lines().count() - 1;
    assert!(rows >= 1, "{metrics}");

    // Resumed to the end, it matches a run that was never piped.
    let ckpt = s(&run.join("checkpoint.safetensors"));
    let mut resume = args.clone();
    resume.extend(["--quiet", "--resume", &ckpt]);
    let r = netc(&resume);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let whole = dir.path().join("whole");
    let r = train_tiny(&whole, &epochs);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        fs::read(run.join("model.safetensors")).unwrap(),
        fs::read(whole.join("model.safetensors")).unwrap(),
        "the piped run ({rows} of 40 epochs before the pipe closed), resumed, differs"
    );

    // Commands that only print.
    let plan_dir = s(&dir.path().join("sweep"));
    for (what, args, both) in [
        ("check", vec!["check", "models/mnist.net", "--keys"], false),
        ("check, stderr too", vec!["check", "models/mnist.net"], true),
        (
            "sweep --plan",
            vec![
                "sweep",
                TINY,
                "--set",
                "d.p=0,0.1,0.2,0.3",
                "--seeds",
                "3",
                "--plan",
                "--out",
                &plan_dir,
            ],
            false,
        ),
    ] {
        let (code, shown) = piped_into_head(&args, both, 1);
        assert_eq!(
            code, 0,
            "{what}: netc's status behind `| head -1`:\n{shown}"
        );
    }
}

/// `--resume DIR`, `--resume DIR/model.safetensors` and `--weights DIR` point
/// at the file that was meant.
#[test]
fn a_run_directory_or_its_model_given_for_a_checkpoint_points_at_the_right_file() {
    let dir = tempfile::tempdir().unwrap();
    let run = trained(dir.path());
    let run_s = s(&run);
    let model = s(&run.join("model.safetensors"));
    let ckpt = s(&run.join("checkpoint.safetensors"));
    let resume = |from: &str| {
        netc(&[
            "train",
            TINY,
            "--data-dir",
            DATA,
            "--quiet",
            "--epochs",
            "2",
            "--resume",
            from,
        ])
    };
    refused(
        "--resume DIR",
        &resume(&run_s),
        1,
        &format!("is a run directory; give its checkpoint.safetensors: --resume {ckpt}"),
    );
    refused(
        "--resume DIR/model.safetensors",
        &resume(&model),
        1,
        &format!(
            "holds a run's weights only; --resume continues from a checkpoint: --resume {ckpt}"
        ),
    );
    let r = netc(&["eval", TINY, "--data-dir", DATA, "--weights", &run_s]);
    refused(
        "--weights DIR",
        &r,
        1,
        &format!("is a run directory; give its model.safetensors: --weights {model}"),
    );
}
