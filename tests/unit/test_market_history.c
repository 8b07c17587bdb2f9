/*
 * test_market_history.c — the calibrated history scenarios land within
 * +-25 % of the published figures in shared/MARKET.md, with their own seeds.
 *
 *  2020-03-12: drawdown 51.5 %, ~$1.4 B of longs liquidated, spread x3.5
 *              (200 -> 700 bp to trade 25 BTC; compared as the ratio of the
 *              peak to the initial quoted spread).
 *  2021-05-19: drawdown 31.7 %, $8.6 B liquidated in 24 h. MARKET.md has no
 *              spread figure for this day; the one-hour record (10,525 BTC)
 *              is printed, not asserted (see the scenario's description).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "jsonutil.h"
#include "market/market.h"

static void run_file(const char *rel, struct mkt_stats *st)
{
	const char *root = getenv("FL_ROOT");
	char path[512], err[4096] = "";
	struct fl_jctx c = { .file = path, .err = err, .errlen = sizeof(err) };
	struct mkt_params *p = mkt_params__new();
	struct mkt_model *m;
	const cJSON *seed;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/%s", root && *root ? root : ".", rel);
	j = fl_json_load_file(&c, path);
	if (!j)
		fail_msg("%s", err);
	seed = cJSON_GetObjectItemCaseSensitive(j, "seed");
	assert_true(cJSON_IsNumber(seed));
	if (mkt_params__from_json(&c, cJSON_GetObjectItemCaseSensitive(j, "market"), "market", p))
		fail_msg("%s", err);
	m = mkt_model__new(p, (uint64_t)seed->valuedouble);
	assert_non_null(m);
	while (mkt_model__time_ns(m) < mkt_params__duration_ns(p))
		mkt_model__step(m);
	mkt_model__stats(m, st);
	mkt_model__free(m);
	mkt_params__free(p);
	cJSON_Delete(j);
}

static void within25(const char *what, double got, double want)
{
	print_message("%-28s model %12.5g  published %12.5g  (%+.1f %%)\n", what, got,
		      want, 100 * (got / want - 1));
	if (!(fabs(got / want - 1) <= 0.25))
		fail_msg("%s: %.5g is not within 25 %% of %.5g", what, got, want);
}

static void history_2020_03_12(void **state)
{
	struct mkt_stats st;

	run_file("scenarios/history/2020-03-12.json", &st);
	within25("drawdown", st.max_drawdown, 0.515);
	within25("longs liquidated, USD", st.liq_long_usd, 1.4e9);
	within25("spread blow-out (x)", st.max_spread_bps / st.spread0_bps, 700.0 / 200.0);
}

static void history_2021_05_19(void **state)
{
	struct mkt_stats st;

	run_file("scenarios/history/2021-05-19.json", &st);
	within25("drawdown", st.max_drawdown, 0.317);
	within25("liquidated in 24 h, USD", st.liq_long_usd + st.liq_short_usd, 8.6e9);
	print_message("%-28s model %12.5g  published %12.5g  (not asserted)\n",
		      "peak hour of liquidations, BTC", st.liq_max_hour_units, 10525.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(history_2020_03_12),
		cmocka_unit_test(history_2021_05_19),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
