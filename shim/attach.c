/*
 * attach.c — getting the control block: at start (the constructor calls
 * fl__attach_init), lazily from the check points (fl__attach_poll), and
 * again when a new drill replaces the socket at FAULTLINE_CTL.
 *
 * The controller serves a unix socket there (protocol in faultline/ctl.h):
 * we connect, check who serves it, ask, and get two sealed memfds — the plan
 * (mapped read-only: the program cannot change what is injected) and the
 * shared area (counters and journal). Nothing is a file we could be handed
 * truncated, nothing trusts a path's mode alone.
 *
 * Invariants
 *  - Never fails the program: anything wrong means pass-through (fail
 *    open), said once in the journal when there is one to say it in.
 *  - Waits at most ATTACH_WAIT_MS for an answer, and after an unanswered
 *    try backs off (1 s doubling to 16 s), so a stopped controller cannot
 *    slow a program down by more than a few per cent. A dead controller's
 *    socket refuses at once.
 *  - Raw system calls only (our own interposers never see our socket), and
 *    every fd we get is closed before we return.
 *  - errno is preserved.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "shim.h"

#define SYS(...) syscall(__VA_ARGS__)

struct fl_ctl *_Atomic fl__ctl;
_Atomic int fl__mode;
_Atomic uint32_t fl__has;
static char ctl_path[PATH_MAX];
static _Atomic int64_t next_check_ns;
static dev_t ctl_dev;
static ino_t ctl_ino;
static atomic_flag attach_lock = ATOMIC_FLAG_INIT;

#define ATTACH_CHECK_NS 20000000ll /* look for a new block at most every 20 ms */

static uint32_t block_has(const struct fl_ctl *c)
{
	uint32_t has = 0;
	for (unsigned i = 1; i < c->hdr.ntargets && i < FL_MAX_TARGETS; i++) {
		switch (c->targets[i].kind) {
		case FL_TK_PATH: has |= FL_HAS_PATH; break;
		case FL_TK_HOST: has |= FL_HAS_HOST; break;
		case FL_TK_TCP: case FL_TK_UDP: case FL_TK_UNIX: has |= FL_HAS_SOCK; break;
		}
	}
	for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++)
		if (c->rules[i].flags & FL_RF_CLOCK)
			has |= FL_HAS_CLOCK;
	return has;
}

/* ---- getting the block from the controller's socket ---------------------- */

#define ATTACH_WAIT_MS 100          /* for the controller's answer, per try */
#define BACKOFF_MIN_NS 1000000000ll /* after an unanswered try: 1 s, doubling */
#define BACKOFF_MAX_NS 16000000000ll

static int64_t backoff_ns;
static dev_t refused_dev; /* a socket whose plan we refused: not again */
static ino_t refused_ino;

static bool peer_ok(int fd)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (SYS(SYS_getsockopt, fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
	    len != sizeof(cr))
		return false;
	return cr.uid == 0 || cr.uid == geteuid();
}

/* Connect, authenticate the server, ask for the block. Returns the
 * connected socket, or -1 (*unanswered = true when it did not answer in
 * time: the caller backs off). */
static int ask(bool *unanswered)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(ctl_path);
	char req = FL_REQ_ATTACH;
	struct pollfd pfd;
	int fd;

	if (n >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, ctl_path, n + 1);
	fd = (int)SYS(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A unix stream connect never waits: it is queued or refused. */
	if (SYS(SYS_connect, fd, &sa, sizeof(sa)) != 0 || !peer_ok(fd) ||
	    SYS(SYS_sendto, fd, &req, 1, MSG_DONTWAIT | MSG_NOSIGNAL, NULL, 0) != 1)
		goto fail;
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	struct timespec ts = { 0, ATTACH_WAIT_MS * 1000000l };
	if (SYS(SYS_ppoll, &pfd, 1, &ts, NULL, 0) != 1) {
		*unanswered = true;
		goto fail;
	}
	return fd;
fail:
	SYS(SYS_close, fd);
	return -1;
}

/* Receive the hello and exactly two fds. Any extra or missing fd, a short
 * or forged hello: both closed, -1. */
static int receive(int sock, int *plan, int *shared)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} cm;
	struct fl_hello hello;
	struct iovec iov = { &hello, sizeof(hello) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cm.buf, .msg_controllen = sizeof(cm.buf) };
	struct cmsghdr *c;
	int got = 0, fds[2] = { -1, -1 };
	long r;

	memset(cm.buf, 0, sizeof(cm.buf));
	r = SYS(SYS_recvmsg, sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (r < 0)
		return -1;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (got < 2)
				fds[got] = fd;
			else
				SYS(SYS_close, fd);
			got++;
		}
	}
	if (r != (long)sizeof(hello) || got != 2 || (m.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) ||
	    hello.magic != FL_HELLO_MAGIC || hello.abi != FL_ABI_VERSION ||
	    hello.status != 0 || hello.plan_size != FL_PLAN_SIZE ||
	    hello.shared_size != FL_SHARED_SIZE) {
		for (int i = 0; i < 2 && i < got; i++)
			SYS(SYS_close, fds[i]);
		return -1;
	}
	*plan = fds[0];
	*shared = fds[1];
	return 0;
}

