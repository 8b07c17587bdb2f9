/*
 * model.c — the market model: one shared state, stepped by dt.
 *
 * A tick, in order (t = tick*dt, t' = t + dt):
 *  1. draws: every stream draws the same variates every tick (fixed slots);
 *  2. schedule: envelopes (vol, iv, depth, spread, hawkes, throughput) and
 *     venue status at t';
 *  3. book resilience (impact.c), then flows at the state of t: dealer
 *     hedge, exogenous flow shocks, arbs, value buyers; their impact moves
 *     the spot and perp legs (permanent linear in volume, transient
 *     square-root gap that closes over minutes: impact.c);
 *  4. the fundamental move common to both legs: exact GBM step with
 *     Student-t shocks and Hawkes jumps, or a bridge / OU step while one is
 *     scheduled (applied after the flows, so a bridge still ends at its
 *     target exactly);
 *  5. venues and the index; the liquidation engine in rounds on the mark
 *     (trigger, execute within throughput, move the perp, re-mark);
 *  6. funding, liquidity (participation, depth, spread), realized and
 *     implied vol, greeks, stress, statistics.
 *
 * With feedback off every flow's impact is zero and, with nu = 0, no jumps
 * and no shocks, step 4 is exactly x' = x + (mu - sigma^2/2) dt + sigma
 * sqrt(dt) Z: geometric Brownian motion (Black-Scholes 1973).
 *
 * stress (signal, 0..1) = 0.25 min(1, drawdown/0.20)
 *   + 0.15 min(1, max(0, rv/sigma0 - 1)/3) + 0.20 max(0, 1 - depth/D0)
 *   + 0.15 min(1, max(0, spread/s0 - 1)/9) + 0.15 min(1, liq rate /
 *   (1e-4 OI0 per s)) + 0.10 worst venue status / 3.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "market/model_state.h"

static double dt_years(const struct mkt_model *m)
{
	return (double)m->p->dt_ns * MKT_NS / MKT_YEAR_S;
}

/* ---- schedule ------------------------------------------------------------ */

static double envelope(const struct mkt_shock *s, int64_t t)
{
	int64_t a = s->at_ns, r = s->ramp_ns, h = s->dur_ns;

	if (t < a)
		return 1.0;
	if (t < a + r)
		return 1.0 + (s->size - 1.0) * (double)(t - a) / (double)r;
	if (t < a + r + h || s->half_life_s <= 0)
		return s->size;
	return 1.0 + (s->size - 1.0) *
		     exp2(-(double)(t - a - r - h) * MKT_NS / s->half_life_s);
}

/* Overlap of [a, b) with [t, t+d), as a fraction of (b - a). */
static double overlap(int64_t a, int64_t b, int64_t t, int64_t d)
{
	int64_t lo = a > t ? a : t, hi = b < t + d ? b : t + d;

	if (b <= a)
		return (a >= t && a < t + d) ? 1.0 : 0.0;
	return hi > lo ? (double)(hi - lo) / (double)(b - a) : 0.0;
}

static void schedule(struct mkt_model *m, int64_t t)
{
	const struct mkt_params *p = m->p;

	for (int k = 0; k < MKT_ENV__COUNT; k++)
		m->env[k] = 1.0;
	for (int v = 0; v < p->nvenues; v++)
		m->vstatus[v] = MKT_VENUE_UP;
	for (int i = 0; i < p->nshocks; i++) {
		const struct mkt_shock *s = &p->shocks[i];
		if (s->kind >= MKT_SHOCK_VOL)
			m->env[s->kind - MKT_SHOCK_VOL] *= envelope(s, t);
		else if (s->kind == MKT_SHOCK_VENUE && t >= s->at_ns &&
			 t < s->at_ns + s->dur_ns && s->status > m->vstatus[s->venue])
			m->vstatus[s->venue] = s->status;
	}
}

/* ---- flows ------------------------------------------------------------------ */

/* Dealer delta hedge: target H* = -Delta_dealer; re-hedge when the drift
 * leaves the band or every k ticks; a step's trade is capped at a fraction
 * of the side's depth (near-expiry gamma would otherwise blow up). The
 * trade per unit move is dH = -n m Gamma dS (MARKET.md). */
static void dealer_hedge(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double S = exp(m->x), drift = -m->greeks.delta - m->hedge, cap, tr;
	bool due = p->hedge_every_ticks > 0 && m->tick % p->hedge_every_ticks == 0;

	m->hedge_usd = 0;
	if (p->dealer_mode != MKT_DEALER_DISCRETE || m->book_lines == 0 || !p->on.dealers)
		return;
	if (!due && fabs(drift) * S <= p->hedge_band_usd)
		return;
	tr = drift;
	cap = p->hedge_max_depth_frac * (tr > 0 ? m->ask_depth : m->bid_depth) / S;
	tr = tr > cap ? cap : tr < -cap ? -cap : tr;
	m->hedge += tr;
	m->hedge_usd = tr * S;
	m->st.hedge_abs_usd += fabs(m->hedge_usd);
	if (m->vstatus[m->perp_venue] != MKT_VENUE_DOWN || p->hedge_leg == 0)
		mkt_model__flow(m, p->hedge_leg, m->hedge_usd);
}

