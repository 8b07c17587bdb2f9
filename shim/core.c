/*
 * core.c — the shim's core: real symbols, attachment to the control block,
 * the fd table and classification, sleeping, gates and the journal.
 *
 * Divisions: (1) real functions and their raw-syscall fallbacks, (2) the fd
 * table and per-fd state (with the cache of what the kernel knows of a
 * target fd: O_NONBLOCK, socket type, SO_*TIMEO), (3) process identity and
 * the constructor (attaching is in attach.c), (4) classification, (5)
 * deciding and the journal record (acting is act.c).
 *
 * Invariants
 *  - Nothing here allocates with malloc, takes a lock that a signal handler
 *    or a forked child could find held (the one spinlock is reset in the
 *    child), prints, or exits. Failure of anything means pass-through.
 *  - Calls made before our constructor (jemalloc's constructor, ld.so) go
 *    through raw-syscall fallbacks: no dlsym, no malloc, no deadlock.
 *  - errno is saved and restored around every internal call the program did
 *    not ask for.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "shim.h"

/* ---- (1) real functions ------------------------------------------------ */

#define SYS(...) syscall(__VA_ARGS__)

static int fb_socket(int d, int t, int p) { return (int)SYS(SYS_socket, d, t, p); }
static int fb_connect(int fd, const struct sockaddr *a, socklen_t l) { return (int)SYS(SYS_connect, fd, a, l); }
static int fb_accept(int fd, struct sockaddr *a, socklen_t *l) { return (int)SYS(SYS_accept, fd, a, l); }
static int fb_accept4(int fd, struct sockaddr *a, socklen_t *l, int f) { return (int)SYS(SYS_accept4, fd, a, l, f); }
static ssize_t fb_sendto(int fd, const void *b, size_t n, int f, const struct sockaddr *a, socklen_t l) { return SYS(SYS_sendto, fd, b, n, f, a, l); }
static ssize_t fb_sendmsg(int fd, const struct msghdr *m, int f) { return SYS(SYS_sendmsg, fd, m, f); }
static int fb_sendmmsg(int fd, struct mmsghdr *m, unsigned n, int f) { return (int)SYS(SYS_sendmmsg, fd, m, n, f); }
static ssize_t fb_recvfrom(int fd, void *b, size_t n, int f, struct sockaddr *a, socklen_t *l) { return SYS(SYS_recvfrom, fd, b, n, f, a, l); }
static ssize_t fb_recvmsg(int fd, struct msghdr *m, int f) { return SYS(SYS_recvmsg, fd, m, f); }
static int fb_recvmmsg(int fd, struct mmsghdr *m, unsigned n, int f, struct timespec *t) { return (int)SYS(SYS_recvmmsg, fd, m, n, f, t); }
static ssize_t fb_sendfile(int o, int i, off_t *off, size_t n) { return SYS(SYS_sendfile, o, i, off, n); }
static int fb_shutdown(int fd, int h) { return (int)SYS(SYS_shutdown, fd, h); }
static int fb_getsockopt(int fd, int l, int o, void *v, socklen_t *n) { return (int)SYS(SYS_getsockopt, fd, l, o, v, n); }
static int fb_setsockopt(int fd, int l, int o, const void *v, socklen_t n) { return (int)SYS(SYS_setsockopt, fd, l, o, v, n); }
static int fb_poll(struct pollfd *p, nfds_t n, int t) { return (int)SYS(SYS_poll, p, n, t); }
static int fb_ppoll(struct pollfd *p, nfds_t n, const struct timespec *t, const sigset_t *s)
{
	struct timespec tc, *tp = NULL;
	if (t) {
		tc = *t;
		tp = &tc;
	}
	return (int)SYS(SYS_ppoll, p, n, tp, s, s ? _NSIG / 8 : 0);
}
static int fb_select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t) { return (int)SYS(SYS_select, n, r, w, e, t); }
static int fb_pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s)
{
	struct timespec tc, *tp = NULL;
	struct { const sigset_t *ss; size_t len; } sd = {s, _NSIG / 8};
	if (t) {
		tc = *t;
		tp = &tc;
	}
	return (int)SYS(SYS_pselect6, n, r, w, e, tp, s ? &sd : NULL);
}
static int fb_epoll_ctl(int e, int op, int fd, struct epoll_event *ev) { return (int)SYS(SYS_epoll_ctl, e, op, fd, ev); }
static int fb_epoll_wait(int e, struct epoll_event *ev, int n, int t) { return (int)SYS(SYS_epoll_wait, e, ev, n, t); }
static int fb_epoll_pwait(int e, struct epoll_event *ev, int n, int t, const sigset_t *s) { return (int)SYS(SYS_epoll_pwait, e, ev, n, t, s, _NSIG / 8); }
static int fb_epoll_pwait2(int e, struct epoll_event *ev, int n, const struct timespec *t, const sigset_t *s) { return (int)SYS(SYS_epoll_pwait2, e, ev, n, t, s, _NSIG / 8); }
static int fb_open(const char *p, int f, ...)
{
	mode_t m = 0;
	if (f & (O_CREAT | __O_TMPFILE)) {
		va_list ap;
		va_start(ap, f);
		m = va_arg(ap, mode_t);
		va_end(ap);
	}
	return (int)SYS(SYS_open, p, f, m);
}
static int fb_openat(int d, const char *p, int f, ...)
{
	mode_t m = 0;
	if (f & (O_CREAT | __O_TMPFILE)) {
		va_list ap;
		va_start(ap, f);
		m = va_arg(ap, mode_t);
		va_end(ap);
	}
	return (int)SYS(SYS_openat, d, p, f, m);
}
static ssize_t fb_read(int fd, void *b, size_t n) { return SYS(SYS_read, fd, b, n); }
static ssize_t fb_pread(int fd, void *b, size_t n, off_t o) { return SYS(SYS_pread64, fd, b, n, o); }
static ssize_t fb_readv(int fd, const struct iovec *v, int n) { return SYS(SYS_readv, fd, v, n); }
static ssize_t fb_preadv2(int fd, const struct iovec *v, int n, off_t o, int f) { return SYS(SYS_preadv2, fd, v, n, (long)o, 0L, f); }
static ssize_t fb_write(int fd, const void *b, size_t n) { return SYS(SYS_write, fd, b, n); }
static ssize_t fb_pwrite(int fd, const void *b, size_t n, off_t o) { return SYS(SYS_pwrite64, fd, b, n, o); }
static ssize_t fb_writev(int fd, const struct iovec *v, int n) { return SYS(SYS_writev, fd, v, n); }
static ssize_t fb_pwritev2(int fd, const struct iovec *v, int n, off_t o, int f) { return SYS(SYS_pwritev2, fd, v, n, (long)o, 0L, f); }
static int fb_fsync(int fd) { return (int)SYS(SYS_fsync, fd); }
static int fb_fdatasync(int fd) { return (int)SYS(SYS_fdatasync, fd); }
static int fb_sync_file_range(int fd, off_t o, off_t n, unsigned f) { return (int)SYS(SYS_sync_file_range, fd, o, n, f); }
static int fb_rename(const char *a, const char *b) { return (int)SYS(SYS_rename, a, b); }
static int fb_renameat(int da, const char *a, int db, const char *b) { return (int)SYS(SYS_renameat, da, a, db, b); }
static int fb_renameat2(int da, const char *a, int db, const char *b, unsigned f) { return (int)SYS(SYS_renameat2, da, a, db, b, f); }
static int fb_close(int fd) { return (int)SYS(SYS_close, fd); }
static int fb_close_range(unsigned a, unsigned b, int f) { return (int)SYS(SYS_close_range, a, b, f); }
static void fb_closefrom(int lo) { SYS(SYS_close_range, (unsigned)lo, ~0u, 0); }
static int fb_socketpair(int d, int t, int p, int *sv) { return (int)SYS(SYS_socketpair, d, t, p, sv); }
static int fb_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return (int)SYS(SYS_ioctl, fd, req, arg);
}
static int fb_dup(int fd) { return (int)SYS(SYS_dup, fd); }
static int fb_dup2(int a, int b) { return (int)SYS(SYS_dup2, a, b); }
static int fb_dup3(int a, int b, int f) { return (int)SYS(SYS_dup3, a, b, f); }
static int fb_fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return (int)SYS(SYS_fcntl, fd, cmd, arg);
}
static int fb_clock_gettime(clockid_t c, struct timespec *t) { return (int)SYS(SYS_clock_gettime, c, t); }
static int fb_gettimeofday(struct timeval *tv, void *tz) { return (int)SYS(SYS_gettimeofday, tv, tz); }
static time_t fb_time(time_t *t) { return (time_t)SYS(SYS_time, t); }
static int fb_clock_nanosleep(clockid_t c, int f, const struct timespec *r, struct timespec *m)
{
	int saved = errno, ret = SYS(SYS_clock_nanosleep, c, f, r, m) ? errno : 0;
	errno = saved; /* returns the error, errno untouched */
	return ret;
}
static int fb_timerfd_settime(int fd, int f, const struct itimerspec *n, struct itimerspec *o) { return (int)SYS(SYS_timerfd_settime, fd, f, n, o); }
static int fb_timerfd_gettime(int fd, struct itimerspec *c) { return (int)SYS(SYS_timerfd_gettime, fd, c); }

