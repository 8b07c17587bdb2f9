/*
 * ladder.c — leveraged positions, sorted by liquidation price, and the
 * liquidation engine's queue.
 *
 * Invariants
 *  - pos[0, nlong) are longs sorted by liquidation price descending,
 *    pos[nlong, n) shorts ascending; next_long / next_short point at the
 *    first position not yet triggered, so a tick touches only the positions
 *    the mark crossed (O(breached), no scan of the 100,000).
 *  - Every position is queued at most once; the queue is FIFO over an array
 *    of n indices (no wrap needed).
 *  - Liquidations trigger on the MARK price, execute at the engine's price;
 *    surplus over bankruptcy goes to the insurance fund, shortfall
 *    D = max(0, q (p_bk - p_exec)) is charged to it; when the fund is empty,
 *    fills that would be below bankruptcy are auto-deleveraged at the
 *    bankruptcy price (no market flow).
 * Inverse contracts are tracked in underlying units (USD contracts / entry)
 * with the inverse liquidation formula; their deficits are approximated
 * linearly in price.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "market/mkt_internal.h"

struct mkt_ladder {
	int n, nlong, next_long, next_short;
	int qhead, qtail;
	int *queue;
	double *rem; /* units still to close, per position */
	struct mkt_pos *pos;
	double long_units, short_units; /* open (incl. queued remainder) */
	double queued_units;
};

#define PREHIST 1024

/* Log path of the recent past ending at 0 (today's spot), for entries:
 * volatility entry_sigma (annualised) and a total log change of
 * entry_trend over the window; smin/smax are the path's running extremes
 * from each point to now (survivorship: a position whose liquidation price
 * the path crossed after its entry is gone already). */
static void prehistory(const struct mkt_params *p, const struct mkt_rng *r,
		       double *x, double *smin, double *smax)
{
	double dt = p->entry_window_s / MKT_YEAR_S / (PREHIST - 1);
	double drift = p->entry_trend / (PREHIST - 1);
	struct mkt_rng rr = *r;

	x[PREHIST - 1] = smin[PREHIST - 1] = smax[PREHIST - 1] = 0;
	for (int k = PREHIST - 1; k > 0; k--) {
		rr.tick = (uint64_t)k;
		x[k - 1] = x[k] - drift - p->entry_sigma * sqrt(dt) * mkt_normal(&rr, 0);
		smin[k - 1] = fmin(smin[k], x[k - 1]);
		smax[k - 1] = fmax(smax[k], x[k - 1]);
	}
}

static double log_uniform(double lo, double hi, double u)
{
	return lo * exp(u * log(hi / lo));
}

static int is_long(const struct mkt_pos *q)
{
	return q->kind == MKT_LINEAR_LONG || q->kind == MKT_INVERSE_LONG;
}

#define ENTRY_TRIES 16

static void make_pos(const struct mkt_params *p, const struct mkt_rng *r,
		     const double *x, const double *smin, const double *smax,
		     double S0, struct mkt_pos *q)
{
	bool lng = mkt_u01(r, 1, 0) < p->long_frac;
	bool inv = mkt_u01(r, 2, 0) < p->inverse_frac;
	double u = mkt_u01(r, 3, 0), lev, size, lf, entry = S0;

	lev = mkt_u01(r, 3, 1) < p->lev_core_mass
		      ? log_uniform(p->lev_core_lo, p->lev_core_hi, u)
		      : log_uniform(p->lev_lo, p->lev_hi, u);
	q->kind = (uint8_t)(lng ? (inv ? MKT_INVERSE_LONG : MKT_LINEAR_LONG)
				: (inv ? MKT_INVERSE_SHORT : MKT_LINEAR_SHORT));
	lf = log(mkt_liq_frac(q->kind, lev, p->mmr));
	for (unsigned t = 0; t < ENTRY_TRIES; t++) {
		int k = (int)(mkt_u01(r, 4, t) * PREHIST) % PREHIST;
		/* survived since entry: the path never crossed its liquidation */
		if (lng ? x[k] + lf < smin[k] : x[k] + lf > smax[k]) {
			entry = S0 * exp(x[k]);
			break;
		}
	}
	size = p->oi_usd / (p->ladder_n > 0 ? p->ladder_n : 1) *
	       exp(p->size_sd * mkt_normal(r, 5) - 0.5 * p->size_sd * p->size_sd);
	q->entry = entry;
	q->lev = (float)lev;
	q->liq = entry * mkt_liq_frac(q->kind, lev, p->mmr);
	q->bk = entry * mkt_bankrupt_frac(q->kind, lev);
	q->qty = size / S0;
	q->state = 0;
}

static int cmp_long(const void *a, const void *b)
{
	double x = ((const struct mkt_pos *)a)->liq, y = ((const struct mkt_pos *)b)->liq;

	return (x < y) - (x > y); /* descending */
}

static int cmp_short(const void *a, const void *b)
{
	double x = ((const struct mkt_pos *)a)->liq, y = ((const struct mkt_pos *)b)->liq;

	return (x > y) - (x < y);
}

