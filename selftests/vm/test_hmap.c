// SPDX-License-Identifier: GPL-2.0
/*
 * hmap.ko tests, run in the VM as root with the module loaded
 * (selftests/vm/run_tests.sh).  Kselftest harness, TAP output.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
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
#include <linux/bpf.h>

#include "kselftest_harness.h"
#include "libhmap.h"
#include "hmap_test_util.h"
#include "hmap_test.h"
#include "hmap_test.skel.h"
#include "hmap_bad.skel.h"
#include "hmap_nest.skel.h"

#define PIN_ROOT	"/sys/fs/bpf/hmap-test"

__attribute__((constructor)) static void require_prerequisites(void)
{
	hmap_require(NULL);
}

static void pin_path(char *buf, size_t n, const char *name)
{
	mkdir(PIN_ROOT, 0700);
	snprintf(buf, n, PIN_ROOT "/%s", name);
}

static int make_table(const char *name, __u32 ksz, __u32 vsz, __u64 cap, char *path, size_t n)
{
	struct hmap_table_create_opts o = { .key_size = ksz, .value_size = vsz, .capacity = cap };

	pin_path(path, n, name);
	unlink(path);
	return test_create_pinned(path, &o, NULL);
}

static int read_desc(const char *path, struct hmap_desc *d)
{
	__u32 zero = 0;
	int fd = bpf_obj_get(path), ret;

	if (fd < 0)
		return -errno;
	ret = bpf_map_lookup_elem(fd, &zero, d) ? -errno : 0;
	close(fd);
	return ret;
}

/* Tests clean up after themselves, so between tests the module holds no
 * table once pending frees have run.  Returns that count (0), or ~0 if a
 * table leaked. */
static __u64 settled_tables(void)
{
	return wait_live_tables(0) ? ~0ULL : 0;
}

static struct hmap_test *open_test_skel(const char *pin_root)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = pin_root);
	struct hmap_test *skel;

	mkdir(pin_root, 0700);
	skel = hmap_test__open_opts(&oo);
	if (!skel)
		return NULL;
	if (hmap_test__load(skel)) {
		hmap_test__destroy(skel);
		return NULL;
	}
	return skel;
}

/* One kfunc call through the "op" program.  Returns ctx->ret. */
static long op(struct hmap_test *skel, __u64 handle, __u32 which, const void *key, __u32 ksz,
	       void *val, __u32 vsz, __u32 flags)
{
	struct hmap_test_args a = {
		.handle = handle, .op = which, .key_size = ksz, .value_size = vsz, .flags = flags,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

	memcpy(skel->bss->buf.key, key, ksz);
	if (which == HT_UPDATE)
		memcpy(skel->bss->buf.value, val, vsz);
	if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.op), &o))
		return -10000 - errno;
	if (o.retval)
		return -20000 + (int)o.retval;
	if ((which == HT_LOOKUP || which == HT_LOOKUP_OR_INIT) && a.ret == 1 && val)
		memcpy(val, skel->bss->buf.value, vsz);
	return a.ret;
}

static __u64 rng = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- creation and bad input ----------------------------------------------- */

TEST(create_rejects_bad_shapes)
{
	static const struct {
		__u32 ksz, vsz;
		__u64 cap;
		__u32 variant, flags;
		int err;
	} c[] = {
		{ 0, 8, 10, 0, 0, -EINVAL },
		{ 8, 0, 10, 0, 0, -EINVAL },
		{ 8, 8, 0, 0, 0, -EINVAL },
		{ HMAP_KEY_SIZE_MAX + 1, 8, 10, 0, 0, -E2BIG },
		{ 8, HMAP_VALUE_SIZE_MAX + 1, 10, 0, 0, -E2BIG },
		{ 8, 8, 1ULL << 40, 0, 0, -E2BIG },
		{ 8, 8, ~0ULL, 0, 0, -E2BIG },
		{ 8, 8, 10, 0, 1, -EINVAL },
		{ 8, 8, 10, 77, 0, -EINVAL },
		/* 13M entries of 4 KiB values: far over max_table_bytes */
		{ 8, 4096, 13000000, 0, 0, -E2BIG },
	};
	__u64 before = settled_tables();
	char path[128];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct hmap_table_create_opts o = {
			.key_size = c[i].ksz, .value_size = c[i].vsz, .capacity = c[i].cap,
			.variant = c[i].variant, .flags = c[i].flags,
		};

		pin_path(path, sizeof(path), "bad");
		EXPECT_EQ(c[i].err, test_create_pinned(path, &o, NULL)) {
			TH_LOG("case %zu", i);
		}
		/* A failed create leaves no pin and no table behind. */
		EXPECT_EQ(-1, access(path, F_OK));
		EXPECT_EQ(before, live_tables());
	}

	/* The incremental variant needs its companion module. */
	{
		struct hmap_table_create_opts o = { .key_size = 8, .value_size = 8, .capacity = 10,
					      .variant = HMAP_VARIANT_INCREMENTAL };
		bool loaded = access("/sys/module/hmap_rehash", F_OK) == 0;

		if (loaded)
			ASSERT_EQ(0, syscall(SYS_delete_module, "hmap_rehash", O_NONBLOCK));
		pin_path(path, sizeof(path), "bad");
		EXPECT_EQ(-EOPNOTSUPP, test_create_pinned(path, &o, NULL));
		EXPECT_EQ(-1, access(path, F_OK));
		if (loaded) {
			ASSERT_EQ(0, hmap_insmod("hmap_rehash"));
		}
	}

	/* Boundary shapes are accepted. */
	ASSERT_EQ(0, make_table("edge1", 1, 1, 1, path, sizeof(path)));
	unlink(path);
	ASSERT_EQ(0, make_table("edge2", HMAP_KEY_SIZE_MAX, HMAP_VALUE_SIZE_MAX, 100, path, sizeof(path)));
	/* The same name twice. */
	{
		struct hmap_table_create_opts o = { .key_size = 8, .value_size = 8, .capacity = 8 };

		EXPECT_EQ(-EEXIST, test_create_pinned(path, &o, NULL));
	}
	unlink(path);
	ASSERT_EQ(0, wait_live_tables(before));
}

