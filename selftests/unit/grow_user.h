/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A user-space stand-in for hmap_rehash.ko's worker, around the portable
 * incremental-rehash core (kmod/hmap_grow.c): used by the host unit test and
 * by bench_grow_native.  Old arrays and regimes are kept until native_free():
 * threads here have no RCU, and the tests and benchmarks are short.  Freed
 * values are reclaimed by the worker after a pause that stands in for the
 * kernel's grace periods (host readers hold a value pointer for a few
 * instructions); native_reclaim_now() is the exact form for tests that
 * hold no pointer across it.  With native_attach_shm() it also keeps a
 * shared header page as the module does, and native_mmap() stands in for
 * mmap() of the table fd, so user space's reader can run against it.
 */
#ifndef __GROW_USER_H
#define __GROW_USER_H

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#include "hmap_grow.h"

#define NATIVE_STRIPES	HGR_MIN_STRIPES
#define NATIVE_POOL_MMAP_BASE	(1ULL << 40)	/* as hmap_rehash.ko */

struct native {
	struct hgr g;
	u8 stripes[NATIVE_STRIPES];
	u8 pool_lock;
	volatile int stop;
	int stw;
	int ngrows;
	struct hgr_array *garbage[64];	/* old arrays: freed at the end (no readers) */
	struct hgr_regime *prepared;	/* the spare growing regime, until cleaned up */
	struct hgr_regime *regimes[128];
	int ngarbage, nregimes;
	struct hmap_shm_header *shm;	/* what user space reads, or NULL */
	struct hgr_array *arrays[128];	/* every array made, for native_mmap() */
	u32 narrays;			/* (release) */
	u64 next_mmap;			/* mmap offset of the next array */
};

/*
 * Zeroed memory with every page in place now, as the kernel's zeroing
 * allocations (vzalloc(), __GFP_ZERO) hand it out: calloc()'s fresh zero
 * pages would fault on first touch instead, inside the insert that first
 * writes a bucket or value there, which the modules' inserts never pay.
 */
static inline void *native_zalloc(size_t bytes)
{
	void *p = malloc(bytes);

	if (p)
		memset(p, 0, bytes);
	return p;
}

/* For structs with cache-line-aligned members (struct hgr, its regimes). */
static inline void *native_zalloc_aligned(size_t bytes)
{
	void *p = aligned_alloc(64, (bytes + 63) & ~(size_t)63);

	if (!p)
		abort();
	return memset(p, 0, bytes);
}

static inline struct hgr_array *array_new(struct native *n, u32 nbuckets)
{
	struct hmap_layout l;
	struct hgr_array *a = calloc(1, sizeof(*a));

	if (hmap_layout_init(&l, n->g.key_size, 4, (u64)nbuckets * 13 / 2, ~0ULL))
		abort();
	if (l.noverflow < nbuckets / 2 + 16)	/* as hmap_rehash.ko */
		l.noverflow = nbuckets / 2 + 16;
	l.array_bytes = ((u64)(l.nbuckets + l.noverflow) * l.bucket_size + 4095) & ~4095ULL;
	if (l.array_bytes >= (2U << 20))	/* as with hugepages=1, on one node */
		hmap_layout_fit(&l, 2U << 20, ~0ULL);
	a->mem = native_zalloc(l.array_bytes);
	hmap_tab_init(&a->tab, &l, a->mem, NULL, &n->g.seed, &n->g.locks);
	a->tab.locks.mask = n->g.locks.mask;
	a->tab.l.capacity = ~0ULL;
	a->mmap_offset = n->next_mmap;
	n->next_mmap += l.array_bytes;
	if (n->narrays == sizeof(n->arrays) / sizeof(n->arrays[0]))
		abort();
	n->arrays[n->narrays] = a;
	hmap_publish(n->narrays, n->narrays + 1);
	return a;
}

static inline struct hgr_regime *regime_new(struct native *n, struct hgr_array *cur,
					    struct hgr_array *old)
{
	struct hgr_regime *r = native_zalloc_aligned(sizeof(*r));

	r->cur = cur;
	r->old = old;
	n->regimes[n->nregimes++] = r;
	return r;
}

static inline void native_add_chunk(struct native *n)
{
	void *c = native_zalloc(hgr_chunk_alloc_bytes(&n->g.pool));

	if (!hgr_pool_add_chunk(&n->g, c))
		free(c);
}

/* Every freed value reusable now: only when no thread holds a pointer. */
static inline void native_reclaim_now(struct native *n)
{
	if (hgr_reclaim_start(&n->g))
		hgr_reclaim_finish(&n->g);
}

static inline void native_top_up(struct native *n)
{
	while (hgr_wants_chunk(&n->g) && n->g.pool.nchunks < n->g.pool.maxchunks)
		native_add_chunk(n);
	if (!n->g.pool.spare_chunk) {
		void *c = native_zalloc(hgr_chunk_alloc_bytes(&n->g.pool));

		if (!hgr_pool_set_spare(&n->g, c))
			free(c);
	}
}

