// SPDX-License-Identifier: GPL-2.0
/*
 * libhmap: see libhmap.h.  The read side implements the protocol documented
 * in kmod/uapi/hmap.h and kmod/hmap_engine.h: copy a chain between two equal,
 * even reads of its head bucket's seq; bound every index read from shared
 * memory, since a writer may be changing it under us.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "libhmap.h"
#include "hmap_engine.h"	/* user-space build: hash and tophash, as the kernel */
#include "hmap_admin.skel.h"

/* Arrays mapped at once: the layout's two, and older ones an iteration in
 * progress still reads (one per growth during it). */
#define HMAP_MAX_MAPS	8

/* One mapped bucket array. */
struct hmap_uarray {
	__u64 offset;		/* mmap offset; 0: unused */
	const __u8 *base;
	size_t len;
	__u32 nbuckets;
	__u32 ntotal;		/* main + overflow buckets */
};

struct hmap_table {
	int fd;
	const struct hmap_shm_header *shm;
	hmap_seed_t seed;
	bool incr;		/* incremental variant: values in the pool */
	/*
	 * arr[0] is the current array, arr[1] the old one while growing
	 * (narrays 2).  Fixed tables have one array, mapped once.  Incremental
	 * tables re-read the layout when layout_seq moves (refresh).
	 */
	__u32 narrays;
	__u32 layout_seq;
	struct hmap_uarray arr[2];
	struct hmap_uarray maps[HMAP_MAX_MAPS];	/* incremental: arrays mapped now */
	const __u8 **chunks;		/* incremental: mapped value chunks */
	bool iterating;			/* keep every mapping: an iteration reads one */
	__u32 nchunks;
	__u32 chunks_cap;
};

#define HMAP_READ_RETRIES	1000000

static int hmap_dev_ioctl(unsigned long cmd, void *arg)
{
	int fd, ret;

	fd = open(HMAP_DEV_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = ioctl(fd, cmd, arg);
	ret = ret < 0 ? -errno : ret;
	close(fd);
	return ret;
}

/* Load the admin programs with their descriptor at @pin_path (created and
 * pinned by the load if absent, reused if present): only hmap_create if
 * @create, else only hmap_refresh. */
static int hmap_admin_load_at(const char *pin_path, bool create, struct hmap_admin **sp)
{
	struct hmap_admin *skel = hmap_admin__open();
	int ret;

	if (!skel)
		return -errno;
	ret = bpf_map__set_pin_path(skel->maps.hmap_desc, pin_path);
	if (!ret) {
		bpf_program__set_autoload(create ? skel->progs.hmap_refresh
						 : skel->progs.hmap_create, false);
		ret = hmap_admin__load(skel);
	}
	if (ret) {
		hmap_admin__destroy(skel);
		return ret;
	}
	*sp = skel;
	return 0;
}

int hmap_create_pinned(const char *pin_path, const struct hmap_create_opts *opts, __u32 *id)
{
	struct hmap_create_attr attr = {
		.key_size = opts->key_size,
		.value_size = opts->value_size,
		.capacity = opts->capacity,
		.max_capacity = opts->max_capacity,
		.variant = opts->variant,
		.flags = opts->flags,
	};
	/* SYSCALL programs write their ctx back into ctx_in (no ctx_out). */
	LIBBPF_OPTS(bpf_test_run_opts, run,
		.ctx_in = &attr,
		.ctx_size_in = sizeof(attr),
	);
	struct hmap_admin *skel;
	int ret;

	if (access(pin_path, F_OK) == 0)
		return -EEXIST;
	ret = hmap_admin_load_at(pin_path, true, &skel);	/* creates and pins the descriptor */
	if (ret)
		return ret;
	ret = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.hmap_create), &run);
	ret = ret ? -errno : (int)run.retval;
	if (ret)
		bpf_map__unpin(skel->maps.hmap_desc, NULL);
	else if (id)
		*id = attr.id;
	hmap_admin__destroy(skel);
	return ret;
}

int hmap_refresh_desc(const char *pin_path)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct hmap_admin *skel;
	int ret;

	if (access(pin_path, F_OK))
		return -errno;
	ret = hmap_admin_load_at(pin_path, false, &skel);	/* reuses the pinned descriptor */
	if (ret)
		return ret;
	ret = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.hmap_refresh), &run);
	ret = ret ? -errno : (int)run.retval;
	hmap_admin__destroy(skel);
	return ret;
}

