// SPDX-License-Identifier: GPL-2.0
/*
 * fentry_writes: per-process write() accounting, on vfs_write.
 *
 * Design: one hmap table, "writes", keyed by tgid (4 bytes).  The value
 * (struct write_val) holds calls and bytes requested.  The fentry program
 * runs on every vfs_write() in the system; it looks up or inserts the
 * caller's counters in place and adds atomically.  fentry programs are
 * TRACING programs, which can call the hmap kfuncs (kprobes cannot on 6.1).
 * A tracing program can interrupt another one on the same CPU; if both touch
 * the same bucket, the inner insert gets -EBUSY instead of deadlocking, and
 * that one event is not counted (stats.ebusy).
 *
 *   hmapctl create writes --key-size 4 --value-size 16 --capacity 65536
 *   hmapctl prog load build/bpf/fentry_writes.bpf.o
 *   hmapctl attach fentry fentry_writes
 *   hmapctl dump writes --btf build/bpf/fentry_writes.bpf.o --top 10
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hmap.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct write_val {
	__u64 bytes;
	__u64 calls;
};

/* tgid -> write_val */
HMAP_TABLE(writes, __u32, struct write_val);

SEC("fentry/vfs_write")
int BPF_PROG(fentry_writes, struct file *file, const char *buf, size_t count)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct write_val *v = hmap_lookup_or_init(writes, &tgid);

	if (v) {
		__sync_fetch_and_add(&v->bytes, count);
		__sync_fetch_and_add(&v->calls, 1);
	}
	return 0;
}
