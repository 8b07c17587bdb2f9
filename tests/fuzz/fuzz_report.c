/*
 * fuzz_report.c — libFuzzer harness for `faultline report`: whatever the
 * timeline bytes, loading returns a report or -EINVAL/-EFBIG/-ENOMEM with
 * a message naming the input, and both views (text, HTML) render without
 * crashing, leaking or reading out of bounds; the HTML never carries a raw
 * "<script" (every timeline string is escaped).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_report *r;
	char err[1024], *out = NULL;
	size_t len = 0;
	FILE *f;
	int rc = fl_report_load_mem("fuzz.jsonl", data, size, &r, err, sizeof(err));

	if (rc < 0) {
		if (rc != -EINVAL && rc != -EFBIG && rc != -ENOMEM)
			abort();
		if (strncmp(err, "fuzz.jsonl", 10))
			abort();
		return 0;
	}
	/* the text view is for a terminal: it may print "<script" as it is */
	if (!(f = fopen("/dev/null", "w")))
		abort();
	fl_report_text(r, f);
	fclose(f);
	if (!(f = open_memstream(&out, &len)))
		abort();
	fl_report_html(r, f);
	fclose(f);
	if (out && memmem(out, len, "<script", 7))
		abort();
	free(out);
	fl_report__free(r);
	return 0;
}
