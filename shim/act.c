/*
 * act.c — the act layer: the one place a verdict is carried out, for every
 * family (sockets, files, the resolver), and the waits it makes.
 *
 * fl__act(call, verdict): driven by the op's row of FL_OP_ACTS (ops.h):
 *  - error    instead of the call, or after it (fsync, close: the call is
 *             made, then reported failed); -1/errno or the code (resolve)
 *  - delay    a late peer: wait, then the real call (close: after it)
 *  - timeout  wait, then the op's timeout error (connect ETIMEDOUT, ...)
 *  - late_ack the real call, then the wait: its result arrives late
 *  - reset    RST the connection (the fd stays valid), ECONNRESET
 *  - short    the real call, capped
 *  - stale    files: served from the snapshot; sockets: a delay
 *  - hold     a gate: wait for the named call to have happened (at most
 *             max_ms), before the call or, for calls whose effect must not
 *             be lost (send, write, fsync, close), after it
 * On a non-blocking socket a wait is a readiness hide instead: the call
 * returns EAGAIN (connect: EINPROGRESS, already started) and poll/epoll/
 * select hide the fd until due (poll.c).
 *
 * Records: a fault that waits is journaled when it begins (so a program
 * that dies waiting leaves it), then an outcome with what really happened —
 * the real time waited, the real return. A hold ends with gate_open or
 * gate_timeout, the same for every op. Every targeted call, faulted or not,
 * "happens" (fl__passed_at: gates waiting on it open) when it returns,
 * after its delay; a call deferred by a readiness hide happens when the
 * program makes it (fl__happened_fd).
 *
 * Waits with the kernel's semantics (fl__wait). A delayed or held blocking
 * socket call is a call waiting on a late peer:
 *  - the socket's own SO_RCVTIMEO / SO_SNDTIMEO bound it (EAGAIN; a
 *    blocking connect: EINPROGRESS, the connect going on, socket(7));
 *  - a signal with a handler ends it as signal(7) says (fl__intr_class):
 *    EINTR without SA_RESTART, the wait goes on with it, EINTR whatever the
 *    flags when the socket has a timeout for the call's direction;
 *  - abort, the drill's end and the dead-man switch end it (the call is
 *    then made for real: pass-through).
 * How a signal is told apart. We sleep in the kernel (futex, in slices of
 * SLICE_NS); a handled signal makes that sleep return EINTR after its
 * handler ran — but not which signal it was, and the program may have both
 * kinds of handler (SIGCHLD with SA_RESTART, SIGALRM without). So, for a
 * restartable wait, the signals whose handler has SA_RESTART (read with
 * rt_sigaction(sig, NULL) when the wait begins) are blocked during each
 * slice of kernel sleep and unblocked between slices: an EINTR can then only
 * come from a handler without SA_RESTART, which is exactly the kernel's
 * EINTR case; SA_RESTART handlers run at the next slice boundary and the
 * wait goes on, as the kernel's restart would.
 * Limits: an SA_RESTART handler runs up to SLICE_NS (20 ms) late; a handler
 * installed or changed during the wait counts from the next wait; in a
 * multi-threaded program a process-directed signal may be taken by another
 * thread that does not block it (the kernel, with the real call, might have
 * chosen this one); glibc's internal signals (SIGCANCEL, SIGSETXID) are
 * deferred by up to a slice like any SA_RESTART handler; a handler that
 * longjmps out of the wait leaves the gate's waiter count one too high
 * (only extra wake-ups follow).
 *
 * Invariants: no malloc, no locks; errno as the kernel would leave it;
 * nothing printed. Counters, gate words and the journal are reached only
 * through FL_PASSED / FL_WAITERS / fl__journal (shim.h).
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"

#define SLICE_NS 20000000ll /* re-check the drill and let signals in this often */
#define NEVER INT64_MAX

/* ---- signals ------------------------------------------------------------- */

struct ksigaction { /* the kernel's struct sigaction (x86_64, arm64) */
	void *handler;
	unsigned long flags;
	void *restorer;
	uint64_t mask;
};

/* Signals whose handler has SA_RESTART, as a kernel sigset (64 bits). */
static uint64_t restart_set(void)
{
	uint64_t set = 0;
	struct ksigaction k;

	for (int s = 1; s <= 64; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		if (syscall(SYS_rt_sigaction, s, NULL, &k, 8) != 0)
			continue;
		if (k.handler != (void *)SIG_DFL && k.handler != (void *)SIG_IGN &&
		    (k.flags & SA_RESTART))
			set |= 1ull << (s - 1);
	}
	return set;
}

