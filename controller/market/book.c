/*
 * book.c — the options book and the dealers' greeks.
 *
 * Each line is the dealers' net position at one strike and expiry. Per tick:
 * Black-Scholes delta and gamma at each line's implied vol (ATM vol plus a
 * linear skew in log-moneyness), tau floored at min_tau (the gamma cap that
 * keeps near-expiry feedback finite). GEX = sum n m Gamma S^2 0.01 ($ per
 * 1 % move; SqueezeMetrics, "Gamma exposure" 2017, with dealer positions
 * given per line rather than by the "calls +, puts -" convention).
 * Charm is included implicitly: deltas are recomputed at the new tau every
 * tick, so time decay of delta shows up as hedge flow.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "market/mkt_internal.h"

struct mkt_line {
	double lnK, K, expiry_s, nm; /* nm = dealer contracts * multiplier */
	int type;
};

struct mkt_book {
	int n;
	double r, q, min_tau_s, abs_nm;
	struct mkt_line *l;
};

struct mkt_book *mkt_book__new(const struct mkt_params *p)
{
	struct mkt_book *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->l = calloc((size_t)(p->noptions ? p->noptions : 1), sizeof(*b->l));
	if (!b->l) {
		free(b);
		return NULL;
	}
	b->n = p->noptions;
	b->r = p->r, b->q = p->q, b->min_tau_s = p->min_tau_s;
	for (int i = 0; i < b->n; i++) {
		const struct mkt_option *o = &p->options[i];
		b->l[i] = (struct mkt_line){ log(o->strike), o->strike, o->expiry_s,
					     o->dealer * o->multiplier, o->type };
		b->abs_nm += fabs(b->l[i].nm);
	}
	return b;
}

void mkt_book__free(struct mkt_book *b)
{
	if (!b)
		return;
	free(b->l);
	free(b);
}

static double line_iv(double iv, double skew, double lnS, double lnK)
{
	double v = iv + skew * (lnK - lnS);

	return v < 0.2 * iv ? 0.2 * iv : v; /* floor: the skew cannot go negative */
}

/* Delta and gamma of one line (per unit of underlying). */
static void line_greeks(const struct mkt_book *b, const struct mkt_line *l,
			double S, double lnS, double t_s, double iv, double skew,
			double *delta, double *gamma)
{
	double tau_s = l->expiry_s - t_s, tau, sig, st, d1, dq;

	if (tau_s < b->min_tau_s)
		tau_s = b->min_tau_s;
	tau = tau_s / MKT_YEAR_S;
	sig = line_iv(iv, skew, lnS, l->lnK);
	st = sig * sqrt(tau);
	dq = exp(-b->q * tau);
	d1 = (lnS - l->lnK + (b->r - b->q + 0.5 * sig * sig) * tau) / st;
	*gamma = dq * mkt_npdf(d1) / (S * st);
	*delta = l->type == MKT_CALL ? dq * mkt_ncdf(d1) : -dq * mkt_ncdf(-d1);
}

void mkt_book__step(const struct mkt_book *b, double S, double t_s, double iv,
		    double skew, struct mkt_book_out *out)
{
	double lnS = log(S), D = 0, G = 0, d, g;

	for (int i = 0; i < b->n; i++) {
		const struct mkt_line *l = &b->l[i];
		if (l->nm == 0 || l->expiry_s <= t_s)
			continue; /* no position or expired: exactly no flow */
		line_greeks(b, l, S, lnS, t_s, iv, skew, &d, &g);
		D += l->nm * d;
		G += l->nm * g;
	}
	out->delta = D;
	out->gamma = G;
	out->gex = G * S * S * 0.01;
	out->unit_delta = b->abs_nm > 0 ? -D / b->abs_nm : 0;
	out->unit_gamma = b->abs_nm > 0 ? G / b->abs_nm : 0;
}

double mkt_book__gex_at(const struct mkt_book *b, double S, double t_s,
			double iv, double skew)
{
	struct mkt_book_out o;

	mkt_book__step(b, S, t_s, iv, skew, &o);
	return o.gex;
}
