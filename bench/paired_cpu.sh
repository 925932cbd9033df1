#!/usr/bin/env bash
# resnet-train against the tuned PyTorch baseline in alternating pairs, so
# that the load of a shared machine falls on both alike: each pair runs ours
# then PyTorch, one timed run of --max-steps steps each, and the ratio of the
# pair is printed; at the end the median ratio. CPU training throughput at
# one batch size (the seed recipe's 64 by default).
#
#   bench/paired_cpu.sh [PAIRS] [BATCH] [THREADS]     (default 6 64 2)
#
# BUILD (default build), RESNET_TRAIN_DATA (default ../shared/data/mnist).
set -euo pipefail
cd "$(dirname "$0")/.."
pairs=${1:-6} batch=${2:-64} threads=${3:-2}
build=${BUILD:-build}
data=${RESNET_TRAIN_DATA:-../shared/data/mnist}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
common=(--device cpu --threads "$threads" --batch-size "$batch" --max-steps 300 --warmup-steps 10
        --repeats 1 --data "$data")
value() { python3 -c 'import json,sys
for l in sys.stdin:
    l = l.strip()
    if l.startswith("{"):
        r = json.loads(l)
        if r.get("metric") == "train_images_per_s": print(r["value"]); break'; }
echo "batch $batch, $threads threads, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, $(date -u '+%Y-%m-%d %H:%M UTC')"
ratios=()
for i in $(seq "$pairs"); do
    ours=$("$build/bench/bench_train" "${common[@]}" 2>/dev/null | value)
    peer=$(python3 bench/pytorch_baseline.py "${common[@]}" 2>/dev/null | value)
    r=$(python3 -c "print(f'{$ours / $peer:.2f}')")
    ratios+=("$r")
    echo "pair $i: resnet-train $ours images/s, pytorch-tuned $peer images/s, ratio ${r}x"
done
printf '%s\n' "${ratios[@]}" | sort -n | python3 -c 'import sys, statistics
v = [float(x) for x in sys.stdin]
print(f"median ratio {statistics.median(v):.2f}x (min {min(v):.2f}x, max {max(v):.2f}x) over {len(v)} pairs")'
