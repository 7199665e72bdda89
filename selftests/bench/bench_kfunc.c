// SPDX-License-Identifier: GPL-2.0
/*
 * bench_kfunc: bpf_hmap_* kfuncs against a preallocated BPF_MAP_TYPE_HASH,
 * in the same VM run, through BPF_PROG_TEST_RUN with repeat (XDP programs,
 * 64 operations a run, 16-byte keys).  Prints ns/op for both and the ratio
 * hmap/htab (below 1.0: hmap is faster).  With hmap_rehash.ko loaded, also
 * the incremental variant at the same size (steady state, not growing) and
 * its cost against the fixed table, incr/hmap.  Needs hmap.ko loaded.
 *
 *   bench_kfunc [N...]      table sizes, powers of two (default 1024 1048576)
 *
 * Figures under QEMU TCG are emulated time: compare the ratios, not the ns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "libhmap.h"
#include "hmap_test_util.h"
#include "hmap_bench.skel.h"

#define BATCH	64
#define ROOT	"/sys/fs/bpf/hmap-bench"

enum { B_LOOKUP, B_UPDATE, B_INSERT, B_DELETE };

static double run(struct hmap_bench *s, struct bpf_program *p, __u32 op, __u32 off, __u32 repeat)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .repeat = repeat);
	char pkt[64] = {};

	o.data_in = pkt;
	o.data_size_in = sizeof(pkt);
	s->bss->op = op;
	s->bss->key_offset = off;
	s->bss->cursor = 0;
	s->bss->errors = 0;
	s->bss->hits = 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(p), &o)) {
		fprintf(stderr, "test run of %s failed: %s\n", bpf_program__name(p), strerror(errno));
		exit(1);
	}
	return (double)o.duration / BATCH;
}

struct row {
	const char *name;
	double hmap, htab, incr;
};

static bool have_incr;	/* hmap_rehash.ko loaded: also measure the incremental variant */

