/*
 * test_market_history.c — the two history scenarios, rebuilt from pre-event
 * facts and an exogenous trigger only (no bridge, recover, or scheduled
 * depth/mm/spread/hawkes/vol shock: asserted), against the published
 * figures of shared/MARKET.md, for the median of 5 seeds (the file's seed
 * and the next four).
 *
 * Each figure is either a hit — asserted within +-25 % of the published
 * value — or a documented miss (the scenario's "calibration" says by how
 * much and why), asserted to stay within its documented band so that a
 * regression shows. The tables below are the one place that says which; a
 * miss that becomes a hit should move. The seed spread ((max - min) /
 * median) of the drawdown and of the liquidations is asserted below
 * SEED_SPREAD. Both days run with liquidity.kept_volume_law (asserted).
 * Each day is also run without its trigger (the control): its drawdown is
 * printed next to the event's and asserted below the documented bound and
 * clearly below the event's.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jsonutil.h"
#include "market/market.h"

#define NSEEDS 5
/* the seed spread ((max - min) / median) the drawdown and liquidations stay
 * under: cascades depend on the path, so some spread is the model's own.
 * With the kept gap capped at the square-root law the ladder is no longer
 * supercritical, and in one seed of five of 2020 the dip never sets off
 * the cascade (measured: drawdown 73 % / 55 %, liquidations 87 % (longs) /
 * 48 %, 2020 / 2021; with the entry sampler's fallback at spot, before
 * issue 11's fix, 66 % / 73 % and 82 % / 75 %, one seed of either day) */
#define SEED_SPREAD 0.90

struct figure {
	const char *name;
	size_t off;     /* in struct mkt_stats */
	double scale;   /* stats unit -> published unit */
	double published;
	bool asserted;  /* a hit: within +-25 % */
	double lo, hi;  /* a documented miss: the deviation (model / published
			   - 1) stays in [lo, hi], so a regression shows */
};

#define S(f) offsetof(struct mkt_stats, f)

