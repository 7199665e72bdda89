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
#ifndef HMAPCTL_VERSION
#define HMAPCTL_VERSION		"0.2.0"
#endif

static struct {
	bool json;
	bool pretty;
	bool verbose;
	const char *pin_root;
} g = { .pin_root = HMAP_PIN_ROOT_DEFAULT };

/* ---- JSON writer ------------------------------------------------------------ */

/*
 * One JSON document per run: commands open and close containers, fail()
 * reports an error in whatever container is open (an {"error": ...} element
 * in an array, an "error" member in an object, a document of its own at the
 * top), and jw_finish() closes what an early return left open, so stdout is
 * valid JSON on every path.
 */
#define JW_MAX_DEPTH	32
static int jw_depth;
static bool jw_need_comma[JW_MAX_DEPTH];
static char jw_kind[JW_MAX_DEPTH];	/* '{' or '[' open at each depth */
static int jw_docs;			/* top-level values written */

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
	jw_kind[jw_depth] = c;
}

static void jw_close(char c)
{
	bool had = jw_need_comma[jw_depth];

	jw_depth--;
	if (had)
		jw_newline();
	putchar(c);
	if (!jw_depth) {
		putchar('\n');
		jw_docs++;
	}
}

/* Close every container still open (an early return on an error). */
static void jw_finish(void)
{
	while (jw_depth > 0)
		jw_close(jw_kind[jw_depth] == '{' ? '}' : ']');
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

static void jw_null(const char *key)
{
	jw_sep(key);
	fputs("null", stdout);
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
	if (g.json && jw_depth && jw_kind[jw_depth] == '{') {
		jw_str("error", msg);
	} else if (g.json && (jw_depth || !jw_docs)) {
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

/*
 * What the kernel checks, for permission errors: opening a table (by pin or
 * id) is HMAP_IOC_TABLE_FD, which needs CAP_SYS_ADMIN as bpf_map_get_fd_by_id()
 * does; creating one runs a BPF_PROG_TYPE_SYSCALL program (CAP_BPF) and opens
 * it; loading programs needs CAP_BPF, plus CAP_PERFMON for tracing (fentry)
 * and CAP_NET_ADMIN for XDP and tc, which attaching to a device needs too.
 * EACCES is the file permission of a pin or of /dev/hmap.
 */
enum perm_need {
	NEED_OPEN,		/* open a table */
	NEED_CREATE,		/* create a table */
	NEED_PROG,		/* load a program */
	NEED_ATTACH_NET,	/* attach to XDP or tc */
	NEED_ATTACH_TRACE,	/* attach fentry */
};

static const char *perm_hint(int err, enum perm_need need)
{
	if (err == -EACCES)
		return "permission denied by file permissions (the pin under " BPFFS
		       " or " HMAP_DEV_PATH "): run hmapctl as root";
	if (err != -EPERM)
		return NULL;
	switch (need) {
	case NEED_OPEN:
		return "permission denied: opening a table needs CAP_SYS_ADMIN (run as root)";
	case NEED_CREATE:
		return "permission denied: creating a table needs CAP_BPF and CAP_SYS_ADMIN "
		       "(run as root)";
	case NEED_PROG:
		return "permission denied: loading programs needs CAP_BPF, with CAP_PERFMON for "
		       "fentry and CAP_NET_ADMIN for XDP and tc programs (run as root)";
	case NEED_ATTACH_NET:
		return "permission denied: attaching to a device needs CAP_NET_ADMIN (run as root)";
	case NEED_ATTACH_TRACE:
		return "permission denied: attaching fentry programs needs CAP_BPF and CAP_PERFMON "
		       "(run as root)";
	}
	return NULL;
}

/* A message for errno values every command that opens tables can hit. */
static const char *common_hint(int err)
{
	return perm_hint(err, NEED_OPEN);
}

/* The running kernel's release: modules are built per kernel, in build/kmod/<release>. */
static const char *kernel_release(void)
{
	static struct utsname u;

	if (!u.release[0] && uname(&u))
		return "$(uname -r)";
	return u.release;
}

/*
 * How to load module @mod ("hmap" or "hmap_rehash") on this kernel, as a
 * command: insmod with the absolute path of the one the build put next to
 * this binary (BUILD/kmod/<release>/, BUILD/hmapctl), modprobe if it is
 * installed, or how to build it.
 */
static const char *module_hint(const char *mod)
{
	static char hint[2 * PATH_MAX];
	char exe[PATH_MAX], path[PATH_MAX + 256], line[1024];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f;

	if (len > 0) {
		exe[len] = 0;
		*strrchr(exe, '/') = 0;
		snprintf(path, sizeof(path), "%s/kmod/%s/%s.ko", exe, kernel_release(), mod);
		if (access(path, R_OK) == 0) {
			snprintf(hint, sizeof(hint), "run 'insmod %s'", path);
			return hint;
		}
	}
	snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", kernel_release());
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *base;

		if (!colon)
			continue;
		*colon = 0;	/* "kernel/.../hmap.ko[.xz]: deps" */
		base = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
		if (!strncmp(base, mod, strlen(mod)) && !strncmp(base + strlen(mod), ".ko", 3)) {
			fclose(f);
			snprintf(hint, sizeof(hint), "run 'modprobe %s'", mod);
			return hint;
		}
	}
	if (f)
		fclose(f);
	snprintf(hint, sizeof(hint), "build it for kernel %s ('make modules' in the hmap source "
		 "tree) and run 'insmod BUILD/kmod/%s/%s.ko'", kernel_release(), kernel_release(), mod);
	return hint;
}

static int require_module(void)
{
	if (access(HMAP_DEV_PATH, F_OK) == 0)
		return 0;
	return fail("hmap.ko is not loaded (no %s): %s", HMAP_DEV_PATH, module_hint("hmap"));
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

enum obj_kind { OBJ_NONE, OBJ_DIR, OBJ_MAP, OBJ_PROG, OBJ_LINK, OBJ_OTHER };

/* What BPF object @fd refers to, from /proc/self/fdinfo (as bpftool reads it). */
static enum obj_kind fd_kind(int fd, __u32 *type)
{
	static const char *const tags[] = { "map_type:", "prog_type:", "link_type:" };
	enum obj_kind kind = OBJ_OTHER;
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	while (f && kind == OBJ_OTHER && fgets(line, sizeof(line), f)) {
		for (int i = 0; i < 3; i++) {
			if (strncmp(line, tags[i], strlen(tags[i])))
				continue;
			kind = OBJ_MAP + i;
			*type = strtoul(line + strlen(tags[i]), NULL, 10);
		}
	}
	if (f)
		fclose(f);
	return kind;
}

/*
 * What is pinned at @path, in words for a message ("a BPF array map with
 * 4096-byte values"), and its kind.  Reads nothing but the object's info.
 */
static enum obj_kind pinned_kind(const char *path, char *desc, size_t n)
{
	enum obj_kind kind;
	struct stat st;
	__u32 type = 0;
	const char *ts;
	int fd;

	if (stat(path, &st)) {
		snprintf(desc, n, "nothing (%s)", strerror(errno));
		return OBJ_NONE;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(desc, n, "a directory");
		return OBJ_DIR;
	}
	fd = bpf_obj_get(path);
	if (fd < 0) {
		snprintf(desc, n, "a file hmapctl cannot open (%s)", strerror(errno));
		return OBJ_OTHER;
	}
	kind = fd_kind(fd, &type);
	if (kind == OBJ_MAP) {
		struct bpf_map_info info = {};
		__u32 len = sizeof(info);

		ts = libbpf_bpf_map_type_str(type);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			snprintf(desc, n, "a BPF %s map with %u-byte keys and %u-byte values",
				 ts ?: "(unknown type)", info.key_size, info.value_size);
		else
			snprintf(desc, n, "a BPF %s map", ts ?: "(unknown type)");
	} else if (kind == OBJ_PROG) {
		ts = libbpf_bpf_prog_type_str(type);
		snprintf(desc, n, "a BPF %s program", ts ?: "(unknown type)");
	} else if (kind == OBJ_LINK) {
		ts = libbpf_bpf_link_type_str(type);
		snprintf(desc, n, "a BPF %s link", ts ?: "(unknown type)");
	} else {
		snprintf(desc, n, "an unknown BPF object");
	}
	close(fd);
	return kind;
}

/* bpffs refuses to open a directory as an object (EACCES): say what it is instead. */
static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* @path holds something that is not a table: say what, and that it is left alone. */
static int not_a_table(const char *path)
{
	char what[256];
	enum obj_kind kind = pinned_kind(path, what, sizeof(what));

	return fail("%s is %s, not an hmap table descriptor: hmapctl leaves it alone "
		    "(see '%s %s')", path, what,
		    kind == OBJ_MAP ? "bpftool map show pinned" :
		    kind == OBJ_PROG ? "bpftool prog show pinned" :
		    kind == OBJ_LINK ? "bpftool link show pinned" : "ls -l", path);
}

/* Read the descriptor of table @name (through libhmap, which checks the map first). */
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
	if (ret == -ENOENT && access(path, F_OK))
		return fail("no table named '%s' under %s: see 'hmapctl list'", name, g.pin_root);
	if (ret == -ENOENT)
		return fail("%s is a table descriptor that owns no table", path);
	if (ret == -EPROTOTYPE || is_dir(path))
		return not_a_table(path);
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
	if (ret == -EPROTOTYPE || (ret && is_dir(path)))
		return not_a_table(path);
	if (ret == -EPROTO)
		return fail("table '%s': hmap.ko and hmapctl disagree on the shared-memory ABI: "
			    "rebuild and reload both", name);
	if (ret == -ESTALE)
		return fail("%s is the descriptor of a table that was destroyed: run 'hmapctl rm %s'",
			    path, name);
	if (ret)
		return fail("cannot open table '%s': %s", name, common_hint(ret) ?: strerror(-ret));
	return 0;
}

/* Words that end a key or value on the command line. */
static bool is_keyword(const char *a)
{
	return !strcmp(a, "value") || !strcmp(a, "any") || !strcmp(a, "noexist") ||
	       !strcmp(a, "exist");
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

		if (is_keyword(a))
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

/* ---- byte input, as bpftool reads it ------------------------------------------------ */

/* bpftool's is_prefix(): "h" and "he" also mean "hex". */
static bool is_hex_word(const char *a)
{
	return *a && !strncmp(a, "hex", strlen(a));
}

/* One byte word: 0..255 in @base (0: decimal, 0x hex or 0 octal, as strtoul). */
static int parse_byte(const char *a, int base, __u8 *out)
{
	unsigned long v;
	char *end;

	if (!*a || *a == '-' || *a == '+' || isspace((unsigned char)*a))
		return -EINVAL;
	errno = 0;
	v = strtoul(a, &end, base);
	if (errno || *end || v > 255)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Parse @want bytes from argv[*i..] exactly as bpftool's "key"/"value" do:
 * one word per byte, read by strtoul with base 0 (decimal "10", hex "0x0a",
 * and octal "012" with a leading zero), or base 16 after the word "hex"
 * ("hex 0a 1f").  hmapctl also refuses a word that is not a whole byte
 * (bpftool would truncate 300 to 44).
 */
static int parse_bytes(int argc, char **argv, int *i, __u8 *out, __u32 want, const char *what)
{
	int base = 0;
	__u32 n = 0;
	__u8 b;

	if (*i < argc && is_hex_word(argv[*i])) {
		base = 16;
		(*i)++;
	}
	for (; *i < argc && n < want && !is_keyword(argv[*i]); (*i)++, n++) {
		if (parse_byte(argv[*i], base, &out[n]))
			return usage_error("%s byte '%s' is not a byte: one word per byte, %s",
					   what, argv[*i], base == 16 ?
					   "in hex after 'hex' (00 to ff)" :
					   "decimal (0 to 255), 0x-prefixed hex or 0-prefixed octal as "
					   "bpftool reads them, or 'hex' first for hex ('hex 0a 1f')");
	}
	if (n < want)
		return usage_error("%s has %u bytes, the table's %ss have %u", what, n, what, want);
	if (*i < argc && !is_keyword(argv[*i]) && !parse_byte(argv[*i], base, &b))
		return usage_error("%s has more than %u bytes, the table's %ss have %u", what, want,
				   what, want);
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
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
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

/* The tables pinned under the pin root, for list and show id. */
struct pin {
	__u64 id, handle;
	char name[256];
};

struct pins {
	struct pin *v;
	size_t n;
};

static void pins_read(struct pins *p)
{
	DIR *dir = opendir(g.pin_root);
	struct dirent *de;

	p->v = NULL;
	p->n = 0;
	while (dir && (de = readdir(dir))) {
		struct hmap_desc d;
		struct pin *v;

		if (de->d_name[0] == '.' || get_desc(de->d_name, &d, true))
			continue;	/* not a table: never read as one */
		v = realloc(p->v, (p->n + 1) * sizeof(*v));
		if (!v)
			break;
		p->v = v;
		v[p->n].id = d.id;
		v[p->n].handle = d.handle;
		snprintf(v[p->n].name, sizeof(v[p->n].name), "%s", de->d_name);
		p->n++;
	}
	if (dir)
		closedir(dir);
}

static bool pin_is(const struct pin *p, const struct hmap_info *info)
{
	return p->id == info->id && (!p->handle || !info->handle || p->handle == info->handle);
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
			table_path(path, sizeof(path), pins->v[i].name);
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
			table_path(path, sizeof(path), pins->v[i].name);
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

/* Open table id @id read-only (errors reported). */
static int open_table_id(__u32 id, struct hmap_table **t)
{
	HMAP_OPTS(hmap_table_open_opts, oo, .rdonly = true);
	int ret;

	if (require_module())
		return EXIT_FAILURE;
	ret = hmap_table__open_id(id, &oo, t);
	if (ret == -ENOENT)
		return fail("no table with id %u: see 'hmapctl list'", id);
	if (ret == -EPROTO)
		return fail("table id %u: hmap.ko and hmapctl disagree on the shared-memory ABI: "
			    "rebuild and reload both", id);
	if (ret)
		return fail("cannot open table id %u: %s", id, common_hint(ret) ?: strerror(-ret));
	return 0;
}

/* show NAME | show id ID (@argv after the command). */
static int show_ref(int argc, char **argv, bool full)
{
	struct pins pins = {};
	struct hmap_table *t;
	struct hmap_info info;
	struct pin one = {};
	__u64 id;
	int ret;

	if (argc == 2 && !strcmp(argv[0], "id")) {
		if (parse_u64(argv[1], "table id", &id))
			return EXIT_USAGE;
		if (id > UINT32_MAX)
			return usage_error("table id %s is out of range", argv[1]);
		ret = open_table_id(id, &t);
		if (ret)
			return ret;
		pins_read(&pins);
	} else if (argc == 1) {
		ret = open_table(argv[0], &t);
		if (ret)
			return ret;
		snprintf(one.name, sizeof(one.name), "%s", argv[0]);
		pins.v = &one;
		pins.n = 1;
	} else {
		return usage_error("%s takes NAME or 'id ID' (see 'hmapctl %s --help')",
				   current->name, current->name);
	}
	id = hmap_table__id(t);
	ret = hmap_table__info(t, &info);
	hmap_table__close(t);
	if (ret)
		ret = fail("cannot read table id %llu: %s", (unsigned long long)id, strerror(-ret));
	if (!ret) {
		one.id = info.id;	/* the pin is the table that was opened */
		one.handle = 0;
		show_info(&info, &pins, full);
	}
	if (pins.v != &one)
		free(pins.v);
	return ret;
}

static int do_list(int argc, char **argv)
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
	if (want_help(argc, argv))
		return help(current);
	return show_ref(argc - 1, argv + 1, true);
}

static int do_stats(int argc, char **argv)
{
	struct hmap_desc d;
	char path[PATH_MAX];
	const char *name;
	int ret = one_name(argc, argv, &name);

	if (ret)
		return ret < 0 ? EXIT_SUCCESS : ret;
	if (require_module() || get_desc(name, &d, false))
		return EXIT_FAILURE;
	/* Refresh the descriptor's snapshot first, so bpftool map dump agrees. */
	table_path(path, sizeof(path), name);
	ret = hmap_desc__refresh(path);
	if (ret)
		return fail("cannot refresh the stats in %s: %s", path,
			    common_hint(ret) ?: strerror(-ret));
	return show_ref(1, argv + 1, true);
}

static int do_rm(int argc, char **argv)
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
	/* --btf OBJ anywhere after the command. */
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--btf"))
			continue;
		if (a + 1 >= argc)
			return usage_error("--btf takes an object file (see 'hmapctl %s --help')", cmd);
		if (btf_obj)
			return usage_error("--btf given twice");
		btf_obj = argv[a + 1];
		memmove(&argv[a], &argv[a + 2], (argc - a - 1) * sizeof(char *));
		argc -= 2;
		a--;
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
		    : parse_bytes(argc, argv, &i, key, shm->key_size, "key")) {
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
			    : parse_bytes(argc, argv, &i, val, shm->value_size, "value")) {
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

/*
 * --top N sorts by one integer in the value, largest first: --sort FIELD
 * names it (a member of the value type with --btf, "a.b" inside nested
 * structs; OFFSET:SIZE in bytes without), by default the value type's first
 * member (the first scalar, descending into nested structs) with --btf, and
 * without it the whole value when it is 1, 2, 4 or 8 bytes (little-endian).
 * Anything else needs --sort: raw bytes do not say where a number is.
 */
struct sort_key {
	__u32 off, size;	/* within the value */
	bool be, sign;
};

static struct sort_key sk;
static __u32 sort_koff;		/* the key size: values follow keys in a copied entry */

static __u64 sort_raw(const __u8 *e)
{
	__u64 x = 0;

	memcpy(&x, e + sort_koff + sk.off, sk.size);
	if (sk.be)
		x = be64toh(x) >> (64 - sk.size * 8);
	return x;
}

static int by_value_desc(const void *a, const void *b)
{
	__u64 x = sort_raw(a), y = sort_raw(b);

	if (sk.sign && sk.size < 8) {
		if ((x >> (sk.size * 8 - 1)) & 1)
			x |= ~0ULL << (sk.size * 8);
		if ((y >> (sk.size * 8 - 1)) & 1)
			y |= ~0ULL << (sk.size * 8);
	}
	if (sk.sign)
		return (long long)x < (long long)y ? 1 : (long long)x > (long long)y ? -1 : 0;
	return x < y ? 1 : x > y ? -1 : 0;
}

/* Resolve --sort @field (NULL: the default) against the value type, into sk. */
static int sort_resolve(struct typed *ty, const char *field, __u32 value_size)
{
	const struct btf_member *m;
	const struct btf_type *t;
	__u32 id, off = 0, k;
	char path[256], *tok, *save;

	memset(&sk, 0, sizeof(sk));
	if (!ty) {
		unsigned int o, n;
		char end;

		if (!field) {
			if (value_size != 1 && value_size != 2 && value_size != 4 && value_size != 8)
				return usage_error("--top: the values are %u bytes; say which bytes hold the "
						   "number to sort by with --sort OFFSET:SIZE (e.g. --sort 0:8), "
						   "or pass --btf OBJ to sort by a field", value_size);
			sk.size = value_size;
			return 0;
		}
		if (sscanf(field, "%u:%u%c", &o, &n, &end) != 2 ||
		    (n != 1 && n != 2 && n != 4 && n != 8) || o + n > value_size)
			return usage_error("--sort without --btf is OFFSET:SIZE within the %u-byte value "
					   "(SIZE 1, 2, 4 or 8), not '%s'", value_size, field);
		sk.off = o;
		sk.size = n;
		return 0;
	}
	id = ty->value_id;
	snprintf(path, sizeof(path), "%s", field ?: "");
	tok = field ? strtok_r(path, ".", &save) : NULL;
	for (;;) {
		t = btf__type_by_id(ty->btf, btf__resolve_type(ty->btf, id));
		if (!t)
			return fail("--sort: broken BTF in the object");
		if (!btf_is_struct(t) && !btf_is_union(t))
			break;
		m = btf_members(t);
		for (k = 0; k < btf_vlen(t); k++, m++) {
			const char *name = btf__name_by_offset(ty->btf, m->name_off);

			if (tok ? !strcmp(name, tok) : strncmp(name, "__pad", 5) != 0)
				break;
		}
		if (k == btf_vlen(t))
			return usage_error("--sort: the value type has no field '%s'", tok ?: "");
		if (btf_member_bitfield_size(t, k))
			return usage_error("--sort: '%s' is a bitfield; sort by an integer field",
					   btf__name_by_offset(ty->btf, m->name_off));
		off += btf_member_bit_offset(t, k) / 8;
		id = m->type;
		if (tok)
			tok = strtok_r(NULL, ".", &save);
	}
	if (tok)
		return usage_error("--sort: '%s' is not a struct, it has no field '%s'", field, tok);
	if ((!btf_is_int(t) && !btf_is_enum(t)) ||
	    (t->size != 1 && t->size != 2 && t->size != 4 && t->size != 8))
		return usage_error("--sort: %s is not an integer field of 1, 2, 4 or 8 bytes",
				   field ? field : "the value's first member");
	sk.off = off;
	sk.size = t->size;
	sk.sign = btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED);
	sk.be = ty_is(ty->btf, id, "__be16") || ty_is(ty->btf, id, "__be32") ||
		ty_is(ty->btf, id, "__be64");
	return 0;
}

static int do_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", no_argument, NULL, 'c' },
		{ "consistent", no_argument, NULL, 'C' },
		{ "btf", required_argument, NULL, 'b' },
		{ "top", required_argument, NULL, 't' },
		{ "sort", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	bool count_only = false, consistent = false;
	const char *btf_obj = NULL, *name, *sort = NULL;
	struct dump_ctx dc = {};
	struct hmap_table *t;
	struct typed ty;
	__u64 top = 0, retries = 0;
	int c, ret;

	optind = 0;	/* reinitialise getopt (main parsed with "+") */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': count_only = true; break;
		case 'C': consistent = true; break;
		case 'b': btf_obj = optarg; break;
		case 't':
			if (parse_u64(optarg, "--top", &top))
				return EXIT_USAGE;
			break;
		case 's': sort = optarg; break;
		case 'h': return help(current);
		default: return usage_error("see 'hmapctl dump --help'");
		}
	}
	if (optind != argc - 1)
		return usage_error("dump takes one NAME (see 'hmapctl dump --help')");
	if (sort && !top)
		return usage_error("--sort goes with --top N");
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
	if (top && sort_resolve(dc.ty, sort, dc.shm->value_size)) {
		if (dc.ty)
			typed_close(&ty);
		hmap_table__close(t);
		return EXIT_USAGE;
	}
	if (top)
		dc.copy = malloc(1);
	if (g.json)
		jw_open(NULL, '[');
	ret = hmap_table__iterate(t, consistent ? HMAP_ITER_CONSISTENT : 0, dump_cb, &dc, &retries);
	if (!ret && top) {
		size_t esz = dc.shm->key_size + dc.shm->value_size;

		sort_koff = dc.shm->key_size;
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
			return fail("cannot attach to %s: %s", argv[2], perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
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
				    perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
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
					    perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
			}
			ret = bpf_tc_attach(&hook, &to);
			close(fd);
			if (ret == -EEXIST)
				return fail("an hmapctl tc program is already on %s %s: run "
					    "'hmapctl detach tc %s %s' first", argv[2], argv[3], argv[2], argv[3]);
			if (ret)
				return fail("cannot attach to %s %s: %s", argv[2], argv[3],
					    perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
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
				    perm_hint(ret, NEED_ATTACH_TRACE) ?: strerror(-ret));
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
	char path[PATH_MAX], what[256];
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
		fd = -1;
		if (!access(path, F_OK)) {
			if (pinned_kind(path, what, sizeof(what)) != OBJ_LINK)
				return fail("%s is %s, not a link hmapctl made: left alone", path, what);
			fd = bpf_obj_get(path);
		}
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
					    perm_hint(ret, NEED_ATTACH_NET) ?: strerror(-ret));
		}
		snprintf(path, sizeof(path), "tc %s %s", argv[2], argv[3]);
	} else if (argc == 3 && (!strcmp(argv[1], "xdp") || !strcmp(argv[1], "fentry"))) {
		if (!valid_name(argv[2]))
			return usage_error("'%s' is not a %s", argv[2],
					   strcmp(argv[1], "xdp") ? "program name" : "device name");
		snprintf(path, sizeof(path), LINK_ROOT "/%s-%s", argv[1], argv[2]);
		if (access(path, F_OK))
			return fail("nothing attached by hmapctl: no %s (see 'ls %s')", path, LINK_ROOT);
		if (pinned_kind(path, what, sizeof(what)) != OBJ_LINK)
			return fail("%s is %s, not a link hmapctl made: left alone", path, what);
		fd = bpf_obj_get(path);
		if (fd < 0)
			return fail("cannot open %s: %s", path, strerror(errno));
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
	  "Look a key up, zero-copy.  KEY is bytes as bpftool reads them: one word a byte,\n"
	  "decimal ('10 0 0 1'), 0x-prefixed hex or 0-prefixed octal, or hex after the\n"
	  "word 'hex' ('hex 0a 00 00 01').  With --btf OBJ, typed fields from the object's\n"
	  "HMAP_TABLE types instead: 'saddr=10.0.0.1 dport=53 proto=17' (unnamed fields\n"
	  "are zero; *addr fields take IP addresses; a non-struct key is one bare number)." },
	{ "update", do_elem, "NAME key KEY value VALUE [any|noexist|exist] [--btf OBJ]",
	  "Insert or replace through the kernel (the same locks as BPF writers).\n"
	  "KEY and VALUE as for lookup." },
	{ "delete", do_elem, "NAME key KEY [--btf OBJ]", "Delete a key through the kernel." },
	{ "dump", do_dump, "NAME [--count] [--consistent] [--top N [--sort FIELD]] [--btf OBJ]",
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

static int do_prog(int argc, char **argv)
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

static void usage(FILE *f)
{
	fprintf(f, "Usage: hmapctl [OPTIONS] COMMAND [ARGS]\n\n"
		"Manage hmap tables (hash tables in kernel memory for BPF programs).\n\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %-8s %s\n", cmds[i].name, cmds[i].args);
	fprintf(f, "  %-8s %s\n", "help", "[COMMAND]");
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
			printf("hmapctl %s\nlibhmap %s\n", HMAPCTL_VERSION, libhmap_version());
			return EXIT_SUCCESS;
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
	if (argc < 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	argc = take_global_opts(argc, argv);
	if (argc < 0)
		return EXIT_USAGE;
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
