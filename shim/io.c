/*
 * io.c — the data path: one slow path for read, write, recv, send and
 * their vector, positional, message and fortified forms.
 *
 * Semantics (README, "Faults"):
 *  - Sockets: on a non-blocking socket a delay is a delay of readiness: the
 *    call returns EAGAIN and poll/epoll/select hide the fd until it is due
 *    (poll.c), so the program's own timeouts still bound the wait. A
 *    non-blocking recv with nothing to read is not counted (its nth would
 *    depend on timing). On a blocking socket the call sleeps.
 *  - Files: delay sleeps before the call; late_ack makes the real call and
 *    reports it late (a late fsync is still a real fsync); error replaces
 *    the call (fsync: after it); short caps the byte count.
 *  - A call whose fault was already decided (a due readiness hide) is not
 *    decided or counted again when the program retries it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "faultline/snapname.h"

#include "io.h"

static size_t min_sz(size_t a, size_t b)
{
	return a < b ? a : b;
}

static ssize_t real_msg(struct fl_io *io, size_t cap, bool rd)
{
	struct msghdr m = *io->msg;
	struct iovec one;
	ssize_t r;

	if (cap != SIZE_MAX && m.msg_iovlen > 0) {
		one = m.msg_iov[0];
		one.iov_len = min_sz(one.iov_len, cap);
		m.msg_iov = &one;
		m.msg_iovlen = 1;
	}
	r = rd ? FL_REAL(recvmsg)(io->fd, &m, io->flags)
	       : FL_REAL(sendmsg)(io->fd, &m, io->flags);
	io->msg->msg_namelen = m.msg_namelen;
	io->msg->msg_controllen = m.msg_controllen;
	io->msg->msg_flags = m.msg_flags;
	return r;
}

/* Vector calls under a cap read or write only the first buffer, shortened:
 * a partial transfer is always allowed to stop early. */
static const struct iovec *cap_iov(const struct fl_io *io, size_t cap,
				   struct iovec *one, int *cnt)
{
	*cnt = io->iovcnt;
	if (cap == SIZE_MAX || io->iovcnt <= 0)
		return io->iov;
	*one = io->iov[0];
	one->iov_len = min_sz(one->iov_len, cap);
	*cnt = 1;
	return one;
}

ssize_t fl__io_real(struct fl_io *io, size_t cap)
{
	size_t n = min_sz(io->len, cap);
	struct iovec one;
	const struct iovec *v;
	int cnt;

	switch (io->kind) {
	case FL_IO_READ: return FL_REAL(read)(io->fd, io->buf, n);
	case FL_IO_PREAD: return FL_REAL(pread)(io->fd, io->buf, n, io->off);
	case FL_IO_WRITE: return FL_REAL(write)(io->fd, io->buf, n);
	case FL_IO_PWRITE: return FL_REAL(pwrite)(io->fd, io->buf, n, io->off);
	case FL_IO_READV:
		v = cap_iov(io, cap, &one, &cnt);
		return FL_REAL(readv)(io->fd, v, cnt);
	case FL_IO_WRITEV:
		v = cap_iov(io, cap, &one, &cnt);
		return FL_REAL(writev)(io->fd, v, cnt);
	case FL_IO_PREADV2:
		v = cap_iov(io, cap, &one, &cnt);
		return FL_REAL(preadv2)(io->fd, v, cnt, io->off, io->flags);
	case FL_IO_PWRITEV2:
		v = cap_iov(io, cap, &one, &cnt);
		return FL_REAL(pwritev2)(io->fd, v, cnt, io->off, io->flags);
	case FL_IO_RECVFROM:
		return FL_REAL(recvfrom)(io->fd, io->buf, n, io->flags, io->addr, io->alen);
	case FL_IO_SENDTO:
		return FL_REAL(sendto)(io->fd, io->buf, n, io->flags, io->addr, io->clen);
	case FL_IO_RECVMSG: return real_msg(io, cap, true);
	case FL_IO_SENDMSG: return real_msg(io, cap, false);
	case FL_IO_RECVMMSG:
		return FL_REAL(recvmmsg)(io->fd, io->mmsg, cap == SIZE_MAX ? io->vlen : 1,
					 io->flags, io->tmo);
	case FL_IO_SENDMMSG:
		return FL_REAL(sendmmsg)(io->fd, io->mmsg, cap == SIZE_MAX ? io->vlen : 1,
					 io->flags);
	case FL_IO_SENDFILE:
		return FL_REAL(sendfile)(io->fd, io->in_fd, io->offp, n);
	case FL_IO_FSYNC: return FL_REAL(fsync)(io->fd);
	case FL_IO_FDATASYNC: return FL_REAL(fdatasync)(io->fd);
	case FL_IO_SYNC_RANGE:
		return FL_REAL(sync_file_range)(io->fd, io->off, (off_t)io->len,
						(unsigned)io->flags);
	}
	errno = EINVAL;
	return -1;
}

bool fl__nonblock(int fd, int msgflags)
{
	int saved = errno, fl;

	if (msgflags & MSG_DONTWAIT)
		return true;
	fl = FL_REAL(fcntl)(fd, F_GETFL);
	errno = saved;
	return fl >= 0 && (fl & O_NONBLOCK);
}