/* A memfd of exactly `size` bytes carrying at least `seals`. */
static bool sealed(int fd, off_t size, int seals)
{
	struct stat st;
	long have;

	if (SYS(SYS_fstat, fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != size)
		return false;
	have = SYS(SYS_fcntl, fd, F_GET_SEALS, 0);
	return have >= 0 && (have & seals) == seals;
}

/* Map the plan read-only and the shared area read-write, back to back. */
static struct fl_ctl *map_pair(int plan, int shared)
{
	long page = sysconf(_SC_PAGESIZE);
	char *base;

	if (page <= 0 || FL_PLAN_SIZE % (unsigned long)page != 0 ||
	    FL_SHARED_SIZE % (unsigned long)page != 0)
		return NULL;
	if (!sealed(plan, FL_PLAN_SIZE, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE) &&
	    !sealed(plan, FL_PLAN_SIZE, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE))
		return NULL;
	if (!sealed(shared, FL_SHARED_SIZE, F_SEAL_SHRINK | F_SEAL_GROW))
		return NULL;
	base = mmap(NULL, sizeof(struct fl_ctl), PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return NULL;
	if (mmap(base, FL_PLAN_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, plan, 0) == MAP_FAILED ||
	    mmap(base + FL_PLAN_SIZE, FL_SHARED_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, shared, 0) == MAP_FAILED) {
		munmap(base, sizeof(struct fl_ctl));
		return NULL;
	}
	return (struct fl_ctl *)(void *)base;
}

static void journal_kind(struct fl_ctl *c, int kind, int err)
{
	struct fl_jrec r = {0};
	r.t_ns = fl__mono_ns() - c->hdr.epoch_mono_ns;
	r.pid = getpid();
	r.tid = (int32_t)SYS(SYS_gettid);
	r.kind = (uint8_t)kind;
	r.err = err;
	fl__journal_push(c, &r);
}

/* Get, check and map the block behind the socket at ctl_path. */
static struct fl_ctl *fetch_block(const struct stat *st)
{
	bool unanswered = false;
	int sock, plan, shared, why;
	struct fl_ctl *c;

	sock = ask(&unanswered);
	if (sock < 0) {
		if (unanswered) {
			backoff_ns = backoff_ns ? backoff_ns * 2 : BACKOFF_MIN_NS;
			if (backoff_ns > BACKOFF_MAX_NS)
				backoff_ns = BACKOFF_MAX_NS;
			atomic_store(&next_check_ns, fl__mono_ns() + backoff_ns);
		}
		return NULL;
	}
	backoff_ns = 0;
	if (receive(sock, &plan, &shared) < 0) {
		SYS(SYS_close, sock);
		return NULL;
	}
	SYS(SYS_close, sock);
	c = map_pair(plan, shared);
	SYS(SYS_close, plan);
	SYS(SYS_close, shared);
	if (!c)
		return NULL;
	if ((why = fl__plan_check(c, (uint32_t)geteuid())) != 0) {
		/* Say so once, where the controller reads it, then forget it. */
		journal_kind(c, FL_J_REFUSED, why);
		munmap(c, sizeof(*c));
		refused_dev = st->st_dev;
		refused_ino = st->st_ino;
		return NULL;
	}
	return c;
}

/* Attach to the block behind ctl_path if it is new. The path must be a
 * socket (never a symlink) owned by root or us, with no group/other write;
 * the server must be root or us (SO_PEERCRED). The old mapping is kept:
 * another thread may still be sleeping on it, and it is small. */
static void try_attach(void)
{
	struct stat st;
	struct fl_ctl *c;

	if (SYS(SYS_lstat, ctl_path, &st) != 0 || !S_ISSOCK(st.st_mode) ||
	    (st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022) ||
	    (fl__ctl && st.st_dev == ctl_dev && st.st_ino == ctl_ino) ||
	    (st.st_dev == refused_dev && st.st_ino == refused_ino))
		return;
	c = fetch_block(&st);
	if (!c)
		return;
	ctl_dev = st.st_dev;
	ctl_ino = st.st_ino;
	atomic_store(&fl__has, block_has(c) | (atomic_load(&fl__has) & FL_HAS_CLKFAKE));
	fl__fdtab_reset();
	atomic_store(&fl__ctl, c);
	atomic_store(&fl__mode, FL_MODE_ON);
	fl__set_waiting(0);
	journal_kind(c, FL_J_ATTACH, 0);
}

void fl__attach_poll(void)
{
	int mode = atomic_load_explicit(&fl__mode, memory_order_relaxed);
	struct fl_ctl *c;
	int64_t now;

	if (mode == FL_MODE_OFF || mode == FL_MODE_UNINIT)
		return;
	now = fl__mono_ns();
	c = atomic_load_explicit(&fl__ctl, memory_order_acquire);
	if (c && mode == FL_MODE_ON && fl__live(c, now))
		return;
	if (now < atomic_load_explicit(&next_check_ns, memory_order_relaxed))
		return;
	if (atomic_flag_test_and_set(&attach_lock))
		return;
	atomic_store(&next_check_ns, now + ATTACH_CHECK_NS);
	int saved = errno;
	try_attach();
	errno = saved;
	atomic_flag_clear(&attach_lock);
}

void fl__attach_init(const char *path)
{
	if (!path || !*path || strlen(path) >= sizeof(ctl_path)) {
		atomic_store(&fl__mode, FL_MODE_OFF);
		return;
	}
	memcpy(ctl_path, path, strlen(path) + 1);
	atomic_store(&fl__mode, FL_MODE_WAITING);
	atomic_fetch_or(&fl__has, FL_HAS_WAIT); /* fd creators poll for the block */
	fl__set_waiting(1);
	try_attach();
}

void fl__attach_atfork_child(void)
{
	atomic_flag_clear(&attach_lock);
}
