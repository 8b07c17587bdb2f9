/*
 * test_loop.c — the io_uring event loop: timers fire in deadline order
 * (ties in creation order), periodic timers and deletion, fd readability
 * with removal, a child's exit through a pidfd, a signal through a
 * signalfd, the before-sleep hook.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "loop.h"

static struct fl_loop *new_loop(void)
{
	struct fl_loop *l;
	int err = fl_loop_new(&l);

	if (err == -ENOSYS || err == -EPERM) {
		print_message("skip: io_uring disabled here (%s)\n", strerror(-err));
		skip();
	}
	assert_int_equal(err, 0);
	return l;
}

/* ---- timers ------------------------------------------------------------- */

struct order {
	int seen[16];
	int n;
	int stop_after;
};

static struct order ord;

static void rec_timer(struct fl_loop *l, long long id, void *arg)
{
	ord.seen[ord.n++] = (int)(intptr_t)arg;
	if (ord.n == ord.stop_after)
		fl_loop_stop(l);
}

static void test_timers_in_order(void **state)
{
	struct fl_loop *l = new_loop();

	memset(&ord, 0, sizeof(ord));
	ord.stop_after = 4;
	assert_true(fl_loop_timer_add(l, 30000000, 0, rec_timer, (void *)4) > 0);
	assert_true(fl_loop_timer_add(l, 10000000, 0, rec_timer, (void *)1) > 0);
	assert_true(fl_loop_timer_add(l, 20000000, 0, rec_timer, (void *)3) > 0);
	assert_true(fl_loop_timer_add(l, 10000000, 0, rec_timer, (void *)2) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	assert_int_equal(ord.n, 4);
	for (int i = 0; i < 4; i++)
		assert_int_equal(ord.seen[i], i + 1);
	fl_loop__free(l);
}

static void test_same_deadline_creation_order(void **state)
{
	struct fl_loop *l = new_loop();

	memset(&ord, 0, sizeof(ord));
	ord.stop_after = 5;
	/* all due at once: one iteration fires them by id */
	for (int i = 1; i <= 5; i++)
		assert_true(fl_loop_timer_add(l, 0, 0, rec_timer, (void *)(intptr_t)i) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(ord.seen[i], i + 1);
	fl_loop__free(l);
}

struct periodic {
	int fired;
	int64_t first, last;
	long long victim;
};

static void tick(struct fl_loop *l, long long id, void *arg)
{
	struct periodic *p = arg;

	if (!p->fired++)
		p->first = fl_loop_now(l);
	p->last = fl_loop_now(l);
	if (p->fired == 2)
		assert_int_equal(fl_loop_timer_del(l, p->victim), 0);
	if (p->fired == 5) {
		assert_int_equal(fl_loop_timer_del(l, id), 0); /* from its handler */
		fl_loop_stop(l);
	}
}

static void never(struct fl_loop *l, long long id, void *arg)
{
	fail_msg("deleted timer fired");
}

static void test_periodic_and_delete(void **state)
{
	struct fl_loop *l = new_loop();
	struct periodic p = { 0 };

	p.victim = fl_loop_timer_add(l, 30000000, 0, never, NULL);
	assert_true(fl_loop_timer_add(l, 5000000, 5000000, tick, &p) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	assert_int_equal(p.fired, 5);
	/* four periods of 5 ms between the first and the fifth */
	assert_true(p.last - p.first >= 4 * 5000000 - 1000000);
	assert_int_equal(fl_loop_timer_del(l, p.victim), -ENOENT);
	fl_loop__free(l);
}

/* ---- fds -------------------------------------------------------------------- */

struct pipe_ctx {
	int reads;
	long long id;
	char last;
};

static void on_pipe(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct pipe_ctx *c = arg;

	assert_true(revents & POLLIN);
	assert_int_equal(read(fd, &c->last, 1), 1);
	if (++c->reads == 3) {
		assert_int_equal(fl_loop_fd_del(l, c->id), 0);
		fl_loop_stop(l);
	}
}

static void write_byte(struct fl_loop *l, long long id, void *arg)
{
	int *fd = arg;

	assert_int_equal(write(*fd, "x", 1), 1);
}

static void stop_loop(struct fl_loop *l, long long id, void *arg)
{
	fl_loop_stop(l);
}

static void test_fd_readable_and_removed(void **state)
{
	struct fl_loop *l = new_loop();
	struct pipe_ctx c = { 0 };
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	c.id = fl_loop_fd_add(l, p[0], on_pipe, &c);
	assert_true(c.id > 0);
	/* two bytes now (level-triggered: both are seen), one later */
	assert_int_equal(write(p[1], "ab", 2), 2);
	assert_true(fl_loop_timer_add(l, 5000000, 0, write_byte, &p[1]) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	assert_int_equal(c.reads, 3);
	assert_int_equal(c.last, 'x');
	/* removed: more data is not reported */
	assert_int_equal(write(p[1], "y", 1), 1);
	assert_true(fl_loop_timer_add(l, 20000000, 0, stop_loop, NULL) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	assert_int_equal(c.reads, 3);
	close(p[0]);
	close(p[1]);
	fl_loop__free(l);
}

struct child_ctx {
	pid_t pid;
	int status;
	int hits;
};

static void on_child(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct child_ctx *c = arg;

	c->hits++;
	assert_int_equal(waitpid(c->pid, &c->status, WNOHANG), c->pid);
	fl_loop_stop(l);
}

static void test_pidfd_child_exit(void **state)
{
	struct fl_loop *l = new_loop();
	struct child_ctx c = { 0 };
	int pfd;

	c.pid = fork();
	if (c.pid == 0) {
		nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
		_exit(3);
	}
	pfd = (int)syscall(SYS_pidfd_open, c.pid, 0);
	assert_true(pfd >= 0);
	assert_true(fl_loop_fd_add(l, pfd, on_child, &c) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	assert_int_equal(c.hits, 1);
	assert_true(WIFEXITED(c.status));
	assert_int_equal(WEXITSTATUS(c.status), 3);
	close(pfd);
	fl_loop__free(l);
}

struct sig_ctx {
	int signo;
	pid_t from;
};

static void on_sig(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct sig_ctx *c = arg;
	struct signalfd_siginfo si;

	assert_int_equal(read(fd, &si, sizeof(si)), sizeof(si));
	c->signo = (int)si.ssi_signo;
	c->from = (pid_t)si.ssi_pid;
	fl_loop_stop(l);
}

static void send_usr1(struct fl_loop *l, long long id, void *arg)
{
	kill(getpid(), SIGUSR1);
}

static void test_signalfd_delivery(void **state)
{
	struct fl_loop *l = new_loop();
	struct sig_ctx c = { 0 };
	sigset_t set, old;
	int sfd;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(sigprocmask(SIG_BLOCK, &set, &old), 0);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	assert_true(sfd >= 0);
	assert_true(fl_loop_fd_add(l, sfd, on_sig, &c) > 0);
	assert_true(fl_loop_timer_add(l, 2000000, 0, send_usr1, NULL) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	assert_int_equal(c.signo, SIGUSR1);
	assert_int_equal(c.from, getpid());
	close(sfd);
	sigprocmask(SIG_SETMASK, &old, NULL);
	fl_loop__free(l);
}

static int hook_calls;

static void hook(struct fl_loop *l, void *arg)
{
	if (++hook_calls == 3)
		fl_loop_stop(l);
}

static void noop(struct fl_loop *l, long long id, void *arg)
{
}

static void test_before_sleep_hook(void **state)
{
	struct fl_loop *l = new_loop();

	hook_calls = 0;
	fl_loop_set_before_sleep(l, hook, NULL);
	assert_true(fl_loop_timer_add(l, 1000000, 1000000, noop, NULL) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	assert_int_equal(hook_calls, 3);
	fl_loop__free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_same_deadline_creation_order),
		cmocka_unit_test(test_periodic_and_delete),
		cmocka_unit_test(test_fd_readable_and_removed),
		cmocka_unit_test(test_pidfd_child_exit),
		cmocka_unit_test(test_signalfd_delivery),
		cmocka_unit_test(test_before_sleep_hook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
