/*
 * test_market_mech.c — one property per mechanism of issue 11, and the
 * ablations: switching a mechanism off changes the outcome in the stated
 * direction by at least the stated amount.
 *
 *  impact      fast selling moves price about twice as far as the same
 *              selling spread over two days; once the book has refilled,
 *              2/3 of the fast sale's gap stays (fair pricing), the same
 *              level as the slow sale's, square root in volume; without
 *              that share almost all of it reverts; with the kept gap
 *              capped at the square-root law (kept_volume_law) a fast
 *              sale's peak is still the visible book's, only what stays
 *              is capped;
 *  entry       the window's low (high) removes the longs (shorts) opened
 *              before it whose liquidation price it crossed; every entry
 *              is drawn from the entry process (no position at spot), the
 *              long liquidation prices thin toward spot, and the near-spot
 *              mass is the same over seeds;
 *  withdrawal  market makers pull deeper when vol is higher;
 *  engine      executed forced orders never exceed throughput x perp bid
 *              depth x dt, and a slower engine stretches the cascade;
 *  ADL waves   no second holds more than 10 % of the liquidations (all at
 *              once: several times more);
 *  drift       zero-mean jumps by default: E[S_T] = S_0 without shocks;
 *  funding     long liquidations into the perp push it to a discount and
 *              funding below zero;
 *  ablations   on gap-down (seed 2202): ladder, dealers' short gamma and
 *              market-maker withdrawal each add to drawdown and cascade,
 *              by the stated amounts; the kept impact's share; on
 *              wick-recover, the value buyers' share of the retrace.
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
#include "market/model_state.h"

#define NS 1000000000ll

static struct mkt_params *quiet(int64_t dur_s, int64_t dt_ms)
{
	struct mkt_params *p = mkt_params__new();

	assert_non_null(p);
	p->duration_ns = dur_s * NS;
	p->dt_ns = dt_ms * 1000000ll;
	p->jump_rate_per_s = 0;
	p->ladder_n = 0;
	p->nu = 0;
	p->sigma = 0.3;
	return p;
}

static void add_shock(struct mkt_params *p, struct mkt_shock s)
{
	p->shocks[p->nshocks++] = s;
}

static struct mkt_stats run(const struct mkt_params *p, uint64_t seed)
{
	struct mkt_stats st;

	assert_int_equal(mkt_run_stats(p, seed, &st), 0);
	return st;
}

/* Log move of spot at `at_s` caused by selling `usd` on spot over `dur_s`
 * from t = 600 s: the run with the flow minus the same seed's run without
 * (the variates are the same; only impact differs). */
static double run_to(double usd, double dur_s, double at_s)
{
	struct mkt_params *p = quiet((int64_t)at_s, 1000);
	struct mkt_model *m;
	double x;

	p->on.withdrawal = false; /* the book's own state stays put */
	if (usd != 0)
		add_shock(p, (struct mkt_shock){ .kind = MKT_SHOCK_FLOW, .at_ns = 600 * NS,
						 .dur_ns = (int64_t)(dur_s * 1e9), .size = usd });
	m = mkt_model__new(p, 1);
	assert_non_null(m);
	while (mkt_model__time_ns(m) < p->duration_ns)
		mkt_model__step(m);
	x = log(m->index / p->spot0);
	mkt_model__free(m);
	mkt_params__free(p);
	return x;
}

static double sold(double usd, double dur_s, double at_s)
{
	return run_to(usd, dur_s, at_s) - run_to(0, dur_s, at_s);
}

