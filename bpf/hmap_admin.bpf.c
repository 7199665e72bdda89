// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * hmap_admin: the SYSCALL programs libhmap runs to manage a table.
 *
 * Design: a table is owned by its descriptor map, a one-element BPF array
 * whose value (struct hmap_desc) holds a referenced kptr to the table.  The
 * loader points "hmap_desc" at the table's pin path (<pin root>/<name>) before
 * load, so libbpf creates and pins a fresh descriptor, or reuses the pinned
 * one; then it runs one of these programs with BPF_PROG_TEST_RUN:
 *
 *   hmap_create   bpf_hmap_create() + bpf_kptr_xchg() into the descriptor,
 *                 and fills the descriptor's plain fields.  The return value
 *                 is 0 or a negative errno (-EEXIST: the descriptor already
 *                 owns a table).
 *   hmap_refresh  copies the table's live stats into the descriptor, for
 *                 bpftool map dump.
 *
 * When the pin and every loaded program using the descriptor are gone, the
 * map is freed and its kptr destructor (bpf_hmap_release) drops the table.
 *
 * Part of libhmap (its skeleton is compiled in), so under libhmap's
 * licence, and built from UAPI headers alone: no vmlinux.h.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include "hmap.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The table's descriptor; its pin path is set by the loader. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct hmap_desc);
} hmap_desc SEC(".maps");

SEC("syscall")
int hmap_create(struct hmap_create_attr *ctx)
{
	struct hmap_create_attr attr = {};
	struct hmap *t, *old;
	struct hmap_desc *d;
	__u32 zero = 0;

	d = bpf_map_lookup_elem(&hmap_desc, &zero);
	if (!d)
		return -EINVAL;
	if (d->handle)
		return -EEXIST;

	attr.key_size = ctx->key_size;
	attr.value_size = ctx->value_size;
	attr.capacity = ctx->capacity;
	attr.max_capacity = ctx->max_capacity;
	attr.variant = ctx->variant;
	attr.flags = ctx->flags;
	t = bpf_hmap_create(&attr);
	if (!t)
		return attr.err;

	old = bpf_kptr_xchg(&d->table, t);
	if (old) {
		/* Lost a race with another creator: keep theirs, drop ours. */
		t = bpf_kptr_xchg(&d->table, old);
		if (t)
			bpf_hmap_release(t);
		return -EEXIST;
	}
	d->id = attr.id;
	d->variant = attr.variant;
	d->key_size = attr.key_size;
	d->value_size = attr.value_size;
	d->capacity = attr.capacity;
	bpf_hmap_stats(attr.handle, &d->stats);
	d->handle = attr.handle;

	ctx->id = attr.id;
	ctx->handle = attr.handle;
	ctx->err = 0;
	return 0;
}

SEC("syscall")
int hmap_refresh(void *ctx)
{
	struct hmap_desc *d;
	__u32 zero = 0;

	d = bpf_map_lookup_elem(&hmap_desc, &zero);
	if (!d || !d->handle)
		return -ENOENT;
	return bpf_hmap_stats(d->handle, &d->stats);
}
