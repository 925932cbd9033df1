#!/usr/bin/env bash
# Data-parallel on the CPU: 1 rank with every core against N ranks with
# cores/N threads each, the same global batch, side by side in one run: the
# tutorial's network (the whole training set, one epoch) and resnet20 (the
# first IMAGES20 images). Prints each run's epoch line (images/s and, for
# several ranks, the seconds in the gradient all-reduce) and the ratio.
# Writes bench/results/cpu-distributed/<date>.txt.
#   bench/distributed_cpu.sh [RANKS] [IMAGES20]   (needs build/ with MPI, mpirun,
#   the MNIST files in $RESNET_TRAIN_DATA or ../shared/data/mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
ranks=${1:-2} images20=${2:-3200}
cores=$(nproc)
export RESNET_TRAIN_DATA=${RESNET_TRAIN_DATA:-$(cd .. && pwd)/shared/data/mnist}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=bench/results/cpu-distributed
mkdir -p "$out"
log=$out/$(date -u +%Y-%m-%d).txt
epoch_line() { grep "^epoch_time_s" "$1" | tail -1; }
rate() { sed 's/.*train_images_per_s:\([0-9.]*\).*/\1/' <<<"$1"; }
{
    echo "# $(date -u) $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(mpirun --version | head -1)"
    for net in seed resnet20 resnet20-sync-bn; do
        run=(--device cpu --no-download --epochs 1 --test-limit 1000)
        [ "$net" != seed ] && run+=(--model resnet20 --train-limit "$images20")
        [ "$net" = resnet20-sync-bn ] && run+=(--sync-bn)
        OMP_NUM_THREADS=$cores ./build/resnet-train "${run[@]}" >/tmp/dist-bench-1.log 2>&1
        OMP_NUM_THREADS=$(( cores / ranks > 0 ? cores / ranks : 1 )) \
            mpirun --oversubscribe -np "$ranks" ./build/resnet-train "${run[@]}" >/tmp/dist-bench-n.log 2>&1
        one=$(epoch_line /tmp/dist-bench-1.log) many=$(epoch_line /tmp/dist-bench-n.log)
        echo "$net, 1 rank x $cores threads:   $one"
        echo "$net, $ranks ranks x $(( cores / ranks )) threads: $many"
        echo "$net: $ranks ranks / 1 rank = $(awk -v a="$(rate "$many")" -v b="$(rate "$one")" 'BEGIN { printf "%.2f", a / b }')"
        grep "Accuracy" /tmp/dist-bench-1.log /tmp/dist-bench-n.log | sed 's|/tmp/dist-bench-||'
    done
} 2>&1 | tee "$log"
