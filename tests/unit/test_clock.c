/*
 * test_clock.c — the time math of clock faults (shim/pure_clock.c): the
 * fake-time function of each fault and their composition, monotonic never
 * going backwards, the inverse used for absolute waits, and FAKETIME.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shim.h"

#define MS 1000000ll
#define S 1000000000ll

static struct fl_rule rules[FL_MAX_RULES];
static unsigned nrules;
static struct fl_clkfn fn;

static int setup(void **state)
{
	memset(rules, 0, sizeof(rules));
	nrules = 0;
	memset(&fn, 0, sizeof(fn));
	return 0;
}

static void add(unsigned clock, unsigned fault, int64_t from_ms, int64_t to_ms,
		int64_t ns, int64_t ppm)
{
	struct fl_rule *r = &rules[nrules++];
	r->flags = FL_RF_CLOCK;
	r->clock = (uint8_t)clock;
	r->fault = (uint8_t)fault;
	r->ns = ns;
	r->ppm = ppm;
	if (from_ms >= 0) {
		r->flags |= FL_RF_WINDOW;
		r->win_from_ns = from_ms * MS;
		r->win_to_ns = to_ms * MS;
	}
}

static void build(unsigned clock)
{
	assert_int_equal(fl__clkfn_build(&fn, rules, nrules, clock), 0);
}

/* delta at run time t (the clock's real value is t itself here) */
static int64_t delta(int64_t t)
{
	return fl__clkfn_apply(&fn, t, t) - t;
}

static int64_t fake(int64_t t)
{
	return fl__clkfn_apply(&fn, t, t);
}

static void no_rules_is_identity(void **state)
{
	add(FL_CLK_REALTIME, FL_FAULT_OFFSET, -1, 0, 5 * S, 0);
	build(FL_CLK_MONOTONIC);
	assert_int_equal(fn.kind, FL_CLKFN_IDENT);
	assert_int_equal(delta(7 * S), 0);
}

static void offset_is_constant(void **state)
{
	add(FL_CLK_REALTIME, FL_FAULT_OFFSET, -1, 0, -3600 * S, 0);
	add(FL_CLK_REALTIME, FL_FAULT_OFFSET, -1, 0, 1 * S, 0);
	build(FL_CLK_REALTIME);
	assert_int_equal(fn.kind, FL_CLKFN_CONST);
	assert_int_equal(delta(0), -3599 * S);
	assert_int_equal(delta(1000 * S), -3599 * S);
	assert_int_equal(fl__clkfn_wait(&fn, 5 * S, 200 * MS), 200 * MS);
}

static void windowed_offset_comes_and_goes(void **state)
{
	add(FL_CLK_REALTIME, FL_FAULT_OFFSET, 1000, 2000, -30 * S, 0);
	build(FL_CLK_REALTIME);
	assert_int_equal(delta(999 * MS), 0);
	assert_int_equal(delta(1000 * MS), -30 * S);
	assert_int_equal(delta(1999 * MS), -30 * S);
	assert_int_equal(delta(2000 * MS), 0);
}

static void drift_accumulates_and_stays(void **state)
{
	add(FL_CLK_MONOTONIC, FL_FAULT_DRIFT, 10000, 20000, 0, 500);
	build(FL_CLK_MONOTONIC);
	assert_int_equal(fn.kind, FL_CLKFN_PIECES);
	assert_int_equal(delta(9 * S), 0);
	assert_int_equal(delta(10 * S), 0);
	assert_int_equal(delta(12 * S), 1 * MS);      /* 2 s at 500 ppm */
	assert_int_equal(delta(20 * S), 5 * MS);      /* 10 s at 500 ppm */
	assert_int_equal(delta(1000 * S), 5 * MS);    /* stays after the window */
}

static void drift_without_window_runs_from_zero(void **state)
{
	add(FL_CLK_REALTIME, FL_FAULT_DRIFT, -1, 0, 0, -250000); /* x0.75 */
	build(FL_CLK_REALTIME);
	assert_int_equal(delta(0), 0);
	assert_int_equal(delta(4 * S), -1 * S);
}

static void freeze_stands_then_resumes(void **state)
{
	add(FL_CLK_MONOTONIC, FL_FAULT_FREEZE, 1000, 3000, 0, 0);
	build(FL_CLK_MONOTONIC);
	assert_int_equal(fake(500 * MS), 500 * MS);
	assert_int_equal(fake(1000 * MS), 1000 * MS);
	assert_int_equal(fake(2999 * MS), 1000 * MS);
	assert_int_equal(fake(3000 * MS), 1000 * MS); /* resumes from there */
	assert_int_equal(fake(4000 * MS), 2000 * MS); /* the frozen span is lost */
}

