#!/usr/bin/env bash
# The one command for the GPU machine: build the CUDA backend for sm_90,
# run every test suite, run the GPU parity tests under compute-sanitizer
# (memcheck), run the GPU benchmark when there is one, and leave everything
# in a results folder.
#
#   tools/gpu_check.sh [RESULTS_DIR]      (default: ./gpu-results)
#
# Run from anywhere; it works in the repository holding this script.
# Environment: CUDNN_DIR (a folder with include/cudnn.h and lib/) overrides
# the cuDNN search; GPU_ARCHS (default 9.0) the architectures built;
# RESNET_TRAIN_DATA the MNIST folder (default: .data/mnist of the checkout
# when present, since ../shared does not travel to the GPU machine).
#
# GPU_CHECK_MODE=quick runs only the GPU and parity test suites, the
# sanitizer runs, and a short benchmark (ours at 64/256/1024 plus the peers at
# batch 64), for a first look; the default (full) runs everything.
# BENCH_ARGS adds options to bench/run_bench.py.
#
# Exit status: 0 when the build, every test and the sanitizer runs passed.
set -euo pipefail
mode=${GPU_CHECK_MODE:-full}

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results=${1:-./gpu-results}
mkdir -p "$results"
results=$(cd "$results" && pwd)
cd "$repo"
summary="$results/summary.txt"
: > "$summary"
failed=0

say() { printf '%s\n' "$*" | tee -a "$summary"; }
section() { say ""; say "== $* =="; }
start=$(date +%s)

section "machine"
say "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
say "commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$repo" diff --quiet 2>/dev/null || echo ' (with local changes)')"
if command -v nvidia-smi > /dev/null; then
    nvidia-smi -L 2>&1 | tee -a "$summary" || true
    nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap --format=csv 2>&1 \
        | tee -a "$summary" || true
    nvidia-smi > "$results/nvidia-smi.txt" 2>&1 || true
else
    say "nvidia-smi: not found"
fi

# nvcc: on PATH, else the usual toolkit folder
if ! command -v nvcc > /dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then
    export PATH=/usr/local/cuda/bin:$PATH
fi
if ! command -v nvcc > /dev/null; then
    say "nvcc: not found (put the CUDA toolkit's bin folder on PATH)"
    exit 1
fi
say "nvcc: $(command -v nvcc), $(nvcc --version | grep -o 'release [0-9.]*' || true)"
cuda_root=$(cd "$(dirname "$(command -v nvcc)")/.." && pwd)

# cuDNN: $CUDNN_DIR, the toolkit, else the nvidia-cudnn Python package
cudnn_dir=${CUDNN_DIR:-}
if [ -z "$cudnn_dir" ] && [ -f "$cuda_root/include/cudnn.h" ] \
    && ls "$cuda_root"/lib*/libcudnn.so* > /dev/null 2>&1; then
    cudnn_dir=$cuda_root
fi
if [ -z "$cudnn_dir" ] && command -v python3 > /dev/null; then
    cudnn_dir=$(python3 - << 'EOF' || true
import os, site, sys, sysconfig
paths = []
try:
    paths += site.getsitepackages()
except AttributeError:
    pass
paths += [sysconfig.get_paths().get("purelib"), sysconfig.get_paths().get("platlib")] + sys.path
for p in paths:
    d = os.path.join(p or "", "nvidia", "cudnn")
    if p and os.path.isfile(os.path.join(d, "include", "cudnn.h")):
        print(d)
        break
EOF
)
fi
if [ -z "$cudnn_dir" ]; then
    say "cuDNN: not found (set CUDNN_DIR)"
    exit 1
fi
cudnn_version=$(awk '/#define CUDNN_(MAJOR|MINOR|PATCHLEVEL) /{printf "%s%s", sep, $3; sep="."}' \
    "$cudnn_dir/include/cudnn_version.h" 2>/dev/null || true)
say "cuDNN: $cudnn_dir (${cudnn_version:-version unknown})"
for lib in "$cudnn_dir/lib" "$cudnn_dir/lib64"; do
    # the library we compile against is the one loaded, whatever else the
    # toolkit's folder holds
    if [ -d "$lib" ]; then
        export LD_LIBRARY_PATH="$lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    fi
done

if [ -z "${RESNET_TRAIN_DATA:-}" ] && [ -d "$repo/.data/mnist" ]; then
    export RESNET_TRAIN_DATA=$repo/.data/mnist
fi
say "MNIST: ${RESNET_TRAIN_DATA:-not given (the build looks in ../shared/data/mnist; tests without data skip)}"

section "build"
build="build-gpu"
opts=(-Dgpu=enabled "-Dgpu_archs=${GPU_ARCHS:-9.0}" "-Dcudnn_dir=$cudnn_dir" -Dbuildtype=release)
if [ -f "$build/build.ninja" ]; then
    meson setup --reconfigure "$build" "${opts[@]}" > "$results/setup.log" 2>&1 \
        || meson setup --wipe "$build" "${opts[@]}" > "$results/setup.log" 2>&1
else
    meson setup "$build" "${opts[@]}" > "$results/setup.log" 2>&1
fi || { say "meson setup failed:"; tail -n 40 "$results/setup.log" | tee -a "$summary"; exit 1; }
if ! meson compile -C "$build" > "$results/build.log" 2>&1; then
    say "build failed:"
    grep -E 'error|Error' "$results/build.log" | head -n 40 | tee -a "$summary" || true
    tail -n 40 "$results/build.log"
    exit 1
fi
say "build ok ($(grep -c -E 'warning' "$results/build.log" || true) warning lines, see build.log)"

