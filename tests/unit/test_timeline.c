/*
 * test_timeline.c — every timeline line is one valid JSON object (parsed
 * back with cJSON), with the fields the format promises; hostile journal
 * records and hostile strings still give valid JSON; the file is 0600; the
 * summary and its human line; SHA-256 against the FIPS vectors.
 */
#include <fcntl.h>
#include <math.h>
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

#include "profile.h"
#include "timeline.h"

static char path[] = "/tmp/fltest_tl.XXXXXX";

static int setup(void **state)
{
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	return 0;
}

/* Read the file back: every line must parse; returns the lines. */
static int read_lines(cJSON **out, int max)
{
	FILE *f = fopen(path, "r");
	char buf[65536];
	int n = 0;

	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f)) {
		size_t len = strlen(buf);

		assert_true(len > 0 && buf[len - 1] == '\n');
		assert_true(n < max);
		out[n] = cJSON_Parse(buf);
		if (!out[n])
			fail_msg("line %d is not JSON: %s", n + 1, buf);
		assert_true(cJSON_IsObject(out[n]));
		n++;
	}
	fclose(f);
	return n;
}

static void free_lines(cJSON **l, int n)
{
	for (int i = 0; i < n; i++)
		cJSON_Delete(l[i]);
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsString(v));
	return v->valuestring;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	assert_true(cJSON_IsNumber(v));
	return v->valuedouble;
}

static bool is_null(const cJSON *o, const char *k)
{
	return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k));
}

static void fill_profile(struct fl_profile *p)
{
	memset(p, 0, sizeof(*p));
	p->ntargets = 2;
	strcpy(p->targets[1].name, "custodian");
	p->nrules = 3;
}

static void test_records_are_json(void **state)
{
	static struct fl_profile p;
	struct fl_timeline tl;
	char *cmd[] = { "/bin/sh", "-c", "echo \"hi\"\n\t\\ \x01 caf\xc3\xa9 \xff\xfe", NULL };
	struct fl_tl_start st = { .mode = "run", .seed = 42, .seed_source = "cli",
				  .profile = "/nonexistent.json", .ctl = "/tmp/x/ctl",
				  .cmd = cmd, .pid = 1234, .epoch_real_ns = 1700000000123456789ll,
				  .speed = 1.0 };
	struct fl_jrec r1 = { .t_ns = 1500000, .pid = 1234, .tid = 1235, .rule = 0,
			      .target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_DELAY,
			      .kind = FL_J_FAULT, .nth = 3, .ret = -1, .err = EAGAIN,
			      .value_ns = 800000000 };
	/* from a scribbling SUT: every index out of range */
	struct fl_jrec r2 = { .t_ns = -2500, .rule = 999, .target = 200, .op = 250,
			      .fault = 250, .kind = 77, .err = 9999 };
	struct fl_jrec r3 = { .t_ns = 2000000, .rule = 2, .target = 1, .op = FL_OP_RESOLVE,
			      .fault = FL_FAULT_ERROR, .kind = FL_J_FAULT, .err = EAI_AGAIN };
	const char *names[] = { "spot", "spread_bps" };
	double vals[] = { 41000.5, NAN };
	int rules[] = { 2 };
	double intens[] = { 0.25 };
	struct fl_tl_summary sum;
	cJSON *l[16];
	int n;

	fill_profile(&p);
	assert_int_equal(fl_timeline_open(&tl, path, &p), 0);
	fl_timeline_start(&tl, &st);
	fl_timeline_jrec(&tl, &r1);
	fl_timeline_jrec(&tl, &r2);
	fl_timeline_jrec(&tl, &r3);
	fl_timeline_tick(&tl, 7, 700000000, -1, names, vals, 2, rules, intens, 1);
	fl_timeline_event(&tl, "abort", 3000000, "SIGINT");
	fl_timeline_exit(&tl, -1, 9);
	fl_timeline_summarize(&tl, NULL, p.nrules, &sum);
	fl_timeline_summary(&tl, &sum);
	assert_int_equal(fl_timeline_close(&tl), 0);

	n = read_lines(l, 16);
	assert_int_equal(n, 8);
	assert_string_equal(str(l[0], "type"), "start");
	assert_int_equal(num(l[0], "seed"), 42);
	assert_int_equal(num(l[0], "pid"), 1234);
	assert_true(is_null(l[0], "profile_sha256")); /* unreadable file */
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(l[0], "cmd"), 2)->valuestring,
			    "echo \"hi\"\n\t\\ \x01 caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(str(l[1], "type"), "fault");
	assert_float_equal(num(l[1], "t_ms"), 1.5, 1e-9);
	assert_string_equal(str(l[1], "target"), "custodian");
	assert_string_equal(str(l[1], "op"), "recv");
	assert_string_equal(str(l[1], "fault"), "delay");
	assert_string_equal(str(l[1], "errno"), "EAGAIN");
	assert_string_equal(str(l[1], "kind"), "fault");
	assert_float_equal(num(l[1], "value_ms"), 800.0, 1e-9);
	assert_int_equal(num(l[1], "nth"), 3);
	assert_int_equal(num(l[1], "ret"), -1);
	assert_true(is_null(l[2], "target"));
	assert_string_equal(str(l[2], "op"), "?");
	assert_string_equal(str(l[2], "kind"), "unknown");
	assert_int_equal(num(l[2], "errno"), 9999);
	assert_float_equal(num(l[2], "t_ms"), -0.002, 1e-9);
	assert_string_equal(str(l[3], "errno"), "EAI_AGAIN");
	assert_string_equal(str(l[4], "type"), "tick");
	assert_float_equal(num(l[4], "t_ms"), 700.0, 1e-9);
	assert_true(is_null(cJSON_GetObjectItem(l[4], "signals"), "spread_bps"));
	assert_float_equal(num(cJSON_GetObjectItem(l[4], "intensity"), "2"), 0.25, 1e-12);
	assert_string_equal(str(l[5], "reason"), "SIGINT");
	assert_string_equal(str(l[6], "type"), "exit");
	assert_int_equal(num(l[6], "status"), 137);
	assert_int_equal(num(l[6], "signal"), 9);
	assert_string_equal(str(l[7], "type"), "summary");
	assert_int_equal(num(l[7], "faults"), 2); /* r2's rule is out of range */
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(l[7], "per_rule")), 3);
	assert_int_equal(num(cJSON_GetArrayItem(cJSON_GetObjectItem(l[7], "per_rule"), 2),
			     "hits"), 1);
	assert_int_equal(num(l[7], "ticks"), 1);
	free_lines(l, n);
}