static void mask_swap(int how, const uint64_t *set, uint64_t *old)
{
	syscall(SYS_rt_sigprocmask, how, set, old, 8);
}

/* ---- waits --------------------------------------------------------------- */

static long futex_wait(void *addr, uint32_t val, int64_t ns)
{
	struct timespec ts = {ns / 1000000000ll, ns % 1000000000ll};
	return syscall(SYS_futex, addr, FUTEX_WAIT, val, &ts, NULL, 0);
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int fl__wait(const struct fl_wait *w, int64_t *waited)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_acquire);
	int64_t t0 = fl__mono_ns(), now = t0;
	uint64_t rs = 0, old = 0;
	int saved = errno, why;

	if (w->intr == FL_INTR_RESTART)
		rs = restart_set();
	if (w->gate && w->waiters)
		atomic_fetch_add(w->waiters, 1);
	for (;;) {
		uint64_t g = w->gate ? atomic_load(w->gate) : 0;
		why = fl__wait_step(w, now, g, c && fl__live(c, now));
		if (why >= 0)
			break;
		int64_t slice = min64(min64(w->end, w->bound) - now, SLICE_NS);
		if (rs)
			mask_swap(SIG_BLOCK, &rs, &old);
		long r = w->gate ? futex_wait((void *)w->gate, (uint32_t)g, slice)
				 : futex_wait(&c->hdr.state, FL_STATE_ACTIVE, slice);
		int e = r < 0 ? errno : 0;
		if (rs)
			mask_swap(SIG_SETMASK, &old, NULL); /* SA_RESTART handlers run */
		now = fl__mono_ns();
		if (e == EINTR && fl__intr_errno(w->intr, false)) {
			why = FL_W_INTR;
			break;
		}
	}
	if (w->gate && w->waiters)
		atomic_fetch_sub(w->waiters, 1);
	*waited = fl__mono_ns() - t0;
	errno = saved;
	return why;
}

/* ---- readiness hides -------------------------------------------------------- */

void fl__hide(int fd, int dir, int64_t due, uint64_t nth)
{
	struct fl_fdst *st = fl__fdst(fd);

	if (!st)
		return;
	atomic_store(&st->dirty, 1);
	st->pnth[dir] = nth;
	atomic_store(dir ? &st->wdue : &st->rdue, due);
	fl__pending_add(fd);
}

void fl__happened_fd(int fd, int dir, unsigned op)
{
	struct fl_ctl *c = atomic_load(&fl__ctl);
	struct fl_fdst *st = fl__fdst(fd);
	unsigned cls = fd >= 0 && (unsigned)fd < FL_FDTAB_SIZE ? fl__fdtab[fd] : 0;
	uint64_t nth;

	if (!c || !st || cls == 0 || cls >= FL_MAX_TARGETS)
		return;
	nth = st->pnth[dir];
	st->pnth[dir] = 0;
	if (nth) {
		int saved = errno;
		fl__passed_at(c, cls, op, nth);
		errno = saved;
	}
}

/* ---- records ---------------------------------------------------------------- */

static int64_t fail(int err)
{
	errno = err;
	return -1;
}

/* The op's failure: -1 with errno, or the error as the return value. */
static int64_t failure(const struct fl_op_act *a, int err)
{
	return a->fail == FL_FAIL_CODE ? err : fail(err);
}

static void begin(struct fl_verdict *v, int64_t planned_ns)
{
	if (v->journaled)
		return;
	fl__journal(v, FL_J_FAULT, 0, 0, planned_ns);
	v->journaled = true;
}

/* Journal the end of a fault (an outcome when it was journaled as begun):
 * returns r with errno as it was. */
static int64_t record(const struct fl_op_act *a, struct fl_verdict *v, int kind,
		      int64_t r, int64_t value_ns)
{
	int err = errno;
	fl__journal(v, kind, r, a->fail == FL_FAIL_ERRNO && r < 0 ? err : 0, value_ns);
	errno = err;
	return r;
}

/* ---- acting ------------------------------------------------------------------ */

