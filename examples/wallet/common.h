/* common.h — the small library shared by the example wallet stack
 * (wallet, venue, custodian, feed, probe): loopback sockets, a line reader,
 * flag parsing, a private PRNG, and the FAULTLINE_MARKET subscriber the
 * dependency simulators use.
 *
 * Nothing here knows about faultline except the two documented sockets:
 * FAULTLINE_MARKET (read by the simulators) and FAULTLINE_EVENTS (written by
 * the probe). The wallet itself uses only the socket and flag helpers.
 * Functions return 0 (or a count / fd) on success and -errno on failure.
 */
#ifndef WL_COMMON_H
#define WL_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Defaults: the ports the bundled scenarios target. */
#define WL_VENUE_PORT 9101
#define WL_CUSTODIAN_PORT 9201
#define WL_FEED_PORT 9301
#define WL_WALLET_PORT 9401
#define WL_INITIAL_CENTS 1000000LL /* every account starts with 10,000.00 */
#define WL_LINE_MAX 4096

double wl_now_ms(void); /* CLOCK_MONOTONIC, ms */
void wl_sleep_ms(double ms);

/* A listening TCP socket on 127.0.0.1:port (SO_REUSEADDR, backlog 128). */
int wl_listen(int port);
/* A blocking TCP connect to 127.0.0.1:port, bounded by timeout_ms; the
 * socket gets SO_RCVTIMEO/SO_SNDTIMEO of io_timeout_ms (0: none). */
int wl_connect(int port, int timeout_ms, int io_timeout_ms);
int wl_write_all(int fd, const void *buf, size_t len);
/* Print "READY\n" on stdout once every listener is bound: the launcher
 * waits on it (no sleeps, no retries). */
void wl_ready(void);

/* The simulators' server: listen on 127.0.0.1:port, subscribe to the
 * market, print READY, then one detached thread per connection running
 * conn((void *)(intptr_t)fd) (conn closes fd). Never returns; exits 1 when
 * it cannot listen, with a message naming who. */
void wl_serve(const char *who, int port, void *(*conn)(void *));

/* Line reader over a blocking fd. wl_readline returns the line's length
 * (without "\n", NUL-terminated in out), -ECONNRESET at EOF, -errno else
 * (-EAGAIN when SO_RCVTIMEO expired). */
struct wl_lines {
	int fd;
	size_t len;
	char buf[WL_LINE_MAX * 2];
};
void wl_lines_init(struct wl_lines *l, int fd);
int wl_readline(struct wl_lines *l, char *out, size_t cap);

/* Flags: "--name VALUE". Each returns true when argv[*i] is that flag and
 * consumed its value; bad or missing values exit 2 with a message. */
bool wl_flag_int(int argc, char **argv, int *i, const char *name, long long *v);
bool wl_flag_num(int argc, char **argv, int *i, const char *name, double *v);
bool wl_flag_str(int argc, char **argv, int *i, const char *name, const char **v);
void wl_usage_fail(const char *prog, const char *arg);

/* splitmix64: a private, seedable PRNG (never rand()). */
uint64_t wl_rng_next(uint64_t *s);
double wl_rng_unit(uint64_t *s); /* [0, 1) */

/* The market as the simulators see it. Without FAULTLINE_MARKET (or before
 * the first tick) it is calm: live == false and the fields hold calm values. */
struct wl_market {
	bool live;    /* at least one tick received */
	bool ended;   /* the drill's {"type":"end"} arrived */
	uint64_t tick;
	double spot;
	double spread_bps;
	double depth_usd;
	double depth0_usd; /* depth at the first tick: the simulators' "normal" */
	double liq_queue_usd;
	double liq_usd_per_s_5m; /* liquidations, 5 min average */
	double stress;
	int venue_status; /* worst venue: 0 up, 1 slow, 2 stale, 3 down */
};
/* Subscribe to FAULTLINE_MARKET in a background thread when it is set.
 * who names the caller in its stderr notes. Returns 0 (also when unset). */
int wl_market_start(const char *who);
void wl_market_get(struct wl_market *m);
/* The calm price path shared by the feed and the venue when no market
 * runs: a slow, small oscillation around 60,000 on the system's monotonic
 * clock (the same in every process). */
double wl_calm_spot(void);

#endif