static void test_mode_0600_and_exit_null_signal(void **state)
{
	struct fl_timeline tl;
	struct stat st;
	cJSON *l[4];
	int n;

	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(fl_timeline_open(&tl, path, NULL), 0);
	fl_timeline_exit(&tl, 3, 0);
	assert_int_equal(fl_timeline_close(&tl), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	n = read_lines(l, 4);
	assert_int_equal(n, 1);
	assert_int_equal(num(l[0], "status"), 3);
	assert_true(is_null(l[0], "signal"));
	free_lines(l, n);
}

static void test_line_buffered(void **state)
{
	struct fl_timeline tl;
	struct stat st;

	assert_int_equal(fl_timeline_open(&tl, path, NULL), 0);
	fl_timeline_exit(&tl, 0, 0);
	/* on disk before close: a controller that dies keeps it */
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 0);
	fl_timeline_close(&tl);
}

static void test_count_only(void **state)
{
	struct fl_timeline tl;
	struct fl_jrec r = { .kind = FL_J_FAULT, .rule = 1 };
	struct fl_tl_summary sum;
	char *line = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&line, &len);

	assert_int_equal(fl_timeline_open(&tl, NULL, NULL), 0);
	fl_timeline_jrec(&tl, &r);
	fl_timeline_jrec(&tl, &r);
	r.rule = 0;
	fl_timeline_jrec(&tl, &r);
	fl_timeline_summarize(&tl, NULL, 3, &sum);
	assert_int_equal(sum.faults, 3);
	fl_timeline_summary_line(m, &sum, "; sh exited 0");
	fclose(m);
	assert_string_equal(line, "faultline: 3 faults injected (rule 0: 1, rule 1: 2), "
				  "0 dropped; sh exited 0\n");
	free(line);
	assert_int_equal(fl_timeline_close(&tl), 0);
}

static void test_sha256_vectors(void **state)
{
	static const struct {
		const char *in, *hex;
	} v[] = {
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[65];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		FILE *f = fopen(path, "w");

		fputs(v[i].in, f);
		fclose(f);
		assert_int_equal(fl_sha256_file(path, hex), 0);
		assert_string_equal(hex, v[i].hex);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_records_are_json),
		cmocka_unit_test(test_mode_0600_and_exit_null_signal),
		cmocka_unit_test(test_line_buffered),
		cmocka_unit_test(test_count_only),
		cmocka_unit_test(test_sha256_vectors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
