//! Overrides, sweeps and plots as a user runs them, on the 500-image MNIST
//! fixture: `netc train --set`, `netc sweep` (grid, --plan/--collect, a
//! failing trial), `netc plot`, and the SVGs they write.

mod common;

use common::cli::{DATA, Run, TINY, fails, netc, ok, says};
use netc::checkpoint::read_tensors;
use std::fs;
use std::path::Path;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What an SVG holds, read with a real XML parser (so it is well-formed).
struct Svg {
    texts: Vec<String>,
    /// (stroke colour, points) of each line drawn 2 px wide: the data
    /// series and the legend's samples (axes and grid are 1 px).
    lines: Vec<(String, usize)>,
    circles: usize,
}

impl Svg {
    fn read(path: &Path) -> Svg {
        let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let doc = roxmltree::Document::parse(&text)
            .unwrap_or_else(|e| panic!("{} is not well-formed XML: {e}", path.display()));
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        let mut svg = Svg {
            texts: Vec::new(),
            lines: Vec::new(),
            circles: 0,
        };
        for n in doc.descendants() {
            match n.tag_name().name() {
                "text" => svg.texts.push(n.text().unwrap_or("").trim().to_string()),
                "polyline" if n.attribute("stroke-width") == Some("2") => svg.lines.push((
                    n.attribute("stroke").unwrap_or("").to_uppercase(),
                    n.attribute("points")
                        .unwrap_or("")
                        .split_whitespace()
                        .count(),
                )),
                "circle" => svg.circles += 1,
                _ => {}
            }
        }
        svg
    }

    fn has_text(&self, t: &str) -> bool {
        self.texts.iter().any(|x| x == t)
    }

    /// Lines of this colour with exactly this many points.
    fn series(&self, color: &str, points: usize) -> usize {
        self.lines
            .iter()
            .filter(|(c, n)| c == color && *n == points)
            .count()
    }
}

const BLUE: &str = "#1F77B4";
const ORANGE: &str = "#FF7F0E";
const GREEN: &str = "#2CA02C";

fn metadata(dir: &Path) -> std::collections::BTreeMap<String, String> {
    read_tensors(&dir.join("model.safetensors"))
        .unwrap()
        .into_metadata()
}

#[test]
fn train_with_overrides_records_them_and_draws_its_curves() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let r = netc(&[
        "train",
        TINY,
        "--data-dir",
        DATA,
        "--quiet",
        "--out",
        s(&out),
        "--set",
        "d.p=0.2",
        "--set",
        "h.units=8",
        "--set",
        "l1.h=0.001",
        "--set",
        "epochs=3",
    ]);
    ok(&r);
    let meta = metadata(&out);
    assert_eq!(meta["overrides"], "d.p=0.2 h.units=8 l1(h)=0.001 epochs=3");
    // The net recorded is the one trained: the file as overridden.
    assert!(
        meta["net"].contains("d = dropout(h, 0.2)"),
        "{}",
        meta["net"]
    );
    assert!(
        meta["net"].contains("linear(flatten(x), 8)"),
        "{}",
        meta["net"]
    );
    let model = read_tensors(&out.join("model.safetensors")).unwrap();
    assert_eq!(model.shape("h.weight"), Some(&[8, 784][..]));
    assert_eq!(model.shape("out.weight"), Some(&[10, 8][..]));
    let metrics = fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert!(
        metrics.starts_with("epoch,step,train_loss,0.001 * l1(h),"),
        "{metrics}"
    );
    assert_eq!(metrics.lines().count(), 4);

    let svg = Svg::read(&out.join("curves.svg"));
    for t in [
        "loss",
        "accuracy",
        "penalties",
        "epoch",
        "train",
        "test",
        "0.001 * l1(h)",
    ] {
        assert!(svg.has_text(t), "no `{t}` in {:?}", svg.texts);
    }
    assert!(
        svg.has_text("tiny  d.p=0.2 h.units=8 l1(h)=0.001 epochs=3"),
        "{:?}",
        svg.texts
    );
    // Train (blue) and test (orange) in the loss and the accuracy panels, the
    // penalty (green) in its own; one point per epoch.
    assert_eq!(svg.series(BLUE, 3), 2);
    assert_eq!(svg.series(ORANGE, 3), 2);
    assert_eq!(svg.series(GREEN, 3), 1);

    // `netc eval` applies the overrides stored with the weights, and says so;
    // one given again with the same value changes nothing.
    let w = out.join("model.safetensors");
    for extra in [&[][..], &["--set", "h.units=8"][..]] {
        let mut args = vec!["eval", TINY, "--weights", s(&w), "--data-dir", DATA];
        args.extend_from_slice(extra);
        let r = netc(&args);
        ok(&r);
        assert_eq!(
            r.stderr.trim_end(),
            format!(
                "note: applying the overrides stored with {}: d.p=0.2 h.units=8 l1(h)=0.001 epochs=3",
                w.display()
            )
        );
    }
}

