/*
 * timeline.h — the run's timeline, JSON Lines, and the counts for its
 * summary.
 *
 * Records, one per line, in the order written:
 *   {"type":"start", version, seed, seed_source, profile, profile_sha256,
 *    cmd, pid, ctl, epoch_real_ns, ... [pin, pin_force, pin_forced]}
 *   {"type":"fault", t_ms, pid, tid, rule, target, op, nth, fault, value_ms,
 *    ret, errno, kind}                   one per fault/gate journal record
 *   {"type":"attach", t_ms, pid, tid}    a process attached to the block
 *   {"type":"tick", tick, t_ms, signals{}, intensity{}}   scenario ticks
 *   {"type":"abort"|"end"|"error", t_ms, reason}   the drill stopped early
 *   {"type":"exit", status, signal}      the command's end (run only)
 *   {"type":"kernel", t_ms, ...}       the eBPF layer's account (bpf.h)
 *   {"type":"summary", faults, per_rule[], dropped, ticks, attached,
 *    unreached, never_fired[]}   attached: processes that attached;
 *    unreached: why none did although rules exist (run), else null;
 *    never_fired: the rules with no hit; journal_malformed,
 *    journal_resync, journal_skipped: journal records refused (fields out
 *    of range), times the ring was found forged, slots skipped as stuck;
 *    ctl_refused: control-socket clients refused; with an events socket also
 *    events, events_malformed, events_refused; with budgets budgets[]
 *    ({budget, limit, measured, state, burn_ms, broke_ms, note}), broken,
 *    first_broken, first_burn_ms, first_violation_ms, detect_ms,
 *    time_to_stable_ms, never_stable
 *   {"type":"probe"|"metric"|"invariant"|"mark", t_ms, tick?, src?, ...}
 *                                        a program's own records (events.h)
 *   {"type":"budgets", limits{}, shock_ms, window_ms, sustain_windows}
 *                                        the budgets in force (budgets.h)
 *
 * The file is created 0600 and line-buffered, so a controller that dies
 * leaves every line it wrote. Without a file (no -o) records are only
 * counted, for the one-line summary on stderr.
 *
 * Ownership: struct fl_timeline is caller-owned; fl_timeline_close releases
 * the file and accepts a zeroed struct.
 */
#ifndef FL_TIMELINE_H
#define FL_TIMELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "faultline/ctl.h"

struct fl_profile;
struct fl_event;
struct fl_budget_limits;
struct fl_verdicts;

struct fl_timeline {
	FILE *f;                     /* NULL: count only */
	const struct fl_profile *p;  /* names for targets; may be NULL */
	uint64_t faults;             /* FL_J_FAULT records read */
	uint64_t gates, attaches;    /* gate_open/gate_timeout, attach records */
	uint64_t ticks;              /* tick records written */
	uint64_t per_rule[FL_MAX_RULES]; /* FL_J_FAULT records per rule */
	int err;                     /* first write error (-errno), sticky */
};

/* What the start record says. Pointers may be NULL (written as null). */
struct fl_tl_start {
	const char *mode;        /* "run" or "drill" */
	uint64_t seed;
	const char *seed_source; /* "cli", "profile" or "default" */
	const char *profile;     /* path as given */
	const char *ctl;         /* block path */
	char *const *cmd;        /* NULL-terminated argv, or NULL */
	int pid;                 /* the command's pid, 0 = none */
	int64_t epoch_real_ns;
	double speed;
	const char *layer;        /* run: "preload", "seccomp", "both"; NULL */
	const char *layer_reason; /* why that layer (mode.h) */
	const char *pin;         /* --pin TIMELINE, or NULL (then no pin keys) */
	bool pin_force;          /* --pin-force given */
	bool pin_forced;         /* ... and it was needed: another profile's */
};

/* Open `path` for writing (created or truncated, mode 0600, O_CLOEXEC,
 * line-buffered); path NULL: count only. Returns 0 or -errno. */
int fl_timeline_open(struct fl_timeline *tl, const char *path,
		     const struct fl_profile *p);
/* Flush and close. Returns 0 or the first write error (-errno). */
int fl_timeline_close(struct fl_timeline *tl);

