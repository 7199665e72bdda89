// SPDX-License-Identifier: GPL-2.0
/*
 * bench_kfunc: bpf_hmap_* kfuncs against a preallocated BPF_MAP_TYPE_HASH,
 * in the same VM run, through BPF_PROG_TEST_RUN with repeat (XDP programs,
 * 64 operations a run, 16-byte keys).  Prints ns/op for both and the ratio
 * hmap/htab (below 1.0: hmap is faster).  With hmap_rehash.ko loaded, also
 * the incremental variant at the same size (steady state, not growing) and
 * its cost against the fixed table, incr/hmap.  Every table is filled and
 * emptied once, untimed, before the timed passes.  Needs hmap.ko loaded.
 *
 *   bench_kfunc [-p PASSES] [N...]   table sizes, powers of two (default
 *                                    1024 1048576); PASSES: best of how many
 *                                    (default 20 up to 4096 entries, else 2)
 *
 * Every operation must succeed: a failed insert, update or delete, a missed
 * lookup or a hit miss ends the run with exit status 1, naming the side, the
 * operation and the first errno.  Pins are removed on every exit (atexit).
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
#include "bench_util.h"
#include "hmap_bench.skel.h"

#define BATCH	64
#define ROOT	BENCH_ROOT

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
	s->bss->first_err = 0;
	s->bss->hits = 0;
	if (bpf_prog_test_run_opts(bpf_program__fd(p), &o)) {
		fprintf(stderr, "bench_kfunc: test run of %s failed: %s\n", bpf_program__name(p),
			strerror(errno));
		exit(1);
	}
	return (double)o.duration / BATCH;
}

static const char *const side_name[] = { "hmap (fixed)", "htab (prealloc)", "hmap (incremental)" };

/* Any failed operation in the last run ends the benchmark, with its reason. */
static void check_errors(struct hmap_bench *s, int side, const char *op, __u32 n, __u32 vsz,
			 __u64 ops)
{
	int err = s->bss->first_err;

	if (!s->bss->errors)
		return;
	fprintf(stderr, "bench_kfunc: %s, %u entries, %u-byte values: %llu of %llu %s failed, "
		"the first with %d (%s: %s)\n", side_name[side], n, vsz,
		(unsigned long long)s->bss->errors, (unsigned long long)ops, op, err,
		err < 0 ? strerror(-err) : "?", bench_err_why(err));
	exit(1);
}

struct row {
	const char *name;
	double hmap, htab, incr;
};

static bool have_incr;	/* hmap_rehash.ko loaded: also measure the incremental variant */

/* A comment line after the rows: the tables' growths and memory. */
static void print_shapes(const char *path, const char *ipath)
{
	struct hmap_table *t = NULL, *ti = NULL;
	struct hmap_info a = {}, b = {};

	if (hmap_table__open_pinned(path, NULL, &t) || hmap_table__open_pinned(ipath, NULL, &ti) ||
	    hmap_table__info(t, &a) || hmap_table__info(ti, &b))
		printf("#   (table info unavailable)\n");
	else
		printf("#   memory: fixed %llu bytes; incremental %llu bytes after %llu growths "
		       "(in the warm-up)\n", (unsigned long long)a.bytes,
		       (unsigned long long)b.bytes, (unsigned long long)b.stats.grows);
	hmap_table__close(t);
	hmap_table__close(ti);
}

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
		perror("bench_kfunc: load bench object");
		exit(1);
	}
	snprintf(path, sizeof(path), ROOT "/t-%u-%u", n, vsz);
	if (bench_create_pinned(path, &co))
		exit(1);
	fd = bpf_obj_get(path);
	if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &d)) {
		perror("bench_kfunc: read the table's descriptor");
		exit(1);
	}
	close(fd);
	/* Incremental variant created for n entries; it may grow in the warm-up. */
	snprintf(ipath, sizeof(ipath), ROOT "/i-%u-%u", n, vsz);
	if (have_incr) {
		if (bench_create_pinned(ipath, &ci))
			exit(1);
		fd = bpf_obj_get(ipath);
		if (fd < 0 || bpf_map_lookup_elem(fd, &zero, &di)) {
			perror("bench_kfunc: read the incremental table's descriptor");
			exit(1);
		}
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

	/*
	 * Warm-up, untimed: fill and empty each table once.  An incremental
	 * table created for n entries grows while it is filled past half of
	 * Go's 6.5 entries a bucket (n = 1M: at 852K entries, to twice the
	 * fixed table's buckets) and allocates its value pool as it goes; the
	 * timed passes then see it in steady state, as the row says.
	 */
	for (int side = 0; side < (have_incr ? 3 : 2); side++) {
		struct bpf_program *p = side == 1 ? pm : ph;

		if (vsz == 8)
			s->bss->handle8 = side == 2 ? di.handle : d.handle;
		else
			s->bss->handle64 = side == 2 ? di.handle : d.handle;
		run(s, p, B_INSERT, 0, fill);
		check_errors(s, side, "inserts (warm-up)", n, vsz, (__u64)fill * BATCH);
		run(s, p, B_DELETE, 0, fill);
		check_errors(s, side, "deletes (warm-up)", n, vsz, (__u64)fill * BATCH);
	}

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
			check_errors(s, side, "inserts", n, vsz, (__u64)fill * BATCH);
			BEST(*col[1], run(s, p, B_LOOKUP, 0, reads));
			if (s->bss->hits != (__u64)reads * BATCH) {
				fprintf(stderr, "bench_kfunc: %s, %u entries, %u-byte values: %llu of %llu "
					"lookups of present keys missed\n", side_name[side], n, vsz,
					(unsigned long long)((__u64)reads * BATCH - s->bss->hits),
					(unsigned long long)reads * BATCH);
				exit(1);
			}
			BEST(*col[2], run(s, p, B_LOOKUP, n, reads));
			if (s->bss->hits) {
				fprintf(stderr, "bench_kfunc: %s, %u entries, %u-byte values: %llu lookups "
					"of absent keys hit\n", side_name[side], n, vsz,
					(unsigned long long)s->bss->hits);
				exit(1);
			}
			BEST(*col[3], run(s, p, B_UPDATE, 0, reads));
			check_errors(s, side, "updates of present keys", n, vsz, (__u64)reads * BATCH);
			BEST(*col[4], run(s, p, B_DELETE, 0, fill));
			check_errors(s, side, "deletes", n, vsz, (__u64)fill * BATCH);
		}
	}
	for (int i = 0; i < nrows; i++) {
		printf("%-16s %8u %6u %12.1f %12.1f %8.2f", rows[i].name, n, vsz,
		       rows[i].hmap, rows[i].htab, rows[i].hmap / rows[i].htab);
		if (have_incr)
			printf(" %12.1f %8.2f", rows[i].incr, rows[i].incr / rows[i].hmap);
		putchar('\n');
	}
	if (have_incr)
		print_shapes(path, ipath);
	fflush(stdout);
	hmap_bench__destroy(s);
	bench_cleanup();	/* this size's tables go before the next is made */
}

