// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libhmap's zero-copy reader: see libhmap_reader.h.  It implements the
 * protocol documented in kmod/uapi/hmap.h and kmod/hmap_engine.h: copy a
 * chain between two equal, even reads of its head bucket's seq; bound every
 * index read from shared memory, since a writer may be changing it under us.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libhmap_reader.h"	/* and uapi/hmap.h: layout, hash, tophash */

static inline void hmap_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

#define HMAP_READ_RETRIES	1000000

/* Unit tests only (reader_test): called as a walk enters an overflow
 * bucket, to act as a writer would at that moment. */
#ifdef HMAP_READER_ENTER_HOOK
void HMAP_READER_ENTER_HOOK(const struct hmap_bucket *b);
#define hmap_enter_hook(b)	HMAP_READER_ENTER_HOOK(b)
#else
#define hmap_enter_hook(b)	do { } while (0)
#endif

/* Unmap the arrays nobody reads: not in the layout's view, not held by a
 * walk (all: every one).  Returns how many were unmapped. */
static int hmap_unmap_arrays(struct hmap_reader *r, bool all)
{
	int n = 0;

	for (int i = 0; i < HMAP_READER_MAX_MAPS; i++) {
		struct hmap_uarray *m = &r->maps[i];
		bool used = m->holds;

		for (__u32 j = 0; j < r->narrays && !all; j++)
			used |= r->arr[j].offset == m->offset;
		if (m->offset && (all || !used)) {
			r->ops->unmap(r->ctx, m->base, m->len);
			memset(m, 0, sizeof(*m));
			n++;
		}
	}
	return n;
}

/* A walk reads array @a across refreshes: keep it mapped (+1) or let it go (-1). */
static void hmap_hold_array(struct hmap_reader *r, const struct hmap_uarray *a, int d)
{
	for (int i = 0; i < HMAP_READER_MAX_MAPS; i++)
		if (r->maps[i].offset == a->offset) {
			r->maps[i].holds += d;
			return;
		}
}

static int hmap_map_array(struct hmap_reader *r, const struct hmap_shm_array *sa,
			  struct hmap_uarray *out)
{
	struct hmap_uarray *free_slot = NULL;
	const void *p;
	int ret;

	for (int i = 0; i < HMAP_READER_MAX_MAPS; i++) {
		if (r->maps[i].offset == sa->mmap_offset) {
			*out = r->maps[i];
			return 0;
		}
		if (!r->maps[i].offset && !free_slot)
			free_slot = &r->maps[i];
	}
	if (!free_slot)
		return -EMFILE;	/* every slot read by a walk: too many open on this handle */
	/* The kernel's header, read-only to us; still, never index past what
	 * is mapped: a count whose buckets fit the mapping, a power of two for
	 * an incremental table's arrays (growth splits buckets in two). */
	if (!sa->nbuckets || (r->incr && (sa->nbuckets & (sa->nbuckets - 1))) ||
	    sa->nbuckets > (1U << HMAP_MAX_BUCKETS_LOG2) ||
	    ((__u64)sa->nbuckets + sa->noverflow) * r->shm->bucket_size > sa->mmap_size)
		return -EPROTO;
	ret = r->ops->map(r->ctx, sa->mmap_offset, sa->mmap_size, &p);
	if (ret)
		return ret;	/* e.g. freed since we read the layout: retry */
	*free_slot = (struct hmap_uarray){
		.offset = sa->mmap_offset, .base = p, .len = sa->mmap_size,
		.nbuckets = sa->nbuckets, .ntotal = sa->nbuckets + sa->noverflow,
	};
	*out = *free_slot;
	return 0;
}

