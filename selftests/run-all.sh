#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: host tests (engine and growth core with ASan, UBSan and LSan;
# libhmap.so's ABI, man pages, make install and a build against it;
# module symbol checks), the in-VM suites on every kernel the modules were
# built for (HMAP_KVERS: Debian 12's 6.1, and 6.12 and 6.12 PREEMPT_RT from
# bookworm-backports), a make bench QUICK=1 smoke run (every row printed,
# nothing failed; no figure judged), then the suites that reach kernel code again on a
# debug kernel (KASAN, lockdep, PROVE_RCU,
# atomic-sleep, preempt and list debugging, kmemleak), built once per machine
# (selftests/debug/debug-kernel.sh).
#
# Prints "N passed, N failed, N skipped" last; exits non-zero on any failure.
# These count as failures too: a kernel warning, BUG, oops, KASAN, lockdep or
# RCU report, or a leak traced to hmap; a crash or a timeout; a suite whose
# TAP summary or HMAP-TOTALS line is missing or garbled; and a skip whose
# reason is not on the list below.
#
# Skips allowed (each names why the check cannot run, not that it failed):
#   - "DEBUG=0": the caller asked for no debug-kernel run (make check DEBUG=0).
# Nothing else: in the VM every prerequisite (root, modules, cgroup v2 with
# the memory controller) is ours to provide, so a skip there is a bug.
set -uo pipefail
SRC=${HMAP_SRC:?} BUILD=${HMAP_BUILD:?} KVERS=${HMAP_KVERS:-${KVER:?}}
pass=0 fail=0 skip=0
ALLOWED_SKIPS='^DEBUG=0'
t0=$(date +%s)

num() { [[ $1 =~ ^[0-9]+$ ]]; }

# A kselftest "# Totals:" line: add it up, or count a failure if it is absent
# or garbled.  $1: what ran, $2: its output.
add_totals() {
	local what=$1 line p f s
	line=$(grep '^# Totals:' <<<"$2" | tail -n1)
	p=$(sed -n 's/.* pass:\([0-9]*\) .*/\1/p' <<<"$line")
	f=$(sed -n 's/.* fail:\([0-9]*\) .*/\1/p' <<<"$line")
	s=$(sed -n 's/.* skip:\([0-9]*\) .*/\1/p' <<<"$line")
	if ! num "$p" || ! num "$f" || ! num "$s"; then
		echo "not ok - $what printed no well-formed '# Totals:' line"
		fail=$((fail + 1))
		return 1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

# Every TAP skip in $1 whose reason is not allowed is a failure.
check_skips() {
	local reason
	while IFS= read -r reason; do
		[ -n "$reason" ] || continue
		grep -qE "$ALLOWED_SKIPS" <<<"$reason" && continue
		echo "not ok - skipped for a reason not on run-all.sh's list: $reason"
		fail=$((fail + 1))
	done < <(sed -n -E 's/^(ok [0-9]* ?.*|1\.\.0) # SKIP (.*)$/\2/p' <<<"$1")
}

for t in engine_test lookup_race_test grow_test grow_stats_test reader_test; do
	echo "== host: $t (ASan, UBSan, LSan)"
	out=$("$BUILD/selftests/$t" 2>&1)
	rc=$?
	echo "$out"
	before=$fail
	add_totals "$t" "$out"
	[ $rc -ne 0 ] && [ $fail = "$before" ] &&
		{ echo "not ok - $t exited $rc (sanitizer report?)"; fail=$((fail + 1)); }
	check_skips "$out"
done

echo "== host: module_symbols (what the modules may not call)"
out=$(HMAP_BUILD=$BUILD "$SRC/selftests/unit/module_symbols.sh" 2>&1)
echo "$out"
add_totals module_symbols "$out"
check_skips "$out"

echo "== host: kfunc_flags (the modules' kfunc sets carry the declared flags)"
out=$(HMAP_BUILD=$BUILD "$SRC/selftests/unit/kfunc_flags.sh" 2>&1)
echo "$out"
add_totals kfunc_flags "$out"
check_skips "$out"

echo "== host: lib_abi (libhmap.so exports exactly the API, versioned)"
out=$(HMAP_SRC=$SRC HMAP_BUILD=$BUILD "$SRC/selftests/pkg/lib_abi.sh" 2>&1)
echo "$out"
add_totals lib_abi "$out"
check_skips "$out"

echo "== host: man_pages (doc/*.md through md2man: clean troff, the whole API, the example)"
out=$(HMAP_SRC=$SRC HMAP_BUILD=$BUILD "$SRC/selftests/pkg/man_pages.sh" 2>&1)
echo "$out"
add_totals man_pages "$out"
check_skips "$out"

echo "== host: install (make install into a DESTDIR; build against it with pkg-config)"
out=$(HMAP_SRC=$SRC HMAP_BUILD=$BUILD "$SRC/selftests/pkg/install.sh" 2>&1)
echo "$out"
add_totals install "$out"
check_skips "$out"

# vm_run LABEL VMLINUZ KVER TIMEOUT MEM [VAR=value...]: boot VMLINUZ, run
# run_tests.sh with the variables set, and add up its HMAP-TOTALS.
vm_run() {
	local label=$1 vmlinuz=$2 kver=$3 timeout=$4 mem=$5 log vrc vt p f s start
	shift 5
	echo "== VM: $label with ${HMAP_SMP:-2} vCPUs"
	start=$(date +%s)
	log=$(mktemp)
	VMLINUZ=$vmlinuz KVER=$kver "$SRC/selftests/vm/vm.sh" --smp "${HMAP_SMP:-2}" --mem "$mem" \
		--timeout "$timeout" -- env "$@" sh "$SRC/selftests/vm/run_tests.sh" 2>&1 | tee "$log"
	vrc=${PIPESTATUS[0]}
	check_skips "$(cat "$log")"
	vt=$(grep '^HMAP-TOTALS' "$log" | tail -n1)
	rm -f "$log"
	read -r p f s <<<"$(sed -n 's/^HMAP-TOTALS \([0-9]*\) \([0-9]*\) \([0-9]*\)$/\1 \2 \3/p' <<<"$vt")"
	if num "${p:-}" && num "${f:-}" && num "${s:-}"; then
		pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	else
		echo "not ok - $label: no well-formed HMAP-TOTALS line${vt:+ ('$vt')}"
		fail=$((fail + 1)) f=0
	fi
	if [ "$vrc" -ne 0 ] && [ "$f" = 0 ]; then
		case $vrc in
		124) why="the VM timed out after ${timeout}s" ;;
		125) why="the guest crashed or panicked" ;;
		126) why="the kernel logged a warning, BUG, oops, KASAN, lockdep or RCU report" ;;
		*) why="the VM run exited $vrc" ;;
		esac
		echo "not ok - $label: $why"
		fail=$((fail + 1))
	fi
	echo "== VM: $label took $(( $(date +%s) - start ))s"
}

