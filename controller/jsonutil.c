/*
 * jsonutil.c — strict, path-aware reading of user JSON with cJSON.
 *
 * Divisions: the error buffer and paths; parsing (line/column of a syntax
 * error, truncation detection, file reading); key checks; typed getters.
 *
 * Invariants
 *  - Every message is "FILE: PATH: expected X; got Y" (or "FILE: message"
 *    when there is no path); one line each, appended to the caller's buffer,
 *    which stays NUL-terminated even when it is full.
 *  - Input is parsed with an explicit length and must be one JSON value with
 *    nothing after it but whitespace; embedded NUL bytes are refused.
 *  - fl_json_load_file leaves errno set when it returns NULL: EINVAL for bad
 *    content, EFBIG for an oversized file, else the open/read error, so a
 *    loader can tell "cannot read" from "bad JSON".
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonutil.h"

#define FL_JSON_MAX_FILE (16u << 20) /* 16 MiB: no profile is that big */
#define FL_JSON_EXACT 9007199254740992.0 /* 2^53: the last exact integer */

/* ---- errors and paths --------------------------------------------------- */

int fl_jerr(struct fl_jctx *c, const char *path, const char *fmt, ...)
{
	size_t used;
	va_list ap;

	c->nerr++;
	if (!c->err || c->errlen == 0)
		return -EINVAL;
	used = strnlen(c->err, c->errlen - 1);
	c->err[used] = '\0';
	if (path && *path)
		used += (size_t)snprintf(c->err + used, c->errlen - used, "%s: %s: ",
					 c->file ? c->file : "(input)", path);
	else
		used += (size_t)snprintf(c->err + used, c->errlen - used, "%s: ",
					 c->file ? c->file : "(input)");
	if (used >= c->errlen)
		return -EINVAL;
	va_start(ap, fmt);
	used += (size_t)vsnprintf(c->err + used, c->errlen - used, fmt, ap);
	va_end(ap);
	if (used + 1 < c->errlen)
		strcpy(c->err + used, "\n");
	return -EINVAL;
}

const char *fl_jpath_key(struct fl_jpath *out, const char *parent, const char *key)
{
	if (parent && *parent)
		snprintf(out->s, sizeof(out->s), "%s.%s", parent, key);
	else
		snprintf(out->s, sizeof(out->s), "%s", key);
	return out->s;
}

const char *fl_jpath_idx(struct fl_jpath *out, const char *parent, int idx)
{
	snprintf(out->s, sizeof(out->s), "%s[%d]", parent ? parent : "", idx);
	return out->s;
}

const char *fl_json_type(const cJSON *v)
{
	if (!v)
		return "nothing";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsNumber(v))
		return "a number";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "an invalid value";
}

/* Shortest "%g" form that reads back as the same double. */
static const char *fmt_num(double d, char *buf, size_t n)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	return buf;
}

/* A string as a short, quoted, printable excerpt. */
static const char *fmt_str(const char *s, char *buf, size_t n)
{
	size_t o = 0, max = n > 8 ? n - 6 : 0;

	buf[o++] = '"';
	for (; *s && o < max; s++)
		buf[o++] = (*s == '"' || (unsigned char)*s < 0x20) ? '?' : *s;
	if (*s)
		o += (size_t)snprintf(buf + o, n - o, "...");
	snprintf(buf + o, n - o, "\"");
	return buf;
}

/* What the user wrote, for the "; got Y" part of a message. */
static const char *fmt_got(const cJSON *v, char *buf, size_t n)
{
	if (cJSON_IsString(v))
		return fmt_str(v->valuestring, buf, n);
	if (cJSON_IsNumber(v))
		return fmt_num(v->valuedouble, buf, n);
	if (cJSON_IsTrue(v))
		return "true";
	if (cJSON_IsFalse(v))
		return "false";
	return fl_json_type(v);
}

/* ---- parsing -------------------------------------------------------------- */

static void line_col(const char *text, size_t pos, size_t *line, size_t *col)
{
	size_t l = 1, bol = 0;

	for (size_t i = 0; i < pos; i++) {
		if (text[i] == '\n') {
			l++;
			bol = i + 1;
		}
	}
	*line = l;
	*col = pos - bol + 1;
}

/* Scan for an unclosed string, object or array at the end of input; returns
 * the offset of the innermost unclosed opener, or -1 if everything closes. */
