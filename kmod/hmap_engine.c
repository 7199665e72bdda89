// SPDX-License-Identifier: GPL-2.0
/*
 * hmap engine: bucket operations.  The rules are in hmap_engine.h; every
 * function here states its context.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/export.h>
#include <linux/log2.h>
#include <linux/math.h>
#endif

#include "hmap_engine.h"

static u64 hmap_roundup_pow2(u64 n)
{
	u64 p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* floor(sqrt(n)), bit by bit; n < 2^32. */
static u32 hmap_isqrt(u32 n)
{
	u32 r = 0, bit = 1U << 30;

	while (bit > n)
		bit >>= 2;
	while (bit) {
		if (n >= r + bit) {
			n -= r + bit;
			r = (r >> 1) + bit;
		} else {
			r >>= 1;
		}
		bit >>= 2;
	}
	return r;
}

/*
 * Overflow buckets in use under steady churn (delete a live key, insert a
 * new one, forever), as a fraction of main buckets in 1/1024, by load
 * (capacity / nbuckets) in halves, rounded up: the highest count seen over
 * 30 turnovers of 65536 buckets, 8-byte keys (engine_test's churn tests
 * check the sizing).  Far above a fresh fill's (0.21 at 6.5, Poisson):
 * emptied overflow buckets are recycled, but one stays linked while any
 * entry in it lives, after its chain has shrunk to fit its head again.
 */
static const u16 hmap_churn_ovf_1024[14] = {
	1, 1, 1, 1, 3, 8, 22, 50, 95, 157, 234, 322, 417, 509,
};

/*
 * hmap_overflow_reserve - overflow buckets for @capacity entries in @nb
 * main buckets: the churn figure above plus 20% (long-lived keys that arrive
 * during churn pin their buckets: a review measured 11% above the figure),
 * three standard deviations of a Poisson count, and 8 for tiny tables.  Running out is -ENOSPC, never
 * harm.  Context: any; pure computation.
 */
u32 hmap_overflow_reserve(u32 nb, u64 capacity)
{
	u64 half_loads = (capacity * 2 + nb - 1) / nb;	/* ceil(2 * load) */
	u64 need;

	if (half_loads > 13)
		half_loads = 13;
	need = ((u64)nb * hmap_churn_ovf_1024[half_loads] + 1023) / 1024;
	return (u32)(need + (need + 4) / 5 + 3 * hmap_isqrt((u32)need) + 8);
}

/*
 * Slot stride: 1, 2 or 4 bytes for sizes up to that, else a multiple of 8.
 * Every slot is then aligned to its size's natural alignment (so a __u32
 * value is 4-aligned and a __u64 counter 8-aligned for atomics), and small
 * keys and values do not pay for 8 bytes each.
 */
static u32 hmap_stride(u32 n)
{
	if (n <= 2)
		return n;
	if (n <= 4)
		return 4;
	return (n + 7) & ~7U;
}