# Each kernel runs every suite.  On PREEMPT_RT, spinlock_t sleeps and BPF
# programs run preemptible with migration disabled: a sleeping lock taken
# where hmap holds a raw spinlock or runs with IRQs off shows up as "BUG:
# scheduling while atomic" (or "sleeping function called from invalid
# context" on a kernel with DEBUG_ATOMIC_SLEEP, which Debian's -rt lacks),
# and vm.sh fails the run on any "BUG:" line.
for k in $KVERS; do
	vm_run "$(basename /boot/vmlinuz-"$k")" /boot/vmlinuz-"$k" "$k" \
		"${HMAP_VM_TIMEOUT:-1500}" "${HMAP_MEM:-2G}" HMAP_KMOD="$BUILD/kmod/$k"
done

# The bench smoke: make bench QUICK=1 (make bench's own build of the
# modules, for KVER only; small sizes, one pass) must print every row and
# fail nothing.  It never judges a figure.
echo "== bench smoke: make bench QUICK=1 prints every row and fails nothing"
start=$(date +%s)
out=$(HMAP_SRC=$SRC HMAP_BUILD=$BUILD KVER="${KVER:-${KVERS##* }}" "$SRC/selftests/bench/smoke.sh" 2>&1)
echo "$out"
add_totals "bench smoke" "$out"
check_skips "$out"
echo "== bench smoke took $(( $(date +%s) - start ))s"

# Packages: make deb, lintian, hmap-dkms installed (DKMS builds the modules
# with BTF for every kernel), the demo and the installed-library example on
# DKMS's modules in the VM on every kernel (HMAP_PKG_VM_KVERS=... for
# fewer), and the package removed again.  Needs root (dpkg).
echo "== packages: make deb, lintian, hmap-dkms through DKMS, in the VM, removed"
start=$(date +%s)
out=$(HMAP_SRC=$SRC HMAP_BUILD=$BUILD HMAP_KVERS="$KVERS" "$SRC/selftests/pkg/deb.sh" 2>&1)
echo "$out"
add_totals packages "$out"
check_skips "$out"
echo "== packages took $(( $(date +%s) - start ))s"

# The debug kernel: the suites that reach kernel code (CLI formatting is
# checked above).  KASAN and lockdep under TCG run them several times slower:
# timeouts scale to match, the work does not shrink, and the time-bounded
# stress suite gets twice its time (in 15 s of churn a debug run once made
# only 4 tables and no BPF op met one alive, which the suite counts as a
# failure to exercise it).
if [ "${HMAP_DEBUG:-1}" = 0 ]; then
	echo "ok - debug kernel # SKIP DEBUG=0: make check DEBUG=0 asked for no debug-kernel run"
	skip=$((skip + 1))
else
	echo "== debug kernel and modules (the first build on a machine takes about 25 minutes)"
	start=$(date +%s)
	if make -s -C "$SRC" BUILD="$BUILD" debug-modules && tree=$("$SRC/selftests/debug/debug-kernel.sh" --cached); then
		echo "== debug kernel ready in $(( $(date +%s) - start ))s: $tree"
		vm_run "debug kernel ($(basename "$(dirname "$tree")"))" "$tree/arch/x86/boot/bzImage" debug \
			"${HMAP_DEBUG_VM_TIMEOUT:-3600}" "${HMAP_DEBUG_MEM:-3G}" \
			HMAP_KMOD="$BUILD/dbg/kmod" HMAP_TIMEOUT_SCALE=10 HMAP_STRESS_SECONDS=150 \
			HMAP_SUITES="${HMAP_DEBUG_SUITES:-test_hmap test_rehash test_fuzz test_stress test_progtypes}"
	else
		echo "not ok - the debug kernel or the modules for it did not build (see above)"
		fail=$((fail + 1))
	fi
fi

echo "== make check took $(( $(date +%s) - t0 ))s"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
