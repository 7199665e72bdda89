// SPDX-License-Identifier: GPL-2.0
/*
 * bench_dump_native: bench_dump on the host CPU.  In the VM (bench_dump) both
 * sides run under QEMU's TCG; here neither does:
 *
 *  - zero-copy: a fixed table built by the engine (hmap_engine.c as
 *    user-space C, the exact layout hmap.ko makes) with the header page
 *    hmap.ko fills, read whole by libhmap's reader in batches
 *    (hmap_reader_iterate_batch(), the code behind
 *    hmap_table__iterate_batch()) and a callback an entry
 *    (hmap_reader_iterate(): hmap_table__iterate() and hmapctl dump), the
 *    two alternating, doing what bench_dump does with each entry
 *    (dump_sum.h).  Only the mapping is stood in for: the reader gets the
 *    engine's memory where it would mmap() the table fd;
 *  - BPF_MAP_LOOKUP_BATCH on a preallocated BPF_MAP_TYPE_HASH with the same
 *    keys and values, in this machine's own kernel, 4096 entries a call, as
 *    bench_dump does.
 *
 *   bench_dump_native [-p PASSES] [N]   entries, a power of two (default
 *                                       1048576); best of PASSES (default 5)
 *
 * Both readers must see every entry (count and key sum checked), or the run
 * fails with exit status 1.  A kernel that refuses BPF maps (no CAP_BPF,
 * unprivileged BPF off) prints why and "not measured" for the speed-up, and
 * exits 0: the zero-copy row is still printed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "utab.h"
#include "libhmap_reader.h"
#include "dump_sum.h"

#define CHUNK	4096	/* entries a LOOKUP_BATCH call, as bench_dump */

struct bkey {
	__u64 a, b;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Keys as hmap_bench.bpf.c makes them: index i is {i * golden, i}. */
static struct bkey key_of(__u32 i)
{
	return (struct bkey){ .a = i * 0x9E3779B97F4A7C15ULL, .b = i };
}

/* The mmap space of a fixed table: page 0 the header, then the array. */
struct ntab {
	struct utab u;
	struct hmap_shm_header *shm;
};

static int ntab_map(void *ctx, __u64 off, size_t len, const void **addr)
{
	struct ntab *t = ctx;

	if (off != t->shm->arrays[0].mmap_offset || len != t->u.l.array_bytes)
		return -EINVAL;
	*addr = t->u.mem;
	return 0;
}

static void ntab_unmap(void *ctx, const void *addr, size_t len)
{
}

static const struct hmap_reader_ops ntab_ops = { .map = ntab_map, .unmap = ntab_unmap };

/* The header as hmap_create() fills it (reader_test's ttab_fixed()). */
static int ntab_create(struct ntab *t, __u32 n)
{
	const struct hmap_layout *l = &t->u.l;
	struct hmap_shm_header *shm;
	int ret;

	ret = utab_create(&t->u, sizeof(struct bkey), sizeof(__u64), n, 1);
	if (ret)
		return ret;
	if (posix_memalign((void **)&shm, PAGE_SIZE, PAGE_SIZE))
		return -ENOMEM;
	memset(shm, 0, PAGE_SIZE);
	utab_fill_shm(shm, l, &t->u.t.seed);
	t->shm = shm;
	return 0;
}

/* The host kernel's htab, filled with the same entries; -errno if refused. */
static int htab_fill(__u32 n, int *fdp)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	struct bkey *keys = malloc(sizeof(*keys) * CHUNK);
	__u64 *vals = malloc(sizeof(*vals) * CHUNK);
	int fd, ret = 0;

	if (!keys || !vals) {
		ret = -ENOMEM;
		goto out;
	}
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "dump_native", sizeof(struct bkey),
			    sizeof(__u64), n, NULL);
	if (fd < 0) {
		ret = -errno;
		goto out;
	}
	for (__u32 i = 0; i < n && !ret; i += CHUNK) {
		__u32 count = n - i < CHUNK ? n - i : CHUNK;

		for (__u32 j = 0; j < count; j++) {
			keys[j] = key_of(i + j);
			vals[j] = i + j;
		}
		if (bpf_map_update_batch(fd, keys, vals, &count, &bo)) {
			ret = -errno;
			fprintf(stderr, "bench_dump_native: BPF_MAP_UPDATE_BATCH at entry %u: %s\n",
				i, strerror(errno));
		}
	}
	if (ret)
		close(fd);
	else
		*fdp = fd;
out:
	free(keys);
	free(vals);
	return ret;
}

/* One whole LOOKUP_BATCH read, summing as dump_sum.h does. */
static int htab_read(int fd, struct bkey *keys, __u64 *vals, struct dump_sum *s)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	__u64 in = 0, out;
	bool first = true;
	__u32 count;
	int ret;

	*s = (struct dump_sum){};
	do {
		count = CHUNK;
		ret = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, keys, vals, &count, &bo);
		if (ret && errno != ENOENT)
			return -errno;
		for (__u32 i = 0; i < count; i++)
			s->keysum += keys[i].b;
		s->n += count;
		in = out;
		first = false;
	} while (!ret);
	return 0;
}