static int __hmap_layout_init(struct hmap_layout *l, u32 key_size, u32 value_size,
			      u64 capacity, u64 max_bytes, bool exact)
{
	u64 nb, nov, bytes;

	if (!key_size || !value_size || !capacity)
		return -EINVAL;
	if (key_size > HMAP_KEY_SIZE_MAX || value_size > HMAP_VALUE_SIZE_MAX)
		return -E2BIG;
	/* At most 6.5 entries a main bucket, at most 2^24 main buckets. */
	if (capacity > ((u64)HMAP_LOAD_NUM << HMAP_MAX_BUCKETS_LOG2) / HMAP_LOAD_DEN)
		return -E2BIG;

	nb = (capacity * HMAP_LOAD_DEN + HMAP_LOAD_NUM - 1) / HMAP_LOAD_NUM;
	if (!exact)
		nb = hmap_roundup_pow2(nb);
	/* A fresh fill at 6.5 entries a bucket spills 21% of buckets; a full
	 * table under churn keeps up to half linked (see above). */
	nov = hmap_overflow_reserve(nb, capacity);

	l->key_size = key_size;
	l->value_size = value_size;
	l->key_stride = hmap_stride(key_size);
	l->value_stride = hmap_stride(value_size);
	l->keys_off = HMAP_BUCKET_HDR_SIZE;
	/* Values start 8-aligned; buckets are a multiple of 8 (header is 16). */
	l->values_off = (l->keys_off + HMAP_BUCKET_SLOTS * l->key_stride + 7) & ~7U;
	l->bucket_size = (l->values_off + HMAP_BUCKET_SLOTS * l->value_stride + 7) & ~7U;
	l->nbuckets = nb;
	l->noverflow = nov;
	/* Stripes: a power of two (stripe = bucket & mask), at most one a bucket. */
	l->nlocks = hmap_roundup_pow2(nb) == nb ? nb : hmap_roundup_pow2(nb) / 2;
	if (l->nlocks > HMAP_MAX_LOCKS)
		l->nlocks = HMAP_MAX_LOCKS;
	l->capacity = capacity;

	/* < 2^25 buckets of < 2^16 bytes: no overflow in u64. */
	bytes = (nb + nov) * l->bucket_size;
	bytes = (bytes + PAGE_SIZE - 1) & ~((u64)PAGE_SIZE - 1);
	if (bytes > max_bytes)
		return -E2BIG;
	l->array_bytes = bytes;
	return 0;
}

/**
 * hmap_layout_init - compute the shape of a table of power-of-two arrays
 * @l: filled on success
 * @key_size: 1..HMAP_KEY_SIZE_MAX
 * @value_size: 1..HMAP_VALUE_SIZE_MAX
 * @capacity: most entries the table must hold, >= 1
 * @max_bytes: cap on the bucket array's size
 *
 * The main bucket count is the power of two at or above capacity / 6.5:
 * what the incremental variant's arrays need (growth splits each bucket in
 * two).
 * Context: any; pure computation.
 * Return: 0; -EINVAL for a zero size or zero capacity; -E2BIG for a size over
 * its maximum, a capacity needing more than 2^24 main buckets, or an array
 * larger than @max_bytes.  No size computation can overflow: every product
 * is bounded before it is formed.
 */
int hmap_layout_init(struct hmap_layout *l, u32 key_size, u32 value_size,
		     u64 capacity, u64 max_bytes)
{
	return __hmap_layout_init(l, key_size, value_size, capacity, max_bytes, false);
}

/**
 * hmap_layout_init_exact - the shape of a fixed table: capacity / 6.5 buckets
 * @l: filled on success
 * @key_size: 1..HMAP_KEY_SIZE_MAX
 * @value_size: 1..HMAP_VALUE_SIZE_MAX
 * @capacity: most entries the table must hold, >= 1
 * @max_bytes: cap on the bucket array's size
 *
 * For fixed tables, which never grow: no rounding up to a power of two,
 * which left up to half the main buckets unused.  Keys find their bucket
 * with hmap_bucket_index(), as readers of the mapping do.
 * Context: any; pure computation.
 * Return: as hmap_layout_init().
 */
int hmap_layout_init_exact(struct hmap_layout *l, u32 key_size, u32 value_size,
			   u64 capacity, u64 max_bytes)
{
	return __hmap_layout_init(l, key_size, value_size, capacity, max_bytes, true);
}

/**
 * hmap_layout_fit - round an array up to a multiple of @align, as overflow buckets
 * @l: layout from hmap_layout_init() or hmap_layout_init_exact()
 * @align: a power of two, >= PAGE_SIZE (PMD_SIZE for an array backed by
 *	huge pages, which the allocator hands out whole)
 * @max_bytes: cap on the array's size, as at hmap_layout_init()
 *
 * The tail the rounding adds is not left unused: every whole bucket in it
 * joins the overflow reserve (more room for chains under churn).  Done only
 * when it costs at most 1/32 of the array and stays within @max_bytes; the
 * main buckets, and so every key's bucket, are unchanged.
 * Context: any; pure computation.
 * Return: true when @l->array_bytes is (now) a multiple of @align; false,
 * with @l unchanged, when rounding would cost more.
 */
