/*
 * market_json.c — the scenario's "market" object into struct mkt_params.
 *
 * cJSON stays here: every value is read with the strict, path-aware getters
 * of jsonutil.h, converted to the typed struct and range-checked; unknown
 * keys are errors. Most groups are plain tables of numeric fields (key,
 * offset, range, unit scale), so adding a parameter is one line. Errors name
 * the JSON path: "market.book[2].strike: expected a positive number".
 *
 * Grammar (every key optional; defaults in params.c):
 *   market: dt_ms duration_s duration_h feedback price jumps rates vol book
 *           book_grid dealers liquidity ladder perp venues shocks value
 *           mechanisms (switches for ablation: ladder dealers withdrawal
 *           resilience adl_waves value arbitrage, all true by default)
 *   shocks[i]: kind at_s dur_s ramp_s half_life_s + the kind's size key
 *           (jump: return, flow: usd + leg, bridge: target, recover: fraction,
 *           mm: withdraw, venue: venue + status, envelopes: factor)
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "jsonutil.h"
#include "market/mkt_internal.h"
#include "schema.h"

enum fkind { F_DBL, F_INT, F_BOOL };

struct field {
	const char *key;
	size_t off;
	enum fkind kind;
	double lo, hi;
	double scale; /* JSON unit -> struct unit */
};

#define P(f) offsetof(struct mkt_params, f)
#define BIG 1e300

static const struct field f_price[] = {
	{ "spot", P(spot0), F_DBL, DBL_MIN, BIG, 1 },
	{ "mu", P(mu), F_DBL, -10, 10, 1 },
	{ "sigma", P(sigma), F_DBL, 0, 10, 1 },
	{ "nu", P(nu), F_DBL, 0, 1e6, 1 },
	{ 0 } };
static const struct field f_jumps[] = {
	{ "rate_per_h", P(jump_rate_per_s), F_DBL, 0, 1e6, 1.0 / 3600 },
	{ "decay_s", P(jump_decay_s), F_DBL, DBL_MIN, BIG, 1 },
	{ "branching", P(jump_branching), F_DBL, 0, 0.99, 1 },
	{ "mean", P(jump_mean), F_DBL, -1, 1, 1 },
	{ "sd", P(jump_sd), F_DBL, 0, 1, 1 },
	{ 0 } };
static const struct field f_rates[] = {
	{ "r", P(r), F_DBL, -1, 1, 1 },
	{ "q", P(q), F_DBL, -1, 1, 1 },
	{ 0 } };
static const struct field f_vol[] = {
	{ "iv", P(iv0), F_DBL, 0, 10, 1 },
	{ "rv_beta", P(iv_rv_beta), F_DBL, 0, 5, 1 },
	{ "rv_half_life_s", P(rv_half_life_s), F_DBL, DBL_MIN, BIG, 1 },
	{ "skew", P(skew), F_DBL, -10, 10, 1 },
	{ "skew_stress", P(skew_stress), F_DBL, 0, 100, 1 },
	{ 0 } };
static const struct field f_dealers[] = {
	{ "rho", P(rho), F_DBL, 0, 100, 1 },
	{ "band_usd", P(hedge_band_usd), F_DBL, 0, BIG, 1 },
	{ "every_ticks", P(hedge_every_ticks), F_INT, 0, 1e9, 1 },
	{ "min_tau_h", P(min_tau_s), F_DBL, 1e-6, 1e6, 3600 },
	{ "max_depth_frac", P(hedge_max_depth_frac), F_DBL, 0, 10, 1 },
	{ 0 } };
static const struct field f_liquidity[] = {
	{ "depth_usd", P(depth_usd), F_DBL, DBL_MIN, BIG, 1 },
	{ "spread_bps", P(spread_bps), F_DBL, DBL_MIN, 1e4, 1 },
	{ "a_s", P(a_s), F_DBL, 0, 10, 1 },
	{ "a_d", P(a_d), F_DBL, 0, 10, 1 },
	{ "mm_half_life_h", P(mm_half_life_s), F_DBL, 1e-6, 1e6, 3600 },
	{ "mm_vol_sens", P(mm_vol_sens), F_DBL, 0, 100, 1 },
	{ "mm_liq_sens", P(mm_liq_sens), F_DBL, 0, 1e6, 1 },
	{ "mm_noise", P(mm_noise), F_DBL, 0, 10, 1 },
	{ "mm_gap_sens", P(mm_gap_sens), F_DBL, 0, 100, 1 },
	{ "bid_skew", P(bid_skew), F_DBL, 0, 0.95, 1 },
	{ "depth_band", P(depth_band), F_DBL, 1e-6, 1, 1 },
	{ "impact_y", P(impact_y), F_DBL, 0, 10, 1 },
	{ "daily_volume_usd", P(daily_volume_usd), F_DBL, DBL_MIN, BIG, 1 },
	{ "permanent", P(impact_permanent), F_DBL, 0, 1, 1 },
	{ "transient_half_life_s", P(impact_half_life_s), F_DBL, DBL_MIN, BIG, 1 },
	{ "impact_keep", P(impact_keep), F_DBL, 0, 1, 1 },
	{ "episode_half_life_h", P(impact_episode_s), F_DBL, 0, 1e6, 3600 },
	{ "kept_volume_law", P(kept_volume_law), F_BOOL, 0, 0, 0 },
	{ "law_excess_transient", P(law_excess_transient), F_BOOL, 0, 0, 0 },
	{ "perp_depth_ratio", P(perp_depth_ratio), F_DBL, 1e-6, 1e6, 1 },
	{ "perp_volume_ratio", P(perp_volume_ratio), F_DBL, 1e-6, 1e6, 1 },
	{ "mm_withdraw_s", P(mm_withdraw_s), F_DBL, 1e-3, 1e7, 1 },
	{ "mm_inv_sens", P(mm_inv_sens), F_DBL, 0, 1e6, 1 },
	{ "mm_flow_sens", P(mm_flow_sens), F_DBL, 0, 1e6, 1 },
	{ "mm_capital_usd", P(mm_capital_usd), F_DBL, 0, BIG, 1 },
	{ "mm_unwind_s", P(mm_unwind_s), F_DBL, 1e-3, 1e9, 1 },
	{ "spread_mm_exp", P(spread_mm_exp), F_DBL, 0, 10, 1 },
	{ 0 } };