static double get(const struct mkt_stats *s, const struct figure *f)
{
	return *(const double *)((const char *)s + f->off) * f->scale;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void load(const char *rel, struct mkt_params *p, uint64_t *seed)
{
	const char *root = getenv("FL_ROOT");
	char path[512], err[4096] = "";
	struct fl_jctx c = { .file = path, .err = err, .errlen = sizeof(err) };
	const cJSON *sd;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/%s", root && *root ? root : ".", rel);
	j = fl_json_load_file(&c, path);
	if (!j)
		fail_msg("%s", err);
	sd = cJSON_GetObjectItemCaseSensitive(j, "seed");
	assert_true(cJSON_IsNumber(sd));
	*seed = (uint64_t)sd->valuedouble;
	if (mkt_params__from_json(&c, cJSON_GetObjectItemCaseSensitive(j, "market"), "market", p))
		fail_msg("%s", err);
	cJSON_Delete(j);
	/* no scripted outcome: only exogenous inputs (news jumps, flows, venue
	 * status) are scheduled */
	for (int i = 0; i < p->nshocks; i++) {
		int k = p->shocks[i].kind;
		if (k != MKT_SHOCK_JUMP && k != MKT_SHOCK_FLOW && k != MKT_SHOCK_VENUE)
			fail_msg("%s: shock %d (kind %d) scripts an outcome", rel, i, k);
	}
}

static double median_of(const struct mkt_stats *st, size_t off)
{
	double v[NSEEDS];

	for (int i = 0; i < NSEEDS; i++)
		v[i] = *(const double *)((const char *)&st[i] + off);
	qsort(v, NSEEDS, sizeof(double), cmp_dbl);
	return v[NSEEDS / 2];
}

/* The control: the same day without its trigger (news jumps and exogenous
 * flows removed, venue outages kept). What the trigger adds is the event's
 * figure minus the control's. Asserted, medians of 5 seeds: the control
 * falls at most `max_dd` and at least `min_gap` less than the triggered day
 * (the trigger, not the ladder's own drift, makes the day). */
struct control_bound {
	double max_dd;  /* the control's drawdown stays at or below */
	double min_gap; /* triggered drawdown - control drawdown, at least */
};

/* what the history case measured, reused by control_volume_law */
static struct measured {
	const char *rel;
	double ctl_dd, ctl_liq, ev_dd, ev_liq;
} measured[2];

static struct measured *slot(const char *rel)
{
	for (int i = 0; i < 2; i++)
		if (!measured[i].rel || !strcmp(measured[i].rel, rel)) {
			measured[i].rel = rel;
			return &measured[i];
		}
	return NULL;
}

static void run5(const struct mkt_params *p, uint64_t seed, bool trigger, bool ladder,
		 bool law, struct mkt_stats st[NSEEDS])
{
	struct mkt_params *q = mkt_params__dup(p);
	int n = 0;

	assert_non_null(q);
	for (int i = 0; i < q->nshocks; i++)
		if (trigger || q->shocks[i].kind == MKT_SHOCK_VENUE)
			q->shocks[n++] = q->shocks[i];
	q->nshocks = n;
	q->on.ladder = ladder;
	q->kept_volume_law = law;
	for (int i = 0; i < NSEEDS; i++)
		assert_int_equal(mkt_run_stats(q, seed + (uint64_t)i, &st[i]), 0);
	mkt_params__free(q);
}

static void control(const char *rel, const struct mkt_params *p, uint64_t seed,
		    const struct mkt_stats *ev, struct control_bound cb)
{
	struct mkt_stats st[NSEEDS];
	struct measured *ms = slot(rel);
	double cd, ed;

	run5(p, seed, false, true, p->kept_volume_law, st);
	cd = median_of(st, S(max_drawdown));
	ed = median_of(ev, S(max_drawdown));
	print_message("  control without the trigger: drawdown %.1f %% (event %.1f %%), liquidated $%.3g B (event $%.3g B)\n",
		      100 * cd, 100 * ed, median_of(st, S(liq_total_usd)) / 1e9,
		      median_of(ev, S(liq_total_usd)) / 1e9);
	assert_non_null(ms);
	*ms = (struct measured){ rel, cd, median_of(st, S(liq_total_usd)), ed,
				 median_of(ev, S(liq_total_usd)) };
	if (!(cd <= cb.max_dd))
		fail_msg("%s: the control without the trigger falls %.1f %% (documented at most %.1f %%)",
			 rel, 100 * cd, 100 * cb.max_dd);
	if (!(ed - cd >= cb.min_gap))
		fail_msg("%s: the trigger adds only %.1f points to the control's drawdown (documented at least %.1f)",
			 rel, 100 * (ed - cd), 100 * cb.min_gap);
}

/* Why the histories run with liquidity.kept_volume_law: without it the
 * control's drift (a no-news day falling 19-21 %) is the kept impact read
 * from the refilled visible book: a -1..-2 % dip sets off the nearest
 * longs, the engine then works a queue of ~$1.5 B at its throughput for
 * half an hour, and the kept gap of that sustained selling, taken from
 * 20 M of visible bid depth, is ~10x the square-root law in daily volume
 * (Y sigma_D sqrt(Q/V_D)). With the law the kept gap is capped by it.
 * Asserted, medians of 5 seeds, each against the same no-news day without
 * the ladder (the diffusion and jumps alone, measured 9.4 % / 7.1 %): with
 * the law the ladder adds at most 7 points to the control's drawdown
 * (measured +2.0 / +6.1, 2020 / 2021: its transient wicks still set off
 * the nearest longs), without it (the book's kept gap) at least 8 (+9.3 /
 * +15.3), so the law is what removes most of the drift; and the control
 * liquidates at most 70 % of what the triggered day does (57 % / 57 %).
 * The control and the triggered day are the history case's when it ran
 * first. */
static void control_law(const char *rel)
{
	struct mkt_params *p = mkt_params__new();
	struct mkt_stats book[NSEEDS], flat[NSEEDS], st[NSEEDS];
	struct measured *ms = slot(rel), me;
	uint64_t seed;
	double d0, db;

	assert_non_null(ms);
	load(rel, p, &seed);
	assert_true(p->kept_volume_law);
	if (!ms->ctl_liq) {
		run5(p, seed, false, true, true, st);
		ms->ctl_dd = median_of(st, S(max_drawdown));
		ms->ctl_liq = median_of(st, S(liq_total_usd));
		run5(p, seed, true, true, true, st);
		ms->ev_dd = median_of(st, S(max_drawdown));
		ms->ev_liq = median_of(st, S(liq_total_usd));
	}
	me = *ms;
	run5(p, seed, false, true, false, book);
	run5(p, seed, false, false, true, flat);
	d0 = median_of(flat, S(max_drawdown));
	db = median_of(book, S(max_drawdown));
	print_message("%s control: drawdown %.1f %% without the ladder, %.1f %% with it (volume law), %.1f %% with the book's kept gap; liquidated $%.3g B (%.0f %% of the triggered day's $%.3g B); triggered drawdown %.1f %%\n",
		      rel, 100 * d0, 100 * me.ctl_dd, 100 * db, me.ctl_liq / 1e9,
		      100 * me.ctl_liq / me.ev_liq, me.ev_liq / 1e9, 100 * me.ev_dd);
	if (!(me.ctl_dd - d0 <= 0.07))
		fail_msg("%s: with the volume law the ladder adds %.1f points to the control's drawdown (stated <= 7)",
			 rel, 100 * (me.ctl_dd - d0));
	if (!(db - d0 >= 0.08))
		fail_msg("%s: with the book's kept gap the ladder adds only %.1f points (stated >= 8)",
			 rel, 100 * (db - d0));
	if (!(me.ctl_liq <= 0.7 * me.ev_liq))
		fail_msg("%s: the control liquidates %.0f %% of the triggered day (stated <= 70 %%)",
			 rel, 100 * me.ctl_liq / me.ev_liq);
	mkt_params__free(p);
}

static void control_volume_law(void **state)
{
	control_law("scenarios/history/2020-03-12.json");
	control_law("scenarios/history/2021-05-19.json");
}

static void check(const char *rel, const struct figure *f, int nf, struct control_bound cb)
{
	struct mkt_params *p = mkt_params__new();
	struct mkt_stats st[NSEEDS];
	uint64_t seed;
	int bad = 0;

	load(rel, p, &seed);
	for (int i = 0; i < NSEEDS; i++)
		assert_int_equal(mkt_run_stats(p, seed + (uint64_t)i, &st[i]), 0);
	print_message("%s, seeds %llu..%llu\n", rel, (unsigned long long)seed,
		      (unsigned long long)seed + NSEEDS - 1);
	for (int k = 0; k < nf; k++) {
		double v[NSEEDS], med, spread, dev;
		for (int i = 0; i < NSEEDS; i++)
			v[i] = get(&st[i], &f[k]);
		qsort(v, NSEEDS, sizeof(double), cmp_dbl);
		med = v[NSEEDS / 2];
		spread = med != 0 ? (v[NSEEDS - 1] - v[0]) / fabs(med) : 0;
		dev = f[k].published != 0 ? med / f[k].published - 1 : 0;
		bool inband = f[k].published == 0 || (dev >= f[k].lo && dev <= f[k].hi);
		print_message("  %-34s model %11.4g  published %11.4g  %+7.1f %%  seeds %.4g..%.4g (spread %.0f %%)  %s\n",
			      f[k].name, med, f[k].published, 100 * dev, v[0], v[NSEEDS - 1],
			      100 * spread, f[k].asserted ? (fabs(dev) <= 0.25 ? "hit" : "MISSED")
			      : f[k].published == 0 ? "reported" : inband ? "documented miss" : "MISS OUT OF ITS BAND");
		if (f[k].asserted && !(fabs(dev) <= 0.25))
			bad++;
		if (!f[k].asserted && !inband)
			bad++;
		if ((f[k].off == S(max_drawdown) || f[k].off == S(liq_total_usd) ||
		     f[k].off == S(liq_long_usd)) && !(spread < SEED_SPREAD)) {
			print_message("  seed spread of %s is %.0f %% (>= %.0f %%)\n", f[k].name,
				      100 * spread, 100 * SEED_SPREAD);
			bad++;
		}
	}
	control(rel, p, seed, st, cb);
	mkt_params__free(p);
	if (bad)
		fail_msg("%s: %d figure(s) off", rel, bad);
}

static void history_2020_03_12(void **state)
{
	/* the documented misses and their bands: see market.calibration */
	static const struct figure f[] = {
		{ "drawdown", S(max_drawdown), 1, 0.515, false, -0.75, -0.45 },
		{ "longs liquidated (BitMEX), USD", S(liq_long_usd), 1, 1.4e9, false, -0.50, -0.10 },
		{ "spread ratio (x)", S(spread_ratio), 1, 700.0 / 200.0, true, 0, 0 },
		{ "depth decline", S(depth_decline), 1, 0.58, true, 0, 0 },
		{ "retrace", S(retrace), 1, 0.40, false, 0.50, 1.80 },
		{ "liquidations peak hour, USD", S(liq_max_hour_usd), 1, 0, false, 0, 0 },
		{ "liquidations peak minute, USD", S(liq_peak_min_usd), 1, 0, false, 0, 0 },
		{ "cascade duration, s", S(cascade_s), 1, 0, false, 0, 0 },
	};

	/* the control: measured 11.4 % against the event's 18.6 % */
	check("scenarios/history/2020-03-12.json", f, sizeof(f) / sizeof(f[0]),
	      (struct control_bound){ 0.15, 0.05 });
}

static void history_2021_05_19(void **state)
{
	static const struct figure f[] = {
		{ "drawdown", S(max_drawdown), 1, 0.317, false, -0.60, -0.25 },
		{ "liquidated in 24 h, USD", S(liq_total_usd), 1, 8.6e9, true, 0, 0 },
		{ "peak hour of long liquidations, BTC", S(liq_max_hour_units), 1, 10525.0, false, 5.0, 15.0 },
		{ "depth decline", S(depth_decline), 1, 0.58, true, 0, 0 },
		{ "retrace", S(retrace), 1, 0.45, false, -0.60, -0.25 },
		{ "spread ratio (x)", S(spread_ratio), 1, 0, false, 0, 0 },
		{ "liquidations peak minute, USD", S(liq_peak_min_usd), 1, 0, false, 0, 0 },
		{ "cascade duration, s", S(cascade_s), 1, 0, false, 0, 0 },
	};

	/* the control: measured 13.2 % against the event's 19.1 % */
	check("scenarios/history/2021-05-19.json", f, sizeof(f) / sizeof(f[0]),
	      (struct control_bound){ 0.16, 0.05 });
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(history_2020_03_12),
		cmocka_unit_test(history_2021_05_19),
		cmocka_unit_test(control_volume_law),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
