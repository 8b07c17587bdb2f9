/*
 * test_ticker.c — scenario ticking: binding arithmetic (scale, when_signal,
 * both, inverted, NaN), and a ticker on a real control block: tick 0's
 * intensities are published at init, ticks follow scenario time at any
 * speed, hdr.tick and the tick records follow, the scenario ends.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "block.h"
#include "ticker.h"

static void test_binding_math(void **state)
{
	struct fl_binding s = { .signal = 0, .scale = true, .lo = 10, .hi = 20 };
	struct fl_binding w = { .signal = 0, .when = true, .has_below = true, .below = 5 };
	struct fl_binding a = { .signal = 0, .when = true, .has_above = true, .above = 5 };
	struct fl_binding both = { .signal = 0, .scale = true, .lo = 0, .hi = 10,
				   .when = true, .has_above = true, .above = 4 };
	struct fl_binding inv = { .signal = 0, .scale = true, .lo = 100, .hi = 0 };

	assert_float_equal(fl_binding_intensity(&s, 5), 0.0, 0);
	assert_float_equal(fl_binding_intensity(&s, 15), 0.5, 1e-12);
	assert_float_equal(fl_binding_intensity(&s, 25), 1.0, 0);
	assert_float_equal(fl_binding_intensity(&s, NAN), 0.0, 0);
	assert_float_equal(fl_binding_intensity(&w, 4), 1.0, 0);
	assert_float_equal(fl_binding_intensity(&w, 5), 0.0, 0);
	assert_float_equal(fl_binding_intensity(&a, 6), 1.0, 0);
	assert_float_equal(fl_binding_intensity(&a, 5), 0.0, 0);
	assert_float_equal(fl_binding_intensity(&both, 3), 0.0, 0);
	assert_float_equal(fl_binding_intensity(&both, 8), 0.8, 1e-12);
	assert_float_equal(fl_binding_intensity(&inv, 25), 0.75, 1e-12);
}

static const char scenario[] =
	"{\"faultline\": 1, \"seed\": 5,"
	" \"targets\": {\"t\": {\"tcp\": \"127.0.0.1:9\"}},"
	" \"market\": {\"duration_s\": 2, \"dt_ms\": 100},"
	" \"rules\": ["
	"  {\"target\": \"t\", \"op\": \"connect\", \"fault\": \"error\","
	"   \"errno\": \"ECONNREFUSED\"},"
	"  {\"target\": \"t\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 100,"
	"   \"scale\": {\"signal\": \"spot\", \"lo\": 0, \"hi\": 1e9}}]}";

static void test_ticker_on_a_block(void **state)
{
	static struct fl_profile p;
	struct fl_block_owner o = { geteuid(), getegid(), false };
	char err[4096] = "";
	struct fl_timeline tl;
	struct fl_ticker t;
	struct fl_block h;
	uint32_t i0;

	if (fl_profile_parse("scenario", scenario, sizeof(scenario) - 1, &p, err,
			     sizeof(err)) < 0)
		fail_msg("%s", err);
	assert_non_null(p.market);
	assert_int_equal(fl_block_create(NULL, &o, 5, &h), 0);
	fl_profile_publish(&p, h.ctl);
	assert_int_equal(fl_timeline_open(&tl, NULL, &p), 0);
	assert_int_equal(fl_ticker_init(&t, &p, h.ctl, 5, 4.0, 0), 0);
	assert_int_equal(t.nscaled, 1);
	assert_int_equal(t.scaled[0], 1);
	/* tick 0 published before activation; the unbound rule is untouched */
	i0 = atomic_load(&h.ctl->rules[1].intensity);
	assert_true(i0 > 0 && i0 < FL_INTENSITY_ONE);
	assert_int_equal(atomic_load(&h.ctl->rules[0].intensity), FL_INTENSITY_ONE);
	assert_int_equal(fl_ticker_period_ns(&t), 25000000); /* 100 ms / 4 */
	/* 0.1 s of real time at speed 4 is 0.4 s of scenario: 4 ticks */
	assert_false(fl_ticker_advance(&t, 100000000, &tl));
	assert_int_equal(t.tick, 4);
	assert_int_equal(atomic_load(&h.ctl->hdr.tick), 4);
	assert_int_equal(tl.ticks, 4);
	/* not due yet: nothing happens */
	assert_false(fl_ticker_advance(&t, 100000001, &tl));
	assert_int_equal(t.tick, 4);
	/* far past the end: 20 ticks in all, then ended */
	while (!fl_ticker_advance(&t, 10000000000ll, &tl))
		;
	assert_int_equal(t.tick, 20);
	assert_true(t.ended);
	fl_ticker__free(&t);
	fl_block_close(&h);
	fl_profile__free(&p);
}

static void test_ticker_decimates_records(void **state)
{
	static struct fl_profile p;
	struct fl_block_owner o = { geteuid(), getegid(), false };
	char err[4096] = "";
	struct fl_timeline tl;
	struct fl_ticker t;
	struct fl_block h;

	assert_int_equal(fl_profile_parse("scenario", scenario, sizeof(scenario) - 1,
					  &p, err, sizeof(err)), 0);
	assert_int_equal(fl_block_create(NULL, &o, 5, &h), 0);
	fl_profile_publish(&p, h.ctl);
	fl_timeline_open(&tl, NULL, &p);
	/* speed 100: one record per 10 ticks by default */
	assert_int_equal(fl_ticker_init(&t, &p, h.ctl, 5, 100.0, 0), 0);
	fl_ticker_record(&t, &tl);
	while (!fl_ticker_advance(&t, 10000000000ll, &tl))
		;
	assert_int_equal(t.tick, 20);
	assert_int_equal(tl.ticks, 3); /* ticks 0, 10, 20 */
	fl_ticker__free(&t);
	/* --ticks-every 500 ms */
	assert_int_equal(fl_ticker_init(&t, &p, h.ctl, 5, 1.0, 500000000), 0);
	tl.ticks = 0;
	while (!fl_ticker_advance(&t, 10000000000ll, &tl))
		;
	assert_int_equal(tl.ticks, 4); /* 0.1 s (first), 0.6, 1.1, 1.6 */
	fl_ticker__free(&t);
	fl_block_close(&h);
	fl_profile__free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_binding_math),
		cmocka_unit_test(test_ticker_on_a_block),
		cmocka_unit_test(test_ticker_decimates_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
