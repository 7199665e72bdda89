/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hmap.ko's table object and the interface a variant module plugs into.
 *
 * Lifetime rules
 *   - struct hmap is reference counted (@refcnt).  References are held by:
 *     the descriptor map's kptr (released by the registered dtor when the
 *     map goes), an open table fd, an mmap of a table fd, and a BPF program
 *     between bpf_hmap_create() and bpf_kptr_xchg().  BPF programs that use
 *     a table through its handle hold no reference: they keep the descriptor
 *     map, and so its kptr, alive.
 *   - The id -> table slot array is written under hmap_slots_lock and read
 *     locklessly (READ_ONCE) inside RCU or RCU-tasks-trace sections.
 *     A handle resolves only if its generation matches, so a stale handle
 *     never reaches a table created later under a reused id.
 *   - The last reference may go in any context, NMI included (the kptr dtor
 *     runs wherever a program replaces the descriptor's value): it raises an
 *     irq_work, which queues a work item that removes the id and chains an
 *     RCU-tasks-trace and then an RCU grace period (kfuncs run under either,
 *     sleepable SYSCALL programs under the latter) before a last work item
 *     frees the memory.  No kworker blocks on a grace period.  So a kfunc
 *     that resolved a handle, and any value pointer it returned, stay valid
 *     until the program returns.
 *   - Each table holds a reference on hmap.ko (and on its variant's module),
 *     so rmmod is refused while any table exists.
 */
#ifndef _HMAP_H
#define _HMAP_H

#include <linux/refcount.h>
#include <linux/workqueue.h>
#include <linux/mm_types.h>
#include <linux/irq_work.h>
#include <linux/rcupdate.h>

#include "hmap_engine.h"

#ifndef HMAP_LAYOUT_HASH
#error "HMAP_LAYOUT_HASH is set by kmod/Kbuild: build the modules with it"
#endif

/* One increment per operation: lookups are hits + misses. */
struct hmap_pcpu_stats {
	u64 hits;
	u64 misses;
	u64 updates;
	u64 deletes;
	u64 enospc;
	u64 ebusy;
	u64 einval;
};

struct hmap_variant_ops;
struct hgr;

struct hmap {
	refcount_t refcnt;
	u32 id;
	u32 variant;
	u64 handle;
	u64 bytes;				/* memory held, for stats and leak checks */
	struct hmap_variant_ops *ops;		/* NULL for the fixed variant */
	struct hgr *grow;			/* incremental variant: its table (set by init) */
	struct hmap_shm_header *shm;		/* page 0 of the mmap space */
	void *array;				/* fixed variant: the bucket array */
	struct hmap_tab tab;			/* fixed variant: the engine */
	struct hmap_layout layout;
	struct hmap_pcpu_stats __percpu *pcpu;
	void *variant_data;
	struct irq_work put_work;		/* last reference dropped, any context */
	struct work_struct unpublish_work;	/* remove the id, start grace periods */
	struct rcu_head rcu;
	struct work_struct free_work;		/* after the grace periods */
};

/*
 * A variant replaces the data path and the mmap of the bucket arrays.
 * Every data op has the context of the kfunc that calls it: any context a
 * BPF program runs in, RCU read side held, must not sleep.
 */
struct hmap_variant_ops {
	struct module *owner;
	const char *name;
	/* Process context, may sleep.  Sets up t->variant_data and t->shm->arrays. */
	int (*init)(struct hmap *t, const struct hmap_create_attr *attr, u64 max_bytes);
	/* Process context, after the grace periods; frees what init allocated. */
	void (*free)(struct hmap *t);
	/*
	 * Lookups of the incremental variant are hgr_lookup() on t->grow,
	 * inline in hmap.ko's kfuncs: the variant must be built from the same
	 * headers, so layout_hash must be HMAP_LAYOUT_HASH (kmod/Kbuild).
	 */
	u32 layout_hash;
	/* Process context: a consistent copy of the value (ioctl lookup). */
	int (*lookup_copy)(struct hmap *t, const void *key, void *value);
	int (*update)(struct hmap *t, const void *key, const void *value, u32 flags, void **valp);
	int (*delete)(struct hmap *t, const void *key);
	/* Process context: map the array at vma->vm_pgoff, read-only. */
	int (*mmap)(struct hmap *t, struct vm_area_struct *vma);
	void (*stats)(struct hmap *t, struct hmap_stats *st);
};

int hmap_register_variant(u32 variant, struct hmap_variant_ops *ops);
void hmap_unregister_variant(u32 variant, struct hmap_variant_ops *ops);
int hmap_mmap_vmalloc(struct hmap *t, struct vm_area_struct *vma, void *base, u64 size);
void hmap_array_fit(struct hmap_layout *l, u64 max_bytes);
void *hmap_array_alloc(u64 bytes, gfp_t gfp);
int hmap_locks_alloc(struct hmap_locks *l, u32 nlocks);
int hmap_locks_alloc_class(struct hmap_locks *l, u32 nlocks, struct lock_class_key *key);
void hmap_locks_free(struct hmap_locks *l);
void hmap_account_bytes(struct hmap *t, s64 delta);
bool hmap_account_reserve(struct hmap *t, u64 bytes, u64 limit);

#endif /* _HMAP_H */
