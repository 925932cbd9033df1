#!/bin/sh
# The manual page keeps up with the program: every option (--something) of
# `resnet-train --help`, and of each command's own --help, is an item of the
# page's OPTIONS section; every command of the usage lines is an item of its
# COMMANDS section; its .TH names the version --version gives; and groff
# renders it without a warning (when groff is installed).
#   test_manual.sh RESNET_TRAIN MANUAL_PAGE
set -eu
LC_ALL=C
export LC_ALL
exe=$1
page=$2
[ -x "$exe" ] || { echo "FAIL: $exe is not an executable"; exit 1; }
[ -r "$page" ] || { echo "FAIL: cannot read the manual page $page"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

"$exe" --help >"$tmp/help" || { echo "FAIL: resnet-train --help exited $?"; exit 1; }

# The commands: the word after "resnet-train" on each usage line, brackets
# removed ("[train]", "evaluate", ...).
sed -n 's/^\(usage:\)\{0,1\}[[:space:]]*resnet-train[[:space:]]\{1,\}\[\{0,1\}\([a-z][a-z-]*\)\]\{0,1\}\([[:space:]].*\)\{0,1\}$/\2/p' \
    "$tmp/help" | sort -u >"$tmp/commands"
[ -s "$tmp/commands" ] || { echo "FAIL: found no command in the usage lines of --help"; exit 1; }

# The options of --help and of each command's --help (where a command's
# help is its own, its options count too).
cp "$tmp/help" "$tmp/all_help"
while read -r cmd; do
    if "$exe" "$cmd" --help >"$tmp/cmd_help" 2>/dev/null; then
        cat "$tmp/cmd_help" >>"$tmp/all_help"
    else
        echo "note: 'resnet-train $cmd --help' did not succeed; only the main --help counts for it"
    fi
done <"$tmp/commands"
grep -o -- '--[a-z0-9][a-z0-9-]*' "$tmp/all_help" | sed 's/-*$//' | sort -u >"$tmp/options"
[ "$(wc -l <"$tmp/options")" -ge 10 ] ||
    { echo "FAIL: found only $(wc -l <"$tmp/options") options in --help"; exit 1; }

# The page's source as text: \- as -, font changes and \& removed.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\f(..//g' -e 's/\\&//g' "$page" >"$tmp/page"

# The item tags (the line after each .TP) of one section (.SH NAME).
tags() {
    awk -v want="$1" '
        /^\.SH/ { sub(/^\.SH[ \t]+/, ""); gsub(/"/, ""); section = $0; next }
        section != want { next }
        /^\.TP/ { tag = 1; next }
        tag { tag = 0; print }' "$tmp/page"
}

tags OPTIONS >"$tmp/option_tags"
[ -s "$tmp/option_tags" ] || { echo "FAIL: $page has no .TP items in an OPTIONS section"; exit 1; }
grep -o -- '--[a-z0-9][a-z0-9-]*' "$tmp/option_tags" | sed 's/-*$//' | sort -u >"$tmp/documented"
missing=$(comm -23 "$tmp/options" "$tmp/documented")
for opt in $missing; do
    echo "FAIL: option $opt of --help is missing from the manual page ($page, OPTIONS)"
    fail=1
done
extra=$(comm -13 "$tmp/options" "$tmp/documented")
# shellcheck disable=SC2086 # one line of names
[ -z "$extra" ] || echo "note: documented but not in this build's --help (other builds or work in progress):" $extra

tags COMMANDS | sed -e 's/^\.[BIR]*[[:space:]]*//' -e 's/"//g' |
    awk '{ print $1 }' | sort -u >"$tmp/command_tags"
# shellcheck disable=SC2013 # one word a line
for cmd in $(cat "$tmp/commands"); do
    grep -qx -- "$cmd" "$tmp/command_tags" ||
        { echo "FAIL: command '$cmd' of the usage lines is missing from the manual page's COMMANDS section"; fail=1; }
done

# .TH RESNET-TRAIN 1 DATE "resnet-train VERSION" ...
version=$("$exe" --version | sed -n '1s/^resnet-train \([^ ]*\).*/\1/p')
grep -q "^\.TH .*\"resnet-train $version\"" "$tmp/page" ||
    { echo "FAIL: the manual page's .TH does not name version $version (resnet-train --version)"; fail=1; }

if command -v groff >/dev/null 2>&1; then
    groff -man -Tutf8 -ww -z "$page" >"$tmp/warnings" 2>&1 || true
    if [ -s "$tmp/warnings" ]; then
        echo "FAIL: groff -man -ww warns about $page:"; cat "$tmp/warnings"; fail=1
    fi
else
    echo "note: groff not installed: rendering warnings not checked"
fi

[ "$fail" -eq 0 ] || exit 1
echo "ok: $(wc -l <"$tmp/options") options and $(wc -l <"$tmp/commands") commands" \
    "($(tr '\n' ' ' <"$tmp/commands")) documented in $page"
