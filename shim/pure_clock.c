/*
 * pure_clock.c — the time math of clock faults, and the FAKETIME parser.
 *
 * Divisions: (1) saturating arithmetic, (2) building a clock's fake-time
 * function from the rules, (3) applying it and inverting it for waits,
 * (4) parsing libfaketime's FAKETIME.
 *
 * A clock family's fake value is its real value plus delta(t), t the run
 * time. Clock rules compose: offsets (permanent or windowed) and jumps
 * (from their window's start on) add steps; drifts add rates (ppm, from the
 * window's start, or from run time 0 without a window) whose accumulated
 * amount stays after the window; a freeze makes delta fall at rate -1 so
 * the fake time stands at its window-start value, then runs on from there.
 *
 * Invariants: no allocation, no locks, no globals, no libc calls that could
 * enter the shim: unit tests link this file as it is. Arithmetic saturates
 * instead of overflowing. With the loader's checks (monotonic: offset >= 0
 * and permanent, jump > 0, drift > -1e6 ppm), t + delta(t) never decreases.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "shim.h"

#define NS_PER_S 1000000000ll
#define PPM 1000000ll

/* ---- (1) saturating arithmetic ------------------------------------------- */

static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

static int64_t sat_sub(int64_t a, int64_t b)
{
	int64_t r;
	if (__builtin_sub_overflow(a, b, &r))
		return b < 0 ? INT64_MAX : INT64_MIN;
	return r;
}

/* dt * ppm / 1e6, truncated toward zero, exact while it fits. */
static int64_t mul_ppm(int64_t dt, int64_t ppm)
{
	int64_t q = dt / PPM, r = dt % PPM, a;

	if (ppm == 0 || dt == 0)
		return 0;
	if (__builtin_mul_overflow(q, ppm, &a))
		return (q < 0) != (ppm < 0) ? INT64_MIN : INT64_MAX;
	return sat_add(a, r * ppm / PPM); /* |r * ppm| < 1e6 * 1e12 */
}

/* ---- (2) building --------------------------------------------------------- */

static bool in_window(const struct fl_rule *r, int64_t t)
{
	if (!(r->flags & FL_RF_WINDOW))
		return true;
	return t >= r->win_from_ns && t < r->win_to_ns;
}

/* The state of one clock's rules on [t, next break): steps and rate. */
static void state_at(const struct fl_rule *const *rs, unsigned n, int64_t t,
		     int64_t *step, int64_t *ppm)
{
	bool frozen = false;

	*step = 0;
	*ppm = 0;
	for (unsigned i = 0; i < n; i++) {
		const struct fl_rule *r = rs[i];
		bool win = r->flags & FL_RF_WINDOW;
		switch (r->fault) {
		case FL_FAULT_OFFSET:
			if (in_window(r, t))
				*step = sat_add(*step, r->ns);
			break;
		case FL_FAULT_JUMP: /* stays after the window */
			if (win && t >= r->win_from_ns)
				*step = sat_add(*step, r->ns);
			break;
		case FL_FAULT_DRIFT: /* without a window: from run time 0 on */
			if (win ? in_window(r, t) : t >= 0)
				*ppm = sat_add(*ppm, r->ppm);
			break;
		case FL_FAULT_FREEZE:
			if (win && in_window(r, t))
				frozen = true;
			break;
		}
	}
	if (frozen || *ppm < FL_PPM_FROZEN)
		*ppm = FL_PPM_FROZEN;
	if (*ppm > PPM * PPM) /* a million times faster: keeps mul_ppm exact */
		*ppm = PPM * PPM;
}

static void add_break(int64_t *b, unsigned *nb, int64_t t)
{
	unsigned i = *nb;

	for (unsigned k = 0; k < *nb; k++)
		if (b[k] == t)
			return;
	while (i > 0 && b[i - 1] > t) { /* insertion sort: few breaks */
		b[i] = b[i - 1];
		i--;
	}
	b[i] = t;
	(*nb)++;
}

int fl__clkfn_build(struct fl_clkfn *fn, const struct fl_rule *rules,
		    unsigned n, unsigned clock)
{
	const struct fl_rule *rs[FL_MAX_RULES];
	int64_t breaks[FL_CLK_SEGS], base = 0, acc = 0, prev_ppm = 0;
	unsigned nr = 0, nb = 0;

	fn->kind = FL_CLKFN_IDENT;
	fn->nseg = 0;
	fn->c = 0;
	fn->base = 0;
	for (unsigned i = 0; i < n && nr < FL_MAX_RULES; i++) {
		const struct fl_rule *r = &rules[i];
		if (!(r->flags & FL_RF_CLOCK) || r->clock != clock)
			continue;
		rs[nr++] = r;
		if (r->flags & FL_RF_WINDOW) {
			add_break(breaks, &nb, r->win_from_ns);
			add_break(breaks, &nb, r->win_to_ns);
		} else if (r->fault == FL_FAULT_DRIFT) {
			add_break(breaks, &nb, 0);
		} else if (r->fault == FL_FAULT_OFFSET) {
			base = sat_add(base, r->ns);
		}
	}
	if (nb == 0) {
		fn->kind = base ? FL_CLKFN_CONST : FL_CLKFN_IDENT;
		fn->c = base;
		return 0;
	}
	/* before the first break: the permanent offsets only */
	fn->kind = FL_CLKFN_PIECES;
	for (unsigned i = 0; i < nb; i++) {
		int64_t step, ppm;
		if (i > 0)
			acc = sat_add(acc, mul_ppm(breaks[i] - breaks[i - 1], prev_ppm));
		state_at(rs, nr, breaks[i], &step, &ppm);
		fn->seg[i] = (struct fl_clkseg){breaks[i], sat_add(step, acc), ppm};
		prev_ppm = ppm;
	}
	fn->nseg = nb;
	fn->c = base;
	return 0;
}

