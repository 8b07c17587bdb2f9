/*
 * seccomp_sup.h — the seccomp supervisor: faults for programs LD_PRELOAD cannot
 * reach (static binaries, Go, set-ID programs, raw system calls).
 *
 * Three parts:
 *  1. the filter (fl_sc_plan_*): built with libseccomp in the controller
 *     before fork; it returns SECCOMP_RET_USER_NOTIF only for the system
 *     calls the profile's rules target, everything else runs at full speed.
 *     The child installs it before exec (fl_sc_child) and waits, with a
 *     futex, until the parent has taken the listener with pidfd_getfd
 *     (fl_sc_take): a sendmsg of the fd would itself be notified to a
 *     listener nobody serves yet.
 *  2. the supervisor (fl_sup_*, seccomp_serve.c): serves the listener from
 *     the controller's loop; the same decision (fl__decide_at), counters,
 *     journal and timeline records as the shim.
 *  3. the keeper (dead-man rule): a notified call waits for an answer, and
 *     a closed listener would make every notified call fail with ENOSYS. A
 *     small process forked from the controller holds a copy of the listener
 *     and an "in flight" table (a memfd both map); while the controller
 *     lives it only watches. When the controller goes (exit or kill -9 close
 *     its end of a pipe), the keeper answers every call in the table (with
 *     the result the controller had already produced, or CONTINUE), then
 *     answers every new notification with CONTINUE until no process uses
 *     the filter. `faultline exec` is a keeper with a socket drills attach
 *     to (fl_sc_exec_main).
 *
 * Ownership: fl_sup_new returns a supervisor owned by the caller; free with
 * fl_sup__free() (accepts NULL), which answers every pending call first.
 */
#ifndef FL_SECCOMP_SUP_H
#define FL_SECCOMP_SUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "faultline/ctl.h"

struct fl_loop;

/* ---- the filter ------------------------------------------------------------ */
struct fl__sc_hand; /* the handshake page (shared with the child) */

struct fl_sc_plan {
	void *prog;              /* struct sock_fprog, the exported BPF */
	struct fl__sc_hand *hand;
	int listener;            /* after fl_sc_take, -1 before */
	unsigned flags;          /* after fl_sc_take: the filter flags the
				  * kernel took (SECCOMP_FILTER_FLAG_*) */
	unsigned nsys;           /* how many system calls are notified */
	char sys[512];           /* their names, space separated (for -v) */
	uint64_t added[8];       /* system call numbers < 512 added */
	uint32_t ops;            /* the ops notified (1 << FL_OP_*) */
	bool timens;             /* the child gets a time namespace */
	int64_t tn_mono_ns, tn_boot_ns; /* its offsets (the clock rules' sum) */
};

/* Which rules the supervisor cannot serve: writes a message naming rule i
 * and why (hold/pinning gates, resolve, close errors, clock rules other
 * than constant monotonic/boottime offsets) and returns -EINVAL; 0 when
 * every rule can be served. */
int fl_sc_check_rules(const struct fl_ctl *c, char *err, size_t len);
/* Build the filter for the rules in c and, when timens (--timens) or a
 * monotonic/boottime offset rule asks for it, plan a time namespace
 * carrying those offsets (checked now: the kernel must let us make one).
 * 0 or -errno (message in err). */
int fl_sc_plan_init(struct fl_sc_plan *p, const struct fl_ctl *c, bool timens,
		    char *err, size_t len);
/* A filter for the ops in mask ops (1 << FL_OP_*), no rules (`faultline
 * exec`: drills bring the rules later). */
int fl_sc_plan_ops(struct fl_sc_plan *p, uint32_t ops, char *err, size_t len);
/* Every op the supervisor can serve. */
uint32_t fl_sc_ops_all(void);
void fl_sc_plan_fini(struct fl_sc_plan *p);
/* In the forked child, before the user switch and exec: enter the planned
 * time namespace (unshare(CLONE_NEWTIME) + /proc/self/timens_offsets: the
 * exec enters it), install the filter and wait until the parent took the
 * listener. Async-signal-safe. After it
 * returns 0 the child must make no system call the filter notifies until
 * exec. Returns 0 or -errno. */
int fl_sc_child(void *plan);
/* In the parent right after fork: wait for the child's filter and take its
 * listener into p->listener. 0 or -errno (the child died, no seccomp...). */
int fl_sc_take(pid_t pid, void *plan);

