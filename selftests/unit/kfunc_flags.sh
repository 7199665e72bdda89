#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The built modules' kfunc sets carry the flags their source declares
# (kmod/scripts/check-kfunc-flags.py, which the build also runs), and the
# checker still catches what it is there for: copies of hmap.ko with two
# kfuncs' flags swapped, with an unresolved id, and given module BTF twice
# (a second pahole + resolve_btfids pass re-sorts ids but not flags: that
# once flagged bpf_hmap_delete KF_RELEASE).
# TAP, with the kselftest "# Totals:" line run-all.sh adds up.
# The checks run on the modules built for the oldest kernel (6.1), the one
# whose module BTF this project adds itself (6.12's kbuild adds its own);
# HMAP_KVER, HMAP_KDIR and HMAP_VMLINUX_BTF pick others.
B=${HMAP_BUILD:?}
SRC=${HMAP_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
KVER=${HMAP_KVER:-$(ls "$B/kmod" 2>/dev/null | sort -V | head -n1)}
KDIR=${HMAP_KDIR:-/usr/src/linux-headers-$KVER}
BASE=${HMAP_VMLINUX_BTF:-$B/vmlinux-$KVER}
[ -f "$BASE" ] || BASE=$KDIR/vmlinux
K=$B/kmod/$KVER
BPFTOOL=${BPFTOOL:-$(command -v bpftool || echo /usr/sbin/bpftool)}
RESOLVE_BTFIDS=$B/linux-source/tools/bpf/resolve_btfids/resolve_btfids
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0 n=0

result() {	# result OK DESCRIPTION [DETAIL]
	n=$((n + 1))
	if [ "$1" = 1 ]; then
		echo "ok $n - $2"
		pass=$((pass + 1))
	else
		echo "not ok $n - $2"
		[ -n "${3:-}" ] && sed 's/^/# /' <<<"$3"
		fail=$((fail + 1))
	fi
}

check() {	# check KO: run the checker on KO with its module's sources
	local m
	m=$(basename "$1" .ko)
	"$SRC/kmod/scripts/check-kfunc-flags.py" --btf-base "$BASE" --headers "$KDIR" \
		--bpftool "$BPFTOOL" "$1" $(sed 's/\.o$/.c/' "$B/kbuild/$KVER/kmod/$m.mod") 2>&1
}

tamper() {	# tamper KO SET A B: swap A's and B's flag words in SET; B=0: zero A's id
	python3 - "$@" "$BASE" "$BPFTOOL" <<'EOF'
import json, re, subprocess, sys
ko, name, a, b, base, bpftool = sys.argv[1:]
run = lambda *c: subprocess.run(c, check=True, capture_output=True, text=True).stdout
sec = re.search(r"\]\s+\.BTF_ids\s+\S+\s+\S+\s+(\S+)", run("readelf", "-SW", ko))
sym = re.search(r"^\s*\d+:\s+(\S+)\s.*\s__BTF_ID__set8__%s$" % name,
                run("readelf", "-sW", ko), re.M)
start = int(sec[1], 16) + int(sym[1], 16)  # relocatable: value is a section offset
ids = {t["name"]: t["id"] for t in
       json.loads(run(bpftool, "-j", "-B", base, "btf", "dump", "file", ko))["types"]
       if t["kind"] == "FUNC"}
d = bytearray(open(ko, "rb").read())
u32 = lambda p: int.from_bytes(d[p:p + 4], "little")
pair = {u32(p): p for p in range(start + 8, start + 8 + 8 * u32(start), 8)}
pa = pair[ids[a]]
if b == "0":
    d[pa:pa + 4] = bytes(4)
else:
    pb = pair[ids[b]]
    assert d[pa + 4:pa + 8] != d[pb + 4:pb + 8], "same flags"
    d[pa + 4:pa + 8], d[pb + 4:pb + 8] = d[pb + 4:pb + 8], d[pa + 4:pa + 8]
open(ko, "wb").write(d)
EOF
}

echo "TAP version 13"
echo "1..5"
for ko in hmap.ko hmap_rehash.ko; do
	out=$(check "$K/$ko")
	result "$([ $? = 0 ] && echo 1)" "$ko: kfunc sets carry the flags the source declares" "$out"
done

set=hmap_kfunc_ids_syscall
cp "$K/hmap.ko" "$tmp/hmap.ko"
tamper "$tmp/hmap.ko" $set bpf_hmap_delete bpf_hmap_release
out=$(check "$tmp/hmap.ko")
rc=$?
result "$([ $rc = 1 ] && grep -q "bpf_hmap_delete: declared 0x0 (none), found 0x2 (KF_RELEASE)" <<<"$out" &&
	grep -q "bpf_hmap_release: declared 0x2 (KF_RELEASE), found 0x0 (none)" <<<"$out" && echo 1)" \
	"hmap.ko copy with bpf_hmap_delete's and bpf_hmap_release's flags swapped is rejected" "rc $rc: $out"

cp "$K/hmap.ko" "$tmp/hmap.ko"
tamper "$tmp/hmap.ko" $set bpf_hmap_lookup 0
out=$(check "$tmp/hmap.ko")
rc=$?
result "$([ $rc = 1 ] && grep -q "BTF id 0 (unresolved)" <<<"$out" &&
	grep -q "bpf_hmap_lookup: declared .*, not in the module" <<<"$out" && echo 1)" \
	"hmap.ko copy with bpf_hmap_lookup's id unresolved is rejected" "rc $rc: $out"

# The real bug: module BTF added twice.  It scrambles the flags unless the
# declaration order happens to be id order; either way the checker must
# agree with whether .BTF_ids changed.
n=$((n + 1))
if ! command -v pahole >/dev/null || [ ! -x "$RESOLVE_BTFIDS" ]; then
	echo "ok $n - hmap.ko copy given BTF twice # SKIP no pahole or $RESOLVE_BTFIDS"
	skip=$((skip + 1))
else
	n=$((n - 1))
	cp "$K/hmap.ko" "$tmp/hmap.ko"
	if out=$("$SRC/kmod/scripts/module-btf.sh" "$BASE" "$RESOLVE_BTFIDS" "$tmp/hmap.ko" 2>&1); then
		ids() { readelf -x .BTF_ids "$1" | grep '^ *0x'; }
		out=$(check "$tmp/hmap.ko")
		rc=$?
		if [ "$(ids "$K/hmap.ko")" != "$(ids "$tmp/hmap.ko")" ]; then
			result "$([ $rc = 1 ] && echo 1)" "hmap.ko copy given BTF twice (flags scrambled) is rejected" "rc $rc: $out"
		else
			result "$([ $rc = 0 ] && echo 1)" "hmap.ko copy given BTF twice (sets intact) passes" "rc $rc: $out"
		fi
	else
		result 0 "hmap.ko copy given BTF twice: module-btf.sh failed" "$out"
	fi
fi
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail = 0 ]
