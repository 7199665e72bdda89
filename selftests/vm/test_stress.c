// SPDX-License-Identifier: GPL-2.0
/*
 * Randomized stress of both variants, in the VM with hmap.ko and
 * hmap_rehash.ko loaded (run_tests.sh).  Kselftest harness, TAP output.
 *
 * Bounded in time: HMAP_STRESS_SECONDS (default 75) is shared 40/40/20 by
 * the three tests.  Each test prints "# seed N" first; HMAP_STRESS_SEED=N
 * replays every thread's sequence of operations (not the threads'
 * interleaving, which the scheduler picks).
 *
 * For its share of the time, every test runs:
 *   - a thread pinned to each CPU (at least two) running the "batch" SYSCALL
 *     program on a stress table: random lookups, lookup-or-inits with atomic
 *     adds, updates with every flag, deletes, wrong key sizes, wrong value
 *     sizes, invalid flags, a freed table's handle, handles with update
 *     flags, operations on whatever table the churn thread has up, and
 *     stale-pointer writes: lookup-or-init, delete, insert another key,
 *     then write through the first pointer.  Between batches: ioctl
 *     updates, deletes and lookups (and malformed ones), zero-copy lookups,
 *     and XDP test runs adding to counters that every CPU shares;
 *   - a zero-copy reader (libhmap) iterating the table and looking keys up;
 *   - a churn thread creating tables (and refusing bad shapes), writing and
 *     reading them, closing their fds and unpinning them while a mapping is
 *     still held, reading the mapping (the table must still be there), then
 *     unmapping it, and trying rmmod hmap_rehash and rmmod hmap, which must
 *     be refused and change nothing.
 * Every key has one writer (the key holds its thread), so each thread
 * models its keys exactly and checks every result as it comes: errno, NULL,
 * value.  Wrong sizes and flags must fail with -EINVAL or NULL and count in
 * stats.einval; bad handles -EBADF or NULL, counting nothing.  At the end,
 * quiescent: every key present exactly once with the model's value
 * (iteration, zero-copy and ioctl lookups; absent keys absent), the XDP
 * counters summing to the adds made, the entry count (stats, header, walk,
 * descriptor) and the stats counters (hmap_info and bpf_hmap_stats agree)
 * equal to what the threads counted, no -EBUSY, and no table left.
 *
 *  stress_fixed_table        an hmap.ko table of 3/8 of the key space:
 *                            inserts meet -ENOSPC.  Stale-pointer writes
 *                            go to a scratch word that no check reads: a
 *                            freed slot may be another key's at once.
 *  stress_incremental_table  an hmap_rehash.ko table from capacity 8 that
 *                            must grow during the run and never refuse an
 *                            insert.  Stale-pointer writes overwrite whole
 *                            values, which no live key may ever show.
 *  table_churn_and_rmmod_attempts  the churn at full speed, up to 8 tables
 *                            at once, 40% of BPF operations on their
 *                            handles as they go; then no table is left,
 *                            and both modules unload and load again.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include "kselftest_harness.h"
#include "libhmap.h"
#include "hmap_test_util.h"
#include "hmap_stress.h"
#include "hmap_stress.skel.h"

#define ROOT		"/sys/fs/bpf/hmap-stress"
#define MAX_CHURN	8	/* churn tables alive at once, at most */

__attribute__((constructor)) static void require_prerequisites(void)
{
	hmap_require("/sys/module/hmap_rehash");
}

static __u64 base_seed;
static unsigned int total_seconds = 75;

static __u64 rnd(__u64 *s)	/* splitmix64 */
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- the run's state ----------------------------------------------------- */

/* What a thread saw the kernel count for its calls; compared with the
 * table's stats at the end. */
struct counts {
	__u64 lookups, hits, updates, deletes, einval, enospc, ebusy;
	__u64 loi_null;		/* lookup-or-init NULL for an absent key: -ENOSPC or -EBUSY */
};

struct stress;

struct worker {
	struct stress *st;
	int th;
	pthread_t tid;
	__u64 rng;
	struct hmap_table *t;	/* its own reader: libhmap readers are per thread */
	__u8 *present;		/* the model of its keys */
	struct hs_val *val;
	__u64 npresent;
	struct counts c;
	__u64 batches, ops, stale, churn_ops, churn_live, user_ops, xdp_runs;
};

struct ctable {			/* a churn table */
	int state;		/* 0 free, 1 open (pinned, fd, mapped), 2 only mapped */
	__u32 id, ksz, vsz;
	__u64 handle;
	char path[128];
	struct hmap_table *t;
	int fd;
	const struct hmap_shm_header *hdr;
	const void *arr, *chunk;
	size_t arr_len, chunk_len;
};

struct params {
	int variant;
	__u32 nkeys;		/* keys per thread */
	__u64 capacity;		/* 0: nthreads * nkeys * 3 / 8 */
	unsigned int seconds;
	int churn_pct;		/* share of BPF ops on churn tables */
	bool heavy_churn;
	bool must_grow;		/* incremental: the key space is big enough */
};

struct stress {
	const struct params *p;
	struct hmap_stress *skel;
	int ncpu;
	__u32 nthreads, nkeys;
	__u64 capacity;
	__u64 handle, dead_handle;
	__u32 id;
	char path[128];
	double deadline;
	volatile int stop;
	pthread_mutex_t lock;
	__u64 nfail;
	struct worker w[HS_MAX_THREADS];
	/* the zero-copy reader */
	pthread_t reader;
	struct hmap_table *rt;
	__u64 r_passes, r_entries, r_lookups, r_found, r_bad;
	__u64 rng_r;
	/* the churn thread */
	pthread_t churn;
	__u64 rng_c;
	int dev;
	struct ctable ct[MAX_CHURN];
	struct hmap_table *anchor;	/* an incremental table: rmmod hmap_rehash must fail */
	char anchor_path[128];
	__u32 *gone;			/* ids of churn tables unmapped */
	__u64 ngone, gone_cap;
	__u64 c_created, c_refused_shapes, c_retired, c_mapped_reads, c_rmmod_tries;
	__u64 c_seq;
};

/* Report a failure from any thread (the first 20 in full) and stop the run. */
static void __attribute__((format(printf, 2, 3))) st_fail(struct stress *st, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&st->lock);
	if (st->nfail++ < 20) {
		va_start(ap, fmt);
		fprintf(stderr, "# FAIL: ");
		vfprintf(stderr, fmt, ap);
		fprintf(stderr, " (HMAP_STRESS_SEED=%llu)\n", (unsigned long long)base_seed);
		va_end(ap);
	}
	st->stop = 1;
	pthread_mutex_unlock(&st->lock);
}

static void mk_key(struct hs_key *k, __u32 owner, __u32 idx)
{
	k->owner = owner;
	k->idx = idx;
	k->salt = hs_salt(owner, idx);
}

/* Fixed tables: w[3] is any key's scratch word (stale writes to reused slots). */
static bool val_eq(const struct stress *st, const struct hs_val *a, const struct hs_val *b)
{
	int n = st->p->variant == HMAP_VARIANT_FIXED ? 3 : 4;

	return !memcmp(a, b, n * sizeof(__u64));
}

