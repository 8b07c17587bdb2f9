/*
 * metrics.c — the Prometheus endpoint (see metrics.h).
 *
 * Divisions: address parsing; the text; the HTTP side (accept, read a
 * request, queue the reply, send what the socket takes).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "budgets.h"
#include "block.h"
#include "events.h"
#include "loop.h"
#include "metrics.h"
#include "profile.h"
#include "ticker.h"
#include "timeline.h" /* fl_utf8_len */

#define MX_REQ_MAX 4096
#define MX_IDLE_NS 5000000000ll
#define MX_NMETRIC 32

struct scraper {
	int fd;
	long long watch;
	int64_t since;
	size_t rlen;
	char req[MX_REQ_MAX];
	char *out;
	size_t olen, ooff;
};

struct fl_metrics {
	struct fl_metrics_src src;
	int lfd;
	long long lwatch;
	struct fl_loop *loop;
	struct scraper *sc[FL_MX_MAX_CONN];
	int nmetric;
	char mname[MX_NMETRIC][64];
	double mval[MX_NMETRIC];
	uint64_t scrapes;
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- address --------------------------------------------------------------------- */

static int parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	const char *colon = strrchr(s, ':');
	char host[64];
	char *end;
	long port;
	size_t hl;

	if (!colon)
		return -EINVAL;
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535)
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (host[0] == '[' && hl > 2 && host[hl - 1] == ']') {
		struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

		host[hl - 1] = '\0';
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;

	a4->sin_family = AF_INET;
	a4->sin_port = htons((uint16_t)port);
	*len = sizeof(*a4);
	if (!host[0])
		strcpy(host, "127.0.0.1");
	return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -EINVAL;
}

static void say_bound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	char h[INET6_ADDRSTRLEN] = "?";
	int port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &l) < 0)
		return;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
		port = ntohs(a->sin6_port);
		fprintf(stderr, "faultline: metrics on http://[%s]:%d/metrics\n", h, port);
		return;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)&ss;

	inet_ntop(AF_INET, &a->sin_addr, h, sizeof(h));
	fprintf(stderr, "faultline: metrics on http://%s:%d/metrics\n", h, ntohs(a->sin_port));
}

