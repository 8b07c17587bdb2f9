/*
 * ctl.h — the controller's side of the control block: create, publish,
 * activate, beat, change state, drain the journal, tear down.
 *
 * The layout and the protocol are in include/faultline/ctl.h; this file only
 * follows them. A block goes through:
 *     fl_ctl_create / fl_ctl_create_private   file made O_EXCL 0600, mapped,
 *                                              header + journal written
 *     fl_profile_publish(p, h.ctl)             rules (profile.h)
 *     fl_ctl_activate                          state ACTIVE, magic (release),
 *                                              and, for a named path, the file
 *                                              appears at that path
 *     fl_ctl_beat / fl_ctl_drain ...           while the drill runs
 *     fl_ctl_set_state(DONE or ABORTED)        every shim passes through
 *     fl_ctl_close                             unmap, unlink, remove the dir
 *
 * Ownership: struct fl_ctlh is caller-owned; fl_ctl_close releases what the
 * create/open functions acquired and accepts a zeroed handle.
 */
#ifndef FL_CTL_CONTROLLER_H
#define FL_CTL_CONTROLLER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "faultline/ctl.h"

/* A producer that claimed a slot and did not fill it for this long is taken
 * for dead: its slot is skipped and counted as dropped. */
#define FL_JOURNAL_STUCK_NS 1000000000ll

struct fl_ctlh {
	struct fl_ctl *ctl; /* shared mapping, NULL when closed */
	int fd;             /* -1 when closed */
	bool owner;         /* we created it: unlink on close */
	char path[PATH_MAX];   /* the block's public path */
	char tmp[PATH_MAX];    /* private name until activation ("" after) */
	char dir[PATH_MAX];    /* private dir we made ("" if none) */
};

/* Consumer-side journal state (the controller's, not shared). */
struct fl_jdrain {
	uint64_t stuck_pos;     /* tail + 1 of the slot being watched, 0 = none */
	int64_t stuck_since_ns; /* when it was first seen unfilled */
	uint64_t skipped;       /* slots skipped as stuck (also in dropped) */
	uint64_t read;          /* records consumed */
};

/* Who the block is for: the SUT's uid/gid (the controller's own by default). */
struct fl_ctl_owner {
	uid_t uid;
	gid_t gid;
	bool chown; /* fchown the file (and private dir) to uid/gid */
};

/* Create a block at `path` (a drill's --ctl). The file is first built under a
 * private name in the same directory and linked to `path` by
 * fl_ctl_activate, so no shim ever maps a half-written block. If `path`
 * exists: -EEXIST when it is a block whose controller is alive, or not a
 * block at all (never unlinked); a stale block is replaced. Returns 0 or
 * -errno; on error *h is closed. */
int fl_ctl_create(const char *path, const struct fl_ctl_owner *o,
		  uint64_t seed, struct fl_ctlh *h);

/* Create a block in a fresh private directory (mkdtemp 0700 under
 * $XDG_RUNTIME_DIR, or /tmp when it is unset or o->chown asks for another
 * user). The path is in h->path. Returns 0 or -errno. */
int fl_ctl_create_private(const struct fl_ctl_owner *o, uint64_t seed,
			  struct fl_ctlh *h);

/* Set state ACTIVE, store the magic with release order, then make the block
 * visible at h->path (link). Call after fl_profile_publish. Returns 0 or
 * -errno (-EEXIST if another controller took the path meanwhile). */
int fl_ctl_activate(struct fl_ctlh *h);

/* Open an existing block read-write (for `faultline abort`): regular file of
 * the right size with magic, abi and size matching. Returns 0, -errno from
 * the system, or -EPROTO when it is not a faultline block of this ABI. */
int fl_ctl_open(const char *path, struct fl_ctlh *h);

/* Unmap and close; when we created the block, unlink it and remove the
 * private dir. Accepts a zeroed or already closed handle. */
void fl_ctl_close(struct fl_ctlh *h);

/* Zero-initialise a handle so fl_ctl_close on it is a no-op. */
void fl_ctl_handle_init(struct fl_ctlh *h);

/* Heartbeat: store now_ns (CLOCK_MONOTONIC) with release order. */
void fl_ctl_beat(struct fl_ctl *ctl, int64_t now_ns);

/* Store `state` and FUTEX_WAKE every waiter on hdr.state and on each hold
 * gate counter that has waiters, so blocked shim calls re-check at once.
 * A block already ABORTED stays ABORTED (DONE does not mask an abort). */
void fl_ctl_set_state(struct fl_ctl *ctl, enum fl_state state);

/* Read hdr.state (acquire). */
enum fl_state fl_ctl_state(const struct fl_ctl *ctl);

/* CLOCK_MONOTONIC / CLOCK_REALTIME in nanoseconds. */
int64_t fl_now_mono(void);
int64_t fl_now_real(void);

/* Consume up to `max` journal records, calling fn(rec, arg) on a private
 * copy of each, in ring order. A slot claimed but not filled for
 * FL_JOURNAL_STUCK_NS is skipped (counted in journal.dropped and d->skipped).
 * Never blocks. Returns the number of records passed to fn. */
typedef void fl_jrec_fn(const struct fl_jrec *rec, void *arg);
unsigned fl_ctl_drain(struct fl_ctl *ctl, struct fl_jdrain *d, int64_t now_ns,
		      unsigned max, fl_jrec_fn *fn, void *arg);

/* Journal producer (the protocol of faultline/ctl.h), for tests and the
 * controller's own records. Fills *rec's payload into a slot; never blocks.
 * Returns 0, or -ENOBUFS when the ring is full (counted as dropped). */
int fl_ctl_journal_put(struct fl_ctl *ctl, const struct fl_jrec *rec);

#endif /* FL_CTL_CONTROLLER_H */
