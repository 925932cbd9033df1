#!/usr/bin/env bash
# An image folder's loader against training: resnet-train decodes the folder
# once, on every core, into memory ("Decoded N images ... images/s"), and
# from then on its random resized crops, flips and normalisation run inside
# the batch load on the device; beside that, the epoch's training images/s,
# and torchvision's ImageFolder DataLoader (bench/folder_torch.py), which
# decodes and transforms every image again in every epoch. The folder is
# bench/make_folder.py's synthetic one (10 classes, 3000 + 500 JPEGs of
# 240-480 pixels a side) unless DIR already holds one. Writes
# bench/results/cpu-folder/<date>.txt.
#   bench/folder_loader.sh [DIR] [EPOCHS] [THREADS]   (needs build/; torch,
#   torchvision and Pillow for the folder and the peer)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-/tmp/resnet-train-folder} epochs=${2:-2} threads=${3:-2}
[ -d "$dir/train" ] || python3 bench/make_folder.py "$dir"
out=bench/results/cpu-folder
mkdir -p "$out"
log=$out/$(date -u +%Y-%m-%d).txt
{
    echo "# $(date -u) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"
    echo "# $(find "$dir/train" -type f | wc -l) training and $(find "$dir/val" -type f | wc -l) validation JPEGs, $(du -sh "$dir" | cut -f1)"
    cmd=(./build/resnet-train --device cpu --threads "$threads" --dataset folder --data "$dir"
         --image-size 64 --model resnet20 --recipe small-onecycle --crop-pad 0
         --random-resized-crop --epochs "$epochs" --eval-every 1)
    echo "# ${cmd[*]}"
    "${cmd[@]}"
    echo "# python3 bench/folder_torch.py $dir --image-size 64 --workers $threads"
    python3 bench/folder_torch.py "$dir" --image-size 64 --workers "$threads"
} 2>&1 | tee "$log"