#[test]
fn a_bad_key_or_value_stops_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let train = |set: &str| {
        netc(&[
            "train",
            TINY,
            "--data-dir",
            DATA,
            "--quiet",
            "--out",
            s(&out),
            "--set",
            set,
        ])
    };
    let r = train("d.q=0.2");
    fails(&r);
    assert!(
        r.stderr
            .contains("error: unknown key `d.q` in `--set d.q=0.2`"),
        "{}",
        r.stderr
    );
    says(&r, "help: did you mean `d.p`?");
    let r = train("h.units=ten");
    fails(&r);
    says(&r, "`h.units` takes a number, not `ten`");
    let r = train("d.p=2");
    fails(&r);
    assert!(r.stderr.contains("d = dropout(h, 2)"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("note: this value comes from `--set d.p=2`"),
        "{}",
        r.stderr
    );
    let r = train("h.units=0");
    fails(&r);
    assert!(r.stderr.contains("--set h.units=0"), "{}", r.stderr);
    let r = train("momentum");
    fails(&r);
    assert!(r.stderr.contains("expected KEY=VALUE"), "{}", r.stderr);
    assert!(!out.exists(), "a run directory was made");
}

#[test]
fn check_lists_the_keys_and_checks_with_overrides() {
    let r = netc(&["check", TINY, "--keys"]);
    ok(&r);
    let lines = words(&r.stdout);
    for line in [
        "h.units 16",
        "d.p 0.5",
        "d.mode default inverted",
        "l1(h) 1e-4 (also l1.h)",
        "lr 0.05 (also optimizer.lr)",
        "steps default none",
    ] {
        assert!(
            lines.iter().any(|l| l == line),
            "no `{line}` in\n{}",
            r.stdout
        );
    }
    let r = netc(&["check", TINY, "--set", "h.units=64", "--set", "lr=0.1"]);
    ok(&r);
    assert!(r.stdout.contains("[64]"), "{}", r.stdout);
    assert!(r.stdout.contains("sgd(lr: 0.1"), "{}", r.stdout);
}

/// Each line of `text` with its words separated by single spaces.
fn words(text: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn sweep(out: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["sweep", TINY, "--data-dir", DATA, "--out", s(out)];
    args.extend_from_slice(extra);
    netc(&args)
}

/// summary.csv without its seconds column (the only one that varies between runs).
fn results(csv: &str) -> Vec<String> {
    csv.lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head).to_string())
        .collect()
}

