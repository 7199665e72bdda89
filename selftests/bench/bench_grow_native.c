// SPDX-License-Identifier: GPL-2.0
/*
 * bench_grow_native: the incremental-rehash core (kmod/hmap_grow.c) built as
 * user-space C, with a worker thread doing what hmap_rehash.ko's worker does
 * (allocate ahead, switch regimes, move what writers have not).  Inserts N
 * keys one at a time from 8 buckets, timing each, for the incremental variant
 * and the stop-the-world baseline (one insert moves the whole old array).
 * Prints p50, p99, p99.99 and max from every sample.
 *
 *   bench_grow_native [N]    default 4194304
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static struct hgr_array *array_new(struct native *n, u32 nbuckets)
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

static struct hgr_regime *regime_new(struct native *n, struct hgr_array *cur,
				     struct hgr_array *old, u32 mask)
{
	struct hgr_regime *r = calloc(1, sizeof(*r));

	r->cur = cur;
	r->old = old;
	r->lock_mask = mask;
	n->regimes[n->nregimes++] = r;
	return r;
}

static void *worker(void *arg)
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

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static void run(const char *mode, u32 count, int stw, double out[4])
{
	struct native *n = calloc(1, sizeof(*n));
	u32 *lat = malloc((size_t)count * sizeof(*lat));
	u64 entries = 0, stalls = 0;
	pthread_t w;
	struct timespec a, b;

	n->stw = stw;
	n->g.key_size = 8;
	n->g.seed = (hmap_seed_t){ { 0x1234, 0x5678 } };
	n->g.entries = &entries;
	n->g.max_entries = ~0ULL;
	n->g.evac_per_write = stw ? UINT32_MAX : 1;
	n->g.locks.lock = n->stripes;
	n->g.locks.mask = HMAP_MAX_LOCKS - 1;
	n->g.pool.lock.lock = &n->pool_lock;
	n->g.pool.value_size = 8;
	n->g.pool.value_stride = 8;
	n->g.pool.maxchunks = (count >> HGR_CHUNK_SHIFT) + 2;
	n->g.pool.chunks = calloc(n->g.pool.maxchunks, sizeof(void *));
	hgr_pool_add_chunk(&n->g, calloc(1U << HGR_CHUNK_SHIFT, 8));
	n->g.regime = regime_new(n, array_new(n, 8), NULL, hgr_lock_mask(8));
	pthread_create(&w, NULL, worker, n);

	for (u64 k = 0; k < count; k++) {
		u64 t0, dt;
		int ret;

		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &a);
			ret = hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL);
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (ret != -ENOSPC)
				break;
			stalls++;
			usleep(100);
		}
		if (ret)
			abort();
		t0 = (u64)a.tv_sec * 1000000000ULL + a.tv_nsec;
		dt = (u64)b.tv_sec * 1000000000ULL + b.tv_nsec - t0;
		lat[k] = dt > UINT32_MAX ? UINT32_MAX : dt;
	}
	n->stop = 1;
	pthread_join(w, NULL);
	for (u64 k = 0; k < count; k += 997)
		if (!hgr_lookup(&n->g, &k))
			abort();
	qsort(lat, count, sizeof(*lat), cmp_u32);
	out[0] = lat[count / 2];
	out[1] = lat[(u64)count * 99 / 100];
	out[2] = lat[(u64)count * 9999 / 10000];
	out[3] = lat[count - 1];
	printf("%-16s %10.0f %10.0f %10.0f %12.0f %8llu\n", mode, out[0], out[1], out[2], out[3],
	       (unsigned long long)stalls);
	/* free everything */
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
	free(lat);
	free(n);
}

int main(int argc, char **argv)
{
	u32 count = argc > 1 ? strtoul(argv[1], NULL, 0) : 1U << 22;
	double inc[4], stw[4];

	printf("# per-insert latency, native, growing from 8 buckets to %u entries (8-byte keys\n"
	       "# and values), one insert at a time, worker thread alongside; ns, every sample\n", count);
	printf("%-16s %10s %10s %10s %12s %8s\n", "variant", "p50", "p99", "p99.99", "max", "stalls");
	run("incremental", count, 0, inc);
	run("stop-the-world", count, 1, stw);
	printf("max insert latency, stop-the-world / incremental: %.0fx\n", stw[3] / inc[3]);
	return 0;
}
