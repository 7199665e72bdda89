// SPDX-License-Identifier: GPL-2.0
/*
 * hmapctl: errors and what to do next, permission and module hints, pin
 * paths, what is pinned where, and opening tables by pin or id.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "common.h"

struct hmapctl_globals g = { .pin_root = HMAP_PIN_ROOT_DEFAULT };
const struct cmd *current;

/* One line to stderr, and with -j the same text as {"error": ...}. */
static int report(int code, const char *prefix, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s%s\n", prefix, msg);
	if (g.json)
		jw_error(msg);
	return code;
}

int fail(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = report(EXIT_FAILURE, "Error: ", fmt, ap);
	va_end(ap);
	return ret;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = report(EXIT_USAGE, "hmapctl: ", fmt, ap);
	va_end(ap);
	return ret;
}

const char *perm_hint(int err, enum perm_need need)
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
const char *common_hint(int err)
{
	return perm_hint(err, NEED_OPEN);
}

/* The running kernel's release: modules are built per kernel, in build/kmod/<release>. */
const char *kernel_release(void)
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
const char *module_hint(const char *mod)
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

int require_module(void)
{
	if (access(HMAP_DEV_PATH, F_OK) == 0)
		return 0;
	return fail("hmap.ko is not loaded (no %s): %s", HMAP_DEV_PATH, module_hint("hmap"));
}

/* Make sure bpffs is mounted at /sys/fs/bpf (mount it if not) and @dir exists. */
int require_bpffs(const char *dir)
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

