// SPDX-License-Identifier: GPL-2.0
/*
 * hmap_grow: incremental rehash.  The rules are in hmap_grow.h; each function
 * states its context.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/ktime.h>
#include <linux/timekeeping.h>
#else
#include <time.h>
#endif

#include "hmap_grow.h"

/* Context: any, NMI included (the kernel's NMI-safe clock, as
 * bpf_ktime_get_ns() uses). */
u64 hgr_now_ns(void)
{
#ifdef __KERNEL__
	return ktime_get_mono_fast_ns();
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
#endif
}

/* Stripes for a table on a machine of @ncpus CPUs: a power of two, at least
 * HGR_MIN_STRIPES, at most HMAP_MAX_LOCKS. */
u32 hgr_stripes(u32 ncpus)
{
	u32 n = HGR_MIN_STRIPES;

	while (n < HMAP_MAX_LOCKS && n < 4 * ncpus)
		n <<= 1;
	return n;
}

/**
 * hgr_pool_setup - size the value pool
 * @p: the pool; its lock and chunk slots are the owner's to allocate
 * @value_size: 1..HMAP_VALUE_SIZE_MAX
 * @max_entries: 1..HGR_MAX_ENTRIES
 *
 * Room for @max_entries live values plus an eighth (at least two chunks) for
 * freed values still waiting for their grace period.
 * Context: any.
 * Return: 0; -EINVAL or -E2BIG for a size or count out of range.
 */
int hgr_pool_setup(struct hgr_pool *p, u32 value_size, u64 max_entries)
{
	u64 chunks;

	if (!value_size || !max_entries)
		return -EINVAL;
	if (value_size > HMAP_VALUE_SIZE_MAX || max_entries > HGR_MAX_ENTRIES)
		return -E2BIG;
	chunks = (max_entries + HGR_CHUNK_VALUES - 1) >> HGR_CHUNK_SHIFT;
	chunks += chunks / 8 > 2 ? chunks / 8 : 2;
	p->value_size = value_size;
	p->value_stride = value_size <= 4 ? 4 : (value_size + 7) & ~7U;
	p->chunk_bytes = ((u64)p->value_stride << HGR_CHUNK_SHIFT);
	p->chunk_bytes = (p->chunk_bytes + PAGE_SIZE - 1) & ~((u64)PAGE_SIZE - 1);
	p->maxchunks = (u32)chunks;	/* < 2^15: max_entries < 2^27 */
	p->nchunks = 0;
	p->next = 0;
	p->nfree = 0;
	p->npend = 0;
	p->nwait = 0;
	p->free_top = HGR_NIL;
	p->pend_head = HGR_NIL;
	p->wait_head = HGR_NIL;
	p->spare_chunk = NULL;
	p->shm_nchunks = NULL;
	return 0;
}

/* ---- value pool ---------------------------------------------------------- */

/*
 * The free list is a stack whose top carries a tag, bumped by every push and
 * pop: one 64-bit cmpxchg, lock-free in any context (NMI included), and a
 * pop that read a top which was popped and pushed back meanwhile fails
 * instead of installing a stale link (ABA).  Links live in kernel memory
 * after each chunk (hgr_link()); every index ever on the list is a
 * published slot, so reading a stale one's link is safe, and its value is
 * only used if the cmpxchg shows the top unchanged.  nfree counts up before
 * a push and down after a pop: never below the true count.  A wrong match
 * would take 2^32 pushes and pops inside one pop's window (IRQs off).
 * 64-bit kernels only (Kbuild): cmpxchg64 must be a real atomic, NMI-safe.
 */
#ifdef HGR_POOL_HOOKS	/* host tests: run "an NMI" inside a pop or a push */
void grow_test_pop_hook(struct hgr_pool *p);
void grow_test_push_hook(struct hgr_pool *p);
#define hgr_pool_pop_hook(p)	grow_test_pop_hook(p)
#define hgr_pool_push_hook(p)	grow_test_push_hook(p)
#else
#define hgr_pool_pop_hook(p)	do { } while (0)
#define hgr_pool_push_hook(p)	do { } while (0)
#endif

