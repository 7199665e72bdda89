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
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <arpa/inet.h>
#include <endian.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "libhmap.h"

#define BPF_FS_MAGIC		0xcafe4a11
#define BPFFS			"/sys/fs/bpf"
#define PROG_ROOT		BPFFS "/hmap-progs"
#define LINK_ROOT		BPFFS "/hmap-links"
/* tcx attach points (6.6); Debian 12's UAPI headers predate them. */
#define HMAP_BPF_TCX_INGRESS	46
#define HMAP_BPF_TCX_EGRESS	47
#define HMAP_TC_HANDLE		0x484d	/* "HM" */
#define HMAP_TC_PRIO		0x484d
#define EXIT_USAGE		2

static struct {
	bool json;
	bool pretty;
	bool verbose;
	const char *pin_root;
} g = { .pin_root = HMAP_PIN_ROOT_DEFAULT };

/* ---- JSON writer ------------------------------------------------------------ */

static int jw_depth;
static bool jw_need_comma[32];

static void jw_newline(void)
{
	if (g.pretty) {
		putchar('\n');
		for (int i = 0; i < jw_depth; i++)
			fputs("    ", stdout);
	}
}

static void jw_sep(const char *key)
{
	if (jw_need_comma[jw_depth])
		putchar(',');
	jw_need_comma[jw_depth] = true;
	if (jw_depth)
		jw_newline();
	if (key)
		printf(g.pretty ? "\"%s\": " : "\"%s\":", key);
}

static void jw_open(const char *key, char c)
{
	jw_sep(key);
	putchar(c);
	jw_need_comma[++jw_depth] = false;
}

static void jw_close(char c)
{
	bool had = jw_need_comma[jw_depth];

	jw_depth--;
	if (had)
		jw_newline();
	putchar(c);
	if (!jw_depth)
		putchar('\n');
}

static void jw_str(const char *key, const char *v)
{
	jw_sep(key);
	putchar('"');
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			printf("\\%c", *v);
		else if ((unsigned char)*v < 0x20)
			printf("\\u%04x", *v);
		else
			putchar(*v);
	}
	putchar('"');
}

static void jw_u64(const char *key, unsigned long long v)
{
	jw_sep(key);
	printf("%llu", v);
}

static void jw_bytes(const char *key, const __u8 *p, __u32 n)
{
	jw_open(key, '[');
	for (__u32 i = 0; i < n; i++) {
		char b[8];

		snprintf(b, sizeof(b), "0x%02x", p[i]);
		jw_str(NULL, b);
	}
	jw_close(']');
}

/* ---- errors ------------------------------------------------------------------ */

__attribute__((format(printf, 1, 2)))
static int fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "Error: %s\n", msg);
	if (g.json) {
		jw_depth = 0;
		jw_need_comma[0] = false;
		jw_open(NULL, '{');
		jw_str("error", msg);
		jw_close('}');
	}
	return EXIT_FAILURE;
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("hmapctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

/* A message for errno values every command can hit. */
static const char *common_hint(int err)
{
	switch (err) {
	case -EPERM:
	case -EACCES:
		return "permission denied: hmapctl needs root (CAP_BPF and CAP_SYS_ADMIN)";
	default:
		return NULL;
	}
}

/* The running kernel's release: modules are built per kernel, in build/kmod/<release>. */
static const char *kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		return "$(uname -r)";
	return u.release;
}

static int require_module(void)
{
	if (access(HMAP_DEV_PATH, F_OK) == 0)
		return 0;
	return fail("hmap.ko is not loaded (no %s): run 'insmod build/kmod/%s/hmap.ko' "
		    "(or 'modprobe hmap' if installed)", HMAP_DEV_PATH, kernel_release());
}

/* Make sure bpffs is mounted at /sys/fs/bpf (mount it if not) and @dir exists. */
static int require_bpffs(const char *dir)
{
	struct statfs st;
	char tmp[PATH_MAX];

	if (statfs(BPFFS, &st) || st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", BPFFS, "bpf", 0, "mode=0700"))
			return fail("bpffs is not mounted at %s and mounting it failed (%s): "
				    "run 'mount -t bpf bpf %s' as root", BPFFS, strerror(errno), BPFFS);
	}
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		mkdir(tmp, 0700);
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return fail("cannot create %s: %s", tmp, strerror(errno));
	if (statfs(tmp, &st) || st.f_type != BPF_FS_MAGIC)
		return fail("%s is not on bpffs: pass a --pin-root under %s", tmp, BPFFS);
	return 0;
}

static int valid_name(const char *name)
{
	if (!*name || strlen(name) > 200 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
			return 0;
	return 1;
}

static void table_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", g.pin_root, name);
}

/* Read the descriptor of table @name. */
static int get_desc(const char *name, struct hmap_desc *d, bool quiet)
{
	char path[PATH_MAX];
	int ret;

	if (!valid_name(name))
		return quiet ? -EINVAL : usage_error("'%s' is not a table name (letters, digits, _ - .)", name);
	table_path(path, sizeof(path), name);
	ret = hmap_desc__read_pinned(path, d);
	if (!ret && !d->id)
		ret = -ENOENT;
	if (!ret || quiet)
		return ret;
	if (ret == -ENOENT)
		return fail("no table named '%s' under %s: see 'hmapctl list'", name, g.pin_root);
	if (ret == -EPROTOTYPE)
		return fail("%s is not an hmap table descriptor (another BPF object is pinned there)",
			    path);
	return fail("cannot open %s: %s", path, common_hint(ret) ?: strerror(-ret));
}

static int open_table(const char *name, struct hmap_table **t)
{
	char path[PATH_MAX];
	int ret;

	if (require_module())
		return EXIT_FAILURE;
	if (!valid_name(name))
		return usage_error("'%s' is not a table name (letters, digits, _ - .)", name);
	table_path(path, sizeof(path), name);
	ret = hmap_table__open_pinned(path, NULL, t);
	if (ret == -ENOENT && access(path, F_OK))
		return fail("no table named '%s' under %s: see 'hmapctl list'", name, g.pin_root);
	if (ret == -EPROTO || ret == -EPROTOTYPE)
		return fail("table '%s': hmap.ko and hmapctl disagree on the shared-memory ABI: "
			    "rebuild and reload both", name);
	if (ret)
		return fail("cannot open table '%s': %s", name, common_hint(ret) ?: strerror(-ret));
	return 0;
}

