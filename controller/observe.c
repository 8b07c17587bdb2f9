/*
 * observe.c — the verdict half of a session (see observe.h): wires the
 * events server, the market broadcaster, the budgets, the metrics endpoint
 * and the status line to the session's loop and timeline.
 *
 * Invariants
 *  - Every record a program sends is stamped here, once, with the drill
 *    clock (CLOCK_MONOTONIC - the block's epoch) and the market tick in
 *    force, and goes to the timeline and the budgets alike, so the live
 *    verdict and `faultline report`'s agree.
 *  - Journal records are untrusted: only kind and time are used, and a
 *    target index out of range counts under "?".
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "budgets.h"
#include "block.h"
#include "events.h"
#include "loop.h"
#include "marketsock.h"
#include "metrics.h"
#include "observe.h"
#include "profile.h"
#include "status.h"
#include "ticker.h"
#include "timeline.h"

struct fl_obs {
	struct fl_obs_opts o;
	struct fl_events *ev;
	struct fl_marketsock *ms;
	struct fl_budgets *bg;
	struct fl_metrics *mx;
	struct fl_verdicts vd;
	bool evaluated;
	uint64_t last_pub_tick;
	bool published;
	uint64_t tfaults[FL_MAX_TARGETS]; /* faults per target (0 = none/unknown) */
	int64_t last_status_ns;
	bool status_shown;
	double shock0_ms, shock1_ms, shock0_s, shock1_s;
	char shock_name[32];
};

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* ---- events in -------------------------------------------------------------- */

static void on_event(const struct fl_event *e, void *arg)
{
	struct fl_obs *ob = arg;
	int64_t t_ns = mono_ns() - ob->o.ctl->hdr.epoch_mono_ns;
	double t = (double)t_ns / 1e6;
	int64_t tick = ob->o.tk ? (int64_t)ob->o.tk->tick : -1;

	fl_timeline_user(ob->o.tl, t_ns, tick, e);
	switch (e->type) {
	case FL_EV_PROBE:
		fl_budgets_probe(ob->bg, t, e->name, e->ok, e->latency_ms);
		break;
	case FL_EV_METRIC:
		fl_budgets_metric(ob->bg, t, e->name, e->value);
		fl_metrics_set(ob->mx, e->name, e->value);
		break;
	case FL_EV_INVARIANT:
		fl_budgets_invariant(ob->bg, t, e->name, e->ok);
		break;
	case FL_EV_MARK:
		fl_budgets_mark(ob->bg, t);
		break;
	}
}

/* ---- the shock a scenario measures stability from ------------------------------ */

/* The main shock, like the text report's phases: price shocks (jumps,
 * flows, bridges) and venue outages that start after 0, else vol/iv
 * envelopes; at least a minute long, cut at the scenario's end. */
static void main_shock(struct fl_obs *ob)
{
	const struct mkt_params *m = ob->o.p ? ob->o.p->market : NULL;
	double t0 = INFINITY, t1 = -INFINITY, dur;
	int pass;

	ob->shock0_ms = ob->shock1_ms = ob->shock0_s = ob->shock1_s = NAN;
	if (!m)
		return;
	dur = (double)mkt_params__duration_ns(m) / 1e9;
	for (pass = 0; pass < 2 && !isfinite(t0); pass++) {
		for (int i = 0; i < m->nshocks; i++) {
			const struct mkt_shock *s = &m->shocks[i];
			bool price = s->kind == MKT_SHOCK_JUMP || s->kind == MKT_SHOCK_FLOW ||
				     s->kind == MKT_SHOCK_BRIDGE ||
				     (s->kind == MKT_SHOCK_VENUE && s->status == MKT_VENUE_DOWN);
			bool vol = s->kind == MKT_SHOCK_VOL || s->kind == MKT_SHOCK_IV;
			double a = (double)s->at_ns / 1e9;

			if (s->at_ns <= 0 || !(pass == 0 ? price : vol))
				continue;
			if (a < t0) {
				t0 = a;
				snprintf(ob->shock_name, sizeof(ob->shock_name), "%s",
					 s->kind == MKT_SHOCK_VENUE ? "the outage" :
					 vol ? "the vol spike" :
					 s->kind == MKT_SHOCK_JUMP && !s->ramp_ns ? "the gap" :
					 "the sell-off");
			}
			t1 = fmax(t1, a + (double)(s->ramp_ns + s->dur_ns) / 1e9);
		}
	}
	if (!isfinite(t0))
		return;
	t1 = fmax(t1, t0 + 60);
	if (dur > 0)
		t1 = fmin(t1, dur);
	ob->shock0_s = t0;
	ob->shock1_s = t1;
	ob->shock0_ms = t0 * 1000 / ob->o.speed;
	ob->shock1_ms = t1 * 1000 / ob->o.speed;
}

