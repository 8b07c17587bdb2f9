/*
 * bench_sc.c — per-call latency of a system call as a program under the
 * seccomp supervisor sees it (bench/bench_seccomp.sh runs it under every
 * configuration: native, a filter that does not notify the call, a filter
 * that notifies it and the supervisor passes it through, with and without
 * SYNC_WAKE_UP, and strace).
 *
 * The call: write(2) of 1 byte to /dev/null (no target: the supervisor's
 * pass-through path is classify + CONTINUE). Two measures:
 *   batch  N calls in batches of 1024 between two vDSO clock reads: the
 *          median over batches of ns/call (the cost of calls that do not
 *          stop: ns resolution)
 *   each   every call timed on its own: p50, p99 of the single-call
 *          latency (a notified call is a round trip to the supervisor)
 *
 *   bench_sc batch|each N LABEL
 * Prints: RESULT LABEL MODE p50_ns p99_ns mean_ns N
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define B 1024

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	long n;
	int fd = open("/dev/null", O_WRONLY);
	int64_t *v, sum = 0;
	long nv;

	if (argc < 4 || fd < 0)
		return 2;
	n = atol(argv[2]);
	if (n < B)
		n = B;
	v = calloc((size_t)n, sizeof(*v));
	if (!v)
		return 2;
	if (strcmp(argv[1], "batch") == 0) {
		nv = n / B;
		for (long i = 0; i < nv; i++) {
			int64_t t0 = now_ns();
			for (int k = 0; k < B; k++)
				if (write(fd, "x", 1) != 1)
					return 3;
			v[i] = (now_ns() - t0) * 1000 / B; /* ps per call */
		}
	} else {
		nv = n;
		for (long i = 0; i < nv; i++) {
			int64_t t0 = now_ns();
			if (write(fd, "x", 1) != 1)
				return 3;
			v[i] = (now_ns() - t0) * 1000;
		}
	}
	for (long i = 0; i < nv; i++)
		sum += v[i];
	qsort(v, (size_t)nv, sizeof(*v), cmp64);
	printf("RESULT %s %s %.1f %.1f %.1f %ld\n", argv[3], argv[1],
	       (double)v[nv / 2] / 1000, (double)v[nv * 99 / 100] / 1000,
	       (double)sum / (double)nv / 1000, n);
	return 0;
}
