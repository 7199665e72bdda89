// SPDX-License-Identifier: GPL-2.0
/*
 * hmap.ko: Go-map-style hash tables in kernel memory for BPF programs.
 *
 * Tables are created by a SYSCALL BPF program (bpf_hmap_create()) and owned
 * by a descriptor BPF array map that holds a referenced kptr to them; BPF
 * programs reach a table through its handle (bpf_hmap_lookup() and friends);
 * user space opens a table fd through /dev/hmap and maps it read-only.
 * Locking and RCU rules: hmap_engine.h (data path), hmap.h (lifetime).
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/rcupdate_trace.h>
#include <linux/miscdevice.h>
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <linux/capability.h>
#include <linux/workqueue.h>
#include <linux/irq_work.h>
#include <linux/compat.h>
#include <linux/static_call.h>

#include "hmap_compat.h"
#include "hmap.h"
#include "hmap_grow.h"

static unsigned long max_table_bytes = 4UL << 30;
module_param(max_table_bytes, ulong, 0644);
MODULE_PARM_DESC(max_table_bytes, "Largest bucket array one table may allocate, in bytes (default 4 GiB)");

/*
 * Live tables by id.  Slot = id % HMAP_MAX_TABLES; ids grow (cyclically) so a
 * freed id is not handed out again soon, and a handle also carries the
 * creation generation, so a stale one never resolves.  Writers hold
 * hmap_slots_lock; readers load a slot with READ_ONCE() and need no lock of
 * their own: a table is freed only after an RCU and an RCU-tasks-trace grace
 * period following the clearing of its slot (hmap_free_work()), which covers
 * every BPF program, sleepable or not, that can still hold the pointer.
 */
#define HMAP_MAX_TABLES		16384
static struct hmap *hmap_slots[HMAP_MAX_TABLES];
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

static void hmap_get(struct hmap *t)
{
	refcount_inc(&t->refcnt);
}

/* Any context, NMI included: the free itself runs from hmap_wq. */
static void hmap_put(struct hmap *t)
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
static struct hmap *hmap_create(const struct hmap_create_attr *attr)
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
		t->array = __vmalloc(l->array_bytes, GFP_KERNEL_ACCOUNT | __GFP_ZERO |
				     __GFP_NOWARN | __GFP_RETRY_MAYFAIL);
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

/* Process context: a new reference, or NULL. */
static struct hmap *hmap_get_by_id(u32 id)
{
	struct hmap *t;

	rcu_read_lock();
	t = READ_ONCE(hmap_slots[id % HMAP_MAX_TABLES]);
	if (t && (t->id != id || !refcount_inc_not_zero(&t->refcnt)))
		t = NULL;
	rcu_read_unlock();
	return t;
}

/* ---- data path shared by kfuncs and ioctls ------------------------------ */

/*
 * The incremental variant's lookups run inline here (hgr_lookup() on
 * t->grow), and its writes are static calls, patched to its functions when
 * it registers (as kvm.ko calls kvm-intel's ops): a call through t->ops is a
 * retpoline on most x86 machines, which cost its lookups more than the
 * lookup itself.  HMAP_VARIANT_INCREMENTAL is the only variant besides the
 * fixed one, so t->ops != NULL means these.  The defaults refuse; they never
 * run for a table, which holds its variant's module (and so its
 * registration) until it is freed.
 */
static int hmap_noop_update(struct hmap *t, const void *key, const void *value,
			    u32 flags, void **valp)
{
	return -EOPNOTSUPP;
}

static int hmap_noop_delete(struct hmap *t, const void *key)
{
	return -EOPNOTSUPP;
}

DEFINE_STATIC_CALL(hmap_incr_update, hmap_noop_update);
DEFINE_STATIC_CALL(hmap_incr_delete, hmap_noop_delete);

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

static void hmap_stats_read(struct hmap *t, struct hmap_stats *st)
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

/*
 * The lookup kfuncs' common part: resolve the handle, check the sizes, look
 * up, count.  *@tp is the table when the key may be inserted (NULL for an
 * unknown handle or a size mismatch).
 */
