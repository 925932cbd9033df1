#!/usr/bin/env bash
# Runs every row of table.tsv (beside this script): builds the row's input
# in a fresh folder $D with make_input.py, runs resnet-train with the row's
# arguments (in $D, stdin closed, under a 5-minute timeout), and checks
#   - the exit status is the expected one (for a bad input: non-zero, not a
#     signal, not the timeout);
#   - stderr is exactly one line and contains the expected substring;
#   - nothing on stdout: the bad input was refused before any work (except
#     in rows marked 'late', whose failure comes after training);
#   - no sanitizer report (ASan, UBSan, LSan) appeared;
#   - $D is as it was before the run: the same names, types, link targets
#     and bytes (nothing clobbered, no temporary file left behind).
# Control rows (category 'control', exit 0) must succeed with an empty
# stderr and some output.
#
# Usage: run_bad_inputs.sh RESNET_TRAIN [png|no-png] [ID-REGEX]
# Rows that need the real MNIST files skip without $RESNET_TRAIN_DATA; PNG
# rows skip with no-png. Exit 0 when every row run passed, 1 otherwise, 77
# when python3 is missing.
set -u
exe=$(realpath "$1")
png=${2:-png}
only=${3:-}
archive=${BAD_INPUTS_ARCHIVE:-archive} # no-archive: a build without libarchive
jpeg=${BAD_INPUTS_JPEG:-jpeg}          # no-jpeg: a build without libjpeg
cuda=${BAD_INPUTS_CUDA:-no-cuda}       # cuda: a build with the CUDA backend's plugin
# BAD_INPUTS_FAKE_PLUGIN: a plugin of another version (tests/plugin/fake_plugin.c)
here=$(cd "$(dirname "$0")" && pwd)
table=$here/table.tsv
gen=$here/make_input.py
command -v python3 >/dev/null || { echo "skipped: python3 not found (the input generators need it)"; exit 77; }