static void jump_steps_once(void **state)
{
	add(FL_CLK_REALTIME, FL_FAULT_JUMP, 5000, 6000, -3600 * S, 0);
	build(FL_CLK_REALTIME);
	assert_int_equal(delta(4999 * MS), 0);
	assert_int_equal(delta(5000 * MS), -3600 * S);
	assert_int_equal(delta(9000 * MS), -3600 * S); /* stays after the window */
}

static void faults_compose(void **state)
{
	add(FL_CLK_MONOTONIC, FL_FAULT_OFFSET, -1, 0, 10 * S, 0);
	add(FL_CLK_MONOTONIC, FL_FAULT_DRIFT, 0, 10000, 0, 100000); /* x1.1 */
	add(FL_CLK_MONOTONIC, FL_FAULT_FREEZE, 5000, 6000, 0, 0);
	add(FL_CLK_MONOTONIC, FL_FAULT_JUMP, 8000, 9000, 2 * S, 0);
	build(FL_CLK_MONOTONIC);
	assert_int_equal(fake(0), 10 * S);
	assert_int_equal(fake(5 * S), 15500 * MS);
	assert_int_equal(fake(5500 * MS), 15500 * MS);  /* freeze beats drift */
	assert_int_equal(fake(6 * S), 15500 * MS);
	assert_int_equal(fake(8 * S), 19700 * MS);      /* 2 s more at x1.1 + jump */
	assert_int_equal(fake(10 * S), 21900 * MS);
	assert_int_equal(fake(11 * S), 22900 * MS);
}

static void drifts_below_stop_count_as_frozen(void **state)
{
	add(FL_CLK_MONOTONIC, FL_FAULT_DRIFT, 0, 1000, 0, -600000);
	add(FL_CLK_MONOTONIC, FL_FAULT_DRIFT, 0, 1000, 0, -600000);
	build(FL_CLK_MONOTONIC);
	assert_int_equal(fake(500 * MS), 0);
	assert_int_equal(fake(1500 * MS), 500 * MS);
}

/* Loader-valid monotonic rules, chosen from a fixed list: t + delta(t)
 * never decreases. */
static void monotonic_never_goes_back(void **state)
{
	uint64_t x = 88172645463325252ull;
	for (int round = 0; round < 200; round++) {
		setup(state);
		int n = 1 + (int)(x % 6);
		for (int i = 0; i < n; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			int64_t from = (int64_t)(x % 5000), to = from + 1 + (int64_t)((x >> 20) % 5000);
			switch ((x >> 40) % 4) {
			case 0: add(FL_CLK_MONOTONIC, FL_FAULT_OFFSET, -1, 0, (int64_t)(x % 100) * MS, 0); break;
			case 1: add(FL_CLK_MONOTONIC, FL_FAULT_DRIFT, from, to, 0, (int64_t)((x >> 8) % 1999998) - 999999); break;
			case 2: add(FL_CLK_MONOTONIC, FL_FAULT_FREEZE, from, to, 0, 0); break;
			case 3: add(FL_CLK_MONOTONIC, FL_FAULT_JUMP, from, to, 1 + (int64_t)(x % 1000) * MS, 0); break;
			}
		}
		build(FL_CLK_MONOTONIC);
		int64_t prev = fake(-1 * S);
		for (int64_t t = -1 * S; t < 12 * S; t += 999983) {
			int64_t f = fake(t);
			assert_true(f >= prev);
			prev = f;
		}
	}
}

/* The wait for a fake deadline: the earliest real time it is reached. */
static void wait_inverts_the_function(void **state)
{
	add(FL_CLK_REALTIME, FL_FAULT_DRIFT, 1000, 5000, 0, 1000000);   /* x2 */
	add(FL_CLK_REALTIME, FL_FAULT_JUMP, 6000, 7000, -10 * S, 0);
	add(FL_CLK_REALTIME, FL_FAULT_FREEZE, 8000, 9000, 0, 0);
	build(FL_CLK_REALTIME);
	for (int64_t t = 0; t < 10 * S; t += 37 * MS + 12345) {
		for (int64_t rem = 1; rem < 6 * S; rem = rem * 3 + 7) {
			int64_t w = fl__clkfn_wait(&fn, t, rem), target = fake(t) + rem;
			assert_true(w >= 0);
			assert_true(fake(t + w) >= target);
			if (w > 0) /* earliest: a nanosecond before, not yet */
				assert_true(fake(t + w - 1) < target);
		}
	}
	/* at double speed a 200 ms wait takes 100 ms */
	assert_int_equal(fl__clkfn_wait(&fn, 2 * S, 200 * MS), 100 * MS);
}

