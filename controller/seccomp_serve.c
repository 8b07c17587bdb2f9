/*
 * seccomp_serve.c — the supervisor: serves the seccomp listener from the
 * controller's loop (see seccomp_sup.h).
 *
 * Per notification: classify what the call touches without trusting the
 * target — the fd through /proc/<tid>/fd (the kernel's word) and, for
 * sockets, getpeername/getsockname on a pidfd_getfd duplicate; a connect's
 * address and an open's or rename's path read with process_vm_readv and
 * re-checked with SECCOMP_IOCTL_NOTIF_ID_VALID before use — then the shim's
 * decision (fl__decide_at: same rules, counters, nth across processes,
 * PRNG, journal), then act. A call that waits (delay, timeout, late_ack)
 * gets a loop timer; nothing here blocks the loop on the program, so a
 * delayed call in one thread never stalls another.
 *
 * Divisions: (1) reading the target, (2) classification, (3) answers and
 * pending calls, (4) acting, (5) the notification handler, (6) life cycle.
 *
 * What the kernel runs after CONTINUE is what the program asked for at that
 * moment: a program that rewrites its own arguments between our check and
 * the kernel's (another thread) can only escape a fault, never redirect
 * one (the fault's own actions use our duplicate of the fd).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"
#include "seccomp_sup.h"
#include "../shim/shim.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif
#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif

#define IO_CAP (1u << 20) /* most bytes a fault moves for the program */
#define SOCK_CACHE 1024   /* socket inode -> class, open addressing */
#define PIDFD_CACHE 64    /* tid -> pidfd, direct-mapped */

struct pend;

struct fl_sup {
	struct fl_loop *loop;
	struct fl_ctl *ctl;
	int lfd;
	long long lid;
	int tabfd, keeper;      /* keeper: pipe whose closing hands over */
	struct fl__sc_table *tab;
	void *req;
	size_t reqsz;
	bool has_sock, has_path;
	bool gates_due;  /* a watched call happened: check the holds */
	int nfree;
	uint16_t freel[FL_SC_INFLIGHT];
	struct pend *pending;
	struct { uint64_t ino; uint8_t cls; } cache[SOCK_CACHE];
	/* pidfds kept: opening one costs as much as the rest of a
	 * classification. A pidfd names one task (struct pid), never a reused
	 * tid: a dead one fails pidfd_getfd with ESRCH and is opened anew. */
	struct { pid_t tid; int pfd; } pidfds[PIDFD_CACHE];
	struct fl_sup_stats st;
};

/* One call being served. */
struct call {
	uint64_t id;
	pid_t tid;
	int nr;
	uint64_t a[6];
	unsigned slot;
	bool sock;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- (1) reading the target ------------------------------------------------- */

static ssize_t peek(pid_t tid, uint64_t addr, void *buf, size_t n)
{
	struct iovec l = {buf, n}, r = {(void *)(uintptr_t)addr, n};
	return process_vm_readv(tid, &l, 1, &r, 1, 0);
}

static ssize_t poke(pid_t tid, uint64_t addr, const void *buf, size_t n)
{
	struct iovec l = {(void *)buf, n}, r = {(void *)(uintptr_t)addr, n};
	return process_vm_writev(tid, &l, 1, &r, 1, 0);
}

/* A NUL-terminated string, page by page (the next page may be unmapped). */
static int peek_str(pid_t tid, uint64_t addr, char *out, size_t len)
{
	size_t got = 0;

	while (got + 1 < len) {
		size_t chunk = 4096 - ((addr + got) & 4095);
		if (chunk > len - 1 - got)
			chunk = len - 1 - got;
		ssize_t n = peek(tid, addr + got, out + got, chunk);
		if (n <= 0)
			return -EFAULT;
		char *z = memchr(out + got, '\0', (size_t)n);
		if (z)
			return 0;
		got += (size_t)n;
	}
	out[len - 1] = '\0';
	return -ENAMETOOLONG;
}

/* The notification is still the same call of a live task. */
static bool id_valid(const struct fl_sup *s, uint64_t id)
{
	return ioctl(s->lfd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

static pid_t tgid_of(pid_t tid)
{
	char p[64], buf[512];
	int fd, n;
	const char *t;

	snprintf(p, sizeof(p), "/proc/%d/status", (int)tid);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return tid;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return tid;
	buf[n] = '\0';
	t = strstr(buf, "\nTgid:");
	return t ? (pid_t)atoi(t + 6) : tid;
}

static int pidfd_open_tid(pid_t tid)
{
	int pfd = (int)syscall(SYS_pidfd_open, tid, 0);

	if (pfd < 0)
		pfd = (int)syscall(SYS_pidfd_open, tid, PIDFD_THREAD);
	if (pfd < 0)
		pfd = (int)syscall(SYS_pidfd_open, tgid_of(tid), 0);
	return pfd < 0 ? -errno : pfd;
}

/* A duplicate of the target's fd (pidfd_getfd), or -errno. */
static int dup_fd(struct fl_sup *s, pid_t tid, int fd)
{
	unsigned i = (unsigned)tid % PIDFD_CACHE;
	int r;

	for (int tries = 0; tries < 2; tries++) {
		if (s->pidfds[i].tid != tid || s->pidfds[i].pfd < 0) {
			int pfd = pidfd_open_tid(tid);

			if (pfd < 0)
				return pfd;
			if (s->pidfds[i].pfd >= 0)
				close(s->pidfds[i].pfd);
			s->pidfds[i].tid = tid;
			s->pidfds[i].pfd = pfd;
		}
		r = (int)syscall(SYS_pidfd_getfd, s->pidfds[i].pfd, fd, 0);
		if (r >= 0)
			return r;
		r = -errno;
		if (r != -ESRCH)
			return r;
		/* the task we kept died and its tid came back: open anew */
		close(s->pidfds[i].pfd);
		s->pidfds[i].pfd = -1;
	}
	return r;
}

/* ---- (2) classification ---------------------------------------------------------- */

/* The shim's rule (shim/core.c classify_sock), on our duplicate. *final:
 * the class cannot change any more (connected stream, listener). */
static unsigned sock_class(const struct fl_ctl *c, int fd, bool *final)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss), ol = sizeof(int);
	int type = 0, acc = 0;
	unsigned t = 0;

	*final = false;
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ol) != 0)
		return 0;
	ol = sizeof(acc);
	getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &ol);
	if (!acc && getpeername(fd, (struct sockaddr *)&ss, &len) == 0) {
		t = fl__match_sockaddr(c, (struct sockaddr *)&ss, len, type, false);
		*final = type == SOCK_STREAM;
	}
	len = sizeof(ss);
	if (!t && getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		t = fl__match_sockaddr(c, (struct sockaddr *)&ss, len, type, acc != 0);
	if (acc)
		*final = true;
	return t;
}