static void mech_impact_fast_vs_slow(void **state)
{
	double fast = sold(-2e9, 60, 660), slow = sold(-2e9, 2 * 86400, 600 + 2 * 86400);
	double after = sold(-2e9, 60, 660 + 6 * 3600), after2 = sold(-4e9, 60, 660 + 6 * 3600);
	double slow_after = sold(-2e9, 2 * 86400, 600 + 2 * 86400 + 6 * 3600);

	print_message("-$2 B in 60 s: %.3f %% at once, %.3f %% 6 h later; over 2 days: %.3f %% (%.3f %% 6 h later); -$4 B in 60 s, 6 h later: %.3f %%\n",
		      100 * fast, 100 * after, 100 * slow, 100 * slow_after, 100 * after2);
	assert_true(fast < 0 && slow < 0 && after < 0);
	assert_true(fast < 1.8 * slow);          /* fast moves about twice as far */
	/* once the book has refilled, the fast sale keeps 2/3 of its gap
	 * (fair pricing, impact_keep) and the square-root law's level: the
	 * same for the same volume however fast it was sold, and sqrt in
	 * volume (x2 the volume: x1.41) */
	assert_true(after / fast > 0.4 && after / fast < 0.7);
	assert_true(after / slow_after > 0.8 && after / slow_after < 1.25);
	assert_true(fabs(after2 / after - sqrt(2.0)) < 0.15);
	/* without the fair-pricing share the fast sale's gap closes almost
	 * entirely (only the small linear permanent part stays) */
	{
		struct mkt_params *p = quiet(660 + 6 * 3600, 1000);
		struct mkt_params *q;
		struct mkt_model *m[2];
		double x[2];

		p->on.withdrawal = false;
		add_shock(p, (struct mkt_shock){ .kind = MKT_SHOCK_FLOW, .at_ns = 600 * NS,
						 .dur_ns = 60 * NS, .size = -2e9 });
		q = mkt_params__dup(p);
		q->impact_keep = 0;
		m[0] = mkt_model__new(p, 1), m[1] = mkt_model__new(q, 1);
		for (int k = 0; k < 2; k++) {
			assert_non_null(m[k]);
			while (mkt_model__time_ns(m[k]) < p->duration_ns)
				mkt_model__step(m[k]);
			x[k] = log(m[k]->index / p->spot0) - run_to(0, 60, 660 + 6 * 3600);
			mkt_model__free(m[k]);
		}
		print_message("6 h after -$2 B in 60 s: keep 2/3 %.3f %%, keep 0 %.3f %%\n",
			      100 * x[0], 100 * x[1]);
		assert_true(fabs(x[1]) < 0.15 * fabs(x[0]));
		/* an episode memory with a 1 h half-life lets the kept part fade:
		 * 6 h later 2^-6 of the episode is left, its gap ~ sqrt of that */
		q->impact_keep = p->impact_keep;
		q->impact_episode_s = 3600;
		m[1] = mkt_model__new(q, 1);
		assert_non_null(m[1]);
		while (mkt_model__time_ns(m[1]) < q->duration_ns)
			mkt_model__step(m[1]);
		x[1] = log(m[1]->index / q->spot0) - run_to(0, 60, 660 + 6 * 3600);
		mkt_model__free(m[1]);
		print_message("  with a 1 h episode half-life: %.3f %%\n", 100 * x[1]);
		assert_true(fabs(x[1]) < 0.3 * fabs(x[0]));
		mkt_params__free(p);
		mkt_params__free(q);
	}
}

/* Log move of spot at `at_s` after -$2 B sold on spot in 60 s from t = 600
 * s, against the same seed without the flow, with the kept gap capped at
 * the square-root law (`law`) and the share beyond it transient (`ex`). */
static double sold_law(bool law, bool ex, double at_s)
{
	double x[2];

	for (int k = 0; k < 2; k++) {
		struct mkt_params *p = quiet((int64_t)at_s, 1000);
		struct mkt_model *m;

		p->on.withdrawal = false;
		p->kept_volume_law = law;
		p->law_excess_transient = ex;
		if (k)
			add_shock(p, (struct mkt_shock){ .kind = MKT_SHOCK_FLOW, .at_ns = 600 * NS,
							 .dur_ns = 60 * NS, .size = -2e9 });
		m = mkt_model__new(p, 1);
		assert_non_null(m);
		while (mkt_model__time_ns(m) < p->duration_ns)
			mkt_model__step(m);
		x[k] = log(m->index / p->spot0);
		mkt_model__free(m);
		mkt_params__free(p);
	}
	return x[1] - x[0];
}

