#!/usr/bin/env bash
# Runs each libFuzzer harness for a bounded time and reports its executions.
#
#   fuzz/run_fuzz.sh SECONDS [TARGET...]     (targets: idx safetensors checkpoint image json
#                                             network cifar jpeg)
#
# Needs a fuzz build (FUZZ_BUILD, default build-fuzz):
#   CC=clang meson setup build-fuzz -Dfuzz=true -Dnative=false -Dgpu=disabled
#   meson compile -C build-fuzz
# Seeds come from fuzz/corpus/TARGET (read only); what the fuzzer learns goes
# to FUZZ_BUILD/fuzz-corpus/TARGET, kept between runs. An input that crashes
# (or leaks, times out, runs out of memory) is copied to
# fuzz/regressions/TARGET/, where the 'fuzz-regressions' meson test replays
# it from then on, and the script exits 1. Logs: FUZZ_BUILD/fuzz-logs/.
set -u
cd "$(dirname "$0")/.." || exit 2
seconds=${1:?usage: run_fuzz.sh SECONDS [TARGET...]}
shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(idx safetensors checkpoint image json network cifar jpeg)
build=${FUZZ_BUILD:-build-fuzz}

# per target: the largest input tried (a checkpoint with its training state
# is 630 KB; the others are small formats)
max_len() {
    case $1 in
    checkpoint) echo 700000 ;;
    json | network) echo 16384 ;;
    *) echo 65536 ;;
    esac
}
dict_of() {
    case $1 in
    checkpoint | safetensors) echo fuzz/dict/safetensors.dict ;;
    *) echo "fuzz/dict/$1.dict" ;;
    esac
}

mkdir -p "$build/fuzz-logs"
status=0
printf '%-12s %8s %12s %10s %8s %s\n' target seconds executions exec/s corpus result
for t in "${targets[@]}"; do
    exe=$build/fuzz/fuzz_$t
    if [ ! -x "$exe" ]; then
        echo "$exe not found: configure $build with CC=clang -Dfuzz=true and compile it" >&2
        exit 2
    fi
    work=$build/fuzz-corpus/$t
    artifacts=$build/fuzz-artifacts/$t
    log=$build/fuzz-logs/$t.log
    mkdir -p "$work" "$artifacts" "fuzz/regressions/$t"
    before=$(ls "$artifacts" | wc -l)
    # detect_leaks: the harnesses free everything; a leak is a finding too.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
        "$exe" "$work" "fuzz/corpus/$t" \
        -max_total_time="$seconds" -max_len="$(max_len "$t")" -dict="$(dict_of "$t")" \
        -timeout=30 -rss_limit_mb=2560 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" >"$log" 2>&1
    rc=$?
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    units=$(ls "$work" | wc -l)
    found=()
    for f in "$artifacts"/*; do
        [ -f "$f" ] || continue
        name=$(basename "$f")
        if [ ! -e "fuzz/regressions/$t/$name" ]; then
            cp "$f" "fuzz/regressions/$t/$name"
            found+=("$name")
        fi
    done
    result=ok
    if [ $rc -ne 0 ] || [ ${#found[@]} -gt 0 ] || [ "$(ls "$artifacts" | wc -l)" -gt "$before" ]; then
        result="FOUND (exit $rc): ${found[*]:-see $log}"
        status=1
    fi
    printf '%-12s %8s %12s %10s %8s %s\n' "$t" "$seconds" "${execs:-?}" "${rate:-?}" "$units" "$result"
    if [ "$result" != ok ]; then
        grep -E 'ERROR: |SUMMARY: |runtime error|^fuzz: ' "$log" | head -5 | sed 's/^/    /'
    fi
done
exit $status
