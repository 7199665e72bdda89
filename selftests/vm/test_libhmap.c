// SPDX-License-Identifier: GPL-2.0
/*
 * libhmap's own contract, in the VM with both modules loaded (kselftest TAP):
 *
 *  - descriptors: whatever else is pinned where a table is expected (an
 *    array with big values, a per-CPU array, a same-shaped array without or
 *    with other BTF, a program, a file outside bpffs) is refused with
 *    -EPROTOTYPE (a directory with -EISDIR), never read
 *    into a struct hmap_desc, and stays pinned;
 *  - a descriptor naming a table whose handle generation differs (an id
 *    reused by another table) is refused with -ESTALE;
 *  - create: without a pin the table lives exactly as long as the handle;
 *    with one, a taken path is -EEXIST and left alone, a failed create
 *    leaves nothing pinned;
 *  - options: the size member is checked as libbpf checks it;
 *  - a read-only open refuses writes;
 *  - the cursor iterator and the batches do what the callback walk and
 *    single updates do;
 *  - threads: readers sharing one handle of an incremental table that grows
 *    under them always read the right values (this read freed memory: a
 *    lookup remapped the arrays and reallocated the chunk table another
 *    thread was reading through).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "kselftest_harness.h"
#include "libhmap.h"
#include "hmap_test_util.h"

#define ROOT	"/sys/fs/bpf/libhmap-test"

static void setup(void)
{
	hmap_require("/sys/module/hmap_rehash");
	mkdir(ROOT, 0700);
}

/* Tables of earlier tests are freed after RCU grace periods: start each test
 * from none, so live_tables() counts only its own. */
#define require() do { setup(); ASSERT_EQ(0, wait_live_tables(0)); } while (0)

static int pin_map(const char *path, enum bpf_map_type type, __u32 vsz, int btf_fd,
		   __u32 vtype)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .btf_fd = btf_fd, .btf_key_type_id = btf_fd > 0 ? 1 : 0,
		    .btf_value_type_id = vtype);
	int fd = bpf_map_create(type, "foreign", 4, vsz, 1, &o), ret;

	if (fd < 0)
		return -errno;
	ret = bpf_obj_pin(fd, path) ? -errno : 0;
	close(fd);
	return ret;
}

static bool pinned(const char *path)
{
	return access(path, F_OK) == 0;
}

static int create_fixed(const char *pin, __u64 cap, struct hmap_table **t)
{
	HMAP_OPTS(hmap_table_create_opts, o, .key_size = 8, .value_size = 8, .capacity = cap,
		  .pin_path = pin);

	return hmap_table__create(&o, t);
}