/* kept_volume_law caps what stays, not the sale's walk through the book:
 * with law_excess_transient the move at the end of a fast sale is the
 * visible book's (as without the law) and what is left once the book has
 * refilled is the law's share, far below the refilled visible book's; the
 * switch changes only the transient (the same level stays either way).
 * Without it the law cuts the sale's peak to about a third. */
static void mech_law_caps_what_stays(void **state)
{
	double peak_off = sold_law(false, true, 660), peak_ex = sold_law(true, true, 660);
	double peak_cut = sold_law(true, false, 660);
	double kept_off = sold_law(false, true, 660 + 6 * 3600);
	double kept_ex = sold_law(true, true, 660 + 6 * 3600);
	double kept_cut = sold_law(true, false, 660 + 6 * 3600);

	print_message("-$2 B in 60 s: at once %.3f %% (book) / %.3f %% (law, excess transient) / %.3f %% (law, excess cut); 6 h later %.3f / %.3f / %.3f %%\n",
		      100 * peak_off, 100 * peak_ex, 100 * peak_cut, 100 * kept_off,
		      100 * kept_ex, 100 * kept_cut);
	assert_true(peak_off < 0 && kept_ex < 0);
	assert_true(fabs(peak_ex / peak_off - 1) < 0.05);
	assert_true(peak_cut / peak_off < 0.6);
	assert_true(kept_ex / kept_off < 0.5);
	assert_true(fabs(kept_ex / kept_cut - 1) < 0.1);
}

/* Long notional (units) of a ladder whose liquidation price lies within
 * [lo, 1) of spot, and the short notional within (1, hi]. */
static void near_spot(const struct mkt_params *p, double lo, double hi, double *l, double *sh)
{
	struct mkt_rng r[MKT_ST__COUNT];
	struct mkt_ladder *lad;

	mkt_rng_fan(42, r);
	lad = mkt_ladder__new(p, &r[MKT_ST_LADDER], p->spot0);
	assert_non_null(lad);
	*l = *sh = 0;
	for (int i = 0; i < mkt_ladder__n(lad); i++) {
		const struct mkt_pos *q = mkt_ladder__pos(lad, i);
		double f = q->liq / p->spot0;
		if (i < mkt_ladder__nlong(lad) && f >= lo && f < 1)
			*l += q->qty;
		else if (i >= mkt_ladder__nlong(lad) && f > 1 && f <= hi)
			*sh += q->qty;
	}
	mkt_ladder__free(lad);
}

/* The window's extremes (ladder.entry.low_frac / high_frac): a long opened
 * before the window's low with its liquidation price above the low is gone
 * (a short and the high, likewise). With the extremes at t = 0 (age 0: every
 * position is older) no long liquidates above the low and no short below
 * the high. On the 2021 history's entry process (a month down
 * 23 % at 90 % vol) with the low 4 % under spot 42 h back, the longs
 * liquidating within those 4 % thin (most of them are younger than the low:
 * the survivors of a falling month near their liquidation price are recent
 * entries), and the ladder beyond the low is drawn as before (within 6 %). */
static void mech_entry_window_extremes(void **state)
{
	struct mkt_params *p = mkt_params__new(), *q;
	double l0, s0, l1, s1, far0, far1, x;

	assert_non_null(p);
	p->ladder_n = 40000;
	p->entry_window_s = 720 * 3600.0;
	p->entry_trend = -0.26;
	p->entry_sigma = 0.9;
	q = mkt_params__dup(p);
	q->entry_low_frac = 0.96, q->entry_high_frac = 1.35;
	near_spot(p, 0.96, 1.35, &l0, &s0);
	near_spot(q, 0.96, 1.35, &l1, &s1);
	print_message("extremes at t = 0: longs liquidating within 4 %% under spot %.4g -> %.4g units, shorts within 35 %% over %.4g -> %.4g\n",
		      l0, l1, s0, s1);
	assert_true(l0 > 0 && s0 > 0);
	assert_true(l1 == 0 && s1 == 0);
	q->entry_low_age_s = 42 * 3600.0, q->entry_high_age_s = 216 * 3600.0;
	near_spot(p, 0.96, 1.35, &l0, &s0);
	near_spot(q, 0.96, 1.35, &l1, &s1);
	near_spot(p, 0.5, 1.0, &far0, &x);
	near_spot(q, 0.5, 1.0, &far1, &x);
	far0 -= l0, far1 -= l1;
	print_message("low 42 h back: longs within 4 %% under spot %.4g -> %.4g (%.1f %%); high 9 days back: shorts within 35 %% over %.4g -> %.4g (%.1f %%); longs 4-50 %% under %+.1f %%\n",
		      l0, l1, 100 * l1 / l0, s0, s1, 100 * s1 / s0, 100 * (far1 / far0 - 1));
	assert_true(l1 / l0 < 0.9);
	assert_true(s1 / s0 < 0.9);
	assert_true(fabs(far1 / far0 - 1) < 0.06);
	mkt_params__free(p);
	mkt_params__free(q);
}