static const struct field f_value[] = {
	{ "capital_usd", P(value_capital_usd), F_DBL, 0, BIG, 1 },
	{ "discount", P(value_discount), F_DBL, 1e-6, 0.99, 1 },
	{ "deploy_h", P(value_deploy_s), F_DBL, 1e-6, 1e6, 3600 },
	{ "anchor_h", P(value_anchor_s), F_DBL, 1e-6, 1e6, 3600 },
	{ 0 } };
#define AL(f) offsetof(struct mkt_params, alts) + offsetof(struct mkt_alts_params, f)
static const struct field f_alts[] = {
	{ "positions", AL(positions), F_INT, 0, 10000000, 1 },
	{ "beta", AL(beta), F_DBL, 0, 10, 1 },
	{ "sigma", AL(sigma), F_DBL, 0, 10, 1 },
	{ "open_interest_usd", AL(oi_usd), F_DBL, 0, BIG, 1 },
	{ "depth_usd", AL(depth_usd), F_DBL, 1, BIG, 1 },
	{ "long_frac", AL(long_frac), F_DBL, 0, 1, 1 },
	{ "mmr", AL(mmr), F_DBL, 0, 0.5, 1 },
	{ "throughput", AL(throughput), F_DBL, 1e-6, 10, 1 },
	{ "lev_lo", AL(lev_lo), F_DBL, 1, 1000, 1 },
	{ "lev_hi", AL(lev_hi), F_DBL, 1, 1000, 1 },
	{ "lev_core_lo", AL(lev_core_lo), F_DBL, 1, 1000, 1 },
	{ "lev_core_hi", AL(lev_core_hi), F_DBL, 1, 1000, 1 },
	{ "lev_core_mass", AL(lev_core_mass), F_DBL, 0, 1, 1 },
	{ "cross_frac", AL(cross_frac), F_DBL, 0, 1, 1 },
	{ 0 } };
#define SW(f) offsetof(struct mkt_params, on) + offsetof(struct mkt_switches, f)
static const struct field f_mech[] = {
	{ "ladder", SW(ladder), F_BOOL, 0, 0, 0 },
	{ "dealers", SW(dealers), F_BOOL, 0, 0, 0 },
	{ "withdrawal", SW(withdrawal), F_BOOL, 0, 0, 0 },
	{ "resilience", SW(resilience), F_BOOL, 0, 0, 0 },
	{ "adl_waves", SW(adl_waves), F_BOOL, 0, 0, 0 },
	{ "value", SW(value), F_BOOL, 0, 0, 0 },
	{ "arbitrage", SW(arbitrage), F_BOOL, 0, 0, 0 },
	{ 0 } };
static const struct field f_ladder[] = {
	{ "positions", P(ladder_n), F_INT, 0, 10000000, 1 },
	{ "open_interest_usd", P(oi_usd), F_DBL, 0, BIG, 1 },
	{ "long_frac", P(long_frac), F_DBL, 0, 1, 1 },
	{ "inverse_frac", P(inverse_frac), F_DBL, 0, 1, 1 },
	{ "mmr", P(mmr), F_DBL, 0, 0.5, 1 },
	{ "size_sd", P(size_sd), F_DBL, 0, 5, 1 },
	{ "throughput", P(throughput), F_DBL, 1e-6, 10, 1 },
	{ "max_rounds", P(max_rounds), F_INT, 1, 1000, 1 },
	{ "insurance_fund_usd", P(insurance_usd), F_DBL, 0, BIG, 1 },
	{ "adl_interval_s", P(adl_interval_s), F_DBL, 1e-3, 1e7, 1 },
	{ "adl_wave_frac", P(adl_wave_frac), F_DBL, 1e-6, 1, 1 },
	{ 0 } };
static const struct field f_leverage[] = {
	{ "lo", P(lev_lo), F_DBL, -BIG, BIG, 1 }, /* >= 1 checked with a message */
	{ "hi", P(lev_hi), F_DBL, -BIG, BIG, 1 },
	{ "core_lo", P(lev_core_lo), F_DBL, -BIG, BIG, 1 },
	{ "core_hi", P(lev_core_hi), F_DBL, -BIG, BIG, 1 },
	{ "core_mass", P(lev_core_mass), F_DBL, 0, 1, 1 },
	{ 0 } };
static const struct field f_entry[] = {
	{ "window_h", P(entry_window_s), F_DBL, 0, 1e6, 3600 },
	{ "sigma", P(entry_sigma), F_DBL, 0, 10, 1 },
	{ "trend", P(entry_trend), F_DBL, -100, 100, 1 },
	{ "low_frac", P(entry_low_frac), F_DBL, 0, 1, 1 },
	{ "low_age_h", P(entry_low_age_s), F_DBL, 0, 1e6, 3600 },
	{ "high_frac", P(entry_high_frac), F_DBL, 0, 1e6, 1 },
	{ "high_age_h", P(entry_high_age_s), F_DBL, 0, 1e6, 3600 },
	{ 0 } };
