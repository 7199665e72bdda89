/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hmap.ko's own interface between its files: the tables (hmap_table.c), the
 * kfuncs (hmap_kfunc.c) and the device (hmap_dev.c).  Variant modules
 * include hmap.h, never this.
 *
 * Contexts
 *   - hmap_from_handle() and hmap_do_*(): any context a BPF program runs in,
 *     NMI included, with the RCU (or RCU-tasks-trace) read side the program
 *     holds; never sleep.  The ioctls call hmap_do_*() under
 *     rcu_read_lock().  Locks: hmap_engine.h and hmap_grow.h (one at a time).
 *   - hmap_get() and hmap_put(): any context; the free is deferred (hmap.h).
 *   - hmap_create(), hmap_get_by_id(), hmap_next_id_after(): process context.
 */
#ifndef _HMAP_TABLE_H
#define _HMAP_TABLE_H

#include <linux/static_call.h>

#include "hmap_compat.h"
#include "hmap.h"
#include "hmap_grow.h"

#define HMAP_MAX_TABLES		16384
extern struct hmap *hmap_slots[HMAP_MAX_TABLES];	/* see hmap_table.c */

void hmap_get(struct hmap *t);
void hmap_put(struct hmap *t);
struct hmap *hmap_create(const struct hmap_create_attr *attr);
struct hmap *hmap_get_by_id(u32 id);
u32 hmap_next_id_after(u32 start);
void hmap_stats_read(struct hmap *t, struct hmap_stats *st);
void hmap_modstats_read(struct hmap_ioc_modstats *ms);
int hmap_table_init(void);
void hmap_table_exit(void);
int hmap_kfunc_register(void);
int hmap_dev_register(void);
void hmap_dev_unregister(void);

/*
 * The data path shared by the kfuncs and the ioctls.  The incremental
 * variant's lookups run inline (hgr_lookup() on t->grow, below), and its
 * writes are static calls, patched to its functions when it registers (as
 * kvm.ko calls kvm-intel's ops): a call through t->ops is a retpoline on
 * most x86 machines, which cost its lookups more than the lookup itself.  HMAP_VARIANT_INCREMENTAL is the only variant besides the
 * fixed one, so t->ops != NULL means these.  The defaults refuse; they never
 * run for a table, which holds its variant's module (and so its
 * registration) until it is freed.
 */
int hmap_noop_update(struct hmap *t, const void *key, const void *value, u32 flags, void **valp);
int hmap_noop_delete(struct hmap *t, const void *key);
DECLARE_STATIC_CALL(hmap_incr_update, hmap_noop_update);
DECLARE_STATIC_CALL(hmap_incr_delete, hmap_noop_delete);

/*
 * Resolve a handle from BPF context (see hmap_slots).  NULL for an unknown
 * or stale handle.  @flags_ok: the update flags in the top bits are allowed
 * (and ignored here); otherwise a handle with flags resolves to nothing.
 */
static __always_inline struct hmap *hmap_from_handle(u64 handle, bool flags_ok)
{
	struct hmap *t = READ_ONCE(hmap_slots[(u32)handle % HMAP_MAX_TABLES]);

	if (flags_ok)
		handle &= HMAP_HANDLE_MASK;
	if (unlikely(!t || t->handle != handle))
		return NULL;
	return t;
}

static __always_inline void *hmap_do_lookup(struct hmap *t, const void *key)
{
	if (likely(!t->ops))
		return hmap_tab_lookup(&t->tab, key, hmap_tab_hash(&t->tab, key));
	return hgr_lookup(t->grow, key);
}

static __always_inline int hmap_do_update(struct hmap *t, const void *key,
					  const void *value, u32 flags, void **valp)
{
	int ret;

	if (likely(!t->ops))
		ret = hmap_tab_update(&t->tab, key, hmap_tab_hash(&t->tab, key),
				      value, flags, valp);
	else
		ret = static_call(hmap_incr_update)(t, key, value, flags, valp);
	if (likely(!ret))
		this_cpu_inc(t->pcpu->updates);
	else if (ret == -ENOSPC)
		this_cpu_inc(t->pcpu->enospc);
	else if (ret == -EBUSY)
		this_cpu_inc(t->pcpu->ebusy);
	return ret;
}

static __always_inline int hmap_do_delete(struct hmap *t, const void *key)
{
	int ret;

	if (likely(!t->ops))
		ret = hmap_tab_delete(&t->tab, key, hmap_tab_hash(&t->tab, key));
	else
		ret = static_call(hmap_incr_delete)(t, key);
	if (likely(!ret))
		this_cpu_inc(t->pcpu->deletes);
	else if (ret == -EBUSY)
		this_cpu_inc(t->pcpu->ebusy);
	return ret;
}

#endif /* _HMAP_TABLE_H */
