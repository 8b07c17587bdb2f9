/*
 * profile_rules.c — the "rules" array of a profile or scenario.
 *
 * Grammar (the keys listed are the complete set for each kind of rule)
 *   op rule:    {"target": NAME, "op": OP, "fault": FAULT, params...,
 *                "nth": "3" | "3-5" | "3+" | 3,      1-based, inclusive
 *                "window_ms": [from, to],            run time, from <= t < to
 *                "probability": 0..1,
 *                "note": "...",
 *                "scale": {"signal", "lo", "hi"},    scenarios only
 *                "when_signal": {"signal", "below" | "above"}},  scenarios only
 *                "layer": "bpf"}   applied by the eBPF layer, for any binary
 *                in the cgroup: connect error (cgroup/connect4/6) and packet
 *                drop (implied for op "packet"); "probability" is the only
 *                condition it takes
 *   clock rule: {"clock": "realtime" | "monotonic" | "boottime",
 *                "fault": offset | drift | freeze | jump, params...,
 *                "window_ms": [from, to], "note": "..."}
 *   params, by fault (required unless marked optional; any other is an error):
 *     delay ms, jitter_ms (optional, <= ms)   late_ack ms   timeout ms
 *     error errno (the op's whitelist in ops.h; EAI_* for resolve)
 *     short bytes (>= 1)   hold until {target, op, nth} + max_ms
 *     reset: none   stale: window_ms, or ms on a socket target
 *     offset ms   drift ppm (> -1e6)   freeze: none, needs window_ms
 *     jump ms (applied at the window's start), needs window_ms
 *     drop: none (op "packet": "probability" of losing each packet)
 *   A monotonic or boottime clock never goes backwards: offset >= 0 and
 *   permanent (no window), jump > 0; drift > -1e6 ppm on every clock.
 *
 * Invariants
 *  - The parser keeps going after an error so every error is reported, but
 *    never reports one mistake twice (an unknown fault skips its params).
 *  - Times are stored in ns (ms * 1e6, rounded); prob_thresh = p * 2^64
 *    clamped, UINT64_MAX for p == 1 and for rules without "probability".
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "jsonutil.h"
#include "market/market.h"
#include "profile.h"
#include "schema.h"

#define MAX_DELAY_MS 86400000.0   /* 24 h: delays, timeouts, holds */
#define MAX_CLOCK_MS 1e12         /* ~31 years: clock offsets, jumps */
#define MAX_WINDOW_MS 1e12
#define MAX_BYTES (1LL << 30)
#define MAX_PPM 1000000000LL      /* 1000x speed */
#define EXACT_MAX 9007199254740992.0 /* 2^53 */

/* Fault parameters: bit i is param_keys[i]. */
enum { P_MS = 1, P_JITTER = 2, P_ERRNO = 4, P_BYTES = 8, P_UNTIL = 16,
       P_MAX_MS = 32, P_PPM = 64 };
#define P__N 7
static const char *const param_keys[P__N] = {
	"ms", "jitter_ms", "errno", "bytes", "until", "max_ms", "ppm",
};
static const struct {
	uint8_t req, opt;
} fault_params[FL_FAULT__COUNT] = {
	[FL_FAULT_DELAY] = { P_MS, P_JITTER },
	[FL_FAULT_LATE_ACK] = { P_MS, 0 },
	[FL_FAULT_ERROR] = { P_ERRNO, 0 },
	[FL_FAULT_TIMEOUT] = { P_MS, 0 },
	[FL_FAULT_SHORT] = { P_BYTES, 0 },
	[FL_FAULT_HOLD] = { P_UNTIL | P_MAX_MS, 0 },
	[FL_FAULT_STALE] = { 0, P_MS },
	[FL_FAULT_OFFSET] = { P_MS, 0 },
	[FL_FAULT_DRIFT] = { P_PPM, 0 },
	[FL_FAULT_JUMP] = { P_MS, 0 },
};

static const char *const op_rule_keys[] = {
	"target", "op", "fault", "nth", "window_ms", "probability", "note",
	"scale", "when_signal", "ms", "jitter_ms", "errno", "bytes", "until",
	"max_ms", "ppm", "layer", NULL,
};
static const char *const clock_rule_keys[] = {
	"clock", "fault", "window_ms", "note", "ms", "jitter_ms", "errno",
	"bytes", "until", "max_ms", "ppm", NULL,
};
static const char *const until_keys[] = { "target", "op", "nth", NULL };
static const char *const scale_keys[] = { "signal", "lo", "hi", NULL };
static const char *const when_keys[] = { "signal", "below", "above", NULL };

/* One rule being parsed. */
struct rctx {
	struct fl_jctx *c;
	struct fl_profile *p;
	const cJSON *r;   /* the rule object */
	const char *path; /* "rules[3]" */
	struct fl_rule *rule;
	struct fl_binding *b;
	bool ms_ok;       /* "ms" parsed: rule->ns holds it */
};

typedef void param_fn(struct rctx *x, const char *path);

/* ---- small helpers -------------------------------------------------------- */

/* The JSON text of v, shortened, for "; got ..." */
static const char *got(const cJSON *v, char *buf, size_t n)
{
	char *s = cJSON_PrintUnformatted(v);

	snprintf(buf, n, "%s", s ? s : fl_json_type(v));
	if (s && strlen(s) >= n && n > 4)
		strcpy(buf + n - 4, "...");
	free(s);
	return buf;
}