/* Minimum participation under a vol envelope of `factor`. */
static double min_mm(double factor)
{
	struct mkt_params *p = quiet(3600, 100);
	struct mkt_model *m;
	double lo = 1;

	add_shock(p, (struct mkt_shock){ .kind = MKT_SHOCK_VOL, .at_ns = 300 * NS,
					 .ramp_ns = 300 * NS, .dur_ns = 1800 * NS, .size = factor });
	m = mkt_model__new(p, 3);
	while (mkt_model__time_ns(m) < p->duration_ns) {
		mkt_model__step(m);
		lo = fmin(lo, m->mm);
	}
	mkt_model__free(m);
	mkt_params__free(p);
	return lo;
}

static void mech_withdrawal_deepens_with_vol(void **state)
{
	double a = min_mm(1.0), b = min_mm(2.0), c = min_mm(4.0);

	print_message("min participation: vol x1 %.3f, x2 %.3f, x4 %.3f\n", a, b, c);
	assert_true(b < a - 0.05 && c < b - 0.05);
}

/* A -10 % gap into a long-heavy ladder with a deep insurance fund (no ADL):
 * every tick's executed forced flow is bounded by the engine. */
static struct mkt_params *gap(double throughput)
{
	struct mkt_params *p = mkt_params__new();

	p->duration_ns = 3600 * NS;
	p->ladder_n = 50000;
	p->oi_usd = 5e9;
	p->long_frac = 0.7;
	p->lev_lo = 1.5, p->lev_core_lo = 2, p->lev_core_hi = 5, p->lev_core_mass = 0.75;
	p->insurance_usd = 1e12;
	p->throughput = throughput;
	add_shock(p, (struct mkt_shock){ .kind = MKT_SHOCK_JUMP, .at_ns = 600 * NS, .size = -0.10 });
	return p;
}

static void mech_engine_bounds_rate(void **state)
{
	struct mkt_params *p = gap(0.5), *q = gap(0.05);
	struct mkt_model *m = mkt_model__new(p, 9);
	struct mkt_stats a, b;
	double worst = 0;

	assert_non_null(m);
	while (mkt_model__time_ns(m) < p->duration_ns) {
		double cap = p->throughput * m->bid_depth * p->perp_depth_ratio * 0.1;
		mkt_model__step(m);
		/* the bound uses the book before the tick's own flows */
		worst = fmax(worst, m->liq_tick_usd / cap);
	}
	mkt_model__stats(m, &a);
	mkt_model__free(m);
	b = run(q, 9);
	print_message("engine: worst tick %.3f of its bound; peak second $%.3g M (0.5/s) vs $%.3g M (0.05/s); cascade %.0f s vs %.0f s\n",
		      worst, a.liq_peak_s_usd / 1e6, b.liq_peak_s_usd / 1e6, a.cascade_s, b.cascade_s);
	assert_true(worst <= 1.0 + 1e-9);
	assert_true(a.liq_total_usd > 1e8);
	assert_true(b.liq_peak_s_usd < 0.3 * a.liq_peak_s_usd);
	assert_true(b.cascade_s > 2 * a.cascade_s);
	mkt_params__free(p);
	mkt_params__free(q);
}