#define VFMT	"{%llx %llx %llx %llx}"
#define VARG(v)	(unsigned long long)(v)->w[0], (unsigned long long)(v)->w[1], \
		(unsigned long long)(v)->w[2], (unsigned long long)(v)->w[3]

static const char *const op_names[] = {
	[HS_LOOKUP] = "lookup", [HS_LOI_ADD] = "lookup_or_init", [HS_UPDATE] = "update",
	[HS_DELETE] = "delete", [HS_STALE] = "stale", [HS_STATS] = "stats", [HS_CHURN] = "churn",
};

/* ---- the model ----------------------------------------------------------- */

/* An update of key @idx with @flags (valid ones) returned @ret: check, apply. */
static void model_update(struct worker *w, __u32 idx, __u32 flags, const struct hs_val *nv,
			 long ret, const char *what)
{
	bool present = w->present[idx];
	long want;

	if (ret == -EBUSY) {
		w->c.ebusy++;
		return;
	}
	if (present)
		want = flags == BPF_NOEXIST ? -EEXIST : 0;
	else if (flags == BPF_EXIST)
		want = -ENOENT;
	else if (ret == -ENOSPC)
		want = -ENOSPC;	/* full, or out of overflow buckets: nothing changed */
	else
		want = 0;
	if (ret != want) {
		st_fail(w->st, "thread %d: %s of key %u (flags %u, %s) returned %ld, not %ld",
			w->th, what, idx, flags, present ? "present" : "absent", ret, want);
		return;
	}
	if (ret == -ENOSPC) {
		w->c.enospc++;
	} else if (!ret) {
		w->c.updates++;
		w->npresent += !present;
		w->present[idx] = 1;
		w->val[idx] = *nv;
	}
}

static void model_delete(struct worker *w, __u32 idx, long ret, const char *what)
{
	bool present = w->present[idx];

	if (ret == -EBUSY) {
		w->c.ebusy++;
		return;
	}
	if (ret != (present ? 0 : -ENOENT)) {
		st_fail(w->st, "thread %d: %s of key %u (%s) returned %ld", w->th, what, idx,
			present ? "present" : "absent", ret);
		return;
	}
	if (present) {
		w->c.deletes++;
		w->present[idx] = 0;
		w->npresent--;
	}
}

static void model_value(struct worker *w, __u32 idx, const struct hs_val *got, const char *what)
{
	if (!val_eq(w->st, got, &w->val[idx]))
		st_fail(w->st, "thread %d: %s of key %u: value " VFMT ", model " VFMT, w->th, what,
			idx, VARG(got), VARG(&w->val[idx]));
}

static void expect_ret(struct worker *w, const struct hs_op *op, long ret, long want,
		       const char *why)
{
	if (ret != want)
		st_fail(w->st, "thread %d: %s of key %u (%s: ksz %u vsz %u sel %u flags %u handle %u) "
			"returned %ld, not %ld", w->th, op_names[op->type], op->idx, why, op->ksz,
			op->vsz, op->vsz_sel, op->flags, op->handle, ret, want);
}

/* Check one result of the batch program against the model, in order. */
static void check_op(struct worker *w, const struct hs_op *op, const struct hs_res *r)
{
	__u32 idx = op->idx;
	bool good = op->handle == HS_H_GOOD, kok = op->ksz == HS_KEY_SIZE;
	bool present = w->present[idx];
	struct hs_val nv;
	__u64 check = hs_check(w->th + 1, idx);

	switch (op->type) {
	case HS_LOOKUP:
	case HS_LOI_ADD:
		if (!good) {
			expect_ret(w, op, r->ret, 0, "bad handle: NULL");
			break;
		}
		if (!kok || op->vsz_sel) {
			expect_ret(w, op, r->ret, 0, "wrong size: NULL");
			w->c.einval++;
			break;
		}
		w->c.lookups++;
		if (op->type == HS_LOOKUP) {
			expect_ret(w, op, r->ret, present, "lookup");
			if (present && r->ret == 1) {
				w->c.hits++;
				model_value(w, idx, &r->val, "lookup");
			}
			break;
		}
		if (present) {
			w->c.hits++;
			expect_ret(w, op, r->ret, 1, "lookup_or_init of a present key");
		} else if (r->ret == 0) {
			w->c.loi_null++;	/* full (or -EBUSY): nothing changed */
			break;
		} else {
			expect_ret(w, op, r->ret, 1, "lookup_or_init of an absent key");
			w->c.updates++;
			w->present[idx] = 1;
			w->npresent++;
			memset(&w->val[idx], 0, sizeof(w->val[idx]));
		}
		w->val[idx].w[0] = check;
		w->val[idx].w[2] += op->arg;
		model_value(w, idx, &r->val, "lookup_or_init");
		break;
	case HS_UPDATE:
		if (!good) {
			expect_ret(w, op, r->ret, -EBADF, "bad handle");
		} else if (!kok || op->vsz != HS_VALUE_SIZE || op->flags > BPF_EXIST) {
			expect_ret(w, op, r->ret, -EINVAL, "wrong size or flags");
			w->c.einval++;
		} else {
			nv = (struct hs_val){ { check, op->arg, op->arg ^ check, 0 } };
			model_update(w, idx, op->flags, &nv, r->ret, "bpf update");
		}
		break;
	case HS_DELETE:
		if (!good) {
			expect_ret(w, op, r->ret, -EBADF, "bad handle");
		} else if (!kok) {
			expect_ret(w, op, r->ret, -EINVAL, "wrong key size");
			w->c.einval++;
		} else {
			model_delete(w, idx, r->ret, "bpf delete");
		}
		break;
	case HS_STALE:
		if (!good || !kok) {
			expect_ret(w, op, r->ret, HS_RET_NULL, "bad handle or size: NULL");
			w->c.einval += good;
			break;
		}
		w->c.lookups++;
		if (!present && r->ret == HS_RET_NULL) {
			w->c.loi_null++;
			break;
		}
		w->c.hits += present;
		w->c.updates += !present;
		/* the delete must succeed: the stale write goes to a deleted key */
		expect_ret(w, op, r->ret, 0, "delete after lookup_or_init");
		w->c.deletes++;
		w->npresent -= present;
		w->present[idx] = 0;
		w->stale++;
		/* the key inserted meanwhile kept its own value */
		idx = op->idx2;
		w->c.lookups++;
		if (w->present[idx]) {
			w->c.hits++;
			expect_ret(w, op, r->ret2, 1, "lookup_or_init of a present second key");
		} else if (!r->ret2) {
			w->c.loi_null++;
			break;
		} else {
			w->c.updates++;
			w->present[idx] = 1;
			w->npresent++;
			memset(&w->val[idx], 0, sizeof(w->val[idx]));
		}
		model_value(w, idx, &r->val, "lookup_or_init after a stale write");
		break;
	case HS_STATS:
		expect_ret(w, op, r->ret, good ? 0 : -EBADF, "stats");
		break;
	case HS_CHURN:
		/* Another table, maybe of another shape, maybe gone: any
		 * documented result. */
		w->churn_ops++;
		switch (op->flags) {
		case 1: case 2:
			if (r->ret && r->ret != -EBADF && r->ret != -EINVAL && r->ret != -ENOSPC &&
			    r->ret != -ENOENT)
				expect_ret(w, op, r->ret, 0, "churn table write");
			w->churn_live += !r->ret;
			break;
		default:
			if (r->ret != 0 && r->ret != 1)
				expect_ret(w, op, r->ret, 0, "churn table lookup");
			w->churn_live += r->ret == 1;
		}
		break;
	}
}

