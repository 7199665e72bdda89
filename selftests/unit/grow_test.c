// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests of the incremental-rehash core (kmod/hmap_grow.c), built
 * as user-space C with ASan and UBSan, with a worker thread standing in for
 * hmap_rehash.ko's (grow_user.h).
 *
 *  - threads: two writers insert, update and delete while a reader looks
 *    keys up and the table grows from its smallest size: no insert
 *    refused, no lost or duplicated key, no key never deleted missed, and
 *    every value read is one its writer wrote, never older than one read
 *    before;
 *  - stop_the_world: the baseline mode moves everything in one insert;
 *  - max_capacity: inserts past the cap fail with -ENOSPC, nothing changes;
 *  - stale value writes: bytes written through a deleted key's value pointer
 *    corrupt nothing, and the slot is reused only after the grace period;
 *  - the "evacuated" statistic counts each old bucket once per growth,
 *    and during one the buckets moved so far;
 *  - 2^31 writes into one chain never mark it evacuated, and a growth
 *    then moves its key once;
 *  - a lookup never waits for a writer that does not finish;
 *  - the worker waits for an insert that took the spare to publish it;
 *  - a free-list pop interrupted by pops and a push of the same top (ABA,
 *    as from an NMI program) never hands out a slot in use, nor does a
 *    push interrupted by a pop, nor threads racing pushes and pops; every
 *    value slot is then in exactly one place (pool_conserved()).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "unit_harness.h"
#include "grow_user.h"

#define PER_WRITER	100000		/* keys per writer: even ones stable, odd ones volatile */

/* A value: its key, a version its writer counts up, and a check word of
 * both, so a value that is not one its key's writer wrote is seen. */
struct gval {
	u64 key;
	u64 version;
	u64 check;
};

static void gval_make(struct gval *v, u64 key, u64 version)
{
	u64 x = key * 0x9e3779b97f4a7c15ULL ^ version * 0xc2b2ae3d27d4eb4fULL;

	x ^= x >> 31;
	*v = (struct gval){ key, version, x * 0xbf58476d1ce4e5b9ULL };
}

static bool gval_ok(const struct gval *v, u64 key)
{
	struct gval want;

	gval_make(&want, key, v->version);
	return v->key == key && v->check == want.check;
}

struct wctx {
	struct native *n;
	u64 id;			/* 1 or 2: keys id << 32 | i */
	u64 *version;		/* per key i: newest version begun (release) */
	u64 *floor;		/* per key i: oldest version a lookup starting now
				 * may find: the last one written, or one past a
				 * deleted one (release, once the call returned) */
	u8 *live;		/* per key i: present (this writer's) */
	volatile u32 published;	/* keys [0, published) were inserted once */
	long failures;
	long refused;
};

static void gwrite(struct wctx *w, u64 i, u32 flags)
{
	u64 key = w->id << 32 | i, version = w->version[i] + 1;
	struct gval v;
	int ret;

	__atomic_store_n(&w->version[i], version, __ATOMIC_RELEASE);
	gval_make(&v, key, version);
	while ((ret = hgr_update(&w->n->g, &key, &v, flags, NULL)) == -ENOSPC) {
		w->refused++;	/* growth did not keep up: a defect */
		usleep(50);
	}
	if (ret)
		w->failures++;
	__atomic_store_n(&w->floor[i], version, __ATOMIC_RELEASE);
	w->live[i] = 1;
}

static void gtoggle(struct wctx *w, u64 i)
{
	u64 key = w->id << 32 | i;

	if (!w->live[i]) {
		gwrite(w, i, HMAP_NOEXIST);
		return;
	}
	if (hgr_delete(&w->n->g, &key))
		w->failures++;
	__atomic_store_n(&w->floor[i], w->version[i] + 1, __ATOMIC_RELEASE);
	w->live[i] = 0;
}

/* Inserts every key once; meanwhile updates stable keys and deletes and
 * inserts again volatile ones, among those already published, and the hot
 * pair (keys 0 and 1) every time. */
static void *writer(void *arg)
{
	struct wctx *w = arg;
	u64 rnd = w->id;

	for (u64 i = 0; i < PER_WRITER; i++) {
		u64 j;

		gwrite(w, i, HMAP_NOEXIST);
		__atomic_store_n(&w->published, i + 1, __ATOMIC_RELEASE);
		rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
		gwrite(w, (rnd >> 33) % (i + 1) & ~1ULL, HMAP_EXIST);
		j = ((rnd >> 13) % (i + 1)) | 1;
		if (j <= i)
			gtoggle(w, j);
		if (i >= 1) {
			gwrite(w, 0, HMAP_EXIST);
			gtoggle(w, 1);
		}
	}
	return NULL;
}

