/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What bench_dump (in the VM) and bench_dump_native (on the host) do with
 * each entry a reader hands out: count it and add up key.b, the key's index
 * (keys are {i * golden, i}), so a reader that misses or repeats an entry
 * is caught.  The same work for every reader measured: libhmap's per-entry
 * callback, its batches, and BPF_MAP_LOOKUP_BATCH's copied keys.
 */
#ifndef __HMAP_DUMP_SUM_H
#define __HMAP_DUMP_SUM_H

#include <string.h>
#include <linux/types.h>

#include "libhmap.h"

struct dump_sum {
	__u64 n, keysum;
};

static inline void dump_sum_add(struct dump_sum *s, const void *key)
{
	__u64 b;

	memcpy(&b, (const char *)key + 8, 8);
	s->n++;
	s->keysum += b;
}

/* hmap_table__iterate()'s callback. */
static int dump_sum_cb(const void *key, const void *value, void *ctx)
{
	dump_sum_add(ctx, key);
	return 0;
}

/* hmap_table__iterate_batch()'s. */
static int dump_sum_batch_cb(const struct hmap_entry_ref *ents, unsigned int n, void *ctx)
{
	for (unsigned int i = 0; i < n; i++)
		dump_sum_add(ctx, ents[i].key);
	return 0;
}

#endif /* __HMAP_DUMP_SUM_H */
