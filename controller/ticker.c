/*
 * ticker.c — scenario ticking (see ticker.h): the market model drives the
 * intensity of bound rules, tick by tick.
 *
 * Invariants
 *  - Scenario time is tick * dt exactly; real time only decides how many
 *    ticks are due, so a run at any speed steps the same model states.
 *  - Intensities are single atomics in the block (no seqlock): the shim may
 *    see tick k's value for one rule and k+1's for another, never a torn one.
 */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "ticker.h"

/* Work per wake-up before the loop gets its turn back (heartbeat first). */
#define FL__TICK_BUDGET_NS 2000000ll

double fl_binding_intensity(const struct fl_binding *b, double x)
{
	double v = 1.0;

	if (isnan(x))
		return 0.0;
	if (b->scale) {
		/* hi < lo works too: full intensity at low x (depth). */
		if (b->hi != b->lo)
			v = (x - b->lo) / (b->hi - b->lo);
		else
			v = x >= b->hi ? 1.0 : 0.0;
		v = v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v;
	}
	if (b->when) {
		bool on = (b->has_below && x < b->below) ||
			  (b->has_above && x > b->above);
		v *= on ? 1.0 : 0.0;
	}
	return v;
}

/* Read the model's signals, compute and publish every bound intensity. */
static void fl__ticker_publish(struct fl_ticker *t)
{
	mkt_model__signals(t->m, t->sig);
	for (int k = 0; k < t->nscaled; k++) {
		int i = t->scaled[k];
		const struct fl_binding *b = &t->p->bind[i];

		t->inten[k] = fl_binding_intensity(b, t->sig[b->signal]);
		atomic_store_explicit(&t->ctl->rules[i].intensity,
				      (uint32_t)lround(t->inten[k] * FL_INTENSITY_ONE),
				      memory_order_relaxed);
	}
	atomic_store_explicit(&t->ctl->hdr.tick, t->tick, memory_order_release);
}

static int64_t fl__default_every(const struct fl_ticker *t)
{
	/* ~10 tick records per real second at most once past speed 10 (one
	 * per dt up to there: a 100 ms tick gives 10/s at speed 1). */
	if (t->speed <= 10.0)
		return 0;
	return t->dt_ns * (int64_t)ceil(t->speed / 10.0);
}

int fl_ticker_init(struct fl_ticker *t, const struct fl_profile *p,
		   struct fl_ctl *ctl, uint64_t seed, double speed,
		   int64_t every_ns)
{
	memset(t, 0, sizeof(*t));
	if (!p || !p->market || !(speed > 0.0) || !isfinite(speed))
		return -EINVAL;
	t->m = mkt_model__new(p->market, seed);
	if (!t->m)
		return -ENOMEM;
	t->p = p;
	t->ctl = ctl;
	t->speed = speed;
	t->dt_ns = mkt_params__dt_ns(p->market);
	t->dur_ns = mkt_params__duration_ns(p->market);
	t->every_ns = every_ns > 0 ? every_ns : fl__default_every(t);
	t->last_rec_ns = -1;
	t->pub_run_ns = -1;
	for (uint32_t i = 0; i < p->nrules && i < FL_MAX_RULES; i++)
		if (p->bind[i].signal >= 0 && p->bind[i].signal < MKT_SIG__COUNT)
			t->scaled[t->nscaled++] = (int)i;
	fl__ticker_publish(t);
	return 0;
}

void fl_ticker__free(struct fl_ticker *t)
{
	mkt_model__free(t->m);
	t->m = NULL;
}

int64_t fl_ticker_period_ns(const struct fl_ticker *t)
{
	double p = (double)t->dt_ns / t->speed;

	return p < 1e6 ? 1000000 : (int64_t)p;
}

void fl_ticker_record(struct fl_ticker *t, struct fl_timeline *tl)
{
	const char *names[MKT_SIG__COUNT];

	for (int i = 0; i < MKT_SIG__COUNT; i++)
		names[i] = mkt_signal_name(i);
	fl_timeline_tick(tl, t->tick, mkt_model__time_ns(t->m), t->pub_run_ns,
			 names, t->sig, MKT_SIG__COUNT, t->scaled, t->inten,
			 t->nscaled);
	t->last_rec_ns = mkt_model__time_ns(t->m);
}

static int64_t fl__mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

bool fl_ticker_advance(struct fl_ticker *t, int64_t run_ns,
		       struct fl_timeline *tl)
{
	double due = (double)run_ns * t->speed;
	int64_t start = fl__mono();

	for (unsigned n = 0; !t->ended; n++) {
		int64_t next = (int64_t)(t->tick + 1) * t->dt_ns;

		if ((double)next > due)
			break;
		if ((n & 15) == 15 && fl__mono() - start > FL__TICK_BUDGET_NS)
			break; /* behind: catch up on the next wake-up */
		mkt_model__step(t->m);
		t->tick++;
		t->pub_run_ns = run_ns + (fl__mono() - start);
		fl__ticker_publish(t);
		if (t->last_rec_ns < 0 || t->every_ns == 0 ||
		    mkt_model__time_ns(t->m) - t->last_rec_ns >= t->every_ns)
			fl_ticker_record(t, tl);
		if (t->dur_ns > 0 && mkt_model__time_ns(t->m) >= t->dur_ns)
			t->ended = true;
	}
	return t->ended;
}