static unsigned cache_slot(uint64_t ino)
{
	return (unsigned)((ino * 0x9e3779b97f4a7c15ull) >> 54) & (SOCK_CACHE - 1);
}

/* d: our duplicate of the target's fd, or -1 to make one if needed. */
static unsigned classify_sock_ino(struct fl_sup *s, struct call *k, int fd, uint64_t ino,
				  int d)
{
	unsigned i = cache_slot(ino), t;
	bool final, own = d < 0;

	if (s->cache[i].ino == ino)
		return s->cache[i].cls;
	if (own && (d = dup_fd(s, k->tid, fd)) < 0)
		return 0;
	t = sock_class(s->ctl, d, &final);
	if (own)
		close(d);
	if (final) {
		s->cache[i].ino = ino;
		s->cache[i].cls = (uint8_t)t;
	}
	return t;
}

/* Class of the target's fd: 0 = not a target. Sets k->sock. */
static unsigned classify_fd(struct fl_sup *s, struct call *k, int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	k->sock = false;
	if (!s->has_path) {
		/* no path targets: what the fd is (fstat of our duplicate) is
		 * all we need, at half a /proc readlink's cost */
		struct stat st;
		unsigned t = 0;
		int d = dup_fd(s, k->tid, fd);

		if (d < 0)
			return 0;
		if (fstat(d, &st) == 0 && S_ISSOCK(st.st_mode)) {
			k->sock = true;
			t = s->has_sock ? classify_sock_ino(s, k, fd, st.st_ino, d) : 0;
		}
		close(d);
		return t;
	}
	snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)k->tid, fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	if (strncmp(path, "socket:[", 8) == 0) {
		k->sock = true;
		return s->has_sock ? classify_sock_ino(s, k, fd, strtoull(path + 8, NULL, 10), -1) : 0;
	}
	if (path[0] != '/' || !s->has_path)
		return 0;
	if (n > 10 && strcmp(path + n - 10, " (deleted)") == 0)
		path[n - 10] = '\0';
	return fl__match_path(s->ctl, path);
}

/* The absolute path the call names (dirfd-relative paths joined). */
static int call_path(struct call *k, int dirfd, uint64_t addr, char *out, size_t len)
{
	char rel[PATH_MAX], link[64];
	ssize_t n;

	if (peek_str(k->tid, addr, rel, sizeof(rel)) < 0)
		return -EFAULT;
	if (rel[0] == '/')
		return snprintf(out, len, "%s", rel) < (int)len ? 0 : -ENAMETOOLONG;
	if (dirfd == AT_FDCWD)
		snprintf(link, sizeof(link), "/proc/%d/cwd", (int)k->tid);
	else
		snprintf(link, sizeof(link), "/proc/%d/fd/%d", (int)k->tid, dirfd);
	n = readlink(link, out, len - 1);
	if (n <= 0)
		return -ENOENT;
	out[n] = '\0';
	return snprintf(out + n, len - (size_t)n, "/%s", rel) < (int)(len - (size_t)n) ? 0 : -ENAMETOOLONG;
}

