/* wallet.c — the example wallet service: the system under test. faultline
 * wraps it unmodified; it knows nothing of faultline.
 *
 *   wallet [--port 9401] [--venue-port 9101] [--custodian-port 9201]
 *          [--feed-port 9301] [--ledger /tmp/faultline-wallet/ledger.log]
 *          [--initial-cents 1000000] [--venue-timeout-ms 1000]
 *          [--ack-timeout-ms 800] [--respond-ms 1500] [--max-quote-age-ms 1000]
 *          [--protect-bps 100] [--seed N]
 *          [--unsafe-early-credit] [--unsafe-retry] [--unsafe-stale-quote]
 *
 * One thread, one epoll loop, every socket non-blocking. An HTTP/1.1 JSON
 * API (keep-alive; amounts in integer cents):
 *   GET  /health                    {"ok":true,"pending_settlements":N,...}
 *   GET  /balance?account=A         {"account":A,"available":..,"pending_in":..,"pending_out":..}
 *   POST /withdraw {"account","amount","id"}   200 settled | 202 pending |
 *                                   409 insufficient | 503 custodian unavailable
 *   POST /order {"account","side":"sell","qty","id"}  sells qty coin at the venue:
 *        200 {"status":"filled"|"partial","qty","px","quote_px","proceeds",...}
 *        422 rejected by the venue | 503 quote stale / venue unavailable | 504 venue timeout
 *
 * Dependencies, each with its own timeouts, retries with backoff and a
 * circuit breaker (5 failures in a row open it for 2 s; then one trial):
 *   feed       one streaming connection, "Q <seq> <px>" lines; the time a
 *              quote ARRIVED is its age (the feed can go silent)
 *   venue      one persistent session, orders pipelined; an order not
 *              answered in --venue-timeout-ms is answered 504 and the
 *              session is reset (its state is unknown); connects are
 *              retried with backoff until the order's deadline; orders are
 *              never re-sent (a venue order is not idempotent)
 *   custodian  a connection per settlement attempt; an attempt not
 *              acknowledged in time is retried with exponential backoff and
 *              jitter (100 ms doubling to 2 s) until it is; an attempt waits
 *              --ack-timeout-ms or twice the recent ack time if longer, each
 *              retry twice as long as the last (to 8 s)
 *   ledger     every acknowledged settlement is appended to --ledger and
 *              fsynced before the wallet counts it as done (one JSON object a
 *              line; the acks of one loop iteration share one fsync)
 *
 * The safe behaviour is the default. The weak spots real wallets have, each
 * behind a flag so a drill can show the fix:
 *   --unsafe-early-credit  a sale's proceeds are available to spend when the
 *                          venue fills, before the custodian acknowledges the
 *                          settlement (default: only after the ack)
 *   --unsafe-retry         each settlement retry carries a new idempotency key,
 *                          so a retry after a late ack settles twice (default:
 *                          the same key on every attempt)
 *   --unsafe-stale-quote   orders are priced on the last quote whatever its age
 *                          and sent as market orders (default: a quote older than
 *                          --max-quote-age-ms refuses the order, and the order
 *                          carries a limit --protect-bps from the quote)
 */
#include "common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- configuration ----------------------------------------------------- */

static struct {
	long long port, venue_port, custodian_port, feed_port, initial_cents, seed;
	double venue_timeout_ms, ack_timeout_ms, respond_ms, max_quote_age_ms, protect_bps;
	const char *ledger;
	bool early_credit, unsafe_retry, stale_quote;
} cfg = { WL_WALLET_PORT, WL_VENUE_PORT, WL_CUSTODIAN_PORT, WL_FEED_PORT, WL_INITIAL_CENTS,
	  1, 1000, 800, 1500, 1000, 100, "/tmp/faultline-wallet/ledger.log", false, false,
	  false };

static int ep;
static int ledger_fd = -1;
static uint64_t rng;
static volatile sig_atomic_t stop;

/* ---- the loop: fd handlers and timers ----------------------------------- */

struct handler {
	void (*fn)(struct handler *h, uint32_t events);
	int fd;
};

struct timer {
	double at;
	void (*fn)(struct timer *t);
	struct timer *prev, *next;
	bool armed;
};

static struct timer *timers;

static void timer_cancel(struct timer *t)
{
	if (!t->armed)
		return;
	if (t->prev)
		t->prev->next = t->next;
	else
		timers = t->next;
	if (t->next)
		t->next->prev = t->prev;
	t->armed = false;
}

static void timer_set(struct timer *t, double in_ms, void (*fn)(struct timer *))
{
	timer_cancel(t);
	t->at = wl_now_ms() + in_ms;
	t->fn = fn;
	t->prev = NULL;
	t->next = timers;
	if (timers)
		timers->prev = t;
	timers = t;
	t->armed = true;
}

static int watch(struct handler *h, int op, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = h };

	return epoll_ctl(ep, op, h->fd, &ev) < 0 ? -errno : 0;
}

static void unwatch_close(struct handler *h)
{
	if (h->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, h->fd, NULL);
		close(h->fd);
	}
	h->fd = -1;
}

