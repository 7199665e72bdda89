/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libhmap: create, open and read hmap tables from user space.
 *
 * Reads are zero-copy: a table fd from /dev/hmap is mapped read-only and
 * lookups and iteration follow the bucket sequence-counter protocol, with no
 * syscall per entry.  Writes go through the kernel (ioctl on the table fd),
 * so they take the same bucket locks as BPF writers.
 *
 * Every function returns 0 or a negative errno and never prints.
 */
#ifndef __LIBHMAP_H
#define __LIBHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "uapi/hmap.h"

#define HMAP_PIN_ROOT_DEFAULT	"/sys/fs/bpf/hmap"

struct hmap_table;

struct hmap_create_opts {
	__u32 key_size;
	__u32 value_size;
	__u64 capacity;
	__u64 max_capacity;	/* incremental variant only */
	__u32 variant;		/* enum hmap_variant */
	__u32 flags;		/* must be 0 */
};

/* Create a table owned by a descriptor map pinned at @pin_path.
 * -EEXIST if something is pinned there; the kernel's errno otherwise
 * (see bpf_hmap_create()).  Nothing stays pinned on failure. */
int hmap_create_pinned(const char *pin_path, const struct hmap_create_opts *opts,
		       __u32 *id);

/* Open a table: by descriptor pin path, or by id (needs CAP_BPF or
 * CAP_SYS_ADMIN).  The table is mapped read-only. */
int hmap_open_pinned(const char *pin_path, struct hmap_table **tp);
int hmap_open_id(__u32 id, struct hmap_table **tp);
void hmap_close(struct hmap_table *t);

int hmap_table_fd(const struct hmap_table *t);
const struct hmap_shm_header *hmap_header(const struct hmap_table *t);
int hmap_info(const struct hmap_table *t, struct hmap_info *info);

/* Zero-copy lookup: 0 and the value copied out, or -ENOENT. */
int hmap_lookup(const struct hmap_table *t, const void *key, void *value);

/* Through the kernel: flags BPF_ANY, BPF_NOEXIST, BPF_EXIST. */
int hmap_update(const struct hmap_table *t, const void *key, const void *value, __u64 flags);
int hmap_delete(const struct hmap_table *t, const void *key);

/*
 * Zero-copy iteration.  With HMAP_ITER_CONSISTENT each bucket chain is copied
 * between two equal reads of its sequence counter, so every entry handed to
 * @cb is one consistent key/value pair and each chain a consistent snapshot;
 * @retries, if not NULL, counts chains re-read because a writer was inside.
 * Without it, chains are read once, in place (fastest: @cb gets pointers
 * into the mapping, valid until hmap_close(); an entry being written at that
 * moment may be torn).  @cb returns 0 to go on, anything else to stop (and
 * hmap_iterate returns it).
 */
#define HMAP_ITER_CONSISTENT	(1U << 0)

typedef int (*hmap_iter_cb)(const void *key, const void *value, void *ctx);
int hmap_iterate(const struct hmap_table *t, unsigned int flags, hmap_iter_cb cb, void *ctx,
		 __u64 *retries);

/* Count live entries by walking the mapping (no callback). */
int hmap_count(const struct hmap_table *t, __u64 *count);

/*
 * Bind a BPF object's tables before bpf_object__load(): every map declared
 * with HMAP_TABLE(NAME, ...) is pointed at the descriptor pinned at
 * @pin_root/NAME, so libbpf reuses it (and the loaded programs keep the table
 * alive).  @renames maps a map to a table of another name: "MAP=TABLE"
 * strings, @nrenames of them.  Each table must exist and have the key and
 * value sizes of the types the object declared.
 * Returns 0; -ESRCH a rename names no map of the object; -ENOENT a table does
 * not exist; -ERANGE sizes differ.  On error, @bad (if not NULL) says which.
 */
struct bpf_object;
struct btf;

struct hmap_bind_error {
	char map[64];
	char table[256];
	long long want_key, want_value;		/* the object's types */
	unsigned long long have_key, have_value;	/* the table's */
};

int hmap_bind_object(struct bpf_object *obj, const char *pin_root, const char *const *renames,
		     int nrenames, struct hmap_bind_error *bad);

/*
 * Adapt @obj (opened, not yet loaded) to the running kernel's kptr tags.
 * hmap.bpf.h marks the descriptor's table pointer as a referenced kptr with
 * the tag 6.1 knows, "kptr_ref"; from 6.4 on that kernel calls it "kptr"
 * and rejects "kptr_ref".  This renames the tag in the object's BTF where
 * the kernel needs it (probed once per process).  Needed only by objects that
 * create a descriptor map rather than reuse a pinned one (libhmap's own
 * loader and hmapctl prog load call it).  0 or -errno.
 */
int hmap_object_fix_kptr_tags(struct bpf_object *obj);

/* The key and value BTF types HMAP_TABLE(@map, ...) recorded in @btf. */
int hmap_btf_table_types(const struct btf *btf, const char *map, int *key_id, int *value_id);

/* Refresh the stats snapshot stored in the descriptor map (bpftool map dump). */
int hmap_refresh_desc(const char *pin_path);

/* Module-wide counters (leak checks). */
int hmap_modstats(struct hmap_ioc_modstats *ms);

/* Next table id after @start (0 for the first), or -ENOENT. */
int hmap_next_id(__u32 start, __u32 *next);

#endif /* __LIBHMAP_H */