/* ---- set-up ------------------------------------------------------------------- */

static int obs_open(const struct fl_obs_opts *o, struct fl_obs *ob);

int fl_obs_open(const struct fl_obs_opts *o, struct fl_obs **out)
{
	struct fl_obs *ob = calloc(1, sizeof(*ob));
	int err;

	*out = NULL;
	if (!ob)
		return -ENOMEM;
	if ((err = obs_open(o, ob)) < 0) {
		fl_obs_close(ob);
		return err;
	}
	*out = ob;
	return 0;
}

static int obs_open(const struct fl_obs_opts *o, struct fl_obs *ob)
{
	struct fl_events_owner own = { o->uid, o->gid, o->chown, false };
	struct fl_budget_limits none;
	char path[128];
	int err;

	ob->o = *o;
	fl_budget_limits_init(&none);
	if ((err = fl_budgets_new(o->p ? &o->p->budgets : &none, &ob->bg)) < 0)
		return err;
	main_shock(ob);
	fl_budgets_set_shock(ob->bg, ob->shock0_ms, ob->shock1_ms);
	if (o->events_path)
		snprintf(path, sizeof(path), "%s", o->events_path);
	else if ((err = fl_events_path_for(o->ctl_path, path, sizeof(path))) < 0) {
		fprintf(stderr, "faultline: %s.events: path too long for a unix socket; "
			"give --events PATH\n", o->ctl_path);
		return err;
	}
	/* named after the block we own: whatever socket is there is stale */
	own.replace = !o->events_path;
	err = fl_events_open(path, &own, on_event, ob, &ob->ev);
	own.replace = true;
	if (err < 0) {
		fprintf(stderr, "faultline: events socket %s: %s\n", path,
			err == -EEXIST ? "in use by a live controller, or not a socket" :
			strerror(-err));
		return err;
	}
	if (o->market) {
		if ((err = fl_marketsock_path_for(o->ctl_path, path, sizeof(path))) == 0)
			err = fl_marketsock_open(path, &own, &ob->ms);
		if (err < 0) {
			fprintf(stderr, "faultline: market socket %s.market: %s\n",
				o->ctl_path, strerror(-err));
			return err;
		}
	}
	if (o->metrics_addr) {
		struct fl_metrics_src src = { o->ctl, o->p, o->tk, ob->bg, ob->ev,
					      ob->tfaults };

		if ((err = fl_metrics_open(o->metrics_addr, &src, &ob->mx)) < 0)
			return err; /* fl_metrics_open said why */
	}
	return 0;
}

int fl_obs_add_to_loop(struct fl_obs *ob, struct fl_loop *l)
{
	int err = fl_events_add_to_loop(ob->ev, l);

	if (!err && ob->ms)
		err = fl_marketsock_add_to_loop(ob->ms, l);
	if (!err && ob->mx)
		err = fl_metrics_add_to_loop(ob->mx, l);
	return err;
}