static __always_inline bool hgr_pool_pop(struct hgr_pool *p, u32 *idx)
{
	u64 old = READ_ONCE(p->free_top), cur;

	for (;;) {
		u32 top = (u32)old, next;

		if (top == HGR_NIL)
			return false;
		next = READ_ONCE(*hgr_link(p, top));
		hgr_pool_pop_hook(p);
		cur = hmap_cmpxchg64(&p->free_top, old, ((old >> 32) + 1) << 32 | next);
		if (cur == old) {
			*idx = top;
			hmap_atomic_sub(&p->nfree, 1);
			return true;
		}
		old = cur;
	}
}

/* Push the chain @head..@tail (@n values, linked through hgr_link()). */
static void hgr_pool_push(struct hgr_pool *p, u32 head, u32 tail, u32 n)
{
	u64 old = READ_ONCE(p->free_top), cur;

	hmap_atomic_add(&p->nfree, n);
	for (;;) {
		WRITE_ONCE(*hgr_link(p, tail), (u32)old);
		hgr_pool_push_hook(p);
		cur = hmap_cmpxchg64(&p->free_top, old, ((old >> 32) + 1) << 32 | head);
		if (cur == old)
			return;
		old = cur;
	}
}

/*
 * A never-used value, for when the free list is empty: the cursor, or the
 * spare chunk the owner set aside.  Context: any; takes the pool lock alone
 * (never with a stripe).  0, -ENOSPC or -EBUSY.
 */
static int hgr_pool_alloc_slow(struct hgr *g, u32 *idx)
{
	struct hgr_pool *p = &g->pool;
	unsigned long fl;
	int ret;

	ret = hmap_plat_lock(&p->lock, 0, &fl);
	if (ret)
		return ret;
	if (hgr_pool_pop(p, idx))	/* freed meanwhile */
		goto unlock;
	if ((u64)p->next >= ((u64)p->nchunks << HGR_CHUNK_SHIFT) && p->spare_chunk &&
	    p->nchunks < p->maxchunks) {
		/* The worker is late: use the chunk it set aside. */
		p->chunks[p->nchunks] = p->spare_chunk;
		p->spare_chunk = NULL;
		hmap_publish(p->nchunks, p->nchunks + 1);
		if (p->shm_nchunks)
			WRITE_ONCE(*p->shm_nchunks, p->nchunks);
		WRITE_ONCE(g->want_worker, true);
	}
	if ((u64)p->next < ((u64)p->nchunks << HGR_CHUNK_SHIFT))
		*idx = p->next++;
	else
		ret = -ENOSPC;
unlock:
	hmap_plat_unlock(&p->lock, 0, fl);
	return ret;
}

/*
 * A freed value: onto the pending list, lock-free (cmpxchg), so a delete
 * never fails or waits after it has removed its key.  Context: any.
 */
static void hgr_pool_defer(struct hgr_pool *p, u32 idx)
{
	u32 *link = hgr_link(p, idx), head = READ_ONCE(p->pend_head), old;

	for (;;) {
		WRITE_ONCE(*link, head);
		old = hmap_cmpxchg(&p->pend_head, head, idx);
		if (old == head)
			break;
		head = old;
	}
	hmap_atomic_add(&p->npend, 1);
}

/* A slot that was never published (an insert that did not happen): straight
 * back to the free list.  Context: any; lock-free. */
static void hgr_pool_put_back(struct hgr *g, u32 idx)
{
	hgr_pool_push(&g->pool, idx, idx, 1);
}

/**
 * hgr_reclaim_start - detach the values freed so far, to wait out a grace period
 * @g: the table
 *
 * Context: the owner, one batch at a time (hgr_reclaim_finish() must have
 * run for the previous one).  Any context; lock-free.
 * Return: true if there is a batch: the owner calls hgr_reclaim_finish()
 * once no program can still hold a pointer to any of them.
 */
bool hgr_reclaim_start(struct hgr *g)
{
	struct hgr_pool *p = &g->pool;

	p->wait_head = hmap_xchg(&p->pend_head, HGR_NIL);
	return p->wait_head != HGR_NIL;
}

/**
 * hgr_reclaim_finish - make the detached batch reusable
 * @g: the table
 *
 * Context: after the grace period that began after hgr_reclaim_start();
 * any context; lock-free.  Walks the batch (kernel memory only) to find its
 * tail.
 */
