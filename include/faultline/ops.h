/*
 * faultline/ops.h — the one table of operations, faults and errnos.
 *
 * Everything that names an operation (the profile loader, the shim's decision
 * function, the timeline writer, the docs) expands these lists, so an op or a
 * fault exists in exactly one place.
 *
 *   FL_OPS(X)    X(id, "name", "errno whitelist (space separated)")
 *   FL_FAULTS(X) X(id, "name", bitmask of ops it is valid for)
 *   FL_ERRNOS(X) X(NAME, value)   every errno name a profile may use
 *
 * The list of exported interposers lives in shim/symbols.h (the shim's own
 * table); this header is shared by shim and controller and has no code.
 */
#ifndef FAULTLINE_OPS_H
#define FAULTLINE_OPS_H

#include <errno.h>
#include <netdb.h>

/* Which errnos each op may fail with: the subset of the call's man page that a
 * real kernel or resolver produces under stress. Anything else is rejected at
 * load time, so an injected failure is always one the program could see. */
#define FL_OPS(X)                                                              \
	X(CONNECT, "connect",                                                  \
	  "ECONNREFUSED ETIMEDOUT ENETUNREACH EHOSTUNREACH EADDRNOTAVAIL "      \
	  "EACCES EPERM EAGAIN EINTR ECONNRESET ENOENT")                        \
	X(ACCEPT, "accept",                                                    \
	  "ECONNABORTED EMFILE ENFILE ENOBUFS ENOMEM EAGAIN EINTR EPERM EPROTO") \
	X(SEND, "send",                                                        \
	  "ECONNRESET EPIPE EAGAIN ENOBUFS EINTR EMSGSIZE ENOTCONN ETIMEDOUT "  \
	  "EHOSTUNREACH ENETDOWN ENETUNREACH ECONNREFUSED")                     \
	X(RECV, "recv",                                                        \
	  "ECONNRESET ETIMEDOUT EAGAIN EINTR ENOTCONN ECONNREFUSED ENOMEM "     \
	  "EHOSTUNREACH")                                                       \
	X(READ, "read", "EIO EINTR EAGAIN ESTALE ENOMEM")                      \
	X(WRITE, "write", "EIO ENOSPC EDQUOT EFBIG EINTR EAGAIN EPIPE")        \
	X(OPEN, "open",                                                        \
	  "EACCES ENOENT EMFILE ENFILE ENOSPC EROFS EIO EINTR EPERM EDQUOT "    \
	  "ENOMEM ETXTBSY EBUSY ELOOP ENAMETOOLONG")                            \
	X(FSYNC, "fsync", "EIO ENOSPC EDQUOT EROFS EINTR")                     \
	X(RENAME, "rename",                                                    \
	  "EIO ENOSPC EDQUOT EACCES EPERM EROFS EXDEV EBUSY ENOENT EMLINK "     \
	  "ENOTEMPTY")                                                          \
	X(CLOSE, "close", "EIO EINTR ENOSPC EDQUOT")                           \
	X(RESOLVE, "resolve", "EAI_AGAIN EAI_FAIL EAI_NONAME EAI_NODATA EAI_MEMORY") \
	X(PACKET, "packet", "")

enum fl_op {
	FL_OP_NONE = 0,
#define FL__OP_ENUM(id, name, errs) FL_OP_##id,
	FL_OPS(FL__OP_ENUM)
#undef FL__OP_ENUM
	FL_OP__COUNT
};

#define FL_OPBIT(id) (1u << FL_OP_##id)
#define FL_OPS_SOCK                                                            \
	(FL_OPBIT(CONNECT) | FL_OPBIT(ACCEPT) | FL_OPBIT(SEND) | FL_OPBIT(RECV))
/* Every op a call can have; "packet" (the eBPF layer's, not a call) apart. */
#define FL_OPS_ALL (((1u << FL_OP__COUNT) - 2u) & ~FL_OPBIT(PACKET))

/* Faults. `valid` is the set of ops the fault makes sense for; the loader
 * rejects the others with a message naming both. Clock faults (offset, drift,
 * freeze, jump) apply to clocks, not ops, and have valid = 0. */
