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
