/*
 * pin.c — `faultline run --pin TIMELINE`: force an interleaving seen once.
 *
 * The faults recorded in an earlier run's timeline become exact rules: each
 * recorded (rule, target, op, nth) gets its fault again with the value the
 * run really used (a jittered delay keeps its drawn length), probabilities,
 * windows and market bindings are dropped, and every fault whose call is on
 * another (target, op) than the previous fault's waits for that previous
 * call first (a gate, FL_RF_UNTIL), so faulted calls happen in the recorded
 * order across threads and processes. Consecutive faults of one rule on
 * consecutive nths with the same value share one rule (nth "a-b"). Clock
 * rules are kept as they are.
 *
 * A pin is only as good as the match between timeline and profile, so
 * whatever cannot be honoured is refused (exit 125 from the caller): a
 * timeline without a start record or of another profile (sha256), a fault
 * record naming a rule the profile lacks, a clock rule, another op or
 * fault than the rule's, an nth that is not an integer >= 1. The file's
 * own shape (regular file, size, lines, JSON) is tlread's to check.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pin.h"
#include "timeline.h"
#include "tlread.h"

#define PIN_GATE_MAX_NS 10000000000ll /* a gate waits at most 10 s */
#define PIN_MAX_NTH (UINT64_C(1) << 53)
#define PIN_MAX_VALUE_MS 3.6e9 /* 1000 h: beyond any rule's value */

struct pinrec {
	unsigned rule, target, op;
	uint64_t nth;
	int64_t value_ns;
	double t_ms;   /* when the call was decided: the order to pin */
	uint64_t line; /* file order breaks ties */
};

struct pinctx {
	const struct fl_profile *p;
	const struct fl_pin_opts *o;
	struct fl_pin_result *res;
	const char *file;
	char *err;
	size_t errlen;
	struct pinrec *recs;
	unsigned nrec, caprec;
	bool started;
};

