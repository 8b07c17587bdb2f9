/*
 * budgets.h — failure budgets and the metrics of a drill, evaluated from
 * its records (probe, metric, invariant, mark, fault), live during a run and
 * again by `faultline report` from the timeline.
 *
 * The budgets ("budgets" in a profile or scenario; README "Budgets"):
 *   probe_p99_ms         p99 of every probe's latency over the drill <= X.
 *                        Nearest rank: broken when more than N - ceil(0.99 N)
 *                        of the N probes were slower than X; it broke at the
 *                        probe that made it so.
 *   probe_error_rate     failed probes / probes <= X; broke at the failure
 *                        number floor(X * N) + 1.
 *   invariant_violations invariant records with ok=false <= X; broke at
 *                        violation X + 1.
 *   metric_max.NAME      every metric record NAME has value <= X; broke at
 *                        the first over.
 *   time_to_stable_s     time to stability (below) <= X; broke at shock end
 *                        + X, or (never stable) at the drill's end.
 *   max_faults           a cap, not a gate: once spent the drill stops
 *                        injecting; reported, never "broken".
 * A budget with no data (no probes at all) holds and says "no data".
 *
 * Windows and time to stability (drill time, the clock the program lived):
 *  - the axis is cut into windows of FL_BG_WINDOW_MS from t = 0;
 *  - the shock is [shock_start, shock_end]: for a scenario the market's main
 *    shock mapped to drill time (set by the caller), else the span from the
 *    first to the last injected fault;
 *  - each probe name's pre-shock band comes from its probes before
 *    shock_start: latency p99 <= max(2 * pre p99, pre p99 + 50 ms) and error
 *    rate <= max(2 * pre rate, pre rate + 0.01);
 *  - a window is inside when every probe name with a band had probes in it
 *    and each was inside its band;
 *  - stable = the first window starting at or after shock_end from which
 *    FL_BG_SUSTAIN windows in a row are inside; time to stability = that
 *    window's start - shock_end (0 if it starts at shock_end). Never, when
 *    the drill ends first. Unknown (NaN, budget holds with "no data") when
 *    there is no shock or no probe before it.
 *  - peak degradation: the worst window p99 after shock_start divided by the
 *    pre-shock p99, and the worst window error rate.
 *
 * Ownership: fl_budgets_new returns an evaluator freed with
 * fl_budgets__free (accepts NULL). Strings passed in are copied.
 */
#ifndef FL_BUDGETS_H
#define FL_BUDGETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define FL_BG_MAX_METRIC 16
#define FL_BG_MAX_NAMES 32      /* probe / metric / invariant names each */
#define FL_BG_WINDOW_MS 1000.0
#define FL_BG_SUSTAIN 5
#define FL_BG_MAX_SAMPLES (1u << 22) /* probes kept for quantiles */
#define FL_BG_MAX_VERDICTS (6 + FL_BG_MAX_METRIC)

/* The limits, as loaded from "budgets"; < 0 = not set. */
struct fl_budget_limits {
	double probe_p99_ms;
	double probe_error_rate;
	double invariant_violations;
	double time_to_stable_s;
	double max_faults;
	int nmetric;
	struct {
		char name[64];
		double max;
	} metric_max[FL_BG_MAX_METRIC];
};

/* All limits unset. */
void fl_budget_limits_init(struct fl_budget_limits *l);
bool fl_budget_limits_any(const struct fl_budget_limits *l);

struct fl_verdict {
	char budget[80];  /* "probe_p99_ms", "metric_max.settlement_lag_ms" */
	double limit;
	double measured;  /* NaN: no data */
	bool broken;
	bool cap;         /* max_faults: informational */
	double burn_ms;   /* first record that spent some of it, NaN none */
	double broke_ms;  /* when it broke, NaN if it held */
	char note[96];    /* "never stable", "no data", "spent: injection stopped" */
};

struct fl_bg_probe_stat { /* one probe name (or all: name "") */
	char name[64];
	uint64_t n, errors;
	double p50, p99, max;          /* ms, NaN without latencies */
	double pre_p99, pre_err;       /* before the shock, NaN unknown */
	double peak_p99, peak_err;     /* worst window after shock start */
	double peak_ratio;             /* peak_p99 / pre_p99 */
};

