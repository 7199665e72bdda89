// SPDX-License-Identifier: GPL-2.0
/*
 * hmap.ko's tables: ids and handles, creation, references and the deferred
 * free (grace periods), memory accounting, stripe locks, and the variant
 * registry.  The kfuncs (hmap_kfunc.c) and the device (hmap_dev.c) use the
 * tables through hmap_table.h.  Lifetime rules: hmap.h.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/rcupdate_trace.h>
#include <linux/workqueue.h>
#include <linux/irq_work.h>
#include <linux/static_call.h>

#include "hmap_table.h"

static unsigned long max_table_bytes = 4UL << 30;
module_param(max_table_bytes, ulong, 0644);
MODULE_PARM_DESC(max_table_bytes, "Largest bucket array one table may allocate, in bytes (default 4 GiB)");

static bool hugepages;
module_param(hugepages, bool, 0644);
MODULE_PARM_DESC(hugepages, "Back bucket arrays of 2 MiB or more with huge pages where the kernel can "
		 "(vmalloc_huge(); arrays allocated after a change, an incremental table's next "
		 "growth included; default off)");

/**
 * hmap_array_fit - shape an array for the pages hmap_array_alloc() will use
 * @l: layout of the array, from hmap_layout_init() or hmap_layout_init_exact()
 * @max_bytes: cap on the array's size
 *
 * With huge pages on and an array of at least PMD_SIZE a node, rounds @l up to
 * whole huge pages when that costs at most 1/32 of it (hmap_layout_fit():
 * the tail becomes overflow buckets, so nothing allocated is left unused or
 * unaccounted).  Call before accounting @l->array_bytes.
 * Context: any; pure computation.
 */
void hmap_array_fit(struct hmap_layout *l, u64 max_bytes)
{
	/* vmalloc_huge() maps huge pages only for a share of >= PMD_SIZE per
	 * online node: below that, rounding would buy nothing. */
	if (READ_ONCE(hugepages) && l->array_bytes / num_online_nodes() >= PMD_SIZE)
		hmap_layout_fit(l, PMD_SIZE, max_bytes);
}
EXPORT_SYMBOL_GPL(hmap_array_fit);

/**
 * hmap_array_alloc - allocate zeroed memory for a bucket array or pool chunk
 * @bytes: page aligned; a multiple of PMD_SIZE to be backed by huge pages
 * @gfp: GFP_KERNEL_ACCOUNT-based flags
 *
 * With hugepages=1, as alloc_large_system_hash() does for the kernel's own
 * big hash tables, a multiple of PMD_SIZE is mapped with huge pages (one TLB
 * entry for 2 MiB of buckets instead of 512).  Huge pages are only tried for, without retrying
 * reclaim and compaction (__GFP_NORETRY, as alloc_large_system_hash() asks
 * for no reclaim at all): when they are not at hand, the array is allocated
 * again in small pages with @gfp as given.  Pages of either kind are split
 * per 4 KiB, so hmap_mmap_vmalloc() maps them to user space one at a time,
 * each holding its own reference, as before.  (Pool chunks are never a
 * multiple of PMD_SIZE: their links share the allocation.)  Free with
 * vfree().
 * Context: process; may sleep.
 * Return: the memory, or NULL.
 */
void *hmap_array_alloc(u64 bytes, gfp_t gfp)
{
	void *p;

	if (READ_ONCE(hugepages) && bytes >= PMD_SIZE && IS_ALIGNED(bytes, PMD_SIZE)) {
		p = vmalloc_huge(bytes, (gfp & ~__GFP_RETRY_MAYFAIL) | __GFP_NORETRY |
				 __GFP_NOWARN | __GFP_ZERO);
		if (p)
			return p;
	}
	return __vmalloc(bytes, gfp | __GFP_ZERO);
}
EXPORT_SYMBOL_GPL(hmap_array_alloc);