/* The next growth set aside: the insert that finds growth due starts it,
 * and whoever moves its last bucket completes it. */
static inline void native_prepare_spare(struct native *n)
{
	struct hgr_regime *growing;
	struct hgr_array *a;

	if (n->prepared || !hgr_wants_spare(&n->g))
		return;
	a = array_new(n, hgr_next_nbuckets(&n->g));
	growing = regime_new(n, a, NULL);
	growing->stable = regime_new(n, a, NULL);
	n->prepared = growing;
	hgr_set_spare(&n->g, growing);
}

static inline void native_fill_shm_array(struct hmap_shm_array *s, const struct hgr_array *a)
{
	s->mmap_offset = a->mmap_offset;
	s->mmap_size = a->tab.l.array_bytes;
	s->nbuckets = a->tab.l.nbuckets;
	s->noverflow = a->tab.l.noverflow;
	s->evacuated = 0;
}

/* Describe the arrays to user space, inside layout_seq (hrh_publish_layout()). */
static inline void native_publish_layout(struct native *n, struct hgr_array *cur,
					 struct hgr_array *old)
{
	struct hmap_shm_header *shm = n->shm;

	WRITE_ONCE(shm->layout_seq, shm->layout_seq + 1);
	smp_wmb();
	native_fill_shm_array(&shm->arrays[0], cur);
	if (old)
		native_fill_shm_array(&shm->arrays[1], old);
	else
		memset(&shm->arrays[1], 0, sizeof(shm->arrays[1]));
	shm->narrays = old ? 2 : 1;
	if (!old)
		shm->generation = n->ngrows;
	smp_wmb();
	WRITE_ONCE(shm->layout_seq, shm->layout_seq + 1);
}

/* Any context: an insert (or the worker) is starting a growth. */
static inline void native_grow_starting(struct hgr *g, struct hgr_regime *growing)
{
	struct native *n = (struct native *)((char *)g - offsetof(struct native, g));

	native_publish_layout(n, growing->cur, growing->old);
}

/* The prepared growth has started: move the rest, publish, retire. */
static inline void native_complete(struct native *n)
{
	struct hgr *g = &n->g;
	struct hgr_regime *growing = n->prepared;

	if (n->stw)
		while (__atomic_load_n(&g->nevacuate, __ATOMIC_RELAXED) < growing->old->tab.l.nbuckets &&
		       hmap_deref(g->regime) == growing && !n->stop)
			usleep(100);
	while (!hgr_evacuate_rest(g, 256))
		native_top_up(n);	/* inserts go on meanwhile */
	hgr_finish_growth(g, growing);
	n->garbage[n->ngarbage++] = growing->old;
	n->ngrows++;
	if (n->shm)
		native_publish_layout(n, growing->cur, NULL);	/* retired */
	n->prepared = NULL;
}

/* One growth, now. */
static inline void native_grow(struct native *n)
{
	struct hgr_regime *r;

	native_prepare_spare(n);
	if (!n->prepared)
		abort();
	r = hmap_deref(n->g.regime);
	/*
	 * Started by us, or by an insert meanwhile.  An insert that took the
	 * spare publishes the growth only after telling user space
	 * (grow_starting), so it may not be published yet: wait for it, as
	 * the kernel's worker, which the insert wakes after publishing, does.
	 */
	if (r != n->prepared && r != n->prepared->stable && !hgr_try_start_growth(&n->g)) {
		u64 t0 = hgr_now_ns();

		while ((r = hmap_deref(n->g.regime)) != n->prepared && r != n->prepared->stable) {
			if (hgr_now_ns() - t0 > 10ULL * 1000 * 1000 * 1000)
				abort();	/* the spare was taken and never published */
			sched_yield();
		}
	}
	native_complete(n);
}

static inline u64 native_now_us(void)
{
	return hgr_now_ns() / 1000;
}

/* What the kernel's worker does for a table, without the reclaim. */
static inline void native_service(struct native *n)
{
	struct hgr_regime *r = hmap_deref(n->g.regime);

	native_top_up(n);
	if (n->prepared && (r == n->prepared || r == n->prepared->stable))
		native_complete(n);
	else if (hgr_wants_grow(&n->g))
		native_grow(n);
	native_prepare_spare(n);
}

static inline void *worker(void *arg)
{
	struct native *n = arg;
	struct hgr *g = &n->g;
	u64 batch_at = 0;	/* a batch waits out its stand-in grace period */

	while (!n->stop) {
		bool grew = hgr_wants_grow(g) || (n->prepared && !g->spare);	/* busy: no nap */

		native_service(n);
		if (batch_at && native_now_us() - batch_at >= 1000) {
			hgr_reclaim_finish(g);
			batch_at = 0;
		}
		if (!batch_at && hgr_reclaim_due(g) && hgr_reclaim_start(g))
			batch_at = native_now_us();
		if (!grew)
			usleep(50);
	}
	if (batch_at)
		hgr_reclaim_finish(g);
	return NULL;
}

