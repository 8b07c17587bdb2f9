/*
 * forge.c — a hostile or buggy controller, for tests: it serves the control
 * socket protocol of include/faultline/ctl.h itself (none of the
 * controller's code, which would refuse to build these) and hands the shim
 * a forged plan, shared area, hello, fds or socket.
 *
 *   forge [-p PORT] [-U UID] [-r FIFO] [-f] PATH CASE
 *   forge -l                      list the cases
 *   forge -O                      the shared area's layout, for scripts that
 *                                 write it: "journal=N tail=N slot=N
 *                                 slot_size=N kind=N slots=N" (offsets in
 *                                 the shared memfd, in the journal, in a slot)
 *
 *   -p PORT  the plan's target is tcp 127.0.0.1:PORT (default 9)
 *   -U UID   the plan's owner_uid (default: our euid)
 *   -r FIFO  write "READY\n" there once the socket listens
 *   -d MS    after READY, leave the listener alone for MS milliseconds (a
 *            controller between bind/listen and serving)
 *   -f       also serve PATH.flip: a client that sends one byte gets the
 *            case's change to the plan made (under the seqlock, as the
 *            controller republishes rules) and then one byte back
 *
 * The plan is valid but for what CASE breaks. Its rule is the "bait":
 * connect to the target fails with ECONNREFUSED ("bait" cases) or is
 * delayed 1 ms ("delay" cases, harmless, to make the shim journal). A
 * program that runs normally against a bait case proves the shim failed
 * open. Output, one line per event, on stdout:
 *   conn | req C | attach pid=P | refused pid=P why=W rule=R |
 *   fault rule=R op=O | flip | record kind=K
 * and at SIGTERM/SIGINT: "done conns=N attach=N refused=N faults=N".
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "faultline/ctl.h"

#define PLAN_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)
#define SHARED_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)

enum {
	BAIT = 0, /* connect: error ECONNREFUSED */
	DELAY,    /* connect: delay 1 ms */
	SHORT1,   /* send: short 1 byte */
};

/* transport and live behaviour */
#define T_NOSEAL 0x1u        /* neither memfd sealed */
#define T_PLAN_WRITABLE 0x2u /* plan sealed against resizing only */
#define T_SHARED_NOSEAL 0x4u
#define T_PLAN_SMALL 0x8u    /* a 4096-byte plan memfd */
#define T_SHARED_SMALL 0x10u
#define T_HELLO_SIZES 0x20u
#define T_FDS0 0x40u
#define T_FDS1 0x80u
#define T_FDS3 0x100u
#define T_HELLO_MAGIC 0x200u
#define T_HELLO_SHORT 0x400u
#define T_HELLO_STATUS 0x800u
#define T_FD_PIPE 0x1000u    /* a pipe instead of the plan memfd */
#define T_SWAP 0x2000u       /* shared first, plan second */
#define T_SILENT 0x4000u     /* accept, never answer */
#define T_SLAM 0x8000u       /* accept, close at once */
#define T_MODE_LOOSE 0x10000u
#define T_MODE_GROUPW 0x20000u
#define T_OWNER_OTHER 0x40000u /* socket chowned to nobody */
#define T_HB_FUTURE 0x80000u
#define T_HB_STOP 0x100000u
#define T_J_CHURN 0x200000u  /* head and sequences rewritten every beat */
#define T_NODRAIN 0x400000u  /* the journal is garbage: do not read it */

struct fcase {
	const char *name;
	int bait;
	unsigned flags;
	void (*plan)(struct fl_ctl *c);
	void (*flip)(struct fl_ctl *c); /* the change made at -f's request */
};

static struct fl_ctl *ctl;
static uint32_t owner_uid;
static uint16_t port = 9;
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static volatile sig_atomic_t stop;
static unsigned long n_conns, n_attach, n_refused, n_faults;

