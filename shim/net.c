/*
 * net.c — socket interposers: socket, connect, accept, the send and recv
 * families, sendfile, shutdown, getsockopt(SO_ERROR), getaddrinfo.
 *
 * Every wrapper: guard (fd known untargeted, or no socket target: forward)
 * → decide → act (act.c) or forward. connect matches the address before it
 * asks the kernel anything; accept classifies the fd it makes; everything
 * else classifies on first use. socket, socketpair, accept4 and setsockopt
 * keep the cache of what the kernel knows of the fd (O_NONBLOCK, type,
 * SO_*TIMEO) so a decided call asks the kernel nothing.
 *
 * A connect that faults on a non-blocking socket keeps the libc contract of
 * a real one: EINPROGRESS, writability hidden until the fault is due, then
 * POLLOUT and the error through getsockopt(SO_ERROR) — which is how curl,
 * redis-cli, nginx and Python learn that a connect failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>

#include "io.h"

extern void __chk_fail(void) __attribute__((noreturn));

FL_API int socket(int domain, int type, int protocol)
{
	int fd = FL_REAL(socket)(domain, type, protocol);
	if (fd >= 0 && atomic_load_explicit(&fl__mode, memory_order_relaxed) != FL_MODE_OFF)
		fl__fd_new(fd, FL_FD_UNKNOWN, (type & SOCK_NONBLOCK) != 0,
			   type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), -1);
	return fd; /* classified at connect or first use */
}

FL_API int socketpair(int domain, int type, int protocol, int sv[2])
{
	int r = FL_REAL(socketpair)(domain, type, protocol, sv);
	if (r == 0 && atomic_load_explicit(&fl__mode, memory_order_relaxed) != FL_MODE_OFF)
		for (int i = 0; i < 2; i++) /* unnamed: never a target */
			fl__fd_new(sv[i], FL_FD_NONE, (type & SOCK_NONBLOCK) != 0,
				   type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), -1);
	return r;
}

/* A second connect() on a socket whose connect we faked. */
static int connect_again(struct fl_fdst *st)
{
	int err = atomic_load(&st->conn_err);

	if (atomic_load(&st->wdue) > fl__mono_ns()) {
		errno = EALREADY;
		return -1;
	}
	atomic_store(&st->conn_err, 0);
	errno = err ? err : EISCONN;
	return -1;
}

/* The target of a connect: the address is matched first (no system call);
 * only a match asks for the socket's type, once. */
static unsigned connect_target(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct fl_ctl *c = atomic_load(&fl__ctl);
	unsigned t;

	if (atomic_load(&fl__mode) != FL_MODE_ON || !c ||
	    atomic_load_explicit(&c->hdr.state, memory_order_relaxed) != FL_STATE_ACTIVE)
		fl__attach_poll(); /* no block yet, or it ended: a new one? */
	c = atomic_load(&fl__ctl);
	if (!c || atomic_load(&fl__mode) != FL_MODE_ON ||
	    !(atomic_load(&fl__has) & FL_HAS_SOCK))
		return 0;
	t = fl__match_sockaddr(c, sa, len, -1, false);
	if (t)
		t = fl__match_sockaddr(c, sa, len, fl__sock_type(fd), false);
	fl__fd_set(fd, t ? t : FL_FD_NONE);
	return t;
}

struct connect_args {
	const struct sockaddr *sa;
	socklen_t len;
};

static int64_t connect_call(struct fl_call *k, size_t cap)
{
	const struct connect_args *a = k->ctx;
	return FL_REAL(connect)(k->fd, a->sa, a->len);
}

static int connect_slow(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct connect_args a = {sa, len};
	struct fl_call k = {.op = FL_OP_CONNECT, .fd = fd, .sock = true,
			    .real = connect_call, .ctx = &a};
	unsigned t = connect_target(fd, sa, len);
	struct fl_fdst *st;
	struct fl_verdict v;

	if (!t)
		return FL_REAL(connect)(fd, sa, len);
	if ((st = fl__fdst(fd)) && atomic_load(&st->fake_conn))
		return connect_again(st);
	fl__decide(t, FL_OP_CONNECT, &v);
	return (int)fl__act(&k, &v);
}

