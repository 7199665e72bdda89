// SPDX-License-Identifier: GPL-2.0
/*
 * hmap_rehash.ko: the incremental-rehash variant of hmap tables
 * (hmapctl create ... --variant incremental).  Tables start small and double;
 * no operation pays for a whole-table copy.  The data path and its locking
 * rules are in hmap_grow.[ch]; this file is the kernel side: the variant's
 * hooks into hmap.ko, the worker that allocates ahead of need and moves what
 * writers have not, the reclaim of freed values after grace periods, the
 * read-only mmap of arrays and value pool, and statistics.
 *
 * Contexts and deferral
 *   - The data path (hmap.ko's kfuncs and ioctls) runs in any context, NMI
 *     included.  It never allocates, sleeps or queues work itself: it raises
 *     @irq_work (NMI-safe), whose handler queues the worker and starts value
 *     reclaim, as the BPF memory allocator does.
 *   - The worker (one work item per table, on hrh_wq) is the only code that
 *     allocates, publishes regimes, or frees arrays; it holds h->lock, which
 *     mmap takes too, so an array is never mapped while it is being freed.
 *     It allocates as the table's creator: every allocation is charged to
 *     the memcg saved at creation (set_active_memcg(), as BPF maps do), and
 *     bounded, arrays and pool together, by max_table_bytes.
 *   - Freed values are reused only after an RCU-tasks-trace and then an RCU
 *     grace period (6.1 has no rcu_trace_implies_rcu_gp()): one batch in
 *     flight per table, chained callbacks, no kworker blocked.
 *   - A replaced regime and an old array are freed the same way.
 *   - Each table holds a reference on this module (hmap.ko takes it), so
 *     rmmod hmap_rehash is refused while incremental tables exist; module
 *     exit waits for the callbacks still in flight.
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <linux/irq_work.h>
#include <linux/rcupdate.h>
#include <linux/rcupdate_trace.h>
#include <linux/sched/mm.h>
#include <linux/memcontrol.h>
#include <linux/wait_bit.h>
#include <linux/log2.h>
#include <linux/delay.h>
#include <linux/jiffies.h>

#include "hmap.h"
#include "hmap_grow.h"

static bool fail_grow;
module_param(fail_grow, bool, 0644);
MODULE_PARM_DESC(fail_grow, "Fault injection: fail every allocation for growth (arrays and value chunks)");

#ifdef HMAP_BENCH
/* Benchmark builds only (make bench): the baseline that moves a whole array
 * in the one insert that finds it, unbounded by design. */
static bool stop_the_world;
module_param(stop_the_world, bool, 0644);
MODULE_PARM_DESC(stop_the_world, "Benchmark baseline only: tables created while set move the whole old array in the one insert that finds it");
#else
#define stop_the_world false
#endif

#define HRH_POOL_MMAP_BASE	(1ULL << 40)	/* mmap offset of value chunk 0 */

/* Every growth allocation: charged to the creator's memcg, and failing
 * rather than invoking the OOM killer at its memory.max. */
#define HRH_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NOWARN | __GFP_RETRY_MAYFAIL)

static struct workqueue_struct *hrh_wq;

/* Lock classes: stripes and pool locks are never held together, and each
 * class is told apart for lockdep. */
static struct lock_class_key hrh_stripe_key, hrh_pool_key;

struct hrh_garbage;

struct hrh {
	struct hgr g;
	struct hmap *t;
	struct mutex lock;		/* worker vs mmap: arrays */
	struct work_struct work;	/* growth: spares, moves, retiring */
	struct mutex chunk_lock;	/* pool chunks: chunk_work, init, worker */
	struct work_struct chunk_work;	/* the pool's reserve, apart from growth,
					 * so a big array allocation never
					 * starves the pool */
	struct irq_work irq_work;	/* from the data path: worker, reclaim */
	struct rcu_head reclaim_rcu;
	atomic_t reclaim_inflight;	/* 0 or 1 batch inside grace periods */
	bool reclaimed;			/* a batch was ever started */
	unsigned long retry_after;	/* jiffies: no new allocation attempt
					 * before, after one failed (a full
					 * memcg is not retried per insert) */
	struct mem_cgroup *memcg;	/* the creator's: growth is charged there */
	u64 max_bytes;
	u64 next_mmap;			/* next free mmap offset for an array */
	struct hgr_regime *prepared;	/* the spare growing regime, until cleaned up */
	struct hrh_garbage *prepared_gb;
	u64 grows;
	u64 grow_failures;
	bool dying;
};

