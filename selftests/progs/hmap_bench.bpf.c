// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark programs: the same operation, on the same 16-byte keys, against
 * an hmap table (kfuncs) and a preallocated BPF_MAP_TYPE_HASH.  Each run of a
 * program performs BATCH operations on keys derived from a cursor that
 * advances every run, so BPF_PROG_TEST_RUN with repeat walks the key space.
 *
 * Keys: index i in [0, nkeys) is key {i * golden, i}; the index sequence is
 * (cursor + j) * odd & (nkeys - 1), a permutation when nkeys is a power of two.
 * key_offset = nkeys turns every lookup into a miss.  Failed updates and
 * deletes are counted in errors, and the first one's return is kept in
 * first_err, so a benchmark can say why.
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
__s32 first_err;		/* the first failed operation's return, for the report */

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
	__s32 fe = 0;							\
	__u32 c = cursor, o = op;					\
	struct VT v = {};						\
	struct bkey k;							\
									\
	for (int j = 0; j < BATCH; j++) {				\
		struct VT *p;						\
		long r = 0;						\
									\
		mk(&k, c, j);						\
		if (o == B_LOOKUP) {					\
			p = (void *)bpf_hmap_lookup(h, &k, sizeof(k), sizeof(*p)); \
			if (p) {					\
				nh++;					\
				vs += *(__u64 *)p;			\
			}						\
		} else if (o == B_UPDATE) {				\
			v.v[0] = j;					\
			r = bpf_hmap_update(h | HMAP_UPDATE_FLAGS(BPF_EXIST), \
					    &k, sizeof(k), &v, sizeof(v));	\
		} else if (o == B_INSERT) {				\
			r = bpf_hmap_update(h | HMAP_UPDATE_FLAGS(BPF_NOEXIST), \
					    &k, sizeof(k), &v, sizeof(v));	\
		} else {						\
			r = bpf_hmap_delete(h, &k, sizeof(k));		\
		}							\
		if (r) {						\
			ne++;						\
			if (!fe)					\
				fe = r;					\
		}							\
	}								\
	cursor = c + BATCH;						\
	hits += nh;							\
	errors += ne;							\
	if (fe && !first_err)						\
		first_err = fe;						\
	vsum += vs;							\
	return XDP_PASS;						\
}									\
									\
SEC("xdp")								\
int NAME_M(struct xdp_md *ctx)						\
{									\
	__u64 nh = 0, ne = 0, vs = 0;					\
	__s32 fe = 0;							\
	__u32 c = cursor, o = op;					\
	struct VT v = {};						\
	struct bkey k;							\
									\
	for (int j = 0; j < BATCH; j++) {				\
		struct VT *p;						\
		long r = 0;						\
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
			r = bpf_map_update_elem(&MAP, &k, &v, BPF_EXIST); \
		} else if (o == B_INSERT) {				\
			r = bpf_map_update_elem(&MAP, &k, &v, BPF_NOEXIST); \
		} else {						\
			r = bpf_map_delete_elem(&MAP, &k);		\
		}							\
		if (r) {						\
			ne++;						\
			if (!fe)					\
				fe = r;					\
		}							\
	}								\
	cursor = c + BATCH;						\
	hits += nh;							\
	errors += ne;							\
	if (fe && !first_err)						\
		first_err = fe;						\
	vsum += vs;							\
	return XDP_PASS;						\
}

BENCH(val8, hmap_v8, htab_v8, handle8, htab8)
BENCH(val64, hmap_v64, htab_v64, handle64, htab64)

/*
 * Per-insert latency while a table grows: insert keys first .. first+n-1 one
 * by one (8-byte keys and values), timing each update.  Log-linear histogram:
 * bucket = 16 * floor(log2 ns) + the next 4 bits.  Stops at the first failure
 * (-ENOSPC: growth behind) and says where, so user space can wait and resume.
 */
#define LAT_BUCKETS	(64 * 16)

__u64 lat_hist[LAT_BUCKETS];
__u64 lat_max, lat_count;
__u64 lat_handle;
__u32 lat_first, lat_n, lat_stopped;
__s32 lat_err;

static __always_inline __u32 lat_bucket(__u64 ns)
{
	__u32 l = 0;

	if (ns < 16)
		return ns;
	if (ns >> 32) { l += 32; ns >>= 32; }
	if (ns >> 16) { l += 16; ns >>= 16; }
	if (ns >> 8) { l += 8; ns >>= 8; }
	if (ns >> 4) { l += 4; ns >>= 4; }
	if (ns >> 2) { l += 2; ns >>= 2; }
	if (ns >> 1) { l += 1; ns >>= 1; }
	return l * 16;	/* refined below by the caller */
}

static long lat_one(__u32 i, void *ctx)
{
	__u64 key = lat_first + i, t0, dt;
	__u32 b, l;
	int ret;

	t0 = bpf_ktime_get_ns();
	ret = bpf_hmap_update(lat_handle | HMAP_UPDATE_FLAGS(BPF_NOEXIST), &key, sizeof(key),
			      &key, sizeof(key));
	dt = bpf_ktime_get_ns() - t0;
	if (ret) {
		lat_err = ret;
		lat_stopped = lat_first + i;
		return 1;
	}
	b = lat_bucket(dt);
	if (dt >= 16) {
		l = b / 16;
		b += (dt >> (l - 4)) & 15;
	}
	if (b < LAT_BUCKETS)
		lat_hist[b]++;
	if (dt > lat_max)
		lat_max = dt;
	lat_count++;
	return 0;
}

SEC("syscall")
int lat_insert(void *ctx)
{
	lat_err = 0;
	lat_stopped = lat_first + lat_n;
	bpf_loop(lat_n, lat_one, NULL, 0);
	return 0;
}
