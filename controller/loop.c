/*
 * loop.c — the event loop of loop.h on io_uring.
 *
 * Backend: fd interest is a one-shot IORING_OP_POLL_ADD re-armed after each
 * completion (works on every kernel with io_uring, unlike multishot poll);
 * timers live in a small array in user space and set the timeout of the one
 * io_uring_submit_and_wait_timeout per iteration. A handful of timers and
 * fds is all the controller has, so linear scans beat a heap here (ae.c does
 * the same).
 *
 * Invariants
 *  - A poll's user_data carries its slot and the slot's generation; a
 *    completion whose generation is old (the interest was removed or the
 *    slot reused) is ignored, so removal never races with a late completion.
 *  - Handlers may add or remove timers and fds: no pointer into the arrays
 *    is held across a handler call.
 */
#include <errno.h>
#include <liburing.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "loop.h"

#define FL__LOOP_ENTRIES 64

struct fl__timer {
	long long id; /* 0 = free slot */
	int64_t when, period;
	fl_timer_fn *fn;
	void *arg;
};

struct fl__watch {
	long long id; /* 0 = free slot */
	int fd;
	bool armed;   /* a poll request is in flight */
	uint32_t gen; /* bumped on add and on delete */
	fl_fd_fn *fn;
	void *arg;
};

struct fl_loop {
	struct io_uring ring;
	int64_t now;
	long long next_id;
	bool stop;
	struct fl__timer *tm;
	size_t ntm;
	struct fl__watch *fw;
	size_t nfw;
	fl_hook_fn *hook;
	void *hook_arg;
};

static int64_t fl__loop_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int fl_loop_new(struct fl_loop **out)
{
	struct fl_loop *l = calloc(1, sizeof(*l));
	int err;

	*out = NULL;
	if (!l)
		return -ENOMEM;
	/* The ring fd is O_CLOEXEC (the kernel always sets it): a spawned
	 * program does not inherit it. */
	err = io_uring_queue_init(FL__LOOP_ENTRIES, &l->ring, 0);
	if (err < 0) {
		free(l);
		return err;
	}
	l->next_id = 1;
	l->now = fl__loop_clock();
	*out = l;
	return 0;
}

void fl_loop__free(struct fl_loop *l)
{
	if (!l)
		return;
	io_uring_queue_exit(&l->ring);
	free(l->tm);
	free(l->fw);
	free(l);
}

int64_t fl_loop_now(const struct fl_loop *l)
{
	return l->now;
}

void fl_loop_set_before_sleep(struct fl_loop *l, fl_hook_fn *fn, void *arg)
{
	l->hook = fn;
	l->hook_arg = arg;
}

void fl_loop_stop(struct fl_loop *l)
{
	l->stop = true;
}

/* Grow an array of `size`-byte slots whose first member is a long long id
 * (0 = free); return a free slot's index or -1. */
static long fl__slot(void **arr, size_t *n, size_t size)
{
	char *a = *arr;
	void *b;

	for (size_t i = 0; i < *n; i++)
		if (*(long long *)(a + i * size) == 0)
			return (long)i;
	b = realloc(a, (*n + 8) * size);
	if (!b)
		return -1;
	memset((char *)b + *n * size, 0, 8 * size);
	*arr = b;
	*n += 8;
	return (long)(*n - 8);
}

/* ---- timers ---------------------------------------------------------------- */

long long fl_loop_timer_add(struct fl_loop *l, int64_t delay_ns,
			    int64_t period_ns, fl_timer_fn *fn, void *arg)
{
	long i = fl__slot((void **)&l->tm, &l->ntm, sizeof(*l->tm));

	if (i < 0)
		return -ENOMEM;
	l->tm[i] = (struct fl__timer){
		.id = l->next_id++,
		.when = fl__loop_clock() + (delay_ns > 0 ? delay_ns : 0),
		.period = period_ns > 0 ? period_ns : 0,
		.fn = fn,
		.arg = arg,
	};
	return l->tm[i].id;
}

int fl_loop_timer_del(struct fl_loop *l, long long id)
{
	for (size_t i = 0; i < l->ntm; i++) {
		if (id > 0 && l->tm[i].id == id) {
			l->tm[i].id = 0;
			return 0;
		}
	}
	return -ENOENT;
}

/* The due timer to fire next: earliest deadline, then lowest id; only
 * timers that existed when this pass began (so a handler adding a zero-delay
 * timer cannot starve the loop). */
static long fl__timer_next(const struct fl_loop *l, long long max_id)
{
	long best = -1;

	for (size_t i = 0; i < l->ntm; i++) {
		const struct fl__timer *t = &l->tm[i];

		if (t->id == 0 || t->id >= max_id || t->when > l->now)
			continue;
		if (best < 0 || t->when < l->tm[best].when ||
		    (t->when == l->tm[best].when && t->id < l->tm[best].id))
			best = (long)i;
	}
	return best;
}

static void fl__timers_run(struct fl_loop *l)
{
	long long max_id = l->next_id;
	long i;

	while (!l->stop && (i = fl__timer_next(l, max_id)) >= 0) {
		struct fl__timer t = l->tm[i];

		if (t.period) {
			l->tm[i].when += t.period;
			if (l->tm[i].when <= l->now)
				l->tm[i].when = l->now + t.period;
		} else {
			l->tm[i].id = 0;
		}
		t.fn(l, t.id, t.arg);
	}
}

