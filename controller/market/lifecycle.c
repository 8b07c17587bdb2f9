/*
 * lifecycle.c — model construction, destruction and read-out: signals,
 * statistics, venue status, signal names.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "market/model_state.h"

static const char *const sig_names[MKT_SIG__COUNT] = {
#define MKT__SIG_NAME(id, name, doc) name,
	MKT_SIGNALS(MKT__SIG_NAME)
#undef MKT__SIG_NAME
};

int mkt_signal_by_name(const char *name)
{
	for (int i = 0; name && i < MKT_SIG__COUNT; i++)
		if (!strcmp(name, sig_names[i]))
			return i;
	return -1;
}

const char *mkt_signal_name(int id)
{
	return id >= 0 && id < MKT_SIG__COUNT ? sig_names[id] : "?";
}

const char *mkt_venue_status_name(int status)
{
	static const char *const n[] = { "up", "slow", "stale", "down" };

	return status >= 0 && status <= 3 ? n[status] : "?";
}

static double half_life_factor(double dt_s, double h_s)
{
	return h_s > 0 ? exp2(-dt_s / h_s) : 0.0;
}

static void init_rates(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double dt = (double)p->dt_ns * MKT_NS;

	m->jdecay = half_life_factor(dt, p->impact_half_life_s);
	m->edecay = p->impact_episode_s > 0 ? half_life_factor(dt, p->impact_episode_s) : 1.0;
	m->arb_frac = 1 - half_life_factor(dt, p->arb_half_life_s);
	m->arb_unwind = half_life_factor(dt, p->arb_unwind_half_life_s);
	m->mm_decay = half_life_factor(dt, p->mm_half_life_s);
	m->rv_a = half_life_factor(dt, p->rv_half_life_s);
	m->ret_b = half_life_factor(dt, 60.0);
	m->basis_ma_a = exp(-dt / p->basis_ma_s);
	m->mm_wd_decay = half_life_factor(dt, p->mm_withdraw_s);
	m->mm_inv_a = half_life_factor(dt, p->mm_unwind_s);
	m->flow_a = exp(-dt / 60.0);
	m->ew_a = exp(-dt / 60.0);
	m->vb_frac = 1 - exp(-dt / p->value_deploy_s);
	m->anchor_a = half_life_factor(dt, p->value_anchor_s);
	m->hawkes.mu0 = p->jump_rate_per_s;
	m->hawkes.beta = 1.0 / p->jump_decay_s;
	m->hawkes.alpha = p->jump_branching * m->hawkes.beta;
	/* start at the stationary excitation: mean rate mu0/(1-n) */
	m->hawkes.excite = p->jump_rate_per_s * p->jump_branching / (1 - p->jump_branching);
	for (int v = 0; v < p->nvenues; v++)
		m->vslow[v] = 1 - exp(-dt / fmax(p->venues[v].slow_lag_s, 1e-9));
}

static void init_state(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double S0 = p->spot0, s0 = p->sigma > 0 ? p->sigma : 0.01;

	m->x = m->peak_x = log(S0);
	m->basis_fair = log(mkt_perp_fair_ratio(p->kappa, p->r, p->q)) + 1e-4 * p->basis0_bps;
	m->y = m->x + m->basis_fair;
	m->index = m->index_prev = m->mark = S0;
	m->basis_ma = exp(m->y) - S0;
	for (int v = 0; v < p->nvenues; v++) {
		m->vprice[v] = S0;
		if (p->venues[v].perp)
			m->perp_venue = v;
	}
	m->mm = 1.0;
	m->rv = s0;
	m->rv_var = s0 * s0 * (double)p->dt_ns * MKT_NS / MKT_YEAR_S;
	m->rv_liq = s0;
	m->rv_liq_var = m->rv_var;
	m->depth = p->depth_usd * m->env[MKT_ENV_DEPTH];
	m->bid_depth = m->ask_depth = 0.5 * m->depth;
	m->kbid = m->kask = m->bid_depth;
	m->spread_bps = p->spread_bps;
	m->fund = p->insurance_usd;
	m->interval_s = p->fund_interval_s;
	m->next_fund_ns = (int64_t)llround(p->fund_interval_s * 1e9);
	m->min_mark = m->max_mark = S0;
	m->flip = NAN;
	m->mm_cap = p->mm_capital_usd > 0 ? p->mm_capital_usd : 20 * p->depth_usd;
	m->vb_left = p->value_capital_usd;
	m->anchor_x = log(S0);
	m->depth_ew = m->min_depth_ew = m->depth;
	m->spread_ew = m->max_spread_ew = m->spread_bps;
}

static void init_book(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;

	m->book_lines = p->noptions;
	m->iv = p->iv0 > 0 ? p->iv0 : (p->sigma > 0 ? p->sigma : 0.01);
	m->skew_now = p->skew;
	m->book_S = p->spot0;
	if (m->book_lines) {
		mkt_book__step(m->book, p->spot0, 0.0, m->iv, m->skew_now, &m->greeks_full);
		m->greeks = m->greeks_full;
	}
	m->hedge = -m->greeks.delta; /* dealers start hedged */
}

static void init_stats(struct mkt_model *m)
{
	struct mkt_stats *st = &m->st;
	double lu, su;

	mkt_ladder__oi_units(m->lad, &lu, &su);
	st->min_spot = st->max_spot = m->p->spot0;
	st->spread0_bps = st->max_spread_bps = m->spread_bps;
	st->depth0_usd = st->min_depth_usd = m->depth;
	st->oi0_usd = (lu + su) * m->p->spot0;
	st->min_funding = st->max_funding = 0;
}

