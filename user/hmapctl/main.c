// SPDX-License-Identifier: GPL-2.0
/*
 * hmapctl: create, inspect and remove hmap tables; load BPF programs that use
 * them and attach those to XDP, tc and fentry.  Modelled on bpftool: one
 * subcommand table, --help at every level, -j/-p for JSON.  Output for people
 * goes to stdout; errors go to stderr as "Error: ..." with what to do next
 * (and, with -j, also as {"error": ...} on stdout).  Exit status: 0 success,
 * 1 failure, 2 usage error.
 */

#define _GNU_SOURCE
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "common.h"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !g.verbose)
		return 0;
	if (!g.verbose && level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static const struct cmd cmds[] = {
	{ "create", do_create,
	  "NAME --key-size N --value-size N --capacity N [--variant fixed|incremental] [--max-capacity N]",
	  "Create a table and pin its descriptor at <pin root>/NAME.  The fixed variant\n"
	  "holds --capacity entries and refuses more (-ENOSPC); 'incremental' (needs\n"
	  "hmap_rehash.ko) starts at --capacity and grows up to --max-capacity." },
	{ "list", do_list, "",
	  "List every table by id, as 'bpftool map list' does, with its pin under the pin\n"
	  "root; a table that only a program, link or fd keeps alive is '(not pinned)'.\n"
	  "Anything else pinned under the pin root is not a table and is not listed." },
	{ "show", do_show, "TABLE",
	  "Show a table's shape, memory, statistics and pins.\n" TABLE_REF_HELP "." },
	{ "stats", do_stats, "TABLE",
	  "Show statistics, and refresh the snapshot in the descriptor map that\n"
	  "'bpftool map dump pinned <pin root>/NAME' shows (by id: live figures only).\n"
	  TABLE_REF_HELP "." },
	{ "lookup", do_elem, "TABLE key KEY [--btf OBJ]",
	  "Look a key up, zero-copy.  KEY is bytes as bpftool reads them: one word a byte,\n"
	  "decimal ('10 0 0 1'), 0x-prefixed hex or 0-prefixed octal, or hex after the\n"
	  "word 'hex' ('hex 0a 00 00 01').  With --btf OBJ, typed fields from the object's\n"
	  "HMAP_TABLE types instead: 'saddr=10.0.0.1 dport=53 proto=17' (unnamed fields\n"
	  "are zero; *addr fields take IP addresses; a non-struct key is one bare number)." },
	{ "update", do_elem, "TABLE key KEY value VALUE [any|noexist|exist] [--btf OBJ]",
	  "Insert or replace through the kernel (the same locks as BPF writers).\n"
	  "KEY and VALUE as for lookup." },
	{ "delete", do_elem, "TABLE key KEY [--btf OBJ]", "Delete a key through the kernel." },
	{ "dump", do_dump, "TABLE [--count] [--consistent] [--top N [--sort FIELD]] [--btf OBJ]",
	  "Print every entry, reading the table's memory directly (no syscall per entry).\n"
	  "--count only counts.  --consistent re-reads a bucket chain a writer was changing,\n"
	  "so each chain is a consistent snapshot.  --btf OBJ prints typed fields.\n"
	  "--top N prints the N entries with the largest value of one integer: with --btf,\n"
	  "--sort names a field of the value type ('a.b' inside nested structs; default its\n"
	  "first member); without, --sort OFFSET:SIZE says which bytes (SIZE 1, 2, 4 or 8,\n"
	  "little-endian), by default the whole value if it is 1, 2, 4 or 8 bytes long." },
	{ "rm", do_rm, "NAME",
	  "Unpin a table.  It is freed once no loaded program, fd or mapping uses it." },
	{ "prog", do_prog, "load OBJ [--pin DIR] [--table MAP=NAME ...] | unload OBJNAME|DIR",
	  "load: load a BPF object.  Its HMAP_TABLE maps are bound to the tables of the\n"
	  "same name (or as --table says), after checking key and value sizes against the\n"
	  "object's BTF.  Programs are pinned under DIR (default " PROG_ROOT "/<object>).\n"
	  "unload: remove those pins (attached programs run until detached)." },
	{ "attach", do_attach, "xdp DEV PROG [--mode native|generic] | tc DEV ingress|egress PROG | fentry PROG",
	  "Attach a loaded program (a name under " PROG_ROOT ", or a pinned path).\n"
	  "XDP and fentry links are pinned under " LINK_ROOT "; tc filters live on the\n"
	  "device's clsact qdisc.  Either way the attachment outlives hmapctl." },
	{ "detach", do_detach, "xdp DEV | tc DEV ingress|egress | fentry PROG",
	  "Undo 'hmapctl attach'." },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: hmapctl [OPTIONS] COMMAND [ARGS]\n\n"
		"Manage hmap tables (hash tables in kernel memory for BPF programs).\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "  %-8s %s\n", "help", "[COMMAND]");
	fprintf(f, "\n  " TABLE_REF_HELP "\n");
	fprintf(f, "\nOptions (anywhere on the line):\n"
		"  -j, --json          JSON output\n"
		"  -p, --pretty        indented JSON output (implies -j)\n"
		"  -v, --verbose       show libbpf and verifier messages\n"
		"      --pin-root DIR  where table descriptors are pinned (default %s)\n"
		"  -V, --version       hmapctl's and libhmap's versions\n"
		"  -h, --help          this text; 'hmapctl COMMAND --help' for one command\n\n"
		"Commands may be abbreviated to any unique prefix.\n"
		"The design of each example program is described at the top of its bpf/*.bpf.c.\n",
		HMAP_PIN_ROOT_DEFAULT);
}

/* The command @name names: exactly, or as the unique prefix of one. */
static const struct cmd *find_cmd(const char *name)
{
	const struct cmd *found = NULL;
	size_t i, n = 0, len = strlen(name);

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(cmds[i].name, name))
			return &cmds[i];
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (len && !strncmp(cmds[i].name, name, len)) {
			found = &cmds[i];
			n++;
		}
	}
	if (n == 1)
		return found;
	if (n > 1) {
		char list[256] = "";

		for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
			if (!strncmp(cmds[i].name, name, len))
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 list[0] ? ", " : "", cmds[i].name);
		usage_error("ambiguous command '%s': %s", name, list);
	} else {
		usage_error("unknown command '%s' (see 'hmapctl --help')", name);
	}
	return NULL;
}

