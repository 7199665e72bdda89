// SPDX-License-Identifier: GPL-2.0
/*
 * hmap_rehash.ko tests, in the VM with hmap.ko and hmap_rehash.ko loaded
 * (run_tests.sh).  Kselftest harness, TAP output.
 *
 *  - growth from 8 buckets to 4M entries under writers on every CPU: every
 *    key present exactly once with its last value, deleted keys absent;
 *  - lookups during growth never miss a key inserted before they began;
 *  - zero-copy readers see every key exactly once across growth;
 *  - allocation failure during growth: the table keeps serving at its size;
 *  - rmmod ordering and no leaks;
 *  - kernel safety: writes through a deleted key's value pointer corrupt
 *    nothing; bad capacities are refused; a read-only fd cannot write; growth
 *    is charged to the creator's memcg and refused past its memory.max.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "kselftest_harness.h"
#include "libhmap.h"
#include "hmap_test_util.h"
#include "hmap_test.h"
#include "hmap_test.skel.h"

#define ROOT	"/sys/fs/bpf/hmap-rehash-test"

__attribute__((constructor)) static void require_prerequisites(void)
{
	hmap_require("/sys/module/hmap_rehash");
}

static int set_param(const char *name, const char *val)
{
	return hmap_module_param("hmap_rehash", name, val);
}

struct incr {
	char path[128];
	struct hmap_desc d;
	struct hmap_table *t;
};

static int incr_create_max(struct incr *x, const char *name, __u32 ksz, __u32 vsz, __u64 cap,
			   __u64 max)
{
	struct hmap_table_create_opts co = { .key_size = ksz, .value_size = vsz, .capacity = cap,
				       .max_capacity = max, .variant = HMAP_VARIANT_INCREMENTAL };
	__u32 zero = 0;
	int fd, ret;

	mkdir(ROOT, 0700);
	snprintf(x->path, sizeof(x->path), ROOT "/%s", name);
	unlink(x->path);
	ret = test_create_pinned(x->path, &co, NULL);
	if (ret)
		return ret;
	fd = bpf_obj_get(x->path);
	bpf_map_lookup_elem(fd, &zero, &x->d);
	close(fd);
	return hmap_table__open_pinned(x->path, NULL, &x->t);
}

static int incr_create(struct incr *x, const char *name, __u32 ksz, __u32 vsz, __u64 cap)
{
	return incr_create_max(x, name, ksz, vsz, cap, 0);
}

static void incr_destroy(struct incr *x)
{
	hmap_table__close(x->t);
	unlink(x->path);
}

static struct hmap_test *skel_open(void)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = ROOT);
	struct hmap_test *s;

	mkdir(ROOT, 0700);
	s = hmap_test__open_opts(&oo);
	if (s && hmap_test__load(s)) {
		hmap_test__destroy(s);
		s = NULL;
	}
	return s;
}

static void skel_close(struct hmap_test *s)
{
	hmap_test__destroy(s);
	unlink(ROOT "/keep");
}

/* Run one writer round until no key failed (-ENOSPC while growth catches up). */
static int write_round(int fd, __u64 handle, __u32 thread, __u32 first, __u32 n, __u32 round,
		       bool delete_odd, __u64 *retries)
{
	for (int attempt = 0; attempt < 2000; attempt++) {
		struct hmap_test_writer a = {
			.handle = handle, .thread = thread, .first = first, .nkeys = n,
			.round = round, .delete_odd = delete_odd,
		};
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

		if (bpf_prog_test_run_opts(fd, &o))
			return -errno;
		if (!a.errors && !a.ebusy)
			return 0;
		if (retries)
			(*retries)++;
		usleep(2000);
	}
	return -ENOSPC;
}

static __s64 check_keys(struct hmap_test *s, __u64 handle, __u32 thread, __u32 n, __u32 round,
			bool odd_absent)
{
	struct hmap_test_check c = { .handle = handle, .thread = thread, .nkeys = n,
				     .round = round, .odd_absent = odd_absent };
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c, .ctx_size_in = sizeof(c));

	if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.checker), &o))
		return -1;
	return c.bad;
}

/* 6.1's harness sets timeouts on fixture tests only. */
FIXTURE(rh) {
	int unused;
};

FIXTURE_SETUP(rh)
{
}

FIXTURE_TEARDOWN(rh)
{
}

/* ---- growth to 4M entries under parallel writers ---------------------- */

