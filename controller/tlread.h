/*
 * tlread.h — the one timeline reader. Everything that reads a timeline
 * (`--pin`, `faultline report`, budgets, the tests' helpers) goes through it,
 * so a timeline is parsed one way, with one set of limits and one kind of
 * error message.
 *
 * A timeline is JSON Lines (timeline.h lists the record types). The reader
 * refuses what it cannot honour, with "FILE:LINE: what was expected":
 *  - a path that is not a regular file (directory, fifo, /dev/zero), or one
 *    larger than max_bytes (0 = FL_TLR_MAX_BYTES_DEFAULT);
 *  - a line longer than FL_TLR_MAX_LINE, a line that is not one JSON object,
 *    an object without a string "type", trailing garbage after the object;
 *  - numbers that are not finite, a key twice at the top level, more than
 *    FL_TLR_MAX_KEYS keys at the top level, a NUL byte.
 * An empty line at the very end (the final newline) is fine; a blank line
 * in the middle is an error. A last line without its newline (a controller
 * killed mid-write) is reported as truncated unless allow_truncated_tail.
 *
 * Ownership: fl_tlr_open returns a reader the caller frees with
 * fl_tlr__free (accepts NULL). The cJSON object a record points to is
 * owned by the reader and valid until the next fl_tlr_next or the free.
 */
#ifndef FL_TLREAD_H
#define FL_TLREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define FL_TLR_MAX_BYTES_DEFAULT (512ull << 20) /* 512 MiB */
#define FL_TLR_MAX_LINE (1u << 20)              /* 1 MiB */
#define FL_TLR_MAX_KEYS 1024                    /* top-level keys a record */

enum fl_tlr_type {
	FL_TLR_OTHER = 0, /* a type this reader does not know: skip it */
	FL_TLR_START,
	FL_TLR_FAULT,
	FL_TLR_ATTACH,
	FL_TLR_OUTCOME,
	FL_TLR_TICK,
	FL_TLR_ABORT,
	FL_TLR_END,
	FL_TLR_ERROR,
	FL_TLR_EXIT,
	FL_TLR_SUMMARY,
	FL_TLR_PROBE,
	FL_TLR_METRIC,
	FL_TLR_INVARIANT,
	FL_TLR_MARK,
	FL_TLR_KERNEL,
	FL_TLR_NOTICE,
	FL_TLR_BUDGETS,
	FL_TLR__COUNT
};

struct fl_tlr_rec {
	enum fl_tlr_type type;
	const char *type_name;    /* the record's "type" string */
	uint64_t line;            /* 1-based line number */
	double t_ms;              /* "t_ms", or NaN when the record has none */
	const struct cJSON *json; /* the whole object (borrowed) */
};

struct fl_tlr_opts {
	uint64_t max_bytes;        /* 0: FL_TLR_MAX_BYTES_DEFAULT */
	bool allow_truncated_tail; /* a last line without '\n' is skipped */
};

struct fl_tlr;

/* Open `path` for reading. opts may be NULL (defaults). Returns 0 and
 * *out, or -errno with `err` filled ("FILE: not a regular file", ...):
 * -EINVAL not a regular file, -EFBIG too large, others from open/fstat. */
int fl_tlr_open(const char *path, const struct fl_tlr_opts *opts,
		struct fl_tlr **out, char *err, size_t errlen);

/* The next record. Returns 1 with *rec filled, 0 at the end, or -EINVAL
 * (-ENOMEM, -EIO) with `err` filled as "FILE:LINE: what was expected". */
int fl_tlr_next(struct fl_tlr *r, struct fl_tlr_rec *rec, char *err,
		size_t errlen);

/* The same over `len` bytes at `buf` (borrowed: they must outlive the
 * reader), named `name` in messages. For tests and the fuzzer. */
int fl_tlr_open_mem(const char *name, const void *buf, size_t len,
		    const struct fl_tlr_opts *opts, struct fl_tlr **out,
		    char *err, size_t errlen);

void fl_tlr__free(struct fl_tlr *r);

/* The file name messages start with. */
const char *fl_tlr_name(const struct fl_tlr *r);

/* Name <-> type. fl_tlr_type_of returns FL_TLR_OTHER for unknown names. */
enum fl_tlr_type fl_tlr_type_of(const char *name);
const char *fl_tlr_type_name(enum fl_tlr_type t);

/* Typed field access on a record: the member `key` if it is a finite
 * number (a string for _str), else `dflt`. */
double fl_tlr_num(const struct fl_tlr_rec *rec, const char *key, double dflt);
const char *fl_tlr_str(const struct fl_tlr_rec *rec, const char *key,
		       const char *dflt);
/* The member `key` as an integer in [0, max] (and <= 2^53). Returns 0 and
 * *out, -ENOENT (missing or null), -EINVAL (not a number) or -ERANGE
 * (negative, fractional or above max: "nth":1e300). */
int fl_tlr_uint(const struct fl_tlr_rec *rec, const char *key, uint64_t max,
		uint64_t *out);

#endif /* FL_TLREAD_H */