void hgr_reclaim_finish(struct hgr *g)
{
	struct hgr_pool *p = &g->pool;
	u32 head = p->wait_head, tail = head, n = 1, next;

	if (head == HGR_NIL)
		return;
	p->wait_head = HGR_NIL;
	while ((next = *hgr_link(p, tail)) != HGR_NIL) {
		tail = next;
		n++;
	}
	hgr_pool_push(p, head, tail, n);
	hmap_atomic_sub(&p->npend, n);
}

/**
 * hgr_pool_add_chunk - give the pool another chunk of values
 * @g: the table
 * @chunk: hgr_chunk_alloc_bytes() bytes, zeroed
 *
 * Context: the owner's worker (one at a time); takes the pool lock alone.
 * Return: true if added; false if the pool is at maxchunks (the caller
 * keeps @chunk).
 */
bool hgr_pool_add_chunk(struct hgr *g, void *chunk)
{
	struct hgr_pool *p = &g->pool;
	unsigned long fl;
	bool added = false;

	while (hmap_plat_lock(&p->lock, 0, &fl))
		cpu_relax();	/* only an NMI on this CPU holds it: brief */
	if (p->nchunks < p->maxchunks) {
		p->chunks[p->nchunks] = chunk;
		hmap_publish(p->nchunks, p->nchunks + 1);
		if (p->shm_nchunks)
			WRITE_ONCE(*p->shm_nchunks, p->nchunks);
		added = true;
	}
	hmap_plat_unlock(&p->lock, 0, fl);
	return added;
}

/* ---- evacuation ----------------------------------------------------------- */

static __always_inline bool hgr_evacuated(const struct hgr_array *old, u32 b)
{
	return READ_ONCE(hmap_bucket_at(&old->tab, b)->seq) & HMAP_SEQ_EVACUATED;
}

/*
 * Move old main bucket @b's chain into cur.  Caller holds @b's stripe and
 * read @r after taking it.  On -ENOSPC (cur's overflow buckets exhausted)
 * what was copied is removed again and the bucket stays in old.
 */
static int __hgr_evacuate_locked(struct hgr *g, struct hgr_regime *r, u32 b)
{
	struct hmap_tab *o = &r->old->tab, *n = &r->cur->tab;
	struct hmap_bucket *head = hmap_bucket_at(o, b), *bk;
	u32 i, next, moved = 0, undo;
	int ret;

	if (READ_ONCE(head->seq) & HMAP_SEQ_EVACUATED)
		return 0;
	for (bk = head;;) {
		for (i = 0; i < HMAP_BUCKET_SLOTS; i++) {
			u8 th = bk->tophash[i];
			u8 *key = hmap_slot_key(o, bk, i);

			if (th == HMAP_TOPHASH_EMPTY_REST)
				goto copied;
			if (th < HMAP_TOPHASH_MIN)
				continue;
			ret = __hmap_tab_update_locked(n, key, hgr_hash(g, key),
						       hmap_slot_val(o, bk, i), HMAP_NOEXIST, NULL);
			if (ret)
				goto rollback;
			moved++;
		}
		next = bk->overflow;
		if (!next)
			break;
		bk = hmap_bucket_at(o, next);
	}
copied:
	hmap_seq_begin(head);
	WRITE_ONCE(head->seq, head->seq | HMAP_SEQ_EVACUATED);
	hmap_seq_end(head);
	/* The last bucket of this growth (counted in its own regime): publish
	 * the stable regime now, so the next growth need not wait for the
	 * worker.  A no-op if it is published already. */
	if (hmap_atomic_fetch_inc(&r->nmoved) + 1 == o->l.nbuckets)
		hgr_finish_growth(g, r);
	return 0;

rollback:
	for (bk = head, undo = 0; undo < moved;) {
		for (i = 0; i < HMAP_BUCKET_SLOTS && undo < moved; i++) {
			u8 *key = hmap_slot_key(o, bk, i);

			if (bk->tophash[i] < HMAP_TOPHASH_MIN)
				continue;
			__hmap_tab_delete_locked(n, key, hgr_hash(g, key), NULL);
			undo++;
		}
		if (!bk->overflow)
			break;
		bk = hmap_bucket_at(o, bk->overflow);
	}
	return ret;
}