#define BIG_KEYS	(1U << 22)	/* 4,194,304 */

struct grow_ctx {
	int fd;
	__u64 handle;
	__u32 thread;
	__u32 nkeys;
	int ret;
	__u64 retries;
};

struct grow_ctx_x {
	struct grow_ctx c;
	struct hmap_test *s;
	__u64 refused, ebusy;
};

/* Insert keys thread << 32 | 0 .. nkeys - 1 through xdp_insert, one per
 * BPF_PROG_TEST_RUN repetition, as fast as it goes; no retry. */
static int xdp_insert_all(struct hmap_test *s, __u32 thread, __u32 nkeys)
{
	__u32 frame[16] = { thread };

	while (s->bss->insert_next[thread] < nkeys) {
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame, .data_size_in = sizeof(frame),
			    .repeat = (__u32)(nkeys - s->bss->insert_next[thread]) < 65536 ?
				      (__u32)(nkeys - s->bss->insert_next[thread]) : 65536);

		if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.xdp_insert), &o))
			return -errno;
	}
	return 0;
}

static void *grow_writer(void *arg)
{
	struct grow_ctx_x *x = arg;
	struct grow_ctx *c = &x->c;

	/* insert all (XDP, no retry), rewrite all, then delete odd keys and
	 * rewrite even ones */
	c->ret = xdp_insert_all(x->s, c->thread, c->nkeys);
	x->refused = x->s->bss->insert_refused[c->thread];
	x->ebusy = x->s->bss->insert_ebusy[c->thread];
	if (!c->ret)
		c->ret = write_round(c->fd, c->handle, c->thread, 0, c->nkeys, 1, false, &c->retries);
	if (!c->ret)
		c->ret = write_round(c->fd, c->handle, c->thread, 0, c->nkeys, 2, false, &c->retries);
	if (!c->ret)
		c->ret = write_round(c->fd, c->handle, c->thread, 0, c->nkeys, 3, true, &c->retries);
	return NULL;
}

struct seen {
	__u8 *bits;		/* one bit per key: thread * per + index */
	__u32 per;
	__u32 nthreads;
	__u64 count, dup, wrong;
};

static int seen_cb(const void *k, const void *v, void *ctx)
{
	struct seen *s = ctx;
	const struct hmap_test_val *val = v;
	__u64 key, bit;
	__u32 th, i;

	memcpy(&key, k, 8);
	th = key >> 32;
	i = (__u32)key;
	s->count++;
	if (th < 1 || th > s->nthreads || i >= s->per || (i & 1) || val->w[0] != (key ^ 3)) {
		s->wrong++;
		return 0;
	}
	bit = (__u64)(th - 1) * s->per + i;
	if (s->bits[bit / 8] & (1 << (bit % 8)))
		s->dup++;
	s->bits[bit / 8] |= 1 << (bit % 8);
	return 0;
}

