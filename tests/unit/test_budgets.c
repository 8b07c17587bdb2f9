/*
 * test_budgets.c — failure budgets and time to stability (budgets.h):
 * the nearest-rank p99 gate and when it broke, the error budget, invariant
 * and metric budgets, time to stability on a constructed drill (stable
 * after the shock, a blip that delays it, never stable), the shock taken
 * from the faults without a scenario, order independence, and the event
 * line parser (events.h).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "budgets.h"
#include "events.h"

static struct fl_budgets *mk(struct fl_budget_limits *l)
{
	struct fl_budgets *b;

	assert_int_equal(fl_budgets_new(l, &b), 0);
	return b;
}

static const struct fl_verdict *find(const struct fl_verdicts *o, const char *name)
{
	for (int i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].budget, name))
			return &o->v[i];
	fail_msg("no verdict %s", name);
	return NULL;
}

static void test_p99_gate(void **state)
{
	struct fl_budget_limits l;
	struct fl_verdicts *o = malloc(sizeof(*o));
	struct fl_budgets *b;

	/* 200 probes, 2 slow: 200 - ceil(198) = 2 allowed -> holds */
	fl_budget_limits_init(&l);
	l.probe_p99_ms = 100;
	b = mk(&l);
	for (int i = 0; i < 200; i++)
		fl_budgets_probe(b, i * 10.0, "w", true, i == 50 || i == 60 ? 400 : 5);
	assert_int_equal(fl_budgets_eval(b, o), 0);
	assert_false(find(o, "probe_p99_ms")->broken);
	assert_true(find(o, "probe_p99_ms")->measured == 5);
	assert_true(find(o, "probe_p99_ms")->burn_ms == 500);
	/* a third slow probe breaks it, at that probe */
	fl_budgets_probe(b, 1234.5, "w", true, 300);
	assert_int_equal(fl_budgets_eval(b, o), 0);
	assert_true(find(o, "probe_p99_ms")->broken);
	assert_true(find(o, "probe_p99_ms")->broke_ms == 1234.5 ||
		    find(o, "probe_p99_ms")->broke_ms == 600);
	assert_int_equal(o->nbroken, 1);
	fl_budgets__free(b);
	free(o);
}

static void test_error_rate_and_others(void **state)
{
	struct fl_budget_limits l;
	struct fl_verdicts *o = malloc(sizeof(*o));
	struct fl_budgets *b;

	fl_budget_limits_init(&l);
	l.probe_error_rate = 0.02;
	l.invariant_violations = 1;
	l.nmetric = 1;
	snprintf(l.metric_max[0].name, sizeof(l.metric_max[0].name), "lag");
	l.metric_max[0].max = 5000;
	b = mk(&l);
	/* 100 probes, failures at 10, 20, 30: 2 allowed, broke at the third */
	for (int i = 0; i < 100; i++)
		fl_budgets_probe(b, i, "w", !(i && i % 10 == 0 && i <= 30), NAN);
	fl_budgets_invariant(b, 7, "ledger", false);
	fl_budgets_invariant(b, 8, "ledger", true);
	fl_budgets_metric(b, 40, "lag", 4000);
	fl_budgets_metric(b, 50, "lag", 6000);
	fl_budgets_metric(b, 60, "other", 1e9);
	fl_budgets_mark(b, 25);
	assert_int_equal(fl_budgets_eval(b, o), 0);
	assert_true(find(o, "probe_error_rate")->broken);
	assert_true(find(o, "probe_error_rate")->broke_ms == 30);
	assert_true(find(o, "probe_error_rate")->burn_ms == 10);
	assert_true(fabs(find(o, "probe_error_rate")->measured - 0.03) < 1e-12);
	assert_false(find(o, "invariant_violations")->broken);
	assert_true(find(o, "invariant_violations")->measured == 1);
	assert_true(find(o, "metric_max.lag")->broken);
	assert_true(find(o, "metric_max.lag")->broke_ms == 50);
	assert_true(find(o, "metric_max.lag")->measured == 6000);
	assert_int_equal(o->nbroken, 2);
	assert_string_equal(o->first_broken->budget, "probe_error_rate");
	assert_true(o->first_burn_ms == 7); /* the violation spent some first */
	assert_true(o->detect_ms == 25);    /* the first mark after it */
	assert_true(o->first_violation_ms == 7);
	fl_budgets__free(b);
	free(o);
}

/* Probes every 100 ms to 40 s: 10 ms before the shock [10 s, 20 s], 500 ms
 * from 10 s until `calm_ms`, then 10 ms, with an optional blip. */
static void drill(struct fl_budgets *b, double calm_ms, double blip_ms, bool reverse)
{
	for (int k = 0; k < 400; k++) {
		int i = reverse ? 399 - k : k;
		double t = i * 100.0;
		double lat = t >= 10000 && t < calm_ms ? 500 : t == blip_ms ? 500 : 10;

		fl_budgets_probe(b, t, "a", true, lat);
	}
	fl_budgets_end(b, 40000);
}

