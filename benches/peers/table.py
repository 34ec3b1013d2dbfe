#!/usr/bin/env python3
"""Joins netc's and torch's figures from one sitting of compare.sh into one
markdown table. Standard library only.

Usage: table.py OUT_DIR

OUT_DIR is what compare.sh fills:
  criterion/                 CRITERION_HOME of `cargo bench --bench matmul --bench dropout --bench step`
  netc-mnist-tN/metrics.csv  a `netc train models/mnist.net` run on N threads (N = 1, 2)
  netc-mnist-tN.log          its output (the last line: test acc, samples/s, steps)
  netc-mnist-t1.rss.json     peak_rss.py's record of the 1-thread run
  torch.json                 torch_peers.py --json
  sitting.txt                "key: value" lines: date, rustc, netc commit, load, quick
The table goes to stdout and to OUT_DIR/table.md.
"""

import csv
import json
import os
import re
import sys
from pathlib import Path

MATMUL_SHAPES = [(64, 784, 128), (256, 256, 256), (1024, 1024, 1024)]
DROPOUT_SIZES = [10_000, 1_000_000, 16_000_000]
MNIST_TRAIN = 60_000
MNIST_BATCH = 64


def criterion_medians(home):
    """criterion full id (`matmul/faer/64x784x128`) -> median ns per iteration."""
    medians = {}
    for bench in home.glob("**/new/benchmark.json"):
        full_id = json.loads(bench.read_text())["full_id"]
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        medians[full_id] = estimates["median"]["point_estimate"]
    return medians


def netc_run(out, threads, model="mnist"):
    """(seconds of training, samples trained, test acc, peak RSS in MB or None) of a
    netc train run of models/MODEL.net, or None when the run is missing or failed."""
    run = out / f"netc-{model}-t{threads}"
    log = out / f"netc-{model}-t{threads}.log"
    metrics = run / "metrics.csv"
    if not metrics.is_file() or not log.is_file():
        return None
    with open(metrics, newline="") as f:
        # evaluation is excluded from `seconds`: it is training time alone
        seconds = sum(float(row["seconds"]) for row in csv.DictReader(f))
    summary = log.read_text().strip().splitlines()[-1]
    steps = int(re.search(r"(\d+) steps", summary).group(1))
    acc = re.search(r"test acc ([\d.]+)%", summary)
    samples = min(steps * MNIST_BATCH, MNIST_TRAIN)  # the runs are at most one epoch
    rss = None
    rss_file = out / f"netc-{model}-t{threads}.rss.json"
    if rss_file.is_file():
        rss = json.loads(rss_file.read_text())["max_rss_kib"] * 1024 / 1e6
    return seconds, samples, float(acc.group(1)) / 100 if acc else None, rss


def fmt(v):
    if v is None:
        return "—"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if v < 1 else f"{v:.2f}"


def count(n):
    """1000000 as 1e6, 16000000 as 1.6e7."""
    e = len(str(n)) - 1
    return f"{n / 10 ** e:g}e{e}"


class Table:
    def __init__(self):
        self.rows = []
        self.missing = []

    def row(self, workload, unit, netc, torch, higher_better, note=""):
        """netc's advantage: how many times better netc is (> 1: netc better).
        A workload neither side measured in this sitting (compare.sh --only) is left out."""
        if netc is None and torch is None:
            return
        if netc is None or torch is None or netc <= 0 or torch <= 0:
            adv = "—"
        else:
            adv = fmt(netc / torch if higher_better else torch / netc) + "×"
        self.rows.append((f"{workload} ({unit})", fmt(netc), fmt(torch), adv, note))

    def markdown(self):
        lines = ["| workload | netc | torch | netc advantage (>1: netc better) | note |",
                 "| --- | --- | --- | --- | --- |"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines)


