/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hmap_grow: the incremental-rehash core of hmap_rehash.ko.  Portable like
 * the engine (hmap_platform.h), so it is also tested and measured natively.
 *
 * Layout
 *   Values live out of line, in a pool of fixed-size chunks that never move.
 *   The bucket arrays are plain hmap engines whose "values" are 4-byte pool
 *   indexes.  Growth moves keys and indexes from the old array to one twice
 *   its size; a value pointer handed to a BPF program stays valid and
 *   canonical, so an atomic add through it is never lost to a move.
 *
 * Regimes
 *   A regime is { cur, old, lock_mask }: stable (old == NULL) or growing
 *   (old != NULL, cur has twice old's buckets).  Stripe of a key with hash h:
 *   h & lock_mask, where lock_mask + 1 = min(main buckets of the smallest
 *   live array, HMAP_MAX_LOCKS).  While growing that is old's bucket index
 *   (modulo the stripe count), so one stripe covers an old bucket and both
 *   new buckets its keys move to.  Regimes are immutable; a new one is
 *   published while holding every stripe in use (hgr_switch()), so a writer
 *   that took its stripe and still sees the same regime owns its keys.
 *
 * Concurrency rules
 *   - Writers (update, delete, evacuation) hold the key's stripe lock.
 *     Lookups take no lock: while growing, a lookup reads the old main
 *     bucket's seq: with HMAP_SEQ_EVACUATED set it searches cur, else old.
 *     Inserts first evacuate the key's old bucket, so a key inserted while
 *     growing is only ever in cur, and a lookup never misses a present key.
 *   - Evacuation copies a chain into cur, then sets HMAP_SEQ_EVACUATED in
 *     the old head's seq (between seq_begin/seq_end); the old copies stay,
 *     read-only, until the old array is freed after grace periods.  An
 *     evacuation that runs out of overflow buckets in cur removes what it
 *     copied and fails: the bucket stays in old, nothing is lost or twice.
 *   - Deletes while growing remove the key from old (if not evacuated) and
 *     from cur.  Value updates write the pool value under the stripe, inside
 *     the seq of the chain that holds the index.
 *   - The pool has its own lock (one stripe), taken inside a table stripe.
 *   - Every write evacuates its own old bucket if needed plus one more
 *     (evac_per_write); the caller's worker evacuates the rest.
 */
#ifndef _HMAP_GROW_H
#define _HMAP_GROW_H

#include "hmap_engine.h"

#define HGR_CHUNK_SHIFT		12	/* values per pool chunk: 4096 */

struct hgr_array {
	struct hmap_tab tab;		/* key -> u32 pool index */
	void *mem;			/* bucket array */
	u64 count;			/* the engine's own count for this array */
	u64 mmap_offset;		/* kernel: where user space maps it */
};

struct hgr_regime {
	struct hgr_array *cur;
	struct hgr_array *old;		/* NULL when stable */
	u32 lock_mask;
};

struct hgr_pool {
	struct hmap_locks lock;		/* one stripe */
	u32 value_size;
	u32 value_stride;
	u32 nchunks;			/* published chunks (release) */
	u32 maxchunks;
	u32 next;			/* never-used index (under lock) */
	u32 free_head;			/* 1 + first free index; 0: none (under lock) */
	u8 **chunks;			/* maxchunks slots */
};

struct hgr {
	struct hgr_regime *regime;	/* hmap_deref() */
	struct hmap_locks locks;	/* HMAP_MAX_LOCKS stripes */
	struct hgr_pool pool;
	hmap_seed_t seed;
	u32 key_size;
	u32 evac_per_write;		/* extra old buckets each write moves */
	u32 nevacuate;			/* next old bucket to claim (atomic) */
	bool want_worker;		/* an insert found room running short: the
					 * owner should run its worker (checked after
					 * inserts only, not on every update) */
	u64 *entries;			/* live entries (shared header) */
	u64 max_entries;
	/* statistics (atomic) */
	u64 evacuated;
	u64 evac_ns;
};

static __always_inline u8 *hgr_value(const struct hgr_pool *p, u32 idx)
{
	return p->chunks[idx >> HGR_CHUNK_SHIFT] +
	       (size_t)(idx & ((1U << HGR_CHUNK_SHIFT) - 1)) * p->value_stride;
}

static __always_inline u32 hgr_hash(const struct hgr *g, const void *key)
{
	return hmap_plat_hash(key, g->key_size, &g->seed);
}

/* Data path: any context, never sleeps. */
void *hgr_lookup(struct hgr *g, const void *key);
int hgr_update(struct hgr *g, const void *key, const void *value, u32 flags, void **valp);
int hgr_delete(struct hgr *g, const void *key);

/* Growth steps, for the owner's worker (process context). */
u32 hgr_lock_mask(u32 nbuckets);
void hgr_switch(struct hgr *g, struct hgr_regime *next);
int hgr_evacuate_bucket(struct hgr *g, u32 b);
bool hgr_evacuate_rest(struct hgr *g, u32 batch);
void hgr_pool_add_chunk(struct hgr *g, void *chunk);
bool hgr_wants_grow(const struct hgr *g);
bool hgr_wants_chunk(const struct hgr *g);
u64 hgr_now_ns(void);

#endif /* _HMAP_GROW_H */
