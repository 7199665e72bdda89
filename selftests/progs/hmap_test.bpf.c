// SPDX-License-Identifier: GPL-2.0
/*
 * Test programs for test_hmap.c.
 *
 *  op          SYSCALL: one kfunc call with run-time key/value sizes, so the
 *              user-space test can check every flag and size boundary against
 *              a reference model.  Lookups need a constant rdwr_buf_size, so
 *              they switch over the value sizes the tests use.
 *  writer      SYSCALL: a thread's round of updates (or deletes) over the keys
 *              it owns, for the concurrency test.
 *  xdp_count   XDP: counts packets per first byte of the frame, through
 *              lookup-or-init and an atomic add (kfuncs registered for XDP).
 *  tc_count    SCHED_CLS: the same for tc.
 *  fentry_count  TRACING: counts calls of getpgid per tgid.
 *  hold_value  SYSCALL (sleepable): holds a value pointer, running, while
 *              user space removes its table, then writes through it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hmap.bpf.h"
#include "hmap_test.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__u8 key[HMAP_KEY_SIZE_MAX];
	__u8 value[HMAP_VALUE_SIZE_MAX];
} buf;

/* A table reached through its pinned descriptor, for the lifetime test. */
HMAP_TABLE(keep, __u32, __u64);

/* Tables for the XDP/tc/fentry programs, set by the test before running. */
__u64 count_handle;
__u32 count_tgid;

#define LOOKUP_CASE(fn, N)						\
	case N:								\
		p = (void *)fn(h, buf.key, ksz, N);				\
		if (p)							\
			bpf_probe_read_kernel(buf.value, N, p);		\
		break

#define LOOKUP_SWITCH(fn)						\
	switch (vsz) {							\
	LOOKUP_CASE(fn, 1);						\
	LOOKUP_CASE(fn, 2);						\
	LOOKUP_CASE(fn, 8);						\
	LOOKUP_CASE(fn, 12);						\
	LOOKUP_CASE(fn, 16);						\
	LOOKUP_CASE(fn, 64);						\
	LOOKUP_CASE(fn, 100);						\
	LOOKUP_CASE(fn, 4096);						\
	default:							\
		return -E2BIG;						\
	}

