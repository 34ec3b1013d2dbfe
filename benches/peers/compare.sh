#!/usr/bin/env bash
# netc against PyTorch on this machine, in one sitting: netc's criterion benches
# and real `netc train` epochs of the MNIST net and of LeNet, then the same
# workloads in torch (torch_peers.py and lenet.py, in a virtual environment),
# then one markdown table.
# Not run by CI. See benches/peers/README.md.
set -euo pipefail

usage() {
    cat <<'EOF'
usage: benches/peers/compare.sh [--data-dir DIR] [--out DIR] [--only LIST] [--quick]

  --data-dir DIR  MNIST's IDX files are in DIR/mnist/ (netc's --data-dir) or in DIR
                  itself (default: $NETC_DATA; without MNIST, netc's epoch is skipped
                  and torch trains on synthetic data of the same shape)
  --out DIR       where results go (default: <target dir>/peers/<date-time>); must be new
  --only LIST     a comma-separated subset of: benches (matmul, dropout, the MLP step),
                  mnist (the MNIST epoch and its peak RSS), lenet (the LeNet epoch),
                  table9 (torch's epoch of the dropout paper's Table 9 net, beside
                  step/table9 of the step bench when benches ran); default: all four
  --quick         a smoke test of the script: short criterion runs, 100 training
                  steps, few torch repeats; the figures are not a comparison

environment:
  PEERS_VENV       the virtual environment for torch (default: target/peers-venv);
                   if it already has torch, nothing is installed
  TORCH_VERSION    default 2.15.0
  TORCH_INDEX_URL  a pip index for torch, e.g. https://download.pytorch.org/whl/cpu
                   (CPU-only wheel, ~200 MB instead of several GB of CUDA libraries)
  PYTHON           the Python that creates the venv (default: python3)
  TORCH_PYTHON     a Python that already has torch and numpy (e.g. /usr/bin/python3 with
                   Debian's python3-torch): used as it is, no venv is made nor installed
  BENCH_ARGS       extra arguments for the criterion benches, e.g. a filter 'step/'
EOF
}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
DATA=${NETC_DATA:-}
OUT=
QUICK=no
ONLY=benches,mnist,lenet,table9
while [ $# -gt 0 ]; do
    case $1 in
        --data-dir) DATA=${2:?--data-dir needs a directory}; shift ;;
        --out) OUT=${2:?--out needs a directory}; shift ;;
        --only) ONLY=${2:?--only needs a list}; shift ;;
        --quick) QUICK=yes ;;
        -h | --help) usage; exit 0 ;;
        *) echo "compare.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

for part in ${ONLY//,/ }; do
    case $part in
        benches | mnist | lenet | table9) ;;
        *) echo "compare.sh: --only: unknown part '$part' (benches, mnist, lenet, table9)" >&2; exit 2 ;;
    esac
done
wants() { [[ ",$ONLY," == *",$1,"* ]]; }

PYTHON=${PYTHON:-python3}
TORCH_VERSION=${TORCH_VERSION:-2.15.0}
cd "$REPO"
TARGET=$(cargo metadata --format-version 1 --no-deps |
    "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
VENV=${PEERS_VENV:-$REPO/target/peers-venv}
OUT=${OUT:-$TARGET/peers/$(date +%Y%m%d-%H%M%S)}
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT")" ]; then
    echo "compare.sh: $OUT is not empty; give a new --out" >&2
    exit 2
fi
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
echo "== results go to $OUT"

# --- 1. torch in a virtual environment (or TORCH_PYTHON as it is) -------------
if [ -n "${TORCH_PYTHON:-}" ]; then
    PY=$TORCH_PYTHON
    "$PY" -c 'import torch, numpy' || {
        echo "compare.sh: TORCH_PYTHON=$PY cannot import torch and numpy" >&2
        exit 2
    }
    echo "== torch $("$PY" -c 'import torch; print(torch.__version__)') from $PY (TORCH_PYTHON)"
fi
if [ -z "${TORCH_PYTHON:-}" ] && [ ! -x "$VENV/bin/python" ]; then
    echo "== creating the virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PY=${TORCH_PYTHON:-$VENV/bin/python}
pip_install() { "$PY" -m pip install --disable-pip-version-check "$@"; }
if [ -n "${TORCH_PYTHON:-}" ]; then
    :
elif "$PY" -c 'import torch' 2>/dev/null; then
    echo "== torch $("$PY" -c 'import torch; print(torch.__version__)') is already in $VENV"
elif [ -n "${TORCH_INDEX_URL:-}" ]; then
    echo "== installing torch==$TORCH_VERSION from $TORCH_INDEX_URL"
    pip_install --index-url "$TORCH_INDEX_URL" "torch==$TORCH_VERSION"
else
    echo "== installing torch==$TORCH_VERSION from PyPI (on Linux x86_64 this pulls" \
        "several GB of CUDA libraries; TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu avoids them)"
    pip_install "torch==$TORCH_VERSION"