#[test]
fn a_sweep_runs_every_trial_and_summarises_over_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let r = sweep(
        &out,
        &[
            "--set",
            "d.p=0,0.25,0.5",
            "--set",
            "epochs=1",
            "--seeds",
            "2",
            "--jobs",
            "2",
        ],
    );
    ok(&r);
    let progress: Vec<&str> = r.stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(progress.len(), 6, "{}", r.stderr);
    assert!(
        progress.iter().any(|l| l.starts_with("[6/6] ")),
        "{}",
        r.stderr
    );
    assert!(
        progress.iter().all(|l| l.contains("test acc")),
        "{}",
        r.stderr
    );
    // Seeds start at the file's (1).
    let trial = out.join("d.p=0.25_epochs=1_seed=2");
    assert_eq!(metadata(&trial)["overrides"], "d.p=0.25 epochs=1 seed=2");
    assert!(trial.join("train.log").exists());

    let csv = fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows[0],
        "d.p,epochs,seed,status,train_acc,test_acc,gap,train_loss,test_loss,l1(h),seconds"
    );
    assert_eq!(rows.len(), 7);
    assert!(rows[1].starts_with("0,1,1,done,"), "{csv}");
    assert!(rows[6].starts_with("0.5,1,2,done,"), "{csv}");
    // The table: one line per setting, mean ± std over the two seeds.
    let table = words(&r.stdout);
    assert_eq!(table.len(), 4, "{}", r.stdout);
    assert!(
        table[0].starts_with("d.p epochs seeds train acc % test acc % gap (points)"),
        "{}",
        r.stdout
    );
    assert!(
        table[2].starts_with("0.25 1 2 ") && table[2].contains(" ± "),
        "{}",
        r.stdout
    );

    let svg = Svg::read(&out.join("summary.svg"));
    for t in [
        "test accuracy",
        "generalisation gap",
        "d.p",
        "tiny_mnist  (epochs=1)",
    ] {
        assert!(svg.has_text(t), "no `{t}` in {:?}", svg.texts);
    }
    assert!(svg.has_text("mean ± std over 2 seeds"), "{:?}", svg.texts);
    // One line through the three values in each panel, a dot at each.
    assert_eq!(svg.series(BLUE, 3), 2);
    assert_eq!(svg.circles, 6);
}

#[test]
fn plan_then_collect_gives_the_sweep_own_summary() {
    let dir = tempfile::tempdir().unwrap();
    let planned = dir.path().join("planned");
    let args = ["--set", "d.p=0,0.5", "--set", "epochs=1", "--seeds", "2"];
    let mut plan_args = args.to_vec();
    plan_args.push("--plan");
    let r = sweep(&planned, &plan_args);
    ok(&r);
    let commands: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(commands.len(), 4, "{}", r.stdout);
    assert!(commands[0].contains(" train tests/fixtures/nets/tiny_mnist.net --set d.p=0 --set epochs=1 --set seed=1 --out "), "{}", commands[0]);
    assert!(planned.join("sweep.txt").exists());
    assert!(
        !planned.join("d.p=0_epochs=1_seed=1").exists(),
        "--plan ran a trial"
    );

    // Nothing finished yet.
    let r = netc(&["sweep", "--collect", s(&planned)]);
    fails(&r);
    assert!(r.stderr.contains("no trial"), "{}", r.stderr);

    // Half of the trials run elsewhere, as a scheduler would run them.
    let sh = |line: &str| {
        let st = std::process::Command::new("sh")
            .args(["-c", line])
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{line}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    };
    sh(commands[0]);
    sh(commands[3]);
    let r = netc(&["sweep", "--collect", s(&planned)]);
    ok(&r);
    assert!(
        r.stderr
            .contains("missing: d.p=0 epochs=1 seed=2 (no directory d.p=0_epochs=1_seed=2)"),
        "{}",
        r.stderr
    );
    says(&r, "missing: d.p=0.5 epochs=1 seed=1");
    assert!(r.stderr.contains("2 of 4 trials finished"), "{}", r.stderr);
    let csv = fs::read_to_string(planned.join("summary.csv")).unwrap();
    assert_eq!(
        csv.lines().filter(|l| l.contains(",missing,")).count(),
        2,
        "{csv}"
    );
    assert!(r.stdout.contains("1 of 2"), "{}", r.stdout);
    // The picture names the missing trials and rings the partial points.
    let svg = Svg::read(&planned.join("summary.svg"));
    assert!(
        svg.has_text("2 of 4 trials have no result: d.p=0 seed 2, d.p=0.5 seed 1"),
        "{:?}",
        svg.texts
    );
    assert!(svg.has_text("fewer seeds finished than planned"));

    sh(commands[1]);
    sh(commands[2]);
    let r = netc(&["sweep", "--collect", s(&planned)]);
    ok(&r);
    assert!(!r.stderr.contains("missing"), "{}", r.stderr);
    let svg = Svg::read(&planned.join("summary.svg"));
    assert!(!svg.texts.iter().any(|t| t.contains("no result")));
    let collected = fs::read_to_string(planned.join("summary.csv")).unwrap();

    // The same sweep run directly gives the same numbers (same seeds, same file).
    let direct = dir.path().join("direct");
    ok(&sweep(&direct, &args));
    let ran = fs::read_to_string(direct.join("summary.csv")).unwrap();
    assert_eq!(results(&collected), results(&ran));
}

