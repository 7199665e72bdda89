// SPDX-License-Identifier: GPL-2.0
/*
 * bench_native: the hmap engine built as user-space C against
 * absl::flat_hash_map (Debian libabsl-dev), same keys, same run, one thread.
 * Prints ns/op and the ratio hmap/absl (below 1.0: hmap is faster).
 *
 *   bench_native [-p PASSES] [N...]   (default 1024 1048576; PASSES: best
 *                                     of how many, default 2000 up to 4096
 *                                     entries, else 5)
 *
 * Every operation must succeed; one that fails ends the run with exit status
 * 1, naming the operation and its errno.  Nothing outside the process is made.
 *
 * The engine pays for what the kernel needs: a keyed SipHash-1-3 hash (absl
 * uses its own unkeyed-per-process hash), a seqcount and a lock per write.
 */
#include <absl/container/flat_hash_map.h>
#include <absl/hash/hash.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
#include "hmap_engine.h"
}

struct Key {
	uint64_t a, b;
	bool operator==(const Key &o) const { return a == o.a && b == o.b; }
	template <typename H> friend H AbslHashValue(H h, const Key &k)
	{
		return H::combine(std::move(h), k.a, k.b);
	}
};

template <size_t V> struct Val {
	uint64_t v[V / 8];
};

static double now_ns()
{
	return std::chrono::duration<double, std::nano>(
		       std::chrono::steady_clock::now().time_since_epoch()).count();
}

static volatile uint64_t sink;

[[noreturn]] static void fail(const char *what, uint32_t n, size_t v, uint32_t j, int err)
{
	fprintf(stderr, "bench_native: %u entries, %zu-byte values: %s of key %u failed: %d (%s)\n",
		n, v, what, j, err, err < 0 ? strerror(-err) : "a lookup result was wrong");
	exit(1);
}