/* After the reader stopped: the volatile keys go. */
static void *deleter(void *arg)
{
	struct wctx *w = arg;

	for (u64 i = 1; i < PER_WRITER; i += 2) {
		u64 key = w->id << 32 | i;

		if (w->live[i] && hgr_delete(&w->n->g, &key))
			w->failures++;
	}
	return NULL;
}

struct rctx {
	struct native *n;
	struct wctx *w;
	volatile int stop;
	u64 *last[2];		/* per writer and key: newest version seen */
	long misses, bad, stale, lookups;
};

/*
 * Every other lookup copies the value out under the stripe (as the ioctl
 * does): it must be a value the key's writer wrote, not older than one
 * written (or deleted) before the lookup began, nor than the last one
 * seen.  The others are lock-free, as a BPF program's, and get a pointer
 * to bytes a writer may be changing: only a stable key's own word is
 * checked there (a volatile key's slot may be freed and reused meanwhile).
 * A stable key is never missing.
 */
static void *reader(void *arg)
{
	struct rctx *r = arg;
	u64 seed = 7;

	while (!r->stop) {
		struct wctx *w = &r->w[seed & 1];
		u64 *last = r->last[seed & 1];
		u32 n = __atomic_load_n(&w->published, __ATOMIC_ACQUIRE);
		u64 i, key, floor;
		struct gval v, *p;
		bool copy = seed & 2;

		seed = seed * 6364136223846793005ULL + 1;
		if (!n)
			continue;
		/* a quarter on the hot pair, the rest anywhere */
		i = seed & 0x30 ? (seed >> 33) % n : (seed >> 40) % 2 % n;
		key = w->id << 32 | i;
		floor = __atomic_load_n(&w->floor[i], __ATOMIC_ACQUIRE);
		r->lookups++;
		if (!copy) {
			p = hgr_lookup(&r->n->g, &key);
			if (!(i & 1) && (!p || p->key != key))
				r->misses++;
			continue;
		}
		if (hgr_lookup_copy(&r->n->g, &key, &v)) {
			r->misses += !(i & 1);
		} else if (!gval_ok(&v, key)) {
			r->bad++;
		} else if (v.version < floor || v.version < last[i] ||
			   v.version > __atomic_load_n(&w->version[i], __ATOMIC_ACQUIRE)) {
			r->stale++;
		} else {
			last[i] = v.version;
		}
	}
	return NULL;
}

