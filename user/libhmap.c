// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libhmap: see libhmap.h.  The zero-copy read side is libhmap_reader.c, over
 * mmap()s of the table fd.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "libhmap.h"
#include "libhmap_reader.h"
#include "hmap_admin.skel.h"

#ifndef LIBHMAP_VERSION
#define LIBHMAP_VERSION "0.0.0"
#endif

/* The shared-memory header is the first page of a table's mmap space;
 * mapping 4 KiB maps it whatever the page size. */
#define HMAP_SHM_HEADER_LEN	4096

/*
 * A handle.  Fixed tables: everything here is read-only after open, so
 * threads share it freely.  Incremental tables: the reader's view of the
 * layout changes on reads (arrays and value chunks mapped as the table
 * grows), so lookups, walks and iterator steps take @lock (recursive: an
 * iteration callback may look up through the same handle).
 */
struct hmap_table {
	int fd;			/* table fd from /dev/hmap */
	int desc_fd;		/* created here: the descriptor map (keeps the table), else -1 */
	__u32 id;
	bool incr;
	const struct hmap_shm_header *shm;
	pthread_mutex_t lock;
	struct hmap_reader r;
};

struct hmap_table_iter {
	const struct hmap_table *t;
	struct hmap_reader_walk w;
	__u32 bucket;		/* next bucket of w.a to read */
	__u8 *ents;		/* entries of the last bucket read, packed key/value */
	__u32 nents, next, cap;
	int err;		/* sticky: a failed step ends the walk */
};

/* libbpf-style options checks: sz must cover the first member, and a newer
 * caller's tail beyond what this library knows must be zero. */
static bool hmap_opts_valid(const void *opts, size_t known, size_t sz)
{
	if (!opts)
		return true;
	if (sz < sizeof(size_t))
		return false;
	for (size_t i = known; i < sz; i++)
		if (((const char *)opts)[i])
			return false;
	return true;
}

#define hmap_offsetofend(T, m)	(offsetof(T, m) + sizeof(((T *)0)->m))
#define HMAP_OPTS_VALID(o, T, last) \
	hmap_opts_valid(o, hmap_offsetofend(struct T, last), (o) ? (o)->sz : 0)
#define HMAP_OPTS_GET(o, field, fallback) \
	((o) && (o)->sz >= hmap_offsetofend(__typeof__(*(o)), field) ? (o)->field : (fallback))

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

/*
 * Does the kernel call a referenced kptr "kptr" (6.4 on, with
 * "kptr_untrusted" for the unreferenced kind) or "kptr_ref" (6.1 to 6.3)?
 * The kernel does not say so directly: a map whose value has a kptr tag it
 * does not know is created anyway, without the kptr (6.1 and 6.12 alike
 * ignore the error), and only the program's bpf_kptr_xchg() then fails.  So
 * this looks in the kernel's BTF for the name BPF_REFCOUNT (enum
 * btf_field_type), which came with the renaming in 6.4 (bpf_refcount,
 * 6.4-rc1) and is there on every later kernel.  It streams the BTF string
 * section through a small buffer rather than loading the whole BTF (5 MiB,
 * which would show in the caller's memcg).
 * 1: "kptr"; 0: "kptr_ref"; -errno.
 */