suites=()
if [ "$mode" = quick ]; then
    suites=(--suite gpu --suite parity)
fi
section "tests (meson test ${suites[*]:-, all suites})"
if meson test -C "$build" "${suites[@]}" --print-errorlogs > "$results/test.log" 2>&1; then
    say "all tests passed"
else
    failed=1
    say "TESTS FAILED"
    cat "$results/test.log"
fi
cp "$build/meson-logs/testlog.txt" "$results/testlog.txt" 2>/dev/null || true
grep -E '^ *[0-9]+/[0-9]+ |^(Ok|Fail|Skipped|Timeout|Expected Fail|Unexpected Pass): ' \
    "$results/test.log" | tee -a "$summary" || true

if [ "$mode" = full ]; then
section "training steps and parity with timed algorithm choice (--cudnn-benchmark)"
# the default takes cuDNN's heuristic ranking; RESNET_CUDNN_ALGO=find times
# every algorithm instead: the other code path, checked once here
for t in gpu/test_gpu_step parity/test_pytorch_parity; do
    name=$(basename "$t")
    args=()
    [ "$name" = test_pytorch_parity ] && args=("$repo/tests/fixtures/pytorch_seed.safetensors" cuda)
    if RESNET_CUDNN_ALGO=find timeout 120 "$build/tests/$t" "${args[@]}" \
        > "$results/$name-find.log" 2>&1; then
        say "$name (find): passed"
    else
        rc=$?
        failed=1
        say "$name (find): FAILED (exit $rc)"
        grep -E 'check failed|skipped' "$results/$name-find.log" | head -n 20 \
            | tee -a "$summary" || true
    fi
done

fi  # full mode

section "compute-sanitizer memcheck (GPU parity tests, BatchNorm and pooling, trainers one after another)"
sanitizer=$(command -v compute-sanitizer || echo "$cuda_root/bin/compute-sanitizer")
if [ -x "$sanitizer" ]; then
    for t in parity/test_pytorch_parity model/test_family_parity gpu/test_gpu_layers \
        gpu/test_gpu_trainers; do
        name=$(basename "$t")
        log="$results/sanitizer-$name.log"
        args=()
        [ "$name" = test_pytorch_parity ] && args=("$repo/tests/fixtures/pytorch_seed.safetensors" cuda)
        [ "$name" = test_family_parity ] && args=("$repo/tests/fixtures/family_resnet20.safetensors" cuda)
        if timeout 150 "$sanitizer" \
            --tool memcheck --error-exitcode=1 "$build/tests/$t" "${args[@]}" > "$log" 2>&1; then
            say "$name: clean ($(grep -m1 'ERROR SUMMARY' "$log" || echo 'no summary line'))"
        else
            rc=$?
            failed=1
            if [ "$rc" -eq 77 ]; then
                say "$name: SKIPPED (exit 77): no usable GPU, see $log"
            else
                say "$name: FAILED under memcheck (exit $rc)"
            fi
            grep -E 'ERROR SUMMARY|Invalid|check failed|=========' "$log" | head -n 40 \
                | tee -a "$summary" || true
        fi
    done
else
    say "compute-sanitizer: not found"
    failed=1
fi

section "benchmark"
# resnet-train beside the PyTorch peers on this GPU (bench/run_bench.py)
bench_args=(--devices cuda --threads "$(nproc)" --out "$results/bench" --build "$build")
if [ -f "$repo/.data/seed_resnet_mnist.py" ]; then
    bench_args+=(--seed-program "$repo/.data/seed_resnet_mnist.py")
fi
if [ "$mode" = quick ]; then
    bench_args+=(--no-curve --repeats 1 --max-steps 0 --peer-max-steps 200 --warmup-steps 5)
else
    bench_args+=(--repeats 3 --max-steps 0 --peer-max-steps 200 --peer-curve-epochs 12)
fi
# shellcheck disable=SC2206
bench_args+=(${BENCH_ARGS:-})
if timeout "${BENCH_TIMEOUT:-300}" python3 "$repo/bench/run_bench.py" "${bench_args[@]}" \
    > "$results/bench.log" 2>&1; then
    say "benchmark: done"
else
    failed=1
    say "benchmark: FAILED"
    tail -n 30 "$results/bench.log" | tee -a "$summary"
fi
if [ -f "$results/bench/results.md" ]; then
    cat "$results/bench/results.md" >> "$summary"
fi

section "family benchmark (resnet20, resnet18-cifar at batch 128, resnet50 at batch 32)"
# ours beside PyTorch eager and torch.compile (cudnn.benchmark, channels_last)
family_args=(--devices cuda --threads "$(nproc)" --out "$results/family" --build "$build")
if [ "$mode" = quick ]; then
    family_args+=(--repeats 1 --rounds 1)
else
    family_args+=(--repeats 3 --rounds 2)
fi
if timeout "${FAMILY_TIMEOUT:-400}" python3 "$repo/bench/family_bench.py" "${family_args[@]}" \
    > "$results/family.log" 2>&1; then
    say "family benchmark: done"
else
    failed=1
    say "family benchmark: FAILED"
    tail -n 30 "$results/family.log" | tee -a "$summary"
fi
if [ -f "$results/family/results.md" ]; then
    cat "$results/family/results.md" >> "$summary"
fi

section "result"
say "elapsed: $(( $(date +%s) - start )) s"
if [ "$failed" -eq 0 ]; then
    say "GPU CHECK PASSED"
else
    say "GPU CHECK FAILED"
fi
say "results in $results"
exit "$failed"