/**
 * hgr_evacuate_bucket - move one old main bucket, taking its stripe
 * @g: the table
 * @b: old main bucket index
 *
 * Context: any; never sleeps; holds one stripe.
 * Return: 0 (moved, already moved, or not growing); -EBUSY; -ENOSPC.
 */
int hgr_evacuate_bucket(struct hgr *g, u32 b)
{
	u32 lidx = b & g->locks.mask;	/* = hash & mask for every key of b */
	struct hgr_regime *r;
	unsigned long fl;
	int ret;

	ret = hmap_plat_lock(&g->locks, lidx, &fl);
	if (ret)
		return ret;
	r = hmap_deref(g->regime);
	if (r->old && b < r->old->tab.l.nbuckets)
		ret = __hgr_evacuate_locked(g, r, b);
	hmap_plat_unlock(&g->locks, lidx, fl);
	return ret;
}

/* An insert's share of the background work: a bounded number of buckets,
 * one stripe at a time, after its own stripe was released.  Returns the ns
 * it took (0 if it moved none). */
static u64 hgr_evacuate_extra(struct hgr *g)
{
	u64 t0 = 0;

	for (u32 n = 0; n < g->evac_per_write; n++) {
		struct hgr_regime *r = hmap_deref(g->regime);
		u32 b;

		if (!r->old)
			break;
		b = hmap_atomic_fetch_inc(&g->nevacuate);
		if (b >= r->old->tab.l.nbuckets)
			break;
		if (!t0)
			t0 = hgr_now_ns();
		hgr_evacuate_bucket(g, b);
	}
	return t0 ? hgr_now_ns() - t0 : 0;
}

/**
 * hgr_evacuate_rest - the worker's share: claim and move up to @batch buckets
 * @g: the table
 * @batch: buckets to move in this call
 *
 * Context: process context (the owner's worker); never sleeps, so the
 * caller can reschedule and check for teardown between calls.
 * Return: true once every old bucket has moved (or not growing).
 */
bool hgr_evacuate_rest(struct hgr *g, u32 batch)
{
	struct hgr_regime *r = hmap_deref(g->regime);
	u32 nb, b, n;
	u64 t0;

	if (!r->old)
		return true;
	nb = r->old->tab.l.nbuckets;
	t0 = hgr_now_ns();
	for (n = 0; n < batch; n++) {
		b = hmap_atomic_fetch_inc(&g->nevacuate);
		if (b >= nb)
			break;
		hgr_evacuate_bucket(g, b);
	}
	if (n)	/* wall time: waits for stripes and preemption included */
		hmap_atomic64_add(&g->evac_ns, hgr_now_ns() - t0);
	if (READ_ONCE(g->nevacuate) < nb)
		return false;
	/* Every bucket was claimed; redo any whose move failed. */
	for (b = 0; b < nb; b++)
		if (!hgr_evacuated(r->old, b) && hgr_evacuate_bucket(g, b))
			return false;
	return true;
}

/**
 * hgr_pool_set_spare - set a chunk aside for an insert that finds the pool empty
 * @g: the table
 * @chunk: hgr_chunk_alloc_bytes() bytes, zeroed
 *
 * Context: the owner's worker; takes the pool lock alone.
 * Return: true if taken; false if a spare is already there (keep @chunk).
 */
bool hgr_pool_set_spare(struct hgr *g, void *chunk)
{
	struct hgr_pool *p = &g->pool;
	unsigned long fl;
	bool taken = false;

	while (hmap_plat_lock(&p->lock, 0, &fl))
		cpu_relax();
	if (!p->spare_chunk) {
		p->spare_chunk = chunk;
		taken = true;
	}
	hmap_plat_unlock(&p->lock, 0, fl);
	return taken;
}


/**
 * hgr_set_spare - set aside the next growth
 * @g: the table, stable, with no spare
 * @growing: { cur: an empty array, twice the current one; stable: { cur } }
 *
 * Context: the owner's worker.
 */
void hgr_set_spare(struct hgr *g, struct hgr_regime *growing)
{
	growing->old = NULL;
	growing->prev = NULL;
	growing->nmoved = 0;
	hmap_publish(g->spare, growing);
}

/**
 * hgr_pool_take_spare - take the spare chunk back (the pool is at maxchunks)
 * @g: the table
 *
 * Context: the owner's worker; takes the pool lock alone.
 * Return: the chunk, or NULL.
 */
