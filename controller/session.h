/*
 * session.h — `faultline run` and `faultline drill`: a session that owns one
 * control block, an event loop, a timeline and (for run) the command it
 * spawned under the shim (spawn.h).
 *
 * Exit codes (like env(1) and timeout(1)): the command's own status, 128+N
 * if it died of signal N; 125 when faultline itself fails (bad profile,
 * cannot set up), 126 when the command cannot be executed, 127 when it is
 * not found. A bad profile never starts the command. 3 (FL_EXIT_BUDGET,
 * observe.h) when the command's status was 0 but a failure budget broke.
 */
#ifndef FL_SESSION_H
#define FL_SESSION_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "spawn.h"

/* What `run` and `drill` were asked to do (main.c fills it). */
struct fl_run_opts {
	const char *profile;   /* -p / -s FILE, NULL for none */
	bool scenario;         /* given with -s: must be a scenario */
	const char *timeline;  /* -o FILE, NULL for none */
	uint64_t seed;
	bool has_seed;         /* --seed given */
	double speed;          /* --speed, > 0 (default 1) */
	const char *user;      /* --user NAME, NULL for none */
	const char *ctl;       /* --ctl PATH, NULL: a private one (run only) */
	char **cmd;            /* run: argv of the command; drill: NULL */
	double duration_s;     /* --duration, < 0 for none */
	int64_t ticks_every_ns;/* --ticks-every, 0 for the default */
	bool quiet;            /* -q: no summary line on stderr */
	const char *pin;       /* --pin TIMELINE: replay its faults, in order */
	const char *events;    /* --events PATH, NULL: "<ctl>.events" */
	const char *metrics;   /* --metrics ADDR:PORT, NULL for none */
	bool no_bpf;           /* --no-bpf: no eBPF observer or injectors */
	const char *cgroup;    /* drill --cgroup PATH: the services' cgroup v2 */
	int mode;              /* --mode: enum fl_mode (mode.h), 0 = auto */
	bool verbose;          /* -v: say which layer and why */
	bool timens;           /* --timens: a time namespace for clock rules */
	bool pin_force;        /* --pin-force: even if recorded under another profile */
};

/* Run a session; returns the process exit code (see above). Messages go to
 * stderr prefixed "faultline: ". */
int fl_run_main(const struct fl_run_opts *o);

#endif /* FL_SESSION_H */
