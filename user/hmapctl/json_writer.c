// SPDX-License-Identifier: GPL-2.0
/* hmapctl's JSON writer: see json_writer.h. */
#include <stdio.h>

#include "json_writer.h"

#define JW_MAX_DEPTH	32

static bool jw_pretty;
static int jw_depth;
static bool jw_need_comma[JW_MAX_DEPTH];
static char jw_kind[JW_MAX_DEPTH];	/* '{' or '[' open at each depth */
static int jw_docs;			/* top-level values written */

void jw_set_pretty(bool pretty)
{
	jw_pretty = pretty;
}

static void jw_newline(void)
{
	if (jw_pretty) {
		putchar('\n');
		for (int i = 0; i < jw_depth; i++)
			fputs("    ", stdout);
	}
}

static void jw_quoted(const char *v)
{
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

static void jw_sep(const char *key)
{
	if (jw_need_comma[jw_depth])
		putchar(',');
	jw_need_comma[jw_depth] = true;
	if (jw_depth)
		jw_newline();
	if (key) {
		jw_quoted(key);
		fputs(jw_pretty ? ": " : ":", stdout);
	}
}

void jw_open(const char *key, char c)
{
	jw_sep(key);
	putchar(c);
	jw_need_comma[++jw_depth] = false;	/* hmapctl nests far less than JW_MAX_DEPTH */
	jw_kind[jw_depth] = c;
}

void jw_close(char c)
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

void jw_finish(void)
{
	while (jw_depth > 0)
		jw_close(jw_kind[jw_depth] == '{' ? '}' : ']');
}

void jw_error(const char *msg)
{
	if (jw_depth && jw_kind[jw_depth] == '{') {
		jw_str("error", msg);
	} else if (jw_depth || !jw_docs) {
		jw_open(NULL, '{');
		jw_str("error", msg);
		jw_close('}');
	}
	/* else: a document was written already; the message is on stderr */
}

void jw_str(const char *key, const char *v)
{
	jw_sep(key);
	jw_quoted(v);
}

void jw_null(const char *key)
{
	jw_sep(key);
	fputs("null", stdout);
}

void jw_bool(const char *key, bool v)
{
	jw_sep(key);
	fputs(v ? "true" : "false", stdout);
}

void jw_u64(const char *key, unsigned long long v)
{
	jw_sep(key);
	printf("%llu", v);
}

void jw_s64(const char *key, long long v)
{
	jw_sep(key);
	printf("%lld", v);
}

void jw_raw(const char *key, const char *token)
{
	jw_sep(key);
	fputs(token, stdout);
}

void jw_bytes(const char *key, const __u8 *p, __u32 n)
{
	jw_open(key, '[');
	for (__u32 i = 0; i < n; i++) {
		char b[8];

		snprintf(b, sizeof(b), "0x%02x", p[i]);
		jw_str(NULL, b);
	}
	jw_close(']');
}
