/*
 * mkt_internal.h — the model's building blocks, shared by its .c files and
 * its unit tests (not part of the public API).
 *
 *  - randomness: counter-based streams (SplitMix64 finalizer), one per
 *    component, keyed by (stream key, tick, slot, try): a variate's value
 *    depends only on its coordinates, never on how many draws a branch made;
 *  - closed forms: Black-Scholes, Frey, Sircar-Papanicolaou, liquidation
 *    prices, impact, OU, cascade fixed point, funding, Hawkes;
 *  - the options book (mkt_book__*) and the liquidation ladder (mkt_ladder__*).
 */
#ifndef FL_MKT_INTERNAL_H
#define FL_MKT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "market/market.h"

#define MKT_YEAR_S (365.0 * 86400.0)
#define MKT_NS 1e-9

/* ---- randomness ------------------------------------------------------- */

/* One stream per component; never shared. Appending a stream keeps the keys
 * of the others (they are the first outputs of SplitMix64 in this order). */
enum mkt_stream {
	MKT_ST_PRICE,  /* diffusion shock, its chi-square */
	MKT_ST_JUMPS,  /* Hawkes count, jump size */
	MKT_ST_LIQ,    /* market-maker participation noise */
	MKT_ST_LADDER, /* ladder construction (at __new only) */
	MKT_ST_PERP,   /* perp idiosyncratic noise */
	MKT_ST_ALTS,   /* alts: ladder construction, pairing, idiosyncratic noise */
	MKT_ST__COUNT
};

struct mkt_rng {
	uint64_t key;
	uint64_t tick;
};

/* SplitMix64 (Steele, Lea, Flood 2014): next output of state *s. */
uint64_t mkt_splitmix64(uint64_t *s);
/* Fan a master seed out into MKT_ST__COUNT stream keys. */
void mkt_rng_fan(uint64_t seed, struct mkt_rng out[MKT_ST__COUNT]);
/* Uniform in (0, 1) at coordinates (r->tick, slot, try). */
double mkt_u01(const struct mkt_rng *r, unsigned slot, unsigned try_);
/* Standard normal by Box-Muller from tries 0 and 1 of `slot`. */
double mkt_normal(const struct mkt_rng *r, unsigned slot);
/* A standard normal from the uniforms t0, t0 + 1 of slot (Box & Muller);
 * mkt_normal is mkt_normal_at(r, slot, 0). */
double mkt_normal_at(const struct mkt_rng *r, unsigned slot, unsigned t0);
/* Gamma(shape a > 0, 1) by Marsaglia-Tsang (2000), tries 0.. of `slot`
 * (bounded; deterministic fallback to the mean if every try is rejected). */
double mkt_gamma(const struct mkt_rng *r, unsigned slot, double a);
/* Unit-variance Student-t with nu > 2 dof: N / sqrt(chi2/nu) * sqrt((nu-2)/nu);
 * nu == 0: the normal itself. Uses slots `slot` (normal) and slot+1 (chi2). */
double mkt_student(const struct mkt_rng *r, unsigned slot, double nu);
/* Poisson(lam) by inversion of one uniform (slot, try 0). */
int mkt_poisson(const struct mkt_rng *r, unsigned slot, double lam);

/* ---- closed forms ------------------------------------------------------ */

double mkt_ncdf(double x); /* standard normal CDF */
double mkt_npdf(double x); /* standard normal density */

struct mkt_greeks {
	double d1, price, delta, gamma, vega;
};
/* Black-Scholes-Merton with continuous yield q (Black & Scholes 1973; Merton
 * 1973). tau in years. */
void mkt_bs(double S, double K, double tau, double sigma, double r, double q,
	    int type, struct mkt_greeks *g);

/* Hedge-feedback amplification with linear impact lambda ($/share) and
 * dealer gamma G = n*m*Gamma (shares per $): dS = dS_exo / (1 + lambda*G). */