/* A random operation, right or (one in eight) wrong. */
static void gen_op(struct worker *w, struct hs_op *op)
{
	const struct params *p = w->st->p;
	__u64 r = rnd(&w->rng);

	memset(op, 0, sizeof(*op));
	op->idx = rnd(&w->rng) % w->st->nkeys;
	op->arg = rnd(&w->rng);
	op->ksz = HS_KEY_SIZE;
	op->vsz = HS_VALUE_SIZE;
	op->handle = HS_H_GOOD;
	if ((int)(r % 100) < p->churn_pct) {
		op->type = HS_CHURN;
		op->handle = HS_H_CHURN;
		op->flags = (r >> 8) % 4;
		return;
	}
	r = (r >> 8) % 100;
	op->type = r < 25 ? HS_LOOKUP : r < 45 ? HS_LOI_ADD : r < 70 ? HS_UPDATE :
		   r < 86 ? HS_DELETE : r < 96 ? HS_STALE : HS_STATS;
	if (op->type == HS_UPDATE)
		op->flags = rnd(&w->rng) % 3;
	op->idx2 = (op->idx + 1 + rnd(&w->rng) % (w->st->nkeys - 1)) % w->st->nkeys;
	if (rnd(&w->rng) % 8)
		return;
	switch (rnd(&w->rng) % 5) {
	case 0:
		op->ksz = 1 + rnd(&w->rng) % HS_KEYBUF;
		if (op->ksz == HS_KEY_SIZE)
			op->ksz = HS_KEY_SIZE + 1;
		break;
	case 1:
		op->vsz = 1 + rnd(&w->rng) % HS_VALBUF;
		if (op->vsz == HS_VALUE_SIZE)
			op->vsz = HS_VALUE_SIZE - 1;
		op->vsz_sel = 1 + rnd(&w->rng) % (HS_VSZ_SELECTORS - 1);
		break;
	case 2:
		op->flags = op->type == HS_UPDATE ? 3 : 0;
		break;
	case 3:
		op->handle = HS_H_DEAD;
		break;
	default:
		/* update flags belong in an update's handle; elsewhere they are
		 * a bad handle */
		if (op->type != HS_UPDATE)
			op->handle = HS_H_FLAGGED;
	}
}

static int elem_ioctl(const struct hmap_table *t, unsigned long cmd, const void *k, __u32 ksz,
		      void *v, __u32 vsz, __u64 flags)
{
	struct hmap_ioc_elem e = {
		.key = (__u64)(unsigned long)k, .value = (__u64)(unsigned long)v,
		.key_size = ksz, .value_size = vsz, .flags = flags,
	};

	return ioctl(hmap_table__fd(t), cmd, &e) ? -errno : 0;
}

/* Between batches: writes and lookups through the table fd, zero-copy
 * lookups, and malformed ioctls (refused, counting nothing). */
static void user_ops(struct worker *w)
{
	static __thread __u8 big[HMAP_KEY_SIZE_MAX + HMAP_VALUE_SIZE_MAX];
	int n = rnd(&w->rng) % 6;

	for (int j = 0; j < n; j++) {
		__u32 idx = rnd(&w->rng) % w->st->nkeys, flags;
		__u64 check = hs_check(w->th + 1, idx), arg = rnd(&w->rng);
		struct hs_val v, nv = { { check, arg, arg ^ check, 0 } };
		bool present = w->present[idx];
		struct hs_key k;
		long ret;

		mk_key(&k, w->th + 1, idx);
		w->user_ops++;
		switch (rnd(&w->rng) % 5) {
		case 0:
			flags = rnd(&w->rng) % 4;
			ret = hmap_table__update(w->t, &k, &nv, flags);
			if (flags > BPF_EXIST) {
				if (ret != -EINVAL)
					st_fail(w->st, "thread %d: ioctl update with flags %u: %ld",
						w->th, flags, ret);
			} else {
				model_update(w, idx, flags, &nv, ret, "ioctl update");
			}
			break;
		case 1:
			model_delete(w, idx, hmap_table__delete(w->t, &k), "ioctl delete");
			break;
		case 2:
			ret = elem_ioctl(w->t, HMAP_IOC_LOOKUP, &k, sizeof(k), &v, sizeof(v), 0);
			w->c.lookups++;
			if (ret != (present ? 0 : -ENOENT))
				st_fail(w->st, "thread %d: ioctl lookup of key %u (%s): %ld", w->th, idx,
					present ? "present" : "absent", ret);
			else if (present)
				model_value(w, idx, &v, "ioctl lookup");
			w->c.hits += present && !ret;
			break;
		case 3:
			ret = hmap_table__lookup(w->t, &k, &v);
			if (ret != (present ? 0 : -ENOENT))
				st_fail(w->st, "thread %d: zero-copy lookup of key %u (%s): %ld", w->th,
					idx, present ? "present" : "absent", ret);
			else if (present)
				model_value(w, idx, &v, "zero-copy lookup");
			break;
		default: {
			static const unsigned long cmds[] = {
				HMAP_IOC_LOOKUP, HMAP_IOC_UPDATE, HMAP_IOC_DELETE,
			};
			unsigned long cmd = cmds[rnd(&w->rng) % 3];
			__u32 ksz = sizeof(k), vsz = sizeof(v);
			__u64 fl = 0;

			switch (rnd(&w->rng) % 3) {
			case 0:
				ksz = rnd(&w->rng) % (HMAP_KEY_SIZE_MAX + 1);
				ksz += ksz == sizeof(k);
				break;
			case 1:
				if (cmd != HMAP_IOC_DELETE) {
					vsz = rnd(&w->rng) % (HMAP_VALUE_SIZE_MAX + 1);
					vsz += vsz == sizeof(v);
					break;
				}
				/* fall through */
			default:
				fl = cmd == HMAP_IOC_UPDATE ? 3 + rnd(&w->rng) % 100 : 1 + rnd(&w->rng) % 3;
			}
			memcpy(big, &k, sizeof(k));
			ret = elem_ioctl(w->t, cmd, big, ksz, big + HMAP_KEY_SIZE_MAX, vsz, fl);
			if (ret != -EINVAL)
				st_fail(w->st, "thread %d: ioctl %#lx with key size %u, value size %u, "
					"flags %llu: %ld, not -EINVAL", w->th, cmd, ksz, vsz,
					(unsigned long long)fl, ret);
		}
		}
	}
}

