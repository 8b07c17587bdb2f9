/*
 * bench_calls.c — per-call cost of the data calls the shim wraps, as seen by
 * an unmodified program: read on a pipe, read on a regular file, send and
 * recv of 1 byte on a TCP loopback connection.
 *
 * The same binary is run by bench/run.sh under every configuration (no
 * preload, the shim idle / armed / matched under `faultline run`, libfiu,
 * strace); the differences between its numbers are the overheads.
 *
 * Method: each kind makes N calls in batches of B. A batch is B calls of
 * one kind in a tight loop between two clock_gettime (vDSO) reads; between
 * batches, untimed, the pipe is refilled, the file rewound, and — under
 * `faultline run` — we wait until the controller has drained the journal,
 * so a matched call always journals for real (a full ring would drop and
 * count, which is cheaper and not what we measure). The result of a kind is
 * the median over its batches of ns per call (robust to preemption on a
 * shared machine) and the mean.
 *
 * With -s, bench/nosys/nosys.c is preloaded after the shim: the calls
 * return without entering the kernel and only the shim's own work is timed.
 *
 * Output, one line each, for bench/run.sh:
 *   RESULT <label> <kind> <median ns/call> <mean ns/call> <calls>
 *   HITS <label> <rule> <faults injected by it>      (under faultline run)
 *   DROPPED <label> <journal records dropped>
 * The loops are separate non-inlined functions so that callgrind can give
 * the instructions per call of each (bench/run.sh, instruction view).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block.h"
#include "faultline/ctl.h"

#define NOINLINE __attribute__((noinline))

/* close_fd, connect_ut, open_ut: untargeted calls with the stub only (-s):
 * close of an fd the stub owns, connect to an address no profile targets,
 * open of a path under /nosys/ (the stub answers all three without the
 * kernel). clock_mono: clock_gettime(CLOCK_MONOTONIC), real (vDSO). */
enum kind { K_PIPE, K_FILE, K_SEND, K_RECV, K_CLOSE, K_CONNECT, K_OPEN, K_CLOCK, K__COUNT };
static const char *const kind_name[K__COUNT] = {"read_pipe", "read_file", "send_tcp",
						"recv_tcp", "close_fd", "connect_ut",
						"open_ut", "clock_mono"};
#define NOSYS_ONLY ((1u << K_CLOSE) | (1u << K_CONNECT) | (1u << K_OPEN))
#define NOSYS_OPEN_PATH "/nosys/bench/open_ut" /* bench/nosys/nosys.c answers it */

struct opts {
	long n;           /* calls per kind */
	int batch;        /* calls per timed batch */
	const char *dir;  /* where the data file is made */
	const char *label;
	unsigned kinds;   /* bit per enum kind */
	bool nosys;       /* -s: libflbench_nosys.so is preloaded, calls move no data */
};

struct fds {
	int pipe_r, pipe_w, file, cli, srv;
	int ofd, usock; /* -s: the stub's open fd, a socket for connect_ut */
};

static void die(const char *what)
{
	fprintf(stderr, "bench_calls: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- the loops: nothing but the calls ------------------------------------- */

NOINLINE static void loop_read_pipe(int fd, char *buf, int n)
{
	for (int i = 0; i < n; i++)
		if (read(fd, buf, 1) != 1)
			die("read(pipe)");
}

NOINLINE static void loop_read_file(int fd, char *buf, int n)
{
	for (int i = 0; i < n; i++)
		if (read(fd, buf, 1) != 1)
			die("read(file)");
}

NOINLINE static void loop_send(int fd, const char *buf, int n)
{
	for (int i = 0; i < n; i++)
		if (send(fd, buf, 1, 0) != 1)
			die("send");
}

NOINLINE static void loop_recv(int fd, char *buf, int n)
{
	for (int i = 0; i < n; i++)
		if (recv(fd, buf, 1, 0) != 1)
			die("recv");
}

NOINLINE static void loop_close(int fd, int n)
{
	for (int i = 0; i < n; i++)
		if (close(fd) != 0)
			die("close");
}

/* 127.0.0.3:9: neither the armed/matched (127.0.0.1:*) nor the idle
 * (127.0.0.2:9) profile targets it */
NOINLINE static void loop_connect(int fd, int n)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(9),
				.sin_addr.s_addr = htonl(0x7f000003)};
	for (int i = 0; i < n; i++)
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
			die("connect");
}

NOINLINE static void loop_open(int n)
{
	for (int i = 0; i < n; i++)
		if (open(NOSYS_OPEN_PATH, O_RDONLY | O_CLOEXEC) < 0)
			die("open");
}

