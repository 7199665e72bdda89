// SPDX-License-Identifier: GPL-2.0
/*
 * Programs for test_stress.c.
 *
 *  batch    SYSCALL: one thread's batch of random operations (hs_ops) on a
 *           stress table, with right and wrong key sizes, value sizes, flags
 *           and handles, stale-pointer writes, and operations on whatever
 *           table the churn thread published.  Each result goes to hs_res
 *           for the test's model; the program itself checks nothing.
 *  xdp_add  XDP: lookup-or-init and an atomic add on one of HS_XDP_KEYS
 *           counters that every CPU shares, counting successes per thread.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "hmap.bpf.h"
#include "hmap_stress.h"

char LICENSE[] SEC("license") = "GPL";

struct hs_op hs_ops[HS_MAX_THREADS][HS_BATCH];
struct hs_res hs_res[HS_MAX_THREADS][HS_BATCH];
__u8 hs_keybuf[HS_MAX_THREADS][HS_KEYBUF];
__u8 hs_valbuf[HS_MAX_THREADS][HS_VALBUF];
struct hmap_stats hs_stats[HS_MAX_THREADS];
__u64 hs_churn_handle;

__u64 xdp_handle;
__u64 xdp_iter[HS_MAX_THREADS];
__u64 xdp_adds[HS_MAX_THREADS];
__u64 xdp_nulls[HS_MAX_THREADS];

struct batch_loop {
	__u64 handle;
	__u64 dead;
	__u32 thread;
	__u32 full_stale;
};

static __always_inline void copy_out(struct hs_res *r, struct hs_val *v)
{
	r->val.w[0] = v->w[0];
	r->val.w[1] = v->w[1];
	r->val.w[2] = v->w[2];
	r->val.w[3] = v->w[3];
}

/*
 * A lookup with each rdwr_buf_size the test picks from (a constant per call,
 * as the verifier wants).  Only the table's size may return a pointer, and
 * only then is the value used: @body runs with the pointer as pv.
 */
#define LOOKUP_SEL(fn, body)						\
	switch (op->vsz_sel) {						\
	case 0: {							\
		struct hs_val *pv = (void *)fn(h, k, ksz, HS_VALUE_SIZE);	\
									\
		if (pv) {						\
			body;						\
			copy_out(r, pv);				\
		}							\
		r->ret = pv != NULL;					\
		break;							\
	}								\
	case 1: r->ret = (void *)fn(h, k, ksz, 8) ? 2 : 0; break;		\
	case 2: r->ret = (void *)fn(h, k, ksz, 16) ? 2 : 0; break;		\
	case 3: r->ret = (void *)fn(h, k, ksz, 24) ? 2 : 0; break;		\
	case 4: r->ret = (void *)fn(h, k, ksz, 40) ? 2 : 0; break;		\
	case 5: r->ret = (void *)fn(h, k, ksz, 64) ? 2 : 0; break;		\
	default: r->ret = (void *)fn(h, k, ksz, HMAP_VALUE_SIZE_MAX) ? 2 : 0;	\
	}

