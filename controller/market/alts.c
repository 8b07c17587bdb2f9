/*
 * alts.c — an optional second, correlated asset class ("alts") whose
 * accounts share collateral with the main asset's (cross margin).
 *
 * The alt index A (1 at t = 0) moves by beta times the main index's log
 * move, an idiosyncratic diffusion (alts.sigma) and the impact of its own
 * forced flow in its own book (depth alts.depth_usd within the depth band,
 * thinned with the main market makers' participation: the same desks quote
 * both). Its ladder is built like the main one (ladder.c: the entry-price
 * process on the main pre-history scaled by beta, its own leverage mix,
 * long share and mmr) and liquidated on A by an engine of its own
 * (throughput x alt bid depth per second; no insurance fund: fills below
 * bankruptcy are socialised, not modelled). The alt engine runs on the perp
 * venue: while it is down, nothing is executed (the queue waits), as for
 * the main engine. With mechanisms.ladder off there are no ladders, so no
 * alts either.
 *
 * Cross margin: a share alts.cross_frac of alt accounts also hold a main
 * position of the same side (paired at build, uniformly among the main
 * ladder's positions of that side). Under cross margin one collateral backs
 * both legs, and when the account's equity falls below maintenance the venue
 * closes the account (Binance, Bybit "cross margin mode": all positions are
 * liquidated when the margin ratio reaches 100 %). Modelled at the account
 * level: when either leg of a paired account is liquidated, the other is
 * queued for liquidation at once, in its own engine. So a fall of the alts
 * sells main-asset positions that were not yet at their own liquidation
 * price, and the reverse. Not modelled: the slow erosion of the shared
 * collateral before either leg triggers (a leg's liquidation price does not
 * move with the other leg's unrealized PnL).
 *
 * Randomness: stream MKT_ST_ALTS only (construction, pairing, noise), so a
 * scenario without alts draws exactly what it drew before they existed.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "market/model_state.h"

struct mkt_alts {
	struct mkt_params *ap;   /* the main params with the alt ladder's fields */
	struct mkt_ladder *lad;
	int *alt_of_main;        /* main position -> paired alt position, or -1 */
	int *main_of_alt;        /* alt position -> paired main position, or -1 */
	int seen_main, seen_alt; /* queue entries already paired */
	double za, peak_za;      /* log alt index */
	double q, tr;            /* flow memory (USD, + buys) and applied gap */
	double decay;
};

struct mkt_alts *mkt_alts__new(struct mkt_model *m, int *err)
{
	const struct mkt_params *p = m->p;
	const struct mkt_alts_params *ap = &p->alts;
	struct mkt_alts *a;
	struct mkt_rng r = m->rng[MKT_ST_ALTS];
	int n, nl, mn, mnl;

	*err = 0;
	if (ap->positions <= 0 || !p->on.ladder)
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a || !(a->ap = mkt_params__dup(p)))
		goto fail;
	a->ap->ladder_n = ap->positions;
	a->ap->oi_usd = ap->oi_usd;
	a->ap->long_frac = ap->long_frac;
	a->ap->mmr = ap->mmr;
	a->ap->lev_lo = ap->lev_lo, a->ap->lev_hi = ap->lev_hi;
	a->ap->lev_core_lo = ap->lev_core_lo, a->ap->lev_core_hi = ap->lev_core_hi;
	a->ap->lev_core_mass = ap->lev_core_mass;
	a->ap->entry_sigma = sqrt(ap->beta * ap->beta * p->entry_sigma * p->entry_sigma +
				  ap->sigma * ap->sigma);
	a->ap->entry_trend = ap->beta * p->entry_trend;
	/* the window's extremes on the alt index: beta times the main log move */
	if (p->entry_low_frac > 0)
		a->ap->entry_low_frac = exp(ap->beta * log(p->entry_low_frac));
	if (p->entry_high_frac > 0)
		a->ap->entry_high_frac = exp(ap->beta * log(p->entry_high_frac));
	a->ap->inverse_frac = 0;
	a->lad = mkt_ladder__new(a->ap, &r, 1.0);
	if (!a->lad)
		goto fail;
	n = mkt_ladder__n(a->lad), nl = mkt_ladder__nlong(a->lad);
	mn = mkt_ladder__n(m->lad), mnl = mkt_ladder__nlong(m->lad);
	a->alt_of_main = malloc((size_t)(mn > 0 ? mn : 1) * sizeof(int));
	a->main_of_alt = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
	if (!a->alt_of_main || !a->main_of_alt)
		goto fail;
	for (int i = 0; i < mn; i++)
		a->alt_of_main[i] = -1;
	for (int j = 0; j < n; j++) {
		bool lng = j < nl;
		int lo = lng ? 0 : mnl, cnt = lng ? mnl : mn - mnl, k;
		r.tick = 1u << 30 | (uint64_t)j;
		a->main_of_alt[j] = -1;
		if (cnt <= 0 || mkt_u01(&r, 60, 0) >= ap->cross_frac)
			continue;
		k = lo + (int)(mkt_u01(&r, 61, 0) * cnt);
		k = k < lo + cnt ? k : lo + cnt - 1;
		if (a->alt_of_main[k] >= 0)
			continue; /* one alt leg per main account */
		a->alt_of_main[k] = j;
		a->main_of_alt[j] = k;
	}
	a->decay = m->jdecay;
	return a;
