/*
 * shim.h — internals of libfaultline.so shared by the interposer families
 * (net.c, file.c, poll.c, clock.c) and the core (core.c, pure_*.c).
 *
 * The hot path: every interposer that takes an fd starts with
 *     if (fl_fd_untargeted(fd)) return FL_REAL(name)(args);
 * which is one byte load and one compare. Everything else is the slow path.
 *
 * The fd table holds, per fd number: 0 = not classified yet, FL_FD_NONE =
 * not a target, 1..FL_MAX_TARGETS-1 = the target id. It is per process
 * (inherited by fork, fresh after exec) and is reset when the shim attaches
 * to a new control block.
 */
#ifndef FL_SHIM_H
#define FL_SHIM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "faultline/ctl.h"

#define FL_API __attribute__((visibility("default")))
#define FL_LIKELY(x) __builtin_expect(!!(x), 1)
#define FL_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- the fd table ------------------------------------------------------ */
#define FL_FDTAB_BITS 20
#define FL_FDTAB_SIZE (1u << FL_FDTAB_BITS)
#define FL_FD_UNKNOWN 0x00u
#define FL_FD_NONE 0xFFu

extern uint8_t fl__fdtab[FL_FDTAB_SIZE];

/* True when fd is known not to be a target: the whole untargeted path.
 * An fd beyond the table aliases another slot; the slow path re-checks. */
static inline bool fl_fd_untargeted(int fd)
{
	return FL_LIKELY(fl__fdtab[(unsigned)fd & (FL_FDTAB_SIZE - 1)] == FL_FD_NONE);
}

/* ---- per-fd state of targeted fds (fd < FL_FDST_MAX) -------------------- */
#define FL_FDST_MAX 65536

struct fl_fdst {
	/* fault state: set only on targets (then `dirty`), cleared when the
	 * fd is closed or its number made anew */
	_Atomic int64_t rdue;     /* readability hidden until (mono ns), 0 = no */
	_Atomic int64_t wdue;     /* writability hidden until */
	_Atomic int32_t conn_err; /* faked connect result for SO_ERROR, 0 = none */
	_Atomic uint8_t reset;    /* we reset this connection: EOF / EPIPE now */
	_Atomic uint8_t fake_conn;/* connect() was not really made */
	_Atomic uint8_t ep_hidden;/* removed from ep_fd by us while hidden */
	_Atomic uint8_t dirty;    /* some fault state above is set */
	_Atomic int32_t ep_fd;    /* epoll instance it is registered in, -1 */
	uint32_t ep_events;
	uint64_t ep_data;
	/* the call whose readiness hide is pending, per direction: it happens
	 * (opens gates waiting on it) when the program makes it, once due */
	uint64_t pnth[2];
	/* what the kernel knows of the fd, cached where it is set (socket,
	 * accept4, socketpair, open, fcntl F_SETFL, ioctl FIONBIO, setsockopt,
	 * dup*) so a decided call asks the kernel nothing; 0 = not known, asked
	 * once. Valid for an fd number between its creation and its close. */
	_Atomic uint8_t nbk;      /* 1 blocking, 2 O_NONBLOCK */
	_Atomic uint8_t stype;    /* SOCK_STREAM / SOCK_DGRAM / ... */
	_Atomic uint8_t tmok;     /* rcvtimeo / sndtimeo below are known */
	_Atomic uint8_t dupd;     /* its open file description has other fds */
	_Atomic uint32_t nbgen;   /* fl__nbgen when nbk was cached */
	_Atomic int64_t rcvtimeo; /* SO_RCVTIMEO in ns, 0 = none */
	_Atomic int64_t sndtimeo; /* SO_SNDTIMEO in ns, 0 = none */
};

/* Bumped when O_NONBLOCK changes on a description that has several fds:
 * every cached nbk older than it is asked again (once). */
extern _Atomic uint32_t fl__nbgen;
/* Is fd non-blocking? From the cache, asking the kernel once if unknown.
 * MSG_DONTWAIT in msgflags makes the call non-blocking whatever the fd. */
bool fl__nonblock(int fd, int msgflags);
/* Cache O_NONBLOCK (nb = 0/1) and the socket type (0 = leave) of fd. */
void fl__fd_note(int fd, int nb, int stype);
/* A new fd number from an interposed creator: forget what the number was
 * (fault state only if it was a target), cache what is known of the new
 * fd. nb < 0: unknown. tmo_from >= 0: copy its SO_*TIMEO (accept). */