TEST(max_table_bytes_parameter)
{
	const char *param = "/sys/module/hmap/parameters/max_table_bytes";
	char old[64] = {}, path[128];
	FILE *f = fopen(param, "r");

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	f = fopen(param, "w");
	ASSERT_NE(NULL, f);
	fprintf(f, "65536\n");
	fclose(f);
	EXPECT_EQ(-E2BIG, make_table("cap", 16, 8, 100000, path, sizeof(path)));
	EXPECT_EQ(0, make_table("cap", 16, 8, 100, path, sizeof(path)));
	unlink(path);
	f = fopen(param, "w");
	ASSERT_NE(NULL, f);
	fputs(old, f);
	fclose(f);
}

struct sum_ctx {
	__u64 n, bad;
};

static int sum_entry(const void *key, const void *value, void *ctx)
{
	struct sum_ctx *c = ctx;
	__u64 k, v;

	memcpy(&k, key, 8);
	memcpy(&v, value, 8);
	c->n++;
	c->bad += v != ~k;
	return 0;
}

/*
 * hugepages=1 (default 0): an array of 2 MiB or more is allocated in whole
 * huge pages when that costs at most 1/32 more, and the rounding becomes
 * overflow buckets, counted in the table's bytes.  Whatever backs it, the
 * read-only mapping (4 KiB pages of it) reads every entry: lookups and a
 * whole dump through the mapping agree with what was written.
 */
TEST(hugepages_parameter_sizes_arrays_in_whole_huge_pages)
{
	const char *param = "/sys/module/hmap/parameters/hugepages";
	char path[128], small[128], was[16] = {};
	struct hmap_info on, off;
	struct hmap_table *t;
	int w0, made0, w1, made1, wr;
	FILE *f = fopen(param, "r");
	__u64 k, v;

	ASSERT_NE(NULL, f);
	ASSERT_NE(NULL, fgets(was, sizeof(was), f));
	fclose(f);
	/* Back to what it was before any assert can end the test. */
	w0 = hmap_module_param("hmap", "hugepages", "0\n");
	made0 = make_table("small-pages", 8, 8, 1 << 20, small, sizeof(small));
	w1 = hmap_module_param("hmap", "hugepages", "1\n");
	made1 = make_table("huge-pages", 8, 8, 1 << 20, path, sizeof(path));
	wr = hmap_module_param("hmap", "hugepages", was);
	ASSERT_EQ(0, w0);
	ASSERT_EQ(0, w1);
	ASSERT_EQ(0, wr);
	ASSERT_EQ(0, made0);
	ASSERT_EQ(0, hmap_table__open_pinned(small, NULL, &t));
	ASSERT_EQ(0, hmap_table__info(t, &off));
	hmap_table__close(t);
	unlink(small);
	ASSERT_EQ(0, made1);
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	ASSERT_EQ(0, hmap_table__info(t, &on));
	TH_LOG("1M entries of 8+8 bytes: %llu bytes, %u overflow buckets in small pages; "
	       "%llu and %u in huge pages", (unsigned long long)off.bytes, off.stats.noverflow,
	       (unsigned long long)on.bytes, on.stats.noverflow);
	EXPECT_EQ(off.stats.nbuckets, on.stats.nbuckets);
	EXPECT_LT(off.stats.noverflow, on.stats.noverflow);
	EXPECT_LT(off.bytes, on.bytes);
	EXPECT_GE(off.bytes + off.bytes / 32, on.bytes);
	/* the same header page and locks: less than one huge page more */
	EXPECT_EQ(0ULL, (on.bytes - off.bytes) & 4095);
	EXPECT_GT(2ULL << 20, on.bytes - off.bytes);

	for (k = 0; k < 1 << 20; k += 3) {
		v = ~k;
		ASSERT_EQ(0, hmap_table__update(t, &k, &v, BPF_NOEXIST));
	}
	for (k = 0; k < 1 << 20; k++) {
		int ret = hmap_table__lookup(t, &k, &v);

		ASSERT_EQ(k % 3 ? -ENOENT : 0, ret) TH_LOG("key %llu", (unsigned long long)k);
		if (!ret)
			ASSERT_EQ(~k, v);
	}
	{
		struct sum_ctx c = {};

		ASSERT_EQ(0, hmap_table__iterate(t, 0, sum_entry, &c, NULL));
		EXPECT_EQ(((1ULL << 20) + 2) / 3, c.n);
		EXPECT_EQ(0ULL, c.bad);
	}
	hmap_table__close(t);
	unlink(path);
	ASSERT_EQ(0, wait_live_tables(0));
}

/* ---- semantics against a reference model -------------------------------- */

struct model {
	__u32 ksz, vsz, n, cap, nkeys;
	__u8 *keys;		/* nkeys distinct keys */
	__u8 *vals;		/* value per key */
	__u8 *present;
};

static int model_check_all(struct __test_metadata *_metadata, struct model *m,
			   struct hmap_table *t)
{
	__u8 *v = malloc(m->vsz);
	int bad = 0;

	for (__u32 i = 0; i < m->nkeys; i++) {
		int ret = hmap_table__lookup(t, m->keys + (size_t)i * m->ksz, v);

		if (m->present[i] ? ret || memcmp(v, m->vals + (size_t)i * m->vsz, m->vsz)
				  : ret != -ENOENT)
			bad++;
	}
	free(v);
	return bad;
}

static int count_cb(const void *k, const void *v, void *ctx)
{
	(*(__u64 *)ctx)++;
	return 0;
}

