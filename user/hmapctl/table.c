// SPDX-License-Identifier: GPL-2.0
/* hmapctl create, list, show, stats, rm. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

int do_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-size", required_argument, NULL, 'k' },
		{ "value-size", required_argument, NULL, 'v' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "max-capacity", required_argument, NULL, 'm' },
		{ "variant", required_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	HMAP_OPTS(hmap_table_create_opts, co);
	struct hmap_table *t;
	__u64 v, have = 0;
	char path[PATH_MAX];
	const char *name;
	__u32 id;
	int c, ret;

	optind = 0;	/* reinitialise getopt (main parsed with "+") */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
		case 'v':
			if (parse_u64(optarg, c == 'k' ? "--key-size" : "--value-size", &v))
				return EXIT_USAGE;
			if (v > UINT32_MAX)
				return usage_error("%s %s is too large", c == 'k' ? "--key-size" : "--value-size", optarg);
			*(c == 'k' ? &co.key_size : &co.value_size) = v;
			have |= c == 'k' ? 1 : 2;
			break;
		case 'c':
			if (parse_u64(optarg, "--capacity", &co.capacity))
				return EXIT_USAGE;
			have |= 4;
			break;
		case 'm':
			if (parse_u64(optarg, "--max-capacity", &co.max_capacity))
				return EXIT_USAGE;
			break;
		case 'V':
			if (!strcmp(optarg, "fixed"))
				co.variant = HMAP_VARIANT_FIXED;
			else if (!strcmp(optarg, "incremental"))
				co.variant = HMAP_VARIANT_INCREMENTAL;
			else
				return usage_error("--variant is 'fixed' or 'incremental', not '%s'", optarg);
			break;
		case 'h':
			return help(current);
		default:
			return usage_error("see 'hmapctl create --help'");
		}
	}
	if (optind != argc - 1)
		return usage_error("create takes one NAME (see 'hmapctl create --help')");
	name = argv[optind];
	if (!valid_name(name))
		return usage_error("'%s' is not a table name (letters, digits, _ - .)", name);
	if (have != 7)
		return usage_error("create needs --key-size, --value-size and --capacity");
	if (require_bpffs(g.pin_root) || require_module())
		return EXIT_FAILURE;

	table_path(path, sizeof(path), name);
	co.pin_path = path;
	ret = hmap_table__create(&co, &t);
	switch (ret) {
	case 0:
		id = hmap_table__id(t);
		hmap_table__close(t);
		break;
	case -EEXIST:
		return fail("table '%s' already exists (%s): choose another name or run 'hmapctl rm %s'",
			    name, path, name);
	case -EOPNOTSUPP:
		return fail("variant 'incremental' needs hmap_rehash.ko: %s",
			    module_hint("hmap_rehash"));
	case -EINVAL:
		return fail("invalid table shape: key size 1..%u, value size 1..%u, capacity at least 1%s",
			    HMAP_KEY_SIZE_MAX, HMAP_VALUE_SIZE_MAX,
			    co.variant == HMAP_VARIANT_INCREMENTAL ?
			    ", and --max-capacity (if given) at least --capacity" : "");
	case -E2BIG:
		if (co.variant == HMAP_VARIANT_INCREMENTAL &&
		    (co.capacity > HMAP_MAX_ENTRIES || co.max_capacity > HMAP_MAX_ENTRIES))
			return fail("--capacity and --max-capacity can be at most %llu entries "
				    "(6.5 a bucket, 2^%u buckets)",
				    (unsigned long long)HMAP_MAX_ENTRIES, HMAP_MAX_BUCKETS_LOG2);
		return fail("table too large: key size at most %u, value size at most %u, and the "
			    "table's memory within hmap.ko's max_table_bytes "
			    "(/sys/module/hmap/parameters/max_table_bytes)",
			    HMAP_KEY_SIZE_MAX, HMAP_VALUE_SIZE_MAX);
	case -ENOMEM:
		return fail("not enough memory for a %llu-entry table (or the memory cgroup's limit)",
			    (unsigned long long)co.capacity);
	case -ENOSPC:
		return fail("hmap.ko has no free table id: remove unused tables ('hmapctl list')");
	default:
		return fail("cannot create table '%s': %s", name, perm_hint(ret, NEED_CREATE) ?: strerror(-ret));
	}
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("name", name);
		jw_u64("id", id);
		jw_open("pinned", '[');
		jw_str(NULL, path);
		jw_close(']');
		jw_close('}');
	} else {
		printf("created table '%s' (id %u), pinned at %s\n", name, id, path);
	}
	return EXIT_SUCCESS;
}

const char *variant_name(__u64 v)
{
	return v == HMAP_VARIANT_INCREMENTAL ? "incremental" : v == HMAP_VARIANT_FIXED ? "fixed" : "?";
}

