/*
 * marketsock.h — FAULTLINE_MARKET: the read-only unix stream socket that
 * streams the drill's market to the program's own simulators.
 *
 * After connecting, a client receives one JSON line per published tick
 *   {"type":"tick","tick":N,"t_ms":..,"market_s":..,"signals":{NAME:X,...},
 *    "venues":{"NAME":"up|slow|stale|down",...}}
 * and {"type":"end"} when the drill ends. What a client writes is read and
 * thrown away.
 *
 * Invariants
 *  - Never blocks and never waits for a client: each has a bounded buffer
 *    (FL_MS_CLIENT_BUF); a tick line that does not fit is dropped for that
 *    client and counted. Writes are MSG_DONTWAIT | MSG_NOSIGNAL.
 *  - At most FL_MS_MAX_CONN clients; more are accepted and closed.
 *
 * Ownership: fl_marketsock_open returns a server freed (socket file removed)
 * by fl_marketsock_close, which accepts NULL.
 */
#ifndef FL_MARKETSOCK_H
#define FL_MARKETSOCK_H

#include <stddef.h>
#include <stdint.h>

#include "events.h" /* struct fl_events_owner */

#define FL_MS_MAX_CONN 32
#define FL_MS_CLIENT_BUF 65536

struct fl_loop;
struct fl_marketsock;

/* "<ctl>.market". 0 or -ENAMETOOLONG. */
int fl_marketsock_path_for(const char *ctl, char *out, size_t len);

int fl_marketsock_open(const char *path, const struct fl_events_owner *own,
		       struct fl_marketsock **out);
int fl_marketsock_add_to_loop(struct fl_marketsock *ms, struct fl_loop *l);
const char *fl_marketsock_path(const struct fl_marketsock *ms);

/* What one published tick says. */
struct fl_ms_tick {
	uint64_t tick;
	double t_ms, market_s;
	int nsig;
	const char *const *names;
	const double *vals;
	int nvenues;
	const char *const *venue_names;
	const char *const *venue_status; /* "up", "slow", "stale", "down" */
};

/* Send one tick line to every client (accepting pending ones first). */
void fl_marketsock_tick(struct fl_marketsock *ms, const struct fl_ms_tick *t);
/* Send {"type":"end"} to every client (once). */
void fl_marketsock_end(struct fl_marketsock *ms);
void fl_marketsock_close(struct fl_marketsock *ms);

struct fl_ms_stats {
	uint64_t clients; /* accepted in all */
	uint64_t lines;   /* tick lines queued to a client */
	uint64_t dropped; /* tick lines a slow client lost */
	uint64_t refused; /* connections over FL_MS_MAX_CONN */
};
void fl_marketsock_stats(const struct fl_marketsock *ms, struct fl_ms_stats *out);

#endif /* FL_MARKETSOCK_H */
