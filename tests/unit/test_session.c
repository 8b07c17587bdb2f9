/*
 * test_session.c — `faultline run` end to end through fl_run_main with real
 * commands: the exit-code mapping (3 -> 3, SIGKILL -> 137, not found -> 127,
 * not executable -> 126, bad profile -> 125 with the command never
 * started), the command's environment (LD_PRELOAD prepended, FAULTLINE_CTL
 * naming a live 0600 block that is gone afterwards), the timeline, --user.
 *
 * The "shim" preloaded here is libcjson (already mapped into this test, so
 * harmless in /bin/sh): these tests are about the controller, not the shim.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "faultline/ctl.h"
#include "session.h"

static char dir[] = "/tmp/fltest_run.XXXXXX";
static char shim[PATH_MAX];

static int find_cjson(struct dl_phdr_info *info, size_t size, void *arg)
{
	if (strstr(info->dlpi_name, "libcjson.so") && realpath(info->dlpi_name, shim))
		return 1;
	return 0;
}

static int setup(void **state)
{
	if (!mkdtemp(dir) || chmod(dir, 0777) < 0)
		return -1;
	cJSON_Version(); /* make sure it is loaded */
	if (!dl_iterate_phdr(find_cjson, NULL))
		return -1;
	setenv("FAULTLINE_SHIM", shim, 1);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int run_sh(const char *script, const char *profile, const char *timeline)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };
	struct fl_run_opts o = {
		.profile = profile, .timeline = timeline, .speed = 1.0,
		.duration_s = -1.0, .cmd = argv, .quiet = true,
	};

	return fl_run_main(&o);
}