TEST(threads_grow_from_smallest_never_refusing)
{
	u64 entries = 0;
	struct native *n = native_new(8, sizeof(struct gval), 1 << 20, &entries, 0);
	struct wctx w[2];
	struct rctx r = { .n = n, .w = w };
	pthread_t tw[2], tr, wk;

	for (int i = 0; i < 2; i++) {
		w[i] = (struct wctx){ .n = n, .id = i + 1 };
		w[i].version = calloc(PER_WRITER, sizeof(u64));
		w[i].floor = calloc(PER_WRITER, sizeof(u64));
		w[i].live = calloc(PER_WRITER, 1);
		r.last[i] = calloc(PER_WRITER, sizeof(u64));
	}
	pthread_create(&wk, NULL, worker, n);
	pthread_create(&tr, NULL, reader, &r);
	for (int i = 0; i < 2; i++)
		pthread_create(&tw[i], NULL, writer, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(tw[i], NULL);
	r.stop = 1;
	pthread_join(tr, NULL);
	/* delete the volatile keys left, from both writers at once */
	for (int i = 0; i < 2; i++)
		pthread_create(&tw[i], NULL, deleter, &w[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(tw[i], NULL);
	n->stop = 1;
	pthread_join(wk, NULL);

	TH_LOG("%d growths, %ld lookups while growing, %ld + %ld inserts refused", n->ngrows,
	       r.lookups, w[0].refused, w[1].refused);
	EXPECT_EQ(0, w[0].failures);
	EXPECT_EQ(0, w[1].failures);
	/* Refusals are counted, not asserted, here: this stand-in worker is a
	 * polling thread that the scheduler may starve for milliseconds while
	 * four threads share two cores.  The kernel's is woken on demand, and
	 * test_rehash asserts zero refusals there. */
	EXPECT_EQ(0, r.misses);
	EXPECT_EQ(0, r.bad);
	EXPECT_EQ(0, r.stale);
	EXPECT_GE(n->ngrows, 4);	/* 512 buckets -> 2^16 for 200k keys */
	EXPECT_EQ(PER_WRITER, entries);	/* 2 writers, the stable half each */
	/* Stable keys hold their last version, volatile ones are gone. */
	for (int id = 0; id < 2; id++)
		for (u64 i = 0; i < PER_WRITER; i++) {
			u64 key = w[id].id << 32 | i;
			struct gval v, *p = hgr_lookup(&n->g, &key);

			if (i & 1) {
				ASSERT_EQ(NULL, p);
				ASSERT_EQ(-ENOENT, hgr_lookup_copy(&n->g, &key, &v));
			} else {
				ASSERT_NE(NULL, p);
				ASSERT_EQ(0, hgr_lookup_copy(&n->g, &key, &v));
				ASSERT_TRUE(gval_ok(&v, key));
				ASSERT_EQ(w[id].version[i], v.version);
			}
		}
	for (int i = 0; i < 2; i++) {
		free(w[i].version);
		free(w[i].floor);
		free(w[i].live);
		free(r.last[i]);
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

/* Slots holding a key in every bucket of @t, main and overflow. */
static u64 live_slots(const struct hmap_tab *t)
{
	u64 live = 0;

	for (u64 b = 0; b < (u64)t->l.nbuckets + t->l.noverflow; b++)
		for (int i = 0; i < HMAP_BUCKET_SLOTS; i++)
			live += hmap_bucket_at(t, b)->tophash[i] >= HMAP_TOPHASH_MIN;
	return live;
}

/*
 * Every value slot in exactly one place: a live key's, the free list (no
 * index twice, none never handed out), pending, or never used.  Only when
 * no thread is inside the table.  0, or -1 with the reason in @why.
 */
static int pool_conserved(struct native *n, u64 entries, char *why, size_t len)
{
	struct hgr_pool *p = &n->g.pool;
	u8 *seen = calloc(p->next + 1, 1);
	u32 walked = 0, top;
	int ret = -1;

	for (top = (u32)p->free_top; top != HGR_NIL; top = *hgr_link(p, top), walked++) {
		if (top >= p->next || seen[top]++) {
			snprintf(why, len, "free list: index %u %s", top,
				 top >= p->next ? "never handed out" : "twice");
			goto out;
		}
	}
	if (walked != p->nfree) {
		snprintf(why, len, "free list has %u values, nfree says %u", walked, p->nfree);
		goto out;
	}
	if (p->next != entries + p->nfree + p->npend) {
		snprintf(why, len, "%u values handed out != %llu live + %u free + %u pending",
			 p->next, (unsigned long long)entries, p->nfree, p->npend);
		goto out;
	}
	ret = 0;
out:
	free(seen);
	return ret;
}

/* pool_conserved() as a test expectation, logging why it failed. */
#define EXPECT_POOL_CONSERVED(n, entries) do {					\
	char why_[128] = "";							\
										\
	EXPECT_EQ(0, pool_conserved(n, entries, why_, sizeof(why_)));		\
	if (why_[0])								\
		TH_LOG("%s", why_);						\
} while (0)

/* The first of @keys whose value is missing or not the key itself, or NULL. */
static const u64 *first_key_without_its_value(struct native *n, const u64 *keys, int nkeys)
{
	for (int i = 0; i < nkeys; i++) {
		u64 *v = hgr_lookup(&n->g, &keys[i]);

		if (!v || *v != keys[i])
			return &keys[i];
	}
	return NULL;
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
	/* Refused inserts give back the value slot they took, free or new. */
	for (k = 2000; k < 2100; k++)
		EXPECT_EQ(-ENOSPC, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	for (k = 0; k < 10; k++)
		EXPECT_EQ(0, hgr_delete(&n->g, &k));
	native_reclaim_now(n);
	for (k = 2000; k < 2010; k++)
		EXPECT_EQ(0, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	for (k = 3000; k < 3100; k++)
		EXPECT_EQ(-ENOSPC, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	EXPECT_POOL_CONSERVED(n, entries);
	/* 1000 entries fit in the smallest array: no growth for the cap. */
	EXPECT_EQ(HGR_MIN_BUCKETS, n->g.regime->cur->tab.l.nbuckets);
	native_free(n);
}

static long pops_seen;	/* by grow_test_pop_hook(): pops that found a value */

/* Insert @k with NOEXIST while it is there: -EEXIST, its value unchanged,
 * and no value taken from the free list, not even for a moment. */
static int noexist_present(struct native *n, u64 k)
{
	u64 v = ~k, *p, e = *n->g.entries;
	long pops = pops_seen;
	int ret = hgr_update(&n->g, &k, &v, HMAP_NOEXIST, NULL);

	p = hgr_lookup(&n->g, &k);
	if (!p || *p != k || pops_seen != pops || *n->g.entries != e)
		return -EINVAL;
	return ret;
}

/*
 * HMAP_NOEXIST on a key that is there is -EEXIST whatever else would refuse
 * an insert (the table at max_entries, the pool out of values, the key's old
 * bucket not moved yet), with its value untouched, and it takes no value
 * slot and no count on the way: a value popped and pushed back, or the
 * count raised and lowered, would refuse a concurrent insert at the cap
 * (helper review of 1a43b03, which skipped the look for NOEXIST: 284237 of
 * 2000000 concurrent inserts at 999 of 1000 entries refused).
 */
TEST(noexist_on_a_present_key_is_eexist_whatever_else_refuses)
{
	u64 entries = 0, k, next = 1000, live_lo = 0, tested = 0;
	struct native *n = native_new(8, 8, 1000, &entries, 0);
	struct hgr_regime *r;
	int ret = 0;

	for (k = 0; k < 1000; k++)
		ASSERT_EQ(0, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	/* At max_entries, with a free value (the one the refused insert of an
	 * absent key took and gave back): taken, then given back again. */
	k = 5000;
	EXPECT_EQ(-ENOSPC, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	ASSERT_EQ(1, n->g.pool.nfree);
	for (k = 0; k < 1000; k += 7)
		ASSERT_EQ(-EEXIST, noexist_present(n, k)) TH_LOG("key %llu at the cap", (unsigned long long)k);
	EXPECT_EQ(1, n->g.pool.nfree);
	EXPECT_POOL_CONSERVED(n, entries);
	/* Out of values: deleted ones wait (no reclaim here) until none is left. */
	while (!ret) {
		for (k = live_lo; k < live_lo + 100; k++)
			ASSERT_EQ(0, hgr_delete(&n->g, &k));
		live_lo += 100;
		for (k = 0; k < 100 && !ret; k++, next++) {
			u64 key = next;

			ret = hgr_update(&n->g, &key, &key, HMAP_NOEXIST, NULL);
		}
		ASSERT_GT(1000000, next);
	}
	ASSERT_EQ(-ENOSPC, ret);
	next--;		/* refused */
	ASSERT_GT(1000, entries);
	for (k = live_lo; k < next; k += 7)
		ASSERT_EQ(-EEXIST, noexist_present(n, k)) TH_LOG("key %llu, pool empty", (unsigned long long)k);
	k = next;
	EXPECT_EQ(-ENOSPC, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	TH_LOG("pool out of values after %llu inserts, %llu entries", (unsigned long long)next,
	       (unsigned long long)entries);
	EXPECT_POOL_CONSERVED(n, entries);
	native_free(n);

	/* Growing, no worker: keys whose old bucket has not moved yet. */
	entries = 0;
	n = native_new(8, 8, 1 << 20, &entries, 0);
	for (k = 0; !n->g.regime->old; k++) {
		ASSERT_GT(100000, k);
		ASSERT_EQ(0, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	}
	/* Free values to take: the last 50 keys deleted, their values reclaimed. */
	for (u64 i = k - 50; i < k; i++)
		ASSERT_EQ(0, hgr_delete(&n->g, &i));
	k -= 50;
	native_reclaim_now(n);
	ASSERT_EQ(50, n->g.pool.nfree);
	r = n->g.regime;
	for (u64 i = 0; i < k; i++) {
		u32 b = hgr_hash(&n->g, &i) & r->old->tab.mask;

		if (READ_ONCE(hmap_bucket_at(&r->old->tab, b)->seq) & HMAP_SEQ_EVACUATED)
			continue;
		ASSERT_EQ(-EEXIST, noexist_present(n, i)) TH_LOG("key %llu in old bucket %u", (unsigned long long)i, b);
		tested++;
	}
	TH_LOG("%llu keys looked for in old buckets", (unsigned long long)tested);
	EXPECT_LT(100, tested);
	EXPECT_EQ(k, entries);
	EXPECT_POOL_CONSERVED(n, entries);
	native_free(n);
}

/*
 * A program keeps a value pointer after its key is deleted (lookup-or-init,
 * then an atomic add, racing a delete) and writes anything through it.
 * Allocator state must not be there, and the slot must not go to another
 * key before the grace period.
 */
TEST(stale_value_writes_corrupt_nothing)
{
	u64 entries = 0, k, *v, *stale[100];
	struct native *n = native_new(8, 16, 1 << 16, &entries, 0);

	for (k = 0; k < 1000; k++) {
		u64 val[2] = { k, ~k };

		native_service(n);
		ASSERT_EQ(0, hgr_update(&n->g, &k, val, HMAP_NOEXIST, NULL));
	}
	for (k = 0; k < 100; k++) {
		stale[k] = hgr_lookup(&n->g, &k);
		ASSERT_NE(NULL, stale[k]);
		ASSERT_EQ(0, hgr_delete(&n->g, &k));
		/* what the old free list would have read as its next link */
		stale[k][0] = k & 1 ? 0x40000000 : k + 5;
		stale[k][1] = 0xdeadbeefcafef00dULL;
	}
	/* Before the grace period no new key gets a deleted key's slot. */
	for (k = 1000; k < 3000; k++) {
		u64 val[2] = { k, ~k };
		void *p;

		native_service(n);
		ASSERT_EQ(0, hgr_update(&n->g, &k, val, HMAP_NOEXIST, &p));
		for (int i = 0; i < 100; i++)
			ASSERT_NE((void *)stale[i], p);
	}
	/* The grace period passed (no pointer is held): slots are reused, and
	 * writes through the old pointers stop, as programs have returned. */
	native_reclaim_now(n);
	for (k = 3000; k < 5000; k++) {
		u64 val[2] = { k, ~k };

		native_service(n);
		ASSERT_EQ(0, hgr_update(&n->g, &k, val, HMAP_NOEXIST, NULL));
	}
	EXPECT_EQ(4900, entries);
	for (k = 0; k < 5000; k++) {
		v = hgr_lookup(&n->g, &k);
		if (k < 100) {
			ASSERT_EQ(NULL, v);
		} else {
			ASSERT_NE(NULL, v);
			ASSERT_EQ(k, v[0]);
			ASSERT_EQ(~k, v[1]);
		}
	}
	/* Every never-used or reclaimed slot was handed out exactly once. */
	EXPECT_EQ(4900, n->g.pool.next - n->g.pool.nfree);
	native_free(n);
}

/*
 * The statistics' "evacuated": every old main bucket once per growth, over
 * all growths; during one, the buckets moved so far (the regime's nmoved).
 */
TEST(evacuated_counts_each_old_bucket_once)
{
	u64 entries = 0, want = 0;
	struct native *n = native_new(8, 8, 1 << 22, &entries, 0);

	for (int grow = 0; grow < 2; grow++) {	/* small arrays: spares at once */
		u32 nb = n->g.regime->cur->tab.l.nbuckets;

		for (u64 k = grow * 1000; k < grow * 1000 + 1000; k++) {
			native_top_up(n);	/* the worker's part: values ready */
			ASSERT_EQ(0, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
		}
		EXPECT_EQ(want, hgr_evacuated_total(&n->g));
		native_grow(n);
		want += nb;
		ASSERT_EQ(NULL, n->g.regime->old);
		EXPECT_EQ(want, hgr_evacuated_total(&n->g));
	}
	/* Half way through a growth: what has moved, no more. */
	for (u64 k = 3000; !n->prepared && k < 60000; k++) {
		native_top_up(n);
		ASSERT_EQ(0, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
		native_prepare_spare(n);
	}
	ASSERT_NE(NULL, n->prepared);
	ASSERT_TRUE(hgr_try_start_growth(&n->g));
	ASSERT_EQ(0, hgr_evacuate_bucket(&n->g, 0));
	ASSERT_EQ(0, hgr_evacuate_bucket(&n->g, 1));
	ASSERT_EQ(0, hgr_evacuate_bucket(&n->g, 1));	/* already moved */
	EXPECT_EQ(want + 2, hgr_evacuated_total(&n->g));
	native_complete(n);
	native_free(n);
}

/*
 * Bit 31 of a chain's seq means "evacuated".  A hot key updated 2^31 times
 * (minutes at 10 Mpps) must not set it: the chain would be skipped by the
 * next growth and its keys lost.  The writes are driven through the same
 * seq_begin/seq_end pair every update uses, then real updates and a growth.
 */
TEST(two_to_the_31_writes_never_mark_a_chain_evacuated)
{
	u64 entries = 0, k = 42, val[2] = { 42, ~42ULL }, *v;
	struct native *n = native_new(8, 16, 1 << 16, &entries, 0);
	struct hgr_array *a = n->g.regime->cur;
	struct hmap_bucket *head;

	ASSERT_EQ(0, hgr_update(&n->g, &k, val, HMAP_NOEXIST, NULL));
	head = hmap_bucket_at(&a->tab, hgr_hash(&n->g, &k) & a->tab.mask);
	/* Checked along the way: once wrapped, a 32-bit count clears the bit
	 * again, and it was set from the 2^30th write on. */
	for (u64 i = 1; i <= (1ULL << 31); i++) {
		hmap_seq_begin(head);
		hmap_seq_end(head);
		if (!(i & ((1ULL << 26) - 1)))
			ASSERT_EQ(0, head->seq & HMAP_SEQ_EVACUATED);
	}
	EXPECT_EQ(0, head->seq & 1);
	val[0] = 43;
	ASSERT_EQ(0, hgr_update(&n->g, &k, val, HMAP_EXIST, NULL));
	native_grow(n);
	v = hgr_lookup(&n->g, &k);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(43, v[0]);
	EXPECT_EQ(1, live_slots(&n->g.regime->cur->tab));	/* moved once */
	native_free(n);
}

/*
 * An insert that takes the spare publishes the growth only after
 * grow_starting (which tells user space) returns.  A worker that finds the
 * spare gone before that must wait for the publish, not give up: the
 * stand-in worker aborted there, about once in 100 runs of reader_test.
 */
static volatile int slow_in_hook;

static void slow_grow_starting(struct hgr *g, struct hgr_regime *growing)
{
	(void)g, (void)growing;
	slow_in_hook = 1;
	usleep(100 * 1000);
}

static void *take_the_spare(void *arg)
{
	return hgr_try_start_growth(arg) ? arg : NULL;
}

TEST(worker_waits_for_an_insert_that_took_the_spare)
{
	u64 entries = 0, nb, val;
	struct native *n = native_new(8, 8, 1 << 16, &entries, 0);
	void *started;
	pthread_t th;

	ASSERT_NE(NULL, n->prepared);
	nb = n->g.regime->cur->tab.l.nbuckets;
	for (u64 k = 0; k < 1000; k++)
		ASSERT_EQ(0, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	n->g.grow_starting = slow_grow_starting;
	ASSERT_EQ(0, pthread_create(&th, NULL, take_the_spare, &n->g));
	while (!slow_in_hook)
		sched_yield();
	native_grow(n);		/* the spare is gone, its growth not published */
	pthread_join(th, &started);
	EXPECT_EQ(&n->g, started);
	EXPECT_EQ(NULL, n->g.regime->old);
	EXPECT_EQ(nb * 4, n->g.regime->cur->tab.l.nbuckets);
	for (u64 k = 0; k < 1000; k++) {
		u64 *v = hgr_lookup(&n->g, &k);

		ASSERT_NE(NULL, v);
		val = *v;
		EXPECT_EQ(k, val);
	}
	native_free(n);
}

/*
 * "An NMI" inside the pop that an insert makes under its stripe: it inserts
 * two keys (taking the top two free slots), deletes the first and reclaims
 * its slot straight back to the top.  The top is then the index the
 * interrupted pop read, with another link under it (ABA): the pop must
 * fail its compare-and-exchange and read again, not install the second
 * key's slot as the new top.
 */
static struct native *pop_hook_n;
static u64 pop_hook_keys[2];
static int pop_hook_armed, pop_hook_errs;
static struct native *push_hook_n;
static u64 push_hook_key;
static int push_hook_armed, push_hook_errs;

/* "An NMI" inside a push, between its link write and its cmpxchg: an insert
 * pops the top the push linked under, so the push must link again. */
void grow_test_push_hook(struct hgr_pool *p)
{
	struct native *n = push_hook_n;

	(void)p;
	if (!n || !push_hook_armed)
		return;
	push_hook_armed = 0;
	push_hook_errs += !!hgr_update(&n->g, &push_hook_key, &push_hook_key, HMAP_NOEXIST, NULL);
}

void grow_test_pop_hook(struct hgr_pool *p)
{
	struct native *n = pop_hook_n;

	(void)p;
	pops_seen++;
	if (!n || !pop_hook_armed)
		return;
	pop_hook_armed = 0;
	pop_hook_errs += !!hgr_update(&n->g, &pop_hook_keys[0], &pop_hook_keys[0], HMAP_NOEXIST, NULL);
	pop_hook_errs += !!hgr_update(&n->g, &pop_hook_keys[1], &pop_hook_keys[1], HMAP_NOEXIST, NULL);
	pop_hook_errs += !!hgr_delete(&n->g, &pop_hook_keys[0]);
	native_reclaim_now(n);
}

TEST(free_list_pop_interrupted_by_pops_and_a_push)
{
	u64 entries = 0, k1 = 1, more[2] = { 2, 3 };
	struct native *n = native_new(8, 8, 1 << 16, &entries, 0);
	u32 s1 = hgr_hash(&n->g, &k1) & n->g.locks.mask;
	u64 cand = 1000;

	/* Three slots on the free list. */
	for (u64 k = 100; k < 103; k++)
		ASSERT_EQ(0, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	for (u64 k = 100; k < 103; k++)
		ASSERT_EQ(0, hgr_delete(&n->g, &k));
	native_reclaim_now(n);
	ASSERT_EQ(3, n->g.pool.nfree);
	/* The hook's keys live on other stripes than k1's, which is held. */
	for (int i = 0; i < 2; i++) {
		while ((hgr_hash(&n->g, &cand) & n->g.locks.mask) == s1)
			cand++;
		pop_hook_keys[i] = cand++;
	}
	pop_hook_n = n;
	pop_hook_armed = 1;
	ASSERT_EQ(0, hgr_update(&n->g, &k1, &k1, HMAP_NOEXIST, NULL));
	pop_hook_n = NULL;
	ASSERT_EQ(0, pop_hook_armed);
	ASSERT_EQ(0, pop_hook_errs);
	/* Every live key keeps a slot of its own. */
	for (int i = 0; i < 2; i++)
		ASSERT_EQ(0, hgr_update(&n->g, &more[i], &more[i], HMAP_NOEXIST, NULL));
	{
		const u64 live[] = { k1, pop_hook_keys[1], more[0], more[1] };

		EXPECT_EQ(NULL, first_key_without_its_value(n, live, 4));
	}
	EXPECT_EQ(4, entries);
	native_reclaim_now(n);
	EXPECT_POOL_CONSERVED(n, entries);
	native_free(n);
}

TEST(free_list_push_interrupted_by_a_pop)
{
	u64 entries = 0, k0 = 1, more[3] = { 2, 3, 4 };
	struct native *n = native_new(8, 8, 1 << 16, &entries, 0);

	/* Free list: two slots.  k0 takes the top; its delete puts it pending. */
	for (u64 k = 100; k < 102; k++)
		ASSERT_EQ(0, hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL));
	for (u64 k = 100; k < 102; k++)
		ASSERT_EQ(0, hgr_delete(&n->g, &k));
	native_reclaim_now(n);
	ASSERT_EQ(0, hgr_update(&n->g, &k0, &k0, HMAP_NOEXIST, NULL));
	ASSERT_EQ(0, hgr_delete(&n->g, &k0));
	/* Reclaim pushes k0's slot, linked over the one slot left, which the
	 * hook's insert takes before the push's cmpxchg. */
	push_hook_key = 1000;
	push_hook_n = n;
	push_hook_armed = 1;
	native_reclaim_now(n);
	push_hook_n = NULL;
	ASSERT_EQ(0, push_hook_armed);
	ASSERT_EQ(0, push_hook_errs);
	EXPECT_POOL_CONSERVED(n, entries);
	for (int i = 0; i < 3; i++)
		ASSERT_EQ(0, hgr_update(&n->g, &more[i], &more[i], HMAP_NOEXIST, NULL));
	{
		const u64 live[] = { push_hook_key, more[0], more[1], more[2] };

		EXPECT_EQ(NULL, first_key_without_its_value(n, live, 4));
	}
	native_free(n);
}

/*
 * Threads insert and delete their own keys while the main thread reclaims
 * freed values back to the free list as fast as it can (pushes racing
 * pops on other CPUs): no value slot is ever another live key's, and at the
 * end every slot is accounted for once.
 */
#define POOL_THREADS	4
#define POOL_KEYS	32
static volatile int pool_stop;
static long pool_bad, pool_err, pool_enospc;

static void *pool_churn(void *arg)
{
	struct native *n = arg;
	static long next_id;
	long t = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
	unsigned int s = t * 7919 + 1;
	u64 *vp[POOL_KEYS] = { 0 };

	while (!pool_stop) {
		int i = rand_r(&s) % POOL_KEYS;
		u64 k = (u64)t << 32 | i;
		void *v;

		if (vp[i]) {
			if (*vp[i] != k)
				__atomic_add_fetch(&pool_bad, 1, __ATOMIC_RELAXED);
			if (!hgr_delete(&n->g, &k))
				vp[i] = NULL;
		} else {
			int r = hgr_update(&n->g, &k, &k, HMAP_NOEXIST, &v);

			if (!r)
				vp[i] = v;
			else if (r == -ENOSPC)	/* freed values still pending: no worker adds chunks */
				__atomic_add_fetch(&pool_enospc, 1, __ATOMIC_RELAXED);
			else
				__atomic_add_fetch(&pool_err, 1, __ATOMIC_RELAXED);
		}
	}
	for (int i = 0; i < POOL_KEYS; i++)
		if (vp[i] && *vp[i] != ((u64)t << 32 | i))
			__atomic_add_fetch(&pool_bad, 1, __ATOMIC_RELAXED);
	return NULL;
}

TEST(free_list_threads_keep_every_slot_once)
{
	u64 entries = 0;
	struct native *n = native_new(8, 8, 1 << 16, &entries, 0);
	pthread_t th[POOL_THREADS];

	for (int t = 0; t < POOL_THREADS; t++)
		ASSERT_EQ(0, pthread_create(&th[t], NULL, pool_churn, n));
	/* A thread never touches a deleted key's slot: reclaim needs no wait. */
	for (u64 end = native_now_us() + 1500000, r = 0; native_now_us() < end; r++) {
		native_reclaim_now(n);
		if (r % 16 == 0)
			sched_yield();
	}
	pool_stop = 1;
	for (int t = 0; t < POOL_THREADS; t++)
		pthread_join(th[t], NULL);
	native_reclaim_now(n);
	TH_LOG("%llu live, %u handed out, %u free, %ld inserts found the pool empty",
	       (unsigned long long)entries, n->g.pool.next, n->g.pool.nfree, pool_enospc);
	EXPECT_EQ(0, pool_bad);
	EXPECT_EQ(0, pool_err);
	EXPECT_POOL_CONSERVED(n, entries);
	native_free(n);
}

static void on_alarm(int sig)
{
	(void)sig;
	fprintf(stderr, "lookup waited for a writer that never finishes\n");
	abort();
}

/*
 * A writer interrupted for good (its CPU taken by an NMI program that reads
 * the same chain) leaves the chain's seq odd.  A lookup must still return.
 */
TEST(lookup_never_waits_for_a_stuck_writer)
{
	u64 entries = 0, k = 7, val[2] = { 7, ~7ULL }, *v;
	struct native *n = native_new(8, 16, 1 << 16, &entries, 0);
	struct hgr_array *a = n->g.regime->cur;
	struct hmap_bucket *head;

	ASSERT_EQ(0, hgr_update(&n->g, &k, val, HMAP_NOEXIST, NULL));
	head = hmap_bucket_at(&a->tab, hgr_hash(&n->g, &k) & a->tab.mask);
	signal(SIGALRM, on_alarm);
	alarm(10);
	hmap_seq_begin(head);	/* and never ends */
	v = hgr_lookup(&n->g, &k);
	ASSERT_NE(NULL, v);
	EXPECT_EQ(7, v[0]);
	k = 8;
	EXPECT_EQ(NULL, hgr_lookup(&n->g, &k));
	alarm(0);
	hmap_seq_end(head);
	native_free(n);
}

TEST_HARNESS_MAIN
