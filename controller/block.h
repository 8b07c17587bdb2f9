/*
 * block.h — the controller's side of the control block: make the plan and
 * the shared area, seal them, serve them on the control socket, beat,
 * change state, drain the journal, tear down.
 *
 * The layout and the protocol are in include/faultline/ctl.h; this file only
 * follows them. A block goes through:
 *     fl_block_create                     two memfds, mapped back to back
 *                                         writable (our mapping), header +
 *                                         journal written
 *     fl_profile_publish(p, b.ctl)        rules (profile.h)
 *     fl_block_activate                   state ACTIVE, magic (release),
 *                                         seals, then the socket appears at
 *                                         its path (bind + listen)
 *     fl_block_serve(b, loop)             answer attach and abort requests
 *     fl_block_beat / fl_block_drain ...  while the drill runs
 *     fl_block_set_state(DONE|ABORTED)    every shim passes through
 *     fl_block_close                      unlink the socket, unmap
 *
 * Trust: clients are authenticated with SO_PEERCRED (root, our own uid or
 * the program's user); everything read from the shared area (journal,
 * counters) is untrusted input, validated before use.
 *
 * Ownership: struct fl_block is caller-owned; fl_block_close releases what
 * fl_block_create acquired and accepts a handle from fl_block_init.
 */
#ifndef FL_BLOCK_H
#define FL_BLOCK_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "faultline/ctl.h"

struct fl_loop;

/* A producer that claimed a slot and did not fill it for this long is taken
 * for dead: its slot is skipped and counted as dropped. */
#define FL_JOURNAL_STUCK_NS 1000000000ll

/* Requests waiting for their byte at once; more are refused (a client that
 * connects and says nothing must not pin the controller's fds). */
#define FL_BLOCK_CONNS 32
#define FL_BLOCK_CONN_NS 1000000000ll /* a silent client is dropped after 1 s */

struct fl_block_conn {
	int fd;            /* -1 = free */
	long long id;      /* loop interest */
	int64_t since_ns;
};

struct fl_block {
	struct fl_ctl *ctl; /* our writable mapping of both, NULL when closed */
	int plan_fd, shared_fd; /* the memfds, -1 when closed */
	int lfd;            /* the listening socket, -1 when none */
	long long lid, reap_id; /* loop interest and reaper timer */
	struct fl_loop *loop;
	uid_t peer_uid;     /* the program's user: may attach and abort */
	gid_t peer_gid;
	bool chown;         /* the socket belongs to peer_uid/peer_gid */
	bool sealed;
	bool bound;         /* the socket at path is ours: unlink on close */
	dev_t sock_dev;
	ino_t sock_ino;
	uint64_t refused;   /* clients refused (credentials, no room, bad request) */
	uint64_t served;    /* attach answers sent */
	char path[PATH_MAX]; /* the socket's path */
	struct fl_block_conn conn[FL_BLOCK_CONNS];
};

/* Consumer-side journal state (the controller's, not shared). */
struct fl_jdrain {
	uint64_t tail;          /* next slot to read (ours: the shared one is
				   written by the program too) */
	uint64_t stuck_pos;     /* tail + 1 of the slot being watched, 0 = none */
	int64_t stuck_since_ns; /* when it was first seen unfilled */
	uint64_t skipped;       /* slots skipped as stuck (also in dropped) */
	uint64_t read;          /* records consumed */
	uint64_t malformed;     /* records refused (fields out of range) */
	uint64_t resync;        /* times the ring was found forged and reset */
};

/* Who the block is for: the SUT's uid/gid (the controller's own by default). */
struct fl_block_owner {
	uid_t uid;
	gid_t gid;
	bool chown; /* the socket belongs to uid/gid */
};

void fl_block_init(struct fl_block *b);

/* Make the memfds and the header. `path` is the socket's path (a drill's
 * --ctl), or NULL for a private one: $XDG_RUNTIME_DIR (or /tmp with another
 * user) /faultline.<pid>.<random>.ctl — and then the stale private sockets
 * of killed runs are removed first. Nothing appears at the path until
 * fl_block_activate. Returns 0 or -errno; on error *b is closed. */
int fl_block_create(const char *path, const struct fl_block_owner *o,
		    uint64_t seed, struct fl_block *b);

/* State ACTIVE, magic (release), seal both memfds, then bind and listen at
 * b->path. A socket already there whose controller is dead (it refuses
 * connections) is replaced; a live one, or anything that is not a socket
 * (except a dead controller's old-ABI block file), gives -EEXIST and is
 * left alone. Call after fl_profile_publish. Returns 0 or -errno. */
int fl_block_activate(struct fl_block *b);

/* Answer requests from the loop (attach: the fds; abort: state ABORTED).
 * Returns 0 or -errno. */
int fl_block_serve(struct fl_block *b, struct fl_loop *l);

/* Unlink our socket (only if the path still names it), stop serving,
 * unmap, close. Accepts an initialised or already closed handle. */
void fl_block_close(struct fl_block *b);

/* Client side: ask the controller at `path` to abort (`faultline abort`).
 * The server must be root or our uid (SO_PEERCRED). Waits at most
 * timeout_ms for the answer. Returns 0, -ECONNREFUSED (no live
 * controller), -EPROTO (not a faultline socket), -EPERM, or -errno. */
int fl_block_abort(const char *path, int timeout_ms);

/* Client side: attach like a shim does (for tests and tools): the block at
 * `path` mapped back to back (plan read-only) into *out; release with
 * fl_block_unmap. Returns 0 or -errno (-EPROTO: bad hello or seals). */
int fl_block_attach(const char *path, int timeout_ms, struct fl_ctl **out);
void fl_block_unmap(struct fl_ctl *c);

/* Heartbeat: store now_ns (CLOCK_MONOTONIC) with release order. */
void fl_block_beat(struct fl_ctl *ctl, int64_t now_ns);

/* Store `state` and FUTEX_WAKE every waiter on hdr.state and on each hold
 * gate counter, so blocked shim calls re-check at once. A block already
 * ABORTED stays ABORTED (DONE does not mask an abort). */
void fl_block_set_state(struct fl_ctl *ctl, enum fl_state state);

/* Read hdr.state (acquire). */
enum fl_state fl_block_state(const struct fl_ctl *ctl);

/* CLOCK_MONOTONIC / CLOCK_REALTIME in nanoseconds. */
int64_t fl_now_mono(void);
int64_t fl_now_real(void);

/* Consume up to `max` journal records, calling fn(rec, arg) on a private,
 * validated copy of each, in ring order. The ring is writable by the
 * program: a record with fields out of range is counted in d->malformed and
 * not passed on; a forged head or tail (more than a ring ahead or behind)
 * makes the ring start over where producers are (d->resync). A slot
 * claimed but not filled for FL_JOURNAL_STUCK_NS is skipped (counted in
 * journal.dropped and d->skipped). Never blocks; at most `max` + one ring
 * of slots are looked at. Returns the number of records passed to fn. */
typedef void fl_jrec_fn(const struct fl_jrec *rec, void *arg);
unsigned fl_block_drain(struct fl_ctl *ctl, struct fl_jdrain *d, int64_t now_ns,
			unsigned max, fl_jrec_fn *fn, void *arg);

/* Is a journal record one the controller can write to a timeline? */
bool fl_jrec_valid(const struct fl_jrec *r);

/* Journal producer for the controller's own records and tests: the one in
 * faultline/journal.h. Returns 0, or -ENOBUFS when the ring is full or
 * forged (counted as dropped). */
int fl_block_journal_put(struct fl_ctl *ctl, const struct fl_jrec *rec);

#endif /* FL_BLOCK_H */