/*
 * Live tables by id.  Slot = id % HMAP_MAX_TABLES; ids grow (cyclically) so a
 * freed id is not handed out again soon, and a handle also carries the
 * creation generation, so a stale one never resolves.  Writers hold
 * hmap_slots_lock; readers load a slot with READ_ONCE() and need no lock of
 * their own: a table is freed only after an RCU and an RCU-tasks-trace grace
 * period following the clearing of its slot (hmap_free_work()), which covers
 * every BPF program, sleepable or not, that can still hold the pointer.
 */
struct hmap *hmap_slots[HMAP_MAX_TABLES];
static DEFINE_SPINLOCK(hmap_slots_lock);
static u32 hmap_next_id = 1;		/* under hmap_slots_lock */
static u64 hmap_generation;		/* under hmap_slots_lock */
static struct workqueue_struct *hmap_wq;

static DEFINE_MUTEX(hmap_variant_lock);
static struct hmap_variant_ops *hmap_variants[HMAP_VARIANT_MAX];

/* Bucket, stripe and pool locks this CPU holds (hmap_plat_lock()): with
 * any held, a CPU only tries locks, so two CPUs never wait for each other. */
DEFINE_PER_CPU(int, hmap_locks_held);
EXPORT_PER_CPU_SYMBOL_GPL(hmap_locks_held);

static atomic64_t hmap_live_tables = ATOMIC64_INIT(0);
static atomic64_t hmap_live_bytes = ATOMIC64_INIT(0);
static atomic64_t hmap_created = ATOMIC64_INIT(0);
static atomic64_t hmap_freed = ATOMIC64_INIT(0);

/* ---- table lifetime ------------------------------------------------------ */

void hmap_get(struct hmap *t)
{
	refcount_inc(&t->refcnt);
}

/* Any context, NMI included: the free itself runs from hmap_wq. */
void hmap_put(struct hmap *t)
{
	if (refcount_dec_and_test(&t->refcnt))
		irq_work_queue(&t->put_work);
}

/* Context: process context. */
void hmap_locks_free(struct hmap_locks *l)
{
	int i;

	for (i = 0; i < HMAP_LOCK_DEPTH_SLOTS; i++)
		free_percpu(l->map_locked[i]);
	kvfree(l->lock);
}

static void hmap_free_mem(struct hmap *t)
{
	if (t->ops) {
		t->ops->free(t);
		module_put(t->ops->owner);
	}
	vfree(t->array);
	vfree(t->shm);
	hmap_locks_free(&t->tab.locks);
	free_percpu(t->pcpu);
	kfree(t);
}

/* Process context, after both grace periods: nothing can reach @t. */
static void hmap_free_work(struct work_struct *work)
{
	struct hmap *t = container_of(work, struct hmap, free_work);
	u64 bytes = t->bytes;

	irq_work_sync(&t->put_work);
	hmap_free_mem(t);
	atomic64_dec(&hmap_live_tables);
	atomic64_sub(bytes, &hmap_live_bytes);
	atomic64_inc(&hmap_freed);
	module_put(THIS_MODULE);
}

static void hmap_free_rcu(struct rcu_head *rcu)
{
	struct hmap *t = container_of(rcu, struct hmap, rcu);

	queue_work(hmap_wq, &t->free_work);
}

static void hmap_free_rcu_trace(struct rcu_head *rcu)
{
	call_rcu(rcu, hmap_free_rcu);
}

/*
 * Process context: unpublish the id, then wait (asynchronously) for every
 * program that may still hold the table or a value pointer: BPF programs
 * resolve handles under RCU (sleepable ones under RCU tasks trace).
 */
static void hmap_unpublish_work(struct work_struct *work)
{
	struct hmap *t = container_of(work, struct hmap, unpublish_work);

	spin_lock_bh(&hmap_slots_lock);
	WRITE_ONCE(hmap_slots[t->id % HMAP_MAX_TABLES], NULL);
	spin_unlock_bh(&hmap_slots_lock);
	call_rcu_tasks_trace(&t->rcu, hmap_free_rcu_trace);
}

