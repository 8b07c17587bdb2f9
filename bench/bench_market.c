/*
 * bench_market.c — cost of the market model.
 *
 *  1. one 100 ms tick with a 200-strike book (calls and puts: 400 lines) and
 *     100,000 ladder positions, over 1 h of scenario time with a -8 % gap
 *     and its cascade at 30 min (goal: <= 20 us per tick);
 *  2. a 6-hour scenario (same market, bridge to -8 %) through
 *     mkt_write_series to /dev/null, one row per second (goal: < 2 s);
 *  3. the 24 h history scenarios/history/2021-05-19.json modelled to its
 *     end (mkt_run_stats; goal: < 5 s).
 * Prints markdown table rows. The wall clock is read here, never in the model.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "jsonutil.h"
#include "market/market.h"

#define NS 1000000000ll

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct mkt_params *market(int64_t dur_s)
{
	struct mkt_params *p = mkt_params__new();

	if (!p)
		exit(1);
	p->duration_ns = dur_s * NS;
	p->ladder_n = 100000;
	p->oi_usd = 5e9;
	p->lev_lo = 1.5, p->lev_core_lo = 2, p->lev_core_hi = 5, p->lev_core_mass = 0.75;
	for (int i = 0; i < 200; i++) {
		double K = p->spot0 * (0.6 + 0.8 * i / 199.0);
		struct mkt_option c = { K, 7 * 86400.0, MKT_CALL, K > p->spot0 ? 40 : -10, 1 };
		struct mkt_option q = { K, 7 * 86400.0, MKT_PUT, K < p->spot0 ? -40 : 10, 1 };
		if (mkt_params__add_option(p, &c) || mkt_params__add_option(p, &q))
			exit(1);
	}
	return p;
}

int main(void)
{
	struct mkt_params *p = market(3600);
	struct mkt_model *m;
	FILE *null = fopen("/dev/null", "w");
	double t0, t1, tn, ticks = 36000;

	p->shocks[p->nshocks++] = (struct mkt_shock){ .kind = MKT_SHOCK_JUMP, .at_ns = 1800 * NS, .size = -0.08 };
	t0 = now_s();
	m = mkt_model__new(p, 42);
	tn = now_s();
	if (!m || !null)
		return 1;
	for (int i = 0; i < (int)ticks; i++)
		mkt_model__step(m);
	t1 = now_s();
	printf("| benchmark | result | goal |\n|---|---|---|\n");
	printf("| market model: build (100,000 positions, 400 option lines) | %.1f ms | - |\n", (tn - t0) * 1e3);
	printf("| market model: one 100 ms tick, 200 strikes x 2, 100,000 positions (1 h, -8 %% gap) | %.0f ns | <= 20,000 ns |\n",
	       (t1 - tn) / ticks * 1e9);
	mkt_model__free(m);
	mkt_params__free(p);

	p = market(6 * 3600);
	p->shocks[p->nshocks++] = (struct mkt_shock){ .kind = MKT_SHOCK_BRIDGE, .at_ns = 0, .dur_ns = 6 * 3600 * NS, .size = 0.92 };
	t0 = now_s();
	if (mkt_write_series(p, 42, MKT_FMT_CSV, NS, null))
		return 1;
	t1 = now_s();
	printf("| market model: 6 h scenario through mkt_write_series (CSV, 1 row/s) to /dev/null | %.2f s | < 2 s |\n", t1 - t0);
	mkt_params__free(p);
	fclose(null);

	{
		char err[4096] = "";
		const char *path = "scenarios/history/2021-05-19.json";
		struct fl_jctx c = { .file = path, .err = err, .errlen = sizeof(err) };
		cJSON *j = fl_json_load_file(&c, path);
		struct mkt_stats st;

		p = mkt_params__new();
		if (!j || !p || mkt_params__from_json(&c, cJSON_GetObjectItemCaseSensitive(j, "market"), "market", p)) {
			fprintf(stderr, "%s", err);
			return 1;
		}
		t0 = now_s();
		if (mkt_run_stats(p, 20210519, &st))
			return 1;
		t1 = now_s();
		printf("| market model: 24 h history 2021-05-19 (100,000 positions, %.0f ms step) modelled to its end | %.2f s | < 5 s |\n",
		       (double)mkt_params__dt_ns(p) / 1e6, t1 - t0);
		mkt_params__free(p);
		cJSON_Delete(j);
	}
	return 0;
}
