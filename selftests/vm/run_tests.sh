#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM: load the modules, run every in-VM suite (kselftest TAP),
# then unload the modules.  rmmod must succeed: a table or reference left
# behind by any test fails the run.  Last line: "HMAP-TOTALS <pass> <fail> <skip>".
#   run_tests.sh [TEST-BINARY-NAME [harness args, e.g. -t model_every_flag_and_size]]
B=${HMAP_BUILD:?}
pass=0 fail=0 skip=0
only=${1:-}
[ $# -gt 0 ] && shift

for m in hmap hmap_rehash; do
	if ! insmod "$B/kmod/$m.ko"; then
		echo "not ok - insmod $B/kmod/$m.ko"
		echo "HMAP-TOTALS 0 1 0"
		exit 1
	fi
done

for t in "$B"/selftests/test_*; do
	[ -x "$t" ] || continue
	[ -n "$only" ] && [ "$(basename "$t")" != "$only" ] && continue
	out=/tmp/$(basename "$t").tap
	"$t" "$@" > "$out" 2>&1
	rc=$?
	cat "$out"
	totals=$(grep '^# Totals:' "$out" | tail -n1)
	if [ "$rc" = 4 ] && [ -z "$totals" ]; then
		echo "ok - $(basename "$t") # SKIP $(sed -n 's/.*# SKIP //p' "$out" | head -n1)"
		skip=$((skip + 1))
		continue
	fi
	if [ -z "$totals" ]; then
		echo "not ok - $(basename "$t") exited $rc without a TAP summary"
		fail=$((fail + 1))
		continue
	fi
	p=$(echo "$totals" | sed 's/.* pass:\([0-9]*\).*/\1/')
	f=$(echo "$totals" | sed 's/.* fail:\([0-9]*\).*/\1/')
	s=$(echo "$totals" | sed 's/.* skip:\([0-9]*\).*/\1/')
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$rc" != 0 ] && [ "$rc" != 4 ] && [ "$f" = 0 ]; then
		echo "not ok - $(basename "$t") exited $rc"
		fail=$((fail + 1))
	fi
done

rm -rf /sys/fs/bpf/hmap-test* /sys/fs/bpf/hmap-rehash-test
if rmmod hmap_rehash && rmmod hmap; then
	echo "ok - rmmod hmap_rehash hmap: no table or reference left behind"
	pass=$((pass + 1))
else
	echo "not ok - rmmod failed: a table or reference leaked"
	fail=$((fail + 1))
fi
echo "HMAP-TOTALS $pass $fail $skip"
[ "$fail" = 0 ]
