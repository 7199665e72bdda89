/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libhmap: create, open and read hmap tables from user space.
 *
 * Reads are zero-copy: a table fd from /dev/hmap is mapped read-only and
 * lookups and iteration follow the bucket sequence-counter protocol, with no
 * syscall per entry.  Writes go through the kernel (ioctl on the table fd),
 * so they take the same bucket locks as BPF writers.
 *
 * Conventions, as libbpf's:
 *   - every function returns 0 (or a count, where it says so) or a negative
 *     errno, and never prints;
 *   - options are passed in structs whose first member is their size, made
 *     with HMAP_OPTS(); NULL means all defaults.  A library built before a
 *     member existed refuses a struct that sets it (-EINVAL), and a newer
 *     library reads an older, shorter struct as if its tail were zero.
 *
 * Threads: one struct hmap_table may be used from any number of threads at
 * once for lookups, iteration, counts and writes; only hmap_table__close()
 * must not race with anything else on the same handle.  An iterator
 * (struct hmap_table_iter) belongs to one thread at a time.
 */
#ifndef __LIBHMAP_H
#define __LIBHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include <string.h>
#include "uapi/hmap.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LIBHMAP_API __attribute__((visibility("default")))

#define HMAP_PIN_ROOT_DEFAULT	"/sys/fs/bpf/hmap"

/* Declare and zero an options struct of TYPE, with its size set:
 *	HMAP_OPTS(hmap_table_create_opts, o, .key_size = 4, .value_size = 8);
 */
#define HMAP_OPTS(TYPE, NAME, ...)					\
	struct TYPE NAME = ({						\
		memset(&NAME, 0, sizeof(struct TYPE));			\
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ }; \
	})

struct hmap_table;
struct bpf_object;
struct bpf_map;
struct btf;

struct hmap_table_create_opts {
	size_t sz;		/* sizeof(struct hmap_table_create_opts) */
	__u32 key_size;		/* 1..HMAP_KEY_SIZE_MAX */
	__u32 value_size;	/* 1..HMAP_VALUE_SIZE_MAX */
	__u64 capacity;		/* fixed: max entries; incremental: initial entries */
	__u64 max_capacity;	/* incremental only; 0: limited by max_table_bytes */
	__u32 variant;		/* enum hmap_variant */
	__u32 flags;		/* must be 0 */
	/* Pin the table's descriptor map here (the table then lives until the
	 * pin and every user are gone).  NULL: not pinned, the table lives as
	 * long as the returned handle or a program that uses it. */
	const char *pin_path;
	size_t :0;
};

struct hmap_table_open_opts {
	size_t sz;		/* sizeof(struct hmap_table_open_opts) */
	/* The table fd refuses writes (hmap_table__update() and friends
	 * then fail with -EPERM). */
	bool rdonly;
	size_t :0;
};

/*
 * Create a table.  0 and *@tp; -EEXIST if something is pinned at
 * opts->pin_path (nothing is then changed there); -EINVAL bad options;
 * otherwise the kernel's errno (see bpf_hmap_create() in hmap.bpf.h:
 * -E2BIG sizes, -ENOMEM, -EPERM without CAP_BPF).  Nothing stays pinned
 * or allocated on failure.
 */
LIBHMAP_API int hmap_table__create(const struct hmap_table_create_opts *opts,
				   struct hmap_table **tp);

/*
 * Open an existing table and map it read-only for zero-copy reads.
 *   __open_pinned: by the path of its pinned descriptor map;
 *   __open_map_fd: by a descriptor map's fd (e.g. bpf_map__fd() of an
 *                  HMAP_TABLE map in a loaded skeleton); the fd is not taken;
 *   __open_map:    by a loaded object's HMAP_TABLE map;
 *   __open_id:     by table id (needs CAP_BPF or CAP_SYS_ADMIN).
 * 0 and *@tp; -EPROTOTYPE the map is not an hmap table descriptor (another
 * map pinned there, see hmap_desc__read()); -ENOENT no such table (or a
 * descriptor that owns none); -ESTALE the descriptor's table was destroyed
 * and its id reused; the kernel's errno otherwise.
 */
LIBHMAP_API int hmap_table__open_pinned(const char *pin_path,
					const struct hmap_table_open_opts *opts,
					struct hmap_table **tp);
LIBHMAP_API int hmap_table__open_map_fd(int map_fd, const struct hmap_table_open_opts *opts,
					struct hmap_table **tp);
LIBHMAP_API int hmap_table__open_map(const struct bpf_map *map,
				     const struct hmap_table_open_opts *opts,
				     struct hmap_table **tp);