/* ---- typed output through BTF ------------------------------------------------------- */

struct typed {
	struct btf *btf;
	__s32 key_id, value_id;
	char buf[8192];
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static void ty_put(struct typed *ty, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (ty->len >= sizeof(ty->buf) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(ty->buf + ty->len, sizeof(ty->buf) - ty->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		ty->len += (size_t)n < sizeof(ty->buf) - ty->len ? (size_t)n : sizeof(ty->buf) - 1 - ty->len;
}

/* True if a typedef in @id's chain has @name (e.g. __be16). */
static bool ty_is(const struct btf *btf, __u32 id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_typedef(t) || btf_is_mod(t))) {
		if (btf_is_typedef(t) && !strcmp(btf__name_by_offset(btf, t->name_off), name))
			return true;
		t = btf__type_by_id(btf, t->type);
	}
	return false;
}

/*
 * Print a value of BTF type @id: integers in decimal (__be16/__be32/__be64
 * byte-swapped), byte arrays in hex, and members named *addr that hold 4 or
 * 16 bytes as IPv4/IPv6 addresses (IPv4-mapped IPv6 as ::ffff:a.b.c.d).
 */
static void ty_value(struct typed *ty, __u32 id, const __u8 *p, const char *member)
{
	__s32 rid = btf__resolve_type(ty->btf, id);
	const struct btf_type *t = btf__type_by_id(ty->btf, rid);
	bool is_addr = member && strlen(member) >= 4 && !strcmp(member + strlen(member) - 4, "addr");
	char ip[INET6_ADDRSTRLEN];

	if (!t) {
		ty_put(ty, "?");
		return;
	}
	if (btf_is_int(t) || btf_is_enum(t)) {
		__u32 sz = t->size;
		unsigned long long v = 0;

		memcpy(&v, p, sz > 8 ? 8 : sz);
		if (is_addr && sz == 4) {
			ty_put(ty, "%s", inet_ntop(AF_INET, p, ip, sizeof(ip)));
			return;
		}
		if (ty_is(ty->btf, id, "__be16"))
			v = ntohs(v);
		else if (ty_is(ty->btf, id, "__be32"))
			v = ntohl(v);
		else if (ty_is(ty->btf, id, "__be64"))
			v = be64toh(v);
		if (btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED) && sz < 8 &&
		    (v >> (sz * 8 - 1)) & 1)
			v |= ~0ULL << (sz * 8);
		if (btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED))
			ty_put(ty, "%lld", (long long)v);
		else
			ty_put(ty, "%llu", v);
	} else if (btf_is_array(t)) {
		const struct btf_array *a = btf_array(t);
		__s64 esz = btf__resolve_size(ty->btf, a->type);

		if (esz == 1 && is_addr && (a->nelems == 4 || a->nelems == 16)) {
			if (a->nelems == 4)
				inet_ntop(AF_INET, p, ip, sizeof(ip));
			else if (!memcmp(p, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12))
				snprintf(ip, sizeof(ip), "%u.%u.%u.%u", p[12], p[13], p[14], p[15]);
			else
				inet_ntop(AF_INET6, p, ip, sizeof(ip));
			ty_put(ty, "%s", ip);
		} else if (esz == 1) {
			for (__u32 i = 0; i < a->nelems; i++)
				ty_put(ty, "%02x", p[i]);
		} else {
			ty_put(ty, "[");
			for (__u32 i = 0; i < a->nelems && esz > 0; i++) {
				ty_put(ty, i ? ", " : "");
				ty_value(ty, a->type, p + i * esz, NULL);
			}
			ty_put(ty, "]");
		}
	} else if (btf_is_struct(t) || btf_is_union(t)) {
		const struct btf_member *m = btf_members(t);
		bool first = true;

		ty_put(ty, "{");
		for (__u32 i = 0; i < btf_vlen(t); i++, m++) {
			const char *name = btf__name_by_offset(ty->btf, m->name_off);

			if (!strncmp(name, "__pad", 5) || btf_member_bitfield_size(t, i))
				continue;
			ty_put(ty, "%s%s=", first ? "" : " ", name);
			first = false;
			ty_value(ty, m->type, p + btf_member_bit_offset(t, i) / 8, name);
		}
		ty_put(ty, "}");
	} else {
		ty_put(ty, "<%s>", btf_kind(t) == BTF_KIND_PTR ? "ptr" : "?");
	}
}

static int typed_open(struct typed *ty, const char *obj, const char *table,
		      const struct hmap_shm_header *shm)
{
	memset(ty, 0, sizeof(*ty));
	ty->btf = btf__parse(obj, NULL);
	if (!ty->btf)
		return fail("cannot read BTF from %s: %s", obj, strerror(errno));
	if (hmap_btf__table_types(ty->btf, table, &ty->key_id, &ty->value_id))
		return fail("%s declares no HMAP_TABLE(%s, ...): pass the object that uses table '%s'",
			    obj, table, table);
	if (btf__resolve_size(ty->btf, ty->key_id) != shm->key_size ||
	    btf__resolve_size(ty->btf, ty->value_id) != shm->value_size)
		return fail("%s's types for '%s' are %lld+%lld bytes, the table's are %u+%u",
			    obj, table, (long long)btf__resolve_size(ty->btf, ty->key_id),
			    (long long)btf__resolve_size(ty->btf, ty->value_id),
			    shm->key_size, shm->value_size);
	return 0;
}

static const char *typed_fmt(struct typed *ty, __s32 id, const void *data, size_t size)
{
	ty->len = 0;
	ty->buf[0] = 0;
	ty_value(ty, id, data, NULL);
	return ty->buf;
}

