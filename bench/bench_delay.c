/*
 * bench_delay.c — how exact is an injected delay? A client does blocking
 * 1-byte recvs on two TCP loopback connections, taking turns: one to a
 * listener on PORT (the profile's target, with a recv delay rule of D ms),
 * one to a listener on an ephemeral port (no rule: the baseline, measured
 * in the same run, interleaved). A sample is send-on-the-server-side to
 * recv-returned on the client side.
 *
 *   added_i = delayed_i - median(baseline);  error_i = added_i - D
 *
 * The floor the machine sets: a reference sample sleeps D with
 * clock_nanosleep before its baseline round trip, taken in turn with the
 * others; its error is what any sleeping delay would show here (timer
 * slack, wake-up latency on a loaded machine).
 *
 * Run by bench/run.sh under `faultline run -p <recv delay D on
 * 127.0.0.1:PORT> -- bench_delay -p PORT -D D`. Prints one line:
 *   DELAY <label> <D ms> <samples> <|err| p50 us> <|err| p99 us>
 *         <|err| max us> <baseline p50 us> <mean added ms>
 *         <samples added < D/2> <ref |err| p50 us> <p99 us> <max us>
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int cli, srv;
};

static void die(const char *what)
{
	fprintf(stderr, "bench_delay: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* A connected pair through a listener on 127.0.0.1:port (0 = ephemeral). */
static struct conn pair_on(unsigned port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct conn c;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		die("listen on 127.0.0.1");
	c.cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.cli < 0 || connect(c.cli, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	c.srv = accept(l, NULL, NULL);
	if (c.srv < 0)
		die("accept");
	setsockopt(c.srv, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
	return c;
}

/* One round trip server → client, in ns. */
static int64_t sample(const struct conn *c)
{
	char b = 'x';
	int64_t t0 = now_ns();

	if (send(c->srv, &b, 1, 0) != 1 || recv(c->cli, &b, 1, 0) != 1)
		die("send/recv");
	return now_ns() - t0;
}

/* clock_nanosleep(D), then a baseline round trip: the reference. */
static int64_t sample_sleep(const struct conn *c, double d_ms)
{
	char b = 'x';
	int64_t d = (int64_t)(d_ms * 1e6), t0 = now_ns();
	struct timespec ts = {d / 1000000000ll, d % 1000000000ll};

	while (clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, &ts) == EINTR)
		;
	if (send(c->srv, &b, 1, 0) != 1 || recv(c->cli, &b, 1, 0) != 1)
		die("send/recv");
	return now_ns() - t0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of sorted v[n]. */
static double quantile(const double *v, int n, double q)
{
	int i = (int)ceil(q * n) - 1;
	return v[i < 0 ? 0 : (i >= n ? n - 1 : i)];
}

/* Turn samples v[n] into sorted |added - D| (ns); returns the mean added
 * (ns) and counts the samples whose added is under D/2 in *shortn. */
static double errors(double *v, int n, double b50, double d_ns, int *shortn)
{
	double sum = 0;

	*shortn = 0;
	for (int i = 0; i < n; i++) {
		sum += v[i] - b50;
		*shortn += v[i] - b50 < d_ns / 2;
		v[i] = fabs(v[i] - b50 - d_ns);
	}
	qsort(v, (size_t)n, sizeof(double), cmp_dbl);
	return sum / n;
}

int main(int argc, char **argv)
{
	unsigned port = 0;
	int n = 200, ch, shortn, refshort;
	double d_ms = -1;
	const char *label = "delay";

	while ((ch = getopt(argc, argv, "p:n:D:l:")) != -1) {
		switch (ch) {
		case 'p': port = (unsigned)atoi(optarg); break;
		case 'n': n = atoi(optarg); break;
		case 'D': d_ms = atof(optarg); break;
		case 'l': label = optarg; break;
		default: port = 0;
		}
	}
	if (!port || n < 1 || d_ms < 0) {
		fprintf(stderr, "usage: bench_delay -p PORT -D MS [-n SAMPLES] [-l LABEL]\n");
		return 2;
	}
	struct conn tgt = pair_on(port), base = pair_on(0);
	double *bl = malloc(sizeof(double) * (size_t)n), *dl = malloc(sizeof(double) * (size_t)n);
	double *rl = malloc(sizeof(double) * (size_t)n);

	if (!bl || !dl || !rl)
		die("malloc");
	sample(&base); /* first calls classify the fds */
	for (int i = 0; i < n; i++) {
		bl[i] = (double)sample(&base);
		rl[i] = (double)sample_sleep(&base, d_ms);
		dl[i] = (double)sample(&tgt);
	}
	qsort(bl, (size_t)n, sizeof(double), cmp_dbl);
	double b50 = quantile(bl, n, 0.5);
	double added = errors(dl, n, b50, d_ms * 1e6, &shortn);
	errors(rl, n, b50, d_ms * 1e6, &refshort);
	printf("DELAY %s %g %d %.1f %.1f %.1f %.1f %.3f %d %.1f %.1f %.1f\n", label, d_ms, n,
	       quantile(dl, n, 0.5) / 1e3, quantile(dl, n, 0.99) / 1e3, dl[n - 1] / 1e3,
	       b50 / 1e3, added / 1e6, shortn, quantile(rl, n, 0.5) / 1e3,
	       quantile(rl, n, 0.99) / 1e3, rl[n - 1] / 1e3);
	return 0;
}
