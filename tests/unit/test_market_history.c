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
 * median) of the drawdown and of the liquidations is asserted below 35 %.
 * Each day is also run without its trigger (the control): its drawdown is
 * printed next to the event's and asserted below the documented bound.
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
 * under: cascades depend on the path, so some spread is the model's own */
#define SEED_SPREAD 0.35

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
 * figure minus the control's; a control that falls as far as the event says
 * the ladder was supercritical anyway (documented in the scenario). Asserted:
 * the control's median drawdown stays at or below `max_dd`. */
/* the control's median drawdown as control() measured it (reused by
 * control_law when the history case ran first) */
static struct { const char *rel; double dd; } measured[2];

static void control(const char *rel, const struct mkt_params *p, uint64_t seed,
		    const struct mkt_stats *ev, double max_dd)
{
	struct mkt_params *q = mkt_params__dup(p);
	struct mkt_stats st[NSEEDS];
	int n = 0;

	assert_non_null(q);
	for (int i = 0; i < q->nshocks; i++)
		if (q->shocks[i].kind == MKT_SHOCK_VENUE)
			q->shocks[n++] = q->shocks[i];
	q->nshocks = n;
	for (int i = 0; i < NSEEDS; i++)
		assert_int_equal(mkt_run_stats(q, seed + (uint64_t)i, &st[i]), 0);
	print_message("  control without the trigger: drawdown %.1f %% (event %.1f %%), liquidated $%.3g B (event $%.3g B)\n",
		      100 * median_of(st, S(max_drawdown)), 100 * median_of(ev, S(max_drawdown)),
		      median_of(st, S(liq_total_usd)) / 1e9, median_of(ev, S(liq_total_usd)) / 1e9);
	for (int i = 0; i < 2; i++)
		if (!measured[i].rel || !strcmp(measured[i].rel, rel)) {
			measured[i].rel = rel;
			measured[i].dd = median_of(st, S(max_drawdown));
			break;
		}
	if (!(median_of(st, S(max_drawdown)) <= max_dd))
		fail_msg("%s: the control without the trigger falls %.1f %% (documented at most %.1f %%)",
			 rel, 100 * median_of(st, S(max_drawdown)), 100 * max_dd);
	mkt_params__free(q);
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

/* The drift of the control (a no-news day falling 19-21 %) is the kept
 * impact read from the refilled visible book: a -1..-2 % dip sets off the
 * nearest longs, the engine then works a queue of ~$1.5 B at its throughput
 * for half an hour, and the kept gap of that sustained selling, taken from
 * 20 M of visible bid depth, is ~10x the square-root law in daily volume
 * (Y sigma_D sqrt(Q/V_D)). With liquidity.kept_volume_law the kept gap is
 * capped by that law. Asserted, medians of 5 seeds, each against the same
 * day without the ladder (the diffusion and jumps alone, measured 7.0 % /
 * 9.3 %): with the law the ladder adds at most 5 points to the control's
 * drawdown (measured +3.1 / +1.0), without it at least 8 (measured +14.4 /
 * +9.5), so the law is what removes the drift; and the control liquidates
 * at most 60 % of what the triggered day does with the law (measured 55 % /
 * 49 %; 80 % without). Not yet small beside it: the ladder still empties
 * ~$3 B (2021) on a no-news day through the transient gap under the engine's
 * sustained selling; see market.calibration. */
static void control_law(const char *rel, double *dd_law, double *dd_book)
{
	struct mkt_params *p = mkt_params__new();
	struct mkt_stats law[NSEEDS], book[NSEEDS], flat[NSEEDS], ev[NSEEDS];
	uint64_t seed;
	double d0, dl, db, ll, le;

	load(rel, p, &seed);
	run5(p, seed, false, true, true, law);
	db = NAN;
	for (int i = 0; i < 2; i++)
		if (measured[i].rel && !strcmp(measured[i].rel, rel))
			db = measured[i].dd;
	if (isnan(db)) {
		run5(p, seed, false, true, false, book);
		db = median_of(book, S(max_drawdown));
	}
	run5(p, seed, false, false, false, flat);
	run5(p, seed, true, true, true, ev);
	d0 = median_of(flat, S(max_drawdown));
	dl = median_of(law, S(max_drawdown));
	ll = median_of(law, S(liq_total_usd));
	le = median_of(ev, S(liq_total_usd));
	print_message("%s control: drawdown %.1f %% without the ladder, %.1f %% with it and the volume law, %.1f %% with the book's kept gap; liquidated $%.3g B (triggered, volume law: $%.3g B, %.0f %%); triggered drawdown with the law %.1f %%\n",
		      rel, 100 * d0, 100 * dl, 100 * db, ll / 1e9, le / 1e9, 100 * ll / le,
		      100 * median_of(ev, S(max_drawdown)));
	if (!(dl - d0 <= 0.05))
		fail_msg("%s: with the volume law the ladder adds %.1f points to the control's drawdown (stated <= 5)",
			 rel, 100 * (dl - d0));
	if (!(db - d0 >= 0.08))
		fail_msg("%s: with the book's kept gap the ladder adds only %.1f points (stated >= 8)",
			 rel, 100 * (db - d0));
	if (!(ll <= 0.6 * le))
		fail_msg("%s: the control liquidates %.0f %% of the triggered day (stated <= 60 %%)",
			 rel, 100 * ll / le);
	*dd_law = dl;
	*dd_book = db;
	mkt_params__free(p);
}

static void control_volume_law(void **state)
{
	double a, b;

	control_law("scenarios/history/2020-03-12.json", &a, &b);
	control_law("scenarios/history/2021-05-19.json", &a, &b);
}

static void check(const char *rel, const struct figure *f, int nf, double max_control_dd)
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
	control(rel, p, seed, st, max_control_dd);
	mkt_params__free(p);
	if (bad)
		fail_msg("%s: %d figure(s) off", rel, bad);
}