static void hmap_put_irq_work(struct irq_work *w)
{
	struct hmap *t = container_of(w, struct hmap, put_work);

	queue_work(hmap_wq, &t->unpublish_work);
}

/**
 * hmap_locks_alloc_class - @nlocks stripes and their per-CPU re-entry counters
 * @l: filled in
 * @nlocks: stripes
 * @key: lockdep class for them, or NULL for the call site's
 * Context: process context, may sleep.  On failure the caller still calls
 * hmap_locks_free() for what was allocated.
 * Return: 0 or -ENOMEM.
 */
int hmap_locks_alloc_class(struct hmap_locks *l, u32 nlocks, struct lock_class_key *key)
{
	u32 i;

	l->lock = kvmalloc_array(nlocks, sizeof(*l->lock), GFP_KERNEL_ACCOUNT);
	if (!l->lock)
		return -ENOMEM;
	for (i = 0; i < nlocks; i++) {
		raw_spin_lock_init(&l->lock[i]);
		if (key)
			lockdep_set_class(&l->lock[i], key);
	}
	for (i = 0; i < HMAP_LOCK_DEPTH_SLOTS; i++) {
		l->map_locked[i] = alloc_percpu_gfp(int, GFP_KERNEL_ACCOUNT);
		if (!l->map_locked[i])
			return -ENOMEM;	/* caller frees what was allocated */
	}
	return 0;
}

EXPORT_SYMBOL_GPL(hmap_locks_alloc_class);

/* Stripes of fixed tables: one class (one is held at a time). */
int hmap_locks_alloc(struct hmap_locks *l, u32 nlocks)
{
	return hmap_locks_alloc_class(l, nlocks, NULL);
}
EXPORT_SYMBOL_GPL(hmap_locks_alloc);
EXPORT_SYMBOL_GPL(hmap_locks_free);

static DEFINE_SPINLOCK(hmap_account_lock);

/**
 * hmap_account_bytes - a variant's memory grew or shrank by @delta
 * Context: process context.
 */
void hmap_account_bytes(struct hmap *t, s64 delta)
{
	spin_lock(&hmap_account_lock);
	t->bytes += delta;
	spin_unlock(&hmap_account_lock);
	atomic64_add(delta, &hmap_live_bytes);
}
EXPORT_SYMBOL_GPL(hmap_account_bytes);

/**
 * hmap_account_reserve - account @bytes a variant is about to allocate
 * @t: the table
 * @bytes: to add
 * @limit: the table's bound (max_table_bytes at creation)
 *
 * Check and add in one step, so allocations racing in two work items never
 * pass the bound together.  Undo with hmap_account_bytes(t, -bytes).
 * Context: process context.
 * Return: true if accounted; false if @t would exceed @limit.
 */
bool hmap_account_reserve(struct hmap *t, u64 bytes, u64 limit)
{
	bool ok;

	spin_lock(&hmap_account_lock);
	ok = t->bytes + bytes <= limit;
	if (ok)
		t->bytes += bytes;
	spin_unlock(&hmap_account_lock);
	if (ok)
		atomic64_add(bytes, &hmap_live_bytes);
	return ok;
}
EXPORT_SYMBOL_GPL(hmap_account_reserve);

static struct hmap_variant_ops *hmap_variant_get(u32 variant)
{
	struct hmap_variant_ops *ops;

	mutex_lock(&hmap_variant_lock);
	ops = hmap_variants[variant];
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	mutex_unlock(&hmap_variant_lock);
	return ops;
}

