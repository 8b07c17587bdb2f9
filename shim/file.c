/*
 * file.c — file and fd interposers: the open family (with the varargs,
 * 64-bit and fortified variants kept together), stdio's fopen/fdopen/fclose
 * (to classify and declassify the fd, not its buffered I/O), read/write and
 * their vector/positional forms, fsync, rename, close, and the dup family
 * that carries an fd's class.
 *
 * Opens are decided before the call (an open that fails never opens); the
 * new fd is classified by its path. close always closes, then reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io.h"

extern void __chk_fail(void) __attribute__((noreturn));

/* ---- paths ------------------------------------------------------------- */

/* Absolute form of `path` relative to dirfd (AT_FDCWD or a directory fd),
 * lexically; no allocation. Returns false when it does not fit. */
static bool abs_path(int dirfd, const char *path, char *out, size_t outlen)
{
	size_t n;
	ssize_t m;

	if (path[0] == '/') {
		n = strlen(path);
		if (n >= outlen)
			return false;
		memcpy(out, path, n + 1);
		return true;
	}
	if (dirfd == AT_FDCWD) {
		if (syscall(SYS_getcwd, out, outlen) < 0)
			return false;
		n = strlen(out);
	} else {
		char link[64];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
		m = syscall(SYS_readlink, link, out, outlen - 1);
		if (m <= 0)
			return false;
		n = (size_t)m;
		out[n] = '\0';
	}
	if (n + 1 + strlen(path) + 1 > outlen)
		return false;
	if (n == 0 || out[n - 1] != '/')
		out[n++] = '/';
	memcpy(out + n, path, strlen(path) + 1);
	return true;
}

/* Target id of a path, or 0. Only when the block has path targets. */
static unsigned path_target(int dirfd, const char *path)
{
	struct fl_ctl *c = atomic_load(&fl__ctl);
	char abs[PATH_MAX];
	int saved = errno;
	unsigned t = 0;

	if (!c || !path || atomic_load(&fl__mode) != FL_MODE_ON ||
	    !(atomic_load(&fl__has) & FL_HAS_PATH))
		return 0;
	if (abs_path(dirfd, path, abs, sizeof(abs)))
		t = fl__match_path(c, abs);
	errno = saved;
	return t;
}

/* ---- open ------------------------------------------------------------------ */

static void classify_new(int fd, unsigned t)
{
	if (fd < 0)
		return;
	fl__fd_forget(fd);
	fl__fd_set(fd, t ? t : FL_FD_NONE);
}

/* Decide an open of target t. Returns true when the open must fail with
 * errno set; otherwise *v says what to do around the real open. */
static bool open_pre(unsigned t, struct fl_verdict *v, int64_t *t0)
{
	*t0 = fl__mono_ns();
	if (!t || !fl__decide(t, FL_OP_OPEN, v)) {
		v->fault = FL_FAULT_NONE;
		return false;
	}
	switch (v->fault) {
	case FL_FAULT_ERROR:
		fl__journal(v, FL_J_FAULT, -1, v->err, 0);
		errno = v->err;
		return true;
	case FL_FAULT_DELAY:
		fl__fault_sleep(v, fl__verdict_ns(v));
		break;
	case FL_FAULT_HOLD:
		v->bytes = fl__gate_wait(v); /* remember for the journal */
		break;
	}
	return false;
}

static void open_post(struct fl_verdict *v, int64_t r, int64_t t0)
{
	int err = r < 0 ? errno : 0;
	int kind = FL_J_FAULT;

	if (v->fault == FL_FAULT_NONE)
		return;
	if (v->fault == FL_FAULT_LATE_ACK)
		fl__fault_sleep(v, fl__verdict_ns(v));
	if (v->fault == FL_FAULT_HOLD)
		kind = v->bytes ? FL_J_GATE_OPEN : FL_J_GATE_TIMEOUT;
	fl__journal(v, kind, r, err, fl__mono_ns() - t0);
	errno = err ? err : errno;
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode)
{
	unsigned t = 0;
	struct fl_verdict v;
	int64_t t0;
	int fd;

	if (atomic_load_explicit(&fl__mode, memory_order_relaxed) != FL_MODE_OFF) {
		fl__attach_poll();
		t = path_target(dirfd, path);
	}
	if (open_pre(t, &v, &t0))
		return -1;
	fd = FL_REAL(openat)(dirfd, path, flags, mode);
	classify_new(fd, t);
	open_post(&v, fd, t0);
	return fd;
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
	unsigned t = 0;
	struct fl_verdict v;
	int64_t t0;
	FILE *f;

	if (atomic_load_explicit(&fl__mode, memory_order_relaxed) != FL_MODE_OFF) {
		fl__attach_poll();
		t = path_target(AT_FDCWD, path);
	}
	if (open_pre(t, &v, &t0))
		return NULL;
	f = FL_REAL(fopen)(path, mode);
	if (f)
		classify_new(fileno(f), t);
	open_post(&v, f ? fileno(f) : -1, t0);
	return f;
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
	if (fd >= 0)
		fl__fd_forget(fd);
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

static int rename_common(int da, const char *a, int db, const char *b, unsigned fl)
{
	unsigned t = 0;
	struct fl_verdict v;
	int64_t t0;
	int r;

	if (atomic_load_explicit(&fl__has, memory_order_relaxed) & FL_HAS_PATH) {
		t = path_target(da, a);
		if (!t)
			t = path_target(db, b);
	}
	if (open_pre(t, &v, &t0)) /* same shape as open: decided before */
		return -1;
	r = FL_REAL(renameat2)(da, a, db, b, fl);
	open_post(&v, r, t0);
	return r;
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

static int close_slow(int fd)
{
	unsigned t = fl__class(fd);
	struct fl_verdict v;
	int r, err;

	if (t == FL_FD_NONE || !fl__decide(t, FL_OP_CLOSE, &v)) {
		r = FL_REAL(close)(fd);
		fl__fd_forget(fd);
		return r;
	}
	r = FL_REAL(close)(fd); /* close always closes, then reports */
	err = r < 0 ? errno : 0;
	fl__fd_forget(fd);
	if (v.fault == FL_FAULT_ERROR && r == 0) {
		r = -1;
		err = v.err;
	} else if (v.fault == FL_FAULT_HOLD) {
		fl__gate_wait(&v);
	} else {
		fl__fault_sleep(&v, fl__verdict_ns(&v));
	}
	fl__journal(&v, FL_J_FAULT, r, err, fl__verdict_ns(&v));
	errno = err ? err : errno;
	return r;
}

FL_API int close(int fd)
{
	if (fl_fd_untargeted(fd)) {
		int r = FL_REAL(close)(fd);
		fl__fd_forget(fd);
		return r;
	}
	return close_slow(fd);
}

FL_API int dup(int fd)
{
	int r = FL_REAL(dup)(fd);
	if (r >= 0)
		fl__fd_dup(fd, r);
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
	return r;
}

FL_API int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));