bool hmap_layout_fit(struct hmap_layout *l, u64 align, u64 max_bytes)
{
	u64 bytes = (l->array_bytes + align - 1) & ~(align - 1);
	u64 nov;

	if (bytes == l->array_bytes)
		return true;
	if (bytes - l->array_bytes > l->array_bytes / 32 || bytes > max_bytes)
		return false;
	nov = bytes / l->bucket_size - l->nbuckets;
	if (nov > 0xffffffffULL - l->nbuckets)
		return false;	/* bucket indexes are u32 */
	l->noverflow = (u32)nov;
	l->array_bytes = bytes;
	return true;
}

/**
 * hmap_tab_init - bind an engine to its memory
 * @t: the engine
 * @l: layout from hmap_layout_init()
 * @buckets: l->array_bytes of zeroed memory (every slot EMPTY_REST)
 * @entries: the live-entry counter, zeroed; NULL for an engine whose owner
 *           counts (the incremental variant's arrays): l->capacity is then
 *           not enforced here
 * @seed: hash key
 * @locks: l->nlocks stripes, initialised
 *
 * Context: any.
 */
void hmap_tab_init(struct hmap_tab *t, const struct hmap_layout *l, void *buckets,
		   u64 *entries, const hmap_seed_t *seed, const struct hmap_locks *locks)
{
	t->buckets = buckets;
	t->l = *l;
	t->mask = l->nbuckets - 1;
	t->ovf_used = 0;
	t->ovf_nfree = 0;
	t->ovf_free = 0;
	t->entries = entries;
	t->seed = *seed;
	t->locks = *locks;
	t->locks.mask = l->nlocks - 1;
}

_Static_assert(HMAP_TOPHASH_EMPTY_REST == 0 && HMAP_TOPHASH_EMPTY_ONE == 1 &&
	       HMAP_TOPHASH_MIN == 2, "tophash markers (hmap_bytes_zero() users)");

/* A 4-byte value (the incremental variant's pool index) in one store, so
 * no reader ever sees half of it; larger values are guarded by the seq. */
static __always_inline void hmap_value_store(const struct hmap_tab *t, u8 *v, const void *value)
{
	if (t->l.value_size == 4)
		WRITE_ONCE(*(u32 *)v, hmap_load32u(value));
	else
		hmap_slot_copy(v, value, t->l.value_size);
}

/*
 * Overflow buckets: the free list first, then the bump allocator.  Both
 * lock-free (see "free list" in hmap_engine.h); any context.  Returns a
 * bucket index with every tophash EMPTY_REST and no link, or 0 if none is
 * left.
 */
static u32 hmap_ovf_alloc(struct hmap_tab *t)
{
	u64 old = READ_ONCE(t->ovf_free), cur, nv;
	u32 idx, next;

	for (;;) {
		idx = (u32)old;
		if (!idx)
			break;
		/* @idx may be popped and reused under us: then the tag has
		 * moved on and the cmpxchg fails, whatever @next we read. */
		next = READ_ONCE(hmap_bucket_at(t, idx)->overflow);
		nv = ((old >> 32) + 1) << 32 | next;
		cur = hmap_cmpxchg64(&t->ovf_free, old, nv);
		if (cur == old) {
			hmap_atomic_dec(&t->ovf_nfree);
			WRITE_ONCE(hmap_bucket_at(t, idx)->overflow, 0);
			return idx;
		}
		old = cur;
	}
	idx = hmap_atomic_fetch_inc_below(&t->ovf_used, t->l.noverflow);
	if (idx >= t->l.noverflow)
		return 0;
	return t->l.nbuckets + idx;	/* zeroed memory: all EMPTY_REST */
}

/* @idx is unlinked and every slot of it is empty; caller holds its former
 * chain's stripe, inside the head's seq window.  Any context. */