/* The kernel's own figure for a BPF map: fdinfo's memlock, which 6.4 and
 * later compute with the map's map_mem_usage() (htab: buckets, elements
 * preallocated for max_entries plus one per CPU, per-CPU extras). */
static long long map_memlock(int fd)
{
	char path[64], line[128];
	long long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &v) == 1)
			break;
	fclose(f);
	return v;
}

/*
 * Bytes an entry of a full table: a fixed hmap table (its arrays and header,
 * all allocated at creation) against a preallocated htab of the same
 * max_entries (all its elements allocated at creation too), so neither needs
 * filling to be measured.
 */
static void memory_row(__u32 n, __u32 ksz, __u32 vsz)
{
	struct hmap_table_create_opts co = { .key_size = ksz, .value_size = vsz, .capacity = n };
	struct hmap_table *t = NULL;
	struct hmap_info info = {};
	char path[128];
	long long htab;
	int fd;

	snprintf(path, sizeof(path), ROOT "/m-%u-%u-%u", n, ksz, vsz);
	if (bench_create_pinned(path, &co) || hmap_table__open_pinned(path, NULL, &t) ||
	    hmap_table__info(t, &info)) {
		fprintf(stderr, "bench_kfunc: memory, %u entries of %u+%u bytes: cannot create "
			"or read the hmap table\n", n, ksz, vsz);
		exit(1);
	}
	hmap_table__close(t);
	fd = bpf_map_create(BPF_MAP_TYPE_HASH, "bench_mem", ksz, vsz, n, NULL);
	htab = fd < 0 ? -1 : map_memlock(fd);
	if (htab <= 0) {
		fprintf(stderr, "bench_kfunc: memory, %u entries of %u+%u bytes: cannot create "
			"the htab or read its memlock (%d)\n", n, ksz, vsz, fd < 0 ? fd : 0);
		exit(1);
	}
	close(fd);
	printf("%-16s %8u %3u+%-3u %12.1f %12.1f %8.2f\n", "bytes/entry", n, ksz, vsz,
	       (double)info.bytes / n, (double)htab / n, (double)info.bytes / htab);
	bench_cleanup();
}

int main(int argc, char **argv)
{
	__u32 sizes[8] = { 1024, 1048576 };
	int nsizes = 2, opt_passes, first = bench_opt_passes(argc, argv, &opt_passes);

	if (argc > first) {
		nsizes = 0;
		for (int i = first; i < argc && nsizes < 8; i++) {
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
		int passes = opt_passes ?: sizes[i] <= 4096 ? 20 : 2;

		bench(sizes[i], 8, passes);
		bench(sizes[i], 64, passes);
	}
	printf("\n# memory when full: fixed hmap table vs BPF_MAP_TYPE_HASH (prealloc, the "
	       "kernel's memlock), same max_entries\n");
	printf("%-16s %8s %7s %12s %12s %8s\n", "what", "entries", "k+v", "hmap B", "htab B",
	       "hmap/htab");
	for (int i = 0; i < nsizes; i++) {
		memory_row(sizes[i], 16, 8);
		memory_row(sizes[i], 40, 16);
	}
	return 0;
}
