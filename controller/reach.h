/*
 * reach.h — can the faults reach the program? Never a silent drill.
 *
 * Before exec (fl_reach_prepare): the command's executable is inspected
 * (elfinfo.h: static, Go, set-id) and, under --user, the shim is checked
 * readable by that user and otherwise staged where the user can read it (a
 * 0755 root-owned directory under /tmp, the copy 0644, removed by
 * fl_reach_free), or the run is refused naming the path.
 *
 * After exec: the session counts FL_J_ATTACH records. When rules exist
 * and no process attached within FL_REACH_BOUND_NS of the exec (checked on
 * the heartbeat: an event the loop already has), and again at the end,
 * `faultline run` says so on stderr with the reason it can tell; the
 * summary record carries the count and the reason (timeline.h).
 *
 * Preload mode only: a supervisor that reaches the program otherwise
 * (seccomp) sets `preload` false and the check stays quiet.
 *
 * Ownership: struct fl_reach is caller-owned; fl_reach_free removes the
 * staged copy and accepts a zeroed struct.
 */
#ifndef FL_REACH_H
#define FL_REACH_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "elfinfo.h"
#include "spawn.h"

#define FL_REACH_BOUND_NS 2000000000ll /* 2 s after exec (said as "2 s") */

struct fl_reach {
	bool armed;         /* the profile has rules: silence would matter */
	bool preload;       /* faults travel by LD_PRELOAD (default true) */
	const char *cmd;    /* argv[0], for messages */
	const char *shim;   /* the shim path the program gets */
	struct fl_elf_info elf;
	const char *file_why;  /* what the executable says, or NULL */
	char staged_dir[PATH_MAX]; /* --user copy of the shim, "" = none */
	char staged[PATH_MAX];
	pid_t pid;
	int64_t exec_ns;    /* monotonic time of the exec */
	bool warned;        /* the early warning was given */
	const char *env_why;   /* read from /proc/PID/environ while it ran */
	char why[512];      /* the reason, once known */
};

/* Before exec. cmd: the command's argv; user: --user or NULL; shim: in
 * and out (replaced by the staged copy when the user cannot read it).
 * Returns 0, or -errno after saying on stderr why the run is refused
 * (the shim unreadable by the user and no copy possible). */
int fl_reach_prepare(struct fl_reach *r, char *const *cmd, bool armed,
		     const struct fl_user *user, char *shim, size_t shimlen);

/* The command was exec'd as pid at monotonic time now. */
void fl_reach_spawned(struct fl_reach *r, pid_t pid, int64_t now);

/* From the heartbeat: once FL_REACH_BOUND_NS passed with attaches == 0,
 * say so on `out` (once). Returns true when it warned now. */
bool fl_reach_poll(struct fl_reach *r, uint64_t attaches, int64_t now, FILE *out);

/* At the end: the reason no process attached (NULL when some did, or the
 * check does not apply); said again on `out` unless out is NULL. */
const char *fl_reach_end(struct fl_reach *r, uint64_t attaches, FILE *out);

void fl_reach_free(struct fl_reach *r);

#endif /* FL_REACH_H */
