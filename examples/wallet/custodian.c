/* custodian.c — settlement with acknowledgements (a dependency simulator,
 * not under test).
 *
 *   custodian [--port 9201] [--initial-cents 1000000]
 *
 * Requests, one per line, any number per connection:
 *   "SETTLE <key> <ref> <account> <cents>\n" -> "ACK <key> <sid>\n"
 *                                             | "REJECT <key> <reason>\n"
 *       moves cents (negative: a withdrawal) on the account once it is
 *       processed; the reply is the acknowledgement of finality. <key> is an
 *       idempotency key: a SETTLE with a key already seen is never applied
 *       again, it gets the first one's reply (waiting for it if it is still
 *       queued). <ref> is the caller's operation id, kept for reconciliation.
 *   "BALANCE <account>\n"   -> "BALANCE <account> <cents>\n"  (final funds)
 *   "LIST <from_sid>\n"     -> "S <sid> <key> <ref> <account> <cents>\n"… "END\n"
 *   "STATS\n"               -> "STATS <queued> <oldest_ms> <settled> <rejected>\n"
 *
 * Settlements queue and one worker processes them in order (a real
 * custodian's signing/broadcast pipeline):  each takes 2 ms, plus up to
 * 300 ms as the market's stress rises and the liquidation queue fills
 * (FAULTLINE_MARKET), so a backlog builds under a shock and drains after it.
 * A withdrawal beyond the final balance is rejected ("insufficient"). Every
 * account starts with --initial-cents. One thread per connection; prints
 * READY once bound.
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

#define MAX_ACCOUNTS 1024
#define MAX_SETTLE (1 << 18)

enum { QUEUED, DONE };

struct entry {
	char key[64], ref[64], account[32];
	long long cents;
	int state;
	long long sid; /* > 0: applied; 0: rejected */
	double queued_at;
	struct entry *next_queued;
};

struct account {
	char name[32];
	long long cents;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queued = PTHREAD_COND_INITIALIZER;
static pthread_cond_t done = PTHREAD_COND_INITIALIZER;
static struct entry *entries[MAX_SETTLE]; /* by arrival; lookup by key is a scan */
static size_t n_entries;
static struct entry *settled[MAX_SETTLE]; /* by sid - 1 */
static long long n_settled, n_rejected;
static struct entry *q_head, *q_tail;
static size_t q_len;
static struct account accounts[MAX_ACCOUNTS];
static size_t n_accounts;
static long long initial_cents = WL_INITIAL_CENTS;

static struct account *account(const char *name)
{
	for (size_t i = 0; i < n_accounts; i++)
		if (!strcmp(accounts[i].name, name))
			return &accounts[i];
	if (n_accounts == MAX_ACCOUNTS)
		return NULL;
	snprintf(accounts[n_accounts].name, sizeof(accounts[0].name), "%s", name);
	accounts[n_accounts].cents = initial_cents;
	return &accounts[n_accounts++];
}

static struct entry *by_key(const char *key)
{
	for (size_t i = n_entries; i-- > 0;)
		if (!strcmp(entries[i]->key, key))
			return entries[i];
	return NULL;
}

/* Settlement congestion follows the liquidations: a cascade fills the
 * chain and the custodian's signing queue at once, and it clears over
 * seconds, not at the next tick (a peak held with a 6 s half-life). Called
 * by the worker only. */
static double service_ms(void)
{
	static double held, held_at;
	struct wl_market m;
	double now = wl_now_ms();

	wl_market_get(&m);
	double load = fmin(fmax(m.liq_usd_per_s_5m / 300e3, 0), 1);

	held = held_at ? held * exp2(-(now - held_at) / 6000) : 0;
	held_at = now;
	if (load > held)
		held = load;
	return 2 + 400 * held;
}

static void *worker(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;) {
		while (!q_head)
			pthread_cond_wait(&queued, &lock);
		struct entry *e = q_head;

		pthread_mutex_unlock(&lock);
		wl_sleep_ms(service_ms()); /* the work of settling, not a wait */
		pthread_mutex_lock(&lock);
		q_head = e->next_queued;
		if (!q_head)
			q_tail = NULL;
		q_len--;
		struct account *a = account(e->account);

		if (!a || (e->cents < 0 && a->cents + e->cents < 0)) {
			e->sid = 0;
			n_rejected++;
		} else {
			a->cents += e->cents;
			settled[n_settled] = e;
			e->sid = ++n_settled;
		}
		e->state = DONE;
		pthread_cond_broadcast(&done);
	}
	return arg;
}

