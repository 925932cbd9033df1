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
# the networks: the list, one description, and --model's errors
run 0 "" models
grep -q "^resnet50 *23522250 " "$tmp/out" || { echo "FAIL: models does not list resnet50 with 23522250 parameters"; cat "$tmp/out"; fail=1; }
grep -q "^seed *42790 " "$tmp/out" || { echo "FAIL: models does not list the seed's 42790 parameters"; fail=1; }
run 0 "" models --input 3x224x224 --classes 1000
grep -q "^resnet18 *11689512 " "$tmp/out" || { echo "FAIL: models --input 3x224x224 --classes 1000: resnet18 is not torchvision's 11689512"; fail=1; }
run 0 "" models resnet20
grep -q '"name": "layer3.2", "type": "basic_block", "planes": 64' "$tmp/out" || { echo "FAIL: models resnet20 does not print its description"; fail=1; }
"$exe" models resnet20 >"$tmp/r20.json" && "$exe" models "$tmp/r20.json" >"$tmp/r20b.json" && cmp -s "$tmp/r20.json" "$tmp/r20b.json" ||
    { echo "FAIL: a printed description does not read back as itself"; fail=1; }
run 2 "--model: unknown network 'bogus'" --model bogus --data "$tmp/nowhere" --no-download
run 2 "--model: the name is empty" --model ""
run 2 "--epochs is not an option of 'models'" models --epochs 3
run 2 "--input: '3x224' is not CxHxW" models --input 3x224
run 2 "--input is not an option of 'train'" --input 3x32x32
run 2 "models shows one network, not 'b'" models a b
# missing data with downloads off names the file and the folders
run 1 "train-images-idx3-ubyte" --device cpu --data "$tmp/nowhere" --no-download
exit $fail
