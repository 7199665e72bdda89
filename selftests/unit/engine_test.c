// SPDX-License-Identifier: GPL-2.0
/*
 * Host-side tests of the hmap engine, built as user-space C with ASan and
 * UBSan (make check runs them before the VM suites).
 *
 *  - hash:     the user-space hash is bit-exact with the kernel's hsiphash
 *              (vectors from lib/test_siphash.c, 64-bit set);
 *  - layout:   every size and capacity boundary, and overflow-proof sizing;
 *  - model:    random update/delete/lookup/lookup-or-init against a plain
 *              reference model, for key and value sizes at every boundary,
 *              including filling to capacity (-ENOSPC) and delete-reinsert;
 *  - threads:  writers that own disjoint keys and a seq-validated reader:
 *              no lost updates, no torn chains.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_harness.h"
#include "hmap_engine.h"
#include "utab.h"

/* lib/test_siphash.c, BITS_PER_LONG == 64: key 00..0f, input 00..len-1 */
static const u32 kernel_hsiphash_vectors[16] = {
	0x050fc4dcU, 0x7d57ca93U, 0x4dc7d44dU, 0xe7ddf7fbU,
	0x88d38328U, 0x49533b67U, 0xc59f22a7U, 0x9bb11140U,
	0x8d299a8eU, 0x6c063de4U, 0x92ff097fU, 0xf94dc352U,
	0x57b4d9a2U, 0x1229ffa7U, 0xc0f95d34U, 0x2a519956U,
};


/*
 * Called by hmap_seq_end() (HMAP_SEQ_END_HOOK): the chain a writer is about
 * to publish must already be whole, with no empty overflow bucket still
 * linked (a lock-free reader that starts now must not walk into one that is
 * about to be freed and reused).  Counts violations for the single-threaded
 * tests that set hooked_tab.
 */
static struct hmap_tab *hooked_tab;
static long hook_violations;

void engine_test_seq_end(struct hmap_bucket *head)
{
	struct hmap_tab *t = hooked_tab;
	struct hmap_bucket *b = head;
	u32 hops = 0;

	if (!t || (u8 *)head < t->buckets ||
	    (u8 *)head >= t->buckets + (size_t)t->l.nbuckets * t->l.bucket_size)
		return;
	while (b->overflow) {
		u64 word;

		if (b->overflow < t->l.nbuckets || b->overflow >= t->l.nbuckets + t->l.noverflow ||
		    ++hops > t->l.noverflow) {
			hook_violations++;
			return;
		}
		b = hmap_bucket_at(t, b->overflow);
		memcpy(&word, b->tophash, 8);
		if (!(word & ~0x0101010101010101ULL))
			hook_violations++;
	}
}


/* ---- reference model: open hashing on a different hash ---------------- */
struct ref {
	u32 ksz, vsz, n, cap;
	u8 *keys, *vals, *used;
};

static u64 fnv(const u8 *p, u32 n)
{
	u64 h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *p++) * 1099511628211ULL;
	return h;
}

static void ref_init(struct ref *r, u32 ksz, u32 vsz, u32 cap)
{
	r->ksz = ksz;
	r->vsz = vsz;
	r->n = 0;
	r->cap = cap * 2 + 16;
	r->keys = calloc(r->cap, ksz);
	r->vals = calloc(r->cap, vsz);
	r->used = calloc(r->cap, 1);	/* 0 free, 1 used, 2 tombstone */
}

static void ref_free(struct ref *r)
{
	free(r->keys);
	free(r->vals);
	free(r->used);
}

static long ref_find(struct ref *r, const u8 *k)
{
	u64 i = fnv(k, r->ksz) % r->cap;

	for (u32 probes = 0; probes < r->cap; probes++, i = (i + 1) % r->cap) {
		if (!r->used[i])
			return -1;
		if (r->used[i] == 1 && !memcmp(r->keys + i * r->ksz, k, r->ksz))
			return i;
	}
	return -1;
}

static void ref_put(struct ref *r, const u8 *k, const u8 *v)
{
	long at = ref_find(r, k);
	u64 i;

	if (at >= 0) {
		memcpy(r->vals + at * r->vsz, v, r->vsz);
		return;
	}
	for (i = fnv(k, r->ksz) % r->cap; r->used[i] == 1; i = (i + 1) % r->cap)
		;
	r->used[i] = 1;
	memcpy(r->keys + i * r->ksz, k, r->ksz);
	memcpy(r->vals + i * r->vsz, v, r->vsz);
	r->n++;
}

static void ref_del(struct ref *r, long at)
{
	r->used[at] = 2;
	r->n--;
}

static u64 rng_state = 88172645463325252ULL;

static u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill(u8 *p, u32 n)
{
	while (n--)
		*p++ = rnd();
}

TEST(hash_matches_kernel_hsiphash)
{
	hmap_seed_t key = { { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL } };
	u8 in[17], unaligned[18];

	for (u32 i = 0; i < 16; i++) {
		in[i] = i;
		unaligned[i + 1] = i;
		ASSERT_EQ(kernel_hsiphash_vectors[i], hmap_plat_hash(in, i, &key))
			TH_LOG("length %u", i);
		ASSERT_EQ(kernel_hsiphash_vectors[i], hmap_plat_hash(unaligned + 1, i, &key));
	}
}