static long unclosed_at(const char *t, size_t len)
{
	long stack[64], str_at = -1;
	size_t depth = 0;
	bool esc = false;

	for (size_t i = 0; i < len; i++) {
		char ch = t[i];

		if (str_at >= 0) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				str_at = -1;
		} else if (ch == '"') {
			str_at = (long)i;
		} else if (ch == '{' || ch == '[') {
			if (depth < 64)
				stack[depth] = (long)i;
			depth++;
		} else if ((ch == '}' || ch == ']') && depth > 0) {
			depth--;
		}
	}
	if (str_at >= 0)
		return str_at;
	if (depth == 0)
		return -1;
	return depth <= 64 ? stack[depth - 1] : 0;
}

static const char *opener_name(char ch)
{
	return ch == '"' ? "string" : ch == '{' ? "object" : "array";
}

/* Is everything from `pos` to the end whitespace? */
static bool only_space_after(const char *t, size_t pos, size_t len)
{
	for (; pos < len; pos++)
		if (t[pos] != ' ' && t[pos] != '\t' && t[pos] != '\r' && t[pos] != '\n')
			return false;
	return true;
}

/* A strict JSON syntax scanner (RFC 8259), run before cJSON, which is lax
 * (it takes "1.", raw control characters and bad escapes in strings): it
 * finds the exact offset of the first error and says what was expected,
 * where cJSON's error pointer can be one past the culprit. */
struct scan {
	const char *t;
	size_t n, i;
	int depth;
	const char *why;
};

#define SCAN_MAX_DEPTH 1000 /* cJSON's CJSON_NESTING_LIMIT */

static bool scan_fail(struct scan *s, const char *why)
{
	if (!s->why)
		s->why = why;
	return false;
}

static void scan_ws(struct scan *s)
{
	while (s->i < s->n && (s->t[s->i] == ' ' || s->t[s->i] == '\t' ||
			       s->t[s->i] == '\r' || s->t[s->i] == '\n'))
		s->i++;
}

static bool scan_digits(struct scan *s)
{
	size_t from = s->i;

	while (s->i < s->n && s->t[s->i] >= '0' && s->t[s->i] <= '9')
		s->i++;
	return s->i > from;
}

static bool scan_number(struct scan *s)
{
	if (s->t[s->i] == '-')
		s->i++;
	if (s->i < s->n && s->t[s->i] == '0')
		s->i++;
	else if (!scan_digits(s))
		return scan_fail(s, "expected a value");
	if (s->i < s->n && s->t[s->i] == '.' && (++s->i, !scan_digits(s)))
		return scan_fail(s, "expected digits after the decimal point");
	if (s->i < s->n && (s->t[s->i] == 'e' || s->t[s->i] == 'E')) {
		s->i++;
		if (s->i < s->n && (s->t[s->i] == '+' || s->t[s->i] == '-'))
			s->i++;
		if (!scan_digits(s))
			return scan_fail(s, "expected digits in the exponent");
	}
	return true;
}

static bool scan_escape(struct scan *s)
{
	if (s->i >= s->n)
		return scan_fail(s, "unterminated string");
	if (s->t[s->i] != 'u') {
		if (!strchr("\"\\/bfnrt", s->t[s->i]))
			return scan_fail(s, "invalid escape in a string");
		s->i++;
		return true;
	}
	for (int k = 0; k < 4; k++) {
		s->i++;
		if (s->i >= s->n || !isxdigit((unsigned char)s->t[s->i]))
			return scan_fail(s, "expected 4 hex digits after \\u");
	}
	s->i++;
	return true;
}

static bool scan_string(struct scan *s)
{
	s->i++; /* the opening quote */
	while (s->i < s->n) {
		unsigned char ch = (unsigned char)s->t[s->i];

		if (ch == '"') {
			s->i++;
			return true;
		}
		if (ch < 0x20)
			return scan_fail(s, "a control character (e.g. a raw newline) "
					 "in a string");
		s->i++;
		if (ch == '\\' && !scan_escape(s))
			return false;
	}
	return scan_fail(s, "unterminated string");
}

static bool scan_literal(struct scan *s, const char *w)
{
	size_t l = strlen(w);

	if (s->n - s->i < l || memcmp(s->t + s->i, w, l) != 0)
		return scan_fail(s, "expected a value");
	s->i += l;
	return true;
}

static bool scan_value(struct scan *s);

