// SPDX-License-Identifier: GPL-2.0
/*
 * hmap.ko's kfuncs: bpf_hmap_create()/release() for SYSCALL programs, the
 * data path (lookup, lookup_or_init, update, delete, stats) for the program
 * types in hmap_data_prog_types[], their BTF id sets and the descriptor
 * kptr's destructor.  Each kfunc's context is in its kernel-doc; the data
 * path itself is inline (hmap_table.h, hmap_engine.h, hmap_grow.h).
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/bpf.h>
#include <linux/btf.h>
#include <linux/btf_ids.h>

#include "hmap_table.h"

/*
 * The lookup kfuncs' common part: resolve the handle, check the sizes, look
 * up, count.  *@tp is the table when the key may be inserted (NULL for an
 * unknown handle or a size mismatch).
 */
static __always_inline void *__bpf_hmap_lookup(u64 handle, const void *key, u32 key_size,
					       u32 value_size, struct hmap **tp)
{
	struct hmap *t = hmap_from_handle(handle, false);
	void *v;

	*tp = NULL;
	if (unlikely(!t))
		return NULL;
	if (unlikely(key_size != t->layout.key_size || value_size != t->layout.value_size)) {
		this_cpu_inc(t->pcpu->einval);
		return NULL;
	}
	*tp = t;
	v = hmap_do_lookup(t, key);
	if (v)
		this_cpu_inc(t->pcpu->hits);
	else
		this_cpu_inc(t->pcpu->misses);
	return v;
}

/* ---- kfuncs ------------------------------------------------------------- */

__bpf_kfunc_start_defs();

/**
 * bpf_hmap_create - create a table
 * @attr: shape in; on failure @attr->err is set to the negative errno, on
 *        success @attr->id and @attr->handle are set
 *
 * Context: SYSCALL programs only (sleepable); may sleep.
 * Return: an acquired reference, to be stored with bpf_kptr_xchg() into a
 * descriptor map or dropped with bpf_hmap_release(); NULL on failure, with
 * the reason in @attr->err (see hmap_create()).
 */
__bpf_kfunc struct hmap *bpf_hmap_create(struct hmap_create_attr *attr)
{
	struct hmap *t = hmap_create(attr);

	if (IS_ERR(t)) {
		attr->err = PTR_ERR(t);
		return NULL;
	}
	attr->err = 0;
	attr->id = t->id;
	attr->handle = t->handle;
	return t;
}

/**
 * bpf_hmap_release - drop a table reference
 * @t: an acquired reference
 *
 * The table is freed, after RCU grace periods, when its last reference goes.
 * @t may be NULL (see bpf_hmap_release_dtor()).
 * Context: any; never sleeps.
 */
__bpf_kfunc void bpf_hmap_release(struct hmap *t)
{
	if (t)
		hmap_put(t);
}

/**
 * bpf_hmap_release_dtor - destructor of the descriptor map's kptr
 * @t: the table the kptr held, or NULL: 6.1's bpf_map_free_kptrs() calls
 *     the destructor for empty kptr slots too
 *
 * The BPF core calls this through a function pointer it looks up by BTF id
 * (typed btf_dtor_kfunc_t, hence the void *), never by a C reference objtool
 * can see.  With IBT (Debian's 6.12 has X86_KERNEL_IBT), objtool lists every
 * function whose address C never takes in .ibt_endbr_seal, and the module
 * loader overwrites their ENDBR instructions; an indirect call to a sealed
 * function then raises #CP on a CPU that enforces IBT.  CFI_NOSEAL keeps the
 * ENDBR, as kernel/bpf/cpumask.c does for its destructors.  QEMU's TCG does
 * not emulate CET, so no VM test here could see the fault: the build checks
 * instead that no *_dtor function is in the seal list
 * (kmod/scripts/check-ibt-seal.sh).
 * Context: any, NMI included; never sleeps.
 */