static struct hrh *hrh_of(struct hmap *t)
{
	return t->variant_data;
}

/* ---- arrays and chunks (worker or init; h->lock held or not yet shared) -- */

/* Allocation attempts back off for a while after a failure: a table that
 * its memcg or max_table_bytes stopped is asked for room on every refused
 * insert. */
#define HRH_RETRY_DELAY	(HZ / 10)

static bool hrh_may_alloc(struct hrh *h)
{
	return time_after_eq(jiffies, READ_ONCE(h->retry_after));
}

static void hrh_alloc_failed(struct hrh *h)
{
	WRITE_ONCE(h->retry_after, jiffies + HRH_RETRY_DELAY);
}

/* Account @bytes before allocating them, within max_table_bytes. */
static bool hrh_reserve(struct hrh *h, u64 bytes)
{
	return hmap_account_reserve(h->t, bytes, h->max_bytes);
}

static struct hgr_array *hrh_array_alloc(struct hrh *h, u32 nbuckets, int *err)
{
	struct hmap_layout l, fitted;
	struct hgr_array *a;
	int ret;

	*err = -ENOMEM;
	if (fail_grow && h->g.regime)
		return NULL;
	ret = hmap_layout_init(&l, h->g.key_size, sizeof(u32),
			       (u64)nbuckets * HMAP_LOAD_NUM / HMAP_LOAD_DEN, ~0ULL);
	if (ret || l.nbuckets != nbuckets) {
		*err = ret ?: -E2BIG;
		return NULL;
	}
	/* The layout's reserve is for a full array (6.5 entries a bucket)
	 * under churn; never less than half the main buckets, headroom for
	 * inserts while the next array is being allocated. */
	l.noverflow = max_t(u32, l.noverflow, nbuckets / 2 + 16);
	l.array_bytes = PAGE_ALIGN((u64)(l.nbuckets + l.noverflow) * l.bucket_size);
	/* Whole huge pages if the table's cap allows them, else as laid out. */
	fitted = l;
	hmap_array_fit(&fitted, ~0ULL);
	if (fitted.array_bytes != l.array_bytes && hrh_reserve(h, fitted.array_bytes)) {
		l = fitted;
	} else if (!hrh_reserve(h, l.array_bytes)) {
		*err = -E2BIG;
		return NULL;
	}
	a = kzalloc(sizeof(*a), HRH_GFP);
	if (a)
		a->mem = hmap_array_alloc(l.array_bytes, HRH_GFP);
	if (!a || !a->mem) {
		kfree(a);
		hmap_account_bytes(h->t, -(s64)l.array_bytes);
		return NULL;
	}
	hmap_tab_init(&a->tab, &l, a->mem, NULL, &h->g.seed, &h->g.locks);
	a->tab.locks.mask = h->g.locks.mask;	/* the table's stripes, fixed */
	a->tab.l.capacity = ~0ULL;		/* the variant counts and caps itself */
	a->mmap_offset = h->next_mmap;
	h->next_mmap += l.array_bytes;
	*err = 0;
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
	u64 bytes = hgr_chunk_alloc_bytes(&h->g.pool);
	void *mem;

