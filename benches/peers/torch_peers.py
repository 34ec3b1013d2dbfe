#!/usr/bin/env python3
"""PyTorch's side of netc's performance comparison, measured on this machine.

Workloads (f32, one thread unless said), as defined in the project's peer baselines:

  matmul   torch.mm at 64x784x128, 256x256x256 and 1024x1024x1024: GFLOP/s
           (2*M*K*N / seconds), the median of repeats after a warm-up.
  dropout  F.dropout(x, 0.5, training=True) at 1e4, 1e6 and 1.6e7 elements:
           ns per element for the forward, the forward + backward of the
           dropout alone (y.backward(grad)), and forward + sum + backward (what
           netc's tape benchmark records).
  mlp      the reference MLP 128->32->16->2, ReLU, batch 4, loss =
           cross_entropy + 0.5*sum|h1| + 0.01*||h2||_2, SGD lr 1e-4, model
           built once: microseconds per training step (median of repeats of
           1000 steps).
  mnist    one epoch of 784->128 ReLU -> dropout 0.5 -> 10, log_softmax + NLL,
           SGD lr 0.01 momentum 0.9, batch 64, shuffled: seconds of training
           (data loading and evaluation excluded), on 1 and on 2 threads.
  rss      peak resident set size of a child process that loads the data and
           trains one such epoch on one thread (and evaluates it).

MNIST is read from the four IDX files (gzipped or not) in DIR or DIR/mnist,
where DIR is --data-dir, then $NETC_DATA, ./data, /usr/share/datasets (netc's
order); without them the data are synthetic, of the same shapes, and the output
says so.

Prints a table; --json PATH writes the figures for compare.sh's table.py.
"""

import argparse
import datetime
import gzip
import json
import math
import os
import platform
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKLOADS = ["matmul", "dropout", "mlp", "mnist", "rss"]
MATMUL_SHAPES = [(64, 784, 128), (256, 256, 256), (1024, 1024, 1024)]
DROPOUT_SIZES = [10_000, 1_000_000, 16_000_000]
MNIST_FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Measure netc's peer workloads with PyTorch on this machine.",
        epilog="Workloads: " + ", ".join(WORKLOADS),
    )
    p.add_argument("--only", default=",".join(WORKLOADS),
                   help="comma-separated workloads to run (default: all)")
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: few repeats, small sizes; figures are not comparable")
    p.add_argument("--data-dir", metavar="DIR",
                   help="DIR or DIR/mnist holds the MNIST IDX files (default: $NETC_DATA, ./data, "
                        "/usr/share/datasets)")
    p.add_argument("--mnist-threads", default="1,2",
                   help="thread counts for the MNIST epoch (default: 1,2)")
    p.add_argument("--mnist-samples", type=int,
                   help="train on the first N samples only (default: all; --quick: 6400)")
    p.add_argument("--dropout-sizes",
                   help="comma-separated element counts (default: 1e4,1e6,1.6e7; --quick: 1e6)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    args.only = [w.strip() for w in args.only.split(",") if w.strip()]
    unknown = [w for w in args.only if w not in WORKLOADS]
    if unknown:
        p.error(f"unknown workload(s) {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    args.mnist_threads = [int(t) for t in args.mnist_threads.split(",") if t.strip()]
    if args.dropout_sizes:
        args.dropout_sizes = [int(float(s)) for s in args.dropout_sizes.split(",") if s.strip()]
    else:
        args.dropout_sizes = [1_000_000] if args.quick else DROPOUT_SIZES
    if args.mnist_samples is None and args.quick:
        args.mnist_samples = 6400
    return args


# --- timing -----------------------------------------------------------------

def median_seconds(fn, repeats, min_seconds):
    """Median seconds per call of `fn` over `repeats` timed runs.

    One untimed call, then a warm-up of about `min_seconds`; each timed run
    calls `fn` often enough to last at least `min_seconds`, so that timer
    resolution and call overhead of the clock do not matter for small work.
    """
    fn()
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    calls = max(1, math.ceil(min_seconds / max(once, 1e-9)))
    for _ in range(calls):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - t0) / calls)
    return statistics.median(samples)


# --- workloads ----------------------------------------------------------------

