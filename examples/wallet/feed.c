/* feed.c — a streaming quote feed (a dependency simulator, not under test).
 *
 *   feed [--port 9301] [--interval-ms 100]
 *
 * Every client gets "Q <seq> <price>\n" every interval. The price is the
 * market's spot when FAULTLINE_MARKET is set (a live scenario), else a calm
 * slow oscillation. While the worst venue is stale or down the feed goes
 * silent, as an exchange feed does: a consumer has to notice the age of its
 * last quote itself. One thread per client; prints READY once bound.
 */
#include "common.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static double interval_ms = 100;

static void *client(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint64_t seq = 0;
	char line[96];

	for (;;) {
		struct wl_market m;

		wl_market_get(&m);
		if (m.venue_status < 2) {
			int n = snprintf(line, sizeof(line), "Q %llu %.2f\n",
					 (unsigned long long)++seq, m.spot);

			if (wl_write_all(fd, line, (size_t)n) < 0)
				break;
		}
		wl_sleep_ms(interval_ms); /* the feed's publishing rate */
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	long long port = WL_FEED_PORT;

	for (int i = 1; i < argc; i++)
		if (!wl_flag_int(argc, argv, &i, "--port", &port) &&
		    !wl_flag_num(argc, argv, &i, "--interval-ms", &interval_ms))
			wl_usage_fail("feed", argv[i]);
	wl_serve("feed", (int)port, client);
}