static void hmap_ovf_free(struct hmap_tab *t, u32 idx)
{
	struct hmap_bucket *b = hmap_bucket_at(t, idx);
	u64 old = READ_ONCE(t->ovf_free), cur, nv;

	/* EMPTY_REST in every slot: a walk still inside stops here. */
	WRITE_ONCE(*(u64 *)b->tophash, 0);
	for (;;) {
		WRITE_ONCE(b->overflow, (u32)old);
		nv = ((old >> 32) + 1) << 32 | idx;
		cur = hmap_cmpxchg64(&t->ovf_free, old, nv);	/* full barrier */
		if (cur == old)
			break;
		old = cur;
	}
	hmap_atomic_inc(&t->ovf_nfree);
}

/*
 * The last resort of a lock-free lookup: the same look under the stripe
 * lock, where this context may take it (hmap_plat_lock() only tries in NMI
 * or when this CPU holds an hmap lock); else @unvalidated, the last scan
 * taken without a valid seq (or one taken now), as upstream htab always
 * does.  HMAP_MOVED if the chain moved to a newer array (the incremental
 * variant).  Out of line: the inlined lookup's rare path.
 */
noinline void *hmap_lookup_locked(struct hmap_tab *t, struct hmap_bucket *head, const void *key,
				  u32 idx, u8 top, void *unvalidated)
{
	u32 lidx = idx & t->locks.mask;
	unsigned long irqflags;
	void *val;

	if (hmap_plat_lock(&t->locks, lidx, &irqflags))
		return unvalidated != HMAP_NOT_SCANNED ? unvalidated :
		       hmap_chain_find(t, head, key, top);
	if (unlikely(READ_ONCE(head->seq) & HMAP_SEQ_EVACUATED))
		val = HMAP_MOVED;	/* moved meanwhile: look in the newer array */
	else
		val = hmap_chain_find(t, head, key, top);
	hmap_plat_unlock(&t->locks, lidx, irqflags);
	return val;
}

/*
 * As hmap_lookup_locked(), for an engine of 4-byte values (the incremental
 * variant's pool indexes): the value read under the lock, in the low 32
 * bits, or HMAP_IDX_ABSENT, or HMAP_IDX_MOVED.  Where the lock cannot be
 * taken the answer is "absent": an unvalidated index could be another
 * key's, and the caller settles it under the lock if it inserts.  A result,
 * not a u32 *, so no local of the inlined lookup escapes (no stack canary).
 */
noinline u64 hmap_lookup_locked_idx(struct hmap_tab *t, struct hmap_bucket *head,
				    const void *key, u32 idx, u8 top)
{
	u32 lidx = idx & t->locks.mask;
	unsigned long irqflags;
	u64 ret = HMAP_IDX_ABSENT;
	void *val;

	if (hmap_plat_lock(&t->locks, lidx, &irqflags))
		return HMAP_IDX_ABSENT;
	if (unlikely(READ_ONCE(head->seq) & HMAP_SEQ_EVACUATED)) {
		ret = HMAP_IDX_MOVED;
	} else {
		val = hmap_chain_find(t, head, key, top);
		if (val)
			ret = READ_ONCE(*(u32 *)val);
	}
	hmap_plat_unlock(&t->locks, lidx, irqflags);
	return ret;
}

/**
 * hmap_tab_lookup_copy - copy a key's value out under the stripe lock
 * @t: the engine
 * @key: t->l.key_size bytes
 * @hash: hmap_tab_hash(t, key)
 * @value: receives t->l.value_size bytes
 *
 * The copy is consistent with every writer that takes the lock (update
 * kfuncs and ioctls); BPF programs writing through a value pointer take
 * none, as with any BPF map value.
 * Context: process context (ioctl); takes a raw spinlock with IRQs off.
 * Return: 0; -ENOENT absent; -EBUSY stripe lock re-entered on this CPU.
 */
