/*
 * report_html.c — the HTML view of `faultline report` (see report.h): one
 * self-contained file, inline CSS and SVG, no script, no network, no fonts.
 *
 * One shared time axis (drill seconds) for every panel: price path and
 * liquidations; depth and spread; fault intensity per rule and injected
 * faults per target; probe latency (p50, p99 per second, log scale) and
 * errors; budget verdicts and invariant violations. Marks, the shock, the
 * first budget breach and the first invariant violation are vertical lines
 * through all panels. Each series is an SVG element with a stable id
 * (series-price, series-liquidations, series-depth, series-spread,
 * series-intensity, series-faults, series-latency, series-errors,
 * series-marks, series-budgets, series-violations; first-breach,
 * first-violation, shock); one without data gets class "na" and says so.
 *
 * Invariant: every string from the timeline goes through esc() (the
 * program under test wrote some of it: a mark text can hold "<script>");
 * ids and classes are made of indices, never of names.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define W 1240.0  /* svg width */
#define L 190.0   /* left margin (labels) */
#define R 20.0    /* right margin */
#define PW (W - L - R)
#define PH 92.0  /* panel height */
#define GAP 26.0  /* between panels */
#define TOP 58.0 /* room above the panels for the first-breach, violation and mark labels */

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if (c < 0x20 && c != '\n' && c != '\t')
				fputc('?', f);
			else if (c != 0x7f)
				fputc(c, f);
		}
	}
}

struct axis {
	double t1;       /* drill ms at the right edge */
	double y0, h;    /* panel top, height */
};

static double xof(const struct axis *a, double t)
{
	return L + fmin(fmax(t / a->t1, 0), 1) * PW;
}

/* y of v in [lo, hi] within the panel (inset 4 px) */
static double yof(const struct axis *a, double v, double lo, double hi)
{
	double u = hi > lo ? (v - lo) / (hi - lo) : 0.5;

	return a->y0 + a->h - 4 - fmin(fmax(u, 0), 1) * (a->h - 8);
}

/* A path of (t, v) points, one min/max pair per pixel column. */
struct pts {
	double *t, *v;
	size_t n;
};

static void path_d(FILE *f, const struct axis *a, const struct pts *p, double lo,
		   double hi)
{
	int col = -1;
	double mn = 0, mx = 0, tmn = 0, tmx = 0;
	bool first = true;

#define EMIT(T, V)                                                                 \
	do {                                                                       \
		fprintf(f, "%s%.1f %.1f", first ? "M" : " L", xof(a, (T)),         \
			yof(a, (V), lo, hi));                                      \
		first = false;                                                     \
	} while (0)
	for (size_t i = 0; i < p->n; i++) {
		int c;

		if (isnan(p->v[i]))
			continue;
		c = (int)(xof(a, p->t[i]) - L);
		if (c != col) {
			if (col >= 0) {
				EMIT(tmn < tmx ? tmn : tmx, tmn < tmx ? mn : mx);
				if (mn != mx)
					EMIT(tmn < tmx ? tmx : tmn, tmn < tmx ? mx : mn);
			}
			col = c;
			mn = mx = p->v[i];
			tmn = tmx = p->t[i];
		}
		if (p->v[i] < mn)
			mn = p->v[i], tmn = p->t[i];
		if (p->v[i] > mx)
			mx = p->v[i], tmx = p->t[i];
	}
	if (col >= 0) {
		EMIT(tmn < tmx ? tmn : tmx, tmn < tmx ? mn : mx);
		if (mn != mx)
			EMIT(tmn < tmx ? tmx : tmn, tmn < tmx ? mx : mn);
	}
#undef EMIT
}

static void range(const struct pts *p, double *lo, double *hi)
{
	*lo = INFINITY, *hi = -INFINITY;
	for (size_t i = 0; i < p->n; i++)
		if (!isnan(p->v[i])) {
			*lo = fmin(*lo, p->v[i]);
			*hi = fmax(*hi, p->v[i]);
		}
}

static bool any(const struct pts *p)
{
	for (size_t i = 0; i < p->n; i++)
		if (!isnan(p->v[i]))
			return true;
	return false;
}

