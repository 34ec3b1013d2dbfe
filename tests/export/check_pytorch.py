"""Loads netc's weights into an exported PyTorch module and compares it with
netc: check_pytorch.py MODULE.py WEIGHTS BATCH OUTPUT EVAL_GRADS [TRAIN_GRADS]

EVAL_GRADS is `netc grad --eval`'s output with these weights (its
`act/<OUTPUT>` and `loss`); TRAIN_GRADS, `netc grad`'s in training mode with
every dropout's p set to 0 (its `loss`: batch norm on the batch's statistics)."""

import importlib.util
import sys

import safetensors.torch
import torch

import tensors


def main(module_path, weights, batch_path, output, eval_path, train_path=None):
    spec = importlib.util.spec_from_file_location("exported", module_path)
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    (cls,) = [
        v
        for v in vars(exported).values()
        if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == "exported"
    ]
    model = cls()
    model.load_state_dict(safetensors.torch.load_file(weights), strict=True)
    batch = tensors.read(batch_path)
    x = torch.from_numpy(batch["x"].copy())
    y = torch.from_numpy(batch["y"].copy())
    want = tensors.read(eval_path)
    model.eval()
    with torch.no_grad():
        tensors.close(f"pytorch eval {output}", model(x).numpy(), want[f"act/{output}"])
        tensors.close("pytorch eval loss", [exported.loss(model, x, y).item()], want["loss"])
    if train_path is None:
        return
    model.train()
    with torch.no_grad():
        got = exported.loss(model, x, y).item()
    tensors.close("pytorch train loss", [got], tensors.read(train_path)["loss"])


if __name__ == "__main__":
    main(*sys.argv[1:])