/* Map the value chunks published so far (incremental). */
static int hmap_map_chunks(struct hmap_reader *r)
{
	const struct hmap_shm_header *shm = r->shm;
	__u32 want = __atomic_load_n(&shm->pool_nchunks, __ATOMIC_ACQUIRE);

	if (want > r->chunks_cap) {
		const __u8 **c = realloc(r->chunks, (want + 64) * sizeof(*c));

		if (!c)
			return -ENOMEM;
		r->chunks = c;
		r->chunks_cap = want + 64;
	}
	while (r->nchunks < want) {
		const void *p;
		int ret = r->ops->map(r->ctx, shm->pool_mmap_offset +
				      (__u64)r->nchunks * shm->pool_chunk_bytes,
				      shm->pool_chunk_bytes, &p);

		if (ret)
			return ret;
		r->chunks[r->nchunks++] = p;
	}
	return 0;
}

/*
 * Bring the mapped arrays in line with the header's layout.  Returns 0 with
 * a consistent view, or a negative errno.  Cheap when nothing moved.
 */
static int hmap_refresh(struct hmap_reader *r)
{
	const struct hmap_shm_header *shm = r->shm;

	for (int tries = 0; tries < HMAP_READ_RETRIES; tries++) {
		struct hmap_shm_array a[2];
		__u32 seq = __atomic_load_n(&shm->layout_seq, __ATOMIC_ACQUIRE), n, i;
		int ret = 0, freed;

		if (seq & 1) {
			hmap_cpu_relax();
			continue;
		}
		if (r->narrays && seq == r->layout_seq)
			return r->incr ? hmap_map_chunks(r) : 0;
		n = shm->narrays;
		memcpy(a, shm->arrays, sizeof(a));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&shm->layout_seq, __ATOMIC_RELAXED) != seq || n < 1 || n > 2)
			continue;
		for (i = 0; i < n && !ret; i++)
			ret = hmap_map_array(r, &a[i], &r->arr[i]);
		if (ret) {
			/* Keep what this pass mapped (arrays of the new layout)
			 * while slots are freed: else two arrays could take the
			 * last slot from each other forever. */
			r->narrays = i - 1;
			freed = hmap_unmap_arrays(r, false);
			r->narrays = 0;
			if (ret == -EINVAL)
				continue;	/* moved under us */
			if (ret == -EMFILE && freed)
				continue;	/* slots freed: map again */
			return ret;	/* -EMFILE: every slot read by an open walk */
		}
		r->narrays = n;
		hmap_unmap_arrays(r, false);
		r->layout_seq = seq;
		return r->incr ? hmap_map_chunks(r) : 0;
	}
	return -EAGAIN;
}

int hmap_reader_init(struct hmap_reader *r, const struct hmap_shm_header *shm,
		     const struct hmap_reader_ops *ops, void *ctx)
{
	int ret;

	if (shm->magic != HMAP_SHM_MAGIC || shm->abi_version != HMAP_ABI_VERSION)
		return -EPROTO;	/* module and library disagree on the layout */
	if (shm->variant >= HMAP_VARIANT_MAX)
		return -EOPNOTSUPP;
	memset(r, 0, sizeof(*r));
	r->shm = shm;
	r->ops = ops;
	r->ctx = ctx;
	r->incr = shm->variant == HMAP_VARIANT_INCREMENTAL;
	r->seed[0] = shm->seed[0];
	r->seed[1] = shm->seed[1];
	ret = hmap_refresh(r);
	if (ret)
		hmap_reader_release(r);
	return ret;
}

void hmap_reader_release(struct hmap_reader *r)
{
	hmap_unmap_arrays(r, true);
	for (__u32 c = 0; c < r->nchunks; c++)
		r->ops->unmap(r->ctx, r->chunks[c], r->shm->pool_chunk_bytes);
	free(r->chunks);
	r->chunks = NULL;
	r->nchunks = r->chunks_cap = r->narrays = 0;
}

static const struct hmap_bucket *hmap_ubucket(const struct hmap_reader *r,
					      const struct hmap_uarray *a, __u32 idx)
{
	return (const struct hmap_bucket *)(a->base + (size_t)idx * r->shm->bucket_size);
}

