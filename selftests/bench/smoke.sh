#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check's bench smoke test (kselftest TAP, "# Totals:" last): build
# make bench's tree for one kernel, run "make bench QUICK=1" (small sizes,
# one pass) and check that it exited 0, that every benchmark printed every
# row it should, and that nothing failed; in its failure drill, a benchmark
# made to fail on purpose must report its errno and clean up.  It never
# looks at a figure's value: speed is make bench's to print, not CI's to
# judge.  Also checks,
# without a VM, that vm.sh's guest script hands words with quotes, $(...),
# parentheses and newlines to a POSIX sh unchanged.
#
# Environment: HMAP_SRC, HMAP_BUILD (the bench tree is HMAP_BUILD/bench),
# KVER; HMAP_BENCH_OUTPUT=FILE checks a saved run's output instead of
# running one (exit status taken as 0).
set -uo pipefail
SRC=${HMAP_SRC:?} BUILD=${HMAP_BUILD:?} KVER=${KVER:?}
n=0 pass=0 fail=0

result() {	# result OK|FAIL description [detail lines]
	local ok=$1 what=$2
	n=$((n + 1))
	if [ "$ok" = OK ]; then
		echo "ok $n - $what"
		pass=$((pass + 1))
	else
		echo "not ok $n - $what"
		[ -n "${3:-}" ] && sed 's/^/#   /' <<<"$3"
		fail=$((fail + 1))
	fi
}

echo "TAP version 13"
echo "1..9"

# ---- vm.sh's quoting, on the host: the guest runs its script with dash
# (the host root's /bin/sh) or busybox sh.
inner='printf "<%s>" "$(echo a  b)" "it'\''s" "$0" "$1" "$2"; (echo " (sub)") &&
	echo $((1 + 1)) "back\slash" `echo tick`'
want=$(bash -c "$inner" 'arg one' '' 2>&1)
script=$(HMAP_SRC=$SRC HMAP_BUILD=$BUILD KVER=$KVER "$SRC/selftests/vm/vm.sh" --print-cmd -- \
	sh -c "$inner" 'arg one' '' 2>&1)
for sh in dash "busybox sh"; do
	if ! command -v "${sh%% *}" >/dev/null; then
		result FAIL "vm.sh's guest script under $sh" "$sh is not installed (make deps)"
		continue
	fi
	got=$(cd /tmp && $sh -c "$script" 2>&1)
	if [ "$got" = "$want" ]; then
		result OK "vm.sh's guest script under $sh: quotes, \$(...), ( ) and newlines pass unchanged"
	else
		result FAIL "vm.sh's guest script under $sh" "script:
$script
wanted: $want
got:    $got"
	fi
done

# ---- the quick run ------------------------------------------------------------
if [ -n "${HMAP_BENCH_OUTPUT:-}" ]; then
	out=$(cat "$HMAP_BENCH_OUTPUT") rc=0
else
	start=$(date +%s)
	out=$(make -s -C "$SRC" BUILD="$BUILD/bench" HMAP_BENCH=1 KVER="$KVER" QUICK=1 bench-run 2>&1)
	rc=$?
	echo "$out" | sed 's/^/# /'
	echo "# make bench QUICK=1 took $(( $(date +%s) - start ))s"
fi
failures=$(grep -E '^make bench: |bench_[a-z_]+: .*(failed|missed|hit|missing|cannot)' <<<"$out")
if [ "$rc" = 0 ] && [ -z "$failures" ]; then
	result OK "make bench QUICK=1 exited 0 and reported no failure"
else
	result FAIL "make bench QUICK=1 exited $rc" "$failures"
fi

# The rows of each section (the "== " header before them): every one must be
# printed, exactly once, with numbers where the figures go.
F='[0-9]+(\.[0-9]+)?'
section() {	# the lines after the header matching $1, up to the next header
	awk -v h="$1" '/^== / { on = index($0, h) > 0; next } on' <<<"$out"
}
check_rows() {	# check_rows NAME HEADER ROW-REGEX...
	local name=$1 header=$2 body missing="" re c
	shift 2
	body=$(section "$header")
	for re in "$@"; do
		c=$(grep -cE "^$re\$" <<<"$body")
		[ "$c" = 1 ] || missing+="$c rows match: $re"$'\n'
	done
	if [ -z "$body" ]; then
		result FAIL "$name: every row printed" "no section '$header' in the output"
	elif [ -z "$missing" ]; then
		result OK "$name: all $# rows printed"
	else
		result FAIL "$name: every row printed" "${missing%$'\n'}"
	fi
}

rows=()
for v in 8 64; do
	for op in insert lookup-hit lookup-miss update-existing delete; do
		rows+=("$op +1024 +$v +$F +$F +$F")
	done
done
check_rows bench_native "native (host CPU): hmap engine vs absl" "${rows[@]}"

check_rows bench_grow_native "native (host CPU): insert latency while growing" \
	"incremental( +$F){5}" "stop-the-world( +$F){5}" \
	"max insert latency, stop-the-world / incremental: ${F}x"

rows=()
for v in 8 64; do
	for op in insert lookup-hit lookup-miss update-existing delete; do
		rows+=("$op +1024 +$v( +$F){5}")	# hmap, htab, ratio, incr, ratio
	done
done
rows+=("bytes/entry +1024 +16\+8( +$F){3}" "bytes/entry +1024 +40\+16( +$F){3}")
check_rows bench_dump_native "native (host CPU and kernel): reading 4096 entries" \
	"zero-copy dump, batches \(libhmap\) +$F ms +$F ns/entry +entries 4096" \
	"zero-copy dump, per entry \(libhmap\) +$F ms +$F ns/entry +entries 4096" \
	"BPF_MAP_LOOKUP_BATCH \(htab\) +($F ms +$F ns/entry +entries 4096|skipped: .*)" \
	"speed-up: (${F}x in batches, ${F}x per entry|not measured \(this kernel refuses BPF maps\))"

check_rows bench_kfunc "VM (QEMU TCG, 2 vCPUs): kfuncs vs BPF_MAP_TYPE_HASH" "${rows[@]}"

check_rows bench_dump "VM: reading 4096 entries" \
	"zero-copy dump, batches \(libhmap\) +$F ms +$F ns/entry +entries 4096" \
	"zero-copy dump, per entry \(libhmap\) +$F ms +$F ns/entry +entries 4096" \
	"BPF_MAP_LOOKUP_BATCH \(htab\) +$F ms +$F ns/entry +entries 4096" \
	"speed-up: ${F}x in batches, ${F}x per entry"

check_rows bench_grow "VM: insert latency while growing" \
	"incremental( +$F){7}" "stop-the-world( +$F){7}" \
	"max insert latency, stop-the-world / incremental: ${F}x"

check_rows "failure drill" "VM: failure drill" \
	"failure drill: bench_kfunc exited 1 and reported the refused inserts with -28"

echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ "$fail" = 0 ]
