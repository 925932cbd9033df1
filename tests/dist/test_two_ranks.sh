#!/bin/bash
# Data-parallel training under mpirun, case by case:
#   collectives  the collectives across 2 and 3 ranks (test_dist_collectives)
#   timeout      a rank that never answers is reported within the timeout
#   step         one SGD step of 2 ranks against 1 with the same global batch
#   curve        the tutorial's recipe, 2 ranks against 1: the loss curve
#   resume       a 2-rank run killed mid-epoch resumes byte-identically
#   faults       a killed rank, a stopped rank, a bad input on one rank and
#                ranks started with other options end every rank, no hang
#   hosts        2 hosts in network namespaces, MPI over TCP between them
#   launcher     a launcher this build cannot talk to is refused
# Usage: test_two_ranks.sh CASE RESNET_TRAIN TEST_DIST_COLLECTIVES WEIGHTS_DIFF mpi|no-mpi
# The launcher is $RESNET_TRAIN_MPIRUN (default mpirun, Open MPI's); one whose
# --version names HYDRA (MPICH's mpiexec.mpich / mpiexec.hydra) is run with
# -bind-to core instead of Open MPI's options, and 'hosts' (Open MPI's rsh
# agent) skips.
set -u
case_name=$1 exe=$2 collectives=$3 wdiff=$4 mpi=$5
mpi_launcher=${RESNET_TRAIN_MPIRUN:-mpirun}
data=${RESNET_TRAIN_DATA:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

need_launcher() {
    [ "$mpi" = mpi ] || { echo "skipped: built without MPI"; exit 77; }
    command -v "$mpi_launcher" >/dev/null || { echo "skipped: no $mpi_launcher"; exit 77; }
    # hydra binds nothing by default: -bind-to core, as Open MPI binds 2
    # ranks (the CPU backend counts the cores a rank may run on)
    if "$mpi_launcher" --version 2>&1 | grep -q HYDRA; then
        hydra=1 launcher_opts=(-bind-to core) rank_var=PMI_RANK
    else
        hydra=0 launcher_opts=(--oversubscribe) rank_var=OMPI_COMM_WORLD_RANK
    fi
}
need_data() {
    [ -n "$data" ] || { echo "skipped: RESNET_TRAIN_DATA is not set"; exit 77; }
}
# Under ASan (tools/sanitize.sh) the leak check must unwind through Open
# MPI's libraries, built without frame pointers, to match tools/lsan.supp:
# the slow unwinder, for the processes that run MPI only.
if [ -n "${ASAN_OPTIONS:-}" ]; then
    export ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0"
fi
# the launcher with a one-line timeout guard: a hang fails the test instead of CI
run_ranks() { timeout -k 5 240 "$mpi_launcher" "${launcher_opts[@]}" "$@"; }
# |a - b| / |b| <= limit
close() { awk -v a="$1" -v b="$2" -v l="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; if (b < 0) b = -b; exit !(d <= l * b) }'; }

common=(--device cpu --data "$data" --no-download)
# signal_rank_1 SIGNAL CHECKPOINT LOG JITTER RANK-ARGS...: starts the ranks
# (run_ranks RANK-ARGS) in the background, waits for their first CHECKPOINT,
# optionally sleeps a random 0-0.39 s (JITTER=jitter), sends SIGNAL to rank 1
# and waits for the launcher: sets victim, status and took (seconds from the
# signal to the end)
signal_rank_1() {
    local sig=$1 ck=$2 log=$3 jitter=$4 launcher start
    shift 4
    run_ranks "$@" >"$log" 2>&1 &
    launcher=$!
    for _ in $(seq 1 1500); do [ -e "$ck" ] && break; sleep 0.02; done
    [ "$jitter" = jitter ] && sleep 0.$(( RANDOM % 4 ))$(( RANDOM % 10 ))
    victim=$(rank_pid 1 "$ck")
    start=$(date +%s)
    [ -n "$victim" ] && kill -"$sig" "$victim"
    wait $launcher
    status=$? took=$(( $(date +%s) - start ))
}
# the process of rank $1 among those saving to $2
rank_pid() {
    for p in $(pgrep -f -- "--save $2"); do
        tr '\0' '\n' </proc/$p/environ 2>/dev/null | grep -qx "$rank_var=$1" && echo $p
    done | head -1
}

case $case_name in
collectives)
    need_launcher
    for n in 2 3; do
        if run_ranks -np $n "$collectives" >"$tmp/c$n.log" 2>&1 && [ "$(grep -c "^ok: rank .* ($n on its machine)" "$tmp/c$n.log")" -eq $n ]; then
            echo "ok: $n ranks: the sums right and the same bits on every rank, a differing rank found"
        else
            cat "$tmp/c$n.log"; bad "the collectives across $n ranks"
        fi
    done
    ;;
timeout)
    need_launcher
    start=$(date +%s)
    run_ranks -np 2 "$collectives" timeout >"$tmp/t.log" 2>&1
    status=$? took=$(( $(date +%s) - start ))
    if grep -q "^timeout reported: rank 0 of 2: no answer from the other ranks for 1 s" "$tmp/t.log" &&
        [ $status -ne 0 ] && [ $took -lt 30 ]; then
        echo "ok: a silent rank reported by the other within its timeout; all ended after ${took} s (exit $status)"
    else
        cat "$tmp/t.log"; bad "the timeout (exit $status after ${took} s)"
    fi
    ;;