static void na(FILE *f, const char *id, const struct axis *a, double dy, const char *why)
{
	fprintf(f, "<g id=\"%s\" class=\"na\"><text x=\"%.1f\" y=\"%.1f\" class=\"na\">", id,
		L + 8, a->y0 + dy);
	esc(f, why);
	fputs("</text></g>\n", f);
}

/* One line series: <g id><path d/></g>, its scale labelled. */
static void line(FILE *f, const char *id, const char *cls, const struct axis *a,
		 const struct pts *p, double lo, double hi, double dy_na, const char *name)
{
	if (!any(p)) {
		char why[96];

		snprintf(why, sizeof(why), "%s: n/a (not in the timeline)", name);
		na(f, id, a, dy_na, why);
		return;
	}
	fprintf(f, "<g id=\"%s\" class=\"%s\"><title>", id, cls);
	esc(f, name);
	fputs("</title><path d=\"", f);
	path_d(f, a, p, lo, hi);
	fputs("\"/></g>\n", f);
}

static void panel(FILE *f, const struct axis *a, const char *title, const char *sub)
{
	fprintf(f, "<rect class=\"panel\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
		L, a->y0, PW, a->h);
	fprintf(f, "<text class=\"ptitle\" x=\"8\" y=\"%.1f\">%s</text>\n", a->y0 + 16, title);
	if (sub)
		fprintf(f, "<text class=\"psub\" x=\"8\" y=\"%.1f\">%s</text>\n", a->y0 + 32, sub);
}

static struct pts tick_pts(const struct fl_report *r, int sig)
{
	struct pts p = { calloc(r->ticks.n + 1, sizeof(double)),
			 calloc(r->ticks.n + 1, sizeof(double)), 0 };

	if (!p.t || !p.v)
		return p;
	for (size_t i = 0; i < r->ticks.n; i++) {
		p.t[p.n] = r->ticks.v[i].t_ms;
		p.v[p.n++] = sig >= 0 ? r->ticks.v[i].sig[sig] : NAN;
	}
	return p;
}

static void pts_free(struct pts *p)
{
	free(p->t);
	free(p->v);
}

/* A scale's value at the panel's top or bottom, at its left edge (right:
 * its right edge, for a panel's second series). */
static void scale_label(FILE *f, const struct axis *a, const char *cls, double v,
			bool top, const char *unit, bool right)
{
	char b[32];

	if (!strcmp(unit, "$"))
		fl_rp_usd(v, b, sizeof(b));
	else
		snprintf(b, sizeof(b), "%.6g%s", v, unit);
	fprintf(f, "<text class=\"scale %s%s\" x=\"%.1f\" y=\"%.1f\">%s</text>\n", cls,
		right ? " right" : "", right ? L + PW - 4 : L + 4,
		top ? a->y0 + 12 : a->y0 + a->h - 6, b);
}

/* ---- the panels --------------------------------------------------------------------- */

static void panel_price(const struct fl_report *r, FILE *f, const struct axis *a)
{
	struct pts sp = tick_pts(r, FL_RP_SPOT), lq = tick_pts(r, FL_RP_LIQ_RATE);
	double lo, hi, llo, lhi;

	panel(f, a, "price and liquidations", "<tspan class=\"k-price\">spot</tspan> "
	      "<tspan class=\"k-liq\">liquidations $/s</tspan>");
	range(&lq, &llo, &lhi);
	if (any(&lq)) {
		fputs("<g id=\"series-liquidations\" class=\"liq\"><title>liquidations $/s</title>"
		      "<path d=\"", f);
		path_d(f, a, &lq, 0, lhi);
		fprintf(f, " L%.1f %.1f L%.1f %.1f Z\"/></g>\n", xof(a, lq.t[lq.n - 1]),
			a->y0 + a->h - 4, xof(a, lq.t[0]), a->y0 + a->h - 4);
		scale_label(f, a, "k-liq", lhi, true, "$", true);
	} else {
		na(f, "series-liquidations", a, 50, "liquidations: n/a (no market ticks)");
	}
	range(&sp, &lo, &hi);
	line(f, "series-price", "price", a, &sp, lo, hi, 34, "spot");
	if (any(&sp)) {
		scale_label(f, a, "k-price", hi, true, "", false);
		scale_label(f, a, "k-price", lo, false, "", false);
	}
	pts_free(&sp);
	pts_free(&lq);
}

