// SPDX-License-Identifier: GPL-2.0
/*
 * libhmap: see libhmap.h.  The zero-copy read side is libhmap_reader.c, over
 * mmap()s of the table fd.
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
#include "libhmap_reader.h"
#include "hmap_platform.h"	/* PAGE_SIZE */
#include "hmap_admin.skel.h"

struct hmap_table {
	int fd;
	const struct hmap_shm_header *shm;
	struct hmap_reader r;
};

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

int hmap_object_fix_kptr_tags(struct bpf_object *obj)
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
	ret = ret ?: hmap_object_fix_kptr_tags(skel->obj);
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
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto err_shm;
	}
	t->fd = fd;
	t->shm = shm;
	ret = hmap_reader_init(&t->r, shm, &hmap_mmap_ops, t);
	if (ret) {
		free(t);
		goto err_shm;
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
	hmap_reader_release(&t->r);
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

int hmap_lookup(const struct hmap_table *t, const void *key, void *value)
{
	/* The reader updates its view of the layout: not const. */
	return hmap_reader_lookup((struct hmap_reader *)&t->r, key, value);
}

int hmap_iterate(const struct hmap_table *t, unsigned int flags, hmap_iter_cb cb, void *ctx,
		 __u64 *retries)
{
	return hmap_reader_iterate((struct hmap_reader *)&t->r, flags, cb, ctx, retries);
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