TEST_F_TIMEOUT(rh, grow_from_capacity_8_to_4m_entries_never_refusing, 900)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = ncpu < 2 ? 2 : ncpu > 4 ? 4 : ncpu;
	struct grow_ctx_x cx[4];
	pthread_t th[4];
	struct hmap_test *s;
	struct hmap_info info;
	struct seen seen = {};
	struct incr x;
	__u32 per = BIG_KEYS / nthreads;

	ASSERT_EQ(0, wait_live_tables(0));
	/* capacity 8: the smallest array (512 main buckets, one per stripe at
	 * least, about one pool chunk of values) */
	ASSERT_EQ(0, incr_create(&x, "big", 8, sizeof(struct hmap_test_val), 8));
	ASSERT_EQ(0, hmap_table__info(x.t, &info));
	ASSERT_EQ(512, info.stats.nbuckets);
	s = skel_open();
	ASSERT_NE(NULL, s);
	s->bss->insert_handle = x.d.handle;
	for (int i = 0; i < nthreads; i++) {
		cx[i] = (struct grow_ctx_x){ .c = { .fd = bpf_program__fd(s->progs.writer),
						    .handle = x.d.handle, .thread = i + 1,
						    .nkeys = per }, .s = s };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, grow_writer, &cx[i]));
	}
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, cx[i].c.ret);
		TH_LOG("writer %d: %u keys inserted by XDP: %llu refused, %llu busy; "
		       "%llu later rounds retried", i + 1, per, (unsigned long long)cx[i].refused,
		       (unsigned long long)cx[i].ebusy, (unsigned long long)cx[i].c.retries);
		/* Growth never refuses an insert below max_capacity. */
		EXPECT_EQ(0, cx[i].refused);
		EXPECT_EQ(0, cx[i].ebusy);
		EXPECT_EQ(0, cx[i].c.retries);
	}
	ASSERT_EQ(0, hmap_table__info(x.t, &info));
	TH_LOG("%llu entries, %u buckets, %llu growths, %llu buckets moved in %llu ms",
	       (unsigned long long)info.stats.entries, info.stats.nbuckets,
	       (unsigned long long)info.stats.grows, (unsigned long long)info.stats.evacuated,
	       (unsigned long long)info.stats.evac_ns / 1000000);
	EXPECT_EQ(BIG_KEYS / 2, info.stats.entries);
	EXPECT_GE(info.stats.grows, 8);	/* 512 -(x4)-> 2^15 -(x2)-> 2^20 for 4M */
	EXPECT_EQ(0, info.stats.enospc);
	EXPECT_GE((__u64)info.stats.nbuckets * 13 / 2, BIG_KEYS * 3 / 4);
	/* Every even key with its last value, every odd key gone (in kernel). */
	for (int i = 0; i < nthreads; i++)
		EXPECT_EQ(0, check_keys(s, x.d.handle, i + 1, per, 3, true));
	/* And zero-copy: each key exactly once. */
	seen.per = per;
	seen.nthreads = nthreads;
	seen.bits = calloc(BIG_KEYS / 8 + 1, 1);
	ASSERT_EQ(0, hmap_table__iterate(x.t, HMAP_ITER_CONSISTENT, seen_cb, &seen, NULL));
	EXPECT_EQ(BIG_KEYS / 2, seen.count);
	EXPECT_EQ(0, seen.dup);
	EXPECT_EQ(0, seen.wrong);
	free(seen.bits);
	skel_close(s);
	incr_destroy(&x);
	ASSERT_EQ(0, wait_live_tables(0));
}

/* ---- lookups during growth ------------------------------------------------- */

struct race {
	int fd_writer, fd_op;
	struct hmap_test *s;
	struct incr *x;
	volatile __u32 published;	/* keys [0, published) are in */
	volatile int done;
	__u64 lookups, misses, zc_misses, retries;
	int ret;
};

static void *race_writer(void *arg)
{
	struct race *r = arg;

	for (__u32 first = 0; first < 200000 && !r->ret; first += 2000) {
		r->ret = write_round(r->fd_writer, r->x->d.handle, 9, first, 2000, 5, false,
				     &r->retries);
		__atomic_store_n(&r->published, first + 2000, __ATOMIC_RELEASE);
	}
	r->done = 1;
	return NULL;
}

TEST_F_TIMEOUT(rh, lookups_during_growth_never_miss, 600)
{
	struct race r = {};
	struct hmap_info info;
	pthread_t w;
	struct incr x;
	__u64 seed = 12345;

	ASSERT_EQ(0, incr_create(&x, "race", 8, sizeof(struct hmap_test_val), 52));
	r.s = skel_open();
	ASSERT_NE(NULL, r.s);
	r.x = &x;
	r.fd_writer = bpf_program__fd(r.s->progs.writer);
	r.fd_op = bpf_program__fd(r.s->progs.op);
	ASSERT_EQ(0, pthread_create(&w, NULL, race_writer, &r));
	while (!r.done) {
		__u32 n = __atomic_load_n(&r.published, __ATOMIC_ACQUIRE);

		for (int i = 0; i < 64 && n; i++) {
			struct hmap_test_args a = { .handle = x.d.handle, .op = HT_LOOKUP,
						    .key_size = 8, .value_size = 64 };
			LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));
			struct hmap_test_val v;
			__u64 key;

			seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
			key = 9ULL << 32 | (__u32)((seed >> 33) % n);
			memcpy(r.s->bss->buf.key, &key, 8);
			ASSERT_EQ(0, bpf_prog_test_run_opts(r.fd_op, &o));
			r.lookups++;
			if (a.ret != 1)
				r.misses++;
			if (hmap_table__lookup(x.t, &key, &v) || v.w[0] != (key ^ 5))
				r.zc_misses++;
		}
	}
	pthread_join(w, NULL);
	ASSERT_EQ(0, r.ret);
	ASSERT_EQ(0, hmap_table__info(x.t, &info));
	TH_LOG("%llu lookups during %llu growths: %llu kfunc misses, %llu zero-copy misses",
	       (unsigned long long)r.lookups, (unsigned long long)info.stats.grows,
	       (unsigned long long)r.misses, (unsigned long long)r.zc_misses);
	EXPECT_GE(info.stats.grows, 4);		/* 512 -> 2^16 buckets */
	EXPECT_EQ(0, r.retries);		/* no insert refused */
	EXPECT_GT(r.lookups, 0);
	EXPECT_EQ(0, r.misses);
	EXPECT_EQ(0, r.zc_misses);
	EXPECT_EQ(0, check_keys(r.s, x.d.handle, 9, 200000, 5, false));
	skel_close(r.s);
	incr_destroy(&x);
}