static unsigned classify_path(struct fl_sup *s, struct call *k, int dirfd, uint64_t addr)
{
	char path[PATH_MAX];

	if (!s->has_path || call_path(k, dirfd, addr, path, sizeof(path)) < 0)
		return 0;
	return id_valid(s, k->id) ? fl__match_path(s->ctl, path) : 0;
}

static unsigned classify_connect(struct fl_sup *s, struct call *k)
{
	struct sockaddr_storage ss;
	size_t len = k->a[2] < sizeof(ss) ? (size_t)k->a[2] : sizeof(ss);
	int type = 0, d;
	socklen_t ol = sizeof(type);

	k->sock = true;
	if (!s->has_sock || peek(k->tid, k->a[1], &ss, len) != (ssize_t)len)
		return 0;
	d = dup_fd(s, k->tid, (int)k->a[0]);
	if (d < 0)
		return 0;
	getsockopt(d, SOL_SOCKET, SO_TYPE, &type, &ol);
	close(d);
	if (!id_valid(s, k->id))
		return 0;
	return fl__match_sockaddr(s->ctl, (struct sockaddr *)&ss, (socklen_t)len, type, false);
}

/* (target, op) of the call; 0 = none. */
static unsigned classify(struct fl_sup *s, struct call *k, unsigned *op)
{
	unsigned t;

	switch (k->nr) {
	case SYS_connect:
		*op = FL_OP_CONNECT;
		return classify_connect(s, k);
	case SYS_accept:
	case SYS_accept4:
		*op = FL_OP_ACCEPT;
		return classify_fd(s, k, (int)k->a[0]);
	case SYS_read: case SYS_readv: case SYS_recvfrom: case SYS_recvmsg:
	case SYS_pread64: case SYS_preadv:
		t = classify_fd(s, k, (int)k->a[0]);
		*op = k->sock ? FL_OP_RECV : FL_OP_READ;
		return t;
	case SYS_write: case SYS_writev: case SYS_sendto: case SYS_sendmsg:
	case SYS_pwrite64: case SYS_pwritev:
		t = classify_fd(s, k, (int)k->a[0]);
		*op = k->sock ? FL_OP_SEND : FL_OP_WRITE;
		return t;
	case SYS_fsync:
	case SYS_fdatasync:
		*op = FL_OP_FSYNC;
		t = classify_fd(s, k, (int)k->a[0]);
		return k->sock ? 0 : t;
	case SYS_close:
		*op = FL_OP_CLOSE;
		return classify_fd(s, k, (int)k->a[0]);
	case SYS_open:
	case SYS_creat:
		*op = FL_OP_OPEN;
		return classify_path(s, k, AT_FDCWD, k->a[0]);
	case SYS_openat:
		*op = FL_OP_OPEN;
		return classify_path(s, k, (int)k->a[0], k->a[1]);
	case SYS_rename:
		*op = FL_OP_RENAME;
		t = classify_path(s, k, AT_FDCWD, k->a[0]);
		return t ? t : classify_path(s, k, AT_FDCWD, k->a[1]);
	case SYS_renameat:
	case SYS_renameat2:
		*op = FL_OP_RENAME;
		t = classify_path(s, k, (int)k->a[0], k->a[1]);
		return t ? t : classify_path(s, k, (int)k->a[2], k->a[3]);
	}
	return 0;
}

/* ---- (3) answers and pending calls ----------------------------------------------- */

struct pend {
	struct fl_sup *s;
	struct pend *next, **pprev;
	struct call k;
	struct fl_verdict v;
	pid_t pid;
	long long timer, fdwait;
	int dup;
	bool cont, outcome;
	int64_t val;
	int err;
	int64_t value_ns;
	int64_t t0; /* mono ns the wait began (0: no wait) */
	bool hold;  /* waits for its gate (v.until_*), the timer is max_ms */
	int hold_kind; /* FL_J_GATE_OPEN / FL_J_GATE_TIMEOUT when it ends */
	size_t want; /* a read that waits for data: how many bytes */
};

static void slot_free(struct fl_sup *s, unsigned slot)
{
	if (slot >= FL_SC_INFLIGHT)
		return;
	s->tab->slot[slot].state = FL_SC_FREE;
	s->freel[s->nfree++] = (uint16_t)slot;
}

/* Answer and free the slot. */
static void answer(struct fl_sup *s, const struct call *k, bool cont, int64_t val, int err)
{
	if (fl__sc_send(s->lfd, k->id, cont, val, err) == -ENOENT)
		s->st.gone++;
	slot_free(s, k->slot);
}

