/*
 * status.h — the live status line a person sees on a terminal during a
 * drill: drill time, market time and phase, spot, liquidation rate, faults
 * per target, budgets burning. observe.c decides when to show it (stderr a
 * tty, no -q) and redraws it at most four times a second.
 */
#ifndef FL_STATUS_H
#define FL_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fl_profile;

struct fl_status_in {
	double t_s;                /* drill time */
	bool has_market;
	double market_s, spot, liq_per_s;
	double shock0_s, shock1_s; /* market s, NaN: no shock */
	const char *shock_name;    /* "the gap" */
	const struct fl_profile *p;/* target names, may be NULL */
	const uint64_t *tfaults;   /* faults per target id, [0] unknown */
	int nburning;
	const char *const *burning;
};

/* One line, no newline, at most len-1 bytes. */
void fl_status_line(const struct fl_status_in *in, char *out, size_t len);

#endif /* FL_STATUS_H */