static uint64_t rnd(void)
{
	uint64_t z = (rnd_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int64_t mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- plan mutations ----------------------------------------------------- */

static struct fl_rule *R0(struct fl_ctl *c) { return &c->rules[0]; }
static void p_none(struct fl_ctl *c) { (void)c; }
static void p_magic(struct fl_ctl *c) { c->hdr.magic ^= 1; }
static void p_abi(struct fl_ctl *c) { c->hdr.abi = FL_ABI_VERSION + 1; }
static void p_size(struct fl_ctl *c) { c->hdr.size = 4096; }
static void p_owner(struct fl_ctl *c) { c->hdr.owner_uid = owner_uid + 1; }
static void p_ntargets0(struct fl_ctl *c) { c->hdr.ntargets = 0; }
static void p_ntargets65(struct fl_ctl *c) { c->hdr.ntargets = FL_MAX_TARGETS + 1; }
static void p_ntargets_huge(struct fl_ctl *c) { c->hdr.ntargets = UINT32_MAX; }
static void p_nrules129(struct fl_ctl *c) { c->hdr.nrules = FL_MAX_RULES + 1; }
static void p_nrules_huge(struct fl_ctl *c) { c->hdr.nrules = 0x80000000u; }
static void p_stale_huge(struct fl_ctl *c) { c->hdr.stale_ns = 1000000000000000000ll; }
static void p_stale_zero(struct fl_ctl *c) { c->hdr.stale_ns = 0; }
static void p_stale_neg(struct fl_ctl *c) { c->hdr.stale_ns = -1; }
static void p_kind(struct fl_ctl *c) { c->targets[1].kind = 99; }
static void p_family(struct fl_ctl *c) { c->targets[1].family = 1; }
static void p_name(struct fl_ctl *c) { memset(c->targets[1].name, 'N', FL_NAME_MAX); }
static void p_pattern(struct fl_ctl *c) { memset(c->targets[1].pattern, 'P', FL_PATH_MAX); }
static void p_snapdir(struct fl_ctl *c) { memset(c->hdr.snapdir, '/', FL_PATH_MAX); }
static void p_snaprel(struct fl_ctl *c) { strcpy(c->hdr.snapdir, "tmp/snaps"); }
static void p_next(struct fl_ctl *c) { R0(c)->next = 200; }
static void p_next_max(struct fl_ctl *c) { R0(c)->next = UINT16_MAX; }
static void p_head(struct fl_ctl *c) { c->hdr.rule_head[1][FL_OP_SEND] = 129; }
static void p_rtarget(struct fl_ctl *c) { R0(c)->target = 2; }
static void p_op(struct fl_ctl *c) { R0(c)->op = 99; }
static void p_fault(struct fl_ctl *c) { R0(c)->fault = 99; }
static void p_fault_op(struct fl_ctl *c) { R0(c)->fault = FL_FAULT_STALE; }
static void p_nth(struct fl_ctl *c) { R0(c)->flags |= FL_RF_NTH; R0(c)->nth_lo = 9; R0(c)->nth_hi = 1; }
static void p_window(struct fl_ctl *c)
{
	R0(c)->flags |= FL_RF_WINDOW;
	R0(c)->win_from_ns = 0;
	R0(c)->win_to_ns = INT64_MAX;
}
static void p_until(struct fl_ctl *c)
{
	R0(c)->flags |= FL_RF_UNTIL;
	R0(c)->until_target = 200;
	R0(c)->until_op = FL_OP_ACCEPT;
	R0(c)->until_max_ns = 1000000;
}
static void p_err0(struct fl_ctl *c) { R0(c)->err = 0; }
static void p_errbig(struct fl_ctl *c) { R0(c)->err = 1000000; }
static void p_errneg(struct fl_ctl *c) { R0(c)->err = -5; }
static void p_errlist(struct fl_ctl *c) { R0(c)->err = EIO; } /* not connect's */
static void p_short0(struct fl_ctl *c) { R0(c)->bytes = 0; }
static void p_delay_neg(struct fl_ctl *c) { R0(c)->ns = -1000000; }
static void p_delay_huge(struct fl_ctl *c) { R0(c)->ns = INT64_MAX; }
static void p_jitter(struct fl_ctl *c) { R0(c)->jitter_ns = R0(c)->ns + 1; }
static void p_state(struct fl_ctl *c) { c->hdr.state = FL_STATE_INIT; }

/* The journal and the rest of the shared area, forged. */
static void j_head(struct fl_ctl *c) { c->journal.head = 1ull << 62; }
static void j_ahead(struct fl_ctl *c)
{
	for (unsigned i = 0; i < FL_JOURNAL_SLOTS; i++)
		c->journal.slot[i].seq = (1ull << 63) + i;
}
static void j_behind(struct fl_ctl *c)
{
	c->journal.head = 5;
	for (unsigned i = 0; i < FL_JOURNAL_SLOTS; i++)
		c->journal.slot[i].seq = 0;
}
static void j_random(struct fl_ctl *c)
{
	c->journal.head = rnd();
	c->journal.tail = rnd();
	c->journal.dropped = rnd();
	for (unsigned i = 0; i < FL_JOURNAL_SLOTS; i++)
		c->journal.slot[i].seq = rnd();
}
static void s_garbage(struct fl_ctl *c)
{
	/* counters, gate waiters, passed, hits: everything before the journal */
	uint8_t *p = (uint8_t *)&c->counters, *end = (uint8_t *)&c->journal;
	while (p + 8 <= end) {
		uint64_t x = rnd();
		memcpy(p, &x, 8);
		p += 8;
	}
}

/* -f changes: what the controller may legitimately republish, badly. */
static void f_err(struct fl_ctl *c, int err) { R0(c)->err = err; }
static void f_err0(struct fl_ctl *c) { f_err(c, 0); }
static void f_errbig(struct fl_ctl *c) { f_err(c, 1000000); }
static void f_errneg(struct fl_ctl *c) { f_err(c, -5); }
static void f_errlist(struct fl_ctl *c) { f_err(c, EIO); }
static void f_short0(struct fl_ctl *c) { R0(c)->bytes = 0; }

static const struct fcase cases[] = {
	/* controls */
	{ "valid_bait", BAIT, 0, p_none, NULL },
	{ "valid_delay", DELAY, 0, p_none, NULL },
	/* header */
	{ "magic", BAIT, 0, p_magic, NULL },
	{ "abi", BAIT, 0, p_abi, NULL },
	{ "size", BAIT, 0, p_size, NULL },
	{ "owner_uid", BAIT, 0, p_owner, NULL },
	{ "ntargets_0", BAIT, 0, p_ntargets0, NULL },
	{ "ntargets_65", BAIT, 0, p_ntargets65, NULL },
	{ "ntargets_huge", BAIT, 0, p_ntargets_huge, NULL },
	{ "nrules_129", BAIT, 0, p_nrules129, NULL },
	{ "nrules_huge", BAIT, 0, p_nrules_huge, NULL },
	{ "stale_huge", BAIT, T_HB_STOP, p_stale_huge, NULL },
	{ "stale_zero", BAIT, 0, p_stale_zero, NULL },
	{ "stale_neg", BAIT, 0, p_stale_neg, NULL },
	/* targets */
	{ "target_kind", BAIT, 0, p_kind, NULL },
	{ "target_family", BAIT, 0, p_family, NULL },
	{ "name_unterminated", BAIT, 0, p_name, NULL },
	{ "pattern_unterminated", BAIT, 0, p_pattern, NULL },
	{ "snapdir_unterminated", BAIT, 0, p_snapdir, NULL },
	{ "snapdir_relative", BAIT, 0, p_snaprel, NULL },
	/* rules */
	{ "rule_next", BAIT, 0, p_next, NULL },
	{ "rule_next_max", BAIT, 0, p_next_max, NULL },
	{ "rule_head", BAIT, 0, p_head, NULL },
	{ "rule_target", BAIT, 0, p_rtarget, NULL },
	{ "op_unknown", BAIT, 0, p_op, NULL },
	{ "fault_unknown", BAIT, 0, p_fault, NULL },
	{ "fault_wrong_op", BAIT, 0, p_fault_op, NULL },
	{ "nth_reversed", BAIT, 0, p_nth, NULL },
	{ "window_huge", BAIT, 0, p_window, NULL },
	{ "until_target", BAIT, 0, p_until, NULL },
	{ "errno_0", BAIT, 0, p_err0, NULL },
	{ "errno_1e6", BAIT, 0, p_errbig, NULL },
	{ "errno_neg", BAIT, 0, p_errneg, NULL },
	{ "errno_unlisted", BAIT, 0, p_errlist, NULL },
	{ "short_0", SHORT1, 0, p_short0, NULL },
	{ "delay_neg", DELAY, 0, p_delay_neg, NULL },
	{ "delay_huge", DELAY, 0, p_delay_huge, NULL },
	{ "jitter_over", DELAY, 0, p_jitter, NULL },
	/* liveness */
	{ "heartbeat_future", BAIT, T_HB_FUTURE, p_none, NULL },
	{ "heartbeat_stopped", BAIT, T_HB_STOP, p_none, NULL },
	{ "state_init", BAIT, 0, p_state, NULL },
	/* transport */
	{ "unsealed", BAIT, T_NOSEAL, p_none, NULL },
	{ "plan_writable", BAIT, T_PLAN_WRITABLE, p_none, NULL },
	{ "shared_unsealed", BAIT, T_SHARED_NOSEAL, p_none, NULL },
	{ "plan_small", BAIT, T_PLAN_SMALL, p_none, NULL },
	{ "shared_small", BAIT, T_SHARED_SMALL, p_none, NULL },
	{ "hello_sizes", BAIT, T_HELLO_SIZES, p_none, NULL },
	{ "hello_magic", BAIT, T_HELLO_MAGIC, p_none, NULL },
	{ "hello_short", BAIT, T_HELLO_SHORT, p_none, NULL },
	{ "hello_status", BAIT, T_HELLO_STATUS, p_none, NULL },
	{ "fds_0", BAIT, T_FDS0, p_none, NULL },
	{ "fds_1", BAIT, T_FDS1, p_none, NULL },
	{ "fds_3", BAIT, T_FDS3, p_none, NULL },
	{ "fd_pipe", BAIT, T_FD_PIPE, p_none, NULL },
	{ "fds_swapped", BAIT, T_SWAP, p_none, NULL },
	{ "silent", BAIT, T_SILENT, p_none, NULL },
	{ "slam", BAIT, T_SLAM, p_none, NULL },
	/* the socket itself */
	{ "sock_mode_0666", BAIT, T_MODE_LOOSE, p_none, NULL },
	{ "sock_mode_0620", BAIT, T_MODE_GROUPW, p_none, NULL },
	{ "sock_owner_nobody", BAIT, T_OWNER_OTHER, p_none, NULL },
	/* the shared area (delay rule: the shim journals into it) */
	{ "journal_head_far", DELAY, T_NODRAIN, j_head, NULL },
	{ "journal_seq_ahead", DELAY, T_NODRAIN, j_ahead, NULL },
	{ "journal_seq_behind", DELAY, T_NODRAIN, j_behind, NULL },
	{ "journal_random", DELAY, T_NODRAIN, j_random, NULL },
	{ "journal_churn", DELAY, T_NODRAIN | T_J_CHURN, j_random, NULL },
	{ "shared_garbage", DELAY, 0, s_garbage, NULL },
	/* republished after attach (-f) */
	{ "late_errno_0", BAIT, 0, p_none, f_err0 },
	{ "late_errno_1e6", BAIT, 0, p_none, f_errbig },
	{ "late_errno_neg", BAIT, 0, p_none, f_errneg },
	{ "late_errno_unlisted", BAIT, 0, p_none, f_errlist },
	{ "late_short_0", SHORT1, 0, p_none, f_short0 },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* ---- the block ----------------------------------------------------------- */

static int memfd(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		perror("forge: memfd");
		exit(2);
	}
	return fd;
}

static void base_plan(struct fl_ctl *c, int bait)
{
	struct fl_hdr *h = &c->hdr;
	int64_t now = mono();
	struct fl_rule *r = &c->rules[0];

	h->abi = FL_ABI_VERSION;
	h->size = sizeof(*c);
	h->owner_uid = owner_uid;
	h->controller_pid = getpid();
	h->stale_ns = FL_STALE_NS_DEFAULT;
	h->epoch_mono_ns = now;
	h->heartbeat_ns = now;
	h->seed = 1;
	h->ntargets = 2;
	h->nrules = 1;
	c->targets[1] = (struct fl_target){ .kind = FL_TK_TCP, .family = 2 /* AF_INET */,
					    .port = port, .addr = { 127, 0, 0, 1 } };
	strcpy(c->targets[1].name, "web");
	r->target = 1;
	r->intensity = FL_INTENSITY_ONE;
	if (bait == SHORT1) {
		r->op = FL_OP_SEND;
		r->fault = FL_FAULT_SHORT;
		r->bytes = 1;
	} else if (bait == DELAY) {
		r->op = FL_OP_CONNECT;
		r->fault = FL_FAULT_DELAY;
		r->ns = 1000000;
	} else {
		r->op = FL_OP_CONNECT;
		r->fault = FL_FAULT_ERROR;
		r->err = ECONNREFUSED;
	}
	h->rule_head[1][r->op] = 1;
	c->journal.head = 0;
	for (unsigned i = 0; i < FL_JOURNAL_SLOTS; i++)
		c->journal.slot[i].seq = i;
	h->state = FL_STATE_ACTIVE;
	atomic_store_explicit((_Atomic uint64_t *)&h->magic, FL_CTL_MAGIC, memory_order_release);
}

static struct fl_ctl *map_rw(int plan, int shared)
{
	char *b = mmap(NULL, sizeof(struct fl_ctl), PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b == MAP_FAILED ||
	    mmap(b, FL_PLAN_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, plan, 0) ==
		    MAP_FAILED ||
	    mmap(b + FL_PLAN_SIZE, FL_SHARED_SIZE, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, shared, 0) == MAP_FAILED) {
		perror("forge: mmap");
		exit(2);
	}
	return (struct fl_ctl *)(void *)b;
}

/* ---- serving ---------------------------------------------------------------- */

static int plan_fd, shared_fd, small_fd = -1, pipe_fd[2] = { -1, -1 };

static void answer(int fd, const struct fcase *k)
{
	struct fl_hello h = { FL_HELLO_MAGIC, FL_ABI_VERSION, 0, FL_PLAN_SIZE, FL_SHARED_SIZE };
	int fds[3] = { plan_fd, shared_fd, plan_fd };
	size_t nfd = 2, hlen = sizeof(h);
	union {
		struct cmsghdr c;
		char buf[CMSG_SPACE(3 * sizeof(int))];
	} cm;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (k->flags & T_HELLO_SIZES)
		h.plan_size = 4096;
	if (k->flags & T_HELLO_MAGIC)
		h.magic ^= 1;
	if (k->flags & T_HELLO_STATUS)
		h.status = EPERM;
	if (k->flags & T_HELLO_SHORT)
		hlen = 4;
	if (k->flags & T_PLAN_SMALL)
		fds[0] = small_fd;
	if (k->flags & T_SHARED_SMALL)
		fds[1] = small_fd;
	if (k->flags & T_FD_PIPE)
		fds[0] = pipe_fd[0];
	if (k->flags & T_SWAP) {
		fds[0] = shared_fd;
		fds[1] = plan_fd;
	}
	nfd = (k->flags & T_FDS0) ? 0 : (k->flags & T_FDS1) ? 1 : (k->flags & T_FDS3) ? 3 : 2;
	iov.iov_len = hlen;
	memset(&cm, 0, sizeof(cm));
	if (nfd) {
		m.msg_control = cm.buf;
		m.msg_controllen = CMSG_SPACE(nfd * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfd * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfd * sizeof(int));
	}
	sendmsg(fd, &m, MSG_NOSIGNAL);
}

/* The republish protocol of ctl.h: gen odd while rules change. */
static void flip(const struct fcase *k)
{
	atomic_fetch_add(&ctl->hdr.gen, 1);
	k->flip(ctl);
	atomic_fetch_add(&ctl->hdr.gen, 1);
	printf("flip\n");
}

static uint64_t tail;

static void drain(void)
{
	for (unsigned n = 0; n < FL_JOURNAL_SLOTS; n++) {
		struct fl_jrec *s = &ctl->journal.slot[tail & (FL_JOURNAL_SLOTS - 1)];
		struct fl_jrec r;

		if (atomic_load_explicit(&s->seq, memory_order_acquire) != tail + 1)
			return;
		memcpy(&r, s, sizeof(r));
		atomic_store_explicit(&s->seq, tail + FL_JOURNAL_SLOTS, memory_order_release);
		tail++;
		switch (r.kind) {
		case FL_J_ATTACH:
			n_attach++;
			printf("attach pid=%d\n", r.pid);
			break;
		case FL_J_REFUSED:
			n_refused++;
			printf("refused pid=%d why=%d rule=%u\n", r.pid, r.err, r.rule);
			break;
		case FL_J_FAULT:
			n_faults++;
			printf("fault rule=%u op=%u\n", r.rule, r.op);
			break;
		default:
			printf("record kind=%u\n", r.kind);
		}
	}
}

static int listen_at(const char *path, struct sockaddr_un *sa)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path)) {
		fprintf(stderr, "forge: %s: path too long\n", path);
		exit(2);
	}
	strcpy(sa->sun_path, path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "forge: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	return fd;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	const char *ready = NULL, *path, *name;
	const struct fcase *k = NULL;
	char flip_path[PATH_MAX];
	struct sockaddr_un sa;
	int opt, lfd, ffd = -1, want_flip = 0, delay_ms = 0;
	int held[64], nheld = 0;

	owner_uid = (uint32_t)geteuid();
	while ((opt = getopt(argc, argv, "p:U:r:d:flO")) != -1) {
		switch (opt) {
		case 'O':
			printf("journal=%zu tail=%zu slot=%zu slot_size=%zu kind=%zu slots=%u\n",
			       offsetof(struct fl_ctl, journal) - FL_PLAN_SIZE,
			       offsetof(struct fl_journal, tail), offsetof(struct fl_journal, slot),
			       sizeof(struct fl_jrec), offsetof(struct fl_jrec, kind),
			       FL_JOURNAL_SLOTS);
			return 0;
		case 'p': port = (uint16_t)atoi(optarg); break;
		case 'U': owner_uid = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'r': ready = optarg; break;
		case 'f': want_flip = 1; break;
		case 'd': delay_ms = atoi(optarg); break;
		case 'l':
			for (size_t i = 0; i < NCASES; i++)
				printf("%s\n", cases[i].name);
			return 0;
		default:
			fprintf(stderr, "usage: forge [-p PORT] [-U UID] [-r FIFO] [-f] PATH CASE\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, "usage: forge [-p PORT] [-U UID] [-r FIFO] [-f] PATH CASE\n");
		return 2;
	}
	path = argv[optind];
	name = argv[optind + 1];
	for (size_t i = 0; i < NCASES; i++)
		if (!strcmp(cases[i].name, name))
			k = &cases[i];
	if (!k) {
		fprintf(stderr, "forge: no case %s (forge -l lists them)\n", name);
		return 2;
	}
	if (want_flip && !k->flip) {
		fprintf(stderr, "forge: case %s changes nothing after attach\n", name);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	plan_fd = memfd("forge-plan", FL_PLAN_SIZE);
	shared_fd = memfd("forge-shared", FL_SHARED_SIZE);
	small_fd = memfd("forge-small", 4096);
	fcntl(small_fd, F_ADD_SEALS, PLAN_SEALS);
	if (pipe(pipe_fd) < 0)
		return 2;
	ctl = map_rw(plan_fd, shared_fd);
	base_plan(ctl, k->bait);
	k->plan(ctl);
	if (k->flags & T_HB_STOP) /* a controller that died long ago but answers */
		ctl->hdr.heartbeat_ns = mono() - 2 * FL_STALE_NS_MAX;
	if (!(k->flags & T_NOSEAL)) {
		fcntl(plan_fd, F_ADD_SEALS, (k->flags & T_PLAN_WRITABLE)
					    ? (F_SEAL_SHRINK | F_SEAL_GROW) : PLAN_SEALS);
		if (!(k->flags & T_SHARED_NOSEAL))
			fcntl(shared_fd, F_ADD_SEALS, SHARED_SEALS);
	}

	lfd = listen_at(path, &sa);
	if (k->flags & T_MODE_LOOSE)
		chmod(path, 0666);
	if (k->flags & T_MODE_GROUPW)
		chmod(path, 0620);
	if ((k->flags & T_OWNER_OTHER) && lchown(path, 65534, 65534) < 0) {
		perror("forge: chown");
		return 2;
	}
	if (want_flip) {
		struct sockaddr_un fsa;
		snprintf(flip_path, sizeof(flip_path), "%s.flip", path);
		ffd = listen_at(flip_path, &fsa);
		chmod(flip_path, 0666); /* the program may run as another user */
	}
	if (ready) {
		FILE *f = fopen(ready, "w");
		if (!f)
			return 2;
		fputs("READY\n", f);
		fclose(f);
	}
	if (delay_ms > 0) {
		struct timespec ts = { delay_ms / 1000, (delay_ms % 1000) * 1000000l };
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop)
			;
		printf("serving\n");
	}

	while (!stop) {
		struct pollfd p[2] = { { lfd, POLLIN, 0 }, { ffd, POLLIN, 0 } };
		int64_t now = mono();

		if (k->flags & T_HB_FUTURE)
			atomic_store(&ctl->hdr.heartbeat_ns, now + 10000000000ll);
		else if (!(k->flags & T_HB_STOP))
			atomic_store(&ctl->hdr.heartbeat_ns, now);
		if (k->flags & T_J_CHURN)
			k->plan(ctl);
		if (!(k->flags & T_NODRAIN))
			drain();
		if (poll(p, ffd >= 0 ? 2 : 1, (int)(FL_HEARTBEAT_NS / 1000000)) <= 0)
			continue;
		if (p[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			char req = 0;
			if (fd < 0)
				continue;
			n_conns++;
			printf("conn\n");
			if (k->flags & T_SLAM) {
				close(fd);
				continue;
			}
			if (k->flags & T_SILENT) {
				if (nheld < 64)
					held[nheld++] = fd;
				else
					close(fd);
				continue;
			}
			/* the shim sends its byte right after connect; a peer
			 * that refuses us (SO_PEERCRED) closes instead */
			struct pollfd q = { fd, POLLIN, 0 };
			if (poll(&q, 1, 1000) == 1 && recv(fd, &req, 1, 0) == 1) {
				printf("req %c\n", req);
				answer(fd, k);
			}
			close(fd);
		}
		if (ffd >= 0 && (p[1].revents & POLLIN)) {
			int fd = accept4(ffd, NULL, NULL, SOCK_CLOEXEC);
			char b;
			if (fd < 0)
				continue;
			if (recv(fd, &b, 1, 0) == 1) {
				flip(k);
				send(fd, "K", 1, MSG_NOSIGNAL);
			}
			close(fd);
		}
	}
	if (!(k->flags & T_NODRAIN))
		drain();
	for (int i = 0; i < nheld; i++)
		close(held[i]);
	unlink(path);
	if (ffd >= 0)
		unlink(flip_path);
	printf("done conns=%lu attach=%lu refused=%lu faults=%lu\n", n_conns, n_attach,
	       n_refused, n_faults);
	return 0;
}
