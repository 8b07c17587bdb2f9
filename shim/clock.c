/*
 * clock.c — clock faults: what a program reads from its clocks, and the
 * absolute-deadline waits a shifted clock would otherwise break.
 *
 * Wraps: reads clock_gettime, gettimeofday, time, timespec_get; waits
 * clock_nanosleep (TIMER_ABSTIME), pthread_cond_timedwait,
 * pthread_cond_clockwait, sem_timedwait, sem_clockwait, timerfd_settime
 * (TFD_TIMER_ABSTIME; the old value's remaining time) and timerfd_gettime.
 * Relative waits (nanosleep, poll timeouts, ...) are left alone.
 *
 * Families: REALTIME (its _COARSE and _ALARM clocks, TAI, gettimeofday,
 * time), MONOTONIC (_COARSE, _RAW), BOOTTIME (_ALARM). A family's fake value
 * is a pure function of the real value read and the run time (pure_clock.c).
 *
 * Where the fake time comes from (the "plan"), first that applies:
 *   1. the control block's clock rules, while the drill is live;
 *   2. FAKETIME, libfaketime's common forms, parsed once in our constructor
 *      (monotonic and boottime faked too unless FAKETIME_DONT_FAKE_MONOTONIC
 *      =1, as libfaketime documents);
 *   3. real time.
 * A switch of plan (attach, rules republished, drill over or controller
 * dead) carries the difference on monotonic and boottime so they never go
 * backwards; realtime follows the new plan at once (pass-through).
 *
 * Invariants
 *  - A read never enters the kernel: one real (vDSO) read plus arithmetic on
 *    an immutable plan. Untargeted: one load, one compare, the real call.
 *  - No malloc, no locks a reader waits on (a plan being rebuilt is retried
 *    or the previous one used), no getenv or output after the constructor;
 *    errno is untouched on success.
 *  - Plans live in a ring of static slots, each under a sequence count.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"

#define NS 1000000000ll
#define MAX_SEC (INT64_MAX / NS - 1)

/* ---- (1) clock ids, families, run time ------------------------------------ */

#define CLK_IDS 12
static const int8_t fam_of[CLK_IDS] = {
	[CLOCK_REALTIME] = FL_CLK_REALTIME,
	[CLOCK_MONOTONIC] = FL_CLK_MONOTONIC,
	[CLOCK_PROCESS_CPUTIME_ID] = -1,
	[CLOCK_THREAD_CPUTIME_ID] = -1,
	[CLOCK_MONOTONIC_RAW] = FL_CLK_MONOTONIC,
	[CLOCK_REALTIME_COARSE] = FL_CLK_REALTIME,
	[CLOCK_MONOTONIC_COARSE] = FL_CLK_MONOTONIC,
	[CLOCK_BOOTTIME] = FL_CLK_BOOTTIME,
	[CLOCK_REALTIME_ALARM] = FL_CLK_REALTIME,
	[CLOCK_BOOTTIME_ALARM] = FL_CLK_BOOTTIME,
	[10] = -1, /* CLOCK_SGI_CYCLE, unused */
	[CLOCK_TAI] = FL_CLK_REALTIME,
};

static inline int family(clockid_t id)
{
	return (unsigned)id < CLK_IDS ? fam_of[id] : -1;
}

static inline int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * NS + ts->tv_nsec;
}

static inline void ns_ts(int64_t ns, struct timespec *ts)
{
	int64_t s = ns / NS, r = ns % NS;
	if (r < 0) {
		r += NS;
		s--;
	}
	ts->tv_sec = (time_t)s;
	ts->tv_nsec = (long)r;
}

/* Run time of a realtime-family read without a second clock read:
 * CLOCK_MONOTONIC minus clock id, sampled at `at` (monotonic), resampled
 * when an estimate leaves [at - 10 ms, at + 200 ms] (a step, or just time:
 * NTP slews at most 0.1 ms in 200 ms). Realtime may jump; the monotonic
 * family and boottime map with a fixed epoch per plan instead (see
 * plan.id_epoch), so their run time never jumps back. */
