/*
 * jsonutil.h — strict, path-aware helpers for reading user JSON (profiles,
 * scenarios) with cJSON.
 *
 * Every error names the file, the JSON path and what was expected:
 *     profiles/x.json: rules[3].errno: expected one of ECONNREFUSED ...; got "EFOO"
 * Errors accumulate in the context (one per line) so `faultline validate`
 * reports all of them at once; loaders keep going after an error where they
 * can and return -EINVAL at the end if ctx->nerr > 0.
 *
 * cJSON stays at the edge: loaders use these getters, convert to typed
 * structs and cJSON_Delete the tree before returning.
 */
#ifndef FL_JSONUTIL_H
#define FL_JSONUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

struct fl_jctx {
	const char *file; /* shown at the start of every message */
	char *err;        /* caller's buffer, NUL-terminated, lines appended */
	size_t errlen;
	int nerr;
};

/* A JSON path under construction: "rules[3].errno". Fixed size, no malloc. */
struct fl_jpath {
	char s[256];
};

/* Append "file: path: message\n" to ctx->err (truncating silently when the
 * buffer is full) and count it. Returns -EINVAL so callers can
 * `return fl_jerr(...)`. */
int fl_jerr(struct fl_jctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Child paths: fl_jpath_key(&out, "rules[3]", "errno") -> "rules[3].errno";
 * fl_jpath_idx(&out, "rules", 3) -> "rules[3]". A NULL or "" parent gives
 * the bare key. Return out->s. */
const char *fl_jpath_key(struct fl_jpath *out, const char *parent, const char *key);
const char *fl_jpath_idx(struct fl_jpath *out, const char *parent, int idx);

/* Read and parse a whole file. On failure returns NULL with an error in ctx
 * (cannot open, empty, or the parse error with line and column). The caller
 * owns the tree: cJSON_Delete it. */
cJSON *fl_json_load_file(struct fl_jctx *c, const char *file);
/* Same for a string already in memory (tests, fuzzing). */
cJSON *fl_json_parse(struct fl_jctx *c, const char *text, size_t len);

/* Reject keys of `obj` not in the NULL-terminated `allowed` list; also
 * rejects duplicate keys. Returns the number of errors added. */
int fl_json_only_keys(struct fl_jctx *c, const cJSON *obj, const char *path,
		      const char *const *allowed);

/* Typed getters. `key` is looked up case-sensitively in object `obj` whose
 * path is `path`. Missing and optional: leave *out untouched, return 0.
 * Missing and required, wrong type or out of [lo, hi]: add an error, return
 * -EINVAL. */
int fl_json_num(struct fl_jctx *c, const cJSON *obj, const char *path,
		const char *key, bool required, double lo, double hi, double *out);
int fl_json_int(struct fl_jctx *c, const cJSON *obj, const char *path,
		const char *key, bool required, long long lo, long long hi,
		long long *out);
int fl_json_bool(struct fl_jctx *c, const cJSON *obj, const char *path,
		 const char *key, bool required, bool *out);
/* Copies at most outlen-1 bytes; a longer string is an error. */
int fl_json_str(struct fl_jctx *c, const cJSON *obj, const char *path,
		const char *key, bool required, char *out, size_t outlen);
/* Returns the child object/array or NULL (with an error when required or
 * present with the wrong type). */
const cJSON *fl_json_obj(struct fl_jctx *c, const cJSON *obj, const char *path,
			 const char *key, bool required);
const cJSON *fl_json_arr(struct fl_jctx *c, const cJSON *obj, const char *path,
			 const char *key, bool required);

/* Describe a node's type for messages: "a string", "a number", ... */
const char *fl_json_type(const cJSON *v);

#endif /* FL_JSONUTIL_H */