/* Not system calls: nothing calls these before our constructor, so their
 * fallback resolves on demand; a symbol libc lacks reports ENOSYS. */
static _Atomic int resolve_state; /* 0 none, 1 in progress, 2 done */
#define LAZY(ret, name, params, args, fail)                                    \
	static ret fb_##name params                                            \
	{                                                                      \
		if (atomic_load(&resolve_state) != 2)                          \
			fl__resolve();                                         \
		if (fl__real_##name == fb_##name) {                            \
			errno = ENOSYS;                                        \
			return fail;                                           \
		}                                                              \
		return fl__real_##name args;                                   \
	}
LAZY(int, getaddrinfo, (const char *n, const char *s, const struct addrinfo *h, struct addrinfo **r), (n, s, h, r), EAI_SYSTEM)
LAZY(FILE *, fopen, (const char *p, const char *m), (p, m), NULL)
LAZY(FILE *, fdopen, (int fd, const char *m), (fd, m), NULL)
LAZY(int, fclose, (FILE *f), (f), EOF)
LAZY(int, timespec_get, (struct timespec *ts, int b), (ts, b), 0)
LAZY(int, pthread_cond_clockwait, (pthread_cond_t *c, pthread_mutex_t *m, clockid_t k, const struct timespec *t), (c, m, k, t), ENOSYS)
LAZY(int, sem_timedwait, (sem_t *s, const struct timespec *t), (s, t), -1)
LAZY(int, sem_clockwait, (sem_t *s, clockid_t k, const struct timespec *t), (s, k, t), -1)