TEST(foreign_pins_are_not_descriptors)
{
	static const struct { const char *what; enum bpf_map_type type; __u32 vsz; } maps[] = {
		{ "array, 4 KiB values", BPF_MAP_TYPE_ARRAY, 4096 },
		{ "array, 64 KiB values", BPF_MAP_TYPE_ARRAY, 65536 },
		{ "per-CPU array", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(struct hmap_desc) },
		{ "same shape, no BTF", BPF_MAP_TYPE_ARRAY, sizeof(struct hmap_desc) },
	};
	const char *path = ROOT "/foreign";
	struct hmap_table *t = NULL;
	struct hmap_desc d;
	int btf_fd, sid, fd;
	struct btf *btf;

	require();
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		unlink(path);
		ASSERT_EQ(0, pin_map(path, maps[i].type, maps[i].vsz, 0, 0)) TH_LOG("%s", maps[i].what);
		EXPECT_EQ(-EPROTOTYPE, hmap_desc__read_pinned(path, &d)) TH_LOG("%s", maps[i].what);
		EXPECT_EQ(-EPROTOTYPE, hmap_table__open_pinned(path, NULL, &t)) TH_LOG("%s", maps[i].what);
		EXPECT_EQ(-EPROTOTYPE, hmap_desc__refresh(path)) TH_LOG("%s", maps[i].what);
		EXPECT_TRUE(pinned(path)) TH_LOG("%s: unpinned", maps[i].what);
	}

	/* Same shape, with BTF, but the value is not a struct hmap_desc. */
	btf = btf__new_empty();
	ASSERT_NE(NULL, btf);
	ASSERT_EQ(1, btf__add_int(btf, "int", 4, BTF_INT_SIGNED));
	sid = btf__add_struct(btf, "not_hmap_desc", sizeof(struct hmap_desc));
	ASSERT_LT(0, sid);
	ASSERT_EQ(0, btf__add_field(btf, "x", 1, 0, 0));
	ASSERT_EQ(0, btf__load_into_kernel(btf));
	btf_fd = btf__fd(btf);
	unlink(path);
	ASSERT_EQ(0, pin_map(path, BPF_MAP_TYPE_ARRAY, sizeof(struct hmap_desc), btf_fd, sid));
	EXPECT_EQ(-EPROTOTYPE, hmap_desc__read_pinned(path, &d));
	EXPECT_EQ(-EPROTOTYPE, hmap_table__open_pinned(path, NULL, &t));
	btf__free(btf);

	/* A program. */
	{
		struct bpf_insn insns[] = {
			{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
			{ .code = BPF_JMP | BPF_EXIT },
		};

		unlink(path);
		fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "foreign", "GPL", insns, 2, NULL);
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, bpf_obj_pin(fd, path));
		close(fd);
		EXPECT_EQ(-EPROTOTYPE, hmap_desc__read_pinned(path, &d));
		EXPECT_EQ(-EPROTOTYPE, hmap_table__open_pinned(path, NULL, &t));
		EXPECT_TRUE(pinned(path));
	}
	unlink(path);

	/* Not BPF objects at all: the kernel says EACCES for each, as for a
	 * real permission problem; the library tells them apart. */
	ASSERT_EQ(0, mkdir(path, 0700));
	EXPECT_EQ(-EISDIR, hmap_desc__read_pinned(path, &d));
	EXPECT_EQ(-EISDIR, hmap_table__open_pinned(path, NULL, &t));
	EXPECT_EQ(-EISDIR, hmap_desc__refresh(path));
	EXPECT_EQ(0, rmdir(path));
	{
		char tmpf[] = "/tmp/libhmap-test-XXXXXX";
		int tfd = mkstemp(tmpf);

		ASSERT_LE(0, tfd);
		close(tfd);
		EXPECT_EQ(-EPROTOTYPE, hmap_desc__read_pinned(tmpf, &d));
		EXPECT_EQ(-EPROTOTYPE, hmap_table__open_pinned(tmpf, NULL, &t));
		unlink(tmpf);
	}
	EXPECT_EQ(-ENOENT, hmap_desc__read_pinned(path, &d));
	EXPECT_EQ(NULL, t);
}

TEST(a_reused_id_is_not_the_table_a_descriptor_named)
{
	const char *pa = ROOT "/gen-a", *pb = ROOT "/gen-b";
	struct hmap_table *a, *b, *t = NULL;
	struct hmap_desc d;
	__u32 zero = 0;
	int fd;

	require();
	unlink(pa);
	unlink(pb);
	ASSERT_EQ(0, create_fixed(pa, 64, &a));
	ASSERT_EQ(0, create_fixed(pb, 64, &b));
	/*
	 * A descriptor whose table is gone and whose id now belongs to another
	 * table: the id and handle are plain words of the map value (user
	 * space and BPF can write them; the kptr is kept), so write B's id
	 * with A's handle, which is what a reused id looks like.
	 */
	fd = bpf_obj_get(pa);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, hmap_desc__read(fd, &d));
	d.id = hmap_table__id(b);
	ASSERT_EQ(0, bpf_map_update_elem(fd, &zero, &d, BPF_ANY));
	EXPECT_EQ(-ESTALE, hmap_table__open_map_fd(fd, NULL, &t));
	EXPECT_EQ(-ESTALE, hmap_table__open_pinned(pa, NULL, &t));
	EXPECT_EQ(NULL, t);
	close(fd);
	hmap_table__close(a);
	hmap_table__close(b);
	unlink(pa);
	unlink(pb);
}

TEST(create_without_a_pin_lives_with_the_handle)
{
	__u64 before, key = 7, val = 42, out = 0;
	struct hmap_table *t;

	require();
	before = live_tables();
	ASSERT_EQ(0, create_fixed(NULL, 64, &t));
	EXPECT_EQ(before + 1, live_tables());
	EXPECT_NE(0, hmap_table__id(t));
	EXPECT_EQ(8, hmap_table__key_size(t));
	EXPECT_EQ(0, hmap_table__update(t, &key, &val, 0));
	EXPECT_EQ(0, hmap_table__lookup(t, &key, &out));
	EXPECT_EQ(42, out);
	hmap_table__close(t);
	EXPECT_EQ(0, wait_live_tables(before));
}

