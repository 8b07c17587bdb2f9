/*
 * net.c — socket interposers: socket, connect, accept, the send and recv
 * families, sendfile, shutdown, getsockopt(SO_ERROR), getaddrinfo.
 *
 * Every wrapper: fast path (fd known untargeted: forward) → slow path in
 * io.c or here (one decision, then act). connect and accept classify the fd
 * they make; everything else classifies on first use.
 *
 * A connect that faults on a non-blocking socket keeps the libc contract of
 * a real one: EINPROGRESS, writability hidden until the fault is due, then
 * POLLOUT and the error through getsockopt(SO_ERROR) — which is how curl,
 * redis-cli, nginx and Python learn that a connect failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <poll.h>
#include <string.h>

#include "io.h"

extern void __chk_fail(void) __attribute__((noreturn));

FL_API int socket(int domain, int type, int protocol)
{
	int fd = FL_REAL(socket)(domain, type, protocol);
	if (fd >= 0)
		fl__fd_forget(fd); /* a new socket: classified at connect or first use */
	return fd;
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

static int connect_act(int fd, const struct sockaddr *sa, socklen_t len,
		       struct fl_verdict *v)
{
	bool nb = fl__nonblock(fd, 0);
	struct fl_fdst *st = fl__fdst(fd);
	int64_t ns = fl__verdict_ns(v), now = fl__mono_ns();
	int r, err;

	switch (v->fault) {
	case FL_FAULT_TIMEOUT:
		if (nb && st) { /* never connects; reports ETIMEDOUT when due */
			atomic_store(&st->fake_conn, 1);
			atomic_store(&st->conn_err, ETIMEDOUT);
			fl__hide(fd, 1, now + ns);
			fl__journal(v, FL_J_FAULT, -1, EINPROGRESS, ns);
			errno = EINPROGRESS;
			return -1;
		}
		fl__fault_sleep(v, ns);
		fl__journal(v, FL_J_FAULT, -1, ETIMEDOUT, ns);
		errno = ETIMEDOUT;
		return -1;
	case FL_FAULT_ERROR:
		fl__journal(v, FL_J_FAULT, -1, v->err, 0);
		errno = v->err;
		return -1;
	case FL_FAULT_DELAY:
		if (!nb)
			fl__fault_sleep(v, ns);
		r = FL_REAL(connect)(fd, sa, len);
		err = r < 0 ? errno : 0;
		if (nb && st && (r == 0 || err == EINPROGRESS)) {
			/* connected or connecting: writability shows up late */
			fl__hide(fd, 1, now + ns);
			r = -1;
			err = EINPROGRESS;
		}
		fl__journal(v, FL_J_FAULT, r, err, ns);
		errno = err ? err : errno;
		return r;
	case FL_FAULT_LATE_ACK:
		r = FL_REAL(connect)(fd, sa, len);
		err = r < 0 ? errno : 0;
		if (nb && st)
			fl__hide(fd, 1, now + ns);
		else
			fl__fault_sleep(v, ns);
		fl__journal(v, FL_J_FAULT, r, err, ns);
		errno = err ? err : errno;
		return r;
	case FL_FAULT_HOLD: {
		bool opened = fl__gate_wait(v);
		r = FL_REAL(connect)(fd, sa, len);
		err = r < 0 ? errno : 0;
		fl__journal(v, opened ? FL_J_GATE_OPEN : FL_J_GATE_TIMEOUT, r, err,
			    fl__mono_ns() - now);
		errno = err ? err : errno;
		return r;
	}
	}
	return FL_REAL(connect)(fd, sa, len);
}

FL_API int connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct fl_ctl *c;
	struct fl_fdst *st;
	struct fl_verdict v;
	int type = 0, saved = errno;
	socklen_t tl = sizeof(type);
	unsigned t;

	fl__attach_poll();
	c = atomic_load(&fl__ctl);
	if (!c || atomic_load(&fl__mode) != FL_MODE_ON ||
	    !(atomic_load(&fl__has) & FL_HAS_SOCK))
		return FL_REAL(connect)(fd, sa, len);
	st = fl__fdst(fd);
	if (st && atomic_load(&st->fake_conn))
		return connect_again(st);
	FL_REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &tl);
	errno = saved;
	t = fl__match_sockaddr(c, sa, len, type, false);
	fl__fd_set(fd, t ? t : FL_FD_NONE);
	if (!t || !fl__decide(t, FL_OP_CONNECT, &v))
		return FL_REAL(connect)(fd, sa, len);
	return connect_act(fd, sa, len, &v);
}