/**
 * hmap_create - make a table
 * @attr: shape; see struct hmap_create_attr
 *
 * Context: process context, may sleep.  Memory is charged to the caller's
 * memcg.
 * Return: a table with one reference, or ERR_PTR: -EINVAL (zero size or
 * capacity, unknown variant, non-zero flags), -E2BIG (size over its maximum,
 * capacity too large, array over max_table_bytes), -EOPNOTSUPP (variant
 * module not loaded), -ENOMEM, -ENOSPC (no free table id).
 */
struct hmap *hmap_create(const struct hmap_create_attr *attr)
{
	struct hmap_shm_header *shm;
	struct hmap_layout *l;
	hmap_seed_t seed;
	struct hmap *t;
	u32 id, n;
	int ret;

	if (attr->flags || attr->variant >= HMAP_VARIANT_MAX)
		return ERR_PTR(-EINVAL);

	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return ERR_PTR(-ENOMEM);
	l = &t->layout;
	t->bytes = PAGE_SIZE;	/* the header page; a variant adds its own */
	refcount_set(&t->refcnt, 1);
	init_irq_work(&t->put_work, hmap_put_irq_work);
	INIT_WORK(&t->unpublish_work, hmap_unpublish_work);
	INIT_WORK(&t->free_work, hmap_free_work);
	t->variant = attr->variant;

	if (attr->variant != HMAP_VARIANT_FIXED) {
		t->ops = hmap_variant_get(attr->variant);
		if (!t->ops) {
			ret = -EOPNOTSUPP;
			goto err_free;
		}
	}
	/* A variant sizes its own arrays (hrh_init()); here only the sizes. */
	ret = t->ops ? hmap_layout_init(l, attr->key_size, attr->value_size, 1, max_table_bytes)
		     : hmap_layout_init_exact(l, attr->key_size, attr->value_size, attr->capacity,
					      max_table_bytes);
	if (ret)
		goto err_free;
	if (!t->ops)
		hmap_array_fit(l, max_table_bytes);

	ret = -ENOMEM;
	t->pcpu = alloc_percpu_gfp(struct hmap_pcpu_stats, GFP_KERNEL_ACCOUNT);
	if (!t->pcpu)
		goto err_free;
	t->shm = __vmalloc(PAGE_SIZE, GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!t->shm)
		goto err_free;
	shm = t->shm;
	get_random_bytes(&seed, sizeof(seed));

	shm->magic = HMAP_SHM_MAGIC;
	shm->abi_version = HMAP_ABI_VERSION;
	shm->variant = attr->variant;
	shm->key_size = l->key_size;
	shm->value_size = l->value_size;
	shm->key_stride = l->key_stride;
	shm->value_stride = l->value_stride;
	shm->bucket_size = l->bucket_size;
	shm->keys_offset = l->keys_off;
	shm->values_offset = l->values_off;
	shm->seed[0] = seed.key[0];
	shm->seed[1] = seed.key[1];
	shm->capacity = l->capacity;

	if (t->ops) {
		ret = t->ops->init(t, attr, max_table_bytes);
		if (ret)
			goto err_free;
	} else {
		ret = hmap_locks_alloc(&t->tab.locks, l->nlocks);
		if (ret)
			goto err_free;
		t->array = hmap_array_alloc(l->array_bytes, GFP_KERNEL_ACCOUNT | __GFP_NOWARN |
					    __GFP_RETRY_MAYFAIL);
		if (!t->array) {
			ret = -ENOMEM;
			goto err_free;
		}
		hmap_tab_init(&t->tab, l, t->array, &shm->entries, &seed, &t->tab.locks);
		shm->narrays = 1;
		shm->arrays[0].mmap_offset = PAGE_SIZE;
		shm->arrays[0].mmap_size = l->array_bytes;
		shm->arrays[0].nbuckets = l->nbuckets;
		shm->arrays[0].noverflow = l->noverflow;
		t->bytes += l->array_bytes + l->nlocks * sizeof(raw_spinlock_t);
	}

