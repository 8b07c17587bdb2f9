/*
 * test_ctl.c — the controller's side of the control block: creation (mode,
 * size, magic, owner), refusing live blocks and replacing stale ones, the
 * journal ring under many producers (threads and fork()ed processes), a
 * full ring, the stuck-slot skip, and state changes waking futex waiters in
 * other threads and processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl.h"

static struct fl_ctl_owner me(void)
{
	return (struct fl_ctl_owner){ geteuid(), getegid(), false };
}

static char tmpdir[] = "/tmp/fltest_ctl.XXXXXX";

static int setup(void **state)
{
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	rmdir(tmpdir);
	return 0;
}

/* ---- creation ----------------------------------------------------------- */

static void test_private_block(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh h;
	struct stat st;
	char dir[PATH_MAX];

	assert_int_equal(fl_ctl_create_private(&o, 42, &h), 0);
	assert_int_equal(fl_ctl_activate(&h), 0);
	assert_int_equal(stat(h.path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, sizeof(struct fl_ctl));
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(stat(h.dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_true(h.ctl->hdr.magic == FL_CTL_MAGIC);
	assert_int_equal(h.ctl->hdr.abi, FL_ABI_VERSION);
	assert_int_equal(h.ctl->hdr.size, sizeof(struct fl_ctl));
	assert_int_equal(h.ctl->hdr.owner_uid, geteuid());
	assert_int_equal(h.ctl->hdr.controller_pid, getpid());
	assert_int_equal(h.ctl->hdr.seed, 42);
	assert_int_equal(h.ctl->hdr.stale_ns, FL_STALE_NS_DEFAULT);
	assert_int_equal(fl_ctl_state(h.ctl), FL_STATE_ACTIVE);
	assert_true(h.ctl->hdr.epoch_real_ns > 0);
	assert_true(fl_now_mono() - h.ctl->hdr.heartbeat_ns < 1000000000ll);
	for (uint64_t i = 0; i < FL_JOURNAL_SLOTS; i += 1021)
		assert_int_equal(h.ctl->journal.slot[i].seq, i);
	strcpy(dir, h.dir);
	fl_ctl_close(&h);
	assert_int_equal(access(dir, F_OK), -1); /* file and dir are gone */
}

static void test_owner_chown(void **state)
{
	struct fl_ctl_owner o = { 65534, 65534, true };
	struct fl_ctlh h;
	struct stat st;

	if (geteuid() != 0) {
		print_message("skip: needs root (a block owned by another user)\n");
		skip();
	}
	assert_int_equal(fl_ctl_create_private(&o, 1, &h), 0);
	assert_int_equal(fl_ctl_activate(&h), 0);
	assert_int_equal(stat(h.path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(h.ctl->hdr.owner_uid, 65534);
	assert_int_equal(strncmp(h.path, "/tmp/", 5), 0); /* reachable by that user */
	assert_int_equal(stat(h.dir, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	fl_ctl_close(&h);
}

static void test_named_block_live_refused(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh a, b;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/ctl", tmpdir);
	assert_int_equal(fl_ctl_create(path, &o, 1, &a), 0);
	assert_int_equal(access(path, F_OK), -1); /* not visible before activation */
	assert_int_equal(fl_ctl_activate(&a), 0);
	assert_int_equal(access(path, F_OK), 0);
	/* we are alive and beating: a second controller is refused */
	assert_int_equal(fl_ctl_create(path, &o, 1, &b), -EEXIST);
	assert_int_equal(access(path, F_OK), 0);
	fl_ctl_close(&a);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_named_not_a_block_kept(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh h;
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/precious", tmpdir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "data", 4), 4);
	close(fd);
	assert_int_equal(fl_ctl_create(path, &o, 1, &h), -EEXIST);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
}

static void test_named_stale_replaced(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh a, b;
	char path[PATH_MAX];
	pid_t dead = fork();

	if (dead == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	snprintf(path, sizeof(path), "%s/ctl", tmpdir);
	assert_int_equal(fl_ctl_create(path, &o, 1, &a), 0);
	assert_int_equal(fl_ctl_activate(&a), 0);
	a.ctl->hdr.controller_pid = dead; /* as if its controller crashed */
	a.owner = false;                  /* and nobody cleaned up */
	fl_ctl_close(&a);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(fl_ctl_create(path, &o, 7, &b), 0);
	assert_int_equal(fl_ctl_activate(&b), 0);
	assert_int_equal(b.ctl->hdr.seed, 7);
	assert_int_equal(b.ctl->hdr.controller_pid, getpid());
	fl_ctl_close(&b);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_open_existing(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh a, b;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/junk", tmpdir);
	assert_int_equal(fl_ctl_open(path, &b), -ENOENT);
	assert_int_equal(fl_ctl_create_private(&o, 1, &a), 0);
	assert_int_equal(fl_ctl_activate(&a), 0);
	assert_int_equal(fl_ctl_open(a.path, &b), 0);
	fl_ctl_set_state(b.ctl, FL_STATE_ABORTED);
	fl_ctl_close(&b); /* not the owner: must not unlink */
	assert_int_equal(access(a.path, F_OK), 0);
	assert_int_equal(fl_ctl_state(a.ctl), FL_STATE_ABORTED);
	/* DONE does not mask an abort */
	fl_ctl_set_state(a.ctl, FL_STATE_DONE);
	assert_int_equal(fl_ctl_state(a.ctl), FL_STATE_ABORTED);
	fl_ctl_close(&a);
}

/* ---- journal ---------------------------------------------------------- */

#define NPROD 4
#define PER_PROD 50000

struct seen {
	uint8_t *hit; /* [NPROD * PER_PROD] */
	unsigned long n, dup, bad;
};

static void on_rec(const struct fl_jrec *r, void *arg)
{
	struct seen *s = arg;
	uint64_t k = (uint64_t)r->pid * PER_PROD + r->nth;

	if (r->pid < 0 || r->pid >= NPROD * 2 || r->nth >= PER_PROD ||
	    r->value_ns != (int64_t)(r->nth * 3 + 1)) {
		s->bad++;
		return;
	}
	if (s->hit[k]++)
		s->dup++;
	s->n++;
}

static void produce(struct fl_ctl *ctl, int id)
{
	for (uint64_t i = 0; i < PER_PROD; i++) {
		struct fl_jrec r = { .pid = id, .nth = i, .value_ns = (int64_t)(i * 3 + 1),
				     .kind = FL_J_FAULT };

		fl_ctl_journal_put(ctl, &r); /* never blocks: full -> dropped */
	}
}

struct prod_arg {
	struct fl_ctl *ctl;
	int id;
};

static void *prod_thread(void *a)
{
	struct prod_arg *p = a;

	produce(p->ctl, p->id);
	return NULL;
}

static void consume_until(struct fl_ctl *ctl, struct seen *s, int (*done)(void *),
			  void *arg)
{
	struct fl_jdrain d = { 0 };

	while (!done(arg))
		fl_ctl_drain(ctl, &d, fl_now_mono(), 4096, on_rec, s);
	fl_ctl_drain(ctl, &d, fl_now_mono(), UINT_MAX, on_rec, s);
}

static void check_exactly_once(struct fl_ctl *ctl, struct seen *s, unsigned long total)
{
	uint64_t dropped = atomic_load(&ctl->journal.dropped);

	assert_int_equal(s->bad, 0);
	assert_int_equal(s->dup, 0);
	assert_int_equal(s->n + dropped, total);
	assert_int_equal(atomic_load(&ctl->journal.head),
			 atomic_load(&ctl->journal.tail));
	assert_int_equal(atomic_load(&ctl->journal.head), s->n);
}

static _Atomic int threads_left;

static int threads_done(void *arg)
{
	return atomic_load(&threads_left) == 0;
}

static void *prod_thread_counted(void *a)
{
	prod_thread(a);
	atomic_fetch_sub(&threads_left, 1);
	return NULL;
}

static void test_journal_threads(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh h;
	struct seen s = { .hit = calloc(NPROD * 2 * PER_PROD, 1) };
	pthread_t t[NPROD];
	struct prod_arg pa[NPROD];

	assert_int_equal(fl_ctl_create_private(&o, 1, &h), 0);
	assert_int_equal(fl_ctl_activate(&h), 0);
	atomic_store(&threads_left, NPROD);
	for (int i = 0; i < NPROD; i++) {
		pa[i] = (struct prod_arg){ h.ctl, i };
		assert_int_equal(pthread_create(&t[i], NULL, prod_thread_counted, &pa[i]), 0);
	}
	consume_until(h.ctl, &s, threads_done, NULL);
	for (int i = 0; i < NPROD; i++)
		pthread_join(t[i], NULL);
	fl_ctl_drain(h.ctl, &(struct fl_jdrain){ 0 }, fl_now_mono(), UINT_MAX, on_rec, &s);
	check_exactly_once(h.ctl, &s, NPROD * PER_PROD);
	assert_true(s.n > 0);
	free(s.hit);
	fl_ctl_close(&h);
}

static pid_t kids[NPROD];

static int kids_done(void *arg)
{
	int *left = arg;

	for (int i = 0; i < NPROD; i++)
		if (kids[i] > 0 && waitpid(kids[i], NULL, WNOHANG) == kids[i]) {
			kids[i] = 0;
			(*left)--;
		}
	return *left == 0;
}

static void test_journal_processes(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh h;
	struct seen s = { .hit = calloc(NPROD * 2 * PER_PROD, 1) };
	int left = NPROD;

	assert_int_equal(fl_ctl_create_private(&o, 1, &h), 0);
	assert_int_equal(fl_ctl_activate(&h), 0);
	for (int i = 0; i < NPROD; i++) {
		kids[i] = fork();
		assert_true(kids[i] >= 0);
		if (kids[i] == 0) {
			produce(h.ctl, NPROD + i);
			_exit(0);
		}
	}
	consume_until(h.ctl, &s, kids_done, &left);
	check_exactly_once(h.ctl, &s, NPROD * PER_PROD);
	free(s.hit);
	fl_ctl_close(&h);
}

static void test_journal_full_drops(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh h;
	struct seen s = { .hit = calloc(NPROD * PER_PROD, 1) };
	struct fl_jrec r = { .value_ns = 1 };
	int rc = 0;

	assert_int_equal(fl_ctl_create_private(&o, 1, &h), 0);
	assert_int_equal(fl_ctl_activate(&h), 0);
	for (uint64_t i = 0; i < FL_JOURNAL_SLOTS; i++) {
		r.nth = i;
		r.value_ns = (int64_t)(i * 3 + 1);
		assert_int_equal(fl_ctl_journal_put(h.ctl, &r), 0);
	}
	rc = fl_ctl_journal_put(h.ctl, &r); /* full: dropped, not blocked */
	assert_int_equal(rc, -ENOBUFS);
	assert_int_equal(atomic_load(&h.ctl->journal.dropped), 1);
	assert_int_equal(fl_ctl_drain(h.ctl, &(struct fl_jdrain){ 0 }, 0, 100, on_rec, &s),
			 100);
	assert_int_equal(fl_ctl_drain(h.ctl, &(struct fl_jdrain){ 0 }, 0, UINT_MAX,
				      on_rec, &s), FL_JOURNAL_SLOTS - 100);
	assert_int_equal(s.n, FL_JOURNAL_SLOTS);
	assert_int_equal(s.dup + s.bad, 0);
	/* and the ring takes records again */
	r.nth = 5;
	r.value_ns = 16;
	assert_int_equal(fl_ctl_journal_put(h.ctl, &r), 0);
	free(s.hit);
	fl_ctl_close(&h);
}

static void test_journal_stuck_slot(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh h;
	struct fl_jdrain d = { 0 };
	struct seen s = { .hit = calloc(NPROD * PER_PROD, 1) };
	struct fl_jrec r = { .nth = 9, .value_ns = 28 };
	struct fl_journal *j;
	int64_t t0 = 1000000000ll;

	assert_int_equal(fl_ctl_create_private(&o, 1, &h), 0);
	assert_int_equal(fl_ctl_activate(&h), 0);
	j = &h.ctl->journal;
	/* a producer claims slot 0 and dies before filling it */
	atomic_store(&j->head, 1);
	assert_int_equal(fl_ctl_journal_put(h.ctl, &r), 0); /* slot 1 */
	assert_int_equal(fl_ctl_drain(h.ctl, &d, t0, 10, on_rec, &s), 0);
	assert_int_equal(fl_ctl_drain(h.ctl, &d, t0 + FL_JOURNAL_STUCK_NS / 2, 10,
				      on_rec, &s), 0);
	/* after ~1 s: skipped, counted, and the record behind it is read */
	assert_int_equal(fl_ctl_drain(h.ctl, &d, t0 + FL_JOURNAL_STUCK_NS + 1, 10,
				      on_rec, &s), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(atomic_load(&j->dropped), 1);
	assert_int_equal(d.skipped, 1);
	assert_int_equal(atomic_load(&j->tail), 2);
	/* the dead producer was only slow: it finishes one lap late. The slot
	 * must not jam the ring for the next lap. */
	atomic_store(&j->slot[0].seq, 1);
	for (uint64_t i = 0; i < FL_JOURNAL_SLOTS - 2; i++)
		assert_int_equal(fl_ctl_journal_put(h.ctl, &r), 0);
	assert_int_equal(fl_ctl_drain(h.ctl, &d, t0 + 3 * FL_JOURNAL_STUCK_NS, UINT_MAX,
				      on_rec, &s), FL_JOURNAL_SLOTS - 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fl_ctl_journal_put(h.ctl, &r), 0);
	assert_int_equal(fl_ctl_drain(h.ctl, &d, t0 + 3 * FL_JOURNAL_STUCK_NS, UINT_MAX,
				      on_rec, &s), 4);
	assert_int_equal(atomic_load(&j->dropped), 1);
	free(s.hit);
	fl_ctl_close(&h);
}

/* ---- state and futex wake -------------------------------------------------- */

/* Wait (bounded) until task `tid` of process `pid` sleeps in futex(2), so the
 * wake we test is a real wake, not a value change seen before sleeping. */
static void wait_in_futex(pid_t pid, pid_t tid)
{
	char path[64], buf[64];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", pid, tid);
	for (int i = 0; i < 5000; i++) {
		FILE *f = fopen(path, "r");
		long nr = -1;

		if (f && fgets(buf, sizeof(buf), f))
			nr = strtol(buf, NULL, 10);
		if (f)
			fclose(f);
		if (nr == SYS_futex)
			return;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	fail_msg("task %d never blocked in futex", tid);
}

static _Atomic pid_t waiter_tid;

static void *futex_waiter(void *a)
{
	_Atomic uint32_t *word = a;
	struct timespec to = { 5, 0 };

	atomic_store(&waiter_tid, (pid_t)syscall(SYS_gettid));
	syscall(SYS_futex, word, FUTEX_WAIT, FL_STATE_ACTIVE, &to, NULL, 0);
	return (void *)(intptr_t)atomic_load(word);
}

static void test_abort_wakes_thread(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh h;
	pthread_t t;
	void *ret;
	int64_t t0;

	assert_int_equal(fl_ctl_create_private(&o, 1, &h), 0);
	assert_int_equal(fl_ctl_activate(&h), 0);
	atomic_store(&waiter_tid, 0);
	assert_int_equal(pthread_create(&t, NULL, futex_waiter, &h.ctl->hdr.state), 0);
	while (!atomic_load(&waiter_tid))
		sched_yield();
	wait_in_futex(getpid(), atomic_load(&waiter_tid));
	t0 = fl_now_mono();
	fl_ctl_set_state(h.ctl, FL_STATE_ABORTED);
	pthread_join(t, &ret);
	assert_int_equal((intptr_t)ret, FL_STATE_ABORTED);
	assert_true(fl_now_mono() - t0 < 100000000ll); /* woken, not timed out */
	fl_ctl_close(&h);
}

static void test_abort_wakes_process_and_gate(void **state)
{
	struct fl_ctl_owner o = me();
	struct fl_ctlh h, other;
	struct timespec to = { 5, 0 };
	int st[2];
	pid_t kid[2];

	assert_int_equal(fl_ctl_create_private(&o, 1, &h), 0);
	assert_int_equal(fl_ctl_activate(&h), 0);
	atomic_store(&h.ctl->waiters[3][FL_OP_RECV], 1);
	for (int k = 0; k < 2; k++) {
		kid[k] = fork();
		if (kid[k] == 0) {
			/* a separate mapping, as a shim would have */
			if (fl_ctl_open(h.path, &other) < 0)
				_exit(2);
			void *w = k == 0 ? (void *)&other.ctl->hdr.state
					 : (void *)&other.ctl->counters[3][FL_OP_RECV];
			long r = syscall(SYS_futex, w, FUTEX_WAIT, k == 0 ? FL_STATE_ACTIVE : 0,
					 &to, NULL, 0);
			_exit(r == 0 ? 0 : 1);
		}
	}
	wait_in_futex(kid[0], kid[0]);
	wait_in_futex(kid[1], kid[1]);
	fl_ctl_set_state(h.ctl, FL_STATE_ABORTED);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(waitpid(kid[k], &st[k], 0), kid[k]);
		assert_true(WIFEXITED(st[k]));
		assert_int_equal(WEXITSTATUS(st[k]), 0); /* woken (0), not ETIMEDOUT */
	}
	fl_ctl_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_private_block),
		cmocka_unit_test(test_owner_chown),
		cmocka_unit_test(test_named_block_live_refused),
		cmocka_unit_test(test_named_not_a_block_kept),
		cmocka_unit_test(test_named_stale_replaced),
		cmocka_unit_test(test_open_existing),
		cmocka_unit_test(test_journal_threads),
		cmocka_unit_test(test_journal_processes),
		cmocka_unit_test(test_journal_full_drops),
		cmocka_unit_test(test_journal_stuck_slot),
		cmocka_unit_test(test_abort_wakes_thread),
		cmocka_unit_test(test_abort_wakes_process_and_gate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
