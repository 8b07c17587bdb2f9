/*
 * params.c — market parameters: defaults, copies, semantic checks.
 *
 * Defaults describe a calm BTC-like market on one venue (depth $50M within
 * 1 % of mid, 2 bp spread, sigma 50 %, Student-t nu = 4, calm Hawkes n = 0.6),
 * a 20,000-position ladder over $2B open interest and an empty options book.
 * A scenario overrides what it needs.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "market/mkt_internal.h"

static void defaults_price(struct mkt_params *p)
{
	p->dt_ns = 100000000ll;
	p->duration_ns = 6ll * 3600 * 1000000000ll;
	p->feedback = true;
	p->spot0 = 60000.0;
	p->mu = 0.0;
	p->sigma = 0.5;
	p->nu = 4.0;
	p->jump_rate_per_s = 1.0 / (6 * 3600.0);
	p->jump_decay_s = 600.0;
	p->jump_branching = 0.6;
	p->jump_mean = 0.0; /* zero-mean jumps: drift is mu, never a side effect */
	p->jump_sd = 0.004;
	p->iv_rv_beta = 0.5;
	p->rv_half_life_s = 900.0;
	p->skew = -0.1;
	p->skew_stress = 2.0;
}

static void defaults_dealers_liquidity(struct mkt_params *p)
{
	p->dealer_mode = MKT_DEALER_DISCRETE;
	p->hedge_band_usd = 1e5;
	p->hedge_every_ticks = 50;
	p->min_tau_s = 3600.0;
	p->hedge_max_depth_frac = 0.25;
	p->depth_usd = 5e7;
	p->spread_bps = 2.0;
	p->a_s = 1.0;
	p->a_d = 1.5;
	p->mm_half_life_s = 2 * 3600.0;
	p->mm_vol_sens = 0.2;
	p->mm_liq_sens = 0.002;
	p->mm_gap_sens = 0.1;
	p->bid_skew = 0.3;
	p->depth_band = 0.01;
	p->impact_y = 0.5;
	p->daily_volume_usd = 2e10;
	/* permanent impact linear in signed volume, gamma sigma_D q / V_D:
	 * Almgren, Thum, Hauptmann & Li (2005) fit gamma = 0.314 */
	p->impact_permanent = 0.3;
	/* book resilience of minutes: Obizhaeva & Wang (2013); crypto books
	 * refill over minutes after large trades (Kaiko, 2020-2022) */
	p->impact_half_life_s = 300.0;
	/* what a one-way episode leaves once the book has refilled: 2/3 of
	 * its peak impact (the fair-pricing condition of Farmer, Gerig, Lillo
	 * & Waelbroeck 2013, measured by Bershova & Rakhlin 2013 and Gomes &
	 * Waelbroeck 2015); the episode's memory fades over days (0: never) */
	p->impact_keep = 2.0 / 3.0;
	p->impact_episode_s = 0.0;
	/* kept_volume_law (off) caps what stays at the square-root law; the
	 * share beyond it refills with the book rather than being cut from a
	 * sale's peak (impact.c, gap_of) */
	p->law_excess_transient = true;
	p->perp_depth_ratio = 1.0;
	p->perp_volume_ratio = 1.0;
	/* withdrawal fast (seconds: HFTs pull quotes, Kirilenko et al. 2017),
	 * return slow (mm_half_life_s, hours) */
	p->mm_withdraw_s = 30.0;
	p->mm_inv_sens = 0.1;
	p->mm_flow_sens = 0.2;
	p->mm_capital_usd = 0.0; /* 0: twenty times the base depth */
	p->mm_unwind_s = 1800.0;
	p->spread_mm_exp = 1.0;
	p->value_capital_usd = 0.0; /* no value buyers unless a scenario has them */
	/* alts: none unless a scenario has them (alts.positions > 0). Defaults:
	 * beta 1.5 (altcoin betas to BTC of 1.2-1.8 in 2020-2022 daily returns,
	 * e.g. Kaiko and CoinMetrics correlation reports; an assumption), a
	 * thinner book and a heavier leverage mix than BTC's */
	p->alts.positions = 0;
	p->alts.beta = 1.5;
	p->alts.sigma = 0.4;
	p->alts.oi_usd = 1e10;
	p->alts.depth_usd = 2e7;
	p->alts.long_frac = 0.75;
	p->alts.mmr = 0.01;
	p->alts.throughput = 0.1;
	p->alts.lev_lo = 2, p->alts.lev_hi = 75;
	p->alts.lev_core_lo = 5, p->alts.lev_core_hi = 20, p->alts.lev_core_mass = 0.7;
	p->alts.cross_frac = 0.5;
	p->value_discount = 0.10;
	p->value_deploy_s = 3600.0;
	p->value_anchor_s = 3 * 86400.0;
	p->on = (struct mkt_switches){ true, true, true, true, true, true, true };
}