void *hgr_pool_take_spare(struct hgr *g)
{
	struct hgr_pool *p = &g->pool;
	unsigned long fl;
	void *c;

	while (hmap_plat_lock(&p->lock, 0, &fl))
		cpu_relax();
	c = p->spare_chunk;
	p->spare_chunk = NULL;
	hmap_plat_unlock(&p->lock, 0, fl);
	return c;
}

/**
 * hgr_try_start_growth - start the growth the owner set aside
 * @g: the table
 *
 * No lock: a writer reads the regime after taking its stripe, and a bucket
 * moves only under its stripe, so a writer that still acts on the stable
 * regime does so before its bucket's move, which then carries its change.
 * The xchg on @spare elects one caller; a spare exists only while the table
 * is stable (the owner sets the next one after retiring this growth).
 * Context: any, NMI included; lock-free.
 * Return: true if this call started the growth.
 */
bool hgr_try_start_growth(struct hgr *g)
{
	struct hgr_regime *sp, *r;

	if (!READ_ONCE(g->spare))
		return false;
	sp = hmap_xchg(&g->spare, NULL);
	if (!sp)
		return false;
	r = hmap_deref(g->regime);
	sp->old = r->cur;
	sp->prev = r;
	sp->evac_base = r->evac_base;
	sp->stable->evac_base = r->evac_base + r->cur->tab.l.nbuckets;
	if (g->grow_starting)
		g->grow_starting(g, sp);	/* user space learns of it first */
	WRITE_ONCE(g->nevacuate, 0);
	hmap_publish(g->regime, sp);
	/* After the publish: a worker woken earlier would see the stable
	 * regime, find nothing to do, and not come back. */
	WRITE_ONCE(g->want_worker, true);
	return true;
}

/**
 * hgr_finish_growth - publish @growing's stable regime, once
 * @g: the table
 * @growing: a growing regime every old bucket of which has moved
 *
 * Context: any; lock-free and idempotent (compare-and-exchange: only while
 * @growing is still the published regime).
 */
void hgr_finish_growth(struct hgr *g, struct hgr_regime *growing)
{
	hmap_cmpxchg_ptr(&g->regime, growing, growing->stable);
}

/**
 * hgr_evacuated_total - old main buckets moved, over every growth
 * @g: the table
 *
 * Read from one regime: the buckets of the growths before it (evac_base,
 * set when its growth started) and, while it grows, its moves so far
 * (nmoved, which every move counts already: no counter of the statistics'
 * own on the moving path).  Never more than the true count, and never less
 * than any total read before.
 * Context: any; under rcu_read_lock() or with the regime pinned.
 */
u64 hgr_evacuated_total(const struct hgr *g)
{
	const struct hgr_regime *r = hmap_deref(g->regime);

	return r->evac_base + (r->old ? READ_ONCE(r->nmoved) : 0);
}

/*
 * Context: any.  The next array's main buckets: four times the current
 * while small (a growth then leaves the worker ten times the array's
 * buckets in inserts to set the next spare aside, where milliseconds of a
 * starved worker matter most), twice after; 0 if the table may not grow
 * again (2^24 buckets, or max_entries reached).
 */
u32 hgr_next_nbuckets(const struct hgr *g)
{
	u64 nb = hmap_deref(g->regime)->cur->tab.l.nbuckets;

	if (nb >= (1ULL << HMAP_MAX_BUCKETS_LOG2) || nb * HMAP_LOAD_NUM / HMAP_LOAD_DEN >= g->max_entries)
		return 0;
	return nb < HGR_EAGER_SPARE_BUCKETS ? nb * 4 : nb * 2;
}

/*
 * Context: any.  Growth starts at half of Go's 6.5 entries a bucket, so
 * that the worker's allocation has the other half (plus the overflow
 * buckets) of headroom before an insert could find no room.  Moving the old
 * array takes at most one insert per old bucket, well before the new array
 * reaches the same mark.
 */
bool hgr_wants_grow(const struct hgr *g)
{
	const struct hgr_regime *r = hmap_deref(g->regime);
	u64 nb = r->cur->tab.l.nbuckets;

	return !r->old && nb < (1ULL << HMAP_MAX_BUCKETS_LOG2) &&
	       READ_ONCE(*g->entries) * HMAP_LOAD_DEN * 2 > nb * HMAP_LOAD_NUM &&
	       nb * HMAP_LOAD_NUM / HMAP_LOAD_DEN < g->max_entries;
}