static __always_inline void *__bpf_hmap_lookup(u64 handle, const void *key, u32 key_size,
					       u32 value_size, struct hmap **tp)
{
	struct hmap *t = hmap_from_handle(handle, false);
	void *v;

	*tp = NULL;
	if (unlikely(!t))
		return NULL;
	if (unlikely(key_size != t->layout.key_size || value_size != t->layout.value_size)) {
		this_cpu_inc(t->pcpu->einval);
		return NULL;
	}
	*tp = t;
	v = hmap_do_lookup(t, key);
	if (v)
		this_cpu_inc(t->pcpu->hits);
	else
		this_cpu_inc(t->pcpu->misses);
	return v;
}

/* ---- kfuncs ------------------------------------------------------------- */

__bpf_kfunc_start_defs();

/**
 * bpf_hmap_create - create a table
 * @attr: shape in; on failure @attr->err is set to the negative errno, on
 *        success @attr->id and @attr->handle are set
 *
 * Context: SYSCALL programs only (sleepable); may sleep.
 * Return: an acquired reference, to be stored with bpf_kptr_xchg() into a
 * descriptor map or dropped with bpf_hmap_release(); NULL on failure, with
 * the reason in @attr->err (see hmap_create()).
 */
__bpf_kfunc struct hmap *bpf_hmap_create(struct hmap_create_attr *attr)
{
	struct hmap *t = hmap_create(attr);

	if (IS_ERR(t)) {
		attr->err = PTR_ERR(t);
		return NULL;
	}
	attr->err = 0;
	attr->id = t->id;
	attr->handle = t->handle;
	return t;
}

/**
 * bpf_hmap_release - drop a table reference
 * @t: an acquired reference
 *
 * The table is freed, after RCU grace periods, when its last reference goes.
 * @t may be NULL (see bpf_hmap_release_dtor()).
 * Context: any; never sleeps.
 */
__bpf_kfunc void bpf_hmap_release(struct hmap *t)
{
	if (t)
		hmap_put(t);
}

/**
 * bpf_hmap_release_dtor - destructor of the descriptor map's kptr
 * @t: the table the kptr held, or NULL: 6.1's bpf_map_free_kptrs() calls
 *     the destructor for empty kptr slots too
 *
 * The BPF core calls this through a function pointer it looks up by BTF id
 * (typed btf_dtor_kfunc_t, hence the void *), never by a C reference objtool
 * can see.  With IBT (Debian's 6.12 has X86_KERNEL_IBT), objtool lists every
 * function whose address C never takes in .ibt_endbr_seal, and the module
 * loader overwrites their ENDBR instructions; an indirect call to a sealed
 * function then raises #CP on a CPU that enforces IBT.  CFI_NOSEAL keeps the
 * ENDBR, as kernel/bpf/cpumask.c does for its destructors.  QEMU's TCG does
 * not emulate CET, so no VM test here could see the fault: the build checks
 * instead that no *_dtor function is in the seal list
 * (kmod/scripts/check-ibt-seal.sh).
 * Context: any, NMI included; never sleeps.
 */
__bpf_kfunc void bpf_hmap_release_dtor(void *t)
{
	bpf_hmap_release(t);
}
CFI_NOSEAL(bpf_hmap_release_dtor);

/**
 * bpf_hmap_lookup - find a key, return its value in place
 * @handle: table handle (struct hmap_desc::handle)
 * @key: key buffer
 * @key__sz: size of @key; must equal the table's key size
 * @rdwr_buf_size: value size the program expects; must equal the table's
 *
 * Context: XDP, SCHED_CLS, TRACING, SYSCALL programs, and on 6.12 the types
 * in hmap_data_prog_types[]; any context up to NMI; lock-free, never
 * sleeps, safe when re-entered.
 * Return: writable pointer to the value, valid until the program returns;
 * NULL if the key is absent, the handle is unknown or stale (or has update
 * flags set), or a size does not match the table (counted in stats.einval).
 * The return type is u8 *, not void *: the verifier types the result as
 * @rdwr_buf_size bytes of writable memory only for a pointer to a scalar;
 * 6.12 types a kfunc's void * result as an untyped scalar the program cannot
 * dereference (6.1 accepted either).
 */
