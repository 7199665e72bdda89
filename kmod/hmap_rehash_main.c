// SPDX-License-Identifier: GPL-2.0
/*
 * hmap_rehash.ko: the incremental-rehash variant of hmap tables
 * (hmapctl create ... --variant incremental).  Tables start small and double;
 * no operation pays for a whole-table copy.  The data path and the rules are
 * in hmap_grow.[ch]; this file is the kernel side: the variant's hooks into
 * hmap.ko, the worker that allocates ahead of need and moves what writers
 * have not, the read-only mmap of arrays and value pool, and statistics.
 *
 * Lifetime rules
 *   - The worker (one work item per table, on hrh_wq) is the only code that
 *     allocates, switches regimes, or frees arrays; it holds hrh->lock, which
 *     mmap takes too, so an array is never mapped while it is being freed.
 *   - A replaced regime and an old array are freed after an RCU and an
 *     RCU-tasks-trace grace period, as hmap.ko frees tables.
 *   - Each table holds a reference on this module (hmap.ko takes it), so
 *     rmmod hmap_rehash is refused while incremental tables exist.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <linux/rcupdate.h>
#include <linux/rcupdate_trace.h>
#include <linux/hardirq.h>
#include <linux/delay.h>

#include "hmap.h"
#include "hmap_grow.h"

static bool fail_grow;
module_param(fail_grow, bool, 0644);
MODULE_PARM_DESC(fail_grow, "Fault injection: fail every allocation for growth (arrays and value chunks)");

static bool stop_the_world;
module_param(stop_the_world, bool, 0644);
MODULE_PARM_DESC(stop_the_world, "Benchmark baseline only: tables created while set move the whole old array in the one insert that finds it");

#define HRH_POOL_MMAP_BASE	(1ULL << 40)	/* mmap offset of value chunk 0 */

static struct workqueue_struct *hrh_wq;

struct hrh {
	struct hgr g;
	struct hmap *t;
	struct mutex lock;		/* worker vs mmap: arrays and chunks */
	struct work_struct work;
	u64 max_bytes;
	u64 next_mmap;			/* next free mmap offset for an array */
	u64 chunk_bytes;
	u64 grows;
	u64 grow_failures;
	bool dying;
};

static struct hrh *hrh_of(struct hmap *t)
{
	return t->variant_data;
}

/* ---- arrays and chunks (worker or init; h->lock held or not yet shared) -- */

static struct hgr_array *hrh_array_alloc(struct hrh *h, u32 nbuckets)
{
	struct hmap_layout l;
	struct hgr_array *a;

	if (hmap_layout_init(&l, h->g.key_size, sizeof(u32), (u64)nbuckets * HMAP_LOAD_NUM / HMAP_LOAD_DEN,
			     h->max_bytes))
		return NULL;
	a = kzalloc(sizeof(*a), GFP_KERNEL_ACCOUNT);
	if (!a)
		return NULL;
	a->mem = __vmalloc(l.array_bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN |
			   __GFP_RETRY_MAYFAIL);
	if (!a->mem) {
		kfree(a);
		return NULL;
	}
	hmap_tab_init(&a->tab, &l, a->mem, &a->count, &h->g.seed, &h->g.locks);
	a->tab.l.capacity = ~0ULL;	/* the variant counts entries itself */
	a->mmap_offset = h->next_mmap;
	h->next_mmap += l.array_bytes;
	hmap_account_bytes(h->t, l.array_bytes);
	return a;
}

static void hrh_array_free(struct hrh *h, struct hgr_array *a, bool account)
{
	if (!a)
		return;
	if (account)
		hmap_account_bytes(h->t, -(s64)a->tab.l.array_bytes);
	vfree(a->mem);
	kfree(a);
}

static int hrh_add_chunk(struct hrh *h)
{
	void *mem;

	if (fail_grow && h->g.pool.nchunks)
		return -ENOMEM;
	mem = __vmalloc(h->chunk_bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_NOWARN);
	if (!mem)
		return -ENOMEM;
	hgr_pool_add_chunk(&h->g, mem);
	WRITE_ONCE(h->t->shm->pool_nchunks, h->g.pool.nchunks);
	hmap_account_bytes(h->t, h->chunk_bytes);
	return 0;
}

