// SPDX-License-Identifier: GPL-2.0
/*
 * hmapctl's typed output: keys and values printed through the BTF types an
 * object declared with HMAP_TABLE() (bpftool's btf_dumper.c).
 *
 * Text: hmapctl walks structs and unions itself, as {name=value ...} at
 * any depth, and on top of libbpf prints what people read better than C:
 * integers in decimal (__be16/__be32/__be64 in host order), byte arrays in
 * hex, members named *addr holding 4 or 16 bytes as IPv4/IPv6 addresses
 * (IPv4-mapped IPv6 as ::ffff:a.b.c.d), and bitfields.  Every other leaf
 * (enums by name, chars and char arrays, bools, floats, pointers, 128-bit
 * integers, arrays of other scalars) is printed by libbpf's
 * btf_dump__dump_type_data().  Output goes straight to the stream: no cut.
 *
 * JSON (-j): the same walk as bpftool's "formatted" output: a struct or
 * union is an object (anonymous members' fields inline), integers are
 * numbers, enums their names, char arrays strings, other arrays arrays,
 * 128-bit integers and pointers "0x..." strings; *addr members are address
 * strings and __be fields numbers in host order, as in text.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/btf.h>

#include "common.h"

/* The type @id stands for, through typedefs and modifiers. */
const struct btf_type *ty_resolved(const struct btf *btf, __u32 id)
{
	return btf__type_by_id(btf, btf__resolve_type(btf, id));
}

/* True if a typedef in @id's chain has @name (e.g. __be16). */
bool ty_is(const struct btf *btf, __u32 id, const char *name)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	while (t && (btf_is_typedef(t) || btf_is_mod(t))) {
		if (btf_is_typedef(t) && !strcmp(btf__name_by_offset(btf, t->name_off), name))
			return true;
		t = btf__type_by_id(btf, t->type);
	}
	return false;
}

static void ty_dump_printf(void *ctx, const char *fmt, va_list args)
{
	struct typed *ty = ctx;

	vfprintf(ty->out, fmt, args);
}

int typed_open(struct typed *ty, const char *obj, const char *table,
	       const struct hmap_shm_header *shm)
{
	int ret;

	memset(ty, 0, sizeof(*ty));
	ty->btf = btf__parse(obj, NULL);
	if (!ty->btf)
		return fail("cannot read BTF from %s: %s", obj, strerror(errno));
	if (hmap_btf__table_types(ty->btf, table, &ty->key_id, &ty->value_id)) {
		ret = fail("%s declares no HMAP_TABLE(%s, ...): pass the object that uses table '%s'",
			   obj, table, table);
		goto err;
	}
	if (btf__resolve_size(ty->btf, ty->key_id) != shm->key_size ||
	    btf__resolve_size(ty->btf, ty->value_id) != shm->value_size) {
		ret = fail("%s's types for '%s' are %lld+%lld bytes, the table's are %u+%u",
			   obj, table, (long long)btf__resolve_size(ty->btf, ty->key_id),
			   (long long)btf__resolve_size(ty->btf, ty->value_id),
			   shm->key_size, shm->value_size);
		goto err;
	}
	ty->dump = btf_dump__new(ty->btf, ty_dump_printf, ty, NULL);
	if (!ty->dump) {
		ret = fail("cannot print %s's types: %s", obj, strerror(errno));
		goto err;
	}
	return 0;
err:
	btf__free(ty->btf);
	ty->btf = NULL;
	return ret;
}

void typed_close(struct typed *ty)
{
	btf_dump__free(ty->dump);
	btf__free(ty->btf);
	ty->dump = NULL;
	ty->btf = NULL;
}

static bool is_addr_name(const char *member)
{
	size_t n = member ? strlen(member) : 0;

	return n >= 4 && !strcmp(member + n - 4, "addr");
}

/* An address in @buf if @p (@size bytes, member @member) is one, else NULL. */
static const char *addr_str(const char *member, const __u8 *p, __u32 size, char *buf)
{
	if (!is_addr_name(member))
		return NULL;
	if (size == 4)
		return inet_ntop(AF_INET, p, buf, INET6_ADDRSTRLEN);
	if (size != 16)
		return NULL;
	if (!memcmp(p, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12)) {
		snprintf(buf, INET6_ADDRSTRLEN, "::ffff:%u.%u.%u.%u", p[12], p[13], p[14], p[15]);
		return buf;
	}
	return inet_ntop(AF_INET6, p, buf, INET6_ADDRSTRLEN);
}