__bpf_kfunc u8 *bpf_hmap_lookup(u64 handle, const void *key, u32 key__sz,
				u32 rdwr_buf_size)
{
	struct hmap *t;

	return __bpf_hmap_lookup(handle, key, key__sz, rdwr_buf_size, &t);
}

/**
 * bpf_hmap_lookup_or_init - find a key, or insert it with a zeroed value
 * @handle: table handle
 * @key: key buffer
 * @key__sz: size of @key; must equal the table's key size
 * @rdwr_buf_size: value size the program expects; must equal the table's
 *
 * Meant for counters: add to the returned value with __sync_fetch_and_add().
 * Context: as bpf_hmap_lookup(); the insert takes a bucket lock, never sleeps.
 * Return: writable pointer to the existing or new value; NULL if the handle
 * is unknown or stale, a size does not match, the table is full (-ENOSPC
 * counted in stats.enospc) or the bucket lock is held by this CPU already
 * (stats.ebusy).
 */
__bpf_kfunc u8 *bpf_hmap_lookup_or_init(u64 handle, const void *key, u32 key__sz,
					u32 rdwr_buf_size)
{
	struct hmap *t;
	void *v = __bpf_hmap_lookup(handle, key, key__sz, rdwr_buf_size, &t);

	if (v || !t)
		return v;
	if (hmap_do_update(t, key, NULL, HMAP_INIT, &v))
		return NULL;
	return v;
}

/**
 * bpf_hmap_update - insert or replace a key's value
 * @handle: table handle, OR-ed with HMAP_UPDATE_FLAGS(BPF_ANY | BPF_NOEXIST |
 *          BPF_EXIST) (BPF allows kfuncs five arguments, so flags ride here)
 * @key: key buffer
 * @key__sz: size of @key; must equal the table's key size
 * @value: value buffer
 * @value__sz: size of @value; must equal the table's value size
 *
 * Context: as bpf_hmap_lookup(); takes a bucket lock
 * with IRQs off, never sleeps.
 * Return: 0; -EBADF unknown or stale handle; -EINVAL wrong size or flags;
 * -EEXIST (BPF_NOEXIST) key present; -ENOENT (BPF_EXIST) key absent;
 * -ENOSPC table full; -EBUSY bucket lock already held on this CPU (a
 * re-entered tracing program): retry later.  On error nothing changed.
 */
__bpf_kfunc int bpf_hmap_update(u64 handle, const void *key, u32 key__sz,
				const void *value, u32 value__sz)
{
	struct hmap *t = hmap_from_handle(handle, true);
	u32 flags = handle >> HMAP_HANDLE_FLAGS_SHIFT;

	if (unlikely(!t))
		return -EBADF;
	if (unlikely(key__sz != t->layout.key_size || value__sz != t->layout.value_size ||
		     flags > HMAP_EXIST)) {
		this_cpu_inc(t->pcpu->einval);
		return -EINVAL;
	}
	return hmap_do_update(t, key, value, flags, NULL);
}

/**
 * bpf_hmap_delete - remove a key
 * @handle: table handle
 * @key: key buffer
 * @key__sz: size of @key; must equal the table's key size
 *
 * Context: as bpf_hmap_update().
 * Return: 0; -EBADF unknown or stale handle (or update flags set in it);
 * -EINVAL wrong key size; -ENOENT key absent; -EBUSY bucket lock already held
 * on this CPU.
 */
__bpf_kfunc int bpf_hmap_delete(u64 handle, const void *key, u32 key__sz)
{
	struct hmap *t = hmap_from_handle(handle, false);

	if (unlikely(!t))
		return -EBADF;
	if (unlikely(key__sz != t->layout.key_size)) {
		this_cpu_inc(t->pcpu->einval);
		return -EINVAL;
	}
	return hmap_do_delete(t, key);
}

/**
 * bpf_hmap_stats - read a table's statistics
 * @handle: table handle
 * @st: filled in, e.g. struct hmap_desc::stats in the descriptor map
 *
 * Context: XDP, TRACING (and on 6.12 the types sharing its hook: tracepoint,
 * perf_event, LSM) and SYSCALL programs only, since @st is written (see
 * hmap_kfunc_ids_data); never sleeps (sums per-CPU counters: not for a
 * fast path).
 * Return: 0; -EBADF unknown or stale handle (@st zeroed).
 */