static int hmap_probe_kptr_naming(void)
{
	static const char want[] = "\0BPF_REFCOUNT";	/* and the NUL after it */
	static int cached = -1;		/* probed once; races only repeat the probe */
	const size_t wlen = sizeof(want);	/* "\0BPF_REFCOUNT\0" */
	struct btf_header h;
	char buf[8192];
	__u64 off, end;
	size_t keep = 0;
	int fd, ret = 0;

	if (cached >= 0)
		return cached;
	fd = open("/sys/kernel/btf/vmlinux", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (pread(fd, &h, sizeof(h), 0) != sizeof(h) || h.magic != BTF_MAGIC) {
		close(fd);
		return -EINVAL;
	}
	off = (__u64)h.hdr_len + h.str_off;
	end = off + h.str_len;
	while (off < end && !ret) {
		size_t room = sizeof(buf) - keep, n = end - off < room ? end - off : room;
		ssize_t got = pread(fd, buf + keep, n, off);

		if (got <= 0) {
			close(fd);
			return got < 0 ? -errno : -EIO;
		}
		off += got;
		got += keep;
		for (ssize_t i = 0; i + (ssize_t)wlen <= got; i++)
			if (!memcmp(buf + i, want, wlen)) {
				ret = 1;
				break;
			}
		/* A match may straddle two reads: keep the tail. */
		keep = got < (ssize_t)wlen ? (size_t)got : wlen - 1;
		memmove(buf, buf + got - keep, keep);
	}
	close(fd);
	cached = ret;
	return ret;
}

int hmap_object__fix_kptr_tags(struct bpf_object *obj)
{
	struct btf *btf = bpf_object__btf(obj);
	__u32 id, n;
	int ret, off = -1;

	if (!btf)
		return 0;
	n = btf__type_cnt(btf);
	for (id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_type_tag(t) && !strcmp(btf__name_by_offset(btf, t->name_off), "kptr_ref"))
			break;
	}
	if (id == n)
		return 0;		/* no referenced kptr in this object */
	ret = hmap_probe_kptr_naming();
	if (ret <= 0)
		return ret;		/* the kernel knows "kptr_ref", or the probe failed */
	/* Adding the string makes the BTF writable (and moves its types). */
	off = btf__add_str(btf, "kptr");
	if (off < 0)
		return off;
	for (id = 1; id < n; id++) {
		struct btf_type *t = (struct btf_type *)btf__type_by_id(btf, id);

		if (btf_is_type_tag(t) && !strcmp(btf__name_by_offset(btf, t->name_off), "kptr_ref"))
			t->name_off = off;
	}
	return 0;
}

/* Silence libbpf around the library's own loads: a library never prints. */
static int hmap_quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* Load the admin programs: only hmap_create if @create (with a new, unpinned
 * descriptor map), else only hmap_refresh with the descriptor at @pin_path. */
static int hmap_admin_load(const char *pin_path, bool create, struct hmap_admin **sp)
{
	libbpf_print_fn_t old = libbpf_set_print(hmap_quiet_print);
	struct hmap_admin *skel = hmap_admin__open();
	int ret;

	if (!skel) {
		ret = -errno;
		goto out;
	}
	ret = create ? 0 : bpf_map__set_pin_path(skel->maps.hmap_desc, pin_path);
	ret = ret ?: hmap_object__fix_kptr_tags(skel->obj);
	if (!ret) {
		bpf_program__set_autoload(create ? skel->progs.hmap_refresh
						 : skel->progs.hmap_create, false);
		ret = hmap_admin__load(skel);
	}
	if (ret) {
		hmap_admin__destroy(skel);
		goto out;
	}
	*sp = skel;
out:
	libbpf_set_print(old);
	return ret;
}

static int hmap_open_fd(__u32 id, __u64 handle, const struct hmap_table_open_opts *opts,
			struct hmap_table **tp);

int hmap_table__create(const struct hmap_table_create_opts *opts, struct hmap_table **tp)
{
	struct hmap_create_attr attr = {};
	/* SYSCALL programs write their ctx back into ctx_in (no ctx_out). */
	LIBBPF_OPTS(bpf_test_run_opts, run,
		.ctx_in = &attr,
		.ctx_size_in = sizeof(attr),
	);
	const char *pin_path;
	struct hmap_admin *skel;
	struct hmap_table *t;
	int ret, desc_fd;

	if (!opts || !tp || !HMAP_OPTS_VALID(opts, hmap_table_create_opts, pin_path))
		return -EINVAL;
	attr.key_size = HMAP_OPTS_GET(opts, key_size, 0);
	attr.value_size = HMAP_OPTS_GET(opts, value_size, 0);
	attr.capacity = HMAP_OPTS_GET(opts, capacity, 0);
	attr.max_capacity = HMAP_OPTS_GET(opts, max_capacity, 0);
	attr.variant = HMAP_OPTS_GET(opts, variant, 0);
	attr.flags = HMAP_OPTS_GET(opts, flags, 0);
	pin_path = HMAP_OPTS_GET(opts, pin_path, NULL);

	ret = hmap_admin_load(NULL, true, &skel);
	if (ret)
		return ret;
	ret = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.hmap_create), &run);
	ret = ret ? -errno : (int)run.retval;
	/*
	 * The descriptor is pinned only once it owns the table, and pinning
	 * fails with -EEXIST if anything is there: no check-then-pin race, and
	 * nothing to unpin on failure.  The table dies with the descriptor
	 * when this fails.
	 */
	if (!ret && pin_path)
		ret = bpf_obj_pin(bpf_map__fd(skel->maps.hmap_desc), pin_path) ? -errno : 0;
	if (ret) {
		hmap_admin__destroy(skel);
		return ret;
	}
	desc_fd = fcntl(bpf_map__fd(skel->maps.hmap_desc), F_DUPFD_CLOEXEC, 3);
	ret = desc_fd < 0 ? -errno : hmap_open_fd(attr.id, attr.handle, NULL, &t);
	hmap_admin__destroy(skel);
	if (ret) {
		if (desc_fd >= 0)
			close(desc_fd);
		if (pin_path)
			unlink(pin_path);	/* pinned above, by us */
		return ret;
	}
	t->desc_fd = desc_fd;
	*tp = t;
	return 0;
}