static struct {
	_Atomic int64_t off, at;
} to_mono[CLK_IDS];

static int64_t mono_of(clockid_t id, int64_t v)
{
	int64_t m, at;

	m = v + atomic_load_explicit(&to_mono[id].off, memory_order_relaxed);
	at = atomic_load_explicit(&to_mono[id].at, memory_order_relaxed);
	if (FL_LIKELY(m >= at - 10000000 && m <= at + 200000000))
		return m;
	m = fl__mono_ns();
	atomic_store_explicit(&to_mono[id].off, m - v, memory_order_relaxed);
	atomic_store_explicit(&to_mono[id].at, m, memory_order_relaxed);
	return m;
}

/* ---- (2) plans ------------------------------------------------------------- */

#define NO_EPOCH INT64_MIN
#define OPEN INT64_MAX             /* plan.closing: in force */
#define CLOSING (INT64_MAX - 1)    /* plan.closing: being closed */

struct plan {
	_Atomic uint32_t seq;     /* odd while being written */
	uint8_t has_rules;        /* the block has clock rules (liveness matters) */
	uint8_t live;             /* ... and was live: fn are the block's */
	uint8_t needs_t;          /* reads need the run time */
	uint8_t pieces;           /* some fn is piecewise */
	uint8_t ft;               /* key: FAKETIME was understood */
	struct fl_ctl *ctl;       /* key: the block in force (NULL: none) */
	uint32_t gen;             /* key: its rules' generation */
	int64_t epoch;            /* monotonic ns of run time 0 */
	/* monotonic time after which this plan, superseded, stops moving: a
	 * reader that was late to see the switch clamps its run time there,
	 * where the next plan took over (and carried the difference) */
	_Atomic int64_t closing;
	/* value of clock id at run time 0 (monotonic family, boottime): their
	 * run time is v - id_epoch, never back; NO_EPOCH: realtime family */
	int64_t id_epoch[CLK_IDS];
	int64_t rt_minus_tai;     /* CLOCK_REALTIME - CLOCK_TAI, whole seconds */
	struct fl_clkfn fn[FL_CLK__COUNT];
};

#define NPLANS 4
static struct plan plans[NPLANS] = {[0] = {.closing = OPEN}}; /* [0]: real time */
static struct plan *_Atomic cur = &plans[0];
static unsigned cur_idx;          /* under build_lock */
static atomic_flag build_lock = ATOMIC_FLAG_INIT;

static bool ft_valid;             /* FAKETIME understood (constructor) */
static int64_t ft_epoch;
static struct fl_clkfn ft_fn[FL_CLK__COUNT];

/* The untargeted path: no clock rule in the block, nothing else faked
 * (FL_HAS_CLKFAKE: the plan in force fakes something): one load, one test. */
static inline bool clk_armed(void)
{
	return FL_UNLIKELY(atomic_load_explicit(&fl__has, memory_order_relaxed) &
			   (FL_HAS_CLOCK | FL_HAS_CLKFAKE));
}

static bool block_has_clock_rules(const struct fl_ctl *c, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (c->rules[i].flags & FL_RF_CLOCK)
			return true;
	return false;
}

/* Real values now of the clocks a plan maps, by clock id; mono first. */
static void read_now(int64_t *now)
{
	static const clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE,
					CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME, CLOCK_REALTIME,
					CLOCK_TAI};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct timespec ts = {0, 0};
		FL_REAL(clock_gettime)(ids[i], &ts);
		now[ids[i]] = ts_ns(&ts);
	}
}

