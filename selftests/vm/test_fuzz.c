// SPDX-License-Identifier: GPL-2.0
/*
 * An ioctl and mmap fuzzer for /dev/hmap and table fds, in the VM.
 *
 * Random commands (known and unknown numbers, any size and direction bits),
 * random argument pointers (NULL, unmapped, kernel addresses, misaligned,
 * buffers of random bytes) and random mmap offsets, lengths and protections,
 * against fixed and incremental tables through read-write and read-only fds.
 * Every call must either succeed or fail with an errno from the documented
 * set; the kernel must stay clean (vm.sh fails the run on any warning, BUG,
 * KASAN or lockdep report).  Bounded in count; the seed is printed and
 * HMAP_FUZZ_SEED=N replays a run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <bpf/bpf.h>

#include "kselftest_harness.h"
#include "libhmap.h"
#include "hmap_test_util.h"

#define ROOT		"/sys/fs/bpf/hmap-fuzz"
#define CALLS		60000
#define MMAPS		3000

__attribute__((constructor)) static void require_prerequisites(void)
{
	hmap_require("/sys/module/hmap_rehash");
}

static __u64 rng_state;

static __u64 rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static bool errno_ok(int e)
{
	switch (e) {
	case ENOTTY: case EFAULT: case EINVAL: case ENOENT: case EPERM: case EEXIST:
	case ENOSPC: case E2BIG: case EBUSY: case ENOMEM: case EACCES: case EBADF:
		return true;
	default:
		return false;
	}
}

/* A pointer argument: NULL, junk, kernel, unmapped, misaligned, or a buffer
 * of random bytes whose embedded pointers are random too. */
static void *rnd_ptr(__u8 *buf, size_t len, void *unmapped)
{
	switch (rnd() % 8) {
	case 0: return NULL;
	case 1: return (void *)(unsigned long)rnd();
	case 2: return (void *)0xffff888000000000UL;
	case 3: return unmapped;
	case 4: return buf + 1 + rnd() % 7;
	default:
		for (size_t i = 0; i < len; i++)
			buf[i] = rnd();
		return buf;
	}
}

/* A struct hmap_ioc_elem with sizes and pointers anywhere near valid. */
static void rnd_elem(struct hmap_ioc_elem *e, __u8 *kb, __u8 *vb, void *unmapped)
{
	__u32 sizes[] = { 0, 1, 4, 8, 9, 16, 4095, 4096, 4097, 0xffffffff };

	memset(e, 0, sizeof(*e));
	e->key = (unsigned long)rnd_ptr(kb, 4096, unmapped);
	e->value = (unsigned long)rnd_ptr(vb, 8192, unmapped);
	e->key_size = rnd() & 1 ? 8 : sizes[rnd() % 10];
	e->value_size = rnd() & 1 ? 8 : sizes[rnd() % 10];
	e->flags = rnd() % 3 ? rnd() % 4 : rnd();
}

static unsigned long rnd_cmd(void)
{
	static const unsigned long known[] = {
		HMAP_IOC_TABLE_FD, HMAP_IOC_NEXT_ID, HMAP_IOC_MODSTATS, HMAP_IOC_INFO,
		HMAP_IOC_LOOKUP, HMAP_IOC_UPDATE, HMAP_IOC_DELETE,
	};

	if (rnd() % 4)
		return known[rnd() % 7];
	/* our magic with any number, size and direction; or anything */
	return rnd() % 2 ? _IOC(rnd() % 4, HMAP_IOC_MAGIC, rnd() % 32, rnd() % 512) : (__u32)rnd();
}

struct fuzz {
	int dev;
	int fds[4];		/* fixed rw, fixed ro, incremental rw, incremental ro */
	__u32 ids[2];
	char paths[2][128];
	struct hmap_table *t[2];
};

static int open_id(int dev, __u32 id, __u32 flags)
{
	struct hmap_ioc_fd req = { .id = id, .flags = flags };

	return ioctl(dev, HMAP_IOC_TABLE_FD, &req);
}

FIXTURE(fz) {
	struct fuzz f;
};

FIXTURE_SETUP(fz)
{
	struct hmap_table_create_opts co[2] = {
		{ .key_size = 8, .value_size = 8, .capacity = 1000 },
		{ .key_size = 8, .value_size = 8, .capacity = 8, .variant = HMAP_VARIANT_INCREMENTAL },
	};
	const char *seed = getenv("HMAP_FUZZ_SEED");

	rng_state = seed ? strtoull(seed, NULL, 0) : (__u64)time(NULL) * 2654435761ULL + getpid();
	if (!rng_state)
		rng_state = 1;
	TH_LOG("seed %llu (HMAP_FUZZ_SEED=%llu replays)", (unsigned long long)rng_state,
	       (unsigned long long)rng_state);
	mkdir(ROOT, 0700);
	self->f.dev = open(HMAP_DEV_PATH, O_RDWR);
	ASSERT_LE(0, self->f.dev);
	for (int i = 0; i < 2; i++) {
		snprintf(self->f.paths[i], sizeof(self->f.paths[i]), ROOT "/t%d", i);
		unlink(self->f.paths[i]);
		ASSERT_EQ(0, test_create_pinned(self->f.paths[i], &co[i], &self->f.ids[i]));
		ASSERT_EQ(0, hmap_table__open_pinned(self->f.paths[i], NULL, &self->f.t[i]));
		self->f.fds[2 * i] = open_id(self->f.dev, self->f.ids[i], 0);
		self->f.fds[2 * i + 1] = open_id(self->f.dev, self->f.ids[i], HMAP_FD_RDONLY);
		ASSERT_LE(0, self->f.fds[2 * i]);
		ASSERT_LE(0, self->f.fds[2 * i + 1]);
	}
}