/* Is @fd a BPF map?  bpf_obj_get_info_by_fd() answers for programs, links
 * and BTF too, in their own struct: ask the fd's inode name, as bpftool does. */
static bool hmap_fd_is_map(int fd)
{
	char path[64], name[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, name, sizeof(name) - 1);
	if (n < 0)
		return true;	/* no /proc: the checks below still hold for maps */
	name[n] = 0;
	return !strcmp(name, "anon_inode:bpf-map");
}

int hmap_desc__read(int map_fd, struct hmap_desc *desc)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), zero = 0;
	const struct btf_type *vt;
	struct btf *btf;
	bool named;

	if (!hmap_fd_is_map(map_fd))
		return -EPROTOTYPE;
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len))
		return errno == EINVAL ? -EPROTOTYPE : -errno;	/* not a BPF object */
	if (info.type != BPF_MAP_TYPE_ARRAY || info.key_size != sizeof(__u32) ||
	    info.value_size != sizeof(struct hmap_desc) || info.max_entries != 1 ||
	    !info.btf_id || !info.btf_value_type_id)
		return -EPROTOTYPE;
	/* Same shape: the value type must be struct hmap_desc (the kptr
	 * needs BTF, so a real descriptor always has it). */
	btf = btf__load_from_kernel_by_id(info.btf_id);
	if (!btf)
		return -errno;
	vt = btf__type_by_id(btf, info.btf_value_type_id);
	while (vt && (btf_is_typedef(vt) || btf_is_mod(vt)))
		vt = btf__type_by_id(btf, vt->type);
	named = vt && btf_is_struct(vt) && !strcmp(btf__name_by_offset(btf, vt->name_off), "hmap_desc");
	btf__free(btf);
	if (!named)
		return -EPROTOTYPE;
	return bpf_map_lookup_elem(map_fd, &zero, desc) ? -errno : 0;
}

/*
 * bpf_obj_get() for a path that should hold a table descriptor.  The kernel
 * says EACCES both for a real permission problem and for anything in a
 * path that is not a BPF object (a directory, a file elsewhere): tell them
 * apart, so callers get -EISDIR for a directory, -EPROTOTYPE for something
 * that is not a BPF object, and -EACCES only when access was denied.
 */
static int hmap_pin_get(const char *pin_path)
{
	struct statfs sfs;
	struct stat st;
	int fd = bpf_obj_get(pin_path), err = errno;

	if (fd >= 0)
		return fd;
	if (err == EINVAL)
		return -EPROTOTYPE;
	if (err != EACCES || stat(pin_path, &st))
		return -err;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) || statfs(pin_path, &sfs) || sfs.f_type != BPF_FS_MAGIC)
		return -EPROTOTYPE;
	return -EACCES;
}

int hmap_desc__read_pinned(const char *pin_path, struct hmap_desc *desc)
{
	int fd = hmap_pin_get(pin_path), ret;

	if (fd < 0)
		return fd;
	ret = hmap_desc__read(fd, desc);
	close(fd);
	return ret;
}