__bpf_kfunc void bpf_hmap_release_dtor(void *t)
{
	bpf_hmap_release(t);
}
CFI_NOSEAL(bpf_hmap_release_dtor);

/**
 * bpf_hmap_lookup - find a key, return its value in place
 * @handle: table handle (struct hmap_desc::handle)
 * @key: key buffer
 * @key__sz: size of @key; must equal the table's key size
 * @rdwr_buf_size: value size the program expects; must equal the table's
 *
 * Context: XDP, SCHED_CLS, TRACING, SYSCALL programs, and on 6.12 the types
 * in hmap_data_prog_types[]; any context up to NMI; lock-free, never
 * sleeps, safe when re-entered.
 * Return: writable pointer to the value, valid until the program returns;
 * NULL if the key is absent, the handle is unknown or stale (or has update
 * flags set), or a size does not match the table (counted in stats.einval).
 * The return type is u8 *, not void *: the verifier types the result as
 * @rdwr_buf_size bytes of writable memory only for a pointer to a scalar;
 * 6.12 types a kfunc's void * result as an untyped scalar the program cannot
 * dereference (6.1 accepted either).
 */
__bpf_kfunc u8 *bpf_hmap_lookup(u64 handle, const void *key, u32 key__sz,
				u32 rdwr_buf_size)
{
	struct hmap *t;

	return __bpf_hmap_lookup(handle, key, key__sz, rdwr_buf_size, &t);
}

/**
 * bpf_hmap_lookup_or_init - find a key, or insert it with a zeroed value
 * @handle: table handle
 * @key: key buffer
 * @key__sz: size of @key; must equal the table's key size
 * @rdwr_buf_size: value size the program expects; must equal the table's
 *
 * Meant for counters: add to the returned value with __sync_fetch_and_add().
 * Context: as bpf_hmap_lookup(); the insert takes a bucket lock, never sleeps.
 * Return: writable pointer to the existing or new value; NULL if the handle
 * is unknown or stale, a size does not match, the table is full (-ENOSPC
 * counted in stats.enospc) or the bucket lock is held by this CPU already
 * (stats.ebusy).
 */
__bpf_kfunc u8 *bpf_hmap_lookup_or_init(u64 handle, const void *key, u32 key__sz,
					u32 rdwr_buf_size)
{
	struct hmap *t;
	void *v = __bpf_hmap_lookup(handle, key, key__sz, rdwr_buf_size, &t);

	if (v || !t)
		return v;
	if (hmap_do_update(t, key, NULL, HMAP_INIT, &v))
		return NULL;
	return v;
}

/**
 * bpf_hmap_update - insert or replace a key's value
 * @handle: table handle, OR-ed with HMAP_UPDATE_FLAGS(BPF_ANY | BPF_NOEXIST |
 *          BPF_EXIST) (BPF allows kfuncs five arguments, so flags ride here)
 * @key: key buffer
 * @key__sz: size of @key; must equal the table's key size
 * @value: value buffer
 * @value__sz: size of @value; must equal the table's value size
 *
 * Context: as bpf_hmap_lookup(); takes a bucket lock
 * with IRQs off, never sleeps.
 * Return: 0; -EBADF unknown or stale handle; -EINVAL wrong size or flags;
 * -EEXIST (BPF_NOEXIST) key present; -ENOENT (BPF_EXIST) key absent;
 * -ENOSPC table full; -EBUSY bucket lock already held on this CPU (a
 * re-entered tracing program): retry later.  On error nothing changed.
 */
__bpf_kfunc int bpf_hmap_update(u64 handle, const void *key, u32 key__sz,
				const void *value, u32 value__sz)
{
	struct hmap *t = hmap_from_handle(handle, true);
	u32 flags = handle >> HMAP_HANDLE_FLAGS_SHIFT;

	if (unlikely(!t))
		return -EBADF;
	if (unlikely(key__sz != t->layout.key_size || value__sz != t->layout.value_size ||
		     flags > HMAP_EXIST)) {
		this_cpu_inc(t->pcpu->einval);
		return -EINVAL;
	}
	return hmap_do_update(t, key, value, flags, NULL);
}

