/* SPDX-License-Identifier: GPL-2.0 */
/* Shared between hmap_stress.bpf.c and test_stress.c. */
#ifndef __HMAP_STRESS_H
#define __HMAP_STRESS_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define HS_MAX_THREADS	8
#define HS_BATCH	128	/* ops a run of the "batch" program executes */
#define HS_KEY_SIZE	16	/* the stress tables' shape */
#define HS_VALUE_SIZE	32
#define HS_KEYBUF	256	/* room for wrong key sizes up to HMAP_KEY_SIZE_MAX */
#define HS_VALBUF	512	/* and wrong value sizes up to this */
#define HS_XDP_KEYS	64	/* counters the XDP program shares between CPUs */
#define HS_XDP_OWNER	0xffffU

/*
 * Key: owner (thread + 1, or HS_XDP_OWNER), index, and a salt derived from
 * both, so a key that is not one of ours is recognisable.  Every key has
 * exactly one writer, except the XDP counters, which only get atomic adds.
 */
struct hs_key {
	__u32 owner;
	__u32 idx;
	__u64 salt;
};

/*
 * Value: w[0] the key's check word (0 right after lookup-or-init inserted
 * it), w[1] the version its last update wrote, w[2] a counter (atomic adds),
 * w[3] scratch: on fixed tables stale-pointer writes go here, the only word
 * a reused slot of another key may see change.
 */
struct hs_val {
	__u64 w[4];
};

static __always_inline __u64 hs_id(__u32 owner, __u32 idx)
{
	return (__u64)owner << 32 | idx;
}

static __always_inline __u64 hs_salt(__u32 owner, __u32 idx)
{
	return (hs_id(owner, idx) + 1) * 0x9e3779b97f4a7c15ULL;
}

static __always_inline __u64 hs_check(__u32 owner, __u32 idx)
{
	return hs_id(owner, idx) ^ 0x5a17c0de00000000ULL;
}

enum hs_op_type {
	HS_LOOKUP = 1,		/* copy the value out */
	HS_LOI_ADD,		/* lookup-or-init, w[0] = check, w[2] += arg */
	HS_UPDATE,		/* {check, arg, arg ^ check, 0} with flags */
	HS_DELETE,
	HS_STALE,		/* lookup-or-init, delete, lookup-or-init of idx2, write
				 * through the first pointer */
	HS_STATS,		/* bpf_hmap_stats() into hs_stats[thread] */
	HS_CHURN,		/* flags: 0 lookup-or-init and write, 1 update, 2 delete, 3 lookup */
};

enum hs_handle_kind {
	HS_H_GOOD,		/* the stress table */
	HS_H_DEAD,		/* a table freed before the run */
	HS_H_FLAGGED,		/* the stress table with update flags set (not for updates) */
	HS_H_CHURN,		/* whatever table the churn thread published (or a dead one) */
};

/* Lookup rdwr_buf_size selectors: 0 the table's value size, others wrong. */
#define HS_VSZ_SELECTORS	7

struct hs_op {
	__u8 type;		/* enum hs_op_type */
	__u8 flags;		/* updates: BPF_ANY..BPF_EXIST, 3 is invalid */
	__u8 handle;		/* enum hs_handle_kind */
	__u8 vsz_sel;		/* lookups */
	__u16 ksz;		/* key size passed (HS_KEY_SIZE unless testing a wrong one) */
	__u16 vsz;		/* updates: value size passed */
	__u32 idx;
	__u32 idx2;		/* HS_STALE: another key of the thread's */
	__u64 arg;
};

/* ret: lookups 1 found / 0 NULL (2: a pointer for a wrong size); writes the
 * kfunc's return; HS_STALE the delete's return, or HS_RET_NULL, and ret2 and
 * val idx2's lookup-or-init. */
#define HS_RET_NULL	(-1000)

struct hs_res {
	__s64 ret;
	__s64 ret2;
	struct hs_val val;
};

/* ctx of the "batch" SYSCALL program: run hs_ops[thread][0 .. nops - 1]. */
struct hs_ctx {
	__u64 handle;
	__u64 dead_handle;
	__u32 thread;
	__u32 nops;
	__u32 full_stale;	/* stale writes may overwrite the whole value (incremental) */
	__u32 __pad;
};

/* First bytes of the frame the "xdp_add" program gets. */
struct hs_frame {
	__u32 thread;
	__u32 __pad;
	__u64 seed;
};

#endif