void fl_timeline_start(struct fl_timeline *tl, const struct fl_tl_start *s);
/* One journal record (untrusted: every field is range-checked). */
void fl_timeline_jrec(struct fl_timeline *tl, const struct fl_jrec *r);
/* One tick: `names`/`vals` are the signals; `rules`/`intens` the scaled
 * rules' indices and intensities (0..1). */
/* at_ns: run time the tick was published (its intensities in force from
 * then on), or -1; recorded as "at_ms". */
void fl_timeline_tick(struct fl_timeline *tl, uint64_t tick, int64_t t_ns,
		      int64_t at_ns, const char *const *names, const double *vals, int nsig,
		      const int *rules, const double *intens, int nrules);
/* {"type":TYPE,"t_ms":..,"reason":WHY}: "abort" (faults cleared early by a
 * signal or `faultline abort`), "end" (duration or scenario over), "error". */
void fl_timeline_event(struct fl_timeline *tl, const char *type, int64_t t_ns,
		       const char *why);
/* {"type":"kernel","t_ms":..,<body>}: body writes the members after t_ms,
 * each starting with a comma. */
void fl_timeline_kernel(struct fl_timeline *tl, int64_t t_ns,
			void (*body)(FILE *f, void *arg), void *arg);
/* A record from FAULTLINE_EVENTS, stamped with the drill clock and the
 * market tick in force (tick < 0: no market). */
void fl_timeline_user(struct fl_timeline *tl, int64_t t_ns, int64_t tick,
		      const struct fl_event *e);
/* The budgets in force and the shock they measure stability from (drill
 * ms, NaN: from the faults). */
void fl_timeline_budgets(struct fl_timeline *tl, const struct fl_budget_limits *l,
			 double shock0_ms, double shock1_ms);
/* status: exit code, or -1 when killed by `sig`. */
void fl_timeline_exit(struct fl_timeline *tl, int status, int sig);

/* Final counts. hits[i] for i < nrules: faults injected by rule i (the
 * block's counters, floored by what the journal showed). */
struct fl_tl_summary {
	uint32_t nrules;
	uint64_t hits[FL_MAX_RULES];
	uint64_t faults;
	uint64_t dropped;
	uint64_t attached;     /* attach records (filled by summarize) */
	const char *unreached; /* reach.h's reason, or NULL (set by the caller) */
	/* what the program's side did to the control plane (set by the
	 * caller from struct fl_jdrain and struct fl_block) */
	uint64_t journal_malformed, journal_resync, journal_skipped, ctl_refused;
	/* optional: more members for per_rule[i] (",\"key\":..."), e.g. the
	 * kernel's account of the rule (bpf.h) */
	void (*rule_extra)(FILE *f, uint32_t rule, void *arg);
	void *rule_extra_arg;
	/* optional parts (NULL / false: not written) */
	bool has_events;
	uint64_t events, events_malformed, events_refused;
	const struct fl_verdicts *verdicts;
};
void fl_timeline_summarize(const struct fl_timeline *tl, const struct fl_ctl *ctl,
			   uint32_t nrules, struct fl_tl_summary *out);
void fl_timeline_summary(struct fl_timeline *tl, const struct fl_tl_summary *s);
/* The human line: "faultline: 3 faults injected (rule 0: 1, rule 2: 2),
 * 0 dropped" followed by `tail` (e.g. "; CMD exited 0"), to `f`. */
void fl_timeline_summary_line(FILE *f, const struct fl_tl_summary *s,
			      const char *tail);
/* "faultline: rules that never fired: 0 (recv delay), 2 (...)", to `f`,
 * or nothing when every rule fired. */
void fl_timeline_unfired_line(FILE *f, const struct fl_tl_summary *s,
			      const struct fl_profile *p);

/* SHA-256 of a file's bytes as 64 hex digits. Returns 0 or -errno. */
int fl_sha256_file(const char *path, char hex[65]);
/* SHA-256 of a buffer. */
void fl_sha256(const void *data, size_t len, uint8_t out[32]);

/* Write `s` as a JSON string literal (quotes included). Bytes that are not
 * valid UTF-8 become U+FFFD, so every line parses. */
void fl_json_put_str(FILE *f, const char *s);
/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid (s[0]
 * not NUL). */
int fl_utf8_len(const unsigned char *s);

#endif /* FL_TIMELINE_H */