static const struct field f_perp[] = {
	{ "interest", P(fund_interest), F_DBL, -0.1, 0.1, 1 },
	{ "clamp", P(fund_clamp), F_DBL, 0, 0.1, 1 },
	{ "cap", P(fund_cap), F_DBL, 0, 0.1, 1 },
	{ "interval_h", P(fund_interval_s), F_DBL, 1e-3, 1e4, 3600 },
	{ "stress_interval_h", P(fund_stress_interval_s), F_DBL, 1e-3, 1e4, 3600 },
	{ "basis_bps", P(basis0_bps), F_DBL, -1e4, 1e4, 1 },
	{ "kappa", P(kappa), F_DBL, DBL_MIN, BIG, 1 },
	{ "arb_capital_usd", P(arb_capital_usd), F_DBL, 0, BIG, 1 },
	{ "arb_half_life_s", P(arb_half_life_s), F_DBL, DBL_MIN, BIG, 1 },
	{ "arb_unwind_h", P(arb_unwind_half_life_s), F_DBL, 1e-6, 1e6, 3600 },
	{ "basis_ma_s", P(basis_ma_s), F_DBL, DBL_MIN, BIG, 1 },
	{ "impact_notional_usd", P(impact_notional_usd), F_DBL, 0, BIG, 1 },
	{ "mark_band", P(mark_band), F_DBL, 1e-6, 1, 1 },
	{ 0 } };

/* Keys of a group: the table's plus `extra` (NULL-terminated). */
static int group_keys(const struct field *t, const char *const *extra,
		      const char **out, int cap)
{
	int n = 0;

	for (; t->key && n < cap - 1; t++)
		out[n++] = t->key;
	for (; extra && *extra && n < cap - 1; extra++)
		out[n++] = *extra;
	out[n] = NULL;
	return n;
}

static int read_field(struct fl_jctx *c, const cJSON *o, const char *path,
		      const struct field *f, struct mkt_params *p)
{
	char *dst = (char *)p + f->off;
	double d;
	bool b;

	if (f->kind == F_BOOL) {
		if (fl_json_bool(c, o, path, f->key, false, &b) == 0 && cJSON_GetObjectItemCaseSensitive(o, f->key))
			*(bool *)dst = b;
		return 0;
	}
	if (!cJSON_GetObjectItemCaseSensitive(o, f->key))
		return 0;
	if (f->kind == F_INT) {
		long long n;

		if (fl_json_int(c, o, path, f->key, true, (long long)f->lo,
				(long long)f->hi, &n))
			return -EINVAL;
		*(int *)dst = (int)n;
		return 0;
	}
	if (fl_json_num(c, o, path, f->key, true, f->lo, f->hi, &d))
		return -EINVAL;
	*(double *)dst = d * f->scale;
	return 0;
}

/* Read a group object `key` of `parent` with table `t` and extra keys. */
static const cJSON *read_group(struct fl_jctx *c, const cJSON *parent,
			       const char *ppath, const char *key,
			       const struct field *t, const char *const *extra,
			       struct mkt_params *p, struct fl_jpath *path)
{
	const char *keys[48];
	const cJSON *o = fl_json_obj(c, parent, ppath, key, false);

	if (!o)
		return NULL;
	fl_jpath_key(path, ppath, key);
	group_keys(t, extra, keys, 48);
	fl_json_only_keys(c, o, path->s, keys);
	for (; t->key; t++)
		read_field(c, o, path->s, t, p);
	return o;
}

static int read_enum(struct fl_jctx *c, const cJSON *o, const char *path,
		     const char *key, const char *const *names, int *out)
{
	char s[32] = "";
	struct fl_jpath kp;

	if (!cJSON_GetObjectItemCaseSensitive(o, key))
		return 0;
	if (fl_json_str(c, o, path, key, true, s, sizeof(s)))
		return -EINVAL;
	for (int i = 0; names[i]; i++) {
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	}
	return fl_jerr(c, fl_jpath_key(&kp, path, key), "expected one of %s%s%s%s%s; got \"%s\"",
		       names[0], names[1] ? " " : "", names[1] ? names[1] : "",
		       names[1] && names[2] ? " " : "", names[1] && names[2] ? names[2] : "", s);
}

static const char *const leg_names[] = { "spot", "perp", NULL };
static const char *const mode_names[] = { "discrete", "frey", "sircar", NULL };

static void read_dealers(struct fl_jctx *c, const cJSON *m, const char *path,
			 struct mkt_params *p)
{
	static const char *const extra[] = { "mode", "leg", NULL };
	struct fl_jpath gp;
	const cJSON *o = read_group(c, m, path, "dealers", f_dealers, extra, p, &gp);

	if (!o)
		return;
	read_enum(c, o, gp.s, "mode", mode_names, &p->dealer_mode);
	read_enum(c, o, gp.s, "leg", leg_names, &p->hedge_leg);
}

static void read_ladder(struct fl_jctx *c, const cJSON *m, const char *path,
			struct mkt_params *p)
{
	static const char *const extra[] = { "leverage", "entry", NULL };
	struct fl_jpath gp, sub, kp;
	const cJSON *o = read_group(c, m, path, "ladder", f_ladder, extra, p, &gp);

	if (!o)
		return;
	if (read_group(c, o, gp.s, "leverage", f_leverage, NULL, p, &sub)) {
		if (!(p->lev_lo >= 1))
			fl_jerr(c, fl_jpath_key(&kp, sub.s, "lo"), "expected a leverage >= 1; got %g", p->lev_lo);
		if (p->lev_hi < p->lev_lo || p->lev_core_lo < p->lev_lo ||
		    p->lev_core_hi > p->lev_hi || p->lev_core_hi < p->lev_core_lo)
			fl_jerr(c, sub.s, "expected lo <= core_lo <= core_hi <= hi");
	}
	read_group(c, o, gp.s, "entry", f_entry, NULL, p, &sub);
	if (p->mmr * p->lev_hi >= 1)
		fl_jerr(c, fl_jpath_key(&kp, gp.s, "mmr"), "expected a maintenance margin rate below 1/leverage (%g)", 1.0 / p->lev_hi);
}