TEST(layout_rejects_bad_shapes)
{
	struct hmap_layout l;

	EXPECT_EQ(-EINVAL, hmap_layout_init(&l, 0, 8, 10, ~0ULL));
	EXPECT_EQ(-EINVAL, hmap_layout_init(&l, 8, 0, 10, ~0ULL));
	EXPECT_EQ(-EINVAL, hmap_layout_init(&l, 8, 8, 0, ~0ULL));
	EXPECT_EQ(-E2BIG, hmap_layout_init(&l, HMAP_KEY_SIZE_MAX + 1, 8, 10, ~0ULL));
	EXPECT_EQ(-E2BIG, hmap_layout_init(&l, 8, HMAP_VALUE_SIZE_MAX + 1, 10, ~0ULL));
	EXPECT_EQ(-E2BIG, hmap_layout_init(&l, 8, 8, ~0ULL, ~0ULL));
	EXPECT_EQ(-E2BIG, hmap_layout_init(&l, 8, 8, 1ULL << 62, ~0ULL));
	EXPECT_EQ(-E2BIG, hmap_layout_init(&l, 8, 8, 1000, 4096));

	/* Largest accepted capacity: 6.5 * 2^24; one more is refused. */
	ASSERT_EQ(0, hmap_layout_init(&l, HMAP_KEY_SIZE_MAX, HMAP_VALUE_SIZE_MAX,
				      13ULL << 23, ~0ULL));
	EXPECT_EQ(1U << 24, l.nbuckets);
	EXPECT_EQ(-E2BIG, hmap_layout_init(&l, 8, 8, (13ULL << 23) + 1, ~0ULL));

	ASSERT_EQ(0, hmap_layout_init(&l, 1, 1, 1, ~0ULL));
	EXPECT_EQ(1U, l.nbuckets);
	EXPECT_EQ(0U, l.array_bytes % PAGE_SIZE);
	ASSERT_EQ(0, hmap_layout_init(&l, 16, 8, 1 << 20, ~0ULL));
	EXPECT_EQ(262144U, l.nbuckets);		/* 2^20 / 6.5 -> 2^18 */
	EXPECT_EQ(16U + 8 * 16 + 8 * 8, l.bucket_size);
	/* Small slots keep their natural size and alignment. */
	ASSERT_EQ(0, hmap_layout_init(&l, 4, 4, 100, ~0ULL));
	EXPECT_EQ(4U, l.key_stride);
	EXPECT_EQ(48U, l.values_off);
	EXPECT_EQ(80U, l.bucket_size);
	ASSERT_EQ(0, hmap_layout_init(&l, 3, 1, 100, ~0ULL));
	EXPECT_EQ(4U, l.key_stride);
	EXPECT_EQ(1U, l.value_stride);
	EXPECT_EQ(0U, l.values_off % 8);
	EXPECT_EQ(0U, l.bucket_size % 8);
	ASSERT_EQ(0, hmap_layout_init(&l, 5, 12, 100, ~0ULL));
	EXPECT_EQ(8U, l.key_stride);
	EXPECT_EQ(16U, l.value_stride);
}

/*
 * Fixed tables get capacity / 6.5 main buckets, not the next power of two.
 * The stripes stay a power of two no larger than the bucket count.
 */
TEST(exact_layout_fits_the_capacity)
{
	static const u32 caps[] = { 1, 7, 100, 1000, 5000, 1 << 20, 1000003 };
	struct hmap_layout l, p2;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		u64 want = ((u64)caps[i] * 2 + 12) / 13;

		ASSERT_EQ(0, hmap_layout_init_exact(&l, 16, 8, caps[i], ~0ULL));
		EXPECT_EQ(want, l.nbuckets) TH_LOG("capacity %u", caps[i]);
		EXPECT_GE(l.nbuckets, l.nlocks);
		EXPECT_EQ(0U, l.nlocks & (l.nlocks - 1));
		EXPECT_GE((u32)HMAP_MAX_LOCKS, l.nlocks);
		EXPECT_GE(l.nlocks * 2, l.nbuckets < HMAP_MAX_LOCKS ? l.nbuckets : 1);
	}
	ASSERT_EQ(0, hmap_layout_init_exact(&l, 16, 8, 1 << 20, ~0ULL));
	ASSERT_EQ(0, hmap_layout_init(&p2, 16, 8, 1 << 20, ~0ULL));
	TH_LOG("2^20 entries of 16+8 bytes: %.1f bytes an entry (%u + %u buckets); "
	       "a power of two: %.1f (%u + %u)",
	       (double)l.array_bytes / (1 << 20), l.nbuckets, l.noverflow,
	       (double)p2.array_bytes / (1 << 20), p2.nbuckets, p2.noverflow);
	EXPECT_GT(p2.array_bytes, l.array_bytes);
	ASSERT_EQ(0, hmap_layout_init_exact(&l, 8, 8, (13ULL << 23), ~0ULL));
	EXPECT_EQ(1U << 24, l.nbuckets);
	EXPECT_EQ(-E2BIG, hmap_layout_init_exact(&l, 8, 8, (13ULL << 23) + 1, ~0ULL));
}