	/* Find a free slot for the next id, make the handle, publish. */
	ret = -ENOSPC;
	spin_lock_bh(&hmap_slots_lock);
	for (n = 0; n < HMAP_MAX_TABLES; n++) {
		id = hmap_next_id;
		hmap_next_id = id >= INT_MAX ? 1 : id + 1;
		if (hmap_slots[id % HMAP_MAX_TABLES])
			continue;
		hmap_generation++;
		t->id = id;
		t->handle = ((hmap_generation & ((1ULL << 30) - 1)) << 32) | id;
		shm->id = id;
		smp_store_release(&hmap_slots[id % HMAP_MAX_TABLES], t);
		ret = 0;
		break;
	}
	spin_unlock_bh(&hmap_slots_lock);
	if (ret)
		goto err_free;	/* HMAP_MAX_TABLES tables exist */

	__module_get(THIS_MODULE);
	atomic64_inc(&hmap_live_tables);
	/* A variant accounts its own memory as it allocates (hmap_account_bytes). */
	atomic64_add(t->ops ? PAGE_SIZE : t->bytes, &hmap_live_bytes);
	atomic64_inc(&hmap_created);
	return t;

err_free:
	if (t->ops && t->variant_data)
		t->ops->free(t);
	if (t->ops)
		atomic64_sub(t->bytes - PAGE_SIZE, &hmap_live_bytes);
	if (t->ops) {
		module_put(t->ops->owner);
		t->ops = NULL;
	}
	vfree(t->array);
	vfree(t->shm);
	hmap_locks_free(&t->tab.locks);
	free_percpu(t->pcpu);
	kfree(t);
	return ERR_PTR(ret);
}

/* Process context: a new reference, or NULL. */
struct hmap *hmap_get_by_id(u32 id)
{
	struct hmap *t;

	rcu_read_lock();
	t = READ_ONCE(hmap_slots[id % HMAP_MAX_TABLES]);
	if (t && (t->id != id || !refcount_inc_not_zero(&t->refcnt)))
		t = NULL;
	rcu_read_unlock();
	return t;
}

void hmap_stats_read(struct hmap *t, struct hmap_stats *st)
{
	int cpu;

	memset(st, 0, sizeof(*st));
	for_each_possible_cpu(cpu) {
		const struct hmap_pcpu_stats *p = per_cpu_ptr(t->pcpu, cpu);

		st->hits += READ_ONCE(p->hits);
		st->lookups += READ_ONCE(p->hits) + READ_ONCE(p->misses);
		st->updates += READ_ONCE(p->updates);
		st->deletes += READ_ONCE(p->deletes);
		st->enospc += READ_ONCE(p->enospc);
		st->ebusy += READ_ONCE(p->ebusy);
		st->einval += READ_ONCE(p->einval);
	}
	st->entries = READ_ONCE(t->shm->entries);
	st->capacity = READ_ONCE(t->shm->capacity);
	if (t->ops) {
		t->ops->stats(t, st);
	} else {
		st->nbuckets = t->tab.l.nbuckets;
		st->noverflow = t->tab.l.noverflow;
		st->overflow_used = hmap_tab_overflow_used(&t->tab);
	}
}

/* ---- the incremental variant's data ops (static calls; hmap_table.h) ----- */

int hmap_noop_update(struct hmap *t, const void *key, const void *value,
			    u32 flags, void **valp)
{
	return -EOPNOTSUPP;
}

int hmap_noop_delete(struct hmap *t, const void *key)
{
	return -EOPNOTSUPP;
}

DEFINE_STATIC_CALL(hmap_incr_update, hmap_noop_update);
DEFINE_STATIC_CALL(hmap_incr_delete, hmap_noop_delete);

/* ---- variants ------------------------------------------------------------ */