/* The value of slot @i of bucket @b: in place, or in the pool (NULL: torn). */
static const __u8 *hmap_uvalue(const struct hmap_reader *r, const struct hmap_bucket *b, int i)
{
	const struct hmap_shm_header *shm = r->shm;
	const __u8 *slot = (const __u8 *)b + shm->values_offset + i * shm->value_stride;
	__u32 idx, c;

	if (!r->incr)
		return slot;
	memcpy(&idx, slot, 4);
	c = idx >> shm->pool_chunk_shift;
	if (c >= r->nchunks)
		return NULL;	/* a chunk newer than our view, or a torn index */
	return r->chunks[c] + (size_t)(idx & ((1U << shm->pool_chunk_shift) - 1)) *
	       shm->pool_value_stride;
}

/*
 * Copy chain @b of array @a as packed key/value pairs into @buf (room for
 * @max pairs), between two equal even reads of its head seq (not checked
 * when @consistent is false: the last resort).  Returns the number of
 * pairs, -EAGAIN (torn: retry), -EXDEV (the chain has moved to a newer array,
 * seen in the same snapshot as the chain), or -E2BIG (more than @max pairs,
 * the seq unchanged: a long chain, not a torn walk).
 */
static int hmap_collect_chain(const struct hmap_reader *r, const struct hmap_uarray *a, __u32 b,
			      __u8 *buf, __u32 max, bool consistent)
{
	const struct hmap_shm_header *shm = r->shm;
	const struct hmap_bucket *head = hmap_ubucket(r, a, b), *bk = head;
	__u32 ksz = shm->key_size, vsz = shm->value_size, n = 0, hops = 0, next;
	__u32 seq = __atomic_load_n(&head->seq, __ATOMIC_ACQUIRE);

	/* Moved to a newer array: this copy is frozen, its indexes stale. */
	if (seq & HMAP_SEQ_EVACUATED)
		return -EXDEV;
	if ((seq & 1) && consistent)
		return -EAGAIN;
	for (;;) {
		for (int i = 0; i < HMAP_BUCKET_SLOTS; i++) {
			__u8 th = bk->tophash[i];
			const __u8 *v;

			if (th == HMAP_TOPHASH_EMPTY_REST)
				goto out;
			if (th < HMAP_TOPHASH_MIN)
				continue;
			if (n == max)
				goto full;
			v = hmap_uvalue(r, bk, i);
			if (!v)
				return -EAGAIN;
			memcpy(buf + (size_t)n * (ksz + vsz),
			       (const __u8 *)bk + shm->keys_offset + i * shm->key_stride, ksz);
			memcpy(buf + (size_t)n * (ksz + vsz) + ksz, v, vsz);
			n++;
		}
		next = __atomic_load_n(&bk->overflow, __ATOMIC_RELAXED);
		if (!next)
			break;
		if (next < a->nbuckets || next >= a->ntotal || ++hops >= a->ntotal)
			return -EAGAIN;
		bk = hmap_ubucket(r, a, next);
		hmap_enter_hook(bk);
	}
out:
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (consistent && __atomic_load_n(&head->seq, __ATOMIC_RELAXED) != seq)
		return -EAGAIN;
	return n;
full:
	/* Longer than the buffer: a walk torn by a writer (retry), or a chain
	 * that really is this long (the caller grows the buffer). */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&head->seq, __ATOMIC_RELAXED) != seq)
		return -EAGAIN;
	return -E2BIG;
}

/* Find @key in chain hmap_bucket_index(hash, nbuckets) of @a; 0, -ENOENT, -EAGAIN (torn),
 * or -EXDEV (the chain moved to a newer array: a change of the seq, evacuated
 * bit included, during the scan is -EAGAIN, and the retry sees -EXDEV). */