#[test]
fn a_failing_trial_is_reported_and_the_others_finish() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let r = sweep(
        &out,
        &["--set", "lr=1e30,0.05", "--set", "epochs=1", "--jobs", "1"],
    );
    fails(&r);
    let bad = r
        .stderr
        .lines()
        .find(|l| l.contains("lr=1e30"))
        .unwrap_or("");
    assert!(
        bad.contains("FAILED (exit status 1)") && bad.contains("training stopped"),
        "{}",
        r.stderr
    );
    says(&r, "[2/2] lr=0.05 epochs=1 seed=1  test acc");
    says(&r, "incomplete: lr=1e30 epochs=1 seed=1");
    assert!(r.stderr.contains("1 of 2 trials failed"), "{}", r.stderr);
    let csv = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert!(csv.contains("\n1e30,1,1,incomplete,"), "{csv}");
    assert!(csv.contains("\n0.05,1,1,done,"), "{csv}");
    assert!(out.join("summary.svg").exists());
}

#[test]
fn a_sweep_with_a_bad_value_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let r = sweep(&out, &["--set", "d.p=0,2"]);
    fails(&r);
    says(&r, "this value comes from `--set d.p=2`");
    assert!(
        r.stderr
            .contains("trial `d.p=2 seed=1` does not check; nothing was run"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
    let r = sweep(&out, &["--set", "d.pp=0,1"]);
    fails(&r);
    assert!(r.stderr.contains("did you mean `d.p`?"), "{}", r.stderr);
    let r = sweep(&out, &["--set", "seed=1,2", "--seeds", "2"]);
    fails(&r);
    assert!(r.stderr.contains("give one"), "{}", r.stderr);
    let r = sweep(&out, &["--set", "d.p=0", "--set", "d.p=0.5"]);
    fails(&r);
    assert!(r.stderr.contains("swept twice"), "{}", r.stderr);
    let many: String = (0..200)
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let r = sweep(
        &out,
        &[
            "--set",
            &format!("h.units={many}"),
            "--set",
            &format!("batch={many}"),
        ],
    );
    fails(&r);
    says(&r, "200 × 200 × 1 trials, more than 10000");
    assert!(!out.exists());
    // Usage errors are clap's.
    assert_eq!(netc(&["sweep", TINY, "--collect", "x"]).code, 2);
    assert_eq!(netc(&["sweep"]).code, 2);
}

#[test]
fn runs_without_a_sweep_are_collected_and_plotted_by_their_overrides() {
    let dir = tempfile::tempdir().unwrap();
    for p in ["0", "0.5"] {
        let out = dir.path().join(format!("p{p}"));
        ok(&netc(&[
            "train",
            TINY,
            "--data-dir",
            DATA,
            "--quiet",
            "--out",
            s(&out),
            "--set",
            &format!("d.p={p}"),
            "--set",
            "epochs=3",
        ]));
    }
    let r = netc(&["sweep", "--collect", s(dir.path())]);
    ok(&r);
    let csv = fs::read_to_string(dir.path().join("summary.csv")).unwrap();
    assert!(csv.starts_with("d.p,epochs,seed,status,"), "{csv}");
    assert_eq!(csv.lines().count(), 3);

    let svg_path = dir.path().join("both.svg");
    let r = netc(&[
        "plot",
        s(&dir.path().join("p0")),
        s(&dir.path().join("p0.5")),
        "-o",
        s(&svg_path),
    ]);
    ok(&r);
    let svg = Svg::read(&svg_path);
    // Labelled by what differs between the runs.
    for t in [
        "d.p=0",
        "d.p=0.5",
        "test",
        "train",
        "loss",
        "accuracy",
        "penalties",
        "tiny",
    ] {
        assert!(svg.has_text(t), "no `{t}` in {:?}", svg.texts);
    }
    // Each run's test curve (solid) in loss and accuracy, and its penalty.
    // (A dash may span a vertex and have 3 points too: at least, not exactly.)
    assert!(svg.series(BLUE, 3) >= 3, "{:?}", svg.lines);
    assert!(svg.series(ORANGE, 3) >= 3, "{:?}", svg.lines);
    // Its train curves are dashed: many short pieces.
    assert!(svg.series(BLUE, 2) > 10, "{:?}", svg.lines);
    // A sweep directory plots its trials; a directory without runs is an error.
    let r = netc(&["plot", s(dir.path()), "-o", s(&svg_path), "--force"]);
    ok(&r);
    assert!(r.stderr.contains("(2 runs)"), "{}", r.stderr);
    let empty = tempfile::tempdir().unwrap();
    let none_path = dir.path().join("none.svg");
    let r = netc(&["plot", s(empty.path()), "-o", s(&none_path)]);
    fails(&r);
    assert!(r.stderr.contains("holds no metrics.csv"), "{}", r.stderr);
}

#[test]
fn a_sweep_into_a_directory_holding_one_is_refused_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let grid = ["--set", "d.p=0,0.5", "--set", "epochs=1"];
    ok(&sweep(&out, &grid));
    let summary = fs::read_to_string(out.join("summary.csv")).unwrap();
    // The same sweep again continues it: every trial is finished already.
    let same = sweep(&out, &grid);
    ok(&same);
    assert!(
        same.stderr
            .contains("2 of 2 trials finished earlier, 0 to resume, 0 to start"),
        "{}",
        same.stderr
    );
    // Another sweep is refused.
    let again = sweep(&out, &["--set", "d.p=0,0.25", "--set", "epochs=1"]);
    fails(&again);
    says(&again, "already holds another sweep");
    assert!(again.stderr.contains("--collect"), "{}", again.stderr);
    assert_eq!(
        fs::read_to_string(out.join("summary.csv")).unwrap(),
        summary
    );
    let forced = [&grid[..], &["--force"]].concat();
    ok(&sweep(&out, &forced));
}