/**
 * hmap_register_variant - plug a variant in (from the variant module's init)
 * @variant: HMAP_VARIANT_INCREMENTAL, the only one besides the fixed tables
 * @ops: its hooks; update and delete must be set (static calls), and
 *       layout_hash must be this build's HMAP_LAYOUT_HASH (lookups of the
 *       variant's tables run inline here, from the same headers)
 *
 * The data ops' static calls are patched before the variant is published:
 * no table of it exists before then.  The variant module calls this last
 * in its init, after every step that can fail: a module whose init fails
 * is freed at once, and the static calls would point into it.
 * Context: process context, may sleep (text patching).
 * Return: 0; -EINVAL bad variant, a data op missing or a module built from
 * other headers; -EEXIST already registered.
 */
int hmap_register_variant(u32 variant, struct hmap_variant_ops *ops)
{
	int ret = 0;

	if (variant != HMAP_VARIANT_INCREMENTAL || !ops->update || !ops->delete ||
	    ops->layout_hash != HMAP_LAYOUT_HASH) {
		pr_err("variant %u refused: not HMAP_VARIANT_INCREMENTAL, ops missing, or built from other headers than hmap.ko (layout %#x, hmap.ko's %#x): build both modules from one tree\n",
		       variant, ops->layout_hash, HMAP_LAYOUT_HASH);
		return -EINVAL;
	}
	mutex_lock(&hmap_variant_lock);
	if (hmap_variants[variant]) {
		ret = -EEXIST;
	} else {
		static_call_update(hmap_incr_update, ops->update);
		static_call_update(hmap_incr_delete, ops->delete);
		hmap_variants[variant] = ops;
	}
	mutex_unlock(&hmap_variant_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(hmap_register_variant);

/**
 * hmap_unregister_variant - unplug a variant (from the variant module's exit)
 * @variant: as registered
 * @ops: as registered; anything else is ignored
 *
 * No table of it is left (each held the module), so no program can reach
 * the static calls while they go back to the defaults.
 * Context: process context, may sleep (text patching).
 */
void hmap_unregister_variant(u32 variant, struct hmap_variant_ops *ops)
{
	if (variant != HMAP_VARIANT_INCREMENTAL)
		return;
	mutex_lock(&hmap_variant_lock);
	if (hmap_variants[variant] == ops) {
		hmap_variants[variant] = NULL;
		static_call_update(hmap_incr_update, hmap_noop_update);
		static_call_update(hmap_incr_delete, hmap_noop_delete);
	}
	mutex_unlock(&hmap_variant_lock);
}
EXPORT_SYMBOL_GPL(hmap_unregister_variant);

/* ---- ids and module statistics, for /dev/hmap -------------------------- */

/* Process context: the smallest live id above @start, or 0 if none. */
u32 hmap_next_id_after(u32 start)
{
	struct hmap *t;
	u32 n, next = 0;

	spin_lock_bh(&hmap_slots_lock);
	for (n = 0; n < HMAP_MAX_TABLES; n++) {
		t = hmap_slots[n];
		if (t && t->id > start && (!next || t->id < next))
			next = t->id;
	}
	spin_unlock_bh(&hmap_slots_lock);
	return next;
}

/* Any context: the module-wide counters (a snapshot, not atomic as a whole). */
void hmap_modstats_read(struct hmap_ioc_modstats *ms)
{
	ms->live_tables = atomic64_read(&hmap_live_tables);
	ms->live_bytes = atomic64_read(&hmap_live_bytes);
	ms->created = atomic64_read(&hmap_created);
	ms->freed = atomic64_read(&hmap_freed);
}

/* ---- setup ----------------------------------------------------------------- */

/* Context: module init. */
int __init hmap_table_init(void)
{
	hmap_wq = alloc_workqueue("hmap_free", WQ_UNBOUND, 0);
	return hmap_wq ? 0 : -ENOMEM;
}

/*
 * Context: module exit.  Tables hold module references, so none is left;
 * wait for the free work that dropped the last one to return.
 */
void hmap_table_exit(void)
{
	destroy_workqueue(hmap_wq);
	WARN_ON(atomic64_read(&hmap_live_tables));
}