__bpf_kfunc int bpf_hmap_stats(u64 handle, struct hmap_stats *st)
{
	struct hmap *t = hmap_from_handle(handle, false);

	if (unlikely(!t)) {
		memset(st, 0, sizeof(*st));
		return -EBADF;
	}
	hmap_stats_read(t, st);
	return 0;
}

__bpf_kfunc_end_defs();

/*
 * Data kfuncs: every program type that may call them.  bpf_hmap_stats()
 * writes through a pointer the program chooses, and the verifier checks a
 * kfunc's memory argument for bounds only: a packet pointer would pass even
 * where the program may only read the packet (CGROUP_SKB, LWT) or must
 * unclone it first (tc).  So only XDP (packet writable, never cloned),
 * TRACING (no packet pointers) and SYSCALL programs get it.  One set per
 * hook: a module may register one set per program type.
 */
HMAP_KFUNCS_START(hmap_kfunc_ids_data)
BTF_ID_FLAGS(func, bpf_hmap_lookup, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_lookup_or_init, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_update)
BTF_ID_FLAGS(func, bpf_hmap_delete)
HMAP_KFUNCS_END(hmap_kfunc_ids_data)

HMAP_KFUNCS_START(hmap_kfunc_ids_data_stats)
BTF_ID_FLAGS(func, bpf_hmap_lookup, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_lookup_or_init, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_update)
BTF_ID_FLAGS(func, bpf_hmap_delete)
BTF_ID_FLAGS(func, bpf_hmap_stats)
HMAP_KFUNCS_END(hmap_kfunc_ids_data_stats)

/* SYSCALL programs also create and release (one set per hook on 6.1). */
HMAP_KFUNCS_START(hmap_kfunc_ids_syscall)
BTF_ID_FLAGS(func, bpf_hmap_create, KF_ACQUIRE | KF_RET_NULL | KF_SLEEPABLE)
BTF_ID_FLAGS(func, bpf_hmap_release, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_hmap_lookup, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_lookup_or_init, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_update)
BTF_ID_FLAGS(func, bpf_hmap_delete)
BTF_ID_FLAGS(func, bpf_hmap_stats)
HMAP_KFUNCS_END(hmap_kfunc_ids_syscall)

static const struct btf_kfunc_id_set hmap_kfunc_set_data = {
	.owner	= THIS_MODULE,
	.set	= &hmap_kfunc_ids_data,
};

static const struct btf_kfunc_id_set hmap_kfunc_set_data_stats = {
	.owner	= THIS_MODULE,
	.set	= &hmap_kfunc_ids_data_stats,
};

static const struct btf_kfunc_id_set hmap_kfunc_set_syscall = {
	.owner	= THIS_MODULE,
	.set	= &hmap_kfunc_ids_syscall,
};

BTF_ID_LIST(hmap_dtor_ids)
BTF_ID(struct, hmap)
BTF_ID(func, bpf_hmap_release_dtor)

/* ---- table fd: mmap and ioctls ------------------------------------------ */

static void hmap_vm_open(struct vm_area_struct *vma)
{
	hmap_get(vma->vm_private_data);
}

static void hmap_vm_close(struct vm_area_struct *vma)
{
	hmap_put(vma->vm_private_data);
}

static const struct vm_operations_struct hmap_vm_ops = {
	.open	= hmap_vm_open,
	.close	= hmap_vm_close,
};

/**
 * hmap_mmap_vmalloc - map part of a vmalloc area read-only, holding @t
 * @t: the table; a mapping holds a reference until unmapped
 * @vma: from the mmap call; its offset was already matched to @base
 * @base: vmalloc'ed, page aligned
 * @size: bytes at @base that may be mapped
 *
 * Context: process context, mmap lock held.
 * Return: 0; -EINVAL mapping longer than @size; -EPERM writable mapping.
 */
