// SPDX-License-Identifier: GPL-2.0
/*
 * tc_budget: a per-destination byte budget at tc ingress or egress.
 *
 * Design: one hmap table, "budget", keyed by destination address (16 bytes,
 * IPv4 v4-mapped).  The value (struct budget_val) holds the bytes seen and
 * the destination's limit.  Each IP packet adds its length to its
 * destination's counter (atomically, in place); once the counter is past the
 * limit the packet is dropped (TC_ACT_SHOT) and counted as dropped.  A new
 * destination starts with limit 0, which means "default_limit" (set before
 * load; 1 MiB).  Operators set per-destination limits, or reset a budget,
 * from user space:
 *
 *   hmapctl create budget --key-size 16 --value-size 24 --capacity 4096
 *   hmapctl prog load build/bpf/tc_budget.bpf.o
 *   hmapctl attach tc eth0 egress tc_budget
 *   hmapctl update budget key <16 bytes> value <bytes=0> <limit> <dropped=0>
 *
 * Non-IP traffic passes.  If the table is full, new destinations pass
 * unmetered (fail open) and the table's stats count it as enospc.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "hmap.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define TC_ACT_OK	0
#define TC_ACT_SHOT	2

struct budget_val {
	__u64 bytes;		/* seen, including dropped */
	__u64 limit;		/* 0: default_limit */
	__u64 dropped;		/* packets dropped */
};

struct budget_key {
	__u8 daddr[16];		/* IPv6, or IPv4 mapped to ::ffff:0:0/96 */
};

/* destination address -> budget_val */
HMAP_TABLE(budget, struct budget_key, struct budget_val);

const volatile __u64 default_limit = 1 << 20;

SEC("tc")
int tc_budget(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct budget_key k = {};
	struct budget_val *v;
	__u64 seen, limit;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end)
			return TC_ACT_OK;
		k.daddr[10] = 0xff;
		k.daddr[11] = 0xff;
		__builtin_memcpy(k.daddr + 12, &ip->daddr, 4);
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end)
			return TC_ACT_OK;
		__builtin_memcpy(k.daddr, &ip6->daddr, 16);
	} else {
		return TC_ACT_OK;
	}

	v = hmap_lookup_or_init(budget, &k);
	if (!v)
		return TC_ACT_OK;
	seen = __sync_fetch_and_add(&v->bytes, skb->len) + skb->len;
	limit = v->limit ? v->limit : default_limit;
	if (seen > limit) {
		__sync_fetch_and_add(&v->dropped, 1);
		return TC_ACT_SHOT;
	}
	return TC_ACT_OK;
}