static void run_model(struct __test_metadata *_metadata, struct hmap_test *skel,
		      __u32 ksz, __u32 vsz, __u32 cap, __u32 nkeys, __u32 nops)
{
	struct model m = { .ksz = ksz, .vsz = vsz, .cap = cap, .nkeys = nkeys };
	__u8 *v = malloc(vsz), *zero = calloc(1, vsz);
	struct hmap_table *t;
	struct hmap_desc d;
	char path[128], name[32];
	__u64 count = 0;

	m.keys = calloc(nkeys, ksz);
	m.vals = calloc(nkeys, vsz);
	m.present = calloc(nkeys, 1);
	for (__u32 i = 0; i < nkeys; i++) {
		for (__u32 b = 0; b < ksz; b++)
			m.keys[(size_t)i * ksz + b] = rnd();
		memcpy(m.keys + (size_t)i * ksz, &i, ksz < 4 ? ksz : 4);
	}
	snprintf(name, sizeof(name), "model-%u-%u", ksz, vsz);
	ASSERT_EQ(0, make_table(name, ksz, vsz, cap, path, sizeof(path)));
	ASSERT_EQ(0, read_desc(path, &d));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));

	for (__u32 n = 0; n < nops; n++) {
		__u32 i = rnd() % nkeys, which = rnd() % 8, flags = rnd() % 3;
		const __u8 *k = m.keys + (size_t)i * ksz;
		__u8 *mv = m.vals + (size_t)i * vsz;
		long ret, want;

		switch (which) {
		case 0: case 1: case 2:
			for (__u32 b = 0; b < vsz; b++)
				v[b] = rnd();
			ret = op(skel, d.handle, HT_UPDATE, k, ksz, v, vsz, flags);
			if (flags == BPF_NOEXIST && m.present[i])
				want = -EEXIST;
			else if (flags == BPF_EXIST && !m.present[i])
				want = -ENOENT;
			else if (!m.present[i] && m.n >= cap)
				want = -ENOSPC;
			else
				want = 0;
			ASSERT_EQ(want, ret) {
				TH_LOG("op %u: update flags %u", n, flags);
			}
			if (!ret) {
				m.n += !m.present[i];
				m.present[i] = 1;
				memcpy(mv, v, vsz);
			}
			break;
		case 3: case 4:
			ret = op(skel, d.handle, HT_DELETE, k, ksz, NULL, vsz, 0);
			ASSERT_EQ(m.present[i] ? 0 : -ENOENT, ret);
			m.n -= m.present[i];
			m.present[i] = 0;
			break;
		case 5:
			ret = op(skel, d.handle, HT_LOOKUP_OR_INIT, k, ksz, v, vsz, 0);
			if (m.present[i]) {
				ASSERT_EQ(1, ret);
				ASSERT_EQ(0, memcmp(v, mv, vsz));
			} else if (m.n >= cap) {
				ASSERT_EQ(0, ret);	/* full: NULL */
			} else {
				ASSERT_EQ(1, ret);
				ASSERT_EQ(0, memcmp(v, zero, vsz));
				m.present[i] = 1;
				m.n++;
				memset(mv, 0, vsz);
			}
			break;
		default:
			ret = op(skel, d.handle, HT_LOOKUP, k, ksz, v, vsz, 0);
			ASSERT_EQ(m.present[i], ret);
			if (ret)
				ASSERT_EQ(0, memcmp(v, mv, vsz));
		}
	}
	/* The zero-copy view agrees with the model, key by key and in total. */
	EXPECT_EQ(0, model_check_all(_metadata, &m, t));
	EXPECT_EQ(0, hmap_table__iterate(t, HMAP_ITER_CONSISTENT, count_cb, &count, NULL));
	EXPECT_EQ(m.n, count);
	EXPECT_EQ(m.n, hmap_table__header(t)->entries);
	/* The descriptor's stats snapshot refreshes on demand. */
	ASSERT_EQ(0, hmap_desc__refresh(path));
	ASSERT_EQ(0, read_desc(path, &d));
	EXPECT_EQ(m.n, d.stats.entries);
	EXPECT_EQ(cap, d.stats.capacity);

	hmap_table__close(t);
	unlink(path);
	free(m.keys);
	free(m.vals);
	free(m.present);
	free(v);
	free(zero);
}

FIXTURE(skel) {
	struct hmap_test *skel;
	char root[64];
};

FIXTURE_SETUP(skel)
{
	snprintf(self->root, sizeof(self->root), PIN_ROOT "-skel-%d", getpid());
	self->skel = open_test_skel(self->root);
	ASSERT_NE(NULL, self->skel);
}

FIXTURE_TEARDOWN(skel)
{
	char p[128];

	hmap_test__destroy(self->skel);
	snprintf(p, sizeof(p), "%s/keep", self->root);
	unlink(p);
	rmdir(self->root);
}

TEST_F(skel, model_every_flag_and_size)
{
	static const __u32 shapes[][2] = {
		{ 1, 1 }, { 2, 2 }, { 4, 8 }, { 16, 8 }, { 16, 64 }, { 3, 12 }, { 12, 8 },
		{ 17, 100 }, { HMAP_KEY_SIZE_MAX, 16 }, { 8, HMAP_VALUE_SIZE_MAX },
		{ HMAP_KEY_SIZE_MAX, HMAP_VALUE_SIZE_MAX },
	};

	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
		run_model(_metadata, self->skel, shapes[i][0], shapes[i][1], 60,
			  shapes[i][0] == 1 ? 200 : 120, 1500);
}

TEST_F(skel, full_table_then_delete_and_reinsert)
{
	const __u32 cap = 1000;
	struct hmap_table *t;
	struct hmap_info info;
	struct hmap_desc d;
	char path[128];
	__u64 k, v;

	ASSERT_EQ(0, make_table("full", 8, 8, cap, path, sizeof(path)));
	ASSERT_EQ(0, read_desc(path, &d));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	for (k = 0; k < cap; k++)
		ASSERT_EQ(0, op(self->skel, d.handle, HT_UPDATE, &k, 8, &k, 8, BPF_NOEXIST));
	EXPECT_EQ(-ENOSPC, op(self->skel, d.handle, HT_UPDATE, &k, 8, &k, 8, BPF_ANY));
	EXPECT_EQ(-ENOSPC, hmap_table__update(t, &k, &k, BPF_ANY));	/* ioctl path agrees */
	v = 77;
	k = 3;
	EXPECT_EQ(0, op(self->skel, d.handle, HT_UPDATE, &k, 8, &v, 8, BPF_EXIST));
	EXPECT_EQ(0, hmap_table__lookup(t, &k, &v));
	EXPECT_EQ(77, v);
	ASSERT_EQ(0, hmap_table__info(t, &info));
	EXPECT_EQ(cap, info.stats.entries);
	EXPECT_EQ(2, info.stats.enospc);
	for (k = 0; k < cap; k++)
		ASSERT_EQ(0, op(self->skel, d.handle, HT_DELETE, &k, 8, NULL, 8, 0));
	EXPECT_EQ(0, hmap_table__header(t)->entries);
	for (k = 0; k < cap; k++)
		ASSERT_EQ(0, hmap_table__update(t, &k, &k, BPF_NOEXIST));
	for (k = 0; k < cap; k++) {
		ASSERT_EQ(0, hmap_table__lookup(t, &k, &v));
		ASSERT_EQ(k, v);
	}
	EXPECT_EQ(cap, hmap_table__header(t)->entries);
	hmap_table__close(t);
	unlink(path);
}