int hmap_desc__refresh(const char *pin_path)
{
	LIBBPF_OPTS(bpf_test_run_opts, run);
	struct hmap_admin *skel;
	struct hmap_desc d;
	int ret;

	ret = hmap_desc__read_pinned(pin_path, &d);
	if (ret)
		return ret;
	ret = hmap_admin_load(pin_path, false, &skel);	/* reuses the pinned descriptor */
	if (ret)
		return ret;
	ret = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.hmap_refresh), &run);
	ret = ret ? -errno : (int)run.retval;
	hmap_admin__destroy(skel);
	return ret;
}

static int hmap_mmap_map(void *ctx, __u64 offset, size_t len, const void **addr)
{
	const struct hmap_table *t = ctx;
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, t->fd, offset);

	if (p == MAP_FAILED)
		return -errno;
	*addr = p;
	return 0;
}

static void hmap_mmap_unmap(void *ctx, const void *addr, size_t len)
{
	munmap((void *)addr, len);
}

static const struct hmap_reader_ops hmap_mmap_ops = {
	.map = hmap_mmap_map,
	.unmap = hmap_mmap_unmap,
};

/* Take @fd (closed on failure) and map the table. */
static int hmap_map_table(int fd, __u32 id, struct hmap_table **tp)
{
	const struct hmap_shm_header *shm;
	pthread_mutexattr_t ma;
	struct hmap_table *t;
	int ret;

	shm = mmap(NULL, HMAP_SHM_HEADER_LEN, PROT_READ, MAP_SHARED, fd, 0);
	if (shm == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto err_shm;
	}
	t->fd = fd;
	t->desc_fd = -1;
	t->id = id;
	t->shm = shm;
	ret = hmap_reader_init(&t->r, shm, &hmap_mmap_ops, t);
	if (ret) {
		free(t);
		goto err_shm;
	}
	t->incr = t->r.incr;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&t->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	*tp = t;
	return 0;

err_shm:
	munmap((void *)shm, HMAP_SHM_HEADER_LEN);
	close(fd);
	return ret;
}

/* Open table @id; if @handle, only the table that handle names (a table
 * destroyed since, its id reused by another, is -ESTALE). */
static int hmap_open_fd(__u32 id, __u64 handle, const struct hmap_table_open_opts *opts,
			struct hmap_table **tp)
{
	struct hmap_ioc_fd req = { .id = id };
	struct hmap_info info;
	int fd;

	if (!tp || !HMAP_OPTS_VALID(opts, hmap_table_open_opts, rdonly))
		return -EINVAL;
	if (HMAP_OPTS_GET(opts, rdonly, false))
		req.flags |= HMAP_FD_RDONLY;
	fd = hmap_dev_ioctl(HMAP_IOC_TABLE_FD, &req);
	if (fd < 0)
		return fd;
	if (handle) {
		if (ioctl(fd, HMAP_IOC_INFO, &info)) {
			int ret = -errno;

			close(fd);
			return ret;
		}
		if ((info.handle & HMAP_HANDLE_MASK) != (handle & HMAP_HANDLE_MASK)) {
			close(fd);
			return -ESTALE;
		}
	}
	return hmap_map_table(fd, id, tp);
}

int hmap_table__open_id(__u32 id, const struct hmap_table_open_opts *opts, struct hmap_table **tp)
{
	return hmap_open_fd(id, 0, opts, tp);
}

int hmap_table__open_map_fd(int map_fd, const struct hmap_table_open_opts *opts,
			    struct hmap_table **tp)
{
	struct hmap_desc d;
	int ret = hmap_desc__read(map_fd, &d);

	if (ret)
		return ret;
	if (!d.id || d.id > UINT32_MAX)
		return -ENOENT;	/* a descriptor that owns no table */
	return hmap_open_fd(d.id, d.handle, opts, tp);
}

int hmap_table__open_map(const struct bpf_map *map, const struct hmap_table_open_opts *opts,
			 struct hmap_table **tp)
{
	int fd = map ? bpf_map__fd(map) : -EINVAL;

	if (fd < 0)
		return -EINVAL;	/* not loaded */
	return hmap_table__open_map_fd(fd, opts, tp);
}

int hmap_table__open_pinned(const char *pin_path, const struct hmap_table_open_opts *opts,
			    struct hmap_table **tp)
{
	int fd, ret;

	if (!pin_path)
		return -EINVAL;
	fd = hmap_pin_get(pin_path);
	if (fd < 0)
		return fd;
	ret = hmap_table__open_map_fd(fd, opts, tp);
	close(fd);
	return ret;
}

