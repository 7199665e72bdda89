#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: native engine vs absl::flat_hash_map on the host, then the
# kfuncs vs BPF_MAP_TYPE_HASH in the VM.  Prints figures; asserts nothing
# about speed.
set -euo pipefail
SRC=${HMAP_SRC:?} BUILD=${HMAP_BUILD:?}

echo "== native (host CPU): hmap engine vs absl::flat_hash_map"
"$BUILD/selftests/bench_native" "$@"
echo
echo "== native (host CPU): insert latency while growing, incremental vs stop-the-world"
"$BUILD/selftests/bench_grow_native"
echo
echo "== VM (QEMU TCG, 2 vCPUs): kfuncs vs BPF_MAP_TYPE_HASH"
"$SRC/selftests/vm/vm.sh" --smp 2 --mem 3G --timeout 1800 -- sh -c \
	"insmod '$BUILD/kmod/'\$(uname -r)/hmap.ko && insmod '$BUILD/kmod/'\$(uname -r)/hmap_rehash.ko &&
	 '$BUILD/selftests/bench_kfunc' && echo &&
	 echo '== VM: reading 1M entries, zero-copy vs BPF_MAP_LOOKUP_BATCH' &&
	 '$BUILD/selftests/bench_dump' && echo &&
	 echo '== VM: insert latency while growing, incremental vs stop-the-world (BPF)' &&
	 '$BUILD/selftests/bench_grow' && rmmod hmap_rehash && rmmod hmap"
