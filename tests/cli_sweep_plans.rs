//! `netc sweep --plan slurm` and `--plan k8s`, tested without a cluster: the
//! script and the manifest are well-formed, and running them once per index
//! with the scheduler's variable set trains exactly the trials the line plan
//! trains, into the same directories, which `--collect` then summarises.

mod common;

use common::skipped;
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const NETC: &str = env!("CARGO_BIN_EXE_netc");
/// Paths with a space and both quotes, to prove the quoting.
const NET: &str = "tiny net.net";
const SWEEP: &[&str] = &["--set", "d.p=0,0.5", "--set", "epochs=1", "--seeds", "2"];
const TRIALS: usize = 4;

/// A working directory holding the tiny net and its data, as a user's
/// project (or a mounted volume) would.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::copy("tests/fixtures/nets/tiny_mnist.net", dir.path().join(NET)).unwrap();
    let data = dir.path().join("data/mnist");
    fs::create_dir_all(&data).unwrap();
    for f in fs::read_dir("tests/fixtures/data/mnist").unwrap() {
        let f = f.unwrap();
        fs::copy(f.path(), data.join(f.file_name())).unwrap();
    }
    dir
}

/// `netc sweep NET SWEEP --out OUT --data-dir data EXTRA` in `cwd`.
fn plan(cwd: &Path, out: &str, extra: &[&str]) -> Output {
    Command::new(NETC)
        .current_dir(cwd)
        .args(["sweep", NET])
        .args(SWEEP)
        .args(["--data-dir", "data", "--out", out])
        .args(extra)
        .output()
        .unwrap()
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// Runs `sh -c script` (or `bash`) in `cwd` with `var=value` set (or unset),
/// and netc first on the PATH, as an image would have it.
fn run_script(shell: &str, script: &str, cwd: &Path, var: &str, value: Option<&str>) -> Output {
    let bin = Path::new(NETC).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(shell);
    c.current_dir(cwd).args(["-c", script]).env("PATH", path);
    match value {
        Some(v) => c.env(var, v),
        None => c.env_remove(var),
    };
    c.output().unwrap()
}

/// The trial directories of sweep `out` that hold a model, with its bytes.
fn trained(out: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found: Vec<(String, Vec<u8>)> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| {
            let model = fs::read(p.join("model.safetensors")).unwrap_or_default();
            (p.file_name().unwrap().to_string_lossy().into_owned(), model)
        })
        .collect();
    found.sort();
    found
}

/// The line plan's trials, run one by one with `sh`.
fn line_plan_trained(cwd: &Path) -> Vec<(String, Vec<u8>)> {
    let lines = ok(&plan(cwd, "lines out", &["--plan"]));
    assert_eq!(lines.lines().count(), TRIALS, "{lines}");
    for line in lines.lines() {
        ok(&run_script("sh", line, cwd, "UNUSED", None));
    }
    let t = trained(&cwd.join("lines out"));
    assert_eq!(t.len(), TRIALS);
    assert!(t.iter().all(|(_, m)| !m.is_empty()), "a trial has no model");
    t
}

fn collect(cwd: &Path, out: &str) -> String {
    let o = Command::new(NETC)
        .current_dir(cwd)
        .args(["sweep", "--collect", out])
        .output()
        .unwrap();
    ok(&o);
    String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout)
}

#[test]
fn the_sbatch_script_runs_each_trial_of_the_line_plan_by_its_array_index() {
    let p = project();
    let cwd = p.path();
    let expected = line_plan_trained(cwd);
    let out = "slurm \"sw\" it's";
    let script = ok(&plan(
        cwd,
        out,
        &["--plan", "slurm", "--threads", "2", "--jobs", "3"],
    ));
    for line in [
        "#!/bin/bash",
        "#SBATCH --array=0-3%3",
        "#SBATCH --cpus-per-task=2",
        "#SBATCH --ntasks=1",
        "#SBATCH --output=%x_%A_%a.out",
        "#SBATCH --job-name=netc-slurm-sw-it-s",
    ] {
        assert!(
            script.lines().any(|l| l == line),
            "no `{line}` in\n{script}"
        );
    }
    let file = cwd.join("sweep.sbatch");
    fs::write(&file, &script).unwrap();
    let syntax = Command::new("bash").arg("-n").arg(&file).output().unwrap();
    ok(&syntax);
    // Run from elsewhere, as sbatch may be: the script goes to the plan's directory.
    let elsewhere = tempfile::tempdir().unwrap();
    for i in 0..TRIALS {
        let r = run_script(
            "bash",
            &script,
            elsewhere.path(),
            "SLURM_ARRAY_TASK_ID",
            Some(&i.to_string()),
        );
        ok(&r);
        // Each index trains its trial alone.
        assert_eq!(trained(&cwd.join(out)).len(), i + 1);
    }
    assert_eq!(
        trained(&cwd.join(out)),
        expected,
        "other trials or other weights than the line plan's"
    );
    let summary = collect(cwd, out);
    assert!(
        !summary.contains("missing") && summary.contains("d.p"),
        "{summary}"
    );
    // A requeued task resumes its finished trial: nothing changes.
    let again = run_script("bash", &script, cwd, "SLURM_ARRAY_TASK_ID", Some("1"));
    ok(&again);
    assert_eq!(trained(&cwd.join(out)), expected);
    // An index out of range, or none, fails clearly.
    for value in [Some("4"), Some("x"), None] {
        let r = run_script("bash", &script, cwd, "SLURM_ARRAY_TASK_ID", value);
        assert_eq!(r.status.code(), Some(1));
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(
            err.contains("is not a trial of this plan (0 to 3, 4 trials)"),
            "{err}"
        );
    }
}