static void read_option(struct fl_jctx *c, const cJSON *o, const char *path,
			struct mkt_params *p)
{
	static const char *const keys[] = { "strike", "expiry_h", "type", "dealer", "multiplier", NULL };
	static const char *const types[] = { "call", "put", NULL };
	struct mkt_option opt = { .multiplier = 1.0 };
	double h = 0;
	int bad = c->nerr;

	fl_json_only_keys(c, o, path, keys);
	fl_json_num(c, o, path, "strike", true, DBL_MIN, BIG, &opt.strike);
	fl_json_num(c, o, path, "expiry_h", true, DBL_MIN, 1e6, &h);
	fl_json_num(c, o, path, "dealer", true, -BIG, BIG, &opt.dealer);
	fl_json_num(c, o, path, "multiplier", false, DBL_MIN, BIG, &opt.multiplier);
	if (!cJSON_GetObjectItemCaseSensitive(o, "type"))
		fl_jerr(c, path, "expected a \"type\": \"call\" or \"put\"");
	read_enum(c, o, path, "type", types, &opt.type);
	opt.expiry_s = h * 3600.0;
	if (c->nerr == bad && mkt_params__add_option(p, &opt))
		fl_jerr(c, path, "out of memory");
}

static void read_book(struct fl_jctx *c, const cJSON *m, const char *path,
		      struct mkt_params *p)
{
	struct fl_jpath bp, ip;
	const cJSON *a = fl_json_arr(c, m, path, "book", false), *it;
	int i = 0;

	if (!a)
		return;
	fl_jpath_key(&bp, path, "book");
	cJSON_ArrayForEach(it, a) {
		fl_jpath_idx(&ip, bp.s, i++);
		if (!cJSON_IsObject(it))
			fl_jerr(c, ip.s, "expected an object; got %s", fl_json_type(it));
		else
			read_option(c, it, ip.s, p);
	}
}

/* "book_grid": geometric strikes, dealer positions weighted by a Gaussian in
 * log-moneyness of width `width` (the book is concentrated near the money). */
struct grid {
	double lo, hi, width, call_dealer, put_dealer, mult;
	int count;
};

static void grid_lines(struct fl_jctx *c, const char *path, const struct grid *g,
		       double exp_h, struct mkt_params *p)
{
	for (int i = 0; i < g->count; i++) {
		double K = g->lo * pow(g->hi / g->lo, g->count > 1 ? (double)i / (g->count - 1) : 0);
		double lm = log(K / p->spot0), w = exp(-lm * lm / (2 * g->width * g->width));
		struct mkt_option call = { K, exp_h * 3600, MKT_CALL, g->call_dealer * w, g->mult };
		struct mkt_option put = { K, exp_h * 3600, MKT_PUT, g->put_dealer * w, g->mult };

		if (mkt_params__add_option(p, &call) || mkt_params__add_option(p, &put)) {
			fl_jerr(c, path, "out of memory");
			return;
		}
	}
}

static void read_grid(struct fl_jctx *c, const cJSON *m, const char *path,
		      struct mkt_params *p)
{
	static const char *const keys[] = { "strike_lo", "strike_hi", "count", "expiries_h", "call_dealer", "put_dealer", "width", "multiplier", NULL };
	struct grid g = { .width = 0.1, .mult = 1 };
	struct fl_jpath gp, ep, kp;
	const cJSON *o = fl_json_obj(c, m, path, "book_grid", false), *e, *it;
	long long n = 0;
	int i = 0, bad = c->nerr;

	if (!o)
		return;
	fl_jpath_key(&gp, path, "book_grid");
	fl_json_only_keys(c, o, gp.s, keys);
	fl_json_num(c, o, gp.s, "strike_lo", true, DBL_MIN, BIG, &g.lo);
	fl_json_num(c, o, gp.s, "strike_hi", true, DBL_MIN, BIG, &g.hi);
	fl_json_int(c, o, gp.s, "count", true, 1, 100000, &n);
	fl_json_num(c, o, gp.s, "call_dealer", false, -BIG, BIG, &g.call_dealer);
	fl_json_num(c, o, gp.s, "put_dealer", false, -BIG, BIG, &g.put_dealer);
	fl_json_num(c, o, gp.s, "width", false, 1e-6, 100, &g.width);
	fl_json_num(c, o, gp.s, "multiplier", false, DBL_MIN, BIG, &g.mult);
	g.count = (int)n;
	if (c->nerr == bad && g.hi < g.lo)
		fl_jerr(c, fl_jpath_key(&kp, gp.s, "strike_hi"), "expected a number >= strike_lo");
	e = fl_json_arr(c, o, gp.s, "expiries_h", true);
	if (!e || c->nerr != bad)
		return;
	fl_jpath_key(&ep, gp.s, "expiries_h");
	cJSON_ArrayForEach(it, e) {
		fl_jpath_idx(&kp, ep.s, i++);
		if (!cJSON_IsNumber(it) || !(it->valuedouble > 0))
			fl_jerr(c, kp.s, "expected a positive number of hours");
		else
			grid_lines(c, gp.s, &g, it->valuedouble, p);
	}
}

static void read_venue(struct fl_jctx *c, const cJSON *o, const char *path,
		       struct mkt_venue *v)
{
	static const char *const keys[] = { "name", "weight", "perp", "slow_lag_s", NULL };