static int64_t sock_timeo(const struct fl_call *k, const struct fl_op_act *a)
{
	return k->sock && a->dir != FL_DIR_NONE ? fl__sock_timeo(k->fd, a->dir) : 0;
}

/* Wait for verdict v (a delay of ns, or its gate), before or after the
 * real call; *end gets the planned end. */
static int act_wait(struct fl_call *k, const struct fl_op_act *a, struct fl_verdict *v,
		    bool before, int64_t *end, int64_t *waited)
{
	struct fl_ctl *c = atomic_load(&fl__ctl);
	bool hold = v->fault == FL_FAULT_HOLD;
	int64_t ns = hold ? v->until_max_ns : fl__verdict_ns(v), now, tmo;
	struct fl_wait w = {.bound = NEVER};

	*waited = 0;
	if (!hold && ns <= 0) {
		*end = 0;
		return FL_W_DUE; /* nothing to wait for: one record, written after */
	}
	now = fl__mono_ns();
	tmo = before ? sock_timeo(k, a) : 0;
	w.end = *end = now + ns;
	if (hold) {
		if (!c || v->until_target == 0 || v->until_target >= FL_MAX_TARGETS ||
		    v->until_op >= FL_OP__COUNT)
			return FL_W_DUE; /* a gate on nothing: released at once */
		w.gate = FL_PASSED(c, v->until_target, v->until_op);
		w.waiters = FL_WAITERS(c, v->until_target, v->until_op);
		w.gate_nth = v->until_nth;
	}
	if (tmo > 0)
		w.bound = now + tmo;
	w.intr = fl__intr_class(k->op, k->sock, tmo, before);
	begin(v, ns);
	return fl__wait(&w, waited);
}

static int hold_kind(int why)
{
	if (why == FL_W_GATE)
		return FL_J_GATE_OPEN;
	return why == FL_W_DUE || why == FL_W_ENDED ? FL_J_GATE_TIMEOUT : FL_J_OUTCOME;
}

/* A blocking connect whose SO_SNDTIMEO ended the wait: EINPROGRESS with the
 * connect going on (socket(7)); it shows as writable when the fault is due
 * (a timeout: it never connects, SO_ERROR says ETIMEDOUT then). */
static int64_t connect_in_progress(struct fl_call *k, struct fl_verdict *v, int64_t end)
{
	struct fl_fdst *st = fl__fdst(k->fd);
	int64_t r;

	if (v->fault == FL_FAULT_TIMEOUT && st) {
		atomic_store(&st->fake_conn, 1);
		atomic_store(&st->conn_err, ETIMEDOUT);
		fl__hide(k->fd, FL_DIR_OUT, end, 0);
		return fail(EINPROGRESS);
	}
	r = k->real(k, SIZE_MAX);
	if (r == 0 || errno == EINPROGRESS) {
		fl__hide(k->fd, FL_DIR_OUT, end, 0);
		return fail(EINPROGRESS);
	}
	return r;
}

/* delay, timeout, late_ack, hold, stale on a socket: a wait with the kernel's
 * semantics around the real call. */
static int64_t act_waiting(struct fl_call *k, const struct fl_op_act *a, struct fl_verdict *v)
{
	bool after = a->after & (1u << v->fault);
	int64_t r = 0, end, waited;
	int err = 0, why;

	if (after) {
		r = k->real(k, SIZE_MAX);
		err = errno;
	}
	why = act_wait(k, a, v, !after, &end, &waited);
	if (after)
		errno = err;
	else if (why == FL_W_INTR)
		r = fail(EINTR);
	else if (why == FL_W_BOUND && a->sotmo_err == EINPROGRESS)
		r = connect_in_progress(k, v, end);
	else if (why == FL_W_BOUND)
		r = fail(a->sotmo_err);
	else if (why == FL_W_DUE && v->fault == FL_FAULT_TIMEOUT)
		r = failure(a, a->tmo_err);
	else
		r = k->real(k, SIZE_MAX); /* due, gate opened, or the drill ended */
	return record(a, v, v->fault == FL_FAULT_HOLD ? hold_kind(why) : FL_J_FAULT, r,
		      waited);
}

/* A non-blocking socket: delays are delays of readiness. Returns true with
 * *r when the verdict was carried out that way. */