/* ---- zero-copy reader across growth ------------------------------------------ */

struct basecheck {
	__u8 *seen;
	__u64 base, count, dup;
};

static int base_cb(const void *k, const void *v, void *ctx)
{
	struct basecheck *b = ctx;
	__u64 key;

	memcpy(&key, k, 8);
	b->count++;
	if ((key >> 32) == 9 && (__u32)key < b->base) {
		if (b->seen[(__u32)key])
			b->dup++;
		b->seen[(__u32)key] = 1;
	}
	return 0;
}

TEST_F_TIMEOUT(rh, zero_copy_reader_across_growth, 600)
{
	const __u32 base = 20000;
	struct race r = {};
	pthread_t w;
	struct incr x;
	__u64 passes = 0, bad = 0;

	ASSERT_EQ(0, incr_create(&x, "reader", 8, sizeof(struct hmap_test_val), 52));
	r.s = skel_open();
	ASSERT_NE(NULL, r.s);
	r.x = &x;
	r.fd_writer = bpf_program__fd(r.s->progs.writer);
	ASSERT_EQ(0, write_round(r.fd_writer, x.d.handle, 9, 0, base, 5, false, NULL));
	/* The writer goes on from key 0 (rewriting the base, then new keys). */
	ASSERT_EQ(0, pthread_create(&w, NULL, race_writer, &r));
	while (!r.done) {
		struct basecheck b = { .seen = calloc(base, 1), .base = base };
		__u32 missing = 0;

		ASSERT_EQ(0, hmap_table__iterate(x.t, HMAP_ITER_CONSISTENT, base_cb, &b, NULL));
		for (__u32 i = 0; i < base; i++)
			missing += !b.seen[i];
		bad += missing + b.dup;
		passes++;
		free(b.seen);
	}
	pthread_join(w, NULL);
	ASSERT_EQ(0, r.ret);
	TH_LOG("%llu passes over a growing table: %llu base keys missed or seen twice",
	       (unsigned long long)passes, (unsigned long long)bad);
	EXPECT_GT(passes, 0);
	EXPECT_EQ(0, bad);
	skel_close(r.s);
	incr_destroy(&x);
}

/* ---- allocation failure during growth ------------------------------------------ */

TEST_F_TIMEOUT(rh, allocation_failure_keeps_serving, 300)
{
	struct hmap_info info;
	struct incr x;
	__u64 k, v, n;
	int ret = 0;

	ASSERT_EQ(0, set_param("fail_grow", "1"));
	ASSERT_EQ(0, incr_create(&x, "fail", 8, 8, 52));
	for (n = 0; n < 10000; n++) {
		ret = hmap_table__update(x.t, &n, &n, BPF_NOEXIST);
		if (ret)
			break;
	}
	EXPECT_EQ(-ENOSPC, ret);
	ASSERT_EQ(0, hmap_table__info(x.t, &info));
	TH_LOG("growth failing: %llu entries in %u buckets, then -ENOSPC", (unsigned long long)n,
	       info.stats.nbuckets);
	EXPECT_EQ(0, info.stats.grows);
	EXPECT_EQ(512, info.stats.nbuckets);
	EXPECT_GE(n, 4096);	/* the first pool chunk */
	/* Everything inserted is there, updates and deletes still work. */
	for (k = 0; k < n; k++) {
		ASSERT_EQ(0, hmap_table__lookup(x.t, &k, &v));
		ASSERT_EQ(k, v);
	}
	k = 0;
	v = 77;
	EXPECT_EQ(0, hmap_table__update(x.t, &k, &v, BPF_EXIST));
	EXPECT_EQ(0, hmap_table__delete(x.t, &k));
	/* The pool is full: the freed value is reusable after its grace period. */
	for (int tries = 0; (ret = hmap_table__update(x.t, &k, &k, BPF_NOEXIST)) == -ENOSPC &&
	     tries < 1000; tries++)
		usleep(1000);
	EXPECT_EQ(0, ret);

	/* Allocation works again: growth resumes, nothing was lost. */
	ASSERT_EQ(0, set_param("fail_grow", "0"));
	for (k = n; k < n + 5000; k++) {
		for (int tries = 0; (ret = hmap_table__update(x.t, &k, &k, BPF_NOEXIST)) == -ENOSPC &&
		     tries < 1000; tries++)
			usleep(1000);
		ASSERT_EQ(0, ret);
	}
	for (k = 0; k < n + 5000; k++) {
		ASSERT_EQ(0, hmap_table__lookup(x.t, &k, &v));
		ASSERT_EQ(k, v);
	}
	ASSERT_EQ(0, hmap_table__info(x.t, &info));
	EXPECT_GE(info.stats.grows, 1);
	EXPECT_EQ(n + 5000, info.stats.entries);
	incr_destroy(&x);
}