int hmap_tab_lookup_copy(struct hmap_tab *t, const void *key, u32 hash, void *value)
{
	u32 lidx = hmap_tab_index(t, hash) & t->locks.mask;
	unsigned long irqflags;
	void *v;
	int ret;

	ret = hmap_plat_lock(&t->locks, lidx, &irqflags);
	if (ret)
		return ret;
	v = hmap_chain_find(t, hmap_bucket_at(t, hmap_tab_index(t, hash)), key, hmap_tophash(hash));
	if (v)
		memcpy(value, v, t->l.value_size);
	hmap_plat_unlock(&t->locks, lidx, irqflags);
	return v ? 0 : -ENOENT;
}

/* The body of __hmap_tab_update_locked(). */
static __always_inline int hmap_update_locked(struct hmap_tab *t, const void *key, u32 hash,
					      const void *value, u32 flags, void **valp)
{
	u32 idx = hmap_tab_index(t, hash);
	u8 top = hmap_tophash(hash);
	struct hmap_bucket *head = hmap_bucket_at(t, idx), *b = head, *last = head;
	struct hmap_bucket *free_b = NULL;
	u32 i, free_i = 0, next, ovf = 0;
	u8 *v;

	for (;;) {
		u64 word = *(const u64 *)b->tophash;
		u64 m = hmap_bytes_eq(word, top);

		while (m) {
			i = __builtin_ctzll(m) >> 3;
			if (hmap_key_eq(hmap_slot_key(t, b, i), key, t->l.key_size))
				goto present;
			m &= m - 1;
		}
		if (!free_b) {
			/* The first slot below HMAP_TOPHASH_MIN: its byte is 0
			 * once bit 0 is cleared (the lowest flag is exact). */
			u64 f = hmap_bytes_zero(word & ~HMAP_BYTES_01);

			if (f) {
				free_b = b;
				free_i = __builtin_ctzll(f) >> 3;
			}
		}
		if (hmap_bytes_zero(word))	/* EMPTY_REST: the chain ends here */
			goto absent;
		last = b;
		next = b->overflow;
		if (!next)
			break;
		b = hmap_bucket_at(t, next);
	}

absent:
	if (flags == HMAP_EXIST)
		return -ENOENT;
	if (t->entries && hmap_atomic64_inc_return(t->entries) > t->l.capacity) {
		hmap_atomic64_dec(t->entries);
		return -ENOSPC;
	}
	if (!free_b) {
		ovf = hmap_ovf_alloc(t);
		if (!ovf) {
			if (t->entries)
				hmap_atomic64_dec(t->entries);
			return -ENOSPC;
		}
		free_b = hmap_bucket_at(t, ovf);	/* all EMPTY_REST, no link */
		free_i = 0;
	}

	hmap_seq_begin(head);
	hmap_slot_copy(hmap_slot_key(t, free_b, free_i), key, t->l.key_size);
	v = hmap_slot_val(t, free_b, free_i);
	if (value)
		hmap_value_store(t, v, value);
	else
		memset(v, 0, t->l.value_size);
	smp_wmb();
	WRITE_ONCE(free_b->tophash[free_i], top);
	if (ovf) {
		smp_wmb();
		WRITE_ONCE(last->overflow, ovf);
	}
	hmap_seq_end(head);
	goto done;

present:
	v = hmap_slot_val(t, b, i);
	if (flags == HMAP_NOEXIST)
		return -EEXIST;
	if (flags != HMAP_INIT) {
		hmap_seq_begin(head);
		hmap_value_store(t, v, value);
		hmap_seq_end(head);
	}
done:
	if (valp)
		*valp = v;
	return 0;
}