/**
 * bpf_hmap_delete - remove a key
 * @handle: table handle
 * @key: key buffer
 * @key__sz: size of @key; must equal the table's key size
 *
 * Context: as bpf_hmap_update().
 * Return: 0; -EBADF unknown or stale handle (or update flags set in it);
 * -EINVAL wrong key size; -ENOENT key absent; -EBUSY bucket lock already held
 * on this CPU.
 */
__bpf_kfunc int bpf_hmap_delete(u64 handle, const void *key, u32 key__sz)
{
	struct hmap *t = hmap_from_handle(handle, false);

	if (unlikely(!t))
		return -EBADF;
	if (unlikely(key__sz != t->layout.key_size)) {
		this_cpu_inc(t->pcpu->einval);
		return -EINVAL;
	}
	return hmap_do_delete(t, key);
}

/**
 * bpf_hmap_stats - read a table's statistics
 * @handle: table handle
 * @st: filled in, e.g. struct hmap_desc::stats in the descriptor map
 *
 * Context: XDP, TRACING (and on 6.12 the types sharing its hook: tracepoint,
 * perf_event, LSM) and SYSCALL programs only, since @st is written (see
 * hmap_kfunc_ids_data); never sleeps (sums per-CPU counters: not for a
 * fast path).
 * Return: 0; -EBADF unknown or stale handle (@st zeroed).
 */
__bpf_kfunc int bpf_hmap_stats(u64 handle, struct hmap_stats *st)
{
	struct hmap *t = hmap_from_handle(handle, false);

	if (unlikely(!t)) {
		memset(st, 0, sizeof(*st));
		return -EBADF;
	}
	hmap_stats_read(t, st);
	return 0;
}

__bpf_kfunc_end_defs();

/*
 * Data kfuncs: every program type that may call them.  bpf_hmap_stats()
 * writes through a pointer the program chooses, and the verifier checks a
 * kfunc's memory argument for bounds only: a packet pointer would pass even
 * where the program may only read the packet (CGROUP_SKB, LWT) or must
 * unclone it first (tc).  So only XDP (packet writable, never cloned),
 * TRACING (no packet pointers) and SYSCALL programs get it.  One set per
 * hook: a module may register one set per program type.
 */
HMAP_KFUNCS_START(hmap_kfunc_ids_data)
BTF_ID_FLAGS(func, bpf_hmap_lookup, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_lookup_or_init, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_update)
BTF_ID_FLAGS(func, bpf_hmap_delete)
HMAP_KFUNCS_END(hmap_kfunc_ids_data)

HMAP_KFUNCS_START(hmap_kfunc_ids_data_stats)
BTF_ID_FLAGS(func, bpf_hmap_lookup, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_lookup_or_init, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_update)
BTF_ID_FLAGS(func, bpf_hmap_delete)
BTF_ID_FLAGS(func, bpf_hmap_stats)
HMAP_KFUNCS_END(hmap_kfunc_ids_data_stats)

/* SYSCALL programs also create and release (one set per hook on 6.1). */
HMAP_KFUNCS_START(hmap_kfunc_ids_syscall)
BTF_ID_FLAGS(func, bpf_hmap_create, KF_ACQUIRE | KF_RET_NULL | KF_SLEEPABLE)
BTF_ID_FLAGS(func, bpf_hmap_release, KF_RELEASE)
BTF_ID_FLAGS(func, bpf_hmap_lookup, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_lookup_or_init, KF_RET_NULL)
BTF_ID_FLAGS(func, bpf_hmap_update)
BTF_ID_FLAGS(func, bpf_hmap_delete)
BTF_ID_FLAGS(func, bpf_hmap_stats)
HMAP_KFUNCS_END(hmap_kfunc_ids_syscall)

