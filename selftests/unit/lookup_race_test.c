// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the lock-free lookup against a writer stopped at exact points (found by review of daed1aa).
 *
 *  - odd_seq_scan_taken_as_validated (failed at daed1aa): a lock-free lookup
 *    that has used up HMAP_LOOKUP_RETRIES (the production 64) on a chain
 *    whose seq stays odd, because a writer on another CPU is inside, scans
 *    anyway and accepts the scan when the seq is "unchanged" (the same odd
 *    value): the writer runs during the scan.  Here the writer unlinks and
 *    frees an emptied overflow bucket while the reader is inside it, and a
 *    key that lives throughout is reported absent.  hmap_lookup_locked() is
 *    never reached.  Deterministic: both threads are stopped at the exact
 *    instructions with a PROT_NONE page (A's seq/overflow word lies on it,
 *    its tophash on the next page) and the HMAP_SEQ_END_HOOK.
 *  - hash_fixed_size_entry_points_match: hmap_plat_hash(), the inline
 *    hash of 4-, 8-, 12- and 16-byte keys that the kernel build uses too,
 *    equals a port of lib/siphash.c's 64-bit hsiphash_1u32..4u32 fed each
 *    word's get_unaligned_le32(), and hmap_key_hash() (uapi/hmap.h, the
 *    readers' byte-wise hash) over the same bytes at every alignment.
 *  - locked_index_lookup_answers_under_the_lock: a lookup of 4-byte values
 *    (the incremental variant's pool indexes) on a chain whose seq stays odd
 *    uses up its retries and asks hmap_lookup_locked_idx(), which answers
 *    under the (free) stripe lock: the key's own index, "absent" for a key
 *    not there, "moved" for a chain evacuated before the lock was taken.
 *  - bucket_index_and_stripes: hmap_bucket_index() stays below nbuckets at
 *    the edges (1, 2, 3, 2^24 - 1, 2^24, hashes 0, 2^31, 2^32 - 1, ...),
 *    nlocks is a power of two <= nbuckets for nb = 1..3 and beyond.
 *
 * Built by make check (the Makefile rule) as engine_test, plus the hook:
 *   cc $(UNIT_CFLAGS) -DHMAP_SEQ_END_HOOK=lookup_race_seq_end \
 *      selftests/unit/lookup_race_test.c kmod/hmap_engine.c -lpthread -o lookup_race_test
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "unit_harness.h"
#include "hmap_engine.h"
#include "utab.h"

/* ---- the interleaving --------------------------------------------------- */

enum { ROLE_NONE, ROLE_W, ROLE_R };
static __thread int role;
static struct hmap_bucket *armed_head;
static void *prot_page;
static volatile int w_trapped, r_trapped, go_w, w_at_end, release_w;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Wait (async-signal-safe) until *@flag or @secs passed; true if set. */
static bool wait_flag(volatile int *flag, double secs)
{
	double end = now() + secs;

	while (!__atomic_load_n(flag, __ATOMIC_ACQUIRE))
		if (now() > end)
			return false;
	return true;
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	if ((u8 *)si->si_addr < (u8 *)prot_page || (u8 *)si->si_addr >= (u8 *)prot_page + PAGE_SIZE)
		role = ROLE_NONE;
	switch (role) {
	case ROLE_W:	/* the writer, inside its seq window, about to unlink */
		__atomic_store_n(&w_trapped, 1, __ATOMIC_RELEASE);
		if (!wait_flag(&go_w, 1.0))	/* no reader scanned (fixed code) */
			mprotect(prot_page, PAGE_SIZE, PROT_READ | PROT_WRITE);
		return;
	case ROLE_R:	/* the reader, inside A, about to read A->overflow */
		__atomic_store_n(&r_trapped, 1, __ATOMIC_RELEASE);
		mprotect(prot_page, PAGE_SIZE, PROT_READ | PROT_WRITE);
		__atomic_store_n(&go_w, 1, __ATOMIC_RELEASE);
		wait_flag(&w_at_end, 2.0);	/* unlinked and freed, seq still odd */
		return;
	default:
		signal(SIGSEGV, SIG_DFL);	/* a real fault: crash there */
		return;
	}
}

void lookup_race_seq_end(struct hmap_bucket *head)
{
	if (head != armed_head || role != ROLE_W)
		return;
	__atomic_store_n(&w_at_end, 1, __ATOMIC_RELEASE);
	if (__atomic_load_n(&r_trapped, __ATOMIC_ACQUIRE))
		wait_flag(&release_w, 2.0);	/* the reader validates against our odd seq */
}

struct ctx {
	struct utab *u;
	u64 d, k;
	void *found;
	u32 seq_at_start;
};

static void *writer(void *arg)
{
	struct ctx *c = arg;
	struct hmap_tab *t = &c->u->t;

	role = ROLE_W;
	hmap_tab_delete(t, &c->d, hmap_tab_hash(t, &c->d));
	return NULL;
}

static void *reader(void *arg)
{
	struct ctx *c = arg;
	struct hmap_tab *t = &c->u->t;

	wait_flag(&w_trapped, 2.0);
	c->seq_at_start = READ_ONCE(armed_head->seq);
	role = ROLE_R;
	c->found = hmap_tab_lookup(t, &c->k, hmap_tab_hash(t, &c->k));
	role = ROLE_NONE;
	__atomic_store_n(&release_w, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST(odd_seq_scan_taken_as_validated)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_NODEFER };
	u64 keys[32], key, d, k;
	u32 n = 0, i;
	struct utab u;
	struct hmap_tab *t = &u.t;
	struct hmap_bucket *head, *A;
	pthread_t tw, tr;
	struct ctx c;
	u8 one = 1;

	/* key 8, value 1: 88-byte buckets; 600 entries: 93 main buckets, so
	 * the first overflow bucket (93) starts at 8184: its seq and overflow
	 * are on page 1, its tophash on page 2. */
	ASSERT_EQ(0, utab_create(&u, 8, 1, 600, 7));
	ASSERT_EQ(93, u.l.nbuckets);
	ASSERT_EQ(88, u.l.bucket_size);
	ASSERT_EQ(PAGE_SIZE - 8, (93 * 88) % PAGE_SIZE);

	/* 17 keys of main bucket 0 (page 0) */
	for (key = 1; n < 17; key++)
		if (hmap_tab_index(t, hmap_tab_hash(t, &key)) == 0)
			keys[n++] = key;
	for (i = 0; i < 8; i++)		/* the head, full */
		ASSERT_EQ(0, hmap_tab_update(t, &keys[i], hmap_tab_hash(t, &keys[i]), &one, 0, NULL));
	d = keys[8];			/* A = bucket 93: D in slot 0, then 7 more */
	for (i = 8; i < 16; i++)
		ASSERT_EQ(0, hmap_tab_update(t, &keys[i], hmap_tab_hash(t, &keys[i]), &one, 0, NULL));
	k = keys[16];			/* B = bucket 94: K, which lives throughout */
	ASSERT_EQ(0, hmap_tab_update(t, &k, hmap_tab_hash(t, &k), &one, 0, NULL));
	for (i = 9; i < 16; i++)	/* A keeps D only */
		ASSERT_EQ(0, hmap_tab_delete(t, &keys[i], hmap_tab_hash(t, &keys[i])));
	head = hmap_bucket_at(t, 0);
	A = hmap_bucket_at(t, 93);
	ASSERT_EQ(93, head->overflow);
	ASSERT_EQ(94, A->overflow);
	ASSERT_NE(NULL, hmap_tab_lookup(t, &k, hmap_tab_hash(t, &k)));

	memset(&c, 0, sizeof(c));
	c.u = &u;
	c.d = d;
	c.k = k;
	armed_head = head;
	prot_page = (u8 *)u.mem + PAGE_SIZE;
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));
	ASSERT_EQ(0, mprotect(prot_page, PAGE_SIZE, PROT_NONE));
	ASSERT_EQ(0, pthread_create(&tw, NULL, writer, &c));
	ASSERT_EQ(0, pthread_create(&tr, NULL, reader, &c));
	pthread_join(tr, NULL);
	pthread_join(tw, NULL);
	mprotect(prot_page, PAGE_SIZE, PROT_READ | PROT_WRITE);

	TH_LOG("writer stopped in its window: %d (seq %u when the reader started), reader scanned "
	       "under it: %d, K found: %s", w_trapped, c.seq_at_start, r_trapped,
	       c.found ? "yes" : "NO");
	ASSERT_TRUE(w_trapped);
	ASSERT_TRUE(c.seq_at_start & 1);
	/* K was in the table before, during and after the lookup. */
	EXPECT_NE(NULL, c.found);
	EXPECT_NE(NULL, hmap_tab_lookup(t, &k, hmap_tab_hash(t, &k)));
	free(u.mem);
	free(u.locks);
}

