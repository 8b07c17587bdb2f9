/*
 * bench_clock.c — ns per clock_gettime(REALTIME) and (MONOTONIC) call as an
 * unmodified program sees it: no preload, the shim idle, the shim faking
 * an offset (FAKETIME, and a profile's clock rules under `faultline run`),
 * the shim with a drift window (the piecewise path), libfaketime and
 * libfaketimeMT with the same offset. Printed side by side as a markdown
 * table with ratios to no preload.
 *
 *   bench_clock [-n CALLS] [-r ROUNDS]     run every configuration
 *   bench_clock -c [-n CALLS]              child: measure this process
 *
 * Method: the parent re-executes itself under each configuration, round by
 * round (configurations interleaved: a noisy minute hits them alike). A
 * child makes CALLS calls per clock (or as many as 0.4 s allow) in batches
 * of 1000 between two raw clock_gettime system calls (nothing preloaded can
 * fake those) and prints the median batch's ns per call. A configuration's
 * figure is the lowest over rounds: on a shared machine interference only
 * ever adds time. Paths: FL_SHIM, FL_BIN (faultline), LFT, LFT_MT; defaults
 * next to this binary and Debian's libfaketime.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BATCH 1000
#define MAX_ROUNDS 15
#define TIME_CAP_NS 400000000ll /* per clock and child */

static int64_t raw_ns(void)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double lowest(double *v, int n)
{
	double m = v[0];
	for (int i = 1; i < n; i++)
		m = v[i] < m ? v[i] : m;
	return m;
}

/* ns per call of clock_gettime(clk), median over batches */
static __attribute__((noinline)) double measure(clockid_t clk, long calls)
{
	int nb = (int)(calls / BATCH);
	double *per = malloc(sizeof(double) * (size_t)nb);
	struct timespec ts;
	volatile long sink = 0;
	double m;

	if (!per)
		return -1;
	int64_t start = raw_ns();
	int b;

	for (b = 0; b < nb; b++) {
		int64_t t0 = raw_ns();
		if (b >= 20 && t0 - start > TIME_CAP_NS)
			break; /* a slow configuration: enough batches */
		for (int i = 0; i < BATCH; i++) {
			clock_gettime(clk, &ts);
			sink += ts.tv_nsec;
		}
		per[b] = (double)(raw_ns() - t0) / BATCH;
	}
	m = median(per, b);
	free(per);
	return m;
}

static int child(long calls)
{
	measure(CLOCK_REALTIME, calls / 10); /* warm up */
	printf("%.2f %.2f\n", measure(CLOCK_REALTIME, calls), measure(CLOCK_MONOTONIC, calls));
	return 0;
}

struct conf {
	const char *name;
	const char *preload; /* NULL: none */
	const char *faketime;
	const char *profile; /* run under faultline with this profile */
	double rt[MAX_ROUNDS], mono[MAX_ROUNDS];
	int ok;
};

static char self[PATH_MAX], shim[PATH_MAX], flbin[PATH_MAX], dir[64];

