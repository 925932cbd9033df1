#!/bin/bash
# The bash completion (docs/bash-completion/resnet-train), sourced into this
# bash and called as bash calls it (COMP_WORDS, COMP_CWORD): a few
# completions, then that it stays in step with the program: every option of
# --help (and of each command's --help) is offered by some command, every
# option offered for a command is one that command accepts, the commands
# are the usage lines', and the value lists (--model, --dataset, --recipe,
# --optimizer, --schedule) are those `resnet-train models` and the
# program's own error messages give.
#   test_completion.sh RESNET_TRAIN COMPLETION_FILE
set -eu
export LC_ALL=C
exe=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
completion=$(cd "$(dirname "$2")" && pwd)/$(basename "$2")
[ -x "$exe" ] || { echo "FAIL: $exe is not an executable"; exit 1; }
[ -r "$completion" ] || { echo "FAIL: cannot read $completion"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# shellcheck source=/dev/null
source "$completion"
complete -p resnet-train 2>/dev/null | grep -q -- '-F _resnet_train' ||
    { echo "FAIL: sourcing $completion did not register _resnet_train for resnet-train"; exit 1; }

# A small folder to complete file names in.
mkdir "$tmp/work" "$tmp/work/sub"
: >"$tmp/work/run.safetensors"
: >"$tmp/work/net.json"
: >"$tmp/work/notes.txt"
: >"$tmp/work/sub/my run.safetensors"
cd "$tmp/work"

# comp WORD... : the completions of the last word, sorted, one a line
# ('' stands for an empty word).
comp() {
    local w
    COMP_WORDS=(resnet-train)
    for w in "$@"; do
        [ "$w" = "''" ] && w=
        COMP_WORDS+=("$w")
    done
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="${COMP_WORDS[*]}"
    COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _resnet_train resnet-train "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    if ((${#COMPREPLY[@]})); then printf '%s\n' "${COMPREPLY[@]}" | sed 's:/$::' | sort -u; fi
}

# expect "WORDS" "EXPECTED (blank-separated, any order)"
expect() {
    local got want
    # shellcheck disable=SC2086 # words to split
    got=$(comp $1 | tr '\n' ' ' | sed 's/ $//')
    # shellcheck disable=SC2086 # words to split
    want=$(printf '%s\n' $2 | sort -u | tr '\n' ' ' | sed 's/ $//')
    if [ "$got" != "$want" ]; then
        echo "FAIL: completing 'resnet-train $1': got [$got], expected [$want]"; fail=1
    else
        echo "ok: 'resnet-train $1' -> $got"
    fi
}
# The words that list a value set in a one-line error: "... (expected a, b or c)".
listed() {
    sed -n "s/.*$1\([^)]*\)).*/\1/p" | sed 's/, / /g; s/ or / /g'
}

expect "''" "evaluate export models predict train"
expect "ev" "evaluate"
expect "--dev" "--device"
expect "--device ''" "auto cpu cuda"
expect "--device c" "cpu cuda"
expect "--precision ''" "fp32 tf32"
expect "--schedule-per ''" "epoch step"
expect "--ep" "--epochs"
expect "models --" "--classes --help --input --version"
expect "evaluate run.safetensors --js" "--json"
expect "--save r" "run.safetensors"
expect "--resume ''" "net.json notes.txt run.safetensors sub"
expect "--data ''" "sub"
expect "--model resnet1" "resnet101 resnet110 resnet152 resnet18 resnet18-cifar"
expect "--model n" "net.json"
expect "evaluate r" "run.safetensors"
expect "predict run.safetensors n" "net.json notes.txt"
expect "--epochs ''" ""
# a name with a space stays one completion
got=$(comp --init "sub/my")
if [ "$got" = "sub/my run.safetensors" ]; then
    echo "ok: 'resnet-train --init sub/my' -> $got"
else
    echo "FAIL: completing 'resnet-train --init sub/my': got [$got], expected [sub/my run.safetensors]"; fail=1
fi

# The value lists against the program.
check_values() { # WORDS_TO_COMPLETE EXPECTED_WORDS WHERE_FROM
    local got want
    # shellcheck disable=SC2086 # words to split
    got=$(comp $1 | tr '\n' ' ' | sed 's/ $//')
    # shellcheck disable=SC2086
    want=$(printf '%s\n' $2 | sort -u | tr '\n' ' ' | sed 's/ $//')
    if [ -z "$want" ]; then
        echo "FAIL: could not read the values of '$1' from $3"; fail=1
    elif [ "$got" != "$want" ]; then
        echo "FAIL: completing 'resnet-train $1' gives [$got], but $3 gives [$want]"; fail=1
    else
        echo "ok: 'resnet-train $1' matches $3"
    fi
}
models=$("$exe" models | awk 'NR > 1 && $2 ~ /^[0-9]+$/ { print $1 }')
check_values "--model ''" "$models net.json sub" "'resnet-train models' (plus the folder's)"
check_values "models ''" "$models net.json sub" "'resnet-train models' (plus the folder's)"
check_values "--dataset ''" "$("$exe" --dataset '?' 2>&1 | listed 'expected ')" "--dataset's error"
check_values "--recipe ''" "$("$exe" --recipe '?' 2>&1 | listed 'known: ')" "--recipe's error"
check_values "--optimizer ''" "$("$exe" --optimizer '?' 2>&1 | listed 'expected ')" "--optimizer's error"
check_values "--schedule ''" "$("$exe" --schedule '?' 2>&1 | listed 'expected ')" "--schedule's error"

# Commands: the usage lines' are completed as the first word.
"$exe" --help >"$tmp/help"
sed -n 's/^\(usage:\)\{0,1\}[[:space:]]*resnet-train[[:space:]]\{1,\}\[\{0,1\}\([a-z][a-z-]*\)\]\{0,1\}\([[:space:]].*\)\{0,1\}$/\2/p' \
    "$tmp/help" | sort -u >"$tmp/commands"
[ -s "$tmp/commands" ] || { echo "FAIL: found no command in the usage lines of --help"; exit 1; }
comp "''" >"$tmp/completed_commands"
for cmd in $(comm -23 "$tmp/commands" "$tmp/completed_commands"); do
    echo "FAIL: command '$cmd' of --help is not completed"; fail=1
done

# Options: every one of --help (and of each command's own --help) is
# offered by some command.
cp "$tmp/help" "$tmp/all_help"
while read -r cmd; do
    "$exe" "$cmd" --help >>"$tmp/all_help" 2>/dev/null || true
done <"$tmp/commands"
grep -o -- '--[a-z0-9][a-z0-9-]*' "$tmp/all_help" | sed 's/-*$//' | sort -u >"$tmp/options"
: >"$tmp/offered"
# shellcheck disable=SC2154 # set by the completion file
for cmd in "" $_resnet_train_commands; do
    # shellcheck disable=SC2086
    comp $cmd -- | sed "s/^/${cmd:-train} /" >>"$tmp/offered"
done
sort -u -o "$tmp/offered" "$tmp/offered"
awk '{ print $2 }' "$tmp/offered" | sort -u >"$tmp/offered_options"
for opt in $(comm -23 "$tmp/options" "$tmp/offered_options"); do
    echo "FAIL: option $opt of --help is not known to the completion ($completion)"; fail=1
done

# Every option offered for a command is one that command takes: the
# program parses `CMD OPTION --zz-not-an-option --zz-not-an-option` and must
# stop at --zz (unknown), never at OPTION ("not an option of", "unknown").
# Parsing fails before anything runs either way.
while read -r cmd opt; do
    case $opt in --help | --version) continue ;; esac
    if "$exe" "$cmd" "$opt" --zz-not-an-option --zz-not-an-option >/dev/null 2>"$tmp/err"; then
        echo "FAIL: 'resnet-train $cmd $opt --zz-not-an-option ...' succeeded"; fail=1; continue
    fi
    if grep -q -e "$opt is not an option of" -e "unknown option '$opt'" "$tmp/err"; then
        if grep -qx -- "$opt" "$tmp/options"; then
            echo "FAIL: the completion offers $opt for '$cmd', which refuses it: $(cat "$tmp/err")"
            fail=1
        else
            echo "note: $opt (offered for '$cmd') is not in this build's --help: $(cat "$tmp/err")"
        fi
    fi
done <"$tmp/offered"

[ "$fail" -eq 0 ] || exit 1
echo "ok: $(wc -l <"$tmp/options") options of --help and $(wc -l <"$tmp/commands") commands known to the completion"
