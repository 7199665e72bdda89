#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM (run.sh): load make bench's hmap.ko and hmap_rehash.ko,
# run the in-VM benchmarks, then unload the modules whatever happened.  A
# benchmark that fails does not stop the others.  Exit status 1 if any
# failed, left a pin behind, or kept rmmod from succeeding.
# HMAP_BENCH_QUICK=1: small sizes, one pass, then a failure drill (a
# benchmark made to fail must say why, exit 1 and leave nothing behind).
# HMAP_BENCH_BIG=1: also the 16M-entry dumps with hugepages=0 and 1.
B=${HMAP_BUILD:?}
K=$B/kmod/$(uname -r)
rc=0

bench() {
	name=$1
	shift
	"$B/selftests/$name" "$@"
	r=$?
	if [ $r != 0 ]; then
		echo "make bench: $name exited $r" >&2
		rc=1
	fi
}

if ! insmod "$K/hmap.ko" || ! insmod "$K/hmap_rehash.ko"; then
	echo "make bench: cannot load the modules from $K (built by make bench?)" >&2
	rmmod hmap 2>/dev/null
	exit 1
fi

if [ "${HMAP_BENCH_QUICK:-0}" = 1 ]; then
	bench bench_kfunc -p 1 1024
	echo
	echo "== VM: reading 4096 entries, zero-copy vs BPF_MAP_LOOKUP_BATCH"
	bench bench_dump -p 1 4096
	echo
	echo "== VM: insert latency while growing, incremental vs stop-the-world (BPF)"
	bench bench_grow 65536
	# Failure drill: with fail_grow=1 an incremental table's pool cannot
	# grow past its first chunk (4096 values), so bench_kfunc 8192 must
	# refuse, say why (-ENOSPC) and exit 1; the pin and rmmod checks below
	# then show it cleaned up.
	echo "== VM: failure drill, bench_kfunc with hmap_rehash fail_grow=1"
	FG=/sys/module/hmap_rehash/parameters/fail_grow
	echo 1 > $FG
	out=$("$B/selftests/bench_kfunc" -p 1 8192 2>&1)
	r=$?
	echo 0 > $FG
	if [ $r = 1 ] && echo "$out" | grep -q 'inserts (warm-up) failed, the first with -28 '; then
		echo "failure drill: bench_kfunc exited 1 and reported the refused inserts with -28"
	else
		echo "make bench: failure drill: bench_kfunc with fail_grow=1 exited $r" \
			"without reporting the refused inserts with -28:" >&2
		echo "$out" >&2
		rc=1
	fi
else
	bench bench_kfunc
	echo
	echo "== VM: reading 1M entries, zero-copy vs BPF_MAP_LOOKUP_BATCH"
	bench bench_dump
	echo
	echo "== VM: insert latency while growing, incremental vs stop-the-world (BPF)"
	bench bench_grow
	# hmap.ko's hugepages=1: the same 1M rows with bucket arrays of 2 MiB
	# or more on huge pages (htab is unchanged; compare with the rows above).
	HP=/sys/module/hmap/parameters/hugepages
	echo
	echo "== VM: with hmap.ko hugepages=1 (bucket arrays on 2 MiB pages), 1M entries"
	echo 1 > $HP
	bench bench_kfunc 1048576
	echo
	bench bench_dump
	echo 0 > $HP
	if [ "${HMAP_BENCH_BIG:-0}" = 1 ]; then
		for h in 0 1; do
			echo
			echo "== VM: reading 16M entries, zero-copy vs BPF_MAP_LOOKUP_BATCH, hugepages=$h"
			echo $h > $HP
			bench bench_dump -p 2 16777216
		done
		echo 0 > $HP
	fi
fi

if [ -d /sys/fs/bpf/hmap-bench ]; then
	echo "make bench: pins left behind in /sys/fs/bpf/hmap-bench:" $(ls /sys/fs/bpf/hmap-bench) >&2
	rm -rf /sys/fs/bpf/hmap-bench
	rc=1
fi
# Tables are freed after grace periods: give rmmod a few tries.
for m in hmap_rehash hmap; do
	i=0
	until rmmod $m 2>/dev/null; do
		i=$((i + 1))
		if [ $i -ge 20 ]; then
			echo "make bench: rmmod $m failed after 10 s: a table or reference was left behind" >&2
			rmmod $m
			rc=1
			break
		fi
		sleep 0.5
	done
done
exit $rc
