/*
 * seccomp.c — the filter, the listener handshake and the keeper (see
 * seccomp_sup.h). The supervisor itself is seccomp_serve.c.
 *
 * Divisions: (1) which rules the supervisor can serve, (2) the filter,
 * (3) the child/parent handshake, (4) the in-flight table and answers,
 * (5) the keeper.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "seccomp_sup.h"

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef PR_SET_NO_NEW_PRIVS
#define PR_SET_NO_NEW_PRIVS 38
#endif

/* ---- (1) what the supervisor can serve -------------------------------------- */

static const char *op_name(unsigned op)
{
	static const char *const n[] = {
		"none",
#define X(id, name, errs) name,
		FL_OPS(X)
#undef X
	};
	return op < sizeof(n) / sizeof(n[0]) ? n[op] : "?";
}

static const char *rule_cant(const struct fl_rule *r)
{
	if (r->flags & FL_RF_CLOCK) {
		if (r->clock == FL_CLK_REALTIME)
			return "a realtime clock rule cannot reach a program in seccomp "
			       "mode: it reads CLOCK_REALTIME through the vDSO without a "
			       "system call, and time namespaces do not offset "
			       "CLOCK_REALTIME (use --mode preload for a dynamic program)";
		if (r->fault != FL_FAULT_OFFSET ||
		    (r->flags & (FL_RF_WINDOW | FL_RF_PROB | FL_RF_NTH | FL_RF_SCALED)))
			return "in seccomp mode a monotonic/boottime clock rule must be a "
			       "constant \"offset\" for the whole run (a time namespace's "
			       "offsets are fixed before the program starts)";
		return NULL;
	}
	if (r->op == FL_OP_RESOLVE)
		return "name resolution happens inside the program: op \"resolve\" "
		       "needs the shim (--mode preload)";
	if (r->fault == FL_FAULT_HOLD && r->op == FL_OP_CLOSE)
		return "a hold on close must close the program's fd first, which a "
		       "supervisor cannot do (a hold on any other op works)";
	if (r->fault != FL_FAULT_HOLD && (r->flags & FL_RF_UNTIL))
		return "pinned orders (\"until\" on a fault other than hold, --pin) "
		       "need the shim (--mode preload)";
	if (r->fault == FL_FAULT_STALE)
		return "stale reads need the shim (--mode preload)";
	if (r->op == FL_OP_CLOSE && r->fault == FL_FAULT_ERROR)
		return "a close error must still close the program's fd, which a "
		       "supervisor cannot do (a delay on close works)";
	return NULL;
}