static void xdp_run(struct worker *w)
{
	struct {
		struct hs_frame f;
		__u8 pad[64 - sizeof(struct hs_frame)];
	} pkt = { .f = { .thread = w->th, .seed = rnd(&w->rng) } };
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = &pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1 + rnd(&w->rng) % 128);

	if (bpf_prog_test_run_opts(bpf_program__fd(w->st->skel->progs.xdp_add), &o) ||
	    o.retval != XDP_PASS)
		st_fail(w->st, "thread %d: XDP test run: %d, retval %u", w->th, -errno, o.retval);
	w->xdp_runs++;
}

static void pin_to_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Run one batch of @n ops already in hs_ops[th]; 0 or -errno. */
static int run_batch(struct stress *st, int th, __u32 n)
{
	struct hs_ctx ctx = {
		.handle = st->handle, .dead_handle = st->dead_handle, .thread = th, .nops = n,
		.full_stale = st->p->variant == HMAP_VARIANT_INCREMENTAL,
	};
	LIBBPF_OPTS(bpf_test_run_opts, o, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));

	return bpf_prog_test_run_opts(bpf_program__fd(st->skel->progs.batch), &o) ? -errno : 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct stress *st = w->st;
	struct hs_op *ops = st->skel->bss->hs_ops[w->th];
	struct hs_res *res = st->skel->bss->hs_res[w->th];

	pin_to_cpu(w->th % st->ncpu);
	/* bytes past the key, seen by the kernel only with a wrong key size */
	for (int i = 0; i < HS_KEYBUF; i++)
		st->skel->bss->hs_keybuf[w->th][i] = rnd(&w->rng);
	while (!st->stop && now() < st->deadline) {
		int ret;

		for (int i = 0; i < HS_BATCH; i++)
			gen_op(w, &ops[i]);
		ret = run_batch(st, w->th, HS_BATCH);
		if (ret) {
			st_fail(st, "thread %d: BPF_PROG_TEST_RUN: %d", w->th, ret);
			break;
		}
		for (int i = 0; i < HS_BATCH && !st->nfail; i++)
			check_op(w, &ops[i], &res[i]);
		w->batches++;
		w->ops += HS_BATCH;
		user_ops(w);
		if (rnd(&w->rng) % 4 == 0)
			xdp_run(w);
	}
	return NULL;
}

/* ---- the zero-copy reader ------------------------------------------------ */

/* One of ours: 0 and its check word, or -1. */
static int key_check(const struct stress *st, const struct hs_key *k, __u64 *check)
{
	bool xdp = k->owner == HS_XDP_OWNER;

	if (xdp ? k->idx >= HS_XDP_KEYS : (k->owner < 1 || k->owner > st->nthreads ||
					   k->idx >= st->nkeys))
		return -1;
	if (k->salt != hs_salt(k->owner, k->idx))
		return -1;
	*check = hs_check(k->owner, k->idx);
	return 0;
}

static int reader_cb(const void *key, const void *value, void *ctx)
{
	struct stress *st = ctx;
	const struct hs_val *v = value;
	struct hs_key k;
	__u64 check;

	memcpy(&k, key, sizeof(k));
	st->r_entries++;
	/* w[0] is 0 (just inserted by lookup-or-init) or the key's own */
	if (key_check(st, &k, &check) || (v->w[0] && v->w[0] != check)) {
		if (!st->r_bad++)
			st_fail(st, "reader: key {%u %u %llx} with value " VFMT, k.owner, k.idx,
				(unsigned long long)k.salt, VARG(v));
	}
	return 0;
}

static void *reader_main(void *arg)
{
	struct stress *st = arg;
	__u64 bound = (__u64)st->nthreads * st->nkeys + HS_XDP_KEYS;

	while (!st->stop) {
		__u64 before = st->r_entries, n = 0, retries = 0;
		int ret = hmap_table__iterate(st->rt, HMAP_ITER_CONSISTENT, reader_cb, st, &retries);

		if (ret || st->r_entries - before > bound)
			st_fail(st, "reader: iteration returned %d after %llu entries", ret,
				(unsigned long long)(st->r_entries - before));
		for (int i = 0; i < 256; i++) {
			bool xdp = rnd(&st->rng_r) % 8 == 0;
			__u32 owner = xdp ? HS_XDP_OWNER : 1 + rnd(&st->rng_r) % st->nthreads;
			struct hs_key k;
			struct hs_val v;

			mk_key(&k, owner, rnd(&st->rng_r) % (xdp ? HS_XDP_KEYS : st->nkeys));
			ret = hmap_table__lookup(st->rt, &k, &v);
			st->r_lookups++;
			if (ret == -ENOENT)
				continue;
			st->r_found++;
			if (ret || (v.w[0] && v.w[0] != hs_check(owner, k.idx)))
				st_fail(st, "reader: lookup of {%u %u}: %d, value " VFMT, owner, k.idx,
					ret, VARG(&v));
		}
		ret = hmap_table__count(st->rt, &n);
		if (ret || n > bound || hmap_table__header(st->rt)->entries > bound)
			st_fail(st, "reader: count %d, %llu entries, header %llu", ret,
				(unsigned long long)n, (unsigned long long)hmap_table__header(st->rt)->entries);
		st->r_passes++;
	}
	return NULL;
}

/* ---- the churn thread ---------------------------------------------------- */

/* rmmod while tables exist: refused, and nothing changes.  If it ever
 * succeeds, that is reported and the module loaded again. */
static void try_rmmod(struct stress *st, const char *m)
{
	char sys[64];

	st->c_rmmod_tries++;
	if (syscall(SYS_delete_module, m, O_NONBLOCK) == 0) {
		st_fail(st, "rmmod %s succeeded while tables exist", m);
		if (access("/sys/module/hmap", F_OK))
			hmap_insmod("hmap");
		if (access("/sys/module/hmap_rehash", F_OK))
			hmap_insmod("hmap_rehash");
		return;
	}
	if (errno != EBUSY && errno != EWOULDBLOCK)
		st_fail(st, "rmmod %s: errno %d, not EBUSY or EWOULDBLOCK", m, errno);
	snprintf(sys, sizeof(sys), "/sys/module/%s", m);
	if (access(sys, F_OK) || access(HMAP_DEV_PATH, F_OK))
		st_fail(st, "after a refused rmmod %s: %s or " HMAP_DEV_PATH " gone", m, sys);
}

