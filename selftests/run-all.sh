#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: host unit tests (engine with ASan/UBSan), then the in-VM suites.
# Prints "N passed, N failed, N skipped" last; exits non-zero on any failure,
# including a kernel warning, oops or lockdep splat, a crash or a timeout.
set -uo pipefail
SRC=${HMAP_SRC:?} BUILD=${HMAP_BUILD:?}
pass=0 fail=0 skip=0

add_totals() {	# "# Totals: pass:N fail:N xfail:N xpass:N skip:N error:N"
	local line=$1
	pass=$((pass + $(sed 's/.* pass:\([0-9]*\).*/\1/' <<<"$line")))
	fail=$((fail + $(sed 's/.* fail:\([0-9]*\).*/\1/' <<<"$line")))
	skip=$((skip + $(sed 's/.* skip:\([0-9]*\).*/\1/' <<<"$line")))
}

for t in engine_test grow_test; do
	echo "== host: $t (ASan, UBSan)"
	out=$("$BUILD/selftests/$t" 2>&1)
	rc=$?
	echo "$out"
	totals=$(grep '^# Totals:' <<<"$out" | tail -n1)
	if [ -n "$totals" ]; then add_totals "$totals"; else fail=$((fail + 1)); fi
	[ $rc -ne 0 ] && [ -n "$totals" ] && [ "$(sed 's/.* fail:\([0-9]*\).*/\1/' <<<"$totals")" = 0 ] &&
		{ echo "not ok - $t exited $rc (sanitizer report?)"; fail=$((fail + 1)); }
done

echo "== host: module_symbols (what the modules may not call)"
out=$(HMAP_BUILD=$BUILD "$SRC/selftests/unit/module_symbols.sh" 2>&1)
echo "$out"
totals=$(grep '^# Totals:' <<<"$out" | tail -n1)
if [ -n "$totals" ]; then add_totals "$totals"; else fail=$((fail + 1)); fi

echo "== VM: $(basename /boot/vmlinuz-"${KVER:-}"*) with ${HMAP_SMP:-2} vCPUs"
log=$(mktemp)
"$SRC/selftests/vm/vm.sh" --smp "${HMAP_SMP:-2}" --mem "${HMAP_MEM:-2G}" --timeout "${HMAP_VM_TIMEOUT:-1500}" -- \
	sh "$SRC/selftests/vm/run_tests.sh" 2>&1 | tee "$log"
vrc=${PIPESTATUS[0]}
vt=$(sed -n 's/^HMAP-TOTALS \([0-9]*\) \([0-9]*\) \([0-9]*\)$/\1 \2 \3/p' "$log" | tail -n1)
rm -f "$log"
if [ -n "$vt" ]; then
	read -r p f s <<<"$vt"
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
fi
if [ $vrc -ne 0 ] && { [ -z "$vt" ] || [ "${f:-0}" = 0 ]; }; then
	case $vrc in
	124) why="the VM timed out" ;;
	125) why="the guest crashed or panicked" ;;
	126) why="the kernel logged a warning, BUG, oops or lockdep report" ;;
	*) why="the VM run exited $vrc" ;;
	esac
	echo "not ok - $why"
	fail=$((fail + 1))
fi

echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