/*
 * hmap_bucket_index() for counts that are not powers of two: in range, even
 * over the buckets (chi-square), even near the 2^24 limit, and independent
 * of the tophash (the top 8 bits): within a bucket, two keys share a tophash
 * about once in 254 pairs, as they would at random.  Powers of two take the
 * low bits.
 */
static void index_spread(struct __test_metadata *_metadata, u32 nb, u32 per)
{
	u32 *cnt = calloc(nb, sizeof(*cnt));
	u32 ntop = nb < 4096 ? nb : 4096;	/* buckets whose tophashes are counted */
	u16 *tops = calloc((size_t)ntop * 256, sizeof(*tops));
	double chi = 0, mean = per, sd = sqrt(2.0 * nb), same = 0, pairs = 0;
	u64 x = nb;

	ASSERT_NE(NULL, cnt);
	ASSERT_NE(NULL, tops);
	for (u64 i = 0; i < (u64)nb * per; i++) {
		u32 h, b;

		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		h = x >> 32;
		b = hmap_bucket_index(h, nb);
		ASSERT_GT(nb, b);
		cnt[b]++;
		if (b < ntop)
			tops[(size_t)b * 256 + (h >> 24)]++;
	}
	for (u32 b = 0; b < nb; b++) {
		chi += (cnt[b] - mean) * (cnt[b] - mean) / mean;
		if (b >= ntop)
			continue;
		pairs += (double)cnt[b] * (cnt[b] - 1) / 2;
		for (u32 k = 0; k < 256; k++)
			same += (double)tops[(size_t)b * 256 + k] * (tops[(size_t)b * 256 + k] - 1) / 2;
	}
	/* nb - 1 degrees of freedom: mean about nb, sd sqrt(2 nb) */
	EXPECT_GT(nb + 6 * sd, chi) TH_LOG("%u buckets: chi-square %.0f", nb, chi);
	EXPECT_LT(nb - 6 * sd, chi) TH_LOG("%u buckets: chi-square %.0f", nb, chi);
	EXPECT_GT(1.2 / 256, same / pairs) TH_LOG("%u buckets: %.4f of pairs share a tophash",
						  nb, same / pairs);
	EXPECT_LT(0.8 / 256, same / pairs);
	free(cnt);
	free(tops);
}

TEST(bucket_index_spreads_evenly)
{
	index_spread(_metadata, 153847, 16);	/* 2^20 / 6.5, odd */
	index_spread(_metadata, (3U << 22) + 5, 2);	/* 3/4 of the limit: 1 or 2 of 2^24 */
	index_spread(_metadata, 7, 20000);
	EXPECT_EQ(5U, hmap_bucket_index(0xab000005U, 8));	/* powers of two: low bits */
}

/*
 * A huge-page-backed array is allocated in whole 2 MiB pages: the layout
 * grows to match and the tail becomes overflow buckets, which the engine
 * then uses like the others (filled past its capacity until every one is
 * linked, every key still found).  Rounding that would cost more than 1/32
 * of the array, or pass max_bytes, leaves the layout as it was.
 */