int main(int argc, char **argv)
{
	int first = 1, passes = 5, fd = -1, ret;
	__u32 n;
	__u64 want;
	struct hmap_reader r;
	struct ntab t;
	struct dump_sum zs = {}, zb = {}, bs = {};
	double t0, t_zc = 1e30, t_zb = 1e30, t_batch = 1e30;

	if (argc > 2 && !strcmp(argv[1], "-p")) {
		passes = atoi(argv[2]);
		first = 3;
	}
	n = argc > first ? strtoul(argv[first], NULL, 0) : 1048576;
	if (!n || (n & (n - 1)) || passes < 1) {
		fprintf(stderr, "usage: bench_dump_native [-p PASSES] [N]: N a power of two, "
			"PASSES at least 1\n");
		return 2;
	}
	want = (__u64)n * (n - 1) / 2;

	ret = ntab_create(&t, n);
	if (ret) {
		fprintf(stderr, "bench_dump_native: cannot make a table of %u entries: %s\n", n,
			strerror(-ret));
		return 1;
	}
	for (__u32 i = 0; i < n; i++) {
		struct bkey k = key_of(i);
		__u64 v = i;

		ret = hmap_tab_update(&t.u.t, &k, hmap_tab_hash(&t.u.t, &k), &v, HMAP_NOEXIST, NULL);
		if (ret) {
			fprintf(stderr, "bench_dump_native: insert %u of %u failed: %s\n", i, n,
				strerror(-ret));
			return 1;
		}
	}
	ret = hmap_reader_init(&r, t.shm, &ntab_ops, &t);
	if (ret) {
		fprintf(stderr, "bench_dump_native: reader: %s\n", strerror(-ret));
		return 1;
	}
	/* The two zero-copy readers alternate, pass by pass. */
	for (int pass = 0; pass < passes; pass++) {
		zs = (struct dump_sum){};
		t0 = now();
		ret = hmap_reader_iterate(&r, 0, dump_sum_cb, &zs, NULL);
		t0 = now() - t0;
		if (ret)
			goto dump_failed;
		if (t0 < t_zc)
			t_zc = t0;
		zb = (struct dump_sum){};
		t0 = now();
		ret = hmap_reader_iterate_batch(&r, 0, dump_sum_batch_cb, &zb, NULL);
		t0 = now() - t0;
		if (ret)
			goto dump_failed;
		if (t0 < t_zb)
			t_zb = t0;
	}
	hmap_reader_release(&r);
	printf("# %u entries, 16-byte keys, 8-byte values, best of %d, host CPU and kernel\n",
	       n, passes);
	printf("zero-copy dump, batches (libhmap) %8.1f ms  %7.1f ns/entry  entries %llu\n",
	       t_zb * 1e3, t_zb * 1e9 / n, (unsigned long long)zb.n);
	printf("zero-copy dump, per entry (libhmap) %6.1f ms  %7.1f ns/entry  entries %llu\n",
	       t_zc * 1e3, t_zc * 1e9 / n, (unsigned long long)zs.n);
	if (zs.n != n || zs.keysum != want || zb.n != n || zb.keysum != want) {
		fprintf(stderr, "bench_dump_native: a zero-copy dump saw %llu and %llu entries of %u "
			"(key sums %llu and %llu, want %llu)\n", (unsigned long long)zb.n,
			(unsigned long long)zs.n, n, (unsigned long long)zb.keysum,
			(unsigned long long)zs.keysum, (unsigned long long)want);
		return 1;
	}

	ret = htab_fill(n, &fd);
	if (ret == -EPERM || ret == -EACCES || ret == -ENOSYS) {
		printf("BPF_MAP_LOOKUP_BATCH (htab)       skipped: this machine's kernel refuses "
		       "BPF maps (%s); run as root, or with CAP_BPF, for the comparison\n",
		       strerror(-ret));
		printf("speed-up: not measured (this kernel refuses BPF maps)\n");
		return 0;
	}
	if (ret) {
		fprintf(stderr, "bench_dump_native: cannot fill a BPF_MAP_TYPE_HASH of %u entries: "
			"%s\n", n, strerror(-ret));
		return 1;
	}
	{
		struct bkey *keys = malloc(sizeof(*keys) * CHUNK);
		__u64 *vals = malloc(sizeof(*vals) * CHUNK);

		if (!keys || !vals) {
			fprintf(stderr, "bench_dump_native: BPF_MAP_LOOKUP_BATCH's buffers: %s\n",
				strerror(ENOMEM));
			return 1;
		}
		for (int pass = 0; pass < passes; pass++) {
			t0 = now();
			ret = htab_read(fd, keys, vals, &bs);
			t0 = now() - t0;
			if (ret) {
				fprintf(stderr, "bench_dump_native: BPF_MAP_LOOKUP_BATCH: %s\n",
					strerror(-ret));
				return 1;
			}
			if (t0 < t_batch)
				t_batch = t0;
		}
		free(keys);
		free(vals);
	}
	close(fd);
	printf("BPF_MAP_LOOKUP_BATCH (htab)       %8.1f ms  %7.1f ns/entry  entries %llu\n",
	       t_batch * 1e3, t_batch * 1e9 / n, (unsigned long long)bs.n);
	printf("speed-up: %.1fx in batches, %.1fx per entry\n", t_batch / t_zb, t_batch / t_zc);
	if (bs.n != n || bs.keysum != want) {
		fprintf(stderr, "bench_dump_native: BPF_MAP_LOOKUP_BATCH saw %llu entries of %u\n",
			(unsigned long long)bs.n, n);
		return 1;
	}
	utab_destroy(&t.u);
	free(t.shm);
	return 0;

dump_failed:
	fprintf(stderr, "bench_dump_native: zero-copy dump failed: %s\n", strerror(-ret));
	return 1;
}
