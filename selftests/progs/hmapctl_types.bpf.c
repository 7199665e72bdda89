// SPDX-License-Identifier: GPL-2.0
/*
 * Types for test_hmapctl's typed input and output (--btf): an enum, bitfields,
 * a char array, a nested struct, a signed field, a __be16, an address, and a
 * value whose text is longer than 8 KiB.  No program: hmapctl reads only the
 * BTF that HMAP_TABLE() records.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "hmap.bpf.h"

char LICENSE[] SEC("license") = "GPL";

enum hc_color { HC_RED = 1, HC_GREEN = 2, HC_BLUE = 4 };

struct hc_key {
	__u32 id;
	char name[12];
};

struct hc_val {
	enum hc_color color;
	__u32 small : 3, flag : 1, big : 28;
	struct {
		__u16 lo, hi;
	} pair;
	char label[8];
	__s32 delta;
	__be16 port;
	__u8 saddr[4];
};

/* hc_key -> hc_val */
HMAP_TABLE(typed, struct hc_key, struct hc_val);

struct hc_big {
	__u32 words[1024];
};

/* __u32 -> 4096 bytes */
HMAP_TABLE(big, __u32, struct hc_big);
