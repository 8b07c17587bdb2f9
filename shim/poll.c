/*
 * poll.c — readiness: poll, ppoll, select, pselect and epoll.
 *
 * A delayed or held call on a non-blocking socket hides the fd's readiness
 * until it is due (io.c, net.c record the due time and list the fd as
 * pending). Here every readiness call, when anything is pending, masks the
 * hidden fds, waits at most until the earliest due time, and loops until the
 * program's own timeout has really expired: a readiness call never returns 0
 * early (Python raises TimeoutError at once when poll() returns 0) and never
 * sleeps past the program's timeout (curl's --connect-timeout holds).
 *
 * With nothing pending (the common case) each call is one load and one
 * compare before the real call. epoll hides an fd by EPOLL_CTL_MOD without
 * the hidden events (or EPOLL_CTL_DEL for a socket whose connect was faked:
 * an unconnected socket reports EPOLLHUP whatever the mask) and restores it
 * when due; epoll_ctl keeps the program's view consistent meanwhile.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "io.h"

extern void __chk_fail(void) __attribute__((noreturn));

#define NEVER INT64_MAX
#define MAX_MASKED 64

static bool nothing_pending(void)
{
	if (FL_LIKELY(atomic_load_explicit(&fl__npending, memory_order_relaxed) == 0))
		return true;
	if (atomic_load_explicit(&fl__mode, memory_order_relaxed) == FL_MODE_WAITING)
		fl__attach_poll(); /* a drill may have started: attach lazily */
	return fl__nhidden() == 0;
}

static int64_t deadline_of(int64_t timeout_ns)
{
	return timeout_ns < 0 ? NEVER : fl__mono_ns() + timeout_ns;
}

static struct timespec ts_of(int64_t ns)
{
	if (ns < 0)
		ns = 0;
	return (struct timespec){ns / 1000000000ll, ns % 1000000000ll};
}

/* A wait with something hidden wakes at least this often to re-check that
 * the drill is still live (faults stop within 100 ms of an abort). */
#define RECHECK_NS 20000000ll

static int64_t wake_at(int64_t now, int64_t due, int64_t deadline)
{
	int64_t until = due < deadline ? due : deadline;
	if (due != NEVER && now + RECHECK_NS < until)
		until = now + RECHECK_NS;
	return until;
}

/* Which directions of fd are hidden at `now`; *due gets the earliest end. */
static unsigned hidden(int fd, int64_t now, int64_t *due, bool *fake)
{
	struct fl_fdst *st = fl__fdst(fd);
	unsigned h = 0;

	*fake = false;
	if (!st || !fl__hides_apply(now))
		return 0;
	int64_t r = atomic_load(&st->rdue), w = atomic_load(&st->wdue);
	if (r > now) {
		h |= 1;
		*due = r < *due ? r : *due;
	}
	if (w > now) {
		h |= 2;
		*due = w < *due ? w : *due;
		*fake = atomic_load(&st->fake_conn);
	}
	return h;
}

/* ---- poll / ppoll ------------------------------------------------------- */

struct masked {
	nfds_t i;
	int fd;
	short events;
};

static int mask_pollfds(struct pollfd *fds, nfds_t n, int64_t now, int64_t *due,
			struct masked *m)
{
	int k = 0;
	bool fake;

	for (nfds_t i = 0; i < n && k < MAX_MASKED; i++) {
		unsigned h = fds[i].fd >= 0 ? hidden(fds[i].fd, now, due, &fake) : 0;
		short ev = fds[i].events;
		if (!h)
			continue;
		m[k++] = (struct masked){i, fds[i].fd, ev};
		if (h & 1)
			ev &= (short)~(POLLIN | POLLRDNORM | POLLPRI);
		if (h & 2)
			ev &= (short)~(POLLOUT | POLLWRNORM);
		fds[i].events = ev;
		if (fake)
			fds[i].fd = ~fds[i].fd; /* ignored by the kernel: no HUP */
	}
	return k;
}

static void unmask_pollfds(struct pollfd *fds, const struct masked *m, int k)
{
	for (int j = 0; j < k; j++) {
		struct pollfd *p = &fds[m[j].i];
		if (p->fd != m[j].fd)
			p->revents = 0;
		p->fd = m[j].fd;
		p->events = m[j].events;
	}
}

