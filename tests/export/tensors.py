"""Reads a safetensors file into numpy arrays, without the safetensors package."""

import json
import struct

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U64": np.uint64}


def read(path):
    """Every tensor of the file, by name."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    body = data[8 + n :]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        start, end = t["data_offsets"]
        a = np.frombuffer(body[start:end], dtype=DTYPES[t["dtype"]])
        out[name] = a.reshape(t["shape"])
    return out


def close(what, got, want, rel=1e-5):
    """Fails unless got equals want to `rel` of want's largest magnitude."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise SystemExit(f"{what}: shape {got.shape}, want {want.shape}")
    scale = max(float(np.abs(want).max()), 1e-12)
    diff = float(np.abs(got - want).max())
    if diff > rel * scale:
        raise SystemExit(f"{what}: largest difference {diff:e} > {rel:g} of scale {scale:e}")
    print(f"{what}: largest difference {diff:.2e} (scale {scale:.3g})")