static void panel_depth(const struct fl_report *r, FILE *f, const struct axis *a)
{
	struct pts dp = tick_pts(r, FL_RP_DEPTH), sr = tick_pts(r, FL_RP_SPREAD);
	double lo, hi, slo, shi;

	panel(f, a, "depth and spread", "<tspan class=\"k-depth\">depth $</tspan> "
	      "<tspan class=\"k-spread\">spread bp</tspan>");
	range(&dp, &lo, &hi);
	range(&sr, &slo, &shi);
	line(f, "series-depth", "depth", a, &dp, 0, hi, 34, "depth");
	line(f, "series-spread", "spread", a, &sr, 0, shi, 50, "spread");
	if (any(&dp))
		scale_label(f, a, "k-depth", hi, true, "$", false);
	if (any(&sr))
		scale_label(f, a, "k-spread", shi, true, " bp", true);
	pts_free(&dp);
	pts_free(&sr);
}

static void panel_faults(const struct fl_report *r, FILE *f, const struct axis *a)
{
	int nt = r->targets.n;
	double row = nt ? fmin(18, (a->h * 0.55) / nt) : 0;

	panel(f, a, "faults", "<tspan class=\"k-int\">intensity per rule</tspan> "
	      "<tspan class=\"k-fault\">injected, per target</tspan>");
	if (r->nirules && r->ticks.n) {
		struct pts p = tick_pts(r, -1);

		fputs("<g id=\"series-intensity\" class=\"intensity\">", f);
		for (int k = 0; k < r->nirules && p.t; k++) {
			for (size_t i = 0; i < r->ticks.n; i++)
				p.v[i] = r->ticks.v[i].intens[k];
			if (!any(&p))
				continue;
			fprintf(f, "<path class=\"rule rule-%d\" d=\"", k % 8);
			/* intensity fills the upper part of the panel: 0..1 */
			{
				struct axis up = { a->t1, a->y0, a->h * 0.45 };

				path_d(f, &up, &p, 0, 1);
			}
			fprintf(f, "\"><title>rule %d intensity</title></path>", r->irule[k]);
		}
		fputs("</g>\n", f);
		pts_free(&p);
	} else {
		na(f, "series-intensity", a, 34, "intensity: n/a (no rule bound to the market)");
	}
	if (!r->faults.n) {
		na(f, "series-faults", a, 70, "faults: none injected");
		return;
	}
	fputs("<g id=\"series-faults\" class=\"faults\">", f);
	for (int k = 0; k < nt; k++) {
		double y = a->y0 + a->h * 0.45 + 4 + k * row;
		bool first = true;

		fprintf(f, "<text class=\"tname\" x=\"%.1f\" y=\"%.1f\">", L - 4, y + row * 0.8);
		esc(f, fl_rp_name(&r->targets, k));
		fprintf(f, "</text><path class=\"target target-%d\" d=\"", k % 8);
		for (size_t i = 0; i < r->faults.n; i++) {
			if (r->faults.v[i].target != k)
				continue;
			fprintf(f, "%sM%.1f %.1f v%.1f", first ? "" : " ", xof(a, r->faults.v[i].t_ms),
				y, fmax(row - 2, 2));
			first = false;
		}
		fputs("\"/>", f);
	}
	fputs("</g>\n", f);
}