/* ---- lib/siphash.c, BITS_PER_LONG == 64 ------------------------------- */

static u64 rol64(u64 w, unsigned int s) { return (w << s) | (w >> (64 - s)); }

#define SIPROUND do { \
	v0 += v1; v1 = rol64(v1, 13); v1 ^= v0; v0 = rol64(v0, 32); \
	v2 += v3; v3 = rol64(v3, 16); v3 ^= v2; \
	v0 += v3; v3 = rol64(v3, 21); v3 ^= v0; \
	v2 += v1; v1 = rol64(v1, 17); v1 ^= v2; v2 = rol64(v2, 32); \
} while (0)
#define PREAMBLE(len) \
	u64 v0 = 0x736f6d6570736575ULL, v1 = 0x646f72616e646f6dULL; \
	u64 v2 = 0x6c7967656e657261ULL, v3 = 0x7465646279746573ULL; \
	u64 b = ((u64)(len)) << 56; \
	v3 ^= key->key[1]; v2 ^= key->key[0]; v1 ^= key->key[1]; v0 ^= key->key[0];
#define HPOSTAMBLE \
	v3 ^= b; SIPROUND; v0 ^= b; v2 ^= 0xff; SIPROUND; SIPROUND; SIPROUND; \
	return (v0 ^ v1) ^ (v2 ^ v3);