static void mech_adl_waves(void **state)
{
	struct mkt_params *p = gap(0.5), *q;
	struct mkt_stats a, b;

	p->insurance_usd = 1e6; /* empties at once: ADL does most of it */
	p->jump_rate_per_s = 0;
	q = mkt_params__dup(p);
	q->on.adl_waves = false;
	a = run(p, 4), b = run(q, 4);
	print_message("ADL: waves peak second %.1f %% of $%.3g M, cascade %.0f s; all at once %.1f %% of $%.3g M, %.0f s\n",
		      100 * a.liq_peak_s_usd / a.liq_total_usd, a.liq_total_usd / 1e6, a.cascade_s,
		      100 * b.liq_peak_s_usd / b.liq_total_usd, b.liq_total_usd / 1e6, b.cascade_s);
	assert_true(a.adl_usd > 0 && b.adl_usd > 0);
	assert_true(a.liq_peak_s_usd < 0.10 * a.liq_total_usd);
	assert_true(b.liq_peak_s_usd > 3 * a.liq_peak_s_usd);
	assert_true(a.cascade_s > b.cascade_s);
	mkt_params__free(p);
	mkt_params__free(q);
}

static void mech_zero_drift(void **state)
{
	struct mkt_params *p = mkt_params__new();
	double sum = 0, sum2 = 0, n = 40;

	assert_true(p->jump_mean == 0.0);
	p->duration_ns = 6 * 3600 * NS;
	p->dt_ns = NS;
	p->ladder_n = 0;
	p->jump_rate_per_s = 1.0 / 600; /* plenty of jumps: a mean would show */
	for (int i = 0; i < (int)n; i++) {
		struct mkt_stats st = run(p, 1000 + (uint64_t)i);
		double r = st.end_spot / p->spot0 - 1;
		sum += r, sum2 += r * r;
	}
	double mean = sum / n, sd = sqrt(sum2 / n - mean * mean);
	print_message("E[S_T/S_0 - 1] = %.5f (sd of the mean %.5f); the old default's drift was %.4f\n",
		      mean, sd / sqrt(n), -0.002 * 6 * 3600 / 6.0 / 3600 * 2.5);
	assert_true(fabs(mean) < 3 * sd / sqrt(n));
	mkt_params__free(p);
}

static void mech_negative_funding(void **state)
{
	struct mkt_params *p = gap(0.5);
	struct mkt_stats st;

	p->fund_interval_s = 1800, p->fund_stress_interval_s = 900;
	p->arb_capital_usd = 5e7;
	st = run(p, 2);
	print_message("long liquidations $%.3g M: min funding %.4f %%, min basis (ann.) %.1f %%\n",
		      st.liq_long_usd / 1e6, 100 * st.min_funding, 100 * st.min_basis_ann);
	assert_true(st.liq_long_usd > 10 * st.liq_short_usd);
	assert_true(st.min_funding < 0);
	assert_true(st.min_basis_ann < -0.05);
	mkt_params__free(p);
}

/* ---- ablations on the bundled gap-down ------------------------------------- */

static struct mkt_params *bundled(const char *name)
{
	const char *root = getenv("FL_ROOT");
	char path[512], err[4096] = "";
	struct fl_jctx c = { .file = path, .err = err, .errlen = sizeof(err) };
	struct mkt_params *p = mkt_params__new();
	cJSON *j;

	snprintf(path, sizeof(path), "%s/scenarios/%s.json", root && *root ? root : ".", name);
	j = fl_json_load_file(&c, path);
	if (!j || mkt_params__from_json(&c, cJSON_GetObjectItemCaseSensitive(j, "market"), "market", p))
		fail_msg("%s", err);
	cJSON_Delete(j);
	return p;
}