static long batch_one(__u32 i, void *data)
{
	struct batch_loop *l = data;
	__u32 th = l->thread & (HS_MAX_THREADS - 1), owner;	/* masks: bounds the */
	struct hs_val *nv, *pv;					/* verifier sees on */
	struct hs_key *k;					/* these registers */
	struct hs_op *op;
	struct hs_res *r;
	__u64 h, ksz, vsz, check;

	i &= HS_BATCH - 1;	/* the test runs at most HS_BATCH ops */
	op = &hs_ops[th][i];
	r = &hs_res[th][i];
	r->ret = 0;
	r->ret2 = 0;
	__builtin_memset(&r->val, 0, sizeof(r->val));

	switch (op->handle) {
	case HS_H_GOOD:
		h = l->handle;
		break;
	case HS_H_DEAD:
		h = l->dead;
		break;
	case HS_H_FLAGGED:
		h = l->handle | HMAP_UPDATE_FLAGS(1 + (op->arg & 1));
		break;
	default:
		h = *(volatile __u64 *)&hs_churn_handle;
	}
	/* Masks again; the test only asks for sizes in these ranges. */
	ksz = ((op->ksz - 1) & (HS_KEYBUF - 1)) + 1;
	vsz = ((op->vsz - 1) & (HS_VALBUF - 1)) + 1;
	owner = th + 1;
	check = hs_check(owner, op->idx);
	k = (struct hs_key *)hs_keybuf[th];
	k->owner = owner;
	k->idx = op->idx;
	k->salt = hs_salt(owner, op->idx);

	switch (op->type) {
	case HS_LOOKUP:
		LOOKUP_SEL(bpf_hmap_lookup, (void)0);
		break;
	case HS_LOI_ADD:
		LOOKUP_SEL(bpf_hmap_lookup_or_init, ({
			pv->w[0] = check;
			__sync_fetch_and_add(&pv->w[2], op->arg);
		}));
		break;
	case HS_UPDATE:
		nv = (struct hs_val *)hs_valbuf[th];
		nv->w[0] = check;
		nv->w[1] = op->arg;
		nv->w[2] = op->arg ^ check;
		nv->w[3] = 0;
		r->ret = bpf_hmap_update(h | HMAP_UPDATE_FLAGS(op->flags & 3), k, ksz, nv, vsz);
		break;
	case HS_DELETE:
		r->ret = bpf_hmap_delete(h, k, ksz);
		break;
	case HS_STALE:
		/* The counter pattern racing a delete and a new insert, made
		 * certain: the new key must not get the deleted one's slot
		 * before this program is over. */
		pv = (void *)bpf_hmap_lookup_or_init(h, k, ksz, HS_VALUE_SIZE);
		if (!pv) {
			r->ret = HS_RET_NULL;
			break;
		}
		r->ret = bpf_hmap_delete(h, k, ksz);
		k->idx = op->idx2;
		k->salt = hs_salt(owner, op->idx2);
		nv = (void *)bpf_hmap_lookup_or_init(h, k, ksz, HS_VALUE_SIZE);
		if (l->full_stale) {
			/* Incremental: the slot is nobody's until a grace period
			 * after this program, so anything may be written. */
			pv->w[0] = op->arg;
			pv->w[1] = ~op->arg;
			pv->w[3] = op->arg ^ check;
			__sync_fetch_and_add(&pv->w[2], 0x40000000);
		} else {
			/* Fixed: another key may have taken the slot already. */
			__sync_fetch_and_add(&pv->w[3], op->arg);
		}
		r->ret2 = nv != NULL;
		if (nv)
			copy_out(r, nv);
		break;
	case HS_STATS:
		r->ret = bpf_hmap_stats(h, &hs_stats[th]);
		break;
	case HS_CHURN:
		switch (op->flags & 3) {
		case 0:
			pv = (void *)bpf_hmap_lookup_or_init(h, k, ksz, HS_VALUE_SIZE);
			if (pv) {
				pv->w[0] = check;
				pv->w[1] = op->arg;
				pv->w[3] = op->arg;
				__sync_fetch_and_add(&pv->w[2], 1);
			}
			r->ret = pv != NULL;
			break;
		case 1:
			nv = (struct hs_val *)hs_valbuf[th];
			nv->w[0] = check;
			r->ret = bpf_hmap_update(h, k, ksz, nv, vsz);
			break;
		case 2:
			r->ret = bpf_hmap_delete(h, k, ksz);
			break;
		default:
			r->ret = (void *)bpf_hmap_lookup(h, k, ksz, HS_VALUE_SIZE) != NULL;
		}
		break;
	default:
		r->ret = -EINVAL;
	}
	return 0;
}

SEC("syscall")
int batch(struct hs_ctx *ctx)
{
	struct batch_loop l = {
		.handle = ctx->handle, .dead = ctx->dead_handle,
		.thread = ctx->thread, .full_stale = ctx->full_stale,
	};

	bpf_loop(ctx->nops, batch_one, &l, 0);
	return 0;
}

SEC("xdp")
int xdp_add(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct hs_frame *f = data;
	struct hs_val *v;
	struct hs_key k;
	__u32 th;
	__u64 n;

	if (data + sizeof(*f) > end)
		return XDP_ABORTED;
	th = f->thread & (HS_MAX_THREADS - 1);
	n = __sync_fetch_and_add(&xdp_iter[th], 1);
	k.owner = HS_XDP_OWNER;
	k.idx = (((f->seed + n) * 0x9e3779b97f4a7c15ULL) >> 32) % HS_XDP_KEYS;
	k.salt = hs_salt(k.owner, k.idx);
	v = (void *)bpf_hmap_lookup_or_init(xdp_handle, &k, sizeof(k), sizeof(*v));
	if (!v) {
		__sync_fetch_and_add(&xdp_nulls[th], 1);
		return XDP_PASS;
	}
	v->w[0] = hs_check(k.owner, k.idx);
	__sync_fetch_and_add(&v->w[2], 1);
	__sync_fetch_and_add(&xdp_adds[th], 1);
	return XDP_PASS;
}
