// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests of the incremental-rehash core (kmod/hmap_grow.c), built
 * as user-space C with ASan and UBSan, with a worker thread standing in for
 * hmap_rehash.ko's (grow_user.h).
 *
 *  - threads: two writers and a reader while the table grows from 8
 *    buckets: no lost or duplicated key, lookups never miss a published key;
 *  - stop_the_world: the baseline mode moves everything in one insert;
 *  - max_capacity: inserts past the cap fail with -ENOSPC, nothing changes.
 */
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "grow_user.h"

#define PER_WRITER	100000

struct wctx {
	struct native *n;
	u64 id;
	volatile u32 published;
	long failures;
};

static void *writer(void *arg)
{
	struct wctx *w = arg;

	for (u64 i = 0; i < PER_WRITER; i++) {
		u64 key = w->id << 32 | i, val[2] = { key, ~key };
		int ret;

		while ((ret = hgr_update(&w->n->g, &key, val, HMAP_NOEXIST, NULL)) == -ENOSPC)
			usleep(50);	/* growth catching up */
		if (ret)
			w->failures++;
		__atomic_store_n(&w->published, i + 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/* After the reader stopped: every published key stays present while it reads. */
static void *deleter(void *arg)
{
	struct wctx *w = arg;

	for (u64 i = 1; i < PER_WRITER; i += 2) {
		u64 key = w->id << 32 | i;

		if (hgr_delete(&w->n->g, &key))
			w->failures++;
	}
	return NULL;
}

struct rctx {
	struct native *n;
	struct wctx *w;
	volatile int stop;
	long misses, lookups;
};

static void *reader(void *arg)
{
	struct rctx *r = arg;
	u64 seed = 7;

	while (!r->stop) {
		struct wctx *w = &r->w[seed & 1];
		u32 n = __atomic_load_n(&w->published, __ATOMIC_ACQUIRE);
		u64 key, *v;

		seed = seed * 6364136223846793005ULL + 1;
		if (!n)
			continue;
		key = w->id << 32 | ((seed >> 33) % n);
		v = hgr_lookup(&r->n->g, &key);
		r->lookups++;
		if (!v || v[0] != key || v[1] != ~key)
			r->misses++;
	}
	return NULL;
}

TEST(threads_grow_from_8_buckets)
{
	u64 entries = 0;
	struct native *n = native_new(8, 16, 1 << 20, &entries, 0);
	struct wctx w[2] = { { .n = n, .id = 1 }, { .n = n, .id = 2 } };
	struct rctx r = { .n = n, .w = w };
	pthread_t tw[2], tr, wk;

	pthread_create(&wk, NULL, worker, n);
	pthread_create(&tr, NULL, reader, &r);
	for (int i = 0; i < 2; i++)
		pthread_create(&tw[i], NULL, writer, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(tw[i], NULL);
	r.stop = 1;
	pthread_join(tr, NULL);
	/* delete the odd keys, from both writers at once */
	for (int i = 0; i < 2; i++)
		pthread_create(&tw[i], NULL, deleter, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(tw[i], NULL);
	n->stop = 1;
	pthread_join(wk, NULL);

	TH_LOG("%d growths, %ld lookups while growing", n->ngarbage, r.lookups);
	EXPECT_EQ(0, w[0].failures);
	EXPECT_EQ(0, w[1].failures);
	EXPECT_EQ(0, r.misses);
	EXPECT_GE(n->ngarbage, 10);	/* 8 buckets -> 2^13 and more */
	EXPECT_EQ(PER_WRITER, entries);	/* 2 writers, half deleted */
	for (u64 id = 1; id <= 2; id++)
		for (u64 i = 0; i < PER_WRITER; i++) {
			u64 key = id << 32 | i, *v = hgr_lookup(&n->g, &key);

			if (i & 1) {
				ASSERT_EQ(NULL, v);
			} else {
				ASSERT_NE(NULL, v);
				ASSERT_EQ(key, v[0]);
			}
		}
	native_free(n);
}

TEST(stop_the_world_baseline)
{
	u64 entries = 0;
	struct native *n = native_new(8, 8, 1 << 18, &entries, 1);
	pthread_t wk;
	int ret;

	pthread_create(&wk, NULL, worker, n);
	for (u64 k = 0; k < 50000; k++) {
		while ((ret = hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL)) == -ENOSPC)
			usleep(50);
		ASSERT_EQ(0, ret);
	}
	n->stop = 1;
	pthread_join(wk, NULL);
	for (u64 k = 0; k < 50000; k++) {
		u64 *v = hgr_lookup(&n->g, &k);

		ASSERT_NE(NULL, v);
		ASSERT_EQ(k, *v);
	}
	EXPECT_EQ(50000, entries);
	native_free(n);
}

TEST(max_capacity_caps_growth)
{
	u64 entries = 0, k, v;
	struct native *n = native_new(8, 8, 1000, &entries, 0);
	pthread_t wk;
	int ret = 0;

	pthread_create(&wk, NULL, worker, n);
	for (k = 0; k < 1000; k++) {
		while ((ret = hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL)) == -ENOSPC)
			usleep(50);
		ASSERT_EQ(0, ret);
	}
	k = 1000;
	EXPECT_EQ(-ENOSPC, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	k = 5;
	v = 55;
	EXPECT_EQ(0, hgr_update(&n->g, &k, &v, HMAP_EXIST, NULL));
	EXPECT_EQ(1000, entries);
	n->stop = 1;
	pthread_join(wk, NULL);
	/* 1000 entries fit in 256 buckets: growth stopped short of the cap. */
	EXPECT_LE(n->g.regime->cur->tab.l.nbuckets, 256);
	native_free(n);
}

TEST_HARNESS_MAIN