/* "key": of an object member. */
static bool scan_key(struct scan *s)
{
	scan_ws(s);
	if (s->i >= s->n || s->t[s->i] != '"')
		return scan_fail(s, "expected a key in double quotes");
	if (!scan_string(s))
		return false;
	scan_ws(s);
	if (s->i >= s->n || s->t[s->i] != ':')
		return scan_fail(s, "expected ':' after the key");
	s->i++;
	return true;
}

/* The members of an object or array; s->i is just past the opener. */
static bool scan_members(struct scan *s, bool obj)
{
	char close = obj ? '}' : ']';

	scan_ws(s);
	if (s->i < s->n && s->t[s->i] == close) {
		s->i++;
		return true;
	}
	for (;;) {
		if ((obj && !scan_key(s)) || !scan_value(s))
			return false;
		scan_ws(s);
		if (s->i < s->n && s->t[s->i] == close) {
			s->i++;
			return true;
		}
		if (s->i >= s->n || s->t[s->i] != ',')
			return scan_fail(s, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		s->i++;
		scan_ws(s);
		if (s->i < s->n && s->t[s->i] == close)
			return scan_fail(s, "a trailing comma is not allowed");
	}
}

static bool scan_value(struct scan *s)
{
	bool ok;

	scan_ws(s);
	if (s->i >= s->n)
		return scan_fail(s, "expected a value");
	switch (s->t[s->i]) {
	case '{':
	case '[':
		if (++s->depth > SCAN_MAX_DEPTH)
			return scan_fail(s, "nested too deeply");
		ok = scan_members(s, s->t[s->i++] == '{');
		s->depth--;
		return ok;
	case '"':
		return scan_string(s);
	case 't':
		return scan_literal(s, "true");
	case 'f':
		return scan_literal(s, "false");
	case 'n':
		return scan_literal(s, "null");
	default:
		return scan_number(s);
	}
}

/* Offset of the first syntax error and why, or false if none is found. */
static bool scan_error(const char *t, size_t len, size_t *pos, const char **why)
{
	struct scan s = { .t = t, .n = len };

	if (scan_value(&s)) {
		scan_ws(&s);
		if (s.i >= len)
			return false;
		scan_fail(&s, "expected the end of input after the top-level value");
	}
	*pos = s.i;
	*why = s.why;
	if (s.i + 1 < len && t[s.i] == '/' && (t[s.i + 1] == '/' || t[s.i + 1] == '*'))
		*why = "comments are not allowed in JSON";
	return true;
}

/* Report a syntax error at `pos` (why may be NULL). */
static void syntax_error(struct fl_jctx *c, const char *t, size_t len, size_t pos,
			 const char *why)
{
	char where[64], near[48] = "", excerpt[24];
	long open = unclosed_at(t, len);
	size_t line, col, ol, oc, n = 0;

	if (open >= 0 && only_space_after(t, pos, len)) {
		line_col(t, len, &line, &col);
		line_col(t, (size_t)open, &ol, &oc);
		snprintf(where, sizeof(where), "line %zu, column %zu", line, col);
		fl_jerr(c, where, "unexpected end of input: the JSON is truncated "
			"(the %s opened at line %zu, column %zu is not closed)",
			opener_name(t[open]), ol, oc);
		return;
	}
	line_col(t, pos, &line, &col);
	while (pos + n < len && n < sizeof(excerpt) - 1 && t[pos + n] != '\n') {
		excerpt[n] = (unsigned char)t[pos + n] < 0x20 ? '?' : t[pos + n];
		n++;
	}
	excerpt[n] = '\0';
	if (n)
		snprintf(near, sizeof(near), " near '%s'", excerpt);
	snprintf(where, sizeof(where), "line %zu, column %zu", line, col);
	fl_jerr(c, where, "invalid JSON%s%s%s", why ? ": " : "", why ? why : "",
		pos >= len ? " at end of input" : near);
}

/* Refuse what cJSON must not see: empty input and NUL bytes. */
static bool precheck(struct fl_jctx *c, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);
	size_t line, col;
	char where[64];

	if (!nul && only_space_after(text, 0, len)) {
		fl_jerr(c, NULL, "empty input: expected a JSON object");
		return false;
	}
	if (nul) {
		line_col(text, (size_t)(nul - text), &line, &col);
		snprintf(where, sizeof(where), "line %zu, column %zu", line, col);
		fl_jerr(c, where, "invalid JSON: a NUL byte inside the text");
		return false;
	}
	return true;
}

