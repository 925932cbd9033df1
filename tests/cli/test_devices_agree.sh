#!/bin/sh
# One epoch of the seed recipe from PyTorch's initial weights on the CPU and
# on the GPU ends within 0.3 percentage points of test accuracy of each
# other. Skips (77) without a usable GPU.
# Usage: test_devices_agree.sh RESNET_TRAIN INIT_WEIGHTS
set -u
exe=$1 init=$2
data=${RESNET_TRAIN_DATA:-}
[ -n "$data" ] || { echo "skipped: RESNET_TRAIN_DATA is not set"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for device in cuda cpu; do
    if ! "$exe" --device $device --epochs 1 --init "$init" --data "$data" --no-download \
        >"$tmp/$device.log" 2>&1; then
        cat "$tmp/$device.log"
        [ $device = cuda ] && grep -q -- "--device cuda:" "$tmp/$device.log" &&
            { echo "skipped: no usable GPU"; exit 77; }
        echo "FAIL: the $device run failed"; exit 1
    fi
    tail -2 "$tmp/$device.log"
done
gpu=$(sed -n 's/^ Accuracy:\([0-9.]*\)%.*/\1/p' "$tmp/cuda.log")
cpu=$(sed -n 's/^ Accuracy:\([0-9.]*\)%.*/\1/p' "$tmp/cpu.log")
if awk -v a="$gpu" -v b="$cpu" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= 0.3) }'; then
    echo "ok: GPU $gpu% and CPU $cpu% agree within 0.3 points"
else
    echo "FAIL: GPU $gpu% and CPU $cpu% differ by more than 0.3 points"; exit 1
fi
