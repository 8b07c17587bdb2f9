/*
 * test_report.c — what `faultline report` computes from a timeline, on
 * small hand-written timelines (report.h):
 *  - the budgets record's limits and shock drive the same verdicts as live:
 *    p99 broken at the first slow probe past the allowance, an invariant
 *    budget at the first violation;
 *  - what broke first, the first violation, time to detect (first mark at
 *    or after the first burn, minus it) and time to respond (that mark to
 *    stability);
 *  - a tick's drill time is its at_ms (t_ms is market time), so the
 *    drill's end is not the market's;
 *  - refused: a bad limit (FILE:LINE: limits.KEY), a budgets record after
 *    the program's records, a timeline without a start record;
 *  - the text view names each budget and the verdict; the HTML view
 *    escapes a mark's text;
 *  - a probe at t_ms 1e15 (the fuzzer's find) is judged in no time: the
 *    stability and peak loops jump over empty windows;
 *  - the table's window width and the dollar format.
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

#include "report.h"

#define START "{\"type\":\"start\",\"version\":\"t\",\"mode\":\"run\",\"seed\":1," \
	      "\"profile\":\"\",\"speed\":10}\n"

static char *cat_probes(const char *head, const char *tail)
{
	size_t cap = 1 << 16, n;
	char *b = malloc(cap);

	assert_non_null(b);
	n = (size_t)snprintf(b, cap, "%s", head);
	/* 20 probes at 0.1 s steps before the shock (2 ms), then 20 slow ones
	 * (300 ms) from 4 s, then 80 fast ones from 8 s */
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(b + n, cap - n, "{\"type\":\"probe\",\"t_ms\":%d,\"name\":"
				      "\"w\",\"ok\":true,\"latency_ms\":2}\n", 100 * i);
	for (int i = 0; i < 20; i++)
		n += (size_t)snprintf(b + n, cap - n, "{\"type\":\"probe\",\"t_ms\":%d,\"name\":"
				      "\"w\",\"ok\":%s,\"latency_ms\":300}\n", 4000 + 100 * i,
				      i == 3 ? "false" : "true");
	for (int i = 0; i < 80; i++)
		n += (size_t)snprintf(b + n, cap - n, "{\"type\":\"probe\",\"t_ms\":%d,\"name\":"
				      "\"w\",\"ok\":true,\"latency_ms\":2}\n", 8000 + 100 * i);
	snprintf(b + n, cap - n, "%s", tail);
	return b;
}

static struct fl_report *load(const char *text)
{
	struct fl_report *r;
	char err[512];
	int rc = fl_report_load_mem("t.jsonl", text, strlen(text), &r, err, sizeof(err));

	if (rc)
		fail_msg("load: %d %s", rc, err);
	return r;
}

/* A view of r rendered into memory (free it) */
static char *render(const struct fl_report *r, int (*view)(const struct fl_report *, FILE *))
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	assert_non_null(f);
	assert_int_equal(view(r, f), 0);
	fclose(f);
	return out;
}