TEST(layout_fit_turns_the_tail_into_overflow_buckets)
{
	struct hmap_layout l, was;
	u64 *keys, n = 0, v = 0;
	hmap_seed_t seed = { { 0x1234, 0x5678 } };
	struct hmap_locks locks;
	struct hmap_tab t;
	u64 entries = 0;
	void *mem = NULL;
	int ret = 0;

	ASSERT_EQ(0, hmap_layout_init_exact(&l, 16, 8, 1 << 20, ~0ULL));
	was = l;
	ASSERT_TRUE(hmap_layout_fit(&l, 2 << 20, ~0ULL));
	EXPECT_EQ(0ULL, l.array_bytes % (2 << 20));
	EXPECT_GE(was.array_bytes + was.array_bytes / 32, l.array_bytes);
	EXPECT_EQ(was.nbuckets, l.nbuckets);
	EXPECT_LT(was.noverflow, l.noverflow);
	EXPECT_GE(l.array_bytes, (u64)(l.nbuckets + l.noverflow) * l.bucket_size);
	EXPECT_LT(l.array_bytes, (u64)(l.nbuckets + l.noverflow + 1) * l.bucket_size);
	TH_LOG("2^20 entries of 16+8 bytes in 2 MiB pages: %llu -> %llu bytes, %u -> %u overflow buckets",
	       (unsigned long long)was.array_bytes, (unsigned long long)l.array_bytes,
	       was.noverflow, l.noverflow);
	was = l;	/* already a multiple: nothing to do */
	EXPECT_TRUE(hmap_layout_fit(&l, 2 << 20, ~0ULL));
	EXPECT_EQ(0, memcmp(&was, &l, sizeof(l)));

	ASSERT_EQ(0, hmap_layout_init_exact(&l, 16, 8, 20000, ~0ULL));	/* ~1 MiB */
	was = l;
	EXPECT_FALSE(hmap_layout_fit(&l, 2 << 20, ~0ULL));
	EXPECT_EQ(0, memcmp(&was, &l, sizeof(l)));
	ASSERT_EQ(0, hmap_layout_init_exact(&l, 16, 8, 1 << 20, ~0ULL));
	was = l;
	EXPECT_FALSE(hmap_layout_fit(&l, 2 << 20, was.array_bytes));
	EXPECT_EQ(0, memcmp(&was, &l, sizeof(l)));

	/* The engine links the tail's buckets like the reserve's. */
	ASSERT_EQ(0, hmap_layout_init_exact(&l, 8, 8, 200000, ~0ULL));
	was = l;
	ASSERT_TRUE(hmap_layout_fit(&l, 1 << 16, ~0ULL));
	ASSERT_LT(was.noverflow, l.noverflow);
	l.capacity = ~0ULL;	/* fill until the overflow buckets run out */
	ASSERT_EQ(0, posix_memalign(&mem, PAGE_SIZE, l.array_bytes));
	memset(mem, 0, l.array_bytes);
	locks.lock = calloc(l.nlocks, 1);
	locks.mask = 0;
	keys = malloc(sizeof(*keys) * ((u64)l.nbuckets + l.noverflow) * HMAP_BUCKET_SLOTS);
	ASSERT_TRUE(locks.lock && keys);
	hmap_tab_init(&t, &l, mem, &entries, &seed, &locks);
	while (!ret) {
		u64 key = n * 0x9e3779b97f4a7c15ULL + 1;

		ret = hmap_tab_update(&t, &key, hmap_tab_hash(&t, &key), &v, HMAP_NOEXIST, NULL);
		if (!ret)
			keys[n++] = key;
	}
	EXPECT_EQ(-ENOSPC, ret);
	EXPECT_EQ((u64)l.noverflow, hmap_tab_overflow_used(&t));
	for (u64 i = 0; i < n; i++)
		if (!hmap_tab_lookup(&t, &keys[i], hmap_tab_hash(&t, &keys[i]))) {
			EXPECT_TRUE(0) TH_LOG("key %llu of %llu lost", (unsigned long long)i,
					      (unsigned long long)n);
			break;
		}
	TH_LOG("200000 entries: %u -> %u overflow buckets; %llu entries when they ran out",
	       was.noverflow, l.noverflow, (unsigned long long)n);
	free(keys);
	free(locks.lock);
	free(mem);
}

/*
 * An exact layout is full at 6.5 entries a bucket, so overflow buckets are
 * what let it reach its capacity: every size, many seeds, filled to the
 * last entry, never -ENOSPC before it (and -ENOSPC one after).
 */
TEST(exact_tables_fill_to_capacity)
{
	static const u32 caps[] = { 1, 2, 7, 13, 14, 50, 100, 333, 1000, 4099, 20000, 200000 };
	long refused = 0, runs = 0;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		int seeds = caps[i] >= 20000 ? 3 : 40;

		for (int sd = 1; sd <= seeds; sd++, runs++) {
			struct utab u;
			u64 k, v = 0;
			int ret = 0;

			ASSERT_EQ(0, utab_create(&u, 8, 8, caps[i], sd * 7919 + i));
			for (k = 0; k < caps[i] && !ret; k++) {
				u64 key = k * 0x9e3779b97f4a7c15ULL + sd;

				ret = hmap_tab_update(&u.t, &key, hmap_tab_hash(&u.t, &key), &v,
						      HMAP_NOEXIST, NULL);
			}
			if (ret) {
				refused++;
				TH_LOG("capacity %u seed %d: entry %llu refused (%d), %llu of %u overflow buckets used",
				       caps[i], sd, (unsigned long long)k, ret,
				       (unsigned long long)hmap_tab_overflow_used(&u.t), u.l.noverflow);
			} else {
				u64 key = ~0ULL;

				EXPECT_EQ(-ENOSPC, hmap_tab_update(&u.t, &key, hmap_tab_hash(&u.t, &key),
								   &v, HMAP_NOEXIST, NULL));
			}
			utab_destroy(&u);
		}
	}
	EXPECT_EQ(0, refused);
	TH_LOG("%ld tables filled to capacity", runs);
}