#define FL__REAL_DEF(ret, name, params) ret(*fl__real_##name) params = fb_##name;
FL_REAL_SYMS(FL__REAL_DEF)
#undef FL__REAL_DEF

void fl__resolve(void)
{
	int expect = 0;

	if (!atomic_compare_exchange_strong(&resolve_state, &expect, 1))
		return; /* done, or being done (re-entered from dlsym) */
#define FL__RESOLVE(ret, name, params)                                         \
	do {                                                                   \
		void *p = dlsym(RTLD_NEXT, #name);                             \
		if (p)                                                         \
			fl__real_##name = (ret(*) params)p;                    \
	} while (0);
	FL_REAL_SYMS(FL__RESOLVE)
#undef FL__RESOLVE
	atomic_store(&resolve_state, 2);
}

int64_t fl__mono_ns(void)
{
	struct timespec ts;
	FL_REAL(clock_gettime)(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- (2) the fd table ---------------------------------------------------- */

uint8_t fl__fdtab[FL_FDTAB_SIZE];
static _Atomic int fdtab_max = -1;       /* highest slot ever written */
static _Atomic uint32_t attach_gen;      /* bumped when the table is reset */
static struct fl_fdst *_Atomic fdst_tab; /* FL_FDST_MAX entries, mmap'd */

static void fdtab_set(int fd, uint8_t cls)
{
	unsigned i = (unsigned)fd & (FL_FDTAB_SIZE - 1);
	int m = atomic_load_explicit(&fdtab_max, memory_order_relaxed);

	while ((int)i > m && !atomic_compare_exchange_weak(&fdtab_max, &m, (int)i))
		;
	__atomic_store_n(&fl__fdtab[i], cls, __ATOMIC_RELAXED);
}

void fl__fd_set(int fd, unsigned cls)
{
	if (fd >= 0 && (unsigned)fd < FL_FDTAB_SIZE)
		fdtab_set(fd, (uint8_t)cls);
}

void fl__fdtab_reset(void)
{
	int m = atomic_load(&fdtab_max);
	atomic_fetch_add(&attach_gen, 1);
	for (int i = 0; i <= m; i++)
		__atomic_store_n(&fl__fdtab[i], FL_FD_UNKNOWN, __ATOMIC_RELAXED);
}

struct fl_fdst *fl__fdst(int fd)
{
	struct fl_fdst *t = atomic_load_explicit(&fdst_tab, memory_order_acquire);

	if (fd < 0 || fd >= FL_FDST_MAX)
		return NULL;
	if (FL_UNLIKELY(!t)) {
		struct fl_fdst *expect = NULL;
		void *p = mmap(NULL, FL_FDST_MAX * sizeof(*t), PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED)
			return NULL;
		if (atomic_compare_exchange_strong(&fdst_tab, &expect, p))
			t = p;
		else {
			munmap(p, FL_FDST_MAX * sizeof(*t));
			t = expect;
		}
	}
	return &t[fd];
}

/* Forget fd's fault state (only if some was set: an untargeted fd never
 * pays for this) and, with `cache`, what was cached of the kernel's fd. */
static void fdst_clear(int fd, bool cache)
{
	struct fl_fdst *t = atomic_load_explicit(&fdst_tab, memory_order_acquire);
	if (!t || fd < 0 || fd >= FL_FDST_MAX)
		return;
	struct fl_fdst *s = &t[fd];
	if (atomic_load_explicit(&s->dirty, memory_order_relaxed)) {
		if (atomic_load(&s->rdue) || atomic_load(&s->wdue))
			fl__pending_del(fd);
		atomic_store_explicit(&s->rdue, 0, memory_order_relaxed);
		atomic_store_explicit(&s->wdue, 0, memory_order_relaxed);
		atomic_store_explicit(&s->conn_err, 0, memory_order_relaxed);
		atomic_store_explicit(&s->reset, 0, memory_order_relaxed);
		atomic_store_explicit(&s->fake_conn, 0, memory_order_relaxed);
		atomic_store_explicit(&s->ep_hidden, 0, memory_order_relaxed);
		atomic_store_explicit(&s->ep_fd, 0, memory_order_relaxed);
		s->pnth[0] = s->pnth[1] = 0;
		atomic_store_explicit(&s->dirty, 0, memory_order_release);
	}
	if (cache) {
		atomic_store_explicit(&s->nbk, 0, memory_order_relaxed);
		atomic_store_explicit(&s->stype, 0, memory_order_relaxed);
		atomic_store_explicit(&s->tmok, 0, memory_order_relaxed);
		atomic_store_explicit(&s->dupd, 0, memory_order_relaxed);
	}
}

void fl__fd_forget(int fd)
{
	if (fd < 0)
		return;
	if ((unsigned)fd < FL_FDTAB_SIZE)
		__atomic_store_n(&fl__fdtab[fd], FL_FD_UNKNOWN, __ATOMIC_RELAXED);
	fdst_clear(fd, true);
}

void fl__fd_forget_range(unsigned lo, unsigned hi)
{
	int m = atomic_load(&fdtab_max);

	for (unsigned i = lo; (int64_t)i <= (int64_t)m && i <= hi; i++)
		if (__atomic_load_n(&fl__fdtab[i], __ATOMIC_RELAXED) != FL_FD_NONE)
			fl__fd_forget((int)i); /* a target, or not known: forget */
}

void fl__fd_dup(int oldfd, int newfd)
{
	uint8_t cls;
	struct fl_fdst *so, *sn;

	if (newfd < 0 || (unsigned)newfd >= FL_FDTAB_SIZE)
		return;
	cls = oldfd < 0 || (unsigned)oldfd >= FL_FDTAB_SIZE
		      ? FL_FD_UNKNOWN : __atomic_load_n(&fl__fdtab[oldfd], __ATOMIC_RELAXED);
	if (__atomic_load_n(&fl__fdtab[newfd], __ATOMIC_RELAXED) != FL_FD_NONE)
		fdst_clear(newfd, true); /* it may have been a target (dup2 onto it) */
	fdtab_set(newfd, cls);
	if (cls == FL_FD_NONE || !(so = fl__fdst(oldfd)) || !(sn = fl__fdst(newfd)))
		return;
	/* one open file description, two numbers: O_NONBLOCK is shared */
	atomic_store(&sn->nbk, atomic_load(&so->nbk));
	atomic_store(&sn->nbgen, atomic_load(&so->nbgen));
	atomic_store(&sn->stype, atomic_load(&so->stype));
	atomic_store(&sn->rcvtimeo, atomic_load(&so->rcvtimeo));
	atomic_store(&sn->sndtimeo, atomic_load(&so->sndtimeo));
	atomic_store(&sn->tmok, atomic_load(&so->tmok));
	atomic_store(&sn->dupd, 1);
	atomic_store(&so->dupd, 1);
}

_Atomic uint32_t fl__nbgen;

void fl__fd_note(int fd, int nb, int stype)
{
	struct fl_fdst *st = fl__fdst(fd);

	if (!st)
		return;
	if (nb >= 0) {
		if (atomic_load_explicit(&st->dupd, memory_order_relaxed) &&
		    atomic_load_explicit(&st->nbk, memory_order_relaxed) != (nb ? 2 : 1))
			atomic_fetch_add(&fl__nbgen, 1); /* its dups' caches are stale */
		atomic_store_explicit(&st->nbgen, atomic_load(&fl__nbgen), memory_order_relaxed);
		atomic_store_explicit(&st->nbk, nb ? 2 : 1, memory_order_relaxed);
	}
	if (stype > 0)
		atomic_store_explicit(&st->stype, (uint8_t)stype, memory_order_relaxed);
}

void fl__fd_new(int fd, unsigned cls, int nb, int stype, int tmo_from)
{
	struct fl_fdst *st, *from;

	if (fd < 0)
		return;
	if ((unsigned)fd < FL_FDTAB_SIZE)
		fdtab_set(fd, (uint8_t)cls);
	fdst_clear(fd, true);
	if (nb < 0 && stype <= 0)
		return;
	fl__fd_note(fd, nb, stype);
	if (!(st = fl__fdst(fd)))
		return;
	if (tmo_from < 0) { /* a new socket has no timeouts */
		atomic_store_explicit(&st->rcvtimeo, 0, memory_order_relaxed);
		atomic_store_explicit(&st->sndtimeo, 0, memory_order_relaxed);
		atomic_store_explicit(&st->tmok, 1, memory_order_release);
		return;
	}
	/* accept: the new socket inherits the listener's timeouts (sk_clone) */
	from = fl__fdst(tmo_from);
	if (from && atomic_load(&from->tmok)) {
		atomic_store(&st->rcvtimeo, atomic_load(&from->rcvtimeo));
		atomic_store(&st->sndtimeo, atomic_load(&from->sndtimeo));
		atomic_store(&st->tmok, 1);
	}
}

bool fl__nonblock(int fd, int msgflags)
{
	struct fl_fdst *st = fl__fdst(fd);
	int saved, fl;
	uint8_t k;

	if (msgflags & MSG_DONTWAIT)
		return true;
	if (st && (k = atomic_load_explicit(&st->nbk, memory_order_relaxed)) &&
	    atomic_load_explicit(&st->nbgen, memory_order_relaxed) ==
		    atomic_load_explicit(&fl__nbgen, memory_order_relaxed))
		return k == 2;
	saved = errno; /* not known (an fd we did not see made): ask once */
	fl = FL_REAL(fcntl)(fd, F_GETFL);
	errno = saved;
	if (fl < 0)
		return false;
	fl__fd_note(fd, (fl & O_NONBLOCK) != 0, 0);
	return (fl & O_NONBLOCK) != 0;
}

static int64_t tv_ns(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000000000ll + (int64_t)tv->tv_usec * 1000;
}

int64_t fl__sock_timeo(int fd, int dir)
{
	struct fl_fdst *st = fl__fdst(fd);
	struct timeval rv = {0, 0}, sv = {0, 0};
	socklen_t l = sizeof(rv);
	int saved;

	if (st && atomic_load_explicit(&st->tmok, memory_order_acquire))
		return atomic_load(dir ? &st->sndtimeo : &st->rcvtimeo);
	saved = errno; /* not known: ask once (a wait is about to begin) */
	FL_REAL(getsockopt)(fd, SOL_SOCKET, SO_RCVTIMEO, &rv, &l);
	l = sizeof(sv);
	FL_REAL(getsockopt)(fd, SOL_SOCKET, SO_SNDTIMEO, &sv, &l);
	errno = saved;
	if (st) {
		atomic_store(&st->rcvtimeo, tv_ns(&rv));
		atomic_store(&st->sndtimeo, tv_ns(&sv));
		atomic_store_explicit(&st->tmok, 1, memory_order_release);
	}
	return tv_ns(dir ? &sv : &rv);
}

int fl__sock_type(int fd)
{
	struct fl_fdst *st = fl__fdst(fd);
	int type = 0, saved;
	socklen_t l = sizeof(type);

	if (st && atomic_load_explicit(&st->stype, memory_order_relaxed))
		return atomic_load_explicit(&st->stype, memory_order_relaxed);
	saved = errno;
	FL_REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &l);
	errno = saved;
	fl__fd_note(fd, -1, type);
	return type;
}


/* Pending readiness hides: a short list under a spinlock (slow path only;
 * reset in a forked child, where the holder thread no longer exists). */
#define PEND_MAX 256
_Atomic int fl__npending;
static int waiting_bias; /* 1 while a block is awaited (under pend_lock) */
static atomic_flag pend_lock = ATOMIC_FLAG_INIT;
static int pend_fds[PEND_MAX];
static int pend_n;

static void pend_lock_take(void)
{
	while (atomic_flag_test_and_set_explicit(&pend_lock, memory_order_acquire))
		;
}

static void pend_lock_drop(void)
{
	atomic_flag_clear_explicit(&pend_lock, memory_order_release);
}

void fl__pending_add(int fd)
{
	pend_lock_take();
	int i;
	for (i = 0; i < pend_n && pend_fds[i] != fd; i++)
		;
	if (i == pend_n && pend_n < PEND_MAX)
		pend_fds[pend_n++] = fd;
	atomic_store(&fl__npending, pend_n + waiting_bias);
	pend_lock_drop();
}

void fl__pending_del(int fd)
{
	pend_lock_take();
	for (int i = 0; i < pend_n; i++)
		if (pend_fds[i] == fd) {
			pend_fds[i] = pend_fds[--pend_n];
			break;
		}
	atomic_store(&fl__npending, pend_n + waiting_bias);
	pend_lock_drop();
}

/* Readiness calls take their slow path while a block is awaited too, so
 * their fast path stays one load and one compare (fl__npending == 0). */
void fl__set_waiting(int on)
{
	pend_lock_take();
	waiting_bias = on;
	atomic_store(&fl__npending, pend_n + waiting_bias);
	pend_lock_drop();
}

int fl__nhidden(void)
{
	return atomic_load(&fl__npending) - (atomic_load(&fl__mode) == FL_MODE_WAITING);
}

int fl__pending_list(int *out, int max)
{
	pend_lock_take();
	int n = pend_n < max ? pend_n : max;
	memcpy(out, pend_fds, (size_t)n * sizeof(int));
	pend_lock_drop();
	return n;
}


/* ---- (3) process identity and the constructor ---------------------------- */

/* pid and tid of journal records, cached: a matched call must not pay two
 * system calls for them. Reset in a forked child (its only thread is the
 * one that forked). */
static _Atomic pid_t cached_pid;
static __thread pid_t cached_tid;

static pid_t my_pid(void)
{
	pid_t p = atomic_load_explicit(&cached_pid, memory_order_relaxed);
	if (!p) {
		p = getpid();
		atomic_store_explicit(&cached_pid, p, memory_order_relaxed);
	}
	return p;
}

static pid_t my_tid(void)
{
	if (!cached_tid)
		cached_tid = (pid_t)SYS(SYS_gettid);
	return cached_tid;
}

static void atfork_child(void)
{
	atomic_store(&cached_pid, 0);
	cached_tid = 0;
	atomic_flag_clear(&pend_lock);
	fl__attach_atfork_child();
}

__attribute__((constructor(101))) static void fl_init(void)
{
	int saved = errno;

	fl__resolve();
	pthread_atfork(NULL, NULL, atfork_child);
	fl__attach_init(getenv("FAULTLINE_CTL"));
	errno = saved;
}

/* ---- (4) classification ---------------------------------------------------- */

static unsigned classify_sock(struct fl_ctl *c, int fd, bool *keep_unknown)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int type = 0, acc = 0;
	socklen_t ol = sizeof(type);
	unsigned t = 0;

	if (!(atomic_load(&fl__has) & FL_HAS_SOCK))
		return 0;
	if (FL_REAL(getsockopt)(fd, SOL_SOCKET, SO_TYPE, &type, &ol) != 0)
		return 0;
	ol = sizeof(acc);
	FL_REAL(getsockopt)(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &ol);
	if (!acc && SYS(SYS_getpeername, fd, &ss, &len) == 0)
		t = fl__match_sockaddr(c, (struct sockaddr *)&ss, len, type, false);
	else if (!acc && type == SOCK_STREAM)
		*keep_unknown = true; /* not connected yet: connect() decides */
	len = sizeof(ss);
	if (!t && SYS(SYS_getsockname, fd, &ss, &len) == 0)
		t = fl__match_sockaddr(c, (struct sockaddr *)&ss, len, type, acc != 0);
	if (t)
		*keep_unknown = false;
	return t;
}

static unsigned classify_file(struct fl_ctl *c, int fd)
{
	char link[64], path[PATH_MAX];
	ssize_t n;

	if (!(atomic_load(&fl__has) & FL_HAS_PATH))
		return 0;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = SYS(SYS_readlink, link, path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	return fl__match_path(c, path);
}

unsigned fl__classify(int fd)
{
	struct fl_ctl *c = atomic_load(&fl__ctl);
	uint32_t gen = atomic_load(&attach_gen);
	bool keep_unknown = false;
	unsigned t = 0;
	struct stat st;
	int saved = errno;

	if (fd < 0 || (unsigned)fd >= FL_FDTAB_SIZE)
		return FL_FD_NONE;
	if (c && atomic_load(&fl__mode) == FL_MODE_ON) {
		if (SYS(SYS_fstat, fd, &st) != 0) {
			errno = saved;
			return FL_FD_NONE; /* not open: the real call says EBADF */
		}
		if (S_ISSOCK(st.st_mode))
			t = classify_sock(c, fd, &keep_unknown);
		else if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
			t = classify_file(c, fd);
	}
	errno = saved;
	if (keep_unknown)
		return FL_FD_NONE;
	fdtab_set(fd, t ? (uint8_t)t : FL_FD_NONE);
	if (atomic_load(&attach_gen) != gen)
		fdtab_set(fd, FL_FD_UNKNOWN);
	return t ? t : FL_FD_NONE;
}

unsigned fl__class(int fd)
{
	unsigned cls;

	if (fd < 0 || (unsigned)fd >= FL_FDTAB_SIZE)
		return FL_FD_NONE;
	cls = __atomic_load_n(&fl__fdtab[fd], __ATOMIC_RELAXED);
	if (cls == FL_FD_UNKNOWN)
		cls = fl__classify(fd);
	return cls;
}

/* ---- (5) acting ------------------------------------------------------------- */

bool fl__decide(unsigned target, unsigned op, struct fl_verdict *v)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_acquire);
	int64_t now, waited;

	v->fault = FL_FAULT_NONE;
	v->nth = 0;
	if (!c)
		return false;
	if (atomic_load_explicit(&c->hdr.state, memory_order_relaxed) != FL_STATE_ACTIVE)
		fl__attach_poll(); /* over: a new drill? */
	if (!fl__decide_lazy(c, target, op, fl__mono_ns, v)) {
		if (v->refused)
			fl__refused_late(c, v);
		if (v->t_run < 0)
			fl__attach_poll(); /* a rule fired on a dead block: a new one? */
		return false;
	}
	now = v->t_run + c->hdr.epoch_mono_ns;
	if (v->pregate && v->until_target && v->until_target < FL_MAX_TARGETS &&
	    v->until_op < FL_OP__COUNT) {
		/* a pinned order: the call it follows must have happened first */
		struct fl_wait w = {.end = now + v->until_max_ns, .bound = INT64_MAX,
				    .gate = FL_PASSED(c, v->until_target, v->until_op),
				    .waiters = FL_WAITERS(c, v->until_target, v->until_op),
				    .gate_nth = v->until_nth, .intr = FL_INTR_NONE};
		fl__wait(&w, &waited);
		v->t_run = fl__mono_ns() - c->hdr.epoch_mono_ns;
	}
	return true;
}

