/*
 * formulas.c — the model's closed forms, each with its source. These are the
 * numbers of shared/MARKET.md's checks; the model's channels call them.
 */
#include <math.h>

#include "market/mkt_internal.h"

double mkt_ncdf(double x)
{
	return 0.5 * erfc(-x * 0.70710678118654752440);
}

double mkt_npdf(double x)
{
	return 0.39894228040143267794 * exp(-0.5 * x * x);
}

void mkt_bs(double S, double K, double tau, double sigma, double r, double q,
	    int type, struct mkt_greeks *g)
{
	/* Black & Scholes (1973), Merton (1973) with continuous yield q (Hull,
	 * Options, Futures and Other Derivatives, ch. 17/19). */
	double st = sigma * sqrt(tau), dq = exp(-q * tau), dr = exp(-r * tau);
	double d1 = (log(S / K) + (r - q + 0.5 * sigma * sigma) * tau) / st;
	double d2 = d1 - st, nd1 = mkt_ncdf(d1), pd1 = mkt_npdf(d1);

	g->d1 = d1;
	g->gamma = dq * pd1 / (S * st);
	g->vega = S * dq * pd1 * sqrt(tau);
	if (type == MKT_CALL) {
		g->price = S * dq * nd1 - K * dr * mkt_ncdf(d2);
		g->delta = dq * nd1;
	} else {
		g->price = K * dr * mkt_ncdf(-d2) - S * dq * mkt_ncdf(-d1);
		g->delta = -dq * mkt_ncdf(-d1);
	}
}

double mkt_amplification(double lambda, double G)
{
	/* dS = dS_exo - lambda G dS  =>  dS = dS_exo / (1 + lambda G). */
	return 1.0 / (1.0 + lambda * G);
}

double mkt_amplification_rounds(double lambda, double G, int rounds)
{
	double sum = 0, term = 1;

	for (int k = 0; k < rounds; k++) {
		sum += term;
		term *= -lambda * G;
	}
	return sum;
}

double mkt_frey_sigma(double sigma, double rho, double S, double gamma_d)
{
	/* Frey, "Market illiquidity as a source of model risk", 2000:
	 * sigma / (1 - rho S Gamma) for the hedger of a long option. */
	return sigma / (1.0 + rho * S * gamma_d);
}

double mkt_sircar_sigma(double sigma, double rho, double delta, double S,
			double gamma_d)
{
	/* Sircar & Papanicolaou, "General Black-Scholes models accounting for
	 * increased market volatility from hedging strategies", 1998; Frey &
	 * Stremme 1997 with unit elasticity. */
	return sigma * (1.0 - rho * delta) / (1.0 - rho * delta + rho * S * gamma_d);
}

double mkt_liq_frac(int kind, double lev, double mmr)
{
	/* Isolated margin, exchange convention (BitMEX / Binance docs). */
	switch (kind) {
	case MKT_LINEAR_LONG: return (1.0 - 1.0 / lev) / (1.0 - mmr);
	case MKT_LINEAR_SHORT: return (1.0 + 1.0 / lev) / (1.0 + mmr);
	case MKT_INVERSE_LONG: return (1.0 + mmr) / (1.0 + 1.0 / lev);
	default: return (1.0 - mmr) / (1.0 - 1.0 / lev); /* inverse short */
	}
}

double mkt_bankrupt_frac(int kind, double lev)
{
	switch (kind) {
	case MKT_LINEAR_LONG: return 1.0 - 1.0 / lev;
	case MKT_LINEAR_SHORT: return 1.0 + 1.0 / lev;
	case MKT_INVERSE_LONG: return 1.0 / (1.0 + 1.0 / lev);
	default: return lev > 1 ? 1.0 / (1.0 - 1.0 / lev) : 1e9;
	}
}

double mkt_deficit(int kind, double qty, double p_bk, double p_exec)
{
	double d = (kind == MKT_LINEAR_LONG || kind == MKT_INVERSE_LONG)
			   ? qty * (p_bk - p_exec) : qty * (p_exec - p_bk);

	return d > 0 ? d : 0.0;
}

double mkt_sqrt_impact(double Y, double sigma_d, double q_over_v)
{
	/* Square-root law: Torre (1997), Almgren et al. (2005), Bouchaud,
	 * Bonart, Donier & Gould, "Trades, Quotes and Prices" (2018) ch. 12. */
	return Y * sigma_d * sqrt(q_over_v);
}

double mkt_ou_mean_factor(double gamma, double d)
{
	return exp(-gamma * d);
}

double mkt_ou_var(double gamma, double d, double theta)
{
	/* Exact OU transition (Uhlenbeck & Ornstein 1930; Gillespie 1996). */
	return theta * theta * -expm1(-2.0 * gamma * d) / (2.0 * gamma);
}

double mkt_cascade_amp(double kappa_l)
{
	return kappa_l >= 1.0 ? INFINITY : 1.0 / (1.0 - kappa_l);
}

double mkt_margin_spiral(double dp0_p, double kx, double dm_m, double L)
{
	/* Brunnermeier & Pedersen, "Market liquidity and funding liquidity",
	 * RFS 2009, one-asset loss/margin spiral. */
	return (dp0_p - kx * dm_m) / (1.0 - kx * (L - 1.0));
}

double mkt_funding_rate(double premium, double interest, double clamp_,
			double cap)
{
	/* BitMEX / Binance perpetual funding: F = P + clamp(I - P, +-0.05 %),
	 * bounded by the venue's cap. */
	double d = interest - premium, f;

	if (fabs(d) <= clamp_)
		f = interest; /* exactly I, not P + (I - P) rounded */
	else
		f = premium + (d > 0 ? clamp_ : -clamp_);
	return f > cap ? cap : f < -cap ? -cap : f;
}

double mkt_hawkes_mean_rate(double mu0, double n)
{
	/* Hawkes (1971): stationary intensity mu0 / (1 - n), n = alpha/beta. */
	return mu0 / (1.0 - n);
}

double mkt_t_scale(double nu)
{
	return sqrt((nu - 2.0) / nu);
}

double mkt_perp_fair_ratio(double kappa, double r, double q)
{
	/* He, Manela, Ross & von Wachter, "Fundamentals of perpetual futures",
	 * 2022: F/S = kappa / (kappa - (r - q)). */
	return kappa / (kappa - (r - q));
}

int mkt_hawkes__step(struct mkt_hawkes *h, const struct mkt_rng *r,
		     unsigned slot, double dt)
{
	/* lambda_t = mu0 + sum alpha e^{-beta (t - t_i)} (Hawkes 1971); the
	 * excitation decays exactly over the step and each event adds alpha. */
	double lam = h->mu0 + h->excite;
	int k = mkt_poisson(r, slot, lam * dt);

	h->excite = h->excite * exp(-h->beta * dt) + h->alpha * k;
	h->events += k;
	return k;
}