/* Build, then partition longs first and sort each side by liquidation price. */
static void build(struct mkt_ladder *l, const struct mkt_params *p,
		  const struct mkt_rng *r, double S0, double *x)
{
	double *smin = x + PREHIST, *smax = x + 2 * PREHIST;
	struct mkt_rng rr = *r;
	int i, j;

	prehistory(p, r, x, smin, smax);
	for (i = 0; i < l->n; i++) {
		rr.tick = (uint64_t)PREHIST + (uint64_t)i;
		make_pos(p, &rr, x, smin, smax, S0, &l->pos[i]);
	}
	for (i = 0, j = l->n - 1; i <= j;) {
		if (is_long(&l->pos[i])) {
			i++;
		} else {
			struct mkt_pos t = l->pos[i];
			l->pos[i] = l->pos[j], l->pos[j--] = t;
		}
	}
	l->nlong = i;
	qsort(l->pos, (size_t)l->nlong, sizeof(*l->pos), cmp_long);
	qsort(l->pos + l->nlong, (size_t)(l->n - l->nlong), sizeof(*l->pos), cmp_short);
}

struct mkt_ladder *mkt_ladder__new(const struct mkt_params *p,
				   const struct mkt_rng *r, double S0)
{
	struct mkt_ladder *l = calloc(1, sizeof(*l));
	size_t n = (size_t)(p->ladder_n > 0 ? p->ladder_n : 1);
	double *x = malloc(sizeof(double) * 3 * PREHIST);

	if (!l || !x)
		goto fail;
	l->pos = calloc(n, sizeof(*l->pos));
	l->queue = calloc(n, sizeof(*l->queue));
	l->rem = calloc(n, sizeof(*l->rem));
	if (!l->pos || !l->queue || !l->rem)
		goto fail;
	l->n = p->ladder_n;
	build(l, p, r, S0, x);
	for (int i = 0; i < l->n; i++) {
		l->rem[i] = l->pos[i].qty;
		*(i < l->nlong ? &l->long_units : &l->short_units) += l->pos[i].qty;
	}
	l->next_short = l->nlong;
	free(x);
	return l;
fail:
	free(x);
	mkt_ladder__free(l);
	return NULL;
}

void mkt_ladder__free(struct mkt_ladder *l)
{
	if (!l)
		return;
	free(l->pos);
	free(l->queue);
	free(l->rem);
	free(l);
}

static void enqueue(struct mkt_ladder *l, int i)
{
	l->pos[i].state = 1;
	l->queue[l->qtail++] = i;
	l->queued_units += l->rem[i];
}

double mkt_ladder__trigger(struct mkt_ladder *l, double mark)
{
	double units = 0;

	while (l->next_long < l->nlong && l->pos[l->next_long].liq >= mark) {
		units += l->rem[l->next_long];
		enqueue(l, l->next_long++);
	}
	while (l->next_short < l->n && l->pos[l->next_short].liq <= mark) {
		units += l->rem[l->next_short];
		enqueue(l, l->next_short++);
	}
	return units * mark;
}

/* Close u units of position i at price px (market) or by ADL. */
static void fill(struct mkt_ladder *l, int i, double u, double px, bool by_adl,
		 struct mkt_ladder_fill *f)
{
	struct mkt_pos *q = &l->pos[i];
	int lg = is_long(q);

	l->rem[i] -= u;
	l->queued_units -= u;
	*(lg ? &l->long_units : &l->short_units) -= u;
	if (by_adl) {
		f->adl_usd += u * q->bk;
		f->adl_units += u;
		return;
	}
	f->notional_usd += u * px;
	f->units += u;
	f->signed_units += lg ? -u : u;
	f->fund_delta += lg ? u * (px - q->bk) : u * (q->bk - px);
	f->deficit += mkt_deficit(q->kind, u, q->bk, px);
}

void mkt_ladder__execute(struct mkt_ladder *l, double budget_usd, double p_sell,
			 double p_buy, bool adl, struct mkt_ladder_fill *f)
{
	while (l->qhead < l->qtail) {
		int i = l->queue[l->qhead];
		const struct mkt_pos *q = &l->pos[i];
		double px = is_long(q) ? p_sell : p_buy, u = l->rem[i];
		bool by_adl = adl && mkt_deficit(q->kind, 1.0, q->bk, px) > 0;

		if (!by_adl) {
			if (budget_usd <= 0)
				break;
			if (u * px > budget_usd)
				u = budget_usd / px;
			budget_usd -= u * px;
		}
		fill(l, i, u, px, by_adl, f);
		if (l->rem[i] > 1e-12 * q->qty)
			break; /* partly filled: budget spent */
		l->rem[i] = 0;
		l->pos[i].state = 2;
		l->qhead++;
	}
}

double mkt_ladder__queue_usd(const struct mkt_ladder *l, double S)
{
	return l->queued_units > 0 ? l->queued_units * S : 0.0;
}

double mkt_ladder__oi_units(const struct mkt_ladder *l, double *long_units,
			    double *short_units)
{
	if (long_units)
		*long_units = l->long_units;
	if (short_units)
		*short_units = l->short_units;
	return l->long_units + l->short_units;
}

double mkt_ladder__funding(const struct mkt_ladder *l, double rate, double mark)
{
	double paid = 0;

	/* Each account pays rate * position value; longs pay when rate > 0. */
	for (int i = 0; i < l->n; i++) {
		if (l->pos[i].state == 2)
			continue;
		paid += (i < l->nlong ? 1.0 : -1.0) * rate * l->rem[i] * mark;
	}
	return paid;
}

int mkt_ladder__n(const struct mkt_ladder *l)
{
	return l->n;
}

const struct mkt_pos *mkt_ladder__pos(const struct mkt_ladder *l, int i)
{
	return &l->pos[i];
}
