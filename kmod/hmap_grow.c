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

u64 hgr_now_ns(void)
{
#ifdef __KERNEL__
	return ktime_get_ns();
#else
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
#endif
}

/* Stripes in use for an array of @nbuckets main buckets (mask form). */
u32 hgr_lock_mask(u32 nbuckets)
{
	return (nbuckets < HMAP_MAX_LOCKS ? nbuckets : HMAP_MAX_LOCKS) - 1;
}

static __always_inline bool hgr_evacuated(const struct hgr_array *old, u32 b)
{
	return READ_ONCE(hmap_bucket_at(&old->tab, b)->seq) & HMAP_SEQ_EVACUATED;
}

/* The array that holds @hash's key in regime @r. */
static __always_inline struct hgr_array *hgr_home(const struct hgr_regime *r, u32 hash)
{
	if (r->old && !hgr_evacuated(r->old, hash & r->old->tab.mask))
		return r->old;
	return r->cur;
}

/*
 * Take @hash's stripe in the current regime.  Returns the regime it is valid
 * for, or NULL with *@err = -EBUSY (re-entered on this CPU).
 */
static __always_inline struct hgr_regime *hgr_lock(struct hgr *g, u32 hash, u32 *lidx,
						   unsigned long *fl, int *err)
{
	struct hgr_regime *r;

	for (;;) {
		r = hmap_deref(g->regime);
		*lidx = hash & r->lock_mask;
		*err = hmap_plat_lock(&g->locks, *lidx, fl);
		if (*err)
			return NULL;
		if (hmap_deref(g->regime) == r)
			return r;
		hmap_plat_unlock(&g->locks, *lidx, *fl);	/* switched meanwhile */
	}
}

/* ---- value pool: caller holds the pool lock ---------------------------- */

static int __hgr_pool_alloc(struct hgr_pool *p, u32 *idx)
{
	if (p->free_head) {
		*idx = p->free_head - 1;
		p->free_head = *(u32 *)hgr_value(p, *idx);
		return 0;
	}
	if (p->next >= (hmap_deref(p->nchunks) << HGR_CHUNK_SHIFT))
		return -ENOSPC;
	*idx = p->next++;
	return 0;
}

static void __hgr_pool_free(struct hgr_pool *p, u32 idx)
{
	*(u32 *)hgr_value(p, idx) = p->free_head;
	p->free_head = idx + 1;
}

/**
 * hgr_pool_add_chunk - give the pool another chunk of values
 * @g: the table
 * @chunk: (1 << HGR_CHUNK_SHIFT) * pool.value_stride bytes, zeroed
 *
 * Context: the owner's worker (one at a time); never sleeps.
 */
void hgr_pool_add_chunk(struct hgr *g, void *chunk)
{
	struct hgr_pool *p = &g->pool;

	p->chunks[p->nchunks] = chunk;
	hmap_publish(p->nchunks, p->nchunks + 1);
}

/* ---- evacuation --------------------------------------------------------- */

/*
 * Move old main bucket @b's chain into cur.  Caller holds @b's stripe in the
 * growing regime @r.  On -ENOSPC (cur's overflow buckets exhausted) what was
 * copied is removed again and the bucket stays in old.
 */