static int accept_act(int fd, struct sockaddr *a, socklen_t *l, int flags,
		      struct fl_verdict *v)
{
	bool nb = fl__nonblock(fd, 0);
	int64_t ns = fl__verdict_ns(v);
	int r;

	switch (v->fault) {
	case FL_FAULT_DELAY:
	case FL_FAULT_TIMEOUT:
		if (nb && fl__fdst(fd)) {
			fl__hide(fd, 0, fl__mono_ns() + ns);
			fl__journal(v, FL_J_FAULT, -1, EAGAIN, ns);
			errno = EAGAIN;
			return -1;
		}
		fl__fault_sleep(v, ns);
		if (v->fault == FL_FAULT_TIMEOUT) {
			fl__journal(v, FL_J_FAULT, -1, EAGAIN, ns);
			errno = EAGAIN;
			return -1;
		}
		break;
	case FL_FAULT_ERROR:
		fl__journal(v, FL_J_FAULT, -1, v->err, 0);
		errno = v->err;
		return -1;
	case FL_FAULT_HOLD:
		fl__gate_wait(v);
		break;
	}
	r = FL_REAL(accept4)(fd, a, l, flags);
	int err = r < 0 ? errno : 0;
	if (v->fault == FL_FAULT_LATE_ACK)
		fl__fault_sleep(v, ns);
	fl__journal(v, FL_J_FAULT, r, err, ns);
	errno = err ? err : errno;
	return r;
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

static int accept_slow(int fd, struct sockaddr *a, socklen_t *l, int flags)
{
	unsigned t = fl__class(fd);
	struct fl_fdst *st = fl__fdst(fd);
	struct fl_verdict v;
	int r;

	fl__attach_poll();
	if (t == FL_FD_NONE) {
		r = FL_REAL(accept4)(fd, a, l, flags);
		if (r >= 0)
			fl__fd_forget(r);
		return r;
	}
	if (st && atomic_load(&st->rdue)) { /* a delayed accept, due or not */
		ssize_t pr;
		int p = fl__pending_due(fd, st, 0, fl__nonblock(fd, 0), &pr);
		if (p == 1)
			return (int)pr;
		r = FL_REAL(accept4)(fd, a, l, flags);
		if (r >= 0) {
			fl__fd_forget(r);
			fl__classify(r);
		}
		return r;
	}
	if (fl__nonblock(fd, 0) && nothing_to_accept(fd))
		return FL_REAL(accept4)(fd, a, l, flags); /* EAGAIN, not counted */
	if (fl__decide(t, FL_OP_ACCEPT, &v))
		r = accept_act(fd, a, l, flags, &v);
	else
		r = FL_REAL(accept4)(fd, a, l, flags);
	if (r >= 0) {
		fl__fd_forget(r);
		fl__classify(r);
	}
	return r;
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

/* ---- getaddrinfo (op resolve) ----------------------------------------------- */

FL_API int getaddrinfo(const char *node, const char *service,
		       const struct addrinfo *hints, struct addrinfo **res)
{
	struct fl_ctl *c;
	struct fl_verdict v;
	unsigned t;
	int r;

	if (FL_LIKELY(!(atomic_load_explicit(&fl__has, memory_order_relaxed) & FL_HAS_HOST)) || !node)
		return FL_REAL(getaddrinfo)(node, service, hints, res);
	c = atomic_load(&fl__ctl);
	t = c ? fl__match_host(c, node) : 0;
	if (!t || !fl__decide(t, FL_OP_RESOLVE, &v))
		return FL_REAL(getaddrinfo)(node, service, hints, res);
	switch (v.fault) {
	case FL_FAULT_ERROR:
		fl__journal(&v, FL_J_FAULT, v.err, 0, 0);
		return v.err;
	case FL_FAULT_TIMEOUT:
		fl__fault_sleep(&v, fl__verdict_ns(&v));
		fl__journal(&v, FL_J_FAULT, EAI_AGAIN, 0, fl__verdict_ns(&v));
		return EAI_AGAIN;
	case FL_FAULT_HOLD:
		fl__gate_wait(&v);
		break;
	default:
		fl__fault_sleep(&v, fl__verdict_ns(&v));
	}
	r = FL_REAL(getaddrinfo)(node, service, hints, res);
	fl__journal(&v, FL_J_FAULT, r, 0, fl__verdict_ns(&v));
	return r;
}