	fl_json_only_keys(c, o, path, keys);
	fl_json_str(c, o, path, "name", true, v->name, sizeof(v->name));
	fl_json_num(c, o, path, "weight", false, 0, BIG, &v->weight);
	fl_json_bool(c, o, path, "perp", false, &v->perp);
	fl_json_num(c, o, path, "slow_lag_s", false, 0, 1e6, &v->slow_lag_s);
}

static void read_venues(struct fl_jctx *c, const cJSON *m, const char *path,
			struct mkt_params *p)
{
	struct fl_jpath vp, ip;
	const cJSON *a = fl_json_arr(c, m, path, "venues", false), *it;
	int i = 0, nperp = 0;

	if (!a)
		return;
	fl_jpath_key(&vp, path, "venues");
	if (cJSON_GetArraySize(a) < 1 || cJSON_GetArraySize(a) > MKT_MAX_VENUES) {
		fl_jerr(c, vp.s, "expected 1 to %d venues", MKT_MAX_VENUES);
		return;
	}
	cJSON_ArrayForEach(it, a) {
		struct mkt_venue v = { .weight = 1, .slow_lag_s = 5 };

		fl_jpath_idx(&ip, vp.s, i);
		if (!cJSON_IsObject(it)) {
			fl_jerr(c, ip.s, "expected an object; got %s", fl_json_type(it));
			continue;
		}
		read_venue(c, it, ip.s, &v);
		nperp += v.perp;
		for (int j = 0; j < i; j++)
			if (!strcmp(p->venues[j].name, v.name))
				fl_jerr(c, ip.s, "expected a unique venue name; \"%s\" repeats", v.name);
		p->venues[i++] = v;
	}
	p->nvenues = i;
	if (nperp != 1)
		fl_jerr(c, vp.s, "expected exactly one venue with \"perp\": true");
}

/* Shocks: each kind has its one size key (and a default for it). */
struct kind_desc {
	const char *name, *size_key;
	double lo, hi;
};
static const struct kind_desc kinds[MKT_SHOCK__COUNT] = {
	[MKT_SHOCK_JUMP] = { "jump", "return", -0.99, 10 },
	[MKT_SHOCK_FLOW] = { "flow", "usd", -BIG, BIG },
	[MKT_SHOCK_BRIDGE] = { "bridge", "target", 1e-6, 1e6 },
	[MKT_SHOCK_RECOVER] = { "recover", "fraction", -1, 2 },
	[MKT_SHOCK_MM] = { "mm", "withdraw", 0, 1 },
	[MKT_SHOCK_VENUE] = { "venue", NULL, 0, 0 },
	[MKT_SHOCK_VOL] = { "vol", "factor", 1e-3, 100 },
	[MKT_SHOCK_IV] = { "iv", "factor", 1e-3, 100 },
	[MKT_SHOCK_DEPTH] = { "depth", "factor", 1e-4, 100 },
	[MKT_SHOCK_SPREAD] = { "spread", "factor", 1e-3, 1000 },
	[MKT_SHOCK_HAWKES] = { "hawkes", "factor", 0, 100 },
	[MKT_SHOCK_THROUGHPUT] = { "throughput", "factor", 1e-4, 100 },
};

static int shock_kind(struct fl_jctx *c, const cJSON *o, const char *path)
{
	char s[32] = "";
	struct fl_jpath kp;

	if (fl_json_str(c, o, path, "kind", true, s, sizeof(s)))
		return -1;
	for (int k = 0; k < MKT_SHOCK__COUNT; k++)
		if (!strcmp(s, kinds[k].name))
			return k;
	fl_jerr(c, fl_jpath_key(&kp, path, "kind"), "expected one of jump flow bridge recover mm venue vol iv depth spread hawkes throughput; got \"%s\"", s);
	return -1;
}

static int64_t secs_ns(double s)
{
	return (int64_t)llround(s * 1e9);
}

static void read_shock_venue(struct fl_jctx *c, const cJSON *o, const char *path,
			     const struct mkt_params *p, struct mkt_shock *s)
{
	static const char *const st[] = { "up", "slow", "stale", "down", NULL };
	char name[MKT_NAME_MAX] = "";
	struct fl_jpath kp;

	if (fl_json_str(c, o, path, "venue", true, name, sizeof(name)) == 0) {
		s->venue = -1;
		for (int i = 0; i < p->nvenues; i++)
			if (!strcmp(p->venues[i].name, name))
				s->venue = i;
		if (s->venue < 0)
			fl_jerr(c, fl_jpath_key(&kp, path, "venue"), "expected the name of a venue in market.venues; got \"%s\"", name);
	}
	s->status = MKT_VENUE_DOWN;
	read_enum(c, o, path, "status", st, &s->status);
}

static void read_shock(struct fl_jctx *c, const cJSON *o, const char *path,
		       struct mkt_params *p, struct mkt_shock *s)
{
	const char *keys[12] = { "kind", "at_s", "dur_s", "ramp_s", "half_life_s" };
	double at = 0, dur = 0, ramp = 0;
	int n = 5, k = shock_kind(c, o, path);

	if (k < 0)
		return;
	s->kind = k;
	if (kinds[k].size_key)
		keys[n++] = kinds[k].size_key;
	if (k == MKT_SHOCK_FLOW)
		keys[n++] = "leg";
	if (k == MKT_SHOCK_VENUE)
		keys[n++] = "venue", keys[n++] = "status";
	keys[n] = NULL;
	fl_json_only_keys(c, o, path, keys);
	fl_json_num(c, o, path, "at_s", true, 0, 1e9, &at);
	fl_json_num(c, o, path, "dur_s", k == MKT_SHOCK_BRIDGE || k == MKT_SHOCK_RECOVER || k == MKT_SHOCK_VENUE || k == MKT_SHOCK_FLOW, 0, 1e9, &dur);
	fl_json_num(c, o, path, "ramp_s", false, 0, 1e9, &ramp);
	fl_json_num(c, o, path, "half_life_s", k == MKT_SHOCK_RECOVER, 0, 1e9, &s->half_life_s);
	if (kinds[k].size_key)
		fl_json_num(c, o, path, kinds[k].size_key, true, kinds[k].lo, kinds[k].hi, &s->size);
	if (k == MKT_SHOCK_FLOW)
		read_enum(c, o, path, "leg", leg_names, &s->leg);
	if (k == MKT_SHOCK_VENUE)
		read_shock_venue(c, o, path, p, s);
	s->at_ns = secs_ns(at), s->dur_ns = secs_ns(dur), s->ramp_ns = secs_ns(ramp);
}

