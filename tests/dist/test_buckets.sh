#!/bin/bash
# Gradient sums in buckets overlapping backward (--bucket-mb), under mpirun:
# 2 ranks give the very bytes of one sum after backward (each value is the
# same two-term sum), with and without --sync-bn; 3 ranks agree with each
# other (the epoch's checksum) and with one sum after backward within the
# FP32 limit of the step test; a rank stopped while buckets are in flight
# is reported by the other within --comm-timeout.
# Usage: test_buckets.sh RESNET_TRAIN WEIGHTS_DIFF mpi|no-mpi
set -u
exe=$1 wdiff=$2 mpi=$3
launcher=${RESNET_TRAIN_MPIRUN:-mpirun}
data=${RESNET_TRAIN_DATA:-}
[ "$mpi" = mpi ] || { echo "skipped: built without MPI"; exit 77; }
command -v "$launcher" >/dev/null || { echo "skipped: no $launcher"; exit 77; }
[ -n "$data" ] || { echo "skipped: RESNET_TRAIN_DATA is not set"; exit 77; }
if "$launcher" --version 2>&1 | grep -q HYDRA; then
    opts=() rank_var=PMI_RANK
else
    opts=(--oversubscribe) rank_var=OMPI_COMM_WORLD_RANK
fi
if [ -n "${ASAN_OPTIONS:-}" ]; then
    export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
run_ranks() { timeout -k 5 240 "$launcher" "${opts[@]}" "$@"; }

# resnet20: 65 parameter tensors, 0.05 MB buckets: 21 buckets, most
# starting before backward ends; 2 SGD steps of a shuffled, augmented batch
common=(--device cpu --data "$data" --no-download --threads 1 --model resnet20 --epochs 1
        --train-limit 128 --test-limit 100 --batch-size 64 --optimizer sgd --lr 0.01 --shuffle
        --seed 5 --crop-pad 2 --flip)
for bn in "" --sync-bn; do
    run_ranks -np 2 "$exe" "${common[@]}" $bn --bucket-mb 0 --save "$tmp/one$bn.safetensors" >"$tmp/one.log" 2>&1 &&
    run_ranks -np 2 "$exe" "${common[@]}" $bn --bucket-mb 0.05 --save "$tmp/bk$bn.safetensors" >"$tmp/bk.log" 2>&1 ||
        { cat "$tmp/one.log" "$tmp/bk.log"; bad "a 2-rank run ${bn} failed"; continue; }
    grep -q "gradients summed by MPI in 21 buckets of up to 0.05 MB overlapping backward" "$tmp/bk.log" ||
        { cat "$tmp/bk.log"; bad "the start-up line does not name the 21 buckets"; }
    if cmp -s "$tmp/one$bn.safetensors" "$tmp/bk$bn.safetensors"; then
        echo "ok: 2 ranks ${bn:-(per-rank BatchNorm)}: 21 buckets overlapping backward give the bytes of one sum after it"
    else
        bad "2 ranks ${bn}: the buckets' checkpoint differs from one sum's ($("$wdiff" "$tmp/one$bn.safetensors" "$tmp/bk$bn.safetensors"))"
    fi
done

# 3 ranks: the reduce's tree may associate other ways for other message
# sizes, so not the same bytes: within the step test's 1e-4 of the step
one_rank=(--device cpu --data "$data" --no-download --threads 1 --model resnet20 --epochs 1
          --train-limit 64 --test-limit 100 --batch-size 64 --optimizer sgd --seed 5)
"$exe" "${one_rank[@]}" --lr 0.01 --save "$tmp/a.safetensors" >"$tmp/a.log" 2>&1 &&
"$exe" "${one_rank[@]}" --lr 0.02 --save "$tmp/b.safetensors" >"$tmp/b.log" 2>&1 &&
run_ranks -np 3 "$exe" "${one_rank[@]}" --lr 0.01 --bucket-mb 0.05 --sync-bn --save "$tmp/t.safetensors" >"$tmp/t.log" 2>&1 ||
    { cat "$tmp"/a.log "$tmp"/b.log "$tmp"/t.log; bad "the 3-rank comparison's runs failed"; }
if [ $fail -eq 0 ]; then
    moved=$("$wdiff" "$tmp/a.safetensors" "$tmp/b.safetensors")
    differ=$("$wdiff" "$tmp/a.safetensors" "$tmp/t.safetensors")
    if awk -v d="$differ" -v m="$moved" 'BEGIN { exit !(m > 0 && d <= 1e-4 * m) }'; then
        echo "ok: 3 ranks with --sync-bn in 21 buckets agree (checksum) and differ from 1 rank by $differ, $(awk -v d="$differ" -v m="$moved" 'BEGIN { printf "%.2g", d / m }') of the step"
    else
        bad "3 ranks in buckets differ from 1 rank by $differ, the step is $moved"
    fi
fi

# a rank stopped (SIGSTOP) while the other's buckets are in flight
run_ranks -np 2 "$exe" "${common[@]}" --train-limit 6400 --bucket-mb 0.05 --comm-timeout 3 \
    --save-every 2 --save "$tmp/s.safetensors" >"$tmp/s.log" 2>&1 &
pid=$!
for _ in $(seq 1 1500); do [ -e "$tmp/s.safetensors" ] && break; sleep 0.02; done
victim=
for p in $(pgrep -f -- "--save $tmp/s.safetensors"); do
    tr '\0' '\n' </proc/$p/environ 2>/dev/null | grep -qx "$rank_var=1" && victim=$p
done
start=$(date +%s)
[ -n "$victim" ] && kill -STOP "$victim"
wait $pid
status=$? took=$(( $(date +%s) - start ))
[ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null
if [ -n "$victim" ] && [ $status -ne 0 ] && [ $took -le 60 ] &&
    grep -q "rank 0 of 2: no answer from the other ranks for 3 s in the " "$tmp/s.log"; then
    echo "ok: rank 1 stopped: rank 0 ended the run after ${took} s: $(grep -m1 'no answer' "$tmp/s.log")"
else
    cat "$tmp/s.log"; bad "a stopped rank during bucketed sums (victim '$victim', exit $status after ${took} s)"
fi
exit $fail