/* Run one child of configuration c; 0 with its two figures, -1 otherwise. */
static int run_child(const struct conf *c, long calls, double *rt, double *mono)
{
	char nbuf[32], line[128];
	int fd[2], st;
	pid_t pid;
	FILE *f;
	int got;

	snprintf(nbuf, sizeof(nbuf), "%ld", calls);
	if (pipe(fd) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		unsetenv("LD_PRELOAD");
		unsetenv("FAKETIME");
		unsetenv("FAULTLINE_CTL");
		if (c->faketime)
			setenv("FAKETIME", c->faketime, 1);
		if (c->profile) {
			setenv("FAULTLINE_SHIM", shim, 1);
			execl(flbin, flbin, "run", "-q", "-p", c->profile, "--", self, "-c",
			      "-n", nbuf, (char *)NULL);
		} else {
			if (c->preload)
				setenv("LD_PRELOAD", c->preload, 1);
			execl(self, self, "-c", "-n", nbuf, (char *)NULL);
		}
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	got = f && fgets(line, sizeof(line), f) && sscanf(line, "%lf %lf", rt, mono) == 2;
	if (f)
		fclose(f);
	waitpid(pid, &st, 0);
	return got && WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static const char *write_profile(const char *name, const char *text)
{
	static char paths[2][PATH_MAX];
	static int n;
	char *p = paths[n++ % 2];
	FILE *f;

	snprintf(p, PATH_MAX, "%s/%s", dir, name);
	f = fopen(p, "w");
	if (!f)
		return NULL;
	fputs(text, f);
	fclose(f);
	return p;
}

int main(int argc, char **argv)
{
	long calls = 2000000;
	int rounds = 7, opt, is_child = 0;
	const char *lft = getenv("LFT") ? getenv("LFT")
					: "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
	const char *lftmt = getenv("LFT_MT") ? getenv("LFT_MT")
					     : "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
	char tmpl[] = "/tmp/flbench_clock.XXXXXX";

	while ((opt = getopt(argc, argv, "cn:r:")) != -1) {
		if (opt == 'c')
			is_child = 1;
		else if (opt == 'n')
			calls = atol(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			return 2;
	}
	if (calls < BATCH)
		calls = BATCH;
	if (is_child)
		return child(calls);
	if (rounds < 1 || rounds > MAX_ROUNDS)
		rounds = 7;

	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return 1;
	self[n] = '\0';
	char bdir[PATH_MAX];
	snprintf(bdir, sizeof(bdir), "%s", self);
	char *bd = dirname(bdir); /* $O/bench */
	snprintf(shim, sizeof(shim), "%s", getenv("FL_SHIM") ? getenv("FL_SHIM") : "");
	if (!*shim)
		snprintf(shim, sizeof(shim), "%s/../libfaultline.so", bd);
	snprintf(flbin, sizeof(flbin), "%s", getenv("FL_BIN") ? getenv("FL_BIN") : "");
	if (!*flbin)
		snprintf(flbin, sizeof(flbin), "%s/../faultline", bd);
	if (!mkdtemp(tmpl))
		return 1;
	snprintf(dir, sizeof(dir), "%s", tmpl);

	const char *poff = write_profile("offset.json",
		"{\"faultline\": 1, \"targets\": {}, \"rules\": [\n"
		" {\"clock\": \"realtime\", \"fault\": \"offset\", \"ms\": 3600000},\n"
		" {\"clock\": \"monotonic\", \"fault\": \"offset\", \"ms\": 3600000}]}\n");
	const char *pdrift = write_profile("drift.json",
		"{\"faultline\": 1, \"targets\": {}, \"rules\": [\n"
		" {\"clock\": \"realtime\", \"fault\": \"drift\", \"ppm\": 500, \"window_ms\": [0, 600000]},\n"
		" {\"clock\": \"monotonic\", \"fault\": \"drift\", \"ppm\": 500, \"window_ms\": [0, 600000]}]}\n");
	struct conf confs[] = {
		{"native (no preload)", NULL, NULL, NULL, {0}, {0}, 0},
		{"shim idle", shim, NULL, NULL, {0}, {0}, 0},
		{"shim, FAKETIME=+1h", shim, "+1h", NULL, {0}, {0}, 0},
		{"shim, profile offset +1h (faultline run)", shim, NULL, poff, {0}, {0}, 0},
		{"shim, profile drift window (piecewise)", shim, NULL, pdrift, {0}, {0}, 0},
		{"libfaketime, FAKETIME=+1h", lft, "+1h", NULL, {0}, {0}, 0},
		{"libfaketimeMT, FAKETIME=+1h", lftmt, "+1h", NULL, {0}, {0}, 0},
	};
	const int nc = (int)(sizeof(confs) / sizeof(confs[0]));

	for (int r = 0; r < rounds; r++)
		for (int i = 0; i < nc; i++) {
			struct conf *c = &confs[i];
			if ((c->preload && access(c->preload, R_OK) != 0) ||
			    (c->profile && access(flbin, X_OK) != 0))
				continue;
			if (run_child(c, calls, &c->rt[c->ok], &c->mono[c->ok]) == 0)
				c->ok++;
		}

	double base_rt = confs[0].ok ? lowest(confs[0].rt, confs[0].ok) : 0;
	double base_mono = confs[0].ok ? lowest(confs[0].mono, confs[0].ok) : 0;
	printf("### clock_gettime ns/call (lowest of %d rounds; each the median batch of "
	       "up to %ld calls)\n\n", rounds, calls);
	printf("| configuration | REALTIME ns | x native | MONOTONIC ns | x native |\n");
	printf("|---|---:|---:|---:|---:|\n");
	for (int i = 0; i < nc; i++) {
		struct conf *c = &confs[i];
		if (!c->ok) {
			printf("| %s | n/a | | n/a | |\n", c->name);
			continue;
		}
		double rt = lowest(c->rt, c->ok), mono = lowest(c->mono, c->ok);
		printf("| %s | %.1f | %.2f | %.1f | %.2f |\n", c->name, rt,
		       base_rt > 0 ? rt / base_rt : 0, mono, base_mono > 0 ? mono / base_mono : 0);
	}
	unlink(poff);
	unlink(pdrift);
	rmdir(dir);
	return 0;
}