struct fl_verdicts {
	int n;
	struct fl_verdict v[FL_BG_MAX_VERDICTS];
	int nbroken;
	const struct fl_verdict *first_broken; /* earliest broke_ms, or NULL */
	double first_burn_ms;    /* earliest burn of any budget, NaN none */
	double first_violation_ms; /* first invariant ok=false, NaN none */
	double detect_ms;        /* first mark at or after first_burn, NaN */
	double shock_start_ms, shock_end_ms; /* NaN unknown */
	double stable_ms;        /* time stability was reached, NaN never/unknown */
	double tts_ms;           /* time to stability, NaN never/unknown */
	bool tts_never;          /* there was a shock and a band, never stable */
	int nprobe;              /* probe[0] = all probes together */
	struct fl_bg_probe_stat probe[FL_BG_MAX_NAMES + 1];
	uint64_t violations, marks;
};

struct fl_budgets;

int fl_budgets_new(const struct fl_budget_limits *lim, struct fl_budgets **out);
void fl_budgets__free(struct fl_budgets *b);
const struct fl_budget_limits *fl_budgets_limits(const struct fl_budgets *b);

/* The shock in drill ms (a scenario's market shock). NaN: derive from faults. */
void fl_budgets_set_shock(struct fl_budgets *b, double start_ms, double end_ms);

/* Records, in any order of t_ms (they are sorted when evaluated). */
void fl_budgets_probe(struct fl_budgets *b, double t_ms, const char *name, bool ok,
		      double latency_ms /* NaN: none */);
void fl_budgets_metric(struct fl_budgets *b, double t_ms, const char *name, double v);
void fl_budgets_invariant(struct fl_budgets *b, double t_ms, const char *name, bool ok);
void fl_budgets_mark(struct fl_budgets *b, double t_ms);
void fl_budgets_fault(struct fl_budgets *b, double t_ms);
/* max_faults: the cap was spent at t_ms. */
void fl_budgets_faults_spent(struct fl_budgets *b, double t_ms);
/* The drill's end (last record time); later calls keep the max. */
void fl_budgets_end(struct fl_budgets *b, double t_ms);

/* Evaluate everything recorded so far. Returns 0 or -ENOMEM. */
int fl_budgets_eval(struct fl_budgets *b, struct fl_verdicts *out);

/* Live view, cheap (no sorting): is any budget spending now (a bad record
 * in the last window before now_ms)? Writes up to `max` budget names. */
int fl_budgets_burning(const struct fl_budgets *b, double now_ms,
		       const char **names, int max);

/* Quantile q (0..1, nearest rank) of probe `name`'s latencies ("" = all
 * probes), NaN without data. Also the counts. For metrics. */
int fl_budgets_probe_names(const struct fl_budgets *b, const char **names, int max);
double fl_budgets_probe_quantile(const struct fl_budgets *b, const char *name,
				 double q, uint64_t *n, uint64_t *errors,
				 double *sum_ms);

/* Per-window aggregates over all probes (for the report): windows of
 * width_ms (<= 0: FL_BG_WINDOW_MS) from t=0 to the drill's end. Fills up to
 * max windows; returns the count (0 without probes or memory). NaN p99 for a window without
 * latencies. */
struct fl_bg_window {
	double t0_ms;
	uint32_t n, errors;
	double p50, p99;
	bool inside; /* inside every band (only meaningful with bands) */
};
int fl_budgets_windows(const struct fl_budgets *b, double width_ms, struct fl_bg_window *w,
		       int max);

/* Fed from a timeline (tlread.h), as `faultline report` does: the limits
 * and shock of a "budgets" record (0, or -EINVAL with "FILE:LINE: limits.KEY:
 * expectation" lines in err), and any record: probe, metric, invariant, mark,
 * fault (kind "fault"), end (reason naming max_faults: the cap was spent);
 * every record's t_ms extends the drill's end (a tick's at_ms: its t_ms is
 * market time). The same calls as live. */
struct fl_jctx;
struct fl_tlr_rec;
int fl_budgets_limits_of(const char *file, const struct fl_tlr_rec *rec,
			 struct fl_budget_limits *l, double *shock0_ms, double *shock1_ms,
			 char *err, size_t errlen);
void fl_budgets_feed(struct fl_budgets *b, const struct fl_tlr_rec *rec);
/* The "budgets" object of a profile or scenario (or of a timeline's budgets
 * record) at JSON path `path` into l (set beforehand with
 * fl_budget_limits_init): every error to c. Returns 0 or -EINVAL. */
int fl_budget_limits_parse(struct fl_jctx *c, const struct cJSON *b, const char *path,
			   struct fl_budget_limits *l);

/* Human line for one verdict, e.g. "probe_p99_ms: limit 800, measured 1312.5,
 * BROKEN at 12.3 s". */
void fl_verdict_line(const struct fl_verdict *v, char *out, size_t len);

/* Nearest-rank quantile of sorted x[0..n-1]; NaN for n = 0. */
double fl__bg_quantile(const double *x, size_t n, double q);

#endif /* FL_BUDGETS_H */
