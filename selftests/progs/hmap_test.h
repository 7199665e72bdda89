/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between the test BPF programs and test_hmap.c. */
#ifndef __HMAP_TEST_H
#define __HMAP_TEST_H

enum hmap_test_op {
	HT_UPDATE = 1,
	HT_DELETE,
	HT_LOOKUP,
	HT_LOOKUP_OR_INIT,
	HT_STATS,
};

/* ctx of the "op" SYSCALL program; key and value travel in .bss (buf). */
struct hmap_test_args {
	__u64 handle;
	__u32 op;
	__u32 key_size;
	__u32 value_size;	/* lookups: the rdwr_buf_size to use (see hmap_test.bpf.c) */
	__u32 flags;
	__s64 ret;		/* errno, or 1 found / 0 absent for lookups */
};

/* ctx of the "writer" SYSCALL program: one thread's round over its keys. */
struct hmap_test_writer {
	__u64 handle;
	__u32 thread;
	__u32 nkeys;
	__u32 round;
	__u32 delete_odd;	/* delete odd keys this round instead of writing them */
	__s64 errors;
	__s64 ebusy;
	__u32 first;		/* keys first .. first + nkeys - 1 */
	__u32 __pad;
};

/* ctx of the "checker" SYSCALL program: verify a thread's keys in place. */
struct hmap_test_check {
	__u64 handle;
	__u32 thread;
	__u32 nkeys;
	__u32 round;		/* expected value: key ^ round */
	__u32 odd_absent;	/* odd keys must be absent */
	__s64 bad;
};

/* ctx of the "stale_writer" SYSCALL program: for each key, lookup-or-init,
 * delete, then write through the pointer it got (the race of a counter
 * update with a delete, made certain). */
struct hmap_test_stale {
	__u64 handle;
	__u64 pattern;
	__u32 thread;
	__u32 nkeys;
	__s64 bad;
};

/* A value that shows tearing: every word is key ^ round. */
struct hmap_test_val {
	__u64 w[8];
};

#endif