static void plan_map(struct plan *np, const int64_t *now)
{
	int64_t e = np->epoch, m = now[CLOCK_MONOTONIC];
	int64_t rt = now[CLOCK_REALTIME], tai = now[CLOCK_TAI];

	for (int i = 0; i < CLK_IDS; i++)
		np->id_epoch[i] = NO_EPOCH;
	np->id_epoch[CLOCK_MONOTONIC] = np->id_epoch[CLOCK_MONOTONIC_COARSE] = e;
	np->id_epoch[CLOCK_MONOTONIC_RAW] = e + now[CLOCK_MONOTONIC_RAW] - m;
	np->id_epoch[CLOCK_BOOTTIME] = np->id_epoch[CLOCK_BOOTTIME_ALARM] =
		e + now[CLOCK_BOOTTIME] - m;
	np->rt_minus_tai = (rt - tai + (rt > tai ? NS / 2 : -NS / 2)) / NS * NS;
}

/* The key of the plan for the current state: the block in force, its
 * rules' generation, whether it has clock rules and is live (at monotonic
 * time m), and FAKETIME. -1 when the rules are being written. */
static int plan_key(struct plan *np, int64_t m)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_acquire);

	np->ctl = c;
	np->gen = 0;
	np->has_rules = np->live = 0;
	np->ft = ft_valid;
	for (int tries = 0; c; tries++) {
		uint32_t g = atomic_load_explicit(&c->hdr.gen, memory_order_acquire);
		unsigned nr = c->hdr.nrules < FL_MAX_RULES ? c->hdr.nrules : FL_MAX_RULES;
		if (tries > 64)
			return -1;
		if (g & 1)
			continue;
		np->has_rules = block_has_clock_rules(c, nr);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&c->hdr.gen, memory_order_relaxed) == g) {
			np->gen = g;
			np->live = np->has_rules && fl__live(c, m);
			return 0;
		}
	}
	return 0;
}

static bool same_key(const struct plan *a, const struct plan *b)
{
	return a->ctl == b->ctl && a->gen == b->gen && a->has_rules == b->has_rules &&
	       a->live == b->live && a->ft == b->ft;
}

/* Fill np's functions for its key: the block's rules (read under its
 * seqlock), FAKETIME, or real time. -1 when the rules changed meanwhile. */
static int plan_fill(struct plan *np, const int64_t *now)
{
	struct fl_ctl *c = np->ctl;

	atomic_store_explicit(&np->closing, OPEN, memory_order_relaxed);
	if (np->live) {
		unsigned nr = c->hdr.nrules < FL_MAX_RULES ? c->hdr.nrules : FL_MAX_RULES;
		for (int k = 0; k < FL_CLK__COUNT; k++)
			fl__clkfn_build(&np->fn[k], c->rules, nr, (unsigned)k);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&c->hdr.gen, memory_order_relaxed) != np->gen)
			return -1;
		np->epoch = c->hdr.epoch_mono_ns;
		np->fn[FL_CLK_REALTIME].base = c->hdr.epoch_real_ns;
		np->fn[FL_CLK_MONOTONIC].base = np->epoch;
		np->fn[FL_CLK_BOOTTIME].base =
			np->epoch + now[CLOCK_BOOTTIME] - now[CLOCK_MONOTONIC];
	} else if (ft_valid) {
		memcpy(np->fn, ft_fn, sizeof(ft_fn));
		np->epoch = ft_epoch;
	} else {
		for (int k = 0; k < FL_CLK__COUNT; k++)
			fl__clkfn_linear(&np->fn[k], 0, 0);
		np->epoch = 0;
	}
	plan_map(np, now);
	np->pieces = 0;
	for (int k = 0; k < FL_CLK__COUNT; k++)
		np->pieces |= np->fn[k].kind == FL_CLKFN_PIECES;
	np->needs_t = np->has_rules || np->pieces;
	return 0;
}

/* Monotonic time of clock id's real value v, as plan p maps it. */
static inline int64_t plan_mono(const struct plan *p, clockid_t id, int64_t v)
{
	return p->id_epoch[id] != NO_EPOCH ? v - p->id_epoch[id] + p->epoch : mono_of(id, v);
}

/* The fake value of piecewise fn for clock id's real value v, monotonic
 * time m (run time m - epoch), under plan p. */