static int64_t ms_to_ns(double ms)
{
	return (int64_t)llround(ms * 1e6);
}

/* The string value of obj[key], or NULL (with an error when it is required
 * and missing, or present and not a string). */
static const char *get_str(struct fl_jctx *c, const cJSON *obj, const char *path,
			   const char *key, bool required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	char dummy[1];

	if (cJSON_IsString(v))
		return v->valuestring;
	if (v || required)
		fl_json_str(c, obj, path, key, required, dummy, sizeof(dummy));
	return NULL;
}

static bool has(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key) != NULL;
}

/* Names name(i) for the bits i set in mask, separated by sep. */
static const char *names_of(char *buf, size_t n, const char *(*name)(int),
			    int count, unsigned long long mask, const char *sep)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < count && o < n; i++)
		if ((mask >> i) & 1u)
			o += (size_t)snprintf(buf + o, n - o, "%s%s", o ? sep : "",
					      name(i));
	return buf;
}

static unsigned long long op_fault_mask(void)
{
	unsigned long long m = 0;

	for (int f = 1; f < FL_FAULT__COUNT; f++)
		if (!fl_fault_is_clock(f))
			m |= 1ull << f;
	return m;
}

static unsigned long long faults_for_op(int op)
{
	unsigned long long m = 0;

	for (int f = 1; f < FL_FAULT__COUNT; f++)
		if (fl_fault_valid_for_op(f, op))
			m |= 1ull << f;
	return m;
}

/* ---- target, op, fault ------------------------------------------------------ */

static const char *known_targets(const struct fl_profile *p, char *buf, size_t n)
{
	size_t o = 0;

	snprintf(buf, n, "none (the file has no \"targets\")");
	for (uint32_t i = 1; i < p->ntargets && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%s", i > 1 ? ", " : "",
				      p->targets[i].name);
	return buf;
}

/* obj["target"] (obj's path is `path`) as a target id, or 0. */
static int lookup_target(struct rctx *x, const cJSON *obj, const char *path)
{
	const char *name = get_str(x->c, obj, path, "target", true);
	struct fl_jpath kp;
	char known[1024];
	int id;

	if (!name)
		return 0;
	id = fl__profile_target_id(x->p, name);
	if (!id)
		fl_jerr(x->c, fl_jpath_key(&kp, path, "target"),
			"unknown target \"%.64s\"; known: %s", name,
			known_targets(x->p, known, sizeof(known)));
	return id;
}

/* obj["op"] as an op, or 0; checks it applies to target `t` (0: unknown). */
static int lookup_op(struct rctx *x, const cJSON *obj, const char *path, int t)
{
	const char *name = get_str(x->c, obj, path, "op", true);
	unsigned kops = t ? fl_target_kind_ops(x->p->targets[t].kind) : FL_OPS_ALL;
	struct fl_jpath kp;
	char list[256];
	int op;

	if (!name)
		return 0;
	fl_jpath_key(&kp, path, "op");
	op = fl_op_by_name(name);
	if (op < 0) {
		fl_jerr(x->c, kp.s, "expected one of %s; got \"%.64s\"",
			names_of(list, sizeof(list), fl_op_name, FL_OP__COUNT,
				 FL_OPS_ALL | FL_OPBIT(PACKET), " "), name);
		return 0;
	}
	if (t && kops && !((kops >> op) & 1u))
		fl_jerr(x->c, kp.s, "op \"%s\" does not apply to target \"%s\" (%s); "
			"expected one of %s%s", name, x->p->targets[t].name,
			fl_target_kind_name(x->p->targets[t].kind),
			names_of(list, sizeof(list), fl_op_name, FL_OP__COUNT, kops, " "),
			(kops & FL_OPBIT(RECV)) && (op == FL_OP_READ || op == FL_OP_WRITE)
			? " (read and write on a socket count as recv and send)" : "");
	return op;
}

static int unknown_fault(struct rctx *x, const char *path, const char *name,
			 bool clock)
{
	unsigned long long m = clock ? op_fault_mask() ^ ((1ull << FL_FAULT__COUNT) - 2)
				     : op_fault_mask();
	char list[256];

	fl_jerr(x->c, path, "expected one of %s%s; got \"%.64s\"",
		names_of(list, sizeof(list), fl_fault_name, FL_FAULT__COUNT, m, " "),
		clock ? " (a clock rule)" : "", name);
	return -1;
}

/* The rule's fault, or -1. For op rules, checks it is valid for rule->op. */
static int rule_fault(struct rctx *x, bool clock)
{
	const char *name = get_str(x->c, x->r, x->path, "fault", true);
	struct fl_jpath kp;
	char list[256];
	int f;

	if (!name)
		return -1;
	fl_jpath_key(&kp, x->path, "fault");
	f = fl_fault_by_name(name);
	if (f >= 0 && !clock && fl_fault_is_clock(f)) {
		fl_jerr(x->c, kp.s, "\"%s\" is a clock fault: a clock rule has "
			"\"clock\" instead of \"target\" and \"op\"", name);
		return -1;
	}
	if (f < 0 || clock != fl_fault_is_clock(f))
		return unknown_fault(x, kp.s, name, clock);
	x->rule->fault = (uint8_t)f;
	if (!clock && x->rule->op && !fl_fault_valid_for_op(f, x->rule->op))
		fl_jerr(x->c, kp.s, "fault \"%s\" is not valid for op \"%s\"; "
			"valid for %s: %s", name, fl_op_name(x->rule->op),
			fl_op_name(x->rule->op),
			names_of(list, sizeof(list), fl_fault_name, FL_FAULT__COUNT,
				 faults_for_op(x->rule->op), " "));
	return f;
}