void fl__fd_new(int fd, unsigned cls, int nb, int stype, int tmo_from);
/* SO_RCVTIMEO (dir 0) / SO_SNDTIMEO (dir 1) of fd in ns, 0 = none. */
int64_t fl__sock_timeo(int fd, int dir);
/* The socket type of fd (SOCK_STREAM ...), from the cache or the kernel. */
int fl__sock_type(int fd);

/* State of fd, allocated on first use; NULL when fd is out of range or the
 * table could not be mapped (callers then fall back to blocking semantics). */
struct fl_fdst *fl__fdst(int fd);
/* Forget everything about fd (close of a target, before reuse). */
void fl__fd_forget(int fd);
/* close_range/closefrom: forget the targets among [lo, hi]. */
void fl__fd_forget_range(unsigned lo, unsigned hi);
/* Copy the class of oldfd to newfd (dup family). */
void fl__fd_dup(int oldfd, int newfd);

/* Do readiness hides still apply at `now`? Only while the drill is live:
 * an abort, the drill's end or a dead controller shows everything. */
bool fl__hides_apply(int64_t now);

/* Number of fds with a pending readiness hide, and their list. */
/* Pending hides, plus 1 while a block is awaited: 0 means every
 * readiness call may go straight to the kernel. */
extern _Atomic int fl__npending;
/* Pending hides alone. */
int fl__nhidden(void);
void fl__pending_add(int fd);
/* Fill `out` with up to max fds that have a pending hide. */
int fl__pending_list(int *out, int max);
void fl__pending_del(int fd);

/* ---- attachment ---------------------------------------------------------- */
/* The block in force, or NULL. Only the slow path reads it. */
extern struct fl_ctl *_Atomic fl__ctl;
extern _Atomic int fl__mode; /* enum below */
enum { FL_MODE_UNINIT = 0, FL_MODE_OFF = 1, FL_MODE_WAITING = 2, FL_MODE_ON = 3 };
/* Bit flags of what the attached block has: lets an interposer with no
 * possible target skip its work in one load. */
extern _Atomic uint32_t fl__has;
#define FL_HAS_PATH 0x1u
#define FL_HAS_SOCK 0x2u
#define FL_HAS_HOST 0x4u
#define FL_HAS_CLOCK 0x8u
#define FL_HAS_WAIT 0x10u    /* no block yet: creators poll for one */
#define FL_HAS_CLKFAKE 0x20u /* clock.c: the clock plan in force fakes */

/* The writable shared area of the block (call counters, rule hit counts,
 * gate words, the journal) is reached only through these, so it can move
 * to its own mapping without touching the interposers. */
#define FL_CTR(c, t, op) (&(c)->counters[t][op])
#define FL_PASSED(c, t, op) (&(c)->passed[t][op])
#define FL_WAITERS(c, t, op) (&(c)->waiters[t][op])
#define FL_WATCHED(c, t, op) ((c)->watched[t][op])
#define FL_HITS(c, ri) (&(c)->hits[ri])

/* Check points (fd creation, readiness waits) call this: it attaches lazily
 * when the block appears, and re-attaches when a new drill replaces it.
 * Cheap (throttled) when nothing changed. */
void fl__attach_poll(void);

/* Constructor: read FAULTLINE_CTL (path, may be NULL) and attach if the
 * block is there; pass-through for good when it is unset. */
void fl__attach_init(const char *path);
/* In a forked child: drop the attach lock (its holder thread is gone). */
void fl__attach_atfork_child(void);
/* Forget every fd's class (a new block may target other things). */
void fl__fdtab_reset(void);
/* 1 while a block is awaited: readiness calls take their slow path. */
void fl__set_waiting(int on);

/* Current CLOCK_MONOTONIC (never faked) in ns. */
int64_t fl__mono_ns(void);

/* ---- classification -------------------------------------------------------- */
/* Classify fd by what it is (socket peer/local address, file path) and
 * store the result in the table. Returns the class (FL_FD_NONE or id). */
unsigned fl__classify(int fd);
/* Class of fd for the slow path: classifies when unknown. */
unsigned fl__class(int fd);
/* Match a socket address against socket targets (peer side); returns the
 * target id or 0. `listener` also accepts a wildcard-bound local address.
 * socktype -1: any type (a first look that asks the kernel nothing). */