static void history_2020_03_12(void **state)
{
	/* the documented misses and their bands: see market.calibration */
	static const struct figure f[] = {
		{ "drawdown", S(max_drawdown), 1, 0.515, false, -0.65, -0.35 },
		{ "longs liquidated (BitMEX), USD", S(liq_long_usd), 1, 1.4e9, true, 0, 0 },
		{ "spread ratio (x)", S(spread_ratio), 1, 700.0 / 200.0, true, 0, 0 },
		{ "depth decline", S(depth_decline), 1, 0.58, true, 0, 0 },
		{ "retrace", S(retrace), 1, 0.40, false, -0.40, 0.80 },
		{ "liquidations peak hour, USD", S(liq_max_hour_usd), 1, 0, false, 0, 0 },
		{ "liquidations peak minute, USD", S(liq_peak_min_usd), 1, 0, false, 0, 0 },
		{ "cascade duration, s", S(cascade_s), 1, 0, false, 0, 0 },
	};

	check("scenarios/history/2020-03-12.json", f, sizeof(f) / sizeof(f[0]), 0.30);
}

static void history_2021_05_19(void **state)
{
	static const struct figure f[] = {
		{ "drawdown", S(max_drawdown), 1, 0.317, true, 0, 0 },
		{ "liquidated in 24 h, USD", S(liq_total_usd), 1, 8.6e9, true, 0, 0 },
		{ "peak hour of long liquidations, BTC", S(liq_max_hour_units), 1, 10525.0, false, 10.0, 30.0 },
		{ "depth decline", S(depth_decline), 1, 0.58, true, 0, 0 },
		{ "retrace", S(retrace), 1, 0.45, true, 0, 0 },
		{ "spread ratio (x)", S(spread_ratio), 1, 0, false, 0, 0 },
		{ "liquidations peak minute, USD", S(liq_peak_min_usd), 1, 0, false, 0, 0 },
		{ "cascade duration, s", S(cascade_s), 1, 0, false, 0, 0 },
	};

	check("scenarios/history/2021-05-19.json", f, sizeof(f) / sizeof(f[0]), 0.25);
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
