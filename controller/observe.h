/*
 * observe.h — the verdict half of a session: what the program says
 * (FAULTLINE_EVENTS), what it is told (FAULTLINE_MARKET), the failure
 * budgets, the metrics endpoint and the live status line. session.c calls
 * these hooks and nothing else of events/marketsock/budgets/metrics/status.
 *
 * Paths: the events socket is --events PATH, else "<ctl>.events"; the
 * market socket "<ctl>.market" (scenarios only). Both are 0600, given to
 * --user when there is one, and removed at the end.
 *
 * Ownership: fl_obs_open returns an object freed with fl_obs_close
 * (accepts NULL). It borrows the timeline, block and profile, which must
 * outlive it.
 */
#ifndef FL_OBSERVE_H
#define FL_OBSERVE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define FL_EXIT_BUDGET 3 /* the command succeeded but a budget was broken */

struct fl_ctl;
struct fl_jrec;
struct fl_loop;
struct fl_profile;
struct fl_ticker;
struct fl_timeline;
struct fl_tl_summary;

struct fl_obs_opts {
	const char *ctl_path;     /* the block's path (sockets are named from it) */
	const char *events_path;  /* --events, or NULL */
	const char *metrics_addr; /* --metrics ADDR:PORT, or NULL */
	bool market;              /* serve FAULTLINE_MARKET (a scenario) */
	bool status;              /* live status line on stderr */
	bool quiet;               /* -q */
	bool chown;               /* give the sockets to uid/gid */
	uid_t uid;
	gid_t gid;
	double speed;
	const struct fl_profile *p; /* may be NULL */
	struct fl_timeline *tl;
	const struct fl_ctl *ctl;
	const struct fl_ticker *tk; /* NULL without a scenario */
};

struct fl_obs;

/* Create the sockets (and the metrics listener). Messages on stderr.
 * Returns 0 or -errno. */
int fl_obs_open(const struct fl_obs_opts *o, struct fl_obs **out);
int fl_obs_add_to_loop(struct fl_obs *ob, struct fl_loop *l);
/* Add FAULTLINE_EVENTS (and FAULTLINE_MARKET, or remove an inherited one)
 * to a malloc'd NULL-terminated environment (spawn.h's fl_env_build).
 * Returns 0 or -ENOMEM (the array is then unchanged). */
int fl_obs_env(const struct fl_obs *ob, char ***env);
/* After the start record: the budgets record. */
void fl_obs_started(struct fl_obs *ob);
/* Hooks from the loop. */
void fl_obs_jrec(struct fl_obs *ob, const struct fl_jrec *r);
void fl_obs_tick(struct fl_obs *ob, int64_t run_ns);
void fl_obs_beat(struct fl_obs *ob, int64_t run_ns);
void fl_obs_faults_spent(struct fl_obs *ob, int64_t run_ns);
/* The end: read the last events, end the market stream, evaluate the
 * budgets into sum (verdicts stay owned by ob). */
void fl_obs_finish(struct fl_obs *ob, int64_t run_ns, struct fl_tl_summary *sum);
/* After the summary line: print each budget's verdict on stderr (broken
 * ones even with -q). Returns FL_EXIT_BUDGET when rc is 0 and a budget
 * broke, else rc. */
int fl_obs_verdict(struct fl_obs *ob, int rc);
void fl_obs_close(struct fl_obs *ob);

#endif /* FL_OBSERVE_H */