static int64_t apply_pieces(const struct plan *p, const struct fl_clkfn *fn, clockid_t id,
			    int64_t v, int64_t m)
{
	int64_t tc = atomic_load(&p->closing), k;

	if (FL_UNLIKELY(tc != OPEN) && m > tc)
		m = tc; /* superseded: stand where the next plan took over */
	/* a frozen span reads the family's canonical value: map _RAW and
	 * TAI onto their family's clock and back */
	k = id == CLOCK_MONOTONIC_RAW ? p->epoch - p->id_epoch[id]
	    : id == CLOCK_TAI	      ? p->rt_minus_tai : 0;
	return fl__clkfn_apply(fn, v + k, m - p->epoch) - k;
}

/* The fake value of clock id (family fam) for real value v under plan p. */
static int64_t eval_in(const struct plan *p, int fam, clockid_t id, int64_t v)
{
	const struct fl_clkfn *fn = &p->fn[fam];

	if (fn->kind == FL_CLKFN_PIECES)
		return apply_pieces(p, fn, id, v, plan_mono(p, id, v));
	return fl__clkfn_apply(fn, v, 0);
}

/* Monotonic and boottime never go backwards across a switch: carry what
 * the old plan (closed: it stands at the switch) gave beyond the new one,
 * on every clock of the family (_COARSE lags, _RAW maps with its own
 * sampling error). A piecewise old plan is taken 1 us later for margin. */
static void plan_carry(const struct plan *old, struct plan *np, const int64_t *now)
{
	static const clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE,
					CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME};
	int64_t need[FL_CLK__COUNT] = {0, 0, 0};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		int fam = family(ids[i]);
		int64_t d = old->fn[fam].kind == FL_CLKFN_PIECES ? 1000 : 0;
		int64_t a = eval_in(old, fam, ids[i], now[ids[i]] + d);
		int64_t b = eval_in(np, fam, ids[i], now[ids[i]]);
		if (a - b > need[fam])
			need[fam] = a - b;
	}
	for (int k = FL_CLK_MONOTONIC; k < FL_CLK__COUNT; k++)
		fl__clkfn_shift(&np->fn[k], need[k]);
}

static bool plan_fakes(const struct plan *p)
{
	for (int k = 0; k < FL_CLK__COUNT; k++)
		if (p->fn[k].kind != FL_CLKFN_IDENT)
			return true;
	return false;
}

/* Put the plan for the current state in force, if it is not already (its
 * liveness judged at the real monotonic now: one answer for every reader,
 * whatever clock it read). One builder at a time; a caller that finds one
 * at work keeps using the old plan.
 * Closing protocol: old.closing = CLOSING, then read the switch time, then
 * old.closing = that time; a reader that saw OPEN read its clock before the
 * switch time, one that sees a time clamps to it. */
static void plan_switch(void)
{
	int64_t now[CLK_IDS] = {0};
	struct plan *old, *np;
	unsigned idx;
	int saved = errno;

	if (atomic_flag_test_and_set_explicit(&build_lock, memory_order_acquire))
		return;
	read_now(now);
	old = atomic_load_explicit(&cur, memory_order_relaxed);
	idx = (cur_idx + 1) % NPLANS;
	np = &plans[idx];
	atomic_fetch_add_explicit(&np->seq, 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	if (plan_key(np, now[CLOCK_MONOTONIC]) == 0 && !same_key(np, old) &&
	    plan_fill(np, now) == 0) {
		atomic_store(&old->closing, CLOSING);
		read_now(now);
		atomic_store(&old->closing, now[CLOCK_MONOTONIC]);
		plan_carry(old, np, now);
		atomic_fetch_add_explicit(&np->seq, 1, memory_order_release);
		cur_idx = idx;
		atomic_store_explicit(&cur, np, memory_order_release);
		if (plan_fakes(np))
			atomic_fetch_or(&fl__has, FL_HAS_CLKFAKE);
		else
			atomic_fetch_and(&fl__has, ~FL_HAS_CLKFAKE);
	} else {
		atomic_fetch_add_explicit(&np->seq, 1, memory_order_release);
	}
	errno = saved;
	atomic_flag_clear_explicit(&build_lock, memory_order_release);
}

/* Is p still the plan for the current state? m: monotonic now (estimate). */
static inline bool plan_fresh(const struct plan *p, int64_t m)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_relaxed);

	if (c != p->ctl)
		return false;
	if (!c)
		return true;
	if (atomic_load_explicit(&c->hdr.gen, memory_order_relaxed) != p->gen)
		return false;
	return !p->has_rules || fl__live(c, m) == p->live;
}