static void hrh_fill_shm_array(struct hmap_shm_array *s, const struct hgr_array *a)
{
	s->mmap_offset = a->mmap_offset;
	s->mmap_size = a->tab.l.array_bytes;
	s->nbuckets = a->tab.l.nbuckets;
	s->noverflow = a->tab.l.noverflow;
	s->evacuated = 0;
}

/* Describe the arrays to user space, inside layout_seq. */
static void hrh_publish_layout(struct hrh *h, struct hgr_array *cur, struct hgr_array *old)
{
	struct hmap_shm_header *shm = h->t->shm;

	WRITE_ONCE(shm->layout_seq, shm->layout_seq + 1);
	smp_wmb();
	hrh_fill_shm_array(&shm->arrays[0], cur);
	if (old)
		hrh_fill_shm_array(&shm->arrays[1], old);
	else
		memset(&shm->arrays[1], 0, sizeof(shm->arrays[1]));
	shm->narrays = old ? 2 : 1;
	if (!old)
		shm->generation = h->grows;
	smp_wmb();
	WRITE_ONCE(shm->layout_seq, shm->layout_seq + 1);
}

/*
 * Free an old array and the regimes that pointed to it once no program can
 * hold them: after an RCU-tasks-trace and then an RCU grace period (6.1 has
 * no rcu_trace_implies_rcu_gp()).  Asynchronous, so the next doubling need
 * not wait; module exit waits with rcu_barrier_tasks_trace() + rcu_barrier().
 */
struct hrh_garbage {
	struct rcu_head rcu;
	struct hgr_array *array;
	struct hgr_regime *regimes[2];
};

static void hrh_garbage_free(struct rcu_head *rcu)
{
	struct hrh_garbage *gb = container_of(rcu, struct hrh_garbage, rcu);

	if (gb->array) {
		vfree(gb->array->mem);	/* deferred by vfree itself in softirq */
		kfree(gb->array);
	}
	kfree(gb->regimes[0]);
	kfree(gb->regimes[1]);
	kfree(gb);
}

static void hrh_garbage_after_trace(struct rcu_head *rcu)
{
	call_rcu(rcu, hrh_garbage_free);
}

/* One doubling.  Worker context, h->lock held. */
static int hrh_grow(struct hrh *h)
{
	struct hgr *g = &h->g;
	struct hgr_regime *stable = g->regime, *growing, *next;
	struct hgr_array *old = stable->cur, *cur;
	u32 nb = old->tab.l.nbuckets * 2, done;

	struct hrh_garbage *gb;

	if (fail_grow)
		return -ENOMEM;
	growing = kzalloc(sizeof(*growing), GFP_KERNEL);
	next = kzalloc(sizeof(*next), GFP_KERNEL);
	gb = kzalloc(sizeof(*gb), GFP_KERNEL);
	cur = growing && next && gb ? hrh_array_alloc(h, nb) : NULL;
	if (!cur) {
		kfree(growing);
		kfree(next);
		kfree(gb);
		return -ENOMEM;
	}
	growing->cur = cur;
	growing->old = old;
	growing->lock_mask = stable->lock_mask;	/* old's stripes */
	next->cur = cur;
	next->lock_mask = hgr_lock_mask(nb);

	WRITE_ONCE(g->nevacuate, 0);
	hrh_publish_layout(h, cur, old);	/* before any bucket moves */
	hgr_switch(g, growing);

	if (g->evac_per_write == U32_MAX)	/* stop-the-world baseline: a writer moves all */
		while (READ_ONCE(g->nevacuate) < old->tab.l.nbuckets && !READ_ONCE(h->dying))
			usleep_range(200, 1000);
	for (done = 0; !hgr_evacuate_rest(g, 256); done++) {
		WRITE_ONCE(h->t->shm->arrays[1].evacuated, (u32)min_t(u64, READ_ONCE(g->nevacuate),
								     old->tab.l.nbuckets));
		cond_resched();
	}
	hgr_switch(g, next);
	h->grows++;
	hrh_publish_layout(h, cur, NULL);

	hmap_account_bytes(h->t, -(s64)old->tab.l.array_bytes);
	gb->array = old;
	gb->regimes[0] = stable;
	gb->regimes[1] = growing;
	call_rcu_tasks_trace(&gb->rcu, hrh_garbage_after_trace);
	return 0;
}

