/*
 * reach.c — can the faults reach the program (see reach.h).
 *
 * Divisions: the shim as the --user sees it (check, stage, remove); the
 * reasons no process attached; the warnings.
 *
 * Invariants
 *  - Every refusal happens in fl_reach_prepare, before the session opens
 *    any output file.
 *  - The staged copy lives in a directory only root can write (mkdtemp
 *    under /tmp, 0755), so the user can read the shim but not replace it
 *    with code that would run in the next process started under it.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "reach.h"

#define ENVIRON_MAX (1u << 20)

/* ---- the shim as the user sees it -------------------------------------- */

/* Can `u` read `path` (search permission on every directory included)?
 * Asked in a child that became the user, so the kernel's own rules
 * answer (ACLs, groups, capabilities). Returns 1, 0, or -errno. */
static int user_can_read(const struct fl_user *u, const char *path)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		if (setgroups((size_t)u->ngroups, u->groups) < 0 ||
		    setgid(u->gid) < 0 || setuid(u->uid) < 0)
			_exit(2);
		_exit(access(path, R_OK) == 0 ? 0 : 1);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 2)
		return -EPERM;
	return WEXITSTATUS(st) == 0;
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n = 0;
	int in = open(from, O_RDONLY | O_CLOEXEC), out, err = 0;

	if (in < 0)
		return -errno;
	out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (out < 0) {
		err = -errno;
		close(in);
		return err;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	if (n < 0 || fchmod(out, 0644) < 0)
		err = errno ? -errno : -EIO;
	if (close(out) < 0 && !err)
		err = -errno;
	close(in);
	return err;
}

static void unstage(struct fl_reach *r)
{
	if (r->staged[0])
		unlink(r->staged);
	if (r->staged_dir[0])
		rmdir(r->staged_dir);
	r->staged[0] = r->staged_dir[0] = '\0';
}

/* A copy of the shim the user can read, in a fresh root-owned 0755 dir. */
static int stage(struct fl_reach *r, const struct fl_user *u, const char *shim)
{
	int err;

	snprintf(r->staged_dir, sizeof(r->staged_dir), "/tmp/faultline-shim.XXXXXX");
	if (!mkdtemp(r->staged_dir)) {
		err = -errno;
		r->staged_dir[0] = '\0';
		return err;
	}
	/* the dir name is short (mkdtemp above): the path fits */
	snprintf(r->staged, sizeof(r->staged), "%.64s/libfaultline.so", r->staged_dir);
	if (chmod(r->staged_dir, 0755) < 0 || (err = copy_file(shim, r->staged)) < 0) {
		err = errno ? -errno : -EIO;
		unstage(r);
		return err;
	}
	err = user_can_read(u, r->staged);
	if (err <= 0) {
		unstage(r);
		return err < 0 ? err : -EACCES;
	}
	return 0;
}

static int check_user_shim(struct fl_reach *r, const struct fl_user *u,
			   char *shim, size_t shimlen)
{
	int rc = user_can_read(u, shim);

	if (rc == 1)
		return 0;
	if (rc == 0)
		rc = stage(r, u, shim);
	if (rc < 0 || strlen(r->staged) >= shimlen) {
		fprintf(stderr, "faultline: --user %u cannot read %s and it could not "
			"be staged where it can (%s); install faultline where every "
			"user can read it, or set FAULTLINE_SHIM\n", (unsigned)u->uid,
			shim, strerror(rc < 0 ? -rc : ENAMETOOLONG));
		unstage(r);
		return rc < 0 ? rc : -ENAMETOOLONG;
	}
	strcpy(shim, r->staged);
	return 0;
}

