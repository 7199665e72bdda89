// SPDX-License-Identifier: GPL-2.0
/*
 * bench_native: the hmap engine built as user-space C against
 * absl::flat_hash_map (Debian libabsl-dev), same keys, same run, one thread.
 * Prints ns/op and the ratio hmap/absl (below 1.0: hmap is faster).
 *
 *   bench_native [-p PASSES] [-H] [N...]   (default 1024 1048576; PASSES:
 *                                     best of how many, default 2000 up to
 *                                     4096 entries, else 5)
 *
 * Page size: allocations of 2 MiB or more, hmap's bucket array and absl's
 * slot array alike, are mmap()ed 2 MiB-aligned and madvise()d
 * MADV_NOHUGEPAGE (4 KiB pages, whatever the host's THP setting), or with
 * -H MADV_HUGEPAGE, as hmap.ko's hugepages=1 backs its arrays; hmap's array
 * is then rounded up to whole 2 MiB pages as hmap.ko rounds it
 * (hmap_layout_fit()).  The header says how much was backed by huge pages
 * (AnonHugePages), so a run that asked for them and got none shows it.
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
#include <new>
#include <vector>
#include <sys/mman.h>

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
static bool huge;	/* -H */

/* 2 MiB-aligned anonymous memory for allocations of 2 MiB or more, with the
 * page size chosen above; smaller ones from malloc(), as before. */
static const size_t kHuge = 2u << 20;

static void *big_alloc(size_t bytes)
{
	if (bytes < kHuge)
		return malloc(bytes);
	size_t len = (bytes + kHuge - 1) & ~(kHuge - 1);
	uint8_t *p = (uint8_t *)mmap(NULL, len + kHuge, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	uint8_t *a = (uint8_t *)(((uintptr_t)p + kHuge - 1) & ~(uintptr_t)(kHuge - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + kHuge - a);
	madvise(a, len, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	return a;
}

static void big_free(void *p, size_t bytes)
{
	if (bytes < kHuge)
		free(p);
	else if (p)
		munmap(p, (bytes + kHuge - 1) & ~(kHuge - 1));
}

template <typename T> struct BigAlloc {
	using value_type = T;
	BigAlloc() = default;
	template <typename U> BigAlloc(const BigAlloc<U> &) {}
	T *allocate(size_t n)
	{
		void *p = big_alloc(n * sizeof(T));
		if (!p)
			throw std::bad_alloc();
		return (T *)p;
	}
	void deallocate(T *p, size_t n) { big_free(p, n * sizeof(T)); }
	template <typename U> bool operator==(const BigAlloc<U> &) const { return true; }
	template <typename U> bool operator!=(const BigAlloc<U> &) const { return false; }
};

static long anon_huge_kb()
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps_rollup", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

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
	if (huge && l.array_bytes >= kHuge)
		hmap_layout_fit(&l, kHuge, ~0ULL);	/* as hmap.ko's hugepages=1 */
	void *mem = big_alloc(l.array_bytes);
	if (!mem)
		fail("allocate the bucket array", n, V, 0, -ENOMEM);
	std::vector<uint8_t> lockbytes(l.nlocks);
	uint64_t entries = 0;
	hmap_seed_t seed = { { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } };
	struct hmap_locks locks = { lockbytes.data(), 0 };
	struct hmap_tab t;

	const char *names[] = { "insert", "lookup-hit", "lookup-miss", "update-existing", "delete" };
	double best_h[5], best_a[5];
	long huge_kb = 0;
	for (int i = 0; i < 5; i++)
		best_h[i] = best_a[i] = 1e30;
	Val<V> val = {};

	for (int pass = 0; pass < passes; pass++) {
		memset(mem, 0, l.array_bytes);
		entries = 0;
		hmap_tab_init(&t, &l, mem, &entries, &seed, &locks);
		absl::flat_hash_map<Key, Val<V>, absl::Hash<Key>, std::equal_to<Key>,
				    BigAlloc<std::pair<const Key, Val<V>>>> m;
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

		if (pass == 0)
			huge_kb = anon_huge_kb();	/* both tables full */
		for (int i = 0; i < 5; i++) {
			if (r[i] / n < best_h[i])
				best_h[i] = r[i] / n;
			if (q[i] / n < best_a[i])
				best_a[i] = q[i] / n;
		}
		sink += hits;
	}
	if (huge)
		printf("# %u entries, %zu-byte values: %ld KiB of huge pages with both tables full\n",
		       n, V, huge_kb);
	for (int i = 0; i < 5; i++)
		printf("%-16s %8u %6zu %12.1f %12.1f %8.2f\n", names[i], n, V, best_h[i], best_a[i],
		       best_h[i] / best_a[i]);
	big_free(mem, l.array_bytes);
}

int main(int argc, char **argv)
{
	std::vector<uint32_t> sizes = { 1024, 1048576 };
	int opt_passes = 0, first = 1;

	for (;;) {
		if (argc > first + 1 && !strcmp(argv[first], "-p")) {
			opt_passes = atoi(argv[first + 1]);
			if (opt_passes < 1) {
				fprintf(stderr, "bench_native: -p takes a number of passes >= 1, "
					"not '%s'\n", argv[first + 1]);
				return 2;
			}
			first += 2;
		} else if (argc > first && !strcmp(argv[first], "-H")) {
			huge = true;
			first++;
		} else {
			break;
		}
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
	       "best of several passes; allocations of 2 MiB or more on %s\n",
	       huge ? "huge pages (MADV_HUGEPAGE)" : "4 KiB pages (MADV_NOHUGEPAGE)");
	printf("%-16s %8s %6s %12s %12s %8s\n", "op", "entries", "value", "hmap ns/op", "absl ns/op",
	       "hmap/absl");
	for (uint32_t n : sizes) {
		int passes = opt_passes ? opt_passes : n <= 4096 ? 2000 : 5;

		bench<8>(n, passes);
		bench<64>(n, passes);
	}
	return 0;
}