static inline struct native *native_new(u32 key_size, u32 value_size, u64 max_entries,
					u64 *entries, int stw)
{
	struct native *n = native_zalloc_aligned(sizeof(*n));

	n->stw = stw;
	n->g.key_size = key_size;
	n->g.seed = (hmap_seed_t){ { 0x1234, 0x5678 } };
	n->g.entries = entries;
	n->g.max_entries = max_entries;
	n->g.evac_per_write = stw ? UINT32_MAX : 1;
	n->g.locks.lock = n->stripes;
	n->g.locks.mask = NATIVE_STRIPES - 1;
	n->g.pool.lock.lock = &n->pool_lock;
	if (hgr_pool_setup(&n->g.pool, value_size, max_entries))
		abort();
	n->g.pool.chunks = calloc(n->g.pool.maxchunks, sizeof(void *));
	n->next_mmap = PAGE_SIZE;
	n->g.regime = regime_new(n, array_new(n, HGR_MIN_BUCKETS), NULL);
	native_add_chunk(n);
	native_top_up(n);	/* the reserve, from the start */
	native_prepare_spare(n);
	return n;
}

/*
 * Publish the table through @shm, a zeroed page whose entries counter was
 * given to native_new(), as hmap.ko and hmap_rehash.ko fill it.  Before any
 * other thread uses the table.
 */
static inline void native_attach_shm(struct native *n, struct hmap_shm_header *shm)
{
	const struct hmap_layout *l = &n->g.regime->cur->tab.l;

	shm->magic = HMAP_SHM_MAGIC;
	shm->abi_version = HMAP_ABI_VERSION;
	shm->id = 1;
	shm->variant = HMAP_VARIANT_INCREMENTAL;
	shm->key_size = n->g.key_size;
	shm->value_size = n->g.pool.value_size;
	shm->key_stride = l->key_stride;
	shm->value_stride = sizeof(u32);
	shm->bucket_size = l->bucket_size;
	shm->keys_offset = l->keys_off;
	shm->values_offset = l->values_off;
	shm->seed[0] = n->g.seed.key[0];
	shm->seed[1] = n->g.seed.key[1];
	shm->capacity = n->g.max_entries;
	shm->pool_mmap_offset = NATIVE_POOL_MMAP_BASE;
	shm->pool_chunk_bytes = n->g.pool.chunk_bytes;
	shm->pool_chunk_shift = HGR_CHUNK_SHIFT;
	shm->pool_value_stride = n->g.pool.value_stride;
	shm->pool_nchunks = n->g.pool.nchunks;
	n->g.pool.shm_nchunks = &shm->pool_nchunks;
	n->shm = shm;
	n->g.grow_starting = native_grow_starting;
	native_publish_layout(n, n->g.regime->cur, NULL);
}

/*
 * What mmap() of the table fd at @off maps (hrh_mmap()): an array or a pool
 * chunk, or NULL.  Any thread.  Unlike the module, an array stays mappable
 * after it retired: none is freed before native_free().
 */
static inline const void *native_mmap(struct native *n, u64 off, u64 len)
{
	const struct hgr_pool *p = &n->g.pool;
	u32 na = hmap_deref(n->narrays);

	if (off >= NATIVE_POOL_MMAP_BASE) {
		u64 c = (off - NATIVE_POOL_MMAP_BASE) / p->chunk_bytes;

		if ((off - NATIVE_POOL_MMAP_BASE) % p->chunk_bytes || len != p->chunk_bytes ||
		    c >= hmap_deref(p->nchunks))
			return NULL;
		return p->chunks[c];
	}
	for (u32 i = 0; i < na; i++)
		if (n->arrays[i]->mmap_offset == off)
			return len == n->arrays[i]->tab.l.array_bytes ? n->arrays[i]->mem : NULL;
	return NULL;
}

static inline void native_free(struct native *n)
{
	for (int i = 0; i < n->ngarbage; i++) {
		free(n->garbage[i]->mem);
		free(n->garbage[i]);
	}
	if (n->g.regime->old) {
		free(n->g.regime->old->mem);
		free(n->g.regime->old);
	} else if (n->prepared && n->g.regime == n->prepared->stable) {
		free(n->prepared->old->mem);	/* completed, not retired */
		free(n->prepared->old);
	}
	free(n->g.regime->cur->mem);
	free(n->g.regime->cur);
	if (n->g.spare) {	/* never started */
		free(n->g.spare->cur->mem);
		free(n->g.spare->cur);
	}
	for (int i = 0; i < n->nregimes; i++)
		free(n->regimes[i]);
	free(n->g.pool.spare_chunk);
	for (u32 c = 0; c < n->g.pool.nchunks; c++)
		free(n->g.pool.chunks[c]);
	free(n->g.pool.chunks);
	free(n);
}

#endif