/*
 * Context: any.  The owner should set the next growth aside: small arrays
 * at once; big ones from three eighths of 6.5 entries a bucket, so the
 * spare (twice the array) is not held longer than it takes to allocate.
 */
bool hgr_wants_spare(const struct hgr *g)
{
	const struct hgr_regime *r = hmap_deref(g->regime);
	u64 nb = r->cur->tab.l.nbuckets;

	return !r->old && !READ_ONCE(g->spare) && hgr_next_nbuckets(g) &&
	       (nb <= HGR_EAGER_SPARE_BUCKETS ||
		READ_ONCE(*g->entries) * HMAP_LOAD_DEN * 8 > nb * HMAP_LOAD_NUM * 3);
}

/* Context: any.  Fewer values are ready (free or never used) than two chunks
 * or a quarter of those handed out. */
bool hgr_wants_chunk(const struct hgr *g)
{
	const struct hgr_pool *p = &g->pool;
	u64 have = (u64)hmap_deref(p->nchunks) << HGR_CHUNK_SHIFT;
	u64 used = READ_ONCE(p->next), ready = have - used + READ_ONCE(p->nfree);
	u64 reserve = used / 4 > 2 * HGR_CHUNK_VALUES ? used / 4 : 2 * HGR_CHUNK_VALUES;

	return hmap_deref(p->nchunks) < p->maxchunks && ready < reserve;
}

/* ---- data path -------------------------------------------------------------- */

/* The array that holds @hash's key in regime @r; caller holds the stripe. */
static __always_inline struct hgr_array *hgr_home(const struct hgr_regime *r, u32 hash)
{
	if (r->old && !hgr_evacuated(r->old, hash & r->old->tab.mask))
		return r->old;
	return r->cur;
}

/**
 * hgr_lookup_copy - copy a key's value out under its stripe
 * @g: the table
 * @key: g->key_size bytes
 * @value: receives pool.value_size bytes
 *
 * Context: any but NMI; holds one stripe.
 * Return: 0; -ENOENT; -EBUSY.
 */
int hgr_lookup_copy(struct hgr *g, const void *key, void *value)
{
	u32 hash = hgr_hash(g, key), lidx = hash & g->locks.mask, *ip;
	unsigned long fl;
	u8 *v = NULL;
	int ret;

	ret = hmap_plat_lock(&g->locks, lidx, &fl);
	if (ret)
		return ret;
	ip = hmap_tab_lookup(&hgr_home(hmap_deref(g->regime), hash)->tab, key, hash);
	if (ip)
		v = hgr_value(&g->pool, *ip);
	if (v)
		memcpy(value, v, g->pool.value_size);
	hmap_plat_unlock(&g->locks, lidx, fl);
	return v ? 0 : -ENOENT;
}

/**
 * hgr_update - insert or replace
 * @g: the table
 * @key: g->key_size bytes
 * @value: pool.value_size bytes; NULL inserts zeroes
 * @flags: HMAP_ANY, HMAP_NOEXIST, HMAP_EXIST or HMAP_INIT
 * @valp: if not NULL, set to the value in the pool on success
 *
 * Under the key's stripe: an existing key is updated in place; a new one
 * takes a value slot from the free list (lock-free) and is inserted.  Only
 * when the free list is empty is the stripe dropped for the pool lock (the
 * never-used cursor or the spare chunk), then taken again: one lock at a
 * time.  Inserting while growing first moves the key's old bucket, then,
 * after the stripe, one more.
 * Context: any; raw spinlocks with IRQs off, never sleeps, never allocates.
 * Return: 0; -EEXIST; -ENOENT; -ENOSPC (at max entries, or room ran out
 * before growth caught up: nothing changed); -EBUSY (a lock re-entered on
 * this CPU: nothing changed).
 */