struct mkt_model *mkt_model__new(const struct mkt_params *p, uint64_t seed)
{
	struct mkt_model *m;

	if (mkt_params__check(p, NULL, 0))
		return NULL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->p = mkt_params__dup(p);
	m->liq_ring_n = (int)fmax(1.0, llround(1e9 / (double)p->dt_ns));
	m->liq_ring = calloc((size_t)m->liq_ring_n, sizeof(double));
	m->nminutes = (int)(p->duration_ns / 60000000000ll) + 2;
	m->minutes = calloc((size_t)m->nminutes, sizeof(double));
	mkt_rng_fan(seed, m->rng);
	if (!m->p || !m->liq_ring || !m->minutes)
		goto fail;
	m->book = mkt_book__new(m->p);
	m->lad = mkt_ladder__new(m->p, &m->rng[MKT_ST_LADDER], p->spot0);
	if (!m->book || !m->lad)
		goto fail;
	for (int k = 0; k < MKT_ENV__COUNT; k++)
		m->env[k] = 1.0;
	init_rates(m);
	init_state(m);
	init_book(m);
	init_stats(m);
	{
		int err;
		m->alts = mkt_alts__new(m, &err); /* after init_rates: its book decays */
		if (err)
			goto fail;
	}
	return m;
fail:
	mkt_model__free(m);
	return NULL;
}

void mkt_model__free(struct mkt_model *m)
{
	if (!m)
		return;
	mkt_book__free(m->book);
	mkt_ladder__free(m->lad);
	mkt_alts__free(m->alts);
	free(m->liq_ring);
	free(m->minutes);
	mkt_params__free(m->p);
	free(m);
}

int mkt_model__venue_status(const struct mkt_model *m, int venue)
{
	if (venue < 0 || venue >= m->p->nvenues)
		return MKT_VENUE_DOWN;
	return m->vstatus[venue];
}

int mkt_model__nvenues(const struct mkt_model *m)
{
	return m->p->nvenues;
}

void mkt_model__signals(const struct mkt_model *m, double o[MKT_SIG__COUNT])
{
	double S = m->index, P = exp(m->y), worst = 0;

	for (int v = 0; v < m->p->nvenues; v++)
		worst = fmax(worst, m->vstatus[v]);
	o[MKT_SIG_SPOT] = S;
	o[MKT_SIG_PERP] = P;
	o[MKT_SIG_MARK] = m->mark;
	o[MKT_SIG_BASIS_BPS] = (P - S) / S * 1e4;
	o[MKT_SIG_FUNDING_8H] = m->f_cur;
	o[MKT_SIG_REALIZED_VOL] = m->rv;
	o[MKT_SIG_IMPLIED_VOL] = m->iv;
	o[MKT_SIG_SPREAD_BPS] = m->spread_bps;
	o[MKT_SIG_DEPTH_USD] = m->depth;
	o[MKT_SIG_MM_PARTICIPATION] = m->mm;
	o[MKT_SIG_GEX_USD] = m->greeks.gex;
	o[MKT_SIG_HEDGE_FLOW_USD] = m->hedge_usd;
	o[MKT_SIG_LIQUIDATIONS_USD] = m->liq_tick_usd;
	o[MKT_SIG_LIQUIDATIONS_USD_PER_S] = m->liq_1s;
	o[MKT_SIG_LIQUIDATIONS_USD_PER_S_5M] = m->liq_5m;
	o[MKT_SIG_LIQ_QUEUE_USD] = mkt_ladder__queue_usd(m->lad, P);
	o[MKT_SIG_INSURANCE_FUND_USD] = m->fund;
	o[MKT_SIG_OPEN_INTEREST_USD] = mkt_ladder__oi_units(m->lad, NULL, NULL) * m->mark;
	o[MKT_SIG_DRAWDOWN] = 1 - S / exp(m->peak_x);
	o[MKT_SIG_STRESS] = m->stress;
	o[MKT_SIG_VENUE_STATUS] = worst;
	o[MKT_SIG_ADL_USD] = m->st.adl_usd;
	o[MKT_SIG_BID_DEPTH_USD] = m->bid_depth;
	o[MKT_SIG_FLIP_DISTANCE] = isnan(m->flip) ? 0.0 : (m->flip - S) / S;
}

/* The cascade's duration: the span of calendar minutes around the peak
 * minute, each holding at least 10 % of it (gaps of quieter minutes end
 * the span). */
static double cascade_span_s(const struct mkt_model *m)
{
	int pk = 0, a, b;

	if (m->minute_n == 0 || m->st.liq_peak_min_usd <= 0)
		return 0;
	for (int i = 1; i < m->minute_n; i++)
		if (m->minutes[i] > m->minutes[pk])
			pk = i;
	for (a = pk; a > 0 && m->minutes[a - 1] >= 0.1 * m->minutes[pk]; a--)
		;
	for (b = pk; b + 1 < m->minute_n && m->minutes[b + 1] >= 0.1 * m->minutes[pk]; b++)
		;
	return 60.0 * (b - a + 1);
}

void mkt_model__stats(const struct mkt_model *m, struct mkt_stats *out)
{
	*out = m->st;
	out->liq_total_usd = out->liq_long_usd + out->liq_short_usd;
	out->cascade_s = cascade_span_s(m);
	out->depth_decline = 1 - m->min_depth_ew / out->depth0_usd;
	out->spread_ratio = m->max_spread_ew / out->spread0_bps;
	out->retrace = out->dd_peak > out->dd_trough
			       ? (out->end_spot - out->dd_trough) / (out->dd_peak - out->dd_trough)
			       : 0;
}
