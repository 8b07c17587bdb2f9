/*
 * channels.c — the model's channels after the price move: venues and index,
 * mark price, the liquidation engine, funding, liquidity, implied vol and
 * dealer greeks, accounting. Step order and the price engine are in model.c.
 */
#include <math.h>
#include <string.h>

#include "market/model_state.h"

static double dt_s(const struct mkt_model *m)
{
	return (double)m->p->dt_ns * MKT_NS;
}

static double clamp01(double v)
{
	return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* The perp follows the common move; while its venue is down its last price
 * is frozen and the move piles up, to land at once (the wrong-side gap) when
 * the venue returns. */
void mkt_model__perp_move(struct mkt_model *m, double df)
{
	if (m->vstatus[m->perp_venue] == MKT_VENUE_DOWN) {
		m->y_pending += df;
		return;
	}
	m->y += df + m->y_pending;
	m->y_pending = 0;
}

/* Venue prices (up: live; slow: lagged by an EWMA of slow_lag_s; stale:
 * frozen but still in the index; down: frozen and out of the index) and the
 * index as their weighted mean (index providers' rule, e.g. BitMEX .BXBT). */
void mkt_model__venues(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double S = exp(m->x), num = 0, den = 0;

	for (int v = 0; v < p->nvenues; v++) {
		if (m->vstatus[v] == MKT_VENUE_UP)
			m->vprice[v] = S;
		else if (m->vstatus[v] == MKT_VENUE_SLOW)
			m->vprice[v] += (S - m->vprice[v]) * m->vslow[v];
		if (m->vstatus[v] != MKT_VENUE_DOWN && p->venues[v].weight > 0) {
			num += p->venues[v].weight * m->vprice[v];
			den += p->venues[v].weight;
		}
	}
	m->index_prev = m->index;
	if (den > 0)
		m->index = num / den;
}

static double median3(double a, double b, double c)
{
	if (a > b) {
		double t = a;
		a = b, b = t;
	}
	return c < a ? a : c > b ? b : c;
}

/* Mark = median(index (1 + F t_left / interval), index + MA(basis), last)
 * (Binance USD-M mark price rule; BitMEX fair price uses the first), so it
 * follows the perp's own book through the basis MA and the last price,
 * held within the venue's price band around the index. */
double mkt_model__mark(const struct mkt_model *m)
{
	double left = (double)(m->next_fund_ns - m->tick * m->p->dt_ns) * MKT_NS;
	double a = m->index * (1.0 + m->f_cur * left / m->interval_s);
	double v = median3(a, m->index + m->basis_ma, exp(m->y));
	double lo = m->index * (1 - m->p->mark_band), hi = m->index * (1 + m->p->mark_band);

	return v < lo ? lo : v > hi ? hi : v;
}

static void note_mark(struct mkt_model *m, double mark)
{
	m->min_mark = mark < m->min_mark ? mark : m->min_mark;
	m->max_mark = mark > m->max_mark ? mark : m->max_mark;
}

static void settle_fund(struct mkt_model *m, const struct mkt_ladder_fill *f)
{
	m->fund += f->fund_delta;
	m->st.deficit_usd += f->deficit;
	m->st.adl_usd += f->adl_usd;
	if (m->fund < 0) { /* beyond the fund: socialised by ADL */
		m->st.adl_usd += -m->fund;
		m->fund = 0;
	}
}

/* One engine round: execute up to `budget` at prices that walk the book
 * (p_exec = p (1 - I/2) - half spread; MARKET.md), then move the perp by
 * the net forced flow. Returns the notional executed. */
static void count_fill(struct mkt_model *m, const struct mkt_ladder_fill *f)
{
	m->liq_tick_usd += f->notional_usd + f->adl_usd;
	m->liq_units_total += f->units + f->adl_units;
	m->liq_long_units += f->signed_units < 0 ? -f->signed_units : 0;
	m->liq_short_units += f->signed_units > 0 ? f->signed_units : 0;
	m->st.liq_long_usd += f->signed_units < 0 ? f->notional_usd : 0;
	m->st.liq_short_usd += f->signed_units > 0 ? f->notional_usd : 0;
	m->st.liq_long_usd += f->adl_usd; /* ADL'd positions are forced closes too */
}

static double engine_round(struct mkt_model *m, double budget)
{
	struct mkt_ladder_fill f = { 0 };
	double P = exp(m->y), hs = 0.5e-4 * m->spread_bps, q, I;
	double qu = mkt_ladder__queue_usd(m->lad, P);
	int adl = m->fund > 0 ? MKT_ADL_NONE
		  : m->p->on.adl_waves ? MKT_ADL_WAVES : MKT_ADL_NOW;

	q = qu < budget ? qu : budget;
	I = fabs(mkt_model__impact(m, 1, -q));
	mkt_ladder__execute(m->lad, budget, P * exp(-0.5 * I) * (1 - hs),
			    P * exp(0.5 * I) * (1 + hs), adl, &f);
	settle_fund(m, &f);
	mkt_model__flow(m, 1, f.signed_units * P);
	count_fill(m, &f);
	return f.notional_usd;
}

/* ADL in waves (every adl_interval_s while bankrupt positions wait): each
 * wave closes them at bankruptcy against the ranked winners of the other
 * side, up to adl_wave_frac of the winners' size. No market flow. */
static void adl_wave(struct mkt_model *m)
{
	struct mkt_ladder_fill f = { 0 };
	int64_t t = m->tick * m->p->dt_ns;

	if (!mkt_ladder__adl_pending(m->lad) || t < m->next_adl_ns)
		return;
	m->next_adl_ns = t + (int64_t)llround(m->p->adl_interval_s * 1e9);
	mkt_ladder__adl_wave(m->lad, m->mark, m->p->adl_wave_frac, &f);
	settle_fund(m, &f);
	count_fill(m, &f);
}

/* Liquidation engine: trigger on the mark, execute within the throughput
 * (a fraction of the perp book's bid depth per second, so the book it sells
 * into bounds the cascade's rate: as market makers withdraw, the engine
 * slows and the queue waits; nothing while the perp venue is down),
 * re-mark, repeat until no new breach or max_rounds. A last trigger at the
 * final mark keeps "every crossed position is queued or closed". */
void mkt_model__liquidate(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double budget = p->throughput * m->env[MKT_ENV_THROUGHPUT] * m->bid_depth *
			p->perp_depth_ratio * dt_s(m);
	double mark, trig;

	m->liq_tick_usd = 0;
	if (m->vstatus[m->perp_venue] == MKT_VENUE_DOWN)
		budget = 0;
	for (int r = 0; r < p->max_rounds; r++) {
		mark = mkt_model__mark(m);
		note_mark(m, mark);
		trig = mkt_ladder__trigger(m->lad, mark);
		if (r > 0 && trig == 0)
			break;
		budget -= engine_round(m, budget);
		if (budget <= 0 && r > 0)
			break;
	}
	m->mark = mkt_model__mark(m);
	note_mark(m, m->mark);
	mkt_ladder__trigger(m->lad, m->mark);
	adl_wave(m);
}

/* Premium index from the impact bid/ask against the index (BitMEX/Binance):
 * P = (max(0, impact bid - index) - max(0, index - impact ask)) / index. */
static double premium(const struct mkt_model *m)
{
	double P = exp(m->y), hs = 0.5e-4 * m->spread_bps;
	double In = fabs(mkt_model__impact(m, 1, m->p->impact_notional_usd));
	double ib = P * (1 - hs) * exp(-In), ia = P * (1 + hs) * exp(In);

	return (fmax(0.0, ib - m->index) - fmax(0.0, m->index - ia)) / m->index;
}

/* Funding accrues the premium over the interval and settles at its end:
 * every ladder account pays F q mark, the rest of the market (arbs, market
 * makers, holding the ladder's opposite) the negative of the ladder's net,
 * so payments sum to zero. At the cap the interval shortens (stress). */
void mkt_model__funding(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double scale, F, lu, su, ladder, rest;

	m->prem_acc += premium(m) * dt_s(m);
	m->prem_time += dt_s(m);
	scale = m->interval_s / (8 * 3600.0);
	m->f_cur = mkt_funding_rate(m->prem_acc / m->prem_time,
				    p->fund_interest * scale, p->fund_clamp, p->fund_cap);
	if (m->tick * p->dt_ns < m->next_fund_ns)
		return;
	F = m->f_cur;
	mkt_ladder__oi_units(m->lad, &lu, &su);
	ladder = mkt_ladder__funding(m->lad, F, m->mark);
	rest = F * -(lu - su) * m->mark;
	m->st.funding_paid_ladder_usd += ladder;
	m->st.funding_paid_rest_usd += rest;
	m->interval_s = fabs(F) >= p->fund_cap * 0.999 ? p->fund_stress_interval_s
						       : p->fund_interval_s;
	m->next_fund_ns += (int64_t)llround(m->interval_s * 1e9);
	m->prem_acc = m->prem_time = 0;
}

/* Liquidity: realized vol (EWMA of squared index returns), then market-maker
 * participation M, then depth = D0 (sigma0/sigma)^a_d M and spread =
 * s0 (sigma/sigma0)^a_s / M^e (MARKET.md; Kyle & Obizhaeva 2016 scaling),
 * the bid thinned and the spread widened in a sell-off.
 *
 * M is where the market makers' willingness to quote sets it:
 *   Mbar = 1 / (1 + w_v max(0, sigma/sigma0 - 1) + w_i |inv|/cap
 *               + w_f |one-way flow| / D0)
 * from realized vol (Nagel 2012: liquidity provision retreats with vol),
 * their inventory (Ho & Stoll 1981; Kirilenko, Kyle, Samadi & Tuzun 2017:
 * HFTs at their inventory limits in the Flash Crash stop buying) — the
 * opposite of everyone else's net flow, laid off with a half-life of
 * mm_unwind_s — and one-way flow (order-flow toxicity: Easley, Lopez de
 * Prado & O'Hara 2012; a minute's EWMA of net flow against base depth).
 * M falls toward Mbar fast (mm_withdraw_s: quotes are pulled in seconds,
 * Brogaard et al. 2018) and returns slowly (mm_half_life_s, hours): the
 * returning market makers are half of the recovery. With the withdrawal
 * switched off, M = 1 and depth and spread ignore vol. */
void mkt_model__liquidity(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double r = log(m->index / m->index_prev), dty = dt_s(m) / MKT_YEAR_S;
	double s0 = p->sigma > 0 ? p->sigma : 0.01, ratio, mbar, sd, z, w, gap;
	double xi, xf, k;

	z = mkt_normal(&m->rng[MKT_ST_LIQ], 0);
	m->rv_var = m->rv_a * m->rv_var + (1 - m->rv_a) * r * r;
	m->rv = fmax(sqrt(m->rv_var / dty), 0.05 * s0);
	/* the liquidity/IV driver is winsorized at 6 sd a tick: one gap would
	 * otherwise read as 1000 %+ vol for an hour and empty the book */
	w = 6 * s0 * m->env[MKT_ENV_VOL] * sqrt(dty);
	gap = fmax(0.0, fabs(r) - 0.01); /* a gap: more than 1 % in one tick */
	r = fmin(fmax(r, -w), w);
	m->rv_liq_var = m->rv_a * m->rv_liq_var + (1 - m->rv_a) * r * r;
	m->rv_liq = fmax(sqrt(m->rv_liq_var / dty), 0.05 * s0);
	m->ret_ewma = m->ret_b * m->ret_ewma + (1 - m->ret_b) * r;
	sd = s0 * sqrt(dty) * sqrt((1 - m->ret_b) / (1 + m->ret_b));
	m->sellp = clamp01(-m->ret_ewma / (3 * sd));
	ratio = fmin(fmax(m->rv_liq / s0, 0.5), 8.0);
	m->mm_inv = m->mm_inv_a * m->mm_inv - m->flow_tick;
	m->flow_ewma = m->flow_a * m->flow_ewma + (1 - m->flow_a) * m->flow_tick / dt_s(m);
	if (!p->on.withdrawal) {
		m->mm = 1.0;
		ratio = 1.0;
	} else {
		xi = m->mm_inv / m->mm_cap;
		xf = fabs(m->flow_ewma) * 60.0 / p->depth_usd;
		mbar = 1.0 / (1.0 + p->mm_vol_sens * fmax(0.0, ratio - 1.0) +
			      p->mm_inv_sens * fabs(xi) + p->mm_flow_sens * xf);
		k = mbar < m->mm ? m->mm_wd_decay : m->mm_decay;
		m->mm = mbar + (m->mm - mbar) * k +
			p->mm_noise * sqrt(1 - m->mm_decay * m->mm_decay) * z;
		m->mm -= p->mm_liq_sens * m->liq_tick_usd / p->depth_usd;
		m->mm *= exp(-p->mm_gap_sens * 100 * gap); /* market makers pull on gaps */
		m->mm = fmin(fmax(m->mm, 0.02), 1.0);
	}
	m->depth = p->depth_usd * pow(ratio, -p->a_d) * m->mm * m->env[MKT_ENV_DEPTH];
	m->bid_depth = 0.5 * m->depth * (1 - p->bid_skew * m->sellp);
	m->ask_depth = 0.5 * m->depth * (1 + 0.5 * p->bid_skew * m->sellp);
	m->depth = m->bid_depth + m->ask_depth;
	m->spread_bps = p->spread_bps * pow(ratio, p->a_s) / pow(m->mm, p->spread_mm_exp) *
			m->env[MKT_ENV_SPREAD] * (1 + p->bid_skew * m->sellp);
}

/* Gamma flip: the spot level nearest the current one where GEX changes
 * sign, scanned over +-20 % in 1 % steps (linear interpolation). */
static void scan_flip(struct mkt_model *m, double S, double t_s)
{
	double prev = 0, g;

	m->flip = NAN;
	for (int k = -20; k <= 20; k++) {
		double s = S * (1 + 0.01 * k);
		g = mkt_book__gex_at(m->book, s, t_s, m->iv, m->skew_now);
		if (k > -20 && (g > 0) != (prev > 0) && g != prev) {
			double f = prev / (prev - g), lv = S * (1 + 0.01 * (k - 1 + f));
			if (isnan(m->flip) || fabs(lv - S) < fabs(m->flip - S))
				m->flip = lv;
		}
		prev = g;
	}
}

/* Implied vol responds to realized vol (elasticity iv_rv_beta) and to
 * scheduled shocks; the skew steepens with stress. Greeks in full every
 * MKT_BOOK_EVERY ticks or after a 0.2 % move, in between by a first-order
 * Taylor step in S (delta += Gamma dS). */
void mkt_model__vol_book(struct mkt_model *m)
{
	const struct mkt_params *p = m->p;
	double s0 = p->sigma > 0 ? p->sigma : 0.01, S = exp(m->x);
	double t_s = (double)(m->tick * p->dt_ns) * MKT_NS, iv0 = p->iv0 > 0 ? p->iv0 : s0;

	m->iv = iv0 * pow(m->rv_liq / s0, p->iv_rv_beta) * m->env[MKT_ENV_IV];
	m->iv = fmin(fmax(m->iv, 0.01), 10.0);
	m->skew_now = p->skew * (1 + p->skew_stress * m->stress);
	if (m->book_lines == 0)
		return;
	if (m->tick - m->book_tick >= MKT_BOOK_EVERY || fabs(log(S / m->book_S)) > 0.002) {
		mkt_book__step(m->book, S, t_s, m->iv, m->skew_now, &m->greeks_full);
		m->book_S = S;
		m->book_tick = m->tick;
	}
	m->greeks = m->greeks_full;
	m->greeks.delta += m->greeks_full.gamma * (S - m->book_S);
	m->greeks.gex = m->greeks.gamma * S * S * 0.01;
	if (m->tick % MKT_FLIP_EVERY == 1)
		scan_flip(m, S, t_s);
}

static void liq_windows(struct mkt_model *m)
{
	double P = exp(m->y);

	m->liq_ring[m->liq_ring_i] = m->liq_tick_usd;
	m->liq_ring_i = (m->liq_ring_i + 1) % m->liq_ring_n;
	m->liq_1s = 0; /* summed afresh: a running sum would drift below 0 */
	for (int i = 0; i < m->liq_ring_n; i++)
		m->liq_1s += m->liq_ring[i];
	m->liq_1s *= 1e9 / ((double)m->liq_ring_n * (double)m->p->dt_ns);
	/* the rate a cascade keeps up over minutes, which is what a slow
	 * custodian or a backed-up venue follows (EWMA, tau = 300 s) */
	double dt_s = (double)m->p->dt_ns * 1e-9;
	m->liq_5m += (1.0 - exp(-dt_s / 300.0)) * (m->liq_tick_usd / dt_s - m->liq_5m);
	m->st.liq_peak_s_usd = fmax(m->st.liq_peak_s_usd, m->liq_1s);
	m->min_acc_usd += m->liq_tick_usd;
	m->min_acc_units += m->liq_tick_usd / P;
	if (++m->min_ticks * m->p->dt_ns < 60000000000ll)
		return;
	m->st.liq_peak_min_usd = fmax(m->st.liq_peak_min_usd, m->min_acc_usd);
	if (m->minute_n < m->nminutes)
		m->minutes[m->minute_n++] = m->min_acc_usd;
	m->hour_usd[m->min_i] = m->min_acc_usd;
	m->hour_units[m->min_i] = m->min_acc_units;
	m->min_i = (m->min_i + 1) % 60;
	m->min_acc_usd = m->min_acc_units = 0;
	m->min_ticks = 0;
	double hu = 0, hn = 0;
	for (int i = 0; i < 60; i++)
		hu += m->hour_usd[i], hn += m->hour_units[i];
	m->st.liq_max_hour_usd = fmax(m->st.liq_max_hour_usd, hu);
	m->st.liq_max_hour_units = fmax(m->st.liq_max_hour_units, hn);
}

static void stress_index(struct mkt_model *m, double dd)
{
	const struct mkt_params *p = m->p;
	double s0 = p->sigma > 0 ? p->sigma : 0.01, worst = 0;
	double lr = m->liq_1s / fmax(1e-4 * m->st.oi0_usd, 1.0);

	for (int v = 0; v < p->nvenues; v++)
		worst = fmax(worst, m->vstatus[v]);
	m->stress = 0.25 * fmin(1, dd / 0.20) +
		    0.15 * fmin(1, fmax(0, m->rv_liq / s0 - 1) / 3) +
		    0.20 * fmax(0, 1 - m->depth / p->depth_usd) +
		    0.15 * fmin(1, fmax(0, m->spread_bps / p->spread_bps - 1) / 9) +
		    0.15 * fmin(1, lr) + 0.10 * worst / 3;
	m->stress = clamp01(m->stress);
}

/* Running maxima, drawdown, basis MA, statistics. */
void mkt_model__account(struct mkt_model *m)
{
	double S = m->index, P = exp(m->y), dd, ls = log(S);
	struct mkt_stats *st = &m->st;

	m->peak_x = ls > m->peak_x ? ls : m->peak_x;
	dd = 1 - S / exp(m->peak_x);
	m->basis_ma = m->basis_ma_a * m->basis_ma + (1 - m->basis_ma_a) * (P - S);
	liq_windows(m);
	stress_index(m, dd);
	if (dd > st->max_drawdown) {
		st->dd_trough = S;
		st->dd_peak = exp(m->peak_x);
	}
	st->max_drawdown = fmax(st->max_drawdown, dd);
	st->end_spot = S;
	/* depth and spread as one-minute means: what published books-and-
	 * spread series (Kaiko, exchange snapshots) sample */
	m->depth_ew = m->ew_a * m->depth_ew + (1 - m->ew_a) * m->depth;
	m->spread_ew = m->ew_a * m->spread_ew + (1 - m->ew_a) * m->spread_bps;
	m->min_depth_ew = fmin(m->min_depth_ew, m->depth_ew);
	m->max_spread_ew = fmax(m->max_spread_ew, m->spread_ew);
	st->min_spot = fmin(st->min_spot, S);
	st->max_spot = fmax(st->max_spot, S);
	st->max_spread_bps = fmax(st->max_spread_bps, m->spread_bps);
	st->min_depth_usd = fmin(st->min_depth_usd, m->depth);
	st->min_funding = fmin(st->min_funding, m->f_cur);
	st->max_funding = fmax(st->max_funding, m->f_cur);
	st->min_basis_ann = fmin(st->min_basis_ann, (P - S) / S * 365.0 / 30.0);
	st->max_basis_ann = fmax(st->max_basis_ann, (P - S) / S * 365.0 / 30.0);
	st->ticks = m->tick;
}