static void journal(struct fl_sup *s, const struct fl_verdict *v, pid_t pid,
		    pid_t tid, int kind, int64_t ret, int err, int64_t value_ns)
{
	struct fl_jrec r = {0};

	r.t_ns = kind == FL_J_OUTCOME ? mono_ns() - s->ctl->hdr.epoch_mono_ns : v->t_run;
	r.pid = pid;
	r.tid = tid;
	r.rule = (uint16_t)v->rule;
	r.target = v->target;
	r.op = v->op;
	r.fault = v->fault;
	r.kind = (uint8_t)kind;
	r.nth = v->nth;
	r.ret = ret;
	r.err = err;
	r.value_ns = value_ns;
	r.tick = (uint32_t)v->tick;
	fl__journal_push(s->ctl, &r);
}

/* The faulted call has happened (answered: its result is the program's now,
 * or the kernel makes it right after CONTINUE): gates waiting on it open,
 * as the shim's act layer does after a fault (shim/act.c happened()). */
static void gates_check(struct fl_sup *s);

static void happened(struct fl_sup *s, const struct fl_verdict *v)
{
	if (v->nth && v->target < FL_MAX_TARGETS && FL_WATCHED(s->ctl, v->target, v->op)) {
		fl__passed_at(s->ctl, v->target, v->op, v->nth);
		s->gates_due = true;
	}
}

static void pend_done(struct pend *p)
{
	struct fl_sup *s = p->s;

	if (p->timer)
		fl_loop_timer_del(s->loop, p->timer);
	if (p->fdwait)
		fl_loop_fd_del(s->loop, p->fdwait);
	if (p->dup >= 0)
		close(p->dup);
	answer(s, &p->k, p->cont, p->val, p->err);
	happened(s, &p->v);
	if (p->t0) /* the real time waited (shorter after an abort) */
		p->value_ns = mono_ns() - p->t0;
	if (p->hold) /* a hold ends with gate_open or gate_timeout, as in the shim */
		journal(s, &p->v, p->pid, p->k.tid, p->hold_kind, p->cont ? 0 : (p->err ? -1 : p->val),
			p->cont ? 0 : p->err, p->value_ns);
	else if (p->outcome)
		journal(s, &p->v, p->pid, p->k.tid, FL_J_OUTCOME, p->cont ? 0 : (p->err ? -1 : p->val),
			p->cont ? 0 : p->err, p->value_ns);
	if ((*p->pprev = p->next))
		p->next->pprev = p->pprev;
	free(p);
}

static void gates_run(struct fl_sup *s);

static void on_due(struct fl_loop *l, long long id, void *arg)
{
	struct pend *p = arg;
	struct fl_sup *s = p->s;

	p->timer = 0;
	pend_done(p); /* a hold: max_ms passed (hold_kind GATE_TIMEOUT) */
	gates_run(s);
}

static bool gate_open(const struct fl_sup *s, const struct pend *p)
{
	const struct fl_verdict *v = &p->v;

	if (v->until_target == 0 || v->until_target >= FL_MAX_TARGETS ||
	    v->until_op >= FL_OP__COUNT)
		return true; /* a gate on nothing: released at once */
	return atomic_load(FL_PASSED(s->ctl, v->until_target, v->until_op)) >= v->until_nth;
}

/* Release every hold whose gate has opened. The gate words move when a
 * call happens: here (happened(), below) for every call the supervisor
 * serves; a gate opened by a shim process of the same drill is seen at
 * the next notification. */
static void gates_check(struct fl_sup *s)
{
	struct pend *p = s->pending, *next;

	for (; p; p = next) {
		next = p->next;
		if (p->hold && p->timer && gate_open(s, p)) {
			p->hold_kind = FL_J_GATE_OPEN;
			pend_done(p); /* frees p only; may set gates_due again */
		}
	}
}

/* After anything that may have made a call happen. */
static void gates_run(struct fl_sup *s)
{
	do {
		s->gates_due = false;
		gates_check(s);
	} while (s->gates_due);
}

static struct pend *pend_new(struct fl_sup *s, const struct call *k,
			     const struct fl_verdict *v, pid_t pid)
{
	struct pend *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->s = s;
	p->k = *k;
	p->v = *v;
	p->pid = pid;
	p->dup = -1;
	p->cont = true;
	if ((p->next = s->pending))
		p->next->pprev = &p->next;
	s->pending = p;
	p->pprev = &s->pending;
	return p;
}

/* Answer p after ns (journaling its fault record now: a program that dies
 * waiting still leaves it). */
static void pend_after(struct pend *p, int64_t ns, int64_t ret, int err)
{
	journal(p->s, &p->v, p->pid, p->k.tid, FL_J_FAULT, ret, err, ns);
	p->outcome = !p->cont;
	p->value_ns = ns;
	p->t0 = mono_ns();
	p->timer = fl_loop_timer_add(p->s->loop, ns, 0, on_due, p);
	if (p->timer < 0) {
		p->timer = 0;
		pend_done(p);
	}
}

/* The result the keeper must give if we die now (performed already). */
static void mark_done(struct fl_sup *s, unsigned slot, int64_t val, int err)
{
	if (slot >= FL_SC_INFLIGHT)
		return;
	s->tab->slot[slot].val = val;
	s->tab->slot[slot].err = err;
	s->tab->slot[slot].state = FL_SC_DONE;
}

