/* SPDX-License-Identifier: ((GPL-2.0 WITH Linux-syscall-note) OR LGPL-2.1 OR BSD-2-Clause) */
/*
 * hmap: Go-map-style hash tables in kernel memory for BPF programs.
 *
 * This is the one header shared by the kernel module, BPF programs and user
 * space.  It defines:
 *
 *   - the table handle that BPF programs pass to the bpf_hmap_* kfuncs;
 *   - the descriptor value stored in the per-table BPF array map (the owner);
 *   - the read-only shared-memory layout exposed through mmap() of a table fd
 *     (a header page plus bucket arrays), versioned by HMAP_ABI_VERSION;
 *   - the /dev/hmap and table-fd ioctls;
 *   - the key hash and tophash, which user-space readers of the mapping
 *     compute exactly as the kernel does (bottom of this file).
 *
 * Licence: as libbpf's, so that programs under any licence can use it
 * through libhmap; the kernel modules take it under the GPL.
 *
 * Layout of one bucket (all offsets in struct hmap_shm_header):
 *
 *   +0   __u32 seq        chain sequence counter; odd while a writer is inside
 *   +4   __u32 overflow   index of the next overflow bucket, 0 = end of chain
 *   +8   __u8  tophash[8] per-slot filter byte, or one of the HMAP_TOPHASH_*
 *   +16  keys[8]          key_stride bytes each (1, 2, 4, or key_size rounded up to 8)
 *   +..  values[8]        at values_offset (8-aligned), value_stride bytes each
 *
 * Only the head bucket's seq is used: it covers the whole overflow chain.
 * A reader copies a chain between two equal, even reads of the head seq.
 */
#ifndef _UAPI_HMAP_H
#define _UAPI_HMAP_H

#ifndef __VMLINUX_H__	/* BPF programs get these types from vmlinux.h */
#include <linux/types.h>
#include <linux/ioctl.h>
#endif

#define HMAP_ABI_VERSION	2	/* 2: fixed tables' bucket counts need not be powers of two */
#define HMAP_SHM_MAGIC		0x50414d48	/* "HMAP" little-endian */
#define HMAP_DEV_NAME		"hmap"
#define HMAP_DEV_PATH		"/dev/hmap"

/* Go's runtime map: 8 slots a bucket, grow (or refuse) at 6.5 per bucket. */
#define HMAP_BUCKET_SLOTS	8
#define HMAP_LOAD_NUM		13
#define HMAP_LOAD_DEN		2

#define HMAP_TOPHASH_EMPTY_REST	0	/* this and every later slot in the chain is empty */
#define HMAP_TOPHASH_EMPTY_ONE	1	/* this slot is empty, later ones may not be */
#define HMAP_TOPHASH_MIN	2	/* smallest tophash of a live slot */

#define HMAP_KEY_SIZE_MAX	256
#define HMAP_VALUE_SIZE_MAX	4096
#define HMAP_BUCKET_HDR_SIZE	16

/* A table's main bucket count is at most 2^24: the 32-bit hash gives the bucket
 * index from its low bits and the tophash from its top 8 bits. */
#define HMAP_MAX_BUCKETS_LOG2	24

enum hmap_variant {
	HMAP_VARIANT_FIXED		= 0,	/* hmap.ko: fixed capacity, -ENOSPC when full */
	HMAP_VARIANT_INCREMENTAL	= 1,	/* hmap_rehash.ko: grows by incremental rehash */
	HMAP_VARIANT_MAX,
};

/*
 * Table handle, as stored in struct hmap_desc and passed to the kfuncs:
 *   bits  0..31  table id (as shown by hmapctl, never 0)
 *   bits 32..61  creation generation: a stale handle never reaches a table
 *                created later under a reused id
 *   bits 62..63  update flags, only for bpf_hmap_update() (HMAP_UPDATE_FLAGS)
 */
#define HMAP_HANDLE_FLAGS_SHIFT	62
#define HMAP_HANDLE_MASK	((1ULL << HMAP_HANDLE_FLAGS_SHIFT) - 1)
/* BPF_ANY = 0, BPF_NOEXIST = 1, BPF_EXIST = 2, carried in the top bits */
#define HMAP_UPDATE_FLAGS(f)	((__u64)(f) << HMAP_HANDLE_FLAGS_SHIFT)