int hmap_mmap_vmalloc(struct hmap *t, struct vm_area_struct *vma, void *base, u64 size)
{
	unsigned long len = vma->vm_end - vma->vm_start, off;
	int ret;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	if (len > PAGE_ALIGN(size))
		return -EINVAL;
	hmap_vm_flags_mod(vma, VM_DONTEXPAND | VM_DONTDUMP, VM_MAYWRITE);
	for (off = 0; off < len; off += PAGE_SIZE) {
		ret = vm_insert_page(vma, vma->vm_start + off, vmalloc_to_page(base + off));
		if (ret)
			return ret;
	}
	vma->vm_ops = &hmap_vm_ops;
	vma->vm_private_data = t;
	hmap_get(t);
	return 0;
}
EXPORT_SYMBOL_GPL(hmap_mmap_vmalloc);

static int hmap_table_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct hmap *t = file->private_data;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;

	if (off == 0)
		return hmap_mmap_vmalloc(t, vma, t->shm, PAGE_SIZE);
	if (t->ops)
		return t->ops->mmap(t, vma);
	if (off == t->shm->arrays[0].mmap_offset)
		return hmap_mmap_vmalloc(t, vma, t->array, t->layout.array_bytes);
	return -EINVAL;
}

static long hmap_ioctl_elem(struct file *file, struct hmap *t, unsigned int cmd,
			    void __user *uarg)
{
	struct hmap_ioc_elem req;
	u32 ksz = t->shm->key_size, vsz = t->shm->value_size;
	void *key = NULL, *val = NULL;
	long ret;

	/* As a BPF map fd: writes need an fd opened for writing. */
	if (cmd != HMAP_IOC_LOOKUP && !(file->f_mode & FMODE_WRITE))
		return -EPERM;
	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.key_size != ksz || (cmd != HMAP_IOC_DELETE && req.value_size != vsz) ||
	    (cmd == HMAP_IOC_UPDATE ? req.flags > HMAP_EXIST : req.flags))
		return -EINVAL;
	key = memdup_user(u64_to_user_ptr(req.key), ksz);
	if (IS_ERR(key))
		return PTR_ERR(key);
	if (cmd != HMAP_IOC_DELETE) {
		val = cmd == HMAP_IOC_UPDATE ? memdup_user(u64_to_user_ptr(req.value), vsz)
					     : kmalloc(vsz, GFP_KERNEL);
		if (IS_ERR_OR_NULL(val)) {
			ret = val ? PTR_ERR(val) : -ENOMEM;
			val = NULL;
			goto out;
		}
	}

	switch (cmd) {
	case HMAP_IOC_LOOKUP:
		/* A consistent copy: under the stripe lock, not a racy memcpy. */
		rcu_read_lock();
		if (t->ops)
			ret = t->ops->lookup_copy(t, key, val);
		else
			ret = hmap_tab_lookup_copy(&t->tab, key, hmap_tab_hash(&t->tab, key), val);
		if (!ret)
			this_cpu_inc(t->pcpu->hits);
		else
			this_cpu_inc(t->pcpu->misses);
		rcu_read_unlock();
		if (!ret && copy_to_user(u64_to_user_ptr(req.value), val, vsz))
			ret = -EFAULT;
		break;
	case HMAP_IOC_UPDATE:
		rcu_read_lock();
		ret = hmap_do_update(t, key, val, req.flags, NULL);
		rcu_read_unlock();
		break;
	default:
		rcu_read_lock();
		ret = hmap_do_delete(t, key);
		rcu_read_unlock();
	}
out:
	kfree(val);
	kfree(key);
	return ret;
}

static long hmap_table_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct hmap *t = file->private_data;
	void __user *uarg = (void __user *)arg;
	struct hmap_info info;

	switch (cmd) {
	case HMAP_IOC_INFO:
		memset(&info, 0, sizeof(info));
		info.id = t->id;
		info.variant = t->variant;
		info.key_size = t->shm->key_size;
		info.value_size = t->shm->value_size;
		info.handle = t->handle;
		info.bytes = t->bytes;
		hmap_stats_read(t, &info.stats);
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	case HMAP_IOC_LOOKUP:
	case HMAP_IOC_UPDATE:
	case HMAP_IOC_DELETE:
		return hmap_ioctl_elem(file, t, cmd, uarg);
	default:
		return -ENOTTY;
	}
}