def build(out):
    crit = criterion_medians(out / "criterion") if (out / "criterion").is_dir() else {}
    torch_doc = json.loads((out / "torch.json").read_text()) if (out / "torch.json").is_file() else {}
    lenet_doc = json.loads((out / "torch-lenet.json").read_text()) \
        if (out / "torch-lenet.json").is_file() else {}
    peer = {**torch_doc.get("results", {}), **lenet_doc.get("results", {})}
    torch_doc = torch_doc or lenet_doc
    t = Table()

    def ns(full_id):
        if full_id not in crit:
            if not crit:  # the benches were not run in this sitting
                return None
            t.missing.append(full_id)
            return None
        return crit[full_id]

    def peer_value(key):
        return peer[key]["value"] if key in peer else None

    for m, k, n in MATMUL_SHAPES:
        shape = f"{m}x{k}x{n}"
        flop = 2 * m * k * n
        faer, tape = ns(f"matmul/faer/{shape}"), ns(f"matmul/netc_tape/{shape}")
        g_faer = flop / faer if faer else None  # FLOP per ns = GFLOP/s
        g_tape = flop / tape if tape else None
        share = f"tape at {100 * g_tape / g_faer:.0f}% of raw faer (goal ≥ 95%)" if g_tape and g_faer else ""
        torch_g = peer_value(f"matmul/{shape}")
        t.row(f"matmul {m}×{k}×{n} f32, 1 thread, netc tape", "GFLOP/s", g_tape, torch_g, True, share)
        t.row(f"matmul {m}×{k}×{n} f32, 1 thread, raw faer", "GFLOP/s", g_faer, torch_g, True,
              "faer alone, without netc")

    for n in DROPOUT_SIZES:
        fwd, bwd = ns(f"dropout/forward/{n}"), ns(f"dropout/backward/{n}")
        tape = ns(f"dropout/tape_fwd_bwd_Inverted/{n}")
        t.row(f"dropout p=0.5 forward, {count(n)} elements", "ns/element",
              fwd / n if fwd else None, peer_value(f"dropout/forward/{n}"), False,
              "netc: mask + scale into a preallocated output; torch allocates its output")
        t.row(f"dropout p=0.5 forward + backward, {count(n)} elements", "ns/element",
              (fwd + bwd) / n if fwd and bwd else None, peer_value(f"dropout/fwd_bwd/{n}"), False,
              "netc: forward + backward kernels; torch: y.backward(grad)")
        t.row(f"dropout p=0.5 forward + Σ + backward on the tape, {count(n)} elements", "ns/element",
              tape / n if tape else None, peer_value(f"dropout/fwd_sum_bwd/{n}"), False,
              "netc: tape_fwd_bwd_Inverted; torch: y.sum().backward()")

    mlp = ns("step/mlp")
    t.row("reference MLP 128→32→16→2 training step, batch 4", "µs/step",
          mlp / 1e3 if mlp else None, peer_value("mlp/step"), False)

    epochs = {}
    for threads in (1, 2):
        netc = netc_run(out, threads)
        epochs[threads] = netc
        key = f"mnist/epoch/t{threads}"
        note = []
        netc_s = None
        if netc:
            seconds, samples, acc, _ = netc
            netc_s = seconds * MNIST_TRAIN / samples
            if samples != MNIST_TRAIN:
                note.append(f"netc: scaled from {samples} samples")
            if acc is not None:
                note.append(f"netc test acc {100 * acc:.2f}%")
        else:
            note.append("netc: no run (see netc-mnist-t%d.log)" % threads)
        torch_s = None
        if key in peer:
            p = peer[key]
            torch_s = p["value"] * MNIST_TRAIN / p["samples"]
            if p["samples"] != MNIST_TRAIN:
                note.append(f"torch: scaled from {p['samples']} samples")
            note.append(f"torch test acc {100 * p['test_acc']:.2f}%, data: {p['data']}")
        t.row(f"MNIST net, one epoch of training, batch 64, {threads} thread{'s' if threads > 1 else ''}",
              "s", netc_s, torch_s, False, "; ".join(note))

    step = ns("step/mnist")
    t.row("MNIST net, 938 × criterion step/mnist (engine alone: synthetic batches, no data)", "s",
          step * 938 / 1e9 if step else None, None, False,
          "netc only: the engine's share of the epoch above")

    rss_netc = epochs[1][3] if epochs[1] else None
    t.row("peak RSS of the MNIST training process, 1 thread", "MB", rss_netc,
          peer_value("mnist/peak_rss"), False,
          "each process loads MNIST (188 MB as f32, 47 MB as bytes), trains and evaluates")

    lenet_rows(t, out, peer)
    return t, torch_doc


