//! `netc data fetch SET...`: downloads a named set's four gzipped IDX files
//! from its public mirrors into the first place netc looks (or
//! `--data-dir`), checks each against the checksum compiled into netc, and
//! only then puts it in place. A download cut off is continued (HTTP
//! `Range`) on the next try or the next run; each mirror is tried a few
//! times, waiting longer each time.

use super::Reporter;
use super::data_places::first_place;
use clap::{Args, Subcommand};
use netc::data::fetch::{RemoteFile, RemoteSet, remote_set, verify};
use std::path::{Path, PathBuf};

#[derive(Args, Debug)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Subcommand, Debug)]
enum DataCommand {
    /// Download a named data set (`mnist`, `fashion_mnist`) and check it.
    Fetch(FetchArgs),
}

#[derive(Args, Debug)]
pub struct FetchArgs {
    /// The sets: `mnist`, `fashion_mnist`.
    #[arg(required = true, value_name = "SET")]
    sets: Vec<String>,
    /// Puts the set in DIR/<set>/ [default: $NETC_DATA if set, else ./data].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Downloads from this base URL (a file is URL + NAME.gz) instead of the
    /// public mirrors: a local copy, a proxy.
    #[arg(long, value_name = "URL")]
    mirror: Option<String>,
    /// Seconds to wait for a connection, or for more bytes, before a try fails.
    #[arg(long, value_name = "SECS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Tries of each file at each mirror.
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    tries: u32,
    /// Milliseconds to wait before the second try (doubled before each next).
    #[arg(long, hide = true, default_value_t = 1000)]
    retry_wait_ms: u64,
    /// Downloads the files again even when those there are right.
    #[arg(long)]
    force: bool,
}

pub fn run(args: &DataArgs, r: &mut Reporter) {
    match &args.command {
        DataCommand::Fetch(a) => fetch(a, r),
    }
}

fn fetch(args: &FetchArgs, r: &mut Reporter) {
    let mut sets = Vec::new();
    for name in &args.sets {
        match remote_set(name) {
            Some(set) => sets.push(set),
            None => {
                return r.error(format!(
                    "netc cannot fetch `{name}`: it fetches `mnist` and `fashion_mnist`"
                ));
            }
        }
    }
    let root = args.data_dir.clone().unwrap_or_else(|| first_place(None));
    for set in sets {
        let dir = root.join(set.folder);
        if let Err(e) = std::fs::create_dir_all(&dir) {
            return r.error(format!("cannot create {}: {e}", dir.display()));
        }
        for file in &set.files {
            if let Err(e) = fetch_file(args, set, file, &dir, r) {
                return r.error(e);
            }
        }
        eprintln!(
            "{}: the four files are in {} and match netc's checksums",
            set.name,
            dir.display()
        );
    }
}

/// Makes `dir` hold `file` (as `NAME.gz`, or the `NAME` or `NAME.gz` that
/// is there already and right).
fn fetch_file(
    args: &FetchArgs,
    set: &RemoteSet,
    file: &RemoteFile,
    dir: &Path,
    r: &mut Reporter,
) -> Result<(), String> {
    let plain = dir.join(file.name);
    let gz = dir.join(format!("{}.gz", file.name));
    let mut wrong = Vec::new();
    for there in [&plain, &gz] {
        if !there.exists() {
            continue;
        }
        match verify(there, file) {
            Ok(()) if !args.force => {
                eprintln!("{}: already there, checksum right", there.display());
                return Ok(());
            }
            Ok(()) => {}
            Err(e) => {
                r.warning(format!("{e}; downloading it again"));
                wrong.push(there.clone());
            }
        }
    }
    let mirrors: Vec<String> = match &args.mirror {
        Some(m) => vec![m.clone()],
        None => set.mirrors.iter().map(|m| m.to_string()).collect(),
    };
    http::download(args, &mirrors, file, &gz)?;
    // netc reads the plain file before the gzipped one: a wrong one goes.
    for w in wrong.iter().filter(|w| **w != gz) {
        std::fs::remove_file(w).map_err(|e| format!("cannot remove {}: {e}", w.display()))?;
        r.note(format!(
            "removed {}, which was not the data set's file",
            w.display()
        ));
    }
    Ok(())
}

#[cfg(not(feature = "fetch"))]
mod http {
    use super::FetchArgs;
    use netc::data::fetch::RemoteFile;
    use std::path::Path;

    /// Without the `fetch` feature there is no HTTP client: says how else.
    pub fn download(
        _: &FetchArgs,
        mirrors: &[String],
        file: &RemoteFile,
        dest: &Path,
    ) -> Result<(), String> {
        Err(format!(
            "this netc was built without downloads (cargo feature `fetch`); download {}{}.gz \
             yourself into {}, or build netc with its default features",
            mirrors.first().map(String::as_str).unwrap_or(""),
            file.name,
            dest.parent()
                .map(|d| d.display().to_string())
                .unwrap_or_default()
        ))
    }
}