static void typed_close(struct typed *ty)
{
	btf__free(ty->btf);
}

/* Parse one scalar or byte array of type @id from @text into @p. */
static int ty_parse_one(struct typed *ty, __u32 id, const char *member, const char *text, __u8 *p)
{
	__s32 rid = btf__resolve_type(ty->btf, id);
	const struct btf_type *t = btf__type_by_id(ty->btf, rid);
	bool is_addr = member && strlen(member) >= 4 && !strcmp(member + strlen(member) - 4, "addr");

	if (t && (btf_is_int(t) || btf_is_enum(t)) && t->size <= 8) {
		unsigned long long v;
		char *end;

		if (is_addr && t->size == 4 && inet_pton(AF_INET, text, p) == 1)
			return 0;
		errno = 0;
		v = text[0] == '-' ? (unsigned long long)strtoll(text, &end, 0) : strtoull(text, &end, 0);
		if (errno || *end || !*text ||
		    (t->size < 8 && text[0] != '-' && v >> (t->size * 8)))
			return usage_error("'%s' is not a %u-byte number", text, t->size);
		if (ty_is(ty->btf, id, "__be16"))
			v = htons(v);
		else if (ty_is(ty->btf, id, "__be32"))
			v = htonl(v);
		else if (ty_is(ty->btf, id, "__be64"))
			v = htobe64(v);
		memcpy(p, &v, t->size);
		return 0;
	}
	if (t && btf_is_array(t) && btf__resolve_size(ty->btf, btf_array(t)->type) == 1) {
		__u32 n = btf_array(t)->nelems;

		if (is_addr && n == 16 && inet_pton(AF_INET6, text, p) == 1)
			return 0;
		if (is_addr && n == 16 && inet_pton(AF_INET, text, p + 12) == 1) {
			memset(p, 0, 10);
			p[10] = p[11] = 0xff;	/* IPv4-mapped */
			return 0;
		}
		if (is_addr && n == 4 && inet_pton(AF_INET, text, p) == 1)
			return 0;
		if (strlen(text) != n * 2)
			return usage_error("'%s' is not %u hex bytes%s", text, n,
					   is_addr ? " or an IP address" : "");
		for (__u32 i = 0; i < n; i++) {
			char b[3] = { text[2 * i], text[2 * i + 1], 0 }, *end;

			p[i] = strtoul(b, &end, 16);
			if (*end)
				return usage_error("'%s' is not hex", text);
		}
		return 0;
	}
	return usage_error("cannot parse a value of this field's type from '%s': use hex bytes", text);
}

/*
 * Parse typed fields from argv[*i..] into @out (zeroed first): "field=value"
 * tokens for a struct, or one bare value otherwise.  Stops at a keyword.
 */
static int parse_typed(struct typed *ty, __s32 id, int argc, char **argv, int *i, __u8 *out,
		       size_t size, const char *what)
{
	const struct btf_type *t = btf__type_by_id(ty->btf, btf__resolve_type(ty->btf, id));
	int got = 0;

	memset(out, 0, size);
	if (!btf_is_struct(t)) {
		if (*i >= argc)
			return usage_error("%s needs a value", what);
		return ty_parse_one(ty, id, NULL, argv[(*i)++], out);
	}
	for (; *i < argc; (*i)++) {
		const char *a = argv[*i], *eq = strchr(a, '=');
		const struct btf_member *m = btf_members(t);
		__u32 k;

		if (!strcmp(a, "value") || !strcmp(a, "any") || !strcmp(a, "noexist") ||
		    !strcmp(a, "exist"))
			break;
		if (!eq)
			return usage_error("%s field '%s' is not NAME=VALUE", what, a);
		for (k = 0; k < btf_vlen(t); k++, m++) {
			const char *name = btf__name_by_offset(ty->btf, m->name_off);

			if (strlen(name) == (size_t)(eq - a) && !strncmp(name, a, eq - a))
				break;
		}
		if (k == btf_vlen(t) || btf_member_bitfield_size(t, k))
			return usage_error("%s has no field '%.*s'", what, (int)(eq - a), a);
		if (ty_parse_one(ty, m->type, btf__name_by_offset(ty->btf, m->name_off), eq + 1,
				 out + btf_member_bit_offset(t, k) / 8))
			return EXIT_USAGE;
		got++;
	}
	return got ? 0 : usage_error("%s needs NAME=VALUE fields", what);
}

/* ---- hex input ------------------------------------------------------------------------ */

/* Parse bytes from argv[*i..] until a keyword; accepts "0a 0b", "0x0a" or "0a0b". */
static int parse_hex(int argc, char **argv, int *i, __u8 *out, __u32 want, const char *what)
{
	__u32 n = 0;

	for (; *i < argc; (*i)++) {
		const char *a = argv[*i];

		if (!strcmp(a, "value") || !strcmp(a, "any") || !strcmp(a, "noexist") ||
		    !strcmp(a, "exist"))
			break;
		if (n == want && !isxdigit((unsigned char)a[0]))
			break;	/* complete: what follows is for the caller */
		if (!strncmp(a, "0x", 2) || !strncmp(a, "0X", 2))
			a += 2;
		if (!*a || strlen(a) % 2)
			return usage_error("%s byte '%s' is not hex (use two digits a byte: 0a 1f ...)",
					   what, argv[*i]);
		for (; *a; a += 2) {
			char b[3] = { a[0], a[1], 0 }, *end;
			unsigned long v = strtoul(b, &end, 16);

			if (*end)
				return usage_error("%s byte '%s' is not hex", what, argv[*i]);
			if (n < want)
				out[n] = v;
			n++;
		}
	}
	if (n != want)
		return usage_error("%s has %u bytes, the table's %ss have %u", what, n, what, want);
	return 0;
}

static void print_hex(const char *label, const __u8 *p, __u32 n)
{
	printf("%s:", label);
	for (__u32 i = 0; i < n; i++)
		printf(" %02x", p[i]);
}