/* Candidates: could a connect to sa reach a socket target? An IPv4 address
 * is checked against the targets' own IPv4 addresses, built once per block
 * (rules republished: rebuilt), with no system call and no rule walk; any
 * other case (a target on any host, IPv6, unix, many targets) goes on to
 * the full match. */
#define SF_MAX 8
static struct {
	struct fl_ctl *_Atomic c;
	_Atomic uint32_t gen;
	_Atomic bool all;
	_Atomic unsigned n;
	_Atomic uint32_t v4[SF_MAX]; /* network byte order */
} sf;

static void sf_build(struct fl_ctl *c, uint32_t gen)
{
	unsigned n = 0;
	bool all = false;

	for (unsigned i = 1; i < c->hdr.ntargets && i < FL_MAX_TARGETS; i++) {
		const struct fl_target *t = &c->targets[i];
		if (t->kind != FL_TK_TCP && t->kind != FL_TK_UDP && t->kind != FL_TK_UNIX)
			continue;
		if (t->kind == FL_TK_UNIX || (t->flags & FL_TF_ANY_HOST) ||
		    t->family != AF_INET || n == SF_MAX) {
			all = true;
			continue;
		}
		uint32_t a;
		memcpy(&a, t->addr, 4);
		atomic_store(&sf.v4[n++], a);
	}
	atomic_store(&sf.n, n);
	atomic_store(&sf.all, all);
	atomic_store(&sf.gen, gen);
	atomic_store_explicit(&sf.c, c, memory_order_release);
}

static bool sock_candidate(const struct sockaddr *sa, socklen_t len)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_acquire);
	uint32_t gen, a;

	if (!c || !sa || sa->sa_family != AF_INET || len < (socklen_t)sizeof(struct sockaddr_in))
		return true;
	gen = atomic_load_explicit(&c->hdr.gen, memory_order_acquire);
	if (gen & 1)
		return true;
	if (atomic_load_explicit(&sf.c, memory_order_acquire) != c ||
	    atomic_load_explicit(&sf.gen, memory_order_relaxed) != gen)
		sf_build(c, gen);
	if (atomic_load_explicit(&sf.all, memory_order_relaxed))
		return true;
	a = ((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr;
	for (unsigned i = 0, n = atomic_load_explicit(&sf.n, memory_order_relaxed); i < n; i++)
		if (atomic_load_explicit(&sf.v4[i], memory_order_relaxed) == a)
			return true;
	return false;
}

FL_API int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	uint32_t has = atomic_load_explicit(&fl__has, memory_order_relaxed);

	if (FL_LIKELY(!(has & (FL_HAS_SOCK | FL_HAS_WAIT))))
		return FL_REAL(connect)(fd, sa, len);
	if (!(has & FL_HAS_WAIT) && !sock_candidate(sa, len)) {
		fl__fd_set(fd, FL_FD_NONE); /* no target has its address */
		return FL_REAL(connect)(fd, sa, len);
	}
	return connect_slow(fd, sa, len);
}

/* Would a non-blocking accept find nothing? Such calls are not counted, so
 * "the 3rd accept" does not depend on how often a server polls. */
static bool nothing_to_accept(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	int saved = errno, r = FL_REAL(poll)(&p, 1, 0);
	errno = saved;
	return r == 0;
}

struct accept_args {
	struct sockaddr *a;
	socklen_t *l;
	int flags;
};

/* The accepted socket: O_NONBLOCK from flags (never inherited on Linux),
 * the listener's type and timeouts (inherited), its own class. */
static int accepted(int r, int lfd, int flags)
{
	if (r >= 0) {
		int saved = errno;
		fl__fd_new(r, FL_FD_UNKNOWN, (flags & SOCK_NONBLOCK) != 0,
			   fl__sock_type(lfd), lfd);
		fl__classify(r);
		errno = saved;
	}
	return r;
}

static int64_t accept_call(struct fl_call *k, size_t cap)
{
	const struct accept_args *a = k->ctx;
	return accepted(FL_REAL(accept4)(k->fd, a->a, a->l, a->flags), k->fd, a->flags);
}

