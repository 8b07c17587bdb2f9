/*
 * report.c — `faultline report`: a timeline read back and judged (see
 * report.h for what it shows and the exit status).
 *
 * Divisions: loading (one pass of the one reader; every record also goes to
 * the budgets evaluator, as live); what broke first and the marks. The text
 * view and the command are report_text.c, the HTML view report_html.c.
 *
 * Invariants
 *  - The timeline is untrusted (the program under test wrote some of it):
 *    names are bounded (FL_RP_MAX_NAMES per kind, then "(other)"), texts cut
 *    at FL_RP_TEXT_MAX, numbers finite (the reader refuses others), control
 *    bytes never reach the terminal (shown as '?').
 *  - The verdicts are the budgets code's (budgets.c), fed the same records
 *    the live run saw, so report and run agree; when the timeline's summary
 *    says otherwise the report says so.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "market/market.h"
#include "observe.h"
#include "profile.h"
#include "report.h"
#include "timeline.h"

/* ---- small helpers ------------------------------------------------------------- */

#define VEC_PUSH(vec, item)                                                        \
	({                                                                         \
		int rc_ = 0;                                                       \
		if ((vec).n == (vec).cap) {                                        \
			size_t cap_ = (vec).cap ? (vec).cap * 2 : 256;             \
			void *p_ = realloc((vec).v, cap_ * sizeof(*(vec).v));      \
			if (!p_)                                                   \
				rc_ = -ENOMEM;                                     \
			else {                                                     \
				(vec).v = p_;                                      \
				(vec).cap = cap_;                                  \
			}                                                          \
		}                                                                  \
		if (!rc_)                                                          \
			(vec).v[(vec).n++] = (item);                               \
		rc_;                                                               \
	})

const char *fl_rp_name(const struct fl_rp_names *n, int i)
{
	return i >= 0 && i < n->n ? n->s[i] : "";
}

static uint16_t name_id(struct fl_rp_names *n, const char *s)
{
	for (int i = 0; i < n->n; i++)
		if (!strcmp(n->s[i], s))
			return (uint16_t)i;
	if (n->n == FL_RP_MAX_NAMES)
		return FL_RP_MAX_NAMES - 1;
	snprintf(n->s[n->n], sizeof(n->s[0]), "%s",
		 n->n == FL_RP_MAX_NAMES - 1 ? "(other)" : s);
	return (uint16_t)n->n++;
}

static char *dup_text(const char *s)
{
	size_t k;
	char *d;

	if (!s)
		return NULL;
	k = strnlen(s, FL_RP_TEXT_MAX);
	if (!(d = malloc(k + 1)))
		return NULL;
	memcpy(d, s, k);
	d[k] = '\0';
	return d;
}

void fl_rp_usd(double x, char *out, size_t len)
{
	static const struct { double div; const char *unit; } u[] = {
		{ 1e9, "B" }, { 1e6, "M" }, { 1e3, "k" },
	};

	if (isnan(x)) {
		snprintf(out, len, "n/a");
		return;
	}
	for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
		if (fabs(x) >= u[i].div) {
			snprintf(out, len, "$%.3g %s", x / u[i].div, u[i].unit);
			return;
		}
	snprintf(out, len, "$%.0f", x);
}

double fl_rp_window_ms(double span_ms)
{
	static const double nice_s[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600,
					 900, 1800, 3600, 7200, 21600, 86400 };

	for (size_t i = 0; i < sizeof(nice_s) / sizeof(nice_s[0]); i++)
		if (span_ms / (nice_s[i] * 1000) <= FL_RP_MAX_WINDOWS)
			return nice_s[i] * 1000;
	return ceil(span_ms / FL_RP_MAX_WINDOWS / 86400000) * 86400000;
}

/* ---- loading ---------------------------------------------------------------------- */