root=$(mktemp -d "${TMPDIR:-/tmp}/bad-inputs.XXXXXX")
cleanup() {
    # read-only or full tmpfs mounts and chattr +i folders made by the generators
    grep -F " $root/" /proc/mounts 2>/dev/null | awk '{print $2}' | sort -r |
        while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done
    if [ "$(id -u)" -eq 0 ] && command -v chattr >/dev/null; then
        find "$root" -type d -exec chattr -i {} + 2>/dev/null
    fi
    chmod -R u+w "$root" 2>/dev/null
    rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DATA=${RESNET_TRAIN_DATA:-}
have_data=1
if [ -z "$DATA" ] || [ ! -d "$DATA" ]; then
    have_data=0
    DATA=$root/no-mnist
fi

# What a folder holds: every entry's type, path, link target and size, and
# the MD5 of every regular file.
manifest() {
    find "$1" -printf '%y %P %l %s\n' | LC_ALL=C sort
    find "$1" -type f -exec md5sum {} + | LC_ALL=C sort
}

pass=0 fail=0 skip=0
failed_ids=()
n=0
while IFS=$'\t' read -r id _category what generator needs command want expect; do
    case $id in ''|'#'*|id) continue ;; esac
    n=$((n + 1))
    if [ -n "$only" ] && ! [[ $id =~ $only ]]; then continue; fi
    if [[ $needs == *data* ]] && [ $have_data -eq 0 ]; then
        echo "skip $id: needs the MNIST files (RESNET_TRAIN_DATA)"; skip=$((skip + 1)); continue
    fi
    if [[ $needs == *png* ]] && [ "$png" != png ]; then
        echo "skip $id: this build reads no PNG"; skip=$((skip + 1)); continue
    fi
    if [[ $needs == *jpeg* ]] && [ "$jpeg" != jpeg ]; then
        echo "skip $id: this build reads no JPEG"; skip=$((skip + 1)); continue
    fi
    if [[ $needs == *cuda* ]] && [ "$cuda" != cuda ]; then
        echo "skip $id: this build has no CUDA plugin"; skip=$((skip + 1)); continue
    fi
    if [[ $needs == *archive* ]] && [ "$archive" != archive ]; then
        echo "skip $id: this build reads no archives"; skip=$((skip + 1)); continue
    fi
    D=$root/$id
    mkdir "$D"
    SKIP='' FSIZE_KB='' HOW='' XFSZ='' CUDA_PLUGIN=''
    if ! RESNET_TRAIN_DATA=$DATA python3 -S "$gen" "$generator" "$D" >"$root/$id.gen" 2>&1 </dev/null; then
        echo "FAIL $id: generator $generator failed:"; cat "$root/$id.gen"
        fail=$((fail + 1)); failed_ids+=("$id"); continue
    fi
    # shellcheck disable=SC1090
    [ -f "$D.meta" ] && . "$D.meta"
    if [ -n "$SKIP" ]; then
        echo "skip $id: $SKIP"; skip=$((skip + 1)); continue
    fi
    args=()
    eval "args=($command)"
    before=$(manifest "$D")
    out=$root/$id.stdout err=$root/$id.stderr
    (
        cd "$D" || exit 99
        # a write past `ulimit -f` fails with EFBIG instead of killing, unless
        # the row tests the default action (XFSZ=default)
        [ "$XFSZ" = default ] || trap '' XFSZ
        if [ -n "$FSIZE_KB" ]; then ulimit -f "$FSIZE_KB"; fi
        if [ -n "$CUDA_PLUGIN" ]; then export RESNET_TRAIN_CUDA_PLUGIN=$CUDA_PLUGIN; fi
        exec timeout -k 10 300 "$exe" "${args[@]}"
    ) >"$out" 2>"$err" </dev/null
    got=$?
    after=$(manifest "$D")

    problems=()
    if [ "$got" -ne "$want" ]; then
        if [ "$got" -eq 124 ] || [ "$got" -eq 137 ]; then
            problems+=("timed out (exit $got), expected exit $want")
        elif [ "$got" -gt 128 ]; then
            problems+=("killed by signal $((got - 128)) (exit $got), expected exit $want")
        else
            problems+=("exit $got, expected $want")
        fi
    fi
    lines=$(awk 'END { print NR }' "$err")
    if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|ThreadSanitizer|MemorySanitizer' "$err"; then
        problems+=("sanitizer report on stderr")
    fi
    if [ "$want" -eq 0 ]; then
        [ "$lines" -eq 0 ] || problems+=("stderr not empty on success")
        [ -s "$out" ] || problems+=("no output on success")
    else
        [ "$lines" -eq 1 ] || problems+=("stderr has $lines lines, expected exactly 1")
        [ -z "$(tail -c 1 "$err")" ] || problems+=("stderr's line does not end in a newline")
        grep -qF -- "$expect" "$err" || problems+=("stderr lacks '$expect'")
        if [[ $needs != *late* ]] && [ -s "$out" ]; then
            problems+=("wrote to stdout before failing (the input should be refused before any work): $(head -c 200 "$out" | tr '\n' ' ')")
        fi
        if [ "$before" != "$after" ]; then
            problems+=("the folder changed: $(diff <(echo "$before") <(echo "$after") | grep '^[<>]' | tr '\n' ' ')")
        fi
    fi
    if [ ${#problems[@]} -eq 0 ]; then
        pass=$((pass + 1))
        echo "ok   $id: exit $got${HOW:+ ($HOW)}: $(head -c 300 "$err" | head -n 1)"
    else
        fail=$((fail + 1)); failed_ids+=("$id")
        echo "FAIL $id ($what): $(printf '%s; ' "${problems[@]}")"
        echo "     command: resnet-train $command"
        echo "     stderr:"; head -n 20 "$err" | sed 's/^/       /'
    fi
    # keep the disk use small: this row's files are no longer needed
    grep -qF " $D/" /proc/mounts 2>/dev/null && grep -F " $D/" /proc/mounts | awk '{print $2}' |
        while read -r m; do umount "$m" 2>/dev/null; done
    [ "$(id -u)" -eq 0 ] && command -v chattr >/dev/null && find "$D" -type d -exec chattr -i {} + 2>/dev/null
    chmod -R u+w "$D" 2>/dev/null
    rm -rf "$D" "$D.meta" "$out" "$err" "$root/$id.gen"
done <"$table"

echo "bad inputs: $pass passed, $fail failed, $skip skipped (of $n rows)"
if [ $fail -gt 0 ]; then
    echo "failed: ${failed_ids[*]}"
    exit 1
fi
exit 0