FIXTURE_TEARDOWN(fz)
{
	for (int i = 0; i < 4; i++)
		close(self->f.fds[i]);
	for (int i = 0; i < 2; i++) {
		hmap_table__close(self->f.t[i]);
		unlink(self->f.paths[i]);
	}
	close(self->f.dev);
	rmdir(ROOT);
}

TEST_F_TIMEOUT(fz, ioctls_get_a_clear_errno, 600)
{
	__u8 *kb = malloc(4096 + 8), *vb = malloc(8192 + 8), buf[4096 + 8];
	void *unmapped = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	__u64 ok = 0, refused = 0, bad = 0, writes_on_ro = 0;

	ASSERT_NE(MAP_FAILED, unmapped);
	munmap(unmapped, 4096);	/* now really unmapped */
	for (int n = 0; n < CALLS; n++) {
		int which = rnd() % 5;	/* 0: /dev/hmap, 1..4: table fds */
		int fd = which ? self->f.fds[which - 1] : self->f.dev;
		unsigned long cmd = rnd_cmd();
		struct hmap_ioc_elem e;
		void *arg;
		long ret;

		if ((cmd == HMAP_IOC_LOOKUP || cmd == HMAP_IOC_UPDATE || cmd == HMAP_IOC_DELETE) &&
		    rnd() % 4) {
			rnd_elem(&e, kb, vb, unmapped);
			arg = rnd() % 8 ? (void *)&e : rnd_ptr(buf, sizeof(buf), unmapped);
		} else if (cmd == HMAP_IOC_TABLE_FD && rnd() % 2) {
			struct hmap_ioc_fd *r = (void *)buf;

			r->id = rnd() % 3 ? self->f.ids[rnd() % 2] : rnd();
			r->flags = rnd() % 3 ? rnd() % 2 : rnd();
			arg = r;
		} else {
			arg = rnd_ptr(buf, sizeof(buf), unmapped);
		}
		ret = ioctl(fd, cmd, arg);
		if (ret >= 0) {
			ok++;
			if (cmd == HMAP_IOC_TABLE_FD)
				close(ret);
			/* a read-only fd never writes */
			if ((which == 2 || which == 4) &&
			    (cmd == HMAP_IOC_UPDATE || cmd == HMAP_IOC_DELETE))
				writes_on_ro++;
		} else if (errno_ok(errno)) {
			refused++;
		} else {
			if (bad++ < 10)
				TH_LOG("call %d: cmd %#lx on fd %d: unexpected errno %d (%s)", n, cmd,
				       which, errno, strerror(errno));
		}
	}
	TH_LOG("%d calls: %llu succeeded, %llu refused with a documented errno", CALLS,
	       (unsigned long long)ok, (unsigned long long)refused);
	EXPECT_EQ(0, bad);
	EXPECT_EQ(0, writes_on_ro);
	EXPECT_GT(ok, 0);
	EXPECT_GT(refused, 0);
	/* The tables still work. */
	for (int i = 0; i < 2; i++) {
		__u64 k = 0x5eed, v = 77, out = 0;

		EXPECT_EQ(0, hmap_table__update(self->f.t[i], &k, &v, BPF_ANY));
		EXPECT_EQ(0, hmap_table__lookup(self->f.t[i], &k, &out));
		EXPECT_EQ(77, out);
	}
	free(kb);
	free(vb);
}

TEST_F_TIMEOUT(fz, mmaps_are_read_only_and_bounded, 300)
{
	__u64 mapped = 0, refused = 0, bad = 0;
	int prots[] = { PROT_READ, PROT_READ | PROT_WRITE, PROT_WRITE, PROT_READ | PROT_EXEC };

	for (int n = 0; n < MMAPS; n++) {
		int fd = self->f.fds[rnd() % 4];
		size_t len = (rnd() % 4 ? 1 + rnd() % 4 : 1 + rnd() % 4096) * 4096;
		__u64 off = rnd() % 3 ? (rnd() % 64) * 4096 :
			    rnd() % 2 ? (1ULL << 40) + (rnd() % 8) * 4096 : (rnd() & ~4095ULL);
		int prot = prots[rnd() % 4], flags = rnd() % 4 ? MAP_SHARED : MAP_PRIVATE;
		volatile __u8 *p = mmap(NULL, len, prot, flags, fd, off);

		if (p == MAP_FAILED) {
			if (errno_ok(errno) || errno == EOVERFLOW)
				refused++;
			else if (bad++ < 10)
				TH_LOG("mmap len %zu off %#llx prot %d: errno %d", len,
				       (unsigned long long)off, prot, errno);
			continue;
		}
		mapped++;
		if (prot & PROT_WRITE && flags == MAP_SHARED)
			bad++;	/* a writable shared mapping must never exist */
		for (size_t i = 0; i < len; i += 4096)
			(void)p[i];	/* every page of it is there */
		munmap((void *)p, len);
	}
	TH_LOG("%d mmaps: %llu mapped read-only, %llu refused", MMAPS,
	       (unsigned long long)mapped, (unsigned long long)refused);
	EXPECT_EQ(0, bad);
	EXPECT_GT(mapped, 0);
	EXPECT_GT(refused, 0);
}

HMAP_TEST_MAIN
