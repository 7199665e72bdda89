/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * hmap for BPF programs: kfunc declarations and macros to declare and use a
 * table.  Include after vmlinux.h (or linux/bpf.h) and bpf_helpers.h.
 *
 *	HMAP_TABLE(flows, struct flow_key, struct flow_val);
 *
 *	struct flow_val *v = hmap_lookup_or_init(flows, &key);
 *	if (v)
 *		__sync_fetch_and_add(&v->packets, 1);
 *
 * HMAP_TABLE declares the table's descriptor map, pinned by name: load the
 * object with the pin root the table was created under (hmapctl create,
 * default /sys/fs/bpf/hmap) and libbpf reuses the pinned descriptor, so the
 * program keeps the table alive.  Key and value types are checked against the
 * table at run time: a size mismatch makes lookups return NULL and updates
 * -EINVAL (and counts in the table's stats.einval).
 */
#ifndef __HMAP_BPF_H
#define __HMAP_BPF_H

#define __hmap_kptr __attribute__((btf_type_tag("kptr_ref")))
#include "uapi/hmap.h"

/* vmlinux.h has no errno values; these are the ones the kfuncs return. */
#ifndef ENOENT
#define ENOENT		2
#define EBADF		9
#define EBUSY		16
#define EEXIST		17
#define EINVAL		22
#define ENOSPC		28
#define E2BIG		7
#endif

/* The kernel's struct hmap is opaque; the kptr's type is matched by name. */
struct hmap {
	int __opaque;
};

/*
 * Table data path: XDP, SCHED_CLS, TRACING and SYSCALL programs; on 6.12
 * also SCHED_ACT, cgroup, SOCKET_FILTER, LWT, SK_SKB, KPROBE and tracepoint
 * programs.  bpf_hmap_stats() only from XDP, TRACING (and tracepoint) and
 * SYSCALL programs: it writes to @st, which must not be a packet.
 */
/* __u8 *, not void *: see bpf_hmap_lookup() in kmod/hmap_kfunc.c. */
extern __u8 *bpf_hmap_lookup(__u64 handle, const void *key, __u32 key__sz,
			     __u32 rdwr_buf_size) __ksym;
extern __u8 *bpf_hmap_lookup_or_init(__u64 handle, const void *key, __u32 key__sz,
				     __u32 rdwr_buf_size) __ksym;
extern int bpf_hmap_update(__u64 handle, const void *key, __u32 key__sz,
			   const void *value, __u32 value__sz) __ksym;
extern int bpf_hmap_delete(__u64 handle, const void *key, __u32 key__sz) __ksym;
extern int bpf_hmap_stats(__u64 handle, struct hmap_stats *st) __ksym;

/* SYSCALL programs only. */
extern struct hmap *bpf_hmap_create(struct hmap_create_attr *attr) __ksym __weak;
extern void bpf_hmap_release(struct hmap *t) __ksym __weak;

/*
 * Declares the table's descriptor map, and records the key and value types
 * in the object's BTF (variable <name>__hmap_types, one byte of .bss that
 * skeletons do not show) so that "hmapctl prog load" can check sizes and
 * "hmapctl dump --btf" can print typed fields.  Zero-length arrays, not
 * pointers: clang emits only a forward declaration for a struct it sees
 * through a pointer alone.
 */
#define HMAP_TABLE(name, key_type, value_type)				\
	typedef key_type name##__hmap_key_t;				\
	typedef value_type name##__hmap_value_t;			\
	static struct {							\
		key_type key[0];					\
		value_type value[0];					\
		char __nonzero;						\
	} name##__hmap_types __attribute__((used));			\
	struct {							\
		__uint(type, BPF_MAP_TYPE_ARRAY);			\
		__uint(max_entries, 1);					\
		__type(key, __u32);					\
		__type(value, struct hmap_desc);			\
		__uint(pinning, LIBBPF_PIN_BY_NAME);			\
	} name SEC(".maps")

/* The handle of the table a descriptor map owns; 0 (no table) if unset. */
static __always_inline __u64 hmap_handle(void *desc_map)
{
	__u32 zero = 0;
	struct hmap_desc *d = bpf_map_lookup_elem(desc_map, &zero);

	return d ? d->handle : 0;
}

#define hmap_lookup(name, key)						\
	((name##__hmap_value_t *)bpf_hmap_lookup(hmap_handle(&name), (key),	\
		sizeof(name##__hmap_key_t), sizeof(name##__hmap_value_t)))

#define hmap_lookup_or_init(name, key)					\
	((name##__hmap_value_t *)bpf_hmap_lookup_or_init(hmap_handle(&name), (key), \
		sizeof(name##__hmap_key_t), sizeof(name##__hmap_value_t)))

/* flags: BPF_ANY, BPF_NOEXIST or BPF_EXIST */
#define hmap_update(name, key, value, flags)				\
	bpf_hmap_update(hmap_handle(&name) | HMAP_UPDATE_FLAGS(flags), (key),	\
		sizeof(name##__hmap_key_t), (value), sizeof(name##__hmap_value_t))

#define hmap_delete(name, key)						\
	bpf_hmap_delete(hmap_handle(&name), (key), sizeof(name##__hmap_key_t))

#endif /* __HMAP_BPF_H */
