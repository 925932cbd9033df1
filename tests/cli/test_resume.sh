#!/bin/bash
# A run killed at a random point (SIGKILL) and resumed from its last
# checkpoint ends with weights identical, byte for byte, to an uninterrupted
# run; so does one stopped by SIGTERM (which saves first and exits 143).
# Shuffled runs of 3 epochs: on the CPU 3200 training images (50 steps an
# epoch) with a checkpoint every 7 steps; on the GPU, which is much faster,
# all 60000 images with a checkpoint every 50 steps, so that the signal
# lands mid-run. Options after DEVICE go to every run (--model NAME: a
# network with BatchNorm, whose running statistics and counters must come
# back exactly too); options after a "--" go to the runs that start afresh
# only (a --recipe, which a resumed run takes from its checkpoint).
# Usage: test_resume.sh RESNET_TRAIN [DEVICE [OPTION...] [-- FRESH_OPTION...]]
set -u
exe=$1
device=${2:-cpu}
shift $(( $# >= 2 ? 2 : $# ))
every=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do every+=("$1"); shift; done
[ $# -gt 0 ] && shift
fresh=("$@")
set -- ${every[@]+"${every[@]}"}
data=${RESNET_TRAIN_DATA:-}
[ -n "$data" ] || { echo "skipped: RESNET_TRAIN_DATA is not set"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ "$device" = cpu ]; then
    common=(--device cpu --data "$data" --no-download --train-limit 3200 --save-every 7 "$@")
else
    common=(--device "$device" --data "$data" --no-download --save-every 50 "$@")
fi
recipe=(--epochs 3 --shuffle --seed 11 ${fresh[@]+"${fresh[@]}"})
fail=0

if ! "$exe" "${common[@]}" "${recipe[@]}" --save "$tmp/ref.safetensors" >"$tmp/ref.log" 2>&1; then
    cat "$tmp/ref.log"
    grep -q "device cuda" "$tmp/ref.log" && { echo "skipped: no usable GPU"; exit 77; }
    echo "FAIL: the uninterrupted run failed"; exit 1
fi

# Starts a run in the background and kills it with $1 once it has saved at
# least once, after a random extra delay.
interrupted_run() {
    local sig=$1 out=$2
    "$exe" "${common[@]}" "${recipe[@]}" --save "$out" >"$tmp/$sig.log" 2>&1 &
    local pid=$!
    for _ in $(seq 1 600); do
        [ -e "$out" ] && break
        sleep 0.02
    done
    sleep "0.$(( RANDOM % 5 ))$(( RANDOM % 10 ))"
    kill -"$sig" $pid 2>/dev/null
    wait $pid
    echo $?
}

for sig in KILL TERM; do
    out="$tmp/$sig.safetensors"
    status=$(interrupted_run $sig "$out")
    if [ "$status" -eq 0 ]; then
        echo "FAIL: the $sig run finished before the signal: nothing was tested"; fail=1
    elif [ $sig = TERM ] && [ "$status" -ne 143 ]; then
        echo "FAIL: SIGTERM should save and exit 143, got $status"; cat "$tmp/$sig.log"; fail=1
    elif [ $sig = KILL ] && [ "$status" -ne 137 ]; then
        echo "FAIL: the SIGKILL'd run exited $status"; fail=1
    fi
    if ! "$exe" "${common[@]}" --resume "$out" --save "$out" >"$tmp/$sig.resume.log" 2>&1; then
        echo "FAIL: resuming after SIG$sig failed:"; cat "$tmp/$sig.resume.log"; fail=1; continue
    fi
    grep "^Resuming" "$tmp/$sig.resume.log"
    if cmp -s "$tmp/ref.safetensors" "$out"; then
        echo "ok: killed with SIG$sig (exit $status), resumed: identical to the uninterrupted run"
    else
        echo "FAIL: after SIG$sig and resume the checkpoint differs from the uninterrupted run"
        fail=1
    fi
    # the test results printed at the end agree too
    if [ "$(tail -1 "$tmp/ref.log")" != "$(tail -1 "$tmp/$sig.resume.log")" ]; then
        echo "FAIL: final test results differ: $(tail -1 "$tmp/ref.log") vs $(tail -1 "$tmp/$sig.resume.log")"
        fail=1
    fi
done
exit $fail
