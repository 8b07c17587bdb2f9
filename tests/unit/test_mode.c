/*
 * test_mode.c — the layer `--mode auto` chooses: static and Go binaries get
 * the seccomp supervisor, dynamic ones the shim, set-ID files seccomp; the
 * ELF reader survives truncated and hostile headers.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "mode.h"

static void test_parse_names(void **st)
{
	enum fl_mode m;

	assert_int_equal(fl_mode_parse("auto", &m), 0);
	assert_int_equal(m, FL_MODE_AUTO);
	assert_int_equal(fl_mode_parse("seccomp", &m), 0);
	assert_int_equal(m, FL_MODE_SECCOMP);
	assert_int_equal(fl_mode_parse("both", &m), 0);
	assert_int_equal(fl_mode_parse("preload", &m), 0);
	assert_int_equal(fl_mode_parse("ptrace", &m), -EINVAL);
	assert_string_equal(fl_mode_name(FL_MODE_BOTH), "both");
}

static void test_static_busybox(void **st)
{
	struct fl_exe_info i;
	char why[512];

	if (access("/bin/busybox", X_OK) != 0)
		skip();
	assert_int_equal(fl_exe_inspect("busybox", 0, 0, &i), 0);
	assert_true(i.elf);
	assert_true(i.is_static);
	assert_false(i.go);
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, why, sizeof(why)), FL_MODE_SECCOMP);
	assert_non_null(strstr(why, "statically linked"));
	/* an explicit mode is kept */
	assert_int_equal(fl_mode_choose(FL_MODE_PRELOAD, &i, why, sizeof(why)), FL_MODE_PRELOAD);
}

static void test_dynamic_python(void **st)
{
	struct fl_exe_info i;
	char why[512];

	assert_int_equal(fl_exe_inspect("/usr/bin/python3", 0, 0, &i), 0);
	assert_true(i.elf);
	assert_false(i.is_static);
	assert_false(i.go);
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, why, sizeof(why)), FL_MODE_PRELOAD);
}

static void test_go_nats(void **st)
{
	struct fl_exe_info i;
	char why[512];

	if (access("/usr/sbin/nats-server", X_OK) != 0)
		skip();
	assert_int_equal(fl_exe_inspect("/usr/sbin/nats-server", 0, 0, &i), 0);
	assert_true(i.go);
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, why, sizeof(why)), FL_MODE_SECCOMP);
	assert_non_null(strstr(why, "Go binary"));
}

static void test_script_interpreter(void **st)
{
	char path[] = "/tmp/fl_mode_XXXXXX";
	int fd = mkstemp(path);
	struct fl_exe_info i;
	const char body[] = "#!/bin/busybox sh\necho hi\n";

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, sizeof(body) - 1), (int)sizeof(body) - 1);
	close(fd);
	assert_int_equal(fl_exe_inspect(path, 0, 0, &i), 0);
	unlink(path);
	if (access("/bin/busybox", X_OK) != 0)
		skip();
	assert_true(i.script);
	assert_true(i.is_static);
	assert_string_equal(i.path, "/bin/busybox");
}

static void test_setid(void **st)
{
	char path[] = "/tmp/fl_mode_XXXXXX";
	int fd = mkstemp(path);
	struct fl_exe_info i;
	char why[512];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	fchmod(fd, 04755);
	close(fd);
	/* as a user other than the owner: the loader would be in secure mode */
	assert_int_equal(fl_exe_inspect(path, getuid() + 1, getgid(), &i), 0);
	assert_true(i.setid);
	assert_int_equal(fl_mode_choose(FL_MODE_AUTO, &i, why, sizeof(why)), FL_MODE_SECCOMP);
	assert_non_null(strstr(why, "LD_PRELOAD"));
	/* as the owner it changes nothing */
	assert_int_equal(fl_exe_inspect(path, getuid(), getgid(), &i), 0);
	assert_false(i.setid);
	unlink(path);
}

static void test_hostile_headers(void **st)
{
	unsigned char buf[256];
	struct fl_exe_info i;
	Elf64_Ehdr eh = {0};

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_phoff = 0xffffffffffffff00ull; /* far outside */
	eh.e_phnum = 0xffff;
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_shoff = 64;
	eh.e_shnum = 100; /* more than the buffer holds */
	eh.e_shentsize = sizeof(Elf64_Shdr);
	memset(buf, 0xff, sizeof(buf));
	memcpy(buf, &eh, sizeof(eh));
	fl_exe_parse(buf, sizeof(buf), &i);
	assert_true(i.elf);
	assert_false(i.go);
	/* truncated: not an ELF we understand */
	fl_exe_parse(buf, 10, &i);
	assert_false(i.elf);
	/* a note whose sizes overflow */
	Elf64_Phdr ph = {.p_type = PT_NOTE, .p_offset = 128, .p_filesz = 64};
	eh.e_phoff = 64;
	eh.e_phnum = 1;
	eh.e_shnum = 0;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + 64, &ph, sizeof(ph));
	Elf64_Nhdr nh = {.n_namesz = 0xfffffff0u, .n_descsz = 0xfffffff0u, .n_type = 4};
	memcpy(buf + 128, &nh, sizeof(nh));
	fl_exe_parse(buf, sizeof(buf), &i);
	assert_false(i.go);
	assert_true(i.is_static);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_names),
		cmocka_unit_test(test_static_busybox),
		cmocka_unit_test(test_dynamic_python),
		cmocka_unit_test(test_go_nats),
		cmocka_unit_test(test_script_interpreter),
		cmocka_unit_test(test_setid),
		cmocka_unit_test(test_hostile_headers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