/* ---- (4) acting ---------------------------------------------------------------------- */

/* Gather up to max bytes the program is writing. */
static ssize_t gather(const struct call *k, char *buf, size_t max)
{
	struct iovec iov[64];
	size_t n = 0, cnt;
	uint64_t iovp;

	switch (k->nr) {
	case SYS_write: case SYS_sendto: case SYS_pwrite64:
		n = k->a[2] < max ? (size_t)k->a[2] : max;
		return n == 0 ? 0 : peek(k->tid, k->a[1], buf, n);
	case SYS_sendmsg: {
		struct msghdr m;
		if (peek(k->tid, k->a[1], &m, sizeof(m)) != (ssize_t)sizeof(m))
			return -EFAULT;
		iovp = (uint64_t)(uintptr_t)m.msg_iov;
		cnt = m.msg_iovlen;
		break;
	}
	default: /* writev, pwritev */
		iovp = k->a[1];
		cnt = (size_t)k->a[2];
	}
	if (cnt > 64)
		cnt = 64;
	if (cnt && peek(k->tid, iovp, iov, cnt * sizeof(iov[0])) != (ssize_t)(cnt * sizeof(iov[0])))
		return -EFAULT;
	for (size_t i = 0; i < cnt && n < max; i++) {
		size_t m = iov[i].iov_len < max - n ? iov[i].iov_len : max - n;
		ssize_t r = m ? peek(k->tid, (uint64_t)(uintptr_t)iov[i].iov_base, buf + n, m) : 0;
		if (r < 0)
			return n ? (ssize_t)n : -EFAULT;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

/* Perform the program's write (at most max bytes) on our duplicate. */
static int64_t do_write(struct call *k, int d, size_t max, int *err)
{
	char *buf = malloc(max ? max : 1);
	ssize_t n = buf ? gather(k, buf, max) : -ENOMEM, r;

	*err = 0;
	if (n < 0) {
		free(buf);
		*err = (int)-n;
		return -1;
	}
	if (k->sock)
		r = send(d, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL |
			 (k->nr == SYS_sendto || k->nr == SYS_sendmsg ? (int)(k->a[k->nr == SYS_sendto ? 3 : 2] & ~(uint64_t)MSG_DONTWAIT) : 0));
	else if (k->nr == SYS_pwrite64)
		r = pwrite(d, buf, (size_t)n, (off_t)k->a[3]);
	else
		r = write(d, buf, (size_t)n);
	*err = r < 0 ? errno : 0;
	free(buf);
	return r;
}

/* Where a read delivers: the first buffer. */
static int read_dest(const struct call *k, uint64_t *addr, size_t *len)
{
	struct iovec iov;

	if (k->nr == SYS_read || k->nr == SYS_recvfrom || k->nr == SYS_pread64) {
		*addr = k->a[1];
		*len = (size_t)k->a[2];
		return 0;
	}
	uint64_t iovp = k->a[1];
	if (k->nr == SYS_recvmsg) {
		struct msghdr m;
		if (peek(k->tid, k->a[1], &m, sizeof(m)) != (ssize_t)sizeof(m))
			return -EFAULT;
		iovp = (uint64_t)(uintptr_t)m.msg_iov;
		if (!m.msg_iovlen)
			return -EINVAL;
	} else if (!k->a[2]) {
		return -EINVAL;
	}
	if (peek(k->tid, iovp, &iov, sizeof(iov)) != (ssize_t)sizeof(iov))
		return -EFAULT;
	*addr = (uint64_t)(uintptr_t)iov.iov_base;
	*len = iov.iov_len;
	return 0;
}

/* Read up to want bytes on our duplicate into the program's buffer.
 * Returns the count, -EAGAIN when a socket has nothing yet, or -errno. */
static int64_t do_read(struct call *k, int d, size_t want)
{
	uint64_t addr;
	size_t len;
	ssize_t r;
	char *buf;
	int err = read_dest(k, &addr, &len);

	if (err < 0)
		return err;
	if (want > len)
		want = len;
	buf = malloc(want ? want : 1);
	if (!buf)
		return -ENOMEM;
	if (k->sock)
		r = recv(d, buf, want, MSG_DONTWAIT);
	else if (k->nr == SYS_pread64)
		r = pread(d, buf, want, (off_t)k->a[3]);
	else
		r = read(d, buf, want);
	if (r < 0) {
		err = -errno;
		free(buf);
		return err;
	}
	if (r > 0 && poke(k->tid, addr, buf, (size_t)r) != r) {
		free(buf);
		return -EFAULT;
	}
	free(buf);
	if (k->nr == SYS_recvmsg) { /* no address, no control data, no flags */
		struct msghdr m;
		if (peek(k->tid, k->a[1], &m, sizeof(m)) == (ssize_t)sizeof(m)) {
			m.msg_namelen = 0;
			m.msg_controllen = 0;
			m.msg_flags = 0;
			poke(k->tid, k->a[1], &m, sizeof(m));
		}
	}
	return r;
}

static bool fd_nonblock(int d)
{
	int fl = fcntl(d, F_GETFL);
	return fl >= 0 && (fl & O_NONBLOCK);
}

static bool is_read(int nr)
{
	return nr == SYS_read || nr == SYS_readv || nr == SYS_recvfrom ||
	       nr == SYS_recvmsg || nr == SYS_pread64 || nr == SYS_preadv;
}

static void finish_read(struct pend *p, int64_t r);

static void on_readable(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct pend *p = arg;
	struct fl_sup *s = p->s;
	int64_t r = do_read(&p->k, p->dup, p->want);

	if (r == -EAGAIN && !(revents & (POLLHUP | POLLERR)))
		return;
	fl_loop_fd_del(l, p->fdwait);
	p->fdwait = 0;
	finish_read(p, r);
	gates_run(s);
}

/* The read is done (r = count or -errno): answer now or after the delay. */
static void finish_read(struct pend *p, int64_t r)
{
	int64_t ns = p->v.fault == FL_FAULT_LATE_ACK ? fl__verdict_ns(&p->v) : 0;

	p->cont = false;
	p->val = r < 0 ? -1 : r;
	p->err = r < 0 ? (int)-r : 0;
	mark_done(p->s, p->k.slot, p->val, p->err);
	if (ns > 0) {
		pend_after(p, ns, p->val, p->err);
		return;
	}
	journal(p->s, &p->v, p->pid, p->k.tid, FL_J_FAULT, p->val, p->err, 0);
	pend_done(p);
}

/* short / late_ack on a read: read on our duplicate, waiting in the loop
 * for data if the program's socket is blocking. */
static void act_read(struct pend *p, size_t want)
{
	int64_t r;

	p->dup = dup_fd(p->s, p->k.tid, (int)p->k.a[0]);
	if (p->dup < 0) {
		pend_done(p); /* CONTINUE: the fd is gone, the kernel says EBADF */
		return;
	}
	p->want = want;
	r = do_read(&p->k, p->dup, want);
	if (r == -EAGAIN && p->k.sock && !fd_nonblock(p->dup)) {
		p->fdwait = fl_loop_fd_add(p->s->loop, p->dup, on_readable, p);
		if (p->fdwait > 0) {
			journal(p->s, &p->v, p->pid, p->k.tid, FL_J_FAULT, 0, 0, 0);
			p->outcome = true;
			return;
		}
		p->fdwait = 0;
	}
	finish_read(p, r);
}

/* late_ack / short on a write, late_ack on fsync: performed now on our
 * duplicate, answered after ns. */
static void act_perform(struct pend *p, size_t max, int64_t ns)
{
	int64_t r;
	int err = 0;

	p->dup = dup_fd(p->s, p->k.tid, (int)p->k.a[0]);
	if (p->dup < 0) {
		pend_done(p);
		return;
	}
	if (p->k.nr == SYS_fsync || p->k.nr == SYS_fdatasync) {
		r = p->k.nr == SYS_fsync ? fsync(p->dup) : fdatasync(p->dup);
		err = r < 0 ? errno : 0;
	} else {
		r = do_write(&p->k, p->dup, max, &err);
		if (r < 0 && err == EAGAIN && !fd_nonblock(p->dup)) {
			/* a blocking socket's buffer is full: the kernel
			 * makes the call after the delay instead */
			pend_after(p, ns, 0, 0);
			return;
		}
	}
	p->cont = false;
	p->val = r;
	p->err = err;
	mark_done(p->s, p->k.slot, r, err);
	if (ns > 0) {
		pend_after(p, ns, r, err);
		return;
	}
	journal(p->s, &p->v, p->pid, p->k.tid, FL_J_FAULT, r, err, 0);
	pend_done(p);
}

static void reset_conn(int d)
{
	struct linger lg = {1, 0};
	struct sockaddr sa = {.sa_family = AF_UNSPEC};

	/* SO_LINGER {1, 0} + disconnect: the kernel sends a RST (shim/core.c) */
	setsockopt(d, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	connect(d, &sa, sizeof(sa));
}

static bool performs(const struct call *k)
{
	return k->nr == SYS_fsync || k->nr == SYS_fdatasync || k->nr == SYS_write ||
	       k->nr == SYS_writev || k->nr == SYS_sendto || k->nr == SYS_sendmsg ||
	       k->nr == SYS_pwrite64 || k->nr == SYS_pwritev;
}

static void act(struct fl_sup *s, struct call *k, struct fl_verdict *v)
{
	pid_t pid = tgid_of(k->tid);
	int64_t ns = fl__verdict_ns(v);
	struct pend *p;
	int d;

	s->st.faults++;
	switch (v->fault) {
	case FL_FAULT_ERROR:
		if (v->op == FL_OP_FSYNC && (d = dup_fd(s, k->tid, (int)k->a[0])) >= 0) {
			fsync(d); /* an fsync error still syncs, as in the shim */
			close(d);
		}
		answer(s, k, false, -1, v->err);
		happened(s, v);
		journal(s, v, pid, k->tid, FL_J_FAULT, -1, v->err, 0);
		return;
	case FL_FAULT_RESET:
		if ((d = dup_fd(s, k->tid, (int)k->a[0])) >= 0) {
			reset_conn(d);
			close(d);
		}
		answer(s, k, false, -1, ECONNRESET);
		happened(s, v);
		journal(s, v, pid, k->tid, FL_J_FAULT, -1, ECONNRESET, 0);
		return;
	}
	p = pend_new(s, k, v, pid);
	if (!p) {
		answer(s, k, true, 0, 0);
		happened(s, v);
		return;
	}
	switch (v->fault) {
	case FL_FAULT_TIMEOUT:
		p->cont = false;
		p->val = -1;
		p->err = v->op == FL_OP_CONNECT ? ETIMEDOUT : EAGAIN;
		pend_after(p, ns, -1, p->err);
		return;
	case FL_FAULT_SHORT:
		if (is_read(k->nr))
			act_read(p, (size_t)(v->bytes > 0 ? v->bytes : 0));
		else
			act_perform(p, (size_t)(v->bytes > 0 ? v->bytes : 0), 0);
		return;
	case FL_FAULT_HOLD:
		/* the gate's max_ms is the timer; performed first where the
		 * effect must not be lost (send, write, fsync: ops.h after) */
		p->hold = true;
		p->hold_kind = FL_J_GATE_TIMEOUT;
		if (performs(k)) {
			act_perform(p, IO_CAP, v->until_max_ns);
			return;
		}
		pend_after(p, v->until_max_ns, 0, 0);
		return;
	case FL_FAULT_LATE_ACK:
		if (is_read(k->nr) && ns > 0) {
			act_read(p, IO_CAP);
			return;
		}
		if (performs(k)) {
			act_perform(p, IO_CAP, ns);
			return;
		}
		break; /* connect, accept, open, rename, close: a delay first */
	}
	pend_after(p, ns, 0, 0); /* delay: CONTINUE when due */
}

/* ---- (5) the notification handler ------------------------------------------------------- */

/* A non-blocking receive or accept that would find nothing: not counted, as
 * in the shim (shim/io.c nothing_to_read, shim/net.c), so nth does not
 * depend on how often a program polls (Go reads every socket non-blocking
 * first, then parks in its netpoller). True only when poll(2) on our
 * duplicate says nothing at all (no data, no EOF, no error). */
static bool nothing_yet(struct fl_sup *s, const struct call *k, unsigned op)
{
	int d = dup_fd(s, k->tid, (int)k->a[0]), mf = 0;
	struct pollfd pf;
	bool empty;

	if (d < 0)
		return false;
	if (k->nr == SYS_recvfrom)
		mf = (int)k->a[3];
	else if (k->nr == SYS_recvmsg)
		mf = (int)k->a[2];
	pf.fd = d;
	pf.events = POLLIN;
	pf.revents = 0;
	empty = ((mf & MSG_DONTWAIT) || fd_nonblock(d)) &&
		poll(&pf, 1, 0) == 0;
	close(d);
	return empty;
}

static void serve(struct fl_sup *s, const struct seccomp_notif *n)
{
	struct call k = {.id = n->id, .tid = (pid_t)n->pid, .nr = n->data.nr,
			 .slot = FL_SC_INFLIGHT};
	struct fl_verdict v;
	unsigned t, op = 0;

	memcpy(k.a, n->data.args, sizeof(k.a));
	if (s->nfree == 0) { /* the keeper could not answer it: pass now */
		s->st.full++;
		fl__sc_send(s->lfd, k.id, true, 0, 0);
		return;
	}
	k.slot = s->freel[--s->nfree];
	s->tab->slot[k.slot].id = k.id;
	s->tab->slot[k.slot].state = FL_SC_PENDING;
	t = classify(s, &k, &op);
	v.nth = 0;
	if (t && k.sock && (op == FL_OP_RECV || op == FL_OP_ACCEPT) && nothing_yet(s, &k, op)) {
		/* answered EAGAIN here, not CONTINUE: data arriving between our
		 * look and the kernel's call would make an uncounted read
		 * succeed. The program polls again (an edge-triggered epoll gets
		 * the arrival's edge: it came after our look) */
		answer(s, &k, false, -1, EAGAIN);
		return;
	}
	if (!t || t >= FL_MAX_TARGETS || !fl__decide_at(s->ctl, t, op, mono_ns(), &v) ||
	    v.fault == FL_FAULT_NONE) {
		answer(s, &k, true, 0, 0);
		if (v.nth) /* gates open when a call has happened (shim/act.c) */
			fl__passed_at(s->ctl, t, op, v.nth);
		return;
	}
	act(s, &k, &v);
}

/* Notifications taken per wake-up of the loop, at most: bounds how long
 * timers and other fds wait behind a busy target. */
#define FL__SC_DRAIN 16

static void on_notify(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct fl_sup *s = arg;

	if (revents & POLLIN) {
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		int n = 0;

		while (memset(s->req, 0, s->reqsz),
		       ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, s->req) == 0) {
			s->st.notified++;
			serve(s, s->req);
			gates_run(s); /* also sees gates a shim process opened */
			/* The task we answered ran on (SYNC_WAKE_UP: on this CPU,
			 * before us) and its next call is usually waiting already:
			 * take it now, without a trip through the loop (re-arm,
			 * wait, task work). poll(2) first: RECV would block on an
			 * empty queue. */
			pf.revents = 0;
			if (++n >= FL__SC_DRAIN || poll(&pf, 1, 0) != 1 || !(pf.revents & POLLIN))
				return;
		}
		if (n > 0)
			return;
	}
	if (revents & (POLLHUP | POLLERR | POLLNVAL)) { /* no process left */
		fl_loop_fd_del(l, s->lid);
		s->lid = 0;
	}
}

/* ---- (6) life cycle ----------------------------------------------------------------------- */

static void targets_present(struct fl_sup *s)
{
	for (unsigned i = 1; i < s->ctl->hdr.ntargets && i < FL_MAX_TARGETS; i++) {
		unsigned kd = s->ctl->targets[i].kind;
		s->has_sock |= kd == FL_TK_TCP || kd == FL_TK_UDP || kd == FL_TK_UNIX;
		s->has_path |= kd == FL_TK_PATH;
	}
}

int fl_sup_new(struct fl_loop *l, struct fl_ctl *c, int lfd, int tabfd,
	       struct fl_sup **out)
{
	struct seccomp_notif_sizes sz = {0};
	struct fl_sup *s = calloc(1, sizeof(*s));
	int err = -ENOMEM;

	if (!s) {
		close(lfd);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < PIDFD_CACHE; i++)
		s->pidfds[i].pfd = -1;
	s->loop = l;
	s->ctl = c;
	s->lfd = lfd;
	s->keeper = -1;
	s->tabfd = tabfd;
	if (s->tabfd < 0 && (s->tabfd = fl__sc_table_new(&s->tab)) < 0) {
		err = s->tabfd;
		goto fail;
	}
	if (!s->tab && !(s->tab = fl__sc_table_map(s->tabfd)))
		goto fail;
	if (tabfd < 0 && (s->keeper = fl__sc_keeper_start(lfd, s->tabfd)) < 0) {
		err = s->keeper;
		goto fail;
	}
	syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz);
	s->reqsz = sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif
								  : sizeof(struct seccomp_notif);
	if (!(s->req = calloc(1, s->reqsz)))
		goto fail;
	for (int i = FL_SC_INFLIGHT - 1; i >= 0; i--)
		s->freel[s->nfree++] = (uint16_t)i;
	targets_present(s);
	/* the woken program runs on our CPU at once (6.6+); optional */
	if (!getenv("FAULTLINE_SECCOMP_NO_SYNC_WAKE"))
		s->st.sync_wake = ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
					SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) == 0;
	s->lid = fl_loop_fd_add(l, lfd, on_notify, s);
	if (s->lid < 0) {
		err = (int)s->lid;
		s->lid = 0;
		goto fail;
	}
	*out = s;
	return 0;
fail:
	fl_sup__free(s);
	return err;
}