static void shock_flows(struct mkt_model *m, int64_t t)
{
	const struct mkt_params *p = m->p;

	for (int i = 0; i < p->nshocks; i++) {
		const struct mkt_shock *s = &p->shocks[i];
		double f;

		if (s->kind != MKT_SHOCK_FLOW)
			continue;
		f = overlap(s->at_ns, s->at_ns + s->dur_ns, t, p->dt_ns);
		if (f > 0 && !(s->leg == 1 && m->vstatus[m->perp_venue] == MKT_VENUE_DOWN))
			mkt_model__flow(m, s->leg, s->size * f);
	}
}

/* Arbitrageurs close the basis toward its fair value with a lag (a fraction
 * 1 - 2^{-dt/h} of the gap per tick) and limited capital, which they recycle
 * as their positions converge (unwind half-life). They size the trade so its
 * perp-leg impact closes half the wanted move (the spot leg does the rest).
 * Half their capital is funded like the market makers' and shrinks with
 * their participation (funding liquidity: Brunnermeier & Pedersen 2009; limits
 * of arbitrage: Shleifer & Vishny 1997), so in a cascade the perp can trade
 * at a discount. Fair basis: He & Manela F/S = kappa/(kappa - (r - q)) plus
 * the premium. */
static void arbitrage(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double dev = (m->y - m->x) - m->basis_fair, want, q, pos;
	double cap = p->arb_capital_usd * (0.5 + 0.5 * m->mm);

	m->arb_pos *= m->arb_unwind;
	if (!p->feedback || !p->on.arbitrage || dev == 0 ||
	    m->vstatus[m->perp_venue] == MKT_VENUE_DOWN)
		return;
	want = -0.5 * dev * m->arb_frac; /* log move wanted on the perp leg */
	q = mkt_model__invert_impact(m, 1, want); /* USD on the perp, + buys */
	pos = m->arb_pos - q; /* arb position: + short perp / long spot */
	if (fabs(pos) > cap && fabs(pos) > fabs(m->arb_pos))
		pos = fabs(m->arb_pos) > cap ? m->arb_pos : copysign(cap, pos);
	q = m->arb_pos - pos;
	m->arb_pos = pos;
	mkt_model__flow(m, 1, q);
	mkt_model__flow(m, 0, -q);
}

/* Value buyers (slow-moving capital: Duffie 2010; the "value investors" of
 * Brunnermeier & Pedersen 2009): capital that buys spot once the index
 * trades more than `value_discount` below its anchor (an EWMA of the log
 * index with a half-life of days), deploying a share 1 - e^{-dt/deploy} of
 * what is left per tick, in proportion to the excess discount (full at
 * twice the threshold). The recovery's size comes from their capital and
 * the book they buy into. */
static void value_buyers(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double disc, w, q;

	m->anchor_x = m->anchor_a * m->anchor_x + (1 - m->anchor_a) * log(m->index);
	if (!p->on.value || m->vb_left <= 0)
		return;
	disc = 1 - m->index / exp(m->anchor_x);
	w = (disc - p->value_discount) / p->value_discount;
	if (w <= 0)
		return;
	q = m->vb_left * m->vb_frac * fmin(1.0, w);
	m->vb_left -= q;
	mkt_model__flow(m, 0, q);
}

/* ---- fundamental ----------------------------------------------------------- */

/* Bridge pinned at the target (log space): X' = X + (X_T - X) d/(T - t) +
 * sigma sqrt(d (T - t')/(T - t)) Z (e.g. Glasserman, Monte Carlo Methods in
 * Financial Engineering, 3.1); the last step lands exactly on X_T. */
static bool bridge_step(struct mkt_model *m, int64_t t, double sig, double z,
			double *x)
{
	for (int i = 0; i < m->p->nshocks; i++) {
		const struct mkt_shock *s = &m->p->shocks[i];
		int64_t T = s->at_ns + s->dur_ns, d, left;
		double ty;

		if (s->kind != MKT_SHOCK_BRIDGE || t < s->at_ns || t >= T)
			continue;
		if (!m->sh[i].active) {
			m->sh[i].active = true;
			m->sh[i].target = *x + log(s->size);
		}
		left = T - t;
		d = m->p->dt_ns < left ? m->p->dt_ns : left;
		ty = (double)d * MKT_NS / MKT_YEAR_S;
		if (d == left)
			*x = m->sh[i].target;
		else
			*x += (m->sh[i].target - *x) * (double)d / (double)left +
			      sig * sqrt(ty * (double)(left - d) / (double)left) * z;
		return true;
	}
	return false;
}

