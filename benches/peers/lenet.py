#!/usr/bin/env python3
"""PyTorch's LeNet epoch on netc's recipe (models/lenet.net), on this machine.

The net: conv 6@5x5 padding 2 -> relu -> max-pool 2 -> conv 16@5x5 -> relu ->
max-pool 2 -> flatten -> 120 -> relu -> dropout 0.5 -> 84 -> relu -> 10,
log_softmax + NLL, SGD lr 0.01 momentum 0.9, batch 64, shuffled; the images
as netc feeds them: MNIST's IDX files, pixels/255, 1x28x28, all 60,000 kept
as one float tensor. For each thread count (--threads, default 1,2): the
seconds of one epoch of training steps, timed from the first step to the last
(the shuffle is drawn before the clock starts, as netc draws its order;
gathering each batch is timed, as in netc), then the test accuracy with
model.eval() (untimed).

MNIST is found as torch_peers.py finds it (--data-dir DIR or DIR/mnist, then
$NETC_DATA, ./data, /usr/share/datasets); without it the data are synthetic,
of the same shapes, and the output says so.

Prints one line per thread count; --json PATH writes the figures for
compare.sh's table.py (keys lenet/epoch/tN).

--accuracy N --seeds 0,1,2 instead trains the whole recipe for each seed (N
epochs, one thread unless --threads says, the order shuffled again each epoch
as a DataLoader with shuffle=True does) and prints the test accuracy after
every epoch: PyTorch's seed-to-seed spread, beside netc's seeds in README.md.
--steps and --quick do not apply to it.
"""

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import torch_peers  # beside this file: the data loading, records and versions

BATCH = 64


def parse_args(argv):
    p = argparse.ArgumentParser(description="Time PyTorch's LeNet epoch on netc's recipe.")
    p.add_argument("--threads", default="1,2",
                   help="comma-separated thread counts, one epoch each (default: 1,2)")
    p.add_argument("--data-dir", metavar="DIR",
                   help="DIR or DIR/mnist holds the MNIST IDX files")
    p.add_argument("--steps", type=int,
                   help="train this many steps instead of a whole epoch (938)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    p.add_argument("--accuracy", type=int, metavar="EPOCHS",
                   help="train this many epochs per seed and print the test accuracy "
                        "after each, instead of timing one epoch")
    p.add_argument("--seeds", default="0",
                   help="comma-separated seeds for --accuracy (default: 0)")
    p.add_argument("--quick", action="store_true",
                   help="a smoke test: 100 steps; the figures are not a comparison")
    args = p.parse_args(argv)
    args.threads = [int(t) for t in args.threads.split(",") if t.strip()]
    args.seeds = [int(t) for t in args.seeds.split(",") if t.strip()]
    if args.quick and args.steps is None:
        args.steps = 100
    # what torch_peers.load_mnist reads
    args.mnist_samples = None
    return args


def lenet(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def train_steps(torch, model, opt, x_all, y_all, order, steps):
    F = torch.nn.functional
    for i in range(steps):
        idx = order[i * BATCH:(i + 1) * BATCH]
        x, y = x_all[idx], y_all[idx]
        opt.zero_grad(set_to_none=True)
        F.nll_loss(F.log_softmax(model(x), dim=1), y).backward()
        opt.step()


def accuracy_run(torch, cfg, data, seed):
    """The test accuracy after each of cfg.accuracy epochs of the recipe."""
    train_x, train_y, test_x, test_y = data
    torch.set_num_threads(cfg.threads[0])
    torch.manual_seed(seed)
    model = lenet(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    shuffle = torch.Generator().manual_seed(seed)
    n = len(train_x)
    accs = []
    for _ in range(cfg.accuracy):
        order = torch.randperm(n, generator=shuffle)
        train_steps(torch, model, opt, train_x, train_y, order, -(-n // BATCH))
        accs.append(torch_peers.test_accuracy(torch, model, test_x, test_y))
    return accs


def epoch(torch, cfg, data, threads):
    """(seconds of training, steps, test accuracy) of one epoch on `threads` threads."""
    train_x, train_y, test_x, test_y = data
    torch.set_num_threads(threads)
    n = len(train_x)
    steps = -(-n // BATCH)
    if cfg.steps is not None:
        steps = min(steps, cfg.steps)

    # Warm-up on a throwaway model, so that one-off initialisation (thread
    # pool, kernel choice) is not charged to the epoch.
    torch.manual_seed(cfg.seed + 1)
    spare = lenet(torch)
    spare_opt = torch.optim.SGD(spare.parameters(), lr=0.01, momentum=0.9)
    train_steps(torch, spare, spare_opt, train_x, train_y, torch.arange(20 * BATCH), 20)

    torch.manual_seed(cfg.seed)
    model = lenet(torch)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(cfg.seed))
    model.train()
    t0 = time.perf_counter()
    train_steps(torch, model, opt, train_x, train_y, order, steps)
    seconds = time.perf_counter() - t0
    return seconds, steps, torch_peers.test_accuracy(torch, model, test_x, test_y)


def main(argv):
    cfg = parse_args(argv)
    import torch  # after argument parsing, so that --help is instant

    torch.set_num_interop_threads(1)
    print(f"torch {torch.__version__}, LeNet epoch"
          + ("  [QUICK: smoke test, figures not comparable]" if cfg.quick else ""), flush=True)
    train_x, train_y, test_x, test_y, what = torch_peers.load_mnist(torch, cfg)
    images = (train_x.reshape(-1, 1, 28, 28), train_y, test_x.reshape(-1, 1, 28, 28), test_y)
    print(f"  (data: {what}, {len(train_x)} training samples)", flush=True)
    if cfg.accuracy:
        for seed in cfg.seeds:
            accs = accuracy_run(torch, cfg, images, seed)
            print(f"seed {seed}: " + " ".join(f"{100 * a:.2f}" for a in accs), flush=True)
        return
    results = {}
    for threads in cfg.threads:
        seconds, steps, acc = epoch(torch, cfg, images, threads)
        per_epoch = seconds * -(-len(train_x) // BATCH) / steps
        torch_peers.record(
            results, f"lenet/epoch/t{threads}", per_epoch, "s/epoch",
            f"LeNet epoch, batch 64, {threads} thread{'s' if threads > 1 else ''}"
            + ("" if steps * BATCH >= len(train_x) else f" (from {steps} steps)"),
            seconds=seconds, steps=steps, threads=threads, test_acc=acc, data=what)
    if cfg.json:
        doc = {
            "peer": "torch",
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "quick": cfg.quick,
            "versions": {"torch": torch.__version__, "python": platform.python_version(),
                         **torch_peers.blas_info(torch)},
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