/* Replace or add KEY=VAL in env (VAL NULL: remove). */
static int env_put(char ***env, const char *key, const char *val)
{
	size_t n = 0, k = strlen(key), j = 0;
	char **e = *env, **ne, *kv = NULL;

	while (e[n])
		n++;
	if (val) {
		if (!(kv = malloc(k + strlen(val) + 2)))
			return -ENOMEM;
		sprintf(kv, "%s=%s", key, val);
	}
	if (!(ne = calloc(n + 2, sizeof(*ne)))) {
		free(kv);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		if (!strncmp(e[i], key, k) && e[i][k] == '=')
			free(e[i]);
		else
			ne[j++] = e[i];
	}
	if (kv)
		ne[j++] = kv;
	free(e);
	*env = ne;
	return 0;
}

int fl_obs_env(const struct fl_obs *ob, char ***env)
{
	int err = env_put(env, "FAULTLINE_EVENTS", fl_events_path(ob->ev));

	if (!err)
		err = env_put(env, "FAULTLINE_MARKET",
			      ob->ms ? fl_marketsock_path(ob->ms) : NULL);
	return err;
}

void fl_obs_started(struct fl_obs *ob)
{
	/* only when there is something to measure: a plain run stays as it was */
	if (!fl_budget_limits_any(fl_budgets_limits(ob->bg)) && !isfinite(ob->shock0_ms))
		return;
	fl_timeline_budgets(ob->o.tl, fl_budgets_limits(ob->bg), ob->shock0_ms,
			    ob->shock1_ms);
}

/* ---- the loop's hooks ---------------------------------------------------------- */

void fl_obs_jrec(struct fl_obs *ob, const struct fl_jrec *r)
{
	if (!ob || r->kind != FL_J_FAULT)
		return;
	fl_budgets_fault(ob->bg, (double)r->t_ns / 1e6);
	ob->tfaults[r->target < FL_MAX_TARGETS ? r->target : 0]++;
}

static void publish(struct fl_obs *ob, int64_t run_ns)
{
	const struct fl_ticker *tk = ob->o.tk;
	const struct mkt_params *m = ob->o.p->market;
	const char *names[MKT_SIG__COUNT], *vn[MKT_MAX_VENUES], *vs[MKT_MAX_VENUES];
	struct fl_ms_tick t = {
		.tick = tk->tick, .t_ms = (double)run_ns / 1e6,
		.market_s = (double)mkt_model__time_ns(tk->m) / 1e9,
		.nsig = MKT_SIG__COUNT, .names = names, .vals = tk->sig,
		.venue_names = vn, .venue_status = vs,
	};

	for (int i = 0; i < MKT_SIG__COUNT; i++)
		names[i] = mkt_signal_name(i);
	for (int i = 0; i < m->nvenues && i < MKT_MAX_VENUES; i++) {
		vn[i] = m->venues[i].name;
		vs[i] = mkt_venue_status_name(mkt_model__venue_status(tk->m, i));
		t.nvenues++;
	}
	fl_marketsock_tick(ob->ms, &t);
}

void fl_obs_tick(struct fl_obs *ob, int64_t run_ns)
{
	if (!ob || !ob->ms || !ob->o.tk)
		return;
	if (ob->published && ob->o.tk->tick == ob->last_pub_tick)
		return;
	ob->published = true;
	ob->last_pub_tick = ob->o.tk->tick;
	publish(ob, run_ns);
}