static void hrh_work(struct work_struct *work)
{
	struct hrh *h = container_of(work, struct hrh, work);
	bool progress = true;

	mutex_lock(&h->lock);
	while (!h->dying && progress) {
		progress = false;
		while (!h->dying && hgr_wants_chunk(&h->g)) {
			if (hrh_add_chunk(h))
				break;
			progress = true;
		}
		if (!h->dying && hgr_wants_grow(&h->g)) {
			if (hrh_grow(h))
				h->grow_failures++;
			else
				progress = true;
		}
	}
	mutex_unlock(&h->lock);
}

/* Any context: run the worker if an insert asked for room ahead of need. */
static void hrh_kick(struct hrh *h)
{
	if (unlikely(READ_ONCE(h->g.want_worker)) && !in_nmi()) {
		WRITE_ONCE(h->g.want_worker, false);
		queue_work(hrh_wq, &h->work);
	}
}

/* ---- variant hooks --------------------------------------------------------- */

static void hrh_free(struct hmap *t)
{
	struct hrh *h = hrh_of(t);
	struct hgr_regime *r;
	u32 c;

	if (!h)
		return;
	WRITE_ONCE(h->dying, true);
	cancel_work_sync(&h->work);
	/* hmap.ko waited for grace periods: no program uses the table now. */
	r = h->g.regime;
	if (r) {
		hrh_array_free(h, r->old, false);
		hrh_array_free(h, r->cur, false);
		kfree(r);
	}
	for (c = 0; c < h->g.pool.nchunks; c++)
		vfree(h->g.pool.chunks[c]);
	kvfree(h->g.pool.chunks);
	hmap_locks_free(&h->g.pool.lock);
	hmap_locks_free(&h->g.locks);
	kfree(h);
	t->variant_data = NULL;
}

static int hrh_init(struct hmap *t, const struct hmap_create_attr *attr, u64 max_bytes)
{
	struct hmap_shm_header *shm = t->shm;
	struct hgr_regime *r;
	struct hgr_array *a;
	struct hrh *h;
	u64 max_entries = attr->max_capacity;
	u32 stride;
	int ret = -ENOMEM;

	if (!max_entries)
		max_entries = ((u64)HMAP_LOAD_NUM << HMAP_MAX_BUCKETS_LOG2) / HMAP_LOAD_DEN;
	if (max_entries < attr->capacity)
		return -EINVAL;
	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h)
		return -ENOMEM;
	t->variant_data = h;
	h->t = t;
	h->max_bytes = max_bytes;
	mutex_init(&h->lock);
	INIT_WORK(&h->work, hrh_work);
	h->g.key_size = attr->key_size;
	h->g.seed.key[0] = shm->seed[0];
	h->g.seed.key[1] = shm->seed[1];
	h->g.entries = &shm->entries;
	h->g.max_entries = max_entries;
	h->g.evac_per_write = stop_the_world ? U32_MAX : 1;

	stride = attr->value_size <= 4 ? 4 : ALIGN(attr->value_size, 8);
	h->g.pool.value_size = attr->value_size;
	h->g.pool.value_stride = stride;
	h->g.pool.maxchunks = DIV_ROUND_UP(max_entries, 1U << HGR_CHUNK_SHIFT);
	h->chunk_bytes = PAGE_ALIGN((u64)stride << HGR_CHUNK_SHIFT);
	h->g.pool.chunks = kvcalloc(h->g.pool.maxchunks, sizeof(void *), GFP_KERNEL_ACCOUNT);
	if (!h->g.pool.chunks)
		goto err;
	if (hmap_locks_alloc(&h->g.locks, HMAP_MAX_LOCKS) || hmap_locks_alloc(&h->g.pool.lock, 1))
		goto err;
	h->g.locks.mask = HMAP_MAX_LOCKS - 1;
	if (hrh_add_chunk(h))
		goto err;

	h->next_mmap = PAGE_SIZE;
	a = hrh_array_alloc(h, t->layout.nbuckets);
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!a || !r) {
		ret = a ? -ENOMEM : -E2BIG;
		kfree(r);
		hrh_array_free(h, a, true);
		goto err;
	}
	r->cur = a;
	r->lock_mask = hgr_lock_mask(a->tab.l.nbuckets);
	h->g.regime = r;

	/* The arrays hold u32 value indexes; values are in the pool. */
	shm->value_stride = sizeof(u32);
	shm->values_offset = a->tab.l.values_off;
	shm->bucket_size = a->tab.l.bucket_size;
	shm->capacity = max_entries;
	shm->pool_mmap_offset = HRH_POOL_MMAP_BASE;
	shm->pool_chunk_bytes = h->chunk_bytes;
	shm->pool_chunk_shift = HGR_CHUNK_SHIFT;
	shm->pool_value_stride = stride;
	hrh_publish_layout(h, a, NULL);
	return 0;
