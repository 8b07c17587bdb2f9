/*
 * file.c — file and fd interposers: the open family (with the varargs,
 * 64-bit and fortified variants kept together), stdio's fopen/fdopen/fclose
 * (to classify and declassify the fd, not its buffered I/O), read/write and
 * their vector/positional forms, fsync, rename, close, and the dup family
 * that carries an fd's class.
 *
 * Every wrapper: guard → decide → act (act.c) or forward. Opens are decided
 * before the call (an open that fails never opens); the new fd is
 * classified by its canonical path (canon_path). close always closes, then
 * reports. close_range and closefrom forget the targets they close. fcntl
 * (F_SETFL) and ioctl (FIONBIO) keep the O_NONBLOCK cache (shim.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/close_range.h>

#include "io.h"

extern void __chk_fail(void) __attribute__((noreturn));

/* ---- paths ------------------------------------------------------------- */

/* The name /proc/self/fd gives fd: the kernel's canonical path. */
static bool fd_path(int fd, char *out, size_t outlen)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = syscall(SYS_readlink, link, out, outlen - 1);
	if (n <= 0)
		return false;
	out[n] = '\0';
	return true;
}

/* The path the kernel will reach for `path` (relative to dirfd or the cwd),
 * made canonical by the kernel itself: `.`, `..` and symlinks resolved as
 * it resolves them. An O_PATH open (no side effect: nothing is read,
 * created or truncated) of the path — or, for a file not made yet, of its
 * directory, then the last name — and its /proc/self/fd name. Only when
 * the block has path targets. */
