/*
 * tlread.c — the one timeline reader (see tlread.h).
 *
 * Divisions: the byte source (a file or a buffer); lines; one record's
 * checks; typed field access.
 *
 * Invariants
 *  - Memory is bounded whatever the file holds: one line buffer of at most
 *    FL_TLR_MAX_LINE + 1 bytes, one read buffer, one parsed record; the
 *    total read is bounded by max_bytes even if the file grows meanwhile
 *    (a live timeline).
 *  - A fifo or a device is never read from: open is O_NONBLOCK (a fifo
 *    without a writer would block it) and anything but a regular file is
 *    refused by fstat before the first read.
 *  - Every message starts with the file name; record errors add the line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tlread.h"

#define RDBUF 65536u

struct fl_tlr {
	char *name;               /* for messages */
	int fd;                   /* -1: reading from mem */
	const unsigned char *mem; /* fl_tlr_open_mem: borrowed */
	size_t memlen, mempos;
	uint64_t max_bytes, total;
	bool allow_trunc;
	unsigned char *rd; /* read buffer (fd only) */
	size_t rdlen, rdpos;
	char *line; /* FL_TLR_MAX_LINE + 1 */
	size_t linelen;
	uint64_t lineno;
	bool eof;
	cJSON *json; /* the current record */
};

static const char *const type_names[FL_TLR__COUNT] = {
	[FL_TLR_OTHER] = "other",   [FL_TLR_START] = "start",
	[FL_TLR_FAULT] = "fault",   [FL_TLR_ATTACH] = "attach",
	[FL_TLR_OUTCOME] = "outcome", [FL_TLR_TICK] = "tick",
	[FL_TLR_ABORT] = "abort",   [FL_TLR_END] = "end",
	[FL_TLR_ERROR] = "error",   [FL_TLR_EXIT] = "exit",
	[FL_TLR_SUMMARY] = "summary", [FL_TLR_PROBE] = "probe",
	[FL_TLR_METRIC] = "metric", [FL_TLR_INVARIANT] = "invariant",
	[FL_TLR_MARK] = "mark",     [FL_TLR_KERNEL] = "kernel",
	[FL_TLR_NOTICE] = "notice", [FL_TLR_BUDGETS] = "budgets",
};

enum fl_tlr_type fl_tlr_type_of(const char *name)
{
	for (int t = 1; name && t < FL_TLR__COUNT; t++)
		if (!strcmp(name, type_names[t]))
			return (enum fl_tlr_type)t;
	return FL_TLR_OTHER;
}

const char *fl_tlr_type_name(enum fl_tlr_type t)
{
	return (unsigned)t < FL_TLR__COUNT ? type_names[t] : "other";
}

/* ---- opening ----------------------------------------------------------- */

