/*
 * symbols.h — the one table of what libfaultline.so wraps.
 *
 * FL_EXPORTS(X): X(name, family) for every symbol the .so exports. It
 *   generates the version script (shim/libfaultline.map.c), and the test
 *   tests/integration/test_exports.sh checks `nm -D` against it both ways.
 * FL_REAL_SYMS(X): X(ret, name, params) for every libc function the shim
 *   calls through a resolved pointer FL_REAL(name).
 *
 * This file is also preprocessed alone for the version script: macros only.
 */
#ifndef FL_SYMBOLS_H
#define FL_SYMBOLS_H

#define FL_EXPORTS(X)                                                          \
	/* sockets (net.c) */                                                  \
	X(socket, net) X(socketpair, net) X(connect, net) X(accept, net)       \
	X(accept4, net) X(setsockopt, net)                                     \
	X(send, net) X(sendto, net) X(sendmsg, net) X(sendmmsg, net)           \
	X(recv, net) X(recvfrom, net) X(recvmsg, net) X(recvmmsg, net)         \
	X(__recv_chk, net) X(__recvfrom_chk, net)                              \
	X(sendfile, net) X(sendfile64, net) X(shutdown, net)                   \
	X(getsockopt, net) X(getaddrinfo, net)                                 \
	/* readiness (poll.c) */                                               \
	X(poll, poll) X(__poll_chk, poll) X(ppoll, poll) X(__ppoll_chk, poll)  \
	X(select, poll) X(pselect, poll) X(epoll_ctl, poll)                    \
	X(epoll_wait, poll) X(epoll_pwait, poll) X(epoll_pwait2, poll)         \
	/* files and fds (file.c) */                                           \
	X(open, file) X(open64, file) X(__open_2, file) X(__open64_2, file)    \
	X(openat, file) X(openat64, file) X(__openat_2, file)                  \
	X(__openat64_2, file) X(creat, file) X(creat64, file)                  \
	X(fopen, file) X(fopen64, file) X(fdopen, file) X(fclose, file)        \
	X(read, file) X(__read_chk, file) X(pread, file) X(pread64, file)      \
	X(__pread_chk, file) X(__pread64_chk, file) X(readv, file)             \
	X(preadv, file) X(preadv64, file) X(preadv2, file) X(preadv64v2, file) \
	X(write, file) X(pwrite, file) X(pwrite64, file) X(writev, file)       \
	X(pwritev, file) X(pwritev64, file) X(pwritev2, file)                  \
	X(pwritev64v2, file)                                                   \
	X(fsync, file) X(fdatasync, file) X(sync_file_range, file)             \
	X(rename, file) X(renameat, file) X(renameat2, file)                   \
	X(close, file) X(close_range, file) X(closefrom, file)                 \
	X(dup, file) X(dup2, file) X(dup3, file)                               \
	X(fcntl, file) X(fcntl64, file) X(ioctl, file)                         \
	/* clocks (clock.c) */                                                 \
	X(clock_gettime, clock) X(gettimeofday, clock) X(time, clock)          \
	X(timespec_get, clock) X(clock_nanosleep, clock)                       \
	X(pthread_cond_timedwait, clock) X(pthread_cond_clockwait, clock)      \
	X(sem_timedwait, clock) X(sem_clockwait, clock)                        \
	X(timerfd_settime, clock) X(timerfd_gettime, clock)

