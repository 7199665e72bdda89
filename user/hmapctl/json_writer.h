/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hmapctl's only JSON writer (as bpftool's json_writer).  One document per
 * run on stdout: commands open and close containers; jw_error() reports an
 * error in whatever container is open (an {"error": ...} element in an
 * array, an "error" member in an object, a document of its own at the top);
 * jw_finish() closes what an early return left open.  So stdout is valid
 * JSON on every path.  The schema is in doc/hmapctl.8.md, JSON OUTPUT.
 */
#ifndef __HMAPCTL_JSON_WRITER_H
#define __HMAPCTL_JSON_WRITER_H

#include <stdbool.h>
#include <linux/types.h>

void jw_set_pretty(bool pretty);
void jw_open(const char *key, char c);	/* c: '{' or '[' */
void jw_close(char c);
void jw_finish(void);
void jw_error(const char *msg);
void jw_str(const char *key, const char *v);
void jw_null(const char *key);
void jw_bool(const char *key, bool v);
void jw_u64(const char *key, unsigned long long v);
void jw_s64(const char *key, long long v);
void jw_raw(const char *key, const char *token);	/* a number, say; valid JSON */
void jw_bytes(const char *key, const __u8 *p, __u32 n);	/* ["0x0a", ...] as bpftool */

#endif /* __HMAPCTL_JSON_WRITER_H */
