/*
 * test_tlread.c — the one timeline reader: a timeline written by
 * timeline.c reads back record by record with its types, lines and times;
 * what it cannot honour is refused with "FILE:LINE: what was expected"
 * (not a regular file, too large, a long line, not JSON, trailing garbage,
 * no "type", a duplicate key, 1e999, a NUL byte, a blank line, a truncated
 * last line); typed field access refuses nth 1e300.
 */
#include <errno.h>
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

#include <cmocka.h>

#include "timeline.h"
#include "tlread.h"

static char dir[] = "/tmp/fltest_tlr.XXXXXX";
static char path[sizeof(dir) + 16];

static int setup(void **state)
{
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/tl.jsonl", dir);
	return 0;
}

static int teardown(void **state)
{
	unlink(path);
	rmdir(dir);
	return 0;
}

static void write_file(const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
}

/* Read everything from a buffer; returns the first error (or the number of
 * records) and leaves the message in err. */
static int read_mem(const char *text, size_t len, bool trunc_ok, char *err,
		    size_t errlen)
{
	struct fl_tlr_opts o = { .allow_truncated_tail = trunc_ok };
	struct fl_tlr *r;
	struct fl_tlr_rec rec;
	int rc, n = 0;

	err[0] = '\0';
	rc = fl_tlr_open_mem("t.jsonl", text, len, &o, &r, err, errlen);
	if (rc < 0)
		return rc;
	while ((rc = fl_tlr_next(r, &rec, err, errlen)) == 1)
		n++;
	fl_tlr__free(r);
	return rc < 0 ? rc : n;
}

static void refused(const char *text, const char *want)
{
	char err[512];
	int rc = read_mem(text, strlen(text), false, err, sizeof(err));

	if (rc >= 0)
		fail_msg("accepted %s", text);
	if (!strstr(err, want))
		fail_msg("for %s: got \"%s\", want \"%s\"", text, err, want);
}

/* What timeline.c writes, read back. */
static void test_roundtrip(void **state)
{
	struct fl_timeline tl;
	struct fl_tl_start st = { .mode = "run", .seed = 7, .profile = NULL };
	struct fl_jrec fault = { .kind = FL_J_FAULT, .t_ns = 2500000, .pid = 10,
				 .tid = 10, .rule = 1, .op = 0, .nth = 3,
				 .fault = 0 };
	struct fl_jrec att = { .kind = FL_J_ATTACH, .t_ns = 1000000, .pid = 11 };
	struct fl_tl_summary sum = { .nrules = 2 };
	struct fl_tlr *r;
	struct fl_tlr_rec rec;
	char err[256];
	uint64_t u;
	enum fl_tlr_type want[] = { FL_TLR_START, FL_TLR_ATTACH, FL_TLR_FAULT,
				    FL_TLR_END, FL_TLR_EXIT, FL_TLR_SUMMARY };
	int n = 0;

	assert_int_equal(fl_timeline_open(&tl, path, NULL), 0);
	fl_timeline_start(&tl, &st);
	fl_timeline_jrec(&tl, &att);
	fl_timeline_jrec(&tl, &fault);
	fl_timeline_event(&tl, "end", 3000000, "duration");
	fl_timeline_exit(&tl, 0, 0);
	fl_timeline_summary(&tl, &sum);
	assert_int_equal(fl_timeline_close(&tl), 0);

	assert_int_equal(fl_tlr_open(path, NULL, &r, err, sizeof(err)), 0);
	while (fl_tlr_next(r, &rec, err, sizeof(err)) == 1) {
		assert_true(n < 6);
		assert_int_equal(rec.type, want[n]);
		assert_string_equal(rec.type_name, fl_tlr_type_name(want[n]));
		assert_int_equal(rec.line, (uint64_t)n + 1);
		if (rec.type == FL_TLR_FAULT) {
			assert_true(fabs(rec.t_ms - 2.5) < 1e-9);
			assert_int_equal(fl_tlr_uint(&rec, "nth", UINT32_MAX, &u), 0);
			assert_int_equal(u, 3);
			assert_int_equal(fl_tlr_uint(&rec, "rule", 127, &u), 0);
			assert_int_equal(u, 1);
			assert_string_equal(fl_tlr_str(&rec, "kind", "?"), "fault");
		}
		if (rec.type == FL_TLR_START) {
			assert_true(isnan(rec.t_ms));
			assert_true(fl_tlr_num(&rec, "seed", -1) == 7);
		}
		n++;
	}
	assert_int_equal(n, 6);
	fl_tlr__free(r);
}

static void test_types(void **state)
{
	for (int t = 1; t < FL_TLR__COUNT; t++)
		assert_int_equal(fl_tlr_type_of(fl_tlr_type_name((enum fl_tlr_type)t)), t);
	assert_int_equal(fl_tlr_type_of("nonsense"), FL_TLR_OTHER);
	assert_int_equal(fl_tlr_type_of(NULL), FL_TLR_OTHER);
	assert_string_equal(fl_tlr_type_name(FL_TLR__COUNT + 3), "other");
}