unsigned fl__match_sockaddr(const struct fl_ctl *c, const struct sockaddr *sa,
			    socklen_t len, int socktype, bool listener);
/* Match a path (absolute) against path targets; 0 = none. */
unsigned fl__match_path(const struct fl_ctl *c, const char *path);
/* Match a host name against host targets; 0 = none. */
unsigned fl__match_host(const struct fl_ctl *c, const char *host);
/* fnmatch-like glob without allocation: * ? [abc] [a-z] [!x]. */
bool fl__glob(const char *pat, const char *s);

/* ---- decision ---------------------------------------------------------------- */
struct fl_verdict {
	uint8_t fault;    /* enum fl_fault, FL_FAULT_NONE = pass */
	uint8_t target, op;
	int err;
	int16_t rule;
	uint64_t nth;
	int64_t ns;       /* duration for delay / late_ack / timeout / hold max */
	int64_t bytes;
	int64_t t_run;    /* run time of the decision */
	uint64_t tick;    /* market tick in force at the decision */
	uint8_t until_target, until_op;
	bool pregate;     /* wait for the until event before acting */
	bool journaled;   /* its fault record is written (it began waiting) */
	bool deferred;    /* made later, when its readiness hide is due */
	uint8_t refused;  /* a rule fired but fails fl__rule_act_check: its
			     enum fl_refusal (no fault is made) */
	uint64_t until_nth;
	int64_t until_max_ns;
};

/* Judge a plan before using it (pure_check.c): 0, or the enum fl_refusal
 * that says why it is refused (the shim then passes through). */
int fl__plan_check(const struct fl_ctl *c, uint32_t euid);
/* Does ops.h's whitelist let op fail with err? */
bool fl__errno_ok(unsigned op, int err);
/* Can rule r be carried out on op (fault valid for op, errno whitelisted,
 * short of 1 byte or more, durations in range)? 0 or the enum fl_refusal. */
int fl__rule_act_check(const struct fl_rule *r, unsigned op);
/* A rule that fired was refused at decision time (v->refused): journal it,
 * once per rule and block (attach.c). */
void fl__refused_late(struct fl_ctl *c, const struct fl_verdict *v);

/* Is the block live (ACTIVE, heartbeat fresh by our own clock, neither
 * older than the capped staleness bound nor from the future)? */
bool fl__live(const struct fl_ctl *c, int64_t now_mono);
/* The one decision function: count the call (nth) and pick the first rule
 * of (target, op) whose `when` holds. Returns true with *v filled when a
 * fault applies. Pure apart from the shared counters and rule hit counts. */
bool fl__decide_at(struct fl_ctl *c, unsigned target, unsigned op,
		   int64_t now_mono, struct fl_verdict *v);
/* fl__decide_at reading the clock through now() only when a rule needs it
 * (a window) or fires: a call that matches no rule reads no clock. */
bool fl__decide_lazy(struct fl_ctl *c, unsigned target, unsigned op,
		     int64_t (*now)(void), struct fl_verdict *v);
/* Could a rule of (target, op) fire for call number nth? Pure: nothing
 * counted, the clock read through now() only for a window. */
bool fl__may_fire(const struct fl_ctl *c, unsigned target, unsigned op, uint64_t nth,
		  int64_t (*now)(void));
/* Count a call already made, which found the counter at `seen` before it
 * was made and no rule firing for seen + 1: its nth, or 0 when other calls
 * took that number meanwhile and the next one would fire (that number is
 * left to the next call, which is decided before it is made). */
uint64_t fl__count_made(struct fl_ctl *c, unsigned target, unsigned op, uint64_t seen,
			int64_t (*now)(void));
/* fl__decide_at with the attached block and the current time. */
bool fl__decide(unsigned target, unsigned op, struct fl_verdict *v);

/* ---- acting (act.c; the pure rules in pure_act.c) ---------------------------- */
/* One targeted call, as the act layer sees it. The interposer fills it and
 * calls fl__act(), which carries out any verdict (or none) the same way for
 * every family, driven by the op's row of FL_OP_ACTS. */
