#!/usr/bin/env bash
# Runs the reproduction: every trial through `netc sweep`, into runs/ (see README.md).
#   NETC=path/to/netc  DATA_DIR=dir-with-mnist  JOBS=2  ./run.sh [table9] [fig9a] [fig11]
# (all three by default; a part run again continues where it stopped).
set -euo pipefail
cd "$(dirname "$0")"
netc=${NETC:-netc}
jobs=${JOBS:-2}

# The first 10 000 training images (and the whole test set) as IDX files in
# data/mnist-10k/, read by the .net files as idx("data/mnist-10k"): a small
# training set overfits within this budget, so the regularisers can differ.
prepare() {
    local out=data/mnist-10k src="" d
    [ -f "$out/train-images-idx3-ubyte" ] && return
    for d in "${DATA_DIR:-}" "${NETC_DATA:-}" ../../data ./data /usr/share/datasets; do
        if [ -n "$d" ] && [ -e "$d/mnist/train-images-idx3-ubyte.gz" -o -e "$d/mnist/train-images-idx3-ubyte" ]; then
            src=$d/mnist; break
        fi
    done
    if [ -z "$src" ]; then
        echo "error: no MNIST found: run \`netc data fetch mnist\` at the repository's root, or set DATA_DIR" >&2
        exit 1
    fi
    mkdir -p "$out.part"
    local f
    for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
        if [ -e "$src/$f.gz" ]; then gzip -dc "$src/$f.gz"; else cat "$src/$f"; fi > "$out.part/$f"
    done
    # An IDX header: magic (type, dims), then each dimension's size, big-endian.
    cd "$out.part"
    { printf '\x00\x00\x08\x03\x00\x00\x27\x10\x00\x00\x00\x1c\x00\x00\x00\x1c'
      tail -c +17 train-images-idx3-ubyte | head -c $((10000 * 784)) || true; } > images
    { printf '\x00\x00\x08\x01\x00\x00\x27\x10'
      tail -c +9 train-labels-idx1-ubyte | head -c 10000 || true; } > labels
    mv images train-images-idx3-ubyte && mv labels train-labels-idx1-ubyte
    cd - > /dev/null
    rm -rf "$out" && mv "$out.part" "$out"
}

table9() {
    # The two rows the ordering hangs on first.
    for row in l2 l2_l1 max_norm dropout_l2 dropout_max_norm; do
        "$netc" sweep "table9/$row.net" --seeds 2 --jobs "$jobs" --out "runs/table9/$row"
    done
}

fig9a() {
    # netc's p is the probability of dropping; the paper plots the keep-probability 1 - p.
    "$netc" sweep fig9a/hidden_p.net --set d1.p+d2.p+d3.p=0.9,0.8,0.7,0.6,0.5,0.4,0.3,0.2,0.1 \
        --jobs "$jobs" --out runs/fig9a
    "$netc" plot --x d1.p+d2.p+d3.p runs/fig9a -o runs/fig9a.svg --force \
        --title "Figure 9a: error against the hidden units' drop probability p"
}

fig11() {
    # One run of 200 stochastic passes, read off at each k, beside the weight-scaled pass.
    local w=runs/table9/dropout_max_norm/seed=0/model.safetensors
    [ -f "$w" ] || table9
    "$netc" eval table9/dropout_max_norm.net --weights "$w" --mc 1,2,3,5,10,20,30,50,70,100,150,200 \
        --curve runs/fig11.svg --force --json > runs/fig11.json
}

prepare
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(table9 fig9a fig11)
for part in "${parts[@]}"; do
    case $part in
    table9 | fig9a | fig11) "$part" ;;
    *) echo "error: unknown part \`$part\`: give table9, fig9a or fig11" >&2; exit 2 ;;
    esac
done
