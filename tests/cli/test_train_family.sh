#!/bin/sh
# End to end for a network of the family: a short training run through the
# command line (--model NAME, the tutorial's recipe otherwise) reaches a
# test accuracy, prints its "Model:" line, saves a checkpoint that records
# its network (evaluate needs no --model and reports the same result; a
# conflicting --model is one line, exit 2), and predict reads it.
# Usage: test_train_family.sh RESNET_TRAIN DEVICE MODEL MIN_ACCURACY TRAIN_LIMIT TEST_LIMIT
set -u
exe=$1 device=$2 model=$3 min_acc=$4 train_limit=$5 test_limit=$6
data=${RESNET_TRAIN_DATA:-}
[ -n "$data" ] || { echo "skipped: RESNET_TRAIN_DATA is not set (no MNIST files)"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common="--device $device --no-download --data $data --test-limit $test_limit"
# shellcheck disable=SC2086
if ! "$exe" $common --model "$model" --epochs 1 --train-limit "$train_limit" \
    --save "$tmp/ck.safetensors" >"$tmp/log" 2>&1; then
    cat "$tmp/log"
    if grep -q "no CUDA\|CUDA backend\|--device cuda" "$tmp/log" && [ "$device" = cuda ]; then
        echo "skipped: no usable GPU"; exit 77
    fi
    echo "FAIL: training exited non-zero"; exit 1
fi
cat "$tmp/log"
fail=0
grep -q "^Model: " "$tmp/log" || { echo "FAIL: no Model: line"; fail=1; }
acc=$(sed -n 's/^ Accuracy:\([0-9.]*\)%.*/\1/p' "$tmp/log")
if [ -z "$acc" ] || ! awk -v a="$acc" -v m="$min_acc" 'BEGIN { exit !(a >= m) }'; then
    echo "FAIL: accuracy ${acc:-none} below $min_acc"; fail=1
else
    echo "ok: accuracy $acc >= $min_acc"
fi
# shellcheck disable=SC2086
evaluate=$("$exe" evaluate "$tmp/ck.safetensors" $common 2>&1 | tail -1)
if [ "$evaluate" != "$(tail -1 "$tmp/log")" ]; then
    echo "FAIL: evaluate without --model: '$evaluate', training ended with '$(tail -1 "$tmp/log")'"; fail=1
else
    echo "ok: evaluate without --model agrees: $evaluate"
fi
# shellcheck disable=SC2086
"$exe" evaluate "$tmp/ck.safetensors" --model seed $common >"$tmp/out" 2>"$tmp/err"
status=$?
if [ $status -ne 2 ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q "not the 'seed' of --model" "$tmp/err"; then
    echo "FAIL: evaluate --model seed of another network: exit $status, $(cat "$tmp/err")"; fail=1
else
    echo "ok: a conflicting --model: $(cat "$tmp/err")"
fi
digits=$(dirname "$0")/../fixtures/digits
if "$exe" predict "$tmp/ck.safetensors" "$digits"/*.pgm --device "$device" >"$tmp/predict" 2>&1; then
    echo "ok: predict reads the checkpoint: $(head -1 "$tmp/predict")"
else
    echo "FAIL: predict on the checkpoint:"; cat "$tmp/predict"; fail=1
fi
exit $fail