/* The integer at @p of int type @t (size <= 8), host order, sign-extended. */
static __u64 int_value(const struct btf *btf, __u32 id, const struct btf_type *t, const __u8 *p)
{
	__u64 v = 0;

	memcpy(&v, p, t->size);
	if (ty_is(btf, id, "__be16"))
		v = ntohs(v);
	else if (ty_is(btf, id, "__be32"))
		v = ntohl(v);
	else if (ty_is(btf, id, "__be64"))
		v = be64toh(v);
	if ((btf_int_encoding(t) & BTF_INT_SIGNED) && t->size < 8 && (v >> (t->size * 8 - 1)) & 1)
		v |= ~0ULL << (t->size * 8);
	return v;
}

/* Ints hmapctl prints itself: not char, not bool, at most 8 bytes. */
static bool plain_int(const struct btf_type *t)
{
	return btf_is_int(t) && !(btf_int_encoding(t) & (BTF_INT_CHAR | BTF_INT_BOOL)) &&
	       t->size <= 8 && btf_int_offset(t) == 0 && btf_int_bits(t) == t->size * 8;
}

/* Bitfield @bits at bit @off of @p; @type is its int or enum type. */
static __u64 bitfield_value(const struct btf *btf, __u32 type, const __u8 *p, __u32 off, __u32 bits)
{
	const struct btf_type *t = ty_resolved(btf, type);
	unsigned __int128 w = 0;
	__u64 v;

	memcpy(&w, p + off / 8, (off % 8 + bits + 7) / 8);
	v = (__u64)(w >> (off % 8));
	if (bits < 64)
		v &= (1ULL << bits) - 1;
	if (t && btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED) && bits < 64 &&
	    (v >> (bits - 1)) & 1)
		v |= ~0ULL << bits;
	return v;
}

/* The name of value @v of enum @t, or NULL. */
static const char *enum_name(const struct btf *btf, const struct btf_type *t, __u64 v)
{
	if (btf_is_enum(t)) {
		const struct btf_enum *e = btf_enum(t);

		for (__u32 i = 0; i < btf_vlen(t); i++, e++)
			if ((__u32)e->val == (__u32)v)
				return btf__name_by_offset(btf, e->name_off);
	} else if (btf_is_enum64(t)) {
		const struct btf_enum64 *e = btf_enum64(t);

		for (__u32 i = 0; i < btf_vlen(t); i++, e++)
			if (btf_enum64_value(e) == v)
				return btf__name_by_offset(btf, e->name_off);
	}
	return NULL;
}

static bool is_signed(const struct btf_type *t)
{
	return (btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_SIGNED)) ||
	       ((btf_is_enum(t) || btf_is_enum64(t)) && btf_kflag(t));
}

/* Plain C char (clang encodes it as a signed 1-byte int named "char"). */
static bool is_char(const struct btf *btf, const struct btf_type *t)
{
	return btf_is_int(t) && t->size == 1 &&
	       ((btf_int_encoding(t) & BTF_INT_CHAR) ||
		!strcmp(btf__name_by_offset(btf, t->name_off), "char"));
}

static bool byte_elems(const struct btf *btf, const struct btf_type *t, bool *chars)
{
	const struct btf_type *e;

	if (!btf_is_array(t))
		return false;
	e = ty_resolved(btf, btf_array(t)->type);
	if (!e || !btf_is_int(e) || e->size != 1)
		return false;
	*chars = is_char(btf, e);
	return true;
}

/* A char array holding a printable string (NUL-terminated or full). */
static bool printable(const char *p, __s64 size)
{
	__s64 n = strnlen(p, size);

	for (__s64 i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f || p[i] == '"' || p[i] == '\\')
			return false;
	for (__s64 i = n; i < size; i++)
		if (p[i])
			return false;	/* bytes after the NUL: not just a string */
	return true;
}

/*
 * The members of struct or union @t at @p, as text and JSON both print them:
 * __pad* members skipped, anonymous structs and unions inlined.  @fn gets
 * each member's name, type, data and, for a bitfield, its value (bits > 0).
 */
struct ty_member {
	const char *name;
	__u32 type;
	const struct btf_type *mt;	/* resolved type, or NULL */
	const __u8 *p;			/* the member's bytes (not for bitfields) */
	__u32 bits;			/* bitfield width, 0 otherwise */
	__u64 value;			/* bitfield value */
	const char *enum_name;		/* bitfield of enum type: its name, if known */
};