def bench_matmul(torch, cfg, out):
    torch.manual_seed(cfg.seed)
    for m, k, n in MATMUL_SHAPES:
        a = torch.rand(m, k) - 0.5
        b = torch.rand(k, n) - 0.5
        c = torch.empty(m, n)
        # the product into a preallocated output, as netc's raw-faer benchmark does
        s = median_seconds(lambda: torch.mm(a, b, out=c), cfg.repeats, cfg.min_seconds)
        record(out, f"matmul/{m}x{k}x{n}", 2 * m * k * n / s / 1e9, "GFLOP/s",
               f"matmul {m}x{k}x{n}", seconds=s, threads=1)


def bench_dropout(torch, cfg, out):
    F = torch.nn.functional
    torch.manual_seed(cfg.seed)
    for n in cfg.dropout_sizes:
        x = torch.randn(n)
        # forward alone: x does not require grad, so no graph is recorded
        s = median_seconds(lambda: F.dropout(x, 0.5, training=True),
                           cfg.repeats, cfg.min_seconds)
        record(out, f"dropout/forward/{n}", s / n * 1e9, "ns/element",
               f"dropout forward, {count(n)} elements", seconds=s, threads=1)

        xg = x.clone().requires_grad_(True)
        grad = torch.randn(n)  # preallocated: making it is not timed

        def fwd_bwd():
            # .grad = None (not zeroed): backward then hands the incoming
            # gradient to x.grad instead of adding it into an old buffer,
            # which would be an extra pass over n elements no one asked for.
            xg.grad = None
            F.dropout(xg, 0.5, training=True).backward(grad)

        s = median_seconds(fwd_bwd, cfg.repeats, cfg.min_seconds)
        record(out, f"dropout/fwd_bwd/{n}", s / n * 1e9, "ns/element",
               f"dropout fwd+bwd, {count(n)} elements", seconds=s, threads=1)

        def fwd_sum_bwd():
            # what netc's tape benchmark records: dropout, a sum, backward
            xg.grad = None
            F.dropout(xg, 0.5, training=True).sum().backward()

        s = median_seconds(fwd_sum_bwd, cfg.repeats, cfg.min_seconds)
        record(out, f"dropout/fwd_sum_bwd/{n}", s / n * 1e9, "ns/element",
               f"dropout fwd+sum+bwd, {count(n)} elements", seconds=s, threads=1)
        del x, xg, grad


