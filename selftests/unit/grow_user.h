/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A user-space stand-in for hmap_rehash.ko's worker, around the portable
 * incremental-rehash core (kmod/hmap_grow.c): used by the host unit test and
 * by bench_grow_native.  Old arrays and regimes are kept until native_free():
 * threads here have no RCU, and the tests and benchmarks are short.
 */
#ifndef __GROW_USER_H
#define __GROW_USER_H

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "hmap_grow.h"

struct native {
	struct hgr g;
	u8 stripes[HMAP_MAX_LOCKS];
	u8 pool_lock;
	volatile int stop;
	int stw;
	struct hgr_array *garbage[64];	/* old arrays: freed at the end (no readers) */
	struct hgr_regime *regimes[128];
	int ngarbage, nregimes;
};

static inline struct hgr_array *array_new(struct native *n, u32 nbuckets)
{
	struct hmap_layout l;
	struct hgr_array *a = calloc(1, sizeof(*a));

	if (hmap_layout_init(&l, n->g.key_size, 4, (u64)nbuckets * 13 / 2, ~0ULL))
		abort();
	a->mem = calloc(1, l.array_bytes);	/* large: fresh zero pages, like __GFP_ZERO */
	hmap_tab_init(&a->tab, &l, a->mem, &a->count, &n->g.seed, &n->g.locks);
	a->tab.l.capacity = ~0ULL;
	return a;
}

static inline struct hgr_regime *regime_new(struct native *n, struct hgr_array *cur,
				     struct hgr_array *old, u32 mask)
{
	struct hgr_regime *r = calloc(1, sizeof(*r));

	r->cur = cur;
	r->old = old;
	r->lock_mask = mask;
	n->regimes[n->nregimes++] = r;
	return r;
}

static inline void *worker(void *arg)
{
	struct native *n = arg;
	struct hgr *g = &n->g;

	while (!n->stop) {
		while (hgr_wants_chunk(g))
			hgr_pool_add_chunk(g, calloc(1U << HGR_CHUNK_SHIFT, g->pool.value_stride));
		if (hgr_wants_grow(g)) {
			struct hgr_regime *r = g->regime;
			struct hgr_array *old = r->cur, *cur = array_new(n, old->tab.l.nbuckets * 2);

			__atomic_store_n(&g->nevacuate, 0, __ATOMIC_RELAXED);
			hgr_switch(g, regime_new(n, cur, old, r->lock_mask));
			if (n->stw)
				while (__atomic_load_n(&g->nevacuate, __ATOMIC_RELAXED) < old->tab.l.nbuckets &&
				       !n->stop)
					usleep(100);
			while (!hgr_evacuate_rest(g, 256))
				;
			hgr_switch(g, regime_new(n, cur, NULL, hgr_lock_mask(cur->tab.l.nbuckets)));
			n->garbage[n->ngarbage++] = old;
		} else {
			usleep(50);
		}
	}
	return NULL;
}

static inline struct native *native_new(u32 key_size, u32 value_size, u64 max_entries,
				       u64 *entries, int stw)
{
	struct native *n = calloc(1, sizeof(*n));

	n->stw = stw;
	n->g.key_size = key_size;
	n->g.seed = (hmap_seed_t){ { 0x1234, 0x5678 } };
	n->g.entries = entries;
	n->g.max_entries = max_entries;
	n->g.evac_per_write = stw ? UINT32_MAX : 1;
	n->g.locks.lock = n->stripes;
	n->g.locks.mask = HMAP_MAX_LOCKS - 1;
	n->g.pool.lock.lock = &n->pool_lock;
	n->g.pool.value_size = value_size;
	n->g.pool.value_stride = value_size <= 4 ? 4 : (value_size + 7) & ~7U;
	n->g.pool.maxchunks = (u32)(max_entries >> HGR_CHUNK_SHIFT) + 2;
	n->g.pool.chunks = calloc(n->g.pool.maxchunks, sizeof(void *));
	hgr_pool_add_chunk(&n->g, calloc(1U << HGR_CHUNK_SHIFT, n->g.pool.value_stride));
	n->g.regime = regime_new(n, array_new(n, 8), NULL, hgr_lock_mask(8));
	return n;
}

static inline void native_free(struct native *n)
{
	for (int i = 0; i < n->ngarbage; i++) {
		free(n->garbage[i]->mem);
		free(n->garbage[i]);
	}
	free(n->g.regime->cur->mem);
	free(n->g.regime->cur);
	for (int i = 0; i < n->nregimes; i++)
		free(n->regimes[i]);
	for (u32 c = 0; c < n->g.pool.nchunks; c++)
		free(n->g.pool.chunks[c]);
	free(n->g.pool.chunks);
	free(n);
}

#endif
