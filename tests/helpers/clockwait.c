/*
 * clockwait.c — waits for "now + N ms" on an absolute deadline, the way
 * programs do, through every call whose deadline a shifted clock would
 * break: pthread_cond_timedwait (realtime and monotonic condvars),
 * pthread_cond_clockwait, clock_nanosleep(TIMER_ABSTIME), sem_timedwait,
 * sem_clockwait and timerfd with TFD_TIMER_ABSTIME.
 *
 *   clockwait [MS [WAIT...]]      default 200 ms, every wait
 *   clockwait -m SECONDS          4 threads read MONOTONIC, _COARSE, _RAW
 *                                 and BOOTTIME for that long; print
 *                                 "reads=N backwards=B", exit 1 if B > 0
 *
 * One line per wait: "NAME real_ms=R fake_ms=F rc=C", R measured with a raw
 * clock_gettime system call (nothing preloaded can touch it), F on the
 * program's own clock. Exit 0 when every wait timed out as it should.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int64_t wait_ms = 200;

static int64_t real_mono_ns(void)
{
	struct timespec ts;
	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ns_of(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* The program's now on clock id, and its deadline wait_ms later. */
static struct timespec deadline(clockid_t id, int64_t *start)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	*start = ns_of(&ts);
	ts.tv_nsec += (long)(wait_ms % 1000) * 1000000;
	ts.tv_sec += wait_ms / 1000 + ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static int w_cond(clockid_t id)
{
	pthread_cond_t cv;
	pthread_condattr_t a;
	int64_t s;
	int rc;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, id);
	pthread_cond_init(&cv, &a);
	struct timespec dl = deadline(id, &s);
	pthread_mutex_lock(&mu);
	do
		rc = pthread_cond_timedwait(&cv, &mu, &dl);
	while (rc == 0); /* spurious wake-up: wait again */
	pthread_mutex_unlock(&mu);
	pthread_cond_destroy(&cv);
	return rc == ETIMEDOUT ? 0 : rc;
}

static int w_cond_rt(void) { return w_cond(CLOCK_REALTIME); }
static int w_cond_mono(void) { return w_cond(CLOCK_MONOTONIC); }

static int w_clockwait(clockid_t id)
{
	pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
	int64_t s;
	int rc;
	struct timespec dl = deadline(id, &s);

	pthread_mutex_lock(&mu);
	do
		rc = pthread_cond_clockwait(&cv, &mu, id, &dl);
	while (rc == 0);
	pthread_mutex_unlock(&mu);
	return rc == ETIMEDOUT ? 0 : rc;
}

static int w_clockwait_rt(void) { return w_clockwait(CLOCK_REALTIME); }
static int w_clockwait_mono(void) { return w_clockwait(CLOCK_MONOTONIC); }

static int w_nanosleep(clockid_t id)
{
	int64_t s;
	struct timespec dl = deadline(id, &s);
	int rc;

	while ((rc = clock_nanosleep(id, TIMER_ABSTIME, &dl, NULL)) == EINTR)
		;
	return rc;
}

static int w_nanosleep_rt(void) { return w_nanosleep(CLOCK_REALTIME); }
static int w_nanosleep_mono(void) { return w_nanosleep(CLOCK_MONOTONIC); }

static int w_sem(void)
{
	sem_t sem;
	int64_t s;
	int rc;

	sem_init(&sem, 0, 0);
	struct timespec dl = deadline(CLOCK_REALTIME, &s);
	while ((rc = sem_timedwait(&sem, &dl)) == -1 && errno == EINTR)
		;
	sem_destroy(&sem);
	return rc == -1 && errno == ETIMEDOUT ? 0 : -1;
}

static int w_semclock(void)
{
	sem_t sem;
	int64_t s;
	int rc;

	sem_init(&sem, 0, 0);
	struct timespec dl = deadline(CLOCK_MONOTONIC, &s);
	while ((rc = sem_clockwait(&sem, CLOCK_MONOTONIC, &dl)) == -1 && errno == EINTR)
		;
	sem_destroy(&sem);
	return rc == -1 && errno == ETIMEDOUT ? 0 : -1;
}

/* Arm at an absolute deadline; the remaining time must be about wait_ms;
 * read() blocks until it fires. */
