/*
 * nosys.c — libflbench_nosys.so, a benchmark stub: read, recv, recvfrom,
 * send and sendto on an fd >= NOSYS_FD_MIN return at once (n bytes
 * "moved") without entering the kernel, close and connect there return 0,
 * open/openat of a path under /nosys/ return NOSYS_OPEN_FD; on any other
 * fd or path they forward to
 * libc, so programs that merely pass through (env, sh, valgrind's
 * launcher) are unaffected.
 *
 * Why: on a virtual machine with page-table isolation a system call costs
 * microseconds and jitters by hundreds of ns, which hides an overhead of a
 * few ns. Preloaded after the shim (LD_PRELOAD="libfaultline.so
 * libflbench_nosys.so") it becomes the shim's "real" function (the shim
 * resolves it with dlsym(RTLD_NEXT)), so what remains to time is the
 * shim's own work per call: the fast path, or the decision, journal and
 * act — including any system call the shim itself makes (fcntl, getpid,
 * ...), which goes to the kernel as usual. Preloaded alone, it is the
 * baseline. bench_calls -s moves its fds above NOSYS_FD_MIN. Only
 * bench/run.sh builds and uses it; never in a real program.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#define NOSYS __attribute__((visibility("default")))
#define NOSYS_FD_MIN 1000 /* keep in step with bench/bench_calls.c */

/* bench_calls -s checks for this before it trusts reads to return at once. */
NOSYS int flbench_nosys_loaded = 1;

static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *,
			      socklen_t);

__attribute__((constructor)) static void nosys_init(void)
{
	real_read = (ssize_t(*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	real_recvfrom = (ssize_t(*)(int, void *, size_t, int, struct sockaddr *,
				    socklen_t *))dlsym(RTLD_NEXT, "recvfrom");
	real_sendto = (ssize_t(*)(int, const void *, size_t, int,
				  const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "sendto");
}

NOSYS ssize_t read(int fd, void *buf, size_t n)
{
	if (fd >= NOSYS_FD_MIN)
		return (ssize_t)n;
	if (!real_read)
		nosys_init(); /* called before our constructor */
	return real_read(fd, buf, n);
}

NOSYS ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
		       struct sockaddr *a, socklen_t *l)
{
	if (fd >= NOSYS_FD_MIN)
		return (ssize_t)n;
	if (!real_recvfrom)
		nosys_init(); /* called before our constructor */
	return real_recvfrom(fd, buf, n, flags, a, l);
}

NOSYS ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

NOSYS ssize_t sendto(int fd, const void *buf, size_t n, int flags,
		     const struct sockaddr *a, socklen_t l)
{
	if (fd >= NOSYS_FD_MIN)
		return (ssize_t)n;
	if (!real_sendto)
		nosys_init(); /* called before our constructor */
	return real_sendto(fd, buf, n, flags, a, l);
}

NOSYS ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	return sendto(fd, buf, n, flags, NULL, 0);
}

/* close and connect on fds from NOSYS_FD_MIN, open and openat of a path
 * under /nosys/ (it "opens" NOSYS_OPEN_FD): the untargeted kinds. */
#define NOSYS_OPEN_FD 1500

NOSYS int close(int fd)
{
	static int (*real)(int);
	if (fd >= NOSYS_FD_MIN)
		return 0;
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "close");
	return real(fd);
}

NOSYS int connect(int fd, const struct sockaddr *a, socklen_t l)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	if (fd >= NOSYS_FD_MIN)
		return 0;
	if (!real)
		real = (int (*)(int, const struct sockaddr *, socklen_t))dlsym(RTLD_NEXT, "connect");
	return real(fd, a, l);
}

static int nosys_path(const char *p)
{
	return p && strncmp(p, "/nosys/", 7) == 0;
}

NOSYS int openat(int dirfd, const char *path, int flags, ...)
{
	static int (*real)(int, const char *, int, ...);
	mode_t m = 0;
	if (nosys_path(path))
		return NOSYS_OPEN_FD;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		m = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (!real)
		real = (int (*)(int, const char *, int, ...))dlsym(RTLD_NEXT, "openat");
	return real(dirfd, path, flags, m);
}

NOSYS int open(const char *path, int flags, ...)
{
	mode_t m = 0;
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_list ap;
		va_start(ap, flags);
		m = va_arg(ap, mode_t);
		va_end(ap);
	}
	return openat(AT_FDCWD, path, flags, m);
}

NOSYS int open64(const char *path, int flags, ...) __attribute__((alias("open")));
