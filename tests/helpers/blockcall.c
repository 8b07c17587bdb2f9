/*
 * blockcall.c — one blocking socket call, as a program that bounds it with
 * its own means would make it: a signal (setitimer + a SIGALRM handler,
 * with or without SA_RESTART) and/or the socket's SO_RCVTIMEO/SO_SNDTIMEO.
 *
 *   blockcall recv|connect PORT [-t MS] [-a MS] [-R]
 *     recv     connect to 127.0.0.1:PORT, then one blocking recv
 *     connect  one blocking connect to 127.0.0.1:PORT
 *     -t MS    SO_RCVTIMEO (recv) / SO_SNDTIMEO (connect) of MS
 *     -a MS    SIGALRM after MS (setitimer); its handler counts
 *     -R       the handler has SA_RESTART
 * Prints: rc=N errno=NAME ms=ELAPSED sigs=N
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t sigs;

static void on_alarm(int s)
{
	(void)s;
	sigs++;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EINTR: return "EINTR";
	case EAGAIN: return "EAGAIN";
	case EINPROGRESS: return "EINPROGRESS";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNREFUSED: return "ECONNREFUSED";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	int tmo = 0, alarm_ms = 0, restart = 0, opt, fd, e = 0;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	char buf[64];
	long rc;

	if (argc < 3)
		return 2;
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	optind = 3;
	while ((opt = getopt(argc, argv, "t:a:R")) != -1) {
		if (opt == 't')
			tmo = atoi(optarg);
		else if (opt == 'a')
			alarm_ms = atoi(optarg);
		else if (opt == 'R')
			restart = 1;
		else
			return 2;
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 1;
	int is_recv = strcmp(argv[1], "recv") == 0;
	if (is_recv && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return 1;
	if (tmo) {
		struct timeval tv = {tmo / 1000, (tmo % 1000) * 1000};
		setsockopt(fd, SOL_SOCKET, is_recv ? SO_RCVTIMEO : SO_SNDTIMEO, &tv, sizeof(tv));
	}
	if (alarm_ms) {
		struct sigaction act = {.sa_handler = on_alarm};
		struct itimerval it = {{0, 0}, {alarm_ms / 1000, (alarm_ms % 1000) * 1000}};
		act.sa_flags = restart ? SA_RESTART : 0;
		sigaction(SIGALRM, &act, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	double t0 = now_ms();
	if (is_recv)
		rc = recv(fd, buf, sizeof(buf), 0);
	else
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0)
		e = errno;
	printf("rc=%ld errno=%s ms=%.0f sigs=%d\n", rc, ename(e), now_ms() - t0, (int)sigs);
	return 0;
}