/* Recovery leg: exact OU step toward trough + fraction (peak - trough). */
static bool recover_step(struct mkt_model *m, int64_t t, double sig, double z,
			 double *x)
{
	for (int i = 0; i < m->p->nshocks; i++) {
		const struct mkt_shock *s = &m->p->shocks[i];
		double g, d = dt_years(m), mu;

		if (s->kind != MKT_SHOCK_RECOVER || t < s->at_ns || t >= s->at_ns + s->dur_ns)
			continue;
		if (!m->sh[i].active) {
			m->sh[i].active = true;
			m->sh[i].target = *x + s->size * (m->peak_x - *x);
		}
		mu = m->sh[i].target;
		g = M_LN2 / (s->half_life_s / MKT_YEAR_S);
		*x = mu + (*x - mu) * mkt_ou_mean_factor(g, d) +
		     sqrt(mkt_ou_var(g, d, sig)) * z;
		return true;
	}
	return false;
}

static double scheduled_jumps(struct mkt_model *m, int64_t t)
{
	const struct mkt_params *p = m->p;
	double j = 0;

	for (int i = 0; i < p->nshocks; i++) {
		const struct mkt_shock *s = &p->shocks[i];
		if (s->kind == MKT_SHOCK_JUMP)
			j += log1p(s->size) * overlap(s->at_ns, s->at_ns + s->ramp_ns, t, p->dt_ns);
		else if (s->kind == MKT_SHOCK_MM && s->at_ns >= t && s->at_ns < t + p->dt_ns)
			m->mm *= 1.0 - s->size;
	}
	return j;
}

/* Diffusion sigma: scheduled vol times, in the continuous dealer modes, the
 * Frey or Sircar-Papanicolaou feedback factor (denominator floored at 0.05
 * so a state near the pole cannot produce an infinite step). */
static double diffusion_sigma(const struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double s = p->sigma * m->env[MKT_ENV_VOL], S = exp(m->x);
	double g = m->greeks.unit_gamma, d = m->greeks.unit_delta, den;

	if (p->dealer_mode == MKT_DEALER_FREY && p->feedback) {
		den = 1.0 + p->rho * S * g;
		s = s / (den < 0.05 ? 0.05 : den);
	} else if (p->dealer_mode == MKT_DEALER_SIRCAR && p->feedback) {
		den = 1.0 - p->rho * d + p->rho * S * g;
		s = s * (1.0 - p->rho * d) / (den < 0.05 ? 0.05 : den);
	}
	return s;
}

/* The new spot log price after the common move of both legs (log). Draws: price slots 0-1
 * (Student-t), jumps slots 0 (count) and 1 (size). */
static double fundamental(struct mkt_model *m, int64_t t)
{
	const struct mkt_params *p = m->p;
	double sig = diffusion_sigma(m), dty = dt_years(m), x0 = m->x, x = m->x;
	double z = mkt_student(&m->rng[MKT_ST_PRICE], 0, p->nu);
	double zj = mkt_normal(&m->rng[MKT_ST_JUMPS], 1), jump;
	int k;

	m->hawkes.alpha = fmin(0.99, p->jump_branching * m->env[MKT_ENV_HAWKES]) * m->hawkes.beta;
	k = mkt_hawkes__step(&m->hawkes, &m->rng[MKT_ST_JUMPS], 0, (double)p->dt_ns * MKT_NS);
	jump = k ? k * p->jump_mean + p->jump_sd * sqrt((double)k) * zj : 0.0;
	jump += scheduled_jumps(m, t);
	x += jump;
	if (bridge_step(m, t, sig, z, &x) || recover_step(m, t, sig, z, &x))
		return x;
	/* Exact GBM step: S' = S exp((mu - sigma^2/2) dt + sigma sqrt(dt) Z). */
	return x0 + (jump + (p->mu - 0.5 * sig * sig) * dty + sig * sqrt(dty) * z);
}

/* ---- step ------------------------------------------------------------------- */

void mkt_model__step(struct mkt_model *m)
{
	int64_t t = m->tick * m->p->dt_ns;
	double df, xn;

	for (int i = 0; i < MKT_ST__COUNT; i++)
		m->rng[i].tick = (uint64_t)m->tick;
	schedule(m, t);
	m->flow_tick = 0;
	mkt_model__resilience(m);
	dealer_hedge(m);
	shock_flows(m, t);
	arbitrage(m);
	value_buyers(m);
	xn = fundamental(m, t);
	df = xn - m->x;
	m->x = xn;
	mkt_model__perp_move(m, df);
	mkt_model__venues(m);
	mkt_model__liquidate(m);
	if (m->alts)
		mkt_alts__step(m, log(m->index / m->index_prev));
	m->tick++;
	mkt_model__funding(m);
	mkt_model__liquidity(m);
	mkt_model__vol_book(m);
	mkt_model__account(m);
}

int64_t mkt_model__time_ns(const struct mkt_model *m)
{
	return m->tick * m->p->dt_ns;
}