static void emit_stats(const struct hmap_stats *s)
{
	jw_u64("entries", s->entries);
	jw_u64("capacity", s->capacity);
	jw_u64("buckets", s->nbuckets);
	jw_u64("overflow_buckets", s->noverflow);
	jw_u64("overflow_used", s->overflow_used);
	jw_u64("lookups", s->lookups);
	jw_u64("hits", s->hits);
	jw_u64("updates", s->updates);
	jw_u64("deletes", s->deletes);
	jw_u64("enospc", s->enospc);
	jw_u64("ebusy", s->ebusy);
	jw_u64("einval", s->einval);
	if (s->grows || s->state) {
		jw_str("state", s->state ? "growing" : "stable");
		jw_u64("grows", s->grows);
		jw_u64("evacuated", s->evacuated);
		jw_u64("evac_ns", s->evac_ns);
	}
}

static bool pin_is(const struct pin *p, const struct hmap_info *info)
{
	return p->id == info->id && (!p->handle || !info->handle || p->handle == info->handle);
}

/* A pin's path: names are under the pin root, a path given with "pinned" as is. */
static void pin_path(char *buf, size_t n, const char *name)
{
	if (name[0] == '/')
		snprintf(buf, n, "%s", name);
	else
		table_path(buf, n, name);
}

/* Print one table: its pins (@pins, the pins of every table), shape and, if @full, stats. */
static void show_info(const struct hmap_info *info, const struct pins *pins, bool full)
{
	const char *name = NULL;
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < pins->n && !name; i++)
		if (pin_is(&pins->v[i], info))
			name = pins->v[i].name;
	if (g.json) {
		jw_open(NULL, '{');
		jw_u64("id", info->id);
		if (name)
			jw_str("name", name);
		else
			jw_null("name");
		jw_open("pinned", '[');
		for (i = 0; i < pins->n; i++) {
			if (!pin_is(&pins->v[i], info))
				continue;
			pin_path(path, sizeof(path), pins->v[i].name);
			jw_str(NULL, path);
		}
		jw_close(']');
		jw_str("variant", variant_name(info->variant));
		jw_u64("key_size", info->key_size);
		jw_u64("value_size", info->value_size);
		jw_u64("bytes", info->bytes);
		if (full) {
			emit_stats(&info->stats);
		} else {
			jw_u64("entries", info->stats.entries);
			jw_u64("capacity", info->stats.capacity);
		}
		jw_close('}');
		return;
	}
	printf("%u: %s  variant %s  key %uB  value %uB  entries %llu/%llu  memory %lluB\n",
	       info->id, name ?: "(not pinned)", variant_name(info->variant), info->key_size,
	       info->value_size, (unsigned long long)info->stats.entries,
	       (unsigned long long)info->stats.capacity, (unsigned long long)info->bytes);
	if (full) {
		const struct hmap_stats *s = &info->stats;

		for (i = 0; i < pins->n; i++) {
			if (!pin_is(&pins->v[i], info))
				continue;
			pin_path(path, sizeof(path), pins->v[i].name);
			printf("\tpinned %s\n", path);
		}
		if (!name)
			printf("\tnot pinned: kept alive by a program, a link or an open fd\n");
		printf("\tbuckets %u  overflow %u/%u\n", s->nbuckets, s->overflow_used, s->noverflow);
		printf("\tlookups %llu  hits %llu  updates %llu  deletes %llu\n",
		       (unsigned long long)s->lookups, (unsigned long long)s->hits,
		       (unsigned long long)s->updates, (unsigned long long)s->deletes);
		printf("\tenospc %llu  ebusy %llu  einval %llu\n", (unsigned long long)s->enospc,
		       (unsigned long long)s->ebusy, (unsigned long long)s->einval);
		if (s->grows || s->state)
			printf("\tstate %s  grows %llu  evacuated %llu  evacuating %lluns\n",
			       s->state ? "growing" : "stable", (unsigned long long)s->grows,
			       (unsigned long long)s->evacuated, (unsigned long long)s->evac_ns);
	}
}