void fl__hide(int fd, int dir, int64_t due)
{
	struct fl_fdst *st = fl__fdst(fd);

	if (!st)
		return;
	atomic_store(dir ? &st->wdue : &st->rdue, due);
	fl__pending_add(fd);
}

static ssize_t fail(int err)
{
	errno = err;
	return -1;
}

/* Record the outcome of an injected fault; returns r with errno intact. */
static ssize_t done(struct fl_verdict *v, ssize_t r, int64_t value_ns)
{
	int err = r < 0 ? errno : 0;
	fl__journal(v, FL_J_FAULT, r, err, value_ns);
	errno = err ? err : errno;
	return r;
}

/* A readiness hide decided earlier for this direction: still hidden
 * (EAGAIN, or sleep when blocking), or due now (make the real call, not
 * counted again). Returns 1 when the caller should return *ret. */
int fl__pending_due(int fd, struct fl_fdst *st, int dir, bool nb, ssize_t *ret)
{
	_Atomic int64_t *due = dir ? &st->wdue : &st->rdue;
	int64_t d = atomic_load(due), now;

	if (!d)
		return -1;
	now = fl__mono_ns();
	if (d > now && !fl__hides_apply(now))
		d = now; /* the drill ended: due at once */
	if (d > now && nb) {
		*ret = fail(EAGAIN);
		return 1;
	}
	if (d > now)
		fl__sleep_ns(d - now);
	atomic_store(due, 0);
	if (!atomic_load(&st->rdue) && !atomic_load(&st->wdue))
		fl__pending_del(fd);
	return 0;
}

/* Would a non-blocking receive find nothing? Such calls are not counted. */
static bool nothing_to_read(int fd)
{
	char b;
	int saved = errno;
	ssize_t r = FL_REAL(recvfrom)(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT, NULL, NULL);
	bool empty = r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	errno = saved;
	return empty;
}

static ssize_t hold(struct fl_io *io, struct fl_verdict *v, bool before)
{
	int64_t t0 = fl__mono_ns();
	ssize_t r = 0;
	bool opened;

	if (!before)
		r = fl__io_real(io, SIZE_MAX);
	int err = errno;
	opened = fl__gate_wait(v);
	if (before)
		r = fl__io_real(io, SIZE_MAX);
	else
		errno = err;
	err = r < 0 ? errno : 0;
	fl__journal(v, opened ? FL_J_GATE_OPEN : FL_J_GATE_TIMEOUT, r, err,
		    fl__mono_ns() - t0);
	errno = err ? err : errno;
	return r;
}

/* Faults on a socket: op recv (dir 0) or send (dir 1). */
static ssize_t sock_act(struct fl_io *io, struct fl_fdst *st, int dir, bool nb,
			struct fl_verdict *v)
{
	int64_t ns = fl__verdict_ns(v);
	ssize_t r;

	switch (v->fault) {
	case FL_FAULT_STALE: /* nothing new until the window closes, then all */
	case FL_FAULT_DELAY:
	case FL_FAULT_TIMEOUT:
		if (nb && st) {
			fl__hide(io->fd, dir, fl__mono_ns() + ns);
			return done(v, fail(EAGAIN), ns);
		}
		fl__fault_sleep(v, ns);
		if (v->fault == FL_FAULT_TIMEOUT)
			return done(v, fail(EAGAIN), ns);
		return done(v, fl__io_real(io, SIZE_MAX), ns);
	case FL_FAULT_ERROR:
		return done(v, fail(v->err), 0);
	case FL_FAULT_RESET:
		fl__reset_conn(io->fd);
		if (st)
			atomic_store(&st->reset, 1);
		return done(v, fail(ECONNRESET), 0);
	case FL_FAULT_SHORT:
		return done(v, fl__io_real(io, (size_t)v->bytes), 0);
	case FL_FAULT_LATE_ACK:
		r = fl__io_real(io, SIZE_MAX);
		if (nb && st)
			fl__hide(io->fd, dir, fl__mono_ns() + ns);
		else
			fl__fault_sleep(v, ns);
		return done(v, r, ns);
	case FL_FAULT_HOLD:
		return hold(io, v, dir == 0);
	}
	return fl__io_real(io, SIZE_MAX);
}

/* Is the call non-blocking? Asked only when the answer matters (it costs
 * a system call): a send with no fault never needs it. */
static bool io_nb(const struct fl_io *io, int *known)
{
	if (*known < 0)
		*known = fl__nonblock(io->fd, io->kind >= FL_IO_RECVFROM ? io->flags : 0);
	return *known;
}