int fl_reach_prepare(struct fl_reach *r, char *const *cmd, bool armed,
		     const struct fl_user *user, char *shim, size_t shimlen)
{
	char exe[PATH_MAX];
	uid_t uid = user && user->set ? user->uid : getuid();
	gid_t gid = user && user->set ? user->gid : getgid();
	int rc;

	memset(r, 0, sizeof(*r));
	r->armed = armed;
	r->preload = true;
	r->cmd = cmd[0];
	r->pid = -1;
	if (user && user->set && (rc = check_user_shim(r, user, shim, shimlen)) < 0)
		return rc;
	r->shim = shim;
	/* Not finding or not reading it is the exec's to report (126/127). */
	if (fl_exe_resolve(cmd[0], exe, sizeof(exe)) == 0 &&
	    fl_elf_inspect(exe, &r->elf) == 0)
		r->file_why = fl_elf_unreachable(&r->elf, uid, gid);
	return 0;
}

void fl_reach_free(struct fl_reach *r)
{
	unstage(r);
}

/* ---- reasons -------------------------------------------------------------- */

/* Does the running program's environment still name the shim? Read while
 * it runs; unreadable (another user's, gone) tells nothing. */
static void read_environ(struct fl_reach *r)
{
	char path[64], *buf;
	ssize_t n, got = 0;
	bool found = false;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)r->pid);
	if (r->pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	if (!(buf = malloc(ENVIRON_MAX + 1))) {
		close(fd);
		return;
	}
	while (got < ENVIRON_MAX &&
	       (n = read(fd, buf + got, ENVIRON_MAX - (size_t)got)) > 0)
		got += n;
	close(fd);
	buf[got] = '\0';
	for (char *e = buf; got > 0 && e < buf + got; e += strlen(e) + 1)
		if (!strncmp(e, "LD_PRELOAD=", 11) && r->shim && strstr(e, r->shim))
			found = true;
	if (got > 0 && !found)
		r->env_why = "LD_PRELOAD no longer names the shim in its environment "
			     "(the program or a wrapper removed it)";
	free(buf);
}

static const char *reason(struct fl_reach *r)
{
	const char *why = r->file_why ? r->file_why : r->env_why;
	const char *also = r->file_why && r->env_why ? r->env_why : NULL;

	if (why && r->elf.script && r->file_why)
		snprintf(r->why, sizeof(r->why), "%.128s runs %.128s: %s%s%s", r->cmd,
			 r->elf.path, why, also ? "; and " : "", also ? also : "");
	else if (why)
		snprintf(r->why, sizeof(r->why), "%.128s is %s%s%s", r->cmd, why,
			 also ? "; and " : "", also ? also : "");
	else
		snprintf(r->why, sizeof(r->why), "no reason found in %.128s or its "
			 "environment (did it start? does it load libc dynamically?)",
			 r->cmd);
	return r->why;
}

/* ---- warnings ---------------------------------------------------------------- */

void fl_reach_spawned(struct fl_reach *r, pid_t pid, int64_t now)
{
	r->pid = pid;
	r->exec_ns = now;
}

/* Silent: nothing attached, or it attached but is Go (its runtime makes
 * the system calls itself, past the shim's interposers). */
static bool silent(const struct fl_reach *r, uint64_t attaches)
{
	return r->armed && r->preload && r->pid > 0 && (!attaches || r->elf.go);
}

static void say(const struct fl_reach *r, uint64_t attaches, const char *when,
		FILE *out)
{
	if (attaches)
		fprintf(out, "faultline: %s: %" PRIu64 " process(es) attached %s, but "
			"no fault can reach it: %s\n", r->cmd, attaches, when, r->why);
	else
		fprintf(out, "faultline: no process of %s attached %s: no fault can "
			"reach it; %s\n", r->cmd, when, r->why);
}

bool fl_reach_poll(struct fl_reach *r, uint64_t attaches, int64_t now, FILE *out)
{
	if (r->warned || !silent(r, attaches) || now - r->exec_ns < FL_REACH_BOUND_NS)
		return false;
	r->warned = true;
	read_environ(r);
	reason(r);
	say(r, attaches, "within 2 s of its start", out);
	return true;
}

const char *fl_reach_end(struct fl_reach *r, uint64_t attaches, FILE *out)
{
	if (!silent(r, attaches))
		return NULL;
	if (!r->warned)
		read_environ(r); /* a short run: the program may be gone already */
	reason(r);
	if (out)
		say(r, attaches, "during the run", out);
	return r->why;
}