static void panel_probes(const struct fl_report *r, FILE *f, const struct axis *a)
{
	struct pts p50 = { calloc((size_t)r->npw + 1, sizeof(double)),
			   calloc((size_t)r->npw + 1, sizeof(double)), 0 };
	struct pts p99 = { calloc((size_t)r->npw + 1, sizeof(double)),
			   calloc((size_t)r->npw + 1, sizeof(double)), 0 };
	double hi = 1, lo = -1; /* log10 ms: 0.1 ms .. */
	bool errs = false;

	panel(f, a, "probes", "<tspan class=\"k-p99\">p99</tspan> <tspan class=\"k-p50\">p50"
	      "</tspan> ms (log) <tspan class=\"k-err\">errors</tspan>");
	for (int i = 0; p50.t && p99.t && i < r->npw; i++) {
		const struct fl_bg_window *w = &r->pw[i];
		double mid = w->t0_ms + FL_BG_WINDOW_MS / 2;

		p50.t[p50.n] = p99.t[p99.n] = mid;
		p50.v[p50.n++] = w->n && !isnan(w->p50) ? log10(fmax(w->p50, 0.1)) : NAN;
		p99.v[p99.n++] = w->n && !isnan(w->p99) ? log10(fmax(w->p99, 0.1)) : NAN;
		if (w->n && !isnan(w->p99))
			hi = fmax(hi, p99.v[p99.n - 1]);
		errs |= w->errors > 0;
	}
	hi = ceil(hi);
	if (any(&p99)) {
		fputs("<g id=\"series-latency\" class=\"latency\"><title>probe latency per second"
		      "</title><path class=\"p99\" d=\"", f);
		path_d(f, a, &p99, lo, hi);
		fputs("\"/><path class=\"p50\" d=\"", f);
		path_d(f, a, &p50, lo, hi);
		fputs("\"/></g>\n", f);
		fprintf(f, "<text class=\"scale\" x=\"%.1f\" y=\"%.1f\">%g ms</text>\n", L + 4,
			a->y0 + 12, pow(10, hi));
		fprintf(f, "<text class=\"scale\" x=\"%.1f\" y=\"%.1f\">0.1 ms</text>\n", L + 4,
			a->y0 + a->h - 6);
	} else {
		na(f, "series-latency", a, 50, "probe latency: n/a (no probe records)");
	}
	if (errs) {
		fputs("<g id=\"series-errors\" class=\"errors\"><title>failed probes per second"
		      "</title><path d=\"", f);
		for (int i = 0; i < r->npw; i++) {
			const struct fl_bg_window *w = &r->pw[i];
			double hgt, x0, x1;

			if (!w->errors)
				continue;
			hgt = (a->h * 0.4) * fmin(1, (double)w->errors / fmax(1, w->n));
			x0 = xof(a, w->t0_ms), x1 = xof(a, w->t0_ms + FL_BG_WINDOW_MS);
			fprintf(f, "M%.1f %.1f h%.1f v%.1f h%.1f Z ", x0, a->y0 + a->h - hgt,
				fmax(x1 - x0, 1), hgt, -fmax(x1 - x0, 1));
		}
		fputs("\"/></g>\n", f);
	} else {
		na(f, "series-errors", a, 66, r->probes ? "errors: none" :
		   "errors: n/a (no probe records)");
	}
	pts_free(&p50);
	pts_free(&p99);
}

