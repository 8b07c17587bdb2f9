/* probe.c — plays the wallet's users and checks its invariants (not under
 * test: it is the drill's eyes).
 *
 *   probe [--wallet-port 9401] [--custodian-port 9201]
 *         [--ledger /tmp/faultline-wallet/ledger.log] [--seconds 30]
 *         [--rate 20] [--accounts 4] [--drain-s 20] [--timeout-ms 3000]
 *         [--qty 0.01] [--withdraw-cents 20000] [--quote-tolerance-bps 120]
 *
 * Each of --accounts users (u1, u2, …) is one keep-alive HTTP session that
 * repeats: sell --qty (POST /order), check the balance, sell again,
 * withdraw, check the balance — together --rate requests per second, for
 * --seconds. Every
 * request is a probe record (name order|withdraw|balance, ok, latency_ms;
 * ok is a 2xx answer, or 409 "insufficient funds" for a withdrawal). Twice
 * a second it reads the custodian's queue and the wallet's /health as
 * metrics (settlement_lag_ms, settlement_backlog, wallet_pending_settlements,
 * wallet_quote_age_ms, orders_rejected_total, orders_partial_total).
 *
 * Invariants, each an invariant record when it breaks (and one ok record
 * at the end when it held):
 *   no_funds_before_finality  a balance's "available" never exceeds the funds
 *                             the custodian holds as final for the account
 *   no_double_settlement      no operation (ref) settled twice at the custodian
 *   fill_within_quote         no sale filled more than --quote-tolerance-bps
 *                             below the quote the wallet showed for it
 *   nothing_pending           (end) every settlement final within --drain-s
 *   ledger_reconciles         (end) the wallet's ledger and the custodian's
 *                             settlements agree, operation by operation
 *
 * Records go to the unix socket FAULTLINE_EVENTS (JSON Lines, "src":"probe"),
 * or to stdout as JSON Lines when it is unset. A summary goes to stderr.
 * Exit status: 0 when the drill ran (whatever the invariants said: the
 * verdict is the budgets'), 2 when the wallet never answered.
 */
#include "common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static struct {
	long long wallet_port, custodian_port, accounts, withdraw_cents;
	double seconds, rate, drain_s, timeout_ms, qty, tolerance_bps;
	const char *ledger;
} cfg = { WL_WALLET_PORT, WL_CUSTODIAN_PORT, 4, 20000, 30, 20, 20, 3000, 0.01, 120,
	  "/tmp/faultline-wallet/ledger.log" };

enum { INV_FUNDS, INV_DOUBLE, INV_QUOTE, N_INV };
static const char *const inv_name[N_INV] = { "no_funds_before_finality",
					     "no_double_settlement", "fill_within_quote" };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int events_fd = 1;
static long long violations[N_INV];
static volatile int running = 1;

/* per-request results for the summary */
static double *lat;
static size_t n_lat, cap_lat;
static long long n_err;