cJSON *fl_json_parse(struct fl_jctx *c, const char *text, size_t len)
{
	const char *end = NULL, *why = NULL;
	char *copy = NULL;
	cJSON *root = NULL;
	size_t pos = 0;

	if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
		text += 3; /* a UTF-8 byte order mark is harmless */
		len -= 3;
	}
	if (!precheck(c, text, len))
		return NULL;
	/* cJSON wants the terminating NUL inside the length it is given. */
	copy = strndup(text, len);
	if (!copy) {
		fl_jerr(c, NULL, "out of memory");
		goto out;
	}
	if (scan_error(copy, len, &pos, &why)) {
		syntax_error(c, copy, len, pos, why);
		goto out;
	}
	root = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
	if (!root) /* what the scanner lets through: bad surrogate escapes, ENOMEM */
		syntax_error(c, copy, len, end ? (size_t)(end - copy) : len, NULL);
out:
	free(copy);
	return root;
}

/* Read all of fd into a malloc'd buffer; returns 0 or -errno. */
static int read_all(int fd, char **out, size_t *outlen)
{
	size_t cap = 0, len = 0;
	char *buf = NULL, *nb;
	ssize_t n;
	int rc = 0;

	for (;;) {
		if (len == cap) {
			rc = cap >= FL_JSON_MAX_FILE ? -EFBIG : 0;
			nb = rc ? NULL : realloc(buf, cap ? cap * 2 : 4096);
			if (!nb) {
				rc = rc ? rc : -ENOMEM;
				break;
			}
			buf = nb;
			cap = cap ? cap * 2 : 4096;
		}
		n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		len += n > 0 ? (size_t)n : 0;
	}
	if (rc) {
		free(buf);
		return rc;
	}
	*out = buf;
	*outlen = len;
	return 0;
}

cJSON *fl_json_load_file(struct fl_jctx *c, const char *file)
{
	char *buf = NULL;
	cJSON *root = NULL;
	size_t len = 0;
	int fd, rc;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		fl_jerr(c, NULL, "cannot open: %s", strerror(-rc));
		goto out;
	}
	rc = read_all(fd, &buf, &len);
	close(fd);
	if (rc == -EFBIG)
		fl_jerr(c, NULL, "cannot read: larger than %u MiB", FL_JSON_MAX_FILE >> 20);
	else if (rc < 0)
		fl_jerr(c, NULL, "cannot read: %s", strerror(-rc));
	if (rc < 0)
		goto out;
	root = fl_json_parse(c, buf, len);
	rc = root ? 0 : -EINVAL;
out:
	free(buf);
	if (!root)
		errno = -rc;
	return root;
}

/* ---- keys ------------------------------------------------------------------ */

static bool key_allowed(const char *k, const char *const *allowed)
{
	if (!allowed)
		return true;
	for (; *allowed; allowed++)
		if (strcmp(k, *allowed) == 0)
			return true;
	return false;
}

/* "a b c" from a NULL-terminated list, for messages. */
static const char *join(const char *const *list, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = '\0';
	for (; list && *list && o < n; list++)
		o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? " " : "", *list);
	return buf;
}

static bool seen_before(const cJSON *obj, const cJSON *item)
{
	for (const cJSON *p = obj->child; p && p != item; p = p->next)
		if (p->string && strcmp(p->string, item->string) == 0)
			return true;
	return false;
}

/* `allowed` == NULL accepts any key and checks only for duplicates. */
int fl_json_only_keys(struct fl_jctx *c, const cJSON *obj, const char *path,
		      const char *const *allowed)
{
	char list[512], got[64];
	struct fl_jpath kp;
	int n = 0;

	if (!cJSON_IsObject(obj)) {
		fl_jerr(c, path, "expected an object; got %s", fmt_got(obj, got, sizeof(got)));
		return 1;
	}
	for (const cJSON *it = obj->child; it; it = it->next) {
		const char *k = it->string ? it->string : "";

		fl_jpath_key(&kp, path, k);
		if (!key_allowed(k, allowed)) {
			fl_jerr(c, kp.s, "unknown key; expected one of: %s",
				join(allowed, list, sizeof(list)));
			n++;
		} else if (seen_before(obj, it)) {
			fl_jerr(c, kp.s, "duplicate key");
			n++;
		}
	}
	return n;
}

/* ---- typed getters --------------------------------------------------------- */