/* ---- when: nth, window, probability ----------------------------------------- */

/* Decimal digits into *out (at least one, no overflow); advances *s. */
static bool parse_count(const char **s, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;

	if (*p < '0' || *p > '9')
		return false;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return true;
}

/* "N", "N-M", "N+" (range) or "N" (not range), N >= 1, N <= M. */
static bool nth_from_str(const char *s, bool range, uint64_t *lo, uint64_t *hi)
{
	if (!parse_count(&s, lo) || *lo == 0)
		return false;
	*hi = *lo;
	if (*s == '\0')
		return true;
	if (!range)
		return false;
	if (strcmp(s, "+") == 0) {
		*hi = UINT64_MAX;
		return true;
	}
	s++;
	return s[-1] == '-' && parse_count(&s, hi) && *s == '\0' && *lo <= *hi;
}

/* obj["nth"]: 1 when set, 0 when absent (and optional), -1 on error. */
static int get_nth(struct fl_jctx *c, const cJSON *obj, const char *path,
		   bool required, bool range, uint64_t *lo, uint64_t *hi)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "nth");
	const char *what = range
		? "\"N\", \"N-M\" or \"N+\" (1 <= N <= M), or an integer N >= 1"
		: "an integer N >= 1 or \"N\"";
	struct fl_jpath kp;
	char g[64];

	fl_jpath_key(&kp, path, "nth");
	if (!v && !required)
		return 0;
	if (!v)
		return fl_jerr(c, kp.s, "missing; expected %s", what), -1;
	if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= EXACT_MAX &&
	    v->valuedouble == floor(v->valuedouble)) {
		*lo = *hi = (uint64_t)v->valuedouble;
		return 1;
	}
	if (cJSON_IsString(v) && nth_from_str(v->valuestring, range, lo, hi))
		return 1;
	fl_jerr(c, kp.s, "expected %s; got %s", what, got(v, g, sizeof(g)));
	return -1;
}

static void rule_window(struct rctx *x)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(x->r, "window_ms");
	const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);
	struct fl_jpath kp;
	char g[64];

	if (!v)
		return;
	if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2 || !cJSON_IsNumber(a) ||
	    !cJSON_IsNumber(b) || !(a->valuedouble >= 0) ||
	    !(a->valuedouble < b->valuedouble) || !(b->valuedouble <= MAX_WINDOW_MS)) {
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "window_ms"),
			"expected [FROM, TO] in ms of run time (FROM inclusive, TO "
			"exclusive) with 0 <= FROM < TO <= 1e12; got %s",
			got(v, g, sizeof(g)));
		return;
	}
	x->rule->flags |= FL_RF_WINDOW;
	x->rule->win_from_ns = ms_to_ns(a->valuedouble);
	x->rule->win_to_ns = ms_to_ns(b->valuedouble);
}

/* p * 2^64, clamped; 1 -> UINT64_MAX ("always"). */
static uint64_t prob_thresh(double p)
{
	double x = p * 18446744073709551616.0;

	if (p >= 1.0 || x >= 18446744073709551616.0)
		return UINT64_MAX;
	return x <= 0 ? 0 : (uint64_t)x;
}

static void rule_when(struct rctx *x)
{
	struct fl_rule *rule = x->rule;
	double p;

	if (get_nth(x->c, x->r, x->path, false, true, &rule->nth_lo, &rule->nth_hi) > 0)
		rule->flags |= FL_RF_NTH;
	rule_window(x);
	if (has(x->r, "probability") &&
	    fl_json_num(x->c, x->r, x->path, "probability", true, 0, 1, &p) == 0) {
		rule->flags |= FL_RF_PROB;
		rule->prob_thresh = prob_thresh(p);
	}
}

/* ---- params ------------------------------------------------------------------ */

static void p_ms(struct rctx *x, const char *path)
{
	bool clk = fl_fault_is_clock(x->rule->fault);
	double ms;

	if (fl_json_num(x->c, x->r, x->path, "ms", true, clk ? -MAX_CLOCK_MS : 0,
			clk ? MAX_CLOCK_MS : MAX_DELAY_MS, &ms) == 0) {
		x->rule->ns = ms_to_ns(ms);
		x->ms_ok = true;
	}
}

static void p_jitter(struct rctx *x, const char *path)
{
	double j;

	if (fl_json_num(x->c, x->r, x->path, "jitter_ms", true, 0, MAX_DELAY_MS, &j))
		return;
	if (x->ms_ok && ms_to_ns(j) > x->rule->ns)
		fl_jerr(x->c, path, "expected at most ms (%g); got %g",
			(double)x->rule->ns / 1e6, j);
	else
		x->rule->jitter_ns = ms_to_ns(j);
}

