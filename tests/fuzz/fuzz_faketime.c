/*
 * fuzz_faketime.c — libFuzzer harness for the shim's FAKETIME parser:
 * any string parses to 0 with a mode, or -EINVAL with everything zeroed;
 * the fields of a parse are in range; the start instant is computed or
 * refused (-ERANGE), never wrapped.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "shim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fl_faketime zero;
	struct fl_faketime ft;
	char s[256];
	int64_t start = 0;
	int rc;

	if (size >= sizeof(s))
		size = sizeof(s) - 1;
	memcpy(s, data, size);
	s[size] = '\0';
	rc = fl__faketime_parse(s, &ft);
	if (rc == -EINVAL) {
		if (memcmp(&ft, &zero, sizeof(ft)))
			abort();
		return 0;
	}
	if (rc != 0 || ft.mode < FL_FT_REL || ft.mode > FL_FT_FROZEN)
		abort();
	if (ft.mode != FL_FT_REL &&
	    (ft.tm.tm_mon < 0 || ft.tm.tm_mon > 11 || ft.tm.tm_mday < 1 ||
	     ft.tm.tm_mday > 31 || ft.frac_ns < 0 || ft.frac_ns >= 1000000000))
		abort();
	/* the extremes of real time and of what mktime can give */
	rc = fl__faketime_start(&ft, INT64_MAX - 5, INT64_MAX / 2, &start);
	if (rc != 0 && rc != -ERANGE)
		abort();
	rc = fl__faketime_start(&ft, 1700000000000000000ll, -62167219200ll, &start);
	if (rc != 0 && rc != -ERANGE)
		abort();
	return 0;
}