static bool canon_path(int dirfd, const char *path, int oflags, char *out, size_t outlen)
{
	int fl = O_PATH | O_CLOEXEC | (oflags & O_NOFOLLOW), fd;
	const char *slash, *name;
	char dir[PATH_MAX];
	size_t n;
	bool ok;

	if (!*path)
		return false;
	fd = (int)syscall(SYS_openat, dirfd, path, fl);
	if (fd < 0) { /* not there (yet): its directory, then the last name */
		slash = strrchr(path, '/');
		name = slash ? slash + 1 : path;
		n = slash ? (size_t)(slash - path) : 0;
		if (!*name || !strcmp(name, ".") || !strcmp(name, "..") || n + 2 > sizeof(dir))
			return false;
		memcpy(dir, slash ? path : ".", slash ? n : 1);
		dir[slash ? (n ? n : 1) : 1] = '\0'; /* "/x": the root */
		fd = (int)syscall(SYS_openat, dirfd, dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			return false;
		ok = fd_path(fd, out, outlen);
		n = strlen(out);
		ok = ok && n + 1 + strlen(name) + 1 <= outlen;
		if (ok) {
			if (n == 0 || out[n - 1] != '/')
				out[n++] = '/';
			memcpy(out + n, name, strlen(name) + 1);
		}
	} else {
		ok = fd_path(fd, out, outlen);
	}
	syscall(SYS_close, fd);
	return ok;
}

/* Target id of a path, or 0. Only when the block has path targets. */
static unsigned path_target(int dirfd, const char *path, int oflags)
{
	struct fl_ctl *c = atomic_load(&fl__ctl);
	char abs[PATH_MAX];
	int saved = errno;
	unsigned t = 0;

	if (!c || !path || atomic_load(&fl__mode) != FL_MODE_ON ||
	    !(atomic_load(&fl__has) & FL_HAS_PATH))
		return 0;
	if (canon_path(dirfd, path, oflags, abs, sizeof(abs)))
		t = fl__match_path(c, abs);
	errno = saved;
	return t;
}

/* Does this process have to look at a path at all? One load, one compare. */
static inline bool paths_armed(void)
{
	return FL_UNLIKELY(atomic_load_explicit(&fl__has, memory_order_relaxed) &
			   (FL_HAS_PATH | FL_HAS_WAIT));
}

/* Candidates: could an open of `path` reach a path target at all? Told from
 * its last name alone, with no system call, so an untargeted open costs
 * nothing while path targets exist: when every target's last name is
 * literal (".../data", ".../ledger.db"), a path whose last name is none of
 * them is not a target. A target whose last name has a wildcard (* ? [)
 * makes every open a candidate (made canonical by the kernel: canon_path).
 * Limit: a symlink as the LAST name, whose own name is none of the targets'
 * literal last names, is not followed (symlinked directories are). */
#define CAND_HASH(b) (((unsigned)(unsigned char)(b)[0] * 31u + (unsigned char)(b)[1]) & 63u)
static struct {
	struct fl_ctl *_Atomic c; /* the block the filter was built for */
	_Atomic uint32_t gen;
	_Atomic bool all;
	_Atomic uint64_t bloom;   /* CAND_HASH of the literal last names */
} cand;

static void cand_build(struct fl_ctl *c, uint32_t gen)
{
	uint64_t bloom = 0;
	bool all = false;

	for (unsigned i = 1; i < c->hdr.ntargets && i < FL_MAX_TARGETS; i++) {
		const char *pat = c->targets[i].pattern, *last, *w = NULL;
		if (c->targets[i].kind != FL_TK_PATH)
			continue;
		for (const char *q = pat; *q; q++)
			if (*q == '*' || *q == '?' || *q == '[')
				w = q;
		last = strrchr(pat, '/');
		/* a wildcard may stand for '/' (fl__glob): only a literal tail
		 * after the last wildcard that holds a '/' fixes the last name */
		if (!last || (w && w > last) || !last[1])
			all = true;
		else
			bloom |= 1ull << CAND_HASH(last + 1);
	}
	atomic_store(&cand.all, all);
	atomic_store(&cand.bloom, bloom);
	atomic_store(&cand.gen, gen);
	atomic_store_explicit(&cand.c, c, memory_order_release);
}

static bool candidate(const char *path)
{
	struct fl_ctl *c = atomic_load_explicit(&fl__ctl, memory_order_acquire);
	const char *b;
	uint32_t gen;

	if (!c || !path || atomic_load_explicit(&fl__mode, memory_order_relaxed) != FL_MODE_ON)
		return true; /* no block yet: the slow path polls for one */
	gen = atomic_load_explicit(&c->hdr.gen, memory_order_acquire);
	if (gen & 1)
		return true; /* being republished */
	if (atomic_load_explicit(&cand.c, memory_order_acquire) != c ||
	    atomic_load_explicit(&cand.gen, memory_order_relaxed) != gen)
		cand_build(c, gen);
	if (atomic_load_explicit(&cand.all, memory_order_relaxed))
		return true;
	b = strrchr(path, '/');
	b = b ? b + 1 : path;
	if (!b[0] || (b[0] == '.' && (!b[1] || (b[1] == '.' && !b[2]))))
		return true; /* the last name is the kernel's to find */
	return atomic_load_explicit(&cand.bloom, memory_order_relaxed) >> CAND_HASH(b) & 1;
}

static unsigned path_target_polled(int dirfd, const char *path, int oflags)
{
	fl__attach_poll();
	return path_target(dirfd, path, oflags);
}

/* ---- open ------------------------------------------------------------------ */

struct open_args {
	int dirfd;
	const char *path;
	int flags;
	mode_t mode;
	unsigned t;
	const char *fmode; /* fopen */
	FILE *f;
};

static int64_t open_call(struct fl_call *k, size_t cap)
{
	struct open_args *a = k->ctx;
	int fd;

	if (a->fmode) {
		a->f = FL_REAL(fopen)(a->path, a->fmode);
		fd = a->f ? fileno(a->f) : -1;
	} else {
		fd = FL_REAL(openat)(a->dirfd, a->path, a->flags, a->mode);
	}
	if (fd >= 0) {
		int saved = errno;
		fl__fd_new(fd, a->t ? a->t : FL_FD_NONE, -1, 0, -1);
		errno = saved;
	}
	return fd;
}

static int open_slow(struct open_args *a)
{
	struct fl_call k = {.op = FL_OP_OPEN, .fd = -1, .real = open_call, .ctx = a};
	struct fl_verdict v;

	a->t = path_target_polled(a->dirfd, a->path, a->flags);
	if (!a->t)
		return (int)open_call(&k, SIZE_MAX);
	fl__decide(a->t, FL_OP_OPEN, &v);
	return (int)fl__act(&k, &v);
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode)
{
	struct open_args a = {dirfd, path, flags, mode, 0, NULL, NULL};
	int fd;

	if (FL_LIKELY(!paths_armed()) || !candidate(path)) {
		fd = FL_REAL(openat)(dirfd, path, flags, mode);
		fl__fd_set(fd, FL_FD_NONE); /* no path target: not one */
		return fd;
	}
	return open_slow(&a);
}

static mode_t open_mode(int flags, va_list ap)
{
	return (flags & (O_CREAT | __O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
}

FL_API int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = open_mode(flags, ap);
	va_end(ap);
	return open_common(AT_FDCWD, path, flags, m);
}

FL_API int open64(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = open_mode(flags, ap);
	va_end(ap);
	return open_common(AT_FDCWD, path, flags | O_LARGEFILE, m);
}

FL_API int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = open_mode(flags, ap);
	va_end(ap);
	return open_common(dirfd, path, flags, m);
}

FL_API int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	mode_t m = open_mode(flags, ap);
	va_end(ap);
	return open_common(dirfd, path, flags | O_LARGEFILE, m);
}