/**
 * __hmap_tab_update_locked - insert or replace; the caller holds the stripe
 * @t: the engine
 * @key: t->l.key_size bytes
 * @hash: hmap_tab_hash(t, key)
 * @value: t->l.value_size bytes; NULL inserts zeroes
 * @flags: HMAP_ANY, HMAP_NOEXIST, HMAP_EXIST, or HMAP_INIT (return the
 *         existing value untouched, or insert zeroes)
 * @valp: if not NULL, set to the value slot on success
 *
 * For variants that lock for themselves (hmap_rehash.ko); see
 * hmap_tab_update() for the rest.  Out of line on purpose, and called by
 * hmap_tab_update() too: a tracing program attached here runs inside a
 * locked section, which test_hmap's nest test needs to reach (a kprobe
 * anywhere in a locked section could do the same).
 * Context: any; never sleeps.  The lock of @hash's stripe is held.
 */
noinline int __hmap_tab_update_locked(struct hmap_tab *t, const void *key, u32 hash,
				      const void *value, u32 flags, void **valp)
{
	return hmap_update_locked(t, key, hash, value, flags, valp);
}

/**
 * hmap_tab_update - insert or replace under the stripe lock
 * @t: the engine
 * @key: t->l.key_size bytes
 * @hash: hmap_tab_hash(t, key)
 * @value: t->l.value_size bytes; NULL inserts zeroes
 * @flags: HMAP_ANY, HMAP_NOEXIST, HMAP_EXIST, or HMAP_INIT (return the
 *         existing value untouched, or insert zeroes)
 * @valp: if not NULL, set to the value slot on success
 *
 * Context: any; takes a raw spinlock with IRQs off, never sleeps.
 * Return: 0; -EEXIST (NOEXIST, key present); -ENOENT (EXIST, key absent);
 * -ENOSPC (capacity reached or overflow buckets exhausted: nothing changed);
 * -EBUSY (stripe lock re-entered on this CPU: nothing changed).
 */
int hmap_tab_update(struct hmap_tab *t, const void *key, u32 hash,
		    const void *value, u32 flags, void **valp)
{
	u32 lidx = hmap_tab_index(t, hash) & t->locks.mask;
	unsigned long irqflags;
	int ret;

	ret = hmap_plat_lock(&t->locks, lidx, &irqflags);
	if (ret)
		return ret;
	ret = __hmap_tab_update_locked(t, key, hash, value, flags, valp);
	hmap_plat_unlock(&t->locks, lidx, irqflags);
	return ret;
}

/* __hmap_tab_delete_locked(), inlined into hmap_tab_delete() too. */
static __always_inline int hmap_delete_locked(struct hmap_tab *t, const void *key, u32 hash,
					      void *oldval)
{
	u32 idx = hmap_tab_index(t, hash);
	u8 top = hmap_tophash(hash);
	struct hmap_bucket *head = hmap_bucket_at(t, idx), *b = head, *c, *found_b;
	struct hmap_bucket *prev = NULL;
	u32 i, next, found_idx = idx;
	u64 word;

	for (;;) {
		u64 w = *(const u64 *)b->tophash;
		u64 m = hmap_bytes_eq(w, top);

		while (m) {
			i = __builtin_ctzll(m) >> 3;
			if (hmap_key_eq(hmap_slot_key(t, b, i), key, t->l.key_size))
				goto found;
			m &= m - 1;
		}
		if (hmap_bytes_zero(w))		/* EMPTY_REST: the chain ends here */
			return -ENOENT;
		next = b->overflow;
		if (!next)
			return -ENOENT;
		prev = b;
		found_idx = next;
		b = hmap_bucket_at(t, next);
	}

found:
	if (oldval)
		memcpy(oldval, hmap_slot_val(t, b, i), t->l.value_size);
	found_b = b;
	hmap_seq_begin(head);
	WRITE_ONCE(b->tophash[i], HMAP_TOPHASH_EMPTY_ONE);
	/* Is everything after this slot empty?  Then mark backwards. */
	if (i == HMAP_BUCKET_SLOTS - 1) {
		next = b->overflow;
		if (next && hmap_bucket_at(t, next)->tophash[0] != HMAP_TOPHASH_EMPTY_REST)
			goto marked;
	} else if (b->tophash[i + 1] != HMAP_TOPHASH_EMPTY_REST) {
		goto marked;
	}
	for (;;) {
		WRITE_ONCE(b->tophash[i], HMAP_TOPHASH_EMPTY_REST);
		if (i == 0) {
			if (b == head)
				break;
			for (c = b, b = head; hmap_bucket_at(t, b->overflow) != c;)
				b = hmap_bucket_at(t, b->overflow);
			i = HMAP_BUCKET_SLOTS - 1;
		} else {
			i--;
		}
		if (b->tophash[i] != HMAP_TOPHASH_EMPTY_ONE)
			break;
	}
marked:
	/*
	 * An overflow bucket with no live slot left leaves its chain: the
	 * reserve is shared by every chain, and a fixed table never grows to
	 * win it back.  Its slots are all EMPTY_ONE (entries follow it, so
	 * nothing before it says EMPTY_REST) or all EMPTY_REST (the tail: the
	 * marking above has run on into @prev already).
	 */
	word = READ_ONCE(*(const u64 *)found_b->tophash);
	if (prev && !(word & ~HMAP_BYTES_01)) {	/* every byte 0 or 1: empty */
		WRITE_ONCE(prev->overflow, found_b->overflow);
		hmap_ovf_free(t, found_idx);
	}
	hmap_seq_end(head);
	if (t->entries)
		hmap_atomic64_dec(t->entries);
	return 0;
}

