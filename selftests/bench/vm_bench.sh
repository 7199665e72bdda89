#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the VM (run.sh): load make bench's hmap.ko and hmap_rehash.ko,
# run the in-VM benchmarks, then unload the modules whatever happened.  A
# benchmark that fails does not stop the others.  Exit status 1 if any
# failed, left a pin behind, or kept rmmod from succeeding.
# HMAP_BENCH_QUICK=1: small sizes, one pass.
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
else
	bench bench_kfunc
	echo
	echo "== VM: reading 1M entries, zero-copy vs BPF_MAP_LOOKUP_BATCH"
	bench bench_dump
	echo
	echo "== VM: insert latency while growing, incremental vs stop-the-world (BPF)"
	bench bench_grow
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