static const struct btf_kfunc_id_set hmap_kfunc_set_data = {
	.owner	= THIS_MODULE,
	.set	= &hmap_kfunc_ids_data,
};

static const struct btf_kfunc_id_set hmap_kfunc_set_data_stats = {
	.owner	= THIS_MODULE,
	.set	= &hmap_kfunc_ids_data_stats,
};

static const struct btf_kfunc_id_set hmap_kfunc_set_syscall = {
	.owner	= THIS_MODULE,
	.set	= &hmap_kfunc_ids_syscall,
};

BTF_ID_LIST(hmap_dtor_ids)
BTF_ID(struct, hmap)
BTF_ID(func, bpf_hmap_release_dtor)

/*
 * The program types that may call the data kfuncs, per kernel
 * (kernel/bpf/btf.c, bpf_prog_type_to_kfunc_hook()).  6.1 has kfunc hooks
 * for XDP, TC (SCHED_CLS), TRACING and SYSCALL only.  6.12 adds hooks for
 * SCHED_ACT, CGROUP (CGROUP_SKB and the other cgroup types), SOCKET_FILTER,
 * LWT (all LWT types), SK_SKB and KPROBE, and maps TRACEPOINT, PERF_EVENT
 * and LSM to the TRACING hook.  The gate is the version tested here, 6.12,
 * not the one each hook arrived in: on 6.1 registering a type that has no
 * hook fails and btf_populate_kfunc_set() then frees every set the module
 * registered before, so a wrong guess is not harmless.  Every type listed is
 * tested in the VM (test_progtypes).  All may run in any context up to NMI
 * (kprobes), which the kfuncs allow; and only CAP_BPF programs may call
 * kfuncs at all, so an unprivileged socket filter cannot reach a table.
 */
static const struct {
	enum bpf_prog_type type;
	const struct btf_kfunc_id_set *set;
} hmap_data_prog_types[] = {
	{ BPF_PROG_TYPE_XDP,		&hmap_kfunc_set_data_stats },
	{ BPF_PROG_TYPE_TRACING,	&hmap_kfunc_set_data_stats },
	{ BPF_PROG_TYPE_SCHED_CLS,	&hmap_kfunc_set_data },
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 12, 0)
	{ BPF_PROG_TYPE_SCHED_ACT,	&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_CGROUP_SKB,	&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_SOCKET_FILTER,	&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_LWT_IN,		&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_SK_SKB,		&hmap_kfunc_set_data },
	{ BPF_PROG_TYPE_KPROBE,		&hmap_kfunc_set_data },
#endif
};

static int hmap_register_data_kfuncs(void)
{
	int i, ret;

	for (i = 0; i < ARRAY_SIZE(hmap_data_prog_types); i++) {
		ret = register_btf_kfunc_id_set(hmap_data_prog_types[i].type,
						hmap_data_prog_types[i].set);
		if (ret) {
			pr_err("registering kfuncs for program type %d failed (%d)\n",
			       hmap_data_prog_types[i].type, ret);
			return ret;
		}
	}
	return 0;
}

/**
 * hmap_kfunc_register - register the kfunc sets and the kptr destructor
 * Context: module init.  A failure leaves nothing to undo: the BPF core
 * drops a module's sets when it goes.
 * Return: 0 or the first error.
 */
int __init hmap_kfunc_register(void)
{
	const struct btf_id_dtor_kfunc dtors[] = {
		{ .btf_id = hmap_dtor_ids[0], .kfunc_btf_id = hmap_dtor_ids[1] },
	};
	int ret;

	ret = hmap_register_data_kfuncs();
	ret = ret ?: register_btf_kfunc_id_set(BPF_PROG_TYPE_SYSCALL, &hmap_kfunc_set_syscall);
	ret = ret ?: register_btf_id_dtor_kfuncs(dtors, ARRAY_SIZE(dtors), THIS_MODULE);
	if (ret)
		pr_err("registering kfuncs failed (%d): was the module built with BTF?\n", ret);
	return ret;
}