static void hmap_unmap_arrays(struct hmap_table *t, bool all)
{
	if (t->iterating && !all)
		return;
	for (int i = 0; i < HMAP_MAX_MAPS; i++) {
		struct hmap_uarray *m = &t->maps[i];
		bool used = false;

		for (__u32 j = 0; j < t->narrays && !all; j++)
			used |= t->arr[j].offset == m->offset;
		if (m->offset && !used) {
			munmap((void *)m->base, m->len);
			memset(m, 0, sizeof(*m));
		}
	}
}

static int hmap_map_array(struct hmap_table *t, const struct hmap_shm_array *sa,
			  struct hmap_uarray *out)
{
	struct hmap_uarray *free_slot = NULL;
	void *p;

	for (int i = 0; i < HMAP_MAX_MAPS; i++) {
		if (t->maps[i].offset == sa->mmap_offset) {
			*out = t->maps[i];
			return 0;
		}
		if (!t->maps[i].offset && !free_slot)
			free_slot = &t->maps[i];
	}
	if (!free_slot)
		return -EAGAIN;
	p = mmap(NULL, sa->mmap_size, PROT_READ, MAP_SHARED, t->fd, sa->mmap_offset);
	if (p == MAP_FAILED)
		return -errno;	/* e.g. freed since we read the layout: retry */
	*free_slot = (struct hmap_uarray){
		.offset = sa->mmap_offset, .base = p, .len = sa->mmap_size,
		.nbuckets = sa->nbuckets, .ntotal = sa->nbuckets + sa->noverflow,
	};
	*out = *free_slot;
	return 0;
}

/* Map the value chunks published so far (incremental). */
static int hmap_map_chunks(struct hmap_table *t)
{
	const struct hmap_shm_header *shm = t->shm;
	__u32 want = __atomic_load_n(&shm->pool_nchunks, __ATOMIC_ACQUIRE);

	if (want > t->chunks_cap) {
		const __u8 **c = realloc(t->chunks, (want + 64) * sizeof(*c));

		if (!c)
			return -ENOMEM;
		t->chunks = c;
		t->chunks_cap = want + 64;
	}
	while (t->nchunks < want) {
		void *p = mmap(NULL, shm->pool_chunk_bytes, PROT_READ, MAP_SHARED, t->fd,
			       shm->pool_mmap_offset + (__u64)t->nchunks * shm->pool_chunk_bytes);

		if (p == MAP_FAILED)
			return -errno;
		t->chunks[t->nchunks++] = p;
	}
	return 0;
}

/*
 * Bring the mapped arrays in line with the header's layout.  Returns 0 with
 * a consistent view, or a negative errno.  Cheap when nothing moved.
 */
static int hmap_refresh(struct hmap_table *t)
{
	const struct hmap_shm_header *shm = t->shm;

	for (int tries = 0; tries < HMAP_READ_RETRIES; tries++) {
		struct hmap_shm_array a[2];
		__u32 seq = __atomic_load_n(&shm->layout_seq, __ATOMIC_ACQUIRE), n;
		int ret = 0;

		if (seq & 1) {
			__builtin_ia32_pause();
			continue;
		}
		if (t->narrays && seq == t->layout_seq)
			return t->incr ? hmap_map_chunks(t) : 0;
		n = shm->narrays;
		memcpy(a, shm->arrays, sizeof(a));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&shm->layout_seq, __ATOMIC_RELAXED) != seq || n < 1 || n > 2)
			continue;
		t->narrays = n;
		for (__u32 i = 0; i < n && !ret; i++)
			ret = hmap_map_array(t, &a[i], &t->arr[i]);
		if (ret) {
			t->narrays = 0;
			if (ret == -EINVAL || ret == -EAGAIN) {
				hmap_unmap_arrays(t, false);
				continue;	/* moved under us */
			}
			return ret;
		}
		hmap_unmap_arrays(t, false);
		t->layout_seq = seq;
		return t->incr ? hmap_map_chunks(t) : 0;
	}
	return -EAGAIN;
}