int fl_sc_check_rules(const struct fl_ctl *c, char *err, size_t len)
{
	for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++) {
		const char *why = rule_cant(&c->rules[i]);
		if (why) {
			snprintf(err, len, "rules[%u] (%s %s): %s", i,
				 c->rules[i].flags & FL_RF_CLOCK ? "clock" : op_name(c->rules[i].op),
				 c->rules[i].flags & FL_RF_CLOCK ? "rule" : "rule", why);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- (2) the filter ------------------------------------------------------------ */

/* The system calls of each op, x86_64 names. */
static const char *const *op_syscalls(unsigned op)
{
	static const char *const connect_[] = {"connect", NULL};
	static const char *const accept_[] = {"accept", "accept4", NULL};
	static const char *const send_[] = {"sendto", "sendmsg", "write", "writev", NULL};
	static const char *const recv_[] = {"recvfrom", "recvmsg", "read", "readv", NULL};
	static const char *const read_[] = {"read", "readv", "pread64", "preadv", NULL};
	static const char *const write_[] = {"write", "writev", "pwrite64", "pwritev", NULL};
	static const char *const open_[] = {"open", "openat", "creat", NULL};
	static const char *const fsync_[] = {"fsync", "fdatasync", NULL};
	static const char *const rename_[] = {"rename", "renameat", "renameat2", NULL};
	static const char *const close_[] = {"close", NULL};

	switch (op) {
	case FL_OP_CONNECT: return connect_;
	case FL_OP_ACCEPT: return accept_;
	case FL_OP_SEND: return send_;
	case FL_OP_RECV: return recv_;
	case FL_OP_READ: return read_;
	case FL_OP_WRITE: return write_;
	case FL_OP_OPEN: return open_;
	case FL_OP_FSYNC: return fsync_;
	case FL_OP_RENAME: return rename_;
	case FL_OP_CLOSE: return close_;
	}
	return NULL;
}

static int add_op(scmp_filter_ctx ctx, unsigned op, struct fl_sc_plan *p)
{
	const char *const *names = op_syscalls(op);

	for (; names && *names; names++) {
		int nr = seccomp_syscall_resolve_name(*names);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if (nr >= 0 && nr < 512) { /* read is both recv's and read's */
			if (p->added[nr / 64] & (1ull << (nr % 64)))
				continue;
			p->added[nr / 64] |= 1ull << (nr % 64);
		}
		int r = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, nr, 0);
		if (r == -EEXIST)
			continue;
		if (r < 0)
			return r;
		p->nsys++;
		size_t n = strlen(p->sys);
		snprintf(p->sys + n, sizeof(p->sys) - n, "%s%s", n ? " " : "", *names);
	}
	return 0;
}

/* Export ctx's BPF into p->prog (through a memfd: libseccomp 2.5 exports
 * to an fd only). */
static int export_prog(scmp_filter_ctx ctx, struct fl_sc_plan *p)
{
	struct sock_fprog *fp;
	struct stat st;
	int fd = memfd_create("faultline-bpf", MFD_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = seccomp_export_bpf(ctx, fd);
	if (r == 0 && fstat(fd, &st) < 0)
		r = -errno;
	if (r == 0 && (st.st_size == 0 || st.st_size % sizeof(struct sock_filter)))
		r = -EINVAL;
	fp = r == 0 ? calloc(1, sizeof(*fp) + (size_t)st.st_size) : NULL;
	if (r == 0 && !fp)
		r = -ENOMEM;
	if (r == 0 && pread(fd, fp + 1, (size_t)st.st_size, 0) != st.st_size)
		r = -EIO;
	close(fd);
	if (r < 0) {
		free(fp);
		return r;
	}
	fp->len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	fp->filter = (struct sock_filter *)(fp + 1);
	p->prog = fp;
	return 0;
}

struct fl__sc_hand {
	_Atomic uint32_t state; /* HS_* */
	int32_t lfd;            /* the listener's number in the child */
	int32_t err;
	uint32_t flags;         /* the filter flags that worked */
	pid_t parent;
};
enum { HS_INIT = 0, HS_READY = 1, HS_TAKEN = 2, HS_FAILED = 3, HS_REFUSED = 4 };

/* Can we make a time namespace? Tried in a throwaway child, so that a
 * refusal is an error before CMD starts. 0 or -errno. */
static int timens_try(void)
{
	pid_t pid;
	int st;

	if (access("/proc/self/ns/time", F_OK) < 0)
		return -EOPNOTSUPP;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(unshare(CLONE_NEWTIME) == 0 ? 0 : (errno & 0x7f));
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(st) ? -WEXITSTATUS(st) : -EIO;
}

/* The time namespace's offsets: every monotonic/boottime offset rule
 * (fl_sc_check_rules let only constant ones through), summed per clock as
 * the shim sums rules on one clock. */
static int plan_timens(struct fl_sc_plan *p, const struct fl_ctl *c, bool want,
		       char *err, size_t len)
{
	int r;

	for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++) {
		const struct fl_rule *ru = &c->rules[i];
		if (!(ru->flags & FL_RF_CLOCK) || ru->fault != FL_FAULT_OFFSET)
			continue;
		if (ru->clock == FL_CLK_MONOTONIC)
			p->tn_mono_ns += ru->ns;
		else if (ru->clock == FL_CLK_BOOTTIME)
			p->tn_boot_ns += ru->ns;
		want = true;
	}
	if (!want)
		return 0;
	if ((r = timens_try()) < 0) {
		snprintf(err, len, "the time namespace for --timens and monotonic/"
			 "boottime offsets cannot be made here: unshare(CLONE_NEWTIME): "
			 "%s (it needs CAP_SYS_ADMIN and a kernel with CONFIG_TIME_NS, "
			 "5.6 or later)", strerror(-r));
		return r;
	}
	p->timens = true;
	return 0;
}

static int plan_ops(struct fl_sc_plan *p, uint32_t ops, char *err, size_t len);

int fl_sc_plan_init(struct fl_sc_plan *p, const struct fl_ctl *c, bool timens,
		    char *err, size_t len)
{
	uint32_t ops = 0;
	int r;

	memset(p, 0, sizeof(*p));
	p->listener = -1;
	if ((r = fl_sc_check_rules(c, err, len)) < 0)
		return r;
	if ((r = plan_timens(p, c, timens, err, len)) < 0)
		return r;
	for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++) {
		const struct fl_rule *ru = &c->rules[i];
		if (!(ru->flags & FL_RF_CLOCK) && ru->op < 32)
			ops |= 1u << ru->op;
		/* a hold's gate opens on a call the supervisor must see */
		if (ru->fault == FL_FAULT_HOLD && (ru->flags & FL_RF_UNTIL) && ru->until_op < 32)
			ops |= 1u << ru->until_op;
	}
	return plan_ops(p, ops, err, len);
}