/* Ablations on gap-down, seed 2202: what each mechanism contributes, as the
 * share of the full model's drawdown and liquidated notional that goes
 * away without it (measured: ladder -3.7 % / -100 %, dealers -32 % / -42 %,
 * withdrawal -20 % / -38 %), asserted at least these amounts (a little
 * below the measured ones). The ladder's share of the drawdown was -6 %
 * until issue 11, when the entry sampler's fallback put 0.7 % of the
 * positions at spot; drawn from the entry process, fewer longs sit just
 * under the gap. The kept impact (fair pricing) works the other
 * way on a gap: without it the trough is 10 % deeper (the gap sits in the
 * instantaneous book, not the refilled one) but 9 % less is liquidated and
 * the loss at the end is the same (+0 %): asserted within those bounds. Its
 * share in a cascade of forced selling shows in the histories (see
 * market.calibration). */
#define NABL 4
#define DD_CUT 0.03, 0.25, 0.15, -0.15
#define LIQ_CUT 1.0, 0.35, 0.30, 0.05
#define FL_CUT -1, -1, -1, -0.05

static void ablations(void **state)
{
	struct mkt_params *p = bundled("gap-down");
	struct mkt_stats full = run(p, 2202), off[NABL];
	const char *name[NABL] = { "ladder", "dealers' short gamma", "market-maker withdrawal",
				   "kept impact (fair pricing)" };
	/* stated reductions (fraction of the full model's figure), at least */
	const double dd_cut[NABL] = { DD_CUT }, liq_cut[NABL] = { LIQ_CUT }, fl_cut[NABL] = { FL_CUT };

	for (int k = 0; k < NABL; k++) {
		struct mkt_params *q = mkt_params__dup(p);
		if (k == 0)
			q->on.ladder = false;
		else if (k == 1)
			q->on.dealers = false;
		else if (k == 2)
			q->on.withdrawal = false;
		else
			q->impact_keep = 0;
		off[k] = run(q, 2202);
		mkt_params__free(q);
	}
	print_message("gap-down full: drawdown %.1f %%, liquidated $%.3g M, peak minute $%.3g M, loss at the end %.1f %%\n",
		      100 * full.max_drawdown, full.liq_total_usd / 1e6, full.liq_peak_min_usd / 1e6,
		      100 * (1 - full.end_spot / p->spot0));
	for (int k = 0; k < NABL; k++) {
		double dd = 1 - off[k].max_drawdown / full.max_drawdown;
		double lq = 1 - off[k].liq_total_usd / full.liq_total_usd;
		double fl = 1 - (1 - off[k].end_spot / p->spot0) / (1 - full.end_spot / p->spot0);
		print_message("  without %-26s drawdown %.1f %% (%+.0f %%), liquidated $%.3g M (%+.0f %%), loss at the end %.1f %% (%+.0f %%)\n",
			      name[k], 100 * off[k].max_drawdown, -100 * dd, off[k].liq_total_usd / 1e6,
			      -100 * lq, 100 * (1 - off[k].end_spot / p->spot0), -100 * fl);
		if (!(fl >= fl_cut[k]))
			fail_msg("without %s: loss at the end -%.0f %% (stated >= %.0f %%)", name[k],
				 100 * fl, 100 * fl_cut[k]);
		if (!(dd >= dd_cut[k]) || !(lq >= liq_cut[k] - 1e-12))
			fail_msg("without %s: drawdown -%.0f %% (stated >= %.0f %%), liquidations -%.0f %% (stated >= %.0f %%)",
				 name[k], 100 * dd, 100 * dd_cut[k], 100 * lq, 100 * liq_cut[k]);
	}
	mkt_params__free(p);
}

/* Value buyers on wick-recover (seed 3303): the recovery's size comes from
 * them. Measured: retrace 43.6 % with them, 9.3 % without (what the book
 * refilling gives back), drawdown 15.7 % / 18.1 %; asserted: they add at
 * least 30 points of retrace. */
static void ablation_value_buyers(void **state)
{
	struct mkt_params *p = bundled("wick-recover"), *q = mkt_params__dup(p);
	struct mkt_stats a, b;

	q->on.value = false;
	a = run(p, 3303), b = run(q, 3303);
	print_message("wick-recover: retrace %.1f %% with value buyers, %.1f %% without; drawdown %.1f %% / %.1f %%\n",
		      100 * a.retrace, 100 * b.retrace, 100 * a.max_drawdown, 100 * b.max_drawdown);
	assert_true(a.retrace - b.retrace >= 0.30);
	mkt_params__free(p);
	mkt_params__free(q);
}

