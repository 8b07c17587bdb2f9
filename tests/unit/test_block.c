/*
 * test_block.c — the controller's side of the control block: creation (a
 * socket, mode, owner, magic, seals: the plan cannot be written or resized
 * through its fd, the shared area cannot be resized), refusing live sockets
 * and replacing dead ones, the attach/abort protocol, the
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "faultline/journal.h"
#include "loop.h"

static struct fl_block_owner me(void)
{
	return (struct fl_block_owner){ geteuid(), getegid(), false };
}

static struct fl_jdrain jd; /* one consumer state per ring, as the session has */

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

/* ---- creation, seals, the socket ------------------------------------------- */

static void test_private_block(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block h;
	struct stat st;
	char path[PATH_MAX];

	assert_int_equal(fl_block_create(NULL, &o, 42, &h), 0);
	assert_int_equal(lstat(h.path, &st), -1); /* nothing before activation */
	assert_int_equal(fl_block_activate(&h), 0);
	assert_int_equal(lstat(h.path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_int_equal(h.ctl->hdr.magic, FL_CTL_MAGIC);
	assert_int_equal(h.ctl->hdr.abi, FL_ABI_VERSION);
	assert_int_equal(h.ctl->hdr.size, sizeof(struct fl_ctl));
	assert_int_equal(h.ctl->hdr.owner_uid, geteuid());
	assert_int_equal(h.ctl->hdr.seed, 42);
	assert_int_equal(h.ctl->hdr.controller_pid, getpid());
	assert_int_equal(fl_block_state(h.ctl), FL_STATE_ACTIVE);
	assert_int_equal(fcntl(h.plan_fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW |
			 F_SEAL_FUTURE_WRITE), F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE);
	assert_int_equal(fcntl(h.shared_fd, F_GET_SEALS) & (F_SEAL_SHRINK | F_SEAL_GROW),
			 F_SEAL_SHRINK | F_SEAL_GROW);
	/* our own mapping stays writable after sealing */
	fl_block_beat(h.ctl, 12345);
	assert_int_equal(atomic_load(&h.ctl->hdr.heartbeat_ns), 12345);
	snprintf(path, sizeof(path), "%s", h.path);
	fl_block_close(&h);
	assert_int_equal(lstat(path, &st), -1); /* nothing left behind */
	assert_int_equal(errno, ENOENT);
}

/* What a program holding the fds can do to them: read the plan, never write
 * it or change its size; write the shared area, never change its size. */
static void test_seals_refuse_writes(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block h;
	char buf[8] = "forged!";
	void *p;

	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	int plan = open(tmpdir, O_RDONLY); /* a fresh descriptor, as a client has */
	close(plan);
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", h.plan_fd);
	plan = open(proc, O_RDWR);
	assert_true(plan >= 0);
	assert_true(mmap(NULL, FL_PLAN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, plan, 0) ==
		    MAP_FAILED);
	assert_int_equal(errno, EPERM);
	p = mmap(NULL, FL_PLAN_SIZE, PROT_READ, MAP_SHARED, plan, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(mprotect(p, FL_PLAN_SIZE, PROT_READ | PROT_WRITE), -1);
	assert_int_equal(((struct fl_ctl *)p)->hdr.magic, FL_CTL_MAGIC);
	munmap(p, FL_PLAN_SIZE);
	assert_int_equal(pwrite(plan, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(plan, 0), -1);
	assert_int_equal(ftruncate(plan, 2 * FL_PLAN_SIZE), -1);
	assert_int_equal(fallocate(plan, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), -1);
	assert_int_equal(fcntl(plan, F_ADD_SEALS, F_SEAL_WRITE), -1); /* sealed seals */
	close(plan);
	/* the shared area: truncation after attach is impossible */
	assert_int_equal(ftruncate(h.shared_fd, 0), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(h.shared_fd, 2 * FL_SHARED_SIZE), -1);
	p = mmap(NULL, FL_SHARED_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, h.shared_fd, 0);
	assert_true(p != MAP_FAILED);
	munmap(p, FL_SHARED_SIZE);
	fl_block_close(&h);
}

static void test_owner_chown(void **state)
{
	struct fl_block_owner o = { 65534, 65534, true };
	struct fl_block h;
	struct stat st;

	if (geteuid() != 0) {
		print_message("skip: needs root (a socket owned by another user)\n");
		skip();
	}
	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	assert_int_equal(lstat(h.path, &st), 0);
	assert_int_equal(st.st_uid, 65534);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(strncmp(h.path, "/tmp/", 5), 0); /* not root's runtime dir */
	assert_int_equal(h.ctl->hdr.owner_uid, 65534);
	fl_block_close(&h);
}

static void stop_loop(struct fl_loop *l, long long id, void *arg)
{
	fl_loop_stop(l);
}

static void *run_loop(void *l)
{
	fl_loop_run(l);
	return NULL;
}

static void test_named_live_refused(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block a, b;
	char path[PATH_MAX];
	struct stat st;

	struct fl_loop *l;
	pthread_t t;

	snprintf(path, sizeof(path), "%s/live.ctl", tmpdir);
	assert_int_equal(fl_block_create(path, &o, 1, &a), 0);
	assert_int_equal(fl_block_activate(&a), 0);
	/* live = a controller answers: a's loop serves in a thread */
	assert_int_equal(fl_loop_new(&l), 0);
	assert_int_equal(fl_block_serve(&a, l), 0);
	assert_true(fl_loop_timer_add(l, 3000000000ll, 0, stop_loop, NULL) > 0);
	assert_int_equal(pthread_create(&t, NULL, run_loop, l), 0);
	assert_int_equal(fl_block_create(path, &o, 1, &b), 0);
	assert_int_equal(fl_block_activate(&b), -EEXIST);
	fl_block_close(&b);
	pthread_join(t, NULL);
	assert_int_equal(lstat(path, &st), 0); /* a's socket stays */
	fl_block_close(&a);
	fl_loop__free(l);
	assert_int_equal(lstat(path, &st), -1);
}

static void test_named_not_a_block_kept(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block h;
	char path[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/data", tmpdir);
	fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);
	assert_int_equal(fl_block_create(path, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), -EEXIST);
	fl_block_close(&h);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 8);
	unlink(path);
}

/* A controller killed with -9 leaves a socket nobody listens on: the next
 * drill at that path replaces it. */
static void test_named_stale_replaced(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block b;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char path[PATH_MAX];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/stale.ctl", tmpdir);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	close(fd); /* dies without unlinking */
	assert_int_equal(fl_block_create(path, &o, 7, &b), 0);
	assert_int_equal(fl_block_activate(&b), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	fl_block_close(&b);
}

/* The protocol end to end: a child attaches (plan read-only, shared area
 * writable) and aborts, while the parent's loop serves. */
static void on_kid(struct fl_loop *l, int fd, int revents, void *arg)
{
	fl_loop_stop(l);
}

static void test_serve_attach_abort(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block h;
	struct fl_loop *l;
	int st, pidfd;
	pid_t kid;

	assert_int_equal(fl_block_create(NULL, &o, 9, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	assert_int_equal(fl_loop_new(&l), 0);
	assert_int_equal(fl_block_serve(&h, l), 0);
	kid = fork();
	if (kid == 0) {
		struct fl_ctl *c;
		if (fl_block_attach(h.path, 2000, &c) < 0)
			_exit(2);
		if (c->hdr.seed != 9 || c->hdr.magic != FL_CTL_MAGIC)
			_exit(3);
		if (mprotect(c, FL_PLAN_SIZE, PROT_READ | PROT_WRITE) == 0)
			_exit(4); /* the plan must not become writable */
		atomic_fetch_add(&c->counters[1][1], 5); /* the shared area is */
		if (fl_block_abort(h.path, 2000) < 0)
			_exit(5);
		_exit(fl_block_state(c) == FL_STATE_ABORTED ? 0 : 6);
	}
	pidfd = (int)syscall(SYS_pidfd_open, kid, 0);
	assert_true(pidfd >= 0);
	assert_true(fl_loop_fd_add(l, pidfd, on_kid, NULL) > 0);
	assert_int_equal(fl_loop_run(l), 0);
	assert_int_equal(waitpid(kid, &st, 0), kid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(atomic_load(&h.ctl->counters[1][1]), 5);
	assert_int_equal(fl_block_state(h.ctl), FL_STATE_ABORTED);
	assert_int_equal(h.served, 1);
	close(pidfd);
	fl_block_close(&h);
	fl_loop__free(l);
}

/* A client may only be served by root or its own uid (SO_PEERCRED): a
 * socket served by another user is refused before anything is read. */
static void test_abort_without_controller(void **state)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/none.ctl", tmpdir);
	assert_int_equal(fl_block_abort(path, 100), -ENOENT);
	assert_int_equal(fl_block_abort(tmpdir, 100), -EPROTO); /* not a socket */
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

		fl_block_journal_put(ctl, &r); /* never blocks: full -> dropped */
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
	struct fl_jdrain *dp = &jd;

	while (!done(arg))
		fl_block_drain(ctl, dp, fl_now_mono(), 4096, on_rec, s);
	fl_block_drain(ctl, dp, fl_now_mono(), UINT_MAX, on_rec, s);
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
	struct fl_block_owner o = me();
	struct fl_block h;
	struct seen s = { .hit = calloc(NPROD * 2 * PER_PROD, 1) };
	pthread_t t[NPROD];
	struct prod_arg pa[NPROD];

	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	jd = (struct fl_jdrain){ 0 };
	atomic_store(&threads_left, NPROD);
	for (int i = 0; i < NPROD; i++) {
		pa[i] = (struct prod_arg){ h.ctl, i };
		assert_int_equal(pthread_create(&t[i], NULL, prod_thread_counted, &pa[i]), 0);
	}
	consume_until(h.ctl, &s, threads_done, NULL);
	for (int i = 0; i < NPROD; i++)
		pthread_join(t[i], NULL);
	fl_block_drain(h.ctl, &jd, fl_now_mono(), UINT_MAX, on_rec, &s);
	check_exactly_once(h.ctl, &s, NPROD * PER_PROD);
	assert_true(s.n > 0);
	free(s.hit);
	fl_block_close(&h);
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
	struct fl_block_owner o = me();
	struct fl_block h;
	struct seen s = { .hit = calloc(NPROD * 2 * PER_PROD, 1) };
	int left = NPROD;

	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	jd = (struct fl_jdrain){ 0 };
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
	fl_block_close(&h);
}

static void test_journal_full_drops(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block h;
	struct seen s = { .hit = calloc(NPROD * PER_PROD, 1) };
	struct fl_jrec r = { .value_ns = 1, .kind = FL_J_FAULT };
	int rc = 0;

	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	jd = (struct fl_jdrain){ 0 };
	for (uint64_t i = 0; i < FL_JOURNAL_SLOTS; i++) {
		r.nth = i;
		r.value_ns = (int64_t)(i * 3 + 1);
		assert_int_equal(fl_block_journal_put(h.ctl, &r), 0);
	}
	rc = fl_block_journal_put(h.ctl, &r); /* full: dropped, not blocked */
	assert_int_equal(rc, -ENOBUFS);
	assert_int_equal(atomic_load(&h.ctl->journal.dropped), 1);
	assert_int_equal(fl_block_drain(h.ctl, &jd, 0, 100, on_rec, &s),
			 100);
	assert_int_equal(fl_block_drain(h.ctl, &jd, 0, UINT_MAX,
				      on_rec, &s), FL_JOURNAL_SLOTS - 100);
	assert_int_equal(s.n, FL_JOURNAL_SLOTS);
	assert_int_equal(s.dup + s.bad, 0);
	/* and the ring takes records again */
	r.nth = 5;
	r.value_ns = 16;
	assert_int_equal(fl_block_journal_put(h.ctl, &r), 0);
	free(s.hit);
	fl_block_close(&h);
}

static void test_journal_stuck_slot(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block h;
	struct fl_jdrain d = { 0 };
	struct seen s = { .hit = calloc(NPROD * PER_PROD, 1) };
	struct fl_jrec r = { .nth = 9, .value_ns = 28, .kind = FL_J_FAULT };
	struct fl_journal *j;
	int64_t t0 = 1000000000ll;

	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	jd = (struct fl_jdrain){ 0 };
	j = &h.ctl->journal;
	/* a producer claims slot 0 and dies before filling it */
	atomic_store(&j->head, 1);
	assert_int_equal(fl_block_journal_put(h.ctl, &r), 0); /* slot 1 */
	assert_int_equal(fl_block_drain(h.ctl, &d, t0, 10, on_rec, &s), 0);
	assert_int_equal(fl_block_drain(h.ctl, &d, t0 + FL_JOURNAL_STUCK_NS / 2, 10,
				      on_rec, &s), 0);
	/* after ~1 s: skipped, counted, and the record behind it is read */
	assert_int_equal(fl_block_drain(h.ctl, &d, t0 + FL_JOURNAL_STUCK_NS + 1, 10,
				      on_rec, &s), 1);
	assert_int_equal(s.n, 1);
	assert_int_equal(atomic_load(&j->dropped), 1);
	assert_int_equal(d.skipped, 1);
	assert_int_equal(atomic_load(&j->tail), 2);
	/* the dead producer was only slow: it finishes one lap late. The slot
	 * must not jam the ring for the next lap. */
	atomic_store(&j->slot[0].seq, 1);
	for (uint64_t i = 0; i < FL_JOURNAL_SLOTS - 2; i++)
		assert_int_equal(fl_block_journal_put(h.ctl, &r), 0);
	assert_int_equal(fl_block_drain(h.ctl, &d, t0 + 3 * FL_JOURNAL_STUCK_NS, UINT_MAX,
				      on_rec, &s), FL_JOURNAL_SLOTS - 2);
	for (int i = 0; i < 4; i++)
		assert_int_equal(fl_block_journal_put(h.ctl, &r), 0);
	assert_int_equal(fl_block_drain(h.ctl, &d, t0 + 3 * FL_JOURNAL_STUCK_NS, UINT_MAX,
				      on_rec, &s), 4);
	assert_int_equal(atomic_load(&j->dropped), 1);
	free(s.hit);
	fl_block_close(&h);
}

static struct fl_ctl *map_like_shim(const struct fl_block *h)
{
	char *base = mmap(NULL, sizeof(struct fl_ctl), PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (base == MAP_FAILED ||
	    mmap(base, FL_PLAN_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, h->plan_fd, 0) == MAP_FAILED ||
	    mmap(base + FL_PLAN_SIZE, FL_SHARED_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, h->shared_fd, 0) == MAP_FAILED)
		return NULL;
	return (struct fl_ctl *)(void *)base;
}

/* What a hostile program can write into the ring: a slot sequence one ahead
 * of head (the old infinite spin), a head far ahead, garbage sequences and
 * records with fields out of range. Producers give up in bounded time, the
 * consumer never hangs and passes on no malformed record. */
static void test_journal_forged(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block h;
	struct seen s = { .hit = calloc(NPROD * PER_PROD, 1) };
	struct fl_jrec r = { .nth = 1, .value_ns = 4, .kind = FL_J_FAULT };
	struct fl_journal *j;
	int64_t t0 = 1000000000ll;

	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	jd = (struct fl_jdrain){ 0 };
	j = &h.ctl->journal;
	/* slot 0 one ahead of head: every push used to spin forever */
	atomic_store(&j->slot[0].seq, 1 + FL_JOURNAL_SLOTS);
	assert_int_equal(fl_journal_push(j, &r), FL_JPUSH_GAVE_UP);
	assert_int_equal(atomic_load(&j->dropped), 1);
	/* the consumer skips the forged slot once it has stayed so ~1 s */
	assert_int_equal(fl_block_drain(h.ctl, &jd, t0, 10, on_rec, &s), 0);
	assert_int_equal(fl_block_drain(h.ctl, &jd, t0 + FL_JOURNAL_STUCK_NS + 1, 10,
					on_rec, &s), 0);
	assert_int_equal(jd.resync, 1);
	/* producers work again from where the ring is */
	atomic_store(&j->head, 1);
	assert_int_equal(fl_journal_push(j, &r), FL_JPUSH_OK);
	/* a malformed record (op out of range) is counted, not passed on */
	struct fl_jrec bad = r;
	bad.op = 200;
	assert_int_equal(fl_journal_push(j, &bad), FL_JPUSH_OK);
	bad = r;
	bad.kind = 77;
	assert_int_equal(fl_journal_push(j, &bad), FL_JPUSH_OK);
	assert_int_equal(fl_block_drain(h.ctl, &jd, t0 + 2 * FL_JOURNAL_STUCK_NS, 100,
					on_rec, &s), 1);
	assert_int_equal(jd.malformed, 2);
	/* a forged tail is not ours: draining goes on from our own */
	atomic_store(&j->tail, 123456789);
	assert_int_equal(fl_journal_push(j, &r), FL_JPUSH_OK);
	assert_int_equal(fl_block_drain(h.ctl, &jd, t0 + 2 * FL_JOURNAL_STUCK_NS, 100,
					on_rec, &s), 1);
	/* head forged far ahead: a producer finds a slot whose sequence is
	 * behind and counts the ring as full, without spinning */
	atomic_store(&j->head, (uint64_t)1 << 60);
	assert_int_equal(fl_journal_push(j, &r), FL_JPUSH_FULL);
	/* every slot garbage: one drain looks at a bounded number of slots */
	for (unsigned i = 0; i < FL_JOURNAL_SLOTS; i++)
		atomic_store(&j->slot[i].seq, 0xdeadbeefull * (i + 7));
	for (int k = 0; k < 3; k++)
		fl_block_drain(h.ctl, &jd, t0 + (4 + k) * FL_JOURNAL_STUCK_NS, UINT_MAX,
			       on_rec, &s);
	assert_int_equal(s.bad, 0);
	free(s.hit);
	fl_block_close(&h);
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
	struct fl_block_owner o = me();
	struct fl_block h;
	pthread_t t;
	void *ret;
	int64_t t0;

	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	jd = (struct fl_jdrain){ 0 };
	atomic_store(&waiter_tid, 0);
	assert_int_equal(pthread_create(&t, NULL, futex_waiter, &h.ctl->hdr.state), 0);
	while (!atomic_load(&waiter_tid))
		sched_yield();
	wait_in_futex(getpid(), atomic_load(&waiter_tid));
	t0 = fl_now_mono();
	fl_block_set_state(h.ctl, FL_STATE_ABORTED);
	pthread_join(t, &ret);
	assert_int_equal((intptr_t)ret, FL_STATE_ABORTED);
	assert_true(fl_now_mono() - t0 < 100000000ll); /* woken, not timed out */
	fl_block_close(&h);
}

static void test_abort_wakes_process_and_gate(void **state)
{
	struct fl_block_owner o = me();
	struct fl_block h;
	struct timespec to = { 5, 0 };
	int st[2];
	pid_t kid[2];

	assert_int_equal(fl_block_create(NULL, &o, 1, &h), 0);
	assert_int_equal(fl_block_activate(&h), 0);
	jd = (struct fl_jdrain){ 0 };
	atomic_store(&h.ctl->waiters[3][FL_OP_RECV], 1);
	for (int k = 0; k < 2; k++) {
		kid[k] = fork();
		if (kid[k] == 0) {
			/* a separate mapping, as a shim has: plan read-only */
			struct fl_ctl *other = map_like_shim(&h);
			if (!other)
				_exit(2);
			void *w = k == 0 ? (void *)&other->hdr.state
					 : (void *)&other->counters[3][FL_OP_RECV];
			long r = syscall(SYS_futex, w, FUTEX_WAIT, k == 0 ? FL_STATE_ACTIVE : 0,
					 &to, NULL, 0);
			_exit(r == 0 ? 0 : 1);
		}
	}
	wait_in_futex(kid[0], kid[0]);
	wait_in_futex(kid[1], kid[1]);
	fl_block_set_state(h.ctl, FL_STATE_ABORTED);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(waitpid(kid[k], &st[k], 0), kid[k]);
		assert_true(WIFEXITED(st[k]));
		assert_int_equal(WEXITSTATUS(st[k]), 0); /* woken (0), not ETIMEDOUT */
	}
	fl_block_close(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_private_block),
		cmocka_unit_test(test_seals_refuse_writes),
		cmocka_unit_test(test_owner_chown),
		cmocka_unit_test(test_named_live_refused),
		cmocka_unit_test(test_named_not_a_block_kept),
		cmocka_unit_test(test_named_stale_replaced),
		cmocka_unit_test(test_serve_attach_abort),
		cmocka_unit_test(test_abort_without_controller),
		cmocka_unit_test(test_journal_threads),
		cmocka_unit_test(test_journal_processes),
		cmocka_unit_test(test_journal_full_drops),
		cmocka_unit_test(test_journal_stuck_slot),
		cmocka_unit_test(test_journal_forged),
		cmocka_unit_test(test_abort_wakes_thread),
		cmocka_unit_test(test_abort_wakes_process_and_gate),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
