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
	_Atomic int64_t rdue;     /* readability hidden until (mono ns), 0 = no */
	_Atomic int64_t wdue;     /* writability hidden until */
	_Atomic int32_t conn_err; /* faked connect result for SO_ERROR, 0 = none */
	_Atomic uint8_t reset;    /* we reset this connection: EOF / EPIPE now */
	_Atomic uint8_t fake_conn;/* connect() was not really made */
	_Atomic uint8_t ep_hidden;/* removed from ep_fd by us while hidden */
	uint8_t pad;
	_Atomic int32_t ep_fd;    /* epoll instance it is registered in, -1 */
	uint32_t ep_events;
	uint64_t ep_data;
};

/* State of fd, allocated on first use; NULL when fd is out of range or the
 * table could not be mapped (callers then fall back to blocking semantics). */
struct fl_fdst *fl__fdst(int fd);
/* Forget everything about fd (close, before reuse). */
void fl__fd_forget(int fd);
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
 * target id or 0. `listener` also accepts a wildcard-bound local address. */
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
	uint64_t until_nth;
	int64_t until_max_ns;
};

/* Judge a plan before using it (pure_check.c): 0, or the enum fl_refusal
 * that says why it is refused (the shim then passes through). */
int fl__plan_check(const struct fl_ctl *c, uint32_t euid);
/* Does ops.h's whitelist let op fail with err? */
bool fl__errno_ok(unsigned op, int err);

/* Is the block live (ACTIVE, heartbeat fresh by our own clock, neither
 * older than the capped staleness bound nor from the future)? */
bool fl__live(const struct fl_ctl *c, int64_t now_mono);
/* The one decision function: count the call (nth) and pick the first rule
 * of (target, op) whose `when` holds. Returns true with *v filled when a
 * fault applies. Pure apart from the shared counters and rule hit counts. */
bool fl__decide_at(struct fl_ctl *c, unsigned target, unsigned op,
		   int64_t now_mono, struct fl_verdict *v);
/* fl__decide_at with the attached block and the current time. */
bool fl__decide(unsigned target, unsigned op, struct fl_verdict *v);

/* ---- acting ------------------------------------------------------------------ */
/* Sleep ns (futex on the block's state word): returns early when the drill
 * ends or the controller dies. Never returns EINTR (restarts). */
void fl__sleep_ns(int64_t ns);
/* Wait for a hold gate; returns true if the event came, false on max.
 * Journals the fault first, so a program that dies waiting leaves it. */
bool fl__gate_wait(struct fl_verdict *v);
/* Journal the fault as begun (once), then sleep ns: a fault that waits is
 * in the timeline even if the program dies before the wait ends. */
void fl__fault_sleep(struct fl_verdict *v, int64_t ns);
/* A targeted call happened: wake hold gates waiting on (target, op). */
void fl__gate_kick_at(struct fl_ctl *c, unsigned target, unsigned op);
/* Call nth of (target, op) has passed its decision (and pinning gate). */
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