/* Fortified opens: glibc calls these when it cannot prove at compile time
 * that O_CREAT comes with a mode; a creating open here is a program bug. */
FL_API int __open_2(const char *path, int flags)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		__chk_fail();
	return open_common(AT_FDCWD, path, flags, 0);
}

FL_API int __open64_2(const char *path, int flags)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		__chk_fail();
	return open_common(AT_FDCWD, path, flags | O_LARGEFILE, 0);
}

FL_API int __openat_2(int dirfd, const char *path, int flags)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		__chk_fail();
	return open_common(dirfd, path, flags, 0);
}

FL_API int __openat64_2(int dirfd, const char *path, int flags)
{
	if (flags & (O_CREAT | __O_TMPFILE))
		__chk_fail();
	return open_common(dirfd, path, flags | O_LARGEFILE, 0);
}

FL_API int creat(const char *path, mode_t mode)
{
	return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

FL_API int creat64(const char *path, mode_t mode)
{
	return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC | O_LARGEFILE, mode);
}

/* ---- stdio: classify the fd; buffered I/O inside glibc is not seen ---- */

FL_API FILE *fopen(const char *path, const char *mode)
{
	struct open_args a = {AT_FDCWD, path, 0, 0, 0, mode, NULL};

	if (FL_LIKELY(!paths_armed()) || !candidate(path)) {
		FILE *f = FL_REAL(fopen)(path, mode);
		if (f)
			fl__fd_set(fileno(f), FL_FD_NONE);
		return f;
	}
	return open_slow(&a) >= 0 ? a.f : NULL;
}

FL_API FILE *fopen64(const char *path, const char *mode)
	__attribute__((alias("fopen")));

FL_API FILE *fdopen(int fd, const char *mode)
{
	FILE *f = FL_REAL(fdopen)(fd, mode);
	return f; /* the fd keeps the class it has */
}

FL_API int fclose(FILE *f)
{
	int fd = f ? fileno(f) : -1;
	int r = FL_REAL(fclose)(f);
	if (fd >= 0 && !fl_fd_untargeted(fd)) {
		int saved = errno;
		fl__fd_forget(fd);
		errno = saved;
	}
	return r;
}

/* ---- read and write -------------------------------------------------------- */

#define FL_IO_WRAP(expr_fast, ...)                                             \
	do {                                                                   \
		if (fl_fd_untargeted(fd))                                      \
			return expr_fast;                                      \
		struct fl_io io = {.fd = fd, __VA_ARGS__};                     \
		return fl__io(&io);                                            \
	} while (0)

