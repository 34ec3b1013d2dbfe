#!/usr/bin/env bash
# Runs the PyTorch tests of `netc export` (tests/export.rs): the generated
# module loads netc's weights with strict=True and gives netc's outputs and
# loss. PyTorch's wheel from PyPI is several GB, too heavy for every CI run:
# this uses Debian's CPU-only `python3-torch` (installed with apt if missing)
# and `safetensors` from PyPI in a virtual environment that sees the system's
# packages (target/torch-venv).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    echo "installing Debian's python3-torch (CPU-only)"
    apt-get install -y -qq python3-torch >/dev/null \
        || { apt-get update -qq && apt-get install -y -qq python3-torch >/dev/null; }
fi
venv=target/torch-venv
if ! "$venv/bin/python" -c 'import torch, safetensors' 2>/dev/null; then
    rm -rf "$venv"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    # --no-deps: Debian's torch is built against Debian's numpy, which stays.
    "$venv/bin/pip" install -q --no-deps safetensors==0.8.0
fi
"$venv/bin/python" -c 'import torch, safetensors, numpy; print(f"torch {torch.__version__}, safetensors {safetensors.__version__}, numpy {numpy.__version__}")'
NETC_PYTHON="$PWD/$venv/bin/python" NETC_REQUIRE_TORCH=1 cargo test --release --test export -- --nocapture pytorch