static int hmap_find(const struct hmap_reader *r, const struct hmap_uarray *a, const void *key,
		     __u32 hash, void *value)
{
	const struct hmap_shm_header *shm = r->shm;
	const struct hmap_bucket *head = hmap_ubucket(r, a, hmap_bucket_index(hash, a->nbuckets)), *b = head;
	__u32 seq = __atomic_load_n(&head->seq, __ATOMIC_ACQUIRE), next, hops = 0;
	__u8 top = hmap_tophash(hash);
	int found = -ENOENT;

	if (seq & HMAP_SEQ_EVACUATED)
		return -EXDEV;	/* moved: look in the newer array */
	if (seq & 1)
		return -EAGAIN;
	for (;;) {
		for (int i = 0; i < HMAP_BUCKET_SLOTS; i++) {
			__u8 th = b->tophash[i];
			const __u8 *v;

			if (th == HMAP_TOPHASH_EMPTY_REST)
				goto done;
			if (th != top || memcmp((const __u8 *)b + shm->keys_offset +
						i * shm->key_stride, key, shm->key_size))
				continue;
			v = hmap_uvalue(r, b, i);
			if (!v)
				return -EAGAIN;
			memcpy(value, v, shm->value_size);
			found = 0;
			goto done;
		}
		next = __atomic_load_n(&b->overflow, __ATOMIC_RELAXED);
		if (!next)
			break;
		if (next < a->nbuckets || next >= a->ntotal || ++hops >= a->ntotal)
			return -EAGAIN;	/* torn: the seq check would fail too */
		b = hmap_ubucket(r, a, next);
	}
done:
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&head->seq, __ATOMIC_RELAXED) != seq)
		return -EAGAIN;
	return found;
}

int hmap_reader_lookup(struct hmap_reader *r, const void *key, void *value)
{
	__u32 hash = hmap_key_hash(key, r->shm->key_size, r->seed);

	for (int tries = 0; tries < HMAP_READ_RETRIES; tries++) {
		const struct hmap_uarray *a = &r->arr[0];
		int ret = r->incr ? hmap_refresh(r) : 0;

		if (ret)
			return ret;
		/* Growing: the old bucket, unless its chain has moved. */
		ret = -EXDEV;
		if (r->narrays == 2)
			ret = hmap_find(r, &r->arr[1], key, hash, value);
		if (ret == -EXDEV) {
			if (r->narrays == 2)
				r->moved++;
			ret = hmap_find(r, a, key, hash, value);
		}
		if (ret == -EXDEV)	/* cur moved too: a growth newer than our view */
			ret = -EAGAIN;
		if (ret != -EAGAIN &&
		    (!r->incr || __atomic_load_n(&r->shm->layout_seq, __ATOMIC_ACQUIRE) == r->layout_seq))
			return ret;
		__atomic_fetch_add(&r->lookup_retries, 1, __ATOMIC_RELAXED);
		hmap_cpu_relax();
	}
	return -EAGAIN;
}

/*
 * The live slots of chain @b of fixed array @a, as key/value pointers into
 * the mapping, found between two equal even reads of the head seq (unless
 * @validate is false: the last resort after HMAP_READ_RETRIES).  Returns
 * their number, -EAGAIN (torn: retry) or -E2BIG (more than @max).  The
 * chain's shape must be validated even though the entries are not copied:
 * a delete can unlink an emptied overflow bucket and a writer of another
 * chain reuse it, so an unchecked walk could skip keys that live throughout
 * it or follow another chain.
 */
static int hmap_chain_slots(const struct hmap_reader *r, const struct hmap_uarray *a, __u32 b,
			    struct hmap_entry_ref *ents, __u32 max, bool validate)
{
	const struct hmap_shm_header *shm = r->shm;
	const struct hmap_bucket *head = hmap_ubucket(r, a, b), *bk = head;
	__u32 seq = __atomic_load_n(&head->seq, __ATOMIC_ACQUIRE), n = 0, hops = 0, next;

	if ((seq & 1) && validate)
		return -EAGAIN;
	for (;;) {
		for (int i = 0; i < HMAP_BUCKET_SLOTS; i++) {
			__u8 th = bk->tophash[i];

			if (th == HMAP_TOPHASH_EMPTY_REST)
				goto out;
			if (th < HMAP_TOPHASH_MIN)
				continue;
			if (n == max)
				goto full;
			ents[n].key = (const __u8 *)bk + shm->keys_offset + i * shm->key_stride;
			ents[n].value = (const __u8 *)bk + shm->values_offset + i * shm->value_stride;
			n++;
		}
		next = __atomic_load_n(&bk->overflow, __ATOMIC_RELAXED);
		if (!next)
			break;
		if (next < a->nbuckets || next >= a->ntotal || ++hops >= a->ntotal)
			return validate ? -EAGAIN : (int)n;
		bk = hmap_ubucket(r, a, next);
		hmap_enter_hook(bk);
	}
out:
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (validate && __atomic_load_n(&head->seq, __ATOMIC_RELAXED) != seq)
		return -EAGAIN;
	return n;
full:
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (validate && __atomic_load_n(&head->seq, __ATOMIC_RELAXED) != seq)
		return -EAGAIN;
	return -E2BIG;
}