uint32_t fl_sc_ops_all(void)
{
	uint32_t ops = 0;

	for (unsigned op = 1; op < FL_OP__COUNT && op < 32; op++)
		if (op_syscalls(op))
			ops |= 1u << op;
	return ops;
}

int fl_sc_plan_ops(struct fl_sc_plan *p, uint32_t ops, char *err, size_t len)
{
	memset(p, 0, sizeof(*p));
	p->listener = -1;
	return plan_ops(p, ops, err, len);
}

static int plan_ops(struct fl_sc_plan *p, uint32_t ops, char *err, size_t len)
{
	scmp_filter_ctx ctx;
	int r;

	p->ops = ops;
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx) {
		snprintf(err, len, "seccomp: libseccomp cannot start a filter");
		return -ENOMEM;
	}
	/* other ABIs (i386, x32) are not intercepted: let them run, never kill */
	r = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ALLOW);
	if (r == 0)
		r = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (unsigned op = 1; r == 0 && op < FL_OP__COUNT; op++)
		if (ops & (1u << op))
			r = add_op(ctx, op, p);
	if (r == 0)
		r = export_prog(ctx, p);
	seccomp_release(ctx);
	if (r == 0) {
		p->hand = mmap(NULL, sizeof(*p->hand), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p->hand == MAP_FAILED) {
			p->hand = NULL;
			r = -errno;
		} else {
			p->hand->parent = getpid();
		}
	}
	if (r < 0)
		snprintf(err, len, "seccomp: cannot build the filter: %s", strerror(-r));
	return r;
}

void fl_sc_plan_fini(struct fl_sc_plan *p)
{
	free(p->prog);
	p->prog = NULL;
	if (p->hand)
		munmap(p->hand, sizeof(*p->hand));
	p->hand = NULL;
	if (p->listener >= 0)
		close(p->listener);
	p->listener = -1;
}

/* ---- (3) handshake ------------------------------------------------------------- */

static void futex_wait(_Atomic uint32_t *w, uint32_t val, long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000l};
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, val, ms >= 0 ? &ts : NULL, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
	syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static long sc_install(unsigned flags, void *prog)
{
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
}

/* "monotonic SECS NSECS\nboottime SECS NSECS\n" without stdio (we are
 * between fork and exec). */
static char *put_offset(char *o, const char *name, int64_t ns)
{
	char digits[24];
	int64_t sec = ns / 1000000000, nsec = ns % 1000000000;
	int n = 0;

	if (nsec < 0) {
		nsec += 1000000000;
		sec--;
	}
	while (*name)
		*o++ = *name++;
	*o++ = ' ';
	if (sec < 0) {
		*o++ = '-';
		sec = -sec;
	}
	do
		digits[n++] = (char)('0' + sec % 10);
	while ((sec /= 10) > 0);
	while (n > 0)
		*o++ = digits[--n];
	*o++ = ' ';
	do
		digits[n++] = (char)('0' + nsec % 10);
	while ((nsec /= 10) > 0);
	while (n > 0)
		*o++ = digits[--n];
	*o++ = '\n';
	return o;
}

/* Enter a new time namespace with the planned offsets: the exec that
 * follows puts the program in it (time_namespaces(7)). 0 or -errno. */
static int timens_enter(const struct fl_sc_plan *p)
{
	char buf[128], *o = buf;
	int fd;
	ssize_t w;

	if (unshare(CLONE_NEWTIME) < 0)
		return -errno;
	o = put_offset(o, "monotonic", p->tn_mono_ns);
	o = put_offset(o, "boottime", p->tn_boot_ns);
	fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	w = write(fd, buf, (size_t)(o - buf));
	if (w < 0)
		w = -errno;
	close(fd);
	return w == (ssize_t)(o - buf) ? 0 : (w < 0 ? (int)w : -EIO);
}

