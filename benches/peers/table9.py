#!/usr/bin/env python3
"""PyTorch's epoch of the dropout paper's MNIST net (Srivastava et al. 2014,
Table 9), to set beside netc's `step/table9` bench.

784 -> dropout 0.2 -> 1024 -> 1024 -> 2048 (ReLU, dropout 0.5 after each)
-> 10, log_softmax + NLL, batch 100, SGD lr 0.01 momentum 0.95, max-norm 3 on
each unit's incoming weights (each row of a Linear weight, `renorm_`) after
every step. One epoch (600 steps) on 1 and on 2 threads: seconds of training
(the shuffle drawn before the clock, evaluation after it and untimed), and
GFLOP/s counting the same matrix-product FLOPs as netc's bench (the forward
products, the weight gradients and the input gradients of every layer but the
first).

MNIST is found as torch_peers.py finds it (--data-dir, $NETC_DATA, ./data,
/usr/share/datasets); without it the data are synthetic of the same shape.
Debian's python3-torch (CPU-only) serves: `/usr/bin/python3 table9.py`.
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import torch_peers  # noqa: E402  (find_mnist, read_idx, load_mnist)

WIDTHS = [784, 1024, 1024, 2048, 10]
BATCH = 100


def step_flops():
    products = [2 * BATCH * a * b for a, b in zip(WIDTHS, WIDTHS[1:])]
    return 2 * sum(products) + sum(products[1:])


def net(torch):
    nn = torch.nn
    layers = [nn.Dropout(0.2)]
    for i, (a, b) in enumerate(zip(WIDTHS, WIDTHS[1:])):
        layers.append(nn.Linear(a, b))
        if i + 2 < len(WIDTHS):
            layers += [nn.ReLU(), nn.Dropout(0.5)]
    return nn.Sequential(*layers)


def epoch(torch, data, threads, steps, seed):
    F = torch.nn.functional
    train_x, train_y, test_x, test_y = data
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    model = net(torch)
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.95)

    def one(x, y):
        opt.zero_grad(set_to_none=True)
        F.nll_loss(F.log_softmax(model(x), dim=1), y).backward()
        opt.step()
        with torch.no_grad():
            for w in weights:
                w.renorm_(2, 0, 3.0)

    model.train()
    for lo in range(0, 5 * BATCH, BATCH):  # warm-up, untimed
        one(train_x[lo:lo + BATCH], train_y[lo:lo + BATCH])
    order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(seed))
    t0 = time.perf_counter()
    done = 0
    for lo in range(0, min(len(train_x), steps * BATCH), BATCH):
        idx = order[lo:lo + BATCH]
        one(train_x[idx], train_y[idx])
        done += 1
    seconds = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(test_x[lo:lo + 1000]).argmax(1) == test_y[lo:lo + 1000]).sum())
                      for lo in range(0, len(test_x), 1000))
    return seconds, done, correct / len(test_x)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data-dir", metavar="DIR")
    p.add_argument("--threads", default="1,2", help="comma-separated (default: 1,2)")
    p.add_argument("--steps", type=int, default=600,
                   help="steps timed (default: 600, an epoch); the epoch time is scaled from them")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    import torch
    cfg = argparse.Namespace(data_dir=args.data_dir, seed=args.seed, mnist_samples=None)
    *data, what = torch_peers.load_mnist(torch, cfg)
    flops = step_flops()
    print(f"torch {torch.__version__}, data: {what}; {flops / 1e9:.3f} GFLOP a step")
    results = []
    for threads in [int(t) for t in args.threads.split(",")]:
        seconds, steps, acc = epoch(torch, data, threads, args.steps, args.seed)
        per_step = seconds / steps
        row = {
            "threads": threads, "steps": steps, "seconds": seconds,
            "ms_per_step": 1e3 * per_step, "epoch_seconds": 600 * per_step,
            "gflops": flops / per_step / 1e9, "test_acc": acc,
        }
        results.append(row)
        print(f"table9 torch, {threads} thread(s): {row['ms_per_step']:.1f} ms/step, "
              f"{row['epoch_seconds']:.1f} s/epoch, {row['gflops']:.1f} GFLOP/s "
              f"({steps} steps timed; test acc {100 * acc:.2f}% after them)")
    if args.json:
        Path(args.json).write_text(json.dumps({"torch": torch.__version__, "data": what,
                                               "results": results}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