static void status_now(struct fl_obs *ob, int64_t run_ns)
{
	struct fl_status_in in = { 0 };
	const char *burning[8];
	struct winsize ws;
	char line[512];

	in.t_s = (double)run_ns / 1e9;
	in.p = ob->o.p;
	in.tfaults = ob->tfaults;
	if (ob->o.tk) {
		in.has_market = true;
		in.market_s = (double)mkt_model__time_ns(ob->o.tk->m) / 1e9;
		in.spot = ob->o.tk->sig[MKT_SIG_SPOT];
		in.liq_per_s = ob->o.tk->sig[MKT_SIG_LIQUIDATIONS_USD_PER_S];
		in.shock0_s = ob->shock0_s;
		in.shock1_s = ob->shock1_s;
		in.shock_name = ob->shock_name;
	}
	in.nburning = fl_budgets_burning(ob->bg, (double)run_ns / 1e6, burning, 8);
	in.burning = burning;
	fl_status_line(&in, line, sizeof(line));
	/* a line longer than the terminal wraps, and \r then redraws only its
	 * last row: keep it inside the width */
	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 4 &&
	    strlen(line) >= ws.ws_col && ws.ws_col < sizeof(line))
		memcpy(line + ws.ws_col - 4, "...", 4);
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	ob->status_shown = true;
}

void fl_obs_beat(struct fl_obs *ob, int64_t run_ns)
{
	if (!ob)
		return;
	fl_metrics_poll(ob->mx);
	if (!ob->o.status || ob->o.quiet)
		return;
	/* four times a second is all a person reads */
	if (ob->status_shown && run_ns - ob->last_status_ns < 250000000)
		return;
	ob->last_status_ns = run_ns;
	status_now(ob, run_ns);
}

void fl_obs_faults_spent(struct fl_obs *ob, int64_t run_ns)
{
	if (ob)
		fl_budgets_faults_spent(ob->bg, (double)run_ns / 1e6);
}

/* ---- the end --------------------------------------------------------------------- */

void fl_obs_finish(struct fl_obs *ob, int64_t run_ns, struct fl_tl_summary *sum)
{
	struct fl_events_stats st;

	if (!ob)
		return;
	if (ob->status_shown) {
		fputs("\r\033[K", stderr);
		ob->status_shown = false;
	}
	fl_events_drain(ob->ev);
	fl_marketsock_end(ob->ms);
	fl_budgets_end(ob->bg, (double)run_ns / 1e6);
	fl_events_stats(ob->ev, &st);
	sum->has_events = true;
	sum->events = st.records;
	sum->events_malformed = st.malformed;
	sum->events_refused = st.refused;
	if (fl_budgets_eval(ob->bg, &ob->vd) == 0) {
		ob->evaluated = true;
		sum->verdicts = &ob->vd;
	}
}

int fl_obs_verdict(struct fl_obs *ob, int rc)
{
	struct fl_events_stats st;
	char line[512];

	if (!ob || !ob->evaluated)
		return rc;
	fl_events_stats(ob->ev, &st);
	if (st.malformed && !ob->o.quiet)
		fprintf(stderr, "faultline: %llu malformed event line%s on %s (dropped)\n",
			(unsigned long long)st.malformed, st.malformed == 1 ? "" : "s",
			fl_events_path(ob->ev));
	for (int i = 0; i < ob->vd.n; i++) {
		const struct fl_verdict *v = &ob->vd.v[i];

		if (ob->o.quiet && !v->broken)
			continue;
		fl_verdict_line(v, line, sizeof(line));
		fprintf(stderr, "faultline: budget %s\n", line);
	}
	if (ob->vd.nbroken && rc == 0) {
		fprintf(stderr, "faultline: %d budget%s broken (first: %s at %.3f s): exit %d\n",
			ob->vd.nbroken, ob->vd.nbroken == 1 ? "" : "s",
			ob->vd.first_broken->budget, ob->vd.first_broken->broke_ms / 1000,
			FL_EXIT_BUDGET);
		return FL_EXIT_BUDGET;
	}
	return rc;
}

void fl_obs_close(struct fl_obs *ob)
{
	if (!ob)
		return;
	fl_metrics_close(ob->mx);
	fl_marketsock_close(ob->ms);
	fl_events_close(ob->ev);
	fl_budgets__free(ob->bg);
	free(ob);
}
