#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: native engine vs absl::flat_hash_map on the host, then the
# kfuncs vs BPF_MAP_TYPE_HASH in the VM (vm_bench.sh).  Prints figures;
# asserts nothing about speed, but every benchmark must run to its end: one
# that fails (a refused insert, a missed entry, a crash) is reported here and
# makes the exit status 1, after the others have run and the modules have
# been unloaded.
#
# HMAP_BENCH_QUICK=1 (make bench QUICK=1): small sizes, one pass, for the CI
# smoke test (selftests/bench/smoke.sh); the figures mean nothing then.
# HMAP_BENCH_BIG=1 (make bench BIG=1): also dump 16M entries in the VM, with
# and without huge pages (needs a 6 GiB guest).
set -uo pipefail
SRC=${HMAP_SRC:?} BUILD=${HMAP_BUILD:?}
QUICK=${HMAP_BENCH_QUICK:-0} BIG=${HMAP_BENCH_BIG:-0}
failed=()

bench() {
	local name=$1 rc
	shift
	"$BUILD/selftests/$name" "$@"
	rc=$?
	[ $rc = 0 ] || { echo "make bench: $name exited $rc" >&2; failed+=("$name (exit $rc)"); }
}

if [ "$QUICK" = 1 ]; then
	echo "# make bench QUICK=1: small sizes, one pass (a smoke test; the figures mean nothing)"
	native=(-p 1 1024) grow_native=(65536) dump_native=4096 dump_native_opts=(-p 1)
else
	native=() grow_native=() dump_native=1048576 dump_native_opts=()
fi
echo "== native (host CPU): hmap engine vs absl::flat_hash_map"
bench bench_native "${native[@]}"
echo
if [ "$QUICK" != 1 ]; then
	echo "== native (host CPU): the same at 1M, both tables' big allocations on huge pages"
	bench bench_native -H 1048576
	echo
fi
echo "== native (host CPU and kernel): reading $dump_native entries, zero-copy vs BPF_MAP_LOOKUP_BATCH"
bench bench_dump_native "${dump_native_opts[@]}" "$dump_native"
echo
echo "== native (host CPU): insert latency while growing, incremental vs stop-the-world"
bench bench_grow_native "${grow_native[@]}"
echo
echo "== VM (QEMU TCG, 2 vCPUs): kfuncs vs BPF_MAP_TYPE_HASH"
"$SRC/selftests/vm/vm.sh" --smp 2 --mem "$([ "$BIG" = 1 ] && echo 6G || echo 3G)" \
	--timeout "${HMAP_BENCH_TIMEOUT:-3600}" -- \
	env HMAP_BENCH_QUICK="$QUICK" HMAP_BENCH_BIG="$BIG" sh "$SRC/selftests/bench/vm_bench.sh"
rc=$?
[ $rc = 0 ] || failed+=("the VM part (vm.sh exit $rc; see above)")

if [ ${#failed[@]} -gt 0 ]; then
	echo "make bench: FAILED: ${failed[*]}" >&2
	exit 1
fi
