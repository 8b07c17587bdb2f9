/*
 * fuzz_pin.c — libFuzzer harness for `--pin`: the input is a timeline
 * pinned against a fixed profile (one clock rule, three op rules). Whatever
 * it holds, fl_pin_apply returns 0 or -EINVAL/-E2BIG/-ENOMEM with a message
 * naming the file; on success every rule it leaves is one of the profile's
 * kinds, nth ranges are ordered, gates name real (target, op) pairs; on
 * error the profile is untouched. The last byte chooses --pin-force (a
 * final '\n' does not), so the sha256 check does not hide the rest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pin.h"

static const char profile_text[] =
	"{\"faultline\": 1, \"seed\": 3,"
	" \"targets\": {\"a\": {\"tcp\": \"127.0.0.1:9\"}, \"f\": {\"path\": \"/tmp/x/*\"}},"
	" \"rules\": [{\"clock\": \"realtime\", \"fault\": \"offset\", \"ms\": 1000},"
	"  {\"target\": \"a\", \"op\": \"recv\", \"probability\": 0.5, \"fault\": \"delay\", \"ms\": 4, \"jitter_ms\": 3},"
	"  {\"target\": \"f\", \"op\": \"open\", \"nth\": \"2-3\", \"fault\": \"error\", \"errno\": \"EIO\"},"
	"  {\"target\": \"a\", \"op\": \"send\", \"fault\": \"hold\", \"until\": {\"target\": \"a\", \"op\": \"recv\", \"nth\": \"2\"}, \"max_ms\": 100}]}";

static char dir[] = "/tmp/fuzz_pin.XXXXXX";
static char prof_path[64], tl_path[64];
static struct fl_profile base;

static void setup(void)
{
	char err[4096];
	FILE *f;

	if (!mkdtemp(dir))
		abort();
	snprintf(prof_path, sizeof(prof_path), "%s/p.json", dir);
	snprintf(tl_path, sizeof(tl_path), "%s/t.jsonl", dir);
	if (!(f = fopen(prof_path, "w")) || fputs(profile_text, f) < 0 || fclose(f))
		abort();
	if (fl_profile_load(prof_path, &base, err, sizeof(err)) != 0) {
		fputs(err, stderr);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fl_profile p;
	struct fl_pin_opts o = { prof_path, size && (data[size - 1] & 1) };
	struct fl_pin_result res;
	char err[1024] = "";
	FILE *f;
	int rc;

	if (!prof_path[0])
		setup();
	if (!(f = fopen(tl_path, "w")) || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	p = base;
	rc = fl_pin_apply(&p, tl_path, &o, &res, err, sizeof(err));
	if (rc < 0) {
		if ((rc != -EINVAL && rc != -E2BIG && rc != -ENOMEM) || !strstr(err, tl_path) ||
		    memcmp(&p, &base, sizeof(p)))
			abort();
		return 0;
	}
	if (rc != 0 || p.nrules > FL_MAX_RULES)
		abort();
	for (uint32_t i = 0; i < p.nrules; i++) {
		const struct fl_rule *r = &p.rules[i];

		if (r->flags & FL_RF_CLOCK)
			continue;
		if (r->target == 0 || r->target >= p.ntargets || !(r->flags & FL_RF_NTH) ||
		    r->nth_lo == 0 || r->nth_lo > r->nth_hi || r->ns < 0)
			abort();
		if ((r->flags & FL_RF_UNTIL) && r->until_target >= p.ntargets)
			abort();
	}
	return 0;
}