/* A non-blocking connect to 127.0.0.1:port; readiness for writing says it
 * finished (SO_ERROR tells how). */
static int start_connect(struct handler *h, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0)
		return -errno;
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(h->fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
		int err = -errno;

		close(h->fd);
		h->fd = -1;
		return err;
	}
	return watch(h, EPOLL_CTL_ADD, EPOLLOUT | EPOLLIN);
}

static int connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

/* Reads what is there into buf; returns 0, or -ECONNRESET at EOF, -errno. */
static int drain_in(int fd, char *buf, size_t *len, size_t cap)
{
	for (;;) {
		if (*len == cap)
			return -EMSGSIZE;
		ssize_t n = recv(fd, buf + *len, cap - *len, 0);

		if (n > 0) {
			*len += (size_t)n;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -errno;
	}
}

/* Takes one "\n"-terminated line out of buf (NUL-terminated in out). */
static bool take_line(char *buf, size_t *len, char *out, size_t cap)
{
	char *nl = memchr(buf, '\n', *len);

	if (!nl)
		return false;
	size_t n = (size_t)(nl - buf), c = n < cap - 1 ? n : cap - 1;

	memcpy(out, buf, c);
	out[c] = '\0';
	*len -= n + 1;
	memmove(buf, nl + 1, *len);
	return true;
}

/* ---- circuit breakers ---------------------------------------------------- */

struct breaker {
	const char *name;
	int fails;
	bool open, trial;
	double open_until;
};

static struct breaker venue_cb = { "venue", 0, false, false, 0 };
static struct breaker cust_cb = { "custodian", 0, false, false, 0 };

/* May a call go out now? Open: no until the cool-down ends; then exactly
 * one trial call (half-open) decides. */
static bool cb_allow(struct breaker *b)
{
	if (!b->open)
		return true;
	if (wl_now_ms() < b->open_until || b->trial)
		return false;
	b->trial = true;
	return true;
}

static void cb_result(struct breaker *b, bool ok)
{
	b->trial = false;
	if (ok) {
		if (b->open)
			fprintf(stderr, "wallet: %s circuit closed\n", b->name);
		b->fails = 0;
		b->open = false;
		return;
	}
	if (++b->fails >= 5 || b->open) {
		if (!b->open)
			fprintf(stderr, "wallet: %s circuit open after %d failures\n", b->name,
				b->fails);
		b->open = true;
		b->open_until = wl_now_ms() + 2000;
	}
}

static const char *cb_state(const struct breaker *b)
{
	return !b->open ? "closed" : wl_now_ms() < b->open_until ? "open" : "half-open";
}

/* ---- accounts ----------------------------------------------------------- */

struct account {
	char name[32];
	long long available, pending_in, pending_out;
};

static struct account accounts[1024];
static size_t n_accounts;

static bool valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (!n || n >= max)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static struct account *account(const char *name)
{
	if (!valid_name(name, sizeof(accounts[0].name)))
		return NULL;
	for (size_t i = 0; i < n_accounts; i++)
		if (!strcmp(accounts[i].name, name))
			return &accounts[i];
	if (n_accounts == sizeof(accounts) / sizeof(accounts[0]))
		return NULL;
	struct account *a = &accounts[n_accounts++];

	snprintf(a->name, sizeof(a->name), "%s", name);
	a->available = cfg.initial_cents;
	return a;
}

/* ---- HTTP clients ------------------------------------------------------- */

struct client {
	struct handler h;
	char in[16384];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	bool busy;       /* a request is being served (its answer is deferred) */
	bool close_after;
	bool dead;       /* closed; freed when nothing refers to it */
	int refs;        /* deferred operations still holding it */
	struct client *grave_next;
};

/* Clients whose last reference went during a batch of events are freed
 * after it: a later event of the same batch may still name them. */
static struct client *graveyard;

static void client_pump(struct client *c);

static void client_release(struct client *c)
{
	if (--c->refs == 0 && c->dead) {
		c->grave_next = graveyard;
		graveyard = c;
	}
}

static void client_close(struct client *c)
{
	if (c->dead)
		return;
	unwatch_close(&c->h);
	c->dead = true;
	client_release(c); /* the loop's own reference */
}

static void client_flush(struct client *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->h.fd, c->out + c->out_off, c->out_len - c->out_off,
				 MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			watch(&c->h, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
			return;
		}
		if (n < 0) {
			client_close(c);
			return;
		}
		c->out_off += (size_t)n;
	}
	c->out_len = c->out_off = 0;
	watch(&c->h, EPOLL_CTL_MOD, EPOLLIN);
	if (c->close_after)
		client_close(c);
}