TEST_F(skel, wrong_sizes_and_flags_from_bpf)
{
	__u8 key[32] = {}, val[64] = {};
	struct hmap_table *t;
	struct hmap_info info;
	struct hmap_desc d;
	char path[128];

	ASSERT_EQ(0, make_table("sizes", 16, 8, 100, path, sizeof(path)));
	ASSERT_EQ(0, read_desc(path, &d));
	ASSERT_EQ(0, op(self->skel, d.handle, HT_UPDATE, key, 16, val, 8, BPF_ANY));
	EXPECT_EQ(1, op(self->skel, d.handle, HT_LOOKUP, key, 16, val, 8, 0));
	EXPECT_EQ(0, op(self->skel, d.handle, HT_LOOKUP, key, 12, val, 8, 0));
	EXPECT_EQ(0, op(self->skel, d.handle, HT_LOOKUP, key, 16, val, 16, 0));
	EXPECT_EQ(0, op(self->skel, d.handle, HT_LOOKUP_OR_INIT, key, 16, val, 12, 0));
	EXPECT_EQ(-EINVAL, op(self->skel, d.handle, HT_UPDATE, key, 17, val, 8, BPF_ANY));
	EXPECT_EQ(-EINVAL, op(self->skel, d.handle, HT_UPDATE, key, 16, val, 12, BPF_ANY));
	EXPECT_EQ(-EINVAL, op(self->skel, d.handle, HT_UPDATE, key, 16, val, 8, 3));
	EXPECT_EQ(-EINVAL, op(self->skel, d.handle, HT_DELETE, key, 8, NULL, 8, 0));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	ASSERT_EQ(0, hmap_table__info(t, &info));
	EXPECT_EQ(7, info.stats.einval);
	EXPECT_EQ(1, info.stats.entries);
	hmap_table__close(t);
	unlink(path);
}

TEST_F(skel, stale_and_unknown_handles)
{
	__u64 key = 1, val = 2, stale;
	struct hmap_table *t;
	struct hmap_desc d;
	__u64 before = settled_tables();
	char path[128];

	ASSERT_EQ(0, make_table("stale", 8, 8, 100, path, sizeof(path)));
	ASSERT_EQ(0, read_desc(path, &d));
	ASSERT_EQ(0, op(self->skel, d.handle, HT_UPDATE, &key, 8, &val, 8, BPF_ANY));
	/* Same id, another generation: never this table. */
	stale = d.handle ^ (1ULL << 40);
	EXPECT_EQ(-EBADF, op(self->skel, stale, HT_UPDATE, &key, 8, &val, 8, BPF_ANY));
	EXPECT_EQ(0, op(self->skel, stale, HT_LOOKUP, &key, 8, &val, 8, 0));
	EXPECT_EQ(-EBADF, op(self->skel, stale, HT_DELETE, &key, 8, NULL, 8, 0));
	EXPECT_EQ(-EBADF, op(self->skel, 0, HT_UPDATE, &key, 8, &val, 8, BPF_ANY));
	EXPECT_EQ(-EBADF, op(self->skel, 0xffffffffULL, HT_STATS, &key, 8, &val, 8, 0));
	/* Freed: the old handle and id reach nothing. */
	unlink(path);
	ASSERT_EQ(0, wait_live_tables(before));
	EXPECT_EQ(-EBADF, op(self->skel, d.handle, HT_UPDATE, &key, 8, &val, 8, BPF_ANY));
	EXPECT_EQ(0, op(self->skel, d.handle, HT_LOOKUP, &key, 8, &val, 8, 0));
	EXPECT_EQ(-ENOENT, hmap_table__open_id(d.id, NULL, &t));
}

TEST_F(skel, kfuncs_in_xdp_tc_and_fentry)
{
	__u8 pkt[64] = {};
	struct hmap_table *t;
	struct hmap_desc d;
	struct bpf_link *link;
	char path[128];
	__u64 cnt;
	__u32 key;
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = sizeof(pkt));

	ASSERT_EQ(0, make_table("count", 4, 8, 1000, path, sizeof(path)));
	ASSERT_EQ(0, read_desc(path, &d));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	self->skel->bss->count_handle = d.handle;

	pkt[0] = 7;
	o.repeat = 100;
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(self->skel->progs.xdp_count), &o));
	EXPECT_EQ(XDP_PASS, o.retval);
	key = 7;
	ASSERT_EQ(0, hmap_table__lookup(t, &key, &cnt));
	EXPECT_EQ(100, cnt);

	pkt[0] = 9;
	o.repeat = 50;
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(self->skel->progs.tc_count), &o));
	key = 9;
	ASSERT_EQ(0, hmap_table__lookup(t, &key, &cnt));
	EXPECT_EQ(50, cnt);

	self->skel->bss->count_tgid = getpid();
	link = bpf_program__attach(self->skel->progs.fentry_count);
	ASSERT_NE(NULL, link);
	for (int i = 0; i < 25; i++)
		syscall(SYS_getpgid, 0);
	bpf_link__destroy(link);
	key = getpid();
	ASSERT_EQ(0, hmap_table__lookup(t, &key, &cnt));
	EXPECT_EQ(25, cnt);

	/* 175 lookup-or-init calls: three first-time inserts, 172 hits. */
	{
		struct hmap_info info;

		ASSERT_EQ(0, hmap_table__info(t, &info));
		EXPECT_EQ(175, info.stats.lookups);
		EXPECT_EQ(172, info.stats.hits);
		EXPECT_EQ(3, info.stats.updates);
		EXPECT_EQ(3, info.stats.entries);
		EXPECT_EQ(0, info.stats.einval);
	}
	hmap_table__close(t);
	unlink(path);
}