static int hmap_table_release(struct inode *inode, struct file *file)
{
	hmap_put(file->private_data);
	return 0;
}

static const struct file_operations hmap_table_fops = {
	.owner		= THIS_MODULE,
	.mmap		= hmap_table_mmap,
	.unlocked_ioctl	= hmap_table_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,	/* every argument is fixed-size, u64 pointers */
	.release	= hmap_table_release,
	.llseek		= noop_llseek,
};

/* ---- /dev/hmap ---------------------------------------------------------- */

static long hmap_dev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct hmap_ioc_modstats ms;
	struct hmap_ioc_next_id nid;
	struct hmap_ioc_fd req;
	struct hmap *t;
	int fd;
	u32 n;

	switch (cmd) {
	case HMAP_IOC_TABLE_FD:
		/* As bpf_map_get_fd_by_id() on 6.1 and 6.12: ids are global,
		 * so opening by id needs CAP_SYS_ADMIN. */
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (copy_from_user(&req, uarg, sizeof(req)))
			return -EFAULT;
		if (req.flags & ~HMAP_FD_RDONLY)
			return -EINVAL;
		t = hmap_get_by_id(req.id);
		if (!t)
			return -ENOENT;
		fd = anon_inode_getfd("hmap-table", &hmap_table_fops, t, O_CLOEXEC |
				      (req.flags & HMAP_FD_RDONLY ? O_RDONLY : O_RDWR));
		if (fd < 0)
			hmap_put(t);
		return fd;
	case HMAP_IOC_NEXT_ID:
		if (copy_from_user(&nid, uarg, sizeof(nid)))
			return -EFAULT;
		if (nid.start_id >= INT_MAX)
			return -ENOENT;
		nid.next_id = 0;
		spin_lock_bh(&hmap_slots_lock);
		for (n = 0; n < HMAP_MAX_TABLES; n++) {
			t = hmap_slots[n];
			if (t && t->id > nid.start_id && (!nid.next_id || t->id < nid.next_id))
				nid.next_id = t->id;
		}
		spin_unlock_bh(&hmap_slots_lock);
		if (!nid.next_id)
			return -ENOENT;
		return copy_to_user(uarg, &nid, sizeof(nid)) ? -EFAULT : 0;
	case HMAP_IOC_MODSTATS:
		ms.live_tables = atomic64_read(&hmap_live_tables);
		ms.live_bytes = atomic64_read(&hmap_live_bytes);
		ms.created = atomic64_read(&hmap_created);
		ms.freed = atomic64_read(&hmap_freed);
		return copy_to_user(uarg, &ms, sizeof(ms)) ? -EFAULT : 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations hmap_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= hmap_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice hmap_miscdev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= HMAP_DEV_NAME,
	.fops	= &hmap_dev_fops,
	.mode	= 0600,
};

/* ---- variants ------------------------------------------------------------ */

/**
 * hmap_register_variant - plug a variant in (from the variant module's init)
 * @variant: HMAP_VARIANT_INCREMENTAL, the only one besides the fixed tables
 * @ops: its hooks; update and delete must be set (static calls), and
 *       hgr_size must be this build's sizeof(struct hgr) (lookups run inline)
 *
 * The data ops' static calls are patched before the variant is published:
 * no table of it exists before then.
 * Context: process context, may sleep (text patching).
 * Return: 0; -EINVAL bad variant, a data op missing or a struct hgr of
 * another build; -EEXIST already registered.
 */