TEST(create_never_touches_a_taken_path)
{
	const char *path = ROOT "/taken";
	struct hmap_table *t = NULL;
	__u64 before;

	require();
	unlink(path);
	before = live_tables();
	ASSERT_EQ(0, pin_map(path, BPF_MAP_TYPE_ARRAY, 4096, 0, 0));
	EXPECT_EQ(-EEXIST, create_fixed(path, 64, &t));
	EXPECT_EQ(-EPROTOTYPE, hmap_desc__read_pinned(path, &(struct hmap_desc){}));	/* still the array */
	unlink(path);
	/* A failed create leaves nothing pinned and no table. */
	EXPECT_EQ(-EINVAL, create_fixed(path, 0, &t));
	EXPECT_FALSE(pinned(path));
	EXPECT_EQ(NULL, t);
	EXPECT_EQ(0, wait_live_tables(before));
}

TEST(options_are_checked_as_libbpf_checks_them)
{
	struct big {
		struct hmap_table_create_opts o;
		__u64 future;
	} big = {};
	struct hmap_table *t = NULL;
	__u64 before;

	require();
	before = live_tables();
	EXPECT_EQ(-EINVAL, hmap_table__create(NULL, &t));
	big.o = (struct hmap_table_create_opts){ .key_size = 8, .value_size = 8, .capacity = 8 };
	EXPECT_EQ(-EINVAL, hmap_table__create(&big.o, &t));	/* sz 0 */
	big.o.sz = sizeof(big);
	big.future = 1;		/* a member this library does not know, set */
	EXPECT_EQ(-EINVAL, hmap_table__create(&big.o, &t));
	big.future = 0;		/* ... and left zero: fine */
	ASSERT_EQ(0, hmap_table__create(&big.o, &t));
	hmap_table__close(t);
	/* An older caller's shorter struct: the members it lacks are zero. */
	big.o.sz = offsetof(struct hmap_table_create_opts, pin_path);
	big.o.pin_path = "/nonexistent/not-used";
	ASSERT_EQ(0, hmap_table__create(&big.o, &t));
	hmap_table__close(t);
	EXPECT_EQ(-EINVAL, hmap_table__open_id(1, &(struct hmap_table_open_opts){ .sz = 1 }, &t));
	EXPECT_EQ(0, wait_live_tables(before));
}

TEST(read_only_handle_refuses_writes)
{
	HMAP_OPTS(hmap_table_open_opts, ro, .rdonly = true);
	const char *path = ROOT "/ro";
	struct hmap_table *w, *r;
	__u64 k = 1, v = 2, out = 0;

	require();
	unlink(path);
	ASSERT_EQ(0, create_fixed(path, 64, &w));
	ASSERT_EQ(0, hmap_table__open_pinned(path, &ro, &r));
	EXPECT_EQ(-EPERM, hmap_table__update(r, &k, &v, 0));
	EXPECT_EQ(0, hmap_table__update(w, &k, &v, 0));
	EXPECT_EQ(-EPERM, hmap_table__delete(r, &k));
	EXPECT_EQ(0, hmap_table__lookup(r, &k, &out));
	EXPECT_EQ(2, out);
	hmap_table__close(r);
	hmap_table__close(w);
	unlink(path);
}

struct seen {
	__u64 n, bad;
	unsigned char *hit;
	__u64 nkeys;
	__u64 batches;
	bool stop;
};

static void see(struct seen *s, const void *k, const void *v)
{
	__u64 key, val;

	memcpy(&key, k, 8);
	memcpy(&val, v, 8);
	if (key >= s->nkeys || val != key * 3 || s->hit[key]++)
		s->bad++;
	s->n++;
}

static int see_cb(const void *k, const void *v, void *ctx)
{
	see(ctx, k, v);
	return 0;
}

/* see() each entry of a batch (never empty); the third batch stops the walk
 * with 42 when ->stop is set. */
static int see_batch_cb(const struct hmap_entry_ref *ents, unsigned int n, void *ctx)
{
	struct seen *s = ctx;

	s->bad += !n;
	for (unsigned int i = 0; i < n; i++)
		see(s, ents[i].key, ents[i].value);
	return s->stop && ++s->batches == 3 ? 42 : 0;
}