/* ---- user-space access ------------------------------------------------------ */

TEST(mmap_is_read_only)
{
	struct hmap_table *t;
	char path[128];
	void *p;
	int fd;

	ASSERT_EQ(0, make_table("ro", 8, 8, 1000, path, sizeof(path)));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	fd = hmap_table__fd(t);
	/* libhmap's fd is read-write (for HMAP_IOC_UPDATE): the driver itself
	 * refuses a writable mapping */
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(EPERM, errno);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, mprotect(p, 4096, PROT_READ | PROT_WRITE));
	EXPECT_EQ(EACCES, errno);
	munmap(p, 4096);
	/* Unknown offset, and a length past the object. */
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 1 << 30));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(MAP_FAILED, mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0));
	EXPECT_EQ(EINVAL, errno);
	hmap_table__close(t);
	unlink(path);
}

TEST(ioctl_bad_arguments)
{
	struct hmap_ioc_fd req = {};
	struct hmap_ioc_elem e = {};
	struct hmap_table *t;
	char path[128];
	__u64 key = 1, val = 1;
	int dev;

	dev = open(HMAP_DEV_PATH, O_RDONLY);
	ASSERT_LE(0, dev);
	EXPECT_EQ(-1, ioctl(dev, _IO(HMAP_IOC_MAGIC, 99), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-1, ioctl(dev, HMAP_IOC_TABLE_FD, NULL));
	EXPECT_EQ(EFAULT, errno);
	req.id = 0;
	EXPECT_EQ(-1, ioctl(dev, HMAP_IOC_TABLE_FD, &req));
	EXPECT_EQ(ENOENT, errno);
	req.id = 0x7ffffff0;
	EXPECT_EQ(-1, ioctl(dev, HMAP_IOC_TABLE_FD, &req));
	EXPECT_EQ(ENOENT, errno);

	ASSERT_EQ(0, make_table("ioctl", 8, 8, 100, path, sizeof(path)));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	req.id = hmap_table__header(t)->id;
	req.flags = 2;	/* only HMAP_FD_RDONLY is defined */
	EXPECT_EQ(-1, ioctl(dev, HMAP_IOC_TABLE_FD, &req));
	EXPECT_EQ(EINVAL, errno);

	e.key = (unsigned long)&key;
	e.value = (unsigned long)&val;
	e.key_size = 4;
	e.value_size = 8;
	EXPECT_EQ(-1, ioctl(hmap_table__fd(t), HMAP_IOC_UPDATE, &e));
	EXPECT_EQ(EINVAL, errno);
	e.key_size = 8;
	e.flags = 9;
	EXPECT_EQ(-1, ioctl(hmap_table__fd(t), HMAP_IOC_UPDATE, &e));
	EXPECT_EQ(EINVAL, errno);
	e.flags = 0;
	e.key = 8;	/* garbage pointer */
	EXPECT_EQ(-1, ioctl(hmap_table__fd(t), HMAP_IOC_UPDATE, &e));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(hmap_table__fd(t), HMAP_IOC_INFO, NULL));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, ioctl(hmap_table__fd(t), _IO(HMAP_IOC_MAGIC, 99), 0));
	EXPECT_EQ(ENOTTY, errno);
	EXPECT_EQ(-ENOENT, hmap_table__delete(t, &key));
	EXPECT_EQ(0, hmap_table__update(t, &key, &val, BPF_NOEXIST));
	EXPECT_EQ(-EEXIST, hmap_table__update(t, &key, &val, BPF_NOEXIST));
	EXPECT_EQ(0, hmap_table__delete(t, &key));
	close(dev);
	hmap_table__close(t);
	unlink(path);
}

TEST(unprivileged_caller_refused)
{
	char path[128];
	struct hmap_table *t;
	__u32 id;
	int status;
	pid_t pid;

	ASSERT_EQ(0, make_table("priv", 8, 8, 100, path, sizeof(path)));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	id = hmap_table__header(t)->id;
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct hmap_ioc_fd req = { .id = id };
		int dev = open(HMAP_DEV_PATH, O_RDONLY), bits = 0;

		if (dev < 0 || setresgid(65534, 65534, 65534) || setresuid(65534, 65534, 65534))
			_exit(100);
		/* No capabilities left: an fd opened as root does not help. */
		if (ioctl(dev, HMAP_IOC_TABLE_FD, &req) == -1 && errno == EPERM)
			bits |= 1;
		if (open(HMAP_DEV_PATH, O_RDONLY) == -1 && errno == EACCES)
			bits |= 2;
		_exit(bits);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(3, WEXITSTATUS(status));
	hmap_table__close(t);
	unlink(path);
}

/* ---- lifetime ------------------------------------------------------------------ */

TEST(unpin_then_close_frees)
{
	struct hmap_ioc_modstats a = {}, b = {};
	struct hmap_table *t;
	char path[128];

	/* Earlier tests' frees are asynchronous: start from a settled count. */
	ASSERT_EQ(0, wait_live_tables(0));
	ASSERT_EQ(0, libhmap_modstats(&a));
	ASSERT_EQ(0, make_table("life", 16, 64, 50000, path, sizeof(path)));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	ASSERT_EQ(a.live_tables + 1, live_tables());
	unlink(path);
	usleep(200000);
	/* The open fd still holds it. */
	EXPECT_EQ(a.live_tables + 1, live_tables());
	EXPECT_EQ(0, hmap_table__update(t, &(__u8[16]){ 1 }, &(__u8[64]){ 2 }, BPF_ANY));
	hmap_table__close(t);
	ASSERT_EQ(0, wait_live_tables(a.live_tables));
	ASSERT_EQ(0, libhmap_modstats(&b));
	EXPECT_EQ(a.live_bytes, b.live_bytes);
	EXPECT_EQ(a.created + 1, b.created);
	EXPECT_EQ(a.freed + 1, b.freed);
}

