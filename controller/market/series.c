/*
 * series.c — run a model to the end and print its signals (CSV or JSONL).
 *
 * Byte-identical for the same params and seed: numbers are printed with
 * "%.17g" (round-trip exact), the order of fields is the signal table's, and
 * nothing depends on the clock or the locale's grouping (the C locale's
 * decimal point is assumed, as the controller never calls setlocale).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "market/model_state.h"

static void put_num(FILE *out, double v)
{
	if (isfinite(v))
		fprintf(out, "%.17g", v);
	else
		fputs(isnan(v) ? "null" : (v > 0 ? "1e308" : "-1e308"), out);
}

static void header(const struct mkt_params *p, uint64_t seed,
		   enum mkt_format fmt, FILE *out)
{
	if (fmt == MKT_FMT_CSV) {
		fputs("t_ms", out);
		for (int i = 0; i < MKT_SIG__COUNT; i++)
			fprintf(out, ",%s", mkt_signal_name(i));
		fputc('\n', out);
		return;
	}
	fprintf(out, "{\"seed\":%llu,\"version\":\"%s\",\"dt_ms\":",
		(unsigned long long)seed, FL_VERSION);
	put_num(out, (double)p->dt_ns / 1e6);
	fputs(",\"duration_s\":", out);
	put_num(out, (double)p->duration_ns / 1e9);
	fprintf(out, ",\"spot\":%.17g,\"sigma\":%.17g,\"nu\":%.17g,\"feedback\":%s,"
		"\"options\":%d,\"positions\":%d,\"open_interest_usd\":%.17g,"
		"\"depth_usd\":%.17g,\"venues\":%d,\"shocks\":%d}\n",
		p->spot0, p->sigma, p->nu, p->feedback ? "true" : "false",
		p->noptions, p->ladder_n, p->oi_usd, p->depth_usd, p->nvenues,
		p->nshocks);
}

static void row(const struct mkt_model *m, enum mkt_format fmt, FILE *out)
{
	double s[MKT_SIG__COUNT];
	long long t_ms = (long long)(mkt_model__time_ns(m) / 1000000);

	mkt_model__signals(m, s);
	fprintf(out, fmt == MKT_FMT_CSV ? "%lld" : "{\"t_ms\":%lld", t_ms);
	for (int i = 0; i < MKT_SIG__COUNT; i++) {
		if (fmt == MKT_FMT_CSV)
			fputc(',', out);
		else
			fprintf(out, ",\"%s\":", mkt_signal_name(i));
		put_num(out, s[i]);
	}
	fputs(fmt == MKT_FMT_CSV ? "\n" : "}\n", out);
}

int mkt_write_series(const struct mkt_params *p, uint64_t seed,
		     enum mkt_format fmt, int64_t every_ns, FILE *out)
{
	struct mkt_model *m;
	int64_t next = 0;

	if (!p || !out || every_ns <= 0 || (fmt != MKT_FMT_CSV && fmt != MKT_FMT_JSONL))
		return -EINVAL;
	if (mkt_params__check(p, NULL, 0))
		return -EINVAL;
	m = mkt_model__new(p, seed);
	if (!m)
		return -ENOMEM;
	header(p, seed, fmt, out);
	for (;;) {
		int64_t t = mkt_model__time_ns(m);
		if (t >= next) {
			row(m, fmt, out);
			next += every_ns;
		}
		if (t >= p->duration_ns)
			break;
		mkt_model__step(m);
	}
	mkt_model__free(m);
	return ferror(out) ? -EIO : 0;
}

int mkt_run_stats(const struct mkt_params *p, uint64_t seed, struct mkt_stats *out)
{
	struct mkt_model *m;

	if (!p || !out || mkt_params__check(p, NULL, 0))
		return -EINVAL;
	m = mkt_model__new(p, seed);
	if (!m)
		return -ENOMEM;
	while (mkt_model__time_ns(m) < p->duration_ns)
		mkt_model__step(m);
	mkt_model__stats(m, out);
	mkt_model__free(m);
	return 0;
}

/* ---- outcome metrics over seeds (faultline model --stats) ------------------ */

#define MAX_SEEDS 64

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct metric {
	const char *name, *unit;
	size_t off;
	double scale;
};

