/*
 * market.h — the market-shock model: one shared state stepped in small
 * increments, exporting the signals that scenario rules bind to.
 *
 * Pure C: no I/O (except mkt_write_series, which writes to a caller's FILE),
 * no wall clock, no global state. Time is the integer tick count times
 * params.dt_ns; randomness comes from per-component streams fanned out of one
 * seed (SplitMix64), so the same params and seed give the same bytes, and
 * adding a component does not shift another's draws.
 *
 * Channels (formulas and sources in the .c files, spec in shared/MARKET.md):
 * price engine (GBM, Student-t, Hawkes jumps, bridge, OU recovery, scheduled
 * shocks), options book and dealer hedging, implied vol with skew, liquidity
 * and impact, a sorted liquidation ladder with queue, insurance fund and ADL,
 * perpetual funding, mark price, basis and arbitrageurs, per-venue status.
 *
 * Ownership: functions returning `struct mkt_params *` / `struct mkt_model *`
 * transfer ownership; free with mkt_params__free() / mkt_model__free(), which
 * accept NULL. A model keeps no pointer into its params after __new.
 */
#ifndef FL_MARKET_H
#define FL_MARKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct fl_jctx;
struct cJSON; /* the loader's only contact with cJSON: model code never sees it */

/* The signals a scenario rule may bind to: X(id, "name", "unit / meaning"). */
#define MKT_SIGNALS(X)                                                         \
	X(SPOT, "spot", "index price, USD")                                    \
	X(PERP, "perp", "perpetual last price, USD")                           \
	X(MARK, "mark", "mark price, USD (liquidations trigger on it)")        \
	X(BASIS_BPS, "basis_bps", "(perp - spot) / spot, bp")                  \
	X(FUNDING_8H, "funding_8h", "funding rate of the current interval (8 h unless shortened), fraction") \
	X(REALIZED_VOL, "realized_vol", "annualised, fraction")                \
	X(IMPLIED_VOL, "implied_vol", "ATM implied vol, annualised")           \
	X(SPREAD_BPS, "spread_bps", "quoted spread, bp")                       \
	X(DEPTH_USD, "depth_usd", "visible depth near the touch, USD")         \
	X(MM_PARTICIPATION, "mm_participation", "market-maker participation 0..1") \
	X(GEX_USD, "gex_usd", "dealer gamma exposure, USD per 1 % move")       \
	X(HEDGE_FLOW_USD, "hedge_flow_usd", "dealer hedge flow this tick, USD") \
	X(LIQUIDATIONS_USD, "liquidations_usd", "liquidated notional this tick") \
	X(LIQUIDATIONS_USD_PER_S, "liquidations_usd_per_s", "liquidation rate, USD/s") \
	X(LIQUIDATIONS_USD_PER_S_5M, "liquidations_usd_per_s_5m", "liquidation rate, USD/s, EWMA over 5 min (a cascade as a whole)") \
	X(LIQ_QUEUE_USD, "liq_queue_usd", "forced orders waiting, USD")        \
	X(INSURANCE_FUND_USD, "insurance_fund_usd", "insurance fund, USD")     \
	X(OPEN_INTEREST_USD, "open_interest_usd", "open interest, USD")        \
	X(DRAWDOWN, "drawdown", "1 - spot / running max, fraction")            \
	X(STRESS, "stress", "composite stress index 0..1 (see model.c)")       \
	X(VENUE_STATUS, "venue_status", "worst venue: 0 up, 1 slow, 2 stale, 3 down") \
	X(ADL_USD, "adl_usd", "auto-deleveraged notional, cumulative USD")     \
	X(BID_DEPTH_USD, "bid_depth_usd", "bid-side depth, USD")               \
	X(FLIP_DISTANCE, "flip_distance", "(gamma flip level - spot) / spot")

enum mkt_signal {
#define MKT__SIG_ENUM(id, name, doc) MKT_SIG_##id,
	MKT_SIGNALS(MKT__SIG_ENUM)
#undef MKT__SIG_ENUM
	MKT_SIG__COUNT
};

