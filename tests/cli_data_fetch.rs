//! `netc data fetch` against an HTTP server on 127.0.0.1 that each test
//! starts (never the internet): a good mirror, one serving the wrong
//! content, a body cut short (continued with `Range`), a 404, a server that
//! never answers. The good path serves the real MNIST files from
//! `../shared/data` (skipped without it): netc's checksums are compiled in.

mod common;

use common::cli::{Run, fails, netc, ok, says};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const NAMES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// What the server does with one request.
enum Reply {
    /// The bytes (from the requested `Range` on, with 206).
    Body(Vec<u8>),
    /// Headers for the whole of these bytes, then only the first `n` of them.
    Cut(Vec<u8>, usize),
    Status(u16),
    /// Reads the request and answers nothing for this long.
    Hang(Duration),
}

/// A request as the server saw it: the path and the `Range` header.
type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// Serves at most 50 connections, each in a thread, replying as `route`
/// says (given the path and how many times it was asked for before); the
/// base URL and the log of requests.
fn serve(route: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> (String, Log) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/", listener.local_addr().unwrap());
    let log: Log = Arc::default();
    let seen = Arc::clone(&log);
    let route = Arc::new(route);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(50).flatten() {
            let (seen, route) = (Arc::clone(&seen), Arc::clone(&route));
            std::thread::spawn(move || answer(stream, &seen, &*route));
        }
    });
    (base, log)
}

fn answer(mut stream: TcpStream, log: &Log, route: &(dyn Fn(&str, usize) -> Reply + Sync)) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut first = String::new();
    if reader.read_line(&mut first).is_err() {
        return;
    }
    let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line.trim().is_empty() {
            break;
        }
        if let Some(v) = line
            .strip_prefix("Range: ")
            .or(line.strip_prefix("range: "))
        {
            range = Some(v.trim().to_string());
        }
    }
    let asked = {
        let mut l = log.lock().unwrap();
        let before = l.iter().filter(|(p, _)| *p == path).count();
        l.push((path.clone(), range.clone()));
        before
    };
    let head = |status: &str, len: usize, extra: &str| {
        format!("HTTP/1.1 {status}\r\nContent-Length: {len}\r\nConnection: close\r\n{extra}\r\n")
    };
    let _ = match route(&path, asked) {
        Reply::Body(data) => {
            let start: usize = range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes=")?.strip_suffix('-')?.parse().ok())
                .unwrap_or(0);
            let out = if range.is_some() {
                let rest = &data[start.min(data.len())..];
                let cr = format!(
                    "Content-Range: bytes {start}-{}/{}\r\n",
                    data.len() - 1,
                    data.len()
                );
                [
                    head("206 Partial Content", rest.len(), &cr).into_bytes(),
                    rest.to_vec(),
                ]
                .concat()
            } else {
                [head("200 OK", data.len(), "").into_bytes(), data].concat()
            };
            stream.write_all(&out)
        }
        Reply::Cut(data, n) => {
            let out = [
                head("200 OK", data.len(), "").into_bytes(),
                data[..n].to_vec(),
            ]
            .concat();
            stream.write_all(&out)
        }
        Reply::Status(code) => stream.write_all(head(&format!("{code} Nope"), 0, "").as_bytes()),
        Reply::Hang(d) => {
            std::thread::sleep(d);
            Ok(())
        }
    };
}

/// `netc data fetch mnist --data-dir DIR --mirror BASE ARGS...`, with short waits.
fn fetch(dir: &Path, base: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "data",
        "fetch",
        "mnist",
        "--data-dir",
        dir.to_str().unwrap(),
        "--mirror",
        base,
        "--retry-wait-ms",
        "10",
    ];
    args.extend_from_slice(extra);
    netc(&args)
}

fn gz(content: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(content).unwrap();
    e.finish().unwrap()
}

/// The real MNIST files, gzipped, by name; `None` (the test skipped) without `../shared`.
fn mnist_files() -> Option<BTreeMap<String, Vec<u8>>> {
    let dir = common::shared("data/mnist")?;
    Some(
        NAMES
            .iter()
            .map(|n| {
                let p = dir.join(format!("{n}.gz"));
                (format!("/{n}.gz"), std::fs::read(p).unwrap())
            })
            .collect(),
    )
}

#[test]
fn fetches_the_four_files_checks_them_and_then_leaves_them_be() {
    let Some(files) = mnist_files() else { return };
    let (base, log) = serve(move |path, _| match files.get(path) {
        Some(data) => Reply::Body(data.clone()),
        None => Reply::Status(404),
    });
    let tmp = tempfile::tempdir().unwrap();
    let r = fetch(tmp.path(), &base, &[]);
    ok(&r);
    says(&r, "mnist: the four files are in");
    let dir = tmp.path().join("mnist");
    for n in NAMES {
        assert!(dir.join(format!("{n}.gz")).is_file(), "{n}");
    }
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 4, "no partial file stays: {left:?}");
    assert_eq!(log.lock().unwrap().len(), 4);
    // Run again: the files are checked, nothing is downloaded.
    let r = fetch(tmp.path(), &base, &[]);
    ok(&r);
    says(&r, "already there, checksum right");
    assert_eq!(log.lock().unwrap().len(), 4);
    // And netc trains on them where it looks.
    let run = tmp.path().join("run");
    let d = tmp.path().to_str().unwrap();
    ok(&netc(&[
        "train",
        "models/mnist.net",
        "--data-dir",
        d,
        "--steps",
        "1",
        "--quiet",
        "--out",
        run.to_str().unwrap(),
    ]));
}