static const char *const sig_names[FL_RP__NSIG] = {
	[FL_RP_SPOT] = "spot", [FL_RP_SPREAD] = "spread_bps",
	[FL_RP_DEPTH] = "depth_usd", [FL_RP_BASIS] = "basis_bps",
	[FL_RP_IV] = "implied_vol", [FL_RP_LIQ_QUEUE] = "liq_queue_usd",
	[FL_RP_LIQ_RATE] = "liquidations_usd_per_s", [FL_RP_STRESS] = "stress",
};

static const cJSON *member(const struct fl_tlr_rec *rec, const char *k)
{
	return cJSON_GetObjectItemCaseSensitive(rec->json, k);
}

static void on_start(struct fl_report *r, const struct fl_tlr_rec *rec)
{
	const cJSON *cmd = member(rec, "cmd"), *it;
	size_t len = 0;

	r->has_start = true;
	snprintf(r->version, sizeof(r->version), "%s", fl_tlr_str(rec, "version", "?"));
	snprintf(r->mode, sizeof(r->mode), "%s", fl_tlr_str(rec, "mode", "run"));
	snprintf(r->profile, sizeof(r->profile), "%s", fl_tlr_str(rec, "profile", ""));
	snprintf(r->profile_sha, sizeof(r->profile_sha), "%s",
		 fl_tlr_str(rec, "profile_sha256", ""));
	snprintf(r->layer, sizeof(r->layer), "%s", fl_tlr_str(rec, "layer", ""));
	r->seed = (uint64_t)fl_tlr_num(rec, "seed", 0);
	r->speed = fl_tlr_num(rec, "speed", 1);
	if (!(r->speed > 0))
		r->speed = 1;
	free(r->cmd);
	r->cmd = NULL;
	cJSON_ArrayForEach(it, cmd)
		if (cJSON_IsString(it))
			len += strlen(it->valuestring) + 1;
	if (len && len < 4096 && (r->cmd = malloc(len))) {
		r->cmd[0] = '\0';
		cJSON_ArrayForEach(it, cmd)
			if (cJSON_IsString(it)) {
				if (r->cmd[0])
					strcat(r->cmd, " ");
				strcat(r->cmd, it->valuestring);
			}
	}
}

static int on_fault(struct fl_report *r, const struct fl_tlr_rec *rec)
{
	struct fl_rp_fault f = { rec->t_ms, fl_tlr_num(rec, "value_ms", 0), -1, 0 };
	struct fl_rp_rule *ru;
	uint64_t rule;

	if (strcmp(fl_tlr_str(rec, "kind", "fault"), "fault")) {
		r->gates++;
		return 0;
	}
	f.target = name_id(&r->targets, fl_tlr_str(rec, "target", "?"));
	if (fl_tlr_uint(rec, "rule", FL_RP_MAX_RULES - 1, &rule) == 0) {
		f.rule = (int)rule;
		ru = &r->rules[rule];
		if (!ru->faults++) {
			ru->first_ms = rec->t_ms;
			snprintf(ru->target, sizeof(ru->target), "%s", fl_tlr_str(rec, "target", "?"));
			snprintf(ru->op, sizeof(ru->op), "%s", fl_tlr_str(rec, "op", "?"));
			snprintf(ru->fault, sizeof(ru->fault), "%s", fl_tlr_str(rec, "fault", "?"));
		}
		if ((int)rule >= r->nrules)
			r->nrules = (int)rule + 1;
	}
	if (!isfinite(f.t_ms))
		return 0;
	return VEC_PUSH(r->faults, f);
}

