/*
 * skip77.h — cmocka with the project's skip convention: a test binary
 * one of whose cases called skip() exits 77 (tests/run.sh counts it as
 * skipped, CI under FAULTLINE_NO_SKIP=1 as failed) instead of 0.
 *
 * The Makefile force-includes this header into every unit test source
 * (-include), so a new test cannot forget it; a test's own
 * `#include <cmocka.h>` is then a no-op (cmocka.h has an include guard).
 * Give the reason with print_message("skip: why\n") before skip(); the
 * exit line repeats the last one.
 */
#ifndef FL_SKIP77_H
#define FL_SKIP77_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

static int fl__unit_skipped;

static inline int fl__unit_exit(int failed)
{
	if (failed)
		return failed > 0 && failed < 77 ? failed : 1;
	if (fl__unit_skipped) {
		fprintf(stderr, "skipped: %d case(s) could not run here (see above)\n",
			fl__unit_skipped);
		return 77;
	}
	return 0;
}

#undef skip
#define skip() (fl__unit_skipped++, _skip(__FILE__, __LINE__))

#undef cmocka_run_group_tests
#define cmocka_run_group_tests(group_tests, group_setup, group_teardown)        \
	fl__unit_exit(_cmocka_run_group_tests(#group_tests, group_tests,        \
					      sizeof(group_tests) /             \
						      sizeof((group_tests)[0]), \
					      group_setup, group_teardown))

#endif /* FL_SKIP77_H */
