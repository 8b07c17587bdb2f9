/*
 * scstatic.c — a statically linked, multi-threaded target for the seccomp
 * supervisor's tests (built with -static: no PT_INTERP, so `auto` picks
 * seccomp and LD_PRELOAD cannot reach it).
 *
 *   scstatic threads PORT N   N threads at once, each: connect to
 *                             127.0.0.1:PORT, send "ping\n", recv one line
 *   scstatic forks PORT N     the same from N forked processes
 *   scstatic nbrecv PORT      connect to 127.0.0.1:PORT, three recv(MSG_DONTWAIT)
 *                             on the empty socket, then send "ping\n" and one
 *                             blocking recv; prints each recv's rc/errno
 *   scstatic clocks -         print CLOCK_MONOTONIC and CLOCK_BOOTTIME (whole s)
 *   scstatic write FILE LEN   one write(2) of LEN bytes to FILE (created)
 *   scstatic loop FILE        forever: write(2) one byte to FILE (O_APPEND)
 *                             and print the call's rc/errno on each change
 *                             of outcome; "started" after the first call
 *
 * threads/forks print one line per worker as it ends:
 *   w=I rc=0|-1 errno=NAME ms=ELAPSED_SINCE_START
 * and exit 0 when every worker ended (whatever its outcome).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int port;
static struct timespec t0;
static pthread_mutex_t out_mu = PTHREAD_MUTEX_INITIALIZER;

static long ms_since(const struct timespec *a)
{
	struct timespec b;
	clock_gettime(CLOCK_MONOTONIC, &b);
	return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ECONNRESET: return "ECONNRESET";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EAGAIN: return "EAGAIN";
	case EIO: return "EIO";
	case ENOSPC: return "ENOSPC";
	case ENOSYS: return "ENOSYS";
	case EINTR: return "EINTR";
	}
	return "OTHER";
}

/* connect, send, recv a line: 0 or the errno of the first failing call */
static int one_exchange(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char buf[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0), err = 0;

	if (fd < 0)
		return errno;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		err = errno;
	else if (send(fd, "ping\n", 5, 0) != 5)
		err = errno;
	else if (recv(fd, buf, sizeof(buf), 0) <= 0)
		err = errno ? errno : ECONNRESET;
	close(fd);
	return err;
}

static void report(long w, int err)
{
	pthread_mutex_lock(&out_mu);
	printf("w=%ld rc=%d errno=%s ms=%ld\n", w, err ? -1 : 0, ename(err), ms_since(&t0));
	fflush(stdout);
	pthread_mutex_unlock(&out_mu);
}

static void *worker(void *arg)
{
	report((long)(intptr_t)arg, one_exchange());
	return NULL;
}

static int run_loop(const char *file)
{
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND, 0644), last = -2;
	long n = 0;

	if (fd < 0)
		return 2;
	for (;;) {
		int r = (int)write(fd, "x", 1), e = r < 0 ? errno : 0;
		if (e != last) {
			printf("%s rc=%d errno=%s n=%ld\n", last == -2 ? "started" : "changed",
			       r, ename(e), n);
			fflush(stdout);
			last = e;
		}
		n++;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
}

static int nbrecv(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	char buf[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		return 2;
	for (int i = 0; i < 4; i++) {
		if (i == 3 && send(fd, "ping\n", 5, 0) != 5)
			return 2;
		ssize_t r = recv(fd, buf, sizeof(buf), i < 3 ? MSG_DONTWAIT : 0);
		printf("recv%d rc=%zd errno=%s\n", i + 1, r, ename(r < 0 ? errno : 0));
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (strcmp(argv[1], "loop") == 0)
		return run_loop(argv[2]);
	if (strcmp(argv[1], "clocks") == 0) { /* argv[2]: anything */
		struct timespec m, b;
		clock_gettime(CLOCK_MONOTONIC, &m);
		clock_gettime(CLOCK_BOOTTIME, &b);
		printf("monotonic=%lld boottime=%lld\n", (long long)m.tv_sec, (long long)b.tv_sec);
		return 0;
	}
	port = atoi(argv[2]);
	if (strcmp(argv[1], "nbrecv") == 0)
		return nbrecv();
	if (argc < 4)
		return 2;
	if (strcmp(argv[1], "write") == 0) {
		size_t len = (size_t)atol(argv[3]);
		char *b = calloc(1, len ? len : 1);
		int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (!b || fd < 0)
			return 2;
		memset(b, 'a', len);
		ssize_t r = write(fd, b, len);
		printf("rc=%zd errno=%s\n", r, ename(r < 0 ? errno : 0));
		return 0;
	}
	long n = atol(argv[3]);
	if (strcmp(argv[1], "threads") == 0) {
		pthread_t th[64];
		if (n > 64)
			n = 64;
		for (long i = 0; i < n; i++)
			pthread_create(&th[i], NULL, worker, (void *)(intptr_t)i);
		for (long i = 0; i < n; i++)
			pthread_join(th[i], NULL);
		return 0;
	}
	if (strcmp(argv[1], "forks") == 0) {
		for (long i = 0; i < n; i++)
			if (fork() == 0) {
				report(i, one_exchange());
				_exit(0);
			}
		while (wait(NULL) > 0)
			;
		return 0;
	}
	return 2;
}