static int by_time(const void *a, const void *b)
{
	const struct pinrec *x = a, *y = b;
	if (x->t_ms != y->t_ms)
		return x->t_ms < y->t_ms ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

__attribute__((format(printf, 3, 4)))
static int refuse(struct pinctx *c, uint64_t line, const char *fmt, ...)
{
	int n = snprintf(c->err, c->errlen, "%s:%" PRIu64 ": ", c->file, line);
	va_list ap;

	if (n >= 0 && (size_t)n < c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The start record: the profile it was recorded with, and its seed. */
static int on_start(struct pinctx *c, const struct fl_tlr_rec *r)
{
	const char *rec_sha = fl_tlr_str(r, "profile_sha256", NULL);
	char sha[65];
	uint64_t seed;
	int rc;

	if (c->started)
		return refuse(c, r->line, "a second start record (expected one "
			      "run's timeline)");
	c->started = true;
	if ((rc = fl_tlr_uint(r, "seed", UINT64_MAX, &seed)) == 0) {
		c->res->seed = seed;
		c->res->has_seed = true;
	} else if (rc != -ENOENT) {
		return refuse(c, r->line, "seed: expected an integer seed");
	}
	if (!c->o->profile || fl_sha256_file(c->o->profile, sha) < 0)
		return refuse(c, r->line, "cannot fingerprint the profile %s",
			      c->o->profile ? c->o->profile : "(none)");
	if (rec_sha && !strcmp(rec_sha, sha))
		return 0;
	if (c->o->force) {
		c->res->forced = true;
		return 0;
	}
	return refuse(c, r->line, "recorded under another profile "
		      "(profile_sha256 %.12s…, %s is %.12s…); expected a "
		      "timeline of this profile (--pin-force to pin it anyway)",
		      rec_sha ? rec_sha : "null", c->o->profile, sha);
}

static int push(struct pinctx *c, const struct pinrec *pr)
{
	struct pinrec *grown;

	if (c->nrec == c->caprec) {
		unsigned cap = c->caprec ? 2 * c->caprec : 64;

		if (!(grown = realloc(c->recs, cap * sizeof(*grown)))) {
			snprintf(c->err, c->errlen, "%s: out of memory", c->file);
			return -ENOMEM;
		}
		c->recs = grown;
		c->caprec = cap;
	}
	c->recs[c->nrec++] = *pr;
	return 0;
}

/* A fault record → a record to pin, after checking it names this
 * profile's rule as it is. */
static int on_fault(struct pinctx *c, const struct fl_tlr_rec *r)
{
	const char *kind = fl_tlr_str(r, "kind", NULL);
	const char *op = fl_tlr_str(r, "op", NULL), *fault = fl_tlr_str(r, "fault", NULL);
	const char *target = fl_tlr_str(r, "target", NULL);
	const struct fl_rule *rule;
	struct pinrec pr = { .line = r->line, .value_ns = -1 };
	double v;
	uint64_t u;

	if (!c->started)
		return refuse(c, r->line, "a fault before the start record "
			      "(expected a timeline written by faultline run -o)");
	if (!kind || (strcmp(kind, "fault") && strcmp(kind, "gate_open") &&
		      strcmp(kind, "gate_timeout")))
		return refuse(c, r->line, "kind: expected \"fault\", \"gate_open\" "
			      "or \"gate_timeout\"");
	if (fl_tlr_uint(r, "rule", FL_MAX_RULES - 1, &u) < 0 || u >= c->p->nrules)
		return refuse(c, r->line, "rule: expected a rule of the profile "
			      "(0..%u)", c->p->nrules ? c->p->nrules - 1 : 0);
	pr.rule = (unsigned)u;
	rule = &c->p->rules[pr.rule];
	if (rule->flags & FL_RF_CLOCK)
		return refuse(c, r->line, "rule %u is a clock rule of the profile; "
			      "expected an op rule (a fault record of another profile?)",
			      pr.rule);
	if (!op || strcmp(op, fl_op_name(rule->op)) || !fault ||
	    strcmp(fault, fl_fault_name(rule->fault)))
		return refuse(c, r->line, "op/fault: expected rule %u's \"%s\"/\"%s\"",
			      pr.rule, fl_op_name(rule->op), fl_fault_name(rule->fault));
	if (target && rule->target < c->p->ntargets &&
	    strcmp(target, c->p->targets[rule->target].name))
		return refuse(c, r->line, "target: expected rule %u's \"%s\"",
			      pr.rule, c->p->targets[rule->target].name);
	if (fl_tlr_uint(r, "nth", PIN_MAX_NTH, &pr.nth) < 0 || pr.nth < 1)
		return refuse(c, r->line, "nth: expected an integer from 1 to 2^53");
	v = fl_tlr_num(r, "value_ms", NAN);
	if (!isnan(v) && (v < 0 || v > PIN_MAX_VALUE_MS))
		return refuse(c, r->line, "value_ms: expected 0..%.0f", PIN_MAX_VALUE_MS);
	if (!isnan(v))
		pr.value_ns = llround(v * 1e6);
	pr.t_ms = isnan(r->t_ms) ? 0 : r->t_ms;
	pr.target = rule->target;
	pr.op = rule->op;
	return push(c, &pr);
}

static int read_timeline(struct pinctx *c)
{
	struct fl_tlr *tr;
	struct fl_tlr_rec r;
	int rc = fl_tlr_open(c->file, NULL, &tr, c->err, c->errlen);

	if (rc < 0)
		return rc;
	while (rc >= 0 && (rc = fl_tlr_next(tr, &r, c->err, c->errlen)) == 1) {
		if (r.line == 1 && r.type != FL_TLR_START)
			rc = refuse(c, 1, "expected the start record of a timeline "
				    "written by faultline run -o");
		else if (r.type == FL_TLR_START)
			rc = on_start(c, &r);
		else if (r.type == FL_TLR_FAULT)
			rc = on_fault(c, &r);
	}
	fl_tlr__free(tr);
	if (rc == 0 && !c->started)
		rc = refuse(c, 1, "empty (expected a timeline written by "
			    "faultline run -o)");
	return rc;
}

/* Append the pinned rule for record r (or extend the previous one). */
static int add_pinned(struct fl_rule *rules, unsigned *n,
		      const struct fl_rule *orig, const struct pinrec *r,
		      const struct pinrec *prev)
{
	struct fl_rule *last = *n ? &rules[*n - 1] : NULL;
	bool same_counter = prev && prev->target == r->target && prev->op == r->op;
	int64_t ns = orig->ns;

	if (orig->fault == FL_FAULT_DELAY && r->value_ns >= 0)
		ns = r->value_ns; /* the length this run really drew */
	if (last && same_counter && prev->rule == r->rule && last->ns == ns &&
	    last->nth_hi + 1 == r->nth) {
		last->nth_hi = r->nth;
		return 0;
	}
	if (*n >= FL_MAX_RULES)
		return -E2BIG;
	struct fl_rule *q = &rules[(*n)++];
	*q = *orig;
	q->flags = (orig->flags & FL_RF_UNTIL) | FL_RF_NTH;
	q->nth_lo = q->nth_hi = r->nth;
	q->ns = ns;
	q->jitter_ns = 0;
	q->next = 0;
	atomic_store(&q->intensity, FL_INTENSITY_ONE);
	if (prev && !same_counter && orig->fault != FL_FAULT_HOLD) {
		q->flags |= FL_RF_UNTIL;
		q->until_target = (uint8_t)prev->target;
		q->until_op = (uint8_t)prev->op;
		q->until_nth = prev->nth;
		q->until_max_ns = PIN_GATE_MAX_NS;
	}
	return 0;
}

int fl_pin_apply(struct fl_profile *p, const char *timeline,
		 const struct fl_pin_opts *o, struct fl_pin_result *res,
		 char *err, size_t errlen)
{
	static struct fl_rule rules[FL_MAX_RULES];
	struct pinctx c = { .p = p, .o = o, .res = res, .file = timeline,
			    .err = err, .errlen = errlen };
	unsigned n = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	rc = read_timeline(&c);
	/* clock rules stay as they are */
	for (unsigned i = 0; rc >= 0 && i < p->nrules; i++)
		if (p->rules[i].flags & FL_RF_CLOCK)
			rules[n++] = p->rules[i];
	if (rc >= 0 && c.nrec)
		qsort(c.recs, c.nrec, sizeof(*c.recs), by_time);
	for (unsigned i = 0; rc >= 0 && i < c.nrec; i++) {
		rc = add_pinned(rules, &n, &p->rules[c.recs[i].rule], &c.recs[i],
				i ? &c.recs[i - 1] : NULL);
		if (rc < 0)
			snprintf(err, errlen, "%s: more than %d rules needed to pin its "
				 "faults; pin a shorter run", timeline, FL_MAX_RULES);
	}
	res->faults = c.nrec;
	free(c.recs);
	if (rc < 0)
		return rc;
	memcpy(p->rules, rules, n * sizeof(rules[0]));
	p->nrules = n;
	for (unsigned i = 0; i < FL_MAX_RULES; i++)
		p->bind[i] = (struct fl_binding){ .signal = -1 };
	return 0;
}