/* ---- the in-flight table (shared with the keeper) --------------------------- */
#define FL_SC_INFLIGHT 1024
enum { FL_SC_FREE = 0, FL_SC_PENDING = 1, FL_SC_DONE = 2 };
struct fl__sc_slot {
	uint64_t id;
	int32_t state;  /* FL_SC_* */
	int32_t err;    /* DONE: errno to answer (0: success, val) */
	int64_t val;
};
struct fl__sc_table {
	uint64_t magic;
	struct fl__sc_slot slot[FL_SC_INFLIGHT];
};
/* A memfd holding a zeroed table. -errno on failure. */
int fl__sc_table_new(struct fl__sc_table **tab);
struct fl__sc_table *fl__sc_table_map(int fd);

/* Answer one notification with CONTINUE (or a result): 0 or -errno. */
int fl__sc_send(int lfd, uint64_t id, bool cont, int64_t val, int err);
/* Answer every call the table holds (the controller is gone). */
void fl__sc_flush(int lfd, struct fl__sc_table *tab);

/* Fork the keeper for listener lfd (double fork: it is not our child).
 * Returns the write end of the pipe whose closing hands over (keep it
 * open while supervising; CLOEXEC), or -errno. */
int fl__sc_keeper_start(int lfd, int tabfd);
/* The keeper's loop (also `faultline exec`'s): wait while ctl_fd is open,
 * then flush and pass everything through; with accept_fd >= 0 a drill that
 * connects gets the listener and the table (and ops, what the filter
 * notifies) and ctl_fd becomes its connection. reap > 0: our child, reaped
 * into *status when it exits (SIGCHLD must be blocked: ppoll takes it).
 * Returns when no process uses the filter. */
void fl__sc_keeper_loop(int lfd, int tabfd, int ctl_fd, int accept_fd, uint32_t ops,
			pid_t reap, int *status);

/* What `faultline exec` sends a drill with the listener and the table. */
#define FL_SC_HELLO_MAGIC 0x31435346u /* "FSC1" */
struct fl__sc_hello {
	uint32_t magic;
	uint32_t ops; /* the ops its filter notifies */
};

/* ---- the supervisor ---------------------------------------------------------- */
struct fl_sup;

struct fl_sup_stats {
	uint64_t notified; /* notifications received */
	uint64_t faults;   /* faults injected */
	uint64_t gone;     /* calls whose process went away before the answer */
	uint64_t full;     /* passed at once: the in-flight table was full */
	bool sync_wake;    /* SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP is set */
};

/* Serve listener lfd from loop l with the rules of c. Takes lfd; tabfd is
 * the in-flight table shared with a keeper (< 0: make one and start a
 * keeper). Returns 0 and *out, or -errno. */
int fl_sup_new(struct fl_loop *l, struct fl_ctl *c, int lfd, int tabfd,
	       struct fl_sup **out);
/* The supervisor holds conn, the connection to the `faultline exec`
 * keeper it got the listener from: closed when it is freed (or dies), so
 * the keeper passes everything again. */
void fl_sup_hold(struct fl_sup *s, int conn);
/* Answer every call waiting in a fault now (abort, drill end). */
void fl_sup_release(struct fl_sup *s);
void fl_sup_stats(const struct fl_sup *s, struct fl_sup_stats *st);
void fl_sup__free(struct fl_sup *s);

/* ---- `faultline exec` ---------------------------------------------------------- */
/* The socket of `faultline exec` process pid for block path ctl:
 * "<ctl>.sc.<pid>". */
int fl_sc_exec_sock_path(const char *ctl, pid_t pid, char *out, size_t len);
/* `faultline exec --ctl CTL [--ops MASK] -- CMD`: run cmd under a filter
 * for ops, untouched until a drill attaches; returns CMD's exit code. */
int fl_sc_exec_main(const char *ctl, uint32_t ops, char *const *cmd, bool verbose);
/* A drill on ctl: take the listener of every `faultline exec` serving it
 * ("<ctl>.sc.*"). Fills up to max entries; returns how many, or -errno
 * with a message in err. */
struct fl_sc_attached {
	int lfd, tabfd, conn;
	uint32_t ops;
	char path[256];
};
int fl_sc_exec_attach(const char *ctl, struct fl_sc_attached *out, int max,
		      char *err, size_t len);

#endif /* FL_SECCOMP_SUP_H */
