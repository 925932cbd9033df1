#!/usr/bin/env bash
# How far one epoch's test accuracy moves between two correct FP32
# trajectories: for each seed, one epoch of the seed recipe on the CPU and on
# the GPU from the same initial weights, and each checkpoint evaluated on the
# other device too (so training and evaluation differences are told apart).
#
#   tools/devices_spread.sh BUILD_DIR DATA_DIR [SEED...]   (default seeds 1 2 3 4)
#
# Prints one line per seed: accuracy of each run on both devices.
set -euo pipefail
exe=$1/resnet-train data=$2
shift 2
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
acc() { sed -n 's/^ *"accuracy": *\([0-9.]*\).*/\1/p; s/^ Accuracy:\([0-9.]*\)%.*/\1/p' "$1" | head -n 1; }
printf '%-5s %-28s %-28s %s\n' seed "trained on cpu (eval cpu/gpu)" "trained on gpu (eval cpu/gpu)" "gpu - cpu"
for seed in "${seeds[@]}"; do
    for dev in cpu cuda; do
        "$exe" --device $dev --epochs 1 --seed "$seed" --data "$data" --no-download \
            --save "$tmp/$dev-$seed.safetensors" > "$tmp/train-$dev-$seed.log" 2>&1 \
            || { tail -n 3 "$tmp/train-$dev-$seed.log"; exit 1; }
        for ev in cpu cuda; do
            "$exe" evaluate "$tmp/$dev-$seed.safetensors" --device $ev --data "$data" \
                --no-download > "$tmp/eval-$dev-$seed-$ev.log" 2>&1 \
                || { tail -n 3 "$tmp/eval-$dev-$seed-$ev.log"; exit 1; }
        done
    done
    c=$(acc "$tmp/train-cpu-$seed.log") g=$(acc "$tmp/train-cuda-$seed.log")
    printf '%-5s %-28s %-28s %s\n' "$seed" \
        "$c ($(acc "$tmp/eval-cpu-$seed-cpu.log")/$(acc "$tmp/eval-cpu-$seed-cuda.log"))" \
        "$g ($(acc "$tmp/eval-cuda-$seed-cpu.log")/$(acc "$tmp/eval-cuda-$seed-cuda.log"))" \
        "$(awk -v a="$g" -v b="$c" 'BEGIN { printf "%+.2f", a - b }')"
done
