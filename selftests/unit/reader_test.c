// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of libhmap's zero-copy reader (user/libhmap_reader.c: the code
 * behind hmap_table__lookup(), hmap_table__iterate() and so hmapctl), built with ASan,
 * UBSan and LSan, over tables that the engine (fixed variant) and the growth
 * core (incremental variant, grow_user.h's worker) build in this process.
 * The header page is filled as the modules fill it, and mmap() of a table
 * fd is stood in for by handing out the engine's memory.
 *
 *  - headers: a wrong magic, ABI version or variant is refused;
 *  - fixed and incremental tables: lookups and iterations (consistent and in
 *    place) return exactly the live entries with their values, and unmap
 *    everything they mapped;
 *  - growth, one thread: with a growth half done, and with growths that
 *    start and finish in the middle of an iteration, every key is found,
 *    and emitted once, by following moved chains;
 *  - torn reads: writers insert, update and delete while one reader looks
 *    keys up and another iterates, the incremental table growing meanwhile.
 *    Every value read must be one a writer wrote (its key, version and
 *    check words agree), not older than one written (or deleted) before
 *    the read began nor than one read before; keys never deleted are
 *    always found and emitted once per pass; and the readers must have
 *    retried (so reads really overlapped writes);
 *  - hostile bytes: an overflow link or a value index past the mapping is
 *    never followed; the read fails with -EAGAIN;
 *  - a chain longer than the walk's first buffer (512 entries) is read
 *    whole, not refused with -E2BIG.
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_harness.h"
#include "grow_user.h"
#include "libhmap_reader.h"
#include "utab.h"

#define VWORDS	32	/* 256-byte values: key, version, 30 check words */

struct tval {
	u64 key;
	u64 version;
	u64 check[VWORDS - 2];
};

static u64 mix64(u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Each check word depends on key and version: a copy that mixes two writes
 * of a key fails tval_ok(). */
static void tval_make(struct tval *v, u64 key, u64 version)
{
	v->key = key;
	v->version = version;
	for (int i = 0; i < VWORDS - 2; i++)
		v->check[i] = mix64(key * 0x9e3779b97f4a7c15ULL + version * 0xc2b2ae3d27d4eb4fULL + i);
}

static bool tval_ok(const struct tval *v, u64 key)
{
	struct tval want;

	tval_make(&want, key, v->version);
	return !memcmp(&want, v, sizeof(want)) && v->key == key;
}

/* ---- a table as a module publishes it -------------------------------------- */

struct ttab {
	struct hmap_shm_header *shm;	/* page 0 of the mmap space */
	struct native *n;		/* incremental: the growth core */
	pthread_t worker;
	bool has_worker;
	struct hmap_tab tab;		/* fixed: the engine */
	void *mem;
	u8 *locks;
	int maps;			/* mappings readers hold (atomic) */
	long map_calls;			/* map() calls, ever */
};

/* mmap() of the table fd, read-only: the engine's own memory. */
static int ttab_map(void *ctx, __u64 off, size_t len, const void **addr)
{
	struct ttab *t = ctx;
	const void *p = NULL;

	if (t->n)
		p = native_mmap(t->n, off, len);
	else if (off == t->shm->arrays[0].mmap_offset && len == t->tab.l.array_bytes)
		p = t->mem;
	if (!p)
		return -EINVAL;
	__atomic_add_fetch(&t->maps, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&t->map_calls, 1, __ATOMIC_RELAXED);
	*addr = p;
	return 0;
}

static void ttab_unmap(void *ctx, const void *addr, size_t len)
{
	struct ttab *t = ctx;

	__atomic_sub_fetch(&t->maps, 1, __ATOMIC_RELAXED);
}

static const struct hmap_reader_ops ttab_ops = { .map = ttab_map, .unmap = ttab_unmap };

static struct hmap_shm_header *shm_page(void)
{
	void *p;

	if (posix_memalign(&p, PAGE_SIZE, PAGE_SIZE))
		abort();
	return memset(p, 0, PAGE_SIZE);
}

/* hmap.ko's table: one array, header as hmap_create() fills it. */
static void ttab_fixed(struct ttab *t, u64 capacity)
{
	hmap_seed_t seed = { { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } };
	struct hmap_shm_header *shm = shm_page();
	struct hmap_locks locks;
	struct hmap_layout l;

	memset(t, 0, sizeof(*t));
	if (hmap_layout_init_exact(&l, sizeof(u64), sizeof(struct tval), capacity, 1ULL << 32) ||
	    posix_memalign(&t->mem, PAGE_SIZE, l.array_bytes) || !(t->locks = calloc(l.nlocks, 1)))
		abort();
	memset(t->mem, 0, l.array_bytes);
	locks.lock = t->locks;
	hmap_tab_init(&t->tab, &l, t->mem, (u64 *)&shm->entries, &seed, &locks);
	utab_fill_shm(shm, &l, &seed);
	t->shm = shm;
}

/* hmap_rehash.ko's table, from the smallest array; its worker if @with_worker,
 * else the test drives growth itself. */
static void ttab_incremental(struct ttab *t, u64 max_entries, bool with_worker)
{
	memset(t, 0, sizeof(*t));
	t->shm = shm_page();
	t->n = native_new(sizeof(u64), sizeof(struct tval), max_entries,
			  (u64 *)&t->shm->entries, 0);
	native_attach_shm(t->n, t->shm);
	if (with_worker && !pthread_create(&t->worker, NULL, worker, t->n))
		t->has_worker = true;
}

static void ttab_destroy(struct ttab *t)
{
	if (t->n) {
		if (t->has_worker) {
			t->n->stop = 1;
			pthread_join(t->worker, NULL);
		}
		native_free(t->n);
	} else {
		free(t->mem);
		free(t->locks);
	}
	free(t->shm);
}

static int ttab_update(struct ttab *t, u64 key, const struct tval *v, u32 flags)
{
	if (!t->n)
		return hmap_tab_update(&t->tab, &key, hmap_tab_hash(&t->tab, &key), v, flags, NULL);
	if (!t->has_worker)
		native_top_up(t->n);	/* the pool's reserve, as the worker would */
	return hgr_update(&t->n->g, &key, v, flags, NULL);
}

static int ttab_delete(struct ttab *t, u64 key)
{
	if (t->n)
		return hgr_delete(&t->n->g, &key);
	return hmap_tab_delete(&t->tab, &key, hmap_tab_hash(&t->tab, &key));
}

/* ---- what a table should hold, one thread ------------------------------------ */

struct model {
	u64 nkeys;
	u64 *version;		/* 0: absent */
	u32 *emitted;		/* per key: times emitted in this iteration */
	long bad;		/* emitted: unknown key, wrong value, or twice */
	u64 count;
};

/* Write @key's @version, or delete it (@version 0), in the table and the model. */
static int model_set(struct ttab *t, struct model *m, u64 key, u64 version)
{
	struct tval v;
	int ret;

	tval_make(&v, key, version);
	ret = version ? ttab_update(t, key, &v, HMAP_ANY) : ttab_delete(t, key);
	if (!ret)
		m->version[key] = version;
	return ret;
}

static int model_cb(const void *key, const void *value, void *ctx)
{
	struct model *m = ctx;
	struct tval v;
	u64 k;

	memcpy(&k, key, sizeof(k));
	memcpy(&v, value, sizeof(v));
	if (k >= m->nkeys || !m->version[k] || v.version != m->version[k] || !tval_ok(&v, k) ||
	    m->emitted[k]++)
		m->bad++;
	m->count++;
	return 0;
}

/* model_cb() for each entry of a batch; a batch is never empty. */
static int model_batch_cb(const struct hmap_entry_ref *ents, unsigned int n, void *ctx)
{
	struct model *m = ctx;

	if (!n)
		m->bad++;
	for (unsigned int i = 0; i < n; i++)
		model_cb(ents[i].key, ents[i].value, m);
	return 0;
}

/* Every lookup and both kinds of iteration, per entry and in batches, agree
 * with the model. */
static void model_check(struct __test_metadata *_metadata, struct ttab *t, struct hmap_reader *r,
			struct model *m)
{
	u64 live = 0, missing = 0, wrong = 0, found_absent = 0;
	unsigned int flags[2] = { HMAP_ITER_CONSISTENT, 0 };

	for (u64 k = 0; k < m->nkeys; k++) {
		struct tval v;
		int ret = hmap_reader_lookup(r, &k, &v);

		live += !!m->version[k];
		if (m->version[k] && ret)
			missing++;
		else if (m->version[k] && (v.version != m->version[k] || !tval_ok(&v, k)))
			wrong++;
		else if (!m->version[k] && ret != -ENOENT)
			found_absent++;
	}
	EXPECT_EQ(0, missing);
	EXPECT_EQ(0, wrong);
	EXPECT_EQ(0, found_absent);
	for (int f = 0; f < 4; f++) {
		memset(m->emitted, 0, m->nkeys * sizeof(*m->emitted));
		m->bad = 0;
		m->count = 0;
		if (f < 2) {
			EXPECT_EQ(0, hmap_reader_iterate(r, flags[f], model_cb, m, NULL));
		} else {
			EXPECT_EQ(0, hmap_reader_iterate_batch(r, flags[f - 2], model_batch_cb, m,
							       NULL));
		}
		EXPECT_EQ(0, m->bad);
		EXPECT_EQ(live, m->count);
	}
	EXPECT_EQ(live, t->shm->entries);
}

static void model_init(struct model *m, u64 nkeys)
{
	m->nkeys = nkeys;
	m->version = calloc(nkeys, sizeof(*m->version));
	m->emitted = calloc(nkeys, sizeof(*m->emitted));
}

static void model_free(struct model *m)
{
	free(m->version);
	free(m->emitted);
}

TEST(refuses_unknown_headers)
{
	struct hmap_reader r;
	struct ttab t;

	ttab_fixed(&t, 100);
	t.shm->magic ^= 1;
	EXPECT_EQ(-EPROTO, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	t.shm->magic ^= 1;
	t.shm->abi_version++;
	EXPECT_EQ(-EPROTO, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	t.shm->abi_version--;
	t.shm->variant = HMAP_VARIANT_MAX;
	EXPECT_EQ(-EOPNOTSUPP, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	t.shm->variant = HMAP_VARIANT_FIXED;
	/* Arrays whose shape does not fit their mapping are never mapped. */
	{
		struct hmap_shm_array keep = t.shm->arrays[0];

		t.shm->arrays[0].nbuckets = 0;
		EXPECT_EQ(-EPROTO, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
		t.shm->arrays[0].nbuckets = keep.nbuckets * 2;	/* past the mapping */
		EXPECT_EQ(-EPROTO, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
		t.shm->arrays[0] = keep;
	}
	/* An incremental table's arrays split buckets in two as they grow:
	 * their counts must be powers of two (a fixed table's need not). */
	{
		struct ttab ti;

		ttab_incremental(&ti, 1000, false);
		ti.shm->arrays[0].nbuckets -= 1;
		EXPECT_EQ(-EPROTO, hmap_reader_init(&r, ti.shm, &ttab_ops, &ti));
		ti.shm->arrays[0].nbuckets += 1;
		ASSERT_EQ(0, hmap_reader_init(&r, ti.shm, &ttab_ops, &ti));
		hmap_reader_release(&r);
		ttab_destroy(&ti);
	}
	EXPECT_EQ(0, t.maps);
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	EXPECT_EQ(1, t.maps);
	hmap_reader_release(&r);
	EXPECT_EQ(0, t.maps);
	ttab_destroy(&t);
}

/* Inserts, updates and deletes of @n keys: every third updated, every fifth
 * deleted, every seventh deleted and inserted again. */
static void model_churn(struct __test_metadata *_metadata, struct ttab *t, struct model *m,
			u64 first, u64 n)
{
	for (u64 k = first; k < first + n; k++)
		ASSERT_EQ(0, model_set(t, m, k, 1));
	for (u64 k = first; k < first + n; k++) {
		if (k % 3 == 0)
			ASSERT_EQ(0, model_set(t, m, k, 2));
		if (k % 5 == 0 || k % 7 == 0)
			ASSERT_EQ(0, model_set(t, m, k, 0));
		if (k % 7 == 0)
			ASSERT_EQ(0, model_set(t, m, k, 9));
	}
}

TEST(fixed_reads_exactly_the_live_entries)
{
	struct hmap_reader r;
	struct model m;
	struct ttab t;

	ttab_fixed(&t, 5000);
	model_init(&m, 6000);	/* 1000 never inserted */
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	model_check(_metadata, &t, &r, &m);	/* empty */
	model_churn(_metadata, &t, &m, 0, 5000);
	model_check(_metadata, &t, &r, &m);
	hmap_reader_release(&r);
	EXPECT_EQ(0, t.maps);
	model_free(&m);
	ttab_destroy(&t);
}

/* Growth driven by hand: a reader, its view older than the layout, meets a
 * growth half done (some old chains moved, some not, writes on both sides),
 * then the finished one. */
TEST(incremental_reads_through_a_growth_half_done)
{
	struct hmap_reader r;
	struct model m;
	struct ttab t;
	u32 nb;

	ttab_incremental(&t, 1 << 20, false);
	model_init(&m, 4000);
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	model_churn(_metadata, &t, &m, 0, 1500);	/* below the growth mark */
	model_check(_metadata, &t, &r, &m);
	ASSERT_EQ(1, t.shm->narrays);

	nb = t.n->g.regime->cur->tab.l.nbuckets;
	ASSERT_TRUE(hgr_try_start_growth(&t.n->g));
	ASSERT_EQ(2, t.shm->narrays);
	for (u32 b = 0; b < nb; b += 2)
		ASSERT_EQ(0, hgr_evacuate_bucket(&t.n->g, b));
	r.moved = 0;
	model_check(_metadata, &t, &r, &m);
	EXPECT_GT(r.moved, 0);
	/* Writes while growing: each moves its own old bucket (and one more). */
	model_churn(_metadata, &t, &m, 1500, 500);
	for (u64 k = 0; k < 1500; k += 11)
		ASSERT_EQ(0, model_set(&t, &m, k, m.version[k] + 1));
	model_check(_metadata, &t, &r, &m);
	ASSERT_EQ(2, t.shm->narrays);

	native_complete(t.n);
	ASSERT_EQ(1, t.shm->narrays);
	EXPECT_EQ(4 * nb, t.shm->arrays[0].nbuckets);
	model_check(_metadata, &t, &r, &m);
	hmap_reader_release(&r);
	EXPECT_EQ(0, t.maps);
	model_free(&m);
	ttab_destroy(&t);
}

struct grow_mid {
	struct model m;
	struct ttab *t;
	u32 nb0;		/* main buckets of the array the iteration walks */
	u64 at[2];		/* grow when the iteration has emitted this many */
	int grew;
	long changed, errors;
};

/*
 * The iteration walks the first array's buckets in order, and reads the
 * keys of bucket b (hash & (nb0 - 1) == b) before any of a later one,
 * wherever they have moved.  So once it emits a key of bucket b, the keys
 * of later buckets are all still to be read: change them, and they must be
 * read as changed, in the array they moved to.
 */
static int grow_mid_cb(const void *key, const void *value, void *ctx)
{
	struct grow_mid *g = ctx;
	struct hgr *gr = &g->t->n->g;
	u32 b;
	u64 k;

	memcpy(&k, key, sizeof(k));
	if (g->grew < 2 && g->m.count == g->at[g->grew]) {
		native_grow(g->t->n);	/* start, move every bucket, retire */
		g->grew++;
		b = hgr_hash(gr, &k) & (g->nb0 - 1);
		for (u64 j = 0; j < g->m.nkeys; j++) {
			if (!g->m.version[j] || !(j % 3) || (hgr_hash(gr, &j) & (g->nb0 - 1)) <= b)
				continue;
			/* delete a third, update a third */
			if (model_set(g->t, &g->m, j, j % 3 == 1 ? 0 : g->m.version[j] + 10))
				g->errors++;
			g->changed++;
		}
	}
	return model_cb(key, value, &g->m);
}

/* Two growths start and finish while an iteration is between chains: the
 * chains it has not read are found where they went, two arrays on, with
 * the writes made there since. */
TEST(incremental_iteration_across_two_growths)
{
	struct grow_mid g = { .at = { 300, 900 } };
	struct hmap_reader r;
	struct ttab t;
	u64 live = 0, once = 0;

	ttab_incremental(&t, 1 << 20, false);
	model_init(&g.m, 1500);
	g.t = &t;
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	model_churn(_metadata, &t, &g.m, 0, 1500);
	g.nb0 = t.shm->arrays[0].nbuckets;
	EXPECT_EQ(0, hmap_reader_iterate(&r, HMAP_ITER_CONSISTENT, grow_mid_cb, &g, NULL));
	EXPECT_EQ(2, g.grew);
	EXPECT_EQ(2, t.n->ngrows);
	EXPECT_EQ(0, g.errors);
	EXPECT_GT(g.changed, 100);
	TH_LOG("%ld keys changed ahead of the iteration, %llu chains followed", g.changed,
	       (unsigned long long)r.moved);
	EXPECT_EQ(0, g.m.bad);
	for (u64 k = 0; k < g.m.nkeys; k++) {
		live += !!g.m.version[k];
		once += g.m.version[k] && g.m.emitted[k] == 1;
	}
	EXPECT_EQ(live, g.m.count);
	EXPECT_EQ(live, once);
	EXPECT_GT(r.moved, 0);
	model_check(_metadata, &t, &r, &g.m);	/* and after them */
	hmap_reader_release(&r);
	EXPECT_EQ(0, t.maps);
	model_free(&g.m);
	ttab_destroy(&t);
}

/* Insert until the table has grown once more (the test is its worker). */
static int grow_once(struct ttab *t, struct model *m, u64 *next)
{
	u32 before = t->n->ngrows;
	int ret = 0;

	while (t->n->ngrows == before && *next < m->nkeys && !ret) {
		ret = model_set(t, m, *next, *next + 1);
		if (!(++*next % 16))
			native_service(t->n);
	}
	return ret ?: t->n->ngrows == before ? -ENOSPC : 0;
}

/*
 * More open cursors, each on the array of its day, than the reader has
 * mapping slots (this binary is built with HMAP_READER_MAX_MAPS 4): a
 * growth half done then needs two more arrays.  The reader says -EMFILE at
 * once (it used to hand the last slot back and forth between the layout's
 * two arrays, a million times), and works again once a cursor is closed.
 */
TEST(more_cursors_than_mapping_slots)
{
	struct hmap_reader_walk w[HMAP_READER_MAX_MAPS - 1];
	struct hmap_reader r;
	struct model m = {};
	struct ttab t;
	struct tval v;
	u64 next = 0, k = 0;
	long calls;
	int nw = 0;

	ttab_incremental(&t, 1 << 20, false);
	model_init(&m, 1 << 20);
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	for (; nw < HMAP_READER_MAX_MAPS - 1; nw++) {
		ASSERT_EQ(0, hmap_reader_walk_begin(&r, &w[nw], HMAP_ITER_CONSISTENT));
		ASSERT_EQ(0, grow_once(&t, &m, &next));
	}
	ASSERT_EQ(0, hmap_reader_lookup(&r, &k, &v));	/* maps the current array: slots full */
	/* A growth half done: the layout is {new, current}. */
	while (t.shm->narrays == 1 && next < m.nkeys) {
		if (!(next % 16))
			native_prepare_spare(t.n);	/* the worker's part, not completing */
		ASSERT_EQ(0, model_set(&t, &m, next, next + 1));
		next++;
	}
	ASSERT_EQ(2, t.shm->narrays);
	calls = t.map_calls;
	EXPECT_EQ(-EMFILE, hmap_reader_lookup(&r, &k, &v));
	EXPECT_GE(4, t.map_calls - calls) TH_LOG("%ld map() calls for one lookup", t.map_calls - calls);
	hmap_reader_walk_end(&r, &w[0]);
	EXPECT_EQ(0, hmap_reader_lookup(&r, &k, &v));
	EXPECT_EQ(m.version[k], v.version);
	for (int i = 1; i < nw; i++)
		hmap_reader_walk_end(&r, &w[i]);
	hmap_reader_release(&r);
	EXPECT_EQ(0, t.maps);
	model_free(&m);
	ttab_destroy(&t);
}

/*
 * A cursor left open (hmapctl dump paging, a program reading slowly) while
 * the table grows more often than the reader has mapping slots: lookups
 * through the same reader keep working, the cursor still reads every key
 * once, and the reader holds only the arrays someone still reads (this
 * failed with -EAGAIN after eight growths: an open walk kept every array
 * mapped).
 */
/* More growths than the eight arrays the reader once could keep mapped. */
#define CURSOR_GROWTHS	9

/* 3.4M inserts under the sanitizers: more than the harness's default 30 s
 * on a loaded 2-core machine, so a fixture for TEST_F_TIMEOUT. */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, a_cursor_open_across_many_growths, 300)
{
	const u64 n0 = 200;	/* keys there when the cursor opens, never changed */
	struct hmap_reader_walk w;
	struct hmap_reader r;
	struct model m = {};
	struct ttab t;
	u64 next = n0, once = 0;
	int grows = 0, ret = 0, peak = 0;

	ttab_incremental(&t, 1 << 23, false);
	model_init(&m, 1 << 23);
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	for (u64 k = 0; k < n0; k++)
		ASSERT_EQ(0, model_set(&t, &m, k, k + 1));
	ASSERT_EQ(0, hmap_reader_walk_begin(&r, &w, HMAP_ITER_CONSISTENT));
	for (u32 b = 0; b < w.a.nbuckets && !ret; b++) {
		u64 before = t.n->ngrows;

		ret = hmap_reader_walk_bucket(&r, &w, b, model_cb, &m);
		if (ret || grows == CURSOR_GROWTHS)
			continue;
		/* Insert until the table has grown once more (the test is its worker). */
		while (t.n->ngrows == before && next < m.nkeys && !ret) {
			ret = model_set(&t, &m, next, next + 1);
			if (!(++next % 16))
				native_service(t.n);
		}
		grows++;
		for (u64 k = 0; k < next && !ret; k += 97) {
			struct tval v;

			ret = hmap_reader_lookup(&r, &k, &v);
			if (!ret && (v.version != m.version[k] || !tval_ok(&v, k)))
				ret = -EIO;
		}
		if (t.maps - (int)r.nchunks > peak)
			peak = t.maps - (int)r.nchunks;
	}
	EXPECT_EQ(0, ret);
	hmap_reader_walk_end(&r, &w);
	EXPECT_EQ(CURSOR_GROWTHS, grows);
	EXPECT_LE(grows, t.n->ngrows);
	/* Keys written after the cursor opened may or may not be read; none
	 * twice, and every one there all along exactly once. */
	EXPECT_EQ(0, m.bad);
	for (u64 k = 0; k < n0; k++)
		once += m.emitted[k] == 1;
	EXPECT_EQ(n0, once);
	/* The walked array, the current one, and one being let go at most. */
	EXPECT_GE(3, peak);
	TH_LOG("%d growths under an open cursor (%llu keys), at most %d arrays mapped at once",
	       grows, (unsigned long long)next, peak);
	/* And after it, lookups through the same reader (a sample: 3M keys
	 * are too many to check one by one in the harness's 30 s). */
	for (u64 k = 0, bad = 0; k < next; k += 1009) {
		struct tval v;

		if (hmap_reader_lookup(&r, &k, &v) || v.version != m.version[k] || !tval_ok(&v, k))
			bad++;
		if (k + 1009 >= next)
			EXPECT_EQ(0, bad);
	}
	hmap_reader_release(&r);
	EXPECT_EQ(0, t.maps);
	model_free(&m);
	ttab_destroy(&t);
}

/* ---- torn reads ----------------------------------------------------------- */

#define NWRITERS	2
#define KEYS_PER	20000		/* per writer: even ones stable, odd ones volatile */
#define NKEYS		(NWRITERS * KEYS_PER)
#define ROUNDS		(2 * KEYS_PER)	/* per writer, at least */
#define MIN_LOOKUPS	100000		/* per run, at least */
#define MIN_PASSES	10
#define NHOT		4		/* per writer: stable keys 0, 2, 4, 6 are hot */

struct torn {
	struct ttab *t;
	u64 *version;		/* per key: newest version begun (writer's, release) */
	u64 *floor;		/* per key: oldest version a read starting now may
				 * return: the last one written, or one past a
				 * deleted one (release, once the call returned) */
	u32 inserted[NWRITERS];	/* keys [0, n) of each writer were inserted once (release) */
	int starting;		/* readers not yet reading */
	int readers_busy;	/* readers short of their minimum: writers go on */
	int writers_left;
};

struct torn_writer {
	struct torn *s;
	u32 id;
	long errors, refused;
};

struct torn_reader {
	struct torn *s;
	u64 *last;		/* per key: newest version this reader saw */
	u32 *pass_of;		/* iteration: the pass that last emitted the key */
	u64 *floor_at;		/* iteration: each key's floor when the pass began */
	u32 pass, passes;	/* iteration: begun, completed */
	long reads, torn, stale, missing, dups, errors;
	long gave_up;		/* -EAGAIN: a writer stayed inside a chain */
	__u64 retries, moved;
};

/* The reader gives up (-EAGAIN) after a million re-reads of a chain whose
 * writer stays inside: here a thread the scheduler preempted there (kernel
 * writers run with IRQs off).  Read again, a bounded number of times. */
#define MAX_GAVE_UP	100

static bool stable_key(u64 key)
{
	return !(key % KEYS_PER & 1);
}

static void torn_write(struct torn_writer *w, u64 key, u32 flags)
{
	u64 version = w->s->version[key] + 1;	/* the key is this writer's */
	struct tval v;
	int ret;

	__atomic_store_n(&w->s->version[key], version, __ATOMIC_RELEASE);
	tval_make(&v, key, version);
	while ((ret = ttab_update(w->s->t, key, &v, flags)) == -ENOSPC) {
		w->refused++;	/* growth behind: the stand-in worker was starved */
		usleep(50);
	}
	if (ret)
		w->errors++;
	__atomic_store_n(&w->s->floor[key], version, __ATOMIC_RELEASE);
}

static void *torn_writer(void *arg)
{
	struct torn_writer *w = arg;
	struct torn *s = w->s;
	u64 base = (u64)w->id * KEYS_PER, rnd = w->id + 1;
	u8 *live = calloc(KEYS_PER, 1);

	while (__atomic_load_n(&s->starting, __ATOMIC_ACQUIRE))
		sched_yield();
	for (u64 round = 0; round < ROUNDS || __atomic_load_n(&s->readers_busy, __ATOMIC_ACQUIRE);
	     round++) {
		u64 n, i;

		if (round < KEYS_PER) {
			torn_write(w, base + round, HMAP_NOEXIST);
			live[round] = 1;
			__atomic_store_n(&s->inserted[w->id], round + 1, __ATOMIC_RELEASE);
		}
		n = s->inserted[w->id];
		rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
		/* the hot keys in turn, twice: one chain rewritten back to
		 * back would starve a reader copying it (it retries) */
		for (int sweep = 0; sweep < 2; sweep++)
			for (u64 h = 0; h < 2 * NHOT && h < n; h += 2)
				torn_write(w, base + h, HMAP_EXIST);
		i = (rnd >> 33) % n & ~1ULL;			/* a stable key */
		torn_write(w, base + i, HMAP_EXIST);
		i = ((rnd >> 13) % n) | 1;			/* a volatile key */
		if (i < n) {
			if (!live[i])
				torn_write(w, base + i, HMAP_NOEXIST);
			else if (ttab_delete(s->t, base + i))
				w->errors++;
			else
				__atomic_store_n(&s->floor[base + i], s->version[base + i] + 1,
						 __ATOMIC_RELEASE);
			live[i] ^= 1;
		}
	}
	free(live);
	__atomic_sub_fetch(&s->writers_left, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* A value read for @key by a read that began when its floor was @floor: one
 * its writer wrote, not older than @floor nor than the last this reader saw. */
static void torn_check(struct torn_reader *c, u64 key, const struct tval *v, u64 floor)
{
	c->reads++;
	if (!tval_ok(v, key))
		c->torn++;
	else if (v->version < floor || v->version < c->last[key] ||
		 v->version > __atomic_load_n(&c->s->version[key], __ATOMIC_ACQUIRE))
		c->stale++;
	else
		c->last[key] = v->version;
}

/* Open a reader and tell the writers; a reader that cannot open is done. */
static bool torn_reader_open(struct torn_reader *c, struct hmap_reader *r)
{
	int ret = hmap_reader_init(r, c->s->t->shm, &ttab_ops, c->s->t);

	if (ret) {
		c->errors++;
		__atomic_sub_fetch(&c->s->readers_busy, 1, __ATOMIC_RELEASE);
	}
	__atomic_sub_fetch(&c->s->starting, 1, __ATOMIC_RELEASE);
	return !ret;
}

static void *torn_lookups(void *arg)
{
	struct torn_reader *c = arg;
	struct torn *s = c->s;
	struct hmap_reader r;
	u64 rnd = 99;

	if (!torn_reader_open(c, &r))
		return NULL;
	for (u64 i = 0; i < MIN_LOOKUPS || __atomic_load_n(&s->writers_left, __ATOMIC_ACQUIRE); i++) {
		u32 id = i & 1, n = __atomic_load_n(&s->inserted[id], __ATOMIC_ACQUIRE);
		struct tval v;
		u64 key, floor;
		int ret;

		if (i == MIN_LOOKUPS)
			__atomic_sub_fetch(&s->readers_busy, 1, __ATOMIC_RELEASE);
		if (!n)
			continue;
		rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
		/* most on the hot keys, where writes are densest */
		key = i & 6 ? 2 * ((rnd >> 60) % NHOT) : (rnd >> 33) % n;
		key = (u64)id * KEYS_PER + (key < n ? key : 0);
		floor = __atomic_load_n(&s->floor[key], __ATOMIC_ACQUIRE);
		ret = hmap_reader_lookup(&r, &key, &v);
		if (ret == -ENOENT)
			c->missing += stable_key(key);
		else if (ret == -EAGAIN && ++c->gave_up <= MAX_GAVE_UP)
			continue;
		else if (ret)
			c->errors++;
		else
			torn_check(c, key, &v, floor);
	}
	c->retries = r.lookup_retries;
	c->moved = r.moved;
	hmap_reader_release(&r);
	return NULL;
}

static int torn_iter_cb(const void *key, const void *value, void *ctx)
{
	struct torn_reader *c = ctx;
	struct tval v;
	u64 k;

	memcpy(&k, key, sizeof(k));
	memcpy(&v, value, sizeof(v));
	if (k >= NKEYS) {
		c->torn++;
		return 0;
	}
	c->dups += c->pass_of[k] == c->pass;
	c->pass_of[k] = c->pass;
	torn_check(c, k, &v, c->floor_at[k]);
	return 0;
}

static void *torn_iterations(void *arg)
{
	struct torn_reader *c = arg;
	struct torn *s = c->s;
	struct hmap_reader r;

	if (!torn_reader_open(c, &r))
		return NULL;
	while (c->passes < MIN_PASSES || __atomic_load_n(&s->writers_left, __ATOMIC_ACQUIRE)) {
		u32 n[NWRITERS];
		int ret;

		c->pass++;
		for (int w = 0; w < NWRITERS; w++)
			n[w] = __atomic_load_n(&s->inserted[w], __ATOMIC_ACQUIRE);
		for (u64 k = 0; k < NKEYS; k++)
			c->floor_at[k] = __atomic_load_n(&s->floor[k], __ATOMIC_ACQUIRE);
		ret = hmap_reader_iterate(&r, HMAP_ITER_CONSISTENT, torn_iter_cb, c, &c->retries);
		if (ret == -EAGAIN && ++c->gave_up <= MAX_GAVE_UP)
			continue;
		if (ret) {
			c->errors++;
			if (c->passes < MIN_PASSES)
				__atomic_sub_fetch(&s->readers_busy, 1, __ATOMIC_RELEASE);
			break;
		}
		/* Stable keys inserted before the pass: each emitted by it. */
		for (int w = 0; w < NWRITERS; w++)
			for (u32 i = 0; i < n[w]; i += 2)
				c->missing += c->pass_of[(u64)w * KEYS_PER + i] != c->pass;
		if (++c->passes == MIN_PASSES)
			__atomic_sub_fetch(&s->readers_busy, 1, __ATOMIC_RELEASE);
	}
	c->moved = r.moved;
	hmap_reader_release(&r);
	return NULL;
}

static void torn_run(struct __test_metadata *_metadata, struct ttab *t)
{
	struct torn s = {
		.t = t,
		.version = calloc(NKEYS, sizeof(u64)),
		.floor = calloc(NKEYS, sizeof(u64)),
		.starting = 2,
		.readers_busy = 2,
		.writers_left = NWRITERS,
	};
	struct torn_writer w[NWRITERS];
	struct torn_reader rd[2];
	pthread_t tw[NWRITERS], tr[2];
	u64 t0 = hgr_now_ns();
	long refused = 0;

	for (int i = 0; i < 2; i++) {
		rd[i] = (struct torn_reader){ .s = &s, .last = calloc(NKEYS, sizeof(u64)) };
		rd[i].pass_of = calloc(NKEYS, sizeof(u32));
		rd[i].floor_at = calloc(NKEYS, sizeof(u64));
	}
	ASSERT_EQ(0, pthread_create(&tr[0], NULL, torn_lookups, &rd[0]));
	ASSERT_EQ(0, pthread_create(&tr[1], NULL, torn_iterations, &rd[1]));
	for (int i = 0; i < NWRITERS; i++) {
		w[i] = (struct torn_writer){ .s = &s, .id = i };
		ASSERT_EQ(0, pthread_create(&tw[i], NULL, torn_writer, &w[i]));
	}
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(tw[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(tr[i], NULL);

	for (int i = 0; i < NWRITERS; i++) {
		EXPECT_EQ(0, w[i].errors);
		refused += w[i].refused;
	}
	TH_LOG("%.2fs; lookups: %ld reads, %llu retries, %llu moved chains; "
	       "iterations: %u passes, %ld reads, %llu retries, %llu moved chains; "
	       "%ld + %ld reads given up; %d growths, %ld inserts refused",
	       (hgr_now_ns() - t0) / 1e9, rd[0].reads, (unsigned long long)rd[0].retries,
	       (unsigned long long)rd[0].moved, rd[1].passes, rd[1].reads,
	       (unsigned long long)rd[1].retries, (unsigned long long)rd[1].moved,
	       rd[0].gave_up, rd[1].gave_up, t->n ? t->n->ngrows : 0, refused);
	for (int i = 0; i < 2; i++) {
		EXPECT_EQ(0, rd[i].errors);
		EXPECT_EQ(0, rd[i].torn);	/* a value no writer wrote */
		EXPECT_EQ(0, rd[i].stale);	/* older than one written or seen before */
		EXPECT_EQ(0, rd[i].missing);	/* a key never deleted not found */
		EXPECT_EQ(0, rd[i].dups);	/* emitted twice in one pass */
		EXPECT_GT(rd[i].reads, 0);
		free(rd[i].last);
		free(rd[i].pass_of);
		free(rd[i].floor_at);
	}
	/* Readers and writers overlapped: reads met writes and were retried. */
	EXPECT_GT(rd[0].retries + rd[1].retries, 0);
	EXPECT_EQ(0, t->maps);
	free(s.version);
	free(s.floor);
}

TEST(fixed_torn_reads)
{
	struct ttab t;

	ttab_fixed(&t, NKEYS);
	torn_run(_metadata, &t);
	ttab_destroy(&t);
}

TEST(incremental_torn_reads_while_growing)
{
	struct ttab t;

	ttab_incremental(&t, 1 << 18, true);
	torn_run(_metadata, &t);
	/* 512 buckets -> 2048 -> 8192 (-> 32768 past 26624 live keys) */
	EXPECT_GE(t.n->ngrows, 2);
	ttab_destroy(&t);
}

/* ---- hostile shared memory --------------------------------------------------- */

/* Where @key sits in @tab: its slot, or -1; *@headp gets its chain's head. */
static int slot_of(struct hmap_tab *tab, u64 key, struct hmap_bucket **headp,
		   struct hmap_bucket **bp)
{
	struct hmap_bucket *b = hmap_bucket_at(tab, hmap_tab_index(tab, hmap_tab_hash(tab, &key)));

	*headp = b;
	for (;;) {
		for (int i = 0; i < HMAP_BUCKET_SLOTS; i++)
			if (b->tophash[i] >= HMAP_TOPHASH_MIN &&
			    !memcmp(hmap_slot_key(tab, b, i), &key, sizeof(key))) {
				*bp = b;
				return i;
			}
		if (!b->overflow)
			return -1;
		b = hmap_bucket_at(tab, b->overflow);
	}
}

/*
 * The mapping is read-only to user space, but a reader may see any bytes a
 * torn read can produce: an overflow link or a value index past everything
 * mapped must make the read fail (-EAGAIN once retries run out), never make
 * the reader follow it (which would read far outside the mapping: SEGV or
 * an ASan report here).
 */
TEST(links_and_indexes_past_the_mapping_are_never_followed)
{
	struct hmap_bucket *head, *b;
	struct hmap_reader r;
	struct tval v, out;
	struct ttab t;
	u64 absent = 0;
	int slot;

	/* Fixed: a full head bucket links far past the array.  (A bucket with
	 * room ends its chain at its first never-used slot.) */
	ttab_fixed(&t, 4096);
	head = hmap_bucket_at(&t.tab, 0);
	for (u64 k = 1, n = 0; n < HMAP_BUCKET_SLOTS; k++) {
		struct hmap_bucket *h2, *b2;

		slot_of(&t.tab, k, &h2, &b2);
		if (h2 != head)
			continue;
		tval_make(&v, k, 1);
		ASSERT_EQ(0, ttab_update(&t, k, &v, HMAP_ANY));
		n++;
	}
	ASSERT_EQ(0, head->overflow);
	for (u64 k = 1 << 20; !absent; k++) {
		struct hmap_bucket *h2, *b2;

		if (slot_of(&t.tab, k, &h2, &b2) < 0 && h2 == head)
			absent = k;
	}
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	EXPECT_EQ(-ENOENT, hmap_reader_lookup(&r, &absent, &out));
	head->overflow = 0x7fffffff;
	EXPECT_EQ(-EAGAIN, hmap_reader_lookup(&r, &absent, &out));
	hmap_reader_release(&r);
	ttab_destroy(&t);

	/* Incremental: a slot's value index names a chunk that does not exist. */
	ttab_incremental(&t, 1 << 16, false);
	for (u64 k = 1; k <= 32; k++) {
		tval_make(&v, k, 1);
		ASSERT_EQ(0, ttab_update(&t, k, &v, HMAP_ANY));
	}
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	ASSERT_EQ(0, hmap_reader_lookup(&r, &(u64){ 7 }, &out));
	EXPECT_TRUE(tval_ok(&out, 7));
	slot = slot_of(&t.n->g.regime->cur->tab, 7, &head, &b);
	ASSERT_LE(0, slot);
	*(u32 *)hmap_slot_val(&t.n->g.regime->cur->tab, b, slot) = 0xffffffff;
	EXPECT_EQ(-EAGAIN, hmap_reader_lookup(&r, &(u64){ 7 }, &out));
	ASSERT_EQ(0, hmap_reader_lookup(&r, &(u64){ 8 }, &out));	/* the rest still reads */
	EXPECT_TRUE(tval_ok(&out, 8));
	hmap_reader_release(&r);
	ttab_destroy(&t);
}

static int count_cb(const void *key, const void *value, void *ctx)
{
	(*(u64 *)ctx)++;
	return 0;
}

/*
 * One chain of more entries than the iteration's first buffer holds (8 * 64
 * pairs): the walk must grow the buffer and emit them all.  It used to stop
 * with -E2BIG before even checking the chain's seq, so a torn walk that
 * looked long failed the dump instead of being retried.
 */
TEST(a_chain_longer_than_the_buffer_is_read_whole)
{
	struct hmap_bucket *head = NULL, *h2, *b2;
	struct hmap_reader r;
	u64 n = 0, seen = 0;
	struct tval v;
	struct ttab t;

	ttab_fixed(&t, 1 << 16);
	TH_LOG("%u main buckets, %u overflow", t.tab.l.nbuckets, t.tab.l.noverflow);
	head = hmap_bucket_at(&t.tab, 0);
	for (u64 k = 1; n < 600 && k < (1ULL << 32); k++) {
		slot_of(&t.tab, k, &h2, &b2);
		if (h2 != head)
			continue;
		tval_make(&v, k, 1);
		if (ttab_update(&t, k, &v, HMAP_ANY))
			break;	/* overflow buckets ran out */
		n++;
	}
	ASSERT_LT(8 * 64, n);
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	EXPECT_EQ(0, hmap_reader_iterate(&r, HMAP_ITER_CONSISTENT, count_cb, &seen, NULL));
	EXPECT_EQ(n, seen);
	hmap_reader_release(&r);
	ttab_destroy(&t);
}

struct batch_rec {
	struct hmap_tab *tab;
	u64 nkeys, entries, calls, stop_at;
	u32 *batch_of_chain;	/* by chain: 1 + the batch its keys came in */
	u8 *emitted;		/* by key */
	u64 bad;
};

/* Each key once; each chain's keys all in one batch; stop at call stop_at. */
static int batch_rec_cb(const struct hmap_entry_ref *ents, unsigned int n, void *ctx)
{
	struct batch_rec *b = ctx;

	b->calls++;
	if (!n)
		b->bad++;
	for (unsigned int i = 0; i < n; i++) {
		u64 k;
		u32 c;

		memcpy(&k, ents[i].key, sizeof(k));
		if (k >= b->nkeys || b->emitted[k]++) {
			b->bad++;
			continue;
		}
		c = hmap_tab_index(b->tab, hmap_tab_hash(b->tab, &k));
		if (!b->batch_of_chain[c])
			b->batch_of_chain[c] = b->calls;
		else if (b->batch_of_chain[c] != b->calls)
			b->bad++;	/* a chain split across batches */
	}
	b->entries += n;
	return b->calls == b->stop_at ? 7 : 0;
}

/*
 * hmap_reader_iterate_batch(), behind hmap_table__iterate_batch(): batches
 * of whole chains, every entry once, in place several chains a batch (the
 * point of it), and a callback's non-zero return stops the walk and is
 * returned.  A chain of more entries than the batch buffer holds, behind
 * other chains' entries, is handed out whole in a batch of its own.
 */
TEST(batches_hold_whole_chains_every_entry_once_and_stop_when_told)
{
	unsigned int flags[2] = { 0, HMAP_ITER_CONSISTENT };
	u64 live = 0, nkeys = 1 << 24, k, kmax;
	struct hmap_reader r;
	struct batch_rec b;
	struct tval v;
	struct ttab t;
	u32 nchains, long_n = 0;

	ttab_fixed(&t, 1 << 16);
	/* 600 keys in chain 100 (the buffer starts with room for 512)... */
	for (k = 0; long_n < 600 && k < nkeys; k++) {
		if (hmap_tab_index(&t.tab, hmap_tab_hash(&t.tab, &k)) != 100)
			continue;
		tval_make(&v, k, 1);
		if (ttab_update(&t, k, &v, HMAP_ANY))
			break;	/* overflow buckets ran out */
		long_n++;
	}
	ASSERT_LT(512, long_n);
	kmax = k;
	/* ...and 20000 more anywhere, so chains 0..99 have some before it. */
	for (k = 0; k < nkeys && live < 20000; k++) {
		if (hmap_tab_index(&t.tab, hmap_tab_hash(&t.tab, &k)) == 100)
			continue;
		tval_make(&v, k, 1);
		ASSERT_EQ(0, ttab_update(&t, k, &v, HMAP_ANY));
		live++;
	}
	live += long_n;
	nkeys = k > kmax ? k : kmax;
	b.tab = &t.tab;
	b.nkeys = nkeys;
	b.batch_of_chain = calloc(t.tab.l.nbuckets, sizeof(*b.batch_of_chain));
	b.emitted = calloc(nkeys, 1);
	ASSERT_TRUE(b.batch_of_chain && b.emitted);
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	for (int f = 0; f < 2; f++) {
		memset(b.batch_of_chain, 0, t.tab.l.nbuckets * sizeof(*b.batch_of_chain));
		memset(b.emitted, 0, nkeys);
		b.entries = b.calls = b.bad = b.stop_at = 0;
		EXPECT_EQ(0, hmap_reader_iterate_batch(&r, flags[f], batch_rec_cb, &b, NULL));
		EXPECT_EQ(0, b.bad);
		EXPECT_EQ(live, b.entries);
		nchains = 0;
		for (u32 c = 0; c < t.tab.l.nbuckets; c++)
			nchains += !!b.batch_of_chain[c];
		TH_LOG("flags %u: %llu entries of %u chains in %llu batches", flags[f],
		       (unsigned long long)b.entries, nchains, (unsigned long long)b.calls);
		if (flags[f] & HMAP_ITER_CONSISTENT) {
			EXPECT_EQ(nchains, b.calls);	/* a chain a batch */
		} else {
			EXPECT_GT(nchains / 8, b.calls);	/* many chains a batch */
		}

		/* Stopped by the second batch: its value, no third call. */
		memset(b.batch_of_chain, 0, t.tab.l.nbuckets * sizeof(*b.batch_of_chain));
		memset(b.emitted, 0, nkeys);
		b.entries = b.calls = b.bad = 0;
		b.stop_at = 2;
		EXPECT_EQ(7, hmap_reader_iterate_batch(&r, flags[f], batch_rec_cb, &b, NULL));
		EXPECT_EQ(2, b.calls);
		EXPECT_GT(live, b.entries);
		EXPECT_EQ(0, b.bad);
	}
	hmap_reader_release(&r);
	free(b.batch_of_chain);
	free(b.emitted);
	ttab_destroy(&t);
}

/* ---- in-place iteration while overflow buckets are recycled (review) ------- */

/* Keys from @from up whose chain is @chain, @n of them, into @out. */
static u64 keys_of_chain(struct hmap_tab *tab, u32 chain, u64 from, u64 *out, int n)
{
	for (int i = 0; i < n; from++)
		if (hmap_tab_index(tab, hmap_tab_hash(tab, &from)) == chain)
			out[i++] = from;
	return from;
}

struct recycle_cb {
	struct ttab *t;
	u64 trigger, *mkeys, *gkeys, stable;
	u32 *emitted;		/* by key index: 0..7 M, 8..23 G, 24 stable */
	u64 all[25];
	bool fired;
};

/* Emit counter; at the first key of the middle bucket M, act as a writer on
 * another CPU would at that moment: empty M (it leaves chain 0 and is
 * freed), then grow chain 1 past its head (M is popped and reused there). */
static int recycle_cb(const void *key, const void *value, void *ctx)
{
	struct recycle_cb *c = ctx;
	struct tval v;
	u64 k;

	memcpy(&k, key, sizeof(k));
	for (int i = 0; i < 25; i++)
		c->emitted[i] += c->all[i] == k;
	if (k == c->trigger && !c->fired) {
		c->fired = true;
		for (int i = 0; i < 8; i++)
			if (ttab_delete(c->t, c->mkeys[i]))
				return -1;
		for (int i = 8; i < 16; i++) {
			tval_make(&v, c->gkeys[i], 1);
			if (ttab_update(c->t, c->gkeys[i], &v, HMAP_NOEXIST))
				return -1;
		}
	}
	return 0;
}

/*
 * Found by review of a01efd9: an in-place (not HMAP_ITER_CONSISTENT)
 * iteration of a fixed table, which hmap_table__count() uses, must emit
 * every key that lives throughout the walk exactly once.  A walk that was
 * inside a middle overflow bucket when it was emptied, freed and reused by
 * another chain followed it there: the keys after it in its old chain were
 * missed (0 times), the other chain's emitted twice.  Each chain's slots
 * are now found between two equal seq reads before any is handed out.
 */
TEST(in_place_iteration_across_a_recycled_bucket)
{
	struct recycle_cb c = {};
	u64 hkeys[8], mkeys[8], gkeys[16], from = 1;
	struct hmap_reader r;
	struct tval v;
	struct ttab t;
	u32 emitted[25] = {};
	int dups = 0;

	ttab_fixed(&t, 4096);
	from = keys_of_chain(&t.tab, 0, from, hkeys, 8);	/* chain 0: head */
	from = keys_of_chain(&t.tab, 0, from, mkeys, 8);	/* chain 0: M */
	from = keys_of_chain(&t.tab, 0, from, &c.stable, 1);	/* chain 0: T */
	from = keys_of_chain(&t.tab, 1, from, gkeys, 16);	/* chain 1 */
	for (int i = 0; i < 8; i++) {
		tval_make(&v, hkeys[i], 1);
		ASSERT_EQ(0, ttab_update(&t, hkeys[i], &v, HMAP_NOEXIST));
	}
	for (int i = 0; i < 8; i++) {
		tval_make(&v, mkeys[i], 1);
		ASSERT_EQ(0, ttab_update(&t, mkeys[i], &v, HMAP_NOEXIST));
	}
	tval_make(&v, c.stable, 1);
	ASSERT_EQ(0, ttab_update(&t, c.stable, &v, HMAP_NOEXIST));
	for (int i = 0; i < 8; i++) {
		tval_make(&v, gkeys[i], 1);
		ASSERT_EQ(0, ttab_update(&t, gkeys[i], &v, HMAP_NOEXIST));
	}
	c.t = &t;
	c.trigger = mkeys[0];
	c.mkeys = mkeys;
	c.gkeys = gkeys;
	c.emitted = emitted;
	memcpy(c.all, mkeys, sizeof(mkeys));
	memcpy(c.all + 8, gkeys, sizeof(gkeys));
	c.all[24] = c.stable;
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	EXPECT_EQ(0, hmap_reader_iterate(&r, 0, recycle_cb, &c, NULL));
	ASSERT_TRUE(c.fired);
	/* Keys that live throughout the walk: the other chain's first 8 and
	 * the one behind M.  (The 8 inserted meanwhile may also show in
	 * place of M's deleted keys, whose slots they took: in-place entries
	 * of keys deleted during the walk may be replaced, as documented.) */
	for (int i = 8; i < 16; i++)
		dups += emitted[i] != 1;
	TH_LOG("stable key behind the recycled bucket emitted %u times; "
	       "%d stable keys of the other chain not emitted exactly once", emitted[24], dups);
	EXPECT_EQ(1, emitted[24]);	/* lived throughout the walk */
	EXPECT_EQ(0, dups);
	/* The same seen by a lookup: validated, right. */
	EXPECT_EQ(0, hmap_reader_lookup(&r, &c.stable, &v));
	hmap_reader_release(&r);
	ttab_destroy(&t);
}

/*
 * The same with a real concurrent writer.  Chain 0 holds a head of 8 keys
 * and RC_GROUPS overflow buckets of 8 keys each; the writer deletes the
 * oldest group (a middle bucket: it leaves the chain and is freed) and
 * inserts it again (the bucket is popped and linked at the tail of the same
 * chain), forever.  Each key carries a generation (odd while deleted); a
 * key whose generation is even and unchanged across an in-place pass lived
 * throughout it, and must be emitted exactly once.
 */
#define RC_GROUPS	4
#define RC_NKEYS	(8 * (RC_GROUPS + 1))

struct rc_shared {
	struct ttab *t;
	volatile int stop;
	u64 keys[RC_NKEYS];	/* [0..7] the head, then one group a bucket */
	u64 gen[RC_NKEYS];	/* writer: odd while a key is deleted */
	u32 emitted[RC_NKEYS];
	long missing, dups, passes, rounds, refused;
};

static void *rc_writer(void *arg)
{
	struct rc_shared *s = arg;
	struct tval v;

	for (u32 g = 0; !s->stop; g = (g + 1) % RC_GROUPS, s->rounds++) {
		u64 *k = s->keys + 8 * (g + 1), *gen = s->gen + 8 * (g + 1);

		for (int i = 0; i < 8; i++) {
			__atomic_add_fetch(&gen[i], 1, __ATOMIC_SEQ_CST);
			if (ttab_delete(s->t, k[i]))
				abort();
		}
		for (int i = 0; i < 8; i++) {
			int ret;

			tval_make(&v, k[i], 1);
			/* An incremental table's freed values come back after
			 * the worker's grace period: wait for it if need be. */
			while ((ret = ttab_update(s->t, k[i], &v, HMAP_NOEXIST)) == -ENOSPC)
				s->refused++, sched_yield();
			if (ret)
				abort();
			__atomic_add_fetch(&gen[i], 1, __ATOMIC_SEQ_CST);
		}
	}
	return NULL;
}

static int rc_cb(const void *key, const void *value, void *ctx)
{
	struct rc_shared *s = ctx;
	u64 k;

	memcpy(&k, key, sizeof(k));
	for (int i = 0; i < RC_NKEYS; i++)
		s->emitted[i] += s->keys[i] == k;
	return 0;
}

static void stable_keys_under_churn(struct __test_metadata *_metadata, bool incr)
{
	struct rc_shared s = {};
	u64 g0[RC_NKEYS], g1;
	struct hmap_reader r;
	pthread_t tw;
	struct tval v;
	struct ttab t;

	if (incr)	/* 40 keys: stays in its first array (512 buckets) */
		ttab_incremental(&t, 4096, true);	/* the worker recycles values */
	else
		ttab_fixed(&t, 4096);
	keys_of_chain(incr ? &t.n->arrays[0]->tab : &t.tab, 0, 1, s.keys, RC_NKEYS);
	for (int i = 0; i < RC_NKEYS; i++) {
		tval_make(&v, s.keys[i], 1);
		ASSERT_EQ(0, ttab_update(&t, s.keys[i], &v, HMAP_NOEXIST));
	}
	s.t = &t;
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	ASSERT_EQ(0, pthread_create(&tw, NULL, rc_writer, &s));
	for (u64 t0 = hgr_now_ns(); hgr_now_ns() - t0 < 700000000ULL;) {
		for (int i = 0; i < RC_NKEYS; i++)
			g0[i] = __atomic_load_n(&s.gen[i], __ATOMIC_SEQ_CST);
		memset(s.emitted, 0, sizeof(s.emitted));
		ASSERT_EQ(0, hmap_reader_iterate(&r, 0, rc_cb, &s, NULL));
		for (int i = 0; i < RC_NKEYS; i++) {
			g1 = __atomic_load_n(&s.gen[i], __ATOMIC_SEQ_CST);
			if (g1 != g0[i] || (g1 & 1))
				continue;	/* changed during the pass */
			s.missing += s.emitted[i] == 0;
			s.dups += s.emitted[i] > 1;
		}
		s.passes++;
	}
	s.stop = 1;
	pthread_join(tw, NULL);
	TH_LOG("%s: %ld passes without HMAP_ITER_CONSISTENT, %ld writer rounds: keys live "
	       "throughout a pass missed %ld times, emitted twice %ld times (%ld inserts "
	       "waited for the worker)", incr ? "incremental" : "fixed", s.passes, s.rounds,
	       s.missing, s.dups, s.refused);
	EXPECT_EQ(0, s.missing);
	EXPECT_EQ(0, s.dups);
	EXPECT_LT(100, s.passes);
	hmap_reader_release(&r);
	ttab_destroy(&t);
}

TEST(in_place_iteration_stable_keys_under_churn)
{
	stable_keys_under_churn(_metadata, false);
}

/* The incremental variant's walk without HMAP_ITER_CONSISTENT copies each
 * chain; it too must read the chain's shape between two equal seqs. */
TEST(incremental_iteration_stable_keys_under_churn)
{
	stable_keys_under_churn(_metadata, true);
}

/*
 * A walk inside an overflow bucket at the moment it is emptied (it leaves
 * chain 0 and is freed) and reused at the tail of chain 1: deterministic,
 * through the reader's test hook, for every kind of walk.  Before each
 * chain's shape was validated, the in-place walk and the incremental
 * variant's walk without HMAP_ITER_CONSISTENT went on into chain 1: the
 * key behind the bucket in chain 0, which lives throughout, was missed.
 */
static struct {
	struct ttab *t;
	u64 mkeys[8], gkeys[16];
	int armed, fired;
} enter;

void reader_test_enter_hook(const struct hmap_bucket *b)
{
	struct tval v;

	(void)b;
	if (!enter.armed || enter.fired++)
		return;
	for (int i = 0; i < 8; i++)
		if (ttab_delete(enter.t, enter.mkeys[i]))
			abort();
	for (int i = 8; i < 16; i++) {
		tval_make(&v, enter.gkeys[i], 1);
		if (ttab_update(enter.t, enter.gkeys[i], &v, HMAP_NOEXIST))
			abort();
	}
}

static int enter_cb(const void *key, const void *value, void *ctx)
{
	u64 k, *stable = ctx;

	memcpy(&k, key, sizeof(k));
	stable[1] += k == stable[0];
	return 0;
}

static void walk_inside_a_recycled_bucket(struct __test_metadata *_metadata, bool incr,
					  unsigned int flags)
{
	u64 hkeys[8], stable[2] = {}, from = 1;
	struct hmap_tab *tab;
	struct hmap_reader r;
	struct tval v;
	struct ttab t;

	if (incr)
		ttab_incremental(&t, 4096, true);
	else
		ttab_fixed(&t, 4096);
	tab = incr ? &t.n->arrays[0]->tab : &t.tab;
	from = keys_of_chain(tab, 0, from, hkeys, 8);
	from = keys_of_chain(tab, 0, from, enter.mkeys, 8);
	from = keys_of_chain(tab, 0, from, &stable[0], 1);
	from = keys_of_chain(tab, 1, from, enter.gkeys, 16);
	for (int i = 0; i < 8; i++) {
		tval_make(&v, hkeys[i], 1);
		ASSERT_EQ(0, ttab_update(&t, hkeys[i], &v, HMAP_NOEXIST));
	}
	for (int i = 0; i < 8; i++) {
		tval_make(&v, enter.mkeys[i], 1);
		ASSERT_EQ(0, ttab_update(&t, enter.mkeys[i], &v, HMAP_NOEXIST));
	}
	tval_make(&v, stable[0], 1);
	ASSERT_EQ(0, ttab_update(&t, stable[0], &v, HMAP_NOEXIST));
	for (int i = 0; i < 8; i++) {
		tval_make(&v, enter.gkeys[i], 1);
		ASSERT_EQ(0, ttab_update(&t, enter.gkeys[i], &v, HMAP_NOEXIST));
	}
	ASSERT_EQ(0, hmap_reader_init(&r, t.shm, &ttab_ops, &t));
	enter.t = &t;
	enter.fired = 0;
	enter.armed = 1;
	EXPECT_EQ(0, hmap_reader_iterate(&r, flags, enter_cb, stable, NULL));
	enter.armed = 0;
	EXPECT_LT(0, enter.fired);
	EXPECT_EQ(1, stable[1]) TH_LOG("%s walk%s: the key behind the recycled bucket "
				       "emitted %llu times", incr ? "incremental" : "fixed",
				       flags ? ", consistent" : "", (unsigned long long)stable[1]);
	hmap_reader_release(&r);
	ttab_destroy(&t);
}

TEST(walks_inside_a_recycled_bucket)
{
	walk_inside_a_recycled_bucket(_metadata, false, 0);
	walk_inside_a_recycled_bucket(_metadata, false, HMAP_ITER_CONSISTENT);
	walk_inside_a_recycled_bucket(_metadata, true, 0);
	walk_inside_a_recycled_bucket(_metadata, true, HMAP_ITER_CONSISTENT);
}

TEST_HARNESS_MAIN
