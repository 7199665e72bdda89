/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hmapctl: what the command files share (bpftool's main.h): global options,
 * the command table's entry, errors and hints, pin paths, opening tables.
 */
#ifndef __HMAPCTL_COMMON_H
#define __HMAPCTL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <linux/types.h>

#include "libhmap.h"
#include "json_writer.h"

#define BPF_FS_MAGIC		0xcafe4a11
#define BPFFS			"/sys/fs/bpf"
#define PROG_ROOT		BPFFS "/hmap-progs"	/* prog load pins programs here */
#define LINK_ROOT		BPFFS "/hmap-links"	/* attach pins links here */
/* tcx attach points (6.6); Debian 12's UAPI headers predate them. */
#define HMAP_BPF_TCX_INGRESS	46
#define HMAP_BPF_TCX_EGRESS	47
#define HMAP_TC_HANDLE		0x484d	/* "HM" */
#define HMAP_TC_PRIO		0x484d
#define EXIT_USAGE		2
#ifndef HMAPCTL_VERSION
#define HMAPCTL_VERSION		"0.2.0"
#endif

/* Global options (main.c parses them anywhere on the line). */
struct hmapctl_globals {
	bool json;
	bool pretty;
	bool verbose;
	const char *pin_root;
};
extern struct hmapctl_globals g;

struct cmd {
	const char *name;
	int (*fn)(int argc, char **argv);	/* argv[0] is the command */
	const char *args;
	const char *help;
};
extern const struct cmd *current;		/* the command running */

/* Errors: "Error: ..." on stderr (and in the JSON document with -j), EXIT_FAILURE. */
__attribute__((format(printf, 1, 2))) int fail(const char *fmt, ...);
/* Usage errors: "hmapctl: ..." on stderr, EXIT_USAGE. */
__attribute__((format(printf, 1, 2))) int usage_error(const char *fmt, ...);

enum perm_need {
	NEED_OPEN,		/* open a table */
	NEED_CREATE,		/* create a table */
	NEED_PROG,		/* load a program */
	NEED_ATTACH_NET,	/* attach to XDP or tc */
	NEED_ATTACH_TRACE,	/* attach fentry */
};
const char *perm_hint(int err, enum perm_need need);
const char *common_hint(int err);
const char *kernel_release(void);
const char *module_hint(const char *mod);
int require_module(void);
int require_bpffs(const char *dir);

int valid_name(const char *name);
void table_path(char *buf, size_t n, const char *name);

enum obj_kind { OBJ_NONE, OBJ_DIR, OBJ_MAP, OBJ_PROG, OBJ_LINK, OBJ_OTHER };
enum obj_kind fd_kind(int fd, __u32 *type);
enum obj_kind pinned_kind(const char *path, char *desc, size_t n);
bool is_dir(const char *path);
int not_a_table(const char *path);
int get_desc(const char *name, struct hmap_desc *d, bool quiet);
int open_table(const char *name, struct hmap_table **t);
int open_table_id(__u32 id, bool rdwr, struct hmap_table **t);

/* TABLE := NAME | name NAME | id ID | pinned PATH (as bpftool's MAP). */
#define TABLE_REF_HELP	"TABLE := NAME | name NAME | id ID | pinned PATH"
struct table_ref {
	enum { TABLE_BY_NAME, TABLE_BY_ID, TABLE_BY_PATH } kind;
	__u32 id;
	char label[PATH_MAX];	/* name, pin basename, or "id N": for messages and --btf */
	char path[PATH_MAX];
};
/* The tables pinned under the pin root, for list, show and --btf by id. */
struct pin {
	__u64 id, handle;
	char name[PATH_MAX];	/* under the pin root, or a whole path */
};

struct pins {
	struct pin *v;
	size_t n;
};

void pins_read(struct pins *p);
int parse_table_ref(int argc, char **argv, struct table_ref *r);
int open_table_ref(const struct table_ref *r, bool rdwr, struct hmap_table **t);
void table_ref_path(const struct table_ref *r, char *buf, size_t n);
int table_ref_btf_name(const struct table_ref *r, char *buf, size_t n);
const char *variant_name(__u64 v);

bool is_keyword(const char *a);
int help(const struct cmd *c);
bool want_help(int argc, char **argv);
int parse_u64(const char *s, const char *what, __u64 *v);
int one_name(int argc, char **argv, const char **name);
int prog_fd_by_ref(const char *ref, char *name, size_t n);

/* Typed keys and values through an object's BTF (btf_dumper.c). */
struct btf;
struct btf_dump;
struct btf_type;
struct hmap_shm_header;
struct typed {
	struct btf *btf;
	struct btf_dump *dump;		/* libbpf prints the leaves hmapctl does not */
	__s32 key_id, value_id;		/* HMAP_TABLE()'s key and value types */
	FILE *out;			/* where typed_print() is writing */
};
int typed_open(struct typed *ty, const char *obj, const char *table,
	       const struct hmap_shm_header *shm);
void typed_close(struct typed *ty);
void typed_print(struct typed *ty, __s32 id, const void *data, FILE *f);
void typed_json(struct typed *ty, const char *key, __s32 id, const void *data);
bool ty_is(const struct btf *btf, __u32 id, const char *name);
const struct btf_type *ty_resolved(const struct btf *btf, __u32 id);

/* Commands. */
int do_create(int argc, char **argv);
int do_list(int argc, char **argv);
int do_show(int argc, char **argv);
int do_stats(int argc, char **argv);
int do_rm(int argc, char **argv);
int do_elem(int argc, char **argv);
int do_dump(int argc, char **argv);
int do_prog(int argc, char **argv);
int do_attach(int argc, char **argv);
int do_detach(int argc, char **argv);

#endif /* __HMAPCTL_COMMON_H */