static void bench(__u32 n, __u32 vsz, int passes)
{
	struct hmap_table_create_opts co = { .key_size = 16, .value_size = vsz, .capacity = n };
	struct hmap_table_create_opts ci = { .key_size = 16, .value_size = vsz, .capacity = n,
				       .variant = HMAP_VARIANT_INCREMENTAL };
	struct hmap_desc di = {};
	char ipath[128];
	struct bpf_program *ph, *pm;
	struct hmap_bench *s;
	struct hmap_desc d;
	char path[128];
	__u32 zero = 0, fill = n / BATCH, reads = n / BATCH < 4096 ? 4096 : n / BATCH;
	struct row rows[] = {
		{ "insert" }, { "lookup-hit" }, { "lookup-miss" }, { "update-existing" }, { "delete" },
	};
	int fd, nrows = 5;

	s = hmap_bench__open();
	if (!s) {
		perror("open bench object");
		exit(1);
	}
	bpf_map__set_max_entries(s->maps.htab8, n);
	bpf_map__set_max_entries(s->maps.htab64, n);
	s->data->nkeys = n;
	if (hmap_bench__load(s)) {
		perror("load bench object");
		exit(1);
	}
	mkdir(ROOT, 0700);
	snprintf(path, sizeof(path), ROOT "/t-%u-%u", n, vsz);
	unlink(path);
	if (test_create_pinned(path, &co, NULL)) {
		fprintf(stderr, "cannot create a %u-entry table: is hmap.ko loaded?\n", n);
		exit(1);
	}
	fd = bpf_obj_get(path);
	bpf_map_lookup_elem(fd, &zero, &d);
	close(fd);
	/* Same shape, incremental variant: same buckets for n, so no growth here. */
	snprintf(ipath, sizeof(ipath), ROOT "/i-%u-%u", n, vsz);
	unlink(ipath);
	if (have_incr) {
		if (test_create_pinned(ipath, &ci, NULL)) {
			fprintf(stderr, "cannot create an incremental table\n");
			exit(1);
		}
		fd = bpf_obj_get(ipath);
		bpf_map_lookup_elem(fd, &zero, &di);
		close(fd);
	}
	if (vsz == 8) {
		s->bss->handle8 = d.handle;
		ph = s->progs.hmap_v8;
		pm = s->progs.htab_v8;
	} else {
		s->bss->handle64 = d.handle;
		ph = s->progs.hmap_v64;
		pm = s->progs.htab_v64;
	}
	for (int i = 0; i < nrows; i++)
		rows[i].hmap = rows[i].htab = rows[i].incr = 1e30;

#define BEST(r, v) do { double _v = (v); if (_v < (r)) (r) = _v; } while (0)
	for (int pass = 0; pass < passes; pass++) {
		for (int side = 0; side < (have_incr ? 3 : 2); side++) {
			struct bpf_program *p = side == 1 ? pm : ph;
			double *col[5];

			/* side 2: the hmap programs on the incremental table */
			if (vsz == 8)
				s->bss->handle8 = side == 2 ? di.handle : d.handle;
			else
				s->bss->handle64 = side == 2 ? di.handle : d.handle;
			for (int i = 0; i < nrows; i++)
				col[i] = side == 0 ? &rows[i].hmap : side == 1 ? &rows[i].htab : &rows[i].incr;
			BEST(*col[0], run(s, p, B_INSERT, 0, fill));
			if (s->bss->errors) {
				fprintf(stderr, "%s: %llu inserts failed\n", bpf_program__name(p),
					(unsigned long long)s->bss->errors);
				exit(1);
			}
			BEST(*col[1], run(s, p, B_LOOKUP, 0, reads));
			if (s->bss->hits != (__u64)reads * BATCH) {
				fprintf(stderr, "%s: lookups missed\n", bpf_program__name(p));
				exit(1);
			}
			BEST(*col[2], run(s, p, B_LOOKUP, n, reads));
			if (s->bss->hits) {
				fprintf(stderr, "%s: misses hit\n", bpf_program__name(p));
				exit(1);
			}
			BEST(*col[3], run(s, p, B_UPDATE, 0, reads));
			BEST(*col[4], run(s, p, B_DELETE, 0, fill));
			if (s->bss->errors) {
				fprintf(stderr, "%s: deletes failed\n", bpf_program__name(p));
				exit(1);
			}
		}
	}
	for (int i = 0; i < nrows; i++) {
		printf("%-16s %8u %6u %12.1f %12.1f %8.2f", rows[i].name, n, vsz,
		       rows[i].hmap, rows[i].htab, rows[i].hmap / rows[i].htab);
		if (have_incr)
			printf(" %12.1f %8.2f", rows[i].incr, rows[i].incr / rows[i].hmap);
		putchar('\n');
	}
	fflush(stdout);
	unlink(path);
	unlink(ipath);
	hmap_bench__destroy(s);
}

int main(int argc, char **argv)
{
	__u32 sizes[8] = { 1024, 1048576 };
	int nsizes = 2;

	if (argc > 1) {
		nsizes = 0;
		for (int i = 1; i < argc && nsizes < 8; i++) {
			__u32 n = strtoul(argv[i], NULL, 0);

			if (!n || (n & (n - 1))) {
				fprintf(stderr, "bench_kfunc: table size %s is not a power of two\n", argv[i]);
				return 2;
			}
			sizes[nsizes++] = n;
		}
	}
	printf("# bpf_hmap_* kfuncs vs BPF_MAP_TYPE_HASH (prealloc), 16-byte keys, "
	       "%d ops per XDP test run, best of several passes\n", BATCH);
	have_incr = access("/sys/module/hmap_rehash", F_OK) == 0;
	printf("%-16s %8s %6s %12s %12s %8s", "op", "entries", "value", "hmap ns/op",
	       "htab ns/op", "hmap/htab");
	if (have_incr)
		printf(" %12s %8s", "incr ns/op", "incr/hmap");
	putchar('\n');
	for (int i = 0; i < nsizes; i++) {
		int passes = sizes[i] <= 4096 ? 20 : 2;

		bench(sizes[i], 8, passes);
		bench(sizes[i], 64, passes);
	}
	rmdir(ROOT);
	return 0;
}