TEST(loaded_program_keeps_table_alive)
{
	LIBBPF_OPTS(bpf_test_run_opts, o);
	__u64 before = settled_tables(), v;
	struct hmap_test *skel;
	struct hmap_table *t;
	char path[128];
	__u32 id, key = 42;

	ASSERT_EQ(0, make_table("keep", 4, 8, 100, path, sizeof(path)));
	/* The object's "keep" map reuses the pinned descriptor. */
	skel = open_test_skel(PIN_ROOT);
	ASSERT_NE(NULL, skel);
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	id = hmap_table__header(t)->id;
	hmap_table__close(t);
	unlink(path);
	usleep(200000);
	EXPECT_EQ(before + 1, live_tables());
	ASSERT_EQ(0, bpf_prog_test_run_opts(bpf_program__fd(skel->progs.keep_bump), &o));
	EXPECT_EQ(0, o.retval);
	ASSERT_EQ(0, hmap_table__open_id(id, NULL, &t));
	ASSERT_EQ(0, hmap_table__lookup(t, &key, &v));
	EXPECT_EQ(1, v);
	hmap_table__close(t);
	hmap_test__destroy(skel);
	ASSERT_EQ(0, wait_live_tables(before));
}

struct hold_run {
	struct hmap_test *skel;
	int err, retval;
};

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *hold_thread(void *arg)
{
	struct hold_run *h = arg;
	LIBBPF_OPTS(bpf_test_run_opts, o);

	pin_to_cpu(0);

	h->err = bpf_prog_test_run_opts(bpf_program__fd(h->skel->progs.hold_value), &o) ? -errno : 0;
	h->retval = o.retval;
	return NULL;
}

/*
 * A sleepable program holds a value pointer, still running, while the last
 * reference to its table goes.  The table must outlive the program (an RCU
 * tasks trace grace period, then an RCU one): freed after a plain RCU grace
 * period only, it goes while the program runs, and the program's write
 * then lands in freed memory.  The program spins on CPU 0 (the kernel
 * may not preempt it there, so work queued on that CPU would wait for it);
 * the table goes from CPU 1.
 */
TEST_F(skel, removed_table_outlives_a_sleepable_program_using_it)
{
	struct hold_run h = { .skel = self->skel };
	__u64 before = settled_tables(), v = 5;
	volatile __u32 *state = &self->skel->bss->hold_state;
	struct hmap_table *t;
	struct hmap_desc d;
	__u32 key = 7, zero = 0;
	char path[128];
	pthread_t th;
	int i, dfd;

	pin_to_cpu(1);
	ASSERT_EQ(0, make_table("hold", 4, 8, 100, path, sizeof(path)));
	ASSERT_EQ(0, read_desc(path, &d));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	ASSERT_EQ(0, hmap_table__update(t, &key, &v, BPF_ANY));
	hmap_table__close(t);
	self->skel->bss->hold_handle = d.handle;
	self->skel->bss->hold_key = key;
	ASSERT_EQ(0, pthread_create(&th, NULL, hold_thread, &h));
	for (i = 0; i < 1000 && *state != 1; i++)
		usleep(10000);
	ASSERT_EQ(1, *state);

	/*
	 * The last reference goes while the program runs with the pointer.
	 * Not by unlinking the descriptor: a map that a sleepable program
	 * used (libhmap's hmap_create) is itself freed after an RCU tasks
	 * trace grace period on 6.12.  Writing the descriptor's element from
	 * user space releases its kptr at once, as any update of a map value
	 * does with its old kptrs.
	 */
	dfd = bpf_obj_get(path);
	ASSERT_LE(0, dfd);
	ASSERT_EQ(0, bpf_map_update_elem(dfd, &zero, &d, BPF_ANY));
	close(dfd);
	for (i = 0; i < 200 && live_tables() == before + 1; i++)
		usleep(10000);
	EXPECT_EQ(before + 1, live_tables()) TH_LOG("the table was freed under a running program");
	EXPECT_EQ(1, *state);

	self->skel->bss->hold_release = 1;
	ASSERT_EQ(0, pthread_join(th, NULL));
	EXPECT_EQ(0, h.err);
	EXPECT_EQ(0, h.retval);
	EXPECT_EQ(2, *state);
	EXPECT_EQ(5, self->skel->bss->hold_seen);
	/* Then it goes: nothing can reach it any more. */
	unlink(path);
	ASSERT_EQ(0, wait_live_tables(before));
	EXPECT_EQ(0, op(self->skel, d.handle, HT_LOOKUP, &key, 4, &v, 8, 0));
	/* (each test runs in its own process: the pinning ends with it) */
}

TEST(capacity_16m_entries)
{
	struct hmap_ioc_modstats a, b;
	struct hmap_table *t;
	struct hmap_info info;
	char path[128];
	__u32 k, v;

	ASSERT_EQ(0, wait_live_tables(0));
	ASSERT_EQ(0, libhmap_modstats(&a));
	ASSERT_EQ(0, make_table("big", 4, 4, 1 << 24, path, sizeof(path)));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	ASSERT_EQ(0, hmap_table__info(t, &info));
	EXPECT_EQ(1U << 24, info.stats.capacity);
	EXPECT_EQ(((2ULL << 24) + 12) / 13, info.stats.nbuckets);	/* 16M / 6.5, not rounded up to 2^22 */
	TH_LOG("16M-entry table: %llu MiB", (unsigned long long)info.bytes >> 20);
	for (k = 0; k < 100000; k += 7) {
		v = ~k;
		ASSERT_EQ(0, hmap_table__update(t, &k, &v, BPF_NOEXIST));
	}
	for (k = 0; k < 100000; k++) {
		int ret = hmap_table__lookup(t, &k, &v);

		ASSERT_EQ(k % 7 ? -ENOENT : 0, ret);
		if (!ret)
			ASSERT_EQ(~k, v);
	}
	hmap_table__close(t);
	unlink(path);
	ASSERT_EQ(0, wait_live_tables(0));
	ASSERT_EQ(0, libhmap_modstats(&b));
	EXPECT_EQ(a.live_bytes, b.live_bytes);
}

static long long cg_read(const char *file)
{
	char path[256], buf[64] = {};
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/hmap-test/%s", file);
	f = fopen(path, "r");
	if (f && fgets(buf, sizeof(buf), f))
		v = atoll(buf);
	if (f)
		fclose(f);
	return v;
}

