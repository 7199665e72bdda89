// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark programs: the same operation, on the same 16-byte keys, against
 * an hmap table (kfuncs) and a preallocated BPF_MAP_TYPE_HASH.  Each run of a
 * program performs BATCH operations on keys derived from a cursor that
 * advances every run, so BPF_PROG_TEST_RUN with repeat walks the key space.
 *
 * Keys: index i in [0, nkeys) is key {i * golden, i}; the index sequence is
 * (cursor + j) * odd & (nkeys - 1), a permutation when nkeys is a power of two.
 * key_offset = nkeys turns every lookup into a miss.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "hmap.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define BATCH	64

enum { B_LOOKUP, B_UPDATE, B_INSERT, B_DELETE };

struct bkey {
	__u64 a, b;
};

struct val8 {
	__u64 v[1];
};

struct val64 {
	__u64 v[8];
};

__u64 handle8, handle64;	/* hmap tables */
__u32 nkeys = 1024;		/* power of two */
__u32 key_offset;
__u32 op;
__u32 cursor;
__u64 hits, errors, vsum;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct bkey);
	__type(value, struct val8);
} htab8 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct bkey);
	__type(value, struct val64);
} htab64 SEC(".maps");

static __always_inline void mk(struct bkey *k, __u32 c, __u32 j)
{
	__u32 i = ((c + j) * 0x9E3779B1U) & (nkeys - 1);

	i += key_offset;
	k->a = i * 0x9e3779b97f4a7c15ULL;
	k->b = i;
}

#define BENCH(VT, NAME_H, NAME_M, HANDLE, MAP)				\
SEC("xdp")								\
int NAME_H(struct xdp_md *ctx)						\
{									\
	__u64 h = HANDLE, nh = 0, ne = 0, vs = 0;			\
	__u32 c = cursor, o = op;					\
	struct VT v = {};						\
	struct bkey k;							\
									\
	for (int j = 0; j < BATCH; j++) {				\
		struct VT *p;						\
									\
		mk(&k, c, j);						\
		if (o == B_LOOKUP) {					\
			p = bpf_hmap_lookup(h, &k, sizeof(k), sizeof(*p)); \
			if (p) {					\
				nh++;					\
				vs += *(__u64 *)p;			\
			}						\
		} else if (o == B_UPDATE) {				\
			v.v[0] = j;					\
			ne += bpf_hmap_update(h | HMAP_UPDATE_FLAGS(BPF_EXIST), \
					      &k, sizeof(k), &v, sizeof(v)) != 0; \
		} else if (o == B_INSERT) {				\
			ne += bpf_hmap_update(h | HMAP_UPDATE_FLAGS(BPF_NOEXIST), \
					      &k, sizeof(k), &v, sizeof(v)) != 0; \
		} else {						\
			ne += bpf_hmap_delete(h, &k, sizeof(k)) != 0;	\
		}							\
	}								\
	cursor = c + BATCH;						\
	hits += nh;							\
	errors += ne;							\
	vsum += vs;							\
	return XDP_PASS;						\
}									\
									\
SEC("xdp")								\
int NAME_M(struct xdp_md *ctx)						\
{									\
	__u64 nh = 0, ne = 0, vs = 0;					\
	__u32 c = cursor, o = op;					\
	struct VT v = {};						\
	struct bkey k;							\
									\
	for (int j = 0; j < BATCH; j++) {				\
		struct VT *p;						\
									\
		mk(&k, c, j);						\
		if (o == B_LOOKUP) {					\
			p = bpf_map_lookup_elem(&MAP, &k);		\
			if (p) {					\
				nh++;					\
				vs += *(__u64 *)p;			\
			}						\
		} else if (o == B_UPDATE) {				\
			v.v[0] = j;					\
			ne += bpf_map_update_elem(&MAP, &k, &v, BPF_EXIST) != 0; \
		} else if (o == B_INSERT) {				\
			ne += bpf_map_update_elem(&MAP, &k, &v, BPF_NOEXIST) != 0; \
		} else {						\
			ne += bpf_map_delete_elem(&MAP, &k) != 0;	\
		}							\
	}								\
	cursor = c + BATCH;						\
	hits += nh;							\
	errors += ne;							\
	vsum += vs;							\
	return XDP_PASS;						\
}

BENCH(val8, hmap_v8, htab_v8, handle8, htab8)
BENCH(val64, hmap_v64, htab_v64, handle64, htab64)