FL_API ssize_t read(int fd, void *buf, size_t n)
{
	FL_IO_WRAP(FL_REAL(read)(fd, buf, n), .kind = FL_IO_READ, .buf = buf, .len = n);
}

FL_API ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return read(fd, buf, n);
}

FL_API ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	FL_IO_WRAP(FL_REAL(pread)(fd, buf, n, off), .kind = FL_IO_PREAD, .buf = buf,
		   .len = n, .off = off);
}

FL_API ssize_t pread64(int fd, void *buf, size_t n, off_t off)
	__attribute__((alias("pread")));

FL_API ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
	if (n > buflen)
		__chk_fail();
	return pread(fd, buf, n, off);
}

FL_API ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
	__attribute__((alias("__pread_chk")));

FL_API ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	FL_IO_WRAP(FL_REAL(readv)(fd, iov, cnt), .kind = FL_IO_READV, .iov = iov,
		   .iovcnt = cnt, .len = SIZE_MAX);
}

FL_API ssize_t preadv2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	FL_IO_WRAP(FL_REAL(preadv2)(fd, iov, cnt, off, flags), .kind = FL_IO_PREADV2,
		   .iov = iov, .iovcnt = cnt, .off = off, .flags = flags, .len = SIZE_MAX);
}

FL_API ssize_t preadv64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
	__attribute__((alias("preadv2")));

FL_API ssize_t preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return preadv2(fd, iov, cnt, off, 0);
}

FL_API ssize_t preadv64(int fd, const struct iovec *iov, int cnt, off_t off)
	__attribute__((alias("preadv")));

FL_API ssize_t write(int fd, const void *buf, size_t n)
{
	FL_IO_WRAP(FL_REAL(write)(fd, buf, n), .kind = FL_IO_WRITE, .buf = (void *)buf,
		   .len = n);
}

FL_API ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	FL_IO_WRAP(FL_REAL(pwrite)(fd, buf, n, off), .kind = FL_IO_PWRITE,
		   .buf = (void *)buf, .len = n, .off = off);
}

FL_API ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
	__attribute__((alias("pwrite")));

FL_API ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
	FL_IO_WRAP(FL_REAL(writev)(fd, iov, cnt), .kind = FL_IO_WRITEV, .iov = iov,
		   .iovcnt = cnt, .len = SIZE_MAX);
}

FL_API ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
	FL_IO_WRAP(FL_REAL(pwritev2)(fd, iov, cnt, off, flags), .kind = FL_IO_PWRITEV2,
		   .iov = iov, .iovcnt = cnt, .off = off, .flags = flags, .len = SIZE_MAX);
}

FL_API ssize_t pwritev64v2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
	__attribute__((alias("pwritev2")));

FL_API ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	return pwritev2(fd, iov, cnt, off, 0);
}

FL_API ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
	__attribute__((alias("pwritev")));

/* ---- durability ---------------------------------------------------------- */

FL_API int fsync(int fd)
{
	FL_IO_WRAP(FL_REAL(fsync)(fd), .kind = FL_IO_FSYNC);
}

FL_API int fdatasync(int fd)
{
	FL_IO_WRAP(FL_REAL(fdatasync)(fd), .kind = FL_IO_FDATASYNC);
}

FL_API int sync_file_range(int fd, off_t off, off_t n, unsigned int flags)
{
	FL_IO_WRAP(FL_REAL(sync_file_range)(fd, off, n, flags), .kind = FL_IO_SYNC_RANGE,
		   .off = off, .len = (size_t)n, .flags = (int)flags);
}

/* ---- rename ---------------------------------------------------------------- */

struct rename_args {
	int da, db;
	const char *a, *b;
	unsigned fl;
};

static int64_t rename_call(struct fl_call *k, size_t cap)
{
	const struct rename_args *r = k->ctx;
	return FL_REAL(renameat2)(r->da, r->a, r->db, r->b, r->fl);
}

