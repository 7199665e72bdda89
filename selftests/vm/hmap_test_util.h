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

#endif
