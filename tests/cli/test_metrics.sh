#!/bin/sh
# --metrics end to end: a short run's JSON lines (one object a line: every
# logged step, the epoch, the test) agree with the log it printed, which is
# the log of the same run without --metrics; --resume appends to the file;
# and the refusals (a missing folder, a folder, the file of --save or
# --resume, --tensorboard on a regular file) are one line, exit 2, nothing
# on stdout, nothing created or changed.
# Usage: test_metrics.sh RESNET_TRAIN
set -u
exe=$1
data=${RESNET_TRAIN_DATA:-}
[ -n "$data" ] || { echo "skipped: RESNET_TRAIN_DATA is not set (no MNIST files)"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: python3 is needed to read the JSON lines"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# 200 steps of 8 images: two loss lines
common="--device cpu --threads 1 --no-download --data $data --batch-size 8 --train-limit 1600 --test-limit 200"

# shellcheck disable=SC2086
"$exe" $common --epochs 1 --save "$tmp/ck.safetensors" --metrics "$tmp/m.jsonl" >"$tmp/log" 2>"$tmp/err" ||
    { cat "$tmp/log" "$tmp/err"; echo "FAIL: the run with --metrics failed"; exit 1; }
# shellcheck disable=SC2086
"$exe" $common --epochs 1 >"$tmp/plain" 2>&1 || { cat "$tmp/plain"; echo "FAIL: the plain run failed"; exit 1; }
mask() { sed 's/^epoch_time_s:.*/epoch_time_s:-/' "$1"; }
if [ "$(mask "$tmp/log")" != "$(mask "$tmp/plain")" ]; then
    echo "FAIL: --metrics changed the log:"; diff "$tmp/plain" "$tmp/log"; fail=1
else
    echo "ok: the log is the same with --metrics"
fi
[ -s "$tmp/err" ] && { echo "FAIL: stderr not empty:"; cat "$tmp/err"; fail=1; }

# the records against the log: python3 reads both
check() { # check JSONL LOG EPOCHS
    python3 - "$1" "$2" "$3" <<'PY'
import json, re, struct, sys
path, log, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = open(path).read().split("\n")
assert lines[-1] == "", "the file does not end in a newline"
recs = [json.loads(l) for l in lines[:-1]]
f32 = lambda x: struct.unpack("f", struct.pack("f", x))[0]
steps = [r for r in recs if r["kind"] == "step"]
ends = [r for r in recs if r["kind"] == "epoch"]
tests = [r for r in recs if r["kind"] == "test"]
assert len(recs) == len(steps) + len(ends) + len(tests), "an unknown kind"
assert [r["step"] for r in steps] == [100 * k for k in range(1, 2 * epochs + 1)], steps
assert [r["epoch"] for r in ends] == list(range(1, epochs + 1)), ends
assert [r["step"] for r in ends] == [200 * k for k in range(1, epochs + 1)], ends
for r in steps:
    assert r["lr"] == f32(0.001), r
    assert r["images_per_s"] > 0 and r["wall_s"] > 0 and r["epoch"] == (r["step"] - 1) // 200 + 1, r
    assert r["batch"] == (r["step"] - 1) % 200 + 1, r
for r in ends:
    assert r["epoch_s"] > 0 and r["images_per_s"] > 0, r
# the last run's log: its loss lines and test result
text = open(log).read()
logged = re.findall(r"^loss:(\S+)  \[number:(\d+)\]$", text, re.M)
mine = [("%.6f" % r["loss"], str(r["batch"])) for r in steps[-len(logged):]]
assert mine == logged, (mine, logged)
acc, loss = re.search(r"^ Accuracy:(\S+)%,Avg loss:(\S+)$", text, re.M).groups()
t = tests[-1]
# the log prints Python's repr of the doubles: they read back as the same
assert t["final"] is True and t["test_accuracy"] == float(acc) and t["test_loss"] == float(loss), (t, acc, loss)
assert "test_accuracy5" not in t, "the seed's network reports no top-5"
# wall_s counts from the start of each run: the last run's four records
walls = [r["wall_s"] for r in recs[-4:]]
assert walls == sorted(walls) and walls[0] >= 0, walls
print("ok: %d records agree with the log" % len(recs))
PY
}
check "$tmp/m.jsonl" "$tmp/log" 1 || fail=1

# --resume appends: the first run's records stay, the second epoch follows
cp "$tmp/m.jsonl" "$tmp/first.jsonl"
# shellcheck disable=SC2086
"$exe" $common --epochs 2 --resume "$tmp/ck.safetensors" --metrics "$tmp/m.jsonl" >"$tmp/log2" 2>&1 ||
    { cat "$tmp/log2"; echo "FAIL: the resumed run failed"; exit 1; }
n=$(wc -l <"$tmp/first.jsonl")
if head -n "$n" "$tmp/m.jsonl" | cmp -s - "$tmp/first.jsonl"; then
    echo "ok: --resume kept the first run's $n records"
else
    echo "FAIL: --resume did not append"; fail=1
fi
check "$tmp/m.jsonl" "$tmp/log2" 2 || fail=1

# refusals: one line naming option and path, exit 2, nothing else touched
mkdir "$tmp/refuse"
echo "not a folder" >"$tmp/refuse/file"
cp "$tmp/ck.safetensors" "$tmp/refuse/ck.safetensors"
manifest() { find "$1" -printf '%y %P %s\n' | LC_ALL=C sort; find "$1" -type f -exec md5sum {} + | LC_ALL=C sort; }
before=$(manifest "$tmp/refuse")
refuse() { # refuse EXPECTED ARGS...
    want=$1; shift
    # shellcheck disable=SC2086
    "$exe" $common --epochs 1 "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    lines=$(wc -l <"$tmp/err")
    if [ $got -ne 2 ] || [ "$lines" -ne 1 ] || [ -s "$tmp/out" ] || ! grep -qF -- "$want" "$tmp/err"; then
        echo "FAIL: $*: exit $got, $lines lines on stderr, stdout $(wc -c <"$tmp/out") bytes, expected exit 2 and '$want':"
        cat "$tmp/err"; fail=1
    else
        echo "ok: $*: $(cat "$tmp/err")"
    fi
}
r=$tmp/refuse
refuse "--metrics: $r/missing/m.jsonl: cannot create the file: No such file or directory" --metrics "$r/missing/m.jsonl"
refuse "--metrics: $r is a folder, not a file" --metrics "$r"
refuse "--metrics: $r/sub/ is a folder, not a file" --metrics "$r/sub/"
refuse "--metrics and --save name the same file" --metrics "$r/new.safetensors" --save "$r/./new.safetensors"
refuse "--metrics and --resume name the same file" --metrics "$r/ck.safetensors" --resume "$r/ck.safetensors"
refuse "--metrics and --init name the same file" --metrics "$r/ck.safetensors" --init "$r/../refuse/ck.safetensors"
refuse "--metrics: the file name is empty" --metrics ''
refuse "--tensorboard: $r/file is not a folder" --tensorboard "$r/file"
refuse "--tensorboard: the folder name is empty" --tensorboard ''
after=$(manifest "$tmp/refuse")
if [ "$before" != "$after" ]; then
    echo "FAIL: a refused run changed the folder:"; echo "$before"; echo "$after"; fail=1
fi
# a run refused after the checks (no data here) leaves no curve files behind
"$exe" --device cpu --no-download --data "$r/no-data" --epochs 1 --metrics "$r/m.jsonl" \
    --tensorboard "$r/tb" >"$tmp/out" 2>"$tmp/err"
if grep -q "built without protobuf-c" "$tmp/err"; then
    refuse "--tensorboard: this resnet-train was built without protobuf-c" --tensorboard "$r/tb"
    echo "ok: this build writes no event files, and says so"
elif [ -e "$r/m.jsonl" ] || [ -e "$r/tb" ]; then
    echo "FAIL: a run that failed loading its data left curve files:"; ls -la "$r"; fail=1
else
    echo "ok: a run that failed before training left no curve files ($(cat "$tmp/err"))"
fi
exit $fail