LIBHMAP_API int hmap_table__open_id(__u32 id, const struct hmap_table_open_opts *opts,
				    struct hmap_table **tp);
/* Unmap and close; NULL is ignored. */
LIBHMAP_API void hmap_table__close(struct hmap_table *t);

LIBHMAP_API __u32 hmap_table__id(const struct hmap_table *t);
LIBHMAP_API int hmap_table__fd(const struct hmap_table *t);
LIBHMAP_API __u32 hmap_table__key_size(const struct hmap_table *t);
LIBHMAP_API __u32 hmap_table__value_size(const struct hmap_table *t);
/* The table's shared-memory header (layout, counts; read-only). */
LIBHMAP_API const struct hmap_shm_header *hmap_table__header(const struct hmap_table *t);
/* Sizes, counts and statistics, from the kernel. */
LIBHMAP_API int hmap_table__info(const struct hmap_table *t, struct hmap_info *info);

/* Zero-copy lookup: 0 and the value copied out, or -ENOENT. */
LIBHMAP_API int hmap_table__lookup(const struct hmap_table *t, const void *key, void *value);

/* Through the kernel: @flags BPF_ANY, BPF_NOEXIST or BPF_EXIST.
 * -EEXIST, -ENOENT as the flags say; -E2BIG the table is full; -EPERM a
 * read-only handle. */
LIBHMAP_API int hmap_table__update(const struct hmap_table *t, const void *key,
				   const void *value, __u64 flags);
LIBHMAP_API int hmap_table__delete(const struct hmap_table *t, const void *key);

/*
 * Batches: @keys and @values hold *@count packed keys and values.  On return
 * *@count is how many were applied, in order; the first failure stops the
 * batch and is returned (as bpf_map_update_batch()).  delete_batch skips
 * keys that are not there when @flags has HMAP_BATCH_IGNORE_MISSING.
 */
#define HMAP_BATCH_IGNORE_MISSING	(1U << 0)
LIBHMAP_API int hmap_table__update_batch(const struct hmap_table *t, const void *keys,
					 const void *values, __u32 *count, __u64 flags);
LIBHMAP_API int hmap_table__delete_batch(const struct hmap_table *t, const void *keys,
					 __u32 *count, __u64 flags);

/*
 * Zero-copy iteration.  With HMAP_ITER_CONSISTENT each bucket chain is copied
 * between two equal reads of its sequence counter, so every entry handed out
 * is one consistent key/value pair and each chain a consistent snapshot;
 * @retries, if not NULL, counts chains re-read because a writer was inside.
 * Without it, entries are handed out in place (fastest: the pointers point
 * into the mapping, valid until hmap_table__close(); an entry being written
 * meanwhile may be torn, and the slot of a key deleted meanwhile may show a
 * key inserted meanwhile, which can then be handed out twice).  Either way
 * each chain's entries are found between two equal reads of its sequence
 * counter, so every key that lives throughout the walk is handed out
 * exactly once.  @cb returns 0 to go on, anything else to stop (and
 * hmap_table__iterate returns it).
 */
#define HMAP_ITER_CONSISTENT	(1U << 0)

typedef int (*hmap_iter_cb)(const void *key, const void *value, void *ctx);
LIBHMAP_API int hmap_table__iterate(const struct hmap_table *t, unsigned int flags,
				    hmap_iter_cb cb, void *ctx, __u64 *retries);

/*
 * The same walk, handed out a batch at a time: @cb gets @n >= 1 entries,
 * @ents[i].key and @ents[i].value, the same entries hmap_table__iterate()
 * would hand out with the same @flags, valid as long (in place: until
 * hmap_table__close(); with HMAP_ITER_CONSISTENT, or for an incremental
 * table: until @cb returns).  A batch holds one or more whole chains, so
 * its size is not fixed.  It saves a call an entry: the fastest way to read
 * a whole table (as a BPF_MAP_LOOKUP_BATCH reader would, without the copy).
 * @cb returns 0 to go on, anything else to stop (and it is returned).
 * Since LIBHMAP_1.1.
 */
struct hmap_entry_ref {
	const void *key;
	const void *value;
};

typedef int (*hmap_iter_batch_cb)(const struct hmap_entry_ref *ents, unsigned int n, void *ctx);
LIBHMAP_API int hmap_table__iterate_batch(const struct hmap_table *t, unsigned int flags,
					  hmap_iter_batch_cb cb, void *ctx, __u64 *retries);