/* Alts (alts.c) on gap-down, seed 2202: 50,000 alt positions (defaults:
 * beta 1.5, $10 B open interest, $20 M of depth, leverage 2-75x with 70 %
 * at 5-20x, half the alt accounts cross-margined with a main position).
 * Measured at seed 2202: main liquidations $1.06 B -> $1.34 B (+26 %; seeds
 * 1-5, median: +33 %), the cascade 1200 -> 1560 s, but the main drawdown
 * NOT deeper (24.7 % -> 23.6 %; seeds 1-5, median 25.2 % both): the engine's
 * throughput, not the length of its queue, sets how fast the main price
 * falls, and the accounts closed early with their alt legs are no longer
 * there to be liquidated at the bottom; alts fall 37.2 % against
 * beta x main = 35.5 %. Asserted at this seed: with alts the main
 * ladder liquidates at least 20 % more and its cascade lasts longer, some
 * main accounts are closed with their alt legs, and the alts fall more
 * than beta times the main asset. Same seed twice: identical statistics. */
static void alts_cross_margin(void **state)
{
	struct mkt_params *p = bundled("gap-down"), *q = mkt_params__dup(p);
	struct mkt_stats off, on, again;

	assert_non_null(q);
	q->alts.positions = 50000;
	off = run(p, 2202), on = run(q, 2202), again = run(q, 2202);
	print_message("gap-down without alts: drawdown %.1f %%, liquidated $%.3g M, cascade %.0f s; with alts: %.1f %%, $%.3g M, %.0f s; alts fall %.1f %% (beta x main %.1f %%), liquidate $%.3g M; main closed with their alt legs $%.3g M, alt legs closed with main accounts $%.3g M\n",
		      100 * off.max_drawdown, off.liq_total_usd / 1e6, off.cascade_s,
		      100 * on.max_drawdown, on.liq_total_usd / 1e6, on.cascade_s,
		      100 * on.alt_max_drawdown, 100 * q->alts.beta * on.max_drawdown,
		      on.alt_liq_usd / 1e6, on.alt_cross_main_usd / 1e6, on.alt_cross_alt_usd / 1e6);
	assert_true(off.alt_liq_usd == 0 && off.alt_max_drawdown == 0);
	assert_true(on.liq_total_usd >= 1.2 * off.liq_total_usd);
	assert_true(on.cascade_s > off.cascade_s);
	assert_true(on.alt_cross_main_usd > 0 && on.alt_cross_alt_usd > 0);
	assert_true(on.alt_max_drawdown > q->alts.beta * on.max_drawdown);
	assert_memory_equal(&on, &again, sizeof(on));
	mkt_params__free(p);
	mkt_params__free(q);
}

/* The entry sampler (ladder.c, entry_of): each position's entry is drawn
 * from the entry-price process conditioned on its survival at its
 * leverage, by rejection without a fallback. Asserted on every bundled file
 * (its seed): no position opens at spot (until issue 11 a position whose
 * 16 draws all failed did: measured 0.4-0.8 % of the bundled positions,
 * 3.6 % of 2020's, 1.2 % of 2021's) and none is dropped at the sampler's
 * bound; the long liquidation prices of the 2020 ladder (a falling month
 * at 70 % vol, 100x at most) thin toward spot, as survivors near an
 * absorbing barrier do: less within 1 % under spot than between 1 and 2 %
 * (seed 1, in long units: 0.47 % / 0.97 %; with the fallback at spot,
 * which put 100x longs 0.6 % under it, 2.40 % / 2.26 %); and over seeds
 * 1-5 the long units liquidating within 5 % under spot vary by under 10 %
 * of their median (measured 6.4-6.9 %, spread 6.6 %: 100,000 positions,
 * each drawn on its own; with the fallback, too, it was stable: 9.5-9.8 %
 * over the file's seeds). */