/*
 * The in-place walk reads the main buckets in order, which the CPU's own
 * prefetcher follows, but an overflow bucket is anywhere in the overflow
 * region: a cache miss (at 1M entries a fifth of the chains have one) that
 * cost about 40% of a dump natively.  So the walk reads the overflow link of
 * the bucket HMAP_PREFETCH_AHEAD ahead (its line is on the way in already)
 * and prefetches that overflow bucket's lines.  A racing writer may change
 * the link: a prefetch is only a hint, and the index is bounded first.
 */
#define HMAP_PREFETCH_AHEAD	8

static inline void hmap_prefetch_overflow(const struct hmap_reader *r,
					  const struct hmap_uarray *a, __u32 b)
{
	__u32 next = __atomic_load_n(&hmap_ubucket(r, a, b)->overflow, __ATOMIC_RELAXED);
	const char *p;

	if (next < a->nbuckets || next >= a->ntotal)
		return;
	p = (const char *)hmap_ubucket(r, a, next);
	for (__u32 off = 0; off < r->shm->bucket_size; off += 64)
		__builtin_prefetch(p + off);
}

/*
 * Every chain of a fixed table, in place: entries point into the mapping.
 * Chains are gathered into one batch until it holds HMAP_ITER_BATCH entries
 * (more if a chain alone is longer), so the caller's callback runs once a
 * batch, not once an entry: at 1M entries natively the call per entry was
 * about a fifth of a dump.  A chain that does not fit behind the entries
 * gathered so far is read again once they have been handed out.
 */
#define HMAP_ITER_BATCH		256

static int hmap_iterate_in_place(const struct hmap_reader *r, hmap_iter_batch_cb cb, void *ctx,
				 __u64 *retries)
{
	const struct hmap_uarray *a = &r->arr[0];
	__u32 max = 2 * HMAP_ITER_BATCH, fill = 0;
	struct hmap_entry_ref *ents = malloc(sizeof(*ents) * max);
	int ret = 0;

	if (!ents)
		return -ENOMEM;
	for (__u32 bi = 0; bi < a->nbuckets && !ret; bi++) {
		int n = -EAGAIN, tries = 0;

		if (bi + HMAP_PREFETCH_AHEAD < a->nbuckets)
			hmap_prefetch_overflow(r, a, bi + HMAP_PREFETCH_AHEAD);
		while (tries < HMAP_READ_RETRIES) {
			n = hmap_chain_slots(r, a, bi, ents + fill, max - fill,
					     tries < HMAP_READ_RETRIES - 1);
			if (n == -E2BIG && fill) {
				/* Hand out what is gathered; the chain starts
				 * the next batch.  Not a retry. */
				ret = cb(ents, fill, ctx);
				fill = 0;
				if (ret)
					break;
				continue;
			}
			if (n == -E2BIG) {
				/* A long chain: room for twice as many, up to
				 * every slot of the array. */
				struct hmap_entry_ref *ne;

				tries++;
				if (max >= (__u32)a->ntotal * HMAP_BUCKET_SLOTS) {
					n = -EAGAIN;
					continue;
				}
				ne = realloc(ents, sizeof(*ents) * max * 2);
				if (!ne) {
					ret = -ENOMEM;
					break;
				}
				ents = ne;
				max *= 2;
				continue;
			}
			if (n != -EAGAIN)
				break;
			tries++;
			if (retries)
				(*retries)++;
		}
		if (ret)
			break;
		if (n < 0) {
			/* Never a chain skipped in silence; the chains
			 * before it are handed out first, as they were read. */
			ret = fill ? cb(ents, fill, ctx) : 0;
			fill = 0;
			if (!ret)
				ret = n;
			break;
		}
		fill += n;
		if (fill >= HMAP_ITER_BATCH) {
			ret = cb(ents, fill, ctx);
			fill = 0;
		}
	}
	if (!ret && fill)
		ret = cb(ents, fill, ctx);
	free(ents);
	return ret;
}