err:
	hrh_free(t);
	return ret;
}

static void *hrh_lookup(struct hmap *t, const void *key)
{
	return hgr_lookup(&hrh_of(t)->g, key);
}

static int hrh_update(struct hmap *t, const void *key, const void *value, u32 flags, void **valp)
{
	struct hrh *h = hrh_of(t);
	int ret = hgr_update(&h->g, key, value, flags, valp);

	hrh_kick(h);
	return ret;
}

static int hrh_delete(struct hmap *t, const void *key)
{
	return hgr_delete(&hrh_of(t)->g, key);
}

static int hrh_mmap(struct hmap *t, struct vm_area_struct *vma)
{
	struct hrh *h = hrh_of(t);
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	struct hgr_regime *r;
	int ret = -EINVAL;

	mutex_lock(&h->lock);
	r = h->g.regime;
	if (off == r->cur->mmap_offset)
		ret = hmap_mmap_vmalloc(t, vma, r->cur->mem, r->cur->tab.l.array_bytes);
	else if (r->old && off == r->old->mmap_offset)
		ret = hmap_mmap_vmalloc(t, vma, r->old->mem, r->old->tab.l.array_bytes);
	else if (off >= HRH_POOL_MMAP_BASE && !((off - HRH_POOL_MMAP_BASE) % h->chunk_bytes)) {
		u64 c = (off - HRH_POOL_MMAP_BASE) / h->chunk_bytes;

		if (c < h->g.pool.nchunks)
			ret = hmap_mmap_vmalloc(t, vma, h->g.pool.chunks[c], h->chunk_bytes);
	}
	mutex_unlock(&h->lock);
	return ret;
}

static void hrh_stats(struct hmap *t, struct hmap_stats *st)
{
	struct hrh *h = hrh_of(t);
	struct hgr_regime *r;

	rcu_read_lock();
	r = READ_ONCE(h->g.regime);
	st->nbuckets = r->cur->tab.l.nbuckets;
	st->noverflow = r->cur->tab.l.noverflow;
	st->overflow_used = hmap_tab_overflow_used(&r->cur->tab);
	st->state = r->old ? 1 : 0;
	rcu_read_unlock();
	st->capacity = h->g.max_entries;
	st->grows = READ_ONCE(h->grows);
	st->evacuated = READ_ONCE(h->g.evacuated);
	st->evac_ns = READ_ONCE(h->g.evac_ns);
}

static struct hmap_variant_ops hrh_ops = {
	.owner	= THIS_MODULE,
	.name	= "incremental",
	.init	= hrh_init,
	.free	= hrh_free,
	.lookup	= hrh_lookup,
	.update	= hrh_update,
	.delete	= hrh_delete,
	.mmap	= hrh_mmap,
	.stats	= hrh_stats,
};

static int __init hrh_mod_init(void)
{
	int ret;

	hrh_wq = alloc_workqueue("hmap_rehash", WQ_UNBOUND, 0);
	if (!hrh_wq)
		return -ENOMEM;
	ret = hmap_register_variant(HMAP_VARIANT_INCREMENTAL, &hrh_ops);
	if (ret) {
		destroy_workqueue(hrh_wq);
		return ret;
	}
	return 0;
}

static void __exit hrh_mod_exit(void)
{
	/* Tables hold references on this module: none is left. */
	hmap_unregister_variant(HMAP_VARIANT_INCREMENTAL);
	destroy_workqueue(hrh_wq);
	rcu_barrier_tasks_trace();	/* old arrays still waiting to be freed */
	rcu_barrier();
}

module_init(hrh_mod_init);
module_exit(hrh_mod_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hmap: tables that grow by incremental rehash");
MODULE_AUTHOR("hmap developers");
