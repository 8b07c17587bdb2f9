/*
 * budgets.c — failure budgets, windows and time to stability (see
 * budgets.h for every definition).
 *
 * Divisions: limits; recording (append only, no sorting: cheap enough to
 * call for every record on the loop); evaluation (sorts copies); the live
 * view; lines for people.
 *
 * Invariants
 *  - Recording never fails loudly: past FL_BG_MAX_SAMPLES probes (or on
 *    ENOMEM) samples are no longer kept but still counted, and the verdict
 *    notes it.
 *  - Evaluation is a pure function of what was recorded: the same records
 *    in any order give the same verdicts (ties in time keep their order of
 *    arrival; sorting is stable on (t, sequence)).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budgets.h"
#include "jsonutil.h"
#include "tlread.h"

/* ---- limits ------------------------------------------------------------------- */

void fl_budget_limits_init(struct fl_budget_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->probe_p99_ms = l->probe_error_rate = l->invariant_violations = -1;
	l->time_to_stable_s = l->max_faults = -1;
}

bool fl_budget_limits_any(const struct fl_budget_limits *l)
{
	return l->probe_p99_ms >= 0 || l->probe_error_rate >= 0 ||
	       l->invariant_violations >= 0 || l->time_to_stable_s >= 0 ||
	       l->max_faults >= 0 || l->nmetric > 0;
}

static const char *const budget_keys[] = {
	"max_faults", "probe_p99_ms", "probe_error_rate", "invariant_violations",
	"metric_max", "time_to_stable_s", NULL,
};

static void parse_metric_max(struct fl_jctx *c, const cJSON *b, const char *path,
			     struct fl_budget_limits *l)
{
	const cJSON *m = fl_json_obj(c, b, path, "metric_max", false);
	const cJSON *it;
	struct fl_jpath mp, jp;

	fl_jpath_key(&mp, path, "metric_max");
	cJSON_ArrayForEach(it, m) {
		fl_jpath_key(&jp, mp.s, it->string);
		if (!it->string[0] || strlen(it->string) >= sizeof(l->metric_max[0].name))
			fl_jerr(c, jp.s, "expected a metric name of 1..63 bytes");
		else if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
			fl_jerr(c, jp.s, "expected a number (the metric's maximum); got %s",
				fl_json_type(it));
		else if (l->nmetric == FL_BG_MAX_METRIC)
			fl_jerr(c, jp.s, "at most %d metrics", FL_BG_MAX_METRIC);
		else {
			snprintf(l->metric_max[l->nmetric].name,
				 sizeof(l->metric_max[0].name), "%s", it->string);
			l->metric_max[l->nmetric++].max = it->valuedouble;
		}
	}
}

int fl_budget_limits_parse(struct fl_jctx *c, const cJSON *b, const char *path,
			   struct fl_budget_limits *l)
{
	int nerr = c->nerr;
	long long n;

	fl_json_only_keys(c, b, path, budget_keys);
	if (fl_json_int(c, b, path, "max_faults", false, 0, 1LL << 53, &n) == 0 &&
	    cJSON_GetObjectItemCaseSensitive(b, "max_faults"))
		l->max_faults = (double)n;
	if (fl_json_int(c, b, path, "invariant_violations", false, 0, 1LL << 53, &n) == 0 &&
	    cJSON_GetObjectItemCaseSensitive(b, "invariant_violations"))
		l->invariant_violations = (double)n;
	fl_json_num(c, b, path, "probe_p99_ms", false, 0, 1e12, &l->probe_p99_ms);
	fl_json_num(c, b, path, "probe_error_rate", false, 0, 1, &l->probe_error_rate);
	fl_json_num(c, b, path, "time_to_stable_s", false, 0, 1e9, &l->time_to_stable_s);
	parse_metric_max(c, b, path, l);
	return c->nerr > nerr ? -EINVAL : 0;
}

/* ---- recording ---------------------------------------------------------------------- */