static void settle(const char *line, char *out, size_t cap)
{
	struct entry *e, tmp;

	if (sscanf(line, "SETTLE %63s %63s %31s %lld", tmp.key, tmp.ref, tmp.account,
		   &tmp.cents) != 4) {
		snprintf(out, cap, "REJECT ? malformed\n");
		return;
	}
	pthread_mutex_lock(&lock);
	e = by_key(tmp.key);
	if (!e && n_entries < MAX_SETTLE && (e = malloc(sizeof(*e)))) {
		*e = tmp;
		e->state = QUEUED;
		e->queued_at = wl_now_ms();
		e->next_queued = NULL;
		entries[n_entries++] = e;
		if (q_tail)
			q_tail->next_queued = e;
		else
			q_head = e;
		q_tail = e;
		q_len++;
		pthread_cond_signal(&queued);
	}
	while (e && e->state != DONE)
		pthread_cond_wait(&done, &lock);
	if (!e)
		snprintf(out, cap, "REJECT %s full\n", tmp.key);
	else if (e->sid)
		snprintf(out, cap, "ACK %s %lld\n", tmp.key, e->sid);
	else
		snprintf(out, cap, "REJECT %s insufficient\n", tmp.key);
	pthread_mutex_unlock(&lock);
}

static int list(int fd, long long from)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int err = 0;

	pthread_mutex_lock(&lock);
	for (long long s = from > 0 ? from : 1; s <= n_settled && !err; s++) {
		const struct entry *e = settled[s - 1];
		char row[256];
		int n = snprintf(row, sizeof(row), "S %lld %s %s %s %lld\n", e->sid, e->key,
				 e->ref, e->account, e->cents);

		if (len + (size_t)n + 8 > cap) {
			char *nb = realloc(buf, cap = (cap + (size_t)n + 8) * 2);

			if (!nb)
				err = -1;
			else
				buf = nb;
		}
		if (!err) {
			memcpy(buf + len, row, (size_t)n);
			len += (size_t)n;
		}
	}
	pthread_mutex_unlock(&lock);
	if (!err && buf)
		err = wl_write_all(fd, buf, len);
	free(buf);
	return err ? err : wl_write_all(fd, "END\n", 4);
}

static void *conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	struct wl_lines *l = malloc(sizeof(*l));
	char line[WL_LINE_MAX], out[256], name[32];
	long long from;

	if (l) {
		wl_lines_init(l, fd);
		while (wl_readline(l, line, sizeof(line)) >= 0) {
			int err;

			if (!strncmp(line, "SETTLE ", 7)) {
				settle(line, out, sizeof(out));
			} else if (sscanf(line, "BALANCE %31s", name) == 1) {
				pthread_mutex_lock(&lock);
				struct account *a = account(name);

				snprintf(out, sizeof(out), "BALANCE %s %lld\n", name, a ? a->cents : 0);
				pthread_mutex_unlock(&lock);
			} else if (sscanf(line, "LIST %lld", &from) == 1) {
				if (list(fd, from) < 0)
					break;
				continue;
			} else if (!strcmp(line, "STATS")) {
				pthread_mutex_lock(&lock);
				snprintf(out, sizeof(out), "STATS %zu %.0f %lld %lld\n", q_len,
					 q_head ? wl_now_ms() - q_head->queued_at : 0.0, n_settled,
					 n_rejected);
				pthread_mutex_unlock(&lock);
			} else {
				snprintf(out, sizeof(out), "ERROR unknown request\n");
			}
			if ((err = wl_write_all(fd, out, strlen(out))) < 0)
				break;
		}
		free(l);
	}
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	long long port = WL_CUSTODIAN_PORT;
	pthread_t t;

	for (int i = 1; i < argc; i++)
		if (!wl_flag_int(argc, argv, &i, "--port", &port) &&
		    !wl_flag_int(argc, argv, &i, "--initial-cents", &initial_cents))
			wl_usage_fail("custodian", argv[i]);
	if (pthread_create(&t, NULL, worker, NULL)) {
		fprintf(stderr, "custodian: cannot start its worker\n");
		return 1;
	}
	wl_serve("custodian", (int)port, conn);
}