static int alloc_reader(const char *name, const struct fl_tlr_opts *opts,
			struct fl_tlr **out)
{
	struct fl_tlr *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->fd = -1;
	r->max_bytes = opts && opts->max_bytes ? opts->max_bytes : FL_TLR_MAX_BYTES_DEFAULT;
	r->allow_trunc = opts && opts->allow_truncated_tail;
	r->name = strdup(name ? name : "(timeline)");
	r->line = malloc(FL_TLR_MAX_LINE + 1);
	if (!r->name || !r->line) {
		fl_tlr__free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

int fl_tlr_open(const char *path, const struct fl_tlr_opts *opts,
		struct fl_tlr **out, char *err, size_t errlen)
{
	struct stat st;
	struct fl_tlr *r;
	int rc = alloc_reader(path, opts, &r);

	*out = NULL;
	if (rc < 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		return rc;
	}
	r->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (r->fd < 0 || fstat(r->fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file (expected a timeline "
			 "written by faultline run -o)", path);
		goto fail;
	}
	if ((uint64_t)st.st_size > r->max_bytes) {
		rc = -EFBIG;
		snprintf(err, errlen, "%s: %lld bytes, larger than the %" PRIu64
			 " bytes a timeline may have", path, (long long)st.st_size,
			 r->max_bytes);
		goto fail;
	}
	r->rd = malloc(RDBUF);
	if (!r->rd) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	*out = r;
	return 0;
fail:
	fl_tlr__free(r);
	return rc;
}

int fl_tlr_open_mem(const char *name, const void *buf, size_t len,
		    const struct fl_tlr_opts *opts, struct fl_tlr **out,
		    char *err, size_t errlen)
{
	struct fl_tlr *r;
	int rc = alloc_reader(name, opts, &r);

	*out = NULL;
	if (rc < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return rc;
	}
	if (len > r->max_bytes) {
		snprintf(err, errlen, "%s: %zu bytes, larger than the %" PRIu64
			 " bytes a timeline may have", r->name, len, r->max_bytes);
		fl_tlr__free(r);
		return -EFBIG;
	}
	r->mem = buf;
	r->memlen = len;
	*out = r;
	return 0;
}

void fl_tlr__free(struct fl_tlr *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	cJSON_Delete(r->json);
	free(r->rd);
	free(r->line);
	free(r->name);
	free(r);
}

const char *fl_tlr_name(const struct fl_tlr *r)
{
	return r->name;
}

/* ---- lines ---------------------------------------------------------------- */

__attribute__((format(printf, 5, 6)))
static int rec_err(struct fl_tlr *r, char *err, size_t errlen, int rc,
		   const char *fmt, ...)
{
	int n = snprintf(err, errlen, "%s:%" PRIu64 ": ", r->name, r->lineno);
	va_list ap;

	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Refill the read buffer. Returns bytes available (0 at the end) or -errno. */
static ssize_t fill(struct fl_tlr *r)
{
	ssize_t n;

	if (r->rdpos < r->rdlen)
		return (ssize_t)(r->rdlen - r->rdpos);
	if (r->eof)
		return 0;
	if (r->fd < 0) {
		r->eof = true; /* mem: everything is "read" at once */
		return 0;
	}
	do
		n = read(r->fd, r->rd, RDBUF);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		r->eof = true;
	r->rdpos = 0;
	r->rdlen = (size_t)n;
	return n;
}

/* Next chunk of bytes: a pointer and length into the source. */
static ssize_t chunk(struct fl_tlr *r, const unsigned char **p)
{
	ssize_t n;

	if (r->fd < 0) {
		*p = r->mem + r->mempos;
		n = (ssize_t)(r->memlen - r->mempos);
		return n;
	}
	n = fill(r);
	*p = r->rd + r->rdpos;
	return n;
}

static void consume(struct fl_tlr *r, size_t k)
{
	if (r->fd < 0)
		r->mempos += k;
	else
		r->rdpos += k;
	r->total += k;
}

/* Read one line into r->line (without '\n'). Returns 1 (a whole line),
 * 2 (a last line without its newline), 0 (the end) or -errno. */
static int read_line(struct fl_tlr *r, char *err, size_t errlen)
{
	const unsigned char *p, *nl;
	ssize_t n;
	size_t k;

	r->linelen = 0;
	r->lineno++;
	for (;;) {
		if ((n = chunk(r, &p)) < 0)
			return rec_err(r, err, errlen, (int)n, "read: %s", strerror((int)-n));
		if (n == 0)
			return r->linelen ? 2 : 0;
		nl = memchr(p, '\n', (size_t)n);
		k = nl ? (size_t)(nl - p) : (size_t)n;
		if (r->linelen + k > FL_TLR_MAX_LINE)
			return rec_err(r, err, errlen, -EINVAL, "a line longer than "
				       "%u bytes (expected one timeline record)",
				       FL_TLR_MAX_LINE);
		if (r->total + k + (nl != NULL) > r->max_bytes)
			return rec_err(r, err, errlen, -EFBIG, "more than %" PRIu64
				       " bytes (the file grew while read?)", r->max_bytes);
		memcpy(r->line + r->linelen, p, k);
		r->linelen += k;
		consume(r, k + (nl != NULL));
		if (nl)
			return 1;
	}
}

/* ---- one record ----------------------------------------------------------- */

/* Any non-finite number anywhere in the tree (1e999 parses as inf). The
 * depth is bounded by cJSON's nesting limit. */
static bool all_finite(const cJSON *j)
{
	if (cJSON_IsNumber(j) && !isfinite(j->valuedouble))
		return false;
	for (const cJSON *c = j->child; c; c = c->next)
		if (!all_finite(c))
			return false;
	return true;
}

/* A duplicated key at the top level would make "which value" ambiguous.
 * The check is quadratic, hence the bound on keys. */
static const char *dup_key(const cJSON *obj)
{
	for (const cJSON *a = obj->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (a->string && b->string && !strcmp(a->string, b->string))
				return a->string;
	return NULL;
}

static int parse_rec(struct fl_tlr *r, struct fl_tlr_rec *rec, char *err,
		     size_t errlen)
{
	const char *end = NULL, *dup;
	const cJSON *type, *t;

	if (r->linelen == 0)
		return rec_err(r, err, errlen, -EINVAL, "an empty line (expected "
			       "one JSON object per line)");
	if (memchr(r->line, '\0', r->linelen))
		return rec_err(r, err, errlen, -EINVAL, "a NUL byte (expected "
			       "one JSON object per line)");
	r->line[r->linelen] = '\0';
	r->json = cJSON_ParseWithLengthOpts(r->line, r->linelen, &end, false);
	if (!r->json)
		return rec_err(r, err, errlen, -EINVAL, "not JSON (expected one "
			       "JSON object per line)");
	end += strspn(end, " \t\r");
	if (*end)
		return rec_err(r, err, errlen, -EINVAL, "trailing bytes after the "
			       "record (expected one JSON object per line)");
	if (!cJSON_IsObject(r->json))
		return rec_err(r, err, errlen, -EINVAL, "%s (expected a JSON object)",
			       cJSON_IsArray(r->json) ? "an array" : "not an object");
	type = cJSON_GetObjectItemCaseSensitive(r->json, "type");
	if (!cJSON_IsString(type) || !type->valuestring)
		return rec_err(r, err, errlen, -EINVAL, "no string \"type\" "
			       "(expected a timeline record)");
	if (cJSON_GetArraySize(r->json) > FL_TLR_MAX_KEYS)
		return rec_err(r, err, errlen, -EINVAL, "more than %d keys (expected "
			       "a timeline record)", FL_TLR_MAX_KEYS);
	if ((dup = dup_key(r->json)))
		return rec_err(r, err, errlen, -EINVAL, "key \"%s\" twice (expected "
			       "each key once)", dup);
	if (!all_finite(r->json))
		return rec_err(r, err, errlen, -EINVAL, "a number out of range "
			       "(expected finite numbers)");
	t = cJSON_GetObjectItemCaseSensitive(r->json, "t_ms");
	rec->type = fl_tlr_type_of(type->valuestring);
	rec->type_name = type->valuestring;
	rec->line = r->lineno;
	rec->t_ms = cJSON_IsNumber(t) ? t->valuedouble : NAN;
	rec->json = r->json;
	return 1;
}

int fl_tlr_next(struct fl_tlr *r, struct fl_tlr_rec *rec, char *err,
		size_t errlen)
{
	int rc;

	memset(rec, 0, sizeof(*rec));
	cJSON_Delete(r->json);
	r->json = NULL;
	rc = read_line(r, err, errlen);
	if (rc <= 0)
		return rc;
	if (rc == 2 && r->allow_trunc)
		return 0;
	if (rc == 2)
		return rec_err(r, err, errlen, -EINVAL, "the last line has no "
			       "newline (a truncated record: was the writer killed "
			       "mid-line?)");
	return parse_rec(r, rec, err, errlen);
}

/* ---- fields ----------------------------------------------------------------- */

double fl_tlr_num(const struct fl_tlr_rec *rec, const char *key, double dflt)
{
	const cJSON *v = rec->json ? cJSON_GetObjectItemCaseSensitive(rec->json, key)
				   : NULL;

	return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? v->valuedouble : dflt;
}

const char *fl_tlr_str(const struct fl_tlr_rec *rec, const char *key,
		       const char *dflt)
{
	const cJSON *v = rec->json ? cJSON_GetObjectItemCaseSensitive(rec->json, key)
				   : NULL;

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

int fl_tlr_uint(const struct fl_tlr_rec *rec, const char *key, uint64_t max,
		uint64_t *out)
{
	const cJSON *v = rec->json ? cJSON_GetObjectItemCaseSensitive(rec->json, key)
				   : NULL;
	double d;

	if (!v || cJSON_IsNull(v))
		return -ENOENT;
	if (!cJSON_IsNumber(v))
		return -EINVAL;
	d = v->valuedouble;
	/* 2^53: beyond it a double no longer holds every integer */
	if (!(d >= 0) || d != floor(d) || d > (double)max || d > 9007199254740992.0)
		return -ERANGE;
	*out = (uint64_t)d;
	return 0;
}