static int on_tick(struct fl_report *r, const struct fl_tlr_rec *rec)
{
	const cJSON *sig = member(rec, "signals"), *in = member(rec, "intensity"), *it;
	struct fl_rp_tick t;

	/* t_ms is market time; at_ms the drill time it was published */
	t.t_ms = fl_tlr_num(rec, "at_ms", rec->t_ms / r->speed);
	t.market_ms = rec->t_ms;
	if (!isfinite(t.t_ms) || !isfinite(t.market_ms))
		return 0;
	if (t.t_ms > r->t_end_ms)
		r->t_end_ms = t.t_ms;
	for (int i = 0; i < FL_RP__NSIG; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(sig, sig_names[i]);

		t.sig[i] = cJSON_IsNumber(v) ? (float)v->valuedouble : NAN;
	}
	for (int k = 0; k < FL_RP_MAX_IRULES; k++)
		t.intens[k] = NAN;
	cJSON_ArrayForEach(it, in) {
		char *end;
		long rule = strtol(it->string, &end, 10);
		int k;

		if (*end || end == it->string || rule < 0 || rule >= FL_RP_MAX_RULES ||
		    !cJSON_IsNumber(it))
			continue;
		r->rules[rule].seen++;
		r->rules[rule].armed += it->valuedouble > 0;
		if (rule >= r->nrules)
			r->nrules = (int)rule + 1;
		for (k = 0; k < r->nirules && r->irule[k] != rule; k++)
			;
		if (k == r->nirules && k < FL_RP_MAX_IRULES)
			r->irule[r->nirules++] = (int)rule;
		if (k < FL_RP_MAX_IRULES)
			t.intens[k] = (float)it->valuedouble;
	}
	return VEC_PUSH(r->ticks, t);
}

static void on_kernel(struct fl_report *r, const struct fl_tlr_rec *rec)
{
	const cJSON *sc = member(rec, "syscalls"), *tcp = member(rec, "tcp"), *it;
	struct fl_rp_kernel k = { rec->t_ms, 0, 0, 0 };
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(tcp, "retransmits");

	if (!isfinite(rec->t_ms) || (!sc && !tcp))
		return;
	cJSON_ArrayForEach(it, sc) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "n");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(it, "errors");

		k.calls += cJSON_IsNumber(n) ? n->valuedouble : 0;
		k.errors += cJSON_IsNumber(e) ? e->valuedouble : 0;
	}
	k.retrans = cJSON_IsNumber(rt) ? rt->valuedouble : 0;
	(void)VEC_PUSH(r->kernel, k);
}

static void on_summary(struct fl_report *r, const struct fl_tlr_rec *rec)
{
	const cJSON *pr = member(rec, "per_rule"), *it;

	r->has_summary = true;
	r->dropped = (uint64_t)fl_tlr_num(rec, "dropped", 0);
	r->attached = (uint64_t)fl_tlr_num(rec, "attached", 0);
	r->events_malformed = (uint64_t)fl_tlr_num(rec, "events_malformed", 0);
	r->events_refused = (uint64_t)fl_tlr_num(rec, "events_refused", 0);
	snprintf(r->unreached, sizeof(r->unreached), "%s", fl_tlr_str(rec, "unreached", ""));
	r->live_broken = cJSON_IsNumber(member(rec, "broken")) ?
			 (int)fl_tlr_num(rec, "broken", 0) : -1;
	snprintf(r->live_first_broken, sizeof(r->live_first_broken), "%s",
		 fl_tlr_str(rec, "first_broken", ""));
	cJSON_ArrayForEach(it, pr) {
		const cJSON *ru = cJSON_GetObjectItemCaseSensitive(it, "rule");
		const cJSON *h = cJSON_GetObjectItemCaseSensitive(it, "hits");

		if (!cJSON_IsNumber(ru) || ru->valuedouble < 0 ||
		    ru->valuedouble >= FL_RP_MAX_RULES || ru->valuedouble != floor(ru->valuedouble))
			continue;
		r->rules[(int)ru->valuedouble].listed = true;
		r->rules[(int)ru->valuedouble].hits = cJSON_IsNumber(h) && h->valuedouble >= 0 ?
						      (uint64_t)h->valuedouble : 0;
		if ((int)ru->valuedouble >= r->nrules)
			r->nrules = (int)ru->valuedouble + 1;
	}
}

