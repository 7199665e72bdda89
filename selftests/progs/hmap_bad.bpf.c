// SPDX-License-Identifier: GPL-2.0
/*
 * Programs that misuse the hmap kfuncs.  Every one must be rejected by the
 * verifier; test_hmap.c loads them one at a time and checks the message.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "hmap.bpf.h"

char LICENSE[] SEC("license") = "GPL";

__u64 handle;

/* The key buffer is 4 bytes, the size claims 16. */
SEC("xdp")
int key_buffer_too_small(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 *v = (__u64 *)bpf_hmap_lookup(handle, &key, 16, sizeof(*v));

	return v ? XDP_DROP : XDP_PASS;
}

/* The value is 8 bytes; reading at offset 8 is past it. */
SEC("xdp")
int read_past_value(struct xdp_md *ctx)
{
	__u64 key[2] = {};
	__u64 *v = (__u64 *)bpf_hmap_lookup(handle, key, sizeof(key), 8);

	if (!v)
		return XDP_PASS;
	return v[1] ? XDP_DROP : XDP_PASS;
}

/* The result may be NULL and is used without a check. */
SEC("xdp")
int unchecked_null(struct xdp_md *ctx)
{
	__u64 key[2] = {};
	__u64 *v = (__u64 *)bpf_hmap_lookup(handle, key, sizeof(key), 8);

	__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

/* rdwr_buf_size must be a constant. */
SEC("xdp")
int size_not_constant(struct xdp_md *ctx)
{
	__u64 key[2] = {};
	__u32 n = (ctx->data_end - ctx->data) & 63;
	__u64 *v = (__u64 *)bpf_hmap_lookup(handle, key, sizeof(key), n);

	return v ? XDP_DROP : XDP_PASS;
}

/* Creating tables is for SYSCALL programs only. */
SEC("xdp")
int create_from_xdp(struct xdp_md *ctx)
{
	struct hmap_create_attr attr = { .key_size = 8, .value_size = 8, .capacity = 8 };
	struct hmap *t = bpf_hmap_create(&attr);

	if (t)
		bpf_hmap_release(t);
	return XDP_PASS;
}

/* An acquired table reference must be released or stored. */
SEC("syscall")
int leak_reference(void *ctx)
{
	struct hmap_create_attr attr = { .key_size = 8, .value_size = 8, .capacity = 8 };
	struct hmap *t = bpf_hmap_create(&attr);

	return t ? 1 : 0;
}
