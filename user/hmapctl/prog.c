// SPDX-License-Identifier: GPL-2.0
/* hmapctl prog load and prog unload. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"

static int do_prog_load(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pin", required_argument, NULL, 'p' },
		{ "table", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const char *renames[32];
	struct hmap_bind_error bad;
	int ntables = 0, c, ret, npins = 0;
	char pin_dir[PATH_MAX] = "", objname[128], path[PATH_MAX], what[256];
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = g.pin_root);
	struct bpf_program *prog;
	struct bpf_object *obj;
	const char *file;

	optind = 0;	/* reinitialise getopt (main parsed with "+") */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			snprintf(pin_dir, sizeof(pin_dir), "%s", optarg);
			break;
		case 't':
			if (!strchr(optarg, '=') || optarg[0] == '=' || !strchr(optarg, '=')[1] ||
			    ntables == 32)
				return usage_error("--table takes MAP=NAME, not '%s'", optarg);
			renames[ntables++] = optarg;
			break;
		case 'h':
			return help(current);
		default:
			return usage_error("see 'hmapctl prog load --help'");
		}
	}
	if (optind != argc - 1)
		return usage_error("prog load takes one OBJ file (see 'hmapctl prog load --help')");
	file = argv[optind];
	if (access(file, R_OK))
		return fail("cannot read %s: %s", file, strerror(errno));
	snprintf(objname, sizeof(objname), "%s", strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
	if (strstr(objname, ".bpf.o"))
		*strstr(objname, ".bpf.o") = 0;
	else if (strstr(objname, ".o"))
		*strstr(objname, ".o") = 0;
	if (!pin_dir[0])
		snprintf(pin_dir, sizeof(pin_dir), PROG_ROOT "/%s", objname);
	if (require_bpffs(g.pin_root) || require_module())
		return EXIT_FAILURE;

	obj = bpf_object__open_file(file, &oo);
	if (!obj)
		return fail("cannot open BPF object %s: %s", file, strerror(errno));
	ret = hmap_object__fix_kptr_tags(obj);
	if (ret) {
		ret = fail("cannot probe this kernel's kptr tags for %s: %s", file, strerror(-ret));
		goto out;
	}

	/* Bind each HMAP_TABLE map to its table, checking the sizes. */
	ret = hmap_object__bind_tables(obj, g.pin_root, renames, ntables, &bad);
	if (ret == -ESRCH) {
		ret = fail("%s has no map '%s' (--table)", file, bad.map);
		goto out;
	} else if (ret == -ENOENT) {
		ret = fail("map '%s' of %s needs table '%s', which does not exist: run "
			   "'hmapctl create %s --key-size %lld --value-size %lld --capacity N'",
			   bad.map, file, bad.table, bad.table, bad.want_key, bad.want_value);
		goto out;
	} else if (ret == -ERANGE) {
		ret = fail("map '%s' of %s expects key %lld bytes and value %lld, but table '%s' has "
			   "key %llu and value %llu: create a table with matching sizes",
			   bad.map, file, bad.want_key, bad.want_value, bad.table, bad.have_key,
			   bad.have_value);
		goto out;
	} else if (ret) {
		ret = fail("cannot bind the tables of %s: %s", file, strerror(-ret));
		goto out;
	}

	ret = bpf_object__load(obj);
	if (ret) {
		ret = fail("loading %s failed (%s): run with -v for the verifier log", file,
			   perm_hint(ret, NEED_PROG) ?: strerror(-ret));
		goto out;
	}
	if (require_bpffs(pin_dir)) {
		ret = EXIT_FAILURE;
		goto out;
	}
	if (g.json)
		jw_open(NULL, '[');
	bpf_object__for_each_program(prog, obj) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_program__name(prog));
		/* Replace an older load's program; never anything else. */
		if (!access(path, F_OK)) {
			if (pinned_kind(path, what, sizeof(what)) != OBJ_PROG) {
				ret = fail("%s is %s, not a program: hmapctl leaves it alone; load with "
					   "another --pin DIR", path, what);
				goto out_unpin;
			}
			unlink(path);
		}
		ret = bpf_program__pin(prog, path);
		if (ret) {
			ret = fail("cannot pin program at %s: %s", path, strerror(-ret));
			goto out_unpin;
		}
		npins++;
		if (g.json) {
			jw_open(NULL, '{');
			jw_str("program", bpf_program__name(prog));
			jw_str("pinned", path);
			jw_close('}');
		} else {
			printf("loaded %s, pinned at %s\n", bpf_program__name(prog), path);
		}
	}
	ret = npins ? EXIT_SUCCESS : fail("%s has no programs", file);
	if (g.json)
		jw_close(']');
	goto out;
