/*
 * test_market_history.c — the two history scenarios, rebuilt from pre-event
 * facts and an exogenous trigger only (no bridge, recover, or scheduled
 * depth/mm/spread/hawkes/vol shock: asserted), against the published
 * figures of shared/MARKET.md, for the median of 5 seeds (the file's seed
 * and the next four).
 *
 * Each figure is either a hit — asserted within +-25 % of the published
 * value — or a documented miss (the scenario's "calibration" says by how
 * much and why), printed with its deviation. The table below is the one
 * place that says which; a miss that becomes a hit should move. The seed
 * spread ((max - min) / median) of the drawdown and of the liquidations is
 * asserted below 30 %: the ladder is stable across seeds.
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

struct figure {
	const char *name;
	size_t off;     /* in struct mkt_stats */
	double scale;   /* stats unit -> published unit */
	double published;
	bool asserted;  /* a hit: within +-25 % */
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

static void check(const char *rel, const struct figure *f, int nf)
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
		print_message("  %-34s model %11.4g  published %11.4g  %+7.1f %%  seeds %.4g..%.4g (spread %.0f %%)  %s\n",
			      f[k].name, med, f[k].published, 100 * dev, v[0], v[NSEEDS - 1],
			      100 * spread, f[k].asserted ? (fabs(dev) <= 0.25 ? "hit" : "MISSED") : "documented miss");
		if (f[k].asserted && !(fabs(dev) <= 0.25))
			bad++;
		if ((f[k].off == S(max_drawdown) || f[k].off == S(liq_total_usd) ||
		     f[k].off == S(liq_long_usd)) && !(spread < 0.30)) {
			print_message("  seed spread of %s is %.0f %% (>= 30 %%)\n", f[k].name, 100 * spread);
			bad++;
		}
	}
	mkt_params__free(p);
	if (bad)
		fail_msg("%s: %d figure(s) off", rel, bad);
}

static void history_2020_03_12(void **state)
{
	static const struct figure f[] = {
		{ "drawdown", S(max_drawdown), 1, 0.515, false },
		{ "longs liquidated (BitMEX), USD", S(liq_long_usd), 1, 1.4e9, false },
		{ "spread ratio (x)", S(spread_ratio), 1, 700.0 / 200.0, false },
		{ "depth decline", S(depth_decline), 1, 0.58, false },
		{ "retrace", S(retrace), 1, 0.40, false },
		{ "liquidations peak hour, USD", S(liq_max_hour_usd), 1, 0, false },
		{ "liquidations peak minute, USD", S(liq_peak_min_usd), 1, 0, false },
		{ "cascade duration, s", S(cascade_s), 1, 0, false },
	};

	check("scenarios/history/2020-03-12.json", f, sizeof(f) / sizeof(f[0]));
}

static void history_2021_05_19(void **state)
{
	static const struct figure f[] = {
		{ "drawdown", S(max_drawdown), 1, 0.317, false },
		{ "liquidated in 24 h, USD", S(liq_total_usd), 1, 8.6e9, true },
		{ "peak hour of long liquidations, BTC", S(liq_max_hour_units), 1, 10525.0, false },
		{ "depth decline", S(depth_decline), 1, 0.58, false },
		{ "retrace", S(retrace), 1, 0.45, false },
		{ "spread ratio (x)", S(spread_ratio), 1, 0, false },
		{ "liquidations peak minute, USD", S(liq_peak_min_usd), 1, 0, false },
		{ "cascade duration, s", S(cascade_s), 1, 0, false },
	};

	check("scenarios/history/2021-05-19.json", f, sizeof(f) / sizeof(f[0]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(history_2020_03_12),
		cmocka_unit_test(history_2021_05_19),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