struct sample {
	double t, lat; /* lat NaN: none */
	uint32_t seq;
	uint16_t name;
	bool ok;
};

struct tvec { /* growable array of times */
	double *t;
	size_t n, cap;
};

struct fl_budgets {
	struct fl_budget_limits lim;
	double shock0, shock1;
	char pname[FL_BG_MAX_NAMES][64];
	int npname;
	struct sample *s;
	size_t ns, cap;
	uint64_t nprobe_total, lost;
	struct tvec viol, marks;
	double mmax[FL_BG_MAX_METRIC], mfirst[FL_BG_MAX_METRIC];
	double fault0, fault1;
	uint64_t nfaults;
	double spent_ms, end_ms;
	/* live view: the last bad record per budget */
	double last_slow, last_err, last_viol, last_metric;
};

int fl_budgets_new(const struct fl_budget_limits *lim, struct fl_budgets **out)
{
	struct fl_budgets *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	if (lim)
		b->lim = *lim;
	else
		fl_budget_limits_init(&b->lim);
	b->shock0 = b->shock1 = NAN;
	b->fault0 = b->fault1 = NAN;
	b->spent_ms = NAN;
	b->end_ms = 0;
	b->last_slow = b->last_err = b->last_viol = b->last_metric = NAN;
	for (int i = 0; i < FL_BG_MAX_METRIC; i++)
		b->mmax[i] = b->mfirst[i] = NAN;
	*out = b;
	return 0;
}

void fl_budgets__free(struct fl_budgets *b)
{
	if (!b)
		return;
	free(b->s);
	free(b->viol.t);
	free(b->marks.t);
	free(b);
}

const struct fl_budget_limits *fl_budgets_limits(const struct fl_budgets *b)
{
	return &b->lim;
}

void fl_budgets_set_shock(struct fl_budgets *b, double start_ms, double end_ms)
{
	b->shock0 = start_ms;
	b->shock1 = end_ms;
}

static void see(struct fl_budgets *b, double t)
{
	if (t > b->end_ms)
		b->end_ms = t;
}

void fl_budgets_end(struct fl_budgets *b, double t_ms)
{
	see(b, t_ms);
}

static int tvec_push(struct tvec *v, double t)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 64;
		double *p = realloc(v->t, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		v->t = p;
		v->cap = cap;
	}
	v->t[v->n++] = t;
	return 0;
}

/* Index of probe name; the last slot collects names past the table. */
static int pname_id(struct fl_budgets *b, const char *name)
{
	for (int i = 0; i < b->npname; i++)
		if (!strcmp(b->pname[i], name))
			return i;
	if (b->npname == FL_BG_MAX_NAMES)
		return FL_BG_MAX_NAMES - 1;
	snprintf(b->pname[b->npname], sizeof(b->pname[0]), "%s",
		 b->npname == FL_BG_MAX_NAMES - 1 ? "(other)" : name);
	return b->npname++;
}