#define FL_FAULTS(X)                                                           \
	X(DELAY, "delay", FL_OPS_ALL)                                          \
	X(LATE_ACK, "late_ack", FL_OPS_ALL & ~FL_OPBIT(RESOLVE))               \
	X(ERROR, "error", FL_OPS_ALL)                                          \
	X(TIMEOUT, "timeout", FL_OPS_SOCK | FL_OPBIT(RESOLVE))                 \
	X(RESET, "reset", FL_OPBIT(SEND) | FL_OPBIT(RECV))                     \
	X(SHORT, "short",                                                      \
	  FL_OPBIT(SEND) | FL_OPBIT(RECV) | FL_OPBIT(READ) | FL_OPBIT(WRITE))  \
	X(STALE, "stale", FL_OPBIT(RECV) | FL_OPBIT(READ))                     \
	X(HOLD, "hold", FL_OPS_ALL)                                            \
	X(OFFSET, "offset", 0)                                                 \
	X(DRIFT, "drift", 0)                                                   \
	X(FREEZE, "freeze", 0)                                                 \
	X(JUMP, "jump", 0)                                                     \
	X(DROP, "drop", FL_OPBIT(PACKET))

enum fl_fault {
	FL_FAULT_NONE = 0,
#define FL__FAULT_ENUM(id, name, valid) FL_FAULT_##id,
	FL_FAULTS(FL__FAULT_ENUM)
#undef FL__FAULT_ENUM
	FL_FAULT__COUNT
};

/* How a verdict is carried out on each op: the act layer of the shim
 * (shim/act.c) and the seccomp supervisor read this one table.
 *
 *   FL_OP_ACTS(X) X(id, after, fail, tmo_err, dir, sotmo_err, nb_err)
 *   after     faults whose effect comes AFTER the real call, which is made
 *             first (late_ack always; hold on calls whose effect must not be
 *             lost: send, write, fsync, close; error on fsync and close: the
 *             call is made, then reported as failed; delay on close)
 *   fail      FL_FAIL_ERRNO: -1 with errno; FL_FAIL_CODE: the error is the
 *             return value and errno is untouched (getaddrinfo's EAI_*)
 *   tmo_err   what a `timeout` fault returns when it ends
 *   dir       the readiness a non-blocking call of the op waits for
 *             (FL_DIR_IN, FL_DIR_OUT) or FL_DIR_NONE (files, resolver)
 *   sotmo_err what the call returns when the socket's own SO_RCVTIMEO (IN) /
 *             SO_SNDTIMEO (OUT) ends a wait: EAGAIN, or EINPROGRESS for a
 *             blocking connect (socket(7)); 0 = not a socket call
 *   nb_err    what a non-blocking call gets while a fault delays its
 *             readiness: EAGAIN (the call is made when the program retries,
 *             once ready) or EINPROGRESS (connect: the call starts at once,
 *             only its readiness is late)
 * A socket op's wait is interruptible by a signal as signal(7) says; a file
 * op's wait is not (disk I/O is not a "slow device"). */
