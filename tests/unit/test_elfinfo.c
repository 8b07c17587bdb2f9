/*
 * test_elfinfo.c — fl_elf_inspect tells a dynamic program (env) from a
 * static one (busybox-static), follows "#!" to the interpreter, refuses a
 * truncated or bogus ELF without reading out of bounds, and sees set-id
 * bits; fl_exe_resolve finds commands on $PATH as execvp does.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "elfinfo.h"

static char dir[] = "/tmp/fltest_elf.XXXXXX";

static int setup(void **state)
{
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *name, const void *data, size_t len, mode_t mode,
		char *out, size_t outlen)
{
	int fd;

	snprintf(out, outlen, "%s/%s", dir, name);
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(out, mode), 0);
}

static void test_dynamic(void **state)
{
	struct fl_elf_info in;
	char p[PATH_MAX];

	assert_int_equal(fl_exe_resolve("env", p, sizeof(p)), 0);
	assert_int_equal(fl_elf_inspect(p, &in), 0);
	assert_false(in.is_static);
	assert_false(in.go);
	assert_false(in.script);
	assert_true(strstr(in.interp, "ld-linux") != NULL);
	assert_null(fl_elf_unreachable(&in, getuid(), getgid()));
}

static void test_static(void **state)
{
	struct fl_elf_info in;

	if (access("/bin/busybox", R_OK) < 0) {
		print_message("skip: /bin/busybox (busybox-static) missing\n");
		skip();
	}
	assert_int_equal(fl_elf_inspect("/bin/busybox", &in), 0);
	assert_true(in.is_static);
	assert_string_equal(in.interp, "");
	assert_non_null(strstr(fl_elf_unreachable(&in, 0, 0), "static"));
}

static void test_script(void **state)
{
	static const char s[] = "#!/usr/bin/env  -S sh\necho hi\n";
	static const char bad[] = "#!";
	struct fl_elf_info in;
	char p[PATH_MAX];

	put("s.sh", s, sizeof(s) - 1, 0755, p, sizeof(p));
	assert_int_equal(fl_elf_inspect(p, &in), 0);
	assert_true(in.script);
	assert_string_equal(in.path, "/usr/bin/env");
	assert_false(in.is_static);
	put("bad.sh", bad, sizeof(bad) - 1, 0755, p, sizeof(p));
	assert_int_equal(fl_elf_inspect(p, &in), -ENOEXEC);
	/* a script whose interpreter is itself: bounded, as the kernel's */
	char loop[PATH_MAX + 8];
	snprintf(loop, sizeof(loop), "#!%s/loop.sh\n", dir);
	put("loop.sh", loop, strlen(loop), 0755, p, sizeof(p));
	assert_int_equal(fl_elf_inspect(p, &in), -ELOOP);
}

static void test_bogus(void **state)
{
	unsigned char buf[64] = { 0x7f, 'E', 'L', 'F', 2, 1, 1 };
	struct fl_elf_info in;
	char p[PATH_MAX];

	put("trunc", buf, 20, 0755, p, sizeof(p));
	assert_int_equal(fl_elf_inspect(p, &in), -ENOEXEC);
	/* a full header whose program headers lie beyond the file */
	buf[32] = 0xff; buf[33] = 0xff; /* e_phoff */
	buf[54] = 56;                   /* e_phentsize */
	buf[56] = 4;                    /* e_phnum */
	put("phoff", buf, sizeof(buf), 0755, p, sizeof(p));
	assert_int_equal(fl_elf_inspect(p, &in), -ENOEXEC);
	put("text", "hello\n", 6, 0755, p, sizeof(p));
	assert_int_equal(fl_elf_inspect(p, &in), -ENOEXEC);
	assert_int_equal(fl_elf_inspect("/dev/null", &in), -EACCES);
	assert_int_equal(fl_elf_inspect("/nonexistent", &in), -ENOENT);
}

static void test_setid(void **state)
{
	struct fl_elf_info in;
	char p[PATH_MAX], cmd[2 * PATH_MAX];

	snprintf(p, sizeof(p), "%s/env", dir);
	snprintf(cmd, sizeof(cmd), "cp /usr/bin/env %s", p);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(chmod(p, 04755), 0);
	assert_int_equal(fl_elf_inspect(p, &in), 0);
	assert_true(in.setuid);
	/* set-id to the runner itself changes nothing */
	assert_null(fl_elf_unreachable(&in, in.owner, in.group));
	assert_non_null(strstr(fl_elf_unreachable(&in, in.owner + 1, in.group), "setuid"));
}

static void test_resolve(void **state)
{
	char p[PATH_MAX];

	assert_int_equal(fl_exe_resolve("./x", p, sizeof(p)), 0);
	assert_string_equal(p, "./x");
	assert_int_equal(fl_exe_resolve("no-such-command-here", p, sizeof(p)), -ENOENT);
	assert_int_equal(fl_exe_resolve("", p, sizeof(p)), -ENOENT);
	setenv("PATH", "/nonexistent::/usr/bin", 1);
	assert_int_equal(fl_exe_resolve("env", p, sizeof(p)), 0);
	assert_string_equal(p, "/usr/bin/env");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dynamic),
		cmocka_unit_test(test_static),
		cmocka_unit_test(test_script),
		cmocka_unit_test(test_bogus),
		cmocka_unit_test(test_setid),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
