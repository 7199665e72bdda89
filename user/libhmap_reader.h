/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libhmap's zero-copy reader: lookups and iteration over a table's read-only
 * shared memory (kmod/uapi/hmap.h), following the chain sequence-counter
 * protocol and, for the incremental variant, chains through growths.
 *
 * It does not know where the memory comes from: the caller's ops map the
 * table's mmap space (libhmap: mmap() of a table fd; the host tests: memory
 * the engine allocated in the same process).  Internal to libhmap and its
 * tests; applications use libhmap.h.
 *
 * Threads: a reader of a fixed table is read-only once initialised, so any
 * number of threads may use it at once.  A reader of an incremental table
 * updates its view of the layout on lookups and walks: one thread at a time
 * (libhmap serialises them with the handle's lock).
 */
#ifndef __LIBHMAP_READER_H
#define __LIBHMAP_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "libhmap.h"

struct hmap_reader_ops {
	/* Map @len bytes at @offset of the table's mmap space read-only:
	 * 0 and *@addr, or a negative errno (-EINVAL: not there, e.g. an
	 * array freed since the layout was read; the reader re-reads it). */
	int (*map)(void *ctx, __u64 offset, size_t len, const void **addr);
	void (*unmap)(void *ctx, const void *addr, size_t len);
};

/* Arrays mapped at once: the layout's two, and those open walks still read
 * (the array each walks by bucket, and the one each is following a moved
 * chain into).  Any other is unmapped as soon as the layout moves on, so a
 * cursor left open across any number of growths holds at most two. */
#ifndef HMAP_READER_MAX_MAPS	/* reader_test builds with fewer, to reach the limit */
#define HMAP_READER_MAX_MAPS	16
#endif

/* One mapped bucket array. */
struct hmap_uarray {
	__u64 offset;		/* mmap offset; 0: unused */
	const __u8 *base;
	size_t len;
	__u32 nbuckets;
	__u32 ntotal;		/* main + overflow buckets */
	__u32 holds;		/* in maps[]: walks reading it (kept mapped) */
};

struct hmap_reader {
	const struct hmap_shm_header *shm;
	const struct hmap_reader_ops *ops;
	void *ctx;
	__u64 seed[2];
	bool incr;		/* incremental variant: values in the pool */
	__u32 walks;		/* open walks */
	/*
	 * arr[0] is the current array, arr[1] the old one while growing
	 * (narrays 2).  Fixed tables have one array, mapped once.  Incremental
	 * tables re-read the layout when layout_seq moves (refresh).
	 */
	__u32 narrays;
	__u32 layout_seq;
	struct hmap_uarray arr[2];
	struct hmap_uarray maps[HMAP_READER_MAX_MAPS];	/* incremental: arrays mapped now */
	const __u8 **chunks;	/* incremental: mapped value chunks */
	__u32 nchunks;
	__u32 chunks_cap;
	/* For tests and statistics: chain reads retried because a writer was
	 * inside or the layout moved (lookups; iteration counts its own), and
	 * chains read in a newer array because they had moved there. */
	__u64 lookup_retries;
	__u64 moved;
};

/* Check @shm's magic, ABI version and variant and map the arrays.
 * 0; -EPROTO, -EOPNOTSUPP, or an error of the ops.  Nothing stays mapped
 * on failure. */
int hmap_reader_init(struct hmap_reader *r, const struct hmap_shm_header *shm,
		     const struct hmap_reader_ops *ops, void *ctx);
/* Unmap everything the reader mapped (not @shm). */
void hmap_reader_release(struct hmap_reader *r);

/* As hmap_table__lookup() and hmap_table__iterate() in libhmap.h. */
int hmap_reader_lookup(struct hmap_reader *r, const void *key, void *value);
int hmap_reader_iterate(struct hmap_reader *r, unsigned int flags, hmap_iter_cb cb, void *ctx,
			__u64 *retries);
/* As hmap_table__iterate_batch(). */
int hmap_reader_iterate_batch(struct hmap_reader *r, unsigned int flags, hmap_iter_batch_cb cb,
			      void *ctx, __u64 *retries);

/*
 * A walk in steps, for cursors: begin, then each bucket 0..w->a.nbuckets-1
 * (the entries of that bucket's keys are handed to @cb, including those that
 * moved to newer arrays), then end.  The walk's buffer holds the last chain.
 */
struct hmap_reader_walk {
	struct hmap_uarray a;	/* the array walked by bucket (the oldest) */
	__u8 *buf;		/* one chain, as packed key/value pairs */
	struct hmap_entry_ref *ents;	/* the pairs in buf, as handed out */
	__u32 max;		/* pairs buf and ents have room for (grow for long chains) */
	bool consistent, old_consistent, open;
	__u64 retries;		/* chains re-read because a writer was inside */
};

int hmap_reader_walk_begin(struct hmap_reader *r, struct hmap_reader_walk *w, unsigned int flags);
int hmap_reader_walk_bucket(struct hmap_reader *r, struct hmap_reader_walk *w, __u32 b,
			    hmap_iter_cb cb, void *ctx);
/* The same, the chain's entries handed to @cb at once (none: not called). */
int hmap_reader_walk_chain(struct hmap_reader *r, struct hmap_reader_walk *w, __u32 b,
			   hmap_iter_batch_cb cb, void *ctx);
void hmap_reader_walk_end(struct hmap_reader *r, struct hmap_reader_walk *w);

#endif /* __LIBHMAP_READER_H */
