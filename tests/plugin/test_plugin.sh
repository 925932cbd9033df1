#!/usr/bin/env bash
# test_plugin.sh RESNET_TRAIN PEAK_RSS FAKE_PLUGIN CUDA_PLUGIN|no-cuda
# The CUDA backend lives in a plugin loaded only when a run asks for CUDA:
#  1. the program links no CUDA library (ldd);
#  2. --version peaks below 24 MiB (a CPU-only build: ~9 MiB; Open MPI's
#     libraries add ~4; linked to CUDA it was 221 MiB);
#  3. a CPU run maps no CUDA library and not the plugin (LD_DEBUG=files);
#  4. with the CUDA libraries hidden from the loader (a private mount
#     namespace with empty folders over theirs; skipped where unshare is not
#     allowed), --device auto trains on the CPU saying which library was
#     missing, --device cuda exits 2 saying it;
#  5. a missing, corrupt or other version's plugin: exit 2 and one line.
set -u
exe=$1 peak=$2 fake=$3 plugin=$4
fail=0
say_fail() { echo "FAIL: $*"; fail=1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cuda_re='libcudart|libcudnn|libcublas|libnccl|libcuda\.so|resnet-train-cuda'

if command -v ldd >/dev/null; then
    if ldd "$exe" | grep -E "$cuda_re"; then
        say_fail "the program links a CUDA library (above)"
    else
        echo "ok: ldd lists no CUDA library"
    fi
fi

kib=$("$peak" "$exe" --version) || say_fail "--version failed"
echo "--version: peak ${kib} KiB"
[ "${kib:-999999}" -lt 24576 ] || say_fail "--version took ${kib} KiB (limit 24576)"

if [ -z "${RESNET_TRAIN_DATA:-}" ]; then
    echo "note: no MNIST files (RESNET_TRAIN_DATA): the training runs are skipped"
    train=()
else
    train=(--epochs 1 --train-limit 128 --test-limit 64 --data "$RESNET_TRAIN_DATA" --no-download)
    LD_DEBUG=files "$exe" --device cpu "${train[@]}" >"$tmp/cpu.out" 2>"$tmp/cpu.debug" \
        || say_fail "the CPU run failed: $(grep -v '^ *[0-9]*:' "$tmp/cpu.debug" | head -3)"
    if grep -E "file=[^ ]*($cuda_re)" "$tmp/cpu.debug" | head -3 | grep .; then
        say_fail "the CPU run loaded a CUDA library (above)"
    else
        echo "ok: the CPU run loaded no CUDA library ($(grep -c 'file=' "$tmp/cpu.debug") loader lines)"
    fi
    kib=$("$peak" "$exe" --device cpu "${train[@]}") || say_fail "the CPU run failed under peak_rss"
    echo "CPU run of 128 images: peak ${kib} KiB"
fi

if [ "$plugin" = no-cuda ]; then
    out=$("$exe" --device cuda --epochs 1 2>&1 >/dev/null); rc=$?
    [ $rc -eq 2 ] && [[ $out == *"no CUDA backend"* ]] \
        || say_fail "CPU-only build, --device cuda: exit $rc, '$out'"
    [ $fail -eq 0 ] && echo "PASS (CPU-only build: the plugin cases do not apply)"
    exit $fail
fi

# 4. the CUDA libraries hidden: an empty tmpfs over every folder that holds
# one of the plugin's CUDA libraries (from ldd), in a private mount namespace
hide=$(ldd "$plugin" | awk '/=> \// { print $3 }' | grep -E "$cuda_re" | xargs -r -n1 dirname | sort -u)
if [ -z "$hide" ]; then
    say_fail "ldd names none of the plugin's CUDA libraries"
elif [ ${#train[@]} -gt 0 ] && unshare -m true 2>/dev/null; then
    script='for d in '"$(echo $hide)"'; do mount -t tmpfs none "$d" || exit 99; done; "$@"'
    unshare -m sh -c "$script" sh "$exe" --device auto "${train[@]}" >"$tmp/auto.out" 2>"$tmp/auto.err"
    rc=$?
    if [ $rc -ne 0 ]; then
        say_fail "hidden CUDA, --device auto: exit $rc: $(head -3 "$tmp/auto.err")"
    elif ! grep -q "^CUDA not used: the CUDA plugin .* cannot be loaded: lib[a-zA-Z]*\.so[.0-9]*: cannot open shared object file" "$tmp/auto.out" \
        || ! grep -q "^Using cpu device" "$tmp/auto.out" || ! grep -q "Accuracy:" "$tmp/auto.out"; then
        say_fail "hidden CUDA, --device auto: no fallback line naming the library, or no CPU run:"
        head -5 "$tmp/auto.out"
    else
        echo "ok: $(grep '^CUDA not used' "$tmp/auto.out")"
    fi
    err=$(unshare -m sh -c "$script" sh "$exe" --device cuda "${train[@]}" 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 2 ] || [[ $err != "resnet-train: --device cuda: the CUDA plugin "*"cannot open shared object file"* ]] \
        || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
        say_fail "hidden CUDA, --device cuda: exit $rc, '$err'"
    else
        echo "ok: --device cuda: $err"
    fi
else
    echo "skip: hiding the CUDA libraries needs the MNIST files and unshare -m (root)"
fi

# 5. bad plugins: exit 2 with one line naming the file (auto falls back)
printf 'not an ELF file\n%.0s' $(seq 300) >"$tmp/corrupt.so"
check_refused() { # NAME PLUGIN EXPECTED-SUBSTRING
    local err rc
    err=$(RESNET_TRAIN_CUDA_PLUGIN=$2 "$exe" --device cuda --epochs 1 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 2 ] || [[ $err != *"$3"* ]] || [ "$(printf '%s\n' "$err" | wc -l)" -ne 1 ]; then
        say_fail "$1: exit $rc, '$err' (expected exit 2 and '$3')"
    else
        echo "ok: $1: $err"
    fi
}
check_refused "missing plugin" "$tmp/none/resnet-train-cuda.so" "the CUDA backend's plugin is missing: no resnet-train-cuda.so at $tmp/none/resnet-train-cuda.so (RESNET_TRAIN_CUDA_PLUGIN)"
check_refused "corrupt plugin" "$tmp/corrupt.so" "invalid ELF header"
check_refused "another version's plugin" "$fake" "is of another resnet-train (version 0.0.1-other"
check_refused "not a plugin" "$(ldd "$exe" | awk '/libz\.so/ { print $3 }')" "is not a resnet-train CUDA plugin (it has no symbol rt_cuda_plugin)"
if [ ${#train[@]} -gt 0 ]; then
    out=$(RESNET_TRAIN_CUDA_PLUGIN=$fake "$exe" --device auto "${train[@]}" 2>&1) \
        && [[ $out == *"CUDA not used: the CUDA plugin $fake is of another resnet-train"* ]] \
        || say_fail "another version's plugin under --device auto: no fallback line"
fi
[ $fail -eq 0 ] && echo PASS
exit $fail