TEST(memory_charged_to_creator_memcg)
{
	int status;
	pid_t pid;

	mount("cgroup2", "/sys/fs/cgroup", "cgroup2", 0, NULL);
	if (hmap_cgroup_write("cgroup.subtree_control", "+memory") ||
	    (mkdir("/sys/fs/cgroup/hmap-test", 0755) && errno != EEXIST) ||
	    hmap_cgroup_write("hmap-test/memory.max", "67108864"))
		SKIP(return, "no cgroup v2 memory controller");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		char path[128], me[32];
		long long before, after;
		int bits = 0;

		snprintf(me, sizeof(me), "%d", getpid());
		if (hmap_cgroup_write("hmap-test/cgroup.procs", me))
			_exit(100);
		/* ~157 MiB of buckets against a 64 MiB limit: refused, no OOM kill. */
		if (make_table("memcg-big", 16, 64, 1 << 20, path, sizeof(path)) == -ENOMEM)
			bits |= 1;
		unlink(path);
		before = cg_read("memory.current");
		if (make_table("memcg-small", 16, 64, 60000, path, sizeof(path)) == 0)
			bits |= 2;
		after = cg_read("memory.current");
		/* 60000 entries: 9231 buckets + 5257 overflow of 656 bytes, 9.1 MiB,
		 * charged. */
		if (after - before > 8 << 20)
			bits |= 4;
		unlink(path);
		_exit(bits);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_EQ(7, WEXITSTATUS(status));
	ASSERT_EQ(0, wait_live_tables(0));
	rmdir("/sys/fs/cgroup/hmap-test");
}

TEST(rmmod_refused_while_a_table_exists)
{
	char path[128];

	ASSERT_EQ(0, make_table("rmmod", 8, 8, 10, path, sizeof(path)));
	EXPECT_EQ(-1, syscall(SYS_delete_module, "hmap", O_NONBLOCK));
	EXPECT_TRUE(errno == EWOULDBLOCK || errno == EBUSY);
	EXPECT_EQ(0, access("/dev/hmap", F_OK));
	unlink(path);
	/* The run script unloads the module after the suites, proving the rest. */
}

/* ---- verifier ---------------------------------------------------------------------- */

TEST(verifier_rejects_misuse)
{
	static const struct {
		const char *prog;
		const char *msg;
	} c[] = {
		{ "key_buffer_too_small", "memory, len pair leads to invalid memory access" },
		{ "read_past_value", "invalid access to memory, mem_size=8 off=8 size=8" },
		{ "unchecked_null", "invalid mem access 'mem_or_null'" },
		{ "size_not_constant", "is not a const" },
		{ "create_from_xdp", "calling kernel function bpf_hmap_create is not allowed" },
		{ "leak_reference", "Unreleased reference" },
	};
	static char log[1 << 16];

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		LIBBPF_OPTS(bpf_object_open_opts, oo, .kernel_log_buf = log,
			    .kernel_log_size = sizeof(log), .kernel_log_level = 1);
		struct hmap_bad *skel;
		struct bpf_program *p;

		log[0] = 0;
		skel = hmap_bad__open_opts(&oo);
		ASSERT_NE(NULL, skel);
		bpf_object__for_each_program(p, skel->obj)
			bpf_program__set_autoload(p, !strcmp(bpf_program__name(p), c[i].prog));
		EXPECT_NE(0, hmap_bad__load(skel)) {
			TH_LOG("%s was accepted", c[i].prog);
		}
		EXPECT_NE(NULL, strstr(log, c[i].msg)) {
			TH_LOG("%s: no '%s' in the verifier log:\n%s", c[i].prog, c[i].msg, log);
		}
		hmap_bad__destroy(skel);
	}
}

/* ---- concurrency ------------------------------------------------------------------ */

#define NTHREADS	3
#define NKEYS		3000
#define NROUNDS		21	/* rounds 5, 10, 15, 20 delete odd keys; 21 writes all */

struct writer_ctx {
	int fd;
	__u64 handle;
	__u32 thread;
	__s64 errors;
	__s64 ebusy;
	int ret;
};

static void *writer_thread(void *arg)
{
	struct writer_ctx *w = arg;

	for (__u32 r = 1; r <= NROUNDS; r++) {
		struct hmap_test_writer a = {
			.handle = w->handle, .thread = w->thread, .nkeys = NKEYS,
			.round = r, .delete_odd = r % 5 == 0,
		};
		LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &a, .ctx_size_in = sizeof(a));

		if (bpf_prog_test_run_opts(w->fd, &o)) {
			w->ret = -errno;
			return NULL;
		}
		w->errors += a.errors;
		w->ebusy += a.ebusy;
	}
	return NULL;
}

struct torn_ctx {
	__u64 entries;
	__u64 torn;
};

static int torn_cb(const void *k, const void *v, void *ctx)
{
	const struct hmap_test_val *val = v;
	struct torn_ctx *c = ctx;
	__u64 key;

	memcpy(&key, k, 8);
	c->entries++;
	for (int i = 1; i < 8; i++)
		if (val->w[i] != val->w[0])
			c->torn++;
	if ((val->w[0] ^ key) > NROUNDS || (val->w[0] ^ key) == 0)
		c->torn++;	/* a value that belongs to another key */
	return 0;
}