bool fl__made_first(struct fl_call *k, unsigned t, int64_t *r)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_acquire);
	uint64_t seen, nth;
	int saved;

	if (!c || t == 0 || t >= FL_MAX_TARGETS || k->op >= FL_OP__COUNT ||
	    atomic_load_explicit(&c->hdr.state, memory_order_relaxed) != FL_STATE_ACTIVE)
		return false;
	seen = atomic_load_explicit(FL_CTR(c, t, k->op), memory_order_acquire);
	if (fl__may_fire(c, t, k->op, seen + 1, fl__mono_ns))
		return false;
	*r = k->real(k, SIZE_MAX);
	if (*r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return true; /* found nothing: not counted */
	saved = errno;
	nth = fl__count_made(c, t, k->op, seen, fl__mono_ns);
	if (nth)
		fl__passed_at(c, t, k->op, nth); /* opens gates, where one waits */
	errno = saved;
	return true;
}

bool fl__hides_apply(int64_t now)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_acquire);
	return c && fl__live(c, now);
}

void fl__journal(const struct fl_verdict *v, int kind, int64_t ret, int err,
		 int64_t value_ns)
{
	struct fl_ctl *c = atomic_load(&fl__ctl);
	struct fl_jrec r = {0};

	if (!c)
		return;
	if (v->journaled && kind == FL_J_FAULT)
		kind = FL_J_OUTCOME;
	r.t_ns = kind == FL_J_OUTCOME ? fl__mono_ns() - c->hdr.epoch_mono_ns : v->t_run;
	r.pid = my_pid();
	r.tid = (int32_t)my_tid();
	r.rule = (uint16_t)v->rule;
	r.target = v->target;
	r.op = v->op;
	r.fault = v->fault;
	r.kind = (uint8_t)kind;
	r.nth = v->nth;
	r.ret = ret;
	r.err = err;
	r.value_ns = value_ns;
	r.tick = (uint32_t)v->tick;
	fl__journal_push(c, &r);
}

void fl__reset_conn(int fd)
{
	struct linger l = {1, 0};
	struct sockaddr sa = {.sa_family = AF_UNSPEC};
	int saved = errno;

	/* SO_LINGER {1, 0} + disconnect: the kernel sends a RST and the peer
	 * sees ECONNRESET; the fd stays valid for the program to close. */
	FL_REAL(setsockopt)(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	FL_REAL(connect)(fd, &sa, sizeof(sa));
	errno = saved;
}
