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
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "pin.h"

#define PIN_GATE_MAX_NS 10000000000ll /* a gate waits at most 10 s */

struct pinrec {
	unsigned rule, target, op;
	uint64_t nth;
	int64_t value_ns;
	double t_ms;   /* when the call was decided: the order to pin */
	unsigned line; /* file order breaks ties */
};

static int by_time(const void *a, const void *b)
{
	const struct pinrec *x = a, *y = b;
	if (x->t_ms != y->t_ms)
		return x->t_ms < y->t_ms ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int perr(char *err, size_t len, const char *file, unsigned line,
		const char *what)
{
	snprintf(err, len, "%s:%u: %s\n", file, line, what);
	return -EINVAL;
}

/* One timeline line → a record to pin (1), nothing (0), or an error. */
static int parse_line(const struct fl_profile *p, const char *text,
		      struct pinrec *out, uint64_t *seed, bool *has_seed)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *type, *kind, *rule, *nth, *val, *sd, *t;
	int rc = 0;

	if (!j)
		return -EINVAL;
	type = cJSON_GetObjectItemCaseSensitive(j, "type");
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "start")) {
		sd = cJSON_GetObjectItemCaseSensitive(j, "seed");
		if (cJSON_IsNumber(sd)) {
			*seed = (uint64_t)sd->valuedouble;
			*has_seed = true;
		}
	}
	kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
	if (!cJSON_IsString(type) || strcmp(type->valuestring, "fault") ||
	    !cJSON_IsString(kind) || !strcmp(kind->valuestring, "attach"))
		goto out;
	rule = cJSON_GetObjectItemCaseSensitive(j, "rule");
	nth = cJSON_GetObjectItemCaseSensitive(j, "nth");
	val = cJSON_GetObjectItemCaseSensitive(j, "value_ms");
	rc = -EINVAL;
	if (!cJSON_IsNumber(rule) || !cJSON_IsNumber(nth) || rule->valuedouble < 0 ||
	    rule->valuedouble >= p->nrules || nth->valuedouble < 1)
		goto out;
	out->rule = (unsigned)rule->valuedouble;
	out->target = p->rules[out->rule].target;
	out->op = p->rules[out->rule].op;
	out->nth = (uint64_t)nth->valuedouble;
	out->value_ns = cJSON_IsNumber(val) ? (int64_t)llround(val->valuedouble * 1e6) : -1;
	t = cJSON_GetObjectItemCaseSensitive(j, "t_ms");
	out->t_ms = cJSON_IsNumber(t) ? t->valuedouble : 0;
	rc = 1;
out:
	cJSON_Delete(j);
	return rc;
}

/* Append the pinned rule for record r (or extend the previous one). */
static int add_pinned(struct fl_profile *p, struct fl_rule *rules, unsigned *n,
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
	(void)p;
	return 0;
}

int fl_pin_apply(struct fl_profile *p, const char *timeline, uint64_t *seed,
		 bool *has_seed, char *err, size_t errlen)
{
	static struct fl_rule rules[FL_MAX_RULES];
	struct pinrec cur, *recs = NULL, *grown;
	unsigned n = 0, line = 0, nrec = 0, caprec = 0;
	char *text = NULL;
	size_t cap = 0;
	FILE *f = fopen(timeline, "r");
	int rc = 0;

	if (!f) {
		snprintf(err, errlen, "%s: %s\n", timeline, strerror(errno));
		return -errno;
	}
	/* clock rules stay as they are */
	for (unsigned i = 0; i < p->nrules; i++)
		if (p->rules[i].flags & FL_RF_CLOCK)
			rules[n++] = p->rules[i];
	while (getline(&text, &cap, f) > 0) {
		line++;
		rc = parse_line(p, text, &cur, seed, has_seed);
		if (rc < 0) {
			rc = perr(err, errlen, timeline, line, "not a timeline record of "
				  "this profile (bad JSON, or a rule the profile does not have)");
			break;
		}
		if (rc == 0)
			continue;
		if (nrec == caprec) {
			caprec = caprec ? 2 * caprec : 64;
			if (!(grown = realloc(recs, caprec * sizeof(*recs)))) {
				rc = -ENOMEM;
				snprintf(err, errlen, "%s: out of memory\n", timeline);
				break;
			}
			recs = grown;
		}
		cur.line = line;
		recs[nrec++] = cur;
		rc = 0;
	}
	free(text);
	fclose(f);
	if (rc >= 0 && nrec)
		qsort(recs, nrec, sizeof(*recs), by_time);
	for (unsigned i = 0; rc >= 0 && i < nrec; i++) {
		rc = add_pinned(p, rules, &n, &p->rules[recs[i].rule], &recs[i],
				i ? &recs[i - 1] : NULL);
		if (rc < 0)
			snprintf(err, errlen, "%s: more than %d rules needed to pin its "
				 "faults; pin a shorter run\n", timeline, FL_MAX_RULES);
	}
	free(recs);
	if (rc < 0)
		return rc;
	memcpy(p->rules, rules, n * sizeof(rules[0]));
	p->nrules = n;
	for (unsigned i = 0; i < FL_MAX_RULES; i++)
		p->bind[i] = (struct fl_binding){ .signal = -1 };
	return (int)nrec;
}
