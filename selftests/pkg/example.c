/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* A table from user space with libhmap: create, write, look up, iterate.
 * Build: cc example.c $(pkg-config --cflags --libs libhmap) -o example
 * Run as root with hmap.ko loaded (modprobe hmap). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <linux/bpf.h>	/* BPF_ANY */
#include <hmap/libhmap.h>

int main(void)
{
	HMAP_OPTS(hmap_table_create_opts, opts, .key_size = sizeof(__u32),
		  .value_size = sizeof(__u64), .capacity = 1024,
		  .variant = HMAP_VARIANT_FIXED);
	struct hmap_table *t = NULL;
	struct hmap_table_iter *it = NULL;
	const void *k, *v;
	__u64 val, sum = 0, n = 0;
	int err;

	printf("libhmap %s\n", libhmap_version());
	/* No pin_path: the table lives as long as this handle. */
	err = hmap_table__create(&opts, &t);
	if (err) {
		fprintf(stderr, "hmap_table__create: %s (is hmap.ko loaded?)\n", strerror(-err));
		return 1;
	}
	for (__u32 key = 1; key <= 100; key++) {
		val = (__u64)key * key;
		err = hmap_table__update(t, &key, &val, BPF_ANY);
		if (err) {
			fprintf(stderr, "update %u: %d\n", key, err);
			goto out;
		}
	}
	__u32 key = 7;
	err = hmap_table__lookup(t, &key, &val);	/* zero-copy, no syscall */
	if (err || val != 49) {
		fprintf(stderr, "lookup 7: err %d, value %llu\n", err, (unsigned long long)val);
		err = err ?: -EIO;
		goto out;
	}
	key = 1000;
	if (hmap_table__lookup(t, &key, &val) != -ENOENT) {
		fprintf(stderr, "lookup 1000: found a key never written\n");
		err = -EIO;
		goto out;
	}
	err = hmap_table_iter__new(t, HMAP_ITER_CONSISTENT, &it);
	if (err)
		goto out;
	/* __next: 1 and an entry, 0 at the end, or -errno */
	while ((err = hmap_table_iter__next(it, &k, &v)) == 1) {
		memcpy(&val, v, sizeof(val));
		sum += val;
		n++;
	}
	hmap_table_iter__destroy(it);
	if (err) {
		fprintf(stderr, "iteration: %d after %llu entries\n", err, (unsigned long long)n);
		goto out;
	}
	printf("%llu entries, values sum to %llu\n", (unsigned long long)n,
	       (unsigned long long)sum);
	if (n != 100 || sum != 338350) {	/* 1^2 + ... + 100^2 */
		fprintf(stderr, "iteration: want 100 entries summing to 338350\n");
		err = -EIO;
	}
out:
	if (err < 0)
		fprintf(stderr, "error: %s\n", strerror(-err));
	hmap_table__close(t);
	return err ? 1 : 0;
}