static void test_time_to_stable(void **state)
{
	struct fl_budget_limits l;
	struct fl_verdicts *o = malloc(sizeof(*o));
	struct fl_budgets *b;

	fl_budget_limits_init(&l);
	l.time_to_stable_s = 6;
	b = mk(&l);
	fl_budgets_set_shock(b, 10000, 20000);
	drill(b, 25000, -1, false);
	assert_int_equal(fl_budgets_eval(b, o), 0);
	assert_true(o->stable_ms == 25000);
	assert_true(o->tts_ms == 5000);
	assert_false(find(o, "time_to_stable_s")->broken);
	assert_true(o->probe[1].pre_p99 == 10);
	assert_true(o->probe[1].peak_p99 == 500);
	assert_true(o->probe[1].peak_ratio == 50);
	fl_budgets__free(b);

	/* a blip at 27.5 s: the run of calm windows restarts at 28 s */
	b = mk(&l);
	fl_budgets_set_shock(b, 10000, 20000);
	drill(b, 25000, 27500, true);
	assert_int_equal(fl_budgets_eval(b, o), 0);
	assert_true(o->stable_ms == 28000);
	assert_true(o->tts_ms == 8000);
	assert_true(find(o, "time_to_stable_s")->broken);
	assert_true(find(o, "time_to_stable_s")->broke_ms == 26000);
	fl_budgets__free(b);

	/* never calm again */
	b = mk(&l);
	fl_budgets_set_shock(b, 10000, 20000);
	drill(b, 1e9, -1, false);
	assert_int_equal(fl_budgets_eval(b, o), 0);
	assert_true(o->tts_never);
	assert_true(isnan(o->tts_ms));
	assert_true(find(o, "time_to_stable_s")->broken);
	assert_true(isinf(find(o, "time_to_stable_s")->measured));
	fl_budgets__free(b);
	free(o);
}

static void test_shock_from_faults(void **state)
{
	struct fl_budget_limits l;
	struct fl_verdicts *o = malloc(sizeof(*o));
	struct fl_budgets *b;

	fl_budget_limits_init(&l);
	l.time_to_stable_s = 10;
	b = mk(&l);
	drill(b, 25000, -1, false);
	/* no scenario: the shock is the first to the last fault */
	fl_budgets_fault(b, 10000);
	fl_budgets_fault(b, 15000);
	fl_budgets_fault(b, 21500);
	assert_int_equal(fl_budgets_eval(b, o), 0);
	assert_true(o->shock_start_ms == 10000 && o->shock_end_ms == 21500);
	assert_true(o->stable_ms == 25000);
	assert_true(o->tts_ms == 3500);
	fl_budgets__free(b);
	/* no faults, no shock: no data, holds */
	b = mk(&l);
	drill(b, 0, -1, false);
	assert_int_equal(fl_budgets_eval(b, o), 0);
	assert_false(find(o, "time_to_stable_s")->broken);
	assert_non_null(strstr(find(o, "time_to_stable_s")->note, "no data"));
	fl_budgets__free(b);
	free(o);
}

static void test_event_parse(void **state)
{
	struct fl_event e;
	char why[128];
	char big[5000];

#define OK(s) assert_int_equal(fl_event_parse(s, strlen(s), &e, why, sizeof(why)), 0)
#define BAD(s) assert_int_equal(fl_event_parse(s, strlen(s), &e, why, sizeof(why)), -EINVAL)
	OK("{\"type\":\"probe\",\"name\":\"withdraw\",\"ok\":true,\"latency_ms\":12.5}");
	assert_int_equal(e.type, FL_EV_PROBE);
	assert_true(e.ok && e.latency_ms == 12.5);
	OK("{\"type\":\"probe\",\"name\":\"w\",\"ok\":false,\"src\":\"me\",\"extra\":[1]}");
	assert_true(isnan(e.latency_ms));
	assert_string_equal(e.src, "me");
	OK("{\"type\":\"metric\",\"name\":\"lag\",\"value\":-3}  ");
	assert_true(e.value == -3);
	OK("{\"type\":\"invariant\",\"name\":\"x\",\"ok\":false,\"detail\":\"d\"}");
	assert_string_equal(e.text, "d");
	OK("{\"type\":\"mark\",\"text\":\"froze withdrawals\"}");
	BAD("{\"type\":\"probe\",\"name\":\"w\"}");
	BAD("{\"type\":\"probe\",\"name\":\"\",\"ok\":true}");
	BAD("{\"type\":\"probe\",\"name\":\"w\",\"ok\":1}");
	BAD("{\"type\":\"probe\",\"name\":\"w\",\"ok\":true,\"latency_ms\":-1}");
	BAD("{\"type\":\"metric\",\"name\":\"lag\",\"value\":\"3\"}");
	BAD("{\"type\":\"mark\"}");
	BAD("{\"type\":\"mark\",\"text\":\"a\"} x");
	BAD("{\"type\":\"nosuch\"}");
	BAD("[1]");
	BAD("not json");
	BAD("{\"type\":\"mark\",\"text\":\"a\",\"src\":\"0123456789012345678901234567890123\"}");
	assert_int_equal(fl_event_parse("{\"type\":\"mark\",\"text\":\"a\0\"}", 26, &e, why,
					sizeof(why)), -EINVAL);
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"type\":\"mark\",\"text\":\"", 23);
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	BAD(big); /* text longer than 1023 bytes */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_p99_gate),
		cmocka_unit_test(test_error_rate_and_others),
		cmocka_unit_test(test_time_to_stable),
		cmocka_unit_test(test_shock_from_faults),
		cmocka_unit_test(test_event_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