/* The fake value of clock id (family fam) whose real value is v. With a
 * fake deadline (dl != NULL) *wait gets the real ns to wait for it, or -1
 * when the family is not faked. */
static int64_t plan_eval(clockid_t id, int fam, int64_t v, const int64_t *dl,
			 int64_t *wait)
{
	for (int tries = 0;; tries++) {
		const struct plan *p = atomic_load_explicit(&cur, memory_order_acquire);
		uint32_t s = atomic_load_explicit(&p->seq, memory_order_acquire);
		const struct fl_clkfn *fn = &p->fn[fam];
		int64_t m = 0, f;

		if (FL_UNLIKELY(s & 1) && tries < 1000)
			continue; /* the slot was reused under us: reload */
		if (p->needs_t)
			m = plan_mono(p, id, v);
		if (FL_UNLIKELY(!plan_fresh(p, m)) && tries == 0) {
			plan_switch(); /* may keep p: its key was right after all */
			continue;
		}
		if (FL_LIKELY(fn->kind == FL_CLKFN_CONST))
			f = v + fn->c;
		else if (fn->kind == FL_CLKFN_PIECES)
			f = apply_pieces(p, fn, id, v, m);
		else
			f = fl__clkfn_apply(fn, v, 0);
		if (dl) {
			if (fn->kind == FL_CLKFN_IDENT)
				*wait = -1;
			else if (*dl <= f)
				*wait = 0; /* already passed: now */
			else if (fn->kind == FL_CLKFN_CONST)
				*wait = *dl - f;
			else
				*wait = fl__clkfn_wait(fn, m - p->epoch, *dl - f);
		}
		atomic_thread_fence(memory_order_acquire);
		if (FL_LIKELY(atomic_load_explicit(&p->seq, memory_order_relaxed) == s) ||
		    tries >= 1000)
			return f;
	}
}

/* Fake the value the real clock_gettime(id) left in *ts. */
static void fake_ts(clockid_t id, struct timespec *ts)
{
	int fam = family(id);

	if (fam >= 0)
		ns_ts(plan_eval(id, fam, ts_ns(ts), NULL, NULL), ts);
}

/* The real absolute deadline on clock id for the program's fake one: abs
 * itself when the clock is not faked (or abs is not a valid deadline: the
 * real call reports that), else buf. errno untouched. */
static const struct timespec *real_deadline(clockid_t id, const struct timespec *abs,
					    struct timespec *buf)
{
	int fam = family(id), saved = errno;
	struct timespec now;
	int64_t dl, wait = -1, v;

	if (fam < 0 || !abs || abs->tv_nsec < 0 || abs->tv_nsec >= NS ||
	    abs->tv_sec < 0 || abs->tv_sec > MAX_SEC)
		return abs;
	if (FL_REAL(clock_gettime)(id, &now) != 0) {
		errno = saved;
		return abs;
	}
	v = ts_ns(&now);
	dl = ts_ns(abs);
	plan_eval(id, fam, v, &dl, &wait);
	errno = saved;
	if (wait < 0)
		return abs;
	ns_ts(v > INT64_MAX - wait ? INT64_MAX : v + wait, buf);
	return buf;
}

/* ---- (3) reads ------------------------------------------------------------- */