/*
 * The same walk as a cursor, for loops that would rather not use a callback:
 *
 *	struct hmap_table_iter *it;
 *	const void *k, *v;
 *	int err = hmap_table_iter__new(t, HMAP_ITER_CONSISTENT, &it);
 *	if (err)
 *		return err;
 *	while ((err = hmap_table_iter__next(it, &k, &v)) == 1)
 *		use(k, v);		// valid until the next call
 *	hmap_table_iter__destroy(it);	// err is 0 at the end, or -errno
 *
 * __next returns 1 and an entry, 0 at the end, or a negative errno.  Each
 * chain is read as by hmap_table__iterate() with the same flags.
 */
struct hmap_table_iter;
LIBHMAP_API int hmap_table_iter__new(const struct hmap_table *t, unsigned int flags,
				     struct hmap_table_iter **itp);
LIBHMAP_API int hmap_table_iter__next(struct hmap_table_iter *it, const void **key,
				      const void **value);
LIBHMAP_API void hmap_table_iter__destroy(struct hmap_table_iter *it);

/* Count live entries by walking the mapping. */
LIBHMAP_API int hmap_table__count(const struct hmap_table *t, __u64 *count);

/*
 * Read a table descriptor map (what HMAP_TABLE() declares and what
 * hmap_table__create() pins): a BPF array of one struct hmap_desc.  The map
 * is checked first (type, key and value size, max_entries, and the name of
 * its BTF value type), so that another map pinned next to the tables is
 * never read as one.  0; -EPROTOTYPE not a descriptor; -errno.
 */
LIBHMAP_API int hmap_desc__read(int map_fd, struct hmap_desc *desc);
/* The same by pin path: also -ENOENT nothing there, -EISDIR a directory,
 * -EPROTOTYPE a file that is not a BPF object, -EACCES access denied. */
LIBHMAP_API int hmap_desc__read_pinned(const char *pin_path, struct hmap_desc *desc);
/* Refresh the statistics snapshot kept in a pinned descriptor, which
 * `bpftool map dump` shows. */
LIBHMAP_API int hmap_desc__refresh(const char *pin_path);

/*
 * Bind a BPF object's tables before bpf_object__load(): every map declared
 * with HMAP_TABLE(NAME, ...) is pointed at the descriptor pinned at
 * @pin_root/NAME, so libbpf reuses it (and the loaded programs keep the table
 * alive).  @renames maps a map to a table of another name: "MAP=TABLE"
 * strings, @nrenames of them.  Each table must exist and have the key and
 * value sizes of the types the object declared.
 * Returns 0; -ESRCH a rename names no map of the object; -ENOENT a table does
 * not exist; -EPROTOTYPE something other than a descriptor is pinned there;
 * -ERANGE sizes differ.  On error, @bad (if not NULL) says which.
 */
struct hmap_bind_error {
	char map[64];
	char table[256];
	long long want_key, want_value;		/* the object's types */
	unsigned long long have_key, have_value;	/* the table's */
};

LIBHMAP_API int hmap_object__bind_tables(struct bpf_object *obj, const char *pin_root,
					 const char *const *renames, int nrenames,
					 struct hmap_bind_error *bad);

/*
 * Adapt @obj (opened, not yet loaded) to the running kernel's kptr tags.
 * hmap.bpf.h marks the descriptor's table pointer as a referenced kptr with
 * the tag 6.1 knows, "kptr_ref"; from 6.4 on that kernel calls it "kptr"
 * and rejects "kptr_ref".  This renames the tag in the object's BTF where
 * the kernel needs it (probed once per process).  Needed only by objects that
 * create a descriptor map rather than reuse a pinned one (libhmap's own
 * loader and hmapctl prog load call it).  0 or -errno.
 */
LIBHMAP_API int hmap_object__fix_kptr_tags(struct bpf_object *obj);

/* The key and value BTF types HMAP_TABLE(@map, ...) recorded in @btf. */
LIBHMAP_API int hmap_btf__table_types(const struct btf *btf, const char *map, int *key_id,
				      int *value_id);

/* Module-wide counters (leak checks). */
LIBHMAP_API int libhmap_modstats(struct hmap_ioc_modstats *ms);

/* Next table id after @start (0 for the first), or -ENOENT. */
LIBHMAP_API int libhmap_next_id(__u32 start, __u32 *next);

/* The library's version, "MAJOR.MINOR.PATCH". */
LIBHMAP_API const char *libhmap_version(void);

#ifdef __cplusplus
}
#endif

#endif /* __LIBHMAP_H */