struct fl_call {
	unsigned op;          /* enum fl_op */
	int fd;               /* -1: not an fd call (open, rename, resolve) */
	bool sock;            /* a socket target: readiness, signals, SO_*TIMEO */
	int msgflags;         /* MSG_DONTWAIT counts as non-blocking */
	/* the real call, at most cap bytes (SIZE_MAX: all); sets errno */
	int64_t (*real)(struct fl_call *k, size_t cap);
	/* stale read from a snapshot; FL_NO_STALE when there is none */
	int64_t (*stale)(struct fl_call *k, const struct fl_verdict *v);
	void *ctx;            /* the interposer's arguments */
};
#define FL_NO_STALE (-2)

/* The act layer: carry out verdict v on call k (v->fault NONE: forward),
 * journal it, and mark the call as happened for the gates that wait on it.
 * Returns what the call returns, errno set as the kernel would. */
int64_t fl__act(struct fl_call *k, struct fl_verdict *v);
/* A call decided earlier with a readiness hide on fd is made now: it has
 * happened (gates waiting on its nth open). */
void fl__happened_fd(int fd, int dir, unsigned op);

/* Waits (act.c). A wait ends at `end` (the planned delay), when `gate`
 * reaches gate_nth, at `bound` (the socket's own SO_*TIMEO), on a signal
 * (as the kernel would end the blocked call, see `intr`), or when the drill
 * ends (abort, drill over, controller dead). */
enum { FL_W_DUE = 0, FL_W_GATE, FL_W_BOUND, FL_W_INTR, FL_W_ENDED };
enum {
	FL_INTR_NONE = 0,   /* not interruptible (disk I/O, data already moved) */
	FL_INTR_RESTART,    /* EINTR unless the handler has SA_RESTART */
	FL_INTR_ALWAYS,     /* EINTR even with SA_RESTART (socket with timeout) */
};
struct fl_wait {
	int64_t end, bound;       /* mono ns; INT64_MAX = none */
	_Atomic uint64_t *gate;   /* NULL: no gate */
	_Atomic uint32_t *waiters;/* the gate's waiter count (wakes are asked only then) */
	uint64_t gate_nth;
	int intr;                 /* FL_INTR_* */
};
/* Wait; returns FL_W_*, *waited gets the real time waited. errno kept. */
int fl__wait(const struct fl_wait *w, int64_t *waited);
/* The pure rules (pure_act.c). Why a wait at `now` ends, or -1 to go on. */
int fl__wait_step(const struct fl_wait *w, int64_t now, uint64_t gate_cur, bool live);
/* Interruptibility of a wait of op on a socket (sock) whose own timeout
 * for the call's direction is timeo_ns, per signal(7); before: the wait is
 * before the real call (after it, the data moved: never interrupted). */
int fl__intr_class(unsigned op, bool sock, int64_t timeo_ns, bool before);
/* A handled signal interrupted a wait of class intr whose handler has (or
 * lacks) SA_RESTART: EINTR, or 0 when the wait goes on. */
int fl__intr_errno(int intr, bool sa_restart);
/* A non-blocking receive or accept on target t, when no rule can fire for
 * its number: made at once (*r) and counted only if it found something, so
 * nth does not depend on how often the program polls and the shim asks the
 * kernel nothing of its own. False: the call must be decided first. */
bool fl__made_first(struct fl_call *k, unsigned t, int64_t *r);
/* The act table row of op (FL_OP_ACTS); NULL when op is out of range. */
const struct fl_op_act *fl__op_act(unsigned op);

/* Call nth of (target, op) has happened (made, and returned by the kernel,
 * after any delay): open the gates waiting on it. */
void fl__passed_at(struct fl_ctl *c, unsigned target, unsigned op, uint64_t nth);
/* Append a record to the block's journal; false (and counted) when full. */
bool fl__journal_push(struct fl_ctl *c, const struct fl_jrec *rec);
/* Journal one injected fault with the call's outcome (as an outcome record
 * when its fault record was written when it began). */
void fl__journal(const struct fl_verdict *v, int kind, int64_t ret, int err,
		 int64_t value_ns);
/* Delay value of a verdict with jitter resolved. */
int64_t fl__verdict_ns(const struct fl_verdict *v);

/* Tear down a TCP connection with a RST without closing the fd. */
void fl__reset_conn(int fd);

/* ---- real functions -------------------------------------------------------- */
/* Real libc functions, resolved with dlsym(RTLD_NEXT) in the constructor.
 * Until then they point at raw-syscall fallbacks, so calls made before our
 * constructor (jemalloc's, ld.so's) work without dlsym or malloc. */
