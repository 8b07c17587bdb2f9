/*
 * spawn.h — starting the command under test: the user it runs as, where the
 * shim is, the environment it gets, fork/exec with an errno pipe, and the
 * exit codes that follow env(1) and timeout(1).
 *
 * Exit codes: the command's own status, 128+N if it died of signal N; 125
 * when faultline itself fails (bad profile, cannot set up), 126 when the
 * command cannot be executed, 127 when it is not found.
 */
#ifndef FL_SPAWN_H
#define FL_SPAWN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define FL_EXIT_FAIL 125
#define FL_EXIT_NOEXEC 126
#define FL_EXIT_NOTFOUND 127

/* The user a command runs as (--user). */
struct fl_user {
	bool set;
	uid_t uid;
	gid_t gid;
	int ngroups;
	gid_t groups[256];
};

/* Look up NAME (or a numeric uid) and its groups. -ENOENT unknown user,
 * -EPERM when we are not root and NAME is someone else. */
int fl_user_lookup(const char *name, struct fl_user *u);

/* Absolute path of libfaultline.so: $FAULTLINE_SHIM if set (must exist),
 * else next to the faultline executable, else ../lib/faultline/ from it.
 * Returns 0, -ENOENT, or -EINVAL when the path cannot go in LD_PRELOAD
 * (contains ':' or a blank). */
int fl_find_shim(char *out, size_t len);

/* The child's environment: ours, with LD_PRELOAD=<shim> prepended to any
 * existing LD_PRELOAD and FAULTLINE_CTL=<ctl> (shim NULL: no LD_PRELOAD
 * change). Returns a malloc'd NULL-terminated array whose strings are also
 * malloc'd; free with fl_env__free(). NULL on ENOMEM. */
char **fl_env_build(const char *shim, const char *ctl);
void fl_env__free(char **env);

/* Why a spawn failed. */
enum fl_spawn_stage {
	FL_SPAWN_OK = 0,
	FL_SPAWN_FORK,  /* pipe/fork in the parent */
	FL_SPAWN_SETUP, /* the child's set-up (user, signal mask) */
	FL_SPAWN_EXEC,  /* execvpe */
	FL_SPAWN_CGROUP,/* joining the cgroup (cgroup_procs) */
};

struct fl_spawn {
	char *const *argv;
	char *const *envp;
	const struct fl_user *user; /* NULL: stay who we are */
	const sigset_t *mask;       /* the signal mask to restore, or NULL */
	/* dispositions to restore for these signals (ignored in our parent) */
	const struct sigaction *old_act; /* indexed by signal number, or NULL */
	int nold_act;
	/* an open cgroup.procs the child writes itself to first (bpf.h), or NULL */
	const int *cgroup_procs;
	/* optional (the seccomp filter, seccomp_sup.h): child_hook runs in the
	 * child before the user switch and returns 0 or -errno; parent_hook
	 * runs in the parent right after fork (0 or -errno: the child is
	 * killed, stage SETUP). */
	int (*child_hook)(void *arg);
	int (*parent_hook)(pid_t pid, void *arg);
	void *hook_arg;
};

/* Fork, set the child up and execvpe argv[0]. Returns 0 and *pid once the
 * exec succeeded (a CLOEXEC pipe reports the child's errno), or -errno with
 * *stage saying where it failed; a child that failed is reaped. */
int fl_spawn(const struct fl_spawn *s, pid_t *pid, enum fl_spawn_stage *stage);

/* Exit code for a failed spawn: 127 ENOENT at exec, 126 other exec errors,
 * 125 anything else. */
int fl_spawn_exit_code(enum fl_spawn_stage stage, int err);

/* Exit code for a wait status: the code, or 128 + signal. */
int fl_wait_exit_code(int wstatus);

#endif /* FL_SPAWN_H */