void fl__clkfn_linear(struct fl_clkfn *fn, int64_t d, int64_t ppm)
{
	fn->nseg = 0;
	fn->c = d;
	fn->kind = d ? FL_CLKFN_CONST : FL_CLKFN_IDENT;
	if (ppm == 0)
		return;
	fn->kind = FL_CLKFN_PIECES;
	fn->c = d;
	if (ppm < FL_PPM_FROZEN)
		ppm = FL_PPM_FROZEN;
	if (ppm > PPM * PPM)
		ppm = PPM * PPM;
	fn->seg[0] = (struct fl_clkseg){0, d, ppm};
	fn->nseg = 1;
}

void fl__clkfn_shift(struct fl_clkfn *fn, int64_t add)
{
	if (add == 0)
		return;
	fn->c = sat_add(fn->c, add);
	for (unsigned i = 0; i < fn->nseg; i++)
		fn->seg[i].d = sat_add(fn->seg[i].d, add);
	if (fn->kind == FL_CLKFN_IDENT)
		fn->kind = FL_CLKFN_CONST;
}

/* ---- (3) applying and inverting ------------------------------------------- */

/* Index of the segment holding t, or -1 before the first break. */
static int seg_of(const struct fl_clkfn *fn, int64_t t)
{
	int lo = 0, hi = (int)fn->nseg; /* first seg with .t > t */

	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (fn->seg[mid].t <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo - 1;
}

static int64_t delta_in(const struct fl_clkfn *fn, int i, int64_t t)
{
	if (i < 0)
		return fn->c;
	return sat_add(fn->seg[i].d, mul_ppm(t - fn->seg[i].t, fn->seg[i].ppm));
}

int64_t fl__clkfn_apply(const struct fl_clkfn *fn, int64_t v, int64_t t)
{
	switch (fn->kind) {
	case FL_CLKFN_CONST:
		return sat_add(v, fn->c);
	case FL_CLKFN_FROZEN:
		return fn->c;
	case FL_CLKFN_PIECES: {
		int i = seg_of(fn, t);
		/* frozen: v - t wobbles with how each process maps the clock to
		 * run time; the canonical value does not */
		if (i >= 0 && fn->seg[i].ppm == FL_PPM_FROZEN)
			return sat_add(fn->base, sat_add(fn->seg[i].t, fn->seg[i].d));
		return sat_add(v, delta_in(fn, i, t));
	}
	default:
		return v;
	}
}

/* g(t) = t + delta(t): the fake clock's progress on the run-time axis. */
static int64_t g_in(const struct fl_clkfn *fn, int i, int64_t t)
{
	return sat_add(t, delta_in(fn, i, t));
}

int64_t fl__clkfn_wait(const struct fl_clkfn *fn, int64_t t, int64_t rem)
{
	int i;
	int64_t target;

	if (rem <= 0)
		return 0;
	if (fn->kind != FL_CLKFN_PIECES)
		return rem;
	i = seg_of(fn, t);
	target = sat_add(g_in(fn, i, t), rem);
	for (int64_t s = t;; i++) {
		int64_t end = i + 1 < (int)fn->nseg ? fn->seg[i + 1].t : INT64_MAX;
		int64_t ppm = i < 0 ? 0 : fn->seg[i].ppm, gs = g_in(fn, i, s);
		if (gs >= target)
			return s - t;
		if (ppm > FL_PPM_FROZEN) {
			/* g rises at (1e6 + ppm) / 1e6 ns per ns: round up */
			__int128 need = ((__int128)target - gs) * PPM;
			__int128 dt = (need + (PPM + ppm) - 1) / (PPM + ppm);
			if (dt < (__int128)end - s) {
				int64_t e = s + (int64_t)dt;
				/* truncation in delta: settle on the exact ns */
				while (e + 1 < end && g_in(fn, i, e) < target)
					e++;
				while (e > s && g_in(fn, i, e - 1) >= target)
					e--;
				return sat_sub(e, t);
			}
		} else if (end == INT64_MAX) {
			return rem; /* frozen for good: sleeps still pass */
		}
		if (end == INT64_MAX)
			return INT64_MAX;
		s = end;
	}
}

/* ---- (4) FAKETIME ----------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* A decimal number with an optional fraction ('.' or ',', as libfaketime
 * accepts either), scaled by unit ns. */
static const char *parse_scaled(const char *s, int64_t unit, int64_t *out)
{
	int64_t ip = 0, frac = 0, scale = 1;

	if (!is_digit(*s))
		return NULL;
	for (; is_digit(*s); s++)
		if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, *s - '0', &ip))
			return NULL;
	if (*s == '.' || *s == ',') {
		for (s++; is_digit(*s); s++)
			if (scale < NS_PER_S) {
				frac = frac * 10 + (*s - '0');
				scale *= 10;
			}
	}
	if (__builtin_mul_overflow(ip, unit, &ip))
		return NULL;
	/* frac/scale of a unit: unit <= 1e16 and frac < scale <= 1e9 */
	*out = sat_add(ip, (int64_t)((__int128)frac * unit / scale));
	return s;
}