double mkt_amplification(double lambda, double G);
/* The same as a sum of `rounds` hedge rounds: sum_k (-lambda*G)^k. */
double mkt_amplification_rounds(double lambda, double G, int rounds);
/* Frey (2000): sigma / (1 + rho*S*Gamma_d), Gamma_d the hedger's signed gamma
 * per unit (short gamma: negative). */
double mkt_frey_sigma(double sigma, double rho, double S, double gamma_d);
/* Sircar & Papanicolaou (1998), Frey & Stremme (1997), unit elasticity:
 * sigma (1 - rho*D) / (1 - rho*D + rho*S*Gamma_d). */
double mkt_sircar_sigma(double sigma, double rho, double delta, double S,
			double gamma_d);

enum mkt_pos_kind { MKT_LINEAR_LONG, MKT_LINEAR_SHORT, MKT_INVERSE_LONG, MKT_INVERSE_SHORT };
/* Liquidation and bankruptcy prices as a fraction of entry (isolated margin,
 * maintenance margin rate mmr; BitMEX/Binance conventions). */
double mkt_liq_frac(int kind, double lev, double mmr);
double mkt_bankrupt_frac(int kind, double lev);
/* Shortfall D = max(0, q (p_bk - p_exec)) for a long (mirror for shorts). */
double mkt_deficit(int kind, double qty, double p_bk, double p_exec);

/* Square-root law (Torre 1997; Bouchaud et al. 2018): Y sigma_D sqrt(Q/V_D). */
double mkt_sqrt_impact(double Y, double sigma_d, double q_over_v);
/* Exact OU step factors (Uhlenbeck & Ornstein 1930): mean factor e^{-g d},
 * variance theta^2 (1 - e^{-2 g d}) / (2 g). */
double mkt_ou_mean_factor(double gamma, double d);
double mkt_ou_var(double gamma, double d, double theta);
/* Cascade fixed point x = x0 / (1 - kappa*l): the amplification (inf when
 * kappa*l >= 1: runaway until the ladder thins). */
double mkt_cascade_amp(double kappa_l);
/* Brunnermeier-Pedersen (2009) one-asset margin spiral:
 * dp/p = (dp0/p - kX dm/m) / (1 - kX (L - 1)). */
double mkt_margin_spiral(double dp0_p, double kx, double dm_m, double L);
/* Funding (BitMEX/Binance): F = P + clamp(I - P, -c, c), then |F| <= cap. */
double mkt_funding_rate(double premium, double interest, double clamp_,
			double cap);
/* Hawkes (1971) stationary mean rate mu0 / (1 - n). */
double mkt_hawkes_mean_rate(double mu0, double n);
/* Student-t unit-variance scale sqrt((nu - 2) / nu). */
double mkt_t_scale(double nu);
/* He & Manela (2022) no-arbitrage perp: F/S = kappa / (kappa - (r - q)). */
double mkt_perp_fair_ratio(double kappa, double r, double q);

/* ---- Hawkes jump process (also stepped alone by tests) ------------------ */

struct mkt_hawkes {
	double mu0, beta, alpha; /* per second; n = alpha / beta */
	double excite;           /* sum alpha e^{-beta (t - t_i)} */
	int64_t events;
};
/* Advance dt seconds; returns the number of events this step (Poisson with
 * the intensity at the start of the step, drawn at (r, slot)). */
int mkt_hawkes__step(struct mkt_hawkes *h, const struct mkt_rng *r,
		     unsigned slot, double dt);

/* ---- options book -------------------------------------------------------- */

struct mkt_book;
struct mkt_book_out {
	double delta;  /* dealers' option delta, units */
	double gamma;  /* G = sum n m Gamma, units per $ */
	double gex;    /* G S^2 0.01, $ per 1 % */
	double unit_delta, unit_gamma; /* per contract-unit (continuous limits) */
	double flip;   /* spot level where GEX crosses 0 (NAN if none nearby) */
};
/* NULL on ENOMEM. Copies the lines of p. */
struct mkt_book *mkt_book__new(const struct mkt_params *p);
void mkt_book__free(struct mkt_book *b);
/* Greeks at spot S, time t_s (seconds since 0), ATM implied vol iv and skew
 * slope; tau floored at min_tau_s (gamma cap). */