static int poll_slow(struct pollfd *fds, nfds_t n, int64_t timeout_ns,
		     const sigset_t *sigmask)
{
	int64_t deadline = deadline_of(timeout_ns);
	struct masked m[MAX_MASKED];

	for (;;) {
		int64_t now = fl__mono_ns(), due = NEVER;
		int k = mask_pollfds(fds, n, now, &due, m);
		int64_t until = wake_at(now, due, deadline);
		struct timespec ts = ts_of(until - now);
		int r = FL_REAL(ppoll)(fds, n, until == NEVER ? NULL : &ts, sigmask);
		int err = errno;
		unmask_pollfds(fds, m, k);
		errno = err;
		if (r != 0 || k == 0 || fl__mono_ns() >= deadline)
			return r;
	}
}

FL_API int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (nothing_pending())
		return FL_REAL(poll)(fds, n, timeout);
	return poll_slow(fds, n, timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL);
}

FL_API int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return poll(fds, n, timeout);
}

static int64_t ns_of_ts(const struct timespec *t)
{
	return t ? (int64_t)t->tv_sec * 1000000000ll + t->tv_nsec : -1;
}

FL_API int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *t,
		 const sigset_t *sigmask)
{
	if (nothing_pending())
		return FL_REAL(ppoll)(fds, n, t, sigmask);
	return poll_slow(fds, n, ns_of_ts(t), sigmask);
}

FL_API int __ppoll_chk(struct pollfd *fds, nfds_t n, const struct timespec *t,
		       const sigset_t *sigmask, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		__chk_fail();
	return ppoll(fds, n, t, sigmask);
}

/* ---- select / pselect ----------------------------------------------------- */

struct fdsets {
	fd_set r, w, e;
};

static void copy_sets(struct fdsets *to, fd_set *r, fd_set *w, fd_set *e)
{
	if (r)
		to->r = *r;
	if (w)
		to->w = *w;
	if (e)
		to->e = *e;
}

/* Clear hidden fds from the input sets; returns how many were cleared. */
static int mask_sets(int nfds, fd_set *r, fd_set *w, int64_t now, int64_t *due)
{
	int k = 0;
	bool fake;

	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++) {
		bool want = (r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w));
		unsigned h = want ? hidden(fd, now, due, &fake) : 0;
		if ((h & 1 || fake) && r && FD_ISSET(fd, r)) {
			FD_CLR(fd, r);
			k++;
		}
		if (h & 2 && w && FD_ISSET(fd, w)) {
			FD_CLR(fd, w);
			k++;
		}
	}
	return k;
}

static int select_slow(int nfds, fd_set *r, fd_set *w, fd_set *e, int64_t timeout_ns,
		       const sigset_t *sigmask, int64_t *left)
{
	int64_t deadline = deadline_of(timeout_ns);
	struct fdsets in;

	copy_sets(&in, r, w, e);
	for (;;) {
		int64_t now = fl__mono_ns(), due = NEVER;
		int k = mask_sets(nfds, r, w, now, &due);
		int64_t until = wake_at(now, due, deadline);
		struct timespec ts = ts_of(until - now);
		int res = FL_REAL(pselect)(nfds, r, w, e, until == NEVER ? NULL : &ts, sigmask);
		now = fl__mono_ns();
		*left = deadline == NEVER ? -1 : (deadline > now ? deadline - now : 0);
		if (res != 0 || k == 0 || now >= deadline)
			return res;
		if (r)
			*r = in.r;
		if (w)
			*w = in.w;
		if (e)
			*e = in.e;
	}
}

FL_API int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	int64_t left;
	int res;

	if (nothing_pending())
		return FL_REAL(select)(nfds, r, w, e, tv);
	res = select_slow(nfds, r, w, e,
			  tv ? (int64_t)tv->tv_sec * 1000000000ll + tv->tv_usec * 1000ll : -1,
			  NULL, &left);
	if (tv && left >= 0) { /* Linux reports the time not slept */
		tv->tv_sec = left / 1000000000ll;
		tv->tv_usec = (left % 1000000000ll) / 1000;
	}
	return res;
}

FL_API int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
		   const struct timespec *t, const sigset_t *sigmask)
{
	int64_t left;

	if (nothing_pending())
		return FL_REAL(pselect)(nfds, r, w, e, t, sigmask);
	return select_slow(nfds, r, w, e, ns_of_ts(t), sigmask, &left);
}

/* ---- epoll ---------------------------------------------------------------- */

enum { EP_SHOWN = 0, EP_MODDED = 1, EP_DELETED = 2 };