int hgr_update(struct hgr *g, const void *key, const void *value, u32 flags, void **valp)
{
	u32 hash = hgr_hash(g, key), lidx = hash & g->locks.mask, idx = HGR_NIL, *ip;
	struct hgr_pool *p = &g->pool;
	struct hgr_regime *r = NULL;
	struct hgr_array *a;
	bool inserted = false;
	unsigned long fl;
	u64 evac_ns = 0;
	u8 *v;
	int ret;

	for (int round = 0; round < 2; round++) {
		ret = hmap_plat_lock(&g->locks, lidx, &fl);
		if (ret)
			goto out;
		r = hmap_deref(g->regime);
		a = hgr_home(r, hash);
		ip = hmap_tab_lookup(&a->tab, key, hash);
		if (ip) {
			v = hgr_value(p, *ip);
			if (unlikely(!v))
				ret = -ENOENT;	/* cannot happen: indexes are ours */
			else if (flags == HMAP_NOEXIST)
				ret = -EEXIST;
			else if (flags != HMAP_INIT) {
				struct hmap_bucket *head = hmap_bucket_at(&a->tab, hash & a->tab.mask);

				hmap_seq_begin(head);
				hmap_slot_copy(v, value, p->value_size);
				hmap_seq_end(head);
			}
			if (!ret && valp)
				*valp = v;
			goto unlock;
		}
		if (flags == HMAP_EXIST) {
			ret = -ENOENT;
			goto unlock;
		}
		if (idx != HGR_NIL || hgr_pool_pop(p, &idx))
			break;
		hmap_plat_unlock(&g->locks, lidx, fl);
		ret = hgr_pool_alloc_slow(g, &idx);
		if (ret)
			goto out;
	}
	/* Not yet published: nobody else reads or writes the slot. */
	v = hgr_value(p, idx);
	if (value)
		hmap_slot_copy(v, value, p->value_size);
	else
		memset(v, 0, p->value_size);
	/* Here with the stripe held and a slot: round 1 always takes one, and
	 * every other way out of the loop jumps to unlock or out. */
	if (a != r->cur) {
		evac_ns = hgr_now_ns();
		ret = __hgr_evacuate_locked(g, r, hash & r->old->tab.mask);
		evac_ns = hgr_now_ns() - evac_ns;
		if (ret)
			goto unlock;
	}
	if (hmap_atomic64_inc_return(g->entries) > g->max_entries) {
		hmap_atomic64_dec(g->entries);
		ret = -ENOSPC;
		goto unlock;
	}
	ret = __hmap_tab_update_locked(&r->cur->tab, key, hash, &idx, HMAP_NOEXIST, NULL);
	if (ret) {
		hmap_atomic64_dec(g->entries);
		goto unlock;
	}
	if (valp)
		*valp = hgr_value(p, idx);
	idx = HGR_NIL;	/* published */
	inserted = true;
unlock:
	hmap_plat_unlock(&g->locks, lidx, fl);
out:
	if (idx != HGR_NIL)
		hgr_pool_put_back(g, idx);
	if (inserted && r->old)
		evac_ns += hgr_evacuate_extra(g);
	if (evac_ns)
		hmap_atomic64_add(&g->evac_ns, evac_ns);
	if (inserted && hgr_wants_grow(g))
		hgr_try_start_growth(g);
	if (ret == -ENOSPC ||
	    (inserted && (hgr_wants_grow(g) || hgr_wants_chunk(g) || hgr_wants_spare(g))))
		WRITE_ONCE(g->want_worker, true);
	return ret;
}

/**
 * hgr_delete - remove a key; its value slot waits for a grace period
 * @g: the table
 * @key: g->key_size bytes
 *
 * Context: any; one stripe with IRQs off, then a lock-free push; never sleeps.
 * Return: 0; -ENOENT; -EBUSY.
 */
int hgr_delete(struct hgr *g, const void *key)
{
	u32 hash = hgr_hash(g, key), lidx = hash & g->locks.mask, idx;
	unsigned long fl;
	int ret;

	ret = hmap_plat_lock(&g->locks, lidx, &fl);
	if (ret)
		return ret;
	ret = __hmap_tab_delete_locked(&hgr_home(hmap_deref(g->regime), hash)->tab, key, hash, &idx);
	if (!ret)
		hmap_atomic64_dec(g->entries);
	hmap_plat_unlock(&g->locks, lidx, fl);
	if (!ret && hgr_value(&g->pool, idx))	/* range-checked */
		hgr_pool_defer(&g->pool, idx);
	return ret;
}