static void p_errno(struct rctx *x, const char *path)
{
	const char *name = get_str(x->c, x->r, x->path, "errno", true);
	int op = x->rule->op, e;

	if (!name || op <= 0)
		return; /* a bad op is reported already */
	if (fl_errno_by_name(name, &e) && fl_errno_valid_for_op(op, e))
		x->rule->err = e;
	else
		fl_jerr(x->c, path, "expected one of %s; got \"%.64s\"",
			fl_op_errnos(op), name);
}

static void p_bytes(struct rctx *x, const char *path)
{
	long long n;

	if (fl_json_int(x->c, x->r, x->path, "bytes", true, 1, MAX_BYTES, &n) == 0)
		x->rule->bytes = n;
}

static void p_until(struct rctx *x, const char *path)
{
	const cJSON *u = fl_json_obj(x->c, x->r, x->path, "until", true);
	uint64_t lo, hi;
	int t;

	if (!u)
		return;
	fl_json_only_keys(x->c, u, path, until_keys);
	t = lookup_target(x, u, path);
	x->rule->until_target = (uint8_t)t;
	x->rule->until_op = (uint8_t)lookup_op(x, u, path, t);
	if (get_nth(x->c, u, path, true, false, &lo, &hi) > 0)
		x->rule->until_nth = lo;
	x->rule->flags |= FL_RF_UNTIL;
}

static void p_max_ms(struct rctx *x, const char *path)
{
	double ms;

	if (fl_json_num(x->c, x->r, x->path, "max_ms", true, 1, MAX_DELAY_MS, &ms) == 0)
		x->rule->ns = x->rule->until_max_ns = ms_to_ns(ms);
}

static void p_ppm(struct rctx *x, const char *path)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(x->r, "ppm");
	long long n;

	if (cJSON_IsNumber(v) && v->valuedouble <= -1e6) {
		fl_jerr(x->c, path, "expected > -1000000 (a drift of -1000000 ppm or "
			"less stops the clock or runs it backwards); got %g",
			v->valuedouble);
		return;
	}
	if (fl_json_int(x->c, x->r, x->path, "ppm", true, -999999, MAX_PPM, &n) == 0)
		x->rule->ppm = n;
}

static param_fn *const param_fns[P__N] = {
	p_ms, p_jitter, p_errno, p_bytes, p_until, p_max_ms, p_ppm,
};

static void rule_params(struct rctx *x, int fault)
{
	unsigned req = fault_params[fault].req, ok = req | fault_params[fault].opt;
	const char *fname = fl_fault_name(fault);
	struct fl_jpath kp;
	char list[128];

	list[0] = '\0';
	for (int i = 0, o = 0; i < P__N; i++)
		if ((ok >> i) & 1u)
			o += snprintf(list + o, sizeof(list) - (size_t)o, "%s%s",
				      o ? " " : "", param_keys[i]);
	for (int i = 0; i < P__N; i++) {
		bool present = has(x->r, param_keys[i]);

		fl_jpath_key(&kp, x->path, param_keys[i]);
		if (present && !((ok >> i) & 1u))
			fl_jerr(x->c, kp.s, "not a parameter of fault \"%s\" (%s%s)",
				fname, *list ? "it takes: " : "it takes none", list);
		else if (!present && ((req >> i) & 1u))
			fl_jerr(x->c, kp.s, "missing; fault \"%s\" needs it", fname);
		else if (present)
			param_fns[i](x, kp.s);
	}
}

/* ---- bindings (scenarios) ------------------------------------------------------ */

static const char *signal_name(int i)
{
	return mkt_signal_name(i);
}

/* obj["signal"] as a signal id, or -1. */
static int get_signal(struct rctx *x, const cJSON *obj, const char *path)
{
	const char *name = get_str(x->c, obj, path, "signal", true);
	struct fl_jpath kp;
	char list[1024];
	int s;

	if (!name)
		return -1;
	s = mkt_signal_by_name(name);
	if (s < 0)
		fl_jerr(x->c, fl_jpath_key(&kp, path, "signal"),
			"unknown signal \"%.64s\"; expected one of %s", name,
			names_of(list, sizeof(list), signal_name, MKT_SIG__COUNT,
				 (1ull << MKT_SIG__COUNT) - 1, " "));
	return s;
}

static void parse_scale(struct rctx *x, const cJSON *s, const char *path)
{
	double lo = 0, hi = 0;
	struct fl_jpath kp;
	int e;

	fl_json_only_keys(x->c, s, path, scale_keys);
	if (!cJSON_IsObject(s))
		return;
	x->b->signal = get_signal(x, s, path);
	e = fl_json_num(x->c, s, path, "lo", true, -DBL_MAX, DBL_MAX, &lo);
	e |= fl_json_num(x->c, s, path, "hi", true, -DBL_MAX, DBL_MAX, &hi);
	if (e == 0 && !(lo < hi))
		fl_jerr(x->c, fl_jpath_key(&kp, path, "hi"),
			"expected a number > lo (%g); got %g", lo, hi);
	x->b->scale = true;
	x->b->lo = lo;
	x->b->hi = hi;
}