static int ensure_bg(struct fl_report *r)
{
	if (r->bg)
		return 0;
	fl_budget_limits_init(&r->limits);
	return fl_budgets_new(&r->limits, &r->bg);
}

static int on_budgets(struct fl_report *r, const struct fl_tlr_rec *rec, char *err,
		      size_t errlen, const char *name)
{
	int rc;

	if (r->bg) {
		snprintf(err, errlen, "%s:%llu: a budgets record %s (expected one, right "
			 "after the start record)", name, (unsigned long long)rec->line,
			 r->has_budgets ? "twice" : "after the program's records");
		return -EINVAL;
	}
	rc = fl_budgets_limits_of(name, rec, &r->limits, &r->shock0_ms, &r->shock1_ms,
				  err, errlen);
	if (rc < 0) {
		size_t k = strlen(err);

		while (k && err[k - 1] == '\n')
			err[--k] = '\0';
		return rc;
	}
	r->has_budgets = true;
	if ((rc = fl_budgets_new(&r->limits, &r->bg)) < 0)
		return rc;
	fl_budgets_set_shock(r->bg, r->shock0_ms, r->shock1_ms);
	return 0;
}

static int on_record(struct fl_report *r, const struct fl_tlr_rec *rec, char *err,
		     size_t errlen, const char *name)
{
	int rc = 0;

	r->records++;
	if (rec->type == FL_TLR_BUDGETS)
		return on_budgets(r, rec, err, errlen, name);
	/* the evaluator starts at the budgets record, or at the first record
	 * it counts when there is none */
	if (!r->bg && (rec->type == FL_TLR_PROBE || rec->type == FL_TLR_METRIC ||
		       rec->type == FL_TLR_INVARIANT || rec->type == FL_TLR_MARK ||
		       rec->type == FL_TLR_FAULT) && (rc = ensure_bg(r)) < 0)
		return rc;
	if (r->bg)
		fl_budgets_feed(r->bg, rec);
	if (rec->type != FL_TLR_TICK && isfinite(rec->t_ms) && rec->t_ms > r->t_end_ms)
		r->t_end_ms = rec->t_ms;
	switch (rec->type) {
	case FL_TLR_START:
		on_start(r, rec);
		break;
	case FL_TLR_FAULT:
		rc = on_fault(r, rec);
		break;
	case FL_TLR_TICK:
		rc = on_tick(r, rec);
		break;
	case FL_TLR_ATTACH:
		r->attaches++;
		break;
	case FL_TLR_PROBE:
		r->probes++;
		break;
	case FL_TLR_METRIC:
		if (isfinite(rec->t_ms) && cJSON_IsNumber(member(rec, "value"))) {
			struct fl_rp_val v = { rec->t_ms, fl_tlr_num(rec, "value", 0),
					       name_id(&r->mnames, fl_tlr_str(rec, "name", "?")) };

			rc = VEC_PUSH(r->metrics, v);
		}
		break;
	case FL_TLR_INVARIANT:
		if (isfinite(rec->t_ms)) {
			struct fl_rp_inv v = {
				rec->t_ms, name_id(&r->inames, fl_tlr_str(rec, "name", "?")),
				!cJSON_IsFalse(member(rec, "ok")),
				dup_text(fl_tlr_str(rec, "detail", NULL)),
			};

			if ((rc = VEC_PUSH(r->invs, v)) < 0)
				free(v.detail);
		}
		break;
	case FL_TLR_MARK:
		if (isfinite(rec->t_ms)) {
			struct fl_rp_mark m = { rec->t_ms, dup_text(fl_tlr_str(rec, "text", "")) };

			if ((rc = VEC_PUSH(r->marks, m)) < 0)
				free(m.text);
		}
		break;
	case FL_TLR_KERNEL:
		on_kernel(r, rec);
		break;
	case FL_TLR_ABORT:
	case FL_TLR_END:
	case FL_TLR_ERROR: {
		struct fl_rp_stop s = { rec->t_ms, "", dup_text(fl_tlr_str(rec, "reason", "")) };

		snprintf(s.type, sizeof(s.type), "%s", rec->type_name);
		if ((rc = VEC_PUSH(r->stops, s)) < 0)
			free(s.reason);
		break;
	}
	case FL_TLR_EXIT:
		r->has_exit = true;
		r->exit_status = (int)fl_tlr_num(rec, "status", -1);
		r->exit_signal = (int)fl_tlr_num(rec, "signal", -1);
		break;
	case FL_TLR_SUMMARY:
		on_summary(r, rec);
		break;
	default:
		break;
	}
	return rc;
}