fi
"$PY" -c 'import numpy' 2>/dev/null || pip_install numpy
INSTALLED=$("$PY" -c 'import torch; print(torch.__version__)')
case $INSTALLED in
    "$TORCH_VERSION" | "$TORCH_VERSION"+*) ;;
    *) echo "warning: $VENV has torch $INSTALLED, not $TORCH_VERSION" >&2 ;;
esac

# --- 2. build everything before measuring anything ----------------------------
echo "== building netc and its benches (release)"
cargo build --release
wants benches && cargo bench -p netc-bench --no-run --bench matmul --bench dropout --bench step
NETC=$TARGET/release/netc

# netc looks for a folder named mnist/ under its --data-dir: a folder of IDX
# files given directly is linked under that name.
NETC_DATA_ARGS=()
if [ -n "$DATA" ]; then
    if [ -e "$DATA/train-images-idx3-ubyte.gz" ] || [ -e "$DATA/train-images-idx3-ubyte" ]; then
        mkdir -p "$OUT/data"
        ln -s "$(cd "$DATA" && pwd)" "$OUT/data/mnist"
        NETC_DATA_ARGS=(--data-dir "$OUT/data")
    else
        NETC_DATA_ARGS=(--data-dir "$DATA")
    fi
fi

{
    echo "date: $(date '+%Y-%m-%d %H:%M %Z')"
    echo "rustc: $(rustc -V)"
    echo "netc: $(git -C "$REPO" describe --always --dirty 2>/dev/null || echo unknown)"
    echo "load: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
    echo "quick: $QUICK"
    echo "only: $ONLY"
} >"$OUT/sitting.txt"

# --- 3. netc: criterion benches, then real training runs ----------------------
BENCH_EXTRA=()
[ "$QUICK" = yes ] && BENCH_EXTRA=(--warm-up-time 0.1 --measurement-time 0.2)
read -r -a USER_BENCH_ARGS <<<"${BENCH_ARGS:-}"
if wants benches; then
    echo "== netc: cargo bench -p netc-bench --bench matmul --bench dropout --bench step"
    CRITERION_HOME=$OUT/criterion cargo bench -p netc-bench --bench matmul --bench dropout --bench step -- \
        --noplot ${BENCH_EXTRA[@]+"${BENCH_EXTRA[@]}"} ${USER_BENCH_ARGS[@]+"${USER_BENCH_ARGS[@]}"} \
        2>&1 | tee "$OUT/cargo-bench.log"
fi

LENGTH=(--epochs 1)
[ "$QUICK" = yes ] && LENGTH=(--steps 100)
for model in mnist lenet; do
    wants $model || continue
    for threads in 1 2; do
        run=$OUT/netc-$model-t$threads
        echo "== netc: train models/$model.net ${LENGTH[*]} --threads $threads"
        if "$PY" "$HERE/peak_rss.py" "$run.rss.json" -- "$NETC" train models/$model.net "${LENGTH[@]}" \
            --threads "$threads" --out "$run" --quiet ${NETC_DATA_ARGS[@]+"${NETC_DATA_ARGS[@]}"} \
            >"$run.log" 2>&1; then
            tail -n 1 "$run.log"
        else
            echo "netc train failed (no MNIST?); its output:" >&2
            cat "$run.log" >&2
        fi
    done
done

# --- 4. torch, in the same sitting --------------------------------------------
COMMON=()
[ -n "$DATA" ] && COMMON+=(--data-dir "$DATA")
[ "$QUICK" = yes ] && COMMON+=(--quick)
PEER_WORKLOADS=()
wants benches && PEER_WORKLOADS+=(matmul dropout mlp)
wants mnist && PEER_WORKLOADS+=(mnist rss)
if [ ${#PEER_WORKLOADS[@]} -gt 0 ]; then
    echo "== torch: torch_peers.py"
    ONLY_PEER=$(IFS=,; echo "${PEER_WORKLOADS[*]}")
    "$PY" "$HERE/torch_peers.py" --only "$ONLY_PEER" --json "$OUT/torch.json" \
        ${COMMON[@]+"${COMMON[@]}"}
fi
if wants lenet; then
    echo "== torch: lenet.py"
    "$PY" "$HERE/lenet.py" --json "$OUT/torch-lenet.json" ${COMMON[@]+"${COMMON[@]}"}
fi
if wants table9; then
    # The dropout paper's Table 9 net: netc's step/table9 beside torch's epoch of it.
    echo "== torch: table9.py"
    TABLE9_ARGS=(--json "$OUT/torch-table9.json")
    [ -n "$DATA" ] && TABLE9_ARGS+=(--data-dir "$DATA")
    [ "$QUICK" = yes ] && TABLE9_ARGS+=(--steps 20)
    "$PY" "$HERE/table9.py" "${TABLE9_ARGS[@]}" | tee "$OUT/table9.txt"
    if [ -f "$OUT/cargo-bench.log" ]; then
        grep -A1 -E '^step/(table9|faer_1024)' "$OUT/cargo-bench.log" | tee -a "$OUT/table9.txt" || true
    fi
fi

# --- 5. one table ---------------------------------------------------------------
echo
"$PY" "$HERE/table.py" "$OUT"
echo
echo "(also in $OUT/table.md)"
