#!/usr/bin/env bash
# Runs resnet-train under valgrind's memcheck: a short real training run
# (1 epoch, 256 training and 256 test images, saving a checkpoint), evaluate and predict on that
# checkpoint, the same for a small BatchNorm ResNet from docs/examples, and two failing runs (a corrupt checkpoint, a corrupt label
# file) so the error paths are checked for leaks too. Any memcheck error or
# a definite/indirect leak fails (exit 1).
#
#   tools/valgrind_check.sh            (BUILD_DIR, default build-vg)
#
# The build has no -march=native (valgrind cannot run AVX-512) and no CUDA.
# Suppressions: tools/valgrind.supp (libgomp's thread pool only; see there).
# The MNIST files: $RESNET_TRAIN_DATA, else ../shared/data/mnist, else data/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
build=${BUILD_DIR:-build-vg}
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)"; exit 77; }
data=$(sh tests/find_mnist.sh "$PWD")
[ -n "$data" ] || { echo "skipped: no MNIST files (set RESNET_TRAIN_DATA)"; exit 77; }
if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" -Dnative=false -Dgpu=disabled -Dbuildtype=debugoptimized || exit 1
fi
meson compile -C "$build" || exit 1
exe=$build/resnet-train
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

vg=(valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --track-origins=yes
    --suppressions=tools/valgrind.supp --num-callers=30)
fail=0
# NAME EXPECTED_STATUS ARGS...: the run must exit EXPECTED_STATUS; memcheck's
# own failure is status 99.
check() {
    local name=$1 want=$2
    shift 2
    local log=$tmp/$name.log
    local start=$SECONDS
    "${vg[@]}" --log-file="$log" "$exe" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
    local got=$?
    local summary errors
    summary=$(grep -E 'definitely lost|indirectly lost|possibly lost|still reachable' "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ';')
    errors=$(grep -E 'ERROR SUMMARY' "$log" | sed 's/^==[0-9]*== *//')
    if [ "$got" -eq "$want" ]; then
        echo "ok   $name: exit $got in $((SECONDS - start)) s; $errors; $summary"
    else
        echo "FAIL $name: exit $got (expected $want) in $((SECONDS - start)) s; $errors; $summary"
        [ "$got" -eq 99 ] && sed -n '/^==[0-9]*== [A-Z].*\(Invalid\|uninitialised\|lost in loss\|Mismatched\|overlap\|Syscall\)/,/^==[0-9]*== $/p' "$log" | head -80
        tail -5 "$tmp/$name.err"
        fail=1
    fi
}

# --test-limit: the whole test set is 40 times the 256 training images and
# would take most of the time under memcheck for nothing new
check train 0 --device cpu --threads 2 --epochs 1 --train-limit 256 --test-limit 256 \
    --data "$data" --no-download --save "$tmp/ck.safetensors"
check evaluate 0 evaluate "$tmp/ck.safetensors" --device cpu --threads 2 --test-limit 256 \
    --data "$data" --no-download
printf 'P2\n5 5\n255\n0 0 0 0 0\n0 0 255 0 0\n0 0 255 0 0\n0 0 255 0 0\n0 0 0 0 0\n' >"$tmp/one.pgm"
check predict 0 predict "$tmp/ck.safetensors" "$tmp/one.pgm" --device cpu --json
# a network from a description: BatchNorm, strided convolutions, shortcut sums,
# average pooling, and the checkpoint's second format, saved and evaluated
check train-small-resnet 0 --device cpu --threads 2 --epochs 1 --train-limit 128 --test-limit 128 \
    --model docs/examples/small_resnet.json --data "$data" --no-download --save "$tmp/sr.safetensors"
check evaluate-small-resnet 0 evaluate "$tmp/sr.safetensors" --device cpu --threads 2 \
    --test-limit 128 --data "$data" --no-download
head -c 100000 "$tmp/ck.safetensors" >"$tmp/cut.safetensors"
check bad-checkpoint 1 evaluate "$tmp/cut.safetensors" --device cpu --data "$data" --no-download
mkdir "$tmp/data"
for f in "$data"/*-ubyte* "$data"/MNIST/raw/*-ubyte*; do [ -e "$f" ] && ln -s "$f" "$tmp/data/"; done
rm -f "$tmp/data"/t10k-labels-idx1-ubyte*
printf '\0\0\10\1\0\0\47\20' >"$tmp/data/t10k-labels-idx1-ubyte" # 10000 labels, none there
check bad-data 1 --device cpu --threads 2 --epochs 1 --train-limit 64 --data "$tmp/data" --no-download
[ $fail -eq 0 ] && echo "valgrind: all runs clean" || echo "valgrind: FAILED"
exit $fail
