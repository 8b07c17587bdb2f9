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

static double g_book(const struct mkt_model *m, struct imp c, double Q)
{
	double aq = fabs(Q);

	if (aq <= c.D)
		return copysign(c.a * aq, Q);
	return copysign(m->p->depth_band + c.b * (sqrt(aq) - sqrt(c.D)), Q);
}

static double g_of(const struct mkt_model *m, int leg, double Q)
{
	return g_book(m, coef(m, leg, Q), Q);
}

/* The same in the book the kept gap sits in: the side's depth smoothed over
 * the resilience time (the refilled book), so a kept gap deepens while the
 * market makers stay away and narrows as they return, but does not follow
 * every tick's quote flicker (which would feed realized vol back into the
 * book through the gap itself). */
/* The refilled depth of the side a flow Q takes (asks for a buy), on leg. */
static double kept_depth(const struct mkt_model *m, int leg, double Q)
{
	return (Q > 0 ? m->kask : m->kbid) * (leg ? m->p->perp_depth_ratio : 1.0);
}

static double g_kept_book(const struct mkt_model *m, int leg, double Q)
{
	const struct mkt_params *p = m->p;
	double D = kept_depth(m, leg, Q);

	return g_book(m, (struct imp){ D, p->depth_band / D,
				       2 * p->impact_y * p->depth_band / sqrt(D), 0 }, Q);
}

/* The refilled book's latent liquidity as the daily volume reveals it: the
 * square-root law |I| = Y sigma_D sqrt(|Q| / V_D) (Torre 1997; Toth et al.
 * 2011; Bouchaud et al. 2018), V_D scaled like the side's depth.
 * Extrapolated from the visible book alone, the latent book is far thinner
 * (20 M within 1 % is L = D / band^2 = 2e11 USD per unit log^2; 20 B a day
 * at sigma_D 4.7 % is V / (Y sigma_D)^2 ~ 1.4e13), so sustained selling (an
 * engine working a queue for half an hour) would keep ~10x the square-root
 * law's move. */
static double law_of(const struct mkt_model *m, int leg, double Q)
{
	const struct mkt_params *p = m->p;
	double D = kept_depth(m, leg, Q);
	double V = p->daily_volume_usd * (leg ? p->perp_volume_ratio : 1.0) *
		   (D / ((leg ? p->perp_depth_ratio : 1.0) * 0.5 * p->depth_usd));

	return p->impact_y * (m->rv_liq / sqrt(365.0)) * sqrt(fabs(Q) / V);
}

/* The kept gap: the refilled book's, at most the law (kept_volume_law). */
static double g_kept(const struct mkt_model *m, int leg, double Q)
{
	double g = g_kept_book(m, leg, Q), cap;

	if (!m->p->kept_volume_law || Q == 0)
		return g;
	cap = law_of(m, leg, Q);
	return fabs(g) > cap ? copysign(cap, Q) : g;
}

/* The gap applied to `leg` for a fast memory Qf and an episode memory Qe:
 * (1 - k) g(Qf) + k g(Qe). At the moment of a fast sale both memories hold
 * it and the gap is g(Q); as the book refills (Qf decays in minutes) the
 * gap relaxes to k g(Qe), k = impact_keep of its peak (fair pricing, Farmer
 * et al. 2013), in today's book: it deepens while the market makers are
 * away and narrows as they return, and buying back (value buyers) fills it.
 *
 * With kept_volume_law and law_excess_transient the law caps what stays,
 * not the sale's own walk through the visible book: the part of the kept
 * share beyond the law, k (|g_kept_book(Qf)| - law(Qf))+, rides on the
 * fast memory, so it is there at the moment of the sale (the peak is the
 * visible book's, as without the law) and refills with the book in
 * minutes, leaving k min(g, law)(Qe). Without it the law also cuts the
 * sale's peak to (1 - k) g + k law, a third of the book's walk. */
static double gap_of(const struct mkt_model *m, int leg, double qf, double qe)
{
	const struct mkt_params *p = m->p;
	double k = p->impact_keep, gap, ex;

	gap = (1 - k) * g_of(m, leg, qf) + (k > 0 ? k * g_kept(m, leg, qe) : 0.0);
	if (k > 0 && p->kept_volume_law && p->law_excess_transient && qf != 0) {
		ex = fabs(g_kept_book(m, leg, qf)) - law_of(m, leg, qf);
		if (ex > 0)
			gap += k * copysign(ex, qf);
	}
	return gap;
}

/* The flow (USD) whose transient impact would move `leg` by dlog now (0
 * with feedback off); the small permanent part is left out. Bisection on
 * the monotone gap (both parts increase with the flow). */
double mkt_model__invert_impact(const struct mkt_model *m, int leg, double dlog)
{
	double g0, lo = 0, hi, s;

	if (dlog == 0 || !m->p->feedback)
		return 0.0;
	s = dlog > 0 ? 1.0 : -1.0;
	g0 = gap_of(m, leg, m->qm[leg], m->qe[leg]);
	hi = 1e6;
	for (int i = 0; i < 60 && s * (gap_of(m, leg, m->qm[leg] + s * hi, m->qe[leg] + s * hi) - g0) < fabs(dlog); i++)
		hi *= 2;
	for (int i = 0; i < 40; i++) {
		double mid = 0.5 * (lo + hi);
		if (s * (gap_of(m, leg, m->qm[leg] + s * mid, m->qe[leg] + s * mid) - g0) < fabs(dlog))
			lo = mid;
		else
			hi = mid;
	}
	return s * 0.5 * (lo + hi);
}

/* Log impact a flow q would have on `leg` now (0 with feedback off). */
double mkt_model__impact(const struct mkt_model *m, int leg, double q)
{
	if (q == 0 || !m->p->feedback)
		return 0.0;
	return coef(m, leg, q).perm * q +
	       gap_of(m, leg, m->qm[leg] + q, m->qe[leg] + q) -
	       gap_of(m, leg, m->qm[leg], m->qe[leg]);
}

/* Send flow q (USD) into a leg: the price moves by the permanent and the
 * marginal transient impact, and the flow joins the leg's memories. Returns
 * the log impact. */
double mkt_model__flow(struct mkt_model *m, int leg, double q)
{
	double tr, I;

	if (q == 0 || !m->p->feedback)
		return 0.0;
	tr = gap_of(m, leg, m->qm[leg] + q, m->qe[leg] + q) -
	     gap_of(m, leg, m->qm[leg], m->qe[leg]);
	I = coef(m, leg, q).perm * q + tr;
	*(leg ? &m->y : &m->x) += I;
	m->tr[leg] += tr;
	m->qm[leg] += q;
	m->qe[leg] += q;
	m->flow_tick += q;
	return I;
}

/* Resilience: the memory decays (unless switched off: then every gap
 * stays) and the applied gap is set to g(memory) in today's book. */
void mkt_model__resilience(struct mkt_model *m)
{
	double a = m->p->on.resilience ? m->jdecay : 1.0;

	m->kbid = a * m->kbid + (1 - a) * m->bid_depth;
	m->kask = a * m->kask + (1 - a) * m->ask_depth;
	for (int leg = 0; leg < 2; leg++) {
		double target;

		if (m->qm[leg] == 0 && m->qe[leg] == 0 && m->tr[leg] == 0)
			continue;
		if (m->p->on.resilience)
			m->qm[leg] *= m->jdecay;
		m->qe[leg] *= m->edecay;
		target = gap_of(m, leg, m->qm[leg], m->qe[leg]);
		*(leg ? &m->y : &m->x) += target - m->tr[leg];
		m->tr[leg] = target;
	}
}