#define FL_FAIL_ERRNO 0
#define FL_FAIL_CODE 1
#define FL_DIR_NONE (-1)
#define FL_DIR_IN 0
#define FL_DIR_OUT 1
#define FL_AFTER(f) (1u << FL_FAULT_##f)
#define FL_OP_ACTS(X)                                                          \
	X(CONNECT, FL_AFTER(LATE_ACK), FL_FAIL_ERRNO, ETIMEDOUT, FL_DIR_OUT,   \
	  EINPROGRESS, EINPROGRESS)                                             \
	X(ACCEPT, FL_AFTER(LATE_ACK), FL_FAIL_ERRNO, EAGAIN, FL_DIR_IN, EAGAIN, \
	  EAGAIN)                                                               \
	X(SEND, FL_AFTER(LATE_ACK) | FL_AFTER(HOLD), FL_FAIL_ERRNO, EAGAIN,    \
	  FL_DIR_OUT, EAGAIN, EAGAIN)                                           \
	X(RECV, FL_AFTER(LATE_ACK), FL_FAIL_ERRNO, EAGAIN, FL_DIR_IN, EAGAIN,  \
	  EAGAIN)                                                               \
	X(READ, FL_AFTER(LATE_ACK), FL_FAIL_ERRNO, EIO, FL_DIR_NONE, 0, 0)     \
	X(WRITE, FL_AFTER(LATE_ACK) | FL_AFTER(HOLD), FL_FAIL_ERRNO, EIO,      \
	  FL_DIR_NONE, 0, 0)                                                    \
	X(OPEN, FL_AFTER(LATE_ACK), FL_FAIL_ERRNO, EIO, FL_DIR_NONE, 0, 0)     \
	X(FSYNC, FL_AFTER(LATE_ACK) | FL_AFTER(HOLD) | FL_AFTER(ERROR),        \
	  FL_FAIL_ERRNO, EIO, FL_DIR_NONE, 0, 0)                                \
	X(RENAME, FL_AFTER(LATE_ACK), FL_FAIL_ERRNO, EIO, FL_DIR_NONE, 0, 0)   \
	X(CLOSE, FL_AFTER(LATE_ACK) | FL_AFTER(HOLD) | FL_AFTER(ERROR) |       \
	  FL_AFTER(DELAY), FL_FAIL_ERRNO, EIO, FL_DIR_NONE, 0, 0)               \
	X(RESOLVE, 0u, FL_FAIL_CODE, EAI_AGAIN, FL_DIR_NONE, 0, 0)                 \
	/* packets are the eBPF layer's: no call to act on */                 \
	X(PACKET, 0u, FL_FAIL_ERRNO, ETIMEDOUT, FL_DIR_NONE, 0, 0)

struct fl_op_act {
	unsigned after;   /* bitmask of enum fl_fault */
	int fail;         /* FL_FAIL_* */
	int tmo_err;
	int dir;          /* FL_DIR_* */
	int sotmo_err;
	int nb_err;
};

/* Resolver errors are negative EAI_* codes; they share the errno field of a
 * rule and are only valid for op "resolve". */
#define FL_ERRNOS(X)                                                           \
	X(EPERM, EPERM) X(ENOENT, ENOENT) X(EINTR, EINTR) X(EIO, EIO)          \
	X(EAGAIN, EAGAIN) X(ENOMEM, ENOMEM) X(EACCES, EACCES)                  \
	X(EBUSY, EBUSY) X(EXDEV, EXDEV) X(ENFILE, ENFILE) X(EMFILE, EMFILE)    \
	X(ETXTBSY, ETXTBSY) X(EFBIG, EFBIG) X(ENOSPC, ENOSPC)                  \
	X(EROFS, EROFS) X(EMLINK, EMLINK) X(EPIPE, EPIPE)                      \
	X(ENAMETOOLONG, ENAMETOOLONG) X(ENOTEMPTY, ENOTEMPTY)                  \
	X(ELOOP, ELOOP) X(EPROTO, EPROTO) X(EMSGSIZE, EMSGSIZE)                \
	X(EADDRNOTAVAIL, EADDRNOTAVAIL) X(ENETDOWN, ENETDOWN)                  \
	X(ENETUNREACH, ENETUNREACH) X(ECONNABORTED, ECONNABORTED)              \
	X(ECONNRESET, ECONNRESET) X(ENOBUFS, ENOBUFS) X(ENOTCONN, ENOTCONN)    \
	X(ETIMEDOUT, ETIMEDOUT) X(ECONNREFUSED, ECONNREFUSED)                  \
	X(EHOSTUNREACH, EHOSTUNREACH) X(ESTALE, ESTALE) X(EDQUOT, EDQUOT)      \
	X(EAI_AGAIN, EAI_AGAIN) X(EAI_FAIL, EAI_FAIL) X(EAI_NONAME, EAI_NONAME) \
	X(EAI_NODATA, EAI_NODATA) X(EAI_MEMORY, EAI_MEMORY)

#endif /* FAULTLINE_OPS_H */