step)
    need_launcher; need_data
    # One SGD step: the parameters move by lr * g, so the two runs' difference
    # over the step's movement is the relative difference of the gradients.
    # 2 ranks sum each half of the batch, then the halves: only the order of
    # the sums over the batch's images changes, which in FP32 moves a sum of
    # 64 terms by at most 64 * 2^-24 = 3.8e-6 of the sum of their magnitudes;
    # the limit 1e-4 leaves room for cancellation (magnitudes 25x the sum).
    # A wrong slice, shuffle or augmentation draw moves it by 1e-2 and more.
    for batch in 64 63; do
        one=(--epochs 1 --train-limit $batch --test-limit 100 --batch-size $batch --optimizer sgd
             --shuffle --seed 5 --crop-pad 2 --flip)
        "$exe" "${common[@]}" "${one[@]}" --lr 0.01 --save "$tmp/a.safetensors" >"$tmp/a.log" 2>&1 &&
        "$exe" "${common[@]}" "${one[@]}" --lr 0.02 --save "$tmp/b.safetensors" >"$tmp/b.log" 2>&1 &&
        run_ranks -np 2 "$exe" "${common[@]}" "${one[@]}" --lr 0.01 --save "$tmp/r.safetensors" >"$tmp/r.log" 2>&1 ||
            { cat "$tmp"/*.log; bad "a run of batch $batch failed"; continue; }
        moved=$("$wdiff" "$tmp/a.safetensors" "$tmp/b.safetensors")
        differ=$("$wdiff" "$tmp/a.safetensors" "$tmp/r.safetensors")
        if close "$differ" 0 0 || awk -v d="$differ" -v m="$moved" 'BEGIN { exit !(m > 0 && d <= 1e-4 * m) }'; then
            echo "ok: batch $batch: 2 ranks' step differs from 1 rank's by $differ, $(awk -v d="$differ" -v m="$moved" 'BEGIN { printf "%.2g", d / m }') of the step ($moved)"
        else
            bad "batch $batch: 2 ranks' step differs from 1 rank's by $differ, the step is $moved"
        fi
    done
    # A BatchNorm network: each rank normalises with its own share's
    # statistics, so the step is not one rank's (DDP's behaviour) unless
    # --sync-bn takes them over the whole batch; then the same limit holds.
    one=(--epochs 1 --train-limit 64 --test-limit 100 --batch-size 64 --optimizer sgd --shuffle
         --seed 5 --model "$RESNET_TRAIN_SOURCE/docs/examples/small_resnet.json")
    "$exe" "${common[@]}" "${one[@]}" --lr 0.01 --save "$tmp/a.safetensors" >"$tmp/a.log" 2>&1 &&
    "$exe" "${common[@]}" "${one[@]}" --lr 0.02 --save "$tmp/b.safetensors" >"$tmp/b.log" 2>&1 &&
    run_ranks -np 2 "$exe" "${common[@]}" "${one[@]}" --lr 0.01 --save "$tmp/r.safetensors" >"$tmp/r.log" 2>&1 &&
    run_ranks -np 2 "$exe" "${common[@]}" "${one[@]}" --lr 0.01 --sync-bn --save "$tmp/s.safetensors" >"$tmp/s.log" 2>&1 ||
        { cat "$tmp"/*.log; bad "a BatchNorm run failed"; }
    moved=$("$wdiff" "$tmp/a.safetensors" "$tmp/b.safetensors")
    own=$("$wdiff" "$tmp/a.safetensors" "$tmp/r.safetensors")
    synced=$("$wdiff" "$tmp/a.safetensors" "$tmp/s.safetensors")
    if awk -v d="$synced" -v m="$moved" 'BEGIN { exit !(m > 0 && d <= 1e-4 * m) }'; then
        echo "ok: BatchNorm, --sync-bn: 2 ranks' step differs from 1 rank's by $synced (step $moved)"
    else
        bad "BatchNorm, --sync-bn: 2 ranks' step differs from 1 rank's by $synced, the step is $moved"
    fi
    if awk -v d="$own" -v m="$moved" 'BEGIN { exit !(d > 1e-3 * m) }'; then
        echo "ok: BatchNorm without --sync-bn (each rank's statistics): differs by $own, as expected"
    else
        bad "BatchNorm without --sync-bn should differ from 1 rank (per-rank statistics): $own of $moved"
    fi
    # --sync-bn refuses a last batch that leaves a rank without images
    run_ranks -np 2 "$exe" "${common[@]}" --epochs 1 --train-limit 65 --sync-bn \
        --model "$RESNET_TRAIN_SOURCE/docs/examples/small_resnet.json" >"$tmp/e.log" 2>&1
    status=$?
    grep -q "sync-bn: the last batch of each epoch, of 1 image, would leave some of the 2 ranks without images" "$tmp/e.log" &&
        [ $status -eq 2 ] && echo "ok: --sync-bn with a last batch of 1 image on 2 ranks refused" ||
        { cat "$tmp/e.log"; bad "--sync-bn with a last batch smaller than the world (exit $status)"; }
    run_ranks -np 2 "$exe" "${common[@]}" --epochs 1 --train-limit 64 --batch-size 1 --sync-bn \
        --model "$RESNET_TRAIN_SOURCE/docs/examples/small_resnet.json" >"$tmp/e.log" 2>&1
    status=$?
    grep -q "sync-bn: a batch of 1 images leaves some of the 2 ranks without images" "$tmp/e.log" &&
        [ $status -eq 2 ] && echo "ok: --sync-bn with a batch of 1 on 2 ranks refused" ||
        { cat "$tmp/e.log"; bad "--sync-bn with a batch smaller than the world (exit $status)"; }
    ;;
curve)
    need_launcher; need_data
    # The tutorial's recipe (Adam), 3 epochs of 6400 images: the loss at every
    # logged step and the test result. Adam's first steps move each weight by
    # about lr whatever the gradient's size, so a weight whose gradient is
    # near zero takes the sign the summation order gives it: the runs drift
    # apart by more than the step's 1e-4 (measured: 3e-3 after 100 steps).
    # Limits: 2% on each logged loss, 1 point of test accuracy, 5% on the
    # test loss; an error in the reduction (a rank's gradient lost or counted
    # twice, a wrong share) moves the losses by 10% and more.
    run=(--epochs 3 --train-limit 6400 --test-limit 2000 --shuffle --seed 3)
    OMP_NUM_THREADS=2 "$exe" "${common[@]}" "${run[@]}" >"$tmp/one.log" 2>&1 ||
        { cat "$tmp/one.log"; bad "the 1-rank run failed"; }
    run_ranks -np 2 "$exe" "${common[@]}" "${run[@]}" >"$tmp/two.log" 2>&1 ||
        { cat "$tmp/two.log"; bad "the 2-rank run failed"; }
    grep "^loss:" "$tmp/one.log" | sed 's/loss: *\([0-9.]*\).*/\1/' >"$tmp/one.loss"
    grep "^loss:" "$tmp/two.log" | sed 's/loss: *\([0-9.]*\).*/\1/' >"$tmp/two.loss"
    [ "$(wc -l <"$tmp/one.loss")" -eq 3 ] && [ "$(wc -l <"$tmp/two.loss")" -eq 3 ] || bad "expected 3 logged losses each"
    while read -r a b; do
        close "$b" "$a" 0.02 && echo "ok: loss $a (1 rank) vs $b (2 ranks)" || bad "loss $a (1 rank) vs $b (2 ranks)"
    done < <(paste -d' ' "$tmp/one.loss" "$tmp/two.loss")
    acc1=$(sed -n 's/.*Accuracy:\([0-9.]*\)%.*/\1/p' "$tmp/one.log") loss1=$(sed -n 's/.*Avg loss:\([0-9.e-]*\)/\1/p' "$tmp/one.log")
    acc2=$(sed -n 's/.*Accuracy:\([0-9.]*\)%.*/\1/p' "$tmp/two.log") loss2=$(sed -n 's/.*Avg loss:\([0-9.e-]*\)/\1/p' "$tmp/two.log")
    if [ -n "$acc1" ] && [ -n "$acc2" ] && awk -v a="$acc1" -v b="$acc2" 'BEGIN { d = a - b; exit !(d <= 1 && d >= -1) }' && close "$loss2" "$loss1" 0.05; then
        echo "ok: test accuracy $acc1% vs $acc2%, loss $loss1 vs $loss2"
    else
        bad "test results: $acc1% $loss1 (1 rank) vs $acc2% $loss2 (2 ranks)"
    fi
    grep -q "^Data-parallel over 2 ranks" "$tmp/two.log" || bad "no start-up line naming the ranks"
    [ "$(grep -c "^epoch_time_s:.*all_reduce_s:" "$tmp/two.log")" -eq 3 ] || bad "no all-reduce time per epoch"
    grep -q "^Using cpu device (CPU, 1 thread)" "$tmp/two.log" || bad "each rank should take its share of the cores (OMP_NUM_THREADS=1)"
    ;;
resume)
    need_launcher; need_data
    # a BatchNorm network: each rank's own running statistics, rank 0's kept
    common+=(--train-limit 3200 --test-limit 200 --save-every 7)
    run=(--model "$RESNET_TRAIN_SOURCE/docs/examples/small_resnet.json" --epochs 3 --shuffle --seed 4)
    run_ranks -np 2 "$exe" "${common[@]}" "${run[@]}" --save "$tmp/ref.safetensors" >"$tmp/ref.log" 2>&1 ||
        { cat "$tmp/ref.log"; bad "the uninterrupted 2-rank run failed"; }
    signal_rank_1 KILL "$tmp/cut.safetensors" "$tmp/cut.log" jitter \
        -np 2 "$exe" "${common[@]}" "${run[@]}" --save "$tmp/cut.safetensors"
    [ $status -ne 0 ] || bad "the run finished before the kill: nothing was tested"
    if run_ranks -np 2 "$exe" "${common[@]}" --resume "$tmp/cut.safetensors" --save "$tmp/cut.safetensors" >"$tmp/resumed.log" 2>&1; then
        grep "^Resuming" "$tmp/resumed.log"
        if cmp -s "$tmp/ref.safetensors" "$tmp/cut.safetensors"; then
            echo "ok: a rank killed (launcher exit $status), resumed under 2 ranks: identical to the uninterrupted run"
        else
            bad "the resumed checkpoint differs from the uninterrupted run's"
        fi
        [ "$(tail -1 "$tmp/ref.log")" = "$(tail -1 "$tmp/resumed.log")" ] || bad "final test results differ"
    else
        cat "$tmp/resumed.log"; bad "resuming under 2 ranks failed"
    fi
    # under one rank it continues, and says what changes
    if "$exe" "${common[@]}" --resume "$tmp/ref.safetensors" --epochs 4 --save "$tmp/one.safetensors" >"$tmp/one.log" 2>&1; then
        grep -q "saved by 2 ranks, resumed by 1" "$tmp/one.log" && echo "ok: resumed under 1 rank with a line saying so" ||
            { cat "$tmp/one.log"; bad "no line about the other world size"; }
    else
        cat "$tmp/one.log"; bad "resuming a 2-rank checkpoint under 1 rank failed"
    fi
    ;;