static void defaults_ladder_perp(struct mkt_params *p)
{
	p->ladder_n = 20000;
	p->oi_usd = 2e9;
	p->long_frac = 0.6;
	p->inverse_frac = 0.2;
	p->mmr = 0.005;
	p->lev_lo = 2, p->lev_hi = 100, p->lev_core_lo = 10, p->lev_core_hi = 25;
	p->lev_core_mass = 0.5;
	p->entry_window_s = 7 * 86400.0;
	p->entry_sigma = 0.5;
	p->size_sd = 1.0;
	p->throughput = 0.5; /* of the perp bid depth per second */
	p->max_rounds = 8;
	p->insurance_usd = 1e8;
	p->adl_interval_s = 15.0;
	p->adl_wave_frac = 0.02;
	p->fund_interest = 0.0001;
	p->fund_clamp = 0.0005;
	p->fund_cap = 0.00375;
	p->fund_interval_s = 8 * 3600.0;
	p->fund_stress_interval_s = 2 * 3600.0;
	p->kappa = 3 * 365.0;
	p->arb_capital_usd = 2e9;
	p->arb_half_life_s = 30.0;
	p->arb_unwind_half_life_s = 3600.0;
	p->basis_ma_s = 300.0;
	p->impact_notional_usd = 1e6;
	p->mark_band = 0.05;
	p->nvenues = 1;
	snprintf(p->venues[0].name, MKT_NAME_MAX, "main");
	p->venues[0].weight = 1.0;
	p->venues[0].perp = true;
	p->venues[0].slow_lag_s = 5.0;
}

struct mkt_params *mkt_params__new(void)
{
	struct mkt_params *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	defaults_price(p);
	defaults_dealers_liquidity(p);
	defaults_ladder_perp(p);
	return p;
}

void mkt_params__free(struct mkt_params *p)
{
	if (!p)
		return;
	free(p->options);
	free(p);
}

struct mkt_params *mkt_params__dup(const struct mkt_params *p)
{
	struct mkt_params *d = malloc(sizeof(*d));

	if (!d)
		return NULL;
	*d = *p;
	d->options = NULL;
	d->options_cap = 0;
	if (p->noptions > 0) {
		d->options = malloc(sizeof(*d->options) * (size_t)p->noptions);
		if (!d->options) {
			free(d);
			return NULL;
		}
		memcpy(d->options, p->options,
		       sizeof(*d->options) * (size_t)p->noptions);
		d->options_cap = p->noptions;
	}
	return d;
}

int mkt_params__add_option(struct mkt_params *p, const struct mkt_option *o)
{
	if (p->noptions == p->options_cap) {
		int cap = p->options_cap ? 2 * p->options_cap : 64;
		void *n = realloc(p->options, sizeof(*p->options) * (size_t)cap);

		if (!n)
			return -ENOMEM;
		p->options = n;
		p->options_cap = cap;
	}
	p->options[p->noptions++] = *o;
	return 0;
}

int64_t mkt_params__dt_ns(const struct mkt_params *p)
{
	return p->dt_ns;
}

int64_t mkt_params__duration_ns(const struct mkt_params *p)
{
	return p->duration_ns;
}

static int why_fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int why_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The dealer book's feedback must stay below its pole at t = 0: for the
 * continuous limits rho < 1/(S Gamma) (Frey) or 1/(Delta + S Gamma) (Sircar),
 * for discrete hedging 1 + lambda G > 0 with lambda = S^2 band / D_bid. */
static int check_pole(const struct mkt_params *p, char *why, size_t whylen)
{
	struct mkt_book *b = mkt_book__new(p);
	struct mkt_book_out o;
	double iv = p->iv0 > 0 ? p->iv0 : p->sigma, S = p->spot0, lim;
	int rc = 0;

	if (!b)
		return -ENOMEM;
	mkt_book__step(b, S, 0.0, iv, p->skew, &o);
	mkt_book__free(b);
	if (p->dealer_mode == MKT_DEALER_FREY && o.unit_gamma < 0) {
		lim = 1.0 / (-S * o.unit_gamma);
		if (p->rho >= lim)
			rc = why_fail(why, whylen, "rho %.6g is past the Frey pole %.6g", p->rho, lim);
	} else if (p->dealer_mode == MKT_DEALER_SIRCAR && o.unit_gamma < 0) {
		lim = 1.0 / (o.unit_delta - S * o.unit_gamma);
		if (p->rho >= lim)
			rc = why_fail(why, whylen, "rho %.6g is past the Sircar-Papanicolaou pole %.6g", p->rho, lim);
	} else if (p->dealer_mode == MKT_DEALER_DISCRETE && p->feedback) {
		double lam = S * S * p->depth_band / (0.5 * p->depth_usd);
		if (1.0 + lam * o.gamma <= 0.05)
			rc = why_fail(why, whylen, "dealer gamma %.6g units/$ is past the hedge-feedback pole (1 + lambda G = %.3g)", o.gamma, 1.0 + lam * o.gamma);
	}
	return rc;
}

