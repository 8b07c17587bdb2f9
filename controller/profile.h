/*
 * profile.h — load profiles and scenarios (JSON) into typed structs, and
 * publish them into a control block.
 *
 * A profile is `{"faultline": 1, "seed": N, "targets": {...}, "rules": [...]}`
 * (see README "Profile reference"). A scenario is a profile plus a "market"
 * object, "budgets", and rules carrying a signal binding ("scale" or
 * "when_signal"). Loading is all-or-nothing: on any error nothing is returned
 * and every error (file, JSON path, what was expected) is in the buffer.
 *
 * Ownership: fl_profile_load fills a caller-owned struct; release what it
 * allocated with fl_profile__free(), which accepts a zeroed struct.
 */
#ifndef FL_PROFILE_H
#define FL_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/ctl.h"

struct mkt_params; /* controller/market: scenario market section */

/* A rule's binding to a market signal (scenarios only). */
struct fl_binding {
	int signal;      /* enum mkt_signal, -1 = none */
	bool scale;      /* "scale": intensity = clamp((x - lo) / (hi - lo), 0, 1) */
	double lo, hi;
	bool when;       /* "when_signal": on iff x < below (or x > above) */
	bool has_below, has_above;
	double below, above;
};

struct fl_profile {
	char file[256];
	uint64_t seed;
	bool has_seed;
	uint32_t ntargets; /* targets[1..ntargets-1] used, [0] unused */
	struct fl_target targets[FL_MAX_TARGETS];
	uint32_t nrules;
	struct fl_rule rules[FL_MAX_RULES];
	struct fl_binding bind[FL_MAX_RULES];
	/* scenarios */
	bool is_scenario;
	struct mkt_params *market; /* NULL for plain profiles */
	double budget_max_faults;  /* -1 = none */
	char description[512];
};

/* Load and validate FILE. Returns 0, or -EINVAL (bad content) / -errno
 * (cannot read) with every error appended to err (NUL-terminated). */
int fl_profile_load(const char *file, struct fl_profile *out, char *err,
		    size_t errlen);
/* Same, from memory; `name` is used in messages (tests, fuzzing). */
int fl_profile_parse(const char *name, const char *text, size_t len,
		     struct fl_profile *out, char *err, size_t errlen);
void fl_profile__free(struct fl_profile *p);

/* Write targets, rules and the rule_head index into `ctl` under its seqlock.
 * Does not touch the header's identity fields, counters or the journal. */
void fl_profile_publish(const struct fl_profile *p, struct fl_ctl *ctl);

/* Name tables (from faultline/ops.h), for messages and the timeline. */
const char *fl_op_name(int op);
const char *fl_fault_name(int fault);
const char *fl_errno_name(int err); /* "EIO", "EAI_AGAIN", or NULL */
int fl_op_by_name(const char *name);      /* -1 unknown */
int fl_fault_by_name(const char *name);   /* -1 unknown */
bool fl_errno_by_name(const char *name, int *out);
bool fl_errno_valid_for_op(int op, int err);

#endif /* FL_PROFILE_H */
