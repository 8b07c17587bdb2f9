/*
 * impact.c — price impact of flow on the spot and perp order books.
 *
 * Each leg (0 spot, 1 perp) has a flow memory Q (signed USD, + buys) that
 * decays with the book's resilience half-life (minutes: Obizhaeva & Wang
 * 2013; the latent order book of Donier, Bonart, Mastromatteo & Bouchaud
 * 2015). A flow q moves the leg's log price by two parts:
 *
 *  - permanent, linear in signed volume (Kyle 1985; Huberman & Stanzl 2004
 *    show it must be linear to exclude round-trip manipulation; Almgren,
 *    Thum, Hauptmann & Li 2005 fit gamma = 0.314):
 *        I_perm = gamma sigma_D q / V_D
 *  - transient, the gap the flow has dug in the book, a function of the
 *    memory Q and of the book's state now:
 *        |Q| <= D:  g = band |Q| / D                 depth walking
 *        |Q| >  D:  g = band (1 + 2Y (sqrt(|Q|/D) - 1))
 *    the square-root law beyond the visible book (Torre 1997; Bouchaud,
 *    Bonart, Donier & Gould 2018) in its latent-order-book form: a book
 *    whose density grows linearly away from mid holds Q ~ Delta^2, so the
 *    move is band sqrt(Q/D) with the scale set by D, the side's visible
 *    depth within `band` of mid (Donier et al. 2015); Y = 0.5 is that form
 *    exactly (continuous in value and slope at D), larger Y a steeper book
 *    beyond the visible one. The displacement applied is kept (tr) and set
 *    to g(Q) every tick, so the gap deepens when the book thins under it
 *    (market makers withdrawing) and closes as the memory decays.
 *
 * Fast selling moves price more than slow: selling X within the resilience
 * time leaves a memory ~X and a gap g(X) on top of the permanent part; the
 * same X over days keeps the memory small and leaves about the permanent
 * part only, gamma sigma_D X / V_D.
 */
#include <math.h>

#include "market/model_state.h"

struct imp {
	double D, a, b, perm;
};

static struct imp coef(const struct mkt_model *m, int leg, double Q)
{
	const struct mkt_params *p = m->p;
	double D = Q > 0 ? m->ask_depth : m->bid_depth;
	double V = p->daily_volume_usd * (m->depth / p->depth_usd);
	double sd = m->rv_liq / sqrt(365.0);

	if (leg) {
		D *= p->perp_depth_ratio;
		V *= p->perp_volume_ratio;
	}
	return (struct imp){ D, p->depth_band / D, 2 * p->impact_y * p->depth_band / sqrt(D),
			     p->impact_permanent * sd / V };
}

static double g_of(const struct mkt_model *m, int leg, double Q)
{
	struct imp c = coef(m, leg, Q);
	double aq = fabs(Q);

	if (aq <= c.D)
		return copysign(c.a * aq, Q);
	return copysign(m->p->depth_band + c.b * (sqrt(aq) - sqrt(c.D)), Q);
}

static double g_inv(const struct mkt_model *m, int leg, double v)
{
	struct imp c = coef(m, leg, v);
	double av = fabs(v), r;

	if (av <= m->p->depth_band)
		return copysign(av / c.a, v);
	r = sqrt(c.D) + (av - m->p->depth_band) / c.b;
	return copysign(r * r, v);
}

/* The flow (USD) whose transient impact would move `leg` by dlog now (0
 * with feedback off); the small permanent part is left out. */
double mkt_model__invert_impact(const struct mkt_model *m, int leg, double dlog)
{
	if (dlog == 0 || !m->p->feedback)
		return 0.0;
	return g_inv(m, leg, g_of(m, leg, m->qm[leg]) + dlog) - m->qm[leg];
}

/* Log impact a flow q would have on `leg` now (0 with feedback off). */
double mkt_model__impact(const struct mkt_model *m, int leg, double q)
{
	if (q == 0 || !m->p->feedback)
		return 0.0;
	return coef(m, leg, q).perm * q + g_of(m, leg, m->qm[leg] + q) -
	       g_of(m, leg, m->qm[leg]);
}

/* Send flow q (USD) into a leg: the price moves by the permanent and the
 * marginal transient impact, and the flow joins the leg's memory. Returns
 * the log impact. */
double mkt_model__flow(struct mkt_model *m, int leg, double q)
{
	double tr, I;

	if (q == 0 || !m->p->feedback)
		return 0.0;
	tr = g_of(m, leg, m->qm[leg] + q) - g_of(m, leg, m->qm[leg]);
	I = coef(m, leg, q).perm * q + tr;
	*(leg ? &m->y : &m->x) += I;
	m->tr[leg] += tr;
	m->qm[leg] += q;
	m->flow_tick += q;
	return I;
}

/* Resilience: the memory decays (unless switched off: then every gap
 * stays) and the applied gap is set to g(memory) in today's book. */
void mkt_model__resilience(struct mkt_model *m)
{
	for (int leg = 0; leg < 2; leg++) {
		double target;

		if (m->qm[leg] == 0 && m->tr[leg] == 0)
			continue;
		if (m->p->on.resilience)
			m->qm[leg] *= m->jdecay;
		target = g_of(m, leg, m->qm[leg]);
		*(leg ? &m->y : &m->x) += target - m->tr[leg];
		m->tr[leg] = target;
	}
}