void hmap_table__close(struct hmap_table *t)
{
	if (!t)
		return;
	hmap_reader_release(&t->r);
	munmap((void *)t->shm, HMAP_SHM_HEADER_LEN);
	close(t->fd);
	if (t->desc_fd >= 0)
		close(t->desc_fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

__u32 hmap_table__id(const struct hmap_table *t)
{
	return t->id;
}

int hmap_table__fd(const struct hmap_table *t)
{
	return t->fd;
}

__u32 hmap_table__key_size(const struct hmap_table *t)
{
	return t->shm->key_size;
}

__u32 hmap_table__value_size(const struct hmap_table *t)
{
	return t->shm->value_size;
}

const struct hmap_shm_header *hmap_table__header(const struct hmap_table *t)
{
	return t->shm;
}

int hmap_table__info(const struct hmap_table *t, struct hmap_info *info)
{
	return ioctl(t->fd, HMAP_IOC_INFO, info) ? -errno : 0;
}

/* The reader of @t, locked if it changes on reads (see struct hmap_table). */
static struct hmap_reader *hmap_reader_get(const struct hmap_table *t)
{
	struct hmap_table *w = (struct hmap_table *)t;

	if (t->incr)
		pthread_mutex_lock(&w->lock);
	return &w->r;
}

static void hmap_reader_put(const struct hmap_table *t)
{
	if (t->incr)
		pthread_mutex_unlock(&((struct hmap_table *)t)->lock);
}

int hmap_table__lookup(const struct hmap_table *t, const void *key, void *value)
{
	struct hmap_reader *r = hmap_reader_get(t);
	int ret = hmap_reader_lookup(r, key, value);

	hmap_reader_put(t);
	return ret;
}

int hmap_table__iterate(const struct hmap_table *t, unsigned int flags, hmap_iter_cb cb, void *ctx,
			__u64 *retries)
{
	struct hmap_reader *r;
	int ret;

	if (!cb || (flags & ~HMAP_ITER_CONSISTENT))
		return -EINVAL;
	r = hmap_reader_get(t);
	ret = hmap_reader_iterate(r, flags, cb, ctx, retries);
	hmap_reader_put(t);
	return ret;
}

int hmap_table__iterate_batch(const struct hmap_table *t, unsigned int flags,
			      hmap_iter_batch_cb cb, void *ctx, __u64 *retries)
{
	struct hmap_reader *r;
	int ret;

	if (!cb || (flags & ~HMAP_ITER_CONSISTENT))
		return -EINVAL;
	r = hmap_reader_get(t);
	ret = hmap_reader_iterate_batch(r, flags, cb, ctx, retries);
	hmap_reader_put(t);
	return ret;
}

static int hmap_iter_append(const void *key, const void *value, void *ctx)
{
	struct hmap_table_iter *it = ctx;
	__u32 ksz = it->t->shm->key_size, vsz = it->t->shm->value_size;

	if (it->nents == it->cap) {
		__u32 cap = it->cap ? it->cap * 2 : 64;
		__u8 *e = realloc(it->ents, (size_t)cap * (ksz + vsz));

		if (!e)
			return -ENOMEM;
		it->ents = e;
		it->cap = cap;
	}
	memcpy(it->ents + (size_t)it->nents * (ksz + vsz), key, ksz);
	memcpy(it->ents + (size_t)it->nents * (ksz + vsz) + ksz, value, vsz);
	it->nents++;
	return 0;
}

int hmap_table_iter__new(const struct hmap_table *t, unsigned int flags,
			 struct hmap_table_iter **itp)
{
	struct hmap_table_iter *it;
	struct hmap_reader *r;
	int ret;

	if (!t || !itp || (flags & ~HMAP_ITER_CONSISTENT))
		return -EINVAL;
	it = calloc(1, sizeof(*it));
	if (!it)
		return -ENOMEM;
	it->t = t;
	r = hmap_reader_get(t);
	ret = hmap_reader_walk_begin(r, &it->w, flags);
	hmap_reader_put(t);
	if (ret) {
		free(it->w.buf);
		free(it);
		return ret;
	}
	*itp = it;
	return 0;
}

int hmap_table_iter__next(struct hmap_table_iter *it, const void **key, const void **value)
{
	__u32 ksz = it->t->shm->key_size, vsz = it->t->shm->value_size;

	while (!it->err && it->next == it->nents) {
		struct hmap_reader *r;

		if (it->bucket >= it->w.a.nbuckets)
			return 0;
		it->nents = it->next = 0;
		r = hmap_reader_get(it->t);
		it->err = hmap_reader_walk_bucket(r, &it->w, it->bucket++, hmap_iter_append, it);
		hmap_reader_put(it->t);
	}
	if (it->err)
		return it->err;
	*key = it->ents + (size_t)it->next * (ksz + vsz);
	*value = it->ents + (size_t)it->next * (ksz + vsz) + ksz;
	it->next++;
	return 1;
}

void hmap_table_iter__destroy(struct hmap_table_iter *it)
{
	struct hmap_reader *r;

	if (!it)
		return;
	r = hmap_reader_get(it->t);
	hmap_reader_walk_end(r, &it->w);
	hmap_reader_put(it->t);
	free(it->ents);
	free(it);
}

static int hmap_count_cb(const struct hmap_entry_ref *ents, unsigned int n, void *ctx)
{
	*(__u64 *)ctx += n;
	return 0;
}

int hmap_table__count(const struct hmap_table *t, __u64 *count)
{
	*count = 0;
	return hmap_table__iterate_batch(t, 0, hmap_count_cb, count, NULL);
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

int hmap_table__update(const struct hmap_table *t, const void *key, const void *value, __u64 flags)
{
	return hmap_elem_ioctl(t, HMAP_IOC_UPDATE, key, value, flags);
}

int hmap_table__delete(const struct hmap_table *t, const void *key)
{
	return hmap_elem_ioctl(t, HMAP_IOC_DELETE, key, NULL, 0);
}

/* One ioctl per element: the kernel has no batch command (yet), so a batch
 * saves the caller a loop, not syscalls. */
int hmap_table__update_batch(const struct hmap_table *t, const void *keys, const void *values,
			     __u32 *count, __u64 flags)
{
	__u32 ksz = t->shm->key_size, vsz = t->shm->value_size, n = *count, i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = hmap_table__update(t, (const __u8 *)keys + (size_t)i * ksz,
					 (const __u8 *)values + (size_t)i * vsz, flags);
	*count = ret ? i - 1 : n;
	return ret;
}

int hmap_table__delete_batch(const struct hmap_table *t, const void *keys, __u32 *count,
			     __u64 flags)
{
	__u32 ksz = t->shm->key_size, n = *count, i;
	int ret = 0;

	if (flags & ~(__u64)HMAP_BATCH_IGNORE_MISSING)
		return -EINVAL;
	for (i = 0; i < n && !ret; i++) {
		ret = hmap_table__delete(t, (const __u8 *)keys + (size_t)i * ksz);
		if (ret == -ENOENT && (flags & HMAP_BATCH_IGNORE_MISSING))
			ret = 0;
	}
	*count = ret ? i - 1 : n;
	return ret;
}

int libhmap_modstats(struct hmap_ioc_modstats *ms)
{
	return hmap_dev_ioctl(HMAP_IOC_MODSTATS, ms);
}

int libhmap_next_id(__u32 start, __u32 *next)
{
	struct hmap_ioc_next_id req = { .start_id = start };
	int ret = hmap_dev_ioctl(HMAP_IOC_NEXT_ID, &req);

	if (!ret)
		*next = req.next_id;
	return ret;
}

const char *libhmap_version(void)
{
	return LIBHMAP_VERSION;
}

int hmap_btf__table_types(const struct btf *btf, const char *map, int *key_id, int *value_id)
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

int hmap_object__bind_tables(struct bpf_object *obj, const char *pin_root,
			     const char *const *renames, int nrenames, struct hmap_bind_error *bad)
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
		int kid, vid, ret;

		if (!hmap_is_desc_map(m) || !btf || hmap_btf__table_types(btf, mname, &kid, &vid))
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
		if (snprintf(path, sizeof(path), "%s/%s", pin_root, tname) >= (int)sizeof(path))
			return -ENAMETOOLONG;
		ret = hmap_desc__read_pinned(path, &d);
		if (ret == -EPROTOTYPE)
			return ret;
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
