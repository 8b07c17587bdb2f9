/*
 * attach.c — finding and mapping the control block: at start (the
 * constructor calls fl__attach_init), lazily from the check points
 * (fl__attach_poll), and again when a new drill replaces the block.
 *
 * Invariants
 *  - Never blocks the program and never fails it: anything wrong with the
 *    block means pass-through (fail open).
 *  - errno is preserved.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

#define SYS(...) syscall(__VA_ARGS__)

struct fl_ctl *_Atomic fl__ctl;
_Atomic int fl__mode;
_Atomic uint32_t fl__has;
static char ctl_path[PATH_MAX];
static _Atomic int64_t next_check_ns;
static dev_t ctl_dev;
static ino_t ctl_ino;
static atomic_flag attach_lock = ATOMIC_FLAG_INIT;

#define ATTACH_CHECK_NS 20000000ll /* look for a new block at most every 20 ms */

static uint32_t block_has(const struct fl_ctl *c)
{
	uint32_t has = 0;
	for (unsigned i = 1; i < c->hdr.ntargets && i < FL_MAX_TARGETS; i++) {
		switch (c->targets[i].kind) {
		case FL_TK_PATH: has |= FL_HAS_PATH; break;
		case FL_TK_HOST: has |= FL_HAS_HOST; break;
		case FL_TK_TCP: case FL_TK_UDP: case FL_TK_UNIX: has |= FL_HAS_SOCK; break;
		}
	}
	for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++)
		if (c->rules[i].flags & FL_RF_CLOCK)
			has |= FL_HAS_CLOCK;
	return has;
}

/* Map the block at ctl_path if it is ours and sane; NULL otherwise. */
static struct fl_ctl *map_block(struct stat *st)
{
	int fd = FL_REAL(open)(ctl_path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct fl_ctl *c = NULL;

	if (fd < 0)
		return NULL;
	if (SYS(SYS_fstat, fd, st) == 0 && S_ISREG(st->st_mode) &&
	    st->st_uid == geteuid() && st->st_size == (off_t)sizeof(*c)) {
		void *p = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (p != MAP_FAILED)
			c = p;
	}
	FL_REAL(close)(fd);
	if (c && (atomic_load_explicit((_Atomic uint64_t *)&c->hdr.magic,
				       memory_order_acquire) != FL_CTL_MAGIC ||
		  c->hdr.abi != FL_ABI_VERSION || c->hdr.size != sizeof(*c) ||
		  c->hdr.owner_uid != geteuid() || c->hdr.ntargets > FL_MAX_TARGETS ||
		  c->hdr.nrules > FL_MAX_RULES)) {
		munmap(c, sizeof(*c));
		c = NULL;
	}
	return c;
}

static void attach_journal(struct fl_ctl *c)
{
	struct fl_jrec r = {0};
	r.t_ns = fl__mono_ns() - c->hdr.epoch_mono_ns;
	r.pid = getpid();
	r.tid = (int32_t)SYS(SYS_gettid);
	r.kind = FL_J_ATTACH;
	fl__journal_push(c, &r);
}

/* Attach to the block at ctl_path if it is new. The old mapping is kept:
 * another thread may still be sleeping on it, and it is small. */
static void try_attach(void)
{
	struct stat st;
	struct fl_ctl *c;

	if (SYS(SYS_stat, ctl_path, &st) != 0 ||
	    (fl__ctl && st.st_dev == ctl_dev && st.st_ino == ctl_ino))
		return;
	c = map_block(&st);
	if (!c)
		return;
	ctl_dev = st.st_dev;
	ctl_ino = st.st_ino;
	atomic_store(&fl__has, block_has(c) | (atomic_load(&fl__has) & FL_HAS_CLKFAKE));
	fl__fdtab_reset();
	atomic_store(&fl__ctl, c);
	atomic_store(&fl__mode, FL_MODE_ON);
	fl__set_waiting(0);
	attach_journal(c);
}

void fl__attach_poll(void)
{
	int mode = atomic_load_explicit(&fl__mode, memory_order_relaxed);
	struct fl_ctl *c;
	int64_t now;

	if (mode == FL_MODE_OFF || mode == FL_MODE_UNINIT)
		return;
	now = fl__mono_ns();
	c = atomic_load_explicit(&fl__ctl, memory_order_acquire);
	if (c && mode == FL_MODE_ON && fl__live(c, now))
		return;
	if (now < atomic_load_explicit(&next_check_ns, memory_order_relaxed))
		return;
	if (atomic_flag_test_and_set(&attach_lock))
		return;
	atomic_store(&next_check_ns, now + ATTACH_CHECK_NS);
	int saved = errno;
	try_attach();
	errno = saved;
	atomic_flag_clear(&attach_lock);
}

void fl__attach_init(const char *path)
{
	if (!path || !*path || strlen(path) >= sizeof(ctl_path)) {
		atomic_store(&fl__mode, FL_MODE_OFF);
		return;
	}
	memcpy(ctl_path, path, strlen(path) + 1);
	atomic_store(&fl__mode, FL_MODE_WAITING);
	atomic_fetch_or(&fl__has, FL_HAS_WAIT); /* fd creators poll for the block */
	fl__set_waiting(1);
	try_attach();
}

void fl__attach_atfork_child(void)
{
	atomic_flag_clear(&attach_lock);
}