/**
 * __hmap_tab_delete_locked - remove a key; the caller holds the stripe
 * @t: the engine
 * @key: t->l.key_size bytes
 * @hash: hmap_tab_hash(t, key)
 * @oldval: if not NULL, receives the removed value (t->l.value_size bytes)
 *
 * As in Go's mapdelete(), a slot followed only by empty slots becomes
 * EMPTY_REST, and so do the EMPTY_ONE slots before it, so lookups stop early.
 * Context: any; never sleeps.  The lock of @hash's stripe is held.
 * Return: 0; -ENOENT (absent).
 */
int __hmap_tab_delete_locked(struct hmap_tab *t, const void *key, u32 hash, void *oldval)
{
	return hmap_delete_locked(t, key, hash, oldval);
}

/**
 * hmap_tab_delete - remove a key under the stripe lock
 * @t: the engine
 * @key: t->l.key_size bytes
 * @hash: hmap_tab_hash(t, key)
 *
 * Context: any; takes a raw spinlock with IRQs off, never sleeps.
 * Return: 0; -ENOENT (absent); -EBUSY (stripe lock re-entered on this CPU).
 */
int hmap_tab_delete(struct hmap_tab *t, const void *key, u32 hash)
{
	u32 lidx = hmap_tab_index(t, hash) & t->locks.mask;
	unsigned long irqflags;
	int ret;

	ret = hmap_plat_lock(&t->locks, lidx, &irqflags);
	if (ret)
		return ret;
	ret = hmap_delete_locked(t, key, hash, NULL);
	hmap_plat_unlock(&t->locks, lidx, irqflags);
	return ret;
}

#ifdef __KERNEL__
EXPORT_SYMBOL_GPL(hmap_layout_init);
EXPORT_SYMBOL_GPL(hmap_layout_init_exact);
EXPORT_SYMBOL_GPL(hmap_layout_fit);
EXPORT_SYMBOL_GPL(hmap_overflow_reserve);
EXPORT_SYMBOL_GPL(hmap_tab_init);
EXPORT_SYMBOL_GPL(hmap_lookup_locked);
EXPORT_SYMBOL_GPL(hmap_lookup_locked_idx);
EXPORT_SYMBOL_GPL(hmap_tab_lookup_copy);
EXPORT_SYMBOL_GPL(hmap_tab_update);
EXPORT_SYMBOL_GPL(hmap_tab_delete);
EXPORT_SYMBOL_GPL(__hmap_tab_update_locked);
EXPORT_SYMBOL_GPL(__hmap_tab_delete_locked);
#endif
