/*
 * report_text.c — the terminal view of `faultline report` and the command
 * itself (see report.h).
 *
 * Sections, in order: the run; faults per rule; the market; faults by
 * market phase; the per-window table; the program as its probes saw it;
 * the failure budgets (time to stability, peak degradation); what broke
 * first; marks (time to detect, time to respond); the verdict.
 *
 * Invariant: every string from the timeline goes through put_safe (control
 * bytes become '?'): the program under test wrote them, and a terminal
 * obeys escape sequences.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "observe.h"
#include "report.h"

/* ---- formatting ----------------------------------------------------------------- */

static void put_safe(FILE *f, const char *s)
{
	for (; s && *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

/* Width-padded safe string. */
static void put_pad(FILE *f, const char *s, int w)
{
	int n = 0;

	for (; s && *s; s++, n++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	for (; n < w; n++)
		fputc(' ', f);
}

static const char *secs(double ms, char *b, size_t len)
{
	if (isnan(ms))
		snprintf(b, len, "-");
	else
		snprintf(b, len, "%.1f s", ms / 1000);
	return b;
}

static const char *hms(double s, char *b, size_t len)
{
	long long k = llround(s);

	snprintf(b, len, "%lld:%02lld:%02lld", k / 3600, k % 3600 / 60, k % 60);
	return b;
}

static const char *hm(double s, char *b, size_t len)
{
	long long k = llround(s);

	snprintf(b, len, "%lld:%02lld", k / 3600, k % 3600 / 60);
	return b;
}

static const char *num(double x, char *b, size_t len)
{
	if (isnan(x))
		snprintf(b, len, "n/a");
	else if (isinf(x))
		snprintf(b, len, "never");
	else if (x != 0 && (fabs(x) >= 1e7 || fabs(x) < 1e-3))
		snprintf(b, len, "%.3g", x);
	else
		snprintf(b, len, "%.*g", fabs(x) >= 1e4 ? 7 : 4, x);
	return b;
}

/* "60,000" */
static const char *grouped(double x, char *b, size_t len)
{
	char raw[32];
	int n, k = 0, neg = x < 0;
	size_t o = 0;

	if (isnan(x))
		return snprintf(b, len, "n/a"), b;
	snprintf(raw, sizeof(raw), "%.0f", fabs(x));
	n = (int)strlen(raw);
	if (neg && o + 1 < len)
		b[o++] = '-';
	for (k = 0; k < n && o + 2 < len; k++) {
		b[o++] = raw[k];
		if ((n - k - 1) % 3 == 0 && k < n - 1)
			b[o++] = ',';
	}
	b[o] = '\0';
	return b;
}

/* ---- the run and its faults ----------------------------------------------------------- */

static void section_run(const struct fl_report *r, FILE *f)
{
	char b[64];

	fputs("== faultline report: ", f);
	put_safe(f, r->path);
	fputs("\n   ", f);
	put_safe(f, r->mode);
	fputs(" of ", f);
	put_safe(f, r->profile[0] ? r->profile : "(no profile)");
	fprintf(f, ", seed %llu", (unsigned long long)r->seed);
	if (r->speed != 1)
		fprintf(f, ", --speed %g", r->speed);
	fprintf(f, ", faultline %s", r->version);
	if (r->layer[0])
		fprintf(f, ", layer %s", r->layer);
	fprintf(f, "; %s of drill, %llu records\n", secs(r->t_end_ms, b, sizeof(b)),
		(unsigned long long)r->records);
	if (r->cmd) {
		fputs("   command: ", f);
		put_safe(f, r->cmd);
		fputc('\n', f);
	}
	if (r->has_exit) {
		if (r->exit_signal > 0)
			fprintf(f, "   the command was killed by signal %d\n", r->exit_signal);
		else
			fprintf(f, "   the command exited %d\n", r->exit_status);
	} else {
		fputs("   no exit record (a drill, or the controller did not finish)\n", f);
	}
	if (r->profile[0] && r->profile_note[0]) {
		fputs("   (", f);
		put_safe(f, r->profile);
		fprintf(f, ": %s)\n", r->profile_note);
	}
}

static void armed(const struct fl_rp_rule *ru, char *b, size_t len)
{
	double share;

	if (!ru->seen) {
		snprintf(b, len, "always");
		return;
	}
	share = 100.0 * (double)ru->armed / (double)ru->seen;
	if (share > 0 && share < 1)
		snprintf(b, len, "<1 %%");
	else
		snprintf(b, len, "%.0f %%", share);
}

static void section_faults(const struct fl_report *r, FILE *f)
{
	bool market = r->ticks.n > 0;
	char b[32], a[16];
	int shown = 0;

	fputs("\n-- faults injected\n", f);
	fprintf(f, "   %-5s %-12s %-9s %-9s %6s  %-9s%s\n", "rule", "target", "op", "fault",
		"count", "first at", market ? " armed   bound to" : "");
	for (int i = 0; i < r->nrules; i++) {
		const struct fl_rp_rule *ru = &r->rules[i];

		if (!ru->faults && !ru->listed && !ru->seen && !ru->target[0])
			continue;
		shown++;
		fprintf(f, "   %-5d ", i);
		put_pad(f, ru->target[0] ? ru->target : "?", 12);
		fputc(' ', f);
		put_pad(f, ru->op[0] ? ru->op : "?", 9);
		fputc(' ', f);
		put_pad(f, ru->fault[0] ? ru->fault : "?", 9);
		fprintf(f, " %6llu  %-9s", (unsigned long long)ru->faults,
			secs(ru->first_ms, b, sizeof(b)));
		if (market) {
			armed(ru, a, sizeof(a));
			fprintf(f, " %-7s %s", a, ru->bound);
		}
		fputc('\n', f);
	}
	if (!shown)
		fputs("   (none)\n", f);
	if (market)
		fputs("   (armed: share of the timeline's market ticks at which the rule's "
		      "binding let it fire)\n", f);
	for (int i = 0; i < r->nrules; i++) {
		const struct fl_rp_rule *ru = &r->rules[i];

		if (ru->faults || !ru->seen || !ru->armed)
			continue;
		armed(ru, a, sizeof(a));
		fprintf(f, "   rule %d: armed %s of the time, never fired: the program made no ", i, a);
		put_safe(f, ru->target[0] ? ru->target : "?");
		fputc(' ', f);
		put_safe(f, ru->op[0] ? ru->op : "?");
		fputs(" call while it was armed (or its probability said no)\n", f);
	}
	for (size_t i = 0; i < r->stops.n; i++) {
		fprintf(f, "   faults stopped at %s (%s): ", secs(r->stops.v[i].t_ms, b, sizeof(b)),
			r->stops.v[i].type);
		put_safe(f, r->stops.v[i].reason);
		fputc('\n', f);
	}
	if (r->has_summary) {
		fprintf(f, "   dropped journal records: %llu; processes attached: %llu\n",
			(unsigned long long)r->dropped, (unsigned long long)r->attached);
		if (r->unreached[0]) {
			fputs("   the faults reached no process: ", f);
			put_safe(f, r->unreached);
			fputc('\n', f);
		}
	} else {
		fputs("   no summary record (the controller did not finish)\n", f);
	}
}

/* ---- the market ---------------------------------------------------------------------- */

struct extreme {
	double v, t, m; /* value, drill ms, market ms */
};

static struct extreme ext(const struct fl_report *r, int sig, bool max, double t0,
			  double t1)
{
	struct extreme e = { NAN, NAN, NAN };

	for (size_t i = 0; i < r->ticks.n; i++) {
		const struct fl_rp_tick *t = &r->ticks.v[i];
		double v = t->sig[sig];

		if (t->t_ms < t0 || t->t_ms >= t1 || isnan(v))
			continue;
		if (isnan(e.v) || (max ? v > e.v : v < e.v))
			e = (struct extreme){ v, t->t_ms, t->market_ms };
	}
	return e;
}

static double first_sig(const struct fl_report *r, int sig, double t0, double t1, bool last)
{
	double v = NAN;

	for (size_t i = 0; i < r->ticks.n; i++) {
		const struct fl_rp_tick *t = &r->ticks.v[i];

		if (t->t_ms < t0 || t->t_ms >= t1 || isnan(t->sig[sig]))
			continue;
		v = t->sig[sig];
		if (!last)
			break;
	}
	return v;
}

static void section_market(const struct fl_report *r, FILE *f)
{
	double s0, s1, d0, spr0;
	struct extreme lo, liq, q, spr, dep, st;
	char a[32], b[32], c[32], d[32];

	if (!r->ticks.n)
		return;
	s0 = first_sig(r, FL_RP_SPOT, 0, INFINITY, false);
	s1 = first_sig(r, FL_RP_SPOT, 0, INFINITY, true);
	lo = ext(r, FL_RP_SPOT, false, 0, INFINITY);
	liq = ext(r, FL_RP_LIQ_RATE, true, 0, INFINITY);
	q = ext(r, FL_RP_LIQ_QUEUE, true, 0, INFINITY);
	spr = ext(r, FL_RP_SPREAD, true, 0, INFINITY);
	dep = ext(r, FL_RP_DEPTH, false, 0, INFINITY);
	st = ext(r, FL_RP_STRESS, true, 0, INFINITY);
	spr0 = first_sig(r, FL_RP_SPREAD, 0, INFINITY, false);
	d0 = first_sig(r, FL_RP_DEPTH, 0, INFINITY, false);
	fprintf(f, "\n-- the market (%s of market time in %s of drill, from the timeline's "
		"%zu tick records)\n", hm(r->ticks.v[r->ticks.n - 1].market_ms / 1000, a, sizeof(a)),
		secs(r->t_end_ms, b, sizeof(b)), r->ticks.n);
	if (!isnan(s0) && !isnan(lo.v))
		fprintf(f, "   spot           %s -> low %s (%+.1f %%) at %s -> %s at the end "
			"(%+.1f %%)\n", grouped(s0, a, sizeof(a)), grouped(lo.v, b, sizeof(b)),
			(lo.v / s0 - 1) * 100, hms(lo.m / 1000, c, sizeof(c)),
			grouped(s1, d, sizeof(d)), (s1 / s0 - 1) * 100);
	else
		fputs("   spot           n/a\n", f);
	fl_rp_usd(liq.v, a, sizeof(a));
	fl_rp_usd(q.v, b, sizeof(b));
	fprintf(f, "   liquidations   peak %s/s at %s; forced orders queued peak %s\n", a,
		isnan(liq.t) ? "-" : hms(liq.m / 1000, c, sizeof(c)), b);
	if (!isnan(spr.v))
		fprintf(f, "   spread         %.1f bp -> peak %.1f bp at %s\n", spr0, spr.v,
			hms(spr.m / 1000, a, sizeof(a)));
	else
		fputs("   spread         n/a\n", f);
	fl_rp_usd(d0, a, sizeof(a));
	fl_rp_usd(dep.v, b, sizeof(b));
	fprintf(f, "   depth          %s -> low %s at %s", a, b,
		isnan(dep.t) ? "-" : hms(dep.m / 1000, c, sizeof(c)));
	if (!isnan(st.v))
		fprintf(f, ";  stress peak %.2f at %s", st.v, hms(st.m / 1000, d, sizeof(d)));
	fputc('\n', f);
}

/* The phases: before, during and after the shock (the budgets record's, in
 * drill ms), else thirds of the drill. */
static int phases(const struct fl_report *r, double t[4], const char *names[3])
{
	double s0 = r->vd.shock_start_ms, s1 = r->vd.shock_end_ms, e = r->t_end_ms;

	if (isfinite(r->shock0_ms) && isfinite(r->shock1_ms) && s1 > s0) {
		t[0] = 0, t[1] = s0, t[2] = s1, t[3] = fmax(e, s1);
		names[0] = "before the shock", names[1] = "the shock",
		names[2] = "after the shock";
	} else {
		t[0] = 0, t[1] = e / 3, t[2] = 2 * e / 3, t[3] = e;
		names[0] = "first third", names[1] = "second third", names[2] = "last third";
	}
	return 3;
}

static void section_phases(const struct fl_report *r, FILE *f)
{
	double t[4];
	const char *names[3];
	char a[32], b[32], c[32], d[32], e[32];

	if (!r->ticks.n)
		return;
	phases(r, t, names);
	fprintf(f, "\n-- faults by market phase (drill time = market time / %g)\n", r->speed);
	for (int p = 0; p < 3; p++) {
		double t0 = t[p], t1 = p == 2 ? INFINITY : t[p + 1];
		uint64_t cnt[FL_RP_MAX_RULES] = { 0 };
		double vlo[FL_RP_MAX_RULES], vhi[FL_RP_MAX_RULES];
		bool any = false;

		fprintf(f, "   %-16s market %s-%s, drill %.1f-%.1f s\n", names[p],
			hm(t0 * r->speed / 1000, a, sizeof(a)),
			hm(t[p + 1] * r->speed / 1000, b, sizeof(b)), t0 / 1000, t[p + 1] / 1000);
		fl_rp_usd(ext(r, FL_RP_LIQ_RATE, true, t0, t1).v, e, sizeof(e));
		fprintf(f, "   %-16s spot %s -> %s, liquidations peak %s/s, spread peak %s bp\n", "",
			grouped(first_sig(r, FL_RP_SPOT, t0, t1, false), c, sizeof(c)),
			grouped(first_sig(r, FL_RP_SPOT, t0, t1, true), d, sizeof(d)), e,
			num(ext(r, FL_RP_SPREAD, true, t0, t1).v, a, sizeof(a)));
		for (size_t i = 0; i < r->faults.n; i++) {
			const struct fl_rp_fault *x = &r->faults.v[i];

			if (x->t_ms < t0 || x->t_ms >= t1 || x->rule < 0)
				continue;
			if (!cnt[x->rule]++)
				vlo[x->rule] = vhi[x->rule] = x->value_ms;
			vlo[x->rule] = fmin(vlo[x->rule], x->value_ms);
			vhi[x->rule] = fmax(vhi[x->rule], x->value_ms);
			any = true;
		}
		for (;;) { /* most faults first */
			int k = -1;
			char what[160];
			const struct fl_rp_rule *ru;

			for (int i = 0; i < r->nrules; i++)
				if (cnt[i] && (k < 0 || cnt[i] > cnt[k]))
					k = i;
			if (k < 0)
				break;
			ru = &r->rules[k];
			snprintf(what, sizeof(what), "%s %s %s", ru->target, ru->op, ru->fault);
			fprintf(f, "   %-16s %5llu  ", "", (unsigned long long)cnt[k]);
			put_pad(f, what, 28);
			if (llround(vlo[k]) == llround(vhi[k]))
				fprintf(f, " %.0f ms\n", vlo[k]);
			else
				fprintf(f, " %.0f-%.0f ms\n", vlo[k], vhi[k]);
			cnt[k] = 0;
		}
		if (!any)
			fprintf(f, "   %-16s no faults\n", "");
	}
}

/* ---- the per-window table --------------------------------------------------------------- */

static int metric_id(const struct fl_report *r, const char *const *names)
{
	for (; *names; names++)
		for (int i = 0; i < r->mnames.n; i++)
			if (!strcmp(r->mnames.s[i], *names))
				return i;
	return -1;
}

/* Max of gauge `id` over [t0, t1), NaN without records. */
static double gauge_max(const struct fl_report *r, int id, double t0, double t1)
{
	double m = NAN;

	for (size_t i = 0; id >= 0 && i < r->metrics.n; i++) {
		const struct fl_rp_val *v = &r->metrics.v[i];

		if (v->name == id && v->t_ms >= t0 && v->t_ms < t1 && !(v->v <= m))
			m = v->v;
	}
	return m;
}

/* Increase of counter `id` over [t0, t1): the last value in it minus the
 * last before it (0 before the first record); NaN without a record in it. */
static double counter_delta(const struct fl_report *r, int id, double t0, double t1)
{
	double before = 0, last = NAN;

	for (size_t i = 0; id >= 0 && i < r->metrics.n; i++) {
		const struct fl_rp_val *v = &r->metrics.v[i];

		if (v->name != id)
			continue;
		if (v->t_ms < t0)
			before = v->v;
		else if (v->t_ms < t1)
			last = v->v;
	}
	return isnan(last) ? NAN : fmax(0, last - before);
}

/* One cell: "n/a" (no such series), "-" (none in the window), else x in
 * fmt (NULL: dollars). */
static void cell(FILE *f, int w, double x, const char *fmt, bool absent)
{
	char b[32];

	if (absent)
		snprintf(b, sizeof(b), "n/a");
	else if (isnan(x))
		snprintf(b, sizeof(b), "-");
	else if (!fmt)
		fl_rp_usd(x, b, sizeof(b));
	else
		snprintf(b, sizeof(b), fmt, x);
	fprintf(f, " %*s", w, b);
}

static const char *const M_SLIP[] = { "slippage_bps", NULL };
static const char *const M_REJ[] = { "orders_rejected_total", NULL };
static const char *const M_PART[] = { "orders_partial_total", NULL };
static const char *const M_FIN[] = { "finality_ms", "settlement_lag_ms", NULL };
static const char *const M_REC[] = { "reconciliation_lag_ms", NULL };
static const char *const M_FAIL[] = { "failed_transfers_total", NULL };

/* Market ms at drill ms t: the first tick at or after t, else t x speed. */
static double market_at(const struct fl_report *r, double t)
{
	for (size_t i = 0; i < r->ticks.n; i++)
		if (r->ticks.v[i].t_ms >= t)
			return r->ticks.v[i].market_ms;
	return t * r->speed;
}

static void section_windows(const struct fl_report *r, FILE *f)
{
	double w = fl_rp_window_ms(r->t_end_ms);
	int nw = (int)fmax(1, ceil(r->t_end_ms / w - 1e-9));
	struct fl_bg_window pw[FL_RP_MAX_WINDOWS + 2];
	int npw = r->probes ? fl_budgets_windows(r->bg, w, pw, FL_RP_MAX_WINDOWS + 2) : 0;
	int slip = metric_id(r, M_SLIP), rej = metric_id(r, M_REJ), part = metric_id(r, M_PART);
	int fin = metric_id(r, M_FIN), rec = metric_id(r, M_REC), fail = metric_id(r, M_FAIL);
	bool mk = r->ticks.n > 0, kn = r->kernel.n > 0;
	char a[32], lbl[48];

	if (nw > FL_RP_MAX_WINDOWS + 1)
		nw = FL_RP_MAX_WINDOWS + 1;
	fprintf(f, "\n-- per window (%g s of drill each; \"-\": no record in the window, "
		"\"n/a\": the timeline has no such series)\n", w / 1000);
	fprintf(f, "   market and risk\n   %-12s %7s %9s %7s %9s %6s %6s %6s %10s %9s\n",
		"window", "market", "spot", "spread", "depth", "slip", "basis", "IV",
		"liq queue", "liq/s");
	fprintf(f, "   %-12s %7s %9s %7s %9s %6s %6s %6s %10s %9s\n", "(drill s)", "h:mm",
		"", "bp", "$", "bp", "bp", "", "$", "$/s");
	for (int k = 0; k < nw; k++) {
		double t0 = k * w, t1 = (k + 1) * w;
		struct extreme bas = ext(r, FL_RP_BASIS, true, t0, t1);
		struct extreme basl = ext(r, FL_RP_BASIS, false, t0, t1);

		snprintf(lbl, sizeof(lbl), "%g-%g", t0 / 1000, t1 / 1000);
		fprintf(f, "   %-12s %7s", lbl, hm(market_at(r, t0) / 1000, a, sizeof(a)));
		cell(f, 9, first_sig(r, FL_RP_SPOT, t0, t1, true), "%.0f", !mk);
		cell(f, 7, ext(r, FL_RP_SPREAD, true, t0, t1).v, "%.1f", !mk);
		cell(f, 9, ext(r, FL_RP_DEPTH, false, t0, t1).v, NULL, !mk);
		cell(f, 6, gauge_max(r, slip, t0, t1), "%.1f", slip < 0);
		cell(f, 6, fabs(basl.v) > fabs(bas.v) ? basl.v : bas.v, "%.1f", !mk);
		cell(f, 6, ext(r, FL_RP_IV, true, t0, t1).v, "%.2f", !mk);
		cell(f, 10, ext(r, FL_RP_LIQ_QUEUE, true, t0, t1).v, NULL, !mk);
		cell(f, 9, ext(r, FL_RP_LIQ_RATE, true, t0, t1).v, NULL, !mk);
		fputc('\n', f);
	}
	fprintf(f, "   routing, settlement, platform\n   %-12s %6s %7s %7s %6s %7s %7s %8s "
		"%8s %6s %8s %7s %7s %6s\n", "window", "probes", "p50", "p99", "err", "rejects",
		"partial", "finality", "recon", "failed", "syscalls", "errors", "retrans", "faults");
	fprintf(f, "   %-12s %6s %7s %7s %6s %7s %7s %8s %8s %6s %8s %7s %7s %6s\n", "(drill s)",
		"", "ms", "ms", "%", "", "", "ms", "lag ms", "xfers", "", "", "", "");
	for (int k = 0; k < nw; k++) {
		double t0 = k * w, t1 = (k + 1) * w, calls = 0, errs = 0, rt = 0;
		const struct fl_bg_window *p = k < npw ? &pw[k] : NULL;
		uint64_t nf = 0;

		for (size_t i = 0; i < r->kernel.n; i++)
			if (r->kernel.v[i].t_ms >= t0 && r->kernel.v[i].t_ms < t1) {
				calls += r->kernel.v[i].calls;
				errs += r->kernel.v[i].errors;
				rt += r->kernel.v[i].retrans;
			}
		for (size_t i = 0; i < r->faults.n; i++)
			nf += r->faults.v[i].t_ms >= t0 && r->faults.v[i].t_ms < t1;
		snprintf(lbl, sizeof(lbl), "%g-%g", t0 / 1000, t1 / 1000);
		fprintf(f, "   %-12s", lbl);
		cell(f, 6, p ? p->n : NAN, "%.0f", !r->probes);
		cell(f, 7, p && p->n ? p->p50 : NAN, "%.1f", !r->probes);
		cell(f, 7, p && p->n ? p->p99 : NAN, "%.1f", !r->probes);
		cell(f, 6, p && p->n ? 100.0 * p->errors / p->n : NAN, "%.1f", !r->probes);
		cell(f, 7, counter_delta(r, rej, t0, t1), "%.0f", rej < 0);
		cell(f, 7, counter_delta(r, part, t0, t1), "%.0f", part < 0);
		cell(f, 8, gauge_max(r, fin, t0, t1), "%.0f", fin < 0);
		cell(f, 8, gauge_max(r, rec, t0, t1), "%.0f", rec < 0);
		cell(f, 6, counter_delta(r, fail, t0, t1), "%.0f", fail < 0);
		cell(f, 8, calls, "%.0f", !kn);
		cell(f, 7, errs, "%.0f", !kn);
		cell(f, 7, rt, "%.0f", !kn);
		fprintf(f, " %6llu\n", (unsigned long long)nf);
	}
	if (fin >= 0)
		fprintf(f, "   (finality: metric %s%s)\n", fl_rp_name(&r->mnames, fin),
			strcmp(fl_rp_name(&r->mnames, fin), "settlement_lag_ms") ? "" :
			", the oldest settlement not yet final");
	if (!kn)
		fputs("   (platform n/a: no kernel records: --no-bpf, or no eBPF here)\n", f);
}

/* ---- the program, as its probes saw it ----------------------------------------------------- */

static void section_probes(const struct fl_report *r, FILE *f)
{
	const struct fl_verdicts *vd = &r->vd;
	bool any_peak = false;

	fputs("\n-- the program, as its probes saw it", f);
	if (r->has_exit)
		fprintf(f, " (exit status %d)", r->exit_status);
	fputc('\n', f);
	if (!r->probes)
		fputs("   (no probe records: nothing wrote to FAULTLINE_EVENTS)\n", f);
	else
		fputs("   request       count  failed  p50 ms  p99 ms  max ms\n", f);
	for (int k = 1; r->probes && k < vd->nprobe; k++) {
		const struct fl_bg_probe_stat *p = &vd->probe[k];

		fputs("   ", f);
		put_pad(f, p->name, 12);
		fprintf(f, "  %5llu  %6llu  %6.1f  %6.1f  %6.0f\n", (unsigned long long)p->n,
			(unsigned long long)p->errors, p->p50, p->p99, p->max);
	}
	for (int id = 0; id < r->mnames.n; id++) {
		const char *nm = r->mnames.s[id];
		size_t k = strlen(nm);
		double m = gauge_max(r, id, -INFINITY, INFINITY);
		char b[32];

		if (k > 6 && !strcmp(nm + k - 6, "_total"))
			continue;
		fputs(any_peak ? ", " : "   peaks      ", f);
		any_peak = true;
		put_safe(f, nm);
		fprintf(f, " %s", num(m, b, sizeof(b)));
	}
	if (any_peak)
		fputc('\n', f);
	if (!r->invs.n)
		return;
	fputs("   invariants\n", f);
	for (size_t i = 0; i < r->invs.n; i++) {
		const struct fl_rp_inv *v = &r->invs.v[i];
		bool broken = false;

		for (size_t j = 0; j < r->invs.n; j++)
			broken |= r->invs.v[j].name == v->name && !r->invs.v[j].ok;
		if (!v->ok || broken)
			continue;
		fputs("     held    ", f);
		put_pad(f, fl_rp_name(&r->inames, v->name), 26);
		fputc(' ', f);
		put_safe(f, v->detail);
		fputc('\n', f);
	}
	for (int id = 0; id < r->inames.n; id++) {
		const struct fl_rp_inv *first = NULL;
		uint64_t n = 0;
		char b[32];

		for (size_t i = 0; i < r->invs.n; i++)
			if (r->invs.v[i].name == id && !r->invs.v[i].ok) {
				n++;
				if (!first)
					first = &r->invs.v[i];
			}
		if (!first)
			continue;
		fputs("     BROKEN  ", f);
		put_pad(f, r->inames.s[id], 26);
		fprintf(f, " %llu time%s, first at %s: ", (unsigned long long)n, n == 1 ? "" : "s",
			secs(first->t_ms, b, sizeof(b)));
		put_safe(f, first->detail);
		fputc('\n', f);
	}
}

/* ---- budgets, what broke first, marks, verdict ------------------------------------------------ */

static void section_budgets(const struct fl_report *r, FILE *f)
{
	const struct fl_verdicts *vd = &r->vd;
	const struct fl_bg_probe_stat *all = &vd->probe[0];
	char a[32], b[32], c[32], d[32];

	fputs("\n-- failure budgets (the release gate: exit 3 when one broke)\n", f);
	if (!r->has_budgets || !vd->n)
		fputs("   (none set: the profile or scenario has no \"budgets\")\n", f);
	else
		fprintf(f, "   %-30s %9s %10s  %-7s %-13s %-9s %s\n", "budget", "limit", "measured",
			"verdict", "burning from", "broke at", "note");
	for (int i = 0; i < vd->n; i++) {
		const struct fl_verdict *v = &vd->v[i];

		fputs("   ", f);
		put_pad(f, v->budget, 30);
		fprintf(f, " %9s %10s  %-7s %-13s %-9s ", num(v->limit, a, sizeof(a)),
			isnan(v->measured) ? "no data" : num(v->measured, b, sizeof(b)),
			v->cap ? "cap" : v->broken ? "BROKEN" : "held",
			secs(v->burn_ms, c, sizeof(c)), secs(v->broke_ms, d, sizeof(d)));
		put_safe(f, v->note);
		fputc('\n', f);
	}
	if (isfinite(vd->shock_start_ms))
		fprintf(f, "   shock          %.1f-%.1f s of drill (%s)\n", vd->shock_start_ms / 1000,
			vd->shock_end_ms / 1000, isfinite(r->shock0_ms) ? "the scenario's main shock" :
			"first to last injected fault");
	else
		fputs("   shock          none (no market shock and no faults)\n", f);
	if (!isnan(vd->tts_ms))
		fprintf(f, "   time to stability  %.1f s after the shock ended (stable from %.1f s: "
			"%d windows of %g s in a row inside every probe's pre-shock band)\n",
			vd->tts_ms / 1000, vd->stable_ms / 1000, FL_BG_SUSTAIN, FL_BG_WINDOW_MS / 1000);
	else if (vd->tts_never)
		fputs("   time to stability  never: the probes did not return to their pre-shock "
		      "band before the drill ended\n", f);
	else
		fprintf(f, "   time to stability  n/a (%s)\n", !isfinite(vd->shock_end_ms) ?
			"no shock" : "no probe before the shock");
	if (!isnan(all->peak_p99) || !isnan(all->peak_err)) {
		fprintf(f, "   peak degradation   worst window after the shock began: p99 %s ms, "
			"error rate %s %%\n", num(all->peak_p99, a, sizeof(a)),
			num(all->peak_err * 100, b, sizeof(b)));
		for (int k = 1; k < vd->nprobe; k++) {
			const struct fl_bg_probe_stat *p = &vd->probe[k];

			if (isnan(p->peak_p99) && isnan(p->peak_err))
				continue;
			fputs("     ", f);
			put_pad(f, p->name, 12);
			fprintf(f, " p99 %s ms", num(p->peak_p99, a, sizeof(a)));
			if (isfinite(p->peak_ratio))
				fprintf(f, " (x%.1f the pre-shock %s ms)", p->peak_ratio,
					num(p->pre_p99, b, sizeof(b)));
			fprintf(f, ", errors %s %%", num(p->peak_err * 100, c, sizeof(c)));
			if (!isnan(p->pre_err))
				fprintf(f, " (pre-shock %s %%)", num(p->pre_err * 100, d, sizeof(d)));
			fputc('\n', f);
		}
	} else {
		fputs("   peak degradation   n/a (no probes after the shock began)\n", f);
	}
	if (r->live_broken >= 0 && r->live_broken != vd->nbroken)
		fprintf(f, "   note: the run's own summary said %d budget%s broken; from the "
			"timeline %d\n", r->live_broken, r->live_broken == 1 ? "" : "s", vd->nbroken);
}

static const char *first_burner(const struct fl_report *r)
{
	const struct fl_verdict *best = NULL;

	for (int i = 0; i < r->vd.n; i++)
		if (!r->vd.v[i].cap && !isnan(r->vd.v[i].burn_ms) &&
		    (!best || r->vd.v[i].burn_ms < best->burn_ms))
			best = &r->vd.v[i];
	return best ? best->budget : "";
}

static void section_first(const struct fl_report *r, FILE *f)
{
	const struct fl_verdict *fb = r->vd.first_broken;
	char a[32], b[32];

	fputs("\n-- what broke first\n", f);
	if (fb) {
		fprintf(f, "   first budget breach        %s at %s (limit %s, measured ", fb->budget,
			secs(fb->broke_ms, a, sizeof(a)), num(fb->limit, b, sizeof(b)));
		fprintf(f, "%s)\n", num(fb->measured, a, sizeof(a)));
	} else {
		fputs("   first budget breach        none\n", f);
	}
	if (!isnan(r->vd.first_burn_ms))
		fprintf(f, "   first budget burn          %s at %s\n", first_burner(r),
			secs(r->vd.first_burn_ms, a, sizeof(a)));
	if (r->first_inv >= 0) {
		const struct fl_rp_inv *v = &r->invs.v[r->first_inv];

		fputs("   first invariant violation  ", f);
		put_safe(f, fl_rp_name(&r->inames, v->name));
		fprintf(f, " at %s: ", secs(v->t_ms, a, sizeof(a)));
		put_safe(f, v->detail);
		fputc('\n', f);
	} else {
		fputs("   first invariant violation  none\n", f);
	}
	if (r->faults.n)
		fprintf(f, "   first injected fault       %s at %s\n",
			fl_rp_name(&r->targets, r->faults.v[0].target),
			secs(r->faults.v[0].t_ms, a, sizeof(a)));
}

static void section_marks(const struct fl_report *r, FILE *f)
{
	char a[32], b[32];

	fputs("\n-- marks (operator actions: faultline mark --ctl PATH TEXT)\n", f);
	for (size_t i = 0; i < r->marks.n; i++) {
		fprintf(f, "   %8s  ", secs(r->marks.v[i].t_ms, a, sizeof(a)));
		put_safe(f, r->marks.v[i].text);
		fputc('\n', f);
	}
	if (!r->marks.n)
		fputs("   (none)\n", f);
	if (r->detect_mark >= 0)
		fprintf(f, "   time to detect   %s (the first mark after %s started to burn at %s)\n",
			secs(r->detect_after_ms, a, sizeof(a)), first_burner(r),
			secs(r->vd.first_burn_ms, b, sizeof(b)));
	else
		fprintf(f, "   time to detect   n/a (%s)\n", isnan(r->vd.first_burn_ms) ?
			"no budget burned" : "no mark after the budgets started to burn");
	if (!isnan(r->respond_ms))
		fprintf(f, "   time to respond  %s (from that mark until stable)\n",
			secs(r->respond_ms, a, sizeof(a)));
	else
		fprintf(f, "   time to respond  n/a (%s)\n", r->detect_mark < 0 ? "no detecting mark" :
			r->vd.tts_never ? "never stable" : "stable before the mark, or no stability measure");
}

static void section_verdict(const struct fl_report *r, FILE *f)
{
	const struct fl_verdict *fb = r->vd.first_broken;
	char a[32];

	if (fb) {
		fprintf(f, "\n   verdict: DID NOT HOLD: %d budget%s broken, %s first at %s",
			r->vd.nbroken, r->vd.nbroken == 1 ? "" : "s", fb->budget,
			secs(fb->broke_ms, a, sizeof(a)));
		if (r->first_inv >= 0) {
			fputs("; first invariant violation ", f);
			put_safe(f, fl_rp_name(&r->inames, r->invs.v[r->first_inv].name));
			fprintf(f, " at %s", secs(r->invs.v[r->first_inv].t_ms, a, sizeof(a)));
		}
		fputc('\n', f);
	} else if (r->vd.n) {
		fputs("\n   verdict: held: every budget", f);
		if (r->first_inv >= 0)
			fprintf(f, " (but %llu invariant violation%s, no budget on them)",
				(unsigned long long)r->vd.violations, r->vd.violations == 1 ? "" : "s");
		fputc('\n', f);
	} else {
		fputs("\n   verdict: no budgets to hold", f);
		if (r->first_inv >= 0)
			fprintf(f, " (%llu invariant violation%s)", (unsigned long long)r->vd.violations,
				r->vd.violations == 1 ? "" : "s");
		fputc('\n', f);
	}
}

int fl_report_text(const struct fl_report *r, FILE *f)
{
	section_run(r, f);
	section_faults(r, f);
	section_market(r, f);
	section_phases(r, f);
	section_windows(r, f);
	section_probes(r, f);
	section_budgets(r, f);
	section_first(r, f);
	section_marks(r, f);
	section_verdict(r, f);
	return ferror(f) ? -EIO : 0;
}

/* ---- the command ------------------------------------------------------------------------------ */

static const char report_usage[] =
	"usage: faultline report TIMELINE [-o report.html] [-q]\n"
	"  the text report on stdout (budgets, time to stability, what broke\n"
	"  first, marks, per-window metrics); -o also writes one self-contained\n"
	"  HTML file; -q: no text. Exit 0 budgets held, 3 one broke, 1 the\n"
	"  timeline cannot be read, 2 bad usage.\n";

int fl_report_main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL;
	struct fl_report *r;
	bool quiet = false;
	char err[1024];
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:q", lo, NULL)) != -1) {
		if (c == 'h') {
			fputs(report_usage, stdout);
			return 0;
		}
		if (c == 'o')
			out = optarg;
		else if (c == 'q')
			quiet = true;
		else {
			fputs(report_usage, stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "faultline: report: %s\n%s", optind >= argc ?
			"give the TIMELINE (faultline run -o FILE)" : "one TIMELINE only",
			report_usage);
		return 2;
	}
	if ((rc = fl_report_load(argv[optind], &r, err, sizeof(err))) < 0) {
		fprintf(stderr, "faultline: report: %s\n", err[0] ? err : strerror(-rc));
		return 1;
	}
	if (!quiet && fl_report_text(r, stdout) < 0) {
		fprintf(stderr, "faultline: report: writing stdout: %s\n", strerror(errno));
		fl_report__free(r);
		return 1;
	}
	if (out) {
		FILE *f = fopen(out, "we");
		int wrc = f ? fl_report_html(r, f) : -errno;

		if (f && fclose(f) != 0 && wrc == 0)
			wrc = -errno;
		if (wrc < 0) {
			fprintf(stderr, "faultline: report: %s: %s\n", out, strerror(-wrc));
			fl_report__free(r);
			return 1;
		}
	}
	rc = fl_report_broken(r) ? FL_EXIT_BUDGET : 0;
	fl_report__free(r);
	fflush(stdout);
	return rc;
}
