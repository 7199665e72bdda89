// SPDX-License-Identifier: GPL-2.0
/*
 * bench_dump: read every entry of a table zero-copy (libhmap, through the
 * read-only mapping: hmap_table__iterate_batch() and hmap_table__iterate(),
 * alternating) against BPF_MAP_LOOKUP_BATCH on a BPF_MAP_TYPE_HASH with the
 * same contents, in the same run.  Prints the three and the ratios; checks
 * that each saw every entry (count and key sum, dump_sum.h).  Needs hmap.ko
 * loaded.
 *
 *   bench_dump [-p PASSES] [N]   entries, a power of two (default 1048576);
 *                                best of PASSES reads (default 3)
 *
 * A failed insert while filling ends the run with exit status 1 and its
 * errno; the pin is removed on every exit (atexit).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libhmap.h"
#include "bench_util.h"
#include "dump_sum.h"
#include "hmap_bench.skel.h"

#define BATCH	64
#define ROOT	BENCH_ROOT

enum { B_LOOKUP, B_UPDATE, B_INSERT, B_DELETE };

static struct hmap_table *t;	/* global: closed at exit before the pin goes */

static void close_table(void)
{
	hmap_table__close(t);
	t = NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int fill(struct hmap_bench *s, struct bpf_program *p, __u32 n)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = n / BATCH);
	char pkt[64] = {};

	o.data_in = pkt;
	o.data_size_in = sizeof(pkt);
	s->bss->op = B_INSERT;
	s->bss->cursor = 0;
	s->bss->errors = 0;
	s->bss->first_err = 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(p), &o)) {
		fprintf(stderr, "bench_dump: test run of %s failed: %s\n", bpf_program__name(p),
			strerror(errno));
		return -1;
	}
	if (s->bss->errors) {
		int err = s->bss->first_err;

		fprintf(stderr, "bench_dump: filling with %s: %llu of %u inserts failed, the first "
			"with %d (%s: %s)\n", bpf_program__name(p),
			(unsigned long long)s->bss->errors, n, err, err < 0 ? strerror(-err) : "?",
			bench_err_why(err));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int passes, first = bench_opt_passes(argc, argv, &passes);
	__u32 n = argc > first ? strtoul(argv[first], NULL, 0) : 1048576, zero = 0, count;
	struct hmap_table_create_opts co = { .key_size = 16, .value_size = 8, .capacity = n };
	__u64 want = (__u64)n * (n - 1) / 2;
	struct hmap_bench *s;
	struct hmap_desc d;
	struct dump_sum zs = {}, zb = {};
	double t0, t_zc = 1e30, t_zb = 1e30, t_batch = 1e30;
	char path[128];
	int fd, mfd, ret;

	if (!n || (n & (n - 1)) || n < BATCH) {
		fprintf(stderr, "bench_dump: N must be a power of two >= %d\n", BATCH);
		return 2;
	}
	if (!passes)
		passes = 3;
	s = hmap_bench__open();
	if (!s) {
		perror("bench_dump: open bench object");
		return 1;
	}
	bpf_map__set_max_entries(s->maps.htab8, n);
	s->data->nkeys = n;
	if (hmap_bench__load(s)) {
		perror("bench_dump: load bench object");
		return 1;
	}
	snprintf(path, sizeof(path), ROOT "/dump-%u", n);
	bench_extra_cleanup = close_table;
	if (bench_create_pinned(path, &co))
		return 1;
	ret = hmap_table__open_pinned(path, NULL, &t);
	if (ret) {
		fprintf(stderr, "bench_dump: cannot open %s: %s\n", path, strerror(-ret));
		return 1;
	}
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &d)) {
		perror("bench_dump: read the table's descriptor");
		return 1;
	}
	close(fd);
	s->bss->handle8 = d.handle;
	if (fill(s, s->progs.hmap_v8, n) || fill(s, s->progs.htab_v8, n))
		return 1;

	/* The two zero-copy readers alternate, pass by pass. */
	for (int pass = 0; pass < passes; pass++) {
		zs = (struct dump_sum){};
		t0 = now();
		ret = hmap_table__iterate(t, 0, dump_sum_cb, &zs, NULL);
		if (ret) {
			fprintf(stderr, "bench_dump: zero-copy dump failed: %s\n", strerror(-ret));
			return 1;
		}
		t0 = now() - t0;
		if (t0 < t_zc)
			t_zc = t0;
		zb = (struct dump_sum){};
		t0 = now();
		ret = hmap_table__iterate_batch(t, 0, dump_sum_batch_cb, &zb, NULL);
		if (ret) {
			fprintf(stderr, "bench_dump: zero-copy dump in batches failed: %s\n",
				strerror(-ret));
			return 1;
		}
		t0 = now() - t0;
		if (t0 < t_zb)
			t_zb = t0;
	}

	mfd = bpf_map__fd(s->maps.htab8);
	{
		size_t chunk = 4096;
		struct { __u64 a, b; } *keys = malloc(chunk * 16);
		__u64 *vals = malloc(chunk * 8), seen = 0, keysum = 0;
		LIBBPF_OPTS(bpf_map_batch_opts, bo);

		if (!keys || !vals) {
			fprintf(stderr, "bench_dump: BPF_MAP_LOOKUP_BATCH's buffers: %s\n",
				strerror(ENOMEM));
			return 1;
		}

		for (int pass = 0; pass < passes; pass++) {
			__u64 in = 0, out;
			bool first = true;
			int ret;

			seen = keysum = 0;
			t0 = now();
			do {
				count = chunk;
				ret = bpf_map_lookup_batch(mfd, first ? NULL : &in, &out, keys, vals,
							   &count, &bo);
				if (ret && errno != ENOENT) {
					perror("BPF_MAP_LOOKUP_BATCH");
					return 1;
				}
				for (__u32 i = 0; i < count; i++)
					keysum += keys[i].b;
				seen += count;
				in = out;
				first = false;
			} while (!ret);
			t0 = now() - t0;
			if (t0 < t_batch)
				t_batch = t0;
		}
		printf("# %u entries, 16-byte keys, 8-byte values, best of %d\n", n, passes);
		printf("zero-copy dump, batches (libhmap) %8.1f ms  %7.1f ns/entry  entries %llu\n",
		       t_zb * 1e3, t_zb * 1e9 / n, (unsigned long long)zb.n);
		printf("zero-copy dump, per entry (libhmap) %6.1f ms  %7.1f ns/entry  entries %llu\n",
		       t_zc * 1e3, t_zc * 1e9 / n, (unsigned long long)zs.n);
		printf("BPF_MAP_LOOKUP_BATCH (htab)       %8.1f ms  %7.1f ns/entry  entries %llu\n",
		       t_batch * 1e3, t_batch * 1e9 / n, (unsigned long long)seen);
		printf("speed-up: %.1fx in batches, %.1fx per entry\n", t_batch / t_zb,
		       t_batch / t_zc);
		if (zs.n != n || zs.keysum != want || zb.n != n || zb.keysum != want ||
		    seen != n || keysum != want) {
			fprintf(stderr, "bench_dump: a reader missed entries: zero-copy saw %llu "
				"in batches and %llu per entry, BPF_MAP_LOOKUP_BATCH %llu, of %u\n",
				(unsigned long long)zb.n, (unsigned long long)zs.n,
				(unsigned long long)seen, n);
			return 1;
		}
		free(keys);
		free(vals);
	}
	hmap_bench__destroy(s);
	return 0;	/* bench_cleanup() closes and unpins the table, at exit */
}