/* Index of a signal by name, or -1. */
int mkt_signal_by_name(const char *name);
/* Name of a signal id ("?" when out of range). */
const char *mkt_signal_name(int id);

/* ---- parameters ------------------------------------------------------- */

#define MKT_MAX_SHOCKS 64
#define MKT_MAX_VENUES 8
#define MKT_NAME_MAX 32

enum mkt_opt_type { MKT_CALL = 0, MKT_PUT = 1 };

/* One line of the options book: the DEALERS' net position at one strike and
 * expiry (not the naive "calls +, puts -" rule). */
struct mkt_option {
	double strike;     /* USD, > 0 */
	double expiry_s;   /* time to expiry at t = 0, seconds, > 0 */
	int type;          /* enum mkt_opt_type */
	double dealer;     /* dealers' net contracts: + long, - short */
	double multiplier; /* underlying units per contract, > 0 */
};

enum mkt_shock_kind {
	MKT_SHOCK_JUMP,    /* fundamental x *= (1+size), spread over dur if dur>0 */
	MKT_SHOCK_FLOW,    /* exogenous flow of `size` USD (signed) over dur into `leg` */
	MKT_SHOCK_BRIDGE,  /* pin spot to spot(at)*size at at+dur (log bridge) */
	MKT_SHOCK_RECOVER, /* OU toward trough + size*(peak - trough), half_life_s */
	MKT_SHOCK_MM,      /* market makers withdraw: M *= (1 - size) */
	MKT_SHOCK_VENUE,   /* venue `venue` has `status` during [at, at+dur) */
	/* envelopes: multiplier 1 -> size over ramp, held for dur, then back to 1
	 * with half_life_s (0: stays) */
	MKT_SHOCK_VOL,        /* diffusion sigma */
	MKT_SHOCK_IV,         /* implied vol */
	MKT_SHOCK_DEPTH,      /* depth */
	MKT_SHOCK_SPREAD,     /* spread */
	MKT_SHOCK_HAWKES,     /* jump branching ratio (capped below 1) */
	MKT_SHOCK_THROUGHPUT, /* liquidation-engine throughput */
	MKT_SHOCK__COUNT
};

struct mkt_shock {
	int kind;           /* enum mkt_shock_kind */
	int64_t at_ns;      /* scenario time it starts */
	int64_t dur_ns;     /* window (flow, bridge, recover, venue) / hold (envelopes) */
	int64_t ramp_ns;    /* envelopes and jumps: time to reach full size */
	double size;        /* see the kinds above */
	double half_life_s; /* recover: OU half-life; envelopes: decay after hold */
	int leg;            /* flow: 0 spot, 1 perp */
	int venue;          /* venue index */
	int status;         /* enum mkt_venue_status */
};

enum mkt_venue_status {
	MKT_VENUE_UP = 0,
	MKT_VENUE_SLOW = 1,  /* prices lag by slow_lag_s */
	MKT_VENUE_STALE = 2, /* prices frozen but still in the index */
	MKT_VENUE_DOWN = 3,  /* out of the index; perp venue: engine stops */
};

struct mkt_venue {
	char name[MKT_NAME_MAX];
	double weight;     /* index weight, >= 0 (the weights cannot all be 0) */
	bool perp;         /* hosts the perpetual and its liquidation engine */
	double slow_lag_s; /* price lag when slow */
};

enum mkt_dealer_mode {
	MKT_DEALER_DISCRETE = 0, /* explicit hedge trades through impact */
	MKT_DEALER_FREY = 1,     /* continuous limit, Frey (2000) */
	MKT_DEALER_SIRCAR = 2,   /* continuous limit, Sircar-Papanicolaou (1998) */
};

/* Everything the model needs; mkt_params__new() fills documented defaults
 * (see params.c), mkt_params__from_json() overrides them. Units: rates and
 * vols annualised (365-day year), money in USD, time in ns or s as named. */