static void read_shocks(struct fl_jctx *c, const cJSON *m, const char *path,
			struct mkt_params *p)
{
	struct fl_jpath sp, ip;
	const cJSON *a = fl_json_arr(c, m, path, "shocks", false), *it;
	int i = 0;

	if (!a)
		return;
	fl_jpath_key(&sp, path, "shocks");
	if (cJSON_GetArraySize(a) > MKT_MAX_SHOCKS) {
		fl_jerr(c, sp.s, "expected at most %d shocks", MKT_MAX_SHOCKS);
		return;
	}
	cJSON_ArrayForEach(it, a) {
		struct mkt_shock s = { 0 };

		fl_jpath_idx(&ip, sp.s, i);
		if (!cJSON_IsObject(it))
			fl_jerr(c, ip.s, "expected an object; got %s", fl_json_type(it));
		else
			read_shock(c, it, ip.s, p, &s);
		p->shocks[i++] = s;
	}
	p->nshocks = i;
}

static void read_top(struct fl_jctx *c, const cJSON *m, const char *path,
		     struct mkt_params *p)
{
	double d = -1, s = -1, h = -1;
	bool b;

	if (fl_json_num(c, m, path, "dt_ms", false, 1, 60000, &d) == 0 && d > 0)
		p->dt_ns = llround(d * 1e6);
	if (fl_json_num(c, m, path, "duration_s", false, 1e-3, 1e8, &s) == 0 && s > 0)
		p->duration_ns = secs_ns(s);
	if (fl_json_num(c, m, path, "duration_h", false, 1e-6, 1e5, &h) == 0 && h > 0)
		p->duration_ns = secs_ns(h * 3600);
	if (cJSON_GetObjectItemCaseSensitive(m, "feedback") &&
	    fl_json_bool(c, m, path, "feedback", true, &b) == 0)
		p->feedback = b;
}

static void read_price(struct fl_jctx *c, const cJSON *m, const char *path,
		       struct mkt_params *p)
{
	struct fl_jpath gp, kp;

	if (read_group(c, m, path, "price", f_price, NULL, p, &gp) &&
	    p->nu != 0 && !(p->nu > 2))
		fl_jerr(c, fl_jpath_key(&kp, gp.s, "nu"), "expected 0 (Gaussian) or a number > 2; got %g", p->nu);
}

/* "sources" and "calibration": documentation the model does not read (where
 * each parameter comes from; published vs modelled figures). Nested objects
 * whose leaves are strings or numbers. */
static void check_notes(struct fl_jctx *c, const cJSON *o, const char *path)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, o) {
		struct fl_jpath kp;
		fl_jpath_key(&kp, path, it->string ? it->string : "?");
		if (cJSON_IsObject(it))
			check_notes(c, it, kp.s);
		else if (!cJSON_IsString(it) && !cJSON_IsNumber(it))
			fl_jerr(c, kp.s, "expected a string, a number or an object of them; got %s", fl_json_type(it));
	}
}

static void read_notes(struct fl_jctx *c, const cJSON *m, const char *path,
		       const char *key)
{
	const cJSON *o = fl_json_obj(c, m, path, key, false);
	struct fl_jpath kp;

	if (o)
		check_notes(c, o, fl_jpath_key(&kp, path, key));
}

int mkt_params__from_json(struct fl_jctx *c, const struct cJSON *market,
			  const char *path, struct mkt_params *p)
{
	static const char *const keys[] = { "dt_ms", "duration_s", "duration_h", "feedback", "price", "jumps", "rates", "vol", "book", "book_grid", "dealers", "liquidity", "ladder", "perp", "venues", "shocks", "value", "mechanisms", "alts", "sources", "calibration", NULL };
	struct fl_jpath gp;
	char why[256];
	int before = c->nerr;

	if (!cJSON_IsObject(market))
		return fl_jerr(c, path, "expected an object; got %s", fl_json_type(market));
	fl_json_only_keys(c, market, path, keys);
	read_top(c, market, path, p);
	read_price(c, market, path, p);
	read_group(c, market, path, "jumps", f_jumps, NULL, p, &gp);
	read_group(c, market, path, "rates", f_rates, NULL, p, &gp);
	read_group(c, market, path, "vol", f_vol, NULL, p, &gp);
	read_group(c, market, path, "liquidity", f_liquidity, NULL, p, &gp);
	read_group(c, market, path, "perp", f_perp, NULL, p, &gp);
	read_group(c, market, path, "value", f_value, NULL, p, &gp);
	read_group(c, market, path, "mechanisms", f_mech, NULL, p, &gp);
	read_group(c, market, path, "alts", f_alts, NULL, p, &gp);
	read_dealers(c, market, path, p);
	read_ladder(c, market, path, p);
	read_venues(c, market, path, p);
	read_book(c, market, path, p);
	read_grid(c, market, path, p);
	read_shocks(c, market, path, p);
	read_notes(c, market, path, "sources");
	read_notes(c, market, path, "calibration");
	if (c->nerr == before && mkt_params__check(p, why, sizeof(why)))
		fl_jerr(c, path, "expected a consistent market: %s", why);
	return c->nerr == before ? 0 : -EINVAL;
}