static int w_timerfd(clockid_t id)
{
	int fd = timerfd_create(id, TFD_CLOEXEC);
	struct itimerspec its = {{0, 0}, {0, 0}}, cur;
	uint64_t ticks;
	int64_t s;

	if (fd < 0)
		return -1;
	its.it_value = deadline(id, &s);
	if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) != 0 ||
	    timerfd_gettime(fd, &cur) != 0 || ns_of(&cur.it_value) > (wait_ms + 50) * 1000000 ||
	    read(fd, &ticks, sizeof(ticks)) != sizeof(ticks) || ticks != 1) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int w_timerfd_rt(void) { return w_timerfd(CLOCK_REALTIME); }
static int w_timerfd_mono(void) { return w_timerfd(CLOCK_MONOTONIC); }

static const struct {
	const char *name;
	int (*fn)(void);
	clockid_t clock; /* the clock the program judges the wait by */
} waits[] = {
	{"cond_timedwait_rt", w_cond_rt, CLOCK_REALTIME},
	{"cond_timedwait_mono", w_cond_mono, CLOCK_MONOTONIC},
	{"cond_clockwait_rt", w_clockwait_rt, CLOCK_REALTIME},
	{"cond_clockwait_mono", w_clockwait_mono, CLOCK_MONOTONIC},
	{"nanosleep_abs_rt", w_nanosleep_rt, CLOCK_REALTIME},
	{"nanosleep_abs_mono", w_nanosleep_mono, CLOCK_MONOTONIC},
	{"sem_timedwait", w_sem, CLOCK_REALTIME},
	{"sem_clockwait_mono", w_semclock, CLOCK_MONOTONIC},
	{"timerfd_abs_rt", w_timerfd_rt, CLOCK_REALTIME},
	{"timerfd_abs_mono", w_timerfd_mono, CLOCK_MONOTONIC},
};
#define NWAITS (sizeof(waits) / sizeof(waits[0]))

static int run(size_t i)
{
	struct timespec a, b;
	int64_t r0, r1;
	int rc;

	clock_gettime(waits[i].clock, &a);
	r0 = real_mono_ns();
	rc = waits[i].fn();
	r1 = real_mono_ns();
	clock_gettime(waits[i].clock, &b);
	printf("%s real_ms=%.1f fake_ms=%.1f rc=%d\n", waits[i].name, (double)(r1 - r0) / 1e6,
	       (double)(ns_of(&b) - ns_of(&a)) / 1e6, rc);
	fflush(stdout);
	return rc != 0;
}

/* ---- -m: monotonic clocks never go backwards, in any thread ---------- */
static int64_t mono_until;
static _Atomic long mono_reads, mono_back;

static void *mono_reader(void *arg)
{
	static const clockid_t ids[] = {CLOCK_MONOTONIC, CLOCK_MONOTONIC_COARSE,
					CLOCK_MONOTONIC_RAW, CLOCK_BOOTTIME};
	int64_t prev[4] = {0, 0, 0, 0};
	long reads = 0, back = 0;

	(void)arg;
	while (real_mono_ns() < mono_until) {
		for (int i = 0; i < 4; i++) {
			struct timespec ts;
			clock_gettime(ids[i], &ts);
			int64_t v = ns_of(&ts);
			if (v < prev[i]) {
				if (back < 5)
					fprintf(stderr, "clock %d went back %lld ns\n", (int)ids[i],
						(long long)(prev[i] - v));
				back++;
			}
			prev[i] = v;
			reads++;
		}
	}
	mono_reads += reads;
	mono_back += back;
	return NULL;
}

static int mono_threads(double seconds)
{
	pthread_t th[4];

	mono_until = real_mono_ns() + (int64_t)(seconds * 1e9);
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, mono_reader, NULL);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	printf("reads=%ld backwards=%ld\n", (long)mono_reads, (long)mono_back);
	return mono_back != 0;
}

int main(int argc, char **argv)
{
	int bad = 0;

	if (argc > 2 && strcmp(argv[1], "-m") == 0)
		return mono_threads(atof(argv[2]));

	if (argc > 1)
		wait_ms = atoll(argv[1]);
	for (size_t i = 0; i < NWAITS; i++) {
		int want = argc <= 2;
		for (int k = 2; k < argc; k++)
			want |= strcmp(argv[k], waits[i].name) == 0;
		if (want)
			bad |= run(i);
	}
	return bad;
}
