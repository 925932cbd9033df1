#!/bin/sh
# The command line's contract: --help and --version succeed; every usage
# error exits 2 with one line on stderr naming the option; --device cuda
# without a CUDA build or GPU exits 2 saying why.
set -u
exe=$1
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run() { # EXPECTED_STATUS STDERR_PATTERN ARGS...
    want=$1 pattern=$2
    shift 2
    "$exe" "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: resnet-train $* exited $got, expected $want"; cat "$tmp/err"; fail=1; return
    fi
    if [ -n "$pattern" ]; then
        if [ "$(wc -l <"$tmp/err")" -ne 1 ] || ! grep -q -- "$pattern" "$tmp/err"; then
            echo "FAIL: resnet-train $*: expected one line matching '$pattern' on stderr, got:"
            cat "$tmp/err"; fail=1; return
        fi
    fi
    echo "ok: $* -> $got $(cat "$tmp/err")"
}

run 0 "" --help
grep -q -- "--batch-size" "$tmp/out" || { echo "FAIL: --help does not list --batch-size"; fail=1; }
run 0 "" --version
grep -q "^resnet-train " "$tmp/out" || { echo "FAIL: --version prints no version"; fail=1; }
run 2 "unknown option '--bogus'" --bogus
run 2 "--epochs needs a value" --epochs
run 2 "--epochs: 'abc' is not an integer" --epochs abc
run 2 "--epochs: -1 is out of range" --epochs -1
run 2 "--batch-size: 0 is out of range" --batch-size 0
run 2 "--batch-size: '12x' is not an integer" --batch-size 12x
run 2 "--lr: 'nan' is not a finite number" --lr nan
run 2 "--lr: 'inf' is not a finite number" --lr inf
run 2 "--lr: -0.1 is out of range" --lr -0.1
run 2 "--threads: 0 is out of range" --threads 0
run 2 "--device: unknown device 'tpu'" --device tpu
run 2 "--precision: 'fp16' is not fp32 or tf32" --precision fp16
run 2 "--seed: '-3' is not a non-negative integer" --seed -3
run 2 "--lr-gamma: '' is not a number" --lr-gamma ""
run 2 "--eval-every: 'x' is not an integer" --eval-every x
# no GPU here (or no CUDA build): a clear refusal, before any data is read
if ! "$exe" --version | grep -q "CUDA backend: built" || ! command -v nvidia-smi >/dev/null 2>&1; then
    run 2 "--device cuda:" --device cuda --data "$tmp/nowhere" --no-download
fi
# missing data with downloads off names the file and the folders
run 1 "train-images-idx3-ubyte" --device cpu --data "$tmp/nowhere" --no-download
exit $fail