#define S(f) offsetof(struct mkt_stats, f)
static const struct metric metrics[] = {
	{ "drawdown", "%", S(max_drawdown), 100 },
	{ "liquidations_total", "USD", S(liq_total_usd), 1 },
	{ "liquidations_long", "USD", S(liq_long_usd), 1 },
	{ "liquidations_peak_second", "USD", S(liq_peak_s_usd), 1 },
	{ "liquidations_peak_minute", "USD", S(liq_peak_min_usd), 1 },
	{ "liquidations_peak_hour", "USD", S(liq_max_hour_usd), 1 },
	{ "liquidations_peak_hour_units", "units", S(liq_max_hour_units), 1 },
	{ "adl", "USD", S(adl_usd), 1 },
	{ "cascade_duration", "s", S(cascade_s), 1 },
	{ "depth_decline", "%", S(depth_decline), 100 },
	{ "spread_ratio", "x", S(spread_ratio), 1 },
	{ "retrace", "%", S(retrace), 100 },
	{ "min_funding", "%", S(min_funding), 100 },
	{ "min_basis_ann", "%", S(min_basis_ann), 100 },
};
/* printed only when the scenario has alts (the table is otherwise unchanged) */
static const struct metric alt_metrics[] = {
	{ "alts_liquidations", "USD", S(alt_liq_usd), 1 },
	{ "alts_drawdown", "%", S(alt_max_drawdown), 100 },
	{ "alts_cross_main_closed", "USD", S(alt_cross_main_usd), 1 },
	{ "alts_cross_alt_closed", "USD", S(alt_cross_alt_usd), 1 },
};

static double field(const struct mkt_stats *s, const struct metric *k)
{
	return *(const double *)((const char *)s + k->off) * k->scale;
}

/* One metric's row: median, min and max over the seeds and the seed
 * spread (max - min) / |median|; then each seed's value. */
static void stats_row(FILE *out, const struct mkt_stats *st, int nseeds,
		      const struct metric *m)
{
	double v[MAX_SEEDS], med, lo, hi;

	for (int i = 0; i < nseeds; i++)
		v[i] = field(&st[i], m);
	qsort(v, (size_t)nseeds, sizeof(double), cmp_dbl);
	med = nseeds % 2 ? v[nseeds / 2] : 0.5 * (v[nseeds / 2 - 1] + v[nseeds / 2]);
	lo = v[0], hi = v[nseeds - 1];
	fprintf(out, "%-30s %-6s %14.6g %14.6g %14.6g %7.1f%% ", m->name, m->unit, med,
		lo, hi, med != 0 ? 100 * (hi - lo) / fabs(med) : 0.0);
	for (int i = 0; i < nseeds; i++)
		fprintf(out, " %.6g", field(&st[i], m));
	fputc('\n', out);
}

/* One row per metric (stats_row); alts' rows only when the scenario has alts. */
int mkt_write_stats(const struct mkt_params *p, uint64_t seed, int nseeds, FILE *out)
{
	struct mkt_stats st[MAX_SEEDS];
	int rc;

	if (!p || !out || nseeds < 1 || nseeds > MAX_SEEDS)
		return -EINVAL;
	for (int i = 0; i < nseeds; i++)
		if ((rc = mkt_run_stats(p, seed + (uint64_t)i, &st[i])))
			return rc;
	fprintf(out, "# faultline model --stats: seeds %llu..%llu, %.17g h, version %s\n",
		(unsigned long long)seed, (unsigned long long)(seed + (uint64_t)nseeds - 1),
		(double)p->duration_ns / 3.6e12, FL_VERSION);
	fprintf(out, "%-30s %-6s %14s %14s %14s %8s  per seed\n", "metric", "unit",
		"median", "min", "max", "spread");
	for (size_t k = 0; k < sizeof(metrics) / sizeof(metrics[0]); k++)
		stats_row(out, st, nseeds, &metrics[k]);
	for (size_t k = 0; p->alts.positions > 0 && k < sizeof(alt_metrics) / sizeof(alt_metrics[0]); k++)
		stats_row(out, st, nseeds, &alt_metrics[k]);
	return ferror(out) ? -EIO : 0;
}
