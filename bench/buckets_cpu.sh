#!/usr/bin/env bash
# How much the gradient buckets (--bucket-mb) hide on the CPU: 2 ranks of
# one thread each, the same runs with one sum after backward (--bucket-mb 0)
# and with buckets of 25 (DDP's default), 4 and 1 MB, side by side in one
# run: resnet18 (44.7 MB of gradients) and resnet50 (94 MB), batches of 32,
# IMAGES images, SGD. all_reduce_s is what the sums held the ranks (with
# buckets: in the tests after each backward op and the wait at the end).
# Writes bench/results/cpu-distributed/buckets-<date>.txt.
#   bench/buckets_cpu.sh [IMAGES]   (needs build/ with MPI, mpirun, the MNIST
#   files in $RESNET_TRAIN_DATA or ../shared/data/mnist)
set -euo pipefail
cd "$(dirname "$0")/.."
images=${1:-256}
export RESNET_TRAIN_DATA=${RESNET_TRAIN_DATA:-$(cd .. && pwd)/shared/data/mnist}
cores=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
out=bench/results/cpu-distributed
mkdir -p "$out"
log=$out/buckets-$(date -u +%Y-%m-%d).txt
{
    echo "# $(date -u) $cores cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2), $(mpirun --version | head -1)"
    echo "# network bucket_mb buckets epoch_time_s images_per_s all_reduce_s"
    for net in resnet18 resnet50; do
        for mb in 0 25 4 1; do
            mpirun --oversubscribe -np 2 ./build/resnet-train --device cpu --no-download --threads 1 \
                --model $net --epochs 1 --train-limit "$images" --test-limit 100 --batch-size 32 \
                --optimizer sgd --lr 0.01 --bucket-mb $mb >/tmp/buckets-bench.log 2>&1
            buckets=$(sed -n 's/.*MPI in \([0-9]*\) bucket.*/\1/p' /tmp/buckets-bench.log)
            line=$(grep "^epoch_time_s" /tmp/buckets-bench.log | tail -1)
            echo "$net $mb ${buckets:-0} $(sed 's/epoch_time_s:\([0-9.]*\) train_images_per_s:\([0-9.]*\) all_reduce_s:\([0-9.]*\).*/\1 \2 \3/' <<<"$line")"
        done
    done
} | tee "$log"