/* show TABLE (@argv after the command). */
static int show_ref(int argc, char **argv, bool full)
{
	struct pins pins = {};
	struct table_ref ref;
	struct hmap_table *t;
	struct hmap_info info;
	__u64 id;
	int ret, used = parse_table_ref(argc, argv, &ref);

	if (used < 0)
		return EXIT_USAGE;
	if (used != argc)
		return usage_error("%s takes one TABLE (see 'hmapctl %s --help')",
				   current->name, current->name);
	ret = open_table_ref(&ref, false, &t);
	if (ret)
		return ret;
	id = hmap_table__id(t);
	ret = hmap_table__info(t, &info);
	hmap_table__close(t);
	if (ret)
		return fail("cannot read table id %llu: %s", (unsigned long long)id, strerror(-ret));
	pins_read(&pins);
	if (ref.kind == TABLE_BY_PATH) {
		/* A pin outside the pin root: show it, with any in the root. */
		struct pin *v = realloc(pins.v, (pins.n + 1) * sizeof(*v));

		if (v) {
			pins.v = v;
			v[pins.n] = (struct pin){ .id = info.id };
			snprintf(v[pins.n].name, sizeof(v[pins.n].name), "%s", ref.path);
			pins.n++;
		}
	}
	/* The name it was asked by comes first, if pinned under several. */
	for (size_t i = 1; i < pins.n && ref.kind != TABLE_BY_ID; i++) {
		struct pin tmp = pins.v[0];

		if (strcmp(pins.v[i].name, ref.kind == TABLE_BY_PATH ? ref.path : ref.label))
			continue;
		pins.v[0] = pins.v[i];
		pins.v[i] = tmp;
		break;
	}
	show_info(&info, &pins, full);
	free(pins.v);
	return EXIT_SUCCESS;
}

int do_list(int argc, char **argv)
{
	HMAP_OPTS(hmap_table_open_opts, oo, .rdonly = true);
	int ret = EXIT_SUCCESS, err, n = 0;
	struct pins pins;
	__u32 id = 0;

	if (want_help(argc, argv))
		return help(current);
	if (argc > 1)
		return usage_error("list takes no arguments");
	if (require_module())
		return EXIT_FAILURE;
	pins_read(&pins);
	if (g.json)
		jw_open(NULL, '[');
	/* By id, as bpftool map list: a table only a program holds has no pin. */
	while (!(err = libhmap_next_id(id, &id))) {
		struct hmap_table *t;
		struct hmap_info info;

		err = hmap_table__open_id(id, &oo, &t);
		if (err == -ENOENT)
			continue;	/* freed since */
		if (err) {
			ret = fail("cannot open table id %u: %s", id, common_hint(err) ?: strerror(-err));
			continue;
		}
		err = hmap_table__info(t, &info);
		hmap_table__close(t);
		if (err) {
			ret = fail("cannot read table id %u: %s", id, strerror(-err));
			continue;
		}
		show_info(&info, &pins, false);
		n++;
	}
	if (err != -ENOENT)
		ret = fail("cannot list tables: %s", common_hint(err) ?: strerror(-err));
	free(pins.v);
	if (g.json)
		jw_close(']');
	else if (!n && !ret)
		printf("no tables (none pinned under %s or held by a program): create one with "
		       "'hmapctl create'\n", g.pin_root);
	return ret;
}

int do_show(int argc, char **argv)
{
	if (want_help(argc, argv))
		return help(current);
	return show_ref(argc - 1, argv + 1, true);
}

int do_stats(int argc, char **argv)
{
	struct table_ref ref;
	char path[PATH_MAX];
	int ret, used;

	if (want_help(argc, argv))
		return help(current);
	used = parse_table_ref(argc - 1, argv + 1, &ref);
	if (used < 0)
		return EXIT_USAGE;
	if (used != argc - 1)
		return usage_error("stats takes one TABLE (see 'hmapctl stats --help')");
	/* Refresh the descriptor's snapshot first, so bpftool map dump agrees
	 * (a table given by id: its live figures only). */
	table_ref_path(&ref, path, sizeof(path));
	if (*path) {
		struct hmap_table *t;

		ret = open_table_ref(&ref, false, &t);	/* checks it, says what is wrong */
		if (ret)
			return ret;
		hmap_table__close(t);
		ret = hmap_desc__refresh(path);
		if (ret)
			return fail("cannot refresh the stats in %s: %s", path,
				    common_hint(ret) ?: strerror(-ret));
	}
	return show_ref(argc - 1, argv + 1, true);
}

int do_rm(int argc, char **argv)
{
	struct hmap_desc d;
	char path[PATH_MAX];
	const char *name;
	int ret = one_name(argc, argv, &name);

	if (ret)
		return ret < 0 ? EXIT_SUCCESS : ret;
	/* Only a checked descriptor is unpinned: anything else pinned here stays. */
	if (get_desc(name, &d, false))
		return EXIT_FAILURE;
	table_path(path, sizeof(path), name);
	if (unlink(path))
		return fail("cannot unpin %s: %s", path, strerror(errno));
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("removed", name);
		jw_u64("id", d.id);
		jw_close('}');
	} else {
		printf("removed '%s' (id %llu); it is freed once no program or fd uses it\n", name,
		       (unsigned long long)d.id);
	}
	return EXIT_SUCCESS;
}