static ssize_t sock_io(struct fl_io *io, unsigned t)
{
	int dir = fl_io_reads(io) ? 0 : 1, nb = -1;
	struct fl_fdst *st = fl__fdst(io->fd);
	struct fl_verdict v;
	ssize_t r;

	if (st && atomic_load(&st->reset))
		return dir ? fail(EPIPE) : 0; /* we reset it: EOF / broken pipe */
	if (st && (atomic_load(&st->rdue) || atomic_load(&st->wdue))) {
		int p = fl__pending_due(io->fd, st, dir, io_nb(io, &nb), &r);
		if (p >= 0)
			return p == 1 ? r : fl__io_real(io, SIZE_MAX);
	}
	if (dir == 0 && io_nb(io, &nb) && nothing_to_read(io->fd))
		return fl__io_real(io, SIZE_MAX);
	if (!fl__decide(t, dir ? FL_OP_SEND : FL_OP_RECV, &v))
		return fl__io_real(io, SIZE_MAX);
	return sock_act(io, st, dir, io_nb(io, &nb), &v);
}

#define STALE_NO_SNAPSHOT (-2)

/* Open the snapshot of fd's file taken when rule's window opened. */
static int snapshot_fd(int fd, unsigned rule)
{
	struct fl_ctl *c = atomic_load(&fl__ctl);
	char link[64], path[PATH_MAX], snap[PATH_MAX];
	ssize_t n;

	if (!c || rule >= FL_MAX_RULES || !atomic_load(&c->rules[rule].snap_ready))
		return -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = syscall(SYS_readlink, link, path, sizeof(path) - 1);
	if (n <= 0)
		return -1;
	path[n] = '\0';
	if (!fl_snapname(snap, sizeof(snap), c->hdr.snapdir, rule, path))
		return -1;
	return FL_REAL(open)(snap, O_RDONLY | O_CLOEXEC);
}

/* A read served from the snapshot, at the real fd's offset (which then
 * advances as the real read would have). Writes never come here. */
static ssize_t stale_read(struct fl_io *io, struct fl_verdict *v)
{
	int saved = errno, s = snapshot_fd(io->fd, (unsigned)v->rule);
	bool positional = io->kind == FL_IO_PREAD || io->kind == FL_IO_PREADV2;
	off_t off;
	ssize_t r;

	errno = saved;
	if (s < 0 || (io->kind != FL_IO_READ && io->kind != FL_IO_PREAD &&
		      io->kind != FL_IO_READV && io->kind != FL_IO_PREADV2)) {
		if (s >= 0)
			FL_REAL(close)(s);
		return STALE_NO_SNAPSHOT;
	}
	off = positional ? io->off : lseek(io->fd, 0, SEEK_CUR);
	if (io->kind == FL_IO_READ || io->kind == FL_IO_PREAD)
		r = FL_REAL(pread)(s, io->buf, io->len, off);
	else
		r = FL_REAL(preadv2)(s, io->iov, io->iovcnt, off, 0);
	saved = errno;
	if (r > 0 && !positional)
		lseek(io->fd, r, SEEK_CUR);
	FL_REAL(close)(s);
	errno = saved;
	return r;
}

/* Faults on a file: op read, write or fsync. An fsync failure is reported
 * after a real fsync: the shim never keeps the program's data from disk. */
static ssize_t file_act(struct fl_io *io, struct fl_verdict *v)
{
	int64_t ns = fl__verdict_ns(v);
	ssize_t r;

	switch (v->fault) {
	case FL_FAULT_DELAY:
		fl__fault_sleep(v, ns);
		return done(v, fl__io_real(io, SIZE_MAX), ns);
	case FL_FAULT_LATE_ACK:
		r = fl__io_real(io, SIZE_MAX);
		fl__fault_sleep(v, ns);
		return done(v, r, ns);
	case FL_FAULT_ERROR:
		if (v->op == FL_OP_FSYNC)
			fl__io_real(io, SIZE_MAX);
		return done(v, fail(v->err), 0);
	case FL_FAULT_SHORT:
		return done(v, fl__io_real(io, (size_t)v->bytes), 0);
	case FL_FAULT_HOLD:
		return hold(io, v, fl_io_reads(io));
	case FL_FAULT_STALE:
		r = stale_read(io, v);
		return r == STALE_NO_SNAPSHOT ? fl__io_real(io, SIZE_MAX) : done(v, r, ns);
	}
	return fl__io_real(io, SIZE_MAX);
}

static unsigned io_op(const struct fl_io *io)
{
	if (io->kind >= FL_IO_FSYNC)
		return FL_OP_FSYNC;
	return fl_io_reads(io) ? FL_OP_READ : FL_OP_WRITE;
}

ssize_t fl__io(struct fl_io *io)
{
	unsigned cls = fl__class(io->fd);
	struct fl_ctl *c = atomic_load(&fl__ctl);
	struct fl_verdict v;
	unsigned kind;

	if (cls == FL_FD_NONE || !c || cls >= FL_MAX_TARGETS)
		return fl__io_real(io, SIZE_MAX);
	kind = c->targets[cls].kind;
	if (kind == FL_TK_TCP || kind == FL_TK_UDP || kind == FL_TK_UNIX)
		return io->kind >= FL_IO_FSYNC ? fl__io_real(io, SIZE_MAX) : sock_io(io, cls);
	if (!fl__decide(cls, io_op(io), &v))
		return fl__io_real(io, SIZE_MAX);
	return file_act(io, &v);
}
