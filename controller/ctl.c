/*
 * ctl.c — the controller's side of the control block (see ctl.h and
 * include/faultline/ctl.h for the protocol).
 *
 * Divisions: clocks; creating (private name, header, journal); activating
 * (magic, link into place); opening an existing block; state and heartbeat;
 * the journal consumer (and a producer for tests).
 *
 * Invariants
 *  - A block is visible at its public path only once it is complete: it is
 *    built under a mkostemp name in the same directory and link()ed, which
 *    also makes "one controller per path" atomic.
 *  - We never unlink a file that is not our own block (same inode), so a
 *    mistyped --ctl cannot destroy someone's data and a controller that was
 *    taken for stale cannot remove its successor's block.
 *  - Nothing read from the block is trusted beyond its type: the SUT's user
 *    can write it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

/* A block whose heartbeat is this old belongs to no live controller, even if
 * its pid now names some other process. */
#define FL__CTL_STALE_AFTER_NS 10000000000ll

static int64_t fl__clock(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

int64_t fl_now_mono(void)
{
	return fl__clock(CLOCK_MONOTONIC);
}

int64_t fl_now_real(void)
{
	return fl__clock(CLOCK_REALTIME);
}

void fl_ctl_handle_init(struct fl_ctlh *h)
{
	memset(h, 0, sizeof(*h));
	h->fd = -1;
}

static int fl__futex_wake(void *addr)
{
	/* Not FUTEX_PRIVATE: the waiters are other processes mapping the file. */
	return (int)syscall(SYS_futex, addr, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* ---- creating ---------------------------------------------------------- */

static void fl__ctl_init_header(struct fl_ctl *ctl, const struct fl_ctl_owner *o,
				uint64_t seed)
{
	struct fl_hdr *hd = &ctl->hdr;
	int64_t now = fl_now_mono();

	hd->abi = FL_ABI_VERSION;
	hd->size = (uint32_t)sizeof(struct fl_ctl);
	hd->owner_uid = (uint32_t)o->uid;
	hd->controller_pid = (int32_t)getpid();
	hd->stale_ns = FL_STALE_NS_DEFAULT;
	hd->epoch_mono_ns = now;
	hd->epoch_real_ns = fl_now_real();
	hd->seed = seed;
	hd->ntargets = 1; /* no targets, no rules until a profile is published */
	hd->nrules = 0;
	atomic_store_explicit(&hd->heartbeat_ns, now, memory_order_relaxed);
	atomic_store_explicit(&hd->state, FL_STATE_INIT, memory_order_relaxed);
}

static void fl__ctl_init_journal(struct fl_journal *j)
{
	atomic_store_explicit(&j->head, 0, memory_order_relaxed);
	atomic_store_explicit(&j->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&j->dropped, 0, memory_order_relaxed);
	for (uint64_t i = 0; i < FL_JOURNAL_SLOTS; i++)
		atomic_store_explicit(&j->slot[i].seq, i, memory_order_relaxed);
}

/* Make, size and map the private file h->tmp. */
static int fl__ctl_make_file(struct fl_ctlh *h, const struct fl_ctl_owner *o)
{
	void *m;

	h->fd = mkostemp(h->tmp, O_CLOEXEC); /* O_EXCL, mode 0600 */
	if (h->fd < 0) {
		h->tmp[0] = '\0';
		return -errno;
	}
	if (fchmod(h->fd, 0600) < 0)
		return -errno;
	if (o->chown && fchown(h->fd, o->uid, o->gid) < 0)
		return -errno;
	if (ftruncate(h->fd, (off_t)sizeof(struct fl_ctl)) < 0)
		return -errno;
	m = mmap(NULL, sizeof(struct fl_ctl), PROT_READ | PROT_WRITE, MAP_SHARED,
		 h->fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	h->ctl = m;
	return 0;
}

static int fl__ctl_build(struct fl_ctlh *h, const struct fl_ctl_owner *o,
			 uint64_t seed)
{
	int n, err;

	n = snprintf(h->tmp, sizeof(h->tmp), "%s.new.XXXXXX", h->path);
	if (n < 0 || (size_t)n >= sizeof(h->tmp))
		return -ENAMETOOLONG;
	h->owner = true;
	err = fl__ctl_make_file(h, o);
	if (err)
		return err;
	fl__ctl_init_header(h->ctl, o, seed);
	fl__ctl_init_journal(&h->ctl->journal);
	return 0;
}

/* Is the file at `path` a block nobody drives any more? 1 stale, 0 live,
 * -EPROTO not a faultline block (never to be removed), -errno. */
static int fl__ctl_stale(const char *path)
{
	struct fl_hdr hd;
	struct stat st;
	int fd, ret;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	ret = -EPROTO;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != (off_t)sizeof(struct fl_ctl))
		goto out;
	if (pread(fd, &hd, sizeof(hd), 0) != (ssize_t)sizeof(hd) ||
	    (hd.magic != FL_CTL_MAGIC && hd.magic != 0))
		goto out;
	ret = 1;
	if (hd.controller_pid > 0 &&
	    (kill(hd.controller_pid, 0) == 0 || errno == EPERM) &&
	    fl_now_mono() - atomic_load(&hd.heartbeat_ns) < FL__CTL_STALE_AFTER_NS)
		ret = 0;
out:
	close(fd);
	return ret;
}

/* Remove a stale block at path, or say why not. */
static int fl__ctl_clear_path(const char *path)
{
	int s = fl__ctl_stale(path);

	if (s == -ENOENT)
		return 0;
	if (s < 0)
		return s == -EPROTO ? -EEXIST : s;
	if (s == 0)
		return -EEXIST;
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int fl_ctl_create(const char *path, const struct fl_ctl_owner *o,
		  uint64_t seed, struct fl_ctlh *h)
{
	int err;

	fl_ctl_handle_init(h);
	if (strlen(path) >= sizeof(h->path))
		return -ENAMETOOLONG;
	strcpy(h->path, path);
	err = fl__ctl_clear_path(path);
	if (err)
		goto fail;
	err = fl__ctl_build(h, o, seed);
	if (err)
		goto fail;
	return 0;
fail:
	h->owner = h->tmp[0] != '\0';
	h->path[0] = '\0'; /* not ours: fl_ctl_close must leave it alone */
	fl_ctl_close(h);
	return err;
}

static const char *fl__runtime_base(const struct fl_ctl_owner *o)
{
	const char *x = getenv("XDG_RUNTIME_DIR");

	/* XDG_RUNTIME_DIR is ours alone (0700): another user cannot reach a
	 * block inside it. */
	if (o->chown && o->uid != geteuid())
		return "/tmp";
	if (x && x[0] == '/' && access(x, W_OK | X_OK) == 0)
		return x;
	return "/tmp";
}

int fl_ctl_create_private(const struct fl_ctl_owner *o, uint64_t seed,
			  struct fl_ctlh *h)
{
	int n, err;

	fl_ctl_handle_init(h);
	n = snprintf(h->dir, sizeof(h->dir), "%s/faultline.XXXXXX",
		     fl__runtime_base(o));
	if (n < 0 || (size_t)n >= sizeof(h->dir) - 16)
		return -ENAMETOOLONG;
	if (!mkdtemp(h->dir)) {
		h->dir[0] = '\0';
		return -errno;
	}
	if (o->chown && chown(h->dir, o->uid, o->gid) < 0) {
		err = -errno;
		goto fail;
	}
	err = -ENAMETOOLONG;
	n = snprintf(h->path, sizeof(h->path), "%s/ctl", h->dir);
	if (n < 0 || (size_t)n >= sizeof(h->path))
		goto fail;
	err = fl__ctl_build(h, o, seed);
	if (err)
		goto fail;
	return 0;
fail:
	h->path[0] = '\0';
	fl_ctl_close(h);
	return err;
}

/* ---- activating, opening, closing ---------------------------------------- */

int fl_ctl_activate(struct fl_ctlh *h)
{
	struct fl_ctl *ctl = h->ctl;
	int err;

	fl_ctl_beat(ctl, fl_now_mono());
	atomic_store_explicit(&ctl->hdr.state, FL_STATE_ACTIVE,
			      memory_order_relaxed);
	/* Magic last, with release: a shim that sees it sees all of the above. */
	atomic_store_explicit((_Atomic uint64_t *)&ctl->hdr.magic, FL_CTL_MAGIC,
			      memory_order_release);
	if (link(h->tmp, h->path) < 0) {
		err = -errno;
		/* Someone made the path between create and now: retry once if
		 * what is there is stale. */
		if (err != -EEXIST || fl__ctl_clear_path(h->path) < 0 ||
		    link(h->tmp, h->path) < 0) {
			h->path[0] = '\0';
			return err;
		}
	}
	unlink(h->tmp);
	h->tmp[0] = '\0';
	return 0;
}

int fl_ctl_open(const char *path, struct fl_ctlh *h)
{
	struct stat st;
	void *m;
	int err;

	fl_ctl_handle_init(h);
	h->fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	err = -errno;
	if (h->fd < 0 || fstat(h->fd, &st) < 0)
		goto fail;
	err = -EPROTO;
	if (!S_ISREG(st.st_mode) || st.st_size != (off_t)sizeof(struct fl_ctl))
		goto fail;
	m = mmap(NULL, sizeof(struct fl_ctl), PROT_READ | PROT_WRITE, MAP_SHARED,
		 h->fd, 0);
	err = -errno;
	if (m == MAP_FAILED)
		goto fail;
	h->ctl = m;
	err = -EPROTO;
	if (atomic_load_explicit((_Atomic uint64_t *)&h->ctl->hdr.magic,
				 memory_order_acquire) != FL_CTL_MAGIC ||
	    h->ctl->hdr.abi != FL_ABI_VERSION ||
	    h->ctl->hdr.size != sizeof(struct fl_ctl))
		goto fail;
	return 0;
fail:
	fl_ctl_close(h);
	return err;
}

/* Unlink path only if it still names the file we hold open. */
static void fl__unlink_if_ours(const char *path, int fd)
{
	struct stat a, b;

	if (!path[0] || fd < 0 || fstat(fd, &a) < 0 || lstat(path, &b) < 0)
		return;
	if (a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		unlink(path);
}

void fl_ctl_close(struct fl_ctlh *h)
{
	if (h->owner) {
		if (h->tmp[0])
			unlink(h->tmp);
		fl__unlink_if_ours(h->path, h->fd);
		if (h->dir[0])
			rmdir(h->dir);
	}
	if (h->ctl)
		munmap(h->ctl, sizeof(struct fl_ctl));
	if (h->fd >= 0)
		close(h->fd);
	fl_ctl_handle_init(h);
}

/* ---- state and heartbeat ------------------------------------------------- */

void fl_ctl_beat(struct fl_ctl *ctl, int64_t now_ns)
{
	atomic_store_explicit(&ctl->hdr.heartbeat_ns, now_ns,
			      memory_order_release);
}

enum fl_state fl_ctl_state(const struct fl_ctl *ctl)
{
	return (enum fl_state)atomic_load_explicit(
		(_Atomic uint32_t *)&ctl->hdr.state, memory_order_acquire);
}

void fl_ctl_set_state(struct fl_ctl *ctl, enum fl_state state)
{
	uint32_t cur = atomic_load(&ctl->hdr.state);

	do {
		if (cur == FL_STATE_ABORTED && state != FL_STATE_ABORTED)
			break;
	} while (!atomic_compare_exchange_weak(&ctl->hdr.state, &cur,
					      (uint32_t)state));
	fl__futex_wake(&ctl->hdr.state);
	/* Held calls sleep on their gate counter, not on state: wake those
	 * too so they see the new state now rather than at their timeout. */
	for (int t = 0; t < FL_MAX_TARGETS; t++)
		for (int op = 0; op < FL_OP__COUNT; op++)
			if (atomic_load_explicit(&ctl->waiters[t][op],
						 memory_order_relaxed))
				fl__futex_wake(&ctl->counters[t][op]);
}

/* ---- journal ------------------------------------------------------------- */

#define FL__JMASK ((uint64_t)FL_JOURNAL_SLOTS - 1)
#define FL__JPAYLOAD offsetof(struct fl_jrec, t_ns)

/* Give slot `tail` back to producers and advance. */
static void fl__jrelease(struct fl_journal *j, struct fl_jrec *s, uint64_t tail)
{
	atomic_store_explicit(&s->seq, tail + FL_JOURNAL_SLOTS,
			      memory_order_release);
	atomic_store_explicit(&j->tail, tail + 1, memory_order_release);
}

/* seq == tail: empty, or claimed and not yet filled. Returns true when the
 * slot was skipped as stuck (the caller loops on). */
static bool fl__jstuck(struct fl_journal *j, struct fl_jdrain *d,
		       struct fl_jrec *s, uint64_t tail, int64_t now)
{
	if (atomic_load_explicit(&j->head, memory_order_acquire) <= tail)
		return false; /* empty */
	if (d->stuck_pos != tail + 1) {
		d->stuck_pos = tail + 1;
		d->stuck_since_ns = now;
		return false;
	}
	if (now - d->stuck_since_ns < FL_JOURNAL_STUCK_NS)
		return false;
	fl__jrelease(j, s, tail);
	atomic_fetch_add_explicit(&j->dropped, 1, memory_order_relaxed);
	d->skipped++;
	d->stuck_pos = 0;
	return true;
}

unsigned fl_ctl_drain(struct fl_ctl *ctl, struct fl_jdrain *d, int64_t now_ns,
		      unsigned max, fl_jrec_fn *fn, void *arg)
{
	struct fl_journal *j = &ctl->journal;
	unsigned n = 0;

	while (n < max) {
		uint64_t tail = atomic_load_explicit(&j->tail, memory_order_relaxed);
		struct fl_jrec *s = &j->slot[tail & FL__JMASK];
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		struct fl_jrec r;

		if (seq == tail + 1) {
			memcpy((char *)&r + FL__JPAYLOAD, (char *)s + FL__JPAYLOAD,
			       sizeof(r) - FL__JPAYLOAD);
			fl__jrelease(j, s, tail);
			d->stuck_pos = 0;
			d->read++;
			n++;
			fn(&r, arg);
		} else if (seq == tail + 1 - FL_JOURNAL_SLOTS) {
			/* A producer we skipped as dead finished after all, one
			 * lap late: its record is already counted as dropped;
			 * hand the slot back so the ring does not jam. */
			atomic_store_explicit(&s->seq, tail, memory_order_release);
		} else if (seq != tail || !fl__jstuck(j, d, s, tail, now_ns)) {
			break;
		}
	}
	return n;
}

int fl_ctl_journal_put(struct fl_ctl *ctl, const struct fl_jrec *rec)
{
	struct fl_journal *j = &ctl->journal;
	uint64_t pos = atomic_load_explicit(&j->head, memory_order_relaxed);
	struct fl_jrec *s;

	for (;;) {
		s = &j->slot[pos & FL__JMASK];
		int64_t dif = (int64_t)(atomic_load_explicit(
			&s->seq, memory_order_acquire) - pos);
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(
				    &j->head, &pos, pos + 1,
				    memory_order_relaxed, memory_order_relaxed))
				break;
		} else if (dif < 0) {
			atomic_fetch_add_explicit(&j->dropped, 1,
						  memory_order_relaxed);
			return -ENOBUFS;
		} else {
			pos = atomic_load_explicit(&j->head, memory_order_relaxed);
		}
	}
	memcpy((char *)s + FL__JPAYLOAD, (const char *)rec + FL__JPAYLOAD,
	       sizeof(*rec) - FL__JPAYLOAD);
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
	return 0;
}