static bool act_nb(struct fl_call *k, const struct fl_op_act *a, struct fl_verdict *v,
		   int64_t *r)
{
	int64_t ns = fl__verdict_ns(v), due = fl__mono_ns() + ns;
	struct fl_fdst *st = fl__fdst(k->fd);

	if (!st || (v->fault != FL_FAULT_DELAY && v->fault != FL_FAULT_TIMEOUT &&
		    v->fault != FL_FAULT_STALE && v->fault != FL_FAULT_LATE_ACK))
		return false;
	if (v->fault == FL_FAULT_LATE_ACK) {
		*r = k->real(k, SIZE_MAX);
		fl__hide(k->fd, a->dir, due, 0);
	} else if (a->nb_err == EINPROGRESS && v->fault == FL_FAULT_TIMEOUT) {
		atomic_store(&st->fake_conn, 1); /* never connects; SO_ERROR when due */
		atomic_store(&st->conn_err, a->tmo_err);
		fl__hide(k->fd, a->dir, due, 0);
		*r = fail(EINPROGRESS);
	} else if (a->nb_err == EINPROGRESS) { /* started now, ready late */
		*r = k->real(k, SIZE_MAX);
		if (*r == 0 || errno == EINPROGRESS) {
			fl__hide(k->fd, a->dir, due, 0);
			*r = fail(EINPROGRESS);
		}
	} else { /* made when the program retries, once due: it happens then */
		fl__hide(k->fd, a->dir, due, v->nth);
		v->deferred = true;
		*r = fail(a->nb_err);
	}
	*r = record(a, v, FL_J_FAULT, *r, ns);
	return true;
}

static bool nonblocking(const struct fl_call *k, const struct fl_op_act *a)
{
	return k->sock && a->dir != FL_DIR_NONE && fl__nonblock(k->fd, k->msgflags);
}

static int64_t act_fault(struct fl_call *k, const struct fl_op_act *a, struct fl_verdict *v)
{
	int64_t r;

	if (nonblocking(k, a) && act_nb(k, a, v, &r))
		return r;
	switch (v->fault) {
	case FL_FAULT_ERROR:
		if (!(a->after & FL_AFTER(ERROR)))
			return record(a, v, FL_J_FAULT, failure(a, v->err), 0);
		r = k->real(k, SIZE_MAX); /* made, then reported failed */
		return record(a, v, FL_J_FAULT, r < 0 ? r : failure(a, v->err), 0);
	case FL_FAULT_RESET: {
		struct fl_fdst *st = fl__fdst(k->fd);
		fl__reset_conn(k->fd);
		if (st) {
			atomic_store(&st->dirty, 1);
			atomic_store(&st->reset, 1);
		}
		return record(a, v, FL_J_FAULT, fail(ECONNRESET), 0);
	}
	case FL_FAULT_SHORT:
		return record(a, v, FL_J_FAULT, k->real(k, (size_t)v->bytes), 0);
	case FL_FAULT_STALE:
		if (k->sock)
			return act_waiting(k, a, v); /* nothing new until it ends */
		r = k->stale ? k->stale(k, v) : FL_NO_STALE;
		if (r == FL_NO_STALE)
			return k->real(k, SIZE_MAX); /* no snapshot: nothing injected */
		return record(a, v, FL_J_FAULT, r, fl__verdict_ns(v));
	case FL_FAULT_DELAY:
	case FL_FAULT_TIMEOUT:
	case FL_FAULT_LATE_ACK:
	case FL_FAULT_HOLD:
		return act_waiting(k, a, v);
	}
	return k->real(k, SIZE_MAX);
}

/* The call has happened: gates waiting on it open (only where one waits). */
static void happened(const struct fl_verdict *v)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_relaxed);

	if (v->nth && c && v->target < FL_MAX_TARGETS && FL_WATCHED(c, v->target, v->op)) {
		int saved = errno;
		fl__passed_at(c, v->target, v->op, v->nth);
		errno = saved;
	}
}

int64_t fl__act(struct fl_call *k, struct fl_verdict *v)
{
	const struct fl_op_act *a;
	int64_t r;

	if (FL_LIKELY(v->fault == FL_FAULT_NONE) || !(a = fl__op_act(k->op))) {
		r = k->real(k, SIZE_MAX); /* forward */
		happened(v);
		return r;
	}
	v->deferred = false;
	r = act_fault(k, a, v);
	if (!v->deferred) /* deferred: it happens when the program makes it */
		happened(v);
	return r;
}