static void panel_verdicts(const struct fl_report *r, FILE *f, const struct axis *a)
{
	const struct fl_verdicts *vd = &r->vd;
	int nb = 0, ni = r->inames.n, rows;
	double row, y;

	for (int i = 0; i < vd->n; i++)
		nb += !vd->v[i].cap;
	rows = nb + ni;
	row = rows ? fmin(16, (a->h - 44) / rows) : 0;
	y = a->y0 + 40; /* below the panel's title: the row labels share its column */
	panel(f, a, "budgets and invariants", "<tspan class=\"k-burn\">burning</tspan> "
	      "<tspan class=\"k-broken\">broken</tspan> <tspan class=\"k-viol\">violations"
	      "</tspan>");
	if (nb) {
		fputs("<g id=\"series-budgets\" class=\"budgets\">", f);
		for (int i = 0; i < vd->n; i++) {
			const struct fl_verdict *v = &vd->v[i];
			double yy = y + row * 0.5, x0 = xof(a, 0), x1 = xof(a, a->t1);
			double xb = isnan(v->burn_ms) ? x1 : xof(a, v->burn_ms);
			double xk = v->broken ? xof(a, v->broke_ms) : x1;

			if (v->cap)
				continue;
			fprintf(f, "<text class=\"bname %s\" x=\"%.1f\" y=\"%.1f\">", v->broken ?
				"broken" : "held", L - 4, yy + 4);
			esc(f, v->budget);
			fprintf(f, ": %s</text>", v->broken ? "BROKEN" : "held");
			fprintf(f, "<path class=\"ok\" d=\"M%.1f %.1f H%.1f\"/>", x0, yy, xb);
			if (xb < xk)
				fprintf(f, "<path class=\"burn\" d=\"M%.1f %.1f H%.1f\"/>", xb, yy, xk);
			if (v->broken)
				fprintf(f, "<path class=\"broke\" d=\"M%.1f %.1f H%.1f\"/>", xk, yy, x1);
			y += row;
		}
		fputs("</g>\n", f);
	} else {
		na(f, "series-budgets", a, 40, "budgets: none set");
		y += 20;
	}
	if (r->first_inv < 0) {
		na(f, "series-violations", a, y - a->y0 + 14, r->invs.n ?
		   "invariant violations: none" : "invariants: n/a (no invariant records)");
		return;
	}
	fputs("<g id=\"series-violations\" class=\"violations\">", f);
	for (int k = 0; k < ni; k++) {
		bool first = true;

		fprintf(f, "<text class=\"iname\" x=\"%.1f\" y=\"%.1f\">", L - 4, y + row * 0.5 + 4);
		esc(f, fl_rp_name(&r->inames, k));
		fputs("</text><path d=\"", f);
		for (size_t i = 0; i < r->invs.n; i++) {
			if (r->invs.v[i].name != k || r->invs.v[i].ok)
				continue;
			fprintf(f, "%sM%.1f %.1f v%.1f", first ? "" : " ",
				xof(a, r->invs.v[i].t_ms), y + 2, fmax(row - 4, 2));
			first = false;
		}
		if (first) /* held: a thin line so the row reads as "none" */
			fprintf(f, "M%.1f %.1f H%.1f\" class=\"held", xof(a, 0), y + row * 0.5,
				xof(a, a->t1));
		fputs("\"/>", f);
		y += row;
	}
	fputs("</g>\n", f);
}

/* Vertical lines through every panel. */
static void overlays(const struct fl_report *r, FILE *f, const struct axis *a, double y1)
{
	const struct fl_verdicts *vd = &r->vd;

	if (isfinite(vd->shock_start_ms) && isfinite(vd->shock_end_ms))
		fprintf(f, "<rect id=\"shock\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">"
			"<title>the shock</title></rect>\n", xof(a, vd->shock_start_ms), TOP,
			fmax(1, xof(a, vd->shock_end_ms) - xof(a, vd->shock_start_ms)), y1 - TOP);
	if (r->marks.n) {
		fputs("<g id=\"series-marks\" class=\"marks\">", f);
		for (size_t i = 0; i < r->marks.n; i++) {
			double x = xof(a, r->marks.v[i].t_ms);

			fprintf(f, "<path d=\"M%.1f %.1f V%.1f\"><title>mark at %.1f s: ", x, TOP, y1,
				r->marks.v[i].t_ms / 1000);
			esc(f, r->marks.v[i].text);
			fprintf(f, "</title></path><text class=\"mlabel\" x=\"%.1f\" y=\"%.1f\">", x + 3,
				TOP - 4 - 11.0 * (double)(i % 2));
			esc(f, r->marks.v[i].text);
			fputs("</text>", f);
		}
		fputs("</g>\n", f);
	} else {
		fputs("<g id=\"series-marks\" class=\"na\"></g>\n", f);
	}
	if (vd->first_broken) {
		double x = xof(a, vd->first_broken->broke_ms);

		fprintf(f, "<g id=\"first-breach\"><path d=\"M%.1f %.1f V%.1f\"/><text x=\"%.1f\" "
			"y=\"%.1f\">first breach: ", x, 12.0, y1, x + 3, 12.0);
		esc(f, vd->first_broken->budget);
		fprintf(f, " %.1f s</text></g>\n", vd->first_broken->broke_ms / 1000);
	}
	if (r->first_inv >= 0) {
		const struct fl_rp_inv *v = &r->invs.v[r->first_inv];
		double x = xof(a, v->t_ms);

		fprintf(f, "<g id=\"first-violation\"><path d=\"M%.1f %.1f V%.1f\"/><text x=\"%.1f\" "
			"y=\"%.1f\">first violation: ", x, 26.0, y1, x + 3, 26.0);
		esc(f, fl_rp_name(&r->inames, v->name));
		fprintf(f, " %.1f s</text><title>", v->t_ms / 1000);
		esc(f, v->detail);
		fputs("</title></g>\n", f);
	}
}