static void path_of(char *out, const char *name)
{
	snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

static void test_exit_status_passes_through(void **state)
{
	assert_int_equal(run_sh("exit 0", NULL, NULL), 0);
	assert_int_equal(run_sh("exit 3", NULL, NULL), 3);
	assert_int_equal(run_sh("kill -9 $$", NULL, NULL), 137);
	assert_int_equal(run_sh("kill -TERM $$", NULL, NULL), 143);
}

static void test_exec_failures(void **state)
{
	char noexec[PATH_MAX];
	char *nf[] = { "/nonexistent/faultline-test", NULL };
	char *bare[] = { "faultline-no-such-command-anywhere", NULL };
	char *nx[] = { noexec, NULL };
	char *d[] = { dir, NULL };
	struct fl_run_opts o = { .speed = 1.0, .duration_s = -1.0, .quiet = true };
	int fd;

	path_of(noexec, "noexec.sh");
	fd = open(noexec, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\nexit 0\n", 17), 17);
	close(fd);
	o.cmd = nf;
	assert_int_equal(fl_run_main(&o), 127);
	o.cmd = bare; /* PATH search */
	assert_int_equal(fl_run_main(&o), 127);
	o.cmd = nx;
	assert_int_equal(fl_run_main(&o), 126);
	o.cmd = d; /* a directory */
	assert_int_equal(fl_run_main(&o), 126);
}

static void test_bad_profile_never_starts(void **state)
{
	char prof[PATH_MAX], marker[PATH_MAX], script[PATH_MAX + 16];
	FILE *f;

	path_of(prof, "bad.json");
	path_of(marker, "marker");
	f = fopen(prof, "w");
	fputs("{\"faultline\": 1, \"rules\": [{\"target\": \"nope\"}]}", f);
	fclose(f);
	snprintf(script, sizeof(script), "touch %s", marker);
	assert_int_equal(run_sh(script, prof, NULL), 125);
	assert_int_equal(access(marker, F_OK), -1);
	/* missing file: same */
	path_of(prof, "missing.json");
	assert_int_equal(run_sh(script, prof, NULL), 125);
	assert_int_equal(access(marker, F_OK), -1);
	/* and the marker does appear without a profile */
	assert_int_equal(run_sh(script, NULL, NULL), 0);
	assert_int_equal(access(marker, F_OK), 0);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[65536];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_environment_and_block(void **state)
{
	char out[PATH_MAX], script[PATH_MAX * 2], ctl[PATH_MAX], want[PATH_MAX + 32];
	char *s, *nl;

	path_of(out, "env.out");
	setenv("LD_PRELOAD", "/nonexistent-preexisting.so", 1);
	snprintf(script, sizeof(script),
		 "{ echo \"$LD_PRELOAD\"; echo \"$FAULTLINE_CTL\"; "
		 "stat -c '%%a %%F %%u' \"$FAULTLINE_CTL\"; } > %s", out);
	assert_int_equal(run_sh(script, NULL, NULL), 0);
	unsetenv("LD_PRELOAD");
	s = slurp(out);
	snprintf(want, sizeof(want), "%s:/nonexistent-preexisting.so\n", shim);
	assert_int_equal(strncmp(s, want, strlen(want)), 0);
	s += strlen(want);
	nl = strchr(s, '\n');
	assert_non_null(nl);
	*nl = '\0';
	strcpy(ctl, s);
	assert_true(ctl[0] == '/');
	/* the control socket: nothing a program could map or truncate */
	snprintf(want, sizeof(want), "600 socket %u\n", (unsigned)geteuid());
	assert_string_equal(nl + 1, want);
	/* and it is gone after the run */
	assert_int_equal(access(ctl, F_OK), -1);
}

static void test_timeline_of_a_run(void **state)
{
	char tl[PATH_MAX], prof[PATH_MAX];
	char *argv[] = { "/bin/sh", "-c", "exit 3", NULL };
	struct fl_run_opts o = {
		.timeline = tl, .speed = 1.0, .duration_s = -1.0, .cmd = argv,
		.seed = 9, .has_seed = true, .profile = prof, .quiet = true,
	};
	const char *types[] = { "start", "exit", "summary" };
	char *line, *save = NULL;
	int k = 0;
	FILE *f;

	path_of(tl, "run.jsonl");
	path_of(prof, "ok.json");
	f = fopen(prof, "w");
	fputs("{\"faultline\": 1, \"seed\": 4, \"targets\": {\"t\": {\"tcp\": "
	      "\"127.0.0.1:1\"}}, \"rules\": [{\"target\": \"t\", \"op\": \"connect\", "
	      "\"fault\": \"error\", \"errno\": \"ECONNREFUSED\"}]}", f);
	fclose(f);
	assert_int_equal(fl_run_main(&o), 3);
	for (line = strtok_r(slurp(tl), "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		cJSON *j = cJSON_Parse(line);
		const char *type;

		assert_non_null(j);
		type = cJSON_GetObjectItem(j, "type")->valuestring;
		/* whatever the shim and the eBPF layer said */
		if (!strcmp(type, "fault") || !strcmp(type, "kernel")) {
			cJSON_Delete(j);
			continue;
		}
		assert_true(k < 3);
		assert_string_equal(type, types[k]);
		if (k == 0) {
			assert_int_equal(cJSON_GetObjectItem(j, "seed")->valuedouble, 9);
			assert_string_equal(cJSON_GetObjectItem(j, "seed_source")->valuestring,
					    "cli");
			assert_true(cJSON_GetObjectItem(j, "pid")->valuedouble > 0);
			assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "cmd"),
							       2)->valuestring, "exit 3");
			assert_int_equal(strlen(cJSON_GetObjectItem(j, "profile_sha256")
						       ->valuestring), 64);
		} else if (k == 1) {
			assert_int_equal(cJSON_GetObjectItem(j, "status")->valuedouble, 3);
			assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "signal")));
		} else {
			assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "per_rule")),
					 1);
		}
		k++;
		cJSON_Delete(j);
	}
	assert_int_equal(k, 3);
}

static void test_user(void **state)
{
	char out[PATH_MAX], script[PATH_MAX * 2];
	char *argv[] = { "/bin/sh", "-c", script, NULL };
	struct fl_run_opts o = { .speed = 1.0, .duration_s = -1.0, .cmd = argv,
				 .quiet = true, .user = "nobody" };

	if (geteuid() != 0) {
		print_message("skip: --user needs root\n");
		skip();
	}
	path_of(out, "user.out");
	snprintf(script, sizeof(script),
		 "{ id -u; stat -c '%%u %%a' \"$FAULTLINE_CTL\"; } > %s", out);
	assert_int_equal(fl_run_main(&o), 0);
	assert_string_equal(slurp(out), "65534\n65534 600\n");
	o.user = "no-such-user-for-faultline";
	assert_int_equal(fl_run_main(&o), 125);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_status_passes_through),
		cmocka_unit_test(test_exec_failures),
		cmocka_unit_test(test_bad_profile_never_starts),
		cmocka_unit_test(test_environment_and_block),
		cmocka_unit_test(test_timeline_of_a_run),
		cmocka_unit_test(test_user),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