/* ---- kernel safety ---------------------------------------------------------------- */

/*
 * The shipped examples' pattern, v = lookup_or_init(); __sync_fetch_and_add(v),
 * racing a delete of the same key, made certain: every value is written after
 * its key is gone, with patterns that an allocator keeping its free-list
 * links in freed values would follow out of bounds (0x40000000) or into
 * another key's slot (+5).  Then more keys go in, before and after the
 * grace period that lets the slots be reused: every key keeps its value.
 */
TEST_F_TIMEOUT(rh, stale_value_writes_corrupt_nothing, 300)
{
	struct hmap_test *s;
	struct hmap_info info;
	struct incr x;
	const __u64 patterns[] = { 0x40000000ULL, 5, ~0ULL, 0x8000000080000000ULL };

	ASSERT_EQ(0, incr_create(&x, "stale", 8, sizeof(struct hmap_test_val), 8));
	s = skel_open();
	ASSERT_NE(NULL, s);
	ASSERT_EQ(0, write_round(bpf_program__fd(s->progs.writer), x.d.handle, 1, 0, 20000, 7,
				 false, NULL));
	for (int p = 0; p < 4; p++) {
		struct hmap_test_stale c = { .handle = x.d.handle, .pattern = patterns[p],
					     .thread = 100 + p, .nkeys = 5000 };
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &c, .ctx_size_in = sizeof(c));

		ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(s->progs.stale_writer), &o));
		EXPECT_EQ(0, c.bad);
		/* more keys, while freed slots wait and after they are reused */
		ASSERT_EQ(0, write_round(bpf_program__fd(s->progs.writer), x.d.handle, 2 + p, 0,
					 20000, 7, false, NULL));
		usleep(100000);
	}
	for (int t = 1; t <= 5; t++)
		EXPECT_EQ(0, check_keys(s, x.d.handle, t, 20000, 7, false));
	/* exactly the written keys: every stale key stayed deleted */
	ASSERT_EQ(0, hmap_table__info(x.t, &info));
	EXPECT_EQ(5 * 20000, info.stats.entries);
	skel_close(s);
	incr_destroy(&x);
	ASSERT_EQ(0, wait_live_tables(0));
}

/* Every size and capacity is checked in u64 before anything is sized. */
TEST_F_TIMEOUT(rh, bad_capacities_refused, 60)
{
	struct incr x;

	/* 2^44: DIV_ROUND_UP(2^44, 4096) once truncated to a u32 zero chunks */
	EXPECT_EQ(-E2BIG, incr_create_max(&x, "cap44", 8, 8, 8, 1ULL << 44));
	EXPECT_EQ(-E2BIG, incr_create_max(&x, "capmax", 8, 8, 8, HMAP_MAX_ENTRIES + 1));
	EXPECT_EQ(-E2BIG, incr_create(&x, "cap", 8, 8, HMAP_MAX_ENTRIES + 1));
	EXPECT_EQ(-EINVAL, incr_create_max(&x, "capgtmax", 8, 8, 1000, 999));
	EXPECT_EQ(-EINVAL, incr_create(&x, "cap0", 8, 8, 0));
	EXPECT_EQ(-E2BIG, incr_create(&x, "ksz", HMAP_KEY_SIZE_MAX + 1, 8, 8));
	EXPECT_EQ(-E2BIG, incr_create(&x, "vsz", 8, HMAP_VALUE_SIZE_MAX + 1, 8));
	/* A capacity a fixed table could not hold at once is fine here: the
	 * incremental table starts small. */
	ASSERT_EQ(0, incr_create(&x, "capbig", 8, 8, 50000000));
	incr_destroy(&x);
	ASSERT_EQ(0, incr_create_max(&x, "cap", 8, 8, 8, HMAP_MAX_ENTRIES));
	incr_destroy(&x);
	ASSERT_EQ(0, wait_live_tables(0));
}