static int hmap_map_table(int fd, struct hmap_table **tp)
{
	const struct hmap_shm_header *shm;
	struct hmap_table *t;
	int ret;

	shm = mmap(NULL, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	if (shm->magic != HMAP_SHM_MAGIC || shm->abi_version != HMAP_ABI_VERSION) {
		ret = -EPROTO;	/* module and library disagree on the layout */
		goto err_shm;
	}
	if (shm->variant >= HMAP_VARIANT_MAX) {
		ret = -EOPNOTSUPP;
		goto err_shm;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto err_shm;
	}
	t->fd = fd;
	t->shm = shm;
	t->incr = shm->variant == HMAP_VARIANT_INCREMENTAL;
	t->seed.key[0] = shm->seed[0];
	t->seed.key[1] = shm->seed[1];
	ret = hmap_refresh(t);
	if (ret) {
		hmap_close(t);
		return ret;
	}
	*tp = t;
	return 0;

err_shm:
	munmap((void *)shm, PAGE_SIZE);
	close(fd);
	return ret;
}

int hmap_open_id(__u32 id, struct hmap_table **tp)
{
	struct hmap_ioc_fd req = { .id = id };
	int fd = hmap_dev_ioctl(HMAP_IOC_TABLE_FD, &req);

	if (fd < 0)
		return fd;
	return hmap_map_table(fd, tp);
}

int hmap_open_pinned(const char *pin_path, struct hmap_table **tp)
{
	struct hmap_desc desc;
	__u32 zero = 0;
	int mfd, ret;

	mfd = bpf_obj_get(pin_path);
	if (mfd < 0)
		return -errno;
	ret = bpf_map_lookup_elem(mfd, &zero, &desc);
	ret = ret ? -errno : 0;
	close(mfd);
	if (ret)
		return ret;
	if (!desc.id)
		return -ENOENT;	/* a descriptor that owns no table */
	return hmap_open_id(desc.id, tp);
}

void hmap_close(struct hmap_table *t)
{
	if (!t)
		return;
	hmap_unmap_arrays(t, true);
	for (__u32 c = 0; c < t->nchunks; c++)
		munmap((void *)t->chunks[c], t->shm->pool_chunk_bytes);
	free(t->chunks);
	munmap((void *)t->shm, PAGE_SIZE);
	close(t->fd);
	free(t);
}

int hmap_table_fd(const struct hmap_table *t)
{
	return t->fd;
}

const struct hmap_shm_header *hmap_header(const struct hmap_table *t)
{
	return t->shm;
}

int hmap_info(const struct hmap_table *t, struct hmap_info *info)
{
	return ioctl(t->fd, HMAP_IOC_INFO, info) ? -errno : 0;
}

static const struct hmap_bucket *hmap_ubucket(const struct hmap_table *t,
					      const struct hmap_uarray *a, __u32 idx)
{
	return (const struct hmap_bucket *)(a->base + (size_t)idx * t->shm->bucket_size);
}

/* The value of slot @i of bucket @b: in place, or in the pool (NULL: torn). */
static const __u8 *hmap_uvalue(const struct hmap_table *t, const struct hmap_bucket *b, int i)
{
	const struct hmap_shm_header *shm = t->shm;
	const __u8 *slot = (const __u8 *)b + shm->values_offset + i * shm->value_stride;
	__u32 idx, c;

	if (!t->incr)
		return slot;
	memcpy(&idx, slot, 4);
	c = idx >> shm->pool_chunk_shift;
	if (c >= t->nchunks)
		return NULL;	/* a chunk newer than our view, or a torn index */
	return t->chunks[c] + (size_t)(idx & ((1U << shm->pool_chunk_shift) - 1)) *
	       shm->pool_value_stride;
}

/*
 * Copy chain @b of array @a as packed key/value pairs into @buf (room for
 * @max pairs), between two equal even reads of its head seq (ignoring the
 * chain is read once when @consistent is false).  Returns the number of
 * pairs, -EAGAIN (torn: retry), -EXDEV (the chain has moved to a newer array,
 * seen in the same snapshot as the chain), or -E2BIG.
 */
static int hmap_collect_chain(const struct hmap_table *t, const struct hmap_uarray *a, __u32 b,
			      __u8 *buf, __u32 max, bool consistent)
{
	const struct hmap_shm_header *shm = t->shm;
	const struct hmap_bucket *head = hmap_ubucket(t, a, b), *bk = head;
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
				return -E2BIG;
			v = hmap_uvalue(t, bk, i);
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
		bk = hmap_ubucket(t, a, next);
	}
out:
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (consistent && __atomic_load_n(&head->seq, __ATOMIC_RELAXED) != seq)
		return -EAGAIN;
	return n;
}