#define FL_REAL_SYMS(X)                                                        \
	X(int, socket, (int, int, int))                                        \
	X(int, socketpair, (int, int, int, int *))                             \
	X(int, connect, (int, const struct sockaddr *, socklen_t))             \
	X(int, accept, (int, struct sockaddr *, socklen_t *))                  \
	X(int, accept4, (int, struct sockaddr *, socklen_t *, int))            \
	X(ssize_t, sendto, (int, const void *, size_t, int,                    \
			    const struct sockaddr *, socklen_t))               \
	X(ssize_t, sendmsg, (int, const struct msghdr *, int))                 \
	X(int, sendmmsg, (int, struct mmsghdr *, unsigned int, int))           \
	X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *,     \
			      socklen_t *))                                    \
	X(ssize_t, recvmsg, (int, struct msghdr *, int))                       \
	X(int, recvmmsg, (int, struct mmsghdr *, unsigned int, int,            \
			  struct timespec *))                                  \
	X(ssize_t, sendfile, (int, int, off_t *, size_t))                      \
	X(int, shutdown, (int, int))                                           \
	X(int, getsockopt, (int, int, int, void *, socklen_t *))               \
	X(int, setsockopt, (int, int, int, const void *, socklen_t))           \
	X(int, getaddrinfo, (const char *, const char *,                       \
			     const struct addrinfo *, struct addrinfo **))     \
	X(int, poll, (struct pollfd *, nfds_t, int))                           \
	X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *,       \
		       const sigset_t *))                                      \
	X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *))  \
	X(int, pselect, (int, fd_set *, fd_set *, fd_set *,                    \
			 const struct timespec *, const sigset_t *))           \
	X(int, epoll_ctl, (int, int, int, struct epoll_event *))               \
	X(int, epoll_wait, (int, struct epoll_event *, int, int))              \
	X(int, epoll_pwait, (int, struct epoll_event *, int, int,              \
			     const sigset_t *))                                \
	X(int, epoll_pwait2, (int, struct epoll_event *, int,                  \
			      const struct timespec *, const sigset_t *))      \
	X(int, open, (const char *, int, ...))                                 \
	X(int, openat, (int, const char *, int, ...))                          \
	X(FILE *, fopen, (const char *, const char *))                         \
	X(FILE *, fdopen, (int, const char *))                                 \
	X(int, fclose, (FILE *))                                               \
	X(ssize_t, read, (int, void *, size_t))                                \
	X(ssize_t, pread, (int, void *, size_t, off_t))                        \
	X(ssize_t, readv, (int, const struct iovec *, int))                    \
	X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int))      \
	X(ssize_t, write, (int, const void *, size_t))                         \
	X(ssize_t, pwrite, (int, const void *, size_t, off_t))                 \
	X(ssize_t, writev, (int, const struct iovec *, int))                   \
	X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int))     \
	X(int, fsync, (int))                                                   \
	X(int, fdatasync, (int))                                               \
	X(int, sync_file_range, (int, off_t, off_t, unsigned int))             \
	X(int, rename, (const char *, const char *))                           \
	X(int, renameat, (int, const char *, int, const char *))               \
	X(int, renameat2, (int, const char *, int, const char *, unsigned int)) \
	X(int, close, (int))                                                   \
	X(int, close_range, (unsigned int, unsigned int, int))                 \
	X(void, closefrom, (int))                                              \
	X(int, ioctl, (int, unsigned long, ...))                               \
	X(int, dup, (int))                                                     \
	X(int, dup2, (int, int))                                               \
	X(int, dup3, (int, int, int))                                          \
	X(int, fcntl, (int, int, ...))                                         \
	X(int, clock_gettime, (clockid_t, struct timespec *))                  \
	X(int, gettimeofday, (struct timeval *, void *))                       \
	X(time_t, time, (time_t *))                                            \
	X(int, timespec_get, (struct timespec *, int))                         \
	X(int, clock_nanosleep, (clockid_t, int, const struct timespec *,      \
				 struct timespec *))                           \
	X(int, pthread_cond_clockwait, (pthread_cond_t *, pthread_mutex_t *,   \
					clockid_t, const struct timespec *))   \
	X(int, sem_timedwait, (sem_t *, const struct timespec *))              \
	X(int, sem_clockwait, (sem_t *, clockid_t, const struct timespec *))   \
	X(int, timerfd_settime, (int, int, const struct itimerspec *,          \
				 struct itimerspec *))                         \
	X(int, timerfd_gettime, (int, struct itimerspec *))

#ifndef FL_SYMBOLS_MAP_ONLY
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <netdb.h>
#include <pthread.h>
#include <semaphore.h>
#include <sys/time.h>
#include <sys/timerfd.h>

#define FL__REAL_DECL(ret, name, params) extern ret(*fl__real_##name) params;
FL_REAL_SYMS(FL__REAL_DECL)
#undef FL__REAL_DECL
#endif

#endif /* FL_SYMBOLS_H */