/* ---- commands ---------------------------------------------------------------------- */

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *args;
	const char *help;
};

static const struct cmd *current;

static int help(const struct cmd *c)
{
	printf("Usage: hmapctl [OPTIONS] %s %s\n\n%s\n", c->name, c->args, c->help);
	return EXIT_SUCCESS;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "help"))
			return true;
	return false;
}

static int parse_u64(const char *s, const char *what, __u64 *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || *end || *s == '-' || !*s)
		return usage_error("%s '%s' is not a number", what, s);
	return 0;
}

static int do_create(int argc, char **argv)
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

	optind = 1;
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
		return fail("variant 'incremental' needs hmap_rehash.ko: run 'insmod build/kmod/%s/hmap_rehash.ko'",
			    kernel_release());
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
		return fail("cannot create table '%s': %s", name, common_hint(ret) ?: strerror(-ret));
	}
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("name", name);
		jw_u64("id", id);
		jw_str("pinned", path);
		jw_close('}');
	} else {
		printf("created table '%s' (id %u), pinned at %s\n", name, id, path);
	}
	return EXIT_SUCCESS;
}

static const char *variant_name(__u64 v)
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

static int show_one(const char *name, bool full)
{
	struct hmap_table *t;
	struct hmap_info info;
	char path[PATH_MAX];
	int ret;

	ret = open_table(name, &t);
	if (ret)
		return ret;
	ret = hmap_table__info(t, &info);
	hmap_table__close(t);
	if (ret)
		return fail("cannot read table '%s': %s", name, strerror(-ret));
	table_path(path, sizeof(path), name);
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("name", name);
		jw_u64("id", info.id);
		jw_str("variant", variant_name(info.variant));
		jw_u64("key_size", info.key_size);
		jw_u64("value_size", info.value_size);
		jw_u64("bytes", info.bytes);
		jw_str("pinned", path);
		if (full)
			emit_stats(&info.stats);
		else {
			jw_u64("entries", info.stats.entries);
			jw_u64("capacity", info.stats.capacity);
		}
		jw_close('}');
		return EXIT_SUCCESS;
	}
	printf("%u: %s  variant %s  key %uB  value %uB  entries %llu/%llu  memory %lluB\n",
	       info.id, name, variant_name(info.variant), info.key_size, info.value_size,
	       (unsigned long long)info.stats.entries, (unsigned long long)info.stats.capacity,
	       (unsigned long long)info.bytes);
	if (full) {
		const struct hmap_stats *s = &info.stats;

		printf("\tpinned %s\n", path);
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
	return EXIT_SUCCESS;
}

static int do_list(int argc, char **argv)
{
	struct dirent *de;
	int ret = EXIT_SUCCESS, n = 0;
	DIR *dir;

	if (want_help(argc, argv))
		return help(current);
	if (argc > 1)
		return usage_error("list takes no arguments");
	if (require_module())
		return EXIT_FAILURE;
	dir = opendir(g.pin_root);
	if (g.json)
		jw_open(NULL, '[');
	while (dir && (de = readdir(dir))) {
		struct hmap_desc d;

		if (de->d_name[0] == '.' || get_desc(de->d_name, &d, true))
			continue;
		ret |= show_one(de->d_name, false);
		n++;
	}
	if (dir)
		closedir(dir);
	if (g.json)
		jw_close(']');
	else if (!n)
		printf("no tables under %s (create one with 'hmapctl create')\n", g.pin_root);
	return ret;
}

static int one_name(int argc, char **argv, const char **name)
{
	if (want_help(argc, argv))
		return help(current), -1;
	if (argc != 2) {
		usage_error("%s takes one NAME (see 'hmapctl %s --help')", current->name, current->name);
		return EXIT_USAGE;
	}
	*name = argv[1];
	return 0;
}

static int do_show(int argc, char **argv)
{
	const char *name;
	int ret = one_name(argc, argv, &name);

	if (ret)
		return ret < 0 ? EXIT_SUCCESS : ret;
	return show_one(name, true);
}

static int do_stats(int argc, char **argv)
{
	char path[PATH_MAX];
	const char *name;
	int ret = one_name(argc, argv, &name);

	if (ret)
		return ret < 0 ? EXIT_SUCCESS : ret;
	ret = show_one(name, true);
	if (ret)
		return ret;
	/* Refresh the descriptor's snapshot, so bpftool map dump agrees. */
	table_path(path, sizeof(path), name);
	ret = hmap_desc__refresh(path);
	if (ret)
		return fail("cannot refresh the stats in %s: %s", path, strerror(-ret));
	return EXIT_SUCCESS;
}