/* ---- schema (schema.h): the same tables as JSON Schema -------------------- */

static cJSON *field_schema(const struct field *f)
{
	if (f->kind == F_BOOL)
		return fl_sch_type("boolean");
	if (f->kind == F_INT)
		return fl_sch_int(f->lo, f->hi);
	return fl_sch_num(f->lo, f->hi);
}

/* A group object from its table; *props for the caller's extra keys. */
static cJSON *group_schema(const struct field *t, cJSON **props)
{
	cJSON *o = fl_sch_obj(props);

	for (; t->key; t++)
		cJSON_AddItemToObject(*props, t->key, field_schema(t));
	return o;
}

static void add_group(cJSON *props, const char *key, const struct field *t)
{
	cJSON *p;

	cJSON_AddItemToObject(props, key, group_schema(t, &p));
}

/* price: nu is 0 (Gaussian) or > 2, as read_price checks */
static cJSON *price_schema(void)
{
	cJSON *p, *o = group_schema(f_price, &p), *nu = cJSON_CreateObject();
	cJSON *alt = cJSON_AddArrayToObject(nu, "anyOf"), *zero = cJSON_CreateObject();
	cJSON *gt2 = fl_sch_type("number");
	const struct field *f = f_price;

	while (strcmp(f->key, "nu"))
		f++;
	cJSON_AddNumberToObject(zero, "const", 0);
	cJSON_AddNumberToObject(gt2, "exclusiveMinimum", 2);
	cJSON_AddNumberToObject(gt2, "maximum", f->hi);
	cJSON_AddItemToArray(alt, zero);
	cJSON_AddItemToArray(alt, gt2);
	cJSON_ReplaceItemInObjectCaseSensitive(p, "nu", fl_sch_doc(nu, "0 (Gaussian) or > 2"));
	return o;
}

static cJSON *option_schema(void)
{
	static const char *const types[] = { "call", "put", NULL };
	cJSON *p, *o = fl_sch_obj(&p);

	cJSON_AddItemToObject(p, "strike", fl_sch_num(DBL_MIN, BIG));
	cJSON_AddItemToObject(p, "expiry_h", fl_sch_num(DBL_MIN, 1e6));
	cJSON_AddItemToObject(p, "type", fl_sch_enum(types));
	cJSON_AddItemToObject(p, "dealer", fl_sch_num(-BIG, BIG));
	cJSON_AddItemToObject(p, "multiplier", fl_sch_num(DBL_MIN, BIG));
	fl_sch_require(o, "strike");
	fl_sch_require(o, "expiry_h");
	fl_sch_require(o, "type");
	fl_sch_require(o, "dealer");
	return o;
}

static cJSON *array_of(cJSON *items, int max)
{
	cJSON *a = fl_sch_type("array");

	cJSON_AddItemToObject(a, "items", items);
	if (max > 0)
		cJSON_AddNumberToObject(a, "maxItems", max);
	return a;
}

static cJSON *grid_schema(void)
{
	cJSON *p, *o = fl_sch_obj(&p);

	cJSON_AddItemToObject(p, "strike_lo", fl_sch_num(DBL_MIN, BIG));
	cJSON_AddItemToObject(p, "strike_hi", fl_sch_num(DBL_MIN, BIG));
	cJSON_AddItemToObject(p, "count", fl_sch_int(1, 100000));
	cJSON_AddItemToObject(p, "expiries_h", array_of(fl_sch_num(DBL_MIN, DBL_MAX), 0));
	cJSON_AddItemToObject(p, "call_dealer", fl_sch_num(-BIG, BIG));
	cJSON_AddItemToObject(p, "put_dealer", fl_sch_num(-BIG, BIG));
	cJSON_AddItemToObject(p, "width", fl_sch_num(1e-6, 100));
	cJSON_AddItemToObject(p, "multiplier", fl_sch_num(DBL_MIN, BIG));
	fl_sch_require(o, "strike_lo");
	fl_sch_require(o, "strike_hi");
	fl_sch_require(o, "count");
	fl_sch_require(o, "expiries_h");
	return o;
}

static cJSON *venues_schema(void)
{
	cJSON *p, *v = fl_sch_obj(&p), *a, *one, *pp;

	cJSON_AddItemToObject(p, "name", fl_sch_str(MKT_NAME_MAX - 1));
	cJSON_AddItemToObject(p, "weight", fl_sch_num(0, BIG));
	cJSON_AddItemToObject(p, "perp", fl_sch_type("boolean"));
	cJSON_AddItemToObject(p, "slow_lag_s", fl_sch_num(0, 1e6));
	fl_sch_require(v, "name");
	a = array_of(v, MKT_MAX_VENUES);
	cJSON_AddNumberToObject(a, "minItems", 1);
	/* exactly one venue hosts the perpetual */
	one = cJSON_AddObjectToObject(a, "contains");
	pp = cJSON_AddObjectToObject(cJSON_AddObjectToObject(one, "properties"), "perp");
	cJSON_AddTrueToObject(pp, "const");
	fl_sch_require(one, "perp");
	cJSON_AddNumberToObject(a, "minContains", 1);
	cJSON_AddNumberToObject(a, "maxContains", 1);
	return a;
}