/* Bad shapes are refused with their errno and leave nothing behind. */
static void churn_bad_create(struct stress *st)
{
	static const struct { struct hmap_table_create_opts o; int err; } bad[] = {
		{ { .key_size = 0, .value_size = 8, .capacity = 8 }, -EINVAL },
		{ { .key_size = 8, .value_size = 0, .capacity = 8 }, -EINVAL },
		{ { .key_size = 8, .value_size = 8, .capacity = 0 }, -EINVAL },
		{ { .key_size = HMAP_KEY_SIZE_MAX + 1, .value_size = 8, .capacity = 8 }, -E2BIG },
		{ { .key_size = 8, .value_size = HMAP_VALUE_SIZE_MAX + 1, .capacity = 8 }, -E2BIG },
		{ { .key_size = 8, .value_size = 8, .capacity = 8, .flags = 1 }, -EINVAL },
		{ { .key_size = 8, .value_size = 8, .capacity = 8, .variant = 7 }, -EINVAL },
		{ { .key_size = 8, .value_size = 8, .capacity = 8, .max_capacity = 4,
		    .variant = HMAP_VARIANT_INCREMENTAL }, -EINVAL },
	};
	char path[128];
	int i = rnd(&st->rng_c) % (sizeof(bad) / sizeof(bad[0])), ret;

	snprintf(path, sizeof(path), ROOT "/bad-%llu", (unsigned long long)st->c_seq++);
	ret = test_create_pinned(path, &bad[i].o, NULL);
	if (ret != bad[i].err || !access(path, F_OK))
		st_fail(st, "churn: bad shape %d: create returned %d (want %d), pin %s", i, ret,
			bad[i].err, access(path, F_OK) ? "absent" : "left behind");
	st->c_refused_shapes++;
}

static const void *map_ro(int fd, __u64 off, size_t len)
{
	void *p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, off);

	return p == MAP_FAILED ? NULL : p;
}

static void churn_create(struct stress *st, struct ctable *c)
{
	bool incr = rnd(&st->rng_c) % 2;
	struct hmap_table_create_opts co = {
		.key_size = rnd(&st->rng_c) % 4 ? HS_KEY_SIZE : 1 + rnd(&st->rng_c) % 64,
		.value_size = rnd(&st->rng_c) % 4 ? HS_VALUE_SIZE : 1 + rnd(&st->rng_c) % 256,
		.capacity = 1 + rnd(&st->rng_c) % 2000,
		.variant = incr ? HMAP_VARIANT_INCREMENTAL : HMAP_VARIANT_FIXED,
	};
	struct hmap_ioc_fd req = { .flags = rnd(&st->rng_c) % 2 ? HMAP_FD_RDONLY : 0 };
	__u8 kb[HMAP_KEY_SIZE_MAX], vb[HMAP_VALUE_SIZE_MAX];
	struct hmap_info info;
	struct hmap_shm_array a;
	__u64 n = 0, written = 0;
	int ret;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->ksz = co.key_size;
	c->vsz = co.value_size;
	snprintf(c->path, sizeof(c->path), ROOT "/churn-%llu", (unsigned long long)st->c_seq++);
	ret = test_create_pinned(c->path, &co, &c->id);
	if (ret) {
		st_fail(st, "churn: create %s (%u/%u, capacity %llu, variant %u): %d", c->path,
			co.key_size, co.value_size, (unsigned long long)co.capacity, co.variant, ret);
		return;
	}
	c->state = 1;
	st->c_created++;
	ret = hmap_table__open_pinned(c->path, NULL, &c->t);
	if (!ret)
		ret = hmap_table__info(c->t, &info);
	if (ret || info.id != c->id || info.key_size != c->ksz || info.value_size != c->vsz) {
		st_fail(st, "churn: open %s: %d", c->path, ret);
		return;
	}
	c->handle = info.handle;
	__atomic_store_n(&st->skel->bss->hs_churn_handle, c->handle, __ATOMIC_RELEASE);
	/* through the kernel, then zero-copy: what went in is there */
	for (int i = 0; i < 16; i++) {
		for (__u32 b = 0; b < c->ksz; b++)
			kb[b] = rnd(&st->rng_c);
		memset(vb, i, c->vsz);
		ret = hmap_table__update(c->t, kb, vb, BPF_NOEXIST);
		if (ret && ret != -ENOSPC && ret != -EEXIST)
			st_fail(st, "churn: ioctl insert into table %u: %d", c->id, ret);
		written += !ret;
	}
	ret = hmap_table__count(c->t, &n);
	if (ret || n < written)
		st_fail(st, "churn: table %u: count %d, %llu entries after %llu inserts", c->id, ret,
			(unsigned long long)n, (unsigned long long)written);
	/* a second fd, mapped by hand: header, current array, first value chunk */
	req.id = c->id;
	c->fd = ioctl(st->dev, HMAP_IOC_TABLE_FD, &req);
	if (c->fd < 0) {
		st_fail(st, "churn: HMAP_IOC_TABLE_FD %u: %d", c->id, -errno);
		return;
	}
	c->hdr = map_ro(c->fd, 0, 4096);
	if (!c->hdr) {
		st_fail(st, "churn: mmap header of %u: %d", c->id, -errno);
		return;
	}
	memcpy(&a, (const void *)&c->hdr->arrays[0], sizeof(a));
	c->arr = map_ro(c->fd, a.mmap_offset, a.mmap_size);
	c->arr_len = a.mmap_size;
	/* an incremental table's array may have been replaced since it was read */
	if (!c->arr && !(incr && errno == EINVAL))
		st_fail(st, "churn: mmap array of %u: %d", c->id, -errno);
	if (incr && c->hdr->pool_nchunks) {
		c->chunk_len = c->hdr->pool_chunk_bytes;
		c->chunk = map_ro(c->fd, c->hdr->pool_mmap_offset, c->chunk_len);
		if (!c->chunk)
			st_fail(st, "churn: mmap value chunk of %u: %d", c->id, -errno);
	}
}

static __u64 touch(const void *p, size_t len)
{
	__u64 sum = 0;

	for (size_t i = 0; p && i < len; i += 4096)
		sum += ((const volatile __u8 *)p)[i];
	return sum;
}

/* Close the fds and unpin, in a random order: only the mapping is left,
 * and it must keep the table, readable. */
static void churn_close(struct stress *st, struct ctable *c)
{
	struct hmap_table *t2;
	int ret;

	for (int order = rnd(&st->rng_c) % 6, n = 0; n < 3; n++) {
		switch ((order + (order & 1 ? 2 * n : n)) % 3) {
		case 0: close(c->fd); c->fd = -1; break;
		case 1: hmap_table__close(c->t); c->t = NULL; break;
		default: unlink(c->path);
		}
	}
	c->state = 2;
	if (!c->hdr)
		return;
	touch(c->arr, c->arr_len);
	touch(c->chunk, c->chunk_len);
	if (c->hdr->magic != HMAP_SHM_MAGIC || c->hdr->id != c->id || c->hdr->key_size != c->ksz ||
	    c->hdr->value_size != c->vsz)
		st_fail(st, "churn: table %u's mapping after close: magic %#x id %u", c->id,
			c->hdr->magic, c->hdr->id);
	ret = hmap_table__open_id(c->id, NULL, &t2);
	if (ret)
		st_fail(st, "churn: table %u gone while still mapped: %d", c->id, ret);
	else
		hmap_table__close(t2);
	st->c_mapped_reads++;
}

static void churn_unmap(struct stress *st, struct ctable *c)
{
	if (c->hdr) {
		touch(c->hdr, 4096);
		munmap((void *)c->hdr, 4096);
	}
	if (c->arr)
		munmap((void *)c->arr, c->arr_len);
	if (c->chunk)
		munmap((void *)c->chunk, c->chunk_len);
	if (st->ngone == st->gone_cap) {
		st->gone_cap = st->gone_cap ? 2 * st->gone_cap : 256;
		st->gone = realloc(st->gone, st->gone_cap * sizeof(*st->gone));
	}
	st->gone[st->ngone++] = c->id;
	c->state = 0;
	st->c_retired++;
}