fail:
	mkt_alts__free(a);
	*err = -ENOMEM;
	return NULL;
}

void mkt_alts__free(struct mkt_alts *a)
{
	if (!a)
		return;
	mkt_ladder__free(a->lad);
	mkt_params__free(a->ap);
	free(a->alt_of_main);
	free(a->main_of_alt);
	free(a);
}

/* The alt book's gap for a flow memory Q: depth walking within the band,
 * the square-root law beyond (the main book's form, impact.c). */
static double alt_gap(const struct mkt_model *m, double Q)
{
	const struct mkt_params *p = m->p;
	double D = 0.5 * p->alts.depth_usd * fmax(m->mm, 0.02), aq = fabs(Q);

	if (aq <= D)
		return copysign(p->depth_band * aq / D, Q);
	return copysign(p->depth_band * (1 + 2 * p->impact_y * (sqrt(aq / D) - 1)), Q);
}

/* One tick after the main engine: the alt index moves (beta x the main
 * log move dx, noise, its own book), accounts closed on the main side
 * queue their alt legs, the alt engine triggers and executes, and accounts
 * closed on the alt side queue their main legs (executed by the main
 * engine from the next tick). */
void mkt_alts__step(struct mkt_model *m, double dx)
{
	struct mkt_alts *a = m->alts;
	const struct mkt_params *p = m->p;
	struct mkt_rng r = m->rng[MKT_ST_ALTS];
	struct mkt_ladder_fill f = { 0 };
	double dty = (double)p->dt_ns * MKT_NS / MKT_YEAR_S, z, A, budget, tgt, hs, I;
	int qn;

	if (!a)
		return;
	z = mkt_normal(&r, 0);
	a->za += p->alts.beta * dx + p->alts.sigma * sqrt(dty) * z -
		 0.5 * p->alts.sigma * p->alts.sigma * dty;
	/* book resilience: the memory decays, the gap follows it */
	if (p->on.resilience)
		a->q *= a->decay;
	tgt = p->feedback ? alt_gap(m, a->q) : 0.0;
	a->za += tgt - a->tr;
	a->tr = tgt;
	A = exp(a->za);
	/* main accounts closed since the last tick: their alt legs go too */
	qn = mkt_ladder__queued_n(m->lad);
	for (; a->seen_main < qn; a->seen_main++) {
		int j = a->alt_of_main[mkt_ladder__queued_at(m->lad, a->seen_main)];
		if (j >= 0)
			m->st.alt_cross_alt_usd += mkt_ladder__force(a->lad, j, A);
	}
	mkt_ladder__trigger(a->lad, A);
	budget = p->alts.throughput * 0.5 * p->alts.depth_usd * fmax(m->mm, 0.02) *
		 (double)p->dt_ns * MKT_NS;
	if (m->vstatus[m->perp_venue] == MKT_VENUE_DOWN)
		budget = 0;
	hs = 0.5e-4 * m->spread_bps;
	I = p->feedback ? fabs(alt_gap(m, a->q - budget) - alt_gap(m, a->q)) : 0.0;
	mkt_ladder__execute(a->lad, budget, A * exp(-0.5 * I) * (1 - hs), A * exp(0.5 * I) * (1 + hs),
			    MKT_ADL_NONE, &f);
	if (f.units != 0 && p->feedback) {
		double q = f.signed_units * A, g = alt_gap(m, a->q + q) - alt_gap(m, a->q);
		a->q += q;
		a->za += g;
		a->tr += g;
	}
	m->st.alt_liq_usd += f.notional_usd;
	/* alt accounts closed: their main legs go too */
	qn = mkt_ladder__queued_n(a->lad);
	for (; a->seen_alt < qn; a->seen_alt++) {
		int k = a->main_of_alt[mkt_ladder__queued_at(a->lad, a->seen_alt)];
		if (k >= 0)
			m->st.alt_cross_main_usd += mkt_ladder__force(m->lad, k, m->mark);
	}
	a->peak_za = fmax(a->peak_za, a->za);
	m->st.alt_max_drawdown = fmax(m->st.alt_max_drawdown, 1 - exp(a->za - a->peak_za));
}