out_unpin:
	/* Nothing half-loaded stays pinned: unpin what this run pinned. */
	bpf_object__for_each_program(prog, obj) {
		if (!npins--)
			break;
		snprintf(path, sizeof(path), "%s/%s", pin_dir, bpf_program__name(prog));
		unlink(path);
	}
out:
	bpf_object__close(obj);
	return ret;
}

/* PROG: a pinned path, or a program name under PROG_ROOT/<object>/. */
int prog_fd_by_ref(const char *ref, char *name, size_t n)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;
	int fd;

	if (strchr(ref, '/')) {
		snprintf(name, n, "%s", strrchr(ref, '/') + 1);
		fd = bpf_obj_get(ref);
		if (fd < 0)
			return fail("no pinned program at %s: load it with 'hmapctl prog load'", ref), -1;
		return fd;
	}
	snprintf(name, n, "%s", ref);
	dir = opendir(PROG_ROOT);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), PROG_ROOT "/%s/%s", de->d_name, ref);
		if (access(path, F_OK) == 0) {
			closedir(dir);
			fd = bpf_obj_get(path);
			if (fd < 0)
				return fail("cannot open %s: %s", path, strerror(errno)), -1;
			return fd;
		}
	}
	if (dir)
		closedir(dir);
	return fail("no loaded program named '%s' under %s: run 'hmapctl prog load OBJ' first",
		    ref, PROG_ROOT), -1;
}

/*
 * prog unload NAME|DIR: remove the program pins 'prog load' made, and
 * nothing else.  DIR must be a directory directly under PROG_ROOT (where
 * 'prog load' pins, NAME being PROG_ROOT/NAME); in it only pinned programs
 * are unlinked, anything else is left in place and named.
 */
static int do_prog_unload(int argc, char **argv)
{
	char dir[PATH_MAX], root[PATH_MAX], path[PATH_MAX * 2], what[256];
	struct dirent *de;
	int n = 0, kept = 0;
	char *slash;
	DIR *d;

	if (want_help(argc, argv))
		return help(current);
	if (argc != 2)
		return usage_error("usage: hmapctl prog unload OBJNAME|DIR");
	if (!strchr(argv[1], '/')) {
		if (!valid_name(argv[1]))
			return usage_error("'%s' is not an object name (letters, digits, _ - .): "
					   "see 'ls %s'", argv[1], PROG_ROOT);
		snprintf(dir, sizeof(dir), PROG_ROOT "/%s", argv[1]);
	} else if (!realpath(argv[1], dir)) {
		return fail("no programs loaded at %s (%s): see 'ls %s'", argv[1], strerror(errno),
			    PROG_ROOT);
	}
	if (!realpath(PROG_ROOT, root))
		return fail("no programs loaded as '%s': nothing is under %s", argv[1], PROG_ROOT);
	slash = strrchr(dir, '/');
	if (!slash || (size_t)(slash - dir) != strlen(root) || strncmp(dir, root, slash - dir) ||
	    !valid_name(slash + 1))
		return fail("%s is not a directory of hmapctl's 'prog load': hmapctl unloads only what it "
			    "pinned under %s (remove other pins with 'rm')", argv[1], PROG_ROOT);
	d = opendir(dir);
	if (!d)
		return fail("no programs loaded as '%s' (%s): see 'ls %s'", argv[1], dir, PROG_ROOT);
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (pinned_kind(path, what, sizeof(what)) != OBJ_PROG) {
			fprintf(stderr, "Warning: left %s in place: it is %s, not a program\n", path,
				what);
			kept++;
			continue;
		}
		if (unlink(path) == 0)
			n++;
		else
			kept++;
	}
	closedir(d);
	if (!kept && rmdir(dir))
		return fail("cannot remove %s: %s", dir, strerror(errno));
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("unloaded", dir);
		jw_u64("programs", n);
		jw_u64("left", kept);
		jw_close('}');
	} else {
		printf("unpinned %d program%s from %s; attached ones keep running until detached\n",
		       n, n == 1 ? "" : "s", dir);
	}
	return EXIT_SUCCESS;
}

int do_prog(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("prog what? 'prog load' or 'prog unload' (see 'hmapctl prog --help')");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return help(current);
	if (!strcmp(argv[1], "load"))
		return do_prog_load(argc - 1, argv + 1);
	if (!strcmp(argv[1], "unload"))
		return do_prog_unload(argc - 1, argv + 1);
	return usage_error("unknown prog command '%s': 'prog load' or 'prog unload'", argv[1]);
}