/* Emit chain @b of @a; retried until consistent when @consistent. */
static int hmap_emit_chain(struct hmap_reader *r, struct hmap_reader_walk *w,
			   const struct hmap_uarray *a, __u32 b, bool consistent,
			   hmap_iter_batch_cb cb, void *ctx)
{
	__u32 ksz = r->shm->key_size, vsz = r->shm->value_size;
	int n = -EAGAIN, ret = 0;

	for (int tries = 0; tries < HMAP_READ_RETRIES; tries++) {
		/* Without @consistent, too, the chain's shape is read between
		 * two equal seqs (see hmap_chain_slots()); only the last try
		 * takes it as it is. */
		n = hmap_collect_chain(r, a, b, w->buf, w->max,
				       consistent || tries < HMAP_READ_RETRIES - 1);
		if (n == -E2BIG) {
			/* A long chain, read whole: room for twice as many.
			 * Bounded: a chain has at most ntotal buckets. */
			__u32 max = w->max * 2;
			struct hmap_entry_ref *ne;
			__u8 *nb;

			if (max > (__u32)a->ntotal * HMAP_BUCKET_SLOTS * 2)
				return -EAGAIN;
			nb = realloc(w->buf, (size_t)max * (ksz + vsz));
			if (!nb)
				return -ENOMEM;
			w->buf = nb;
			ne = realloc(w->ents, sizeof(*ne) * max);
			if (!ne)
				return -ENOMEM;
			w->ents = ne;
			w->max = max;
			continue;
		}
		if (n != -EAGAIN)
			break;
		w->retries++;
		/* A value in a chunk added since our view: map it. */
		if (r->incr && (ret = hmap_map_chunks(r)))
			return ret;
	}
	if (n <= 0)
		return n;	/* -EXDEV: the caller reads where the chain went */
	for (int j = 0; j < n; j++) {
		w->ents[j].key = w->buf + (size_t)j * (ksz + vsz);
		w->ents[j].value = w->buf + (size_t)j * (ksz + vsz) + ksz;
	}
	return cb(w->ents, n, ctx);
}

/*
 * Emit every key whose hash has @x in its low bits, @nb_x being the main
 * bucket count of the array it was read from, which it has left (its chain
 * was evacuated).  Read the newest layout and take the oldest array there
 * bigger than that one: its chains x + k * nb_x hold those keys, and a chain
 * that moved on again is followed the same way.  Each key lives in exactly
 * one chain of each array, so none is emitted twice.
 */
static int hmap_emit_moved(struct hmap_reader *r, struct hmap_reader_walk *w, __u32 nb_x,
			   __u32 x, hmap_iter_batch_cb cb, void *ctx, int depth)
{
	struct hmap_uarray a;
	int ret = hmap_refresh(r);

	if (ret)
		return ret;
	if (depth > HMAP_MAX_BUCKETS_LOG2)
		return -EAGAIN;
	if (r->narrays == 2 && r->arr[1].nbuckets > nb_x)
		a = r->arr[1];
	else if (r->arr[0].nbuckets > nb_x)
		a = r->arr[0];
	else
		return -EAGAIN;	/* cannot be: arrays only grow */
	r->moved++;
	hmap_hold_array(r, &a, 1);	/* the recursion refreshes: keep @a mapped */
	for (__u32 c = x; c < a.nbuckets && !ret; c += nb_x) {
		ret = hmap_emit_chain(r, w, &a, c, w->consistent, cb, ctx);
		if (ret == -EXDEV)
			ret = hmap_emit_moved(r, w, a.nbuckets, c, cb, ctx, depth + 1);
	}
	hmap_hold_array(r, &a, -1);
	return ret;
}

