/* SPDX-License-Identifier: GPL-2.0 */
/* Keys of the counter table shared by hmap_progtypes.bpf.c and test_progtypes.c. */
#ifndef __HMAP_PROGTYPES_H
#define __HMAP_PROGTYPES_H

enum hmap_pt_key {
	PT_XDP = 1,
	PT_SCHED_CLS,
	PT_SCHED_ACT,
	PT_CGROUP_SKB,
	PT_SOCKET_FILTER,
	PT_LWT,
	PT_SK_SKB,
	PT_KPROBE,
	PT_TRACEPOINT,
	PT_TRACING,
	PT_CGROUP_SOCK,
};

#endif
