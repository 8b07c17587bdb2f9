/*
 * ticker.h — scenario ticking: step the market model in real time (scaled by
 * --speed), turn its signals into the intensity of every bound rule and
 * publish them into the control block.
 *
 * Ownership: struct fl_ticker is caller-owned; fl_ticker_init allocates the
 * model, fl_ticker__free releases it and accepts a zeroed struct.
 */
#ifndef FL_TICKER_H
#define FL_TICKER_H

#include <stdbool.h>
#include <stdint.h>

#include "faultline/ctl.h"
#include "market/market.h"
#include "profile.h"
#include "timeline.h"

struct fl_ticker {
	const struct fl_profile *p;
	struct fl_ctl *ctl;
	struct mkt_model *m;
	double speed;
	int64_t dt_ns, dur_ns;   /* scenario time; dur 0 = open-ended */
	int64_t every_ns;        /* scenario ns between tick records, 0 = all */
	int64_t last_rec_ns;     /* scenario time of the last record, -1 none */
	uint64_t tick;           /* ticks stepped */
	int64_t pub_run_ns;      /* run time the last tick was published, -1 */
	bool ended;
	int nscaled;             /* rules with a binding */
	int scaled[FL_MAX_RULES];
	double inten[FL_MAX_RULES];
	double sig[MKT_SIG__COUNT];
};

/* The intensity (0..1) of a binding for signal value x: "scale" maps
 * [lo, hi] onto [0, 1] clamped, "when_signal" is 0 or 1, both multiply.
 * NaN gives 0. */
double fl_binding_intensity(const struct fl_binding *b, double x);

/* Build the model of scenario p (p->market) with `seed`, compute tick 0's
 * intensities and store them in ctl (call before fl_block_activate so the
 * first call the shim sees has them). every_ns: scenario ns between tick
 * records, or 0 for the default (every tick up to speed 10, then about ten
 * records per real second). Returns 0, -EINVAL (not a scenario, bad speed)
 * or -ENOMEM. */
int fl_ticker_init(struct fl_ticker *t, const struct fl_profile *p,
		   struct fl_ctl *ctl, uint64_t seed, double speed,
		   int64_t every_ns);
void fl_ticker__free(struct fl_ticker *t);

/* Real ns between two wake-ups of the tick timer (dt / speed, at least
 * 1 ms: faster scenarios step several ticks per wake-up). */
int64_t fl_ticker_period_ns(const struct fl_ticker *t);

/* Step the model until scenario time reaches run_ns * speed (or the
 * scenario's end), publish intensities and bump hdr.tick, write tick
 * records to tl (decimated per every_ns). Gives the loop back after ~2 ms of
 * work even when behind. Returns true once the scenario has ended. */
bool fl_ticker_advance(struct fl_ticker *t, int64_t run_ns,
		       struct fl_timeline *tl);

/* Write the record of the current tick (tick 0 at start). */
void fl_ticker_record(struct fl_ticker *t, struct fl_timeline *tl);

#endif /* FL_TICKER_H */