/* A delayed accept, due or not: still hidden (EAGAIN, or a blocking wait
 * for it), or due (the deferred accept is made now and happens now). */
static bool accept_pending(struct fl_call *k, int64_t *r)
{
	struct fl_fdst *st = fl__fdst(k->fd);
	ssize_t pr;
	int p;

	if (!st || !atomic_load(&st->rdue))
		return false;
	p = fl__pending_due(k->fd, st, 0, FL_OP_ACCEPT, fl__nonblock(k->fd, 0), &pr);
	*r = pr;
	if (p == 0) {
		*r = accept_call(k, SIZE_MAX);
		fl__happened_fd(k->fd, FL_DIR_IN, FL_OP_ACCEPT);
	}
	return p >= 0;
}

static int accept_slow(int fd, struct sockaddr *sa, socklen_t *l, int flags)
{
	struct accept_args a = {sa, l, flags};
	struct fl_call k = {.op = FL_OP_ACCEPT, .fd = fd, .sock = true,
			    .real = accept_call, .ctx = &a};
	unsigned t = fl__class(fd);
	struct fl_verdict v;
	int64_t r;

	fl__attach_poll();
	if (t == FL_FD_NONE)
		return (int)accept_call(&k, SIZE_MAX);
	if (accept_pending(&k, &r))
		return (int)r;
	if (fl__nonblock(fd, 0)) {
		if (fl__made_first(&k, t, &r))
			return (int)r; /* no rule could fire: made, counted if one came */
		if (nothing_to_accept(fd))
			return (int)accept_call(&k, SIZE_MAX); /* EAGAIN, not counted */
	}
	fl__decide(t, FL_OP_ACCEPT, &v);
	return (int)fl__act(&k, &v);
}

FL_API int accept4(int fd, struct sockaddr *a, socklen_t *l, int flags)
{
	if (fl_fd_untargeted(fd)) {
		int r = FL_REAL(accept4)(fd, a, l, flags);
		if (r >= 0)
			fl__fd_set(r, FL_FD_NONE);
		return r;
	}
	return accept_slow(fd, a, l, flags);
}

FL_API int accept(int fd, struct sockaddr *a, socklen_t *l)
{
	return accept4(fd, a, l, 0);
}

/* ---- send ---------------------------------------------------------------- */

FL_API ssize_t sendto(int fd, const void *buf, size_t n, int flags,
		      const struct sockaddr *a, socklen_t l)
{
	if (fl_fd_untargeted(fd))
		return FL_REAL(sendto)(fd, buf, n, flags, a, l);
	struct fl_io io = {.kind = FL_IO_SENDTO, .fd = fd, .buf = (void *)buf,
			   .len = n, .flags = flags, .addr = (struct sockaddr *)a,
			   .clen = l};
	return fl__io(&io);
}

FL_API ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return sendto(fd, buf, n, flags, NULL, 0);
}

FL_API ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
	if (fl_fd_untargeted(fd))
		return FL_REAL(sendmsg)(fd, m, flags);
	struct fl_io io = {.kind = FL_IO_SENDMSG, .fd = fd, .flags = flags,
			   .msg = (struct msghdr *)m};
	return fl__io(&io);
}

FL_API int sendmmsg(int fd, struct mmsghdr *m, unsigned vlen, int flags)
{
	if (fl_fd_untargeted(fd))
		return FL_REAL(sendmmsg)(fd, m, vlen, flags);
	struct fl_io io = {.kind = FL_IO_SENDMMSG, .fd = fd, .flags = flags,
			   .mmsg = m, .vlen = vlen, .len = SIZE_MAX};
	return (int)fl__io(&io);
}

/* ---- recv ---------------------------------------------------------------- */

FL_API ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			struct sockaddr *a, socklen_t *l)
{
	if (fl_fd_untargeted(fd))
		return FL_REAL(recvfrom)(fd, buf, n, flags, a, l);
	struct fl_io io = {.kind = FL_IO_RECVFROM, .fd = fd, .buf = buf, .len = n,
			   .flags = flags, .addr = a, .alen = l};
	return fl__io(&io);
}

FL_API ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

FL_API ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

FL_API ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
			      struct sockaddr *a, socklen_t *l)
{
	if (n > buflen)
		__chk_fail();
	return recvfrom(fd, buf, n, flags, a, l);
}

