/*
 * seccomp_exec.c — `faultline exec --ctl PATH -- CMD`, the ExecStart
 * wrapper for services that need the seccomp supervisor (static, Go), and
 * the drill's side of it (see seccomp_sup.h).
 *
 * exec: builds a filter for the ops asked (all the supervisor serves by
 * default), starts CMD under it (fl_spawn, the same hooks as `run`), takes
 * the listener and becomes its keeper: every notification is passed
 * through (CONTINUE) while no drill is attached. A drill connects to
 * "<ctl>.sc.<pid>" (0600, our user or root only), gets the listener and the
 * in-flight table (SCM_RIGHTS) and serves them; when its connection closes
 * — drill over, or the drill killed with -9 — the keeper answers what the
 * drill left in the table and passes everything again. exec exits with
 * CMD's status once no process uses the filter (CMD and everything it
 * started); SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1/2 are passed to CMD.
 * exec itself killed (-9): a standby keeper it forked (as `run` does)
 * answers and passes everything from then on.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "seccomp_sup.h"
#include "spawn.h"

extern char **environ;

static volatile pid_t exec_child;

static void forward(int sig)
{
	if (exec_child > 0)
		kill(exec_child, sig);
}

static void on_chld(int sig)
{
	(void)sig; /* only wakes ppoll in the keeper loop */
}

static int listen_at(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path); /* ours: the name has our pid in it */
	old = umask(077);
	r = bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || listen(fd, 4) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int fl_sc_exec_main(const char *ctl, uint32_t ops, char *const *cmd, bool verbose)
{
	static const int fwd[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	struct fl_sc_plan plan;
	struct fl__sc_table *tab = NULL;
	struct sigaction sa = {.sa_handler = forward};
	char err[256], path[4096];
	struct fl_spawn sp = {.argv = cmd, .envp = environ};
	enum fl_spawn_stage stage;
	sigset_t chld, oldmask;
	int r, afd, tabfd, st = 0, standby;
	pid_t pid;

	if ((r = fl_sc_plan_ops(&plan, ops, err, sizeof(err))) < 0) {
		fprintf(stderr, "faultline: exec: %s\n", err);
		return FL_EXIT_FAIL;
	}
	if ((r = fl_sc_exec_sock_path(ctl, getpid(), path, sizeof(path))) < 0 ||
	    (afd = listen_at(path)) < 0) {
		fprintf(stderr, "faultline: exec: %s.sc.%d: %s\n", ctl, (int)getpid(),
			strerror(r < 0 ? -r : EINVAL));
		fl_sc_plan_fini(&plan);
		return FL_EXIT_FAIL;
	}
	if ((tabfd = fl__sc_table_new(&tab)) < 0) {
		fprintf(stderr, "faultline: exec: in-flight table: %s\n", strerror(-tabfd));
		unlink(path);
		return FL_EXIT_FAIL;
	}
	munmap(tab, sizeof(*tab));
	if (verbose)
		fprintf(stderr, "faultline: exec: notifying %u system calls (%s); "
			"drills attach at %s\n", plan.nsys, plan.sys, path);
	sp.child_hook = fl_sc_child;
	sp.parent_hook = fl_sc_take;
	sp.hook_arg = &plan;
	sigemptyset(&sa.sa_mask);
	for (unsigned i = 0; i < sizeof(fwd) / sizeof(fwd[0]); i++)
		sigaction(fwd[i], &sa, NULL); /* no SA_RESTART: poll wakes */
	sa.sa_handler = on_chld;
	sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, &oldmask);
	sp.mask = &oldmask; /* CMD gets the mask we were started with */
	r = fl_spawn(&sp, &pid, &stage);
	if (r < 0) {
		fprintf(stderr, "faultline: exec: %s: %s%s\n", cmd[0],
			stage == FL_SPAWN_SETUP ? "cannot install the seccomp filter: " : "",
			strerror(-r));
		unlink(path);
		fl_sc_plan_fini(&plan);
		return fl_spawn_exit_code(stage, r);
	}
	exec_child = pid;
	/* a standby keeper (not our child): if we are killed, it answers
	 * what waited and passes everything — never ENOSYS for CMD */
	standby = fl__sc_keeper_start(plan.listener, tabfd);
	if (standby < 0)
		fprintf(stderr, "faultline: exec: no standby keeper (%s): if this "
			"process is killed, %s's notified calls fail with ENOSYS\n",
			strerror(-standby), cmd[0]);
	fl__sc_keeper_loop(plan.listener, tabfd, -1, afd, plan.ops, pid, &st);
	if (standby >= 0)
		close(standby);
	unlink(path);
	close(afd);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		; /* ECHILD when the loop reaped it */
	fl_sc_plan_fini(&plan);
	close(tabfd);
	return fl_wait_exit_code(st);
}

/* Take one exec's listener: connect, receive the hello and two fds. */
static int take_one(const char *path, struct fl_sc_attached *a)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct fl__sc_hello h = {0};
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct iovec iov = {&h, sizeof(h)};
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct timeval tv = {2, 0}; /* another drill holds it: it never answers */
	struct cmsghdr *cm;
	int fd, fds[2];
	ssize_t n;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);
	cm = n == (ssize_t)sizeof(h) ? CMSG_FIRSTHDR(&m) : NULL;
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(fds)) ||
	    h.magic != FL_SC_HELLO_MAGIC) {
		int e = n < 0 ? (errno == EAGAIN ? -EBUSY : -errno) : -EPROTO;
		if (cm && cm->cmsg_type == SCM_RIGHTS) {
			int nfd = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			for (int i = 0; i < nfd && i < 2; i++)
				close(((int *)CMSG_DATA(cm))[i]);
		}
		close(fd);
		return e;
	}
	memcpy(fds, CMSG_DATA(cm), sizeof(fds));
	a->lfd = fds[0];
	a->tabfd = fds[1];
	a->conn = fd;
	a->ops = h.ops;
	snprintf(a->path, sizeof(a->path), "%s", path);
	return 0;
}

int fl_sc_exec_attach(const char *ctl, struct fl_sc_attached *out, int max,
		      char *err, size_t len)
{
	char pat[4096];
	glob_t g;
	int n = 0, r = 0;

	if (snprintf(pat, sizeof(pat), "%s.sc.*", ctl) >= (int)sizeof(pat))
		return 0;
	if (glob(pat, GLOB_NOSORT, NULL, &g) != 0)
		return 0; /* none: no seccomp service here */
	for (size_t i = 0; i < g.gl_pathc && n < max; i++) {
		pid_t pid = (pid_t)atoi(strrchr(g.gl_pathv[i], '.') + 1);
		if (pid <= 0 || (kill(pid, 0) < 0 && errno == ESRCH))
			continue; /* a dead exec's leftover */
		r = take_one(g.gl_pathv[i], &out[n]);
		if (r < 0) {
			snprintf(err, len, "%s: cannot take the seccomp listener of "
				 "`faultline exec` (pid %d): %s", g.gl_pathv[i], (int)pid,
				 r == -EBUSY ? "another drill is serving it" :
				 r == -EPROTO ? "not a faultline exec socket" : strerror(-r));
			break;
		}
		n++;
	}
	globfree(&g);
	if (r < 0) {
		while (n-- > 0) {
			close(out[n].lfd);
			close(out[n].tabfd);
			close(out[n].conn);
		}
		return r;
	}
	return n;
}
