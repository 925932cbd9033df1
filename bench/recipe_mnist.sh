#!/usr/bin/env bash
# Accuracy and time to accuracy of a recipe on the real MNIST files:
# resnet-train's `--recipe small-onecycle --no-flip --crop-pad 2` with
# resnet20, and the same recipe in PyTorch (bench/recipe_torch.py) on the
# same machine and thread count, one after the other. Writes
# bench/results/cpu-recipe/<date>.txt.
#   bench/recipe_mnist.sh [EPOCHS] [THREADS]   (needs build/, torch for the peer)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-6} threads=${2:-2}
data=${RESNET_TRAIN_DATA:-../shared/data/mnist}
out=bench/results/cpu-recipe
mkdir -p "$out"
log=$out/$(date -u +%Y-%m-%d).txt
{
    echo "# $(date -u) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
    echo "# resnet-train --model resnet20 --recipe small-onecycle --no-flip --crop-pad 2 --epochs $epochs --eval-every 1 --threads $threads"
    ./build/resnet-train --device cpu --threads "$threads" --data "$data" --no-download \
        --model resnet20 --recipe small-onecycle --no-flip --crop-pad 2 --epochs "$epochs" \
        --eval-every 1
    echo "# python3 bench/recipe_torch.py --model resnet20 --epochs $epochs --threads $threads"
    python3 bench/recipe_torch.py --data "$data" --model resnet20 --epochs "$epochs" \
        --threads "$threads"
} 2>&1 | tee "$log"