/* Random ops against the model.  Returns the number of mismatches. */
static int run_model(struct __test_metadata *_metadata, u32 ksz, u32 vsz, u32 cap,
		     u32 nkeys, u32 ops)
{
	u8 *pool = malloc((size_t)nkeys * ksz), *v = malloc(vsz), *zero = calloc(1, vsz);
	struct utab u;
	struct ref r;
	int bad = 0;

	ASSERT_EQ(0, utab_create(&u, ksz, vsz, cap, ksz * 131 + vsz));
	ref_init(&r, ksz, vsz, nkeys);
	/* Distinct keys (for ksz 1 there are only 256). */
	for (u32 i = 0; i < nkeys; i++) {
		u8 *k = pool + (size_t)i * ksz;

		fill(k, ksz);
		memcpy(k, &i, ksz < 4 ? ksz : 4);	/* distinct: i < 256 when ksz is 1 */
	}
	for (u32 n = 0; n < ops; n++) {
		u8 *k = pool + (rnd() % nkeys) * ksz;
		u32 hash = hmap_tab_hash(&u.t, k);
		long at = ref_find(&r, k);
		u32 op = rnd() % 8, flags = rnd() % 3;
		void *got;
		int ret, want;

		switch (op) {
		case 0: case 1: case 2:		/* update, with a flag */
			fill(v, vsz);
			ret = hmap_tab_update(&u.t, k, hash, v, flags, NULL);
			if (flags == HMAP_NOEXIST && at >= 0)
				want = -EEXIST;
			else if (flags == HMAP_EXIST && at < 0)
				want = -ENOENT;
			else if (at < 0 && r.n >= cap)
				want = -ENOSPC;
			else
				want = 0;
			/* Overflow buckets may run out first: still -ENOSPC, no change. */
			if (ret == -ENOSPC && want == 0 && at < 0)
				want = -ENOSPC;
			if (ret != want) {
				TH_LOG("update flags %u: got %d want %d (n=%u)", flags, ret, want, r.n);
				bad++;
			}
			if (!ret)
				ref_put(&r, k, v);
			break;
		case 3: case 4:			/* delete */
			ret = hmap_tab_delete(&u.t, k, hash);
			if (ret != (at >= 0 ? 0 : -ENOENT)) {
				TH_LOG("delete: got %d, present %d", ret, at >= 0);
				bad++;
			}
			if (at >= 0)
				ref_del(&r, at);
			break;
		case 5:				/* lookup-or-init */
			ret = hmap_tab_update(&u.t, k, hash, NULL, HMAP_INIT, &got);
			if (at >= 0) {
				if (ret || memcmp(got, r.vals + at * vsz, vsz))
					bad++;
			} else if (r.n >= cap) {
				if (ret != -ENOSPC)
					bad++;
			} else if (ret == 0) {
				if (memcmp(got, zero, vsz))
					bad++;
				ref_put(&r, k, zero);
			}
			break;
		default:			/* lookup */
			got = hmap_tab_lookup(&u.t, k, hash);
			if ((got != NULL) != (at >= 0) ||
			    (got && memcmp(got, r.vals + at * vsz, vsz))) {
				TH_LOG("lookup: got %p, present %d", got, at >= 0);
				bad++;
			}
		}
		if (u.entries != r.n) {
			TH_LOG("entries %llu, model %u", (unsigned long long)u.entries, r.n);
			bad++;
		}
		if (bad)
			break;
	}
	/* Every model key is found, every other key is not. */
	for (u32 i = 0; i < nkeys && !bad; i++) {
		u8 *k = pool + (size_t)i * ksz;
		long at = ref_find(&r, k);
		void *got = hmap_tab_lookup(&u.t, k, hmap_tab_hash(&u.t, k));

		if ((got != NULL) != (at >= 0) || (got && memcmp(got, r.vals + at * vsz, vsz)))
			bad++;
	}
	utab_destroy(&u);
	ref_free(&r);
	free(pool);
	free(v);
	free(zero);
	return bad;
}

TEST(model_small_sizes)
{
	static const u32 ks[] = { 1, 2, 3, 4, 5, 7, 8, 9, 16, 17 };
	static const u32 vs[] = { 1, 8, 9, 64 };

	u32 i, j;

	for (i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		for (j = 0; j < sizeof(vs) / sizeof(vs[0]); j++) {
			ASSERT_EQ(0, run_model(_metadata, ks[i], vs[j], 200,
					       ks[i] == 1 ? 256 : 400, 20000)) {
				TH_LOG("key %u value %u", ks[i], vs[j]);
			}
		}
	}
}

TEST(model_boundary_sizes)
{
	ASSERT_EQ(0, run_model(_metadata, HMAP_KEY_SIZE_MAX, 8, 100, 300, 5000));
	ASSERT_EQ(0, run_model(_metadata, 16, HMAP_VALUE_SIZE_MAX, 100, 300, 5000));
	ASSERT_EQ(0, run_model(_metadata, HMAP_KEY_SIZE_MAX, HMAP_VALUE_SIZE_MAX, 20, 60, 2000));
}

TEST(model_tiny_and_full)
{
	/* Capacity 1 and 7: constant -ENOSPC pressure, chains with overflow. */
	ASSERT_EQ(0, run_model(_metadata, 8, 8, 1, 4, 5000));
	ASSERT_EQ(0, run_model(_metadata, 8, 8, 7, 30, 20000));
	ASSERT_EQ(0, run_model(_metadata, 16, 8, 5000, 6000, 200000));
}

