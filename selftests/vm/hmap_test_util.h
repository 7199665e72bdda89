/* SPDX-License-Identifier: GPL-2.0 */
/* Helpers shared by the in-VM C suites. */
#ifndef __HMAP_TEST_UTIL_H
#define __HMAP_TEST_UTIL_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "libhmap.h"

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

	return hmap_modstats(&ms) ? ~0ULL : ms.live_tables;
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

#endif
