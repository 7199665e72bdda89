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

struct hmap_table {
	int fd;
	const struct hmap_shm_header *shm;
	const __u8 *buckets;
	size_t buckets_len;
	__u32 nbuckets;
	__u32 ntotal;		/* main + overflow buckets */
	hmap_seed_t seed;
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

static int hmap_map_table(int fd, struct hmap_table **tp)
{
	const struct hmap_shm_header *shm;
	struct hmap_table *t;
	void *p;
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
	if (shm->variant != HMAP_VARIANT_FIXED) {
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
	t->nbuckets = shm->arrays[0].nbuckets;
	t->ntotal = shm->arrays[0].nbuckets + shm->arrays[0].noverflow;
	t->buckets_len = shm->arrays[0].mmap_size;
	t->seed.key[0] = shm->seed[0];
	t->seed.key[1] = shm->seed[1];
	p = mmap(NULL, t->buckets_len, PROT_READ, MAP_SHARED, fd, shm->arrays[0].mmap_offset);
	if (p == MAP_FAILED) {
		ret = -errno;
		free(t);
		goto err_shm;
	}
	t->buckets = p;
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
	munmap((void *)t->buckets, t->buckets_len);
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

static const struct hmap_bucket *hmap_ubucket(const struct hmap_table *t, __u32 idx)
{
	return (const struct hmap_bucket *)(t->buckets + (size_t)idx * t->shm->bucket_size);
}

/*
 * Copy the chain at main bucket @bi into @buf (room for @max buckets).
 * Returns the number of buckets copied, or -EAGAIN after too many retries.
 */
static int hmap_copy_chain(const struct hmap_table *t, __u32 bi, __u8 *buf, __u32 max,
			   __u64 *retries)
{
	const struct hmap_bucket *head = hmap_ubucket(t, bi);
	__u32 bsz = t->shm->bucket_size, seq, n, next;

	for (int tries = 0; tries < HMAP_READ_RETRIES; tries++) {
		seq = __atomic_load_n(&head->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			__builtin_ia32_pause();
			continue;
		}
		n = 0;
		next = bi;
		do {
			const struct hmap_bucket *b = hmap_ubucket(t, next);

			memcpy(buf + (size_t)n * bsz, b, bsz);
			next = ((const struct hmap_bucket *)(buf + (size_t)n * bsz))->overflow;
			n++;
		} while (next && next < t->ntotal && next >= t->nbuckets && n < max);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&head->seq, __ATOMIC_RELAXED) == seq &&
		    (!next || (next >= t->nbuckets && next < t->ntotal && n < max)))
			return n;
		if (retries)
			(*retries)++;
	}
	return -EAGAIN;
}

int hmap_lookup(const struct hmap_table *t, const void *key, void *value)
{
	const struct hmap_shm_header *shm = t->shm;
	__u32 hash = hmap_plat_hash(key, shm->key_size, &t->seed);
	__u32 bi = hash & (t->nbuckets - 1);
	__u8 top = hmap_tophash(hash);
	const struct hmap_bucket *head = hmap_ubucket(t, bi), *b;
	__u32 seq, next, hops;
	int found;

	for (int tries = 0; tries < HMAP_READ_RETRIES; tries++) {
		seq = __atomic_load_n(&head->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			__builtin_ia32_pause();
			continue;
		}
		found = 0;
		b = head;
		for (hops = 0; hops <= t->ntotal - t->nbuckets; hops++) {
			for (int i = 0; i < HMAP_BUCKET_SLOTS; i++) {
				__u8 th = b->tophash[i];

				if (th == HMAP_TOPHASH_EMPTY_REST)
					goto done;
				if (th != top || memcmp((const __u8 *)b + shm->keys_offset +
							i * shm->key_stride, key, shm->key_size))
					continue;
				memcpy(value, (const __u8 *)b + shm->values_offset +
				       i * shm->value_stride, shm->value_size);
				found = 1;
				goto done;
			}
			next = __atomic_load_n(&b->overflow, __ATOMIC_RELAXED);
			if (!next)
				break;
			if (next < t->nbuckets || next >= t->ntotal)
				break;	/* torn: the seq check below retries */
			b = hmap_ubucket(t, next);
		}
done:
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&head->seq, __ATOMIC_RELAXED) == seq)
			return found ? 0 : -ENOENT;
	}
	return -EAGAIN;
}

/* One read of every chain, in place: entries point into the mapping. */
static int hmap_iterate_once(const struct hmap_table *t, hmap_iter_cb cb, void *ctx)
{
	const struct hmap_shm_header *shm = t->shm;
	__u32 koff = shm->keys_offset, voff = shm->values_offset;
	__u32 ks = shm->key_stride, vs = shm->value_stride, maxhops = t->ntotal - t->nbuckets;
	int ret;

	for (__u32 bi = 0; bi < t->nbuckets; bi++) {
		const struct hmap_bucket *b = hmap_ubucket(t, bi);

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

			if (!next || next < t->nbuckets || next >= t->ntotal || hops >= maxhops)
				break;
			b = hmap_ubucket(t, next);
		}
next_chain:;
	}
	return 0;
}

int hmap_iterate(const struct hmap_table *t, unsigned int flags, hmap_iter_cb cb, void *ctx,
		 __u64 *retries)
{
	const struct hmap_shm_header *shm = t->shm;
	__u32 max = 64, bsz = shm->bucket_size;
	__u8 *buf;
	int ret = 0;

	if (!(flags & HMAP_ITER_CONSISTENT))
		return hmap_iterate_once(t, cb, ctx);
	buf = malloc((size_t)max * bsz);
	if (!buf)
		return -ENOMEM;
	for (__u32 bi = 0; bi < t->nbuckets && !ret; bi++) {
		int n = hmap_copy_chain(t, bi, buf, max, retries);

		if (n < 0) {
			ret = n;
			break;
		}
		for (int j = 0; j < n && !ret; j++) {
			const __u8 *b = buf + (size_t)j * bsz;

			for (int i = 0; i < HMAP_BUCKET_SLOTS && !ret; i++) {
				__u8 th = ((const struct hmap_bucket *)b)->tophash[i];

				if (th == HMAP_TOPHASH_EMPTY_REST)
					break;
				if (th < HMAP_TOPHASH_MIN)
					continue;
				ret = cb(b + shm->keys_offset + i * shm->key_stride,
					 b + shm->values_offset + i * shm->value_stride, ctx);
			}
		}
	}
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