static int check_scalars(const struct mkt_params *p, char *why, size_t whylen)
{
	if (p->dt_ns <= 0 || p->duration_ns < p->dt_ns)
		return why_fail(why, whylen, "dt must be positive and duration at least dt");
	if (!(p->spot0 > 0) || !(p->sigma >= 0) || !(p->depth_usd > 0) || !(p->spread_bps > 0))
		return why_fail(why, whylen, "spot, depth and spread must be positive, sigma non-negative");
	if (p->nu != 0 && !(p->nu > 2))
		return why_fail(why, whylen, "nu must be 0 (Gaussian) or greater than 2");
	if (!(p->jump_branching >= 0 && p->jump_branching < 1) || !(p->jump_decay_s > 0))
		return why_fail(why, whylen, "Hawkes branching ratio must be in [0, 1) and decay positive");
	if (!(p->lev_lo >= 1) || p->lev_hi < p->lev_lo || p->lev_core_lo < p->lev_lo || p->lev_core_hi > p->lev_hi || p->lev_core_hi < p->lev_core_lo)
		return why_fail(why, whylen, "leverage must be >= 1 with lo <= core_lo <= core_hi <= hi");
	if (p->alts.positions > 0) {
		const struct mkt_alts_params *a = &p->alts;
		if (a->lev_hi < a->lev_lo || a->lev_core_lo < a->lev_lo ||
		    a->lev_core_hi > a->lev_hi || a->lev_core_hi < a->lev_core_lo)
			return why_fail(why, whylen, "alts leverage needs 1 <= lev_lo <= lev_core_lo <= lev_core_hi <= lev_hi");
		if (a->mmr * a->lev_hi >= 1)
			return why_fail(why, whylen, "alts.mmr x alts.lev_hi must be below 1 (liquidation above entry)");
	}
	if (!(p->mmr >= 0) || p->mmr * p->lev_hi >= 1)
		return why_fail(why, whylen, "maintenance margin rate must be below 1/leverage");
	if (p->fund_cap < p->fund_clamp || !(p->fund_interval_s > 0) || !(p->fund_stress_interval_s > 0))
		return why_fail(why, whylen, "funding cap must be >= clamp, intervals positive");
	if (p->kappa <= p->r - p->q)
		return why_fail(why, whylen, "kappa must exceed r - q");
	return 0;
}

static int check_lists(const struct mkt_params *p, char *why, size_t whylen)
{
	int nperp = 0;

	for (int i = 0; i < p->noptions; i++) {
		const struct mkt_option *o = &p->options[i];
		if (!(o->strike > 0) || !(o->expiry_s > 0) || !(o->multiplier > 0) || !isfinite(o->dealer))
			return why_fail(why, whylen, "option %d: strike, expiry and multiplier must be positive", i);
	}
	if (p->nvenues < 1 || p->nvenues > MKT_MAX_VENUES)
		return why_fail(why, whylen, "need 1..%d venues", MKT_MAX_VENUES);
	for (int i = 0; i < p->nvenues; i++)
		nperp += p->venues[i].perp;
	if (nperp != 1)
		return why_fail(why, whylen, "exactly one venue must host the perpetual");
	for (int i = 0; i < p->nshocks; i++) {
		const struct mkt_shock *s = &p->shocks[i];
		if (s->kind < 0 || s->kind >= MKT_SHOCK__COUNT || s->at_ns < 0 || s->dur_ns < 0 || s->ramp_ns < 0)
			return why_fail(why, whylen, "shock %d: bad kind or negative time", i);
		if (s->kind == MKT_SHOCK_VENUE && (s->venue < 0 || s->venue >= p->nvenues))
			return why_fail(why, whylen, "shock %d: no such venue", i);
		if ((s->kind == MKT_SHOCK_BRIDGE || s->kind == MKT_SHOCK_RECOVER) && s->dur_ns <= 0)
			return why_fail(why, whylen, "shock %d: a bridge or recovery needs a duration", i);
	}
	return 0;
}

int mkt_params__check(const struct mkt_params *p, char *why, size_t whylen)
{
	int rc = check_scalars(p, why, whylen);

	if (!rc)
		rc = check_lists(p, why, whylen);
	if (!rc)
		rc = check_pole(p, why, whylen);
	return rc;
}