TEST(fill_to_capacity_then_reinsert)
{
	const u32 cap = 100000;
	struct utab u;
	u64 k, v;

	ASSERT_EQ(0, utab_create(&u, 8, 8, cap, 7));
	for (k = 0; k < cap; k++)
		ASSERT_EQ(0, hmap_tab_update(&u.t, &k, hmap_tab_hash(&u.t, &k), &k, HMAP_NOEXIST, NULL));
	EXPECT_EQ(cap, u.entries);
	k = cap;
	EXPECT_EQ(-ENOSPC, hmap_tab_update(&u.t, &k, hmap_tab_hash(&u.t, &k), &k, HMAP_ANY, NULL));
	/* Replacing an existing key still works when full. */
	k = 5;
	v = 55;
	EXPECT_EQ(0, hmap_tab_update(&u.t, &k, hmap_tab_hash(&u.t, &k), &v, HMAP_EXIST, NULL));
	/* Delete everything, reinsert everything. */
	for (k = 0; k < cap; k++)
		ASSERT_EQ(0, hmap_tab_delete(&u.t, &k, hmap_tab_hash(&u.t, &k)));
	EXPECT_EQ(0U, u.entries);
	for (k = 0; k < cap; k++)
		EXPECT_EQ(NULL, hmap_tab_lookup(&u.t, &k, hmap_tab_hash(&u.t, &k)));
	for (k = 0; k < cap; k++)
		ASSERT_EQ(0, hmap_tab_update(&u.t, &k, hmap_tab_hash(&u.t, &k), &k, HMAP_NOEXIST, NULL));
	for (k = 0; k < cap; k++) {
		u64 *p = hmap_tab_lookup(&u.t, &k, hmap_tab_hash(&u.t, &k));

		ASSERT_NE(NULL, p);
		ASSERT_EQ(k, *p);
	}
	TH_LOG("overflow buckets used at full load: %llu of %u",
	       (unsigned long long)hmap_tab_overflow_used(&u.t), u.t.l.noverflow);
	utab_destroy(&u);
}

/*
 * Churn: a full table where live keys are deleted and new ones inserted
 * must keep accepting inserts up to its capacity, forever.  @resident_pct
 * of the first fill is never deleted (long-lived flows among short ones):
 * an overflow bucket that holds one of them cannot be emptied.
 */
static int churn_run(struct __test_metadata *_metadata, u64 cap, u32 turns,
		     u32 resident_pct)
{
	struct utab u;
	u64 *live, next = 0, n, pairs = (u64)turns * cap, p, peak = 0;
	u64 nresident = cap * resident_pct / 100;
	int ret = 0;

	ASSERT_EQ(0, utab_create(&u, 8, 8, cap, cap ^ resident_pct));
	hooked_tab = &u.t;
	hook_violations = 0;
	live = malloc(cap * sizeof(*live));
	ASSERT_NE(NULL, live);
	for (n = 0; n < cap; n++, next++) {
		live[n] = next;
		ASSERT_EQ(0, hmap_tab_update(&u.t, &next, hmap_tab_hash(&u.t, &next), &next,
					     HMAP_NOEXIST, NULL));
	}
	for (p = 0; p < pairs; p++) {
		u64 at = nresident + rnd() % (cap - nresident), k = live[at];

		ASSERT_EQ(0, hmap_tab_delete(&u.t, &k, hmap_tab_hash(&u.t, &k)));
		k = next++;
		ret = hmap_tab_update(&u.t, &k, hmap_tab_hash(&u.t, &k), &k, HMAP_NOEXIST, NULL);
		if (ret) {
			TH_LOG("capacity %llu, %u%% resident: insert %llu of %llu refused (%d) "
			       "with %llu live; overflow buckets %llu of %u",
			       (unsigned long long)cap, resident_pct, (unsigned long long)p,
			       (unsigned long long)pairs, ret, (unsigned long long)u.entries,
			       (unsigned long long)hmap_tab_overflow_used(&u.t), u.t.l.noverflow);
			break;
		}
		live[at] = k;
		if (hmap_tab_overflow_used(&u.t) > peak)
			peak = hmap_tab_overflow_used(&u.t);
	}
	if (!ret) {
		/* Every live key is found with its own value, nothing else is. */
		for (n = 0; n < cap; n++) {
			u64 *v = hmap_tab_lookup(&u.t, &live[n], hmap_tab_hash(&u.t, &live[n]));

			ASSERT_NE(NULL, v);
			ASSERT_EQ(live[n], *v);
		}
		EXPECT_EQ(cap, u.entries);
		TH_LOG("capacity %llu, %u%% resident, %u turnovers: overflow buckets now %llu, "
		       "peak %llu, of %u", (unsigned long long)cap, resident_pct, turns,
		       (unsigned long long)hmap_tab_overflow_used(&u.t),
		       (unsigned long long)peak, u.t.l.noverflow);
	}
	hooked_tab = NULL;
	EXPECT_EQ(0, hook_violations);	/* published with an empty bucket linked */
	free(live);
	utab_destroy(&u);
	return ret;
}