/* Find @key in chain hash & (nbuckets - 1) of @a; 0, -ENOENT, -EAGAIN (torn),
 * or -EXDEV (the chain moved to a newer array: a change of the seq, evacuated
 * bit included, during the scan is -EAGAIN, and the retry sees -EXDEV). */
static int hmap_find(const struct hmap_table *t, const struct hmap_uarray *a, const void *key,
		     __u32 hash, void *value)
{
	const struct hmap_shm_header *shm = t->shm;
	const struct hmap_bucket *head = hmap_ubucket(t, a, hash & (a->nbuckets - 1)), *b = head;
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
			v = hmap_uvalue(t, b, i);
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
		b = hmap_ubucket(t, a, next);
	}
done:
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&head->seq, __ATOMIC_RELAXED) != seq)
		return -EAGAIN;
	return found;
}

int hmap_lookup(const struct hmap_table *ct, const void *key, void *value)
{
	struct hmap_table *t = (struct hmap_table *)ct;	/* refresh updates the view */
	__u32 hash = hmap_plat_hash(key, t->shm->key_size, &t->seed);

	for (int tries = 0; tries < HMAP_READ_RETRIES; tries++) {
		const struct hmap_uarray *a = &t->arr[0];
		int ret = t->incr ? hmap_refresh(t) : 0;

		if (ret)
			return ret;
		/* Growing: the old bucket, unless its chain has moved. */
		ret = -EXDEV;
		if (t->narrays == 2)
			ret = hmap_find(t, &t->arr[1], key, hash, value);
		if (ret == -EXDEV)
			ret = hmap_find(t, a, key, hash, value);
		if (ret == -EXDEV)	/* cur moved too: a growth newer than our view */
			ret = -EAGAIN;
		if (ret != -EAGAIN &&
		    (!t->incr || __atomic_load_n(&t->shm->layout_seq, __ATOMIC_ACQUIRE) == t->layout_seq))
			return ret;
		__builtin_ia32_pause();
	}
	return -EAGAIN;
}

/* One read of every chain, in place: entries point into the mapping. */
static int hmap_iterate_once(const struct hmap_table *t, hmap_iter_cb cb, void *ctx)
{
	const struct hmap_shm_header *shm = t->shm;
	const struct hmap_uarray *a = &t->arr[0];
	__u32 koff = shm->keys_offset, voff = shm->values_offset;
	__u32 ks = shm->key_stride, vs = shm->value_stride;
	int ret;

	for (__u32 bi = 0; bi < a->nbuckets; bi++) {
		const struct hmap_bucket *b = hmap_ubucket(t, a, bi);

		for (__u32 hops = 0;; hops++) {
			for (int i = 0; i < HMAP_BUCKET_SLOTS; i++) {
				__u8 th = b->tophash[i];

				if (th == HMAP_TOPHASH_EMPTY_REST)
					goto next_chain;
				if (th < HMAP_TOPHASH_MIN)
					continue;
				ret = cb((const __u8 *)b + koff + i * ks, (const __u8 *)b + voff + i * vs, ctx);
				if (ret)
					return ret;
			}
			__u32 next = __atomic_load_n(&b->overflow, __ATOMIC_RELAXED);

			if (!next || next < a->nbuckets || next >= a->ntotal || hops >= a->ntotal)
				break;
			b = hmap_ubucket(t, a, next);
		}
next_chain:;
	}
	return 0;
}

/* Emit chain @b of @a; retried until consistent when @consistent. */
static int hmap_emit_chain(struct hmap_table *t, const struct hmap_uarray *a, __u32 b,
			   __u8 *buf, __u32 max, bool consistent, hmap_iter_cb cb, void *ctx,
			   __u64 *retries)
{
	__u32 ksz = t->shm->key_size, vsz = t->shm->value_size;
	int n = -EAGAIN, ret = 0;

	for (int tries = 0; tries < HMAP_READ_RETRIES && n == -EAGAIN; tries++) {
		n = hmap_collect_chain(t, a, b, buf, max, consistent);
		if (n != -EAGAIN)
			break;
		if (retries)
			(*retries)++;
		/* A value in a chunk added since our view: map it. */
		if (t->incr && (ret = hmap_map_chunks(t)))
			return ret;
	}
	if (n < 0)
		return n;	/* -EXDEV: the caller reads where the chain went */
	for (int j = 0; j < n && !ret; j++)
		ret = cb(buf + (size_t)j * (ksz + vsz), buf + (size_t)j * (ksz + vsz) + ksz, ctx);
	return ret;
}