static void parse_when(struct rctx *x, const cJSON *w, const char *path)
{
	struct fl_binding *b = x->b;
	struct fl_jpath kp;
	int s;

	fl_json_only_keys(x->c, w, path, when_keys);
	if (!cJSON_IsObject(w))
		return;
	s = get_signal(x, w, path);
	if (s >= 0 && b->scale && b->signal >= 0 && s != b->signal)
		fl_jerr(x->c, fl_jpath_key(&kp, path, "signal"), "expected the signal "
			"of \"scale\" (%s); got \"%s\"", mkt_signal_name(b->signal),
			mkt_signal_name(s));
	b->signal = s;
	b->when = true;
	b->has_below = has(w, "below");
	b->has_above = has(w, "above");
	if (b->has_below == b->has_above)
		fl_jerr(x->c, path, "expected exactly one of \"below\" or \"above\"");
	fl_json_num(x->c, w, path, "below", false, -DBL_MAX, DBL_MAX, &b->below);
	fl_json_num(x->c, w, path, "above", false, -DBL_MAX, DBL_MAX, &b->above);
}

static void rule_bindings(struct rctx *x)
{
	static const char *const keys[] = { "scale", "when_signal" };
	struct fl_jpath kp;

	for (int i = 0; i < 2; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(x->r, keys[i]);

		if (!v)
			continue;
		fl_jpath_key(&kp, x->path, keys[i]);
		if (!x->p->is_scenario) {
			fl_jerr(x->c, kp.s, "only allowed in a scenario (a file with "
				"\"market\")");
			continue;
		}
		if (i == 0)
			parse_scale(x, v, kp.s);
		else
			parse_when(x, v, kp.s);
		x->rule->flags |= FL_RF_SCALED;
	}
}

/* ---- rules ----------------------------------------------------------------------- */

/* stale: a file is stale from the window's start (its snapshot) to its
 * end; a socket's data is withheld until the window's end, or for "ms"
 * after the call (what a signal-bound rule in a scenario uses). */
static void stale_checks(struct rctx *x)
{
	const struct fl_rule *r = x->rule;
	bool win = r->flags & FL_RF_WINDOW, path;
	struct fl_jpath kp;

	path = r->target && r->target < x->p->ntargets &&
	       x->p->targets[r->target].kind == FL_TK_PATH;
	if (!win && (path || !cJSON_GetObjectItemCaseSensitive(x->r, "ms")))
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "window_ms"),
			"missing; fault \"stale\" needs it (reads are stale from the "
			"window's start to its end)%s", path ? "" :
			", or \"ms\" (data withheld for ms after the call)");
	if (win && cJSON_GetObjectItemCaseSensitive(x->r, "ms"))
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "ms"),
			"not allowed with window_ms: a stale window ends at its end");
}

/* "layer": "bpf", implied by op "packet": what the eBPF injectors can do. */
static void kernel_checks(struct rctx *x)
{
	static const char *const no[] = { "nth", "window_ms" };
	const char *l = get_str(x->c, x->r, x->path, "layer", false);
	struct fl_rule *r = x->rule;
	struct fl_jpath kp;

	if (l && strcmp(l, "bpf"))
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "layer"), "expected \"bpf\" "
			"(the only layer a rule names; the others follow --mode); "
			"got \"%.32s\"", l);
	if (!l && r->op != FL_OP_PACKET)
		return;
	r->flags |= FL_RF_KERNEL;
	if (!(r->op == FL_OP_CONNECT && r->fault == FL_FAULT_ERROR) &&
	    !(r->op == FL_OP_PACKET && r->fault == FL_FAULT_DROP) && r->op && r->fault &&
	    fl_fault_valid_for_op(r->fault, r->op)) /* else said already */
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "layer"), "the bpf layer "
			"does connect error and packet drop; got %s %s",
			fl_op_name(r->op), fl_fault_name(r->fault));
	if (r->target && r->target < x->p->ntargets &&
	    x->p->targets[r->target].kind != FL_TK_TCP &&
	    x->p->targets[r->target].kind != FL_TK_UDP)
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "target"), "the bpf layer "
			"needs a tcp or udp target");
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		if (has(x->r, no[i]))
			fl_jerr(x->c, fl_jpath_key(&kp, x->path, no[i]), "not supported "
				"by the bpf layer (\"probability\" is, and in a scenario "
				"\"scale\" and \"when_signal\")");
}

static void op_rule(struct rctx *x)
{
	int t, f;

	fl_json_only_keys(x->c, x->r, x->path, op_rule_keys);
	t = lookup_target(x, x->r, x->path);
	x->rule->target = (uint8_t)t;
	x->rule->op = (uint8_t)lookup_op(x, x->r, x->path, t);
	f = rule_fault(x, false);
	rule_when(x);
	if (f > 0)
		rule_params(x, f);
	if (f == FL_FAULT_STALE)
		stale_checks(x);
	rule_bindings(x);
	kernel_checks(x);
}

/* A monotonic or boottime clock must never go backwards. */
static void clock_checks(struct rctx *x, int f)
{
	const struct fl_rule *r = x->rule;
	const char *cname = fl_clock_name(r->clock);
	bool win = r->flags & FL_RF_WINDOW, mono = r->clock != FL_CLK_REALTIME;
	struct fl_jpath kp;

	if ((f == FL_FAULT_FREEZE || f == FL_FAULT_JUMP) && !win)
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "window_ms"),
			"missing; fault \"%s\" needs it", fl_fault_name(f));
	if (mono && f == FL_FAULT_OFFSET && win)
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "window_ms"),
			"not allowed for an offset of the %s clock: the offset must be "
			"permanent (removing it at the window's end would make the "
			"clock go backwards)", cname);
	fl_jpath_key(&kp, x->path, "ms");
	if (x->ms_ok && mono && f == FL_FAULT_OFFSET && r->ns < 0)
		fl_jerr(x->c, kp.s, "expected >= 0 for an offset of the %s clock (it "
			"must never go backwards); got %g", cname, (double)r->ns / 1e6);
	if (x->ms_ok && mono && f == FL_FAULT_JUMP && r->ns <= 0)
		fl_jerr(x->c, kp.s, "expected > 0 for a jump of the %s clock (it "
			"must never go backwards); got %g", cname, (double)r->ns / 1e6);
	if (x->ms_ok && !mono && f == FL_FAULT_JUMP && r->ns == 0)
		fl_jerr(x->c, kp.s, "expected a non-zero jump; got 0");
}

