/*
 * status.c — the text of the live status line (see status.h).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "profile.h"
#include "status.h"

static void usd(char *b, size_t n, double x)
{
	if (!isfinite(x))
		snprintf(b, n, "-");
	else if (fabs(x) >= 1e9)
		snprintf(b, n, "$%.3gB", x / 1e9);
	else if (fabs(x) >= 1e6)
		snprintf(b, n, "$%.3gM", x / 1e6);
	else if (fabs(x) >= 1e3)
		snprintf(b, n, "$%.3gk", x / 1e3);
	else
		snprintf(b, n, "$%.0f", x);
}

static const char *phase(const struct fl_status_in *in, char *b, size_t n)
{
	if (!isfinite(in->shock0_s))
		return "";
	if (in->market_s < in->shock0_s)
		snprintf(b, n, " before %s", in->shock_name);
	else if (in->market_s <= in->shock1_s)
		snprintf(b, n, " %s", in->shock_name);
	else
		snprintf(b, n, " after %s", in->shock_name);
	return b;
}

#define PUT(...)                                                            \
	do {                                                                \
		if (o < len)                                                \
			o += (size_t)snprintf(out + o, len - o, __VA_ARGS__); \
	} while (0)

void fl_status_line(const struct fl_status_in *in, char *out, size_t len)
{
	size_t o = 0;
	char ph[48], liq[24];
	long ms = lround(in->market_s);
	bool any = false;

	out[0] = '\0';
	PUT("faultline %.1fs", in->t_s);
	if (in->has_market) {
		usd(liq, sizeof(liq), in->liq_per_s);
		PUT(" | market %ld:%02ld:%02ld%s | spot %.0f | liq %s/s", ms / 3600,
		    ms % 3600 / 60, ms % 60, phase(in, ph, sizeof(ph)), in->spot, liq);
	}
	PUT(" | faults");
	for (unsigned t = 0; in->tfaults && t < FL_MAX_TARGETS; t++) {
		const char *name = t == 0 ? "?" :
				   in->p && t < in->p->ntargets ? in->p->targets[t].name : NULL;

		if (!in->tfaults[t] || !name)
			continue;
		PUT(" %s %llu", name, (unsigned long long)in->tfaults[t]);
		any = true;
	}
	if (!any)
		PUT(" 0");
	if (in->nburning) {
		PUT(" | burning:");
		for (int i = 0; i < in->nburning; i++)
			PUT(" %s", in->burning[i]);
	}
	if (o >= len && len > 4)
		memcpy(out + len - 4, "...", 4);
}