#[test]
fn a_body_cut_short_is_continued_where_it_stopped() {
    let Some(files) = mnist_files() else { return };
    let first = format!("/{}.gz", NAMES[0]);
    let cut_at = 1 << 20;
    let (base, log) = serve(move |path, asked| match files.get(path) {
        Some(data) if asked == 0 && path.contains(NAMES[0]) => Reply::Cut(data.clone(), cut_at),
        Some(data) => Reply::Body(data.clone()),
        None => Reply::Status(404),
    });
    let tmp = tempfile::tempdir().unwrap();
    let r = fetch(tmp.path(), &base, &[]);
    ok(&r);
    says(&r, "the download stopped after 1048576 bytes");
    let log = log.lock().unwrap();
    let asked: Vec<_> = log.iter().filter(|(p, _)| *p == first).collect();
    assert_eq!(asked.len(), 2, "{log:?}");
    assert_eq!(asked[0].1, None);
    assert_eq!(asked[1].1.as_deref(), Some("bytes=1048576-"));
}

#[test]
fn content_that_is_not_the_sets_is_refused_and_nothing_is_left() {
    let (base, _) = serve(|_, _| Reply::Body(gz(b"not MNIST at all")));
    let tmp = tempfile::tempdir().unwrap();
    let r = fetch(tmp.path(), &base, &[]);
    fails(&r);
    says(
        &r,
        &format!(
            "cannot download {}",
            tmp.path()
                .join("mnist")
                .join("train-images-idx3-ubyte.gz")
                .display()
        ),
    );
    says(&r, "what it serves is not the data set's file");
    says(
        &r,
        "does not match netc's checksum: expected SHA-256 ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db over 47040016 bytes",
    );
    let left: Vec<_> = std::fs::read_dir(tmp.path().join("mnist"))
        .unwrap()
        .flatten()
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_cut_download_is_kept_and_continued_with_range_and_a_bad_join_starts_again() {
    let content = gz(&vec![7u8; 5000]);
    let n = content.len();
    let (base, log) = serve(move |_, asked| match asked {
        0 => Reply::Cut(content.clone(), n / 2),
        _ => Reply::Body(content.clone()),
    });
    let tmp = tempfile::tempdir().unwrap();
    let r = fetch(tmp.path(), &base, &["--tries", "3"]);
    fails(&r);
    says(&r, &format!("the download stopped after {} bytes", n / 2));
    // The second try continued; the joined file was wrong, so the third
    // started again from the beginning.
    says(&r, "starting again from the beginning");
    let log = log.lock().unwrap();
    let ranges: Vec<_> = log.iter().map(|(_, r)| r.clone()).collect();
    assert_eq!(ranges, [None, Some(format!("bytes={}-", n / 2)), None]);
}

#[test]
fn a_404_names_the_url_and_a_silent_server_times_out() {
    let (base, log) = serve(|_, _| Reply::Status(404));
    let tmp = tempfile::tempdir().unwrap();
    let r = fetch(tmp.path(), &base, &[]);
    fails(&r);
    says(
        &r,
        &format!("{base}train-images-idx3-ubyte.gz: the server answered 404"),
    );
    // A 404 is not tried again.
    assert_eq!(log.lock().unwrap().len(), 1);

    let (base, log) = serve(|_, _| Reply::Hang(Duration::from_secs(4)));
    let t = std::time::Instant::now();
    let r = fetch(tmp.path(), &base, &["--timeout", "1", "--tries", "2"]);
    fails(&r);
    says(&r, "timed out");
    says(&r, "(2 tries)");
    assert_eq!(log.lock().unwrap().len(), 2);
    assert!(t.elapsed() < Duration::from_secs(4), "{:?}", t.elapsed());
}

#[test]
fn a_set_netc_cannot_fetch_is_named() {
    let r = netc(&["data", "fetch", "cifar10"]);
    fails(&r);
    says(
        &r,
        "netc cannot fetch `cifar10`: it fetches `mnist` and `fashion_mnist`",
    );
}

#[test]
fn a_missing_set_says_the_command_that_fetches_it() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let r = netc(&[
        "train",
        "models/mnist.net",
        "--data-dir",
        d,
        "--out",
        &format!("{d}/run"),
    ]);
    fails(&r);
    says(
        &r,
        &format!("help: or download them: netc data fetch mnist --data-dir {d}"),
    );
}