static void churn_advance(struct stress *st, struct ctable *c)
{
	if (c->state == 1)
		churn_close(st, c);
	else if (c->state == 2)
		churn_unmap(st, c);
}

static void *churn_main(void *arg)
{
	struct stress *st = arg;
	int max = st->p->heavy_churn ? MAX_CHURN : 2;

	while (!st->stop) {
		struct ctable *c = &st->ct[rnd(&st->rng_c) % max];

		if (rnd(&st->rng_c) % 8 == 0)
			churn_bad_create(st);
		else if (c->state == 0)
			churn_create(st, c);
		else
			churn_advance(st, c);
		/* BPF gets a live table's handle, or a dead one's */
		c = &st->ct[rnd(&st->rng_c) % max];
		__atomic_store_n(&st->skel->bss->hs_churn_handle, c->handle, __ATOMIC_RELEASE);
		try_rmmod(st, "hmap_rehash");
		try_rmmod(st, "hmap");
		if (!st->p->heavy_churn)
			usleep(20000);
	}
	for (int i = 0; i < MAX_CHURN; i++)
		while (st->ct[i].state)
			churn_advance(st, &st->ct[i]);
	return NULL;
}

/* ---- the run ------------------------------------------------------------- */

/* Unpin what a test that stopped early left (its process took the rest). */
static void clean_root(void)
{
	DIR *d = opendir(ROOT);
	struct dirent *e;
	char path[512];

	while (d && (e = readdir(d))) {
		snprintf(path, sizeof(path), ROOT "/%s", e->d_name);
		if (e->d_name[0] != '.')
			unlink(path);
	}
	if (d)
		closedir(d);
}

static int make_table(const char *name, int variant, __u64 capacity, char *path,
		      struct hmap_table **tp, struct hmap_info *info)
{
	struct hmap_table_create_opts co = { .key_size = HS_KEY_SIZE, .value_size = HS_VALUE_SIZE,
				       .capacity = capacity, .variant = variant };
	int ret;

	snprintf(path, 128, ROOT "/%s", name);
	unlink(path);
	ret = test_create_pinned(path, &co, NULL);
	if (!ret)
		ret = hmap_table__open_pinned(path, NULL, tp);
	if (!ret)
		ret = hmap_table__info(*tp, info);
	return ret;
}

struct final {
	struct stress *st;
	__u8 *seen;
	__u64 n, dup, foreign, wrong, stray, xdp_keys, xdp_sum, xdp_bad;
};

static int final_cb(const void *key, const void *value, void *ctx)
{
	struct final *f = ctx;
	struct stress *st = f->st;
	const struct hs_val *v = value;
	struct hs_key k;
	__u64 check, bit;

	memcpy(&k, key, sizeof(k));
	f->n++;
	if (key_check(st, &k, &check)) {
		if (!f->foreign++)
			st_fail(st, "final: foreign key {%u %u %llx}", k.owner, k.idx,
				(unsigned long long)k.salt);
		return 0;
	}
	bit = k.owner == HS_XDP_OWNER ? (__u64)st->nthreads * st->nkeys + k.idx :
	      (__u64)(k.owner - 1) * st->nkeys + k.idx;
	if (f->seen[bit / 8] & (1 << bit % 8)) {
		if (!f->dup++)
			st_fail(st, "final: key {%u %u} seen twice", k.owner, k.idx);
		return 0;
	}
	f->seen[bit / 8] |= 1 << bit % 8;
	if (k.owner == HS_XDP_OWNER) {
		struct hs_val want = { { check, 0, v->w[2], 0 } };

		f->xdp_keys++;
		f->xdp_sum += v->w[2];
		if (!val_eq(st, v, &want) && !f->xdp_bad++)
			st_fail(st, "final: XDP counter %u: " VFMT, k.idx, VARG(v));
		return 0;
	}
	if (!st->w[k.owner - 1].present[k.idx]) {
		if (!f->stray++)
			st_fail(st, "final: key {%u %u} present, the model deleted it: " VFMT,
				k.owner, k.idx, VARG(v));
	} else if (!val_eq(st, v, &st->w[k.owner - 1].val[k.idx]) && !f->wrong++) {
		st_fail(st, "final: key {%u %u}: " VFMT ", model " VFMT, k.owner, k.idx, VARG(v),
			VARG(&st->w[k.owner - 1].val[k.idx]));
	}
	return 0;
}

#define STAT_EQ(field)	EXPECT_EQ(info.stats.field, bst.field)