/* The rules' bindings, when the profile on disk is the one the run used. */
static void load_bindings(struct fl_report *r)
{
	struct fl_profile p;
	char hex[65], *err;

	if (!r->profile[0])
		return;
	if (fl_sha256_file(r->profile, hex) < 0) {
		snprintf(r->profile_note, sizeof(r->profile_note),
			 "cannot read it here: the rules' market bindings are not shown");
		return;
	}
	if (r->profile_sha[0] && strcmp(hex, r->profile_sha)) {
		snprintf(r->profile_note, sizeof(r->profile_note),
			 "changed since the run (sha256 differs): bindings not shown");
		return;
	}
	if (!(err = malloc(8192)))
		return;
	if (fl_profile_load(r->profile, &p, err, 8192) == 0) {
		r->profile_checked = true;
		for (uint32_t i = 0; i < p.nrules && i < FL_RP_MAX_RULES; i++) {
			const struct fl_binding *b = &p.bind[i];
			struct fl_rp_rule *ru = &r->rules[i];

			if (!ru->faults) { /* what the rule is, for one that never fired */
				const struct fl_rule *rl = &p.rules[i];

				snprintf(ru->op, sizeof(ru->op), "%s", fl_op_name(rl->op));
				snprintf(ru->fault, sizeof(ru->fault), "%s",
					 fl_fault_name(rl->fault));
				if (rl->target > 0 && rl->target < p.ntargets)
					snprintf(ru->target, sizeof(ru->target), "%s",
						 p.targets[rl->target].name);
			}
			if (b->signal < 0)
				continue;
			if (b->scale)
				snprintf(ru->bound, sizeof(ru->bound), "%s %.3g..%.3g",
					 mkt_signal_name(b->signal), b->lo, b->hi);
			else
				snprintf(ru->bound, sizeof(ru->bound), "%s %s %.3g",
					 mkt_signal_name(b->signal), b->has_below ? "<" : ">",
					 b->has_below ? b->below : b->above);
		}
		if ((int)p.nrules > r->nrules)
			r->nrules = (int)p.nrules > FL_RP_MAX_RULES ? FL_RP_MAX_RULES : (int)p.nrules;
	} else {
		snprintf(r->profile_note, sizeof(r->profile_note),
			 "does not load here: bindings not shown");
	}
	fl_profile__free(&p);
	free(err);
}

static int cmp_inv_t(const void *a, const void *b)
{
	const struct fl_rp_inv *x = a, *y = b;

	return x->t_ms < y->t_ms ? -1 : x->t_ms > y->t_ms;
}