static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double ladder_units(const struct mkt_ladder *lad, double S0, double lo, double hi,
			   int *at_spot)
{
	double u = 0;

	*at_spot = 0;
	for (int i = 0; i < mkt_ladder__n(lad); i++) {
		const struct mkt_pos *q = mkt_ladder__pos(lad, i);
		double f = q->liq / S0;
		if (q->qty > 0 && fabs(q->entry / S0 - 1) < 1e-12)
			++*at_spot;
		if (i < mkt_ladder__nlong(lad) && f >= lo && f < hi)
			u += q->qty;
	}
	return u;
}

static void mech_entry_no_atom_at_spot(void **state)
{
	static const struct { const char *name; uint64_t seed; } f[] = {
		{ "gap-down", 2202 }, { "slow-bleed", 1101 }, { "venue-outage-crash", 5505 },
		{ "vol-spike", 4405 }, { "wick-recover", 3303 },
		{ "history/2020-03-12", 20200312 }, { "history/2021-05-19", 20210519 },
	};
	struct mkt_rng r[MKT_ST__COUNT];
	struct mkt_params *p;
	struct mkt_ladder *lad;
	double near[5], lu, u1, u2;
	int at, x;

	for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
		p = bundled(f[k].name);
		mkt_rng_fan(f[k].seed, r);
		lad = mkt_ladder__new(p, &r[MKT_ST_LADDER], p->spot0);
		assert_non_null(lad);
		lu = ladder_units(lad, p->spot0, 0, 1, &at);
		print_message("%s: %d of %d positions open at spot, %d dropped; long units within 5 %% under spot %.2f %%\n",
			      f[k].name, at, mkt_ladder__n(lad), mkt_ladder__dropped(lad),
			      100 * ladder_units(lad, p->spot0, 0.95, 1, &x) / lu);
		assert_int_equal(at, 0);
		assert_int_equal(mkt_ladder__dropped(lad), 0);
		mkt_ladder__free(lad);
		mkt_params__free(p);
	}
	p = bundled("history/2020-03-12");
	for (int s = 0; s < 5; s++) {
		mkt_rng_fan((uint64_t)s + 1, r);
		lad = mkt_ladder__new(p, &r[MKT_ST_LADDER], p->spot0);
		assert_non_null(lad);
		lu = ladder_units(lad, p->spot0, 0, 1, &x);
		near[s] = ladder_units(lad, p->spot0, 0.95, 1, &x) / lu;
		if (s == 0) {
			u1 = ladder_units(lad, p->spot0, 0.99, 1, &x) / lu;
			u2 = ladder_units(lad, p->spot0, 0.98, 0.99, &x) / lu;
			print_message("2020 ladder, seed 1: long units liquidating within 1 %% under spot %.2f %%, 1-2 %% under %.2f %%\n",
				      100 * u1, 100 * u2);
			assert_true(u1 < u2);
		}
		mkt_ladder__free(lad);
	}
	qsort(near, 5, sizeof(double), cmp_dbl);
	print_message("2020 ladder, seeds 1-5: long units within 5 %% under spot %.2f-%.2f %% (spread %.1f %%)\n",
		      100 * near[0], 100 * near[4], 100 * (near[4] - near[0]) / near[2]);
	assert_true((near[4] - near[0]) / near[2] < 0.10);
	mkt_params__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(mech_impact_fast_vs_slow),
		cmocka_unit_test(mech_law_caps_what_stays),
		cmocka_unit_test(mech_entry_window_extremes),
		cmocka_unit_test(mech_entry_no_atom_at_spot),
		cmocka_unit_test(mech_withdrawal_deepens_with_vol),
		cmocka_unit_test(mech_engine_bounds_rate),
		cmocka_unit_test(mech_adl_waves),
		cmocka_unit_test(mech_zero_drift),
		cmocka_unit_test(mech_negative_funding),
		cmocka_unit_test(ablations),
		cmocka_unit_test(ablation_value_buyers),
		cmocka_unit_test(alts_cross_margin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