FL_API int clock_gettime(clockid_t id, struct timespec *ts)
{
	int r;

	if (FL_LIKELY(!clk_armed()))
		return FL_REAL(clock_gettime)(id, ts);
	r = FL_REAL(clock_gettime)(id, ts);
	if (r == 0)
		fake_ts(id, ts);
	return r;
}

FL_API int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	if (FL_LIKELY(!clk_armed())) /* tv is declared nonnull */
		return FL_REAL(gettimeofday)(tv, tz);
	if (tz && FL_REAL(gettimeofday)(tv, tz) != 0) /* fills tz */
		return -1;
	FL_REAL(clock_gettime)(CLOCK_REALTIME, &ts);
	fake_ts(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

/* time() is the vDSO's coarse realtime seconds: fake that clock. */
FL_API time_t time(time_t *t)
{
	struct timespec ts;

	if (FL_LIKELY(!clk_armed()))
		return FL_REAL(time)(t);
	FL_REAL(clock_gettime)(CLOCK_REALTIME_COARSE, &ts);
	fake_ts(CLOCK_REALTIME_COARSE, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

FL_API int timespec_get(struct timespec *ts, int base)
{
	if (FL_LIKELY(!clk_armed()) || base != TIME_UTC)
		return FL_REAL(timespec_get)(ts, base);
	if (FL_REAL(clock_gettime)(CLOCK_REALTIME, ts) != 0)
		return 0;
	fake_ts(CLOCK_REALTIME, ts);
	return base;
}

/* ---- (4) absolute waits ---------------------------------------------------- */

FL_API int clock_nanosleep(clockid_t id, int flags, const struct timespec *req,
			   struct timespec *rem)
{
	struct timespec buf;

	if (FL_LIKELY(!clk_armed()) || !(flags & TIMER_ABSTIME))
		return FL_REAL(clock_nanosleep)(id, flags, req, rem);
	return FL_REAL(clock_nanosleep)(id, flags, real_deadline(id, req, &buf), rem);
}

/* pthread_cond_timedwait@@GLIBC_2.3.2, the one programs link; the 2.2.5
 * compat version takes another condvar layout. Resolved on first use if a
 * wait comes before our constructor. */
typedef int cond_timedwait_fn(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
static cond_timedwait_fn cond_timedwait_lazy;
static cond_timedwait_fn *_Atomic real_cond_timedwait = cond_timedwait_lazy;

static void resolve_cond_timedwait(void)
{
	void *p = dlvsym(RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2");

	if (!p)
		p = dlsym(RTLD_NEXT, "pthread_cond_timedwait");
	if (p)
		atomic_store(&real_cond_timedwait, (cond_timedwait_fn *)p);
}

static int cond_timedwait_lazy(pthread_cond_t *c, pthread_mutex_t *m,
			       const struct timespec *t)
{
	resolve_cond_timedwait();
	if (atomic_load(&real_cond_timedwait) == cond_timedwait_lazy)
		return ENOSYS;
	return atomic_load(&real_cond_timedwait)(c, m, t);
}

/* glibc keeps a condvar's clock in bit 1 of __wrefs (pthread_condattr_
 * setclock: 0 realtime, 1 monotonic), since the 2.25 condvar. */
#define COND_CLOCK_MONOTONIC_MASK 2u

FL_API int pthread_cond_timedwait(pthread_cond_t *restrict c, pthread_mutex_t *restrict m,
				  const struct timespec *restrict abs)
{
	struct timespec buf;
	clockid_t id;

	if (FL_LIKELY(!clk_armed()))
		return atomic_load_explicit(&real_cond_timedwait, memory_order_relaxed)(c, m, abs);
	id = __atomic_load_n(&c->__data.__wrefs, __ATOMIC_RELAXED) & COND_CLOCK_MONOTONIC_MASK
		     ? CLOCK_MONOTONIC : CLOCK_REALTIME;
	return atomic_load_explicit(&real_cond_timedwait, memory_order_relaxed)(
		c, m, real_deadline(id, abs, &buf));
}

FL_API int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t id,
				  const struct timespec *abs)
{
	struct timespec buf;

	if (FL_LIKELY(!clk_armed()))
		return FL_REAL(pthread_cond_clockwait)(c, m, id, abs);
	return FL_REAL(pthread_cond_clockwait)(c, m, id, real_deadline(id, abs, &buf));
}

FL_API int sem_timedwait(sem_t *restrict s, const struct timespec *restrict abs)
{
	struct timespec buf;

	if (FL_LIKELY(!clk_armed()))
		return FL_REAL(sem_timedwait)(s, abs);
	return FL_REAL(sem_timedwait)(s, real_deadline(CLOCK_REALTIME, abs, &buf));
}

FL_API int sem_clockwait(sem_t *restrict s, clockid_t id, const struct timespec *restrict abs)
{
	struct timespec buf;

	if (FL_LIKELY(!clk_armed()))
		return FL_REAL(sem_clockwait)(s, id, abs);
	return FL_REAL(sem_clockwait)(s, id, real_deadline(id, abs, &buf));
}

/* ---- (5) timerfd ------------------------------------------------------------ */

/* The clock of timerfd fd from /proc/self/fdinfo ("clockid: N"), read with
 * raw syscalls so our own file interposers never see it; -1 if unknown. */
static int timerfd_clock(int fd)
{
	char path[48] = "/proc/self/fdinfo/", buf[512], digits[12];
	int saved = errno, n = 0, id = -1, f;
	size_t len = strlen(path);
	ssize_t got;
	const char *p;

	if (fd < 0)
		return -1;
	for (unsigned u = (unsigned)fd; n == 0 || u; u /= 10)
		digits[n++] = (char)('0' + u % 10);
	while (n)
		path[len++] = digits[--n];
	path[len] = '\0';
	f = (int)syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (f >= 0) {
		got = syscall(SYS_read, f, buf, sizeof(buf) - 1);
		syscall(SYS_close, f);
		if (got > 0) {
			buf[got] = '\0';
			p = strstr(buf, "clockid:");
			if (p) {
				for (p += 8; *p == ' ' || *p == '\t'; p++)
					;
				if (*p >= '0' && *p <= '9')
					id = (int)strtol(p, NULL, 10);
			}
		}
	}
	errno = saved;
	return id;
}

/* A timerfd's remaining time is real; say how much fake time will pass
 * before it fires. Only piecewise plans (drift, freeze) change it. */
static void fake_remaining(clockid_t id, struct timespec *it)
{
	int fam = family(id), saved = errno;
	struct timespec now;
	int64_t v, r, a, b;

	if (fam < 0 || (it->tv_sec == 0 && it->tv_nsec == 0) ||
	    FL_REAL(clock_gettime)(id, &now) != 0) {
		errno = saved;
		return;
	}
	v = ts_ns(&now);
	r = ts_ns(it);
	for (int tries = 0; tries < 1000; tries++) {
		const struct plan *p = atomic_load_explicit(&cur, memory_order_acquire);
		uint32_t s = atomic_load_explicit(&p->seq, memory_order_acquire);
		int64_t t = plan_mono(p, id, v) - p->epoch;
		if (s & 1)
			continue;
		a = fl__clkfn_apply(&p->fn[fam], v, t);
		b = fl__clkfn_apply(&p->fn[fam], v + r, t + r); /* at the expiry */
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&p->seq, memory_order_relaxed) == s) {
			ns_ts(b - a > 0 ? b - a : 1, it);
			break;
		}
	}
	errno = saved;
}

static bool plan_pieces(void)
{
	return atomic_load_explicit(&cur, memory_order_acquire)->pieces;
}

FL_API int timerfd_settime(int fd, int flags, const struct itimerspec *nv,
			   struct itimerspec *ov)
{
	struct itimerspec its;
	struct timespec buf;
	bool abs, pieces;
	int id, r;

	if (FL_LIKELY(!clk_armed()) || !nv)
		return FL_REAL(timerfd_settime)(fd, flags, nv, ov);
	abs = (flags & TFD_TIMER_ABSTIME) && (nv->it_value.tv_sec || nv->it_value.tv_nsec);
	pieces = ov && plan_pieces();
	if ((!abs && !pieces) || (id = timerfd_clock(fd)) < 0)
		return FL_REAL(timerfd_settime)(fd, flags, nv, ov);
	its = *nv;
	if (abs)
		its.it_value = *real_deadline(id, &nv->it_value, &buf);
	r = FL_REAL(timerfd_settime)(fd, flags, &its, ov);
	if (r == 0 && pieces)
		fake_remaining(id, &ov->it_value);
	return r;
}

FL_API int timerfd_gettime(int fd, struct itimerspec *cur_value)
{
	int r, id;

	if (FL_LIKELY(!clk_armed()) || !plan_pieces())
		return FL_REAL(timerfd_gettime)(fd, cur_value);
	r = FL_REAL(timerfd_gettime)(fd, cur_value);
	if (r == 0 && (id = timerfd_clock(fd)) >= 0)
		fake_remaining(id, &cur_value->it_value);
	return r;
}

/* ---- (6) start-up: FAKETIME ------------------------------------------------- */

/* libfaketime's model: every faked clock k reads S + (k - k0) * speed,
 * k0 its real value at start, S the fake start (realtime); frozen: S. */
static void faketime_load(void)
{
	static const clockid_t base[FL_CLK__COUNT] = {CLOCK_REALTIME, CLOCK_MONOTONIC,
						       CLOCK_BOOTTIME};
	const char *s = getenv("FAKETIME"), *dm;
	struct fl_faketime ft;
	int64_t k0[FL_CLK__COUNT], start;
	bool fake_mono = true;

	if (!s || fl__faketime_parse(s, &ft) != 0)
		return;
	dm = getenv("FAKETIME_DONT_FAKE_MONOTONIC");
	if (!dm)
		dm = getenv("DONT_FAKE_MONOTONIC");
	if (dm && strcmp(dm, "1") == 0)
		fake_mono = false;
	for (int k = 0; k < FL_CLK__COUNT; k++) {
		struct timespec ts = {0, 0};
		FL_REAL(clock_gettime)(base[k], &ts);
		k0[k] = ts_ns(&ts);
	}
	time_t sec = ft.mode == FL_FT_REL ? 0 : mktime(&ft.tm);
	if (ft.mode != FL_FT_REL && sec == (time_t)-1 && ft.tm.tm_year != 69)
		return;
	if (fl__faketime_start(&ft, k0[FL_CLK_REALTIME], (int64_t)sec, &start) < 0)
		return; /* a date we cannot represent: ignored, as libfaketime */
	for (int k = 0; k < FL_CLK__COUNT; k++) {
		if (k != FL_CLK_REALTIME && !fake_mono) {
			fl__clkfn_linear(&ft_fn[k], 0, 0);
		} else if (ft.mode == FL_FT_FROZEN) {
			ft_fn[k].kind = FL_CLKFN_FROZEN;
			ft_fn[k].c = start;
			ft_fn[k].nseg = 0;
		} else {
			int64_t d = k == FL_CLK_REALTIME && ft.mode == FL_FT_REL ? ft.off_ns
										  : start - k0[k];
			fl__clkfn_linear(&ft_fn[k], d, ft.rate_ppm);
		}
		ft_fn[k].base = k0[k];
	}
	ft_epoch = k0[FL_CLK_MONOTONIC];
	ft_valid = true;
}

static void clk_atfork_child(void)
{
	atomic_flag_clear(&build_lock);
}

/* After core's constructor (101): real symbols resolved, block attached. */
__attribute__((constructor(102))) static void clk_init(void)
{
	int saved = errno;

	resolve_cond_timedwait();
	pthread_atfork(NULL, NULL, clk_atfork_child);
	faketime_load();
	if (ft_valid || (atomic_load(&fl__has) & FL_HAS_CLOCK))
		plan_switch();
	errno = saved;
}
