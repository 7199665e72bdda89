#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The man pages (doc/*.md through doc/md2man.py), on the host:
#  - each generated page formats with no groff or man warning, and its NAME
#    line is one that whatis/apropos read (lexgrog), as lintian checks;
#  - libhmap(3) documents every function libhmap.h declares LIBHMAP_API,
#    and its EXAMPLE is selftests/pkg/example.c, verbatim (the program the
#    install test builds against the installed library and the DKMS test
#    runs);
#  - md2man refuses what it cannot render (a table, a ### heading, an
#    unclosed code block) with the file, the line and what to write instead,
#    and exits non-zero.
# TAP, with the kselftest "# Totals:" line run-all.sh adds up.
set -u
SRC=${HMAP_SRC:?} B=${HMAP_BUILD:?}
pass=0 fail=0 n=0
ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n $1"; shift; printf '%s\n' "$@" | sed 's/^/#   /'; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pages=$(cd "$SRC/doc" && ls *.[1-8].md | sed 's/\.md$//')
echo "TAP version 13"
echo "1..$(( $(wc -w <<<"$pages") * 2 + 6 ))"

for p in $pages; do
	f=$B/doc/$p
	if [ ! -f "$f" ]; then
		nok "$p formats without warnings" "$f missing: run make man"
		nok "$p has a NAME line whatis reads"
		continue
	fi
	warn=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "$f" 2>&1 >/dev/null)
	if [ -z "$warn" ]; then
		ok "$p formats without warnings"
	else
		nok "$p formats without warnings" "$warn"
	fi
	what=$(lexgrog "$f" 2>&1)
	case $what in
	*": \"${p%.*} - "*) ok "$p has a NAME line whatis reads: ${what#*: }" ;;
	*) nok "$p has a NAME line whatis reads" "$what" ;;
	esac
done

api=$(python3 - "$SRC/user/libhmap.h" <<'PY'
import re, sys
text = re.sub(r"/\*.*?\*/", " ", open(sys.argv[1]).read(), flags=re.S)
text = re.sub(r"^\s*#.*$", " ", text, flags=re.M)
for m in re.finditer(r"\bLIBHMAP_API\b[^;{(]*?\**\s*(\w+)\s*\(", text):
    print(m.group(1))
PY
)
undoc=""
for fn in $api; do
	grep -q "\b$fn(" "$SRC/doc/libhmap.3.md" || undoc="$undoc $fn"
done
if [ "$(wc -w <<<"$api")" -lt 20 ]; then
	nok "libhmap(3) documents every LIBHMAP_API function" "found only $(wc -w <<<"$api") in libhmap.h: parser broken?"
elif [ -z "$undoc" ]; then
	ok "libhmap(3) documents all $(wc -w <<<"$api") LIBHMAP_API functions"
else
	nok "libhmap(3) documents every LIBHMAP_API function" "not in doc/libhmap.3.md:$undoc"
fi

# The code block of the EXAMPLE section, against the file the tests build.
awk '/^# EXAMPLE/ { s = 1; next } /^# / { s = 0 } s && /^```/ { c = !c; next } s && c' \
	"$SRC/doc/libhmap.3.md" > "$tmp/example.c"
if diff -u "$SRC/selftests/pkg/example.c" "$tmp/example.c" > "$tmp/diff"; then
	ok "libhmap(3)'s EXAMPLE is selftests/pkg/example.c"
else
	nok "libhmap(3)'s EXAMPLE is selftests/pkg/example.c" "$(head -20 "$tmp/diff")" \
		"copy selftests/pkg/example.c into the EXAMPLE code block"
fi

# What a reader sees: the formatted EXAMPLE must show the program as written
# (an unescaped backslash, "\n" say, would vanish in troff).
LC_ALL=C.UTF-8 MANWIDTH=200 man -E UTF-8 -l -Tutf8 "$B/doc/libhmap.3" 2>/dev/null | col -bx > "$tmp/rendered"
shown=$(python3 - "$SRC/selftests/pkg/example.c" "$tmp/rendered" <<'PY'
import sys
src = [l.expandtabs(8).strip() for l in open(sys.argv[1])]
text = open(sys.argv[2]).read().split("\nEXAMPLE\n", 1)
if len(text) < 2:
    print("no EXAMPLE section in the formatted page"); sys.exit()
shown = [l.strip() for l in text[1].splitlines()]
want = [l for l in src if l]
got = [l for l in shown if l]
# the program's lines appear in order, one after another
for i in range(len(got)):
    if got[i:i + len(want)] == want:
        sys.exit()
for w in want:
    if w not in got:
        print(f"line not shown as written: {w!r}"); break
PY
)
if [ -z "$shown" ]; then
	ok "libhmap(3) formatted shows the example program as written"
else
	nok "libhmap(3) formatted shows the example program as written" "$shown"
fi

# Bad input: each must fail, naming the line and the fix.
refuse() {	# refuse WHAT WANT-IN-MESSAGE MARKDOWN
	printf '%b' "$3" > "$tmp/bad.7.md"
	msg=$(python3 "$SRC/doc/md2man.py" "$tmp/bad.7.md" "$tmp/bad.7" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && grep -q "bad.7.md:[0-9]*: .*$2" <<<"$msg" && [ ! -e "$tmp/bad.7" ]; then
		ok "md2man refuses $1: $msg"
	else
		nok "md2man refuses $1" "exit $rc, message: $msg" "(want 'bad.7.md:LINE: ...$2' and no output file)"
	fi
}
refuse "a table" "write a '-' list instead" '# NAME\n\nx - y\n\n| a | b |\n'
refuse "a ### heading" "use ## for this one" '# NAME\n\nx - y\n\n### deep\n'
refuse "an unclosed code block" "add a line with \`\`\`" '# NAME\n\nx - y\n\n```\ncode\n'
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail = 0 ]