static int do_rm(int argc, char **argv)
{
	struct hmap_desc d;
	char path[PATH_MAX];
	const char *name;
	int ret = one_name(argc, argv, &name);

	if (ret)
		return ret < 0 ? EXIT_SUCCESS : ret;
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

/* lookup NAME key BYTES | update NAME key BYTES value BYTES [any|noexist|exist] | delete NAME key BYTES */
static int do_elem(int argc, char **argv)
{
	const char *cmd = current->name, *name, *btf_obj = NULL;
	__u8 key[HMAP_KEY_SIZE_MAX], *val;
	const struct hmap_shm_header *shm;
	struct hmap_table *t;
	struct typed ty;
	__u64 flags = BPF_ANY;
	int i = 2, ret;

	if (want_help(argc, argv))
		return help(current);
	if (argc >= 4 && !strcmp(argv[argc - 2], "--btf")) {
		btf_obj = argv[argc - 1];
		argc -= 2;
	}
	if (argc < 4 || strcmp(argv[2], "key"))
		return usage_error("usage: hmapctl %s %s", cmd, current->args);
	name = argv[1];
	ret = open_table(name, &t);
	if (ret)
		return ret;
	shm = hmap_table__header(t);
	val = calloc(1, shm->value_size);
	if (btf_obj && typed_open(&ty, btf_obj, name, shm)) {
		ret = EXIT_FAILURE;
		goto out_val;
	}
	i = 3;
	if (btf_obj ? parse_typed(&ty, ty.key_id, argc, argv, &i, key, shm->key_size, "key")
		    : parse_hex(argc, argv, &i, key, shm->key_size, "key")) {
		ret = EXIT_USAGE;
		goto out;
	}
	if (!strcmp(cmd, "update")) {
		if (i >= argc || strcmp(argv[i], "value")) {
			ret = usage_error("update needs 'value BYTES' after the key");
			goto out;
		}
		i++;
		if (btf_obj ? parse_typed(&ty, ty.value_id, argc, argv, &i, val, shm->value_size, "value")
			    : parse_hex(argc, argv, &i, val, shm->value_size, "value")) {
			ret = EXIT_USAGE;
			goto out;
		}
		if (i < argc) {
			flags = !strcmp(argv[i], "noexist") ? BPF_NOEXIST :
				!strcmp(argv[i], "exist") ? BPF_EXIST : BPF_ANY;
			if (strcmp(argv[i], "any") && flags == BPF_ANY) {
				ret = usage_error("unknown update flag '%s' (any, noexist or exist)", argv[i]);
				goto out;
			}
			i++;
		}
	}
	if (i != argc) {
		ret = usage_error("unexpected '%s' (see 'hmapctl %s --help')", argv[i], cmd);
		goto out;
	}

	if (!strcmp(cmd, "lookup"))
		ret = hmap_table__lookup(t, key, val);
	else if (!strcmp(cmd, "update"))
		ret = hmap_table__update(t, key, val, flags);
	else
		ret = hmap_table__delete(t, key);

	switch (ret) {
	case 0:
		break;
	case -ENOENT:
		ret = fail("key not found in '%s'", name);
		goto out;
	case -EEXIST:
		ret = fail("key already in '%s' (noexist): use 'any' or 'exist' to replace it", name);
		goto out;
	case -ENOSPC:
		ret = fail("table '%s' is full (capacity %llu): delete entries or create a larger table",
			   name, (unsigned long long)shm->capacity);
		goto out;
	case -EBUSY:
		ret = fail("bucket busy in '%s': retry", name);
		goto out;
	default:
		ret = fail("%s in '%s' failed: %s", cmd, name, common_hint(ret) ?: strerror(-ret));
		goto out;
	}
	ret = EXIT_SUCCESS;
	if (strcmp(cmd, "lookup"))
		goto out;
	if (btf_obj) {
		if (g.json) {
			jw_open(NULL, '{');
			jw_str("key", typed_fmt(&ty, ty.key_id, key, shm->key_size));
			jw_str("value", typed_fmt(&ty, ty.value_id, val, shm->value_size));
			jw_close('}');
		} else {
			printf("key: %s\n", typed_fmt(&ty, ty.key_id, key, shm->key_size));
			printf("value: %s\n", typed_fmt(&ty, ty.value_id, val, shm->value_size));
		}
	} else if (g.json) {
		jw_open(NULL, '{');
		jw_bytes("key", key, shm->key_size);
		jw_bytes("value", val, shm->value_size);
		jw_close('}');
	} else {
		print_hex("key", key, shm->key_size);
		print_hex("  value", val, shm->value_size);
		putchar('\n');
	}
out:
	if (btf_obj)
		typed_close(&ty);
out_val:
	free(val);
	hmap_table__close(t);
	return ret;
}

struct dump_ctx {
	const struct hmap_shm_header *shm;
	struct typed *ty;
	__u8 *copy;		/* --top: collected entries */
	size_t n, cap;
	__u64 count;
};

static void dump_entry(struct dump_ctx *c, const void *k, const void *v)
{
	const struct hmap_shm_header *shm = c->shm;

	if (g.json) {
		jw_open(NULL, '{');
		if (c->ty) {
			jw_str("key", typed_fmt(c->ty, c->ty->key_id, k, shm->key_size));
			jw_str("value", typed_fmt(c->ty, c->ty->value_id, v, shm->value_size));
		} else {
			jw_bytes("key", k, shm->key_size);
			jw_bytes("value", v, shm->value_size);
		}
		jw_close('}');
	} else if (c->ty) {
		printf("%s => ", typed_fmt(c->ty, c->ty->key_id, k, shm->key_size));
		printf("%s\n", typed_fmt(c->ty, c->ty->value_id, v, shm->value_size));
	} else {
		print_hex("key", k, shm->key_size);
		print_hex("  value", v, shm->value_size);
		putchar('\n');
	}
}

static int dump_cb(const void *k, const void *v, void *ctx)
{
	struct dump_ctx *c = ctx;
	size_t esz = c->shm->key_size + c->shm->value_size;

	c->count++;
	if (!c->copy) {
		dump_entry(c, k, v);
		return 0;
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 1024;
		c->copy = realloc(c->copy, c->cap * esz);
		if (!c->copy)
			return -ENOMEM;
	}
	memcpy(c->copy + c->n * esz, k, c->shm->key_size);
	memcpy(c->copy + c->n * esz + c->shm->key_size, v, c->shm->value_size);
	c->n++;
	return 0;
}

static __u32 sort_koff, sort_vsz;

static __u64 first_u64(const __u8 *e)
{
	__u64 x = 0;

	memcpy(&x, e + sort_koff, sort_vsz < 8 ? sort_vsz : 8);
	return x;
}

static int by_value_desc(const void *a, const void *b)
{
	__u64 x = first_u64(a), y = first_u64(b);

	return x < y ? 1 : x > y ? -1 : 0;
}

static int do_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", no_argument, NULL, 'c' },
		{ "consistent", no_argument, NULL, 'C' },
		{ "btf", required_argument, NULL, 'b' },
		{ "top", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool count_only = false, consistent = false;
	const char *btf_obj = NULL, *name;
	struct dump_ctx dc = {};
	struct hmap_table *t;
	struct typed ty;
	__u64 top = 0, retries = 0;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': count_only = true; break;
		case 'C': consistent = true; break;
		case 'b': btf_obj = optarg; break;
		case 't':
			if (parse_u64(optarg, "--top", &top))
				return EXIT_USAGE;
			break;
		case 'h': return help(current);
		default: return usage_error("see 'hmapctl dump --help'");
		}
	}
	if (optind != argc - 1)
		return usage_error("dump takes one NAME (see 'hmapctl dump --help')");
	name = argv[optind];
	ret = open_table(name, &t);
	if (ret)
		return ret;
	dc.shm = hmap_table__header(t);
	if (count_only) {
		ret = hmap_table__count(t, &dc.count);
		hmap_table__close(t);
		if (ret)
			return fail("cannot read table '%s': %s", name, strerror(-ret));
		if (g.json) {
			jw_open(NULL, '{');
			jw_str("name", name);
			jw_u64("count", dc.count);
			jw_close('}');
		} else {
			printf("%llu\n", (unsigned long long)dc.count);
		}
		return EXIT_SUCCESS;
	}
	if (btf_obj) {
		if (typed_open(&ty, btf_obj, name, dc.shm)) {
			hmap_table__close(t);
			return EXIT_FAILURE;
		}
		dc.ty = &ty;
	}
	if (top)
		dc.copy = malloc(1);
	if (g.json)
		jw_open(NULL, '[');
	ret = hmap_table__iterate(t, consistent ? HMAP_ITER_CONSISTENT : 0, dump_cb, &dc, &retries);
	if (!ret && top) {
		size_t esz = dc.shm->key_size + dc.shm->value_size;

		sort_koff = dc.shm->key_size;
		sort_vsz = dc.shm->value_size;
		qsort(dc.copy, dc.n, esz, by_value_desc);
		for (size_t i = 0; i < dc.n && i < top; i++)
			dump_entry(&dc, dc.copy + i * esz, dc.copy + i * esz + dc.shm->key_size);
	}
	if (g.json)
		jw_close(']');
	else if (!ret)
		printf("Found %llu element%s\n", (unsigned long long)dc.count, dc.count == 1 ? "" : "s");
	if (dc.ty)
		typed_close(&ty);
	free(dc.copy);
	hmap_table__close(t);
	if (ret)
		return fail("reading table '%s' failed: %s", name, strerror(-ret));
	return EXIT_SUCCESS;
}

