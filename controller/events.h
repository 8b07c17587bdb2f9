/*
 * events.h — FAULTLINE_EVENTS: the unix stream socket any program writes
 * its own account of the drill to (probes, metrics, invariants, marks).
 *
 * Clients connect and write JSON Lines, one object per line, at most
 * FL_EV_MAX_LINE bytes a line (README "Events"):
 *   {"type":"probe","name":"withdraw","ok":true,"latency_ms":12.5}
 *   {"type":"metric","name":"settlement_lag_ms","value":840}
 *   {"type":"invariant","name":"ledger_reconciles","ok":false,"detail":"..."}
 *   {"type":"mark","text":"froze withdrawals"}
 * plus an optional "src" in every record. Unknown keys are ignored (a newer
 * client may send more); a line that is not one of the above is counted as
 * malformed and dropped, never fatal.
 *
 * Invariants
 *  - The controller never blocks on a client: the listener and every
 *    connection are non-blocking, each connection has a fixed buffer of one
 *    line, and one wake-up reads at most FL_EV_READ_BUDGET bytes from it.
 *  - At most FL_EV_MAX_CONN clients at once; one more is accepted and closed
 *    at once (counted in `refused`).
 *  - cJSON stays in events.c: the callback gets a typed struct fl_event.
 *
 * Ownership: fl_events_open returns a server the caller frees with
 * fl_events_close (accepts NULL), which also removes the socket file.
 */
#ifndef FL_EVENTS_H
#define FL_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FL_EV_MAX_LINE 4096
#define FL_EV_MAX_CONN 64
#define FL_EV_READ_BUDGET 65536
#define FL_EV_NAME_MAX 64  /* probe/metric/invariant names, < 64 bytes */
#define FL_EV_TEXT_MAX 1024 /* mark text, invariant detail, < 1024 bytes */
#define FL_EV_SRC_MAX 32

enum fl_event_type {
	FL_EV_PROBE = 1,
	FL_EV_METRIC,
	FL_EV_INVARIANT,
	FL_EV_MARK,
};

struct fl_event {
	enum fl_event_type type;
	char name[FL_EV_NAME_MAX]; /* probe, metric, invariant */
	char src[FL_EV_SRC_MAX];   /* "" when not given */
	bool ok;                   /* probe, invariant */
	double latency_ms;         /* probe; NaN when not given */
	double value;              /* metric */
	char text[FL_EV_TEXT_MAX]; /* mark text, invariant detail ("" none) */
};

/* "probe", "metric", "invariant", "mark". */
const char *fl_event_type_name(enum fl_event_type t);

/* Parse one line (without its newline) into *out. Returns 0, or -EINVAL
 * with a short reason in `why` (may be NULL). */
int fl_event_parse(const char *line, size_t len, struct fl_event *out,
		   char *why, size_t whylen);

/* The events socket of a drill whose block is at `ctl`: "<ctl>.events"
 * (how `faultline mark --ctl PATH` finds it). 0 or -ENAMETOOLONG. */
int fl_events_path_for(const char *ctl, char *out, size_t len);

struct fl_loop;
struct fl_events;

/* Called for each well-formed record, in the order read from each client. */
typedef void fl_event_fn(const struct fl_event *ev, void *arg);

/* Who may connect: the socket file is 0600, given to uid/gid if chown. */
struct fl_events_owner {
	uid_t uid;
	gid_t gid;
	bool chown;
	bool replace; /* a socket file at the path is ours to replace */
};

/* Bind and listen on `path` (a stale socket file there is replaced, any
 * other file is not: -EEXIST). Returns 0 and *out, or -errno. */
int fl_events_open(const char *path, const struct fl_events_owner *own,
		   fl_event_fn *fn, void *arg, struct fl_events **out);
/* Watch the listener (and later clients) on loop l. 0 or -errno. */
int fl_events_add_to_loop(struct fl_events *ev, struct fl_loop *l);
/* Accept and read everything already queued, without waiting (the end of
 * a session: a probe's last lines are in the socket buffers). A client's
 * unfinished line is then counted as malformed: it can no longer land. */
void fl_events_drain(struct fl_events *ev);
void fl_events_close(struct fl_events *ev);

const char *fl_events_path(const struct fl_events *ev);

struct fl_events_stats {
	uint64_t records;   /* well-formed records delivered */
	uint64_t malformed; /* lines dropped */
	uint64_t refused;   /* connections over FL_EV_MAX_CONN */
	uint64_t clients;   /* connections accepted in all */
};
void fl_events_stats(const struct fl_events *ev, struct fl_events_stats *out);

/* Client side (`faultline mark`): connect to the events socket at `path`,
 * send a mark record {"type":"mark","text":TEXT,"src":"faultline mark"},
 * and wait up to timeout_ms for the controller to have read it (it closes
 * the connection after the last line). Returns 0, -EINVAL (text empty or
 * too long), -ETIMEDOUT, or -errno from socket/connect/write. */
int fl_events_send_mark(const char *path, const char *text, int timeout_ms);

/* Internal, shared with marketsock.c: a non-blocking CLOEXEC listener at
 * `path`, 0600 (given to own->uid/gid when own->chown). A socket file left by
 * a dead controller is replaced; a live one or any other file is -EEXIST. */
int fl__unix_listen(const char *path, const struct fl_events_owner *own,
		    int *fd_out);

#endif /* FL_EVENTS_H */
