// SPDX-License-Identifier: GPL-2.0
/*
 * bench_grow: per-insert latency while an incremental table grows from 8
 * buckets to N entries, inserting one key at a time from BPF
 * (bpf_hmap_update in a SYSCALL program, timed with bpf_ktime_get_ns), for
 * the incremental variant and for the stop-the-world baseline (hmap_rehash's
 * benchmark-only stop_the_world parameter: one insert moves the whole old
 * array).  Prints p50, p99, p99.99 and max.  Needs hmap.ko and
 * hmap_rehash.ko loaded.
 *
 *   bench_grow [N]     default 4194304
 *
 * When inserts outrun growth (-ENOSPC), the program waits 1 ms and resumes;
 * those stalls are counted and printed, not timed as inserts.  Any other
 * failure ends the run with exit status 1 and its errno; at exit the pin is
 * removed and stop_the_world is set back to 0, however the run ended.
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
#include "hmap_bench.skel.h"

#define ROOT		BENCH_ROOT
#define LAT_BUCKETS	(64 * 16)

static double bucket_ns(__u32 b)
{
	__u32 l = b / 16;

	if (b < 16)
		return b;
	return (double)(1ULL << l) + (double)(b % 16) * (1ULL << (l - 4));
}

static double pct(const __u64 *h, __u64 total, double p)
{
	__u64 want = (__u64)(p * total), seen = 0;

	for (__u32 b = 0; b < LAT_BUCKETS; b++) {
		seen += h[b];
		if (seen > want)
			return bucket_ns(b);
	}
	return bucket_ns(LAT_BUCKETS - 1);
}

static int set_stw(int on)
{
	FILE *f = fopen("/sys/module/hmap_rehash/parameters/stop_the_world", "w");

	if (!f)
		return -errno;
	fputs(on ? "1" : "0", f);
	return fclose(f) ? -errno : 0;
}

static struct hmap_table *t;	/* global: closed at exit before the pin goes */

static void grow_cleanup(void)
{
	hmap_table__close(t);
	t = NULL;
	set_stw(0);
}

static int run(const char *mode, __u32 n, double res[5])
{
	struct hmap_table_create_opts co = { .key_size = 8, .value_size = 8, .capacity = 52,
				       .variant = HMAP_VARIANT_INCREMENTAL };
	LIBBPF_OPTS(bpf_test_run_opts, o);
	struct hmap_info info;
	struct hmap_bench *s;
	struct hmap_desc d;
	char path[128];
	__u32 zero = 0, first = 0;
	__u64 stalls = 0;
	struct timespec t0, t1;
	int fd, ret;

	bench_extra_cleanup = grow_cleanup;
	ret = set_stw(!strcmp(mode, "stop-the-world"));
	if (ret) {
		fprintf(stderr, "bench_grow: cannot set hmap_rehash's stop_the_world: %s (is "
			"hmap_rehash.ko loaded, built by make bench with HMAP_BENCH?)\n", strerror(-ret));
		return -1;
	}
	s = hmap_bench__open_and_load();
	if (!s) {
		perror("bench_grow: load bench object");
		return -1;
	}
	snprintf(path, sizeof(path), ROOT "/grow");
	if (bench_create_pinned(path, &co))
		return -1;
	ret = hmap_table__open_pinned(path, NULL, &t);
	if (ret) {
		fprintf(stderr, "bench_grow: cannot open %s: %s\n", path, strerror(-ret));
		return -1;
	}
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &d)) {
		perror("bench_grow: read the table's descriptor");
		return -1;
	}
	close(fd);
	s->bss->lat_handle = d.handle;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (first < n) {
		s->bss->lat_first = first;
		s->bss->lat_n = n - first;
		if (bpf_prog_test_run_opts(bpf_program__fd(s->progs.lat_insert), &o)) {
			perror("bench_grow: test run of lat_insert");
			return -1;
		}
		first = s->bss->lat_stopped;
		if (s->bss->lat_err == -ENOSPC || s->bss->lat_err == -EBUSY) {
			/* growth behind: wait for the worker, but not forever */
			if (++stalls > 100000) {
				fprintf(stderr, "bench_grow: %s: insert %u still refused after %llu waits of "
					"1 ms: %d (%s)\n", mode, first, (unsigned long long)stalls,
					s->bss->lat_err, bench_err_why(s->bss->lat_err));
				return -1;
			}
			usleep(1000);
		} else if (s->bss->lat_err) {
			fprintf(stderr, "bench_grow: %s: insert %u failed: %d (%s: %s)\n", mode, first,
				s->bss->lat_err, strerror(-s->bss->lat_err), bench_err_why(s->bss->lat_err));
			return -1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	hmap_table__info(t, &info);
	res[0] = pct(s->bss->lat_hist, s->bss->lat_count, 0.50);
	res[1] = pct(s->bss->lat_hist, s->bss->lat_count, 0.99);
	res[2] = pct(s->bss->lat_hist, s->bss->lat_count, 0.9999);
	res[3] = s->bss->lat_max;
	res[4] = stalls;
	printf("%-16s %10.0f %10.0f %10.0f %12.0f %8llu %8llu %9.1f\n", mode, res[0], res[1], res[2],
	       res[3], (unsigned long long)info.stats.grows, (unsigned long long)stalls,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (info.stats.entries != n) {
		fprintf(stderr, "bench_grow: %llu entries, expected %u\n",
			(unsigned long long)info.stats.entries, n);
		return -1;
	}
	hmap_bench__destroy(s);
	grow_cleanup();
	bench_cleanup();	/* the next run's table starts alone */
	return 0;
}

int main(int argc, char **argv)
{
	__u32 n = argc > 1 ? strtoul(argv[1], NULL, 0) : 1U << 22;
	double inc[5], stw[5];

	if (n < 64) {
		fprintf(stderr, "bench_grow: N must be at least 64, not '%s'\n", argv[1]);
		return 2;
	}
	printf("# per-insert latency while growing from 8 buckets to %u entries (8-byte keys and\n"
	       "# values), one BPF insert at a time; ns (log-linear histogram, about 6%% resolution)\n", n);
	printf("%-16s %10s %10s %10s %12s %8s %8s %9s\n", "variant", "p50", "p99", "p99.99", "max",
	       "growths", "stalls", "seconds");
	if (run("incremental", n, inc) || run("stop-the-world", n, stw))
		return 1;	/* bench_cleanup() at exit */
	printf("max insert latency, stop-the-world / incremental: %.0fx\n", stw[3] / inc[3]);
	return 0;
}