/* ---- records ------------------------------------------------------------ */

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...)
{
	char line[WL_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	pthread_mutex_lock(&lock);
	if (wl_write_all(events_fd, line, (size_t)n) < 0 && events_fd != 1) {
		fprintf(stderr, "probe: FAULTLINE_EVENTS write failed (%s); records go to stdout\n",
			strerror(errno));
		close(events_fd);
		events_fd = 1;
		wl_write_all(1, line, (size_t)n);
	}
	pthread_mutex_unlock(&lock);
}

static void json_escape(const char *in, char *out, size_t cap)
{
	size_t k = 0;

	for (; *in && k + 2 < cap; in++) {
		if (*in == '"' || *in == '\\')
			out[k++] = '\\';
		out[k++] = (*in >= 0x20) ? *in : ' ';
	}
	out[k] = '\0';
}

static void violation(int inv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void violation(int inv, const char *fmt, ...)
{
	char detail[512], esc[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	json_escape(detail, esc, sizeof(esc));
	pthread_mutex_lock(&lock);
	violations[inv]++;
	pthread_mutex_unlock(&lock);
	emit("{\"type\":\"invariant\",\"name\":\"%s\",\"ok\":false,\"detail\":\"%s\",\"src\":\"probe\"}",
	     inv_name[inv], esc);
}

static void held(const char *name, bool ok, const char *detail)
{
	char esc[1024];

	json_escape(detail, esc, sizeof(esc));
	emit("{\"type\":\"invariant\",\"name\":\"%s\",\"ok\":%s,\"detail\":\"%s\",\"src\":\"probe\"}",
	     name, ok ? "true" : "false", esc);
}

static void probe_record(const char *name, bool ok, double ms)
{
	pthread_mutex_lock(&lock);
	if (n_lat == cap_lat) {
		double *nl = realloc(lat, (cap_lat = cap_lat ? cap_lat * 2 : 1024) * sizeof(*lat));

		if (nl)
			lat = nl;
		else
			cap_lat = n_lat;
	}
	if (n_lat < cap_lat)
		lat[n_lat++] = ms;
	n_err += !ok;
	pthread_mutex_unlock(&lock);
	emit("{\"type\":\"probe\",\"name\":\"%s\",\"ok\":%s,\"latency_ms\":%.3f,\"src\":\"probe\"}",
	     name, ok ? "true" : "false", ms);
}

static void events_open(void)
{
	const char *path = getenv("FAULTLINE_EVENTS");
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (!path || !*path)
		return;
	if (strlen(path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "probe: FAULTLINE_EVENTS path too long; records go to stdout\n");
		return;
	}
	strcpy(a.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "probe: cannot connect to FAULTLINE_EVENTS %s (%s); records go to stdout\n",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	events_fd = fd;
}

/* ---- HTTP/1.1 client (blocking, keep-alive) ----------------------------- */

struct http {
	int fd;
	char buf[16384];
	size_t len;
};

static void http_close(struct http *h)
{
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	h->len = 0;
}

/* One request; returns the HTTP status (body in out) or -errno. */
static int http(struct http *h, const char *method, const char *path, const char *body,
		char *out, size_t cap)
{
	char req[1024];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n%s",
			 method, path, body ? strlen(body) : 0, body ? body : "");
	int err;

	if (h->fd < 0 && (h->fd = wl_connect((int)cfg.wallet_port, (int)cfg.timeout_ms,
					     (int)cfg.timeout_ms)) < 0) {
		err = h->fd;
		h->fd = -1;
		return err;
	}
	if ((err = wl_write_all(h->fd, req, (size_t)n)) < 0)
		goto fail;
	h->len = 0;
	for (;;) {
		char *end = memmem(h->buf, h->len, "\r\n\r\n", 4);

		if (end) {
			size_t head = (size_t)(end - h->buf) + 4;
			const char *cl = memmem(h->buf, head, "Content-Length:", 15);
			long clen = cl ? strtol(cl + 15, NULL, 10) : 0;
			int status = 0;

			if (clen < 0 || (size_t)clen > sizeof(h->buf) - head ||
			    sscanf(h->buf, "HTTP/1.1 %d", &status) != 1) {
				err = -EPROTO;
				goto fail;
			}
			if (h->len >= head + (size_t)clen) {
				size_t c = (size_t)clen < cap - 1 ? (size_t)clen : cap - 1;

				memcpy(out, h->buf + head, c);
				out[c] = '\0';
				if (memmem(h->buf, head, "Connection: close", 17))
					http_close(h);
				return status;
			}
		}
		if (h->len == sizeof(h->buf)) {
			err = -EMSGSIZE;
			goto fail;
		}
		ssize_t r = recv(h->fd, h->buf + h->len, sizeof(h->buf) - h->len, 0);

		if (r == 0) {
			err = -ECONNRESET;
			goto fail;
		}
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
			goto fail;
		}
		h->len += (size_t)r;
	}
fail:
	http_close(h);
	return err;
}

static double jnum(const cJSON *j, const char *k, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

/* ---- the custodian, as the probe asks it -------------------------------- */

struct cust {
	int fd;
	struct wl_lines l;
};

static int cust_ask(struct cust *c, const char *req, char *out, size_t cap)
{
	int err;

	if (c->fd < 0) {
		if ((c->fd = wl_connect((int)cfg.custodian_port, 2000, 5000)) < 0) {
			err = c->fd;
			c->fd = -1;
			return err;
		}
		wl_lines_init(&c->l, c->fd);
	}
	if ((err = wl_write_all(c->fd, req, strlen(req))) < 0 ||
	    (err = wl_readline(&c->l, out, cap)) < 0) {
		close(c->fd);
		c->fd = -1;
	}
	return err;
}

/* ---- the users ------------------------------------------------------------ */

static int poll_settlements(struct cust *cu);
static long long double_settled(const char *acct);

static void check_funds(struct cust *cu, const char *acct, const char *body)
{
	cJSON *j = cJSON_Parse(body);
	double avail = jnum(j, "available", NAN);
	char req[64], line[128];
	long long final;

	cJSON_Delete(j);
	snprintf(req, sizeof(req), "BALANCE %s\n", acct);
	if (isnan(avail) || cust_ask(cu, req, line, sizeof(line)) < 0 ||
	    sscanf(line, "BALANCE %*s %lld", &final) != 1)
		return;
	if (avail <= (double)final)
		return;
	/* Funds a double settlement took are no_double_settlement's finding,
	 * not this one's: count them as still there. */
	poll_settlements(cu);
	long long extra = double_settled(acct);

	if (avail > (double)(final - extra))
		violation(INV_FUNDS, "%s: available %.2f exceeds the %.2f final at the custodian",
			  acct, avail / 100, (double)(final - extra) / 100);
}

static void check_fill(const char *acct, const char *body)
{
	cJSON *j = cJSON_Parse(body);
	double px = jnum(j, "px", NAN), q = jnum(j, "quote_px", NAN), age = jnum(j, "quote_age_ms", 0);

	cJSON_Delete(j);
	if (q > 0 && px > 0 && (q - px) / q * 1e4 > cfg.tolerance_bps)
		violation(INV_QUOTE, "%s: sold at %.2f, %.0f bps below the quote shown (%.2f, %.0f ms old)",
			  acct, px, (q - px) / q * 1e4, q, age);
}

static void *user(void *arg)
{
	long idx = (long)(intptr_t)arg;
	struct http h = { .fd = -1 };
	struct cust cu = { .fd = -1 };
	char acct[24], body[256], out[2048], path[64];
	double period = cfg.accounts / cfg.rate * 1e3;
	double start = wl_now_ms(), end = start + cfg.seconds * 1e3;
	/* Stagger the users over one period so the rate is smooth. */
	double next = start + period * (double)idx / (double)cfg.accounts;

	snprintf(acct, sizeof(acct), "u%ld", idx + 1);
	snprintf(path, sizeof(path), "/balance?account=%s", acct);
	for (long k = 0; running; k++) {
		double now = wl_now_ms();

		if (next > now)
			wl_sleep_ms(next - now); /* the users' pace, not a synchronisation */
		if (wl_now_ms() >= end)
			break;
		double t0 = wl_now_ms();
		int st;
		const char *name;
		bool ok;

		switch (k % 5) {
		case 0:
		case 2:
			name = "order";
			snprintf(body, sizeof(body),
				 "{\"account\":\"%s\",\"side\":\"sell\",\"qty\":%.6f,\"id\":\"%s-%ld\"}",
				 acct, cfg.qty, acct, k);
			st = http(&h, "POST", "/order", body, out, sizeof(out));
			ok = st == 200;
			probe_record(name, ok, wl_now_ms() - t0);
			if (ok)
				check_fill(acct, out);
			break;
		case 3:
			name = "withdraw";
			snprintf(body, sizeof(body),
				 "{\"account\":\"%s\",\"amount\":%lld,\"id\":\"%s-%ld\"}", acct,
				 cfg.withdraw_cents, acct, k);
			st = http(&h, "POST", "/withdraw", body, out, sizeof(out));
			probe_record(name, st == 200 || st == 202 || st == 409, wl_now_ms() - t0);
			break;
		default:
			name = "balance";
			st = http(&h, "GET", path, NULL, out, sizeof(out));
			probe_record(name, st == 200, wl_now_ms() - t0);
			if (st == 200)
				check_funds(&cu, acct, out);
		}
		/* Missed slots are skipped, not bunched: users do not queue up. */
		next += period;
		if (next < wl_now_ms() - period)
			next = wl_now_ms();
	}
	http_close(&h);
	if (cu.fd >= 0)
		close(cu.fd);
	return NULL;
}

/* ---- settlements as the custodian lists them ---------------------------- */

struct seen {
	char ref[64], account[32];
	long long sid, cents, count;
};

static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static struct seen *seen; /* every ref the custodian settled (under seen_lock) */
static size_t n_seen, cap_seen;
static long long last_sid;

static struct seen *seen_find(const char *ref)
{
	for (size_t i = 0; i < n_seen; i++) /* a few thousand per drill */
		if (!strcmp(seen[i].ref, ref))
			return &seen[i];
	return NULL;
}

/* Reads the custodian's settlements after last_sid; a ref seen twice is a
 * double settlement. */
static int poll_settlements(struct cust *cu)
{
	char req[64], line[512], key[80], ref[64], acct[32];
	long long sid, cents;
	int err;

	pthread_mutex_lock(&seen_lock);
	snprintf(req, sizeof(req), "LIST %lld\n", last_sid + 1);
	if ((err = cust_ask(cu, req, line, sizeof(line))) < 0) {
		pthread_mutex_unlock(&seen_lock);
		return err;
	}
	while (strcmp(line, "END")) {
		if (sscanf(line, "S %lld %79s %63s %31s %lld", &sid, key, ref, acct, &cents) == 5) {
			struct seen *s = seen_find(ref);

			last_sid = sid;
			if (s && sid <= s->sid) {
				/* a LIST that overlapped another's */
			} else if (s) {
				s->count++;
				s->cents += cents;
				violation(INV_DOUBLE, "%s settled %lld times (sids %lld and %lld, key %s)",
					  ref, s->count, s->sid, sid, key);
				s->sid = sid;
			} else if (n_seen < cap_seen ||
				   (seen = realloc(seen, (cap_seen = cap_seen * 2 + 256) *
							       sizeof(*seen)))) {
				s = &seen[n_seen++];
				snprintf(s->ref, sizeof(s->ref), "%s", ref);
				snprintf(s->account, sizeof(s->account), "%s", acct);
				s->sid = sid;
				s->cents = cents;
				s->count = 1;
			}
		}
		if ((err = wl_readline(&cu->l, line, sizeof(line))) < 0) {
			close(cu->fd);
			cu->fd = -1;
			break;
		}
	}
	pthread_mutex_unlock(&seen_lock);
	return err < 0 ? err : 0;
}

/* What the custodian moved on acct beyond one settlement per operation:
 * the double settlements' share of its balance. */
static long long double_settled(const char *acct)
{
	long long extra = 0;

	pthread_mutex_lock(&seen_lock);
	for (size_t i = 0; i < n_seen; i++)
		if (seen[i].count > 1 && !strcmp(seen[i].account, acct))
			extra += seen[i].cents / seen[i].count * (seen[i].count - 1);
	pthread_mutex_unlock(&seen_lock);
	return extra;
}

static void scrape(struct cust *cu, struct http *h)
{
	char line[128], out[2048];
	long long queued, oldest;

	if (cust_ask(cu, "STATS\n", line, sizeof(line)) >= 0 &&
	    sscanf(line, "STATS %lld %lld", &queued, &oldest) == 2) {
		emit("{\"type\":\"metric\",\"name\":\"settlement_lag_ms\",\"value\":%lld,\"src\":\"probe\"}", oldest);
		emit("{\"type\":\"metric\",\"name\":\"settlement_backlog\",\"value\":%lld,\"src\":\"probe\"}", queued);
	}
	if (http(h, "GET", "/health", NULL, out, sizeof(out)) == 200) {
		cJSON *j = cJSON_Parse(out);
		static const char *const m[][2] = {
			{ "pending_settlements", "wallet_pending_settlements" },
			{ "quote_age_ms", "wallet_quote_age_ms" },
			{ "orders_rejected", "orders_rejected_total" },
			{ "orders_partial", "orders_partial_total" },
		};

		for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
			emit("{\"type\":\"metric\",\"name\":\"%s\",\"value\":%.0f,\"src\":\"probe\"}",
			     m[i][1], jnum(j, m[i][0], 0));
		cJSON_Delete(j);
	}
	poll_settlements(cu);
}

static void *watcher(void *arg)
{
	struct cust cu = { .fd = -1 };
	struct http h = { .fd = -1 };

	while (running) {
		double t0 = wl_now_ms();

		scrape(&cu, &h);
		double left = 500 - (wl_now_ms() - t0);

		if (left > 0)
			wl_sleep_ms(left); /* the scrape interval */
	}
	if (cu.fd >= 0)
		close(cu.fd);
	http_close(&h);
	return arg;
}

/* ---- the end: drain and reconcile --------------------------------------- */

static long long pending_now(struct http *h)
{
	char out[2048];
	long long n = -1;

	if (http(h, "GET", "/health", NULL, out, sizeof(out)) == 200) {
		cJSON *j = cJSON_Parse(out);

		n = (long long)jnum(j, "pending_settlements", -1);
		cJSON_Delete(j);
	}
	return n;
}

/* The ledger, operation by operation, against what the custodian settled. */
static void reconcile(void)
{
	FILE *f = fopen(cfg.ledger, "r");
	char line[WL_LINE_MAX], detail[512] = "";
	size_t entries = 0, missing = 0, mismatched = 0, extra = 0;
	long long *found = calloc(n_seen + 1, sizeof(*found));

	if (!f || !found) {
		snprintf(detail, sizeof(detail), "cannot read the ledger %s: %s", cfg.ledger,
			 strerror(errno));
		held("ledger_reconciles", false, detail);
		if (f)
			fclose(f);
		free(found);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		cJSON *j = cJSON_Parse(line);
		const cJSON *ref = cJSON_GetObjectItemCaseSensitive(j, "ref");
		double cents = jnum(j, "cents", NAN);

		entries++;
		struct seen *s = cJSON_IsString(ref) ? seen_find(ref->valuestring) : NULL;

		if (!s) {
			if (!extra++ && !*detail)
				snprintf(detail, sizeof(detail), "ledger entry %.60s not settled at the custodian",
					 cJSON_IsString(ref) ? ref->valuestring : "(malformed)");
		} else {
			found[s - seen] += (long long)cents;
		}
		cJSON_Delete(j);
	}
	fclose(f);
	for (size_t i = 0; i < n_seen; i++) {
		if (found[i] == seen[i].cents)
			continue;
		found[i] ? mismatched++ : missing++;
		if (!*detail)
			snprintf(detail, sizeof(detail),
				 "%s: the custodian settled %.2f, the ledger records %.2f", seen[i].ref,
				 (double)seen[i].cents / 100, (double)found[i] / 100);
	}
	free(found);
	bool ok = !missing && !mismatched && !extra;
	char msg[1024];

	snprintf(msg, sizeof(msg), "%zu ledger entries, %zu settled operations; %zu missing, "
		 "%zu mismatched, %zu unknown%s%s", entries, n_seen, missing, mismatched, extra,
		 *detail ? "; first: " : "", detail);
	held("ledger_reconciles", ok, msg);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!wl_flag_int(argc, argv, &i, "--wallet-port", &cfg.wallet_port) &&
		    !wl_flag_int(argc, argv, &i, "--custodian-port", &cfg.custodian_port) &&
		    !wl_flag_int(argc, argv, &i, "--accounts", &cfg.accounts) &&
		    !wl_flag_int(argc, argv, &i, "--withdraw-cents", &cfg.withdraw_cents) &&
		    !wl_flag_num(argc, argv, &i, "--seconds", &cfg.seconds) &&
		    !wl_flag_num(argc, argv, &i, "--rate", &cfg.rate) &&
		    !wl_flag_num(argc, argv, &i, "--drain-s", &cfg.drain_s) &&
		    !wl_flag_num(argc, argv, &i, "--timeout-ms", &cfg.timeout_ms) &&
		    !wl_flag_num(argc, argv, &i, "--qty", &cfg.qty) &&
		    !wl_flag_num(argc, argv, &i, "--quote-tolerance-bps", &cfg.tolerance_bps) &&
		    !wl_flag_str(argc, argv, &i, "--ledger", &cfg.ledger))
			wl_usage_fail("probe", argv[i]);
	if (cfg.accounts < 1 || cfg.accounts > 64 || !(cfg.rate > 0)) {
		fprintf(stderr, "probe: --accounts 1..64 and --rate > 0\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	pthread_t users[64], w;
	struct http h = { .fd = -1 };
	char msg[256];
	long long pending;
	double t_end;

	parse_args(argc, argv);
	events_open();
	if (pending_now(&h) < 0) {
		fprintf(stderr, "probe: the wallet on 127.0.0.1:%lld does not answer /health\n",
			cfg.wallet_port);
		return 2;
	}
	pthread_create(&w, NULL, watcher, NULL);
	for (long i = 0; i < cfg.accounts; i++)
		pthread_create(&users[i], NULL, user, (void *)(intptr_t)i);
	for (long i = 0; i < cfg.accounts; i++)
		pthread_join(users[i], NULL);

	/* The load is over; the wallet has --drain-s to make everything final. */
	t_end = wl_now_ms() + cfg.drain_s * 1e3;
	while ((pending = pending_now(&h)) != 0 && wl_now_ms() < t_end)
		wl_sleep_ms(100); /* polling the wallet's own account of its work */
	running = 0;
	pthread_join(w, NULL);
	snprintf(msg, sizeof(msg), pending == 0 ? "every settlement final" :
		 pending < 0 ? "the wallet stopped answering /health" :
		 "%lld settlements not final %.0f s after the load stopped", pending, cfg.drain_s);
	held("nothing_pending", pending == 0, msg);
	{
		struct cust cu = { .fd = -1 };

		poll_settlements(&cu);
		if (cu.fd >= 0)
			close(cu.fd);
	}
	reconcile();
	for (int i = 0; i < N_INV; i++)
		if (!violations[i])
			held(inv_name[i], true, "held for the whole drill");

	qsort(lat, n_lat, sizeof(*lat), cmp);
	fprintf(stderr, "probe: %zu requests, %lld failed (%.1f %%), latency p50 %.1f ms p99 %.1f ms;"
		" violations: funds %lld, double %lld, quote %lld; pending at the end %lld\n",
		n_lat, n_err, n_lat ? 100.0 * (double)n_err / (double)n_lat : 0.0,
		n_lat ? lat[n_lat / 2] : 0.0, n_lat ? lat[(size_t)((double)n_lat * 0.99)] : 0.0,
		violations[INV_FUNDS], violations[INV_DOUBLE], violations[INV_QUOTE], pending);
	http_close(&h);
	return 0;
}