#define FL_REAL(name) fl__real_##name
#include "symbols.h"

void fl__resolve(void);


/* ---- clocks (clock.c; pure math in pure_clock.c) ------------------------ */
/* The fake value of a clock family (enum fl_clock_id) is a pure function of
 * its real value v and the run time t (real CLOCK_MONOTONIC - epoch):
 *   IDENT: v   CONST: v + c   FROZEN: c   PIECES: v + delta(t), where delta
 * is piecewise linear: on [seg[i].t, seg[i+1].t) it is
 * seg[i].d + (t - seg[i].t) * seg[i].ppm / 1e6 (ppm -1e6: time stands). */
enum { FL_CLKFN_IDENT = 0, FL_CLKFN_CONST, FL_CLKFN_FROZEN, FL_CLKFN_PIECES };
#define FL_CLK_SEGS (2 * FL_MAX_RULES + 2)
#define FL_PPM_FROZEN (-1000000ll)

struct fl_clkseg {
	int64_t t, d, ppm;
};

struct fl_clkfn {
	uint32_t kind, nseg;
	int64_t c;
	/* the clock's real value at run time 0: a frozen segment reads
	 * base + seg.t + seg.d, the same in every process */
	int64_t base;
	struct fl_clkseg seg[FL_CLK_SEGS]; /* PIECES: seg[0].t is the first break */
};

/* Build fn for `clock` from the clock rules among rules[0..n) (validated
 * by the loader; sums are saturated and a total drift below -1e6 ppm counts
 * as frozen). Windows are in run time; fn->base is left 0. Returns 0. */
int fl__clkfn_build(struct fl_clkfn *fn, const struct fl_rule *rules,
		    unsigned n, unsigned clock);
/* fn = v + d + t * ppm / 1e6 (CONST when ppm == 0, IDENT when both are 0). */
void fl__clkfn_linear(struct fl_clkfn *fn, int64_t d, int64_t ppm);
/* Add `add` ns to every fake value of fn from now on (monotonic carry). */
void fl__clkfn_shift(struct fl_clkfn *fn, int64_t add);
/* The fake value for real value v at run time t. Saturates. */
int64_t fl__clkfn_apply(const struct fl_clkfn *fn, int64_t v, int64_t t);
/* Real ns to wait, from run time t, until the fake clock has advanced by
 * rem > 0 ns (a deadline inside a frozen span waits for its end). A clock
 * that never gets there (frozen for good) waits rem: a fixed fake time still
 * lets sleeps pass, as libfaketime does. */
int64_t fl__clkfn_wait(const struct fl_clkfn *fn, int64_t t, int64_t rem);

/* FAKETIME (libfaketime's common forms): "+2d" "-3h" "+1.5h" (s m h d y,
 * none = s), "@2026-01-01 00:00:00" (start there and run), "2026-01-01
 * 00:00:00" (frozen), optional " xN" speed. tm is local time (mktime it). */
enum { FL_FT_NONE = 0, FL_FT_REL, FL_FT_START, FL_FT_FROZEN };
struct fl_faketime {
	int mode;
	int64_t off_ns;   /* FL_FT_REL */
	struct tm tm;     /* FL_FT_START, FL_FT_FROZEN, tm_isdst = -1 */
	int64_t frac_ns;  /* fraction of a second of the absolute time */
	int64_t rate_ppm; /* (speed - 1) * 1e6; 0 = real speed */
};
/* Returns 0, or -EINVAL (ft->mode = FL_FT_NONE) when s is not understood. */
int fl__faketime_parse(const char *s, struct fl_faketime *ft);
/* The fake realtime FAKETIME starts at, in ns: real_ns + off_ns (FL_FT_REL)
 * or sec (mktime of ft->tm) + frac_ns. Returns 0, or -ERANGE when that
 * instant has no int64 ns (before 1677-09-21 or after 2262-04-11): the
 * caller then ignores FAKETIME, as libfaketime ignores a date mktime
 * cannot represent (the program sees the real time), rather than wrap
 * ("@0000-01-01" used to become 1753). */
int fl__faketime_start(const struct fl_faketime *ft, int64_t real_ns,
		       int64_t sec, int64_t *start_ns);

#endif /* FL_SHIM_H */