/* Answers the client's current request; the next one (pipelined) is served. */
static void reply(struct client *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void reply(struct client *c, int status, const char *fmt, ...)
{
	const char *reason = status == 200 ? "OK" : status == 202 ? "Accepted" :
			     status == 400 ? "Bad Request" : status == 404 ? "Not Found" :
			     status == 409 ? "Conflict" : status == 422 ? "Unprocessable Entity" :
			     status == 503 ? "Service Unavailable" : status == 504 ? "Gateway Timeout" :
			     "Error";
	char body[1024], head[256];
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	int bn = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (bn < 0 || (size_t)bn >= sizeof(body))
		bn = snprintf(body, sizeof(body), "{\"error\":\"response too long\"}");
	int hn = snprintf(head, sizeof(head),
			  "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
			  "Content-Length: %d\r\nConnection: %s\r\n\r\n",
			  status, reason, bn + 1, c->close_after ? "close" : "keep-alive");
	char *nb = realloc(c->out, c->out_len + (size_t)hn + (size_t)bn + 1);

	if (!nb) {
		client_close(c);
		return;
	}
	c->out = nb;
	memcpy(c->out + c->out_len, head, (size_t)hn);
	memcpy(c->out + c->out_len + hn, body, (size_t)bn);
	c->out[c->out_len + (size_t)hn + (size_t)bn] = '\n';
	c->out_len += (size_t)hn + (size_t)bn + 1;
	c->busy = false;
	client_flush(c);
	if (!c->dead)
		client_pump(c);
}

/* ---- the quote ---------------------------------------------------------- */

static struct {
	struct handler h;
	struct timer retry;
	char in[8192];
	size_t in_len;
	int attempts;
	bool up;
	double px, at; /* the last quote and when it arrived (0: none yet) */
} feed = { .h.fd = -1 };

static void feed_connect(struct timer *t);

static void feed_down(void)
{
	unwatch_close(&feed.h);
	feed.up = false;
	feed.in_len = 0;
	feed.attempts++;
	timer_set(&feed.retry, fmin(50.0 * (1 << (feed.attempts < 5 ? feed.attempts : 5)), 1000),
		  feed_connect);
}

static void feed_event(struct handler *h, uint32_t ev)
{
	char line[128];
	double px;

	if (!feed.up) {
		if (connect_result(h->fd) < 0) {
			feed_down();
			return;
		}
		feed.up = true;
		feed.attempts = 0;
		watch(h, EPOLL_CTL_MOD, EPOLLIN);
	}
	int err = drain_in(h->fd, feed.in, &feed.in_len, sizeof(feed.in));

	while (take_line(feed.in, &feed.in_len, line, sizeof(line)))
		if (sscanf(line, "Q %*u %lf", &px) == 1 && px > 0) {
			feed.px = px;
			feed.at = wl_now_ms();
		}
	if (err < 0 || (ev & (EPOLLERR | EPOLLHUP)))
		feed_down();
}

static void feed_connect(struct timer *t)
{
	feed.h.fn = feed_event;
	if (start_connect(&feed.h, (int)cfg.feed_port) < 0)
		feed_down();
}

/* ---- the custodian: settlements ----------------------------------------- */

struct settlement {
	struct handler h;
	struct timer t;       /* the attempt's timeout, or the backoff before the next */
	struct timer respond; /* a withdrawal answers 202 "pending" when this fires */
	char ref[64], key[80], account[32];
	long long cents;      /* > 0 proceeds in, < 0 a withdrawal */
	bool early_credited, connected;
	int attempt;
	double started, attempt_at;
	struct client *c;     /* a withdrawal waiting for its answer */
	char in[512];
	size_t in_len;
	struct settlement *prev, *next;
};

static struct settlement *settlements; /* every settlement not yet final */
static size_t n_pending;
static long long ledger_errors, settle_retries, settled_total;
static double ack_ewma_ms; /* how long acks take lately (0: none seen yet) */

static void settle_attempt(struct timer *t);

static void settlement_unlink(struct settlement *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		settlements = s->next;
	if (s->next)
		s->next->prev = s->prev;
	n_pending--;
}

static void settlement_free(struct settlement *s)
{
	timer_cancel(&s->t);
	timer_cancel(&s->respond);
	unwatch_close(&s->h);
	settlement_unlink(s);
	if (s->c)
		client_release(s->c);
	free(s);
}

/* Acknowledged settlements wait here for the ledger: once per loop
 * iteration they are appended together and fsynced once (group commit),
 * and only then count as final. One fsync per settlement would let a slow
 * disk stall the loop once per settlement. */
static long long commit_sid[4096];
static struct settlement *commit_q[4096];
static size_t n_commit;

static void settle_final(struct settlement *s, bool acked, long long sid, const char *why);
static void settle_retry(struct settlement *s);

static void commit_enqueue(struct settlement *s, long long sid)
{
	timer_cancel(&s->t);
	unwatch_close(&s->h);
	if (n_commit == sizeof(commit_q) / sizeof(commit_q[0])) {
		settle_retry(s); /* the custodian replays the ack: the key is the same */
		return;
	}
	commit_q[n_commit] = s;
	commit_sid[n_commit++] = sid;
}

static void commit_flush(void)
{
	size_t len = 0;
	char *buf;

	if (!n_commit)
		return;
	buf = malloc(n_commit * 256);
	for (size_t i = 0; buf && i < n_commit; i++) {
		const struct settlement *s = commit_q[i];

		len += (size_t)snprintf(buf + len, 256,
					"{\"ref\":\"%s\",\"key\":\"%s\",\"sid\":%lld,\"account\":\"%s\",\"cents\":%lld}\n",
					s->ref, s->key, commit_sid[i], s->account, s->cents);
	}
	if (!buf || write(ledger_fd, buf, len) != (ssize_t)len || fsync(ledger_fd) < 0) {
		ledger_errors += (long long)n_commit;
		fprintf(stderr, "wallet: ledger append of %zu settlements failed: %s\n", n_commit,
			strerror(errno));
	}
	free(buf);
	for (size_t i = 0; i < n_commit; i++)
		settle_final(commit_q[i], true, commit_sid[i], NULL);
	n_commit = 0;
}

static void settle_final(struct settlement *s, bool acked, long long sid, const char *why)
{
	struct account *a = account(s->account);

	if (a && s->cents > 0) {
		a->pending_in -= s->early_credited ? 0 : s->cents;
		if (acked && !s->early_credited)
			a->available += s->cents;
		if (!acked && s->early_credited)
			a->available -= s->cents;
	} else if (a) {
		a->pending_out += s->cents;
		if (!acked)
			a->available -= s->cents; /* the withdrawal is refunded */
	}
	settled_total += acked;
	if (s->c && !s->c->dead && s->c->busy) {
		if (acked)
			reply(s->c, 200, "{\"status\":\"settled\",\"id\":\"%s\",\"sid\":%lld,"
				 "\"attempts\":%d}", s->ref + 2, sid, s->attempt + 1);
		else
			reply(s->c, 409, "{\"error\":\"custodian rejected: %s\",\"id\":\"%s\"}",
			      why, s->ref + 2);
	}
	settlement_free(s);
}

static void settle_retry(struct settlement *s)
{
	double backoff = fmin(100.0 * (1 << (s->attempt < 5 ? s->attempt : 5)), 2000);

	unwatch_close(&s->h);
	s->in_len = 0;
	s->connected = false;
	s->attempt++;
	settle_retries++;
	/* Jitter spreads a herd of retries; the breaker may hold them longer. */
	backoff *= 0.5 + wl_rng_unit(&rng);
	if (cust_cb.open && cust_cb.open_until - wl_now_ms() > backoff)
		backoff = cust_cb.open_until - wl_now_ms();
	timer_set(&s->t, backoff, settle_attempt);
}

static void settle_timeout(struct timer *t)
{
	struct settlement *s = (struct settlement *)((char *)t - offsetof(struct settlement, t));

	cb_result(&cust_cb, false);
	settle_retry(s);
}

static void settle_event(struct handler *h, uint32_t ev)
{
	struct settlement *s = (struct settlement *)h;
	char line[256], key[80], reason[64];
	long long sid;

	if (!s->connected) {
		if (connect_result(h->fd) < 0) {
			timer_cancel(&s->t);
			cb_result(&cust_cb, false);
			settle_retry(s);
			return;
		}
		s->connected = true;
		char req[256];
		int n = snprintf(req, sizeof(req), "SETTLE %s %s %s %lld\n", s->key, s->ref,
				 s->account, s->cents);

		/* A fresh socket takes 100 bytes whole, or the attempt failed. */
		if (send(h->fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
			timer_cancel(&s->t);
			cb_result(&cust_cb, false);
			settle_retry(s);
			return;
		}
		watch(h, EPOLL_CTL_MOD, EPOLLIN);
	}
	int err = drain_in(h->fd, s->in, &s->in_len, sizeof(s->in));

	if (take_line(s->in, &s->in_len, line, sizeof(line))) {
		timer_cancel(&s->t);
		cb_result(&cust_cb, true);
		if (sscanf(line, "ACK %79s %lld", key, &sid) == 2 && !strcmp(key, s->key)) {
			double lat = wl_now_ms() - s->attempt_at;

			ack_ewma_ms = ack_ewma_ms > 0 ? 0.8 * ack_ewma_ms + 0.2 * lat : lat;
			commit_enqueue(s, sid);
			return;
		}
		if (sscanf(line, "REJECT %79s %63s", key, reason) == 2 &&
		    !strcmp(reason, "insufficient")) {
			settle_final(s, false, 0, reason);
			return;
		}
		fprintf(stderr, "wallet: custodian answered '%s' for %s; retrying\n", line, s->ref);
		settle_retry(s);
		return;
	}
	if (err < 0 || (ev & (EPOLLERR | EPOLLHUP))) {
		timer_cancel(&s->t);
		cb_result(&cust_cb, false);
		settle_retry(s);
	}
}

static void settle_attempt(struct timer *t)
{
	struct settlement *s = (struct settlement *)((char *)t - offsetof(struct settlement, t));

	if (!cb_allow(&cust_cb)) {
		timer_set(&s->t, fmax(cust_cb.open_until - wl_now_ms(), 50), settle_attempt);
		return;
	}
	/* The weak spot: a new key per attempt makes a retry a new settlement. */
	if (cfg.unsafe_retry && s->attempt > 0)
		snprintf(s->key, sizeof(s->key), "%s.%d", s->ref, s->attempt);
	s->h.fn = settle_event;
	if (start_connect(&s->h, (int)cfg.custodian_port) < 0) {
		cb_result(&cust_cb, false);
		settle_retry(s);
		return;
	}
	/* The wait adapts, as TCP's retransmission timeout does: at least
	 * --ack-timeout-ms, at least twice what acks take lately, and twice as
	 * long on each retry (to 8 s) — a custodian that is slow but alive is
	 * heard instead of retried forever. */
	s->attempt_at = wl_now_ms();
	timer_set(&s->t, fmin(fmax(cfg.ack_timeout_ms, 2 * ack_ewma_ms) *
				   (1 << (s->attempt < 4 ? s->attempt : 4)), 8000),
		  settle_timeout);
}

static void settle_respond(struct timer *t)
{
	struct settlement *s =
		(struct settlement *)((char *)t - offsetof(struct settlement, respond));

	if (s->c && !s->c->dead && s->c->busy)
		reply(s->c, 202, "{\"status\":\"pending\",\"id\":\"%s\",\"attempts\":%d}",
		      s->ref + 2, s->attempt + 1);
	if (s->c)
		client_release(s->c);
	s->c = NULL;
}

static struct settlement *settle_start(const char *ref, const char *acct, long long cents,
				       struct client *c)
{
	struct settlement *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->h.fd = -1;
	snprintf(s->ref, sizeof(s->ref), "%s", ref);
	snprintf(s->key, sizeof(s->key), "%s", ref);
	snprintf(s->account, sizeof(s->account), "%s", acct);
	s->cents = cents;
	s->started = wl_now_ms();
	s->next = settlements;
	if (settlements)
		settlements->prev = s;
	settlements = s;
	n_pending++;
	if (c) {
		s->c = c;
		c->refs++;
		timer_set(&s->respond, cfg.respond_ms, settle_respond);
	}
	settle_attempt(&s->t);
	return s;
}

/* ---- the venue: orders -------------------------------------------------- */

struct order {
	struct timer deadline;
	char id[64], account[32];
	double qty, quote_px, quote_age_ms, limit;
	bool sent;
	struct client *c;
	struct order *next;
};

static struct {
	struct handler h;
	struct timer retry;
	bool up, connecting;
	int attempts;
	char in[16384];
	size_t in_len;
	struct order *sent, *waiting; /* FIFO of orders on the wire; orders waiting for a session */
} venue = { .h.fd = -1 };

static long long orders_filled, orders_partial, orders_rejected, orders_timed_out;

static void venue_connect(struct timer *t);

static void order_done(struct order *o)
{
	timer_cancel(&o->deadline);
	client_release(o->c);
	free(o);
}

static void order_fail(struct order *o, int status, const char *why)
{
	if (o->c->busy)
		reply(o->c, status, "{\"error\":\"%s\",\"id\":\"%s\"}", why, o->id);
	order_done(o);
}

static bool unlink_order(struct order **list, struct order *o)
{
	for (struct order **p = list; *p; p = &(*p)->next)
		if (*p == o) {
			*p = o->next;
			return true;
		}
	return false;
}

/* The session's state is unknown after a timeout or an error: drop it. */
static void venue_reset(const char *why)
{
	unwatch_close(&venue.h);
	venue.up = venue.connecting = false;
	venue.in_len = 0;
	while (venue.sent) {
		struct order *o = venue.sent;

		venue.sent = o->next;
		orders_timed_out++;
		order_fail(o, 504, why);
	}
	if (venue.waiting && !venue.retry.armed) {
		venue.attempts++;
		timer_set(&venue.retry,
			  fmin(50.0 * (1 << (venue.attempts < 5 ? venue.attempts : 5)), 1000),
			  venue_connect);
	}
}

static void order_send(struct order *o)
{
	char line[160];
	int n = snprintf(line, sizeof(line), "ORDER %s sell %.6f %.2f\n", o->id, o->qty, o->limit);

	/* Orders are short; a session whose send buffer is full is stuck. */
	if (send(venue.h.fd, line, (size_t)n, MSG_NOSIGNAL) != n) {
		o->next = venue.sent;
		venue.sent = o;
		cb_result(&venue_cb, false);
		venue_reset("venue send failed; outcome unknown");
		return;
	}
	o->sent = true;
	o->next = NULL;
	struct order **p = &venue.sent;

	while (*p)
		p = &(*p)->next;
	*p = o;
}

static void order_filled(struct order *o, bool partial, double qty, double px)
{
	struct account *a = account(o->account);
	long long cents = llround(qty * px * 100);
	char ref[72];

	partial ? orders_partial++ : orders_filled++;
	snprintf(ref, sizeof(ref), "o-%s", o->id);
	struct settlement *s = settle_start(ref, o->account, cents, NULL);

	if (s && a) {
		/* The weak spot: spendable before the custodian says it is final. */
		s->early_credited = cfg.early_credit;
		if (cfg.early_credit)
			a->available += cents;
		else
			a->pending_in += cents;
	}
	reply(o->c, 200,
	      "{\"status\":\"%s\",\"id\":\"%s\",\"qty\":%.6f,\"px\":%.2f,\"quote_px\":%.2f,"
	      "\"quote_age_ms\":%.0f,\"proceeds\":%lld,\"settlement\":\"%s\"}",
	      partial ? "partial" : "filled", o->id, qty, px, o->quote_px, o->quote_age_ms, cents,
	      s ? "pending" : "failed");
	order_done(o);
}

static void venue_line(const char *line)
{
	char kind[16], id[64], rest[64];
	double qty, px;
	struct order *o = venue.sent;

	if (sscanf(line, "%15s %63s", kind, id) != 2)
		return;
	while (o && strcmp(o->id, id))
		o = o->next;
	if (!o) /* an answer to an order already given up on */
		return;
	unlink_order(&venue.sent, o);
	cb_result(&venue_cb, true);
	if ((!strcmp(kind, "FILL") || !strcmp(kind, "PARTIAL")) &&
	    sscanf(line, "%*s %*s %lf %lf", &qty, &px) == 2 && qty > 0 && px > 0) {
		order_filled(o, kind[0] == 'P', qty, px);
		return;
	}
	if (sscanf(line, "REJECT %*s %63s", rest) != 1)
		snprintf(rest, sizeof(rest), "unknown");
	orders_rejected++;
	if (o->c->busy)
		reply(o->c, 422, "{\"error\":\"rejected by the venue\",\"reason\":\"%s\",\"id\":\"%s\","
				 "\"quote_px\":%.2f}", rest, o->id, o->quote_px);
	order_done(o);
}

static void venue_event(struct handler *h, uint32_t ev)
{
	char line[256];

	if (venue.connecting) {
		if (connect_result(h->fd) < 0) {
			cb_result(&venue_cb, false);
			venue_reset("venue unreachable");
			return;
		}
		venue.connecting = false;
		venue.up = true;
		venue.attempts = 0;
		watch(h, EPOLL_CTL_MOD, EPOLLIN);
		while (venue.waiting && venue.up) {
			struct order *o = venue.waiting;

			venue.waiting = o->next;
			order_send(o);
		}
		return;
	}
	int err = drain_in(h->fd, venue.in, &venue.in_len, sizeof(venue.in));

	while (take_line(venue.in, &venue.in_len, line, sizeof(line)))
		venue_line(line);
	if (err < 0 || (ev & (EPOLLERR | EPOLLHUP))) {
		cb_result(&venue_cb, false);
		venue_reset("venue session lost; outcome unknown");
	}
}

static void venue_connect(struct timer *t)
{
	if (venue.up || venue.connecting)
		return;
	venue.h.fn = venue_event;
	if (start_connect(&venue.h, (int)cfg.venue_port) < 0) {
		cb_result(&venue_cb, false);
		venue_reset("venue unreachable");
		return;
	}
	venue.connecting = true;
}

static void order_deadline(struct timer *t)
{
	struct order *o = (struct order *)t;

	orders_timed_out++;
	if (unlink_order(&venue.waiting, o)) {
		order_fail(o, 504, "venue unreachable");
		return;
	}
	/* Sent and unanswered: the session is suspect. */
	cb_result(&venue_cb, false);
	venue_reset("venue timeout; outcome unknown");
}

/* ---- the API ------------------------------------------------------------ */

static const char *jstr(const cJSON *j, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void api_order(struct client *c, const cJSON *j)
{
	const char *acct = jstr(j, "account"), *id = jstr(j, "id"), *side = jstr(j, "side");
	const cJSON *q = cJSON_GetObjectItemCaseSensitive(j, "qty");
	double now = wl_now_ms(), age = feed.at > 0 ? now - feed.at : INFINITY;

	if (!acct || !account(acct) || !id || !valid_name(id, 60) || !side ||
	    strcmp(side, "sell") || !cJSON_IsNumber(q) || !(q->valuedouble > 0) ||
	    q->valuedouble > 1000) {
		reply(c, 400, "{\"error\":\"expected {\\\"account\\\",\\\"id\\\",\\\"side\\\":"
			      "\\\"sell\\\",\\\"qty\\\":0<n<=1000}\"}");
		return;
	}
	if (feed.at == 0 || (!cfg.stale_quote && age > cfg.max_quote_age_ms)) {
		reply(c, 503, "{\"error\":\"quote stale\",\"quote_age_ms\":%.0f}",
		      isfinite(age) ? age : -1.0);
		return;
	}
	if (!cb_allow(&venue_cb)) {
		reply(c, 503, "{\"error\":\"venue unavailable (circuit open)\"}");
		return;
	}
	struct order *o = calloc(1, sizeof(*o));

	if (!o) {
		reply(c, 503, "{\"error\":\"out of memory\"}");
		return;
	}
	snprintf(o->id, sizeof(o->id), "%s", id);
	snprintf(o->account, sizeof(o->account), "%s", acct);
	o->qty = q->valuedouble;
	o->quote_px = feed.px;
	o->quote_age_ms = age;
	/* Safe: a limit bounds the fill to what the user was shown. Trusting the
	 * quote, the weak wallet sees no need for one. */
	o->limit = cfg.stale_quote ? 0 : floor(feed.px * (1 - cfg.protect_bps / 1e4) * 100) / 100;
	o->c = c;
	c->refs++;
	timer_set(&o->deadline, cfg.venue_timeout_ms, order_deadline);
	if (venue.up) {
		order_send(o);
		return;
	}
	o->next = venue.waiting;
	venue.waiting = o;
	if (!venue.connecting && !venue.retry.armed)
		venue_connect(NULL);
}

static void api_withdraw(struct client *c, const cJSON *j)
{
	const char *acct = jstr(j, "account"), *id = jstr(j, "id");
	const cJSON *amt = cJSON_GetObjectItemCaseSensitive(j, "amount");
	struct account *a = acct ? account(acct) : NULL;
	char ref[72];

	if (!a || !id || !valid_name(id, 60) || !cJSON_IsNumber(amt) || amt->valuedouble < 1 ||
	    amt->valuedouble > 1e12 || amt->valuedouble != floor(amt->valuedouble)) {
		reply(c, 400, "{\"error\":\"expected {\\\"account\\\",\\\"id\\\",\\\"amount\\\":"
			      "cents}\"}");
		return;
	}
	long long cents = (long long)amt->valuedouble;

	if (a->available < cents) {
		reply(c, 409, "{\"error\":\"insufficient funds\",\"available\":%lld}", a->available);
		return;
	}
	if (cust_cb.open && wl_now_ms() < cust_cb.open_until) {
		reply(c, 503, "{\"error\":\"custodian unavailable (circuit open)\"}");
		return;
	}
	snprintf(ref, sizeof(ref), "w-%s", id);
	a->available -= cents;
	a->pending_out += cents;
	if (!settle_start(ref, acct, -cents, c)) {
		a->available += cents;
		a->pending_out -= cents;
		reply(c, 503, "{\"error\":\"out of memory\"}");
	}
}

static void api_balance(struct client *c, const char *query)
{
	char name[32] = "";
	struct account *a;

	if (query)
		sscanf(query, "account=%31[A-Za-z0-9._-]", name);
	if (!(a = account(name))) {
		reply(c, 400, "{\"error\":\"expected ?account=NAME\"}");
		return;
	}
	reply(c, 200, "{\"account\":\"%s\",\"available\":%lld,\"pending_in\":%lld,"
		      "\"pending_out\":%lld}", a->name, a->available, a->pending_in, a->pending_out);
}

static void api_health(struct client *c)
{
	double age = feed.at > 0 ? wl_now_ms() - feed.at : -1;

	reply(c, 200,
	      "{\"ok\":true,\"pending_settlements\":%zu,\"settled\":%lld,\"settle_retries\":%lld,"
	      "\"ledger_errors\":%lld,\"orders_filled\":%lld,\"orders_partial\":%lld,"
	      "\"orders_rejected\":%lld,\"orders_timed_out\":%lld,\"quote_age_ms\":%.0f,"
	      "\"venue_circuit\":\"%s\",\"custodian_circuit\":\"%s\"}",
	      n_pending, settled_total, settle_retries, ledger_errors, orders_filled,
	      orders_partial, orders_rejected, orders_timed_out, age, cb_state(&venue_cb),
	      cb_state(&cust_cb));
}

static void dispatch(struct client *c, const char *method, char *path, const char *body)
{
	char *query = strchr(path, '?');
	cJSON *j;

	if (query)
		*query++ = '\0';
	if (!strcmp(method, "GET") && !strcmp(path, "/health"))
		return api_health(c);
	if (!strcmp(method, "GET") && !strcmp(path, "/balance"))
		return api_balance(c, query);
	if (strcmp(method, "POST") || (strcmp(path, "/withdraw") && strcmp(path, "/order"))) {
		reply(c, 404, "{\"error\":\"no such endpoint\"}");
		return;
	}
	if (!(j = cJSON_Parse(body)) || !cJSON_IsObject(j)) {
		cJSON_Delete(j);
		reply(c, 400, "{\"error\":\"body is not a JSON object\"}");
		return;
	}
	if (!strcmp(path, "/order"))
		api_order(c, j);
	else
		api_withdraw(c, j);
	cJSON_Delete(j);
}

/* Serves the next complete request in the buffer, if the client is idle. */
static void client_pump(struct client *c)
{
	while (!c->dead && !c->busy) {
		char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
		char method[8], path[256];
		long clen = 0;

		if (!end)
			return;
		*end = '\0';
		const char *cl = strcasestr(c->in, "\r\ncontent-length:");
		size_t head = (size_t)(end - c->in) + 4;

		if (cl)
			clen = strtol(cl + 17, NULL, 10);
		if (clen < 0 || clen > 8192 || sscanf(c->in, "%7s %255s", method, path) != 2) {
			c->close_after = true;
			c->busy = true;
			reply(c, 400, "{\"error\":\"bad request\"}");
			return;
		}
		if (c->in_len < head + (size_t)clen) {
			*end = '\r'; /* not all of the body yet */
			return;
		}
		if (strcasestr(c->in, "\r\nconnection: close"))
			c->close_after = true;
		char body[8193];

		memcpy(body, c->in + head, (size_t)clen);
		body[clen] = '\0';
		c->in_len -= head + (size_t)clen;
		memmove(c->in, c->in + head + clen, c->in_len);
		c->busy = true;
		dispatch(c, method, path, body);
	}
}

static void client_event(struct handler *h, uint32_t ev)
{
	struct client *c = (struct client *)h;

	if (c->dead)
		return;
	c->refs++; /* a reply inside may close it */
	if (ev & EPOLLOUT)
		client_flush(c);
	if (!c->dead && (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))) {
		int err = drain_in(h->fd, c->in, &c->in_len, sizeof(c->in) - 1);

		client_pump(c);
		if (err < 0 && !c->dead)
			client_close(c);
	}
	client_release(c);
}

static void listener_event(struct handler *h, uint32_t ev)
{
	for (;;) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;

		if (fd < 0)
			return;
		struct client *c = calloc(1, sizeof(*c));

		if (!c) {
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->h.fn = client_event;
		c->h.fd = fd;
		c->refs = 1;
		if (watch(&c->h, EPOLL_CTL_ADD, EPOLLIN) < 0) {
			close(fd);
			free(c);
		}
	}
}

/* ---- main --------------------------------------------------------------- */

static void on_signal(int sig)
{
	stop = 1;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--unsafe-early-credit"))
			cfg.early_credit = true;
		else if (!strcmp(argv[i], "--unsafe-retry"))
			cfg.unsafe_retry = true;
		else if (!strcmp(argv[i], "--unsafe-stale-quote"))
			cfg.stale_quote = true;
		else if (!wl_flag_int(argc, argv, &i, "--port", &cfg.port) &&
			 !wl_flag_int(argc, argv, &i, "--venue-port", &cfg.venue_port) &&
			 !wl_flag_int(argc, argv, &i, "--custodian-port", &cfg.custodian_port) &&
			 !wl_flag_int(argc, argv, &i, "--feed-port", &cfg.feed_port) &&
			 !wl_flag_int(argc, argv, &i, "--initial-cents", &cfg.initial_cents) &&
			 !wl_flag_int(argc, argv, &i, "--seed", &cfg.seed) &&
			 !wl_flag_num(argc, argv, &i, "--venue-timeout-ms", &cfg.venue_timeout_ms) &&
			 !wl_flag_num(argc, argv, &i, "--ack-timeout-ms", &cfg.ack_timeout_ms) &&
			 !wl_flag_num(argc, argv, &i, "--respond-ms", &cfg.respond_ms) &&
			 !wl_flag_num(argc, argv, &i, "--max-quote-age-ms", &cfg.max_quote_age_ms) &&
			 !wl_flag_num(argc, argv, &i, "--protect-bps", &cfg.protect_bps) &&
			 !wl_flag_str(argc, argv, &i, "--ledger", &cfg.ledger))
			wl_usage_fail("wallet", argv[i]);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct handler lh = { listener_event, -1 };
	struct epoll_event evs[64];

	parse_args(argc, argv);
	rng = (uint64_t)cfg.seed;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	ledger_fd = open(cfg.ledger, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (ledger_fd < 0) {
		fprintf(stderr, "wallet: cannot open the ledger %s: %s\n", cfg.ledger, strerror(errno));
		return 1;
	}
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0 || (lh.fd = wl_listen((int)cfg.port)) < 0) {
		fprintf(stderr, "wallet: cannot listen on 127.0.0.1:%lld: %s\n", cfg.port,
			strerror(lh.fd < 0 ? -lh.fd : errno));
		return 1;
	}
	fcntl(lh.fd, F_SETFL, O_NONBLOCK);
	watch(&lh, EPOLL_CTL_ADD, EPOLLIN);
	feed_connect(NULL);
	wl_ready();
	while (!stop) {
		double now = wl_now_ms(), next = now + 1000;

		for (struct timer *t = timers; t; t = t->next)
			if (t->at < next)
				next = t->at;
		int n = epoll_wait(ep, evs, 64, (int)ceil(fmax(next - now, 0)));

		for (int i = 0; i < n; i++) {
			struct handler *h = evs[i].data.ptr;

			h->fn(h, evs[i].events);
		}
		/* Due timers, one at a time: a callback may arm or cancel others. */
		for (;;) {
			struct timer *due = NULL;

			now = wl_now_ms();
			for (struct timer *t = timers; t; t = t->next)
				if (t->at <= now && (!due || t->at < due->at))
					due = t;
			if (!due)
				break;
			timer_cancel(due);
			due->fn(due);
		}
		commit_flush();
		while (graveyard) {
			struct client *c = graveyard;

			graveyard = c->grave_next;
			free(c->out);
			free(c);
		}
	}
	commit_flush();
	fprintf(stderr, "wallet: stopping; %zu settlements not final, %lld settled, %lld retries\n",
		n_pending, settled_total, settle_retries);
	return 0;
}