struct mkt_params {
	int64_t dt_ns, duration_ns;
	bool feedback; /* false: no impact of any flow on prices (pure GBM + shocks) */
	/* price engine */
	double spot0, mu, sigma, nu;     /* nu = 0: Gaussian shocks */
	double jump_rate_per_s;          /* Hawkes baseline mu0 */
	double jump_decay_s;             /* 1 / beta */
	double jump_branching;           /* n = alpha / beta, < 1 */
	double jump_mean, jump_sd;       /* log jump size */
	/* rates */
	double r, q;
	/* implied vol */
	double iv0;            /* ATM implied vol at rest; 0 = sigma */
	double iv_rv_beta;     /* elasticity of IV to realized/base vol */
	double rv_half_life_s; /* realized-vol EWMA half-life */
	double skew;           /* dIV / d ln(K/S) at rest (negative: put skew) */
	double skew_stress;    /* skew steepens by (1 + skew_stress * stress) */
	/* options book (owned by the params) */
	int noptions, options_cap;
	struct mkt_option *options;
	/* dealers */
	int dealer_mode;       /* enum mkt_dealer_mode */
	double rho;            /* continuous-limit elasticity (frey/sircar) */
	double hedge_band_usd; /* re-hedge when |delta drift| * S exceeds it */
	int hedge_every_ticks; /* ... or every k ticks (0: band only) */
	double min_tau_s;      /* gamma cap: tau floor */
	double hedge_max_depth_frac; /* cap a step's hedge at this * depth */
	int hedge_leg;         /* 0 spot, 1 perp */
	/* liquidity and impact */
	double depth_usd, spread_bps; /* D0, s0 at sigma0 and M = 1 */
	double a_s, a_d;
	double mm_half_life_s, mm_vol_sens, mm_liq_sens, mm_noise;
	double mm_gap_sens;    /* participation *= e^{-sens * gap%} for moves past 6 sd */
	double bid_skew;       /* bid side thinned by up to this in a sell-off */
	double depth_band;     /* depth is counted within this fraction of mid */
	double impact_y, daily_volume_usd;
	double impact_permanent;          /* permanent impact gamma: gamma sigma_D q/V_D */
	double impact_half_life_s;        /* book resilience: flow memory half-life */
	double impact_keep;               /* share of a one-way episode's peak gap that
					     stays once the book has refilled (fair
					     pricing: Farmer et al. 2013, 2/3) */
	double impact_episode_s;          /* half-life of the episode memory (0: none) */
	bool kept_volume_law;             /* the kept gap is at most the square-root
					     law in daily volume, Y sigma_D sqrt(|Q|/V_D)
					     (false: the refilled visible book alone) */
	bool law_excess_transient;        /* with kept_volume_law: the kept share beyond
					     the law refills with the book (transient)
					     instead of being cut from the sale's peak */
	double perp_depth_ratio;          /* perp book depth / spot book depth */
	double perp_volume_ratio;         /* perp daily volume / spot daily volume */
	/* market makers: withdrawal from vol, inventory and one-way flow */
	double mm_withdraw_s;             /* half-life of withdrawing (returning: mm_half_life_s) */
	double mm_inv_sens, mm_flow_sens; /* weights of inventory and one-way flow */
	double mm_capital_usd;            /* inventory that makes them pull hard */
	double mm_unwind_s;               /* half-life of laying inventory off */
	double spread_mm_exp;             /* spread ~ 1 / M^spread_mm_exp */
	/* value buyers (slow-moving capital) */
	double value_capital_usd, value_discount, value_deploy_s, value_anchor_s;
	/* ladder */
	int ladder_n;
	double oi_usd, long_frac, inverse_frac, mmr;
	double lev_lo, lev_hi, lev_core_lo, lev_core_hi, lev_core_mass;
	double entry_window_s, entry_sigma; /* entries from a recent path */
	double entry_trend;    /* total log change of that path over the window */
	/* the window's actual extremes (0: none): the lowest price, as a
	 * fraction of spot0, entry_low_age_s before t = 0, and the highest
	 * (above 1). A long older than the low whose liquidation price is at or
	 * above it was closed by the path every position shared (a short, the
	 * high) */
	double entry_low_frac, entry_low_age_s, entry_high_frac, entry_high_age_s;
	double size_sd;
	double throughput;     /* engine: fraction of the perp bid depth per second */
	int max_rounds;
	double insurance_usd;
	double adl_interval_s; /* ADL runs in waves this far apart */
	double adl_wave_frac;  /* a wave closes up to this share of the ranked
				  counterparties' profitable notional */
	/* perpetual */
	double fund_interest, fund_clamp, fund_cap;
	double fund_interval_s, fund_stress_interval_s;
	double basis0_bps, kappa;
	double arb_capital_usd, arb_half_life_s, arb_unwind_half_life_s;
	double basis_ma_s, impact_notional_usd;
	double mark_band;      /* mark within index (1 +- band) (venue price bands) */
	/* alts: an optional second, correlated asset class (positions 0: none)
	 * whose accounts are cross-margined with main-asset accounts (alts.c) */
	struct mkt_alts_params {
		int positions;
		double beta;          /* alt log move per main log move */
		double sigma;         /* idiosyncratic vol, annualised */
		double oi_usd, depth_usd, long_frac, mmr, throughput;
		double lev_lo, lev_hi, lev_core_lo, lev_core_hi, lev_core_mass;
		double cross_frac;    /* share of alt accounts holding a main position too */
	} alts;
	/* mechanisms, each switchable for ablation (all true by default) */
	struct mkt_switches {
		bool ladder;       /* leveraged positions and their liquidation */
		bool dealers;      /* dealer delta hedging (their gamma) */
		bool withdrawal;   /* liquidity responds to vol, inventory, flow */
		bool resilience;   /* transient impact decays (else it all stays) */
		bool adl_waves;    /* ADL in waves with ranking (else all at once) */
		bool value;        /* value buyers */
		bool arbitrage;    /* basis arbitrage */
	} on;
	/* venues and shocks */
	int nvenues;
	struct mkt_venue venues[MKT_MAX_VENUES];
	int nshocks;
	struct mkt_shock shocks[MKT_MAX_SHOCKS];
};