int fl_metrics_open(const char *addr, const struct fl_metrics_src *src,
		    struct fl_metrics **out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	struct fl_metrics *mx;
	int one = 1, err;

	if (parse_addr(addr, &ss, &len) < 0) {
		fprintf(stderr, "faultline: --metrics %s: expected ADDR:PORT "
			"(127.0.0.1:9464, [::1]:9464, :9464)\n", addr);
		return -EINVAL;
	}
	if (!(mx = calloc(1, sizeof(*mx))))
		return -ENOMEM;
	mx->src = *src;
	mx->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (mx->lfd < 0 ||
	    setsockopt(mx->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(mx->lfd, (struct sockaddr *)&ss, len) < 0 || listen(mx->lfd, 16) < 0) {
		err = -errno;
		fprintf(stderr, "faultline: --metrics %s: %s\n", addr, strerror(-err));
		if (mx->lfd >= 0)
			close(mx->lfd);
		free(mx);
		return err;
	}
	say_bound(mx->lfd);
	*out = mx;
	return 0;
}

void fl_metrics_set(struct fl_metrics *mx, const char *name, double v)
{
	if (!mx)
		return;
	for (int i = 0; i < mx->nmetric; i++)
		if (!strcmp(mx->mname[i], name)) {
			mx->mval[i] = v;
			return;
		}
	if (mx->nmetric == MX_NMETRIC)
		return;
	snprintf(mx->mname[mx->nmetric], sizeof(mx->mname[0]), "%s", name);
	mx->mval[mx->nmetric++] = v;
}

/* ---- the text ------------------------------------------------------------------------- */

/* A label value: backslash, quote and newline escaped; bytes that are not
 * UTF-8 (a program's names are untrusted) become U+FFFD, since one invalid
 * byte makes a scraper reject the whole page. */
static void label(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	int n;

	fputc('"', f);
	while (*s) {
		n = *s < 0x80 ? 1 : fl_utf8_len(s);
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else if (n > 0)
			fwrite(s, 1, (size_t)n, f);
		else
			fputs("\xef\xbf\xbd", f);
		s += n > 0 ? n : 1;
	}
	fputc('"', f);
}

static void num(FILE *f, double v)
{
	if (isnan(v))
		fputs("NaN", f);
	else if (isinf(v))
		fputs(v > 0 ? "+Inf" : "-Inf", f);
	else
		fprintf(f, "%.17g", v);
}

static void head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void render_market(struct fl_metrics *mx, FILE *f)
{
	const struct fl_ticker *tk = mx->src.tk;

	if (!tk)
		return;
	head(f, "faultline_market_tick", "gauge", "market ticks stepped");
	fprintf(f, "faultline_market_tick %llu\n", (unsigned long long)tk->tick);
	head(f, "faultline_market_time_seconds", "gauge", "scenario (market) time");
	fprintf(f, "faultline_market_time_seconds ");
	num(f, (double)mkt_model__time_ns(tk->m) / 1e9);
	fputc('\n', f);
	head(f, "faultline_market_signal", "gauge", "every exported market signal");
	for (int i = 0; i < MKT_SIG__COUNT; i++) {
		fputs("faultline_market_signal{signal=", f);
		label(f, mkt_signal_name(i));
		fputs("} ", f);
		num(f, tk->sig[i]);
		fputc('\n', f);
	}
}

static void render_faults(struct fl_metrics *mx, FILE *f)
{
	const struct fl_profile *p = mx->src.p;
	const struct fl_ctl *ctl = mx->src.ctl;

	head(f, "faultline_faults_total", "counter", "faults injected per rule");
	for (uint32_t i = 0; p && i < p->nrules; i++) {
		const struct fl_rule *r = &p->rules[i];
		const char *tg = r->target && r->target < p->ntargets ?
				 p->targets[r->target].name : "";

		fprintf(f, "faultline_faults_total{rule=\"%u\",target=", i);
		label(f, tg);
		fputs(",op=", f);
		label(f, fl_op_name(r->op));
		fputs(",fault=", f);
		label(f, fl_fault_name(r->fault));
		fprintf(f, "} %llu\n", (unsigned long long)atomic_load_explicit(
			&ctl->hits[i], memory_order_relaxed));
	}
	head(f, "faultline_target_faults_total", "counter",
	     "faults injected per target (from the journal)");
	for (unsigned t = 1; p && t < p->ntargets; t++) {
		fputs("faultline_target_faults_total{target=", f);
		label(f, p->targets[t].name);
		fprintf(f, "} %llu\n", (unsigned long long)mx->src.tfaults[t]);
	}
	head(f, "faultline_journal_dropped_total", "counter",
	     "journal records dropped because the ring was full");
	fprintf(f, "faultline_journal_dropped_total %llu\n",
		(unsigned long long)atomic_load_explicit(&ctl->journal.dropped,
							 memory_order_relaxed));
}

static void render_events(struct fl_metrics *mx, FILE *f)
{
	struct fl_events_stats st;

	fl_events_stats(mx->src.ev, &st);
	head(f, "faultline_events_total", "counter", "records received on FAULTLINE_EVENTS");
	fprintf(f, "faultline_events_total %llu\n", (unsigned long long)st.records);
	head(f, "faultline_events_malformed_total", "counter", "malformed event lines dropped");
	fprintf(f, "faultline_events_malformed_total %llu\n", (unsigned long long)st.malformed);
	head(f, "faultline_program_metric", "gauge", "the program's own metrics, last value");
	for (int i = 0; i < mx->nmetric; i++) {
		fputs("faultline_program_metric{name=", f);
		label(f, mx->mname[i]);
		fputs("} ", f);
		num(f, mx->mval[i]);
		fputc('\n', f);
	}
}

static void render_probes(struct fl_metrics *mx, FILE *f)
{
	static const double qs[] = { 0.5, 0.9, 0.99 };
	const char *names[FL_BG_MAX_NAMES];
	int n = fl_budgets_probe_names(mx->src.bg, names, FL_BG_MAX_NAMES);
	uint64_t cnt[FL_BG_MAX_NAMES], err[FL_BG_MAX_NAMES];

	head(f, "faultline_probe_latency_ms", "summary", "probe latency, ms, over the drill so far");
	for (int k = 0; k < n; k++) {
		double sum = 0;

		for (int i = 0; i < 3; i++) {
			double v = fl_budgets_probe_quantile(mx->src.bg, names[k], qs[i],
							     &cnt[k], &err[k], &sum);

			fputs("faultline_probe_latency_ms{probe=", f);
			label(f, names[k]);
			fprintf(f, ",quantile=\"%g\"} ", qs[i]);
			num(f, v);
			fputc('\n', f);
		}
		fputs("faultline_probe_latency_ms_sum{probe=", f);
		label(f, names[k]);
		fputs("} ", f);
		num(f, sum);
		fputs("\nfaultline_probe_latency_ms_count{probe=", f);
		label(f, names[k]);
		fprintf(f, "} %llu\n", (unsigned long long)cnt[k]);
	}
	head(f, "faultline_probe_errors_total", "counter", "probes with ok=false");
	for (int k = 0; k < n; k++) {
		fputs("faultline_probe_errors_total{probe=", f);
		label(f, names[k]);
		fprintf(f, "} %llu\n", (unsigned long long)err[k]);
	}
}

static void render_budgets(struct fl_metrics *mx, FILE *f, const struct fl_verdicts *vd,
			   double now_ms)
{
	const char *burn[8];
	int nb = fl_budgets_burning(mx->src.bg, now_ms, burn, 8);

	head(f, "faultline_budget_limit", "gauge", "each budget's limit");
	for (int i = 0; i < vd->n; i++) {
		fputs("faultline_budget_limit{budget=", f);
		label(f, vd->v[i].budget);
		fputs("} ", f);
		num(f, vd->v[i].limit);
		fputc('\n', f);
	}
	head(f, "faultline_budget_measured", "gauge", "each budget's measured value so far");
	for (int i = 0; i < vd->n; i++) {
		fputs("faultline_budget_measured{budget=", f);
		label(f, vd->v[i].budget);
		fputs("} ", f);
		num(f, vd->v[i].measured);
		fputc('\n', f);
	}
	head(f, "faultline_budget_broken", "gauge", "1 once the budget is broken");
	for (int i = 0; i < vd->n; i++) {
		fputs("faultline_budget_broken{budget=", f);
		label(f, vd->v[i].budget);
		fprintf(f, "} %d\n", vd->v[i].broken ? 1 : 0);
	}
	head(f, "faultline_budget_burning", "gauge",
	     "1 while the budget is being spent (a bad record in the last second)");
	for (int i = 0; i < vd->n; i++) {
		int on = 0;

		for (int k = 0; k < nb; k++)
			on |= !strncmp(vd->v[i].budget, burn[k], strlen(burn[k]));
		fputs("faultline_budget_burning{budget=", f);
		label(f, vd->v[i].budget);
		fprintf(f, "} %d\n", on);
	}
	head(f, "faultline_invariant_violations_total", "counter", "invariant records with ok=false");
	fprintf(f, "faultline_invariant_violations_total %llu\n",
		(unsigned long long)vd->violations);
}

int fl_metrics_render(struct fl_metrics *mx, FILE *f)
{
	struct fl_verdicts *vd = malloc(sizeof(*vd));
	double now = (double)(mono_ns() - mx->src.ctl->hdr.epoch_mono_ns) / 1e6;

	if (!vd)
		return -ENOMEM;
	head(f, "faultline_drill_time_seconds", "gauge", "time since the drill started");
	fprintf(f, "faultline_drill_time_seconds %.3f\n", now / 1000);
	render_market(mx, f);
	render_faults(mx, f);
	render_events(mx, f);
	render_probes(mx, f);
	if (fl_budgets_eval(mx->src.bg, vd) == 0)
		render_budgets(mx, f, vd, now);
	free(vd);
	return ferror(f) ? -EIO : 0;
}

/* ---- HTTP ----------------------------------------------------------------------------- */

static void drop(struct fl_metrics *mx, int i)
{
	struct scraper *c = mx->sc[i];

	if (mx->loop && c->watch > 0)
		fl_loop_fd_del(mx->loop, c->watch);
	close(c->fd);
	free(c->out);
	free(c);
	mx->sc[i] = NULL;
}

/* Send what the socket takes; true when all is sent (or it failed). */
static bool send_some(struct scraper *c)
{
	while (c->ooff < c->olen) {
		ssize_t n = send(c->fd, c->out + c->ooff, c->olen - c->ooff,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			c->ooff += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return !(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	}
	return true;
}

static void reply(struct fl_metrics *mx, struct scraper *c)
{
	bool ok = !strncmp(c->req, "GET /metrics", 12) || !strncmp(c->req, "GET / ", 6);
	char *body = NULL, *all = NULL;
	size_t blen = 0;
	FILE *f = open_memstream(&body, &blen);
	int n;

	if (!f)
		return;
	if (ok)
		fl_metrics_render(mx, f);
	else
		fputs("not found: try /metrics\n", f);
	fclose(f);
	n = asprintf(&all, "HTTP/1.1 %s\r\nContent-Type: text/plain; version=0.0.4; "
		     "charset=utf-8\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		     ok ? "200 OK" : "404 Not Found", blen, body);
	free(body);
	if (n < 0)
		return;
	mx->scrapes++;
	c->out = all;
	c->olen = (size_t)n;
}

static void on_scraper(struct fl_loop *l, int fd, int revents, void *arg)
{
	struct fl_metrics *mx = arg;

	for (int i = 0; i < FL_MX_MAX_CONN; i++) {
		struct scraper *c = mx->sc[i];
		ssize_t n;

		if (!c || c->fd != fd)
			continue;
		n = recv(fd, c->req + c->rlen, sizeof(c->req) - 1 - c->rlen, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			drop(mx, i);
			return;
		}
		if (n > 0)
			c->rlen += (size_t)n;
		c->req[c->rlen] = '\0';
		if (!c->out && (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n") ||
				c->rlen == sizeof(c->req) - 1))
			reply(mx, c);
		if (c->out && send_some(c))
			drop(mx, i);
		return;
	}
}

static void on_accept(struct fl_loop *l, int lfd, int revents, void *arg)
{
	struct fl_metrics *mx = arg;
	int fd;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		struct scraper *c = NULL;
		int i;

		for (i = 0; i < FL_MX_MAX_CONN && mx->sc[i]; i++)
			;
		if (i == FL_MX_MAX_CONN || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->since = mono_ns();
		c->watch = fl_loop_fd_add(mx->loop, fd, on_scraper, mx);
		if (c->watch < 0) {
			close(fd);
			free(c);
			continue;
		}
		mx->sc[i] = c;
	}
}

int fl_metrics_add_to_loop(struct fl_metrics *mx, struct fl_loop *l)
{
	long long id = fl_loop_fd_add(l, mx->lfd, on_accept, mx);

	if (id < 0)
		return (int)id;
	mx->loop = l;
	mx->lwatch = id;
	return 0;
}

void fl_metrics_poll(struct fl_metrics *mx)
{
	int64_t now;

	if (!mx)
		return;
	now = mono_ns();
	for (int i = 0; i < FL_MX_MAX_CONN; i++) {
		struct scraper *c = mx->sc[i];

		if (!c)
			continue;
		if ((c->out && send_some(c)) || now - c->since > MX_IDLE_NS)
			drop(mx, i);
	}
}

void fl_metrics_close(struct fl_metrics *mx)
{
	if (!mx)
		return;
	for (int i = 0; i < FL_MX_MAX_CONN; i++)
		if (mx->sc[i])
			drop(mx, i);
	if (mx->loop && mx->lwatch > 0)
		fl_loop_fd_del(mx->loop, mx->lwatch);
	close(mx->lfd);
	free(mx);
}
