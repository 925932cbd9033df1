#!/bin/sh
# predict on drawn digits (tests/fixtures/digits, made by tools/draw_digits.py,
# not MNIST images) with a trained checkpoint (tests/fixtures/trained.safetensors):
# every picture must be classified as the digit its file name starts with,
# in the text output and in --json, whose probabilities must be 10 numbers
# summing to 1. Needs no MNIST files.
# Usage: test_predict.sh RESNET_TRAIN CHECKPOINT DIGITS_DIR png|no-png
# (no-png: the build cannot read PNG; only the PGM pictures are tested, and
# a PNG must be refused with a message saying so).
set -u
exe=$1 ckpt=$2 dir=$3 png=$4
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

set --
for f in "$dir"/*.pgm "$dir"/*.png; do
    [ -f "$f" ] || continue
    case $f in
    *.png) [ "$png" = png ] || continue ;;
    esac
    set -- "$@" "$f"
done
if [ $# -lt 2 ]; then
    echo "FAIL: fewer than 2 pictures in $dir"
    exit 1
fi
if [ "$png" != png ]; then
    first_png=$(ls "$dir"/*.png | head -n 1)
    if "$exe" predict "$ckpt" "$first_png" --device cpu >"$tmp/out" 2>"$tmp/err" ||
        ! grep -q "cannot read PNG" "$tmp/err"; then
        echo "FAIL: a build without libpng should refuse $first_png saying it cannot read PNG:"
        cat "$tmp/out" "$tmp/err"
        fail=1
    fi
    echo "note: this build cannot read PNG; testing the $# PGM pictures only"
fi

expected() { # the digit a file name starts with
    basename "$1" | cut -c1
}

# --- text output: "PATH: D (probability P...)" then the 10 probabilities
if ! "$exe" predict "$ckpt" "$@" --device cpu >"$tmp/text" 2>"$tmp/err"; then
    echo "FAIL: resnet-train predict exited $?"
    cat "$tmp/text" "$tmp/err"
    exit 1
fi
cat "$tmp/text"
for f in "$@"; do
    want=$(expected "$f")
    line=$(grep -F "$f: " "$tmp/text" | head -n 1)
    got=$(printf '%s\n' "$line" | sed -n 's/^.*: \([0-9]\) (probability [0-9.]*.*$/\1/p')
    if [ -z "$got" ]; then
        echo "FAIL: no prediction line for $f"
        fail=1
    elif [ "$got" != "$want" ]; then
        echo "FAIL: $f is a $want, predict says $got"
        fail=1
    fi
done
count=$(grep -c ' (probability ' "$tmp/text")
[ "$count" -eq $# ] || { echo "FAIL: $count prediction lines for $# pictures"; fail=1; }

# --- JSON output
if ! "$exe" predict "$ckpt" "$@" --device cpu --json >"$tmp/json" 2>"$tmp/err"; then
    echo "FAIL: resnet-train predict --json exited $?"
    cat "$tmp/json" "$tmp/err"
    exit 1
fi
if command -v python3 >/dev/null 2>&1; then
    python3 - "$tmp/json" "$@" <<'EOF' || fail=1
import json, os, sys
doc = json.load(open(sys.argv[1]))
files = sys.argv[2:]
preds = doc["predictions"]
bad = 0
if [p["file"] for p in preds] != files:
    print("FAIL: --json lists %r, expected %r" % ([p["file"] for p in preds], files))
    sys.exit(1)
for p in preds:
    probs = p["probabilities"]
    want = int(os.path.basename(p["file"])[0])
    ok = (len(probs) == 10 and all(0 <= q <= 1 for q in probs)
          and abs(sum(probs) - 1) < 1e-4
          and p["digit"] == want and max(range(10), key=lambda j: probs[j]) == want)
    print("%s %s: digit %s (want %d), p=%.4f, sum %.6f" % (
        "ok:" if ok else "FAIL:", p["file"], p["digit"], want, probs[want], sum(probs)))
    bad += not ok
sys.exit(1 if bad else 0)
EOF
else
    # no python3: a grep-based check of each picture's line
    for f in "$@"; do
        want=$(expected "$f")
        line=$(grep -F "\"file\": \"$f\"" "$tmp/json" | head -n 1)
        if ! printf '%s\n' "$line" | grep -q "\"digit\": $want, "; then
            echo "FAIL: --json: $f is a $want: $line"
            fail=1
            continue
        fi
        sum=$(printf '%s\n' "$line" | sed -n 's/.*"probabilities": \[\([^]]*\)\].*/\1/p' |
            awk -F', ' '{ s = 0; for (i = 1; i <= NF; i++) s += $i; if (NF == 10) print s }')
        if [ -z "$sum" ] || ! awk -v s="$sum" 'BEGIN { exit !(s > 0.9999 && s < 1.0001) }'; then
            echo "FAIL: --json: $f: not 10 probabilities summing to 1: $line"
            fail=1
        fi
    done
    echo "checked --json without python3 (grep)"
fi

[ $fail -eq 0 ] && echo "ok: $# drawn digits classified correctly (text and --json)"
exit $fail