static void clock_rule(struct rctx *x)
{
	const char *name;
	struct fl_jpath kp;
	int clk, f;

	fl_json_only_keys(x->c, x->r, x->path, clock_rule_keys);
	x->rule->flags |= FL_RF_CLOCK;
	name = get_str(x->c, x->r, x->path, "clock", true);
	clk = name ? fl_clock_by_name(name) : -1;
	if (name && clk < 0)
		fl_jerr(x->c, fl_jpath_key(&kp, x->path, "clock"), "expected one of "
			"realtime monotonic boottime; got \"%.64s\"", name);
	x->rule->clock = clk < 0 ? 0 : (uint8_t)clk;
	f = rule_fault(x, true);
	rule_window(x);
	if (f <= 0)
		return;
	rule_params(x, f);
	if (clk >= 0)
		clock_checks(x, f);
}

static void parse_rule(struct fl_jctx *c, struct fl_profile *p, const cJSON *r, int i)
{
	struct fl_jpath path;
	struct rctx x = {
		.c = c, .p = p, .r = r, .path = fl_jpath_idx(&path, "rules", i),
		.rule = &p->rules[i], .b = &p->bind[i],
	};

	atomic_init(&x.rule->intensity, FL_INTENSITY_ONE);
	x.rule->prob_thresh = UINT64_MAX;
	if (!cJSON_IsObject(r))
		fl_jerr(c, x.path, "expected an object (a rule); got %s", fl_json_type(r));
	else if (has(r, "clock"))
		clock_rule(&x);
	else
		op_rule(&x);
}

void fl__profile_rules(struct fl_jctx *c, const cJSON *rules, struct fl_profile *p)
{
	const cJSON *r;
	int n = 0;

	if (!rules)
		return;
	cJSON_ArrayForEach(r, rules) {
		if (n < FL_MAX_RULES)
			parse_rule(c, p, r, n);
		n++;
	}
	p->nrules = (uint32_t)(n < FL_MAX_RULES ? n : FL_MAX_RULES);
	if (n > FL_MAX_RULES)
		fl_jerr(c, "rules", "too many rules (%d); at most %d", n, FL_MAX_RULES);
}

/* ---- schema (schema.h): the same tables as JSON Schema ------------------------ */

static cJSON *const_of(const char *v)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddStringToObject(o, "const", v);
	return o;
}

/* {"properties": {key: {"const": v}}, "required": [key]} */
static cJSON *is(const char *key, const char *v)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(cJSON_AddObjectToObject(o, "properties"), key, const_of(v));
	fl_sch_require(o, key);
	return o;
}

/* {"if": cond, "then": then} appended to all */
static void if_then(cJSON *all, cJSON *cond, cJSON *then)
{
	cJSON *c = cJSON_CreateObject();

	cJSON_AddItemToObject(c, "if", cond);
	cJSON_AddItemToObject(c, "then", then);
	cJSON_AddItemToArray(all, c);
}

static cJSON *enum_of(const char *(*name)(int), int count, unsigned long long mask)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "enum");

	for (int i = 0; i < count; i++)
		if ((mask >> i) & 1u)
			cJSON_AddItemToArray(a, cJSON_CreateString(name(i)));
	return o;
}

static cJSON *has_key(const char *key)
{
	cJSON *o = cJSON_CreateObject();

	fl_sch_require(o, key);
	return o;
}

/* Per fault: the parameters it requires, and the others forbidden. */
static cJSON *params_schema(int f)
{
	unsigned req = fault_params[f].req, ok = req | fault_params[f].opt;
	cJSON *o = cJSON_CreateObject(), *p = cJSON_AddObjectToObject(o, "properties");

	for (int i = 0; i < P__N; i++) {
		if (!((ok >> i) & 1u))
			cJSON_AddFalseToObject(p, param_keys[i]);
		if ((req >> i) & 1u)
			fl_sch_require(o, param_keys[i]);
	}
	return o;
}

static cJSON *nth_schema(bool range)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "anyOf"), *s;

	cJSON_AddItemToArray(a, fl_sch_int(1, EXACT_MAX));
	s = fl_sch_type("string");
	cJSON_AddStringToObject(s, "pattern", range ? "^0*[1-9][0-9]*(\\+|-[0-9]+)?$"
						    : "^0*[1-9][0-9]*$");
	cJSON_AddItemToArray(a, s);
	return fl_sch_doc(o, range ? "1-based: N, \"N\", \"N-M\" (N <= M) or \"N+\""
				   : "1-based: N or \"N\"");
}