static void test_verdicts_and_marks(void **state)
{
	char *tl = cat_probes(START
		"{\"type\":\"budgets\",\"limits\":{\"probe_p99_ms\":100,\"invariant_violations\":0},"
		"\"shock_ms\":[3000,4000],\"window_ms\":1000,\"sustain_windows\":5}\n"
		"{\"type\":\"tick\",\"tick\":0,\"t_ms\":0,\"at_ms\":0,\"signals\":{\"spot\":100,"
		"\"spread_bps\":2},\"intensity\":{\"0\":0}}\n"
		"{\"type\":\"tick\",\"tick\":900,\"t_ms\":90000,\"at_ms\":9000,\"signals\":{\"spot\":90,"
		"\"spread_bps\":9},\"intensity\":{\"0\":1}}\n",
		"{\"type\":\"mark\",\"t_ms\":1000,\"text\":\"before any burn\"}\n"
		"{\"type\":\"mark\",\"t_ms\":6000,\"text\":\"froze <withdrawals>\"}\n"
		"{\"type\":\"invariant\",\"t_ms\":5000,\"name\":\"ledger\",\"ok\":false,"
		"\"detail\":\"off by 1\"}\n"
		"{\"type\":\"fault\",\"t_ms\":4000,\"rule\":0,\"target\":\"db\",\"op\":\"recv\","
		"\"fault\":\"delay\",\"value_ms\":300,\"kind\":\"fault\"}\n"
		"{\"type\":\"exit\",\"status\":0,\"signal\":null}\n");
	struct fl_report *r = load(tl);
	const struct fl_verdicts *vd = &r->vd;
	char *out;

	(void)state;
	assert_true(r->has_budgets);
	assert_int_equal(vd->n, 2);
	assert_string_equal(vd->v[0].budget, "probe_p99_ms");
	/* 120 probes with latencies: 1 allowed over 100 ms (120 - ceil(118.8));
	 * the second slow one breaks it */
	assert_true(vd->v[0].broken);
	assert_true(fabs(vd->v[0].burn_ms - 4000) < 1e-9);
	assert_true(fabs(vd->v[0].broke_ms - 4100) < 1e-9);
	assert_true(vd->v[1].broken);
	assert_true(fabs(vd->v[1].broke_ms - 5000) < 1e-9);
	assert_non_null(vd->first_broken);
	assert_string_equal(vd->first_broken->budget, "probe_p99_ms");
	assert_true(fl_report_broken(r));
	/* the first violation */
	assert_int_equal(r->first_inv, 0);
	assert_true(fabs(r->invs.v[0].t_ms - 5000) < 1e-9);
	/* detect: the mark at 6 s, 2 s after the first burn at 4 s (the one at
	 * 1 s came before any burn) */
	assert_int_equal(r->detect_mark, 1);
	assert_true(fabs(r->detect_after_ms - 2000) < 1e-9);
	/* stable: windows from 8 s are inside the band (2 ms pre-shock p99) */
	assert_true(fabs(vd->stable_ms - 8000) < 1e-9);
	assert_true(fabs(vd->tts_ms - 4000) < 1e-9);
	assert_true(fabs(r->respond_ms - 2000) < 1e-9);
	/* ticks: drill time from at_ms; the end is the last probe (15.9 s), not
	 * the market's 90 s */
	assert_int_equal(r->ticks.n, 2);
	assert_true(fabs(r->ticks.v[1].t_ms - 9000) < 1e-9);
	assert_true(fabs(r->ticks.v[1].market_ms - 90000) < 1e-9);
	assert_true(fabs(r->t_end_ms - 15900) < 1e-9);
	assert_int_equal(r->rules[0].faults, 1);
	assert_int_equal(r->rules[0].armed, 1);
	assert_int_equal(r->rules[0].seen, 2);

	out = render(r, fl_report_text);
	assert_non_null(strstr(out, "probe_p99_ms"));
	assert_non_null(strstr(out, "verdict: DID NOT HOLD: 2 budgets broken, probe_p99_ms first at 4.1 s"));
	assert_non_null(strstr(out, "time to detect   2.0 s"));
	assert_non_null(strstr(out, "time to respond  2.0 s"));
	assert_non_null(strstr(out, "time to stability  4.0 s"));
	free(out);
	out = render(r, fl_report_html);
	assert_non_null(strstr(out, "froze &lt;withdrawals&gt;"));
	assert_null(strstr(out, "<withdrawals>"));
	assert_non_null(strstr(out, "id=\"first-breach\""));
	assert_non_null(strstr(out, "id=\"series-price\" class=\"price\""));
	free(out);
	fl_report__free(r);
	free(tl);
}

static void expect_refused(const char *text, const char *msg)
{
	struct fl_report *r = (void *)1;
	char err[512];
	int rc = fl_report_load_mem("t.jsonl", text, strlen(text), &r, err, sizeof(err));

	assert_int_equal(rc, -EINVAL);
	assert_null(r);
	if (!strstr(err, msg))
		fail_msg("expected '%s' in '%s'", msg, err);
}