/* Quiescent: the table against the model, key by key and counter by counter. */
static void final_check(struct __test_metadata *_metadata, struct stress *st)
{
	struct hmap_stats bst;
	struct hmap_info info;
	struct hmap_desc d;
	struct counts c = {};
	struct final f = { .st = st };
	__u64 adds = 0, nulls = 0, present = 0, walked = 0, misses = 0;
	struct hs_op *op = &st->skel->bss->hs_ops[0][0];
	int fd;

	for (__u32 t = 0; t < st->nthreads; t++) {
		struct worker *w = &st->w[t];

		c.lookups += w->c.lookups;
		c.hits += w->c.hits;
		c.updates += w->c.updates;
		c.deletes += w->c.deletes;
		c.einval += w->c.einval;
		c.enospc += w->c.enospc;
		c.ebusy += w->c.ebusy;
		c.loi_null += w->c.loi_null;
		present += w->npresent;
		adds += st->skel->bss->xdp_adds[t];
		nulls += st->skel->bss->xdp_nulls[t];
	}

	/* Every key exactly once, each with the model's value. */
	f.seen = calloc(((__u64)st->nthreads * st->nkeys + HS_XDP_KEYS) / 8 + 1, 1);
	ASSERT_NE(NULL, f.seen);
	ASSERT_EQ(0, hmap_table__iterate(st->rt, HMAP_ITER_CONSISTENT, final_cb, &f, NULL));
	EXPECT_EQ(0, f.foreign);
	EXPECT_EQ(0, f.dup);
	EXPECT_EQ(0, f.stray);
	EXPECT_EQ(0, f.wrong);
	EXPECT_EQ(0, f.xdp_bad);
	EXPECT_EQ(present + f.xdp_keys, f.n);
	EXPECT_EQ(adds, f.xdp_sum);	/* no atomic add lost, none counted twice */
	free(f.seen);

	/* The counters: the kernel's two readings agree, and count what the
	 * threads saw happen. */
	memset(op, 0, sizeof(*op));
	op->type = HS_STATS;
	op->ksz = HS_KEY_SIZE;
	op->vsz = HS_VALUE_SIZE;
	ASSERT_EQ(0, run_batch(st, 0, 1));
	ASSERT_EQ(0, st->skel->bss->hs_res[0][0].ret);
	bst = st->skel->bss->hs_stats[0];
	ASSERT_EQ(0, hmap_table__info(st->rt, &info));
	STAT_EQ(entries);
	STAT_EQ(lookups);
	STAT_EQ(hits);
	STAT_EQ(updates);
	STAT_EQ(deletes);
	STAT_EQ(enospc);
	STAT_EQ(ebusy);
	STAT_EQ(einval);
	TH_LOG("table: %llu entries, %llu lookups (%llu hits), %llu updates, %llu deletes, "
	       "%llu -ENOSPC, %llu -EBUSY, %llu -EINVAL; %u buckets, %llu growths",
	       (unsigned long long)info.stats.entries, (unsigned long long)info.stats.lookups,
	       (unsigned long long)info.stats.hits, (unsigned long long)info.stats.updates,
	       (unsigned long long)info.stats.deletes, (unsigned long long)info.stats.enospc,
	       (unsigned long long)info.stats.ebusy, (unsigned long long)info.stats.einval,
	       info.stats.nbuckets, (unsigned long long)info.stats.grows);
	EXPECT_EQ(present + f.xdp_keys, info.stats.entries);
	EXPECT_EQ(c.lookups + adds + nulls, info.stats.lookups);
	/* Each successful XDP lookup-or-init is a hit or an insert, except
	 * when CPUs race one on the same absent counter: both miss, one
	 * inserts, the other finds it under the lock (an update of nothing). */
	EXPECT_EQ(c.hits + c.updates + adds, info.stats.hits + info.stats.updates);
	EXPECT_GE(c.hits + adds - f.xdp_keys, info.stats.hits);
	EXPECT_LE(c.updates + f.xdp_keys, info.stats.updates);
	EXPECT_EQ(c.deletes, info.stats.deletes);
	EXPECT_EQ(c.einval, info.stats.einval);
	EXPECT_EQ(c.enospc + c.ebusy + c.loi_null + nulls, info.stats.enospc + info.stats.ebusy);
	/* nothing here re-enters a lock (no tracing or NMI programs) */
	EXPECT_EQ(0, info.stats.ebusy);
	EXPECT_EQ(0, c.ebusy);
	EXPECT_GT(c.einval, 0);
	if (st->p->variant == HMAP_VARIANT_FIXED) {
		EXPECT_LE(info.stats.entries, st->capacity);
	} else {
		/* it grew, and never refused an insert */
		if (st->p->must_grow) {
			EXPECT_GE(info.stats.grows, 1);
			EXPECT_GT(info.stats.nbuckets, 512);
		}
		EXPECT_EQ(0, info.stats.enospc);
		EXPECT_EQ(0, c.loi_null + nulls);
	}

	/* The header and a plain walk count the same; so does the descriptor. */
	EXPECT_EQ(info.stats.entries, hmap_table__header(st->rt)->entries);
	EXPECT_EQ(0, hmap_table__count(st->rt, &walked));
	EXPECT_EQ(info.stats.entries, walked);
	ASSERT_EQ(0, hmap_desc__refresh(st->path));
	fd = bpf_obj_get(st->path);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, bpf_map_lookup_elem(fd, &(__u32){ 0 }, &d));
	close(fd);
	EXPECT_EQ(info.stats.entries, d.stats.entries);

	/* Every key of the space, zero-copy and (one in four) through the
	 * kernel: present with the model's value, or absent. */
	for (__u32 t = 0; t < st->nthreads; t++) {
		struct worker *w = &st->w[t];

		for (__u32 i = 0; i < st->nkeys; i++) {
			struct hs_key k;
			struct hs_val v;
			int want = w->present[i] ? 0 : -ENOENT, ret;

			mk_key(&k, t + 1, i);
			ret = hmap_table__lookup(st->rt, &k, &v);
			if (ret != want || (!ret && !val_eq(st, &v, &w->val[i])))
				misses++;
			if (i % 4)
				continue;
			ret = elem_ioctl(st->rt, HMAP_IOC_LOOKUP, &k, sizeof(k), &v, sizeof(v), 0);
			if (ret != want || (!ret && !val_eq(st, &v, &w->val[i])))
				misses++;
		}
	}
	EXPECT_EQ(0, misses);
}