static int __hgr_evacuate_locked(struct hgr *g, struct hgr_regime *r, u32 b)
{
	struct hmap_tab *o = &r->old->tab, *n = &r->cur->tab;
	struct hmap_bucket *head = hmap_bucket_at(o, b), *bk;
	u32 i, next, moved = 0, undo;
	u64 t0;
	int ret;

	if (READ_ONCE(head->seq) & HMAP_SEQ_EVACUATED)
		return 0;
	t0 = hgr_now_ns();
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
	hmap_atomic64_add(&g->evacuated, 1);
	hmap_atomic64_add(&g->evac_ns, hgr_now_ns() - t0);
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
 * Context: any; never sleeps.
 * Return: 0 (moved, already moved, or not growing); -EBUSY; -ENOSPC.
 */
int hgr_evacuate_bucket(struct hgr *g, u32 b)
{
	struct hgr_regime *r;
	unsigned long fl;
	u32 lidx;
	int ret;

	for (;;) {
		r = hmap_deref(g->regime);
		if (!r->old || b >= r->old->tab.l.nbuckets)
			return 0;
		lidx = b & r->lock_mask;	/* = h & lock_mask for h in bucket b */
		ret = hmap_plat_lock(&g->locks, lidx, &fl);
		if (ret)
			return ret;
		if (hmap_deref(g->regime) == r)
			break;
		hmap_plat_unlock(&g->locks, lidx, fl);
	}
	ret = __hgr_evacuate_locked(g, r, b);
	hmap_plat_unlock(&g->locks, lidx, fl);
	return ret;
}

/* A write's share of the background work: a bounded number of buckets. */
static void hgr_evacuate_extra(struct hgr *g)
{
	for (u32 n = 0; n < g->evac_per_write; n++) {
		struct hgr_regime *r = hmap_deref(g->regime);
		u32 b;

		if (!r->old)
			return;
		b = hmap_atomic_fetch_inc(&g->nevacuate);
		if (b >= r->old->tab.l.nbuckets)
			return;
		hgr_evacuate_bucket(g, b);
	}
}

/**
 * hgr_evacuate_rest - the worker's share: claim and move up to @batch buckets
 * @g: the table
 * @batch: buckets to move in this call
 *
 * Context: process context (the owner's worker); never sleeps, so the
 * caller can reschedule between calls.
 * Return: true once every old bucket has moved (or not growing).
 */
bool hgr_evacuate_rest(struct hgr *g, u32 batch)
{
	struct hgr_regime *r = hmap_deref(g->regime);
	u32 nb, b, n;

	if (!r->old)
		return true;
	nb = r->old->tab.l.nbuckets;
	for (n = 0; n < batch; n++) {
		b = hmap_atomic_fetch_inc(&g->nevacuate);
		if (b >= nb)
			break;
		hgr_evacuate_bucket(g, b);
	}
	if (READ_ONCE(g->nevacuate) < nb)
		return false;
	/* Every bucket was claimed; redo any whose move failed. */
	for (b = 0; b < nb; b++)
		if (!hgr_evacuated(r->old, b) && hgr_evacuate_bucket(g, b))
			return false;
	return true;
}

/**
 * hgr_switch - publish a new regime
 * @g: the table
 * @next: the regime to publish; the caller frees the previous one after
 *        every reader that may hold it is gone (grace periods)
 *
 * Holds every stripe either regime uses, so no writer is between its lock
 * and its work.  O(stripes), not O(table).
 * Context: the owner's worker; IRQs off for the duration.
 */
void hgr_switch(struct hgr *g, struct hgr_regime *next)
{
	struct hgr_regime *r = g->regime;
	u32 n = (r->lock_mask > next->lock_mask ? r->lock_mask : next->lock_mask) + 1;
	unsigned long fl;

	hmap_plat_lock_all(&g->locks, n, &fl);
	hmap_publish(g->regime, next);
	hmap_plat_unlock_all(&g->locks, n, fl);
}

/*
 * Context: any.  The stable array is past three quarters of Go's 6.5 entries
 * a bucket and may grow: growth starts ahead of need, so that the worker's
 * allocation and the moves finish before the array is full.
 */
bool hgr_wants_grow(const struct hgr *g)
{
	const struct hgr_regime *r = hmap_deref(g->regime);
	u64 nb = r->cur->tab.l.nbuckets;

	return !r->old && nb < (1ULL << HMAP_MAX_BUCKETS_LOG2) &&
	       READ_ONCE(*g->entries) * HMAP_LOAD_DEN * 4 > nb * HMAP_LOAD_NUM * 3 &&
	       nb * HMAP_LOAD_NUM / HMAP_LOAD_DEN < g->max_entries;
}

/* Context: any.  Fewer never-used values are left than a chunk or a quarter
 * of those handed out. */
bool hgr_wants_chunk(const struct hgr *g)
{
	const struct hgr_pool *p = &g->pool;
	u32 have = hmap_deref(p->nchunks), used = READ_ONCE(p->next);
	u32 reserve = used / 4 > (1U << HGR_CHUNK_SHIFT) ? used / 4 : 1U << HGR_CHUNK_SHIFT;

	return have < p->maxchunks && (u64)used + reserve > ((u64)have << HGR_CHUNK_SHIFT);
}

/* ---- data path ------------------------------------------------------------ */

/**
 * hgr_lookup - find a key without locks
 * @g: the table
 * @key: g->key_size bytes
 *
 * Context: any, including NMI; never blocks.  The caller keeps the arrays
 * alive (RCU read side).
 * Return: the value in the pool (stable while the key exists), or NULL.
 */
void *hgr_lookup(struct hgr *g, const void *key)
{
	u32 hash = hgr_hash(g, key);
	const struct hgr_regime *r = hmap_deref(g->regime);
	struct hgr_array *a = hgr_home(r, hash);
	u32 *ip = hmap_tab_lookup(&a->tab, key, hash);

	return ip ? hgr_value(&g->pool, READ_ONCE(*ip)) : NULL;
}

/**
 * hgr_update - insert or replace
 * @g: the table
 * @key: g->key_size bytes
 * @value: pool.value_size bytes; NULL inserts zeroes
 * @flags: HMAP_ANY, HMAP_NOEXIST, HMAP_EXIST or HMAP_INIT
 * @valp: if not NULL, set to the value in the pool on success
 *
 * Inserting while growing first moves the key's old bucket, then one more.
 * Context: any; takes raw spinlocks with IRQs off, never sleeps.
 * Return: 0; -EEXIST; -ENOENT; -ENOSPC (at max entries, the pool or the
 * array's overflow buckets exhausted: growth did not keep up); -EBUSY.
 */
int hgr_update(struct hgr *g, const void *key, const void *value, u32 flags, void **valp)
{
	u32 hash = hgr_hash(g, key), lidx, idx, *ip;
	struct hgr_pool *p = &g->pool;
	unsigned long fl, pfl;
	struct hgr_regime *r;
	struct hgr_array *a;
	bool inserted = false;
	u8 *v;
	int ret;

	r = hgr_lock(g, hash, &lidx, &fl, &ret);
	if (!r)
		return ret;
	a = hgr_home(r, hash);
	ip = hmap_tab_lookup(&a->tab, key, hash);
	if (ip) {
		v = hgr_value(p, *ip);
		if (flags == HMAP_NOEXIST) {
			ret = -EEXIST;
			goto unlock;
		}
		if (flags != HMAP_INIT) {
			struct hmap_bucket *head = hmap_bucket_at(&a->tab, hash & a->tab.mask);

			hmap_seq_begin(head);
			memcpy(v, value, p->value_size);
			hmap_seq_end(head);
		}
		goto done;
	}
	if (flags == HMAP_EXIST) {
		ret = -ENOENT;
		goto unlock;
	}

	ret = hmap_plat_lock(&p->lock, 0, &pfl);
	if (ret)
		goto unlock;
	if (r->old) {
		ret = __hgr_evacuate_locked(g, r, hash & r->old->tab.mask);
		if (ret)
			goto unlock_pool;
	}
	if (hmap_atomic64_inc_return(g->entries) > g->max_entries) {
		ret = -ENOSPC;
		goto uncount;
	}
	ret = __hgr_pool_alloc(p, &idx);
	if (ret)
		goto uncount;
	v = hgr_value(p, idx);
	if (value)
		memcpy(v, value, p->value_size);
	else
		memset(v, 0, p->value_size);
	ret = __hmap_tab_update_locked(&r->cur->tab, key, hash, &idx, HMAP_NOEXIST, NULL);
	if (ret) {
		__hgr_pool_free(p, idx);
		goto uncount;
	}
	hmap_plat_unlock(&p->lock, 0, pfl);
	inserted = true;
done:
	if (valp)
		*valp = v;
	ret = 0;
	goto unlock;

uncount:
	hmap_atomic64_dec(g->entries);
unlock_pool:
	hmap_plat_unlock(&p->lock, 0, pfl);
unlock:
	hmap_plat_unlock(&g->locks, lidx, fl);
	if (inserted && r->old)
		hgr_evacuate_extra(g);
	if ((inserted || ret == -ENOSPC) && (hgr_wants_grow(g) || hgr_wants_chunk(g)))
		WRITE_ONCE(g->want_worker, true);
	return ret;
}

/**
 * hgr_delete - remove a key and free its value
 * @g: the table
 * @key: g->key_size bytes
 *
 * Context: any; takes raw spinlocks with IRQs off, never sleeps.
 * Return: 0; -ENOENT; -EBUSY.
 */
int hgr_delete(struct hgr *g, const void *key)
{
	u32 hash = hgr_hash(g, key), lidx, idx;
	unsigned long fl, pfl;
	struct hgr_regime *r;
	int ret;

	r = hgr_lock(g, hash, &lidx, &fl, &ret);
	if (!r)
		return ret;
	ret = hmap_plat_lock(&g->pool.lock, 0, &pfl);
	if (!ret) {
		ret = __hmap_tab_delete_locked(&hgr_home(r, hash)->tab, key, hash, &idx);
		if (!ret) {
			__hgr_pool_free(&g->pool, idx);
			hmap_atomic64_dec(g->entries);
		}
		hmap_plat_unlock(&g->pool.lock, 0, pfl);
	}
	hmap_plat_unlock(&g->locks, lidx, fl);
	return ret;
}