/* ns until the earliest timer (0 if due), or -1 when there is none. */
static int64_t fl__timer_wait(const struct fl_loop *l)
{
	int64_t best = -1, now = fl__loop_clock();

	for (size_t i = 0; i < l->ntm; i++) {
		int64_t d;

		if (l->tm[i].id == 0)
			continue;
		d = l->tm[i].when - now;
		if (d < 0)
			d = 0;
		if (best < 0 || d < best)
			best = d;
	}
	return best;
}

/* ---- fds ------------------------------------------------------------------- */

static uint64_t fl__udata(size_t slot, uint32_t gen)
{
	return ((uint64_t)gen << 32) | (uint64_t)slot;
}

static int fl__watch_arm(struct fl_loop *l, size_t i)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

	if (!sqe) {
		io_uring_submit(&l->ring);
		sqe = io_uring_get_sqe(&l->ring);
		if (!sqe)
			return -EBUSY;
	}
	io_uring_prep_poll_add(sqe, l->fw[i].fd, POLLIN);
	io_uring_sqe_set_data64(sqe, fl__udata(i, l->fw[i].gen));
	l->fw[i].armed = true;
	return 0;
}

long long fl_loop_fd_add(struct fl_loop *l, int fd, fl_fd_fn *fn, void *arg)
{
	long i = fl__slot((void **)&l->fw, &l->nfw, sizeof(*l->fw));
	int err;

	if (fd < 0)
		return -EBADF;
	if (i < 0)
		return -ENOMEM;
	l->fw[i].id = l->next_id++;
	l->fw[i].fd = fd;
	l->fw[i].gen++;
	l->fw[i].fn = fn;
	l->fw[i].arg = arg;
	err = fl__watch_arm(l, (size_t)i);
	if (err) {
		l->fw[i].id = 0;
		return err;
	}
	return l->fw[i].id;
}

int fl_loop_fd_del(struct fl_loop *l, long long id)
{
	for (size_t i = 0; i < l->nfw; i++) {
		struct fl__watch *w = &l->fw[i];
		struct io_uring_sqe *sqe;

		if (id <= 0 || w->id != id)
			continue;
		if (w->armed && (sqe = io_uring_get_sqe(&l->ring))) {
			io_uring_prep_poll_remove(sqe, fl__udata(i, w->gen));
			io_uring_sqe_set_data64(sqe, UINT64_MAX);
			/* Submit now: the caller may close the fd next. */
			io_uring_submit(&l->ring);
		}
		w->id = 0;
		w->armed = false;
		w->gen++;
		return 0;
	}
	return -ENOENT;
}

static void fl__watch_done(struct fl_loop *l, uint64_t ud, int res)
{
	size_t i = (size_t)(ud & 0xffffffffu);
	struct fl__watch w;

	if (ud == UINT64_MAX || i >= l->nfw || l->fw[i].id == 0 ||
	    l->fw[i].gen != (uint32_t)(ud >> 32))
		return; /* a removal, or an interest that no longer exists */
	l->fw[i].armed = false;
	w = l->fw[i];
	if (res < 0) {
		/* The fd went bad under us: say so once and forget it. */
		l->fw[i].id = 0;
		l->fw[i].gen++;
		w.fn(l, w.fd, POLLNVAL, w.arg);
		return;
	}
	w.fn(l, w.fd, res, w.arg);
	if (l->fw[i].id == w.id && l->fw[i].gen == w.gen && !l->fw[i].armed)
		fl__watch_arm(l, i);
}

/* ---- the loop ------------------------------------------------------------ */

/* Wait for a completion or the next timer; then handle every completion. */
static int fl__loop_poll(struct fl_loop *l)
{
	struct io_uring_cqe *cqe = NULL;
	struct __kernel_timespec ts;
	int64_t wait = fl__timer_wait(l);
	int err;

	ts.tv_sec = wait / 1000000000ll;
	ts.tv_nsec = wait % 1000000000ll;
	if (wait == 0)
		err = io_uring_submit(&l->ring);
	else
		err = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1,
						       wait < 0 ? NULL : &ts, NULL);
	if (err < 0 && err != -ETIME && err != -EINTR && err != -EAGAIN &&
	    err != -EBUSY)
		return err;
	l->now = fl__loop_clock();
	while (io_uring_peek_cqe(&l->ring, &cqe) == 0) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;

		/* Seen before the handler runs: it may re-arm and submit. */
		io_uring_cqe_seen(&l->ring, cqe);
		fl__watch_done(l, ud, res);
	}
	return 0;
}

int fl_loop_run(struct fl_loop *l)
{
	int err = 0;

	l->stop = false;
	l->now = fl__loop_clock();
	while (!l->stop) {
		fl__timers_run(l);
		if (l->stop)
			break;
		if (l->hook)
			l->hook(l, l->hook_arg);
		if (l->stop)
			break;
		err = fl__loop_poll(l);
		if (err)
			break;
	}
	return err;
}