TEST(cursor_and_batches_agree_with_the_callback_walk)
{
	enum { N = 3000 };
	static const __u32 variants[] = { HMAP_VARIANT_FIXED, HMAP_VARIANT_INCREMENTAL };
	static __u64 keys[N], vals[N];

	require();
	for (int i = 0; i < N; i++) {
		keys[i] = i;
		vals[i] = i * 3;
	}
	for (int vi = 0; vi < 2; vi++) {
		HMAP_OPTS(hmap_table_create_opts, o, .key_size = 8, .value_size = 8,
			  .capacity = variants[vi] == HMAP_VARIANT_FIXED ? N + 16 : 8,
			  .variant = variants[vi]);
		struct seen a = { .nkeys = N, .hit = calloc(N, 1) };
		struct seen b = { .nkeys = N, .hit = calloc(N, 1) };
		struct hmap_table_iter *it;
		const void *k, *v;
		struct hmap_table *t;
		__u32 cnt = N;
		__u64 dup = 5, n = 0;
		int ret;

		ASSERT_EQ(0, hmap_table__create(&o, &t));
		ASSERT_EQ(0, hmap_table__update_batch(t, keys, vals, &cnt, 0));
		EXPECT_EQ(N, cnt);
		ASSERT_EQ(0, hmap_table__iterate(t, HMAP_ITER_CONSISTENT, see_cb, &a, NULL));
		for (unsigned int f = 0; f <= HMAP_ITER_CONSISTENT; f++) {
			memset(b.hit, 0, N);
			b.n = b.bad = 0;
			ASSERT_EQ(0, hmap_table_iter__new(t, f, &it));
			while ((ret = hmap_table_iter__next(it, &k, &v)) == 1)
				see(&b, k, v);
			EXPECT_EQ(0, ret);
			EXPECT_EQ(0, hmap_table_iter__next(it, &k, &v));	/* stays at the end */
			hmap_table_iter__destroy(it);
			EXPECT_EQ(N, b.n) TH_LOG("variant %u flags %u", variants[vi], f);
			EXPECT_EQ(0, b.bad);
		}
		EXPECT_EQ(N, a.n);
		EXPECT_EQ(0, a.bad);
		/* The same entries a batch at a time, and a stop is returned. */
		for (unsigned int f = 0; f <= HMAP_ITER_CONSISTENT; f++) {
			memset(b.hit, 0, N);
			b.n = b.bad = b.batches = 0;
			b.stop = false;
			ASSERT_EQ(0, hmap_table__iterate_batch(t, f, see_batch_cb, &b, NULL));
			EXPECT_EQ(N, b.n) TH_LOG("variant %u flags %u", variants[vi], f);
			EXPECT_EQ(0, b.bad);
			memset(b.hit, 0, N);
			b.n = b.bad = b.batches = 0;
			b.stop = true;
			EXPECT_EQ(42, hmap_table__iterate_batch(t, f, see_batch_cb, &b, NULL));
			EXPECT_EQ(3, b.batches);
			EXPECT_GT(N, b.n);
			EXPECT_EQ(0, b.bad);
		}
		EXPECT_EQ(-EINVAL, hmap_table__iterate_batch(t, 2, see_batch_cb, &b, NULL));
		EXPECT_EQ(-EINVAL, hmap_table__iterate_batch(t, 0, NULL, &b, NULL));
		EXPECT_EQ(0, hmap_table__count(t, &n));
		EXPECT_EQ(N, n);

		/* A batch stops at the first failure and says how far it got. */
		cnt = 3;
		EXPECT_EQ(-EEXIST, hmap_table__update_batch(t, (__u64[]){ N + 1, dup, N + 2 },
							    vals, &cnt, 1 /* BPF_NOEXIST */));
		EXPECT_EQ(1, cnt);
		cnt = N;
		EXPECT_EQ(0, hmap_table__delete_batch(t, keys, &cnt, 0));
		EXPECT_EQ(N, cnt);
		cnt = 2;
		EXPECT_EQ(-ENOENT, hmap_table__delete_batch(t, keys, &cnt, 0));
		EXPECT_EQ(0, cnt);
		cnt = 2;
		EXPECT_EQ(0, hmap_table__delete_batch(t, (__u64[]){ 1, N + 1 }, &cnt,
						      HMAP_BATCH_IGNORE_MISSING));
		EXPECT_EQ(2, cnt);
		EXPECT_EQ(0, hmap_table__count(t, &n));
		EXPECT_EQ(0, n);
		hmap_table__close(t);
		free(a.hit);
		free(b.hit);
	}
}

/* ---- threads sharing one handle -------------------------------------------- */

struct shared {
	struct hmap_table *t;
	__u64 nkeys;
	__u64 published;	/* keys 0..published-1 are in (atomic) */
	int done;
	__u64 reads, wrong, missing, walks, walk_bad;
	int err;
};

static __u64 val_of(__u64 k)
{
	return k * 0x9e3779b97f4a7c15ULL + 1;
}