NOINLINE static void loop_clock(int n)
{
	struct timespec ts;
	for (int i = 0; i < n; i++)
		if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
			die("clock_gettime");
}

/* ---- set-up ------------------------------------------------------------------ */

static void tcp_pair(struct fds *f)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0)
		die("listen on 127.0.0.1");
	f->cli = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->cli < 0 || connect(f->cli, (struct sockaddr *)&a, sizeof(a)) < 0)
		die("connect");
	f->srv = accept(l, NULL, NULL);
	if (f->srv < 0)
		die("accept");
	/* one segment per send, as an interactive client does */
	setsockopt(f->cli, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	close(l);
}

#define NOSYS_FD_MIN 1000 /* bench/nosys/nosys.c fakes calls on fds from here */

/* Under -s, move fd to NOSYS_FD_MIN or above, where the stub answers. */
static int nosys_fd(const struct opts *o, int fd)
{
	int nfd;

	if (!o->nosys)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, NOSYS_FD_MIN);
	if (nfd < 0)
		die("fcntl(F_DUPFD)");
	close(fd);
	return nfd;
}

static void make_fds(const struct opts *o, struct fds *f)
{
	int p[2];
	char path[4096];
	char *zeros = calloc(1, (size_t)o->batch);

	if (pipe(p) < 0)
		die("pipe");
	f->pipe_r = p[0];
	f->pipe_w = p[1];
	snprintf(path, sizeof(path), "%s/data", o->dir);
	f->file = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!zeros || f->file < 0 || write(f->file, zeros, (size_t)o->batch) != o->batch)
		die(path);
	free(zeros);
	tcp_pair(f);
	f->pipe_r = nosys_fd(o, f->pipe_r);
	f->pipe_w = nosys_fd(o, f->pipe_w);
	f->file = nosys_fd(o, f->file);
	f->cli = nosys_fd(o, f->cli);
	f->srv = nosys_fd(o, f->srv);
	f->ofd = f->usock = -1;
	if (o->nosys) {
		f->ofd = open(NOSYS_OPEN_PATH, O_RDONLY | O_CLOEXEC);
		f->usock = nosys_fd(o, socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
		if (f->ofd < 0 || f->usock < 0)
			die("open/socket for the untargeted kinds");
	}
}

/* ---- the control block, to wait for the journal to drain ------------------- */

static struct fl_ctl *map_ctl(void)
{
	const char *p = getenv("FAULTLINE_CTL");
	struct fl_ctl *c;

	if (!p || !*p || fl_block_attach(p, 1000, &c) < 0)
		return NULL;
	return c;
}

/* Wait (untimed) until the ring has room for a whole batch. The controller
 * drains it on its heartbeat (every 4 ms); there is no event to wait on. */
static void wait_journal_room(const struct fl_ctl *c, int batch)
{
	struct timespec ms = {0, 1000000};

	while (c && atomic_load(&c->journal.head) - atomic_load(&c->journal.tail) >
			    (uint64_t)(FL_JOURNAL_SLOTS - batch))
		nanosleep(&ms, NULL);
}

/* ---- one kind ---------------------------------------------------------------- */

/* Untimed preparation of the next batch. Under the no-syscall stub reads
 * take nothing from the pipe, so it is not refilled (it would fill up). */
static void prepare(const struct opts *o, enum kind k, const struct fds *f,
		    char *buf, int b)
{
	if (k == K_PIPE && !o->nosys && write(f->pipe_w, buf, (size_t)b) != b)
		die("write(pipe)");
	if (k == K_FILE && lseek(f->file, 0, SEEK_SET) != 0)
		die("lseek");
	if (k == K_RECV)
		loop_send(f->cli, buf, b);
}

/* One timed batch; returns ns. A send batch leaves its bytes unread: the
 * peer drains them untimed. */
static int64_t batch(enum kind k, const struct fds *f, char *buf, int b)
{
	int64_t t0 = now_ns();

	switch (k) {
	case K_PIPE: loop_read_pipe(f->pipe_r, buf, b); break;
	case K_FILE: loop_read_file(f->file, buf, b); break;
	case K_SEND: loop_send(f->cli, buf, b); break;
	case K_RECV: loop_recv(f->srv, buf, b); break;
	case K_CLOSE: loop_close(f->ofd, b); break;
	case K_CONNECT: loop_connect(f->usock, b); break;
	case K_OPEN: loop_open(b); break;
	case K_CLOCK: loop_clock(b); break;
	case K__COUNT: break;
	}
	t0 = now_ns() - t0;
	if (k == K_SEND)
		loop_recv(f->srv, buf, b);
	return t0;
}