static int finish(struct fl_report *r, char *err, size_t errlen)
{
	int rc, maxw;

	if (!r->has_start) {
		snprintf(err, errlen, "%s: no start record (expected a timeline written by "
			 "faultline run -o or drill -o)", r->path);
		return -EINVAL;
	}
	if ((rc = ensure_bg(r)) < 0)
		return rc;
	fl_budgets_end(r->bg, r->t_end_ms);
	if ((rc = fl_budgets_eval(r->bg, &r->vd)) < 0)
		return rc;
	/* invariants in time order (stable enough: ties keep no order that matters) */
	if (r->invs.n)
		qsort(r->invs.v, r->invs.n, sizeof(*r->invs.v), cmp_inv_t);
	r->first_inv = -1;
	for (size_t i = 0; i < r->invs.n && r->first_inv < 0; i++)
		if (!r->invs.v[i].ok)
			r->first_inv = (int)i;
	r->detect_mark = -1;
	r->detect_after_ms = r->respond_ms = NAN;
	for (size_t i = 0; i < r->marks.n && !isnan(r->vd.detect_ms); i++)
		if (r->marks.v[i].t_ms == r->vd.detect_ms) {
			r->detect_mark = (int)i;
			r->detect_after_ms = r->vd.detect_ms - r->vd.first_burn_ms;
			if (r->vd.stable_ms >= r->vd.detect_ms)
				r->respond_ms = r->vd.stable_ms - r->vd.detect_ms;
			break;
		}
	maxw = (int)fmin(r->t_end_ms / FL_BG_WINDOW_MS + 2, 200000);
	if (r->probes && (r->pw = calloc((size_t)maxw, sizeof(*r->pw))))
		r->npw = fl_budgets_windows(r->bg, FL_BG_WINDOW_MS, r->pw, maxw);
	load_bindings(r);
	return 0;
}

static int load(struct fl_tlr *t, const char *name, struct fl_report **out, char *err,
		size_t errlen)
{
	struct fl_report *r = calloc(1, sizeof(*r));
	struct fl_tlr_rec rec;
	int rc;

	*out = NULL;
	if (!r || !(r->path = strdup(name))) {
		free(r);
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	r->exit_status = r->exit_signal = r->live_broken = -1;
	r->speed = 1;
	r->shock0_ms = r->shock1_ms = NAN;
	for (int i = 0; i < FL_RP_MAX_RULES; i++)
		r->rules[i].first_ms = NAN;
	while ((rc = fl_tlr_next(t, &rec, err, errlen)) == 1)
		if ((rc = on_record(r, &rec, err, errlen, name)) < 0)
			break;
	if (rc == 0)
		rc = finish(r, err, errlen);
	if (rc == -ENOMEM && !err[0])
		snprintf(err, errlen, "%s: out of memory", name);
	if (rc < 0) {
		fl_report__free(r);
		return rc;
	}
	*out = r;
	return 0;
}

int fl_report_load(const char *path, struct fl_report **out, char *err, size_t errlen)
{
	struct fl_tlr *t;
	int rc;

	err[0] = '\0';
	*out = NULL;
	if ((rc = fl_tlr_open(path, NULL, &t, err, errlen)) < 0)
		return rc;
	rc = load(t, path, out, err, errlen);
	fl_tlr__free(t);
	return rc;
}

int fl_report_load_mem(const char *name, const void *buf, size_t len,
		       struct fl_report **out, char *err, size_t errlen)
{
	struct fl_tlr *t;
	int rc;

	err[0] = '\0';
	*out = NULL;
	if ((rc = fl_tlr_open_mem(name, buf, len, NULL, &t, err, errlen)) < 0)
		return rc;
	rc = load(t, name, out, err, errlen);
	fl_tlr__free(t);
	return rc;
}

void fl_report__free(struct fl_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->invs.n; i++)
		free(r->invs.v[i].detail);
	for (size_t i = 0; i < r->marks.n; i++)
		free(r->marks.v[i].text);
	for (size_t i = 0; i < r->stops.n; i++)
		free(r->stops.v[i].reason);
	free(r->ticks.v);
	free(r->faults.v);
	free(r->metrics.v);
	free(r->invs.v);
	free(r->marks.v);
	free(r->kernel.v);
	free(r->stops.v);
	free(r->pw);
	fl_budgets__free(r->bg);
	free(r->cmd);
	free(r->path);
	free(r);
}

bool fl_report_broken(const struct fl_report *r)
{
	return r->vd.nbroken > 0;
}