static void test_refusals(void **state)
{
	refused("{\"type\":\"start\"}\n{\"type\":\"fault\"} x\n", "t.jsonl:2: trailing bytes");
	refused("not json\n", "t.jsonl:1: not JSON");
	refused("{\"type\":\"start\"}\n[1,2]\n", "t.jsonl:2: an array");
	refused("{\"kind\":\"fault\"}\n", "t.jsonl:1: no string \"type\"");
	refused("{\"type\":7}\n", "t.jsonl:1: no string \"type\"");
	refused("{\"type\":\"fault\",\"nth\":1e999}\n", "t.jsonl:1: a number out of range");
	refused("{\"type\":\"tick\",\"signals\":{\"x\":-1e999}}\n", "out of range");
	refused("{\"type\":\"fault\",\"type\":\"start\"}\n", "key \"type\" twice");
	refused("{\"type\":\"start\"}\n\n{\"type\":\"end\"}\n", "t.jsonl:2: an empty line");
	refused("{\"type\":\"start\"}\n{\"type\":\"end\"}", "t.jsonl:2: the last line has no newline");
}

static void test_accepts(void **state)
{
	char err[256];
	const char *tail = "{\"type\":\"start\"}\n{\"type\":\"fa";

	assert_int_equal(read_mem("", 0, false, err, sizeof(err)), 0);
	assert_int_equal(read_mem("{\"type\":\"x\"}\n", 13, false, err, sizeof(err)), 1);
	/* blanks around the object are not garbage */
	assert_int_equal(read_mem("{\"type\":\"x\"}\r\n {\"type\":\"y\"} \n", 29,
				  false, err, sizeof(err)), 2);
	/* a killed writer's half line, when the caller allows it */
	assert_int_equal(read_mem(tail, strlen(tail), true, err, sizeof(err)), 1);
	assert_true(read_mem(tail, strlen(tail), false, err, sizeof(err)) < 0);
}

static void test_nul_and_long_line(void **state)
{
	char err[256];
	size_t len = FL_TLR_MAX_LINE + 10;
	char *big = malloc(len + 1);
	static const char nul[] = "{\"type\":\"x\"}\0zz\n";

	assert_non_null(big);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '\n';
	big[len] = '\0';
	assert_int_equal(read_mem(big, len, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.jsonl:1: a line longer than"));
	free(big);
	assert_int_equal(read_mem(nul, sizeof(nul) - 1, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a NUL byte"));
}

static void test_not_regular(void **state)
{
	struct fl_tlr *r = (void *)1;
	char err[256], fifo[sizeof(path) + 8];

	assert_int_equal(fl_tlr_open("/dev/zero", NULL, &r, err, sizeof(err)), -EINVAL);
	assert_null(r);
	assert_non_null(strstr(err, "/dev/zero: not a regular file"));
	assert_int_equal(fl_tlr_open(dir, NULL, &r, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	/* a fifo without a writer must not block the open */
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(fl_tlr_open(fifo, NULL, &r, err, sizeof(err)), -EINVAL);
	unlink(fifo);
	assert_int_equal(fl_tlr_open("/nonexistent/x", NULL, &r, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/x: "));
}

static void test_too_large(void **state)
{
	struct fl_tlr_opts o = { .max_bytes = 16 };
	struct fl_tlr *r;
	char err[256];
	const char *text = "{\"type\":\"start\",\"seed\":1}\n";

	write_file(text, strlen(text));
	assert_int_equal(fl_tlr_open(path, &o, &r, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, "larger than the 16 bytes"));
	assert_int_equal(fl_tlr_open_mem("m", text, strlen(text), &o, &r, err,
					 sizeof(err)), -EFBIG);
}

static void test_uint(void **state)
{
	static const char *const bad[] = { "1e300", "-1", "1.5", "\"3\"" };
	char text[128], err[256];
	struct fl_tlr *r;
	struct fl_tlr_rec rec;
	uint64_t u = 42;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(text, sizeof(text), "{\"type\":\"fault\",\"nth\":%s}\n", bad[i]);

		assert_int_equal(fl_tlr_open_mem("m", text, (size_t)n, NULL, &r, err,
						 sizeof(err)), 0);
		assert_int_equal(fl_tlr_next(r, &rec, err, sizeof(err)), 1);
		assert_int_equal(fl_tlr_uint(&rec, "nth", UINT32_MAX, &u),
				 i == 3 ? -EINVAL : -ERANGE);
		assert_int_equal(fl_tlr_uint(&rec, "none", 10, &u), -ENOENT);
		assert_int_equal(u, 42);
		fl_tlr__free(r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_nul_and_long_line),
		cmocka_unit_test(test_not_regular),
		cmocka_unit_test(test_too_large),
		cmocka_unit_test(test_uint),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