#[cfg(feature = "fetch")]
mod http {
    use super::FetchArgs;
    use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
    use netc::data::fetch::{RemoteFile, verify};
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Read, Write};
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    /// How one try ended.
    enum Try {
        Done,
        /// Worth trying again (a timeout, a connection cut, a 5xx).
        Again(String),
        /// Not at this mirror (a 404, content that is not the set's).
        NotHere(String),
    }

    /// Downloads `file` into `dest` (`NAME.gz`) from the first mirror that
    /// has it right. The bytes go to a hidden `.NAME.gz.part` beside it,
    /// kept between tries and runs so a cut download continues; it is
    /// renamed into place once its content matches the checksum.
    pub fn download(
        args: &FetchArgs,
        mirrors: &[String],
        file: &RemoteFile,
        dest: &Path,
    ) -> Result<(), String> {
        let part = part_path(dest);
        let timeout = Some(Duration::from_secs(args.timeout));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_connect(timeout)
            .timeout_recv_response(timeout)
            .timeout_per_read(timeout)
            .http_status_as_error(false)
            .user_agent(concat!("netc/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let mut failures = Vec::new();
        for base in mirrors {
            let url = format!("{base}{}.gz", file.name);
            let mut wait = Duration::from_millis(args.retry_wait_ms);
            for attempt in 1..=args.tries {
                match try_once(&agent, &url, file, &part) {
                    Try::Done => {
                        fs::rename(&part, dest)
                            .map_err(|e| format!("cannot put {} in place: {e}", dest.display()))?;
                        sync_dir(dest);
                        eprintln!("{}: downloaded from {url}, checksum right", dest.display());
                        return Ok(());
                    }
                    Try::NotHere(why) => {
                        failures.push(format!("{url}: {why}"));
                        break;
                    }
                    Try::Again(why) if attempt == args.tries => {
                        failures.push(format!("{url}: {why} ({attempt} tries)"));
                    }
                    Try::Again(why) => {
                        eprintln!("{url}: {why}; trying again in {:.1} s", wait.as_secs_f64());
                        std::thread::sleep(wait);
                        wait *= 2;
                    }
                }
            }
        }
        let kept = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        let mut msg = format!(
            "cannot download {}:\n  {}",
            dest.display(),
            failures.join("\n  ")
        );
        if kept > 0 {
            msg.push_str(&format!(
                "\n  the {kept} bytes received are kept in {}: the same command continues from there",
                part.display()
            ));
        }
        Err(msg)
    }

    /// `DIR/.NAME.gz.part`.
    fn part_path(dest: &Path) -> PathBuf {
        let name = dest.file_name().unwrap_or_default().to_string_lossy();
        dest.with_file_name(format!(".{name}.part"))
    }

    /// One request: continues `part` if it holds bytes, then checks it.
    fn try_once(agent: &ureq::Agent, url: &str, file: &RemoteFile, part: &Path) -> Try {
        let have = fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut request = agent.get(url);
        if have > 0 {
            request = request.header("Range", format!("bytes={have}-"));
        }
        let response = match request.call() {
            Ok(r) => r,
            Err(e) => return Try::Again(error_text(&e)),
        };
        let status = response.status().as_u16();
        let append = match status {
            200 => false,
            206 if have > 0 => true,
            // The range starts at the end: the part is whole already.
            416 if have > 0 => return check(part, file, true),
            500..=599 | 408 | 429 => return Try::Again(format!("the server answered {status}")),
            _ => return Try::NotHere(format!("the server answered {status}")),
        };
        let length = response.body().content_length();
        let mut body = response.into_body().into_reader();
        let opened = if append {
            OpenOptions::new().append(true).open(part)
        } else {
            File::create(part)
        };
        let mut out = match opened {
            Ok(f) => f,
            Err(e) => return Try::NotHere(format!("cannot write {}: {e}", part.display())),
        };
        let start = if append { have } else { 0 };
        let bar = progress(length.map(|l| l + start), start);
        let copied = copy(&mut body, &mut out, file.max_download() - start, &bar);
        bar.finish_and_clear();
        if let Err(e) = out.sync_all() {
            return Try::NotHere(format!("cannot write {}: {e}", part.display()));
        }
        match copied {
            Ok(()) => check(part, file, append),
            Err(e) => Try::Again(format!(
                "the download stopped after {} bytes: {e}",
                fs::metadata(part).map(|m| m.len()).unwrap_or(0)
            )),
        }
    }

    /// Checks a whole download; a wrong one is removed. A continued one may
    /// have gone wrong where it was joined: it is tried again from scratch.
    fn check(part: &Path, file: &RemoteFile, continued: bool) -> Try {
        match verify(part, file) {
            Ok(()) => Try::Done,
            Err(e) => {
                let _ = fs::remove_file(part);
                if continued {
                    Try::Again(format!("{e}; starting again from the beginning"))
                } else {
                    Try::NotHere(format!("what it serves is not the data set's file: {e}"))
                }
            }
        }
    }

    /// Copies at most `limit` bytes (more is an error: no file of the set is
    /// that large), counting them on `bar`.
    fn copy(body: &mut impl Read, out: &mut File, limit: u64, bar: &ProgressBar) -> io::Result<()> {
        let mut buf = vec![0u8; 1 << 16];
        let mut left = limit;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if n as u64 > left {
                return Err(io::Error::other(format!(
                    "more than the {limit} bytes the file can take"
                )));
            }
            left -= n as u64;
            out.write_all(&buf[..n])?;
            bar.inc(n as u64);
        }
    }

    /// A byte counter on a terminal; nothing elsewhere.
    fn progress(total: Option<u64>, start: u64) -> ProgressBar {
        let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr_with_hz(10));
        if let Ok(style) = ProgressStyle::with_template(
            "{bar:30} {bytes}/{total_bytes}  {bytes_per_sec}  ETA {eta}",
        ) {
            bar.set_style(style);
        }
        bar.set_position(start);
        bar
    }

    fn error_text(e: &ureq::Error) -> String {
        match e {
            ureq::Error::Timeout(_) => "no answer in time (timed out)".to_string(),
            e => e.to_string(),
        }
    }

    /// Makes the rename durable; a failure here loses nothing already checked.
    fn sync_dir(dest: &Path) {
        if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty()) {
            let _ = File::open(dir).and_then(|d| d.sync_all());
        }
    }
}