/* A table fd opened read-only cannot write, as a BPF map fd. */
TEST_F_TIMEOUT(rh, read_only_fd_cannot_write, 60)
{
	struct incr x;
	struct hmap_ioc_fd req = { .flags = HMAP_FD_RDONLY };
	__u64 k = 1, v = 2;
	struct hmap_ioc_elem e = { .key = (__u64)(unsigned long)&k, .value = (__u64)(unsigned long)&v,
				   .key_size = 8, .value_size = 8 };
	int dev, fd;

	ASSERT_EQ(0, incr_create(&x, "rdonly", 8, 8, 8));
	ASSERT_EQ(0, hmap_table__update(x.t, &k, &v, BPF_ANY));
	dev = open(HMAP_DEV_PATH, O_RDONLY);
	ASSERT_LE(0, dev);
	req.id = x.d.id;
	fd = ioctl(dev, HMAP_IOC_TABLE_FD, &req);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, ioctl(fd, HMAP_IOC_UPDATE, &e));
	EXPECT_EQ(EPERM, errno);
	EXPECT_EQ(-1, ioctl(fd, HMAP_IOC_DELETE, &e));
	EXPECT_EQ(EPERM, errno);
	v = 0;
	EXPECT_EQ(0, ioctl(fd, HMAP_IOC_LOOKUP, &e));
	EXPECT_EQ(2, v);
	req.flags = 2;
	EXPECT_EQ(-1, ioctl(dev, HMAP_IOC_TABLE_FD, &req));
	EXPECT_EQ(EINVAL, errno);
	close(fd);
	close(dev);
	incr_destroy(&x);
}

#define cgw hmap_cgroup_write

/*
 * Growth allocates in a kworker, which has no memcg of its own: it must
 * charge the table's creator.  Inside a 64 MiB cgroup, a table of 64-byte
 * values stops growing near the limit (inserts refused), instead of taking
 * hundreds of MiB from the root cgroup.
 */
TEST_F_TIMEOUT(rh, growth_charged_to_creator_memcg, 600)
{
	/* results, in a page the parent faulted in */
	struct res { __u64 entries, bytes, refused, memcg, grows; __u32 nb, state; } *res;
	int status;
	pid_t pid;

	mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	if (cgw("cgroup.subtree_control", "+memory") ||
	    (mkdir("/sys/fs/cgroup/hmap-rh", 0755) && errno != EEXIST) ||
	    cgw("hmap-rh/memory.max", "67108864"))
		SKIP(return, "no cgroup v2 memory controller");
	res = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, 4096);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct hmap_info info;
		struct hmap_test *s;
		struct incr x;
		char me[32];

		snprintf(me, sizeof(me), "%d", getpid());
		if (cgw("hmap-rh/cgroup.procs", me))
			_exit(100);
		if (incr_create(&x, "memcg", 8, sizeof(struct hmap_test_val), 8))
			_exit(101);
		s = skel_open();
		if (!s)
			_exit(102);
		s->bss->insert_handle = x.d.handle;
		/* Back to the root cgroup: the table keeps charging its
		 * creator's (saved at creation), we fault in ours, and the
		 * cgroup then holds the table and little else. */
		snprintf(me, sizeof(me), "%d", getpid());
		if (cgw("cgroup.procs", me))
			_exit(103);
		/* 4M keys of 64-byte values want about 500 MiB. */
		for (int tries = 0; tries < 100 && s->bss->insert_next[6] < (4U << 20) &&
		     !s->bss->insert_refused[6]; tries++)
			xdp_insert_all(s, 6, 4U << 20);
		res->refused = s->bss->insert_refused[6];
		/* The worker may be trying (and failing) to allocate more right
		 * now: the table counts that while it is in flight. */
		for (int i = 0; i < 20; i++) {
			if (hmap_table__info(x.t, &info))
				_exit(104);
			if (info.bytes <= (64ULL << 20))
				break;
			usleep(100000);
		}
		res->entries = info.stats.entries;
		res->bytes = info.bytes;
		res->grows = info.stats.grows;
		res->nb = info.stats.nbuckets;
		res->state = info.stats.state;
		{
			char buf[32] = "";
			int fd = open("/sys/fs/cgroup/hmap-rh/memory.current", O_RDONLY);

			if (fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0)
				res->memcg = strtoull(buf, NULL, 10);
		}
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	unlink(ROOT "/memcg");
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status));
	TH_LOG("memcg 64 MiB: %llu entries in %u buckets (state %u, %llu growths), table %llu bytes, "
	       "cgroup %llu bytes, %llu inserts refused",
	       (unsigned long long)res->entries, res->nb, res->state,
	       (unsigned long long)res->grows, (unsigned long long)res->bytes,
	       (unsigned long long)res->memcg, (unsigned long long)res->refused);
	EXPECT_GT(res->refused, 0);			/* refused: the limit holds */
	EXPECT_LT(res->entries, 1000000);		/* far below the 4M it wanted */
	EXPECT_GT(res->entries, 100000);		/* it did grow, up to the limit */
	EXPECT_LE(res->memcg, 64ULL << 20);
	/* Every byte the table holds is charged there, growth included. */
	EXPECT_LE(res->bytes, res->memcg);
	munmap(res, 4096);
	ASSERT_EQ(0, wait_live_tables(0));
	unlink(ROOT "/keep");
	rmdir("/sys/fs/cgroup/hmap-rh");
}