/// A swept `--set` that cannot be read names the argument as given.
#[test]
fn an_unreadable_swept_set_names_the_argument() {
    let dir = tempfile::tempdir().unwrap();
    let r = sweep(&dir.path().join("s"), &["--set", "d.p=0,,0.5"]);
    fails(&r);
    assert!(
        r.stderr
            .contains("error: `--set d.p=0,,0.5`: a value is empty"),
        "{}",
        r.stderr
    );
}

#[test]
fn tied_keys_take_each_value_together() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tied");
    let r = sweep(
        &out,
        &[
            "--set",
            "d.p+l1.h=0,0.25",
            "--set",
            "epochs=1",
            "--jobs",
            "2",
        ],
    );
    ok(&r);
    // Two trials, not four: each value goes to both keys, canonically named.
    let trial = out.join("d.p+l1.h=0.25_epochs=1_seed=1");
    assert_eq!(
        metadata(&trial)["overrides"],
        "d.p=0.25 l1(h)=0.25 epochs=1 seed=1"
    );
    let csv = fs::read_to_string(out.join("summary.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[0].starts_with("d.p+l1(h),epochs,seed,status,"),
        "{csv}"
    );
    assert!(rows[2].starts_with("0.25,1,1,done,"), "{csv}");
    // --collect finds both runs done under their tied settings.
    // and, reading sweep.txt back, keeps the tied keys one axis with its values.
    let c = netc(&["sweep", "--collect", s(&out)]);
    ok(&c);
    assert!(!c.stderr.contains("other settings"), "{}", c.stderr);
    let collected = fs::read_to_string(out.join("summary.csv")).unwrap();
    assert_eq!(results(&collected), results(&csv), "{collected}");
    let p = netc(&[
        "plot",
        "--x",
        "d.p+l1(h)",
        s(&out),
        "-o",
        s(&dir.path().join("against.svg")),
    ]);
    ok(&p);
    assert!(
        words(&p.stdout).iter().any(|l| l.starts_with("0.25 ")),
        "{}",
        p.stdout
    );

    // A key tied to itself or to the seed is refused before anything runs.
    for bad in ["d.p+d.p=0,0.5", "d.p+seed=0,1"] {
        let r = sweep(&dir.path().join("bad"), &["--set", bad]);
        assert_eq!(r.code, 1, "{bad}: {}", r.stderr);
        assert!(!dir.path().join("bad").exists(), "{bad}");
    }
}