SEC("syscall")
int op(struct hmap_test_args *ctx)
{
	/* 64-bit, and checks with distinct results: clang must not fold them
	 * into one range check on a copy the verifier cannot relate. */
	__u64 ksz = ctx->key_size, vsz = ctx->value_size;
	__u64 h = ctx->handle;
	void *p = NULL;

	if (ksz > HMAP_KEY_SIZE_MAX)
		return -E2BIG;
	if (vsz > HMAP_VALUE_SIZE_MAX)
		return -E2BIG;
	if (!ksz)
		return -EINVAL;
	if (!vsz)
		return -ENOENT;

	switch (ctx->op) {
	case HT_UPDATE:
		ctx->ret = bpf_hmap_update(h | HMAP_UPDATE_FLAGS(ctx->flags), buf.key, ksz,
					   buf.value, vsz);
		break;
	case HT_DELETE:
		ctx->ret = bpf_hmap_delete(h, buf.key, ksz);
		break;
	case HT_LOOKUP:
		LOOKUP_SWITCH(bpf_hmap_lookup);
		ctx->ret = p != NULL;
		break;
	case HT_LOOKUP_OR_INIT:
		LOOKUP_SWITCH(bpf_hmap_lookup_or_init);
		ctx->ret = p != NULL;
		break;
	case HT_STATS:
		ctx->ret = bpf_hmap_stats(h, (struct hmap_stats *)buf.value);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

SEC("syscall")
int keep_bump(void *ctx)
{
	__u32 key = 42;
	__u64 *v = hmap_lookup_or_init(keep, &key);

	if (!v)
		return -ENOENT;
	__sync_fetch_and_add(v, 1);
	return 0;
}

struct writer_loop {
	struct hmap_test_writer *w;
};

static long writer_one(__u32 i, void *data)
{
	struct hmap_test_writer *w = ((struct writer_loop *)data)->w;
	struct hmap_test_val v;
	__u64 key;
	int ret, k;

	i += w->first;
	key = (__u64)w->thread << 32 | i;

	if (w->delete_odd && (i & 1)) {
		ret = bpf_hmap_delete(w->handle, &key, sizeof(key));
		if (ret == -ENOENT)
			ret = 0;
	} else {
		for (k = 0; k < 8; k++)
			v.w[k] = key ^ w->round;
		ret = bpf_hmap_update(w->handle, &key, sizeof(key), &v, sizeof(v));
	}
	/* Arithmetic, not branches: clang would otherwise pick the counter's
	 * address at run time, a ctx pointer the verifier refuses. */
	w->ebusy += ret == -EBUSY;
	w->errors += ret != 0 && ret != -EBUSY;
	return 0;
}

SEC("syscall")
int writer(struct hmap_test_writer *ctx)
{
	struct writer_loop l = { .w = ctx };

	bpf_loop(ctx->nkeys, writer_one, &l, 0);
	return 0;
}

static __always_inline int count_frame(void *data, void *data_end)
{
	__u64 *cnt;
	__u32 key;

	if (data + 1 > data_end)
		return -1;
	key = *(__u8 *)data;
	cnt = (void *)bpf_hmap_lookup_or_init(count_handle, &key, sizeof(key), sizeof(*cnt));
	if (!cnt)
		return -1;
	__sync_fetch_and_add(cnt, 1);
	return 0;
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	count_frame((void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

SEC("tc")
int tc_count(struct __sk_buff *skb)
{
	count_frame((void *)(long)skb->data, (void *)(long)skb->data_end);
	return 0;	/* TC_ACT_OK */
}

SEC("fentry/__x64_sys_getpgid")
int BPF_PROG(fentry_count)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 *cnt;

	if (tgid != count_tgid)
		return 0;
	cnt = (void *)bpf_hmap_lookup_or_init(count_handle, &tgid, sizeof(tgid), sizeof(*cnt));
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	return 0;
}

struct check_loop {
	struct hmap_test_check *c;
};

static long check_one(__u32 i, void *data)
{
	struct hmap_test_check *c = ((struct check_loop *)data)->c;
	__u64 key = (__u64)c->thread << 32 | i;
	struct hmap_test_val *v;

	v = (void *)bpf_hmap_lookup(c->handle, &key, sizeof(key), sizeof(*v));
	if (c->odd_absent && (i & 1))
		c->bad += v != NULL;
	else
		c->bad += !v || v->w[0] != (key ^ c->round) || v->w[7] != (key ^ c->round);
	return 0;
}

/* Checks a thread's keys with the kfunc, in the kernel (fast under TCG). */
SEC("syscall")
int checker(struct hmap_test_check *ctx)
{
	struct check_loop l = { .c = ctx };

	bpf_loop(ctx->nkeys, check_one, &l, 0);
	return 0;
}

struct stale_loop {
	struct hmap_test_stale *c;
};

static long stale_one(__u32 i, void *data)
{
	struct hmap_test_stale *c = ((struct stale_loop *)data)->c;
	__u64 key = (__u64)c->thread << 32 | i;
	struct hmap_test_val *v;
	int k;

	v = (void *)bpf_hmap_lookup_or_init(c->handle, &key, sizeof(key), sizeof(*v));
	if (!v) {
		c->bad++;
		return 0;
	}
	if (bpf_hmap_delete(c->handle, &key, sizeof(key)))
		c->bad++;
	/* Anything at all, where an allocator might keep its links. */
	for (k = 0; k < 8; k++)
		v->w[k] = c->pattern ^ ((__u64)k << 56) ^ i;
	__sync_fetch_and_add(&v->w[0], 0x40000000);
	return 0;
}

/* Writes through value pointers of deleted keys (hmap_test_stale). */
SEC("syscall")
int stale_writer(struct hmap_test_stale *ctx)
{
	struct stale_loop l = { .c = ctx };

	bpf_loop(ctx->nkeys, stale_one, &l, 0);
	return 0;
}

/*
 * xdp_insert: one new key per run, as fast as BPF_PROG_TEST_RUN repeats it
 * (the growth test).  The frame's first 4 bytes name the thread; its keys
 * are thread << 32 | n for n = 0, 1, ...; refusals are counted per thread.
 */
__u64 insert_handle;
__u64 insert_next[8];
__u64 insert_refused[8];
__u64 insert_ebusy[8];

SEC("xdp")
int xdp_insert(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct hmap_test_val v;
	__u32 th;
	__u64 key;
	int ret, k;

	if (data + 4 > end)
		return XDP_ABORTED;
	th = *(__u32 *)data & 7;
	key = (__u64)th << 32 | __sync_fetch_and_add(&insert_next[th], 1);
	for (k = 0; k < 8; k++)
		v.w[k] = key ^ 1;
	ret = bpf_hmap_update(insert_handle | HMAP_UPDATE_FLAGS(BPF_NOEXIST), &key, sizeof(key),
			      &v, sizeof(v));
	if (ret == -EBUSY)
		__sync_fetch_and_add(&insert_ebusy[th], 1);
	else if (ret)
		__sync_fetch_and_add(&insert_refused[th], 1);
	return XDP_PASS;
}

/*
 * hold_value: a sleepable program that keeps a value pointer while its
 * table is removed (the lifetime test).  It looks up hold_key, says so
 * (hold_state 1), runs until user space sets hold_release (preemptible:
 * plain RCU grace periods go on meanwhile, RCU tasks trace ones cannot),
 * then reads and writes through the pointer it got before.
 */
#ifndef ETIMEDOUT
#define ETIMEDOUT	110
#endif

__u64 hold_handle;
__u32 hold_key;
__u32 hold_state;	/* 1: holding the pointer; 2: wrote through it */
__u32 hold_release;	/* set by user space */
__u64 hold_seen;	/* the value read after the release */

static long hold_wait(__u64 i, void *ctx)
{
	return *(volatile __u32 *)&hold_release ? 1 : 0;
}

SEC("syscall")
int hold_value(void *ctx)
{
	__u64 *v = (__u64 *)bpf_hmap_lookup(hold_handle, &hold_key, sizeof(hold_key), sizeof(*v));

	if (!v)
		return -ENOENT;
	hold_state = 1;
	for (int i = 0; i < 64 && !*(volatile __u32 *)&hold_release; i++)
		bpf_loop(1 << 23, hold_wait, NULL, 0);
	if (!*(volatile __u32 *)&hold_release)
		return -ETIMEDOUT;
	hold_seen = *v;
	*v += 1;
	hold_state = 2;
	return 0;
}