typedef void (*ty_member_fn)(struct typed *ty, const struct ty_member *m, void *ctx);

static void ty_for_each_member(struct typed *ty, const struct btf_type *t, const __u8 *p,
			       ty_member_fn fn, void *ctx)
{
	const struct btf_member *m = btf_members(t);

	for (__u32 i = 0; i < btf_vlen(t); i++, m++) {
		__u32 off = btf_member_bit_offset(t, i);
		struct ty_member tm = {
			.name = btf__name_by_offset(ty->btf, m->name_off),
			.type = m->type,
			.mt = ty_resolved(ty->btf, m->type),
			.p = p + off / 8,
			.bits = btf_member_bitfield_size(t, i),
		};

		if (!strncmp(tm.name, "__pad", 5))
			continue;
		if (!*tm.name && tm.mt && (btf_is_struct(tm.mt) || btf_is_union(tm.mt))) {
			ty_for_each_member(ty, tm.mt, tm.p, fn, ctx);	/* anonymous: inline */
			continue;
		}
		if (tm.bits) {
			tm.value = bitfield_value(ty->btf, m->type, p, off, tm.bits);
			tm.enum_name = tm.mt ? enum_name(ty->btf, tm.mt, tm.value) : NULL;
		}
		fn(ty, &tm, ctx);
	}
}

/* ---- text ---------------------------------------------------------------------------- */

static void ty_text(struct typed *ty, __u32 id, const __u8 *p, const char *member);

static void ty_text_member(struct typed *ty, const struct ty_member *m, void *ctx)
{
	bool *first = ctx;

	fprintf(ty->out, "%s%s=", *first ? "" : " ", m->name);
	*first = false;
	if (!m->bits)
		ty_text(ty, m->type, m->p, m->name);
	else if (m->enum_name)
		fputs(m->enum_name, ty->out);
	else if (m->mt && is_signed(m->mt))
		fprintf(ty->out, "%lld", (long long)m->value);
	else
		fprintf(ty->out, "%llu", (unsigned long long)m->value);
}

static void ty_text(struct typed *ty, __u32 id, const __u8 *p, const char *member)
{
	const struct btf_type *t = ty_resolved(ty->btf, id);
	LIBBPF_OPTS(btf_dump_type_data_opts, o, .compact = true, .skip_names = true,
		    .emit_zeroes = true);
	char ip[INET6_ADDRSTRLEN];
	__s64 size = btf__resolve_size(ty->btf, id);
	bool chars;

	if (!t || size < 0) {
		fputs("?", ty->out);
		return;
	}
	if (btf_is_struct(t) || btf_is_union(t)) {
		bool first = true;

		fputc('{', ty->out);
		ty_for_each_member(ty, t, p, ty_text_member, &first);
		fputc('}', ty->out);
		return;
	}
	if ((plain_int(t) || (byte_elems(ty->btf, t, &chars) && !chars)) &&
	    addr_str(member, p, size, ip)) {
		fputs(ip, ty->out);
		return;
	}
	if (plain_int(t)) {
		__u64 v = int_value(ty->btf, id, t, p);

		if (btf_int_encoding(t) & BTF_INT_SIGNED)
			fprintf(ty->out, "%lld", (long long)v);
		else
			fprintf(ty->out, "%llu", (unsigned long long)v);
		return;
	}
	if (byte_elems(ty->btf, t, &chars) && !chars) {
		for (__s64 i = 0; i < size; i++)
			fprintf(ty->out, "%02x", p[i]);
		return;
	}
	if (byte_elems(ty->btf, t, &chars) && printable((const char *)p, size)) {
		fprintf(ty->out, "\"%.*s\"", (int)strnlen((const char *)p, size), p);
		return;
	}
	if (btf_is_array(t)) {
		const struct btf_type *e = ty_resolved(ty->btf, btf_array(t)->type);
		__s64 esz = btf__resolve_size(ty->btf, btf_array(t)->type);

		if (e && esz > 0 && (btf_is_struct(e) || btf_is_union(e) || btf_is_array(e))) {
			fputc('[', ty->out);
			for (__u32 i = 0; i < btf_array(t)->nelems; i++) {
				fputs(i ? ", " : "", ty->out);
				ty_text(ty, btf_array(t)->type, p + i * esz, NULL);
			}
			fputc(']', ty->out);
			return;
		}
	}
	/* Everything else as libbpf prints C data. */
	if (btf_dump__dump_type_data(ty->dump, id, p, size, &o) < 0)
		fputs("?", ty->out);
}

