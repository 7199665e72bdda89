/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kselftest_harness.h for the host unit tests, with a LeakSanitizer check
 * at the end of every test.
 *
 * The harness runs each test in a forked child that ends with _exit(), which
 * skips LeakSanitizer's check at exit.  So before the tests run, every
 * test's function is wrapped: once it has passed, the child runs the leak
 * check, and a leak fails the test (LeakSanitizer prints the report).
 * Include this instead of kselftest_harness.h and end with
 * TEST_HARNESS_MAIN, as usual.
 */
#ifndef __UNIT_HARNESS_H
#define __UNIT_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sanitizer/lsan_interface.h>

#include "kselftest_harness.h"

#if !defined(__SANITIZE_ADDRESS__) && defined(__has_feature)
#if __has_feature(address_sanitizer)
#define __SANITIZE_ADDRESS__ 1
#endif
#endif
#ifndef __SANITIZE_ADDRESS__
#error "host unit tests need -fsanitize=address: the leak check is LeakSanitizer's"
#endif

typedef void (*unit_test_fn)(struct __test_metadata *, struct __fixture_variant_metadata *);

/* Each test's own function, by its metadata; filled before any test runs. */
static struct unit_wrapped {
	struct __test_metadata *t;
	unit_test_fn fn;
} *unit_wrapped;
static unsigned int unit_nwrapped;

static void unit_leak_checked(struct __test_metadata *t, struct __fixture_variant_metadata *v)
{
	unsigned int i;

	for (i = 0; unit_wrapped[i].t != t; i++)
		;
	unit_wrapped[i].fn(t, v);	/* a failed ASSERT aborts in here */
	if (t->passed && !t->skip && __lsan_do_recoverable_leak_check()) {
		fprintf(TH_LOG_STREAM, "# %s: memory leaked (LeakSanitizer report above)\n",
			t->name);
		t->passed = 0;
	}
}

/* A test left out by HMAP_TEST_ONLY: reported as skipped. */
static void unit_left_out(struct __test_metadata *t, struct __fixture_variant_metadata *v)
{
	(void)v;
	t->skip = 1;
}

/*
 * HMAP_TEST_ONLY=NAME runs only the tests whose name contains NAME (this
 * kernel's harness has no -t option); the others are reported as skipped.
 */
static int unit_harness_run(int argc, char **argv)
{
	const char *only = getenv("HMAP_TEST_ONLY");
	struct __fixture_metadata *f;
	struct __test_metadata *t;
	unsigned int n = 0;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			n++;
	unit_wrapped = calloc(n, sizeof(*unit_wrapped));
	if (!unit_wrapped)
		abort();
	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next) {
			unit_wrapped[unit_nwrapped++] = (struct unit_wrapped){ t, t->fn };
			t->fn = only && !strstr(t->name, only) ? unit_left_out : unit_leak_checked;
		}
	return test_harness_run(argc, argv);
}

/* TEST_HARNESS_MAIN's main() calls test_harness_run(): this one instead. */
#define test_harness_run unit_harness_run

#endif /* __UNIT_HARNESS_H */
