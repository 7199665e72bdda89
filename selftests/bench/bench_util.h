/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Shared by the in-VM benchmarks (bench_kfunc, bench_dump, bench_grow):
 * what a failed operation's errno means, and cleanup that runs however the
 * benchmark ends (atexit), so no pin, table or module parameter is left
 * behind for rmmod to trip over.
 */
#ifndef __HMAP_BENCH_UTIL_H
#define __HMAP_BENCH_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "hmap_test_util.h"

#define BENCH_ROOT	"/sys/fs/bpf/hmap-bench"
#define BENCH_MAX_PINS	8

/*
 * What a kfunc's or a map helper's negative return means in a benchmark,
 * where every key is distinct and the table was sized for all of them.
 */
static inline const char *bench_err_why(int err)
{
	switch (err) {
	case -ENOSPC:
		return "no room: the table is at capacity, or a fixed table's overflow buckets "
		       "or an incremental table's value pool ran out (its worker was late "
		       "or could not allocate: memcg, max_table_bytes, fail_grow)";
	case -E2BIG:
		return "too big: the size or capacity is over a limit (max_table_bytes?)";
	case -ENOMEM:
		return "out of memory";
	case -EBUSY:
		return "a lock was busy or re-entered on this CPU";
	case -EEXIST:
		return "the key was already there: an earlier pass left it behind";
	case -ENOENT:
		return "the key was not there";
	case -EINVAL:
		return "invalid argument (key or value size, flags or handle)";
	case -ESTALE:
		return "stale handle: the table is gone";
	default:
		return "unexpected error";
	}
}

static char bench_pins[BENCH_MAX_PINS][128];
static int bench_npins;
static void (*bench_extra_cleanup)(void);
static __u64 bench_live_before;	/* live tables before this process made any */

/* Remove every pin this process made; wait until the module has freed its
 * tables (frees run after grace periods), so rmmod can follow at once. */
static inline void bench_cleanup(void)
{
	int had = bench_npins, i;

	if (bench_extra_cleanup)
		bench_extra_cleanup();
	while (bench_npins > 0)
		unlink(bench_pins[--bench_npins]);
	rmdir(BENCH_ROOT);
	if (!had || bench_live_before == ~0ULL)
		return;
	for (i = 0; i < 2000 && live_tables() > bench_live_before; i++)
		usleep(10000);
	if (live_tables() > bench_live_before)
		fprintf(stderr, "bench: %llu hmap tables live 20 s after the benchmark's pins were "
			"removed, %llu before it began; rmmod will fail\n",
			(unsigned long long)live_tables(), (unsigned long long)bench_live_before);
}

/* Remember @path for bench_cleanup(); the first call registers it. */
static inline void bench_track_pin(const char *path)
{
	static int registered;

	if (!registered) {
		bench_live_before = live_tables();	/* ~0ULL: hmap.ko not loaded */
		atexit(bench_cleanup);
		registered = 1;
	}
	for (int i = 0; i < bench_npins; i++)
		if (!strcmp(bench_pins[i], path))
			return;
	if (bench_npins == BENCH_MAX_PINS) {
		fprintf(stderr, "bench: more than %d pins; raise BENCH_MAX_PINS\n", BENCH_MAX_PINS);
		exit(1);
	}
	snprintf(bench_pins[bench_npins++], sizeof(bench_pins[0]), "%s", path);
}

/* Create a table pinned at @path, tracked for cleanup; 0 or -errno, said. */
static inline int bench_create_pinned(const char *path, const struct hmap_table_create_opts *o)
{
	int ret;

	bench_track_pin(path);
	mkdir(BENCH_ROOT, 0700);
	unlink(path);
	ret = test_create_pinned(path, o, NULL);
	if (ret)
		fprintf(stderr, "bench: cannot create %s (%u-byte keys, %u-byte values, capacity %llu, "
			"%s): %s (%s); is hmap.ko%s loaded?\n", path, o->key_size, o->value_size,
			(unsigned long long)o->capacity,
			o->variant == HMAP_VARIANT_INCREMENTAL ? "incremental" : "fixed",
			strerror(-ret), bench_err_why(ret),
			o->variant == HMAP_VARIANT_INCREMENTAL ? " and hmap_rehash.ko" : "");
	return ret;
}

/* "-p PASSES" (0: the benchmark's default), then sizes; returns argv index
 * of the first size. */
static inline int bench_opt_passes(int argc, char **argv, int *passes)
{
	*passes = 0;
	if (argc > 2 && !strcmp(argv[1], "-p")) {
		*passes = atoi(argv[2]);
		if (*passes < 1) {
			fprintf(stderr, "bench: -p takes a number of passes >= 1, not '%s'\n", argv[2]);
			exit(2);
		}
		return 3;
	}
	return 1;
}

#endif