static cJSON *window_schema(void)
{
	cJSON *a = fl_sch_type("array");

	cJSON_AddItemToObject(a, "items", fl_sch_num(0, MAX_WINDOW_MS));
	cJSON_AddNumberToObject(a, "minItems", 2);
	cJSON_AddNumberToObject(a, "maxItems", 2);
	return fl_sch_doc(a, "[FROM, TO] ms of run time, FROM inclusive, TO "
			  "exclusive, FROM < TO");
}

static cJSON *signal_enum(void)
{
	return enum_of(signal_name, MKT_SIG__COUNT, (1ull << MKT_SIG__COUNT) - 1);
}

static cJSON *binding_schemas(cJSON *p)
{
	cJSON *sp, *s = fl_sch_obj(&sp), *wp, *w = fl_sch_obj(&wp), *one;

	cJSON_AddItemToObject(sp, "signal", signal_enum());
	cJSON_AddItemToObject(sp, "lo", fl_sch_num(-DBL_MAX, DBL_MAX));
	cJSON_AddItemToObject(sp, "hi", fl_sch_num(-DBL_MAX, DBL_MAX));
	fl_sch_require(s, "signal");
	fl_sch_require(s, "lo");
	fl_sch_require(s, "hi");
	cJSON_AddItemToObject(p, "scale", fl_sch_doc(s, "intensity follows the "
		"signal from lo (0) to hi (1); lo < hi"));
	cJSON_AddItemToObject(wp, "signal", signal_enum());
	cJSON_AddItemToObject(wp, "below", fl_sch_num(-DBL_MAX, DBL_MAX));
	cJSON_AddItemToObject(wp, "above", fl_sch_num(-DBL_MAX, DBL_MAX));
	fl_sch_require(w, "signal");
	one = cJSON_AddArrayToObject(w, "oneOf");
	cJSON_AddItemToArray(one, has_key("below"));
	cJSON_AddItemToArray(one, has_key("above"));
	cJSON_AddItemToObject(p, "when_signal", fl_sch_doc(w, "armed only while "
		"the signal is below or above the value"));
	return p;
}

static void add_params(cJSON *p, bool clock)
{
	cJSON *up, *u;

	cJSON_AddItemToObject(p, "ms", clock ? fl_sch_num(-MAX_CLOCK_MS, MAX_CLOCK_MS)
					     : fl_sch_num(0, MAX_DELAY_MS));
	cJSON_AddItemToObject(p, "jitter_ms", fl_sch_doc(fl_sch_num(0, MAX_DELAY_MS),
		"at most ms"));
	cJSON_AddItemToObject(p, "errno", fl_sch_type("string"));
	cJSON_AddItemToObject(p, "bytes", fl_sch_int(1, (double)MAX_BYTES));
	u = fl_sch_obj(&up);
	cJSON_AddItemToObject(up, "target", fl_sch_type("string"));
	cJSON_AddItemToObject(up, "op", enum_of(fl_op_name, FL_OP__COUNT,
						FL_OPS_ALL | FL_OPBIT(PACKET)));
	cJSON_AddItemToObject(up, "nth", nth_schema(false));
	fl_sch_require(u, "target");
	fl_sch_require(u, "op");
	fl_sch_require(u, "nth");
	cJSON_AddItemToObject(p, "until", u);
	cJSON_AddItemToObject(p, "max_ms", fl_sch_num(1, MAX_DELAY_MS));
	cJSON_AddItemToObject(p, "ppm", fl_sch_int(-999999, (double)MAX_PPM));
}