int hmap_register_variant(u32 variant, struct hmap_variant_ops *ops)
{
	int ret = 0;

	if (variant != HMAP_VARIANT_INCREMENTAL || !ops->update || !ops->delete ||
	    ops->hgr_size != sizeof(struct hgr)) {
		pr_err("variant %u: not HMAP_VARIANT_INCREMENTAL, missing ops, or built against another hmap_grow.h\n",
		       variant);
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

/*
 * Context: process context; the variant module's exit.  No table of it is
 * left (each held the module), so no program can reach the static calls
 * while they go back to the defaults.
 */
void hmap_unregister_variant(u32 variant)
{
	if (variant != HMAP_VARIANT_INCREMENTAL)
		return;
	mutex_lock(&hmap_variant_lock);
	hmap_variants[variant] = NULL;
	static_call_update(hmap_incr_update, hmap_noop_update);
	static_call_update(hmap_incr_delete, hmap_noop_delete);
	mutex_unlock(&hmap_variant_lock);
}
EXPORT_SYMBOL_GPL(hmap_unregister_variant);

/* ---- module ------------------------------------------------------------- */

/*
 * The program types that may call the data kfuncs, per kernel
 * (kernel/bpf/btf.c, bpf_prog_type_to_kfunc_hook()).  6.1 has kfunc hooks
 * for XDP, TC (SCHED_CLS), TRACING and SYSCALL only.  6.12 adds hooks for
 * SCHED_ACT, CGROUP (CGROUP_SKB and the other cgroup types), SOCKET_FILTER,
 * LWT (all LWT types), SK_SKB and KPROBE, and maps TRACEPOINT, PERF_EVENT
 * and LSM to the TRACING hook.  The gate is the version tested here, 6.12,
 * not the one each hook arrived in: on 6.1 registering a type that has no
 * hook fails and btf_populate_kfunc_set() then frees every set the module
 * registered before, so a wrong guess is not harmless.  Every type listed is
 * tested in the VM (test_progtypes).  All may run in any context up to NMI
 * (kprobes), which the kfuncs allow; and only CAP_BPF programs may call
 * kfuncs at all, so an unprivileged socket filter cannot reach a table.
 */
static const struct {
	enum bpf_prog_type type;
	const struct btf_kfunc_id_set *set;
} hmap_data_prog_types[] = {
	{ BPF_PROG_TYPE_XDP,		&hmap_kfunc_set_data_stats },
	{ BPF_PROG_TYPE_TRACING,	&hmap_kfunc_set_data_stats },
	{ BPF_PROG_TYPE_SCHED_CLS,	&hmap_kfunc_set_data },
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	{ BPF_PROG_TYPE_SCHED_ACT,	&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_CGROUP_SKB,	&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_SOCKET_FILTER,	&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_LWT_IN,		&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_SK_SKB,		&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_KPROBE,		&hmap_kfunc_set_data },
#endif
};

static int hmap_register_data_kfuncs(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(hmap_data_prog_types); i++) {
		ret = register_btf_kfunc_id_set(hmap_data_prog_types[i].type,
						hmap_data_prog_types[i].set);
		if (ret) {
			pr_err("registering kfuncs for program type %d failed (%d)\n",
			       hmap_data_prog_types[i].type, ret);
			return ret;
		}
	}
	return 0;
}

static int __init hmap_init(void)
{
	const struct btf_id_dtor_kfunc dtors[] = {
		{ .btf_id = hmap_dtor_ids[0], .kfunc_btf_id = hmap_dtor_ids[1] },
	};
	int ret;

	hmap_wq = alloc_workqueue("hmap_free", WQ_UNBOUND, 0);
	if (!hmap_wq)
		return -ENOMEM;

	ret = hmap_register_data_kfuncs();
	ret = ret ?: register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &hmap_kfunc_set_syscall);
	ret = ret ?: register_btf_id_dtor_kfuncs(dtors, ARRAY_SIZE(dtors), THIS_MODULE);
	if (ret) {
		pr_err("registering kfuncs failed (%d): was the module built with BTF?\n", ret);
		goto err_wq;
	}

	ret = misc_register(&hmap_miscdev);
	if (ret)
		goto err_wq;
	pr_debug("loaded, max_table_bytes=%lu\n", max_table_bytes);
	return 0;

err_wq:
	destroy_workqueue(hmap_wq);
	return ret;
}

static void __exit hmap_exit(void)
{
	misc_deregister(&hmap_miscdev);
	/* Tables hold module references, so none is left; wait for the free
	 * work that dropped the last one to return. */
	destroy_workqueue(hmap_wq);
	WARN_ON(atomic64_read(&hmap_live_tables));
}

module_init(hmap_init);
module_exit(hmap_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Go-map-style hash tables in kernel memory for BPF programs");
MODULE_AUTHOR("hmap developers");