int fl_sc_child(void *arg)
{
	struct fl_sc_plan *p = arg;
	struct fl__sc_hand *h = p->hand;
	unsigned flags = SECCOMP_FILTER_FLAG_NEW_LISTENER |
			 SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
	long fd;
	uint32_t s;
	int r;

	if (p->timens && (r = timens_enter(p)) < 0) {
		h->err = -r;
		atomic_store(&h->state, HS_FAILED);
		futex_wake(&h->state);
		return r;
	}
	if (p->nsys == 0) /* clock rules only: no filter, nothing to take */
		return 0;
	fd = sc_install(flags, p->prog);

	if (fd < 0 && errno == EINVAL) { /* before 5.19: no killable wait */
		flags &= ~SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
		fd = sc_install(flags, p->prog);
	}
	if (fd < 0 && errno == EACCES && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		fd = sc_install(flags, p->prog); /* not privileged: needs NNP */
	if (fd < 0) {
		h->err = errno;
		atomic_store(&h->state, HS_FAILED);
		futex_wake(&h->state);
		return -h->err;
	}
	h->lfd = (int32_t)fd;
	h->flags = flags;
	atomic_store(&h->state, HS_READY);
	futex_wake(&h->state);
	/* wait for pidfd_getfd in the parent (futex and getppid are not
	 * notified); the listener closes with exec (it is CLOEXEC) */
	while ((s = atomic_load(&h->state)) == HS_READY) {
		futex_wait(&h->state, HS_READY, 100);
		if (getppid() != h->parent)
			return -ECHILD;
	}
	return s == HS_TAKEN ? 0 : -EPERM;
}

int fl_sc_take(pid_t pid, void *arg)
{
	struct fl_sc_plan *p = arg;
	struct fl__sc_hand *h = p->hand;
	siginfo_t si;
	uint32_t s;
	int pfd, fd;

	if (p->nsys == 0) /* no filter: the child has nothing to hand over */
		return 0;

	while ((s = atomic_load(&h->state)) == HS_INIT) {
		futex_wait(&h->state, HS_INIT, 100);
		si.si_pid = 0;
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == pid)
			return -ECHILD;
	}
	if (s == HS_FAILED)
		return h->err ? -h->err : -EPERM;
	pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	fd = pfd < 0 ? -1 : (int)syscall(SYS_pidfd_getfd, pfd, h->lfd, 0);
	s = fd < 0 ? HS_REFUSED : HS_TAKEN;
	h->err = fd < 0 ? errno : 0;
	if (pfd >= 0)
		close(pfd);
	atomic_store(&h->state, s);
	futex_wake(&h->state);
	if (fd < 0)
		return -h->err;
	p->listener = fd;
	p->flags = h->flags;
	return 0;
}

/* ---- (4) the in-flight table and answers --------------------------------------- */

#define TAB_MAGIC 0x7466696c6e696673ull

int fl__sc_table_new(struct fl__sc_table **tab)
{
	int fd = memfd_create("faultline-inflight", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, sizeof(struct fl__sc_table)) < 0 ||
	    !(*tab = fl__sc_table_map(fd))) {
		int err = -errno;
		close(fd);
		return err ? err : -ENOMEM;
	}
	(*tab)->magic = TAB_MAGIC;
	return fd;
}

struct fl__sc_table *fl__sc_table_map(int fd)
{
	struct stat st;
	void *m;

	if (fstat(fd, &st) < 0 || st.st_size != sizeof(struct fl__sc_table))
		return NULL;
	m = mmap(NULL, sizeof(struct fl__sc_table), PROT_READ | PROT_WRITE,
		 MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

int fl__sc_send(int lfd, uint64_t id, bool cont, int64_t val, int err)
{
	struct seccomp_notif_resp r = {
		.id = id,
		.val = cont ? 0 : val,
		.error = cont ? 0 : -err,
		.flags = cont ? SECCOMP_USER_NOTIF_FLAG_CONTINUE : 0,
	};

	return ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &r) == 0 ? 0 : -errno;
}

void fl__sc_flush(int lfd, struct fl__sc_table *tab)
{
	for (unsigned i = 0; tab && i < FL_SC_INFLIGHT; i++) {
		struct fl__sc_slot *sl = &tab->slot[i];
		if (sl->state == FL_SC_PENDING)
			fl__sc_send(lfd, sl->id, true, 0, 0);
		else if (sl->state == FL_SC_DONE)
			fl__sc_send(lfd, sl->id, false, sl->val, sl->err);
		sl->state = FL_SC_FREE;
	}
}

/* ---- (5) the keeper -------------------------------------------------------------- */

/* Pass one notification through. */
static void pass_one(int lfd, void *req, size_t reqsz)
{
	memset(req, 0, reqsz);
	if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, req) == 0)
		fl__sc_send(lfd, ((struct seccomp_notif *)req)->id, true, 0, 0);
}

/* A drill attached: give it the listener and the table, and say which ops
 * the filter notifies. Only our own user or root may have them. */