	if (hmap_deref(h->g.pool.nchunks) >= h->g.pool.maxchunks)
		return -ENOSPC;
	if (fail_grow && h->g.pool.nchunks)
		return -ENOMEM;
	if (!hrh_reserve(h, bytes))
		return -E2BIG;
	mem = hmap_array_alloc(bytes, HRH_GFP);
	if (!mem || !hgr_pool_add_chunk(&h->g, mem)) {	/* or an insert took the spare to the max */
		vfree(mem);
		hmap_account_bytes(h->t, -(s64)bytes);
		return mem ? -ENOSPC : -ENOMEM;
	}
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
 * An old array and the regimes that pointed to it, freed once no program
 * can hold them: after an RCU-tasks-trace and then an RCU grace period.
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

/* Keep the pool's reserve of ready values, and one chunk aside for an
 * insert that finds the pool empty.  Process context, the creator's memcg
 * active; takes chunk_lock. */
static bool hrh_top_up(struct hrh *h)
{
	struct hgr_pool *p = &h->g.pool;
	u64 bytes = hgr_chunk_alloc_bytes(p);
	bool added = false;

	mutex_lock(&h->chunk_lock);
	while (!READ_ONCE(h->dying) && hgr_wants_chunk(&h->g) && hrh_may_alloc(h)) {
		if (hrh_add_chunk(h)) {
			hrh_alloc_failed(h);
			break;
		}
		added = true;
	}
	if (hmap_deref(p->nchunks) >= p->maxchunks && READ_ONCE(p->spare_chunk)) {
		void *c = hgr_pool_take_spare(&h->g);	/* can never be used now */

		if (c) {
			vfree(c);
			hmap_account_bytes(h->t, -(s64)bytes);
		}
	}
	if (!READ_ONCE(h->dying) && !READ_ONCE(p->spare_chunk) && !fail_grow &&
	    hrh_may_alloc(h) && hmap_deref(p->nchunks) < p->maxchunks && hrh_reserve(h, bytes)) {
		void *c = hmap_array_alloc(bytes, HRH_GFP);

		if (!c || !hgr_pool_set_spare(&h->g, c)) {
			if (!c)
				hrh_alloc_failed(h);
			vfree(c);
			hmap_account_bytes(h->t, -(s64)bytes);
		}
	}
	mutex_unlock(&h->chunk_lock);
	return added;
}

static void hrh_chunk_work(struct work_struct *work)
{
	struct hrh *h = container_of(work, struct hrh, chunk_work);
	struct mem_cgroup *old_memcg = set_active_memcg(h->memcg);

	hrh_top_up(h);
	set_active_memcg(old_memcg);
}

/* Any context: an insert is starting the spare growth.  User space learns
 * of the new array before any key can go there. */
static void hrh_grow_starting(struct hgr *g, struct hgr_regime *growing)
{
	struct hrh *h = container_of(g, struct hrh, g);

	hrh_publish_layout(h, growing->cur, growing->old);
}

/*
 * Set aside the next growth: an array twice the current one and its
 * regimes.  An insert that finds growth due starts it without waiting for
 * us.  Worker or init, h->lock held (mmap may map the array as soon as an
 * insert starts the growth), the creator's memcg active.
 */
static void hrh_prepare_spare(struct hrh *h)
{
	struct hgr *g = &h->g;
	struct hgr_regime *growing, *stable;
	struct hrh_garbage *gb;
	struct hgr_array *a;
	u32 nb = hgr_next_nbuckets(g);
	int err;

	if (h->prepared || !nb || !hgr_wants_spare(g) || !hrh_may_alloc(h))
		return;
	growing = kzalloc(sizeof(*growing), HRH_GFP);
	stable = kzalloc(sizeof(*stable), HRH_GFP);
	gb = kzalloc(sizeof(*gb), HRH_GFP);
	a = growing && stable && gb ? hrh_array_alloc(h, nb, &err) : NULL;
	if (!a) {
		kfree(growing);
		kfree(stable);
		kfree(gb);
		h->grow_failures++;
		hrh_alloc_failed(h);
		return;
	}
	growing->cur = a;
	growing->stable = stable;
	stable->cur = a;
	h->prepared = growing;
	h->prepared_gb = gb;
	hgr_set_spare(g, growing);
}

/*
 * The prepared growth is complete (its stable regime is published): tell
 * user space, and free the old array and the replaced regimes after the
 * grace periods.  Worker, h->lock held.
 */
static void hrh_retire(struct hrh *h)
{
	struct hgr_regime *growing = h->prepared;
	struct hgr_array *old = growing->old;
	struct hrh_garbage *gb = h->prepared_gb;

	h->grows++;
	hrh_publish_layout(h, growing->cur, NULL);
	hmap_account_bytes(h->t, -(s64)old->tab.l.array_bytes);
	gb->array = old;
	gb->regimes[0] = growing->prev;
	gb->regimes[1] = growing;
	h->prepared = NULL;
	h->prepared_gb = NULL;
	call_rcu_tasks_trace(&gb->rcu, hrh_garbage_after_trace);
}

/*
 * The prepared growth has started: move what inserts have not and publish
 * the stable regime (unless the insert that moved the last bucket did).  A
 * bucket that cannot move (its new chain's overflow exhausted) is retried
 * with a pause, never in a busy loop.  Worker, without h->lock.
 */
static void hrh_complete(struct hrh *h)
{
	struct hgr *g = &h->g;
	struct hgr_regime *growing = h->prepared;
	u32 nb = growing->old->tab.l.nbuckets;

	while (!hgr_evacuate_rest(g, 256)) {
		WRITE_ONCE(h->t->shm->arrays[1].evacuated, READ_ONCE(growing->nmoved));
		if (READ_ONCE(h->dying))
			return;		/* hrh_free() sorts it out */
		hrh_top_up(h);
		if (READ_ONCE(g->nevacuate) >= nb)
			msleep(1);	/* only failed moves are left: back off */
		else
			cond_resched();
	}
	hgr_finish_growth(g, growing);	/* a no-op if an insert did it */
}

/*
 * The growth worker.  h->lock (which mmap takes) is held only to retire an
 * array or to allocate a spare and set it aside (an mmap can wait for that
 * allocation, which tries for huge pages without retrying: see
 * hmap_array_alloc()), never across the moves: mapping is not held up by a
 * growth.  One instance at a time (a work item never runs twice at
 * once), and the only writer of h->prepared.
 */
static void hrh_work(struct work_struct *work)
{
	struct hrh *h = container_of(work, struct hrh, work);
	struct hgr *g = &h->g;
	struct mem_cgroup *old_memcg;
	struct hgr_regime *r;
	bool progress = true;

	old_memcg = set_active_memcg(h->memcg);
	while (!READ_ONCE(h->dying) && progress) {
		progress = hrh_top_up(h);
		r = hmap_deref(g->regime);
		if (h->prepared && r == h->prepared) {
			hrh_complete(h);	/* started, by an insert or by us */
			progress = true;
			continue;
		}
		mutex_lock(&h->lock);
		if (h->prepared && r == h->prepared->stable) {
			hrh_retire(h);		/* complete: by us or an insert */
			progress = true;
		}
		hrh_prepare_spare(h);
		mutex_unlock(&h->lock);
		if (hgr_wants_grow(g))
			progress |= hgr_try_start_growth(g);
	}
	set_active_memcg(old_memcg);
}

/* ---- reclaim of freed values ------------------------------------------------ */

static void hrh_reclaim_after_trace(struct rcu_head *rcu);

static void hrh_reclaim_done(struct rcu_head *rcu)
{
	struct hrh *h = container_of(rcu, struct hrh, reclaim_rcu);

	hgr_reclaim_finish(&h->g);
	/* Values freed meanwhile: the next batch, still in flight (an irq_work
	 * raised meanwhile found us busy and left them to us). */
	if (!READ_ONCE(h->dying) && hgr_reclaim_start(&h->g)) {
		call_rcu_tasks_trace(&h->reclaim_rcu, hrh_reclaim_after_trace);
		return;
	}
	atomic_set_release(&h->reclaim_inflight, 0);
	/* A delete between our look and the clear saw us in flight and left
	 * its value to us: look again.  hrh_free() waits for this callback to
	 * return (rcu_barrier()), so @h is still there. */
	smp_mb();
	if (!READ_ONCE(h->dying) && hgr_reclaim_due(&h->g) &&
	    atomic_cmpxchg(&h->reclaim_inflight, 0, 1) == 0) {
		if (hgr_reclaim_start(&h->g)) {
			call_rcu_tasks_trace(&h->reclaim_rcu, hrh_reclaim_after_trace);
			return;
		}
		atomic_set_release(&h->reclaim_inflight, 0);
	}
	wake_up_var(&h->reclaim_inflight);
}

static void hrh_reclaim_after_trace(struct rcu_head *rcu)
{
	call_rcu(rcu, hrh_reclaim_done);
}

/* irq_work: the data path's requests, in a context that may queue work and
 * start grace periods (hard IRQ, or a thread on PREEMPT_RT). */
static void hrh_irq_work(struct irq_work *w)
{
	struct hrh *h = container_of(w, struct hrh, irq_work);

	if (READ_ONCE(h->dying))
		return;
	if (READ_ONCE(h->g.want_worker)) {
		WRITE_ONCE(h->g.want_worker, false);
		queue_work(hrh_wq, &h->work);
		if (hgr_wants_chunk(&h->g) ||
		    (!READ_ONCE(h->g.pool.spare_chunk) &&
		     hmap_deref(h->g.pool.nchunks) < h->g.pool.maxchunks))
			queue_work(hrh_wq, &h->chunk_work);
	}
	if (hgr_reclaim_due(&h->g) && atomic_cmpxchg(&h->reclaim_inflight, 0, 1) == 0) {
		WRITE_ONCE(h->reclaimed, true);
		if (hgr_reclaim_start(&h->g))
			call_rcu_tasks_trace(&h->reclaim_rcu, hrh_reclaim_after_trace);
		else
			atomic_set(&h->reclaim_inflight, 0);
	}
}

/* Any context, NMI included: one flag test on the fast path. */
static __always_inline void hrh_kick(struct hrh *h)
{
	if (unlikely(READ_ONCE(h->g.want_worker)) ||
	    (hgr_reclaim_due(&h->g) && !atomic_read(&h->reclaim_inflight)))
		irq_work_queue(&h->irq_work);
}

/* ---- variant hooks --------------------------------------------------------- */

static void hrh_free(struct hmap *t)
{
	struct hrh *h = hrh_of(t);
	struct hgr_regime *r, *gp;
	u32 c;

	if (!h)
		return;
	/* hmap.ko waited for grace periods: no program uses the table now. */
	WRITE_ONCE(h->dying, true);
	irq_work_sync(&h->irq_work);
	/* The reclaim chain ends on seeing dying; its last callback may still
	 * touch @h after clearing the flag, until rcu_barrier() returns. */
	while (READ_ONCE(h->reclaimed)) {	/* only tables that ever freed a value */
		wait_var_event(&h->reclaim_inflight, !atomic_read_acquire(&h->reclaim_inflight));
		rcu_barrier();
		if (!atomic_read(&h->reclaim_inflight))
			break;
	}
	irq_work_sync(&h->irq_work);
	cancel_work_sync(&h->work);
	cancel_work_sync(&h->chunk_work);
	r = h->g.regime;
	gp = h->prepared;
	if (gp && gp != r && gp->stable != r) {	/* set aside, never started */
		hrh_array_free(h, gp->cur, false);
		kfree(gp->stable);
		kfree(gp);
	} else if (gp && gp == r) {		/* growing */
		hrh_array_free(h, r->old, false);
		hrh_array_free(h, r->cur, false);
		kfree(gp->stable);
		kfree(gp->prev);
		kfree(gp);
		r = NULL;
	} else if (gp) {			/* completed, not yet retired */
		hrh_array_free(h, gp->old, false);
		kfree(gp->prev);
		kfree(gp);
	}
	kfree(h->prepared_gb);
	if (r) {				/* stable */
		hrh_array_free(h, r->cur, false);
		kfree(r);
	}
	vfree(h->g.pool.spare_chunk);
	for (c = 0; c < h->g.pool.nchunks; c++)
		vfree(h->g.pool.chunks[c]);
	kvfree(h->g.pool.chunks);
	hmap_locks_free(&h->g.pool.lock);
	hmap_locks_free(&h->g.locks);
	mem_cgroup_put(h->memcg);
	kfree(h);
	t->variant_data = NULL;
	t->grow = NULL;
}

/*
 * Validate in u64 before anything is sized: 1 <= capacity <= max_capacity
 * <= HGR_MAX_ENTRIES (max_capacity 0: HGR_MAX_ENTRIES).
 */
static int hrh_check_attr(const struct hmap_create_attr *attr, u64 *max_entries)
{
	u64 max = attr->max_capacity ?: HGR_MAX_ENTRIES;

	if (!attr->capacity)
		return -EINVAL;
	if (max > HGR_MAX_ENTRIES || attr->capacity > HGR_MAX_ENTRIES)
		return -E2BIG;
	if (max < attr->capacity)
		return -EINVAL;
	*max_entries = max;
	return 0;
}

static int hrh_init(struct hmap *t, const struct hmap_create_attr *attr, u64 max_bytes)
{
	struct hmap_shm_header *shm = t->shm;
	struct hgr_regime *r;
	struct hgr_array *a;
	u64 max_entries, nb;
	u32 stripes;
	struct hrh *h;
	int ret;

	ret = hrh_check_attr(attr, &max_entries);
	if (ret)
		return ret;
	h = kzalloc(sizeof(*h), GFP_KERNEL_ACCOUNT);
	if (!h)
		return -ENOMEM;
	t->variant_data = h;
	h->t = t;
	h->max_bytes = max_bytes;
	h->memcg = get_mem_cgroup_from_mm(current->mm);
	mutex_init(&h->lock);
	mutex_init(&h->chunk_lock);
	h->retry_after = jiffies;
	INIT_WORK(&h->work, hrh_work);
	INIT_WORK(&h->chunk_work, hrh_chunk_work);
	init_irq_work(&h->irq_work, hrh_irq_work);
	atomic_set(&h->reclaim_inflight, 0);
	h->g.key_size = attr->key_size;
	h->g.seed.key[0] = shm->seed[0];
	h->g.seed.key[1] = shm->seed[1];
	h->g.entries = &shm->entries;
	h->g.max_entries = max_entries;
	h->g.grow_starting = hrh_grow_starting;
	h->g.evac_per_write = stop_the_world ? U32_MAX : 1;

	ret = hgr_pool_setup(&h->g.pool, attr->value_size, max_entries);
	if (ret)
		goto err;
	ret = -ENOMEM;
	h->g.pool.chunks = kvcalloc(h->g.pool.maxchunks, sizeof(void *), GFP_KERNEL_ACCOUNT);
	if (!h->g.pool.chunks)
		goto err;
	h->g.pool.shm_nchunks = &shm->pool_nchunks;
	stripes = hgr_stripes(num_possible_cpus());
	if (hmap_locks_alloc_class(&h->g.locks, stripes, &hrh_stripe_key) ||
	    hmap_locks_alloc_class(&h->g.pool.lock, 1, &hrh_pool_key))
		goto err;
	h->g.locks.mask = stripes - 1;
	hmap_account_bytes(t, stripes * sizeof(raw_spinlock_t) +
			   h->g.pool.maxchunks * sizeof(void *));
	ret = hrh_add_chunk(h);
	if (ret)
		goto err;
	hrh_top_up(h);	/* the reserve, from the start */

	/* The first array: room for @capacity, and at least one main bucket
	 * per stripe (each chain then belongs to one stripe). */
	nb = roundup_pow_of_two(DIV_ROUND_UP(attr->capacity * HMAP_LOAD_DEN, HMAP_LOAD_NUM));
	nb = max3(nb, (u64)HGR_MIN_BUCKETS, (u64)stripes);
	if (nb > (1ULL << HMAP_MAX_BUCKETS_LOG2)) {
		ret = -E2BIG;
		goto err;
	}
	h->next_mmap = PAGE_SIZE;
	a = hrh_array_alloc(h, nb, &ret);
	if (!a)
		goto err;
	ret = -ENOMEM;
	r = kzalloc(sizeof(*r), GFP_KERNEL_ACCOUNT);
	if (!r) {
		hrh_array_free(h, a, true);
		goto err;
	}
	r->cur = a;
	h->g.regime = r;

	/* The arrays hold u32 value indexes; values are in the pool. */
	shm->value_stride = sizeof(u32);
	shm->values_offset = a->tab.l.values_off;
	shm->bucket_size = a->tab.l.bucket_size;
	shm->key_stride = a->tab.l.key_stride;
	shm->keys_offset = a->tab.l.keys_off;
	shm->capacity = max_entries;
	shm->pool_mmap_offset = HRH_POOL_MMAP_BASE;
	shm->pool_chunk_bytes = h->g.pool.chunk_bytes;
	shm->pool_chunk_shift = HGR_CHUNK_SHIFT;
	shm->pool_value_stride = h->g.pool.value_stride;
	hrh_publish_layout(h, a, NULL);
	hrh_prepare_spare(h);	/* the first growth needs no worker */
	t->grow = &h->g;	/* hmap.ko's kfuncs look up here (inline) */
	return 0;
err:
	hrh_free(t);
	return ret;
}

static int hrh_lookup_copy(struct hmap *t, const void *key, void *value)
{
	return hgr_lookup_copy(&hrh_of(t)->g, key, value);
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
	struct hrh *h = hrh_of(t);
	int ret = hgr_delete(&h->g, key);

	hrh_kick(h);
	return ret;
}

static int hrh_mmap(struct hmap *t, struct vm_area_struct *vma)
{
	struct hrh *h = hrh_of(t);
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	struct hgr_regime *r;
	int ret = -EINVAL;

	if (mutex_lock_killable(&h->lock))
		return -EINTR;
	r = hmap_deref(h->g.regime);	/* changes without h->lock; arrays do not go */
	if (h->prepared && off == h->prepared->cur->mmap_offset)	/* may be starting */
		ret = hmap_mmap_vmalloc(t, vma, h->prepared->cur->mem, h->prepared->cur->tab.l.array_bytes);
	else if (h->prepared && h->prepared->old && off == h->prepared->old->mmap_offset)
		/* completed by an insert, not yet retired: still in the layout */
		ret = hmap_mmap_vmalloc(t, vma, h->prepared->old->mem, h->prepared->old->tab.l.array_bytes);
	else if (off == r->cur->mmap_offset)
		ret = hmap_mmap_vmalloc(t, vma, r->cur->mem, r->cur->tab.l.array_bytes);
	else if (r->old && off == r->old->mmap_offset)
		ret = hmap_mmap_vmalloc(t, vma, r->old->mem, r->old->tab.l.array_bytes);
	else if (off >= HRH_POOL_MMAP_BASE && !((off - HRH_POOL_MMAP_BASE) % h->g.pool.chunk_bytes)) {
		u64 c = (off - HRH_POOL_MMAP_BASE) / h->g.pool.chunk_bytes;

		/* Only the values: the links after them stay kernel-only. */
		if (c < hmap_deref(h->g.pool.nchunks))
			ret = hmap_mmap_vmalloc(t, vma, h->g.pool.chunks[c], h->g.pool.chunk_bytes);
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
	st->evacuated = hgr_evacuated_total(&h->g);
	rcu_read_unlock();
	st->capacity = h->g.max_entries;
	st->grows = READ_ONCE(h->grows);
	st->evac_ns = READ_ONCE(h->g.evac_ns);
}

static struct hmap_variant_ops hrh_ops = {
	.owner		= THIS_MODULE,
	.name		= "incremental",
	.init		= hrh_init,
	.free		= hrh_free,
	.layout_hash	= HMAP_LAYOUT_HASH,
	.lookup_copy	= hrh_lookup_copy,
	.update		= hrh_update,
	.delete		= hrh_delete,
	.mmap		= hrh_mmap,
	.stats		= hrh_stats,
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
	hmap_unregister_variant(HMAP_VARIANT_INCREMENTAL, &hrh_ops);
	destroy_workqueue(hrh_wq);
	rcu_barrier_tasks_trace();	/* old arrays still waiting to be freed */
	rcu_barrier();
}

module_init(hrh_mod_init);
module_exit(hrh_mod_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hmap: tables that grow by incremental rehash");
MODULE_AUTHOR("hmap developers");