static void wait_inside_freeze_lasts_to_its_end(void **state)
{
	add(FL_CLK_MONOTONIC, FL_FAULT_FREEZE, 1000, 3000, 0, 0);
	build(FL_CLK_MONOTONIC);
	/* at 1.5 s the clock reads 1.0 s; 1.2 s comes 0.2 s after the window */
	assert_int_equal(fl__clkfn_wait(&fn, 1500 * MS, 200 * MS), 1700 * MS);
	assert_int_equal(fl__clkfn_wait(&fn, 500 * MS, 200 * MS), 200 * MS);
	assert_int_equal(fl__clkfn_wait(&fn, 900 * MS, 200 * MS), 2200 * MS);
	assert_int_equal(fl__clkfn_wait(&fn, 0, 0), 0);
}

static void frozen_for_good_still_sleeps(void **state)
{
	fn.kind = FL_CLKFN_FROZEN;
	fn.c = 1767225600 * S;
	assert_int_equal(fl__clkfn_apply(&fn, 123, 456), 1767225600 * S);
	assert_int_equal(fl__clkfn_wait(&fn, 5 * S, 300 * MS), 300 * MS);
	fl__clkfn_linear(&fn, 7, FL_PPM_FROZEN); /* speed x0 */
	assert_int_equal(fl__clkfn_wait(&fn, 5 * S, 300 * MS), 300 * MS);
}

static void linear_and_shift(void **state)
{
	fl__clkfn_linear(&fn, 0, 0);
	assert_int_equal(fn.kind, FL_CLKFN_IDENT);
	fl__clkfn_linear(&fn, 5 * S, 0);
	assert_int_equal(fn.kind, FL_CLKFN_CONST);
	fl__clkfn_linear(&fn, 3600 * S, 9000000); /* +1h x10 */
	assert_int_equal(fl__clkfn_apply(&fn, 2 * S, 2 * S), 2 * S + 3600 * S + 18 * S);
	assert_int_equal(fl__clkfn_wait(&fn, 2 * S, 10 * S), 1 * S);
	fl__clkfn_shift(&fn, 1 * S);
	assert_int_equal(fl__clkfn_apply(&fn, 2 * S, 2 * S), 2 * S + 3601 * S + 18 * S);
	fl__clkfn_linear(&fn, 0, 0);
	fl__clkfn_shift(&fn, 4);
	assert_int_equal(fn.kind, FL_CLKFN_CONST);
	assert_int_equal(fl__clkfn_apply(&fn, 10, 0), 14);
}

static void saturates(void **state)
{
	fl__clkfn_linear(&fn, INT64_MAX - 5, 0);
	assert_int_equal(fl__clkfn_apply(&fn, 100, 0), INT64_MAX);
	fl__clkfn_linear(&fn, 0, 1000000000); /* x1001 */
	assert_int_equal(fl__clkfn_apply(&fn, 0, INT64_MAX / 2), INT64_MAX);
}

