#!/bin/sh
# End to end: one epoch of the seed's recipe on the real MNIST files, through
# the command line. Checks the seed's log format line by line and the test
# accuracy. Usage: test_train_epoch.sh RESNET_TRAIN DEVICE MIN_ACCURACY [extra options]
set -u
exe=$1 device=$2 min_acc=$3
shift 3
data=${RESNET_TRAIN_DATA:-}
if [ -z "$data" ]; then
    echo "skipped: RESNET_TRAIN_DATA is not set (no MNIST files)"
    exit 77
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! "$exe" --device "$device" --epochs 1 --no-download --data "$data" "$@" >"$log" 2>&1; then
    status=$?
    cat "$log"
    if grep -q "no CUDA\|CUDA backend\|--device cuda" "$log" && [ "$device" = cuda ]; then
        echo "skipped: no usable GPU"
        exit 77
    fi
    echo "FAIL: resnet-train exited with $status"
    exit 1
fi
cat "$log"
fail=0
expect() { # LINE_NUMBER REGEX WHAT
    line=$(sed -n "$1p" "$log")
    if ! printf '%s\n' "$line" | grep -Eq "$2"; then
        echo "FAIL: line $1 should be $3, got: $line"
        fail=1
    fi
}
expect 1 '^60000$' "the training set size"
expect 2 '^10000$' "the test set size"
expect 3 "^Using $device device" "'Using $device device'"
expect 4 '^epoch1$' "the epoch header"
expect 5 '^-{20}$' "the rule under it"
n=6
for k in 100 200 300 400 500 600 700 800 900; do
    # the seed's f'loss:{loss:7f}  [number:{k}]'
    expect $n "^loss:[0-9]+\.[0-9]{6}  \[number:$k\]$" "the loss line of step $k"
    n=$((n + 1))
done
expect $n '^epoch_time_s:[0-9.]+ train_images_per_s:[0-9.]+$' "the epoch time"
expect $((n + 1)) '^Done!$' "Done!"
expect $((n + 2)) '^Test result: $' "'Test result: '"
expect $((n + 3)) '^ Accuracy:[0-9.]+%,Avg loss:[0-9.e-]+$' "the accuracy line"
lines=$(wc -l <"$log")
[ "$lines" -eq $((n + 3)) ] || { echo "FAIL: $lines lines, expected $((n + 3))"; fail=1; }
acc=$(sed -n 's/^ Accuracy:\([0-9.]*\)%.*/\1/p' "$log")
if ! awk -v a="$acc" -v m="$min_acc" 'BEGIN { exit !(a + 0 >= m + 0) }'; then
    echo "FAIL: test accuracy $acc% is below $min_acc%"
    fail=1
fi
[ $fail -eq 0 ] && echo "ok: one epoch on $device, accuracy $acc%"
exit $fail