/* Argument of bpf_hmap_create(), the kfunc a SYSCALL program calls. */
struct hmap_create_attr {
	__u32 key_size;		/* in: 1..HMAP_KEY_SIZE_MAX */
	__u32 value_size;	/* in: 1..HMAP_VALUE_SIZE_MAX */
	__u64 capacity;		/* in: max entries (fixed), initial entries (incremental) */
	__u64 max_capacity;	/* in: incremental only; 0 = no cap but max_table_bytes */
	__u32 variant;		/* in: enum hmap_variant */
	__u32 flags;		/* in: must be 0 */
	__s32 err;		/* out: 0 or negative errno when NULL is returned */
	__u32 id;		/* out: table id */
	__u64 handle;		/* out: table handle */
};

/* Statistics, summed over CPUs.  Returned by HMAP_IOC_INFO and bpf_hmap_stats(). */
struct hmap_stats {
	__u64 entries;
	__u64 capacity;		/* entries the table accepts now */
	__u32 nbuckets;		/* main buckets */
	__u32 noverflow;	/* preallocated overflow buckets */
	__u32 overflow_used;	/* overflow buckets linked into chains */
	__u32 state;		/* 0 stable, 1 growing (incremental) */
	__u64 lookups;
	__u64 hits;
	__u64 updates;		/* successful update/insert */
	__u64 deletes;		/* successful delete */
	__u64 enospc;		/* inserts refused: table full */
	__u64 ebusy;		/* writes refused: bucket lock re-entered on this CPU */
	__u64 einval;		/* calls with a wrong key or value size, or bad flags */
	__u64 grows;		/* incremental: completed growths */
	__u64 evacuated;	/* incremental: buckets evacuated, total */
	__u64 evac_ns;		/* incremental: time spent evacuating */
};

#ifndef __hmap_kptr
#define __hmap_kptr
#endif

struct hmap;

/*
 * Value of the one-element BPF array map that owns a table ("descriptor").
 * The map is pinned at <pin root>/<name>; BPF objects reuse it by name
 * (LIBBPF_PIN_BY_NAME), which keeps the table alive while they are loaded.
 * Everything but @table is plain data for bpftool map dump.  @stats is a
 * snapshot taken at creation and by "hmapctl stats"; live figures come from
 * the table fd.
 *
 * Every top-level member is 8-byte aligned on purpose: Linux 6.1's
 * btf_find_struct_field() applies the kptr alignment to all members of a
 * map value and silently drops the kptr if any member is at an offset that
 * is not a multiple of 8.
 */
struct hmap_desc {
	struct hmap __hmap_kptr *table;	/* referenced kptr: the owning reference */
	__u64 handle;
	__u64 id;
	__u64 variant;
	__u64 key_size;
	__u64 value_size;
	__u64 capacity;
	struct hmap_stats stats;
};

/* One bucket array as seen through mmap(). */
struct hmap_shm_array {
	__u64 mmap_offset;	/* pass to mmap(); page aligned */
	__u64 mmap_size;	/* bytes to map */
	__u32 nbuckets;		/* main buckets (a power of two in an incremental table) */
	__u32 noverflow;	/* overflow buckets after the main ones */
	__u32 evacuated;	/* old array during growth: main buckets moved so far
				 * (progress only: which ones, each bucket's
				 * HMAP_SEQ_EVACUATED says) */
	__u32 __pad;
};

/*
 * Page 0 of a table fd's mmap space.  Read-only to user space.
 * @layout_seq is a sequence counter over @narrays and @arrays: odd while the
 * kernel switches arrays (incremental variant).  arrays[0] is the current
 * array; during growth arrays[1] is the old one.  A main bucket of the old
 * array whose seq carries HMAP_SEQ_EVACUATED has moved: read it in arrays[0]
 * (a reader that finds it on a newer array than its view re-reads the
 * layout).
 */
struct hmap_shm_header {
	__u32 magic;
	__u32 abi_version;
	__u32 id;
	__u32 variant;
	__u32 key_size;
	__u32 value_size;
	__u32 key_stride;
	__u32 value_stride;
	__u32 bucket_size;
	__u32 keys_offset;	/* from bucket start */
	__u32 values_offset;	/* from bucket start */
	__u32 layout_seq;
	__u64 seed[2];		/* hsiphash key (SipHash-1-3, kernel hsiphash on 64-bit) */
	__u64 capacity;
	__u64 entries;		/* live entry count */
	__u32 narrays;
	__u32 generation;	/* incremental: completed growths */
	struct hmap_shm_array arrays[2];
	/* incremental variant only: the value pool */
	__u64 pool_mmap_offset;
	__u64 pool_chunk_bytes;	/* page aligned */
	__u32 pool_chunk_shift;
	__u32 pool_value_stride;
	__u32 pool_nchunks;	/* chunks mapped so far (grows) */
	__u32 __pad2;
};

