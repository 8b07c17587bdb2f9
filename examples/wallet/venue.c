/* venue.c — order routing at an exchange (a dependency simulator, not under
 * test).
 *
 *   venue [--port 9101] [--seed N]
 *
 * A persistent session carries one order per line:
 *   "ORDER <id> sell <qty> <limit>\n"   (limit 0: a market order)
 * and gets one reply per order, in order:
 *   "FILL <id> <qty> <px>\n"      the whole quantity
 *   "PARTIAL <id> <qty> <px>\n"   part of it (the rest is cancelled)
 *   "REJECT <id> <reason>\n"      nothing filled
 *
 * The book follows the market when FAULTLINE_MARKET is set: the fill price
 * is spot less half the spread and the order's impact on the depth; fills
 * turn partial once depth falls below half of its starting level (the
 * filled share is depth / (depth at start / 2)); rejections grow with
 * stress above 0.3 (up to 25 %); a venue that is down rejects everything
 * and one that is slow answers 200 ms late. A sell whose price falls below
 * its limit is rejected ("limit"). Without the market: calm, every order
 * fills at the calm price. One thread per session; prints READY once bound.
 */
#include "common.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t rng = 1;

static double unit(void)
{
	pthread_mutex_lock(&rng_lock);
	double u = wl_rng_unit(&rng);
	pthread_mutex_unlock(&rng_lock);
	return u;
}

/* The reply to one order line, written into out. */
static void route(const char *line, char *out, size_t cap)
{
	char id[64], side[8];
	double qty, limit, frac = 1, px, p_reject;
	struct wl_market m;

	if (sscanf(line, "ORDER %63s %7s %lf %lf", id, side, &qty, &limit) != 4 ||
	    strcmp(side, "sell") || !(qty > 0)) {
		snprintf(out, cap, "REJECT ? malformed\n");
		return;
	}
	wl_market_get(&m);
	if (m.venue_status == 3) {
		snprintf(out, cap, "REJECT %s venue_down\n", id);
		return;
	}
	if (m.venue_status == 1)
		wl_sleep_ms(200); /* a slow venue: its matching engine lags */
	p_reject = fmin(fmax((m.stress - 0.3) / 0.5, 0), 1) * 0.25;
	if (unit() < p_reject) {
		snprintf(out, cap, "REJECT %s risk_limits\n", id);
		return;
	}
	if (m.depth0_usd > 0 && m.depth_usd < m.depth0_usd / 2)
		frac = fmax(m.depth_usd / (m.depth0_usd / 2), 0.05);
	px = m.spot * (1 - m.spread_bps / 2e4 - 0.5 * qty * m.spot / fmax(m.depth_usd, 1e5));
	if (limit > 0 && px < limit) {
		snprintf(out, cap, "REJECT %s limit\n", id);
		return;
	}
	if (frac < 1)
		snprintf(out, cap, "PARTIAL %s %.6f %.2f\n", id, floor(qty * frac * 1e6) / 1e6, px);
	else
		snprintf(out, cap, "FILL %s %.6f %.2f\n", id, qty, px);
}

static void *session(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct wl_lines *l = malloc(sizeof(*l));
	char line[WL_LINE_MAX], out[160];

	if (l) {
		wl_lines_init(l, fd);
		while (wl_readline(l, line, sizeof(line)) >= 0) {
			route(line, out, sizeof(out));
			if (wl_write_all(fd, out, strlen(out)) < 0)
				break;
		}
		free(l);
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	long long port = WL_VENUE_PORT, seed = 1;

	for (int i = 1; i < argc; i++)
		if (!wl_flag_int(argc, argv, &i, "--port", &port) &&
		    !wl_flag_int(argc, argv, &i, "--seed", &seed))
			wl_usage_fail("venue", argv[i]);
	rng = (uint64_t)seed;
	wl_serve("venue", (int)port, session);

}
