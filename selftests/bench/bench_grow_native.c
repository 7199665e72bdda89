// SPDX-License-Identifier: GPL-2.0
/*
 * bench_grow_native: the incremental-rehash core (kmod/hmap_grow.c) built as
 * user-space C, with a worker thread doing what hmap_rehash.ko's worker does
 * (allocate ahead, switch regimes, move what writers have not).  Inserts N
 * keys one at a time from 8 buckets, timing each, for the incremental variant
 * and the stop-the-world baseline (one insert moves the whole old array).
 * Prints p50, p99, p99.99 and max from every sample.
 *
 *   bench_grow_native [N]    default 4194304
 *
 * An insert refused for any reason but -ENOSPC (growth behind: wait and
 * retry) ends the run with exit status 1 and its errno.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "grow_user.h"

static int cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

static void run(const char *mode, u32 count, int stw, double out[4])
{
	struct native *n;
	u64 entries = 0, stalls = 0;
	u32 *lat = malloc((size_t)count * sizeof(*lat));
	pthread_t w;
	struct timespec a, b;

	n = native_new(8, 8, count, &entries, stw);
	pthread_create(&w, NULL, worker, n);

	for (u64 k = 0; k < count; k++) {
		u64 t0, dt;
		int ret;

		for (;;) {
			clock_gettime(CLOCK_MONOTONIC, &a);
			ret = hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL);
			clock_gettime(CLOCK_MONOTONIC, &b);
			if (ret != -ENOSPC)
				break;
			stalls++;
			usleep(100);
		}
		if (ret) {
			fprintf(stderr, "bench_grow_native: %s: insert of key %llu failed: %d (%s)\n",
				mode, (unsigned long long)k, ret, strerror(-ret));
			exit(1);
		}
		t0 = (u64)a.tv_sec * 1000000000ULL + a.tv_nsec;
		dt = (u64)b.tv_sec * 1000000000ULL + b.tv_nsec - t0;
		lat[k] = dt > UINT32_MAX ? UINT32_MAX : dt;
	}
	n->stop = 1;
	pthread_join(w, NULL);
	for (u64 k = 0; k < count; k += 997)
		if (!hgr_lookup(&n->g, &k)) {
			fprintf(stderr, "bench_grow_native: %s: key %llu missing after the inserts\n",
				mode, (unsigned long long)k);
			exit(1);
		}
	qsort(lat, count, sizeof(*lat), cmp_u32);
	out[0] = lat[count / 2];
	out[1] = lat[(u64)count * 99 / 100];
	out[2] = lat[(u64)count * 9999 / 10000];
	out[3] = lat[count - 1];
	printf("%-16s %10.0f %10.0f %10.0f %12.0f %8llu\n", mode, out[0], out[1], out[2], out[3],
	       (unsigned long long)stalls);
	native_free(n);
	free(lat);
}

int main(int argc, char **argv)
{
	u32 count = argc > 1 ? strtoul(argv[1], NULL, 0) : 1U << 22;
	double inc[4], stw[4];

	if (count < 64) {
		fprintf(stderr, "bench_grow_native: N must be at least 64, not '%s'\n", argv[1]);
		return 2;
	}
	printf("# per-insert latency, native, growing from 8 buckets to %u entries (8-byte keys\n"
	       "# and values), one insert at a time, worker thread alongside; ns, every sample\n", count);
	printf("%-16s %10s %10s %10s %12s %8s\n", "variant", "p50", "p99", "p99.99", "max", "stalls");
	run("incremental", count, 0, inc);
	run("stop-the-world", count, 1, stw);
	printf("max insert latency, stop-the-world / incremental: %.0fx\n", stw[3] / inc[3]);
	return 0;
}