FL_API int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct fl_fdst *st;
	int r;

	if (fl_fd_untargeted(fd) || !(st = fl__fdst(fd)))
		return FL_REAL(epoll_ctl)(epfd, op, fd, ev);
	if (atomic_load(&st->ep_hidden) != EP_SHOWN && atomic_load(&st->ep_fd) == epfd + 1) {
		/* the program's registration is parked by us: keep its view */
		if (op == EPOLL_CTL_ADD) {
			errno = EEXIST;
			return -1;
		}
		if (op == EPOLL_CTL_MOD && ev) {
			st->ep_events = ev->events;
			st->ep_data = ev->data.u64;
			return 0;
		}
		if (op == EPOLL_CTL_DEL) {
			if (atomic_load(&st->ep_hidden) == EP_MODDED)
				FL_REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, NULL);
			atomic_store(&st->ep_hidden, EP_SHOWN);
			atomic_store(&st->ep_fd, 0);
			return 0;
		}
	}
	r = FL_REAL(epoll_ctl)(epfd, op, fd, ev);
	if (r == 0 && (op == EPOLL_CTL_ADD || op == EPOLL_CTL_MOD) && ev) {
		st->ep_events = ev->events;
		st->ep_data = ev->data.u64;
		atomic_store(&st->dirty, 1); /* cleared when the fd is closed */
		atomic_store(&st->ep_fd, epfd + 1);
	} else if (r == 0 && op == EPOLL_CTL_DEL) {
		atomic_store(&st->ep_fd, 0);
	}
	return r;
}

/* Park or restore one pending fd's registration in epfd. */
static void ep_sync(int epfd, int fd, int64_t now, int64_t *due)
{
	struct fl_fdst *st = fl__fdst(fd);
	struct epoll_event ev;
	unsigned h;
	bool fake;

	if (!st || atomic_load(&st->ep_fd) != epfd + 1)
		return;
	h = hidden(fd, now, due, &fake);
	int state = atomic_load(&st->ep_hidden);
	ev.events = st->ep_events;
	ev.data.u64 = st->ep_data;
	if (h) {
		if (h & 1)
			ev.events &= ~(uint32_t)(EPOLLIN | EPOLLRDNORM | EPOLLPRI);
		if (h & 2)
			ev.events &= ~(uint32_t)(EPOLLOUT | EPOLLWRNORM);
		if (fake && state != EP_DELETED) {
			FL_REAL(epoll_ctl)(epfd, EPOLL_CTL_DEL, fd, NULL);
			atomic_store(&st->ep_hidden, EP_DELETED);
		} else if (!fake) {
			FL_REAL(epoll_ctl)(epfd, state == EP_DELETED ? EPOLL_CTL_ADD
								     : EPOLL_CTL_MOD, fd, &ev);
			atomic_store(&st->ep_hidden, EP_MODDED);
		}
	} else if (state != EP_SHOWN) {
		FL_REAL(epoll_ctl)(epfd, state == EP_DELETED ? EPOLL_CTL_ADD : EPOLL_CTL_MOD,
				   fd, &ev);
		atomic_store(&st->ep_hidden, EP_SHOWN);
	}
}

static int epoll_slow(int epfd, struct epoll_event *evs, int max, int64_t timeout_ns,
		      const sigset_t *sigmask)
{
	int64_t deadline = deadline_of(timeout_ns);
	int fds[256];

	for (;;) {
		int64_t now = fl__mono_ns(), due = NEVER;
		int n = fl__pending_list(fds, 256), saved = errno;
		for (int i = 0; i < n; i++)
			ep_sync(epfd, fds[i], now, &due);
		errno = saved;
		int64_t until = wake_at(now, due, deadline);
		struct timespec ts = ts_of(until - now);
		int r = FL_REAL(epoll_pwait2)(epfd, evs, max, until == NEVER ? NULL : &ts,
					      sigmask);
		if (r != 0 || due == NEVER || fl__mono_ns() >= deadline)
			return r;
	}
}

FL_API int epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	if (nothing_pending())
		return FL_REAL(epoll_wait)(epfd, evs, max, timeout);
	return epoll_slow(epfd, evs, max, timeout < 0 ? -1 : (int64_t)timeout * 1000000, NULL);
}

FL_API int epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
		       const sigset_t *sigmask)
{
	if (nothing_pending())
		return FL_REAL(epoll_pwait)(epfd, evs, max, timeout, sigmask);
	return epoll_slow(epfd, evs, max, timeout < 0 ? -1 : (int64_t)timeout * 1000000,
			  sigmask);
}

FL_API int epoll_pwait2(int epfd, struct epoll_event *evs, int max,
			const struct timespec *t, const sigset_t *sigmask)
{
	if (nothing_pending())
		return FL_REAL(epoll_pwait2)(epfd, evs, max, t, sigmask);
	return epoll_slow(epfd, evs, max, ns_of_ts(t), sigmask);
}