static void faketime_forms(void **state)
{
	struct fl_faketime ft;

	assert_int_equal(fl__faketime_parse("+2d", &ft), 0);
	assert_int_equal(ft.mode, FL_FT_REL);
	assert_int_equal(ft.off_ns, 2 * 86400 * S);
	assert_int_equal(ft.rate_ppm, 0);
	assert_int_equal(fl__faketime_parse("-3h", &ft), 0);
	assert_int_equal(ft.off_ns, -3 * 3600 * S);
	assert_int_equal(fl__faketime_parse("-120", &ft), 0);
	assert_int_equal(ft.off_ns, -120 * S);
	assert_int_equal(fl__faketime_parse("+10m", &ft), 0);
	assert_int_equal(ft.off_ns, 600 * S);
	assert_int_equal(fl__faketime_parse("+1y", &ft), 0);
	assert_int_equal(ft.off_ns, 365 * 86400 * S);
	assert_int_equal(fl__faketime_parse("+1.5h", &ft), 0);
	assert_int_equal(ft.off_ns, 5400 * S);
	assert_int_equal(fl__faketime_parse("+1,5h", &ft), 0);
	assert_int_equal(ft.off_ns, 5400 * S);
	assert_int_equal(fl__faketime_parse("+30s", &ft), 0);
	assert_int_equal(ft.off_ns, 30 * S);
	assert_int_equal(fl__faketime_parse("+1h x2", &ft), 0);
	assert_int_equal(ft.off_ns, 3600 * S);
	assert_int_equal(ft.rate_ppm, 1000000);
	assert_int_equal(fl__faketime_parse("+0 x0.5", &ft), 0);
	assert_int_equal(ft.off_ns, 0);
	assert_int_equal(ft.rate_ppm, -500000);
	assert_int_equal(fl__faketime_parse("+1dx2", &ft), 0);
	assert_int_equal(ft.off_ns, 86400 * S);
	assert_int_equal(ft.rate_ppm, 1000000);

	assert_int_equal(fl__faketime_parse("@2026-01-01 00:00:00", &ft), 0);
	assert_int_equal(ft.mode, FL_FT_START);
	assert_int_equal(ft.tm.tm_year, 126);
	assert_int_equal(ft.tm.tm_mon, 0);
	assert_int_equal(ft.tm.tm_mday, 1);
	assert_int_equal(ft.tm.tm_isdst, -1);
	assert_int_equal(fl__faketime_parse("@2026-01-01 00:00:00 x10", &ft), 0);
	assert_int_equal(ft.rate_ppm, 9000000);
	assert_int_equal(fl__faketime_parse("2026-03-04 05:06:07", &ft), 0);
	assert_int_equal(ft.mode, FL_FT_FROZEN);
	assert_int_equal(ft.tm.tm_mon, 2);
	assert_int_equal(ft.tm.tm_mday, 4);
	assert_int_equal(ft.tm.tm_hour, 5);
	assert_int_equal(ft.tm.tm_min, 6);
	assert_int_equal(ft.tm.tm_sec, 7);
	assert_int_equal(fl__faketime_parse("2026-01-01 00:00:00.25", &ft), 0);
	assert_int_equal(ft.frac_ns, 250 * MS);

	assert_int_equal(fl__faketime_parse("", &ft), -EINVAL);
	assert_int_equal(ft.mode, FL_FT_NONE);
	assert_int_equal(fl__faketime_parse("1d", &ft), -EINVAL);
	assert_int_equal(fl__faketime_parse("2026-01-01", &ft), -EINVAL);
	assert_int_equal(fl__faketime_parse("+", &ft), -EINVAL);
	assert_int_equal(fl__faketime_parse("+1h xz", &ft), -EINVAL);
	assert_int_equal(fl__faketime_parse(NULL, &ft), -EINVAL);
}

/* A date int64 ns cannot hold is ignored (libfaketime ignores what mktime
 * cannot represent), never wrapped: "@0000-01-01" used to become 1753. */
static void faketime_out_of_range(void **state)
{
	struct fl_faketime ft;
	int64_t start = 42;

	assert_int_equal(fl__faketime_parse("@0000-01-01 00:00:00", &ft), 0);
	assert_int_equal(fl__faketime_start(&ft, 0, -62167219200ll, &start), -ERANGE);
	assert_int_equal(fl__faketime_start(&ft, 0, 10413792000ll, &start), -ERANGE); /* 2300 */
	assert_int_equal(start, 42);
	assert_int_equal(fl__faketime_start(&ft, 0, -8000000000ll, &start), 0); /* 1716 */
	assert_true(start == -8000000000ll * 1000000000ll);
	assert_int_equal(fl__faketime_parse("+250y", &ft), 0);
	assert_int_equal(fl__faketime_start(&ft, 1800000000ll * 1000000000ll, 0, &start), -ERANGE);
	assert_int_equal(fl__faketime_start(&ft, 1000, 0, &start), 0);
	assert_true(start == 1000 + ft.off_ns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(no_rules_is_identity, setup),
		cmocka_unit_test_setup(offset_is_constant, setup),
		cmocka_unit_test_setup(windowed_offset_comes_and_goes, setup),
		cmocka_unit_test_setup(drift_accumulates_and_stays, setup),
		cmocka_unit_test_setup(drift_without_window_runs_from_zero, setup),
		cmocka_unit_test_setup(freeze_stands_then_resumes, setup),
		cmocka_unit_test_setup(jump_steps_once, setup),
		cmocka_unit_test_setup(faults_compose, setup),
		cmocka_unit_test_setup(drifts_below_stop_count_as_frozen, setup),
		cmocka_unit_test_setup(monotonic_never_goes_back, setup),
		cmocka_unit_test_setup(wait_inverts_the_function, setup),
		cmocka_unit_test_setup(wait_inside_freeze_lasts_to_its_end, setup),
		cmocka_unit_test_setup(frozen_for_good_still_sleeps, setup),
		cmocka_unit_test_setup(linear_and_shift, setup),
		cmocka_unit_test_setup(saturates, setup),
		cmocka_unit_test_setup(faketime_forms, setup),
		cmocka_unit_test_setup(faketime_out_of_range, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
