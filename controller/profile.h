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
 *
 * What a loaded profile holds (the grammar is in the header of
 * controller/profile.c):
 *  - targets[1..ntargets-1] in file order (ntargets = count + 1, at least 1);
 *  - rules[0..nrules-1] in file order, every one with intensity =
 *    FL_INTENSITY_ONE and hits = 0; `next` is left 0 (fl_profile_publish
 *    builds the chains); times in ns; a rule without "probability" has
 *    prob_thresh = UINT64_MAX, without "nth"/"window_ms" zeros there and the
 *    flag clear;
 *  - bind[i].signal = -1 unless rule i has "scale" or "when_signal" (both
 *    also set FL_RF_SCALED: the controller drives the rule's intensity).
 */
#ifndef FL_PROFILE_H
#define FL_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "budgets.h"
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
	double budget_max_faults;  /* -1 = none (= budgets.max_faults) */
	struct fl_budget_limits budgets; /* "budgets" (profiles and scenarios) */
	char description[2048]; /* "description", < 2048 bytes */
};

/* Load and validate FILE. Returns 0, or -EINVAL (bad content) / -errno
 * (cannot read) with every error appended to err (NUL-terminated; err is
 * emptied first, one line per error). On error *out is zeroed (so
 * fl_profile__free(out) is always safe) and nothing was allocated. */
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

/* More names, same conventions ("none" for 0, "?" out of range, -1 unknown). */
const char *fl_clock_name(int clock);          /* "realtime", ... */
int fl_clock_by_name(const char *name);        /* enum fl_clock_id or -1 */
const char *fl_target_kind_name(int kind);     /* "tcp", "path", ... */
const char *fl_op_errnos(int op);              /* the op's whitelist, "" if none */
bool fl_fault_valid_for_op(int fault, int op); /* FL_FAULTS mask */
bool fl_fault_is_clock(int fault);             /* offset drift freeze jump */
unsigned fl_target_kind_ops(int kind);         /* FL_OPBIT set a kind accepts */

/* ---- internal to controller/profile*.c (not for other callers) ---------- */
struct cJSON;
struct fl_jctx;
/* Parse the "rules" array into p->rules/p->bind; targets must be loaded.
 * Errors go to c. */
void fl__profile_rules(struct fl_jctx *c, const struct cJSON *rules,
		       struct fl_profile *p);
/* Target id of `name` in p (1..), or 0. */
int fl__profile_target_id(const struct fl_profile *p, const char *name);

#endif /* FL_PROFILE_H */
