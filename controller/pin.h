/*
 * pin.h — turn a recorded timeline into exact rules and order gates.
 */
#ifndef FL_PIN_H
#define FL_PIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "profile.h"

/* Rewrite p's op rules from the faults recorded in TIMELINE (an earlier
 * run of the same profile). seed and has_seed get the recorded seed, if any.
 * Returns the number of faults pinned (>= 0), or -errno with a message in
 * err (a file that is not a timeline of this profile, too many rules). */
int fl_pin_apply(struct fl_profile *p, const char *timeline, uint64_t *seed,
		 bool *has_seed, char *err, size_t errlen);

#endif /* FL_PIN_H */