def bench_mlp(torch, cfg, out):
    nn, F = torch.nn, torch.nn.functional
    torch.manual_seed(cfg.seed)

    class ReferenceMlp(nn.Module):
        def __init__(self):
            super().__init__()
            self.h1 = nn.Linear(128, 32)
            self.h2 = nn.Linear(32, 16)
            self.out = nn.Linear(16, 2)

        def forward(self, x):
            h1 = F.relu(self.h1(x))
            h2 = F.relu(self.h2(h1))
            return self.out(h2), h1, h2

    model = ReferenceMlp()  # built once, outside the timed steps
    opt = torch.optim.SGD(model.parameters(), lr=1e-4)
    # 8 synthetic batches, made once and cycled, like netc's step benchmark
    batches = [(torch.rand(4, 128), torch.randint(0, 2, (4,))) for _ in range(8)]

    def steps(count):
        for i in range(count):
            x, y = batches[i % len(batches)]
            opt.zero_grad(set_to_none=True)
            z, h1, h2 = model(x)
            # L2 is the Euclidean norm (not its square); vector_norm's gradient at 0 is 0
            loss = (F.cross_entropy(z, y) + 0.5 * h1.abs().sum()
                    + 0.01 * torch.linalg.vector_norm(h2))
            loss.backward()
            opt.step()

    steps(cfg.mlp_steps // 10)  # warm-up
    samples = []
    for _ in range(cfg.mlp_repeats):
        t0 = time.perf_counter()
        steps(cfg.mlp_steps)
        samples.append((time.perf_counter() - t0) / cfg.mlp_steps)
    s = statistics.median(samples)
    record(out, "mlp/step", s * 1e6, "us/step",
           f"reference MLP step (median of {cfg.mlp_repeats} x {cfg.mlp_steps} steps)",
           seconds=s, threads=1)


# --- MNIST --------------------------------------------------------------------

def find_mnist(data_dir):
    """The folder holding the four IDX files (netc's search order), or None."""
    roots = [data_dir, os.environ.get("NETC_DATA"), "data", "/usr/share/datasets"]
    for root in roots:
        if not root:
            continue
        for d in (Path(root), Path(root) / "mnist"):
            if all(idx_path(d, f) for f in MNIST_FILES.values()):
                return d
        if root == data_dir:
            print(f"warning: no MNIST IDX files in {root} or {root}/mnist", file=sys.stderr)
    return None


def idx_path(d, stem):
    for name in (stem + ".gz", stem):
        if (d / name).is_file():
            return d / name
    return None


def read_idx(path, np):
    """An IDX file of unsigned bytes as a numpy array of its dimensions."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, kind, ndims = struct.unpack(">HBB", raw[:4])
    if zero != 0 or kind != 0x08:
        raise ValueError(f"{path}: not an IDX file of unsigned bytes")
    dims = struct.unpack(f">{ndims}I", raw[4:4 + 4 * ndims])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndims)
    if data.size != math.prod(dims):
        raise ValueError(f"{path}: {data.size} bytes of data for dimensions {dims}")
    return data.reshape(dims)


def load_mnist(torch, cfg):
    """(train_x, train_y, test_x, test_y, description), as float tensors of pixels/255."""
    d = find_mnist(cfg.data_dir)
    if d is None:
        g = torch.Generator().manual_seed(cfg.seed)
        data = (torch.rand(60_000, 784, generator=g), torch.randint(0, 10, (60_000,), generator=g),
                torch.rand(10_000, 784, generator=g), torch.randint(0, 10, (10_000,), generator=g))
        what = "synthetic (no MNIST found)"
    else:
        import numpy as np
        arrays = {k: read_idx(idx_path(d, stem), np) for k, stem in MNIST_FILES.items()}

        def pixels(a):
            x = a.reshape(len(a), -1).astype(np.float32)
            x /= 255.0  # in place: no second copy of the data set at the peak
            return torch.from_numpy(x)

        data = (pixels(arrays["train_x"]), torch.from_numpy(arrays["train_y"].astype(np.int64)),
                pixels(arrays["test_x"]), torch.from_numpy(arrays["test_y"].astype(np.int64)))
        what = f"MNIST from {d}"
    if cfg.mnist_samples:
        data = (data[0][:cfg.mnist_samples], data[1][:cfg.mnist_samples], data[2], data[3])
    return (*data, what)


def mnist_net(torch):
    nn = torch.nn
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))


def mnist_epoch(torch, cfg, data, threads):
    """Seconds of one training epoch, its step count and the test accuracy after it."""
    F = torch.nn.functional
    train_x, train_y, test_x, test_y = data
    torch.set_num_threads(threads)

    # Warm-up: a few steps of a throwaway model, so that one-off library
    # initialisation is not charged to the epoch.
    torch.manual_seed(cfg.seed + 1)
    spare = mnist_net(torch)
    spare_opt = torch.optim.SGD(spare.parameters(), lr=0.01, momentum=0.9)
    for lo in range(0, 20 * 64, 64):
        spare_opt.zero_grad(set_to_none=True)
        F.nll_loss(F.log_softmax(spare(train_x[lo:lo + 64]), dim=1), train_y[lo:lo + 64]).backward()
        spare_opt.step()

    torch.manual_seed(cfg.seed)
    model = mnist_net(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    n = len(train_x)
    # the shuffle is drawn before the clock starts, as netc draws its order
    # outside the timed steps; gathering each batch is timed in both
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed))
    model.train()
    steps = 0
    t0 = time.perf_counter()
    for lo in range(0, n, 64):
        idx = order[lo:lo + 64]
        x, y = train_x[idx], train_y[idx]
        opt.zero_grad(set_to_none=True)
        loss = F.nll_loss(F.log_softmax(model(x), dim=1), y)
        loss.backward()
        opt.step()
        steps += 1
    seconds = time.perf_counter() - t0

    # Evaluation (not timed) with dropout off.
    return seconds, steps, test_accuracy(torch, model, test_x, test_y)


def test_accuracy(torch, model, test_x, test_y):
    """The test accuracy with dropout off (model.eval() turns it off; the
    model is left in training mode after)."""
    model.eval()
    correct = 0
    with torch.no_grad():
        for lo in range(0, len(test_x), 1000):
            pred = model(test_x[lo:lo + 1000]).argmax(dim=1)
            correct += int((pred == test_y[lo:lo + 1000]).sum())
    model.train()
    return correct / len(test_x)


def bench_mnist(torch, cfg, out, data=None):
    train_x, train_y, test_x, test_y, what = data or load_mnist(torch, cfg)
    for threads in cfg.mnist_threads:
        seconds, steps, acc = mnist_epoch(torch, cfg, (train_x, train_y, test_x, test_y), threads)
        n = len(train_x)
        part = "" if n == 60_000 else f" ({n} samples)"
        record(out, f"mnist/epoch/t{threads}", seconds, "s/epoch",
               f"MNIST epoch{part}, batch 64, {threads} thread{'s' if threads > 1 else ''}",
               seconds=seconds, threads=threads, samples=n, steps=steps, test_acc=acc, data=what)
    torch.set_num_threads(1)


def bench_rss(cfg, out):
    """Peak RSS of a fresh process that loads the data, trains one epoch on one
    thread and evaluates (this script again, with --only mnist)."""
    with tempfile.TemporaryDirectory() as tmp:
        child_json = Path(tmp) / "child.json"
        cmd = [sys.executable, os.path.abspath(__file__), "--only", "mnist",
               "--mnist-threads", "1", "--json", str(child_json), "--seed", str(cfg.seed)]
        if cfg.data_dir:
            cmd += ["--data-dir", cfg.data_dir]
        if cfg.mnist_samples:
            cmd += ["--mnist-samples", str(cfg.mnist_samples)]
        if cfg.quick:
            cmd.append("--quick")
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        # ru_maxrss of the children is the largest peak among waited-for
        # children: this one is the only child this script starts. Linux
        # counts it in KiB.
        kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        child = json.loads(child_json.read_text())["results"]["mnist/epoch/t1"]
    record(out, "mnist/peak_rss", kib * 1024 / 1e6, "MB",
           "peak RSS, MNIST training process (1 thread)",
           max_rss_kib=kib, data=child["data"], samples=child["samples"],
           child_epoch_seconds=child["value"])


# --- output -------------------------------------------------------------------

def record(out, key, value, unit, label, **extra):
    out[key] = {"value": value, "unit": unit, "label": label, **extra}
    print(f"  {label:<58} {fmt(value):>10} {unit}", flush=True)


def fmt(v):
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.3g}" if v < 1 else f"{v:.2f}"


def count(n):
    """1000000 as 1e6, 16000000 as 1.6e7."""
    e = int(math.log10(n))
    return f"{n / 10 ** e:g}e{e}"


def blas_info(torch):
    info = {}
    for line in torch.__config__.show().splitlines():
        line = line.strip()
        if line.startswith("- CPU capability usage:"):
            info["cpu_capability"] = line.split(":", 1)[1].strip()
        if "BLAS_INFO=" in line:
            info["blas"] = line.split("BLAS_INFO=", 1)[1].split(",")[0]
    return info


def main(argv):
    cfg = parse_args(argv)
    import torch  # after argument parsing, so that --help is instant

    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    cfg.repeats, cfg.min_seconds = (3, 0.01) if cfg.quick else (15, 0.1)
    cfg.mlp_steps, cfg.mlp_repeats = (100, 2) if cfg.quick else (1000, 5)

    print(f"torch {torch.__version__}, {platform.python_implementation()} "
          f"{platform.python_version()}, workloads: {', '.join(cfg.only)}"
          + ("  [QUICK: smoke test, figures not comparable]" if cfg.quick else ""), flush=True)
    results = {}
    if "matmul" in cfg.only:
        bench_matmul(torch, cfg, results)
    if "dropout" in cfg.only:
        bench_dropout(torch, cfg, results)
    if "mlp" in cfg.only:
        bench_mlp(torch, cfg, results)
    if "mnist" in cfg.only:
        data = load_mnist(torch, cfg)
        print(f"  (data: {data[-1]}, {len(data[0])} training samples)", flush=True)
        bench_mnist(torch, cfg, results, data)
        del data
    if "rss" in cfg.only:
        bench_rss(cfg, results)

    if cfg.json:
        doc = {
            "peer": "torch",
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "quick": cfg.quick,
            "versions": {"torch": torch.__version__, "python": platform.python_version(),
                         **blas_info(torch)},
            "results": results,
        }
        try:
            import numpy
            doc["versions"]["numpy"] = numpy.__version__
        except ImportError:
            pass
        Path(cfg.json).write_text(json.dumps(doc, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
