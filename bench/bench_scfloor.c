/*
 * bench_scfloor.c — the floor under the seccomp supervisor's pass-through
 * on this machine: the least a user-notification round trip can cost.
 *
 * CMD runs under a filter that notifies write(2) and nothing else (the call
 * bench_sc times); this program is its whole supervisor: a loop that takes
 * each notification (SECCOMP_IOCTL_NOTIF_RECV) and answers CONTINUE at once
 * — no classification, no rules, no event loop. What faultline's supervisor
 * adds is its pass-through latency minus this one's, in the same run.
 *
 *   bench_scfloor [--nosync] [--poll] -- CMD [ARGS...]
 *
 * Default: blocked in NOTIF_RECV with SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
 * (the kernel wakes us on the notifying task's CPU, which then sleeps);
 * --nosync leaves the flag off; --poll waits in poll(2) before each RECV,
 * as an event loop does. Exits with CMD's status.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif

static int send_fd(int s, int fd)
{
	char cb[CMSG_SPACE(sizeof(int))] = {0}, c = 'f';
	struct iovec io = {&c, 1};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cb,
			   .msg_controllen = sizeof(cb)};
	struct cmsghdr *h = CMSG_FIRSTHDR(&m);

	h->cmsg_level = SOL_SOCKET;
	h->cmsg_type = SCM_RIGHTS;
	h->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(h), &fd, sizeof(fd));
	return sendmsg(s, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int s)
{
	char cb[CMSG_SPACE(sizeof(int))] = {0}, c;
	struct iovec io = {&c, 1};
	struct msghdr m = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = cb,
			   .msg_controllen = sizeof(cb)};
	struct cmsghdr *h;
	int fd;

	if (recvmsg(s, &m, 0) != 1 || !(h = CMSG_FIRSTHDR(&m)) || h->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(h), sizeof(fd));
	return fd;
}

static void child(int s, char **cmd)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_write, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog p = {sizeof(f) / sizeof(f[0]), f};
	int lfd;
	char go;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		_exit(125);
	lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &p);
	if (lfd < 0 || send_fd(s, lfd) != 0)
		_exit(125);
	close(lfd);
	if (read(s, &go, 1) != 1) /* the supervisor holds the fd: go */
		_exit(125);
	close(s);
	execvp(cmd[0], cmd);
	_exit(127);
}

int main(int argc, char **argv)
{
	struct seccomp_notif_sizes sz;
	int sync = 1, usepoll = 0, i, sp[2], lfd, st;
	pid_t pid;

	for (i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--nosync"))
			sync = 0;
		else if (!strcmp(argv[i], "--poll"))
			usepoll = 1;
	}
	if (i + 1 >= argc) {
		fprintf(stderr, "usage: bench_scfloor [--nosync] [--poll] -- CMD [ARGS...]\n");
		return 2;
	}
	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) != 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return 125;
	pid = fork();
	if (pid < 0)
		return 125;
	if (pid == 0) {
		close(sp[0]);
		child(sp[1], argv + i + 1);
	}
	close(sp[1]);
	lfd = recv_fd(sp[0]);
	if (lfd < 0)
		return 125;
	if (sync) {
		__u64 fl = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;

		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, fl) != 0)
			fprintf(stderr, "bench_scfloor: SYNC_WAKE_UP: %s\n", strerror(errno));
	}
	if (write(sp[0], "g", 1) != 1)
		return 125;
	close(sp[0]);
	{
		char req[sz.seccomp_notif > sizeof(struct seccomp_notif) ? sz.seccomp_notif
									  : sizeof(struct seccomp_notif)];
		char rsp[sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp)
				 ? sz.seccomp_notif_resp
				 : sizeof(struct seccomp_notif_resp)];
		struct seccomp_notif *n = (void *)req;
		struct seccomp_notif_resp *r = (void *)rsp;

		for (;;) {
			if (usepoll) {
				struct pollfd pf = {lfd, POLLIN, 0};

				if (poll(&pf, 1, -1) < 0 && errno != EINTR)
					break;
				if (pf.revents & (POLLHUP | POLLERR | POLLNVAL))
					break;
			}
			memset(req, 0, sizeof(req));
			if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, n) != 0) {
				struct pollfd pf = {lfd, POLLIN, 0};

				if ((errno != EINTR && errno != ENOENT) ||
				    (poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP)))
					break; /* no task left holding the filter */
				continue;
			}
			memset(rsp, 0, sizeof(rsp));
			r->id = n->id;
			r->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
			ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, r);
		}
	}
	if (waitpid(pid, &st, 0) != pid)
		return 125;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