static int hand_over(int conn, int lfd, int tabfd, uint32_t ops)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = {0};
	struct fl__sc_hello tag = {FL_SC_HELLO_MAGIC, ops};
	struct iovec iov = {&tag, sizeof(tag)};
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1,
			   .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	int fds[2] = {lfd, tabfd};

	if (getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cr, &cl) < 0 ||
	    (cr.uid != 0 && cr.uid != geteuid()))
		return -EPERM;
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	return sendmsg(conn, &m, MSG_NOSIGNAL) == (ssize_t)sizeof(tag) ? 0 : -errno;
}

void fl__sc_keeper_loop(int lfd, int tabfd, int ctl_fd, int accept_fd, uint32_t ops,
			pid_t reap, int *status)
{
	sigset_t wake; /* reap: SIGCHLD is blocked but for ppoll */
	struct fl__sc_table *tab = fl__sc_table_map(tabfd);
	struct seccomp_notif_sizes sz = {0};
	size_t reqsz;
	void *req;

	syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz);
	reqsz = sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif
								   : sizeof(struct seccomp_notif);
	req = calloc(1, reqsz);
	sigprocmask(SIG_BLOCK, NULL, &wake);
	sigdelset(&wake, SIGCHLD);
	for (;;) {
		struct pollfd pf[2] = {{lfd, (short)(ctl_fd >= 0 ? 0 : POLLIN), 0},
				       {ctl_fd >= 0 ? ctl_fd : accept_fd, POLLIN, 0}};
		int n = pf[1].fd >= 0 ? 2 : 1;

		if (reap > 0 && waitpid(reap, status, WNOHANG) == reap)
			reap = 0; /* a zombie keeps the filter: reaped, it lets go */
		if (ppoll(pf, (nfds_t)n, NULL, reap > 0 ? &wake : NULL) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[0].revents & (POLLHUP | POLLERR | POLLNVAL))
			break; /* no process uses the filter any more */
		if (ctl_fd >= 0 && n == 2 && pf[1].revents) {
			char b[64];
			if (read(ctl_fd, b, sizeof(b)) > 0)
				continue;
			close(ctl_fd); /* the supervisor is gone: take over */
			ctl_fd = -1;
			fl__sc_flush(lfd, tab);
			continue;
		}
		if (ctl_fd < 0 && n == 2 && (pf[1].revents & POLLIN)) {
			int conn = accept4(accept_fd, NULL, NULL, SOCK_CLOEXEC);
			if (conn >= 0 && hand_over(conn, lfd, tabfd, ops) == 0)
				ctl_fd = conn;
			else if (conn >= 0)
				close(conn);
			continue;
		}
		if (ctl_fd < 0 && (pf[0].revents & POLLIN) && req)
			pass_one(lfd, req, reqsz);
	}
	free(req);
	if (tab)
		munmap(tab, sizeof(*tab));
}

/* Close every fd but the ones in keep[0..n). */
static void close_others(const int *keep, int n)
{
	int lo = 0;

	for (;;) {
		int next = INT_MAX;
		for (int i = 0; i < n; i++)
			if (keep[i] >= lo && keep[i] < next)
				next = keep[i];
		if (next == INT_MAX) {
			syscall(SYS_close_range, (unsigned)lo, ~0u, 0);
			return;
		}
		if (next > lo)
			syscall(SYS_close_range, (unsigned)lo, (unsigned)next - 1, 0);
		lo = next + 1;
	}
}

int fl__sc_keeper_start(int lfd, int tabfd)
{
	int p[2], st;
	pid_t mid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	mid = fork();
	if (mid < 0) {
		int err = -errno;
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (mid == 0) {
		int devnull = open("/dev/null", O_RDWR);
		/* not our child, not in our session: a kill -9 of the
		 * controller or a ^C leaves it serving */
		setsid();
		if (fork() != 0)
			_exit(0);
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		int keep[] = {0, 1, 2, lfd, tabfd, p[0]};
		close_others(keep, 6);
		for (int sig = 1; sig < NSIG; sig++)
			if (sig != SIGKILL && sig != SIGSTOP)
				signal(sig, sig == SIGCHLD ? SIG_DFL : SIG_IGN);
		prctl(PR_SET_NAME, "faultline-keep", 0, 0, 0);
		fl__sc_keeper_loop(lfd, tabfd, p[0], -1, 0, 0, NULL);
		_exit(0);
	}
	close(p[0]);
	while (waitpid(mid, &st, 0) < 0 && errno == EINTR)
		;
	return p[1];
}

int fl_sc_exec_sock_path(const char *ctl, pid_t pid, char *out, size_t len)
{
	int n = snprintf(out, len, "%s.sc.%d", ctl, (int)pid);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}
