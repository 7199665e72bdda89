// SPDX-License-Identifier: GPL-2.0
/*
 * hmapctl lookup, update, delete and dump: keys and values as bytes (read as
 * bpftool reads them) or, with --btf, as typed fields; zero-copy reads.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <arpa/inet.h>
#include <endian.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>

#include "common.h"

/* Parse a number, or the name of one of enum @t's values, for int or enum @t. */
static int ty_parse_num(struct typed *ty, const struct btf_type *t, const char *text, __u64 *v)
{
	bool is_enum = btf_is_enum(t) || btf_is_enum64(t);
	char *end;

	for (__u32 k = 0; is_enum && k < btf_vlen(t); k++) {
		const char *name = btf__name_by_offset(ty->btf, btf_is_enum(t) ?
						       btf_enum(t)[k].name_off :
						       btf_enum64(t)[k].name_off);

		if (!strcmp(name, text)) {
			*v = btf_is_enum(t) ? (__u64)(__s64)btf_enum(t)[k].val :
					      btf_enum64_value(&btf_enum64(t)[k]);
			return 0;
		}
	}
	errno = 0;
	*v = text[0] == '-' ? (unsigned long long)strtoll(text, &end, 0) : strtoull(text, &end, 0);
	if (errno || *end || !*text || (t->size < 8 && text[0] != '-' && *v >> (t->size * 8)))
		return usage_error("'%s' is not a %u-byte number%s", text, t->size,
				   is_enum ? " or a name of the enum's values" : "");
	return 0;
}