/* Defaults (see params.c); NULL on ENOMEM. */
struct mkt_params *mkt_params__new(void);
void mkt_params__free(struct mkt_params *p); /* accepts NULL */
/* Deep copy; NULL on ENOMEM. */
struct mkt_params *mkt_params__dup(const struct mkt_params *p);
/* Append an option line; 0 or -ENOMEM. */
int mkt_params__add_option(struct mkt_params *p, const struct mkt_option *o);
/* Semantic checks (also run by from_json): 0 or -EINVAL, with a message in
 * `why` (may be NULL). Rejects rho past the Frey/Sircar pole and a discrete
 * dealer book whose hedge feedback 1 + lambda*G would not be positive. */
int mkt_params__check(const struct mkt_params *p, char *why, size_t whylen);

/* Fill `out` from the scenario's "market" object whose JSON path is `path`
 * (e.g. "market"). Starts from out's current values (call on a fresh
 * mkt_params__new()). Returns 0 or -EINVAL; every error is reported with
 * fl_jerr(c, jsonpath, "expected ...") naming the JSON path, e.g.
 * "market.book[2].strike: expected a positive number". Unknown keys are
 * errors. -ENOMEM if a book line cannot be stored. */
int mkt_params__from_json(struct fl_jctx *c, const struct cJSON *market,
			  const char *path, struct mkt_params *out);

int64_t mkt_params__dt_ns(const struct mkt_params *p);       /* default 100 ms */
int64_t mkt_params__duration_ns(const struct mkt_params *p);

/* ---- model -------------------------------------------------------------- */

struct mkt_model;