static u32 k_hsiphash_1u32(u32 first, const hmap_seed_t *key)
{
	PREAMBLE(4)
	b |= first;
	HPOSTAMBLE
}

static u32 k_hsiphash_2u32(u32 first, u32 second, const hmap_seed_t *key)
{
	u64 combined = (u64)second << 32 | first;
	PREAMBLE(8)
	v3 ^= combined; SIPROUND; v0 ^= combined;
	HPOSTAMBLE
}

static u32 k_hsiphash_3u32(u32 first, u32 second, u32 third, const hmap_seed_t *key)
{
	u64 combined = (u64)second << 32 | first;
	PREAMBLE(12)
	v3 ^= combined; SIPROUND; v0 ^= combined;
	b |= third;
	HPOSTAMBLE
}

static u32 k_hsiphash_4u32(u32 first, u32 second, u32 third, u32 forth, const hmap_seed_t *key)
{
	u64 combined = (u64)second << 32 | first;
	PREAMBLE(16)
	v3 ^= combined; SIPROUND; v0 ^= combined;
	combined = (u64)forth << 32 | third;
	v3 ^= combined; SIPROUND; v0 ^= combined;
	HPOSTAMBLE
}

static u32 le32(const u8 *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (u32)p[3] << 24;
}

/* The kernel's fixed-size entry points, fed a key's little-endian words */
static u32 kernel_plat_hash(const u8 *w, u32 len, const hmap_seed_t *s)
{
	switch (len) {
	case 4: return k_hsiphash_1u32(le32(w), s);
	case 8: return k_hsiphash_2u32(le32(w), le32(w + 4), s);
	case 12: return k_hsiphash_3u32(le32(w), le32(w + 4), le32(w + 8), s);
	default: return k_hsiphash_4u32(le32(w), le32(w + 4), le32(w + 8), le32(w + 12), s);
	}
}

TEST(hash_fixed_size_entry_points_match)
{
	static const u32 lens[] = { 4, 8, 12, 16 };
	u64 x = 88172645463325252ULL;
	u8 buf[64];

	for (int it = 0; it < 20000; it++) {
		hmap_seed_t s;
		u32 len = lens[it & 3], off = (it >> 2) & 7;

		for (int j = 0; j < 64; j++) {
			x ^= x << 13; x ^= x >> 7; x ^= x << 17;
			buf[j] = x;
		}
		s.key[0] = x * 3; s.key[1] = x ^ 0x5555;
		/* the inline hash that kernel and host builds both use */
		ASSERT_EQ(kernel_plat_hash(buf + off, len, &s), hmap_plat_hash(buf + off, len, &s));
		/* uapi/hmap.h's byte-wise hash, which user-space readers use */
		ASSERT_EQ(hmap_key_hash(buf + off, len, s.key), hmap_plat_hash(buf + off, len, &s));
	}
}