static void time_axis(FILE *f, const struct axis *a, double y)
{
	double span = a->t1 / 1000, step = 1;
	static const double nice[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1800, 3600 };

	for (size_t i = 0; i < sizeof(nice) / sizeof(nice[0]); i++)
		if (span / nice[i] <= 12) {
			step = nice[i];
			break;
		}
	if (span / step > 12)
		step = ceil(span / 12);
	fputs("<g id=\"axis\" class=\"axis\">", f);
	for (double t = 0; t <= span + 1e-9; t += step)
		fprintf(f, "<path d=\"M%.1f %.1f v5\"/><text x=\"%.1f\" y=\"%.1f\">%g s</text>",
			xof(a, t * 1000), y, xof(a, t * 1000), y + 16, t);
	fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"axlabel\">drill time</text></g>\n",
		L + PW, y + 30);
}

/* ---- the page ------------------------------------------------------------------------- */

static const char css[] =
	"body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:16px 24px;"
	"color:#1d2430;background:#fff}h1{font-size:20px;margin:0 0 4px}"
	".verdict{font-size:18px;font-weight:600;padding:6px 10px;border-radius:4px;"
	"display:inline-block;margin:6px 0}.verdict.broken{background:#fde2e1;color:#9b1c1c}"
	".verdict.held{background:#def7e5;color:#17622e}.verdict.none{background:#eef}"
	"table{border-collapse:collapse;margin:4px 0 6px}td,th{padding:2px 10px 2px 0;"
	"text-align:left;vertical-align:top}th{font-weight:600;border-bottom:1px solid #ccd}"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}.BROKEN{color:#b91c1c;"
	"font-weight:600}.held{color:#17622e}.meta{color:#556}pre{font-size:12px;"
	"background:#f6f7f9;padding:8px;overflow-x:auto}"
	"svg{display:block;margin:8px 0}svg text{font:11px system-ui,sans-serif;fill:#334}"
	".panel{fill:#fafbfc;stroke:#dde}.ptitle{font-weight:600;font-size:12px}"
	".tname,.bname,.iname{text-anchor:end}.bname,.iname{font-size:10px}.scale{fill:#667;font-size:10px}"
	".scale.right{text-anchor:end}#facts td{max-width:400px}.top{display:flex;gap:40px;flex-wrap:wrap;align-items:flex-start}"
	"path{fill:none;stroke-width:1.3}#series-price path{stroke:#1f4e9c;stroke-width:1.6}"
	"#series-liquidations path{fill:#f3b5a8;stroke:#d9604a;stroke-width:.8;opacity:.8}"
	"#series-depth path{stroke:#2f855a}#series-spread path{stroke:#b7791f}"
	".rule{stroke-width:1.2}.rule-0{stroke:#7b3fa0}.rule-1{stroke:#c05621}"
	".rule-2{stroke:#2b6cb0}.rule-3{stroke:#b83280}.rule-4{stroke:#2c7a7b}"
	".rule-5{stroke:#975a16}.rule-6{stroke:#4a5568}.rule-7{stroke:#9c4221}"
	".target{stroke:#c53030;stroke-width:1}"
	"#series-latency .p99{stroke:#c53030}#series-latency .p50{stroke:#3182ce}"
	"#series-errors path{fill:#e53e3e;stroke:none;opacity:.7}"
	".ok{stroke:#48bb78;stroke-width:6}.burn{stroke:#ed8936;stroke-width:6}"
	".broke{stroke:#c53030;stroke-width:6}.bname.broken{fill:#b91c1c;font-weight:600}"
	"#series-violations path{stroke:#9b2c2c;stroke-width:1}#series-violations path.held"
	"{stroke:#9ae6b4}#series-marks path{stroke:#2d3748;stroke-dasharray:4 3}"
	".mlabel{font-size:10px;fill:#2d3748}#shock{fill:#fbd38d;opacity:.25}"
	"#first-breach path{stroke:#c53030;stroke-width:2}#first-breach text{fill:#c53030;"
	"font-weight:600}#first-violation path{stroke:#6b46c1;stroke-width:2;stroke-dasharray:"
	"6 3}#first-violation text{fill:#6b46c1;font-weight:600}.axis path{stroke:#889}"
	".axis text{text-anchor:middle;fill:#667}.axis .axlabel{text-anchor:end}text.na{fill:#889;"
	"font-style:italic}.k-price{fill:#1f4e9c}.k-liq{fill:#d9604a}.k-depth{fill:#2f855a}"
	".k-spread{fill:#b7791f}.k-int{fill:#7b3fa0}.k-fault{fill:#c53030}.k-p99{fill:#c53030}"
	".k-p50{fill:#3182ce}.k-err{fill:#e53e3e}.k-burn{fill:#ed8936}.k-broken{fill:#c53030}"
	".k-viol{fill:#9b2c2c}";

static void fmt_num(FILE *f, double x)
{
	if (isnan(x))
		fputs("no data", f);
	else if (isinf(x))
		fputs("never", f);
	else
		fprintf(f, "%.6g", x);
}

static void head(const struct fl_report *r, FILE *f)
{
	const struct fl_verdicts *vd = &r->vd;

	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width\">\n<title>faultline report: ",
	      f);
	esc(f, r->profile[0] ? r->profile : r->path);
	fprintf(f, "</title>\n<style>%s</style></head><body>\n<h1>faultline report: ", css);
	esc(f, r->profile[0] ? r->profile : "(no profile)");
	fputs("</h1>\n<div class=\"meta\">", f);
	esc(f, r->path);
	fputs(" &middot; ", f);
	esc(f, r->mode[0] ? r->mode : "run");
	fprintf(f, ", seed %llu, speed %g, faultline ", (unsigned long long)r->seed, r->speed);
	esc(f, r->version);
	fprintf(f, " &middot; %.1f s of drill", r->t_end_ms / 1000);
	if (r->has_exit)
		fprintf(f, " &middot; the command exited %d", r->exit_status);
	fputs("</div>\n", f);
	if (vd->first_broken) {
		fprintf(f, "<div class=\"verdict broken\" id=\"verdict\">DID NOT HOLD: %d budget%s "
			"broken; first: ", vd->nbroken, vd->nbroken == 1 ? "" : "s");
		esc(f, vd->first_broken->budget);
		fprintf(f, " at %.1f s</div>\n", vd->first_broken->broke_ms / 1000);
	} else if (vd->n) {
		fputs("<div class=\"verdict held\" id=\"verdict\">held: every budget</div>\n", f);
	} else {
		fputs("<div class=\"verdict none\" id=\"verdict\">no budgets set</div>\n", f);
	}
	fputs("<div class=\"top\"><table id=\"budgets\"><tr><th>budget</th><th>limit</th><th>measured</th>"
	      "<th>verdict</th><th>burning from</th><th>broke at</th><th>note</th></tr>\n", f);
	for (int i = 0; i < vd->n; i++) {
		const struct fl_verdict *v = &vd->v[i];
		const char *st = v->cap ? "cap" : v->broken ? "BROKEN" : "held";

		fputs("<tr><td>", f);
		esc(f, v->budget);
		fputs("</td><td class=\"num\">", f);
		fmt_num(f, v->limit);
		fputs("</td><td class=\"num\">", f);
		fmt_num(f, v->measured);
		fprintf(f, "</td><td class=\"%s\">%s</td><td class=\"num\">", st, st);
		if (!isnan(v->burn_ms))
			fprintf(f, "%.1f s", v->burn_ms / 1000);
		fputs("</td><td class=\"num\">", f);
		if (v->broken)
			fprintf(f, "%.1f s", v->broke_ms / 1000);
		fputs("</td><td>", f);
		esc(f, v->note);
		fputs("</td></tr>\n", f);
	}
	fputs("</table>\n<table id=\"facts\">", f);
	fputs("<tr><th>time to stability</th><td>", f);
	if (!isnan(vd->tts_ms))
		fprintf(f, "%.1f s after the shock", vd->tts_ms / 1000);
	else
		fputs(vd->tts_never ? "never (the probes did not return to their pre-shock band)" :
		      "n/a", f);
	fputs("</td></tr><tr><th>peak degradation</th><td>", f);
	if (!isnan(vd->probe[0].peak_p99))
		fprintf(f, "p99 %.4g ms, error rate %.3g %% (worst second after the shock began)",
			vd->probe[0].peak_p99, vd->probe[0].peak_err * 100);
	else
		fputs("n/a", f);
	fputs("</td></tr><tr><th>first budget breach</th><td>", f);
	if (vd->first_broken) {
		esc(f, vd->first_broken->budget);
		fprintf(f, " at %.1f s", vd->first_broken->broke_ms / 1000);
	} else {
		fputs("none", f);
	}
	fputs("</td></tr><tr><th>first invariant violation</th><td>", f);
	if (r->first_inv >= 0) {
		esc(f, fl_rp_name(&r->inames, r->invs.v[r->first_inv].name));
		fprintf(f, " at %.1f s: ", r->invs.v[r->first_inv].t_ms / 1000);
		esc(f, r->invs.v[r->first_inv].detail);
	} else {
		fputs("none", f);
	}
	fputs("</td></tr><tr><th>time to detect</th><td>", f);
	if (!isnan(r->detect_after_ms))
		fprintf(f, "%.1f s (first mark after the budgets began to burn)",
			r->detect_after_ms / 1000);
	else
		fputs("n/a", f);
	fputs("</td></tr><tr><th>time to respond</th><td>", f);
	if (!isnan(r->respond_ms))
		fprintf(f, "%.1f s (from that mark until stable)", r->respond_ms / 1000);
	else
		fputs("n/a", f);
	fputs("</td></tr></table></div>\n", f);
	if (r->marks.n) {
		fputs("<table id=\"marks\"><tr><th>mark</th><th>text</th></tr>\n", f);
		for (size_t i = 0; i < r->marks.n; i++) {
			fprintf(f, "<tr><td class=\"num\">%.1f s</td><td>", r->marks.v[i].t_ms / 1000);
			esc(f, r->marks.v[i].text);
			fputs("</td></tr>\n", f);
		}
		fputs("</table>\n", f);
	}
}

