// SPDX-License-Identifier: GPL-2.0
/*
 * Host tests of the incremental variant's "evacuated" statistic
 * (hgr_evacuated_total(), read by bpf_hmap_stats() in any context, NMI
 * included) against a growth that completes in the middle of a read, or a
 * read in the middle of the completion.  kmod/hmap_grow.c is compiled into
 * this file, with hmap_deref() and hmap_cmpxchg_ptr() running a hook (the
 * other CPU, or an interrupt) at that exact point:
 *
 *  - a reader that loaded the growing regime, then the last bucket moved
 *    and the growth completed: it must not count that growth twice;
 *  - a reader right after the completing exchange: the total must not go
 *    backwards.
 *
 * Both failed when the total was a table-wide counter that the completion
 * added to after its exchange (found by review).
 */
#include <stdio.h>
#include <stdlib.h>

#include "unit_harness.h"
#include "hmap_platform.h"

static void (*deref_hook)(void);
static const void *deref_hook_on;
static void (*cmpxchg_hook)(void);

#undef hmap_deref
#define hmap_deref(p) ({							\
	__typeof__(p) __v = __atomic_load_n(&(p), __ATOMIC_ACQUIRE);		\
	if ((const void *)&(p) == deref_hook_on && deref_hook) {		\
		void (*__h)(void) = deref_hook;					\
									\
		deref_hook = NULL;						\
		__h();								\
	}									\
	__v;									\
})
#undef hmap_cmpxchg_ptr
#define hmap_cmpxchg_ptr(p, o, n) ({						\
	__typeof__(*(p)) __o = (o);						\
									\
	__atomic_compare_exchange_n((p), &__o, (n), false, __ATOMIC_ACQ_REL,	\
				    __ATOMIC_ACQUIRE);				\
	if (cmpxchg_hook) {							\
		void (*__h)(void) = cmpxchg_hook;				\
									\
		cmpxchg_hook = NULL;						\
		__h();								\
	}									\
	__o;									\
})

#include "grow_user.h"
#include "../../kmod/hmap_grow.c"

static struct native *n;
static u64 entries;
static u32 last_b;
static u64 seen_in_window;

static void other_cpu_moves_last_bucket(void)
{
	hgr_evacuate_bucket(&n->g, last_b);	/* moves it and completes the growth */
}

static void other_cpu_reads_stats(void)
{
	seen_in_window = hgr_evacuated_total(&n->g);
}

/* A table after one whole growth, growing again with every old bucket but
 * the last moved.  Returns the total before the second growth in *@e0. */
static int setup(u64 *e0, u32 *nb)
{
	entries = 0;
	n = native_new(8, 8, 1 << 22, &entries, 0);
	for (u64 k = 0; k < 1000; k++) {
		native_top_up(n);
		if (hgr_update(&n->g, &k, &k, HMAP_NOEXIST, NULL))
			return -1;
	}
	native_grow(n);
	*e0 = hgr_evacuated_total(&n->g);
	native_prepare_spare(n);
	if (!n->prepared || !hgr_try_start_growth(&n->g))
		return -1;
	*nb = n->g.regime->old->tab.l.nbuckets;
	for (u32 b = 0; b + 1 < *nb; b++)
		if (hgr_evacuate_bucket(&n->g, b))
			return -1;
	last_b = *nb - 1;
	return 0;
}

TEST(a_growth_completing_inside_a_read_is_counted_once)
{
	u64 e0, got;
	u32 nb;

	ASSERT_EQ(0, setup(&e0, &nb));
	EXPECT_EQ(e0 + nb - 1, hgr_evacuated_total(&n->g));
	deref_hook_on = &n->g.regime;
	deref_hook = other_cpu_moves_last_bucket;
	got = hgr_evacuated_total(&n->g);
	EXPECT_EQ(NULL, deref_hook);	/* the hook ran */
	EXPECT_EQ(NULL, n->g.regime->old);	/* and completed the growth */
	EXPECT_EQ(e0 + nb, got);
	EXPECT_EQ(e0 + nb, hgr_evacuated_total(&n->g));
	native_complete(n);
	native_free(n);
}

TEST(a_read_right_after_the_completing_exchange_never_goes_back)
{
	u64 e0, before;
	u32 nb;

	ASSERT_EQ(0, setup(&e0, &nb));
	before = hgr_evacuated_total(&n->g);
	cmpxchg_hook = other_cpu_reads_stats;
	ASSERT_EQ(0, hgr_evacuate_bucket(&n->g, last_b));
	EXPECT_EQ(NULL, cmpxchg_hook);
	EXPECT_LE(before, seen_in_window);
	EXPECT_EQ(e0 + nb, seen_in_window);
	EXPECT_EQ(e0 + nb, hgr_evacuated_total(&n->g));
	native_complete(n);
	native_free(n);
}

TEST_HARNESS_MAIN