template <size_t V> static void bench(uint32_t n, int passes)
{
	std::vector<Key> keys(2 * (size_t)n);
	for (uint32_t j = 0; j < 2 * n; j++) {
		uint32_t i = j < n ? ((j * 0x9E3779B1U) & (n - 1)) : j;

		keys[j] = Key{ i * 0x9e3779b97f4a7c15ULL, i };
	}
	struct hmap_layout l;
	int ret = hmap_layout_init_exact(&l, sizeof(Key), V, n, ~0ULL);	/* as hmap.ko */
	if (ret)
		fail("hmap_layout_init_exact", n, V, 0, ret);
	void *mem = aligned_alloc(4096, l.array_bytes);
	if (!mem)
		fail("aligned_alloc", n, V, 0, -ENOMEM);
	std::vector<uint8_t> lockbytes(l.nlocks);
	uint64_t entries = 0;
	hmap_seed_t seed = { { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } };
	struct hmap_locks locks = { lockbytes.data(), 0 };
	struct hmap_tab t;

	const char *names[] = { "insert", "lookup-hit", "lookup-miss", "update-existing", "delete" };
	double best_h[5], best_a[5];
	for (int i = 0; i < 5; i++)
		best_h[i] = best_a[i] = 1e30;
	Val<V> val = {};

	for (int pass = 0; pass < passes; pass++) {
		memset(mem, 0, l.array_bytes);
		entries = 0;
		hmap_tab_init(&t, &l, mem, &entries, &seed, &locks);
		absl::flat_hash_map<Key, Val<V>> m;
		m.reserve(n);
		double t0, r[5], q[5];
		uint64_t hits = 0;

		t0 = now_ns();
		for (uint32_t j = 0; j < n; j++)
			if ((ret = hmap_tab_update(&t, &keys[j], hmap_tab_hash(&t, &keys[j]), &val,
						   HMAP_NOEXIST, NULL)))
				fail("insert", n, V, j, ret);
		r[0] = now_ns() - t0;
		t0 = now_ns();
		for (uint32_t j = 0; j < n; j++)
			m.emplace(keys[j], val);
		q[0] = now_ns() - t0;

		t0 = now_ns();
		for (uint32_t j = 0; j < n; j++) {
			void *p = hmap_tab_lookup(&t, &keys[j], hmap_tab_hash(&t, &keys[j]));
			hits += p != NULL;
		}
		r[1] = now_ns() - t0;
		t0 = now_ns();
		for (uint32_t j = 0; j < n; j++)
			hits += m.find(keys[j]) != m.end();
		q[1] = now_ns() - t0;
		if (hits != 2ULL * n)
			fail("lookup-hit (some missed)", n, V, 0, 0);

		t0 = now_ns();
		for (uint32_t j = n; j < 2 * n; j++)
			hits += hmap_tab_lookup(&t, &keys[j], hmap_tab_hash(&t, &keys[j])) != NULL;
		r[2] = now_ns() - t0;
		t0 = now_ns();
		for (uint32_t j = n; j < 2 * n; j++)
			hits += m.find(keys[j]) != m.end();
		q[2] = now_ns() - t0;
		if (hits != 2ULL * n)
			fail("lookup-miss (some hit)", n, V, 0, 0);

		t0 = now_ns();
		for (uint32_t j = 0; j < n; j++) {
			val.v[0] = j;
			if ((ret = hmap_tab_update(&t, &keys[j], hmap_tab_hash(&t, &keys[j]), &val,
						   HMAP_EXIST, NULL)))
				fail("update-existing", n, V, j, ret);
		}
		r[3] = now_ns() - t0;
		t0 = now_ns();
		for (uint32_t j = 0; j < n; j++) {
			val.v[0] = j;
			m.find(keys[j])->second = val;
		}
		q[3] = now_ns() - t0;

		t0 = now_ns();
		for (uint32_t j = 0; j < n; j++)
			if ((ret = hmap_tab_delete(&t, &keys[j], hmap_tab_hash(&t, &keys[j]))))
				fail("delete", n, V, j, ret);
		r[4] = now_ns() - t0;
		t0 = now_ns();
		for (uint32_t j = 0; j < n; j++)
			m.erase(keys[j]);
		q[4] = now_ns() - t0;

		for (int i = 0; i < 5; i++) {
			if (r[i] / n < best_h[i])
				best_h[i] = r[i] / n;
			if (q[i] / n < best_a[i])
				best_a[i] = q[i] / n;
		}
		sink += hits;
	}
	for (int i = 0; i < 5; i++)
		printf("%-16s %8u %6zu %12.1f %12.1f %8.2f\n", names[i], n, V, best_h[i], best_a[i],
		       best_h[i] / best_a[i]);
	free(mem);
}

int main(int argc, char **argv)
{
	std::vector<uint32_t> sizes = { 1024, 1048576 };
	int opt_passes = 0, first = 1;

	if (argc > 2 && !strcmp(argv[1], "-p")) {
		opt_passes = atoi(argv[2]);
		if (opt_passes < 1) {
			fprintf(stderr, "bench_native: -p takes a number of passes >= 1, not '%s'\n",
				argv[2]);
			return 2;
		}
		first = 3;
	}
	if (argc > first) {
		sizes.clear();
		for (int i = first; i < argc; i++) {
			uint32_t n = strtoul(argv[i], NULL, 0);

			if (!n || (n & (n - 1))) {
				fprintf(stderr, "bench_native: table size %s is not a power of two\n", argv[i]);
				return 2;
			}
			sizes.push_back(n);
		}
	}
	printf("# hmap engine (user-space build) vs absl::flat_hash_map, 16-byte keys, "
	       "best of several passes\n");
	printf("%-16s %8s %6s %12s %12s %8s\n", "op", "entries", "value", "hmap ns/op", "absl ns/op",
	       "hmap/absl");
	for (uint32_t n : sizes) {
		int passes = opt_passes ? opt_passes : n <= 4096 ? 2000 : 5;

		bench<8>(n, passes);
		bench<64>(n, passes);
	}
	return 0;
}