static int hmap_param(const char *name, const char *val)
{
	return hmap_module_param("hmap", name, val);
}

/* max_table_bytes bounds the whole table, arrays and value pool together. */
TEST_F_TIMEOUT(rh, max_table_bytes_bounds_arrays_and_pool, 300)
{
	struct hmap_info info;
	struct hmap_test *s;
	struct incr x;
	__u64 refused;

	ASSERT_EQ(0, hmap_param("max_table_bytes", "8388608"));	/* 8 MiB */
	ASSERT_EQ(0, incr_create(&x, "bytes", 8, sizeof(struct hmap_test_val), 8));
	s = skel_open();
	ASSERT_NE(NULL, s);
	s->bss->insert_handle = x.d.handle;
	/* 200k keys of 64-byte values want about 20 MiB */
	for (int tries = 0; tries < 20 && s->bss->insert_next[5] < 200000; tries++)
		xdp_insert_all(s, 5, 200000);
	refused = s->bss->insert_refused[5];
	ASSERT_EQ(0, hmap_table__info(x.t, &info));
	TH_LOG("8 MiB cap: %llu entries, %llu bytes, %llu inserts refused",
	       (unsigned long long)info.stats.entries, (unsigned long long)info.bytes,
	       (unsigned long long)refused);
	EXPECT_LE(info.bytes, 8ULL << 20);
	EXPECT_GT(refused, 0);
	EXPECT_GT(info.stats.entries, 20000);	/* it grew, up to the cap */
	EXPECT_EQ(0, hmap_param("max_table_bytes", "4294967296"));
	skel_close(s);
	incr_destroy(&x);
	ASSERT_EQ(0, wait_live_tables(0));
}

/* ---- module ordering ----------------------------------------------------------------- */

TEST_F_TIMEOUT(rh, rmmod_ordering_and_no_leaks, 120)
{
	struct hmap_ioc_modstats a, b;
	struct incr x;

	ASSERT_EQ(0, wait_live_tables(0));
	ASSERT_EQ(0, libhmap_modstats(&a));
	ASSERT_EQ(0, incr_create(&x, "order", 4, 4, 100));
	EXPECT_EQ(-1, syscall(SYS_delete_module, "hmap_rehash", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	EXPECT_EQ(-1, syscall(SYS_delete_module, "hmap", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	incr_destroy(&x);
	ASSERT_EQ(0, wait_live_tables(0));
	ASSERT_EQ(0, libhmap_modstats(&b));
	EXPECT_EQ(a.live_bytes, b.live_bytes);
	/* No table left: the companion unloads, and loads again. */
	EXPECT_EQ(0, syscall(SYS_delete_module, "hmap_rehash", O_NONBLOCK));
	EXPECT_EQ(0, hmap_insmod("hmap_rehash"));
	rmdir(ROOT);
}

HMAP_TEST_MAIN
