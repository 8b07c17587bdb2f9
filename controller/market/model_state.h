/*
 * model_state.h — the model's state, shared by model.c (price engine and
 * step order), impact.c (the order books' price impact) and channels.c
 * (venues, liquidations, funding, liquidity, vol and greeks, accounting),
 * and readable by unit tests. Not public. Calls go one way:
 * model.c -> channels.c -> impact.c (and model.c -> impact.c).
 */
#ifndef FL_MKT_MODEL_STATE_H
#define FL_MKT_MODEL_STATE_H

#include "market/mkt_internal.h"

enum { MKT_ENV_VOL, MKT_ENV_IV, MKT_ENV_DEPTH, MKT_ENV_SPREAD, MKT_ENV_HAWKES,
       MKT_ENV_THROUGHPUT, MKT_ENV__COUNT };

#define MKT_FLIP_EVERY 3000 /* ticks between gamma-flip scans */
#define MKT_BOOK_EVERY 10   /* ticks between full greek evaluations */

struct mkt_shock_state {
	bool active;
	double target; /* bridge X_T / recovery mean (log) */
};

struct mkt_model {
	struct mkt_params *p; /* own copy */
	int64_t tick;
	struct mkt_rng rng[MKT_ST__COUNT];
	/* prices: logs of the spot (true, up venues) and perp legs */
	double x, y, qm[2], jdecay, peak_x, y_pending; /* qm: flow memory, USD */
	double qe[2], edecay, kbid, kask; /* kbid/kask: the book the kept gap sits in */ /* episode memory (the metaorder's cumulative flow), USD */
	double tr[2];       /* transient log displacement now applied per leg */
	double flow_tick;   /* net flow of everyone but the market makers this
			       tick, USD (+ buys): the MMs hold its opposite */
	double env[MKT_ENV__COUNT];
	int vstatus[MKT_MAX_VENUES], perp_venue;
	double vprice[MKT_MAX_VENUES], vslow[MKT_MAX_VENUES];
	double index, index_prev, mark;
	struct mkt_shock_state sh[MKT_MAX_SHOCKS];
	struct mkt_hawkes hawkes;
	/* basis and arbitrage */
	double basis_fair, basis_ma, basis_ma_a;
	double arb_pos, arb_frac, arb_unwind;
	/* liquidity */
	double mm, mm_decay, depth, bid_depth, ask_depth, spread_bps;
	double mm_wd_decay, mm_inv, mm_inv_a, flow_ewma, flow_a, mm_cap;
	/* value buyers */
	double vb_left, vb_frac, anchor_x, anchor_a;
	double rv, rv_var, rv_a, ret_ewma, ret_b, sellp;
	double rv_liq, rv_liq_var; /* winsorized: drives liquidity and IV */
	/* options and dealers */
	struct mkt_book *book;
	int book_lines;
	struct mkt_book_out greeks, greeks_full;
	double book_S, hedge, hedge_usd, iv, skew_now, flip;
	int64_t book_tick;
	/* ladder, engine, fund */
	struct mkt_ladder *lad;
	double fund, liq_tick_usd, liq_1s, min_mark, max_mark;
	double liq_5m; /* EWMA of the liquidation rate, 5 min time constant */
	double *liq_ring;
	int liq_ring_n, liq_ring_i;
	double min_acc_usd, min_acc_units, hour_usd[60], hour_units[60];
	int min_i;
	int64_t min_ticks;
	double liq_long_units, liq_short_units, liq_units_total;
	int64_t next_adl_ns;
	/* outcome statistics */
	double depth_ew, spread_ew, ew_a, min_depth_ew, max_spread_ew;
	double *minutes; /* liquidated notional per calendar minute */
	int nminutes, minute_n;
	/* funding */
	double prem_acc, prem_time, f_cur, interval_s;
	int64_t next_fund_ns;
	double stress;
	struct mkt_stats st;
	struct mkt_alts *alts; /* NULL unless the scenario has alts (alts.c) */
};

/* impact.c: impact of flow q (USD, + buys) on leg 0 (spot) / 1 (perp) */
double mkt_model__impact(const struct mkt_model *m, int leg, double q_usd);
double mkt_model__flow(struct mkt_model *m, int leg, double q_usd);
double mkt_model__invert_impact(const struct mkt_model *m, int leg, double dlog);
void mkt_model__resilience(struct mkt_model *m);
/* channels.c */
void mkt_model__perp_move(struct mkt_model *m, double df);
void mkt_model__venues(struct mkt_model *m);
void mkt_model__liquidate(struct mkt_model *m);
void mkt_model__funding(struct mkt_model *m);
void mkt_model__liquidity(struct mkt_model *m);
void mkt_model__vol_book(struct mkt_model *m);
void mkt_model__account(struct mkt_model *m);
double mkt_model__mark(const struct mkt_model *m);
/* alts.c: the second asset class (NULL / no-ops when absent) */
struct mkt_alts *mkt_alts__new(struct mkt_model *m, int *err);
void mkt_alts__free(struct mkt_alts *a);
void mkt_alts__step(struct mkt_model *m, double dx);

#endif /* FL_MKT_MODEL_STATE_H */