void typed_print(struct typed *ty, __s32 id, const void *data, FILE *f)
{
	ty->out = f;
	ty_text(ty, id, data, NULL);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static void ty_json(struct typed *ty, const char *key, __u32 id, const __u8 *p, const char *member);

static void ty_json_member(struct typed *ty, const struct ty_member *m, void *ctx)
{
	if (!m->bits)
		ty_json(ty, m->name, m->type, m->p, m->name);
	else if (m->enum_name)
		jw_str(m->name, m->enum_name);
	else if (m->mt && is_signed(m->mt))
		jw_s64(m->name, m->value);
	else
		jw_u64(m->name, m->value);
}

static void ty_json(struct typed *ty, const char *key, __u32 id, const __u8 *p, const char *member)
{
	const struct btf_type *t = ty_resolved(ty->btf, id);
	__s64 size = btf__resolve_size(ty->btf, id);
	char ip[INET6_ADDRSTRLEN], num[64];
	bool chars;

	if (!t || size < 0) {
		jw_null(key);
		return;
	}
	if (btf_is_struct(t) || btf_is_union(t)) {
		jw_open(key, '{');
		ty_for_each_member(ty, t, p, ty_json_member, NULL);
		jw_close('}');
		return;
	}
	if ((plain_int(t) || (byte_elems(ty->btf, t, &chars) && !chars)) &&
	    addr_str(member, p, size, ip)) {
		jw_str(key, ip);
		return;
	}
	if (btf_is_int(t) && (btf_int_encoding(t) & BTF_INT_BOOL)) {
		jw_bool(key, p[0]);
		return;
	}
	if (btf_is_int(t) && t->size <= 8) {
		__u64 v = int_value(ty->btf, id, t, p);

		if (btf_int_encoding(t) & BTF_INT_SIGNED)
			jw_s64(key, v);
		else
			jw_u64(key, v);
		return;
	}
	if (btf_is_int(t)) {		/* 128 bits: hex, as bpftool */
		unsigned __int128 v = 0;

		memcpy(&v, p, size > 16 ? 16 : size);
		snprintf(num, sizeof(num), "0x%llx%016llx", (unsigned long long)(v >> 64),
			 (unsigned long long)v);
		jw_str(key, num);
		return;
	}
	if (btf_is_enum(t) || btf_is_enum64(t)) {
		__u64 v = 0;
		const char *en;

		memcpy(&v, p, size > 8 ? 8 : size);
		if (is_signed(t) && size < 8 && (v >> (size * 8 - 1)) & 1)
			v |= ~0ULL << (size * 8);
		en = enum_name(ty->btf, t, v);
		if (en)
			jw_str(key, en);
		else if (is_signed(t))
			jw_s64(key, v);
		else
			jw_u64(key, v);
		return;
	}
	if (byte_elems(ty->btf, t, &chars) && chars && printable((const char *)p, size)) {
		char *s = strndup((const char *)p, size);

		jw_str(key, s ?: "");
		free(s);
		return;
	}
	if (btf_is_array(t)) {
		__s64 esz = btf__resolve_size(ty->btf, btf_array(t)->type);

		jw_open(key, '[');
		for (__u32 i = 0; i < btf_array(t)->nelems && esz > 0; i++)
			ty_json(ty, NULL, btf_array(t)->type, p + i * esz, NULL);
		jw_close(']');
		return;
	}
	if (btf_is_float(t)) {
		double d = NAN;
		float f;

		if (size == 4) {
			memcpy(&f, p, 4);
			d = f;
		} else if (size == 8) {
			memcpy(&d, p, 8);
		}

		if (isfinite(d)) {
			snprintf(num, sizeof(num), "%.17g", d);
			jw_raw(key, num);
		} else {
			jw_null(key);
		}
		return;
	}
	if (btf_is_ptr(t)) {
		__u64 v = 0;

		memcpy(&v, p, size > 8 ? 8 : size);
		snprintf(num, sizeof(num), "0x%llx", (unsigned long long)v);
		jw_str(key, num);
		return;
	}
	jw_null(key);
}

void typed_json(struct typed *ty, const char *key, __s32 id, const void *data)
{
	ty_json(ty, key, id, data, NULL);
}