/* NULL on ENOMEM or invalid params (mkt_params__check). */
struct mkt_model *mkt_model__new(const struct mkt_params *p, uint64_t seed);
void mkt_model__free(struct mkt_model *m); /* accepts NULL */
void mkt_model__step(struct mkt_model *m);  /* advance one dt */
int64_t mkt_model__time_ns(const struct mkt_model *m);
void mkt_model__signals(const struct mkt_model *m, double out[MKT_SIG__COUNT]);
/* Per-venue status (enum mkt_venue_status); MKT_VENUE_DOWN if out of range. */
int mkt_model__venue_status(const struct mkt_model *m, int venue);
int mkt_model__nvenues(const struct mkt_model *m);
const char *mkt_venue_status_name(int status);

/* Cumulative statistics of a run (tests, calibration, reports). */
struct mkt_stats {
	double max_drawdown;      /* peak-to-trough of spot */
	double min_spot, max_spot;
	double liq_long_usd, liq_short_usd; /* executed + ADL'd notional */
	double liq_max_hour_usd;  /* largest liquidated notional in a 1 h window */
	double liq_max_hour_units;/* same in underlying units */
	double deficit_usd;       /* shortfalls charged to the fund */
	double adl_usd;
	double funding_paid_ladder_usd; /* sum of payments by ladder accounts */
	double funding_paid_rest_usd;   /* by the rest (arbs, market makers) */
	double max_spread_bps, spread0_bps;
	double min_depth_usd, depth0_usd;
	double min_funding, max_funding;
	double min_basis_ann, max_basis_ann; /* basis annualised (fraction) */
	double hedge_abs_usd;     /* sum of |hedge flow| */
	/* outcome metrics (what calibrations compare; see mkt_model__stats) */
	double liq_total_usd;     /* long + short */
	double liq_peak_s_usd;    /* largest 1 s window */
	double liq_peak_min_usd;  /* largest calendar minute */
	double cascade_s;         /* span around the peak minute of minutes
				     holding >= 10 % of it */
	double depth_decline;     /* 1 - min(1 min mean depth) / depth0 */
	double spread_ratio;      /* max(1 min mean spread) / spread0 */
	double retrace;           /* (end - trough) / (peak - trough) of the
				     largest drawdown */
	double end_spot, dd_peak, dd_trough;
	double oi0_usd;
	int64_t liquidated_positions;
	int64_t ticks;
	/* alts (0 when the scenario has none) */
	double alt_liq_usd;       /* alt positions liquidated, USD */
	double alt_max_drawdown;  /* of the alt index */
	double alt_cross_main_usd;/* main positions closed with their account
				     when its alt leg was liquidated, USD */
	double alt_cross_alt_usd; /* alt legs closed with a liquidated main account */
};
void mkt_model__stats(const struct mkt_model *m, struct mkt_stats *out);

/* ---- series ------------------------------------------------------------- */

#ifndef FL_VERSION
#define FL_VERSION "dev"
#endif

enum mkt_format { MKT_FMT_CSV, MKT_FMT_JSONL };

/* Run the model from 0 to duration as fast as it can and print one row per
 * every_ns of scenario time (t = 0 included): CSV with a header row, or JSONL
 * rows {"t_ms":..,"spot":..,...} after a first record with seed, params
 * summary and code version. Numbers are printed with "%.17g", so the same
 * params and seed give byte-identical output. Returns 0, -EINVAL (bad args),
 * -ENOMEM, or -EIO when writing fails. */
int mkt_write_series(const struct mkt_params *p, uint64_t seed,
		     enum mkt_format fmt, int64_t every_ns, FILE *out);

/* Run to the end and fill the statistics (0, -EINVAL, -ENOMEM). */
int mkt_run_stats(const struct mkt_params *p, uint64_t seed, struct mkt_stats *out);
/* Outcome metrics of seeds seed .. seed+nseeds-1 (median, min, max and the
 * spread of seeds) as a text table (faultline model --stats). */
int mkt_write_stats(const struct mkt_params *p, uint64_t seed, int nseeds, FILE *out);

#endif /* FL_MARKET_H */