/* Parse one scalar or byte array of type @id from @text into @p. */
static int ty_parse_one(struct typed *ty, __u32 id, const char *member, const char *text, __u8 *p)
{
	__s32 rid = btf__resolve_type(ty->btf, id);
	const struct btf_type *t = btf__type_by_id(ty->btf, rid);
	bool is_addr = member && strlen(member) >= 4 && !strcmp(member + strlen(member) - 4, "addr");

	if (t && (btf_is_int(t) || btf_is_enum(t) || btf_is_enum64(t)) && t->size <= 8) {
		__u64 v;

		if (is_addr && t->size == 4 && inet_pton(AF_INET, text, p) == 1)
			return 0;
		if (ty_parse_num(ty, t, text, &v))
			return EXIT_USAGE;
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
		const struct btf_type *e = ty_resolved(ty->btf, btf_array(t)->type);
		__u32 n = btf_array(t)->nelems;

		if (e && btf_is_int(e) && !strcmp(btf__name_by_offset(ty->btf, e->name_off), "char")) {
			if (strlen(text) > n)	/* a string, NUL-padded */
				return usage_error("'%s' is longer than the field's %u chars", text, n);
			strncpy((char *)p, text, n);
			return 0;
		}
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
	return usage_error("cannot parse a value of this field's type from '%s': give it as "
			   "bytes, without --btf", text);
}

/* Store @v in the @bits-bit field at bit @off of @p (little-endian). */
static void put_bits(__u8 *p, __u32 off, __u32 bits, __u64 v)
{
	for (__u32 b = 0; b < bits; b++) {
		__u32 at = off + b;

		if ((v >> b) & 1)
			p[at / 8] |= 1 << (at % 8);
		else
			p[at / 8] &= ~(1 << (at % 8));
	}
}

/*
 * Find member @name (@len chars; "a.b" inside nested structs and unions,
 * anonymous ones' fields as their parent's) of struct or union type @id:
 * its type, bit offset, bitfield size (0: not a bitfield) and name.
 */
static bool find_member(struct typed *ty, __u32 id, const char *name, size_t len, __u32 *type,
			__u32 *off, __u32 *bits, const char **mname)
{
	const struct btf_type *t = ty_resolved(ty->btf, id);
	const char *dot = memchr(name, '.', len);
	size_t n = dot ? (size_t)(dot - name) : len;
	const struct btf_member *m;

	if (!t || (!btf_is_struct(t) && !btf_is_union(t)))
		return false;
	m = btf_members(t);
	for (__u32 k = 0; k < btf_vlen(t); k++, m++) {
		const char *mn = btf__name_by_offset(ty->btf, m->name_off);
		__u32 o = btf_member_bit_offset(t, k);

		if (!*mn && find_member(ty, m->type, name, len, type, off, bits, mname)) {
			*off += o;
			return true;
		}
		if (strlen(mn) != n || strncmp(mn, name, n))
			continue;
		if (dot) {
			if (btf_member_bitfield_size(t, k) ||
			    !find_member(ty, m->type, dot + 1, len - n - 1, type, off, bits, mname))
				return false;
			*off += o;
			return true;
		}
		*type = m->type;
		*off = o;
		*bits = btf_member_bitfield_size(t, k);
		*mname = mn;
		return true;
	}
	return false;
}

/*
 * Parse typed fields from argv[*i..] into @out (zeroed first): "field=value"
 * tokens for a struct ("a.b=value" inside nested ones; bitfields, enum value
 * names and char strings too), or one bare value otherwise.  Stops at a
 * keyword.
 */
static int parse_typed(struct typed *ty, __s32 id, int argc, char **argv, int *i, __u8 *out,
		       size_t size, const char *what)
{
	const struct btf_type *t = ty_resolved(ty->btf, id);
	int got = 0;

	memset(out, 0, size);
	if (!btf_is_struct(t) && !btf_is_union(t)) {
		if (*i >= argc)
			return usage_error("%s needs a value", what);
		return ty_parse_one(ty, id, NULL, argv[(*i)++], out);
	}
	for (; *i < argc; (*i)++) {
		const char *a = argv[*i], *eq = strchr(a, '='), *mname;
		__u32 type, off, bits;

		if (is_keyword(a))
			break;
		if (!eq)
			return usage_error("%s field '%s' is not NAME=VALUE", what, a);
		if (!find_member(ty, id, a, eq - a, &type, &off, &bits, &mname))
			return usage_error("%s has no field '%.*s'", what, (int)(eq - a), a);
		if (bits) {
			const struct btf_type *bt = ty_resolved(ty->btf, type);
			__u64 v;

			if (!bt || ty_parse_num(ty, bt, eq + 1, &v))
				return EXIT_USAGE;
			if (bits < 64 && (eq[1] == '-' ? (__s64)v < -(1LL << (bits - 1)) : v >> bits))
				return usage_error("'%s' does not fit the %u-bit field '%s'", eq + 1,
						   bits, mname);
			put_bits(out, off, bits, v);
		} else if (ty_parse_one(ty, type, mname, eq + 1, out + off / 8)) {
			return EXIT_USAGE;
		}
		got++;
	}
	return got ? 0 : usage_error("%s needs NAME=VALUE fields", what);
}

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

/* lookup NAME key BYTES | update NAME key BYTES value BYTES [any|noexist|exist] | delete NAME key BYTES */
int do_elem(int argc, char **argv)
{
	const char *cmd = current->name, *btf_obj = NULL;
	__u8 key[HMAP_KEY_SIZE_MAX], *val;
	struct table_ref ref;
	char name[PATH_MAX];
	int used;
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
	used = parse_table_ref(argc - 1, argv + 1, &ref);
	if (used < 0)
		return EXIT_USAGE;
	i = 1 + used;
	if (i + 1 >= argc || strcmp(argv[i], "key"))
		return usage_error("usage: hmapctl %s %s", cmd, current->args);
	snprintf(name, sizeof(name), "%s", ref.label);
	if (btf_obj && table_ref_btf_name(&ref, name, sizeof(name)))
		return EXIT_FAILURE;
	ret = open_table_ref(&ref, strcmp(cmd, "lookup"), &t);
	if (ret)
		return ret;
	shm = hmap_table__header(t);
	val = calloc(1, shm->value_size);
	if (btf_obj && typed_open(&ty, btf_obj, name, shm)) {
		ret = EXIT_FAILURE;
		goto out_val;
	}
	i++;
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
	if (strcmp(cmd, "lookup")) {
		if (g.json)
			jw_null(NULL);	/* as bpftool map update/delete -j */
		goto out;
	}
	if (btf_obj) {
		if (g.json) {
			jw_open(NULL, '{');
			typed_json(&ty, "key", ty.key_id, key);
			typed_json(&ty, "value", ty.value_id, val);
			jw_close('}');
		} else {
			fputs("key: ", stdout);
			typed_print(&ty, ty.key_id, key, stdout);
			fputs("\nvalue: ", stdout);
			typed_print(&ty, ty.value_id, val, stdout);
			putchar('\n');
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
			typed_json(c->ty, "key", c->ty->key_id, k);
			typed_json(c->ty, "value", c->ty->value_id, v);
		} else {
			jw_bytes("key", k, shm->key_size);
			jw_bytes("value", v, shm->value_size);
		}
		jw_close('}');
	} else if (c->ty) {
		typed_print(c->ty, c->ty->key_id, k, stdout);
		fputs(" => ", stdout);
		typed_print(c->ty, c->ty->value_id, v, stdout);
		putchar('\n');
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
		t = ty_resolved(ty->btf, id);
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

int do_dump(int argc, char **argv)
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
	struct table_ref ref;
	char btf_name[PATH_MAX];
	int used;
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
	used = parse_table_ref(argc - optind, argv + optind, &ref);
	if (used < 0)
		return EXIT_USAGE;
	if (optind + used != argc)
		return usage_error("dump takes one TABLE, then options (see 'hmapctl dump --help')");
	if (sort && !top)
		return usage_error("--sort goes with --top N");
	name = ref.label;
	if (btf_obj && table_ref_btf_name(&ref, btf_name, sizeof(btf_name)))
		return EXIT_FAILURE;
	ret = open_table_ref(&ref, false, &t);
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
		if (typed_open(&ty, btf_obj, btf_name, dc.shm)) {
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
	if (ret)	/* an error element in the array, with -j */
		ret = fail("reading table '%s' failed: %s", name, strerror(-ret));
	if (g.json)
		jw_close(']');
	else if (!ret)
		printf("Found %llu element%s\n", (unsigned long long)dc.count, dc.count == 1 ? "" : "s");
	if (dc.ty)
		typed_close(&ty);
	free(dc.copy);
	hmap_table__close(t);
	return ret;
}
