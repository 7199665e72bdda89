/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the in-VM C suites. */
#ifndef __HMAP_TEST_UTIL_H
#define __HMAP_TEST_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "libhmap.h"

/* Create a table pinned at @path (the handle is closed: the pin keeps it). */
static inline int test_create_pinned(const char *path, const struct hmap_table_create_opts *o,
				     __u32 *id)
{
	struct hmap_table_create_opts co = *o;
	struct hmap_table *t;
	int ret;

	co.sz = sizeof(co);
	co.pin_path = path;
	ret = hmap_table__create(&co, &t);
	if (ret)
		return ret;
	if (id)
		*id = hmap_table__id(t);
	hmap_table__close(t);
	return 0;
}

/* kselftest convention: a missing prerequisite is a skip (exit 4). */
static inline void hmap_require(const char *module_dir)
{
	const char *why = geteuid() ? "needs root" :
			  access(HMAP_DEV_PATH, F_OK) ? "hmap.ko is not loaded" :
			  module_dir && access(module_dir, F_OK) ? "hmap_rehash.ko is not loaded" : NULL;

	if (why) {
		printf("TAP version 13\n1..0 # SKIP %s\n", why);
		exit(4);
	}
}

static inline __u64 live_tables(void)
{
	struct hmap_ioc_modstats ms = {};

	return libhmap_modstats(&ms) ? ~0ULL : ms.live_tables;
}

/* Frees run after RCU grace periods from a workqueue: wait for them. */
static inline int wait_live_tables(__u64 want)
{
	for (int i = 0; i < 2000; i++) {
		if (live_tables() == want)
			return 0;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

/* Write @val to /sys/module/@module/parameters/@name; 0 or -errno. */
static inline int hmap_module_param(const char *module, const char *name, const char *val)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/parameters/%s", module, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(val, f);
	return fclose(f) ? -errno : 0;
}

/* insmod @module (hmap or hmap_rehash) from the directory run_tests.sh
 * loaded it from; system()'s status. */
static inline int hmap_insmod(const char *module)
{
	char cmd[512];
	const char *dir = getenv("HMAP_KMOD");

	if (dir)
		snprintf(cmd, sizeof(cmd), "insmod %s/%s.ko", dir, module);
	else
		snprintf(cmd, sizeof(cmd), "insmod %s/kmod/$(uname -r)/%s.ko",
			 getenv("HMAP_BUILD") ?: "build", module);
	return system(cmd);
}

/* Write @val to /sys/fs/cgroup/@file; 0 or -errno. */
static inline int hmap_cgroup_write(const char *file, const char *val)
{
	char path[256];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "/sys/fs/cgroup/%s", file);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	ret = fputs(val, f) < 0 ? -EIO : 0;
	return fclose(f) ? -errno : ret;
}

#ifdef __KSELFTEST_HARNESS_H	/* the suites; the benchmarks use the rest */
/*
 * Use instead of TEST_HARNESS_MAIN (after including kselftest_harness.h).
 * Each test's timeout fits the stock kernel under TCG; a debug kernel (KASAN,
 * lockdep, kmemleak) runs the same work several times slower, so
 * HMAP_TIMEOUT_SCALE=N, which run_tests.sh sets there, multiplies them all.
 */
static inline void hmap_scale_timeouts(void)
{
	const char *s = getenv("HMAP_TIMEOUT_SCALE");
	int scale = s ? atoi(s) : 1;

	if (scale <= 1)
		return;
	for (struct __fixture_metadata *f = __fixture_list; f; f = f->next)
		for (struct __test_metadata *t = f->tests; t; t = t->next)
			t->timeout *= scale;
}

#define HMAP_TEST_MAIN							\
	static void __attribute__((constructor))			\
	__constructor_order_last(void)					\
	{								\
		if (!__constructor_order)				\
			__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD; \
	}								\
	int main(int argc, char **argv)					\
	{								\
		hmap_scale_timeouts();					\
		return test_harness_run(argc, argv);			\
	}

#endif /* __KSELFTEST_HARNESS_H */

#endif