/* ---- programs and attachments ----------------------------------------------------------- */

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !g.verbose)
		return 0;
	if (!g.verbose && level == LIBBPF_INFO)
		return 0;
	return vfprintf(stderr, fmt, args);
}

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
	char pin_dir[PATH_MAX] = "", objname[128], path[PATH_MAX];
	LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = g.pin_root);
	struct bpf_program *prog;
	struct bpf_object *obj;
	const char *file;

	optind = 1;
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
			   common_hint(ret) ?: strerror(-ret));
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
		unlink(path);
		ret = bpf_program__pin(prog, path);
		if (ret) {
			if (g.json)
				jw_close(']');
			ret = fail("cannot pin program at %s: %s", path, strerror(-ret));
			goto out;
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
	if (g.json)
		jw_close(']');
	ret = npins ? EXIT_SUCCESS : fail("%s has no programs", file);
out:
	bpf_object__close(obj);
	return ret;
}

/* PROG: a pinned path, or a program name under PROG_ROOT/<object>/. */
static int prog_fd_by_ref(const char *ref, char *name, size_t n)
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

static int ifindex_of(const char *dev)
{
	int idx = if_nametoindex(dev);

	if (!idx)
		fail("no network device '%s' (see 'ip link')", dev);
	return idx;
}

static int do_attach(int argc, char **argv)
{
	char prog_name[256], path[PATH_MAX];
	const char *kind, *mode = "native";
	int fd, link, ret, ifindex, a;

	if (want_help(argc, argv))
		return help(current);
	for (a = 1; a < argc; a++)
		if (!strcmp(argv[a], "--mode")) {
			if (a + 1 >= argc)
				return usage_error("--mode takes native or generic");
			mode = argv[a + 1];
			memmove(&argv[a], &argv[a + 2], (argc - a - 2) * sizeof(char *));
			argc -= 2;
			break;
		}
	if (strcmp(mode, "native") && strcmp(mode, "generic"))
		return usage_error("--mode takes native or generic, not '%s'", mode);
	if (argc < 2)
		return usage_error("attach what? xdp, tc or fentry (see 'hmapctl attach --help')");
	kind = argv[1];
	if (require_bpffs(LINK_ROOT))
		return EXIT_FAILURE;

	if (!strcmp(kind, "xdp")) {
		LIBBPF_OPTS(bpf_link_create_opts, lo);

		if (argc != 4)
			return usage_error("usage: hmapctl attach xdp DEV PROG [--mode native|generic]");
		ifindex = ifindex_of(argv[2]);
		if (!ifindex)
			return EXIT_FAILURE;
		snprintf(path, sizeof(path), LINK_ROOT "/xdp-%s", argv[2]);
		if (access(path, F_OK) == 0)
			return fail("an hmapctl XDP program is already attached to %s: run "
				    "'hmapctl detach xdp %s' first", argv[2], argv[2]);
		fd = prog_fd_by_ref(argv[3], prog_name, sizeof(prog_name));
		if (fd < 0)
			return EXIT_FAILURE;
		lo.flags = !strcmp(mode, "generic") ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
		link = bpf_link_create(fd, ifindex, BPF_XDP, &lo);
		close(fd);
		if (link < 0) {
			ret = -errno;
			if (ret == -EBUSY || ret == -EEXIST)
				return fail("%s already has an XDP program: detach it first "
					    "('ip link set dev %s xdp off')", argv[2], argv[2]);
			if (ret == -EOPNOTSUPP || ret == -EINVAL)
				return fail("cannot attach in %s mode on %s (%s): try --mode generic",
					    mode, argv[2], strerror(-ret));
			return fail("cannot attach to %s: %s", argv[2], common_hint(ret) ?: strerror(-ret));
		}
	} else if (!strcmp(kind, "tc")) {
		bool ingress;

		if (argc != 5 || (strcmp(argv[3], "ingress") && strcmp(argv[3], "egress")))
			return usage_error("usage: hmapctl attach tc DEV ingress|egress PROG");
		ingress = !strcmp(argv[3], "ingress");
		ifindex = ifindex_of(argv[2]);
		if (!ifindex)
			return EXIT_FAILURE;
		snprintf(path, sizeof(path), LINK_ROOT "/tcx-%s-%s", argv[2], argv[3]);
		if (access(path, F_OK) == 0)
			return fail("an hmapctl tc program is already on %s %s: run "
				    "'hmapctl detach tc %s %s' first", argv[2], argv[3], argv[2], argv[3]);
		fd = prog_fd_by_ref(argv[4], prog_name, sizeof(prog_name));
		if (fd < 0)
			return EXIT_FAILURE;
		/*
		 * tcx (6.6 on): a BPF link, pinned like XDP's, that bpftool net
		 * lists and that goes away with its pin.  A kernel without tcx
		 * knows no such attach type (EINVAL): then a cls_bpf filter on
		 * a clsact qdisc, which belongs to the qdisc and needs no pin.
		 */
		link = bpf_link_create(fd, ifindex, ingress ? HMAP_BPF_TCX_INGRESS : HMAP_BPF_TCX_EGRESS, NULL);
		if (link < 0 && errno != EINVAL) {
			ret = -errno;
			close(fd);
			return fail("cannot attach to %s %s: %s", argv[2], argv[3],
				    common_hint(ret) ?: strerror(-ret));
		}
		if (link >= 0) {
			close(fd);
		} else {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = ingress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
			LIBBPF_OPTS(bpf_tc_opts, to, .handle = HMAP_TC_HANDLE,
				    .priority = HMAP_TC_PRIO, .prog_fd = fd);

			ret = bpf_tc_hook_create(&hook);
			if (ret && ret != -EEXIST) {
				close(fd);
				return fail("cannot add a clsact qdisc to %s: %s", argv[2],
					    common_hint(ret) ?: strerror(-ret));
			}
			ret = bpf_tc_attach(&hook, &to);
			close(fd);
			if (ret == -EEXIST)
				return fail("an hmapctl tc program is already on %s %s: run "
					    "'hmapctl detach tc %s %s' first", argv[2], argv[3], argv[2], argv[3]);
			if (ret)
				return fail("cannot attach to %s %s: %s", argv[2], argv[3],
					    common_hint(ret) ?: strerror(-ret));
			/* tc filters belong to the qdisc and outlive hmapctl without a pin. */
			snprintf(path, sizeof(path), "tc filter on %s %s (handle 0x%x, pref %u)",
				 argv[2], argv[3], HMAP_TC_HANDLE, HMAP_TC_PRIO);
		}
	} else if (!strcmp(kind, "fentry")) {
		if (argc != 3)
			return usage_error("usage: hmapctl attach fentry PROG");
		fd = prog_fd_by_ref(argv[2], prog_name, sizeof(prog_name));
		if (fd < 0)
			return EXIT_FAILURE;
		snprintf(path, sizeof(path), LINK_ROOT "/fentry-%s", prog_name);
		if (access(path, F_OK) == 0) {
			close(fd);
			return fail("'%s' is already attached: run 'hmapctl detach fentry %s' first",
				    prog_name, prog_name);
		}
		link = bpf_raw_tracepoint_open(NULL, fd);
		ret = -errno;
		close(fd);
		if (link < 0)
			return fail("cannot attach '%s': %s (is it an fentry program?)", prog_name,
				    common_hint(ret) ?: strerror(-ret));
	} else {
		return usage_error("cannot attach to '%s': xdp, tc or fentry", kind);
	}

	if (link >= 0) {
		ret = bpf_obj_pin(link, path);
		ret = ret ? -errno : 0;
		close(link);	/* the pin keeps it; on failure this detaches again */
		if (ret)
			return fail("cannot pin the link at %s: %s", path, strerror(-ret));
	}
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("attached", prog_name);
		jw_str(link >= 0 ? "link" : "where", path);
		jw_close('}');
	} else {
		printf("attached %s: %s\n", prog_name, path);
	}
	return EXIT_SUCCESS;
}