/* Incremental variant: most entries a table may have (6.5 a bucket, 2^24
 * main buckets): the limit of capacity and max_capacity. */
#define HMAP_MAX_ENTRIES	(((__u64)HMAP_LOAD_NUM << HMAP_MAX_BUCKETS_LOG2) / HMAP_LOAD_DEN)

/*
 * Incremental variant: a main bucket of the old array whose chain was moved
 * to the new array has this bit set in its seq, forever.  It is a state, not
 * part of the count: writers' increments wrap within bits 0..30.  Readers then look
 * in the new array.  Its slots hold a __u32 value index (value_stride 4) into
 * the value pool: value i is at pool chunk i >> pool_chunk_shift, slot
 * i & ((1 << pool_chunk_shift) - 1), pool_value_stride bytes each; chunk c is
 * mapped at pool_mmap_offset + c * pool_chunk_bytes.
 */
#define HMAP_SEQ_EVACUATED	(1U << 31)

/* struct hmap_bucket: the fixed part of a bucket; keys and values follow. */
struct hmap_bucket {
	__u32 seq;
	__u32 overflow;
	__u8 tophash[HMAP_BUCKET_SLOTS];
};

/* ---- ioctls ------------------------------------------------------------ */
#define HMAP_IOC_MAGIC		0xb7

/*
 * /dev/hmap: open a table by id; returns a new O_CLOEXEC fd.  Needs
 * CAP_SYS_ADMIN, as BPF_MAP_GET_FD_BY_ID.  The fd is read-write unless
 * HMAP_FD_RDONLY: then HMAP_IOC_UPDATE and HMAP_IOC_DELETE fail with -EPERM.
 * Mappings are read-only either way.
 */
#define HMAP_FD_RDONLY		(1U << 0)

struct hmap_ioc_fd {
	__u32 id;
	__u32 flags;		/* 0 or HMAP_FD_RDONLY */
};

/* /dev/hmap: iterate ids: next_id is the smallest id > start_id, or -ENOENT. */
struct hmap_ioc_next_id {
	__u32 start_id;
	__u32 next_id;
};

/* /dev/hmap: module-wide counters, for leak checks. */
struct hmap_ioc_modstats {
	__u64 live_tables;
	__u64 live_bytes;
	__u64 created;
	__u64 freed;
};

/* Table fd: shape and stats. */
struct hmap_info {
	__u32 id;
	__u32 variant;
	__u32 key_size;
	__u32 value_size;
	__u64 handle;
	__u64 bytes;		/* memory held by the table */
	struct hmap_stats stats;
};

/* Table fd: element operations through the kernel (same locking as BPF). */
struct hmap_ioc_elem {
	__u64 key;		/* user pointer */
	__u64 value;		/* user pointer: in for UPDATE, out for LOOKUP */
	__u32 key_size;		/* must equal the table's */
	__u32 value_size;	/* must equal the table's (UPDATE, LOOKUP) */
	__u64 flags;		/* UPDATE: BPF_ANY, BPF_NOEXIST, BPF_EXIST */
};

#define HMAP_IOC_TABLE_FD	_IOW(HMAP_IOC_MAGIC, 1, struct hmap_ioc_fd)
#define HMAP_IOC_NEXT_ID	_IOWR(HMAP_IOC_MAGIC, 2, struct hmap_ioc_next_id)
#define HMAP_IOC_MODSTATS	_IOR(HMAP_IOC_MAGIC, 3, struct hmap_ioc_modstats)
#define HMAP_IOC_INFO		_IOR(HMAP_IOC_MAGIC, 16, struct hmap_info)
#define HMAP_IOC_LOOKUP		_IOW(HMAP_IOC_MAGIC, 17, struct hmap_ioc_elem)
#define HMAP_IOC_UPDATE		_IOW(HMAP_IOC_MAGIC, 18, struct hmap_ioc_elem)
#define HMAP_IOC_DELETE		_IOW(HMAP_IOC_MAGIC, 19, struct hmap_ioc_elem)