/* One shock kind: its complete key set, the required ones and its size. */
static cJSON *shock_kind_schema(int k)
{
	static const char *const st[] = { "up", "slow", "stale", "down", NULL };
	bool dur = k == MKT_SHOCK_BRIDGE || k == MKT_SHOCK_RECOVER ||
		   k == MKT_SHOCK_VENUE || k == MKT_SHOCK_FLOW;
	cJSON *p, *o = fl_sch_obj(&p), *kind = cJSON_CreateObject();

	cJSON_AddStringToObject(kind, "const", kinds[k].name);
	cJSON_AddItemToObject(p, "kind", kind);
	cJSON_AddItemToObject(p, "at_s", fl_sch_num(0, 1e9));
	cJSON_AddItemToObject(p, "dur_s", fl_sch_num(0, 1e9));
	cJSON_AddItemToObject(p, "ramp_s", fl_sch_num(0, 1e9));
	cJSON_AddItemToObject(p, "half_life_s", fl_sch_num(0, 1e9));
	fl_sch_require(o, "kind");
	fl_sch_require(o, "at_s");
	if (dur)
		fl_sch_require(o, "dur_s");
	if (k == MKT_SHOCK_RECOVER)
		fl_sch_require(o, "half_life_s");
	if (kinds[k].size_key) {
		cJSON_AddItemToObject(p, kinds[k].size_key,
				      fl_sch_num(kinds[k].lo, kinds[k].hi));
		fl_sch_require(o, kinds[k].size_key);
	}
	if (k == MKT_SHOCK_FLOW)
		cJSON_AddItemToObject(p, "leg", fl_sch_enum(leg_names));
	if (k == MKT_SHOCK_VENUE) {
		cJSON_AddItemToObject(p, "venue", fl_sch_doc(fl_sch_str(MKT_NAME_MAX - 1),
			"the name of a venue in market.venues"));
		cJSON_AddItemToObject(p, "status", fl_sch_enum(st));
		fl_sch_require(o, "venue");
	}
	return o;
}

static cJSON *shocks_schema(void)
{
	const char *names[MKT_SHOCK__COUNT + 1];
	cJSON *s = fl_sch_type("object"), *props, *all;

	for (int k = 0; k < MKT_SHOCK__COUNT; k++)
		names[k] = kinds[k].name;
	names[MKT_SHOCK__COUNT] = NULL;
	props = cJSON_AddObjectToObject(s, "properties");
	cJSON_AddItemToObject(props, "kind", fl_sch_enum(names));
	fl_sch_require(s, "kind");
	all = cJSON_AddArrayToObject(s, "allOf");
	for (int k = 0; k < MKT_SHOCK__COUNT; k++) {
		cJSON *c = cJSON_CreateObject(), *kp;

		kp = cJSON_AddObjectToObject(cJSON_AddObjectToObject(
			cJSON_AddObjectToObject(c, "if"), "properties"), "kind");
		cJSON_AddStringToObject(kp, "const", kinds[k].name);
		cJSON_AddItemToObject(c, "then", shock_kind_schema(k));
		cJSON_AddItemToArray(all, c);
	}
	return array_of(s, MKT_MAX_SHOCKS);
}

/* "sources", "calibration": nested objects of strings and numbers. */
static cJSON *notes_schema(void)
{
	cJSON *o = fl_sch_type("object"), *any, *alt;

	any = cJSON_AddObjectToObject(o, "additionalProperties");
	alt = cJSON_AddArrayToObject(any, "anyOf");
	cJSON_AddItemToArray(alt, fl_sch_type("string"));
	cJSON_AddItemToArray(alt, fl_sch_type("number"));
	cJSON_AddItemToArray(alt, cJSON_CreateObject());
	cJSON_AddStringToObject(cJSON_GetArrayItem(alt, 2), "$ref", "#/$defs/notes");
	return fl_sch_doc(o, "documentation the model does not read: nested "
			  "objects whose leaves are strings or numbers");
}

cJSON *mkt_params__schema(void)
{
	cJSON *p, *m = fl_sch_obj(&p), *g, *gp, *lp;

	fl_sch_doc(m, "the market model (MARKET.md); every key optional, "
		   "defaults in controller/market/params.c");
	cJSON_AddItemToObject(p, "dt_ms", fl_sch_num(1, 60000));
	cJSON_AddItemToObject(p, "duration_s", fl_sch_num(1e-3, 1e8));
	cJSON_AddItemToObject(p, "duration_h", fl_sch_num(1e-6, 1e5));
	cJSON_AddItemToObject(p, "feedback", fl_sch_type("boolean"));
	cJSON_AddItemToObject(p, "price", price_schema());
	add_group(p, "jumps", f_jumps);
	add_group(p, "rates", f_rates);
	add_group(p, "vol", f_vol);
	cJSON_AddItemToObject(p, "book", array_of(option_schema(), 0));
	cJSON_AddItemToObject(p, "book_grid", grid_schema());
	g = group_schema(f_dealers, &gp);
	cJSON_AddItemToObject(gp, "mode", fl_sch_enum(mode_names));
	cJSON_AddItemToObject(gp, "leg", fl_sch_enum(leg_names));
	cJSON_AddItemToObject(p, "dealers", g);
	add_group(p, "liquidity", f_liquidity);
	g = group_schema(f_ladder, &gp);
	cJSON_AddItemToObject(gp, "leverage", group_schema(f_leverage, &lp));
	cJSON_ReplaceItemInObjectCaseSensitive(lp, "lo", fl_sch_num(1, BIG));
	cJSON_AddItemToObject(gp, "entry", group_schema(f_entry, &lp));
	cJSON_AddItemToObject(p, "ladder", g);
	add_group(p, "perp", f_perp);
	cJSON_AddItemToObject(p, "venues", venues_schema());
	cJSON_AddItemToObject(p, "shocks", shocks_schema());
	add_group(p, "value", f_value);
	add_group(p, "mechanisms", f_mech);
	add_group(p, "alts", f_alts);
	cJSON_AddItemToObject(p, "sources", notes_schema());
	cJSON_AddItemToObject(p, "calibration", notes_schema());
	return m;
}
