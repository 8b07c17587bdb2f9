/*
 * io.h — the data path shared by every read/write-like interposer.
 *
 * A wrapper packs its arguments into a struct fl_io and calls fl__io() (the
 * slow path). fl__io classifies the fd, maps the call to an op (recv/send
 * on a socket target, read/write on a path target), asks the decision
 * function once, and hands the verdict to the act layer (act.c), whose real
 * call is fl__io_real(): the real call with an optional byte cap.
 */
#ifndef FL_IO_H
#define FL_IO_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "shim.h"

enum fl_io_kind {
	FL_IO_READ, FL_IO_PREAD, FL_IO_READV, FL_IO_PREADV2,
	FL_IO_RECVFROM, FL_IO_RECVMSG, FL_IO_RECVMMSG,
	FL_IO_WRITE, FL_IO_PWRITE, FL_IO_WRITEV, FL_IO_PWRITEV2,
	FL_IO_SENDTO, FL_IO_SENDMSG, FL_IO_SENDMMSG, FL_IO_SENDFILE,
	FL_IO_FSYNC, FL_IO_FDATASYNC, FL_IO_SYNC_RANGE, /* op fsync */
};

struct fl_io {
	enum fl_io_kind kind;
	int fd;
	int flags;   /* MSG_* for socket calls, RWF_* for preadv2/pwritev2 */
	void *buf;   /* read-side buffer / const write-side buffer */
	size_t len;
	off_t off;
	const struct iovec *iov;
	int iovcnt;
	struct msghdr *msg;
	struct mmsghdr *mmsg;
	unsigned vlen;
	struct timespec *tmo;
	struct sockaddr *addr; /* recvfrom: out; sendto: in */
	socklen_t *alen;
	socklen_t clen;
	int in_fd;             /* sendfile */
	off_t *offp;
};

static inline bool fl_io_reads(const struct fl_io *io)
{
	return io->kind <= FL_IO_RECVMMSG;
}

/* The slow path of every data call. Returns what the call returns, with
 * errno set as libc would. */
ssize_t fl__io(struct fl_io *io);
/* The real call, at most `cap` bytes (SIZE_MAX: no cap). */
ssize_t fl__io_real(struct fl_io *io, size_t cap);

/* Set fd's class directly (connect/accept/open know it). */
void fl__fd_set(int fd, unsigned cls);
/* A readiness hide decided earlier for direction dir of fd: -1 none (or
 * over, and the call is a new one); 1 still hidden and non-blocking, or a
 * blocking wait for it ended by a signal or SO_*TIMEO (return *ret); 0 due
 * now: make the deferred call, not decided or counted again. */
int fl__pending_due(int fd, struct fl_fdst *st, int dir, unsigned op, bool nb,
		    ssize_t *ret);
/* Hide readability (dir 0) or writability (dir 1) of fd until `due`; nth
 * (0 = none) is the deferred call that happens when the program makes it. */
void fl__hide(int fd, int dir, int64_t due, uint64_t nth);

#endif /* FL_IO_H */