static void *writer(void *arg)
{
	struct shared *s = arg;

	for (__u64 k = 0; k < s->nkeys; k++) {
		__u64 v = val_of(k);
		int ret = hmap_table__update(s->t, &k, &v, 0);

		if (ret) {
			__atomic_store_n(&s->err, ret, __ATOMIC_RELAXED);
			break;
		}
		__atomic_store_n(&s->published, k + 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *lookups(void *arg)
{
	struct shared *s = arg;
	__u64 x = (unsigned long)pthread_self();

	while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
		__u64 n = __atomic_load_n(&s->published, __ATOMIC_ACQUIRE), k, v = 0;
		int ret;

		if (!n)
			continue;
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		k = (x >> 17) % n;
		ret = hmap_table__lookup(s->t, &k, &v);
		__atomic_fetch_add(&s->reads, 1, __ATOMIC_RELAXED);
		if (ret)
			__atomic_fetch_add(&s->missing, 1, __ATOMIC_RELAXED);
		else if (v != val_of(k))
			__atomic_fetch_add(&s->wrong, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int walk_cb(const void *k, const void *v, void *ctx)
{
	struct shared *s = ctx;
	__u64 key, val;

	memcpy(&key, k, 8);
	memcpy(&val, v, 8);
	if (val != val_of(key))
		__atomic_fetch_add(&s->walk_bad, 1, __ATOMIC_RELAXED);
	return 0;
}

static int walk_batch_cb(const struct hmap_entry_ref *ents, unsigned int n, void *ctx)
{
	for (unsigned int i = 0; i < n; i++)
		walk_cb(ents[i].key, ents[i].value, ctx);
	return 0;
}

static void *walks(void *arg)
{
	struct shared *s = arg;

	while (!__atomic_load_n(&s->done, __ATOMIC_ACQUIRE)) {
		struct hmap_table_iter *it;
		const void *k, *v;

		if (hmap_table__iterate(s->t, HMAP_ITER_CONSISTENT, walk_cb, s, NULL))
			__atomic_fetch_add(&s->walk_bad, 1, __ATOMIC_RELAXED);
		if (hmap_table__iterate_batch(s->t, HMAP_ITER_CONSISTENT, walk_batch_cb, s, NULL))
			__atomic_fetch_add(&s->walk_bad, 1, __ATOMIC_RELAXED);
		if (hmap_table_iter__new(s->t, HMAP_ITER_CONSISTENT, &it)) {
			__atomic_fetch_add(&s->walk_bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		while (hmap_table_iter__next(it, &k, &v) == 1)
			walk_cb(k, v, s);
		hmap_table_iter__destroy(it);
		__atomic_fetch_add(&s->walks, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

FIXTURE(threads) {
	int unused;
};

FIXTURE_SETUP(threads)
{
	setup();
}

FIXTURE_TEARDOWN(threads)
{
}

TEST_F_TIMEOUT(threads, share_one_handle_while_the_table_grows, 300)
{
	HMAP_OPTS(hmap_table_create_opts, o, .key_size = 8, .value_size = 8, .capacity = 8,
		  .variant = HMAP_VARIANT_INCREMENTAL);
	struct shared s = { .nkeys = 200000 };
	struct hmap_info info;
	pthread_t w, r[3];

	ASSERT_EQ(0, hmap_table__create(&o, &s.t));
	ASSERT_EQ(0, pthread_create(&w, NULL, writer, &s));
	ASSERT_EQ(0, pthread_create(&r[0], NULL, lookups, &s));
	ASSERT_EQ(0, pthread_create(&r[1], NULL, lookups, &s));
	ASSERT_EQ(0, pthread_create(&r[2], NULL, walks, &s));
	pthread_join(w, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(r[i], NULL);
	ASSERT_EQ(0, hmap_table__info(s.t, &info));
	TH_LOG("%llu keys, %llu lookups, %llu walks; table %llu bytes",
	       (unsigned long long)s.published, (unsigned long long)s.reads,
	       (unsigned long long)s.walks, (unsigned long long)info.bytes);
	EXPECT_EQ(0, s.err);
	EXPECT_EQ(s.nkeys, s.published);
	EXPECT_EQ(0, s.missing);
	EXPECT_EQ(0, s.wrong);
	EXPECT_EQ(0, s.walk_bad);
	EXPECT_LT(1000, s.reads);
	EXPECT_LT(0, s.walks);
	hmap_table__close(s.t);
}

HMAP_TEST_MAIN
