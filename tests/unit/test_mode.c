/*
 * test_mode.c — the layer `--mode auto` chooses from what elfinfo says
 * (test_elfinfo.c tests the reading): static and Go binaries and set-ID
 * files run by another user get the seccomp supervisor, dynamic ones the
 * shim; an explicit mode is kept, with a warning when it cannot reach.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "elfinfo.h"
#include "mode.h"

static void test_parse_names(void **st)
{
	enum fl_mode m;

	assert_int_equal(fl_mode_parse("auto", &m), 0);
	assert_int_equal(m, FL_MODE_AUTO);
	assert_int_equal(fl_mode_parse("seccomp", &m), 0);
	assert_int_equal(m, FL_MODE_SECCOMP);
	assert_int_equal(fl_mode_parse("both", &m), 0);
	assert_int_equal(m, FL_MODE_BOTH);
	assert_int_equal(fl_mode_parse("preload", &m), 0);
	assert_int_equal(fl_mode_parse("ptrace", &m), -EINVAL);
	assert_int_equal(fl_mode_parse(NULL, &m), -EINVAL);
	assert_string_equal(fl_mode_name(FL_MODE_BOTH), "both");
}

static void test_auto(void **st)
{
	static struct fl_elf_info i;
	char why[512];

	memset(&i, 0, sizeof(i));
	strcpy(i.path, "/usr/bin/x");
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, 0, 0, why, sizeof(why)), FL_MODE_PRELOAD);
	assert_non_null(strstr(why, "dynamically linked"));
	i.is_static = true;
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, 0, 0, why, sizeof(why)), FL_MODE_SECCOMP);
	assert_non_null(strstr(why, "static binary"));
	i.is_static = false;
	i.go = true;
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, 0, 0, why, sizeof(why)), FL_MODE_SECCOMP);
	assert_non_null(strstr(why, "Go program"));
	i.go = false;
	i.setuid = true;
	i.owner = 0;
	/* the owner runs it: no secure-execution mode, the shim works */
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, 0, 0, why, sizeof(why)), FL_MODE_PRELOAD);
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, 1000, 1000, why, sizeof(why)), FL_MODE_SECCOMP);
	assert_non_null(strstr(why, "LD_PRELOAD"));
	/* not inspectable: the shim */
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, NULL, 0, 0, why, sizeof(why)), FL_MODE_PRELOAD);
}

static void test_explicit_kept(void **st)
{
	static struct fl_elf_info i;
	char why[512];

	memset(&i, 0, sizeof(i));
	i.is_static = true;
	assert_int_equal(fl_mode_choose(FL_MODE_PRELOAD, &i, 0, 0, why, sizeof(why)), FL_MODE_PRELOAD);
	assert_non_null(strstr(why, "LD_PRELOAD cannot reach it"));
	assert_int_equal(fl_mode_choose(FL_MODE_BOTH, &i, 0, 0, why, sizeof(why)), FL_MODE_BOTH);
	assert_string_equal(why, "--mode both");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_auto),
		cmocka_unit_test(test_explicit_kept),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