faults)
    need_launcher; need_data
    run=(--epochs 2 --train-limit 12800 --test-limit 200 --save-every 10)
    # a rank killed mid-epoch: the launcher ends the other and names the lost
    # rank (MPICH's hydra names its process: "PID 123 RUNNING AT host", then
    # "... EXIT STRING: Killed (signal 9)")
    signal_rank_1 KILL "$tmp/k.safetensors" "$tmp/k.log" no-jitter \
        -np 2 "$exe" "${common[@]}" "${run[@]}" --save "$tmp/k.safetensors"
    named="rank 1 .*exited on signal 9" killed=$named
    [ $hydra = 1 ] && named="PID ${victim:-?} RUNNING AT" killed="Killed (signal 9)"
    if [ -n "$victim" ] && [ $status -ne 0 ] && [ $took -le 60 ] && grep -q "$named" "$tmp/k.log" && grep -q "$killed" "$tmp/k.log" &&
        "$exe" evaluate "$tmp/k.safetensors" --device cpu --data "$data" --no-download --test-limit 100 >/dev/null 2>&1; then
        echo "ok: rank 1 killed: all ended after ${took} s (exit $status), the launcher named it, the checkpoint is intact"
    else
        cat "$tmp/k.log"; bad "a killed rank (victim '${victim}', exit $status after ${took} s)"
    fi
    # a rank that stops answering (SIGSTOP): the other ends the run after --comm-timeout
    signal_rank_1 STOP "$tmp/s.safetensors" "$tmp/s.log" no-jitter \
        -np 2 "$exe" "${common[@]}" "${run[@]}" --comm-timeout 3 --save "$tmp/s.safetensors"
    if [ $status -ne 0 ] && [ $status -lt 128 ] && [ $took -le 60 ] && grep -q "resnet-train: rank 0: rank 0 of 2: no answer from the other ranks for 3 s" "$tmp/s.log"; then
        echo "ok: rank 1 stopped: rank 0 ended the run after ${took} s (exit $status): $(grep 'no answer' "$tmp/s.log")"
    else
        cat "$tmp/s.log"; bad "a stopped rank (exit $status after ${took} s)"
    fi
    [ -n "$victim" ] && kill -KILL "$victim" 2>/dev/null
    # a bad input seen by one rank only: its message, and every rank ends
    mkdir "$tmp/broken"
    cp "$data"/*-ubyte* "$tmp/broken/"
    printf 'not gzip' >"$tmp/broken/t10k-labels-idx1-ubyte.gz"
    start=$(date +%s)
    run_ranks -np 1 "$exe" "${common[@]}" "${run[@]}" --save "$tmp/b.safetensors" : \
        -np 1 "$exe" --device cpu --data "$tmp/broken" --no-download "${run[@]}" --save "$tmp/b.safetensors" >"$tmp/b.log" 2>&1
    status=$? took=$(( $(date +%s) - start ))
    if [ $status -ne 0 ] && [ $status -lt 128 ] && [ $took -le 60 ] &&
        [ "$(grep -c "^resnet-train: " "$tmp/b.log")" -eq 1 ] && grep -q "^resnet-train: rank 1: .*t10k-labels-idx1-ubyte.gz" "$tmp/b.log"; then
        echo "ok: a bad file seen by rank 1: $(grep '^resnet-train: rank 1' "$tmp/b.log") (exit $status after ${took} s)"
    else
        cat "$tmp/b.log"; bad "a bad input on one rank (exit $status after ${took} s)"
    fi
    # the same bad file seen by both: one line, rank 0's
    run_ranks -np 2 "$exe" --device cpu --data "$tmp/broken" --no-download "${run[@]}" --save "$tmp/b2.safetensors" >"$tmp/b2.log" 2>&1
    status=$?
    if [ $status -ne 0 ] && [ $status -lt 128 ] && [ "$(grep -c "^resnet-train: " "$tmp/b2.log")" -eq 1 ] &&
        grep -q "^resnet-train: rank 0: .*t10k-labels-idx1-ubyte.gz" "$tmp/b2.log"; then
        echo "ok: a bad file seen by both ranks: one line, rank 0's (exit $status)"
    else
        cat "$tmp/b2.log"; bad "a bad input on every rank (exit $status)"
    fi
    # ranks started with other options are refused before training
    run_ranks -np 1 "$exe" "${common[@]}" "${run[@]}" --save "$tmp/o.safetensors" : \
        -np 1 "$exe" "${common[@]}" "${run[@]}" --save "$tmp/o.safetensors" --lr 0.002 >"$tmp/o.log" 2>&1
    status=$?
    if [ $status -eq 2 ] && grep -q "rank 1 was started with another recipe, network or data set than rank 0" "$tmp/o.log" &&
        ! grep -q "^epoch1" "$tmp/o.log"; then
        echo "ok: other options on rank 1 refused at start (exit 2)"
    else
        cat "$tmp/o.log"; bad "other options on one rank (exit $status)"
    fi
    ;;
hosts)
    need_launcher; need_data
    [ $hydra = 0 ] || { echo "skipped: the two hosts go through Open MPI's rsh agent (--mca plm_rsh_agent); not written for $mpi_launcher (MPICH's hydra)"; exit 77; }
    # Two hosts on this machine: network namespaces joined by a veth pair,
    # each rank in its own (and its own host name), Open MPI's daemons
    # started in the other through an rsh agent, MPI over TCP only.
    [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v unshare >/dev/null ||
        { echo "skipped: needs root, ip and unshare for network namespaces"; exit 77; }
    na=rt-a-$$ nb=rt-b-$$ va=rta$$ vb=rtb$$
    cleanup_ns() { ip netns del "$na" 2>/dev/null; ip netns del "$nb" 2>/dev/null; rm -rf "$tmp"; }
    trap cleanup_ns EXIT
    if ! { ip netns add "$na" && ip netns add "$nb" && ip link add "$va" type veth peer name "$vb" &&
           ip link set "$va" netns "$na" && ip link set "$vb" netns "$nb" &&
           ip netns exec "$na" ip addr add 10.77.0.1/24 dev "$va" &&
           ip netns exec "$nb" ip addr add 10.77.0.2/24 dev "$vb" &&
           ip netns exec "$na" ip link set "$va" up && ip netns exec "$nb" ip link set "$vb" up &&
           ip netns exec "$na" ip link set lo up && ip netns exec "$nb" ip link set lo up; } 2>"$tmp/ns.err"; then
        echo "skipped: cannot make network namespaces here: $(head -1 "$tmp/ns.err")"; exit 77
    fi
    cat >"$tmp/agent.sh" <<AGENT
#!/bin/bash
# Open MPI's rsh agent: \$1 the host, then the command to run there
host=\$1; shift
case \$host in 10.77.0.1) ns=$na ;; 10.77.0.2) ns=$nb ;; *) echo "no host \$host" >&2; exit 1 ;; esac
exec ip netns exec "\$ns" unshare --uts sh -c "hostname host-\$ns; \$*"
AGENT
    chmod +x "$tmp/agent.sh"
    across() {
        timeout -k 5 240 ip netns exec "$na" unshare --uts sh -c 'hostname "host-$0"; shift 0; exec "$@"' "$na" \
            "$mpi_launcher" --host 10.77.0.1:1,10.77.0.2:1 -np 2 --mca plm_rsh_agent "$tmp/agent.sh" \
            --mca btl tcp,self --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 "$@"
    }
    if across "$collectives" >"$tmp/h.log" 2>&1 && [ "$(grep -c '^ok: rank [01] of 2 (1 on its machine)' "$tmp/h.log")" -eq 2 ]; then
        echo "ok: the collectives across two hosts, one rank on each, over TCP"
    else
        cat "$tmp/h.log"; bad "the collectives across two hosts"
    fi
    # the same training across the hosts as on one: the same bytes
    run=(--epochs 1 --train-limit 1280 --test-limit 200 --shuffle --seed 8 --crop-pad 2)
    across "$exe" "${common[@]}" "${run[@]}" --save "$tmp/hosts.safetensors" >"$tmp/t.log" 2>&1 ||
        { cat "$tmp/t.log"; bad "training across two hosts failed"; }
    run_ranks -np 2 "$exe" "${common[@]}" "${run[@]}" --save "$tmp/one.safetensors" >"$tmp/o.log" 2>&1 ||
        { cat "$tmp/o.log"; bad "training on one host failed"; }
    if cmp -s "$tmp/hosts.safetensors" "$tmp/one.safetensors"; then
        echo "ok: 2 ranks on two hosts train the same bytes as 2 ranks on one: $(tail -1 "$tmp/t.log")"
    else
        bad "2 ranks on two hosts and on one host give different checkpoints"
    fi
    ;;
launcher)
    need_data
    # another MPI's launcher (MPICH's hydra sets PMI_SIZE; for an MPICH build,
    # Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE) starts N processes
    # that this build's MPI each sees as a world of one
    # (under ASan without the leak check: LeakSanitizer's tracer crashes on
    # the threads Open MPI's singleton start leaves behind at exit)
    asan=${ASAN_OPTIONS:+$ASAN_OPTIONS:detect_leaks=0}
    foreign=(PMI_SIZE=2 PMI_RANK=0)
    ASAN_OPTIONS=$asan "$exe" --version | grep -q "^Several ranks: MPICH" && foreign=(OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_RANK=0)
    env "${foreign[@]}" "ASAN_OPTIONS=$asan" timeout 60 "$exe" "${common[@]}" --epochs 1 --train-limit 64 >"$tmp/l.out" 2>"$tmp/l.err"
    status=$?
    if [ "$mpi" = mpi ]; then
        expect="the launcher started 2 ranks (${foreign[0]}), but this build's MPI"
    else
        expect="started as one of 2 ranks (${foreign[0]}), but this build has no MPI"
    fi
    if [ $status -eq 2 ] && grep -qF "$expect" "$tmp/l.err" && [ "$(wc -l <"$tmp/l.err")" -eq 1 ] && [ ! -s "$tmp/l.out" ]; then
        echo "ok: refused: $(cat "$tmp/l.err")"
    else
        cat "$tmp/l.out" "$tmp/l.err"; bad "a foreign launcher (exit $status)"
    fi
    ;;
*) echo "unknown case $case_name"; exit 2 ;;
esac
exit $fail
