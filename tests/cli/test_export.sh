#!/bin/sh
# resnet-train export: a checkpoint's weights as an ONNX model and as a
# safetensors file without training state (the ONNX model's numbers are
# checked by tests/io/test_onnx.py), and its refusals: one line, exit 2
# (1 for a place that cannot be written, as --save), nothing written.
#   test_export.sh RESNET_TRAIN CHECKPOINT
set -u
exe=$1 ck=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

if "$exe" export "$ck" --weights-only "$tmp/w.safetensors" >"$tmp/out" 2>"$tmp/err"; then
    echo "ok: $(cat "$tmp/out")"
    # the header names the tensors and no training state
    head -c 4096 "$tmp/w.safetensors" | grep -q 'resnet_train\.' && bad "--weights-only kept resnet_train.* metadata"
    head -c 4096 "$tmp/w.safetensors" | grep -q '"conv1.weight"' || bad "--weights-only lacks conv1.weight"
    if [ -n "${RESNET_TRAIN_DATA:-}" ]; then
        a=$("$exe" evaluate "$ck" --device cpu --test-limit 500 --no-download | tail -1)
        b=$("$exe" evaluate "$tmp/w.safetensors" --device cpu --test-limit 500 --no-download | tail -1)
        [ -n "$a" ] && [ "$a" = "$b" ] && echo "ok: the weights-only file evaluates as the checkpoint: $b" ||
            bad "evaluate: checkpoint '$a', weights-only '$b'"
    fi
else
    cat "$tmp/err"; bad "--weights-only failed"
fi
onnx=yes
if ! "$exe" export "$ck" --onnx "$tmp/m.onnx" >"$tmp/out" 2>"$tmp/err"; then
    if grep -q "without protobuf-c" "$tmp/err" && [ "$(wc -l <"$tmp/err")" -eq 1 ] && [ ! -e "$tmp/m.onnx" ]; then
        echo "ok: a build without protobuf-c refuses --onnx: $(cat "$tmp/err")"; onnx=no
    else
        cat "$tmp/err"; bad "--onnx failed"
    fi
else
    echo "ok: $(cat "$tmp/out")"
    [ -s "$tmp/m.onnx" ] || bad "no ONNX file"
fi

refuse() { # [-1] EXPECTED-SUBSTRING ARGS...  (-1: exit 1, an unwritable place, as --save's)
    code=2
    [ "$1" = -1 ] && { code=1; shift; }
    want=$1; shift
    before=$(ls "$tmp" | sort)
    "$exe" export "$@" >"$tmp/out" 2>"$tmp/err"; got=$?
    if [ $got -ne $code ] || [ "$(wc -l <"$tmp/err")" -ne 1 ] || [ -s "$tmp/out" ] || ! grep -qF -- "$want" "$tmp/err"; then
        bad "export $*: exit $got, stderr '$(cat "$tmp/err")' (expected exit $code and '$want')"
    elif [ "$before" != "$(ls "$tmp" | sort)" ]; then
        bad "export $*: a file appeared or went"
    else
        echo "ok: refused: $(cat "$tmp/err")"
    fi
}
refuse "export needs --onnx FILE or --weights-only FILE" "$ck"
refuse "export needs a checkpoint file" --onnx "$tmp/x.onnx"
refuse "--epochs is not an option of 'export'" "$ck" --onnx "$tmp/x.onnx" --epochs 2
refuse "--json is not an option of 'export'" "$ck" --weights-only "$tmp/x.st" --json
refuse "--onnx and --weights-only name the same file" "$ck" --onnx "$tmp/x" --weights-only "$tmp/x"
refuse "--weights-only $ck is the checkpoint being exported" "$ck" --weights-only "$ck"
refuse "export takes one checkpoint, not" "$ck" "$ck" --onnx "$tmp/x.onnx"
refuse -1 "$tmp/missing/w.safetensors: cannot create files in its folder: No such file or directory" "$ck" --weights-only "$tmp/missing/w.safetensors"
[ $onnx = yes ] && refuse -1 "/proc/version/m.onnx: cannot create files in its folder: Not a directory" "$ck" --onnx /proc/version/m.onnx
[ $fail -eq 0 ] && echo PASS
exit $fail
