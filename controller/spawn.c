/*
 * spawn.c — starting the command under test (see spawn.h): user look-up,
 * the shim's path, the child's environment, fork/exec with a CLOEXEC errno
 * pipe so a failed exec is reported by the parent, and exit codes.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"

extern char **environ;


int fl_user_lookup(const char *name, struct fl_user *u)
{
	struct passwd *pw;
	char *end;
	long id;

	memset(u, 0, sizeof(*u));
	errno = 0;
	pw = getpwnam(name);
	if (!pw) {
		id = strtol(name, &end, 10);
		if (*name && !*end && id >= 0)
			pw = getpwuid((uid_t)id);
	}
	if (!pw)
		return errno ? -errno : -ENOENT;
	u->uid = pw->pw_uid;
	u->gid = pw->pw_gid;
	u->ngroups = (int)(sizeof(u->groups) / sizeof(u->groups[0]));
	if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &u->ngroups) < 0)
		return -E2BIG;
	if (geteuid() != 0 && u->uid != geteuid())
		return -EPERM;
	u->set = true;
	return 0;
}

/* realpath(dir/rel) into out if it names a readable file. */
static int try_shim(const char *dir, const char *rel, char *out, size_t len)
{
	char p[PATH_MAX], r[PATH_MAX];

	if ((size_t)snprintf(p, sizeof(p), "%s%s%s", dir, *dir ? "/" : "", rel) >=
	    sizeof(p))
		return -ENAMETOOLONG;
	if (!realpath(p, r) || access(r, R_OK) < 0)
		return -ENOENT;
	if (strlen(r) >= len)
		return -ENAMETOOLONG;
	strcpy(out, r);
	/* ld.so splits LD_PRELOAD on blanks and colons. */
	return strpbrk(out, ": \t") ? -EINVAL : 0;
}

int fl_find_shim(char *out, size_t len)
{
	const char *env = getenv("FAULTLINE_SHIM");
	char exe[PATH_MAX];
	ssize_t n;
	int err;

	if (env && *env)
		return try_shim("", env, out, len);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	dirname(exe);
	err = try_shim(exe, "libfaultline.so", out, len);
	if (err == -ENOENT)
		err = try_shim(exe, "../lib/faultline/libfaultline.so", out, len);
	return err;
}

static char *env_pair(const char *key, const char *a, const char *b)
{
	size_t n = strlen(key) + strlen(a) + (b ? strlen(b) + 1 : 0) + 2;
	char *s = malloc(n);

	if (s)
		snprintf(s, n, "%s=%s%s%s", key, a, b ? ":" : "", b ? b : "");
	return s;
}

char **fl_env_build(const char *shim, const char *ctl)
{
	const char *pre = getenv("LD_PRELOAD");
	size_t n = 0, k = 0;
	char **env;

	while (environ[n])
		n++;
	env = calloc(n + 3, sizeof(*env));
	if (!env)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(environ[i], "FAULTLINE_CTL=", 14) ||
		    (shim && !strncmp(environ[i], "LD_PRELOAD=", 11)))
			continue;
		if (!(env[k++] = strdup(environ[i])))
			goto fail;
	}
	if (shim && !(env[k++] = env_pair("LD_PRELOAD", shim,
					       pre && *pre ? pre : NULL)))
		goto fail;
	if (ctl && !(env[k++] = env_pair("FAULTLINE_CTL", ctl, NULL)))
		goto fail;
	return env;
fail:
	fl_env__free(env);
	return NULL;
}

void fl_env__free(char **env)
{
	for (size_t i = 0; env && env[i]; i++)
		free(env[i]);
	free(env);
}

struct fl__spawn_msg {
	int stage;
	int err;
};

/* In the child: only async-signal-safe calls from here to exec. A failure
 * is stored in `shm`, not written to the pipe: once a seccomp filter is
 * installed (child_hook) a write(2) could be notified to a listener that
 * nobody serves yet. */
static void child_setup(const struct fl_spawn *s, struct fl__spawn_msg *shm)
{
	struct fl__spawn_msg m = { FL_SPAWN_CGROUP, 0 };

	if (s->cgroup_procs && write(*s->cgroup_procs, "0", 1) != 1)
		goto fail;
	m.stage = FL_SPAWN_SETUP;
	for (int sig = 1; s->old_act && sig < s->nold_act; sig++)
		if (s->old_act[sig].sa_handler != SIG_ERR)
			sigaction(sig, &s->old_act[sig], NULL);
	if (s->mask && sigprocmask(SIG_SETMASK, s->mask, NULL) < 0)
		goto fail;
	if (s->child_hook && (errno = -s->child_hook(s->hook_arg)) != 0)
		goto fail;
	if (s->user && s->user->set &&
	    (setgroups((size_t)s->user->ngroups, s->user->groups) < 0 ||
	     setgid(s->user->gid) < 0 || setuid(s->user->uid) < 0))
		goto fail;
	m.stage = FL_SPAWN_EXEC;
	execvpe(s->argv[0], s->argv, s->envp);
fail:
	m.err = errno;
	*shm = m;
	_exit(m.stage == FL_SPAWN_EXEC && m.err == ENOENT ? FL_EXIT_NOTFOUND
							 : FL_EXIT_NOEXEC);
}

int fl_spawn(const struct fl_spawn *s, pid_t *pid, enum fl_spawn_stage *stage)
{
	struct fl__spawn_msg m = { 0, 0 }, *shm;
	int p[2], err;
	char b;

	*stage = FL_SPAWN_FORK;
	*pid = -1;
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		return -errno;
	if (pipe2(p, O_CLOEXEC) < 0) {
		err = -errno;
		munmap(shm, sizeof(*shm));
		return err;
	}
	*pid = fork();
	if (*pid < 0) {
		err = -errno;
		close(p[0]);
		close(p[1]);
		munmap(shm, sizeof(*shm));
		return err;
	}
	if (*pid == 0)
		child_setup(s, shm);
	close(p[1]);
	if (s->parent_hook && (err = s->parent_hook(*pid, s->hook_arg)) < 0) {
		kill(*pid, SIGKILL);
		*stage = FL_SPAWN_SETUP;
		m = (struct fl__spawn_msg){ FL_SPAWN_SETUP, -err };
	}
	/* EOF: the exec closed the pipe (the program runs) or the child
	 * exited (its failure is in shm). */
	while (read(p[0], &b, 1) < 0 && errno == EINTR)
		;
	close(p[0]);
	if (!s->parent_hook || *stage != FL_SPAWN_SETUP)
		m = *shm;
	munmap(shm, sizeof(*shm));
	if (m.stage == FL_SPAWN_OK) {
		*stage = FL_SPAWN_OK;
		return 0;
	}
	waitpid(*pid, NULL, 0);
	*pid = -1;
	*stage = (enum fl_spawn_stage)m.stage;
	return m.err ? -m.err : -EIO;
}

int fl_spawn_exit_code(enum fl_spawn_stage stage, int err)
{
	if (stage != FL_SPAWN_EXEC)
		return FL_EXIT_FAIL;
	return err == -ENOENT || err == ENOENT ? FL_EXIT_NOTFOUND : FL_EXIT_NOEXEC;
}

int fl_wait_exit_code(int wstatus)
{
	if (WIFEXITED(wstatus))
		return WEXITSTATUS(wstatus);
	if (WIFSIGNALED(wstatus))
		return 128 + WTERMSIG(wstatus);
	return FL_EXIT_FAIL;
}