void mkt_book__step(const struct mkt_book *b, double S, double t_s, double iv,
		    double skew, struct mkt_book_out *out);
/* GEX at a hypothetical spot (flip search). */
double mkt_book__gex_at(const struct mkt_book *b, double S, double t_s,
			double iv, double skew);

/* ---- liquidation ladder ---------------------------------------------------- */

struct mkt_pos {
	double liq, bk;   /* liquidation and bankruptcy prices, USD */
	double qty;       /* underlying units (inverse: USD contracts / entry) */
	double entry;
	float lev;
	uint8_t kind;     /* enum mkt_pos_kind */
	uint8_t state;    /* 0 open, 1 queued, 2 closed */
};

struct mkt_ladder_fill {
	double notional_usd;  /* executed at market this call */
	double units;
	double fund_delta;    /* surplus (+) or deficit (-) for the fund */
	double deficit;
	double adl_usd;       /* closed by ADL at bankruptcy (no market flow) */
	double adl_units;
	double signed_units;  /* market flow in units: - sells (longs), + buys */
	double adl_counter_units; /* winners deleveraged against them */
};

enum { MKT_ADL_NONE = 0, MKT_ADL_NOW = 1, MKT_ADL_WAVES = 2 };

struct mkt_ladder;
struct mkt_ladder *mkt_ladder__new(const struct mkt_params *p,
				   const struct mkt_rng *r, double S0);
void mkt_ladder__free(struct mkt_ladder *l);
/* Move every position whose liquidation price `mark` crossed into the queue
 * (O(breached): the sides are sorted by liquidation price). Returns the
 * newly queued notional at `mark`. */
double mkt_ladder__trigger(struct mkt_ladder *l, double mark);
/* Execute up to `budget_usd` of the queue (FIFO) at execution prices
 * p_sell (for longs' sells) and p_buy. With the fund empty (adl != NONE) a
 * position whose fill would be below bankruptcy is closed by ADL at once
 * (MKT_ADL_NOW) or set aside for the next wave (MKT_ADL_WAVES). */
void mkt_ladder__execute(struct mkt_ladder *l, double budget_usd, double p_sell,
			 double p_buy, int adl, struct mkt_ladder_fill *f);
/* One ADL wave: the waiting bankrupt positions are closed at bankruptcy
 * against the opposite side's winners, ranked by PnL % x leverage, up to
 * `frac` of the winners' size. Returns the units closed. */
double mkt_ladder__adl_wave(struct mkt_ladder *l, double mark, double frac,
			    struct mkt_ladder_fill *f);
bool mkt_ladder__adl_pending(const struct mkt_ladder *l);
double mkt_ladder__queue_usd(const struct mkt_ladder *l, double S);
double mkt_ladder__oi_units(const struct mkt_ladder *l, double *long_units,
			    double *short_units);
/* Funding: every open ladder account pays rate * qty * mark (longs pay when
 * rate > 0). Returns the ladder's net payment. */
double mkt_ladder__funding(const struct mkt_ladder *l, double rate, double mark);
/* Test access. */
int mkt_ladder__n(const struct mkt_ladder *l);
int mkt_ladder__nlong(const struct mkt_ladder *l);
/* Queue position i now (an account closed as a whole: cross margin); no-op
 * unless it is open. Returns its notional at price px. */
double mkt_ladder__force(struct mkt_ladder *l, int i, double px);
/* Queue entries so far (every queued position appears once, in order). */
int mkt_ladder__queued_n(const struct mkt_ladder *l);
int mkt_ladder__queued_at(const struct mkt_ladder *l, int k);
const struct mkt_pos *mkt_ladder__pos(const struct mkt_ladder *l, int i);
/* Positions the entry sampler dropped (ENTRY_TRIES without a surviving
 * draw: qty 0, never triggered). */
int mkt_ladder__dropped(const struct mkt_ladder *l);

#endif /* FL_MKT_INTERNAL_H */