static int do_detach(int argc, char **argv)
{
	char path[PATH_MAX];
	int fd;

	if (want_help(argc, argv))
		return help(current);
	if (argc >= 4 && !strcmp(argv[1], "tc")) {
		int ifindex, ret;

		if (argc != 4 || (strcmp(argv[3], "ingress") && strcmp(argv[3], "egress")))
			return usage_error("usage: hmapctl detach tc DEV ingress|egress");
		ifindex = ifindex_of(argv[2]);
		if (!ifindex)
			return EXIT_FAILURE;
		snprintf(path, sizeof(path), LINK_ROOT "/tcx-%s-%s", argv[2], argv[3]);
		fd = bpf_obj_get(path);
		if (fd >= 0) {		/* attached with tcx */
			bpf_link_detach(fd);
			close(fd);
			if (unlink(path))
				return fail("cannot unpin %s: %s", path, strerror(errno));
		} else {
			LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = strcmp(argv[3], "ingress") ? BPF_TC_EGRESS : BPF_TC_INGRESS);
			LIBBPF_OPTS(bpf_tc_opts, to, .handle = HMAP_TC_HANDLE, .priority = HMAP_TC_PRIO);

			ret = bpf_tc_detach(&hook, &to);
			if (ret == -ENOENT || ret == -EINVAL)
				return fail("no hmapctl tc program on %s %s", argv[2], argv[3]);
			if (ret)
				return fail("cannot detach from %s %s: %s", argv[2], argv[3],
					    common_hint(ret) ?: strerror(-ret));
		}
		snprintf(path, sizeof(path), "tc %s %s", argv[2], argv[3]);
	} else if (argc == 3 && (!strcmp(argv[1], "xdp") || !strcmp(argv[1], "fentry"))) {
		snprintf(path, sizeof(path), LINK_ROOT "/%s-%s", argv[1], argv[2]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return fail("nothing attached by hmapctl: no %s (see 'ls %s')", path, LINK_ROOT);
		bpf_link_detach(fd);
		close(fd);
		if (unlink(path))
			return fail("cannot unpin %s: %s", path, strerror(errno));
	} else {
		return usage_error("usage: hmapctl detach xdp DEV | tc DEV ingress|egress | fentry PROG");
	}
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("detached", path);
		jw_close('}');
	} else {
		printf("detached %s\n", path);
	}
	return EXIT_SUCCESS;
}