static void test_refused(void **state)
{
	(void)state;
	expect_refused(START "{\"type\":\"budgets\",\"limits\":{\"probe_p99_ms\":\"x\"}}\n",
		       "t.jsonl:2: limits.probe_p99_ms: expected a number");
	expect_refused(START "{\"type\":\"budgets\",\"limits\":{\"nosuch\":1}}\n",
		       "t.jsonl:2: limits");
	expect_refused(START "{\"type\":\"probe\",\"t_ms\":1,\"name\":\"a\",\"ok\":true}\n"
		       "{\"type\":\"budgets\",\"limits\":{}}\n",
		       "t.jsonl:3: a budgets record after the program's records");
	expect_refused("{\"type\":\"probe\",\"t_ms\":1,\"name\":\"a\",\"ok\":true}\n",
		       "t.jsonl: no start record");
	expect_refused(START "{\"type\":\"probe\",\n", "t.jsonl:2: not JSON");
}

static void test_no_budgets(void **state)
{
	struct fl_report *r = load(START "{\"type\":\"exit\",\"status\":0,\"signal\":null}\n");

	(void)state;
	assert_false(r->has_budgets);
	assert_int_equal(r->vd.n, 0);
	assert_false(fl_report_broken(r));
	assert_int_equal(r->detect_mark, -1);
	assert_true(isnan(r->detect_after_ms));
	fl_report__free(r);
}

/* Every string of the start record is escaped in the HTML, the mode too
 * (found by fuzz_report: a start record's "mode" was printed as it was) */
static void test_html_escapes_start(void **state)
{
	struct fl_report *r = load("{\"type\":\"start\",\"version\":\"<b>v\",\"mode\":\"ru<script>n\","
				   "\"seed\":1,\"profile\":\"<i>p\",\"speed\":10}\n"
				   "{\"type\":\"exit\",\"status\":0,\"signal\":null}\n");
	char *out = render(r, fl_report_html);

	(void)state;
	assert_null(strstr(out, "<script"));
	assert_non_null(strstr(out, "ru&lt;script&gt;n"));
	assert_null(strstr(out, "<b>v"));
	assert_null(strstr(out, "<i>p"));
	free(out);
	fl_report__free(r);
}

static void test_far_time(void **state)
{
	struct fl_report *r = load(START
		"{\"type\":\"budgets\",\"limits\":{\"time_to_stable_s\":10},"
		"\"shock_ms\":[1000,2000]}\n"
		"{\"type\":\"probe\",\"t_ms\":0,\"name\":\"a\",\"ok\":true,\"latency_ms\":1}\n"
		"{\"type\":\"probe\",\"t_ms\":500,\"name\":\"a\",\"ok\":true,\"latency_ms\":1}\n"
		"{\"type\":\"probe\",\"t_ms\":3000,\"name\":\"a\",\"ok\":true,\"latency_ms\":900}\n"
		"{\"type\":\"probe\",\"t_ms\":1e15,\"name\":\"a\",\"ok\":true,\"latency_ms\":1}\n"
		"{\"type\":\"probe\",\"t_ms\":1e300,\"name\":\"a\",\"ok\":true,\"latency_ms\":1}\n");

	(void)state;
	assert_true(r->vd.tts_never);
	assert_true(r->vd.v[0].broken);
	assert_true(fabs(r->vd.probe[0].peak_p99 - 900) < 1e-9);
	fl_report__free(r);
}

static void test_helpers(void **state)
{
	char b[32];

	(void)state;
	assert_true(fl_rp_window_ms(10000) == 1000);
	assert_true(fl_rp_window_ms(45000) == 2000);
	assert_true(fl_rp_window_ms(48900) == 5000);
	assert_true(fl_rp_window_ms(10800000) == 600000);
	assert_true(fl_rp_window_ms(0) == 1000);
	fl_rp_usd(40e6, b, sizeof(b));
	assert_string_equal(b, "$40 M");
	fl_rp_usd(1.93e6, b, sizeof(b));
	assert_string_equal(b, "$1.93 M");
	fl_rp_usd(379e3, b, sizeof(b));
	assert_string_equal(b, "$379 k");
	fl_rp_usd(12, b, sizeof(b));
	assert_string_equal(b, "$12");
	fl_rp_usd(NAN, b, sizeof(b));
	assert_string_equal(b, "n/a");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts_and_marks),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_no_budgets),
		cmocka_unit_test(test_html_escapes_start),
		cmocka_unit_test(test_far_time),
		cmocka_unit_test(test_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