static int rename_common(int da, const char *a, int db, const char *b, unsigned fl)
{
	struct rename_args ra = {da, db, a, b, fl};
	struct fl_call k = {.op = FL_OP_RENAME, .fd = -1, .real = rename_call, .ctx = &ra};
	struct fl_verdict v;
	unsigned t = 0;

	if (paths_armed() && (candidate(a) || candidate(b))) { /* names: no symlink followed */
		t = path_target_polled(da, a, O_NOFOLLOW);
		if (!t)
			t = path_target(db, b, O_NOFOLLOW);
	}
	if (!t)
		return (int)rename_call(&k, SIZE_MAX);
	fl__decide(t, FL_OP_RENAME, &v);
	return (int)fl__act(&k, &v);
}

FL_API int rename(const char *a, const char *b)
{
	return rename_common(AT_FDCWD, a, AT_FDCWD, b, 0);
}

FL_API int renameat(int da, const char *a, int db, const char *b)
{
	return rename_common(da, a, db, b, 0);
}

FL_API int renameat2(int da, const char *a, int db, const char *b, unsigned int fl)
{
	return rename_common(da, a, db, b, fl);
}

/* ---- close and the dup family --------------------------------------------- */

static int64_t close_call(struct fl_call *k, size_t cap)
{
	int r = FL_REAL(close)(k->fd), saved = errno; /* close always closes */
	fl__fd_forget(k->fd);
	errno = saved;
	return r;
}

static int close_slow(int fd)
{
	struct fl_call k = {.op = FL_OP_CLOSE, .fd = fd, .real = close_call};
	unsigned t = fl__class(fd);
	struct fl_verdict v;

	if (t == FL_FD_NONE)
		return (int)close_call(&k, SIZE_MAX);
	fl__decide(t, FL_OP_CLOSE, &v);
	return (int)fl__act(&k, &v);
}

/* Untargeted: the number keeps FL_FD_NONE; whatever is made next with it
 * is classified by its maker (socket, open, accept, dup) or on first use. */
FL_API int close(int fd)
{
	if (fl_fd_untargeted(fd))
		return FL_REAL(close)(fd);
	return close_slow(fd);
}

FL_API int close_range(unsigned int lo, unsigned int hi, int flags)
{
	int r = FL_REAL(close_range)(lo, hi, flags), saved = errno;
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		fl__fd_forget_range(lo, hi); /* a pipe reusing a number is not the target */
	errno = saved;
	return r;
}

FL_API void closefrom(int lo)
{
	FL_REAL(closefrom)(lo);
	if (lo >= 0) {
		int saved = errno;
		fl__fd_forget_range((unsigned)lo, UINT_MAX);
		errno = saved;
	}
}

FL_API int dup(int fd)
{
	int r = FL_REAL(dup)(fd);
	if (r >= 0 && !fl_fd_untargeted(fd))
		fl__fd_dup(fd, r);
	else if (r >= 0)
		fl__fd_set(r, FL_FD_NONE);
	return r;
}

FL_API int dup2(int fd, int nfd)
{
	int r = FL_REAL(dup2)(fd, nfd);
	if (r >= 0 && r != fd)
		fl__fd_dup(fd, r);
	return r;
}

FL_API int dup3(int fd, int nfd, int flags)
{
	int r = FL_REAL(dup3)(fd, nfd, flags);
	if (r >= 0)
		fl__fd_dup(fd, r);
	return r;
}

FL_API int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *); /* every fcntl argument fits a pointer */
	va_end(ap);
	int r = FL_REAL(fcntl)(fd, cmd, arg);
	if (r >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		fl__fd_dup(fd, r);
	else if (r >= 0 && cmd == F_SETFL)
		fl__fd_note(fd, ((int)(intptr_t)arg & O_NONBLOCK) != 0, 0);
	return r;
}

FL_API int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));

FL_API int ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	va_start(ap, req);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	int r = FL_REAL(ioctl)(fd, req, arg);
	if (r == 0 && req == FIONBIO && arg)
		fl__fd_note(fd, *(const int *)arg != 0, 0);
	return r;
}
