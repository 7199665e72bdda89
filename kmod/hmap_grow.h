/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hmap_grow: the incremental-rehash core of hmap_rehash.ko.  Portable like
 * the engine (hmap_platform.h), so it is also tested and measured natively.
 *
 * Layout
 *   Values live out of line, in a pool of fixed-size chunks that never move.
 *   The bucket arrays are plain hmap engines whose "values" are 4-byte pool
 *   indexes.  Growth moves keys and indexes from the old array to a bigger
 *   one; a value pointer handed to a BPF program stays valid and canonical,
 *   so an atomic add through it is never lost to a move.
 *
 * What BPF and user space can reach
 *   BPF programs can write value bytes in the pool, nothing else; user space
 *   maps arrays and chunks read-only.  So no allocator state lives in them:
 *   the pool's free-list links are a kernel-only array after each chunk's
 *   mapped pages, and every index read back from shared memory is checked
 *   against the published chunk count before use.
 *
 * Regimes
 *   A regime is { cur, old }: stable (old == NULL) or growing (old != NULL,
 *   cur four times as big while small, then twice).  A growing regime also carries its growth's own
 *   state: the stable regime it replaced (prev), the one to publish when
 *   done (stable) and the count of old buckets moved (nmoved).  Regimes are
 *   published with release semantics (or cmpxchg); nobody locks to switch
 *   them, and a replaced one is freed after the grace periods.
 *
 * Locks (the most held at once: ONE)
 *   - Stripes: a fixed set of 2^n raw spinlocks per table (@stripes), chosen
 *     at creation and never changed.  The stripe of a key is hash & mask.
 *     Every array has at least as many main buckets as there are stripes, so
 *     each chain of every array, old or new, belongs to exactly one stripe,
 *     and a writer holding it owns the key in both arrays.  Writers read the
 *     regime after taking the stripe: a regime published before an
 *     evacuation that they wait for is then visible to them (lock order).
 *   - Pool lock: one raw spinlock for the never-used cursor and the chunk
 *     list; never held together with a stripe.  The free list itself is a
 *     lock-free stack (tagged cmpxchg): an insert pops a slot under its
 *     stripe, and only when the list is empty drops the stripe, takes the
 *     pool lock for the cursor (or adds the owner's spare chunk), and takes
 *     the stripe again.  Deletes push freed slots on a lock-free pending
 *     list after dropping the stripe.
 *   - Each lock comes with per-CPU re-entry counters (hmap_plat_lock()): a
 *     program that interrupts a holder on the same CPU (NMI, or a tracing
 *     program inside a writer) gets -EBUSY instead of deadlocking.  A CPU
 *     waits for a lock only while it holds no hmap lock (a per-CPU count
 *     over all tables) and is not in NMI; otherwise it only tries (-EBUSY
 *     if held).  So a program run inside a locked section (NMI, or a kprobe
 *     or fentry on one of hmap's functions) never waits, and no two CPUs
 *     can each wait for a lock the other holds.  A holder runs with IRQs off
 *     and never waits, so a waiter sees the lock released after a bounded
 *     section.
 *
 * Contexts
 *   - Lookups: any context, NMI included; lock-free, bounded (retries,
 *     then the stripe lock where the context may take it: hmap_engine.h).  While growing, a lookup reads the old
 *     chain's seq: HMAP_SEQ_EVACUATED means "moved", seen in the same
 *     snapshot as the scan, and the lookup goes on in cur.
 *   - Updates and deletes: any context; one stripe, and (an insert that
 *     finds the free list empty) the pool lock after dropping it; IRQs off
 *     while held; never sleep, never allocate.
 *     An insert while growing first moves its own old bucket, then one more.
 *   - Growth: the owner sets a spare growing regime aside
 *     (hgr_set_spare()); an insert that finds growth due, or the worker,
 *     starts it (hgr_try_start_growth(), lock-free); inserts and the worker
 *     move buckets (hgr_evacuate_rest()); whoever moves the last one
 *     publishes the stable regime (cmpxchg on g->regime, so a second try is
 *     a no-op).  The owner retires the old array once it sees that stable
 *     regime published.  Chunk additions and reclaim: the owner.
 *
 * Reuse of freed values
 *   A deleted key's value slot may still be written through a pointer a
 *   program got earlier.  Freed slots wait on a "pending" list; the owner
 *   detaches it (hgr_reclaim_start()), waits for every program that could
 *   hold such a pointer to finish (in the kernel: RCU-tasks-trace, then
 *   RCU), and only then makes them reusable (hgr_reclaim_finish()).  A stale
 *   write lands in a slot nobody owns, which the next insert overwrites.
 */
#ifndef _HMAP_GROW_H
#define _HMAP_GROW_H

#include "hmap_engine.h"

#define HGR_CHUNK_SHIFT		12	/* values per pool chunk: 4096 */
#define HGR_CHUNK_VALUES	(1U << HGR_CHUNK_SHIFT)
#define HGR_NIL			0xffffffffU	/* end of a free list */
#define HGR_MIN_STRIPES		64
#define HGR_MIN_BUCKETS		512	/* 3328 entries: about one pool chunk */
#define HGR_EAGER_SPARE_BUCKETS	(1U << 14)	/* spares prepared at once up to here */

/* Entries an incremental table can hold at most: 6.5 a bucket, 2^24 buckets. */
#define HGR_MAX_ENTRIES	HMAP_MAX_ENTRIES

struct hgr_array {
	struct hmap_tab tab;		/* key -> u32 pool index */
	void *mem;			/* bucket array */
	u64 mmap_offset;		/* kernel: where user space maps it */
};

/*
 * A growth's state lives in its growing regime, never in the table: an
 * evacuator that is late (interrupted, preempted) can only ever act on the
 * growth it read, and a compare-and-exchange on g->regime makes completing
 * it idempotent.
 */
struct hgr_regime {
	struct hgr_array *cur;
	struct hgr_array *old;		/* NULL when stable */
	struct hgr_regime *prev;	/* growing: the stable regime it replaced */
	struct hgr_regime *stable;	/* growing: { cur }, published when done */
	u64 evac_base;			/* old buckets moved by the growths before */
	/* Every move adds one, while every insert reads cur and old: apart. */
	u32 nmoved ____cacheline_aligned_in_smp;	/* growing: old buckets moved (atomic) */
};

/*
 * The value pool.  Chunk c holds values [c << SHIFT, (c + 1) << SHIFT):
 * chunk_bytes of values (mapped read-only to user space), then, in the same
 * allocation but never mapped, HGR_CHUNK_VALUES u32 free-list links.
 */
struct hgr_pool {
	struct hmap_locks lock;		/* one stripe: next, chunks, spare_chunk */
	u32 value_size;
	u32 value_stride;
	u32 nchunks;			/* published chunks (release) */
	u32 maxchunks;
	u64 chunk_bytes;		/* page aligned; links follow */
	u32 next;			/* never-used index (under lock) */
	u64 free_top __aligned(8);	/* reusable now: tag << 32 | top (lock-free stack) */
	u32 nfree;			/* atomic; never below the list's length */
	u32 pend_head;			/* freed, waiting for a grace period: lock-free push */
	u32 npend;			/* atomic */
	u32 wait_head;			/* the batch inside a grace period (owner only) */
	u32 nwait;
	u8 **chunks;			/* maxchunks slots */
	u8 *spare_chunk;		/* the owner's, for an insert that finds the
					 * pool empty to add itself (under lock) */
	u32 *shm_nchunks;		/* where user space reads nchunks, or NULL */
};

struct hgr {
	struct hgr_regime *regime;	/* hmap_deref() */
	/*
	 * A growing regime prepared by the owner ({ cur: an empty array twice
	 * the current one, stable: { cur } }): whoever finds growth due, an
	 * insert in any context or the worker, takes it (xchg) and starts the
	 * growth, without waiting for anything; whoever moves the last old
	 * bucket publishes its stable regime.  The owner sees both only through
	 * g->regime.
	 */
	struct hgr_regime *spare;
	void (*grow_starting)(struct hgr *g, struct hgr_regime *growing); /* any context */
	struct hmap_locks locks;	/* the stripes; locks.mask = stripes - 1 */
	struct hgr_pool pool;
	hmap_seed_t seed;
	u32 key_size;
	u32 evac_per_write;		/* extra old buckets each insert moves */
	bool want_worker;		/* growth or a chunk is due: run the worker */
	u64 *entries;			/* live entries (shared header) */
	u64 max_entries;
	/*
	 * Written for every old bucket claimed while growing, by the worker
	 * on another CPU as much as by inserts: a line of their own, away from
	 * the regime, locks, seed and sizes every insert and lookup reads
	 * (natively that false sharing made an insert during growth take 2-4
	 * us).  The pool's free-list words still share a line with its chunk
	 * table; the worker writes them only to reclaim.
	 */
	u32 nevacuate ____cacheline_aligned_in_smp;	/* next old bucket to claim (atomic) */
	u64 evac_ns;			/* statistics (atomic): ns moving, added once per
					 * insert or worker batch that moved */
};

/* The value of pool index @idx, or NULL if @idx is not a published slot. */
static __always_inline u8 *hgr_value(const struct hgr_pool *p, u32 idx)
{
	u32 c = idx >> HGR_CHUNK_SHIFT;

	if (unlikely(c >= hmap_deref(p->nchunks)))
		return NULL;
	return p->chunks[c] + (size_t)(idx & (HGR_CHUNK_VALUES - 1)) * p->value_stride;
}

static __always_inline u32 *hgr_link(const struct hgr_pool *p, u32 idx)
{
	return (u32 *)(p->chunks[idx >> HGR_CHUNK_SHIFT] + p->chunk_bytes) +
	       (idx & (HGR_CHUNK_VALUES - 1));
}

static __always_inline u32 hgr_hash(const struct hgr *g, const void *key)
{
	return hmap_plat_hash(key, g->key_size, &g->seed);
}

/* Find @hash's key; its pool index, read in the validated snapshot of the
 * chain that holds it, in *@idx. */
static __always_inline bool hgr_find(struct hgr *g, const void *key, u32 hash, u32 *idx)
{
	const struct hgr_regime *r;
	bool moved, found;

	/* A chain that moved is looked up again in the newer array; a regime
	 * can change under us at most once per growth, so few rounds do. */
	for (int round = 0;; round++) {
		r = hmap_deref(g->regime);
		moved = false;
		if (r->old) {
			found = __hmap_tab_lookup_u32(&r->old->tab, key, hash, &moved, idx);
			if (!moved)
				return found;
		}
		moved = false;
		found = __hmap_tab_lookup_u32(&r->cur->tab, key, hash, &moved, idx);
		if (!moved || round >= 3)
			return found;
	}
}

/**
 * hgr_lookup - find a key without locks
 * @g: the table
 * @key: g->key_size bytes
 *
 * Inline: hmap.ko's kfuncs run this whole path themselves (t->grow), so the
 * layout it reads must be the variant module's: hmap_register_variant()
 * compares HMAP_LAYOUT_HASH.
 * Context: any, including NMI; bounded (hmap_engine.h).  The caller keeps the
 * arrays and the pool alive (RCU read side).
 * Return: the value in the pool, or NULL.  The slot stays the key's while
 * it exists, and nobody else's until a grace period after its delete.
 */
static __always_inline void *hgr_lookup(struct hgr *g, const void *key)
{
	u32 idx;

	if (!hgr_find(g, key, hgr_hash(g, key), &idx))
		return NULL;
	return hgr_value(&g->pool, idx);	/* NULL if out of range */
}

/* Bytes one pool chunk takes: values (mapped), then links (kernel only). */
static inline u64 hgr_chunk_alloc_bytes(const struct hgr_pool *p)
{
	return p->chunk_bytes + HGR_CHUNK_VALUES * sizeof(u32);
}

u32 hgr_stripes(u32 ncpus);
int hgr_pool_setup(struct hgr_pool *p, u32 value_size, u64 max_entries);

/* Data path: any context, never sleeps. */
int hgr_lookup_copy(struct hgr *g, const void *key, void *value);
int hgr_update(struct hgr *g, const void *key, const void *value, u32 flags, void **valp);
int hgr_delete(struct hgr *g, const void *key);

/* Growth steps, for the owner's worker (process context, one at a time). */
void hgr_set_spare(struct hgr *g, struct hgr_regime *growing);
bool hgr_try_start_growth(struct hgr *g);
bool hgr_evacuate_rest(struct hgr *g, u32 batch);
void hgr_finish_growth(struct hgr *g, struct hgr_regime *growing);
u64 hgr_evacuated_total(const struct hgr *g);
int hgr_evacuate_bucket(struct hgr *g, u32 b);
u32 hgr_next_nbuckets(const struct hgr *g);
bool hgr_pool_add_chunk(struct hgr *g, void *chunk);
bool hgr_pool_set_spare(struct hgr *g, void *chunk);
void *hgr_pool_take_spare(struct hgr *g);
bool hgr_wants_grow(const struct hgr *g);
bool hgr_wants_spare(const struct hgr *g);
bool hgr_wants_chunk(const struct hgr *g);

/* Reclaim of freed values, for the owner (one batch at a time). */
bool hgr_reclaim_start(struct hgr *g);
void hgr_reclaim_finish(struct hgr *g);
static inline bool hgr_reclaim_due(const struct hgr *g)
{
	return READ_ONCE(g->pool.pend_head) != HGR_NIL;
}

u64 hgr_now_ns(void);

#endif /* _HMAP_GROW_H */