void fl_budgets_probe(struct fl_budgets *b, double t_ms, const char *name, bool ok,
		      double latency_ms)
{
	struct sample *s;

	if (!isfinite(t_ms))
		return;
	see(b, t_ms);
	b->nprobe_total++;
	if (!ok)
		b->last_err = t_ms;
	if (b->lim.probe_p99_ms >= 0 && latency_ms > b->lim.probe_p99_ms)
		b->last_slow = t_ms;
	if (b->ns == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;

		if (cap > FL_BG_MAX_SAMPLES || !(s = realloc(b->s, cap * sizeof(*s)))) {
			b->lost++;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	s = &b->s[b->ns];
	*s = (struct sample){ t_ms, latency_ms, (uint32_t)b->ns,
			      (uint16_t)pname_id(b, name), ok };
	b->ns++;
}

void fl_budgets_metric(struct fl_budgets *b, double t_ms, const char *name, double v)
{
	if (!isfinite(t_ms) || !isfinite(v))
		return;
	see(b, t_ms);
	for (int i = 0; i < b->lim.nmetric; i++) {
		if (strcmp(b->lim.metric_max[i].name, name))
			continue;
		if (isnan(b->mmax[i]) || v > b->mmax[i])
			b->mmax[i] = v;
		if (v > b->lim.metric_max[i].max) {
			if (isnan(b->mfirst[i]) || t_ms < b->mfirst[i])
				b->mfirst[i] = t_ms;
			b->last_metric = t_ms;
		}
	}
}

void fl_budgets_invariant(struct fl_budgets *b, double t_ms, const char *name, bool ok)
{
	if (!isfinite(t_ms))
		return;
	see(b, t_ms);
	if (!ok) {
		tvec_push(&b->viol, t_ms);
		b->last_viol = t_ms;
	}
}

void fl_budgets_mark(struct fl_budgets *b, double t_ms)
{
	if (!isfinite(t_ms))
		return;
	see(b, t_ms);
	tvec_push(&b->marks, t_ms);
}

void fl_budgets_fault(struct fl_budgets *b, double t_ms)
{
	if (!isfinite(t_ms))
		return;
	see(b, t_ms);
	b->nfaults++;
	if (isnan(b->fault0) || t_ms < b->fault0)
		b->fault0 = t_ms;
	if (isnan(b->fault1) || t_ms > b->fault1)
		b->fault1 = t_ms;
}

void fl_budgets_faults_spent(struct fl_budgets *b, double t_ms)
{
	if (isnan(b->spent_ms))
		b->spent_ms = t_ms;
}

/* ---- fed from a timeline ---------------------------------------------------------- */

int fl_budgets_limits_of(const char *file, const struct fl_tlr_rec *rec,
			 struct fl_budget_limits *l, double *shock0_ms, double *shock1_ms,
			 char *err, size_t errlen)
{
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(rec->json, "limits");
	const cJSON *sh = cJSON_GetObjectItemCaseSensitive(rec->json, "shock_ms");
	char where[160];
	struct fl_jctx c;

	if (err && errlen)
		err[0] = '\0';
	snprintf(where, sizeof(where), "%s:%llu", file, (unsigned long long)rec->line);
	c = (struct fl_jctx){ where, err, errlen, 0 };
	fl_budget_limits_init(l);
	*shock0_ms = *shock1_ms = NAN;
	if (!cJSON_IsObject(lim))
		return fl_jerr(&c, "limits", "expected an object (the budgets in force)");
	if (fl_budget_limits_parse(&c, lim, "limits", l) < 0)
		return -EINVAL;
	if (cJSON_IsArray(sh) && cJSON_GetArraySize(sh) == 2 &&
	    cJSON_IsNumber(cJSON_GetArrayItem(sh, 0)) &&
	    cJSON_IsNumber(cJSON_GetArrayItem(sh, 1))) {
		*shock0_ms = cJSON_GetArrayItem(sh, 0)->valuedouble;
		*shock1_ms = cJSON_GetArrayItem(sh, 1)->valuedouble;
	} else if (sh && !cJSON_IsNull(sh)) {
		return fl_jerr(&c, "shock_ms", "expected [start, end] in drill ms or null");
	}
	return 0;
}

/* ok is false only when the record says so. */
static bool rec_ok(const struct fl_tlr_rec *rec)
{
	return !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(rec->json, "ok"));
}

void fl_budgets_feed(struct fl_budgets *b, const struct fl_tlr_rec *rec)
{
	double t = rec->t_ms;
	const char *name = fl_tlr_str(rec, "name", "");

	if (rec->type == FL_TLR_TICK) /* t_ms is market time; at_ms drill time */
		t = fl_tlr_num(rec, "at_ms", NAN);
	if (!isfinite(t))
		return;
	switch (rec->type) {
	case FL_TLR_PROBE:
		fl_budgets_probe(b, t, name, rec_ok(rec), fl_tlr_num(rec, "latency_ms", NAN));
		break;
	case FL_TLR_METRIC:
		fl_budgets_metric(b, t, name, fl_tlr_num(rec, "value", NAN));
		break;
	case FL_TLR_INVARIANT:
		fl_budgets_invariant(b, t, name, rec_ok(rec));
		break;
	case FL_TLR_MARK:
		fl_budgets_mark(b, t);
		break;
	case FL_TLR_FAULT:
		if (!strcmp(fl_tlr_str(rec, "kind", "fault"), "fault"))
			fl_budgets_fault(b, t);
		else
			fl_budgets_end(b, t);
		break;
	case FL_TLR_END:
		if (strstr(fl_tlr_str(rec, "reason", ""), "max_faults"))
			fl_budgets_faults_spent(b, t);
		fl_budgets_end(b, t);
		break;
	default:
		fl_budgets_end(b, t);
		break;
	}
}

/* ---- evaluation ---------------------------------------------------------------------- */

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_sample(const void *a, const void *b)
{
	const struct sample *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

double fl__bg_quantile(const double *x, size_t n, double q)
{
	size_t k;

	if (n == 0)
		return NAN;
	k = (size_t)ceil(q * (double)n - 1e-9);
	k = k ? k - 1 : 0;
	return x[k < n ? k : n - 1];
}

/* Latency p99/p50/max and error count of samples[i0..i1) with name `name`
 * (-1: all). tmp has room for i1 - i0. */
struct agg {
	uint64_t n, errors;
	double p50, p99, max;
};

static struct agg aggregate(const struct sample *s, size_t i0, size_t i1, int name,
			    double *tmp)
{
	struct agg a = { 0, 0, NAN, NAN, NAN };
	size_t k = 0;

	for (size_t i = i0; i < i1; i++) {
		if (name >= 0 && s[i].name != name)
			continue;
		a.n++;
		a.errors += !s[i].ok;
		if (!isnan(s[i].lat))
			tmp[k++] = s[i].lat;
	}
	if (k) {
		qsort(tmp, k, sizeof(*tmp), cmp_dbl);
		a.p50 = fl__bg_quantile(tmp, k, 0.5);
		a.p99 = fl__bg_quantile(tmp, k, 0.99);
		a.max = tmp[k - 1];
	}
	return a;
}

static struct fl_verdict *verdict(struct fl_verdicts *o, const char *name, double limit)
{
	struct fl_verdict *v = &o->v[o->n++];

	memset(v, 0, sizeof(*v));
	snprintf(v->budget, sizeof(v->budget), "%s", name);
	v->limit = limit;
	v->measured = v->burn_ms = v->broke_ms = NAN;
	return v;
}

/* The k-th (0-based) sample in time order matching pred, its time or NaN. */
static void count_bad(const struct sample *s, size_t n, double lim, bool errors,
		      uint64_t allowed, struct fl_verdict *v)
{
	uint64_t bad = 0;

	for (size_t i = 0; i < n; i++) {
		bool is_bad = errors ? !s[i].ok : (!isnan(s[i].lat) && s[i].lat > lim);

		if (!is_bad)
			continue;
		if (bad == 0)
			v->burn_ms = s[i].t;
		if (bad == allowed) {
			v->broken = true;
			v->broke_ms = s[i].t;
		}
		bad++;
	}
}

static void eval_probes(struct fl_budgets *b, const struct sample *s, size_t n,
			double *tmp, struct fl_verdicts *o)
{
	struct agg all = aggregate(s, 0, n, -1, tmp);
	uint64_t nlat = 0;

	for (size_t i = 0; i < n; i++)
		nlat += !isnan(s[i].lat);
	if (b->lim.probe_p99_ms >= 0) {
		struct fl_verdict *v = verdict(o, "probe_p99_ms", b->lim.probe_p99_ms);

		v->measured = all.p99;
		if (nlat == 0)
			snprintf(v->note, sizeof(v->note), "no data (no probe latencies)");
		else
			count_bad(s, n, b->lim.probe_p99_ms, false,
				  nlat - (uint64_t)ceil(0.99 * (double)nlat - 1e-9), v);
	}
	if (b->lim.probe_error_rate >= 0) {
		struct fl_verdict *v = verdict(o, "probe_error_rate", b->lim.probe_error_rate);

		v->measured = n ? (double)all.errors / (double)n : NAN;
		if (n == 0)
			snprintf(v->note, sizeof(v->note), "no data (no probes)");
		else
			count_bad(s, n, 0, true,
				  (uint64_t)floor(b->lim.probe_error_rate * (double)n + 1e-9), v);
	}
	if (b->lost)
		for (int i = 0; i < o->n; i++)
			snprintf(o->v[i].note, sizeof(o->v[i].note),
				 "%llu probes past the sample cap not counted",
				 (unsigned long long)b->lost);
}

static void eval_invariants(struct fl_budgets *b, struct fl_verdicts *o)
{
	struct fl_verdict *v;
	uint64_t lim;

	if (b->viol.n) /* qsort(NULL, 0) is undefined (UBSan) */
		qsort(b->viol.t, b->viol.n, sizeof(double), cmp_dbl);
	o->violations = b->viol.n;
	o->first_violation_ms = b->viol.n ? b->viol.t[0] : NAN;
	if (b->lim.invariant_violations < 0)
		return;
	v = verdict(o, "invariant_violations", b->lim.invariant_violations);
	v->measured = (double)b->viol.n;
	v->burn_ms = o->first_violation_ms;
	lim = (uint64_t)b->lim.invariant_violations;
	if (b->viol.n > lim) {
		v->broken = true;
		v->broke_ms = b->viol.t[lim];
	}
}

static void eval_metrics(struct fl_budgets *b, struct fl_verdicts *o)
{
	for (int i = 0; i < b->lim.nmetric; i++) {
		char name[80];
		struct fl_verdict *v;

		snprintf(name, sizeof(name), "metric_max.%s", b->lim.metric_max[i].name);
		v = verdict(o, name, b->lim.metric_max[i].max);
		v->measured = b->mmax[i];
		v->burn_ms = v->broke_ms = b->mfirst[i];
		v->broken = !isnan(b->mfirst[i]);
		if (isnan(b->mmax[i]))
			snprintf(v->note, sizeof(v->note), "no data (no such metric)");
	}
}

/* Per-name bands from before the shock, then windows from the shock's end. */
static void eval_stability(struct fl_budgets *b, const struct sample *s, size_t n,
			   double *tmp, struct fl_verdicts *o)
{
	double lat_hi[FL_BG_MAX_NAMES], err_hi[FL_BG_MAX_NAMES];
	bool band[FL_BG_MAX_NAMES] = { false };
	size_t pre = 0, i0;
	int nband = 0, run = 0;
	double w0;

	o->shock_start_ms = isnan(b->shock0) ? b->fault0 : b->shock0;
	o->shock_end_ms = isnan(b->shock0) ? b->fault1 : b->shock1;
	o->stable_ms = o->tts_ms = NAN;
	while (pre < n && s[pre].t < o->shock_start_ms)
		pre++;
	for (int k = 0; k < b->npname && !isnan(o->shock_start_ms); k++) {
		struct agg a = aggregate(s, 0, pre, k, tmp);
		double rate;

		o->probe[k + 1].pre_p99 = a.p99;
		o->probe[k + 1].pre_err = a.n ? (double)a.errors / (double)a.n : NAN;
		if (!a.n)
			continue;
		rate = (double)a.errors / (double)a.n;
		lat_hi[k] = isnan(a.p99) ? INFINITY : fmax(2 * a.p99, a.p99 + 50);
		err_hi[k] = fmax(2 * rate, rate + 0.01);
		band[k] = true;
		nband++;
	}
	if (!nband || isnan(o->shock_end_ms))
		return;
	/* the first window that starts at or after the shock's end */
	w0 = ceil(o->shock_end_ms / FL_BG_WINDOW_MS) * FL_BG_WINDOW_MS;
	i0 = 0;
	o->tts_never = true;
	/* Empty windows are never inside: the loop jumps over them (a run of
	 * them resets the count), so its cost follows the samples, not the
	 * span (a timeline's t_ms can be anything). */
	for (double t = w0; t + FL_BG_WINDOW_MS <= b->end_ms + 1e-9;) {
		size_t i1;
		bool in = true;
		double next;

		while (i0 < n && s[i0].t < t)
			i0++;
		for (i1 = i0; i1 < n && s[i1].t < t + FL_BG_WINDOW_MS; i1++)
			;
		for (int k = 0; k < b->npname && in; k++) {
			struct agg a;

			if (!band[k])
				continue;
			a = aggregate(s, i0, i1, k, tmp);
			in = a.n > 0 && !(a.p99 > lat_hi[k]) &&
			     (double)a.errors / (double)a.n <= err_hi[k];
		}
		run = in ? run + 1 : 0;
		if (run == FL_BG_SUSTAIN) {
			o->stable_ms = t - (FL_BG_SUSTAIN - 1) * FL_BG_WINDOW_MS;
			o->tts_ms = fmax(0, o->stable_ms - o->shock_end_ms);
			o->tts_never = false;
			break;
		}
		if (i1 >= n) /* no sample left: no window can be inside again */
			break;
		next = fmax(t + FL_BG_WINDOW_MS,
			    floor(s[i1].t / FL_BG_WINDOW_MS) * FL_BG_WINDOW_MS);
		if (next > t + FL_BG_WINDOW_MS)
			run = 0;
		if (!(next > t)) /* beyond a double's precision */
			break;
		t = next;
	}
}

static void eval_peaks(const struct fl_budgets *b, const struct sample *s, size_t n,
		       double *tmp, struct fl_verdicts *o)
{
	size_t i0 = 0;

	if (isnan(o->shock_start_ms))
		return;
	/* windows without samples change nothing: jump to the next sample's */
	for (double t = floor(o->shock_start_ms / FL_BG_WINDOW_MS) * FL_BG_WINDOW_MS;
	     t <= b->end_ms;) {
		size_t i1;
		double next;

		while (i0 < n && s[i0].t < t)
			i0++;
		for (i1 = i0; i1 < n && s[i1].t < t + FL_BG_WINDOW_MS; i1++)
			;
		for (int k = -1; k < b->npname; k++) {
			struct fl_bg_probe_stat *p = &o->probe[k + 1];
			struct agg a = aggregate(s, i0, i1, k, tmp);
			double rate = a.n ? (double)a.errors / (double)a.n : NAN;

			if (a.p99 > p->peak_p99 || (isnan(p->peak_p99) && !isnan(a.p99)))
				p->peak_p99 = a.p99;
			if (rate > p->peak_err || (isnan(p->peak_err) && !isnan(rate)))
				p->peak_err = rate;
		}
		if (i1 >= n)
			break;
		next = fmax(t + FL_BG_WINDOW_MS,
			    floor(s[i1].t / FL_BG_WINDOW_MS) * FL_BG_WINDOW_MS);
		if (!(next > t))
			break;
		t = next;
	}
}

static void eval_tts(const struct fl_budgets *b, struct fl_verdicts *o)
{
	struct fl_verdict *v;

	if (b->lim.time_to_stable_s < 0)
		return;
	v = verdict(o, "time_to_stable_s", b->lim.time_to_stable_s);
	v->measured = o->tts_ms / 1000;
	if (o->tts_never) {
		v->broken = true;
		v->measured = INFINITY;
		v->burn_ms = o->shock_end_ms;
		v->broke_ms = fmin(o->shock_end_ms + b->lim.time_to_stable_s * 1000, b->end_ms);
		snprintf(v->note, sizeof(v->note), "never stable before the drill ended");
	} else if (isnan(o->tts_ms)) {
		snprintf(v->note, sizeof(v->note), "no data (%s)",
			 isnan(o->shock_end_ms) ? "no shock and no faults" :
			 "no probe before the shock");
	} else if (o->tts_ms > b->lim.time_to_stable_s * 1000) {
		v->broken = true;
		v->burn_ms = o->shock_end_ms;
		v->broke_ms = o->shock_end_ms + b->lim.time_to_stable_s * 1000;
	}
}

static void eval_cap(const struct fl_budgets *b, struct fl_verdicts *o)
{
	struct fl_verdict *v;

	if (b->lim.max_faults < 0)
		return;
	v = verdict(o, "max_faults", b->lim.max_faults);
	v->cap = true;
	v->measured = (double)b->nfaults;
	if (!isnan(b->spent_ms)) {
		v->burn_ms = b->spent_ms;
		snprintf(v->note, sizeof(v->note), "spent at %.1f s: injection stopped",
			 b->spent_ms / 1000);
	}
}

static void eval_summary(const struct fl_budgets *b, struct fl_verdicts *o)
{
	o->first_broken = NULL;
	o->first_burn_ms = NAN;
	for (int i = 0; i < o->n; i++) {
		const struct fl_verdict *v = &o->v[i];

		if (v->cap)
			continue;
		o->nbroken += v->broken;
		if (v->broken && (!o->first_broken || v->broke_ms < o->first_broken->broke_ms))
			o->first_broken = v;
		if (v->burn_ms < o->first_burn_ms || isnan(o->first_burn_ms))
			o->first_burn_ms = v->burn_ms;
	}
	o->detect_ms = NAN;
	o->marks = b->marks.n;
	for (size_t i = 0; i < b->marks.n && !isnan(o->first_burn_ms); i++)
		if (b->marks.t[i] >= o->first_burn_ms &&
		    (isnan(o->detect_ms) || b->marks.t[i] < o->detect_ms))
			o->detect_ms = b->marks.t[i];
}

static void fill_probe_stats(const struct fl_budgets *b, const struct sample *s,
			     size_t n, double *tmp, struct fl_verdicts *o)
{
	o->nprobe = b->npname + 1;
	for (int k = -1; k < b->npname; k++) {
		struct fl_bg_probe_stat *p = &o->probe[k + 1];
		struct agg a = aggregate(s, 0, n, k, tmp);

		snprintf(p->name, sizeof(p->name), "%s", k < 0 ? "" : b->pname[k]);
		p->n = a.n;
		p->errors = a.errors;
		p->p50 = a.p50;
		p->p99 = a.p99;
		p->max = a.max;
		p->pre_p99 = p->pre_err = p->peak_p99 = p->peak_err = p->peak_ratio = NAN;
	}
}

int fl_budgets_eval(struct fl_budgets *b, struct fl_verdicts *o)
{
	struct sample *s = NULL;
	double *tmp = NULL;
	size_t n = b->ns;

	memset(o, 0, sizeof(*o));
	if (n && (!(s = malloc(n * sizeof(*s))) || !(tmp = malloc(n * sizeof(*tmp))))) {
		free(s);
		return -ENOMEM;
	}
	if (n) {
		memcpy(s, b->s, n * sizeof(*s));
		qsort(s, n, sizeof(*s), cmp_sample);
	}
	fill_probe_stats(b, s, n, tmp, o);
	eval_probes(b, s, n, tmp, o);
	eval_invariants(b, o);
	eval_metrics(b, o);
	eval_stability(b, s, n, tmp, o);
	eval_peaks(b, s, n, tmp, o);
	for (int k = 0; k < o->nprobe; k++)
		o->probe[k].peak_ratio = o->probe[k].peak_p99 / o->probe[k].pre_p99;
	eval_tts(b, o);
	eval_cap(b, o);
	eval_summary(b, o);
	free(s);
	free(tmp);
	return 0;
}

/* ---- live view, metrics, report helpers -------------------------------------------------- */

int fl_budgets_burning(const struct fl_budgets *b, double now_ms, const char **names,
		       int max)
{
	int n = 0;
	double since = now_ms - FL_BG_WINDOW_MS;

#define FL__BURN(cond, t, nm)                                                 \
	do {                                                                  \
		if ((cond) && (t) >= since && n < max)                        \
			names[n++] = (nm);                                    \
	} while (0)
	FL__BURN(b->lim.probe_p99_ms >= 0, b->last_slow, "probe_p99_ms");
	FL__BURN(b->lim.probe_error_rate >= 0, b->last_err, "probe_error_rate");
	FL__BURN(b->lim.invariant_violations >= 0, b->last_viol, "invariant_violations");
	FL__BURN(b->lim.nmetric > 0, b->last_metric, "metric_max");
#undef FL__BURN
	return n;
}

int fl_budgets_probe_names(const struct fl_budgets *b, const char **names, int max)
{
	int n = 0;

	for (int i = 0; i < b->npname && n < max; i++)
		names[n++] = b->pname[i];
	return n;
}

double fl_budgets_probe_quantile(const struct fl_budgets *b, const char *name,
				 double q, uint64_t *n, uint64_t *errors, double *sum_ms)
{
	int id = -1;
	double *tmp, r;
	size_t k = 0;

	*n = *errors = 0;
	*sum_ms = 0;
	for (int i = 0; name && name[0] && i < b->npname; i++)
		if (!strcmp(b->pname[i], name))
			id = i;
	if (name && name[0] && id < 0)
		return NAN;
	if (!b->ns || !(tmp = malloc(b->ns * sizeof(*tmp))))
		return NAN;
	for (size_t i = 0; i < b->ns; i++) {
		if (id >= 0 && b->s[i].name != id)
			continue;
		(*n)++;
		*errors += !b->s[i].ok;
		if (!isnan(b->s[i].lat)) {
			tmp[k++] = b->s[i].lat;
			*sum_ms += b->s[i].lat;
		}
	}
	qsort(tmp, k, sizeof(*tmp), cmp_dbl);
	r = fl__bg_quantile(tmp, k, q);
	free(tmp);
	return r;
}

int fl_budgets_windows(const struct fl_budgets *b, double width_ms, struct fl_bg_window *w,
		       int max)
{
	struct sample *s;
	double *tmp;
	size_t n = b->ns, i0 = 0;
	int nw = 0;

	if (!n || !(s = malloc(n * sizeof(*s))))
		return 0;
	if (!(tmp = malloc(n * sizeof(*tmp)))) {
		free(s);
		return 0;
	}
	if (!(width_ms > 0))
		width_ms = FL_BG_WINDOW_MS;
	memcpy(s, b->s, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_sample);
	for (int k = 0; k * width_ms <= b->end_ms && nw < max; k++) {
		double t = k * width_ms;
		size_t i1;
		struct agg a;

		while (i0 < n && s[i0].t < t)
			i0++;
		for (i1 = i0; i1 < n && s[i1].t < t + width_ms; i1++)
			;
		a = aggregate(s, i0, i1, -1, tmp);
		w[nw++] = (struct fl_bg_window){ t, (uint32_t)a.n, (uint32_t)a.errors,
						 a.p50, a.p99, false };
	}
	free(s);
	free(tmp);
	return nw;
}

void fl_verdict_line(const struct fl_verdict *v, char *out, size_t len)
{
	char meas[48], when[64] = "";

	if (isnan(v->measured))
		snprintf(meas, sizeof(meas), "no data");
	else if (isinf(v->measured))
		snprintf(meas, sizeof(meas), "never");
	else
		snprintf(meas, sizeof(meas), "%.6g", v->measured);
	if (v->broken)
		snprintf(when, sizeof(when), " at %.3f s", v->broke_ms / 1000);
	snprintf(out, len, "%s: limit %g, measured %s: %s%s%s%s", v->budget, v->limit, meas,
		 v->cap ? "cap" : v->broken ? "BROKEN" : "held", when,
		 v->note[0] ? "; " : "", v->note);
}