/* The value of `key`, or NULL. A missing required key is reported. */
static const cJSON *get(struct fl_jctx *c, const cJSON *obj, const char *path,
			const char *key, bool required, const char *what)
{
	const cJSON *v = cJSON_IsObject(obj)
		? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
	struct fl_jpath kp;

	if (!v && required)
		fl_jerr(c, fl_jpath_key(&kp, path, key), "missing; expected %s", what);
	return v;
}

static int wrong(struct fl_jctx *c, const char *path, const char *key,
		 const char *what, const cJSON *v)
{
	struct fl_jpath kp;
	char got[80];

	return fl_jerr(c, fl_jpath_key(&kp, path, key), "expected %s; got %s", what,
		       fmt_got(v, got, sizeof(got)));
}

static void num_range(double lo, double hi, bool integer, char *buf, size_t n)
{
	const char *kind = integer ? "an integer" : "a number";
	char a[32], b[32];

	fmt_num(lo, a, sizeof(a));
	fmt_num(hi, b, sizeof(b));
	if (lo <= -DBL_MAX && hi >= DBL_MAX)
		snprintf(buf, n, "%s", kind);
	else if (hi >= DBL_MAX)
		snprintf(buf, n, "%s >= %s", kind, a);
	else if (lo <= -DBL_MAX)
		snprintf(buf, n, "%s <= %s", kind, b);
	else
		snprintf(buf, n, integer ? "%s in %s..%s" : "%s in [%s, %s]", kind, a, b);
}

int fl_json_num(struct fl_jctx *c, const cJSON *obj, const char *path,
		const char *key, bool required, double lo, double hi, double *out)
{
	char what[96];
	const cJSON *v;

	num_range(lo, hi, false, what, sizeof(what));
	v = get(c, obj, path, key, required, what);
	if (!v)
		return required ? -EINVAL : 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
	    v->valuedouble < lo || v->valuedouble > hi)
		return wrong(c, path, key, what, v);
	*out = v->valuedouble;
	return 0;
}

int fl_json_int(struct fl_jctx *c, const cJSON *obj, const char *path,
		const char *key, bool required, long long lo, long long hi,
		long long *out)
{
	/* Doubles hold integers exactly only up to 2^53. */
	double dlo = fmax((double)lo, -FL_JSON_EXACT), dhi = fmin((double)hi, FL_JSON_EXACT);
	char what[96];
	const cJSON *v;
	double d;

	num_range(dlo, dhi, true, what, sizeof(what));
	v = get(c, obj, path, key, required, what);
	if (!v)
		return required ? -EINVAL : 0;
	d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
	if (!isfinite(d) || d != floor(d) || d < dlo || d > dhi)
		return wrong(c, path, key, what, v);
	*out = (long long)d;
	return 0;
}

int fl_json_bool(struct fl_jctx *c, const cJSON *obj, const char *path,
		 const char *key, bool required, bool *out)
{
	const cJSON *v = get(c, obj, path, key, required, "true or false");

	if (!v)
		return required ? -EINVAL : 0;
	if (!cJSON_IsBool(v))
		return wrong(c, path, key, "true or false", v);
	*out = cJSON_IsTrue(v);
	return 0;
}

int fl_json_str(struct fl_jctx *c, const cJSON *obj, const char *path,
		const char *key, bool required, char *out, size_t outlen)
{
	const cJSON *v = get(c, obj, path, key, required, "a string");
	struct fl_jpath kp;
	size_t n;

	if (!v)
		return required ? -EINVAL : 0;
	if (!cJSON_IsString(v))
		return wrong(c, path, key, "a string", v);
	n = strlen(v->valuestring);
	if (outlen == 0 || n >= outlen)
		return fl_jerr(c, fl_jpath_key(&kp, path, key),
			       "expected a string of at most %zu bytes; got %zu bytes",
			       outlen ? outlen - 1 : 0, n);
	memcpy(out, v->valuestring, n + 1);
	return 0;
}

const cJSON *fl_json_obj(struct fl_jctx *c, const cJSON *obj, const char *path,
			 const char *key, bool required)
{
	const cJSON *v = get(c, obj, path, key, required, "an object");

	if (v && !cJSON_IsObject(v)) {
		wrong(c, path, key, "an object", v);
		return NULL;
	}
	return v;
}

const cJSON *fl_json_arr(struct fl_jctx *c, const cJSON *obj, const char *path,
			 const char *key, bool required)
{
	const cJSON *v = get(c, obj, path, key, required, "an array");

	if (v && !cJSON_IsArray(v)) {
		wrong(c, path, key, "an array", v);
		return NULL;
	}
	return v;
}