static cJSON *op_rule_schema(bool scenario)
{
	static const char *const kernel_no[] = { "nth", "window_ms" };
	cJSON *p, *o = fl_sch_obj(&p), *all = cJSON_AddArrayToObject(o, "allOf");
	cJSON *k, *kp, *any, *c;

	cJSON_AddItemToObject(p, "target", fl_sch_doc(fl_sch_type("string"),
		"a name in \"targets\""));
	cJSON_AddItemToObject(p, "op", enum_of(fl_op_name, FL_OP__COUNT,
					       FL_OPS_ALL | FL_OPBIT(PACKET)));
	cJSON_AddItemToObject(p, "fault", enum_of(fl_fault_name, FL_FAULT__COUNT,
						  op_fault_mask()));
	cJSON_AddItemToObject(p, "nth", nth_schema(true));
	cJSON_AddItemToObject(p, "window_ms", window_schema());
	cJSON_AddItemToObject(p, "probability", fl_sch_num(0, 1));
	cJSON_AddItemToObject(p, "note", fl_sch_type("string"));
	if (scenario)
		binding_schemas(p);
	add_params(p, false);
	cJSON_AddItemToObject(p, "layer", fl_sch_doc(const_of("bpf"),
		"applied by the eBPF layer: connect error and packet drop"));
	fl_sch_require(o, "target");
	fl_sch_require(o, "op");
	fl_sch_require(o, "fault");
	for (int op = 1; op < FL_OP__COUNT; op++) {
		cJSON *t = cJSON_CreateObject(), *tp = cJSON_AddObjectToObject(t, "properties");

		cJSON_AddItemToObject(tp, "fault", enum_of(fl_fault_name, FL_FAULT__COUNT,
							   faults_for_op(op)));
		if (*fl_op_errnos(op))
			cJSON_AddItemToObject(tp, "errno", fl_sch_enum_words(fl_op_errnos(op)));
		if_then(all, is("op", fl_op_name(op)), t);
	}
	for (int f = 1; f < FL_FAULT__COUNT; f++)
		if (!fl_fault_is_clock(f))
			if_then(all, is("fault", fl_fault_name(f)), params_schema(f));
	/* stale: a window, or ms after the call; not both */
	c = cJSON_CreateObject();
	any = cJSON_AddArrayToObject(c, "oneOf");
	cJSON_AddItemToArray(any, has_key("window_ms"));
	cJSON_AddItemToArray(any, has_key("ms"));
	if_then(all, is("fault", "stale"), c);
	/* the eBPF layer: "layer": "bpf", or op "packet" */
	c = cJSON_CreateObject();
	any = cJSON_AddArrayToObject(c, "anyOf");
	cJSON_AddItemToArray(any, has_key("layer"));
	cJSON_AddItemToArray(any, is("op", "packet"));
	k = cJSON_CreateObject();
	kp = cJSON_AddObjectToObject(k, "properties");
	for (size_t i = 0; i < sizeof(kernel_no) / sizeof(kernel_no[0]); i++)
		cJSON_AddFalseToObject(kp, kernel_no[i]);
	any = cJSON_AddArrayToObject(k, "anyOf");
	cJSON_AddItemToArray(any, cJSON_CreateObject());
	cJSON_AddItemToArray(any, cJSON_CreateObject());
	cJSON_AddItemToObject(cJSON_GetArrayItem(any, 0), "allOf", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetArrayItem(any, 0)->child, is("op", "connect"));
	cJSON_AddItemToArray(cJSON_GetArrayItem(any, 0)->child, is("fault", "error"));
	cJSON_AddItemToObject(cJSON_GetArrayItem(any, 1), "allOf", cJSON_CreateArray());
	cJSON_AddItemToArray(cJSON_GetArrayItem(any, 1)->child, is("op", "packet"));
	cJSON_AddItemToArray(cJSON_GetArrayItem(any, 1)->child, is("fault", "drop"));
	if_then(all, c, k);
	return o;
}

static cJSON *clock_rule_schema(void)
{
	static const char *const clocks[] = { "realtime", "monotonic", "boottime", NULL };
	cJSON *p, *o = fl_sch_obj(&p), *all = cJSON_AddArrayToObject(o, "allOf");
	cJSON *mono, *t, *tp, *ms;

	cJSON_AddItemToObject(p, "clock", fl_sch_enum(clocks));
	cJSON_AddItemToObject(p, "fault", enum_of(fl_fault_name, FL_FAULT__COUNT,
		op_fault_mask() ^ ((1ull << FL_FAULT__COUNT) - 2)));
	cJSON_AddItemToObject(p, "window_ms", window_schema());
	cJSON_AddItemToObject(p, "note", fl_sch_type("string"));
	add_params(p, true);
	fl_sch_require(o, "clock");
	fl_sch_require(o, "fault");
	for (int f = 1; f < FL_FAULT__COUNT; f++)
		if (fl_fault_is_clock(f))
			if_then(all, is("fault", fl_fault_name(f)), params_schema(f));
	if_then(all, is("fault", "freeze"), has_key("window_ms"));
	if_then(all, is("fault", "jump"), has_key("window_ms"));
	/* monotonic and boottime never go backwards */
	mono = cJSON_CreateObject();
	cJSON_AddItemToObject(cJSON_AddObjectToObject(mono, "properties"), "clock",
			      fl_sch_enum(clocks + 1));
	fl_sch_require(mono, "clock");
	t = cJSON_CreateObject();
	cJSON_AddItemToObject(t, "allOf", cJSON_CreateArray());
	tp = cJSON_CreateObject();
	ms = cJSON_AddObjectToObject(cJSON_AddObjectToObject(tp, "properties"), "ms");
	cJSON_AddNumberToObject(ms, "minimum", 0);
	cJSON_AddFalseToObject(cJSON_GetObjectItem(tp, "properties"), "window_ms");
	if_then(cJSON_GetObjectItem(t, "allOf"), is("fault", "offset"), tp);
	tp = cJSON_CreateObject();
	ms = cJSON_AddObjectToObject(cJSON_AddObjectToObject(tp, "properties"), "ms");
	cJSON_AddNumberToObject(ms, "exclusiveMinimum", 0);
	if_then(cJSON_GetObjectItem(t, "allOf"), is("fault", "jump"), tp);
	if_then(all, mono, t);
	/* a realtime jump is not 0 */
	tp = cJSON_CreateObject();
	ms = cJSON_AddObjectToObject(cJSON_AddObjectToObject(tp, "properties"), "ms");
	cJSON_AddItemToObject(ms, "not", cJSON_CreateObject());
	cJSON_AddNumberToObject(cJSON_GetObjectItem(ms, "not"), "const", 0);
	if_then(all, is("fault", "jump"), tp);
	return o;
}

cJSON *fl__profile_rule_schema(bool scenario)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddItemToObject(o, "if", has_key("clock"));
	cJSON_AddItemToObject(o, "then", fl_sch_doc(clock_rule_schema(), "a clock rule"));
	cJSON_AddItemToObject(o, "else", fl_sch_doc(op_rule_schema(scenario),
		"an op rule: a fault on calls of op to target"));
	return fl_sch_doc(o, "a rule: an op rule ({target, op, fault}) or a clock "
			  "rule ({clock, fault})");
}
