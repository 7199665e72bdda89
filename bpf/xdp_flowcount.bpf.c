// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_flowcount: per-flow packet and byte counters, IPv4 and IPv6, at XDP.
 *
 * Design: one hmap table, "flows", keyed by the 5-tuple (struct flow_key,
 * 40 bytes: IPv4 addresses are stored v4-mapped, ::ffff:a.b.c.d).  The value
 * (struct flow_val) holds bytes then packets.  For every IP packet the program
 * calls bpf_hmap_lookup_or_init(), which returns the flow's counters in place
 * (inserting zeroes for a new flow), and adds with atomic instructions: no
 * lock, no copy, safe on every CPU at once.  Non-IP frames and frames too
 * short to parse pass uncounted.  The program never drops: XDP_PASS.
 *
 * When the table is full, new flows are not counted (the table's stats show
 * them as enospc) and existing flows keep counting.
 *
 *   hmapctl create flows --key-size 40 --value-size 16 --capacity 65536
 *   hmapctl prog load build/bpf/xdp_flowcount.bpf.o
 *   hmapctl attach xdp eth0 xdp_flowcount
 *   hmapctl dump flows --btf build/bpf/xdp_flowcount.bpf.o --top 10
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "hmap.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define IPPROTO_TCP_	6
#define IPPROTO_UDP_	17

struct flow_key {
	__u8 saddr[16];		/* IPv6, or IPv4 mapped to ::ffff:0:0/96 */
	__u8 daddr[16];
	__be16 sport;		/* 0 for protocols without ports */
	__be16 dport;
	__u8 proto;
	__u8 family;		/* 4 or 6 */
	__u8 __pad[2];
};

struct flow_val {
	__u64 bytes;
	__u64 packets;
};

/* The table: flow_key -> flow_val (pinned descriptor, reused by name). */
HMAP_TABLE(flows, struct flow_key, struct flow_val);

static __always_inline void map_v4(__u8 *dst, __be32 addr)
{
	__builtin_memset(dst, 0, 10);
	dst[10] = 0xff;
	dst[11] = 0xff;
	__builtin_memcpy(dst + 12, &addr, 4);
}

SEC("xdp")
int xdp_flowcount(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct flow_key k = {};
	struct flow_val *v;
	void *l4;
	__u16 proto;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	proto = eth->h_proto;
	l4 = eth + 1;
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		struct vlan_hdr *vh = l4;

		if ((void *)(vh + 1) > end)
			return XDP_PASS;
		proto = vh->h_vlan_encapsulated_proto;
		l4 = vh + 1;
	}

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l4;

		if ((void *)(ip + 1) > end || ip->ihl < 5)
			return XDP_PASS;
		map_v4(k.saddr, ip->saddr);
		map_v4(k.daddr, ip->daddr);
		k.proto = ip->protocol;
		k.family = 4;
		l4 = (void *)ip + ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l4;

		if ((void *)(ip6 + 1) > end)
			return XDP_PASS;
		__builtin_memcpy(k.saddr, &ip6->saddr, 16);
		__builtin_memcpy(k.daddr, &ip6->daddr, 16);
		k.proto = ip6->nexthdr;	/* extension headers count as their own proto */
		k.family = 6;
		l4 = ip6 + 1;
	} else {
		return XDP_PASS;
	}

	if (k.proto == IPPROTO_TCP_ || k.proto == IPPROTO_UDP_) {
		__be16 *ports = l4;

		if ((void *)(ports + 2) <= end) {
			k.sport = ports[0];
			k.dport = ports[1];
		}
	}

	v = hmap_lookup_or_init(flows, &k);
	if (v) {
		__sync_fetch_and_add(&v->bytes, end - data);
		__sync_fetch_and_add(&v->packets, 1);
	}
	return XDP_PASS;
}