int valid_name(const char *name)
{
	if (!*name || strlen(name) > 200 || !strcmp(name, ".") || !strcmp(name, ".."))
		return 0;
	for (const char *p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
			return 0;
	return 1;
}

void table_path(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", g.pin_root, name);
}

/* What BPF object @fd refers to, from /proc/self/fdinfo (as bpftool reads it). */
enum obj_kind fd_kind(int fd, __u32 *type)
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
enum obj_kind pinned_kind(const char *path, char *desc, size_t n)
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
bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

/* @path holds something that is not a table: say what, and that it is left alone. */
int not_a_table(const char *path)
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
int get_desc(const char *name, struct hmap_desc *d, bool quiet)
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

/* Open the table whose descriptor is pinned at @path (@label in messages). */
static int open_table_path(const char *path, const char *label, bool by_name,
			   struct hmap_table **t)
{
	int ret;

	if (require_module())
		return EXIT_FAILURE;
	ret = hmap_table__open_pinned(path, NULL, t);
	if (ret == -ENOENT && access(path, F_OK))
		return by_name ? fail("no table named '%s' under %s: see 'hmapctl list'", label, g.pin_root)
			       : fail("nothing is pinned at %s", path);
	if (ret == -ENOENT)
		return fail("%s is a table descriptor that owns no table", path);
	if (ret == -EPROTOTYPE || ret == -EISDIR)
		return not_a_table(path);
	if (ret == -EPROTO)
		return fail("table '%s': hmap.ko and hmapctl disagree on the shared-memory ABI: "
			    "rebuild and reload both", label);
	if (ret == -ESTALE)
		return by_name ? fail("%s is the descriptor of a table that was destroyed: run "
				      "'hmapctl rm %s'", path, label)
			       : fail("%s is the descriptor of a table that was destroyed", path);
	if (ret)
		return fail("cannot open table '%s': %s", label, common_hint(ret) ?: strerror(-ret));
	return 0;
}

int open_table(const char *name, struct hmap_table **t)
{
	char path[PATH_MAX];

	if (!valid_name(name))
		return usage_error("'%s' is not a table name (letters, digits, _ - .)", name);
	table_path(path, sizeof(path), name);
	return open_table_path(path, name, true, t);
}

/* Open table id @id (errors reported); read-only unless @rdwr. */
int open_table_id(__u32 id, bool rdwr, struct hmap_table **t)
{
	HMAP_OPTS(hmap_table_open_opts, oo, .rdonly = !rdwr);
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

/*
 * TABLE on the command line, as bpftool's MAP: NAME (a table pinned under
 * the pin root), "name NAME" (the same, for a table called "id"), "id ID"
 * or "pinned PATH" (a descriptor pinned anywhere in bpffs).  Returns the
 * words it took (1 or 2), or -1 after a usage error.
 */
int parse_table_ref(int argc, char **argv, struct table_ref *r)
{
	const char *base;
	__u64 id;

	memset(r, 0, sizeof(*r));
	if (argc < 1)
		return usage_error("%s needs a TABLE: NAME, id ID or pinned PATH (see 'hmapctl %s --help')",
				   current->name, current->name), -1;
	if (strcmp(argv[0], "id") && strcmp(argv[0], "pinned") && strcmp(argv[0], "name")) {
		r->kind = TABLE_BY_NAME;
		snprintf(r->label, sizeof(r->label), "%s", argv[0]);
		return 1;
	}
	if (argc < 2)
		return usage_error("'%s' takes %s", argv[0],
				   !strcmp(argv[0], "id") ? "a table id" :
				   !strcmp(argv[0], "name") ? "a table name" : "a path in bpffs"), -1;
	if (!strcmp(argv[0], "name")) {
		r->kind = TABLE_BY_NAME;
		snprintf(r->label, sizeof(r->label), "%s", argv[1]);
	} else if (!strcmp(argv[0], "id")) {
		if (parse_u64(argv[1], "table id", &id))
			return -1;
		if (!id || id > UINT32_MAX)
			return usage_error("table id %s is out of range", argv[1]), -1;
		r->kind = TABLE_BY_ID;
		r->id = id;
		snprintf(r->label, sizeof(r->label), "id %u", r->id);
	} else {
		if (strlen(argv[1]) >= sizeof(r->path))
			return usage_error("path too long: %.40s...", argv[1]), -1;
		r->kind = TABLE_BY_PATH;
		snprintf(r->path, sizeof(r->path), "%s", argv[1]);
		base = strrchr(r->path, '/');
		snprintf(r->label, sizeof(r->label), "%s", base ? base + 1 : r->path);
	}
	return 2;
}

int open_table_ref(const struct table_ref *r, bool rdwr, struct hmap_table **t)
{
	switch (r->kind) {
	case TABLE_BY_ID:
		return open_table_id(r->id, rdwr, t);
	case TABLE_BY_PATH:
		return open_table_path(r->path, r->label, false, t);
	default:
		return open_table(r->label, t);
	}
}

/* The tables pinned under the pin root (anything else there is skipped). */
void pins_read(struct pins *p)
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

/* The name --btf looks up in an object: the table's name, its pin's name,
 * or for a table given by id the name it is pinned under in the pin root. */
int table_ref_btf_name(const struct table_ref *r, char *buf, size_t n)
{
	struct pins pins;
	size_t i;

	if (r->kind != TABLE_BY_ID) {
		snprintf(buf, n, "%s", r->label);
		return 0;
	}
	pins_read(&pins);
	for (i = 0; i < pins.n && pins.v[i].id != r->id; i++)
		;
	if (i < pins.n)
		snprintf(buf, n, "%s", pins.v[i].name);
	free(pins.v);
	if (i < pins.n)
		return 0;
	return fail("table id %u is not pinned under %s, so --btf cannot tell which of the "
		    "object's tables it is: name it by its pin ('pinned PATH' or NAME)", r->id, g.pin_root);
}

/* The descriptor's pin path, for a table named by name or path ("" by id). */
void table_ref_path(const struct table_ref *r, char *buf, size_t n)
{
	if (r->kind == TABLE_BY_PATH)
		snprintf(buf, n, "%s", r->path);
	else if (r->kind == TABLE_BY_NAME)
		table_path(buf, n, r->label);
	else
		snprintf(buf, n, "%s", "");
}

/* Words that end a key or value on the command line. */
bool is_keyword(const char *a)
{
	return !strcmp(a, "value") || !strcmp(a, "any") || !strcmp(a, "noexist") ||
	       !strcmp(a, "exist");
}

int help(const struct cmd *c)
{
	printf("Usage: hmapctl [OPTIONS] %s %s\n\n%s\n", c->name, c->args, c->help);
	return EXIT_SUCCESS;
}

bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	return false;
}

int parse_u64(const char *s, const char *what, __u64 *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (errno || *end || *s == '-' || !*s)
		return usage_error("%s '%s' is not a number", what, s);
	return 0;
}

int one_name(int argc, char **argv, const char **name)
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
