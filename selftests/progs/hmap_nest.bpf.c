// SPDX-License-Identifier: GPL-2.0
/*
 * For test_hmap's tracing_inside_a_locked_section_never_deadlocks: a
 * tracing program that runs inside hmap's locked section (fentry on
 * __hmap_tab_update_locked, which the engine calls holding a stripe lock)
 * and writes to another table.  Two threads write to two tables; each one's
 * program writes to the other's, so the two CPUs each hold one table's lock
 * and want the other's.  Waiting there would deadlock both CPUs with IRQs
 * off; hmap_plat_lock() must only try, and return -EBUSY.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hmap.bpf.h"

char LICENSE[] SEC("license") = "GPL";

__u64 h1, h2;			/* the two tables: __u32 key, __u64 value */
__u32 tid_a, tid_b;		/* thread A writes h1, thread B h2 */
__u64 nested_ok, nested_busy, nested_other, writes_ok, writes_busy;

#define NEST_KEYS	8	/* prefilled: updates never need a new slot */

static __always_inline void tally(int r, __u64 *ok, __u64 *busy)
{
	if (!r)
		__sync_fetch_and_add(ok, 1);
	else if (r == -EBUSY)
		__sync_fetch_and_add(busy, 1);
	else
		__sync_fetch_and_add(&nested_other, 1);
}

/* SYSCALL: 64 updates of @ctx's table, keys 0..7. */
SEC("syscall")
int nest_writer(__u64 *ctx)
{
	__u64 h = *ctx, v = 1;

	for (__u32 i = 0; i < 64; i++) {
		__u32 key = i & (NEST_KEYS - 1);
		tally(bpf_hmap_update(h, &key, sizeof(key), &v, sizeof(v)), &writes_ok, &writes_busy);
	}
	return 0;
}

SEC("fentry/__hmap_tab_update_locked")
int BPF_PROG(nest_cross)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u32 key = bpf_get_prandom_u32() & (NEST_KEYS - 1);
	__u64 h, v = 2;

	if (tid == tid_a)
		h = h2;
	else if (tid == tid_b)
		h = h1;
	else
		return 0;
	tally(bpf_hmap_update(h, &key, sizeof(key), &v, sizeof(v)), &nested_ok, &nested_busy);
	return 0;
}
