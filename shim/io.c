/*
 * io.c — the data path: one slow path for read, write, recv, send and
 * their vector, positional, message and fortified forms.
 *
 * Semantics (README, "Faults"):
 *  - Sockets: on a non-blocking socket a delay is a delay of readiness: the
 *    call returns EAGAIN and poll/epoll/select hide the fd until it is due
 *    (poll.c), so the program's own timeouts still bound the wait. A
 *    non-blocking recv with nothing to read is not counted (its nth would
 *    depend on timing). On a blocking socket the call waits as for a late
 *    peer: signals and SO_RCVTIMEO/SO_SNDTIMEO end it as the kernel would
 *    (act.c).
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

static ssize_t fail(int err)
{
	errno = err;
	return -1;
}

/* A readiness hide decided earlier for this direction: still hidden
 * (EAGAIN; a blocking call waits for it as for a late peer), or due now
 * (make the real call, not counted again). */
int fl__pending_due(int fd, struct fl_fdst *st, int dir, unsigned op, bool nb,
		    ssize_t *ret)
{
	_Atomic int64_t *due = dir ? &st->wdue : &st->rdue;
	int64_t d = atomic_load(due), now, tmo, waited;

	if (!d)
		return -1;
	now = fl__mono_ns();
	if (d > now && !fl__hides_apply(now))
		d = now; /* the drill ended: due at once */
	if (d > now && nb) {
		*ret = fail(EAGAIN);
		return 1;
	}
	if (d > now) {
		tmo = fl__sock_timeo(fd, dir);
		struct fl_wait w = {.end = d, .bound = tmo > 0 ? now + tmo : INT64_MAX,
				    .intr = fl__intr_class(op, true, tmo, true)};
		int why = fl__wait(&w, &waited);
		if (why == FL_W_INTR || why == FL_W_BOUND) {
			*ret = fail(why == FL_W_INTR ? EINTR : EAGAIN);
			return 1;
		}
	}
	atomic_store(due, 0);
	if (!atomic_load(&st->rdue) && !atomic_load(&st->wdue))
		fl__pending_del(fd);
	/* a deferred call is made now; after a late readiness alone (late_ack,
	 * a connect) the call is a new one, decided as any other */
	return st->pnth[dir] ? 0 : -1;
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

static int64_t io_call(struct fl_call *k, size_t cap)
{
	return fl__io_real(k->ctx, cap);
}

/* What an earlier fault left on the socket: a reset (EOF / EPIPE), or a
 * readiness hide still pending or due (the deferred call is made now and
 * happens now). True with *r when the call is answered that way. */
static bool sock_pending(struct fl_io *io, int dir, unsigned op, int mf, ssize_t *r)
{
	struct fl_fdst *st = fl__fdst(io->fd);
	int p;

	if (!st || !atomic_load_explicit(&st->dirty, memory_order_relaxed))
		return false;
	if (atomic_load(&st->reset)) {
		*r = dir ? fail(EPIPE) : 0; /* we reset it: EOF / broken pipe */
		return true;
	}
	if (!atomic_load(&st->rdue) && !atomic_load(&st->wdue))
		return false;
	p = fl__pending_due(io->fd, st, dir, op, fl__nonblock(io->fd, mf), r);
	if (p == 0) {
		*r = fl__io_real(io, SIZE_MAX);
		fl__happened_fd(io->fd, dir, op);
	}
	return p >= 0;
}

static ssize_t sock_io(struct fl_io *io, unsigned t)
{
	int dir = fl_io_reads(io) ? FL_DIR_IN : FL_DIR_OUT;
	int mf = io->kind >= FL_IO_RECVFROM ? io->flags : 0;
	struct fl_call k = {.op = dir ? FL_OP_SEND : FL_OP_RECV, .fd = io->fd,
			    .sock = true, .msgflags = mf, .real = io_call, .ctx = io};
	struct fl_verdict v;
	ssize_t r;

	if (sock_pending(io, dir, k.op, mf, &r))
		return r;
	if (dir == FL_DIR_IN && fl__nonblock(io->fd, mf)) {
		int64_t m;
		if (fl__made_first(&k, t, &m))
			return m; /* no rule could fire: made, counted if it found data */
		if (nothing_to_read(io->fd))
			return fl__io_real(io, SIZE_MAX); /* not counted: timing would be */
	}
	fl__decide(t, k.op, &v);
	return fl__act(&k, &v);
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
static ssize_t stale_read(struct fl_io *io, const struct fl_verdict *v)
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

static int64_t stale_call(struct fl_call *k, const struct fl_verdict *v)
{
	ssize_t r = stale_read(k->ctx, v);
	return r == STALE_NO_SNAPSHOT ? FL_NO_STALE : r;
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
	struct fl_call k = {.op = io_op(io), .fd = io->fd, .real = io_call,
			    .stale = stale_call, .ctx = io};
	fl__decide(cls, k.op, &v);
	return fl__act(&k, &v);
}