TEST_F_TIMEOUT(skel, concurrent_bpf_writers_and_mmap_reader, 120)
{
	struct writer_ctx w[NTHREADS];
	pthread_t th[NTHREADS];
	struct torn_ctx tc = {};
	struct hmap_table *t;
	struct hmap_desc d;
	bool joined[NTHREADS] = {};
	__u64 retries = 0, passes = 0;
	char path[128];
	int running;

	ASSERT_EQ(0, make_table("conc", 8, sizeof(struct hmap_test_val), NTHREADS * NKEYS,
				path, sizeof(path)));
	ASSERT_EQ(0, read_desc(path, &d));
	ASSERT_EQ(0, hmap_table__open_pinned(path, NULL, &t));
	for (int i = 0; i < NTHREADS; i++) {
		w[i] = (struct writer_ctx){ .fd = bpf_program__fd(self->skel->progs.writer),
					    .handle = d.handle, .thread = i + 1 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, writer_thread, &w[i]));
	}
	/* Walk the mapping while they write; join each writer exactly once. */
	do {
		ASSERT_EQ(0, hmap_table__iterate(t, HMAP_ITER_CONSISTENT, torn_cb, &tc, &retries));
		passes++;
		running = 0;
		for (int i = 0; i < NTHREADS; i++) {
			if (!joined[i])
				joined[i] = pthread_tryjoin_np(th[i], NULL) == 0;
			running += !joined[i];
		}
	} while (running);
	TH_LOG("reader: %llu passes, %llu entries seen, %llu chain re-reads",
	       (unsigned long long)passes, (unsigned long long)tc.entries,
	       (unsigned long long)retries);
	EXPECT_EQ(0, tc.torn);
	for (int i = 0; i < NTHREADS; i++) {
		EXPECT_EQ(0, w[i].ret);
		EXPECT_EQ(0, w[i].errors);
		EXPECT_EQ(0, w[i].ebusy);
	}
	/* No lost update: every key holds its owner's last write. */
	for (__u64 id = 1; id <= NTHREADS; id++)
		for (__u64 i = 0; i < NKEYS; i++) {
			__u64 key = id << 32 | i;
			struct hmap_test_val v;

			ASSERT_EQ(0, hmap_table__lookup(t, &key, &v));
			ASSERT_EQ(key ^ NROUNDS, v.w[0]);
			ASSERT_EQ(key ^ NROUNDS, v.w[7]);
		}
	EXPECT_EQ(NTHREADS * NKEYS, hmap_table__header(t)->entries);
	hmap_table__close(t);
	unlink(path);
}

/* ---- a program inside a locked section ---------------------------------------- */

struct nest_thread {
	struct hmap_nest *skel;
	__u64 handle;
	__u32 *tid;
	int runs, err;
};

static void *nest_thread_fn(void *arg)
{
	struct nest_thread *n = arg;
	__u64 h = n->handle;
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &h, .ctx_size_in = sizeof(h));

	*n->tid = syscall(SYS_gettid);
	__sync_synchronize();
	for (int i = 0; i < n->runs && !n->err; i++)
		if (bpf_prog_test_run_opts(bpf_program__fd(n->skel->progs.nest_writer), &o))
			n->err = errno;
	return NULL;
}

/*
 * Two threads update two small tables (few stripes) while a tracing program
 * on __hmap_tab_update_locked, which runs with the stripe lock held, updates
 * the other thread's table: the two CPUs each hold one table's lock and want
 * the other's.  Waiting for it would hang both with IRQs off (before the fix
 * this test hung the VM); the nested update must try only, and get -EBUSY
 * when the lock is held.
 */
FIXTURE(nest) {};
FIXTURE_SETUP(nest) {}
FIXTURE_TEARDOWN(nest) {}

TEST_F_TIMEOUT(nest, tracing_inside_a_locked_section_never_deadlocks, 300)
{
	struct nest_thread a = { .runs = 3000 }, b = { .runs = 3000 };
	char p1[128], p2[128];
	struct hmap_desc d1, d2;
	struct bpf_link *link;
	pthread_t ta, tb;
	__u64 v = 0;

	ASSERT_EQ(0, make_table("nest1", 4, 8, 8, p1, sizeof(p1)));
	ASSERT_EQ(0, make_table("nest2", 4, 8, 8, p2, sizeof(p2)));
	ASSERT_EQ(0, read_desc(p1, &d1));
	ASSERT_EQ(0, read_desc(p2, &d2));
	a.skel = b.skel = hmap_nest__open_and_load();
	ASSERT_NE(NULL, a.skel);
	a.skel->bss->h1 = d1.handle;
	a.skel->bss->h2 = d2.handle;
	a.handle = d1.handle;
	b.handle = d2.handle;
	a.tid = &a.skel->bss->tid_a;
	b.tid = &a.skel->bss->tid_b;
	/* Fill keys 0..7 first, with the program not attached yet. */
	{
		struct hmap_table *t1, *t2;

		ASSERT_EQ(0, hmap_table__open_pinned(p1, NULL, &t1));
		ASSERT_EQ(0, hmap_table__open_pinned(p2, NULL, &t2));
		for (__u32 k = 0; k < 8; k++) {
			ASSERT_EQ(0, hmap_table__update(t1, &k, &v, BPF_ANY));
			ASSERT_EQ(0, hmap_table__update(t2, &k, &v, BPF_ANY));
		}
		hmap_table__close(t1);
		hmap_table__close(t2);
	}
	link = bpf_program__attach(a.skel->progs.nest_cross);
	ASSERT_NE(NULL, link);
	ASSERT_EQ(0, pthread_create(&ta, NULL, nest_thread_fn, &a));
	ASSERT_EQ(0, pthread_create(&tb, NULL, nest_thread_fn, &b));
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	bpf_link__destroy(link);
	EXPECT_EQ(0, a.err);
	EXPECT_EQ(0, b.err);
	TH_LOG("writes: %llu ok, %llu busy; nested: %llu ok, %llu busy",
	       (unsigned long long)a.skel->bss->writes_ok, (unsigned long long)a.skel->bss->writes_busy,
	       (unsigned long long)a.skel->bss->nested_ok, (unsigned long long)a.skel->bss->nested_busy);
	/* Every write either happened or said -EBUSY; nothing else. */
	EXPECT_EQ(0, a.skel->bss->nested_other);
	EXPECT_EQ(2 * 3000 * 64, a.skel->bss->writes_ok + a.skel->bss->writes_busy);
	/* The program ran inside the locked section and did write. */
	EXPECT_LT(0, a.skel->bss->nested_ok);
	hmap_nest__destroy(a.skel);
	unlink(p1);
	unlink(p2);
	ASSERT_EQ(0, wait_live_tables(0));
}

TEST(no_tables_left)
{
	/* Every test removed what it made: the module holds nothing. */
	ASSERT_EQ(0, wait_live_tables(0));
	rmdir(PIN_ROOT);
}

HMAP_TEST_MAIN