/*
 * Emit every key whose hash has @x in its low bits, @nb_x being the main
 * bucket count of the array it was read from, which it has left (its chain
 * was evacuated).  Read the newest layout and take the oldest array there
 * bigger than that one: its chains x + k * nb_x hold those keys, and a chain
 * that moved on again is followed the same way.  Each key lives in exactly
 * one chain of each array, so none is emitted twice.
 */
static int hmap_emit_moved(struct hmap_table *t, __u32 nb_x, __u32 x, __u8 *buf, __u32 max,
			   bool consistent, hmap_iter_cb cb, void *ctx, __u64 *retries, int depth)
{
	struct hmap_uarray a;
	int ret = hmap_refresh(t);

	if (ret)
		return ret;
	if (depth > HMAP_MAX_BUCKETS_LOG2)
		return -EAGAIN;
	if (t->narrays == 2 && t->arr[1].nbuckets > nb_x)
		a = t->arr[1];
	else if (t->arr[0].nbuckets > nb_x)
		a = t->arr[0];
	else
		return -EAGAIN;	/* cannot be: arrays only grow */
	for (__u32 c = x; c < a.nbuckets && !ret; c += nb_x) {
		ret = hmap_emit_chain(t, &a, c, buf, max, consistent, cb, ctx, retries);
		if (ret == -EXDEV)
			ret = hmap_emit_moved(t, a.nbuckets, c, buf, max, consistent, cb, ctx,
					      retries, depth + 1);
	}
	return ret;
}

int hmap_iterate(const struct hmap_table *ct, unsigned int flags, hmap_iter_cb cb, void *ctx,
		 __u64 *retries)
{
	struct hmap_table *t = (struct hmap_table *)ct;
	const struct hmap_shm_header *shm = t->shm;
	bool consistent = flags & HMAP_ITER_CONSISTENT;
	__u32 max = 8 * 64;
	__u8 *buf;
	int ret;

	if (!t->incr && !consistent)
		return hmap_iterate_once(t, cb, ctx);
	ret = t->incr ? hmap_refresh(t) : 0;
	if (ret)
		return ret;
	buf = malloc((size_t)max * (shm->key_size + shm->value_size));
	if (!buf)
		return -ENOMEM;
	t->iterating = true;
	{
		/*
		 * Walk the oldest array by bucket, as Go's iterator does: a
		 * chain not yet moved is read there; one that moved (seen with
		 * the chain's own seq) is read where its keys went, never both.
		 * Copies: refresh may replace t->arr, mappings stay meanwhile.
		 */
		struct hmap_uarray a = t->narrays == 2 ? t->arr[1] : t->arr[0];
		bool old_consistent = consistent || t->narrays == 2;

		for (__u32 b = 0; b < a.nbuckets && !ret; b++) {
			ret = hmap_emit_chain(t, &a, b, buf, max, old_consistent, cb, ctx, retries);
			if (ret == -EXDEV)
				ret = hmap_emit_moved(t, a.nbuckets, b, buf, max, consistent, cb,
						      ctx, retries, 0);
		}
	}
	t->iterating = false;
	hmap_unmap_arrays(t, false);
	free(buf);
	return ret;
}

static int hmap_count_cb(const void *key, const void *value, void *ctx)
{
	(*(__u64 *)ctx)++;
	return 0;
}

int hmap_count(const struct hmap_table *t, __u64 *count)
{
	*count = 0;
	return hmap_iterate(t, 0, hmap_count_cb, count, NULL);
}

static int hmap_elem_ioctl(const struct hmap_table *t, unsigned long cmd, const void *key,
			   const void *value, __u64 flags)
{
	struct hmap_ioc_elem req = {
		.key = (__u64)(unsigned long)key,
		.value = (__u64)(unsigned long)value,
		.key_size = t->shm->key_size,
		.value_size = t->shm->value_size,
		.flags = flags,
	};

	return ioctl(t->fd, cmd, &req) ? -errno : 0;
}