int fl_report_html(const struct fl_report *r, FILE *f)
{
	struct axis a = { fmax(r->t_end_ms, 1), TOP, PH };
	int nrows = r->inames.n;
	double vh, y1;

	for (int i = 0; i < r->vd.n; i++)
		nrows += !r->vd.v[i].cap;
	vh = fmax(PH, 48 + 13.0 * nrows);
	y1 = TOP + 4 * PH + vh + 4 * GAP;
	char *text = NULL;
	size_t tlen = 0;
	FILE *m;

	head(r, f);
	fprintf(f, "<svg id=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		"height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"the drill on "
		"one time axis\">\n", W, y1 + 36, W, y1 + 36);
	panel_price(r, f, &a);
	a.y0 += PH + GAP;
	panel_depth(r, f, &a);
	a.y0 += PH + GAP;
	panel_faults(r, f, &a);
	a.y0 += PH + GAP;
	panel_probes(r, f, &a);
	a.y0 += PH + GAP;
	a.h = vh;
	panel_verdicts(r, f, &a);
	overlays(r, f, &a, y1);
	time_axis(f, &a, y1);
	fputs("</svg>\n", f);
	/* the text report too, for everything the charts do not show */
	if ((m = open_memstream(&text, &tlen))) {
		fl_report_text(r, m);
		fclose(m);
	}
	fputs("<details><summary>the text report</summary><pre id=\"text-report\">", f);
	esc(f, text);
	fputs("</pre></details>\n</body></html>\n", f);
	free(text);
	return ferror(f) ? -EIO : 0;
}
