/*
 * fuzz_tlread.c — libFuzzer harness for the one timeline reader: whatever
 * the bytes, the reader returns records, the end or -EINVAL/-EFBIG with a
 * "NAME:LINE: ..." message, never crashes, leaks or reads out of bounds;
 * every record it returns is an object with a string "type" and finite
 * numbers, and the typed getters stay in their ranges.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlread.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_tlr_opts o = { .allow_truncated_tail = size && (data[0] & 1) };
	struct fl_tlr *r;
	struct fl_tlr_rec rec;
	char err[512];
	uint64_t u, last = 0;
	int rc;

	if (fl_tlr_open_mem("fuzz.jsonl", data, size, &o, &r, err, sizeof(err)) < 0)
		abort(); /* a buffer within the default size always opens */
	while ((rc = fl_tlr_next(r, &rec, err, sizeof(err))) == 1) {
		if (!rec.json || !rec.type_name || rec.line <= last ||
		    (unsigned)rec.type >= FL_TLR__COUNT ||
		    fl_tlr_type_of(rec.type_name) != rec.type)
			abort();
		last = rec.line;
		if (!isnan(rec.t_ms) && !isfinite(rec.t_ms))
			abort();
		if (fl_tlr_uint(&rec, "nth", 1000, &u) == 0 && u > 1000)
			abort();
		if (!isfinite(fl_tlr_num(&rec, "value_ms", 0)))
			abort();
		(void)fl_tlr_str(&rec, "kind", NULL);
	}
	if (rc < 0 && (rc != -EINVAL || strncmp(err, "fuzz.jsonl:", 11)))
		abort();
	fl_tlr__free(r);
	return 0;
}