static void run_stress(struct __test_metadata *_metadata, const struct params *p)
{
	struct stress *st = calloc(1, sizeof(*st));
	char dead_path[128];
	struct hmap_table *t;
	struct hmap_info info;
	__u64 bpf_ops = 0, user = 0, xdp = 0, stale = 0, churn = 0, live = 0;
	/* every test and thread draws its own stream from the seed */
	__u64 salt = base_seed ^ (__u64)p->variant << 40 ^ (__u64)p->heavy_churn << 48;

	printf("# seed %llu\n", (unsigned long long)base_seed);
	fflush(stdout);
	ASSERT_NE(NULL, st);
	st->p = p;
	pthread_mutex_init(&st->lock, NULL);
	st->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	st->nthreads = st->ncpu < 2 ? 2 : st->ncpu > HS_MAX_THREADS ? HS_MAX_THREADS : st->ncpu;
	st->nkeys = p->nkeys;
	st->capacity = p->capacity ?: (__u64)st->nthreads * st->nkeys * 3 / 8;
	st->rng_r = salt ^ 0x5eade5ULL;
	st->rng_c = salt ^ 0xc4a1ULL;
	TH_LOG("%u threads on %d CPUs, %u keys each, %u s (HMAP_STRESS_SEED=%llu replays)",
	       st->nthreads, st->ncpu, st->nkeys, p->seconds, (unsigned long long)base_seed);

	clean_root();
	ASSERT_EQ(0, wait_live_tables(0));
	mkdir(ROOT, 0700);
	st->skel = hmap_stress__open_and_load();
	ASSERT_NE(NULL, st->skel);
	st->dev = open(HMAP_DEV_PATH, O_RDWR);
	ASSERT_LE(0, st->dev);

	/* A handle whose table is gone: it must reach nothing. */
	ASSERT_EQ(0, make_table("dead", HMAP_VARIANT_FIXED, 8, dead_path, &t, &info));
	st->dead_handle = info.handle;
	hmap_table__close(t);
	unlink(dead_path);
	ASSERT_EQ(0, wait_live_tables(0));

	ASSERT_EQ(0, make_table("table", p->variant, p->variant == HMAP_VARIANT_FIXED ?
				st->capacity : 8, st->path, &st->rt, &info));
	st->handle = info.handle;
	st->id = info.id;
	st->skel->bss->xdp_handle = st->handle;
	/* rmmod hmap_rehash must be refused throughout: an incremental table lives */
	ASSERT_EQ(0, make_table("anchor", HMAP_VARIANT_INCREMENTAL, 8, st->anchor_path,
				&st->anchor, &info));

	st->deadline = now() + p->seconds;
	for (__u32 i = 0; i < st->nthreads; i++) {
		struct worker *w = &st->w[i];

		w->st = st;
		w->th = i;
		w->rng = salt ^ 0x9e3779b97f4a7c15ULL * (i + 1);
		w->present = calloc(st->nkeys, 1);
		w->val = calloc(st->nkeys, sizeof(*w->val));
		ASSERT_NE(NULL, w->present);
		ASSERT_NE(NULL, w->val);
		ASSERT_EQ(0, hmap_table__open_id(st->id, NULL, &w->t));
	}
	for (__u32 i = 0; i < st->nthreads; i++)
		ASSERT_EQ(0, pthread_create(&st->w[i].tid, NULL, worker_main, &st->w[i]));
	ASSERT_EQ(0, pthread_create(&st->reader, NULL, reader_main, st));
	ASSERT_EQ(0, pthread_create(&st->churn, NULL, churn_main, st));
	for (__u32 i = 0; i < st->nthreads; i++)
		pthread_join(st->w[i].tid, NULL);
	st->stop = 1;
	pthread_join(st->reader, NULL);
	pthread_join(st->churn, NULL);

	for (__u32 i = 0; i < st->nthreads; i++) {
		bpf_ops += st->w[i].ops;
		user += st->w[i].user_ops;
		xdp += st->w[i].xdp_runs;
		stale += st->w[i].stale;
		churn += st->w[i].churn_ops;
		live += st->w[i].churn_live;
	}
	TH_LOG("%llu BPF ops (%llu stale-pointer writes, %llu on churn tables, %llu of them "
	       "live), %llu ioctl and zero-copy ops, %llu XDP runs", (unsigned long long)bpf_ops,
	       (unsigned long long)stale, (unsigned long long)churn, (unsigned long long)live,
	       (unsigned long long)user, (unsigned long long)xdp);
	TH_LOG("reader: %llu passes, %llu entries, %llu lookups (%llu found)",
	       (unsigned long long)st->r_passes, (unsigned long long)st->r_entries,
	       (unsigned long long)st->r_lookups, (unsigned long long)st->r_found);
	TH_LOG("churn: %llu tables created, %llu bad shapes refused, %llu read after close, "
	       "%llu unmapped, %llu rmmod attempts refused", (unsigned long long)st->c_created,
	       (unsigned long long)st->c_refused_shapes, (unsigned long long)st->c_mapped_reads,
	       (unsigned long long)st->c_retired, (unsigned long long)st->c_rmmod_tries);
	EXPECT_EQ(0, st->nfail);
	if (!st->nfail) {
		/* everything ran */
		EXPECT_GT(stale, 0);
		EXPECT_GT(xdp, 0);
		EXPECT_GT(st->r_passes, 0);
		EXPECT_GT(st->c_mapped_reads, 0);
		EXPECT_GT(st->c_rmmod_tries, 0);
		if (p->heavy_churn)
			EXPECT_GT(live, 0);
		final_check(_metadata, st);
		EXPECT_EQ(0, st->nfail);
	}

	/* Cleanup: nothing is left, and every churn table is gone for good. */
	for (__u32 i = 0; i < st->nthreads; i++) {
		hmap_table__close(st->w[i].t);
		free(st->w[i].present);
		free(st->w[i].val);
	}
	hmap_table__close(st->rt);
	hmap_table__close(st->anchor);
	unlink(st->path);
	unlink(st->anchor_path);
	hmap_stress__destroy(st->skel);
	close(st->dev);
	EXPECT_EQ(0, wait_live_tables(0));
	for (__u64 i = 0; i < st->ngone; i++) {
		struct hmap_table *g;

		EXPECT_EQ(-ENOENT, hmap_table__open_id(st->gone[i], NULL, &g));
	}
	rmdir(ROOT);
	free(st->gone);
	free(st);
}

/* ---- the tests ----------------------------------------------------------- */

FIXTURE(stress) {
	int unused;
};

FIXTURE_SETUP(stress)
{
}

FIXTURE_TEARDOWN(stress)
{
	clean_root();
	rmdir(ROOT);
}

static unsigned int share(int percent)
{
	unsigned int s = total_seconds * percent / 100;

	return s ? s : 1;
}

/* Timeouts are set from HMAP_STRESS_SECONDS in main(). */
TEST_F_TIMEOUT(stress, stress_fixed_table, 900)
{
	struct params p = { .variant = HMAP_VARIANT_FIXED, .nkeys = 4096, .seconds = share(40),
			    .churn_pct = 3 };

	run_stress(_metadata, &p);
}

TEST_F_TIMEOUT(stress, stress_incremental_table, 900)
{
	struct params p = { .variant = HMAP_VARIANT_INCREMENTAL, .nkeys = 16384,
			    .seconds = share(40), .churn_pct = 3, .must_grow = true };

	run_stress(_metadata, &p);
}

TEST_F_TIMEOUT(stress, table_churn_and_rmmod_attempts, 900)
{
	struct params p = { .variant = HMAP_VARIANT_INCREMENTAL, .nkeys = 4096,
			    .seconds = share(20), .churn_pct = 40, .heavy_churn = true };
	int tries = 0;

	run_stress(_metadata, &p);
	/* No table left and nothing held: both modules unload now (program
	 * frees that drop module references are deferred: retry a while),
	 * and load again for what runs next. */
	ASSERT_EQ(0, wait_live_tables(0));
	while (syscall(SYS_delete_module, "hmap_rehash", O_NONBLOCK) && tries++ < 100)
		usleep(100000);
	EXPECT_NE(0, access("/sys/module/hmap_rehash", F_OK));
	while (syscall(SYS_delete_module, "hmap", O_NONBLOCK) && tries++ < 200)
		usleep(100000);
	EXPECT_NE(0, access("/sys/module/hmap", F_OK));
	TH_LOG("both modules unloaded after the run (%d retries)", tries);
	if (access("/sys/module/hmap", F_OK))
		ASSERT_EQ(0, hmap_insmod("hmap"));
	if (access("/sys/module/hmap_rehash", F_OK))
		ASSERT_EQ(0, hmap_insmod("hmap_rehash"));
	ASSERT_EQ(0, access(HMAP_DEV_PATH, F_OK));
}

static void __attribute__((constructor)) __constructor_order_last(void)
{
	if (!__constructor_order)
		__constructor_order = _CONSTRUCTOR_ORDER_BACKWARD;
}

/* HMAP_TEST_MAIN, with timeouts that follow HMAP_STRESS_SECONDS. */
int main(int argc, char **argv)
{
	const char *seed = getenv("HMAP_STRESS_SEED"), *secs = getenv("HMAP_STRESS_SECONDS");

	base_seed = seed ? strtoull(seed, NULL, 0) :
		    (__u64)time(NULL) * 2654435761ULL ^ (__u64)getpid() << 32;
	if (secs && atoi(secs) > 0)
		total_seconds = atoi(secs);
	/* Each test's share, plus its setup and checks (HMAP_TIMEOUT_SCALE
	 * multiplies these on a debug kernel, which is far slower at them). */
	for (struct __fixture_metadata *f = __fixture_list; f; f = f->next)
		for (struct __test_metadata *t = f->tests; t; t = t->next)
			t->timeout = share(strstr(t->name, "churn") ? 20 : 40) * 4 + 600;
	hmap_scale_timeouts();
	return test_harness_run(argc, argv);
}
