/*
 * market.h — the market-shock model: one shared state stepped in small
 * increments, exporting the signals that scenario rules bind to.
 *
 * Pure C: no I/O, no wall clock, no global state. Time is the integer tick
 * count times params.dt_ns; randomness comes from per-component streams
 * fanned out of one seed (SplitMix64), so the same params and seed give the
 * same bytes, and adding a component does not shift another's draws.
 *
 * Ownership: functions returning `struct mkt_model *` transfer ownership;
 * free with mkt_model__free(), which accepts NULL.
 */
#ifndef FL_MARKET_H
#define FL_MARKET_H

#include <stdint.h>
#include <stdio.h>

/* The signals a scenario rule may bind to: X(id, "name", "unit / meaning"). */
#define MKT_SIGNALS(X)                                                         \
	X(SPOT, "spot", "index price, USD")                                    \
	X(PERP, "perp", "perpetual last price, USD")                           \
	X(MARK, "mark", "mark price, USD (liquidations trigger on it)")        \
	X(BASIS_BPS, "basis_bps", "(perp - spot) / spot, bp")                  \
	X(FUNDING_8H, "funding_8h", "funding rate per 8 h, fraction")          \
	X(REALIZED_VOL, "realized_vol", "annualised, fraction")                \
	X(IMPLIED_VOL, "implied_vol", "ATM implied vol, annualised")           \
	X(SPREAD_BPS, "spread_bps", "quoted spread, bp")                       \
	X(DEPTH_USD, "depth_usd", "visible depth near the touch, USD")         \
	X(MM_PARTICIPATION, "mm_participation", "market-maker participation 0..1") \
	X(GEX_USD, "gex_usd", "dealer gamma exposure, USD per 1 % move")       \
	X(HEDGE_FLOW_USD, "hedge_flow_usd", "dealer hedge flow this tick, USD") \
	X(LIQUIDATIONS_USD, "liquidations_usd", "liquidated notional this tick") \
	X(LIQUIDATIONS_USD_PER_S, "liquidations_usd_per_s", "liquidation rate, USD/s") \
	X(LIQ_QUEUE_USD, "liq_queue_usd", "forced orders waiting, USD")        \
	X(INSURANCE_FUND_USD, "insurance_fund_usd", "insurance fund, USD")     \
	X(OPEN_INTEREST_USD, "open_interest_usd", "open interest, USD")        \
	X(DRAWDOWN, "drawdown", "1 - spot / running max, fraction")            \
	X(STRESS, "stress", "composite stress index 0..1 (see market.c)")      \
	X(VENUE_STATUS, "venue_status", "worst venue: 0 up, 1 slow, 2 stale, 3 down")

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

#endif /* FL_MARKET_H */
