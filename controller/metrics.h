/*
 * metrics.h — `--metrics ADDR:PORT`: Prometheus text (exposition format
 * 0.0.4) served from the controller's loop during a run, on GET /metrics
 * (and /). What it says: drill and market time, every market signal, faults
 * per rule and per target, journal drops, events and malformed lines, each
 * budget's limit, state (burning, broken) and measured value, probe latency
 * quantiles (p50, p90, p99) with counts and errors, the program's own
 * metrics (last value) and invariant violations.
 *
 * ADDR:PORT: "127.0.0.1:9464", "[::1]:9464", ":9464" (loopback), port 0
 * picks a free one. The address actually bound is said on stderr:
 *   faultline: metrics on http://127.0.0.1:PORT/metrics
 *
 * Invariants
 *  - Never blocks: at most FL_MX_MAX_CONN scrapers, non-blocking sockets,
 *    a request is at most 4 KiB, a reply that does not fit the socket is
 *    finished on later wake-ups (fl_metrics_poll), and a scraper that does
 *    nothing for 5 s is closed.
 *
 * Ownership: fl_metrics_open returns a server freed with fl_metrics_close
 * (accepts NULL). The sources are borrowed.
 */
#ifndef FL_METRICS_H
#define FL_METRICS_H

#include <stdint.h>
#include <stdio.h>

#define FL_MX_MAX_CONN 8

struct fl_ctl;
struct fl_profile;
struct fl_ticker;
struct fl_budgets;
struct fl_events;
struct fl_loop;
struct fl_metrics;

struct fl_metrics_src {
	const struct fl_ctl *ctl;
	const struct fl_profile *p;   /* may be NULL */
	const struct fl_ticker *tk;   /* NULL without a scenario */
	struct fl_budgets *bg;
	const struct fl_events *ev;
	const uint64_t *tfaults;      /* faults per target id */
};

/* Parse ADDR:PORT and listen. Returns 0 or -errno (said on stderr). */
int fl_metrics_open(const char *addr, const struct fl_metrics_src *src,
		    struct fl_metrics **out);
int fl_metrics_add_to_loop(struct fl_metrics *mx, struct fl_loop *l);
/* A program metric's latest value (mx may be NULL). */
void fl_metrics_set(struct fl_metrics *mx, const char *name, double v);
/* Finish pending replies, close idle scrapers (call from the heartbeat). */
void fl_metrics_poll(struct fl_metrics *mx);
void fl_metrics_close(struct fl_metrics *mx);

/* The exposition text itself (tests). Returns 0 or -errno. */
int fl_metrics_render(struct fl_metrics *mx, FILE *f);

#endif /* FL_METRICS_H */
