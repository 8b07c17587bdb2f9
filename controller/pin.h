/*
 * pin.h — turn a recorded timeline into exact rules and order gates.
 */
#ifndef FL_PIN_H
#define FL_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

struct fl_pin_opts {
	const char *profile; /* the profile file p was loaded from: its sha256 */
	bool force;          /* --pin-force: accept another profile's timeline */
};

struct fl_pin_result {
	unsigned faults;     /* fault records pinned */
	uint64_t seed;       /* the recorded seed, if has_seed */
	bool has_seed;
	bool forced;         /* the sha256 differed and force let it through */
};

/* Rewrite p's op rules from the faults recorded in TIMELINE, a timeline
 * (read with tlread.h) of an earlier run of the same profile: its start
 * record's profile_sha256 must be that of o->profile unless o->force; every
 * fault record must name an op rule of p with the same op and fault, and
 * an integer nth >= 1. Returns 0 with *res, or -errno with "FILE:LINE:
 * what was expected" in err (the file, not a timeline of this profile,
 * more rules than FL_MAX_RULES needed). p is untouched on error. */
int fl_pin_apply(struct fl_profile *p, const char *timeline,
		 const struct fl_pin_opts *o, struct fl_pin_result *res,
		 char *err, size_t errlen);

#endif /* FL_PIN_H */