static int do_prog(int argc, char **argv);

/* prog unload NAME|DIR: remove the program pins 'prog load' made. */
static int do_prog_unload(int argc, char **argv)
{
	char dir[PATH_MAX], path[PATH_MAX * 2];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (argc != 2)
		return usage_error("usage: hmapctl prog unload OBJNAME|DIR");
	if (strchr(argv[1], '/'))
		snprintf(dir, sizeof(dir), "%s", argv[1]);
	else
		snprintf(dir, sizeof(dir), PROG_ROOT "/%s", argv[1]);
	d = opendir(dir);
	if (!d)
		return fail("no programs loaded as '%s' (%s): see 'ls %s'", argv[1], dir, PROG_ROOT);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	if (rmdir(dir))
		return fail("cannot remove %s: %s", dir, strerror(errno));
	if (g.json) {
		jw_open(NULL, '{');
		jw_str("unloaded", dir);
		jw_u64("programs", n);
		jw_close('}');
	} else {
		printf("unpinned %d program%s from %s; attached ones keep running until detached\n",
		       n, n == 1 ? "" : "s", dir);
	}
	return EXIT_SUCCESS;
}

static const struct cmd cmds[] = {
	{ "create", do_create,
	  "NAME --key-size N --value-size N --capacity N [--variant fixed|incremental] [--max-capacity N]",
	  "Create a table and pin its descriptor at <pin root>/NAME.  The fixed variant\n"
	  "holds --capacity entries and refuses more (-ENOSPC); 'incremental' (needs\n"
	  "hmap_rehash.ko) starts at --capacity and grows up to --max-capacity." },
	{ "list", do_list, "", "List the tables pinned under the pin root." },
	{ "show", do_show, "NAME", "Show a table's shape, memory and statistics." },
	{ "stats", do_stats, "NAME",
	  "Show statistics, and refresh the snapshot in the descriptor map that\n"
	  "'bpftool map dump pinned <pin root>/NAME' shows." },
	{ "lookup", do_elem, "NAME key KEY [--btf OBJ]",
	  "Look a key up, zero-copy.  KEY is hex bytes, as bpftool takes them ('0a 00 00 01'\n"
	  "or '0a000001'), or with --btf OBJ typed fields from the object's HMAP_TABLE\n"
	  "types: 'saddr=10.0.0.1 dport=53 proto=17' (unnamed fields are zero; *addr\n"
	  "fields take IP addresses; a non-struct key is one bare number)." },
	{ "update", do_elem, "NAME key KEY value VALUE [any|noexist|exist] [--btf OBJ]",
	  "Insert or replace through the kernel (the same locks as BPF writers).\n"
	  "KEY and VALUE as for lookup." },
	{ "delete", do_elem, "NAME key KEY [--btf OBJ]", "Delete a key through the kernel." },
	{ "dump", do_dump, "NAME [--count] [--consistent] [--top N] [--btf OBJ]",
	  "Print every entry, reading the table's memory directly (no syscall per entry).\n"
	  "--count only counts.  --consistent re-reads a bucket chain a writer was changing,\n"
	  "so each chain is a consistent snapshot.  --top N prints the N entries with the\n"
	  "largest first 8 value bytes (e.g. a bytes counter).  --btf OBJ prints typed fields." },
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

static int do_prog(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return argc < 2 ? usage_error("prog what? 'prog load' or 'prog unload' (see 'hmapctl prog --help')")
				: help(current);
	if (!strcmp(argv[1], "load"))
		return do_prog_load(argc - 1, argv + 1);
	if (!strcmp(argv[1], "unload"))
		return do_prog_unload(argc - 1, argv + 1);
	return usage_error("unknown prog command '%s': 'prog load' or 'prog unload'", argv[1]);
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: hmapctl [OPTIONS] COMMAND [ARGS]\n\n"
		"Manage hmap tables (hash tables in kernel memory for BPF programs).\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "\nOptions:\n"
		"  -j, --json          JSON output\n"
		"  -p, --pretty        indented JSON output (implies -j)\n"
		"  -v, --verbose       show libbpf and verifier messages\n"
		"      --pin-root DIR  where table descriptors are pinned (default %s)\n"
		"  -h, --help          this text; 'hmapctl COMMAND --help' for one command\n\n"
		"The design of each example program is described at the top of its bpf/*.bpf.c.\n",
		HMAP_PIN_ROOT_DEFAULT);
}

int main(int argc, char **argv)
{
	int i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-j") || !strcmp(a, "--json"))
			g.json = true;
		else if (!strcmp(a, "-p") || !strcmp(a, "--pretty"))
			g.json = g.pretty = true;
		else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
			g.verbose = true;
		else if (!strcmp(a, "--pin-root")) {
			if (++i >= argc)
				return usage_error("--pin-root takes a directory");
			g.pin_root = argv[i];
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return EXIT_SUCCESS;
		} else {
			usage(stderr);
			return usage_error("unknown option '%s'", a);
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	libbpf_set_print(libbpf_print);
	for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++) {
		if (strcmp(cmds[c].name, argv[i]))
			continue;
		current = &cmds[c];
		return cmds[c].fn(argc - i, argv + i);
	}
	return usage_error("unknown command '%s' (see 'hmapctl --help')", argv[i]);
}