def lenet_rows(t, out, peer):
    """LeNet's epoch (models/lenet.net against lenet.py) on 1 and 2 threads, and
    each side's speed-up from the second thread."""
    epochs = {}
    for threads in (1, 2):
        netc = netc_run(out, threads, "lenet")
        p = peer.get(f"lenet/epoch/t{threads}")
        note, netc_s, torch_s = [], None, None
        if netc:
            seconds, samples, acc, rss = netc
            netc_s = seconds * MNIST_TRAIN / samples
            if samples != MNIST_TRAIN:
                note.append(f"netc: scaled from {samples} samples")
            if acc is not None:
                note.append(f"netc test acc {100 * acc:.2f}%")
            if rss is not None:
                note.append(f"netc peak RSS {rss:.0f} MB")
        if p:
            torch_s = p["value"]
            if p["steps"] * MNIST_BATCH < MNIST_TRAIN:
                note.append(f"torch: scaled from {p['steps']} steps")
            note.append(f"torch test acc {100 * p['test_acc']:.2f}%, data: {p['data']}")
        epochs[threads] = (netc_s, torch_s)
        t.row(f"LeNet (models/lenet.net), one epoch of training, batch 64, {threads} "
              f"thread{'s' if threads > 1 else ''}", "s", netc_s, torch_s, False, "; ".join(note))

    def speedup(i):
        one, two = epochs[1][i], epochs[2][i]
        return one / two if one and two else None

    t.row("LeNet, speed-up of 2 threads over 1 (1-thread time / 2-thread time)", "×",
          speedup(0), speedup(1), True, "netc's goal: ≥ 1.7")


def sitting(out):
    info = {}
    f = out / "sitting.txt"
    if f.is_file():
        for line in f.read_text().splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                info[k.strip()] = v.strip()
    return info


def cpu_model():
    """The CPU's model name and whether it has AVX-512, from /proc/cpuinfo."""
    model, flags = "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        return model
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model} ({simd})"


def main(argv):
    if len(argv) != 1:
        sys.exit("usage: table.py OUT_DIR")
    out = Path(argv[0])
    t, torch_doc = build(out)
    info = sitting(out)
    v = torch_doc.get("versions", {})
    quick = info.get("quick") == "yes" or torch_doc.get("quick")
    text = []
    if quick:
        text.append("**QUICK SMOKE RUN: reduced repeats and sizes; these figures are not a comparison.**\n")
    text.append(t.markdown())
    text.append("")
    text.append(f"Machine: {cpu_model()}, {os.cpu_count()} logical cores. "
                f"Measured {info.get('date', '?')}, one sitting, netc first, then torch "
                f"(load average before: {info.get('load', '?')}).")
    text.append(f"Versions: {info.get('rustc', 'rustc ?')}; netc {info.get('netc', '?')}; "
                f"torch {v.get('torch', '?')} (BLAS {v.get('blas', '?')}, "
                f"CPU capability {v.get('cpu_capability', '?')}), numpy {v.get('numpy', '?')}, "
                f"Python {v.get('python', '?')}.")
    text.append("Rerun: `benches/peers/compare.sh --data-dir DIR` (see benches/peers/README.md).")
    if t.missing:
        text.append("")
        text.append("Missing criterion results: " + ", ".join(f"`{m}`" for m in t.missing))
    md = "\n".join(text) + "\n"
    (out / "table.md").write_text(md)
    print(md, end="")


if __name__ == "__main__":
    main(sys.argv[1:])