int hmap_update(const struct hmap_table *t, const void *key, const void *value, __u64 flags)
{
	return hmap_elem_ioctl(t, HMAP_IOC_UPDATE, key, value, flags);
}

int hmap_delete(const struct hmap_table *t, const void *key)
{
	return hmap_elem_ioctl(t, HMAP_IOC_DELETE, key, NULL, 0);
}

int hmap_modstats(struct hmap_ioc_modstats *ms)
{
	return hmap_dev_ioctl(HMAP_IOC_MODSTATS, ms);
}

int hmap_next_id(__u32 start, __u32 *next)
{
	struct hmap_ioc_next_id req = { .start_id = start };
	int ret = hmap_dev_ioctl(HMAP_IOC_NEXT_ID, &req);

	if (!ret)
		*next = req.next_id;
	return ret;
}

int hmap_btf_table_types(const struct btf *btf, const char *map, int *key_id, int *value_id)
{
	const struct btf_type *t, *k, *v;
	const struct btf_member *m;
	char name[256];
	__s32 id;

	/* HMAP_TABLE() records them as zero-length arrays in a static variable. */
	snprintf(name, sizeof(name), "%s__hmap_types", map);
	id = btf__find_by_name_kind(btf, name, BTF_KIND_VAR);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!btf_is_struct(t) || btf_vlen(t) < 2)
		return -EINVAL;
	m = btf_members(t);
	k = btf__type_by_id(btf, m[0].type);
	v = btf__type_by_id(btf, m[1].type);
	if (!btf_is_array(k) || !btf_is_array(v))
		return -EINVAL;
	*key_id = btf_array(k)->type;
	*value_id = btf_array(v)->type;
	return 0;
}

static bool hmap_is_desc_map(const struct bpf_map *m)
{
	return bpf_map__type(m) == BPF_MAP_TYPE_ARRAY && bpf_map__max_entries(m) == 1 &&
	       bpf_map__value_size(m) == sizeof(struct hmap_desc);
}

int hmap_bind_object(struct bpf_object *obj, const char *pin_root, const char *const *renames,
		     int nrenames, struct hmap_bind_error *bad)
{
	const struct btf *btf = bpf_object__btf(obj);
	struct hmap_bind_error tmp;
	struct bpf_map *m;
	char path[4096];

	if (!bad)
		bad = &tmp;
	memset(bad, 0, sizeof(*bad));
	for (int i = 0; i < nrenames; i++) {
		const char *eq = strchr(renames[i], '=');

		snprintf(bad->map, sizeof(bad->map), "%.*s", eq ? (int)(eq - renames[i]) : 0, renames[i]);
		if (!eq || !bpf_object__find_map_by_name(obj, bad->map))
			return -ESRCH;
	}
	bpf_object__for_each_map(m, obj) {
		const char *mname = bpf_map__name(m), *tname = mname;
		struct hmap_desc d;
		int kid, vid, fd, ret;
		__u32 zero = 0;

		if (!hmap_is_desc_map(m) || !btf || hmap_btf_table_types(btf, mname, &kid, &vid))
			continue;	/* not an HMAP_TABLE */
		for (int i = 0; i < nrenames; i++) {
			const char *eq = strchr(renames[i], '=');

			if ((size_t)(eq - renames[i]) == strlen(mname) &&
			    !strncmp(renames[i], mname, eq - renames[i]))
				tname = eq + 1;
		}
		snprintf(bad->map, sizeof(bad->map), "%s", mname);
		snprintf(bad->table, sizeof(bad->table), "%s", tname);
		bad->want_key = btf__resolve_size(btf, kid);
		bad->want_value = btf__resolve_size(btf, vid);
		snprintf(path, sizeof(path), "%s/%s", pin_root, tname);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return -ENOENT;
		ret = bpf_map_lookup_elem(fd, &zero, &d) ? -errno : 0;
		close(fd);
		if (ret || !d.id)
			return -ENOENT;
		bad->have_key = d.key_size;
		bad->have_value = d.value_size;
		if (bad->want_key != (long long)d.key_size || bad->want_value != (long long)d.value_size)
			return -ERANGE;
		ret = bpf_map__set_pin_path(m, path);
		if (ret)
			return ret;
	}
	memset(bad, 0, sizeof(*bad));
	return 0;
}