/*
 * Global options after the command: taken out wherever they are, as bpftool
 * does, when they are exactly one of these (the command's own options, such
 * as prog load's --pin, are left to it).  Returns the new argc, or -1.
 */
static int take_global_opts(int argc, char **argv)
{
	int out = 0;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
			g.json = true;
		} else if (!strcmp(a, "-p") || !strcmp(a, "--pretty")) {
			g.json = g.pretty = true;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			g.verbose = true;
		} else if (!strncmp(a, "--pin-root=", 11)) {
			g.pin_root = a + 11;
		} else if (!strcmp(a, "--pin-root")) {
			if (++i >= argc) {
				usage_error("--pin-root takes a directory");
				return -1;
			}
			g.pin_root = argv[i];
		} else {
			argv[out++] = argv[i];
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pretty", no_argument, NULL, 'p' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "pin-root", required_argument, NULL, 'r' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	const struct cmd *c;
	bool version = false;
	int opt, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	opterr = 0;
	/* Options before the command ("+": stop at it). */
	while ((opt = getopt_long(argc, argv, "+jpvVh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			g.json = true;
			break;
		case 'p':
			g.json = g.pretty = true;
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'r':
			g.pin_root = optarg;
			break;
		case 'V':
			version = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			if (optopt == 'r')
				return usage_error("--pin-root takes a directory");
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	argc -= optind;
	argv += optind;
	if (version) {
		argc = take_global_opts(argc, argv);	/* hmapctl --version -j */
		if (argc < 0)
			return EXIT_USAGE;
		if (!g.json) {
			printf("hmapctl %s\nlibhmap %s\n", HMAPCTL_VERSION, libhmap_version());
			return EXIT_SUCCESS;
		}
		jw_set_pretty(g.pretty);
		jw_open(NULL, '{');
		jw_str("version", HMAPCTL_VERSION);
		jw_str("libhmap", libhmap_version());
		jw_close('}');
		return EXIT_SUCCESS;
	}
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	argc = take_global_opts(argc, argv);
	if (argc < 0)
		return EXIT_USAGE;
	jw_set_pretty(g.pretty);
	opterr = 1;
	libbpf_set_print(libbpf_print);
	if (!strcmp(argv[0], "help")) {
		if (argc == 1) {
			usage(stdout);
			return EXIT_SUCCESS;
		}
		c = find_cmd(argv[1]);
		return c ? help(c) : EXIT_USAGE;
	}
	c = find_cmd(argv[0]);
	if (!c)
		return EXIT_USAGE;
	current = c;
	ret = c->fn(argc, argv);
	if (g.json)
		jw_finish();
	return ret;
}
