/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hmap engine: a Go-runtime-map-style bucketed hash table over one contiguous,
 * page-aligned, mmap-able bucket array.  It has no kernel object of its own
 * (see hmap_table.c for tables and ids, hmap_kfunc.c for the kfuncs) and builds as user-space C
 * through hmap_platform.h.
 *
 * Layout
 *   The array holds @nbuckets main buckets (capacity / 6.5 for a fixed
 *   table, a power of two for the incremental variant's arrays) followed by
 *   @noverflow preallocated overflow buckets.  A key hashes (keyed hsiphash,
 *   per-table seed) to main bucket hmap_bucket_index(); its tophash (top 8 bits,
 *   lifted above the HMAP_TOPHASH_* markers) filters slots before a full key
 *   compare.  A full bucket links an overflow bucket by index.  Overflow
 *   buckets come from the table's free list, else from a bump allocator over
 *   the preallocated ones.  A delete that empties an overflow bucket unlinks
 *   it and returns it to the free list (unlike Go, whose chains keep their
 *   longest length until the map grows: a fixed table never grows, so under
 *   churn its chains would use up the reserve below capacity).  Every
 *   linked overflow bucket therefore holds a live entry.  Entries never move
 *   while they live: a value pointer stays the key's until it is deleted.
 *   Nothing is allocated from the system on the data path, so no operation
 *   can sleep.
 *
 * Concurrency rules
 *   - Writers (update, delete, insert) hold the lock of the key's stripe:
 *     stripe = main bucket index & locks.mask.  A stripe covers whole chains,
 *     so one chain is only ever changed under one lock.  hmap_plat_lock()
 *     may refuse with -EBUSY (lock re-entered on this CPU, e.g. a tracing
 *     program that interrupted a writer); callers pass that up, never spin.
 *   - Every change to a chain happens between hmap_seq_begin() and
 *     hmap_seq_end() on the chain's head bucket: head->seq is odd while the
 *     chain may be inconsistent.
 *   - Readers normally take no lock.  A lookup reads head->seq (even),
 *     scans, and retries if head->seq changed.  A writer may be an
 *     interrupted program on this CPU (the re-entry counter says so): then
 *     the reader does not wait for it, and takes a scan during which the
 *     odd seq did not change (the writer is stopped; each of its states
 *     leaves every other key where a walk finds it).  A writer on another
 *     CPU is waited for at most HMAP_LOOKUP_RETRIES times; after that the
 *     lookup looks again under the stripe lock, through hmap_plat_lock(),
 *     which only tries in NMI or when this CPU holds an hmap lock.  Only
 *     when that fails is a scan taken unvalidated, as upstream htab always
 *     does (the incremental variant's index lookups return "absent"
 *     instead: an index read unvalidated could be another key's).  An
 *     unvalidated scan can be wrong about more than the key being written:
 *     a bucket emptied and reused meanwhile can hide the keys behind it.
 *     User-space readers of the mmap follow the same protocol, read-only,
 *     and retry instead of locking.
 *   - Bit 31 of seq (HMAP_SEQ_EVACUATED) is a state, not part of the count:
 *     hmap_seq_next() never carries into it.
 *   - Writers fill a slot's key and value before publishing its tophash, and
 *     fill an overflow bucket before linking it (smp_wmb), so a lock-free
 *     walk only ever follows links to initialised buckets.
 *   - An emptied overflow bucket is unlinked inside its head's seq window,
 *     its tophash cleared, and only then freed.  A lock-free walk that was
 *     inside it may go on into the free list or into whatever chain reuses
 *     it: its hops and indexes are bounded, and the head's seq has changed,
 *     so the walk is retried (or, out of retries, taken unvalidated as any
 *     torn walk is).
 *   - The free list is a Treiber stack whose head carries a tag bumped by
 *     every push and pop (cmpxchg64), so a pop that raced with a pop and a
 *     push of the same bucket fails and retries (no ABA).  It takes no lock:
 *     any context, NMI included, may allocate or free.  Its links are the
 *     free buckets' overflow fields, in the array, which BPF programs cannot
 *     write (they get value pointers only) and user space maps read-only.
 *   - A value pointer returned by lookup stays valid until the array is
 *     freed, which the owner defers past an RCU grace period (hmap_table.c).
 *     Its contents may change under the caller (in-place update or the slot
 *     deleted and reused), exactly as for a preallocated BPF hash map.
 *   - @entries counts live entries and enforces @capacity: an insert
 *     reserves a count first and returns it on failure.  The incremental
 *     variant's arrays have none (NULL): it counts and caps the table
 *     itself, and a count per array would be one more atomic on every
 *     insert, delete and moved entry, on a line that its worker, moving
 *     buckets on another CPU, writes too.
 */
#ifndef _HMAP_ENGINE_H
#define _HMAP_ENGINE_H

#include "hmap_platform.h"
#include "uapi/hmap.h"

#define HMAP_ANY	0	/* BPF_ANY */
#define HMAP_NOEXIST	1	/* BPF_NOEXIST */
#define HMAP_EXIST	2	/* BPF_EXIST */
#define HMAP_INIT	8	/* internal: lookup-or-insert-zeroed */

#define HMAP_MAX_LOCKS	1024	/* lock stripes per table, at most */
/* Lock-free lookups re-read a chain that changed under them at most this
 * often, then take the last scan as it is (as upstream htab, which never
 * waits): a reader must not spin on a writer it cannot see finish. */
#ifndef HMAP_LOOKUP_RETRIES	/* engine_test sets 1: its readers reach the locked look */
#define HMAP_LOOKUP_RETRIES	64
#endif

/* Sizes of a table, computed once by hmap_layout_init(). */
struct hmap_layout {
	u32 key_size;
	u32 value_size;
	u32 key_stride;
	u32 value_stride;
	u32 keys_off;
	u32 values_off;
	u32 bucket_size;
	u32 nbuckets;
	u32 noverflow;
	u32 nlocks;
	u64 capacity;
	u64 array_bytes;	/* (nbuckets + noverflow) * bucket_size, page-rounded */
};

/* One bucket array and its rules; embedded in the owner's table object. */
struct hmap_tab {
	u8 *buckets;
	u32 mask;		/* l.nbuckets - 1 (power-of-two arrays: the incremental variant) */
	u32 ovf_used;		/* overflow buckets bump-allocated (atomic, <= l.noverflow) */
	u32 ovf_nfree;		/* of those, on the free list (atomic) */
	u64 ovf_free;		/* free list: tag << 32 | top bucket index (0: empty) */
	u64 *entries;		/* live count, in the shared header page; NULL: not counted */
	hmap_seed_t seed;
	struct hmap_locks locks;
	struct hmap_layout l;
};

int hmap_layout_init(struct hmap_layout *l, u32 key_size, u32 value_size,
		     u64 capacity, u64 max_bytes);
int hmap_layout_init_exact(struct hmap_layout *l, u32 key_size, u32 value_size,
			   u64 capacity, u64 max_bytes);
bool hmap_layout_fit(struct hmap_layout *l, u64 align, u64 max_bytes);
u32 hmap_overflow_reserve(u32 nb, u64 capacity);
void hmap_tab_init(struct hmap_tab *t, const struct hmap_layout *l, void *buckets,
		   u64 *entries, const hmap_seed_t *seed, const struct hmap_locks *locks);

int hmap_tab_lookup_copy(struct hmap_tab *t, const void *key, u32 hash, void *value);
int hmap_tab_update(struct hmap_tab *t, const void *key, u32 hash,
		    const void *value, u32 flags, void **valp);
int hmap_tab_delete(struct hmap_tab *t, const void *key, u32 hash);

/* The same, for callers that hold the stripe lock themselves (variants). */
int __hmap_tab_update_locked(struct hmap_tab *t, const void *key, u32 hash,
			     const void *value, u32 flags, void **valp);
int __hmap_tab_delete_locked(struct hmap_tab *t, const void *key, u32 hash, void *oldval);

static __always_inline u32 hmap_tab_hash(const struct hmap_tab *t, const void *key)
{
	return hmap_plat_hash(key, t->l.key_size, &t->seed);
}

/* hmap_tophash(): uapi/hmap.h, shared with user-space readers. */

/* The main bucket of @hash: hmap_bucket_index() in uapi/hmap.h, as readers. */
static __always_inline u32 hmap_tab_index(const struct hmap_tab *t, u32 hash)
{
	return hmap_bucket_index(hash, t->l.nbuckets);
}

static __always_inline struct hmap_bucket *hmap_bucket_at(const struct hmap_tab *t, u32 idx)
{
	return (struct hmap_bucket *)(t->buckets + (size_t)idx * t->l.bucket_size);
}

static __always_inline u8 *hmap_slot_key(const struct hmap_tab *t, struct hmap_bucket *b, u32 i)
{
	return (u8 *)b + t->l.keys_off + i * t->l.key_stride;
}

static __always_inline u8 *hmap_slot_val(const struct hmap_tab *t, struct hmap_bucket *b, u32 i)
{
	return (u8 *)b + t->l.values_off + i * t->l.value_stride;
}

/*
 * Writer side of the chain sequence counter; caller holds the stripe lock.
 * The count runs in bits 0..30 and wraps there: bit 31 is the incremental
 * variant's HMAP_SEQ_EVACUATED, a state that no number of writes may reach.
 */
static __always_inline u32 hmap_seq_next(u32 seq)
{
	return (seq & HMAP_SEQ_EVACUATED) | ((seq + 1) & ~HMAP_SEQ_EVACUATED);
}

#ifdef HMAP_SEQ_END_HOOK
/* Unit tests only: check a chain the moment its change is published. */
void HMAP_SEQ_END_HOOK(struct hmap_bucket *head);
#define hmap_seq_end_hook(head)	HMAP_SEQ_END_HOOK(head)
#else
#define hmap_seq_end_hook(head)	do { } while (0)
#endif

static __always_inline void hmap_seq_begin(struct hmap_bucket *head)
{
	WRITE_ONCE(head->seq, hmap_seq_next(head->seq));
	smp_wmb();
}

static __always_inline void hmap_seq_end(struct hmap_bucket *head)
{
	hmap_seq_end_hook(head);
	smp_wmb();
	WRITE_ONCE(head->seq, hmap_seq_next(head->seq));
}

/* Overflow buckets linked into chains now (racy by a few: for statistics). */
static __always_inline u64 hmap_tab_overflow_used(const struct hmap_tab *t)
{
	u32 used = READ_ONCE(t->ovf_used);
	/* Counted after the push and after the pop: briefly -1 when a pop
	 * comes between a push and its count. */
	s32 nfree = (s32)READ_ONCE(t->ovf_nfree);

	used = used < t->l.noverflow ? used : t->l.noverflow;
	if (nfree < 0)
		nfree = 0;
	return used > (u32)nfree ? used - nfree : 0;
}

/* ---- lookups, inlined into their callers (the kfuncs, the variant) ---- */

#define HMAP_BYTES_01	0x0101010101010101ULL
#define HMAP_BYTES_80	0x8080808080808080ULL
/* The word tests below (a zero byte ends a chain; every byte 0 or 1 is an
 * empty slot) rely on EMPTY_REST 0, EMPTY_ONE 1, MIN 2 (hmap_engine.c
 * asserts it). */

/* A bit 7 set in each byte of @x that is zero.  A byte above a zero byte
 * can be flagged too (the borrow), so only the lowest flag is exact; the
 * callers check each candidate. */
static __always_inline u64 hmap_bytes_zero(u64 x)
{
	return (x - HMAP_BYTES_01) & ~x & HMAP_BYTES_80;
}

/* The bytes of @word that may equal @top (candidates, as above).  A false
 * candidate holds top ^ 1 >= HMAP_TOPHASH_MIN: a live slot of another
 * key, which the key compare rejects. */
static __always_inline u64 hmap_bytes_eq(u64 word, u8 top)
{
	return hmap_bytes_zero(word ^ (HMAP_BYTES_01 * top));
}

/* Slot keys are aligned to their stride (8 for 8 and 16 bytes); the caller's
 * key may not be aligned at all. */
static __always_inline bool hmap_key_eq(const u8 *slot, const void *key, u32 len)
{
	const u8 *k = (const u8 *)key;

	switch (len) {
	case 4:
		return *(const u32 *)slot == hmap_load32u(k);
	case 8:
		return *(const u64 *)slot == hmap_load64u(k);
	case 16:
		return ((*(const u64 *)slot ^ hmap_load64u(k)) |
			(*(const u64 *)(slot + 8) ^ hmap_load64u(k + 8))) == 0;
	default:
		return memcmp(slot, key, len) == 0;
	}
}

/* @len bytes into a slot (writers, inside the seq window; the incremental
 * variant's pool values): inline moves for the common key and value sizes,
 * not a call. */
static __always_inline void hmap_slot_copy(u8 *dst, const void *src, u32 len)
{
	switch (len) {
	case 4:
		memcpy(dst, src, 4);
		break;
	case 8:
		memcpy(dst, src, 8);
		break;
	case 16:
		memcpy(dst, src, 16);
		break;
	case 64:
		memcpy(dst, src, 64);
		break;
	default:
		memcpy(dst, src, len);
	}
}

/* hmap_lookup_locked()'s @unvalidated when no scan was taken, and its
 * answer when the chain has moved (HMAP_SEQ_EVACUATED) meanwhile.  A result
 * rather than a bool *, so that no local of the inlined lookup escapes.
 * hmap_lookup_snap() with @val32 also returns HMAP_NOT_SCANNED for "found"
 * (its callers only compare with NULL). */
#define HMAP_NOT_SCANNED	((void *)1)
#define HMAP_MOVED		((void *)2)

void *hmap_lookup_locked(struct hmap_tab *t, struct hmap_bucket *head, const void *key,
			 u32 idx, u8 top, void *unvalidated);
/* hmap_lookup_locked_idx()'s answers besides an index (low 32 bits). */
#define HMAP_IDX_ABSENT		(1ULL << 32)
#define HMAP_IDX_MOVED		(1ULL << 33)
u64 hmap_lookup_locked_idx(struct hmap_tab *t, struct hmap_bucket *head, const void *key,
			   u32 idx, u8 top);

/* One scan of @head's chain for @key; NULL if absent.  Bounded: a chain
 * under its lock has at most l.noverflow links, and a walk torn by unlinks
 * and reuse stops after as many hops. */
static __always_inline void *hmap_chain_find(const struct hmap_tab *t, struct hmap_bucket *head,
					     const void *key, u8 top)
{
	struct hmap_bucket *b = head;
	u32 i, next, hops = 0;

	for (;;) {
		/* All 8 tophash bytes at once (little-endian: slot i is byte i).
		 * Candidates may include a false positive above a real match or
		 * zero byte; the key compare settles it. */
		u64 word = READ_ONCE(*(const u64 *)b->tophash);
		u64 m = hmap_bytes_eq(word, top);

		while (m) {
			i = __builtin_ctzll(m) >> 3;
			if (hmap_key_eq(hmap_slot_key(t, b, i), key, t->l.key_size))
				return hmap_slot_val(t, b, i);
			m &= m - 1;
		}
		/* A zero byte is EMPTY_REST: nothing after it in the chain. */
		if (hmap_bytes_zero(word))
			return NULL;
		next = READ_ONCE(b->overflow);
		if (!next || next < t->l.nbuckets || next >= t->l.nbuckets + t->l.noverflow ||
		    ++hops > t->l.noverflow)
			return NULL;
		b = hmap_bucket_at(t, next);
	}
}

/**
 * __hmap_tab_lookup - find a key lock-free (mostly), or learn its chain has moved
 * @t: the engine
 * @key: t->l.key_size bytes
 * @hash: hmap_tab_hash(t, key)
 * @moved: set to true, with NULL returned, if the chain's head carries
 *         HMAP_SEQ_EVACUATED (incremental variant: look in the newer array);
 *         read in the same snapshot as the chain, so a chain that moves
 *         during the scan is reported as moved, never as a stale answer
 *
 * Context: any, including NMI; bounded: at most HMAP_LOOKUP_RETRIES
 * re-reads, then the stripe lock where the context may wait for it (only a
 * try in NMI or when this CPU holds an hmap lock; see hmap_engine.h).
 * The caller keeps the array alive (RCU read side, or a reference).
 * Return: pointer to the value in place, or NULL if absent (or moved).
 */
static __always_inline void *hmap_lookup_snap(struct hmap_tab *t, const void *key, u32 hash,
					      bool *moved, u32 *val32)
{
	u32 idx = hmap_tab_index(t, hash);
	u8 top = hmap_tophash(hash);
	struct hmap_bucket *head = hmap_bucket_at(t, idx);
	u32 seq, tries;
	void *val;

	for (tries = 0;; tries++) {
		bool nested;

		seq = READ_ONCE(head->seq);
		if (unlikely(seq & HMAP_SEQ_EVACUATED)) {
			*moved = true;
			return NULL;
		}
		nested = unlikely(seq & 1) &&
			 hmap_plat_writer_nested(&t->locks, idx & t->locks.mask);
		if (unlikely(seq & 1) && !nested) {
			/* A writer on another CPU is inside: wait a little,
			 * then ask the lock.  An odd seq is never taken as a
			 * snapshot here: that writer runs during the scan. */
			if (tries < HMAP_LOOKUP_RETRIES) {
				cpu_relax();
				continue;
			}
			val = HMAP_NOT_SCANNED;
			break;
		}
		smp_rmb();
		val = hmap_chain_find(t, head, key, top);
		if (val32 && val)	/* the value itself, in the same snapshot */
			*val32 = READ_ONCE(*(u32 *)val);
		smp_rmb();
		/* Unchanged across the scan: even, or odd with the writer
		 * stopped under us (nested), whose every state leaves each key
		 * that is not its own where a walk finds it. */
		if (likely(READ_ONCE(head->seq) == seq))
			return val;	/* validated */
		if (tries >= HMAP_LOOKUP_RETRIES)
			break;
		/* Changed: a writer on another CPU (a nested reader only
		 * shares a re-entry slot with it); scan again, never wait. */
	}
	/*
	 * Out of retries: the chain rewritten under every scan, or a writer
	 * on another CPU inside it all along.  An
	 * unvalidated scan could miss a key that stayed, behind an overflow
	 * bucket emptied and reused meanwhile, or return an index reused by
	 * another key: take the stripe lock if this context may (never when
	 * this CPU holds an hmap lock or is in NMI: it only tries), else say
	 * "absent" for an index, which the caller settles under the lock if
	 * it inserts, and take the scan as it is for a value, as upstream
	 * htab always does.
	 */
	if (val32) {
		u64 r = hmap_lookup_locked_idx(t, head, key, idx, top);

		if (unlikely(r == HMAP_IDX_MOVED)) {
			*moved = true;
			return NULL;
		}
		if (r == HMAP_IDX_ABSENT)
			return NULL;
		*val32 = (u32)r;
		return HMAP_NOT_SCANNED;	/* found: with @val32, only NULL counts */
	}
	val = hmap_lookup_locked(t, head, key, idx, top, val);
	if (unlikely(val == HMAP_MOVED)) {
		*moved = true;
		return NULL;
	}
	return val;
}

static __always_inline void *__hmap_tab_lookup(struct hmap_tab *t, const void *key, u32 hash,
					       bool *moved)
{
	return hmap_lookup_snap(t, key, hash, moved, NULL);
}

/**
 * __hmap_tab_lookup_u32 - as __hmap_tab_lookup(), for 4-byte values
 * @t: the engine (value_size 4)
 * @key: t->l.key_size bytes
 * @hash: hmap_tab_hash(t, key)
 * @moved: as for __hmap_tab_lookup()
 * @val: receives the value, read inside the validated snapshot (an index
 *       read after it could belong to a key that replaced this one)
 *
 * Context: any, including NMI; bounded, as __hmap_tab_lookup().
 * Return: true if found.
 */
static __always_inline bool __hmap_tab_lookup_u32(struct hmap_tab *t, const void *key, u32 hash,
						  bool *moved, u32 *val)
{
	return hmap_lookup_snap(t, key, hash, moved, val) != NULL;
}

/**
 * hmap_tab_lookup - find a key, lock-free unless a writer keeps the chain busy
 * @t: the engine
 * @key: t->l.key_size bytes
 * @hash: hmap_tab_hash(t, key)
 *
 * Context: any, including NMI; bounded (see __hmap_tab_lookup()).
 * Return: pointer to the value in place, or NULL if absent.
 */
static __always_inline void *hmap_tab_lookup(struct hmap_tab *t, const void *key, u32 hash)
{
	bool moved = false;

	return __hmap_tab_lookup(t, key, hash, &moved);
}

#endif /* _HMAP_ENGINE_H */