/* Capacities at both ends of a power-of-two bucket count's range, and small. */
TEST(full_table_under_churn_keeps_its_capacity)
{
	static const u64 caps[] = { 1000, 6656, 100000, 106496 };

	for (u32 i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		EXPECT_EQ(0, churn_run(_metadata, caps[i], 10, 0));
}

TEST(full_table_under_churn_with_resident_keys)
{
	static const u32 pct[] = { 50, 90 };

	for (u32 i = 0; i < sizeof(pct) / sizeof(pct[0]); i++) {
		EXPECT_EQ(0, churn_run(_metadata, 106496, 10, pct[i]));
		EXPECT_EQ(0, churn_run(_metadata, 6656, 20, pct[i]));
	}
}

/* ---- threads ------------------------------------------------------------ */
#define NWRITERS	3
#define KEYS_PER	4000
#define ROUNDS		31	/* not a multiple of 5: the last round writes every key */

struct tctx {
	struct utab *u;
	int id;
	volatile int *stop;
	long torn;
	long reads;
};

/* value = 8 copies of (key ^ version): a torn read shows unequal words */
struct tval {
	u64 w[8];
};

static void *writer(void *arg)
{
	struct tctx *c = arg;
	struct tval v;

	for (u64 round = 1; round <= ROUNDS; round++) {
		for (u64 i = 0; i < KEYS_PER; i++) {
			u64 k = (u64)c->id << 32 | i;
			u32 h = hmap_tab_hash(&c->u->t, &k);

			for (int w = 0; w < 8; w++)
				v.w[w] = k ^ round;
			if (round % 5 == 0 && i % 2) {
				hmap_tab_delete(&c->u->t, &k, h);
				continue;
			}
			if (hmap_tab_update(&c->u->t, &k, h, &v, HMAP_ANY, NULL))
				c->torn += 1000000;	/* must never fail */
		}
	}
	return NULL;
}

/* Walk chains the way user-space mmap readers do. */
static void *reader(void *arg)
{
	struct tctx *c = arg;
	struct hmap_tab *t = &c->u->t;
	u8 copy[HMAP_BUCKET_HDR_SIZE + 8 * 8 + 8 * 64];

	while (!*c->stop) {
		for (u32 bi = 0; bi < t->l.nbuckets; bi++) {
			struct hmap_bucket *head = hmap_bucket_at(t, bi), *b;
			u32 seq, nslots;
			struct tval vals[64];
			int tries = 0;

retry:
			seq = __atomic_load_n(&head->seq, __ATOMIC_ACQUIRE);
			if (seq & 1)
				goto retry;
			nslots = 0;
			/* Bounded as every lock-free reader is: a torn walk may
			 * pass through recycled overflow buckets. */
			b = head;
			for (u32 hops = 0; b && nslots < 64 && hops <= t->l.noverflow; hops++) {
				u32 next;

				memcpy(copy, b, t->l.bucket_size);
				for (int i = 0; i < 8; i++)
					if (copy[8 + i] >= HMAP_TOPHASH_MIN)
						memcpy(&vals[nslots++], copy + t->l.values_off + i * 64, 64);
				next = ((struct hmap_bucket *)copy)->overflow;
				b = next ? hmap_bucket_at(t, next) : NULL;
			}
			smp_rmb();
			if (__atomic_load_n(&head->seq, __ATOMIC_RELAXED) != seq) {
				tries++;
				goto retry;
			}
			for (u32 s = 0; s < nslots; s++) {
				for (int w = 1; w < 8; w++)
					if (vals[s].w[w] != vals[s].w[0])
						c->torn++;
			}
			c->reads++;
		}
	}
	return NULL;
}

TEST(threads_no_lost_updates_no_torn_reads)
{
	pthread_t tw[NWRITERS], tr;
	struct tctx cw[NWRITERS], cr;
	volatile int stop = 0;
	struct utab u;

	ASSERT_EQ(0, utab_create(&u, 8, 64, NWRITERS * KEYS_PER, 3));
	cr = (struct tctx){ .u = &u, .stop = &stop };
	ASSERT_EQ(0, pthread_create(&tr, NULL, reader, &cr));
	for (int i = 0; i < NWRITERS; i++) {
		cw[i] = (struct tctx){ .u = &u, .id = i + 1, .stop = &stop };
		ASSERT_EQ(0, pthread_create(&tw[i], NULL, writer, &cw[i]));
	}
	for (int i = 0; i < NWRITERS; i++) {
		pthread_join(tw[i], NULL);
		EXPECT_EQ(0, cw[i].torn);
	}
	stop = 1;
	pthread_join(tr, NULL);
	EXPECT_EQ(0, cr.torn);
	EXPECT_GT(cr.reads, 0);
	/* Each writer's last round wrote every key with version ROUNDS. */
	for (int id = 1; id <= NWRITERS; id++)
		for (u64 i = 0; i < KEYS_PER; i++) {
			u64 k = (u64)id << 32 | i;
			struct tval *p = hmap_tab_lookup(&u.t, &k, hmap_tab_hash(&u.t, &k));

			ASSERT_NE(NULL, p);
			ASSERT_EQ(k ^ ROUNDS, p->w[0]);
		}
	EXPECT_EQ((u64)NWRITERS * KEYS_PER, u.entries);
	utab_destroy(&u);
}

/*
 * Overflow buckets freed and reused under lock-free readers: keys that stay
 * are always found with their own value, keys never inserted never are,
 * and nothing reads outside the array (ASan), while two writers churn a
 * full table of long chains (every insert must succeed).
 */
#define CHURN_NB	64
#define CHURN_CAP	(CHURN_NB * 13 / 2)
#define CHURN_STAY	(CHURN_CAP / 4)

struct cctx {
	struct utab *u;
	int id;
	volatile int *stop;
	u64 pairs, refused, lost, phantom, reads;
	u64 seed;
};

static u64 xs(u64 *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define CHURN_PER	((CHURN_CAP - CHURN_STAY) / 2)

/* Each writer's first keys go in before the resident ones, so that those
 * sit behind overflow buckets that empty and leave their chains. */
static int churn_prefill(struct hmap_tab *t, int id)
{
	for (u64 i = 0; i < CHURN_PER; i++) {
		u64 k = (u64)id << 40 | i;

		if (hmap_tab_update(t, &k, hmap_tab_hash(t, &k), &k, HMAP_NOEXIST, NULL))
			return -1;
	}
	return 0;
}

static void *churn_writer(void *arg)
{
	struct cctx *c = arg;
	struct hmap_tab *t = &c->u->t;
	u64 n = CHURN_PER, live[CHURN_PER], next = 0;

	for (u64 i = 0; i < n; i++)
		live[i] = (u64)c->id << 40 | next++;
	while (!*c->stop) {
		u64 at = xs(&c->seed) % n, k = live[at];

		if (hmap_tab_delete(t, &k, hmap_tab_hash(t, &k)))
			c->lost++;
		k = (u64)c->id << 40 | next++;
		if (hmap_tab_update(t, &k, hmap_tab_hash(t, &k), &k, HMAP_NOEXIST, NULL))
			c->refused++;
		live[at] = k;
		c->pairs++;
	}
	return NULL;
}

static void *churn_reader(void *arg)
{
	struct cctx *c = arg;
	struct hmap_tab *t = &c->u->t;

	while (!*c->stop) {
		u64 k = xs(&c->seed) % CHURN_STAY, *v;

		v = hmap_tab_lookup(t, &k, hmap_tab_hash(t, &k));
		if (!v || *v != k * 3)
			c->lost++;
		k |= 7ULL << 40;	/* no writer's key space */
		if (hmap_tab_lookup(t, &k, hmap_tab_hash(t, &k)))
			c->phantom++;
		c->reads++;
	}
	return NULL;
}

TEST(threads_recycled_overflow_buckets)
{
	struct cctx cw[2], cr;
	pthread_t tw[2], tr;
	volatile int stop = 0;
	struct utab u;
	u64 k, v;

	ASSERT_EQ(0, utab_create(&u, 8, 8, CHURN_CAP, 11));
	ASSERT_EQ(CHURN_NB, u.l.nbuckets);
	ASSERT_EQ(0, churn_prefill(&u.t, 1));
	ASSERT_EQ(0, churn_prefill(&u.t, 2));
	for (k = 0; k < CHURN_STAY; k++) {
		v = k * 3;
		ASSERT_EQ(0, hmap_tab_update(&u.t, &k, hmap_tab_hash(&u.t, &k), &v, HMAP_NOEXIST, NULL));
	}
	cr = (struct cctx){ .u = &u, .stop = &stop, .seed = 99 };
	for (int i = 0; i < 2; i++) {
		cw[i] = (struct cctx){ .u = &u, .id = i + 1, .stop = &stop, .seed = 1234 + i };
		ASSERT_EQ(0, pthread_create(&tw[i], NULL, churn_writer, &cw[i]));
	}
	ASSERT_EQ(0, pthread_create(&tr, NULL, churn_reader, &cr));
	usleep(700 * 1000);
	stop = 1;
	pthread_join(tr, NULL);
	for (int i = 0; i < 2; i++) {
		pthread_join(tw[i], NULL);
		EXPECT_EQ(0, cw[i].refused);
		EXPECT_EQ(0, cw[i].lost);
		EXPECT_LT(10000, cw[i].pairs);
	}
	EXPECT_EQ(0, cr.lost);
	EXPECT_EQ(0, cr.phantom);
	EXPECT_LT(10000, cr.reads);
	TH_LOG("%llu + %llu pairs, %llu reads; overflow buckets %llu of %u, %u on the free list",
	       (unsigned long long)cw[0].pairs, (unsigned long long)cw[1].pairs,
	       (unsigned long long)cr.reads, (unsigned long long)hmap_tab_overflow_used(&u.t),
	       u.t.l.noverflow, u.t.ovf_nfree);
	/* Quiescent: every resident key and every linked bucket is consistent. */
	for (k = 0; k < CHURN_STAY; k++) {
		u64 *p = hmap_tab_lookup(&u.t, &k, hmap_tab_hash(&u.t, &k));

		ASSERT_NE(NULL, p);
		ASSERT_EQ(k * 3, *p);
	}
	utab_destroy(&u);
}

TEST_HARNESS_MAIN