TEST(locked_index_lookup_answers_under_the_lock)
{
	struct utab u;
	struct hmap_bucket *head;
	u64 k = 42, absent = 43;
	u32 v = 0x12345678, got = 0, hash;
	bool moved = false;

	ASSERT_EQ(0, utab_create(&u, 8, 4, 64, 7));
	hash = hmap_tab_hash(&u.t, &k);
	ASSERT_EQ(0, hmap_tab_update(&u.t, &k, hash, &v, HMAP_ANY, NULL));
	head = hmap_bucket_at(&u.t, hmap_tab_index(&u.t, hash));
	ASSERT_EQ(0, head->seq & 1);
	head->seq++;	/* a writer on "another CPU" stays inside */

	ASSERT_TRUE(__hmap_tab_lookup_u32(&u.t, &k, hash, &moved, &got));
	EXPECT_FALSE(moved);
	EXPECT_EQ(v, got);
	/* The answer comes from the locked path itself. */
	EXPECT_EQ((u64)v, hmap_lookup_locked_idx(&u.t, head, &k, hmap_tab_index(&u.t, hash),
						 hmap_tophash(hash)));
	if (hmap_tab_index(&u.t, hmap_tab_hash(&u.t, &absent)) == hmap_tab_index(&u.t, hash)) {
		got = 0;
		EXPECT_FALSE(__hmap_tab_lookup_u32(&u.t, &absent, hmap_tab_hash(&u.t, &absent),
						   &moved, &got));
		EXPECT_FALSE(moved);
	}
	EXPECT_EQ(HMAP_IDX_ABSENT,
		  hmap_lookup_locked_idx(&u.t, head, &absent, hmap_tab_index(&u.t, hash),
					 hmap_tophash(hmap_tab_hash(&u.t, &absent))));
	head->seq |= HMAP_SEQ_EVACUATED;
	EXPECT_EQ(HMAP_IDX_MOVED, hmap_lookup_locked_idx(&u.t, head, &k, hmap_tab_index(&u.t, hash),
							 hmap_tophash(hash)));
	utab_destroy(&u);
}

TEST(bucket_index_and_stripes)
{
	static const u32 nbs[] = { 1, 2, 3, 5, 7, 93, 1000, 4095, 4097, (1U << 23) + 1,
				   (1U << 24) - 1, 1U << 24 };
	static const u32 hashes[] = { 0, 1, 0xff, 0x100, 0x00ffffff, 0x01000000, 0x7fffffff,
				      0x80000000, 0xfeffffff, 0xff000000, 0xffffff00, 0xffffffff };

	for (u32 i = 0; i < sizeof(nbs) / sizeof(nbs[0]); i++) {
		for (u32 j = 0; j < sizeof(hashes) / sizeof(hashes[0]); j++)
			ASSERT_LT(hmap_bucket_index(hashes[j], nbs[i]), nbs[i]);
		/* the largest rotated hash lands in the last bucket */
		ASSERT_EQ(nbs[i] - 1, hmap_bucket_index(0xffffffff, nbs[i]));
	}
	for (u64 cap = 1; cap < 200000; cap = cap < 64 ? cap + 1 : cap * 3 / 2) {
		struct hmap_layout l;

		ASSERT_EQ(0, hmap_layout_init_exact(&l, 8, 8, cap, ~0ULL));
		ASSERT_GE((u64)l.nbuckets * 13 / 2, cap);
		ASSERT_EQ(0, l.nlocks & (l.nlocks - 1));
		ASSERT_LE(l.nlocks, l.nbuckets);
		ASSERT_LE(l.nlocks, HMAP_MAX_LOCKS);
		ASSERT_GE(l.nlocks * 2, l.nbuckets < HMAP_MAX_LOCKS ? l.nbuckets : HMAP_MAX_LOCKS);
	}
}

TEST_HARNESS_MAIN
