/*
 * report.h — `faultline report TIMELINE [-o report.html]`: what a drill did,
 * read back from its timeline alone (the one reader, tlread.h) and judged by
 * the same budgets code as the live run (budgets.h, fed record by record).
 *
 * Divisions: report.c loads a timeline into struct fl_report and computes
 * everything both views show (per-rule faults, the market path, windows,
 * the verdicts, what broke first, time to detect and respond); it prints the
 * text view and runs the command. report_html.c writes the HTML view from
 * the same struct: one self-contained file, inline SVG on one time axis.
 *
 * Series the report takes from the timeline (absent ones are "n/a"):
 *   market   tick records' signals: spot, spread_bps, depth_usd, basis_bps,
 *            implied_vol; slippage from a metric "slippage_bps"
 *   risk     liq_queue_usd, liquidations_usd_per_s (tick signals)
 *   routing  probe records (p50/p99, errors); metrics orders_rejected_total
 *            and orders_partial_total (counters: per-window increase)
 *   settlement  metrics finality_ms (else settlement_lag_ms: the oldest
 *            settlement not yet final), reconciliation_lag_ms,
 *            failed_transfers_total (counter)
 *   platform kernel records: system calls and their errors, TCP
 *            retransmits
 * Time to detect: the first mark at or after the first record that spent
 * any budget, minus that record's time. Time to respond: from that mark to
 * stability (budgets.h), n/a when never stable.
 *
 * Exit status of the command: 0 every budget held (or none), 3 a budget
 * broke (FL_EXIT_BUDGET, as `faultline run`), 2 bad usage, 1 an unreadable
 * or malformed timeline ("FILE:LINE: expectation") or an unwritable -o.
 *
 * Ownership: fl_report_load returns a report freed with fl_report__free
 * (accepts NULL); every string in it is its own copy.
 */
#ifndef FL_REPORT_H
#define FL_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "budgets.h"
#include "tlread.h"

#define FL_RP_MAX_NAMES 64   /* distinct names per kind; the last is "(other)" */
#define FL_RP_MAX_IRULES 16  /* rules whose intensity path is kept */
#define FL_RP_MAX_RULES 128  /* = FL_MAX_RULES */
#define FL_RP_MAX_WINDOWS 24 /* rows of the text table */
#define FL_RP_TEXT_MAX 512   /* bytes kept of a detail or mark text */

enum fl_rp_sig {
	FL_RP_SPOT, FL_RP_SPREAD, FL_RP_DEPTH, FL_RP_BASIS, FL_RP_IV,
	FL_RP_LIQ_QUEUE, FL_RP_LIQ_RATE, FL_RP_STRESS, FL_RP__NSIG
};

struct fl_rp_names {
	int n;
	char s[FL_RP_MAX_NAMES][64];
};

struct fl_rp_tick {
	double t_ms;      /* drill time (the record's at_ms) */
	double market_ms; /* market time (the record's t_ms) */
	float sig[FL_RP__NSIG];             /* NaN: not in the record */
	float intens[FL_RP_MAX_IRULES];     /* NaN: rule not scaled here */
};

struct fl_rp_fault {
	double t_ms, value_ms;
	int rule;
	uint16_t target; /* index in report.targets */
};

struct fl_rp_val { /* metric record */
	double t_ms, v;
	uint16_t name;
};

struct fl_rp_inv {
	double t_ms;
	uint16_t name;
	bool ok;
	char *detail; /* may be NULL */
};

struct fl_rp_mark {
	double t_ms;
	char *text;
};

struct fl_rp_kernel {
	double t_ms;
	double calls, errors, retrans;
};

struct fl_rp_stop { /* abort / end / error records */
	double t_ms;
	char type[8];
	char *reason;
};

struct fl_rp_rule {
	uint64_t faults;  /* fault records (kind "fault") */
	double first_ms;  /* NaN: none */
	char target[64], op[32], fault[32];
	uint64_t armed, seen; /* tick records with intensity > 0 / with it */
	bool listed;      /* in the summary's per_rule */
	uint64_t hits;    /* the summary's count */
	char bound[96];   /* "depth_usd < 1.5e+07" from the profile, or "" */
};

/* A growable array. */
#define FL_RP_VEC(T) struct { T *v; size_t n, cap; }

struct fl_report {
	char *path;
	/* start */
	bool has_start;
	char version[48], mode[16], profile[256], profile_sha[72], layer[16];
	char *cmd; /* joined argv, or NULL */
	uint64_t seed;
	double speed;
	bool profile_checked; /* the profile file is the one the run used */
	char profile_note[160];
	/* records */
	FL_RP_VEC(struct fl_rp_tick) ticks;
	FL_RP_VEC(struct fl_rp_fault) faults;
	FL_RP_VEC(struct fl_rp_val) metrics;
	FL_RP_VEC(struct fl_rp_inv) invs;
	FL_RP_VEC(struct fl_rp_mark) marks;
	FL_RP_VEC(struct fl_rp_kernel) kernel;
	FL_RP_VEC(struct fl_rp_stop) stops;
	struct fl_rp_names targets, mnames, inames;
	int nirules; /* rules with an intensity path: irule[k] = rule */
	int irule[FL_RP_MAX_IRULES];
	int nrules;  /* highest rule seen + 1 */
	struct fl_rp_rule rules[FL_RP_MAX_RULES];
	uint64_t records, probes, gates, attaches;
	double t_end_ms;
	/* exit and summary */
	bool has_exit, has_summary;
	int exit_status, exit_signal; /* -1: none */
	uint64_t dropped, attached, events_malformed, events_refused;
	char unreached[160];
	int live_broken;           /* the summary's "broken", -1 absent */
	char live_first_broken[80];
	/* budgets */
	bool has_budgets;
	struct fl_budget_limits limits;
	double shock0_ms, shock1_ms; /* NaN: from the faults */
	struct fl_budgets *bg;
	struct fl_verdicts vd;
	/* what broke first, marks */
	int first_inv;      /* index in invs of the first violation, -1 none */
	int detect_mark;    /* index in marks, -1 none */
	double detect_after_ms, respond_ms; /* NaN: n/a */
	/* probe windows for the HTML (FL_BG_WINDOW_MS each) */
	struct fl_bg_window *pw;
	int npw;
};

/* Read and evaluate `path`. Returns 0, or -errno with err filled
 * ("FILE:LINE: what was expected"). */
int fl_report_load(const char *path, struct fl_report **out, char *err, size_t errlen);
void fl_report__free(struct fl_report *r);
/* The same from memory (fuzzing, tests). */
int fl_report_load_mem(const char *name, const void *buf, size_t len,
		       struct fl_report **out, char *err, size_t errlen);

/* The views. Return 0 or -EIO (a write failed). */
int fl_report_text(const struct fl_report *r, FILE *f);
int fl_report_html(const struct fl_report *r, FILE *f);

/* The verdict: true when a budget broke. */
bool fl_report_broken(const struct fl_report *r);

/* Helpers both views use. */
/* The window width of the text table: a round number of seconds giving at
 * most FL_RP_MAX_WINDOWS rows over span_ms (at least 1 s). */
double fl_rp_window_ms(double span_ms);
/* "$1.93 M", "$636 k", "$40 M". */
void fl_rp_usd(double x, char *out, size_t len);
/* The name of kind `names` at i, "" out of range. */
const char *fl_rp_name(const struct fl_rp_names *n, int i);

/* `faultline report` (argv[0] = "report"). */
int fl_report_main(int argc, char **argv);

#endif /* FL_REPORT_H */