void fl_sup_hold(struct fl_sup *s, int conn)
{
	if (s->keeper >= 0)
		close(s->keeper);
	s->keeper = conn;
}

void fl_sup_release(struct fl_sup *s)
{
	while (s && s->pending) {
		struct pend *p = s->pending;
		/* nothing performed for it yet (a timeout, a read that never got
		 * data): the real call is made, as the shim does at an abort;
		 * what was performed (late_ack, short) gets its result */
		if (p->k.slot >= FL_SC_INFLIGHT || s->tab->slot[p->k.slot].state != FL_SC_DONE)
			p->cont = true;
		pend_done(p);
	}
}

void fl_sup_stats(const struct fl_sup *s, struct fl_sup_stats *st)
{
	*st = s ? s->st : (struct fl_sup_stats){0};
}

void fl_sup__free(struct fl_sup *s)
{
	if (!s)
		return;
	fl_sup_release(s);
	if (s->lid)
		fl_loop_fd_del(s->loop, s->lid);
	close(s->lfd);
	if (s->tab)
		munmap(s->tab, sizeof(*s->tab));
	if (s->tabfd >= 0)
		close(s->tabfd);
	if (s->keeper >= 0)
		close(s->keeper); /* the keeper passes everything from now on */
	for (unsigned i = 0; i < PIDFD_CACHE; i++)
		if (s->pidfds[i].pfd >= 0)
			close(s->pidfds[i].pfd);
	free(s->req);
	free(s);
}