FL_API ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
	if (fl_fd_untargeted(fd))
		return FL_REAL(recvmsg)(fd, m, flags);
	struct fl_io io = {.kind = FL_IO_RECVMSG, .fd = fd, .flags = flags, .msg = m};
	return fl__io(&io);
}

FL_API int recvmmsg(int fd, struct mmsghdr *m, unsigned vlen, int flags,
		    struct timespec *tmo)
{
	if (fl_fd_untargeted(fd))
		return FL_REAL(recvmmsg)(fd, m, vlen, flags, tmo);
	struct fl_io io = {.kind = FL_IO_RECVMMSG, .fd = fd, .flags = flags,
			   .mmsg = m, .vlen = vlen, .tmo = tmo, .len = SIZE_MAX};
	return (int)fl__io(&io);
}

/* ---- sendfile, shutdown, getsockopt -------------------------------------- */

FL_API ssize_t sendfile(int out, int in, off_t *off, size_t n)
{
	if (fl_fd_untargeted(out))
		return FL_REAL(sendfile)(out, in, off, n);
	struct fl_io io = {.kind = FL_IO_SENDFILE, .fd = out, .in_fd = in,
			   .offp = off, .len = n};
	return fl__io(&io);
}

FL_API ssize_t sendfile64(int out, int in, off_t *off, size_t n)
	__attribute__((alias("sendfile")));

FL_API int shutdown(int fd, int how)
{
	return FL_REAL(shutdown)(fd, how);
}

FL_API int getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	struct fl_fdst *st;
	int err;

	if (fl_fd_untargeted(fd) || level != SOL_SOCKET || opt != SO_ERROR ||
	    !val || !len || *len < (socklen_t)sizeof(int))
		return FL_REAL(getsockopt)(fd, level, opt, val, len);
	st = fl__fdst(fd);
	if (!st || !atomic_load(&st->fake_conn) ||
	    atomic_load(&st->wdue) > fl__mono_ns())
		return FL_REAL(getsockopt)(fd, level, opt, val, len);
	/* a faked connect is due: report its error once, as the kernel does */
	err = atomic_exchange(&st->conn_err, 0);
	memcpy(val, &err, sizeof(int));
	*len = sizeof(int);
	return 0;
}

/* ---- setsockopt: the socket's own timeouts ---------------------------------- */

FL_API int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	int r = FL_REAL(setsockopt)(fd, level, opt, val, len);
	struct fl_fdst *st;

	if (r == 0 && level == SOL_SOCKET &&
	    (opt == SO_RCVTIMEO_OLD || opt == SO_SNDTIMEO_OLD ||
	     opt == SO_RCVTIMEO_NEW || opt == SO_SNDTIMEO_NEW) &&
	    (st = fl__fdst(fd)))
		atomic_store(&st->tmok, 0); /* asked again (once) by the next wait */
	return r;
}

/* ---- getaddrinfo (op resolve) ----------------------------------------------- */

struct gai_args {
	const char *node, *service;
	const struct addrinfo *hints;
	struct addrinfo **res;
};

static int64_t gai_call(struct fl_call *k, size_t cap)
{
	const struct gai_args *a = k->ctx;
	return FL_REAL(getaddrinfo)(a->node, a->service, a->hints, a->res);
}

FL_API int getaddrinfo(const char *node, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res)
{
	struct gai_args a = {node, service, hints, res};
	struct fl_call k = {.op = FL_OP_RESOLVE, .fd = -1, .real = gai_call, .ctx = &a};
	struct fl_ctl *c;
	struct fl_verdict v;
	unsigned t;

	if (FL_LIKELY(!(atomic_load_explicit(&fl__has, memory_order_relaxed) & FL_HAS_HOST)) || !node)
		return FL_REAL(getaddrinfo)(node, service, hints, res);
	c = atomic_load(&fl__ctl);
	t = c ? fl__match_host(c, node) : 0;
	if (!t)
		return FL_REAL(getaddrinfo)(node, service, hints, res);
	fl__decide(t, FL_OP_RESOLVE, &v);
	return (int)fl__act(&k, &v);
}