static const char *parse_int(const char *s, int *out, int maxdig)
{
	int v = 0, n = 0;

	for (; is_digit(*s) && n < maxdig; s++, n++)
		v = v * 10 + (*s - '0');
	if (n == 0)
		return NULL;
	*out = v;
	return s;
}

/* "YYYY-MM-DD hh:mm:ss[.frac]" as libfaketime's strptime("%Y-%m-%d %T"). */
static const char *parse_abs(const char *s, struct fl_faketime *ft)
{
	int v[6];
	static const char sep[] = "-- ::";

	for (int i = 0; i < 6; i++) {
		if (i > 0) {
			if (*s != sep[i - 1])
				return NULL;
			for (s++; i == 3 && *s == ' '; s++)
				;
		}
		if (!(s = parse_int(s, &v[i], i == 0 ? 6 : 2)))
			return NULL;
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 || v[3] > 23 ||
	    v[4] > 59 || v[5] > 60)
		return NULL;
	memset(&ft->tm, 0, sizeof(ft->tm));
	ft->tm.tm_year = v[0] - 1900;
	ft->tm.tm_mon = v[1] - 1;
	ft->tm.tm_mday = v[2];
	ft->tm.tm_hour = v[3];
	ft->tm.tm_min = v[4];
	ft->tm.tm_sec = v[5];
	ft->tm.tm_isdst = -1;
	ft->frac_ns = 0;
	if ((*s == '.' || *s == ',') && is_digit(s[1])) {
		int64_t scale = NS_PER_S;
		for (s++; is_digit(*s); s++)
			if (scale > 1) {
				scale /= 10;
				ft->frac_ns += (*s - '0') * scale;
			}
	}
	return s;
}

/* Optional "xN" speed after the time (spaces allowed before it). */
static int parse_rate(const char *s, struct fl_faketime *ft)
{
	int64_t x;

	while (*s == ' ' || *s == '\t')
		s++;
	ft->rate_ppm = 0;
	if (*s != 'x')
		return 0; /* "iN" and anything else: ignored, as unsupported */
	if (!parse_scaled(s + 1, PPM, &x))
		return -EINVAL;
	ft->rate_ppm = x - PPM;
	return 0;
}

int fl__faketime_parse(const char *s, struct fl_faketime *ft)
{
	memset(ft, 0, sizeof(*ft));
	if (!s)
		return -EINVAL;
	if (*s == '+' || *s == '-') {
		static const struct { char c; int64_t ns; } units[] = {
			{'s', NS_PER_S}, {'m', 60 * NS_PER_S}, {'h', 3600 * NS_PER_S},
			{'d', 86400 * NS_PER_S}, {'y', 365 * 86400 * NS_PER_S},
		};
		int64_t unit = NS_PER_S, mag;
		const char *p = s + 1, *q;
		size_t k;

		for (q = p; is_digit(*q) || *q == '.' || *q == ','; q++)
			;
		for (k = 0; k < sizeof(units) / sizeof(units[0]); k++)
			if (*q == units[k].c)
				unit = units[k].ns;
		if (!(p = parse_scaled(p, unit, &mag)))
			goto bad;
		if (*p >= 'a' && *p <= 'z' && *p != 'x' && *p != 'i')
			p++; /* the unit (an unknown one counts as seconds) */
		ft->off_ns = *s == '-' ? -mag : mag;
		ft->mode = FL_FT_REL;
		if (parse_rate(p, ft))
			goto bad;
		return 0;
	}
	ft->mode = *s == '@' ? FL_FT_START : FL_FT_FROZEN;
	if (!(s = parse_abs(*s == '@' ? s + 1 : s, ft)))
		goto bad;
	if (ft->mode == FL_FT_START && parse_rate(s, ft))
		goto bad;
	return 0;
bad:
	memset(ft, 0, sizeof(*ft));
	return -EINVAL;
}

int fl__faketime_start(const struct fl_faketime *ft, int64_t real_ns,
		       int64_t sec, int64_t *start_ns)
{
	int64_t ns;

	if (ft->mode == FL_FT_REL)
		return __builtin_add_overflow(real_ns, ft->off_ns, start_ns) ? -ERANGE : 0;
	if (__builtin_mul_overflow(sec, NS_PER_S, &ns) ||
	    __builtin_add_overflow(ns, ft->frac_ns, &ns))
		return -ERANGE;
	*start_ns = ns;
	return 0;
}