int hmap_reader_walk_begin(struct hmap_reader *r, struct hmap_reader_walk *w, unsigned int flags)
{
	const struct hmap_shm_header *shm = r->shm;
	int ret;

	memset(w, 0, sizeof(*w));
	w->consistent = flags & HMAP_ITER_CONSISTENT;
	ret = r->incr ? hmap_refresh(r) : 0;
	if (ret)
		return ret;
	w->max = 8 * 64;
	w->buf = malloc((size_t)w->max * (shm->key_size + shm->value_size));
	w->ents = malloc(sizeof(*w->ents) * w->max);
	if (!w->buf || !w->ents) {
		free(w->buf);
		free(w->ents);
		w->buf = NULL;
		w->ents = NULL;
		return -ENOMEM;
	}
	/*
	 * Walk the oldest array by bucket, as Go's iterator does: a chain not
	 * yet moved is read there; one that moved (seen with the chain's own
	 * seq) is read where its keys went, never both.  A copy: refresh may
	 * replace r->arr; the walk holds the array's mapping until its end.
	 */
	w->a = r->narrays == 2 ? r->arr[1] : r->arr[0];
	w->old_consistent = w->consistent || r->narrays == 2;
	if (r->incr) {
		hmap_hold_array(r, &w->a, 1);
		r->walks++;
	}
	w->open = true;
	return 0;
}

int hmap_reader_walk_chain(struct hmap_reader *r, struct hmap_reader_walk *w, __u32 b,
			   hmap_iter_batch_cb cb, void *ctx)
{
	int ret = hmap_emit_chain(r, w, &w->a, b, w->old_consistent, cb, ctx);

	if (ret == -EXDEV)
		ret = hmap_emit_moved(r, w, w->a.nbuckets, b, cb, ctx, 0);
	return ret;
}

/* A per-entry callback over batches: calls it for each entry until it stops. */
struct hmap_each {
	hmap_iter_cb cb;
	void *ctx;
};

static int hmap_each_entry(const struct hmap_entry_ref *ents, unsigned int n, void *ctx)
{
	const struct hmap_each *e = ctx;
	int ret = 0;

	for (unsigned int i = 0; i < n && !ret; i++)
		ret = e->cb(ents[i].key, ents[i].value, e->ctx);
	return ret;
}

int hmap_reader_walk_bucket(struct hmap_reader *r, struct hmap_reader_walk *w, __u32 b,
			    hmap_iter_cb cb, void *ctx)
{
	struct hmap_each e = { cb, ctx };

	return hmap_reader_walk_chain(r, w, b, hmap_each_entry, &e);
}

void hmap_reader_walk_end(struct hmap_reader *r, struct hmap_reader_walk *w)
{
	if (!w->open)
		return;
	if (r->incr) {
		r->walks--;
		hmap_hold_array(r, &w->a, -1);
		hmap_unmap_arrays(r, false);
	}
	free(w->buf);
	free(w->ents);
	w->buf = NULL;
	w->ents = NULL;
	w->open = false;
}

int hmap_reader_iterate_batch(struct hmap_reader *r, unsigned int flags, hmap_iter_batch_cb cb,
			      void *ctx, __u64 *retries)
{
	struct hmap_reader_walk w;
	int ret;

	if (!r->incr && !(flags & HMAP_ITER_CONSISTENT))
		return hmap_iterate_in_place(r, cb, ctx, retries);
	ret = hmap_reader_walk_begin(r, &w, flags);
	for (__u32 b = 0; !ret && b < w.a.nbuckets; b++)
		ret = hmap_reader_walk_chain(r, &w, b, cb, ctx);
	if (retries)
		*retries += w.retries;
	hmap_reader_walk_end(r, &w);
	return ret;
}

int hmap_reader_iterate(struct hmap_reader *r, unsigned int flags, hmap_iter_cb cb, void *ctx,
			__u64 *retries)
{
	struct hmap_each e = { cb, ctx };

	return hmap_reader_iterate_batch(r, flags, hmap_each_entry, &e, retries);
}