/// The manifest as JSON, read by Python's yaml; `None` (skipped) without it.
fn parse_yaml(text: &str) -> Option<Value> {
    let code = "import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))";
    let mut child = Command::new("python3")
        .args(["-c", code])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child.stdin.take()?.write_all(text.as_bytes()).ok()?;
    let o = child.wait_with_output().ok()?;
    if !o.status.success() {
        let err = String::from_utf8_lossy(&o.stderr);
        if err.contains("No module named") {
            return None;
        }
        panic!("the manifest is not YAML: {err}\n{text}");
    }
    Some(serde_json::from_slice(&o.stdout).unwrap())
}

#[test]
fn the_indexed_job_is_a_batch_v1_job_whose_pods_run_the_line_plans_trials() {
    let p = project();
    let cwd = p.path();
    let expected = line_plan_trained(cwd);
    let out = "k8s \"sw\" it's";
    let text = ok(&plan(
        cwd,
        out,
        &[
            "--plan",
            "k8s",
            "--image",
            "ghcr.io/me/netc:1",
            "--volume-claim",
            "my-claim",
            "--jobs",
            "2",
        ],
    ));
    let Some(job) = parse_yaml(&text) else {
        return skipped("python3 with the yaml module is absent");
    };
    assert_eq!(job["apiVersion"], "batch/v1");
    assert_eq!(job["kind"], "Job");
    assert_eq!(job["metadata"]["name"], "netc-k8s-sw-it-s");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    assert_eq!(spec["completions"], TRIALS);
    assert_eq!(spec["parallelism"], 2);
    assert!(spec["backoffLimit"].as_u64().is_some(), "{spec}");
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let c = &pod["containers"][0];
    assert_eq!(c["name"], "trial");
    assert_eq!(c["image"], "ghcr.io/me/netc:1");
    assert_eq!(c["volumeMounts"][0]["name"], pod["volumes"][0]["name"]);
    assert_eq!(c["volumeMounts"][0]["mountPath"], c["workingDir"]);
    assert_eq!(
        pod["volumes"][0]["persistentVolumeClaim"]["claimName"],
        "my-claim"
    );
    let command: Vec<&str> = c["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(command[..2], ["/bin/sh", "-c"]);
    let script = command[2];
    ok(&Command::new("sh")
        .args(["-n", "-c", script])
        .output()
        .unwrap());
    // Each pod, as its index: the volume is the project directory.
    for i in 0..TRIALS {
        ok(&run_script(
            "sh",
            script,
            cwd,
            "JOB_COMPLETION_INDEX",
            Some(&i.to_string()),
        ));
    }
    assert_eq!(trained(&cwd.join(out)), expected);
    let summary = collect(cwd, out);
    assert!(
        !summary.contains("missing") && summary.contains("d.p"),
        "{summary}"
    );
    let r = run_script("sh", script, cwd, "JOB_COMPLETION_INDEX", Some("4"));
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("JOB_COMPLETION_INDEX='4' is not a trial"));
}

#[test]
fn a_manifest_without_an_image_says_so_and_bad_names_are_refused() {
    let p = project();
    let cwd = p.path();
    let o = plan(cwd, "sw", &["--plan", "k8s"]);
    let text = ok(&o);
    assert!(text.contains("THE IMAGE IS A PLACEHOLDER"), "{text}");
    assert!(String::from_utf8_lossy(&o.stderr).contains("no --image"));
    let o = plan(cwd, "sw", &["--plan", "k8s", "--job-name", "Not_A_Name"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is not a name Kubernetes takes"));
    let o = plan(cwd, "sw", &["--plan", "pbs"]);
    assert_eq!(o.status.code(), Some(2));
    // A path with a newline stays inside its comment and its quotes.
    let out = "new\nline";
    let text = ok(&plan(cwd, out, &["--plan", "k8s", "--image", "x"]));
    if let Some(job) = parse_yaml(&text) {
        assert_eq!(job["kind"], "Job");
    }
    let script = ok(&plan(cwd, out, &["--plan", "slurm"]));
    let file: PathBuf = cwd.join("nl.sbatch");
    fs::write(&file, &script).unwrap();
    ok(&Command::new("bash").arg("-n").arg(&file).output().unwrap());
    let comment = script
        .lines()
        .find(|l| l.starts_with("# netc sweep:"))
        .unwrap();
    assert!(comment.contains("new\\nline"), "{script}");
}