/* One call of each kind, outside the loops: an fd is classified on its
 * first call (fstat, getsockname, ...), a one-off that is not per-call
 * cost and would blur the instruction counts of the loops. */
static void warm_up(const struct opts *o, const struct fds *f)
{
	char b = 0;

	if (!o->nosys && write(f->pipe_w, &b, 1) != 1)
		die("write(pipe)");
	if (lseek(f->file, 0, SEEK_SET) != 0 || read(f->pipe_r, &b, 1) != 1 ||
	    read(f->file, &b, 1) != 1 || send(f->cli, &b, 1, 0) != 1 ||
	    recv(f->srv, &b, 1, 0) != 1)
		die("warm-up");
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void run_kind(const struct opts *o, enum kind k, const struct fds *f,
		     const struct fl_ctl *c)
{
	long nb = (o->n + o->batch - 1) / o->batch;
	double *per = malloc((size_t)nb * sizeof(double)), sum = 0;
	char *buf = calloc(1, (size_t)o->batch);

	if (!per || !buf)
		die("malloc");
	prepare(o, k, f, buf, o->batch); /* a batch to warm the caches */
	batch(k, f, buf, o->batch);
	for (long i = 0; i < nb; i++) {
		wait_journal_room(c, 2 * o->batch);
		prepare(o, k, f, buf, o->batch);
		int64_t ns = batch(k, f, buf, o->batch);
		per[i] = (double)ns / o->batch;
		sum += (double)ns;
	}
	qsort(per, (size_t)nb, sizeof(double), cmp_dbl);
	printf("RESULT %s %s %.2f %.2f %ld\n", o->label, kind_name[k], per[nb / 2],
	       sum / ((double)nb * o->batch), nb * o->batch);
	free(per);
	free(buf);
}

static void report_ctl(const struct opts *o, const struct fl_ctl *c)
{
	if (!c)
		return;
	for (uint32_t i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++)
		printf("HITS %s %u %llu\n", o->label, i,
		       (unsigned long long)atomic_load(&c->hits[i]));
	printf("DROPPED %s %llu\n", o->label,
	       (unsigned long long)atomic_load(&c->journal.dropped));
}

/* ---- main ---------------------------------------------------------------------- */

static unsigned parse_kinds(const char *s)
{
	unsigned m = 0;

	for (int k = 0; k < K__COUNT; k++)
		if (strstr(s, kind_name[k]))
			m |= 1u << k;
	return m;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_calls -d DIR [-n CALLS] [-b BATCH] [-l LABEL] [-s] "
			"[-k read_pipe,read_file,send_tcp,recv_tcp,close_fd,connect_ut,"
			"open_ut,clock_mono]\n"
			"  -s  libflbench_nosys.so is preloaded (calls move no data)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {.n = 1000000, .batch = 1024, .label = "run",
			 .kinds = (1u << K__COUNT) - 1};
	struct fds f;
	struct fl_ctl *c;
	int ch;

	while ((ch = getopt(argc, argv, "n:b:d:l:k:s")) != -1) {
		switch (ch) {
		case 'n': o.n = atol(optarg); break;
		case 'b': o.batch = atoi(optarg); break;
		case 'd': o.dir = optarg; break;
		case 'l': o.label = optarg; break;
		case 'k': o.kinds = parse_kinds(optarg); break;
		case 's': o.nosys = true; break;
		default: usage();
		}
	}
	if (!o.dir || o.n < 1 || o.batch < 1 || o.batch > 4096 || !o.kinds)
		usage();
	if (o.nosys && !dlsym(RTLD_DEFAULT, "flbench_nosys_loaded")) {
		fprintf(stderr, "bench_calls: -s: libflbench_nosys.so is not preloaded\n");
		return 2;
	}
	make_fds(&o, &f);
	c = map_ctl();
	warm_up(&o, &f);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (o.nosys) { /* one of each, untimed: the fds are classified */
		loop_close(f.ofd, 1);
		loop_connect(f.usock, 1);
		loop_open(1);
	}
	for (int k = 0; k < K__COUNT; k++)
		if ((o.kinds & (1u << k)) && (o.nosys || !(NOSYS_ONLY & (1u << k))))
			run_kind(&o, (enum kind)k, &f, c);
	report_ctl(&o, c);
	return 0;
}
