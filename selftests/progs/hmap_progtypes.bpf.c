// SPDX-License-Identifier: GPL-2.0
/*
 * One program per BPF program type, each counting its runs in one table
 * under its own key (enum hmap_pt_key), for test_progtypes: which types can
 * call the kfuncs on the running kernel, and do they work there.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "hmap.bpf.h"
#include "hmap_progtypes.h"

char LICENSE[] SEC("license") = "GPL";

__u64 handle;		/* the counter table: __u32 key, __u64 value */
__u32 target_tgid;	/* kprobe and tracepoint: count only the test's own calls */

static __always_inline void count(__u32 key)
{
	__u64 *v = (void *)bpf_hmap_lookup_or_init(handle, &key, sizeof(key), sizeof(*v));

	if (v)
		__sync_fetch_and_add(v, 1);
}

static __always_inline bool from_test(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("xdp")
int pt_xdp(struct xdp_md *ctx)
{
	count(PT_XDP);
	return XDP_PASS;
}

SEC("tc")
int pt_sched_cls(struct __sk_buff *skb)
{
	count(PT_SCHED_CLS);
	return 0;
}

SEC("action")
int pt_sched_act(struct __sk_buff *skb)
{
	count(PT_SCHED_ACT);
	return 0;
}

SEC("cgroup_skb/ingress")
int pt_cgroup_skb(struct __sk_buff *skb)
{
	count(PT_CGROUP_SKB);
	return 1;
}

SEC("socket")
int pt_socket_filter(struct __sk_buff *skb)
{
	count(PT_SOCKET_FILTER);
	return skb->len;
}

SEC("lwt_in")
int pt_lwt_in(struct __sk_buff *skb)
{
	count(PT_LWT);
	return 0;	/* BPF_OK */
}

SEC("sk_skb/stream_verdict")
int pt_sk_skb(struct __sk_buff *skb)
{
	count(PT_SK_SKB);
	return SK_PASS;
}

SEC("kprobe/__x64_sys_getpgid")
int pt_kprobe(void *ctx)
{
	if (from_test())
		count(PT_KPROBE);
	return 0;
}

SEC("tp/syscalls/sys_enter_getpgid")
int pt_tracepoint(void *ctx)
{
	if (from_test())
		count(PT_TRACEPOINT);
	return 0;
}

SEC("fentry/__x64_sys_getpgid")
int BPF_PROG(pt_tracing)
{
	if (from_test())
		count(PT_TRACING);
	return 0;
}

/* 6.12's CGROUP hook covers every cgroup program type, this one too. */
SEC("cgroup/sock_create")
int pt_cgroup_sock(struct bpf_sock *sk)
{
	count(PT_CGROUP_SOCK);
	return 1;
}

/*
 * bpf_hmap_stats() writes through its pointer, and the verifier checks a
 * kfunc's memory argument for bounds only: a tc program could have it write
 * into a cloned packet.  It is registered for XDP, TRACING and SYSCALL only.
 */
SEC("tc")
int pt_tc_stats(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;

	if (data + sizeof(struct hmap_stats) > end)
		return 0;
	return bpf_hmap_stats(handle, data);
}

SEC("xdp")
int pt_xdp_stats(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (data + sizeof(struct hmap_stats) > end)
		return XDP_PASS;
	bpf_hmap_stats(handle, data);
	return XDP_PASS;
}