/* ---- the key hash --------------------------------------------------------- */
/*
 * A key's 32-bit hash is the kernel's hsiphash() of its key_size bytes under
 * the table's seed (struct hmap_shm_header.seed).  On 64-bit kernels that is
 * SipHash-1-3 with a 32-bit result; hmap_key_hash() below is a bit-exact
 * copy for user space (little-endian 64-bit hosts, as the kernel's).  The
 * key's main bucket is hmap_bucket_index(hash, nbuckets) and its slot filter
 * byte is hmap_tophash(hash).
 */
/*
 * A key's main bucket.  A power-of-two count (every incremental array, whose
 * growth splits bucket i into i and i + nbuckets) takes the hash's low bits.
 * Any other count (a fixed table sized to its capacity: capacity / 6.5
 * buckets, not rounded up) maps the hash, rotated so that the tophash's 8
 * bits come last, onto 0..nbuckets-1 by multiply-shift: each bucket gets
 * 2^32 / nbuckets consecutive rotated hashes (at least 256, since nbuckets
 * <= 2^24), so buckets are even to 1/256 and every tophash value is as
 * likely in every bucket.
 */
static inline __u32 hmap_bucket_index(__u32 hash, __u32 nbuckets)
{
	if (!(nbuckets & (nbuckets - 1)))
		return hash & (nbuckets - 1);
	return (__u32)(((__u64)((hash << 8) | (hash >> 24)) * nbuckets) >> 32);
}

static inline __u8 hmap_tophash(__u32 hash)
{
	__u8 top = hash >> 24;

	return top < HMAP_TOPHASH_MIN ? top + HMAP_TOPHASH_MIN : top;
}

#if !defined(__bpf__)
/* One SipHash round over v0..v3 in the caller's scope: hmap_key_hash()
 * below, and the kernel build's inline fixed-size hash (hmap_platform.h). */
static inline __u64 hmap__rol64(__u64 w, unsigned int s)
{
	return (w << s) | (w >> (64 - s));
}

#define HMAP__SIPROUND do {							\
	v0 += v1; v1 = hmap__rol64(v1, 13); v1 ^= v0; v0 = hmap__rol64(v0, 32);	\
	v2 += v3; v3 = hmap__rol64(v3, 16); v3 ^= v2;				\
	v0 += v3; v3 = hmap__rol64(v3, 21); v3 ^= v0;				\
	v2 += v1; v1 = hmap__rol64(v1, 17); v1 ^= v2; v2 = hmap__rol64(v2, 32);	\
} while (0)
#endif /* !__bpf__ */

#if !defined(__KERNEL__) && !defined(__bpf__)
#include <string.h>

/* Bit-exact with lib/siphash.c __hsiphash_unaligned() on 64-bit little-endian. */
static inline __u32 hmap_key_hash(const void *key, __u32 len, const __u64 seed[2])
{
	const __u8 *p = (const __u8 *)key, *end = p + len - (len % 8);
	__u8 left = len & 7;
	__u64 v0 = 0x736f6d6570736575ULL ^ seed[0];
	__u64 v1 = 0x646f72616e646f6dULL ^ seed[1];
	__u64 v2 = 0x6c7967656e657261ULL ^ seed[0];
	__u64 v3 = 0x7465646279746573ULL ^ seed[1];
	__u64 b = (__u64)len << 56, m;
	__u32 w;

	for (; p != end; p += 8) {
		memcpy(&m, p, 8);
		v3 ^= m;
		HMAP__SIPROUND;
		v0 ^= m;
	}
	switch (left) {
	case 7: b |= (__u64)end[6] << 48; /* fallthrough */
	case 6: b |= (__u64)end[5] << 40; /* fallthrough */
	case 5: b |= (__u64)end[4] << 32; /* fallthrough */
	case 4: memcpy(&w, end, 4); b |= w; break;
	case 3: b |= (__u64)end[2] << 16; /* fallthrough */
	case 2: b |= (__u64)end[0] | (__u64)end[1] << 8; break;
	case 1: b |= end[0];
	}
	v3 ^= b;
	HMAP__SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	HMAP__SIPROUND;
	HMAP__SIPROUND;
	HMAP__SIPROUND;
	return (__u32)((v0 ^ v1) ^ (v2 ^ v3));
}
#endif /* !__KERNEL__ && !__bpf__ */

#endif /* _UAPI_HMAP_H */
