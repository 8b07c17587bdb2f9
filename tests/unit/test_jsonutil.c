/*
 * test_jsonutil.c — the strict JSON helpers: message format, paths, parse
 * errors with line and column, truncation, duplicate and unknown keys, typed
 * getters and their ranges.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "jsonutil.h"

static char err[4096];
static struct fl_jctx ctx;

static int setup(void **state)
{
	err[0] = '\0';
	ctx = (struct fl_jctx){ .file = "p.json", .err = err, .errlen = sizeof(err) };
	return 0;
}

static cJSON *parse(const char *s)
{
	return fl_json_parse(&ctx, s, strlen(s));
}

/* Parsing fails with exactly this one message. */
static void parse_fails(const char *text, const char *msg)
{
	setup(NULL);
	assert_null(parse(text));
	assert_int_equal(ctx.nerr, 1);
	assert_string_equal(err, msg);
}

static void test_jerr_format(void **state)
{
	assert_int_equal(fl_jerr(&ctx, "rules[3].errno", "expected one of %s; got \"%s\"",
				 "EIO EINTR", "EFOO"), -EINVAL);
	assert_int_equal(fl_jerr(&ctx, NULL, "cannot open: %s", "No such file"), -EINVAL);
	assert_int_equal(fl_jerr(&ctx, "", "bare"), -EINVAL);
	assert_int_equal(ctx.nerr, 3);
	assert_string_equal(err, "p.json: rules[3].errno: expected one of EIO EINTR; got \"EFOO\"\n"
			    "p.json: cannot open: No such file\n"
			    "p.json: bare\n");
}

static void test_jerr_full_buffer(void **state)
{
	char small[24];
	struct fl_jctx c = { .file = "p.json", .err = small, .errlen = sizeof(small) };
	struct fl_jctx none = { .file = "p.json" };

	small[0] = '\0';
	fl_jerr(&c, "a.b", "a long message that does not fit");
	fl_jerr(&c, "a.b", "another");
	assert_int_equal(c.nerr, 2);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_string_equal(small, "p.json: a.b: a long mes");
	fl_jerr(&none, "x", "counted, not written");
	assert_int_equal(none.nerr, 1);
}

static void test_paths(void **state)
{
	struct fl_jpath a, b;

	assert_string_equal(fl_jpath_key(&a, "rules[3]", "errno"), "rules[3].errno");
	assert_string_equal(fl_jpath_key(&a, NULL, "seed"), "seed");
	assert_string_equal(fl_jpath_key(&a, "", "seed"), "seed");
	assert_string_equal(fl_jpath_idx(&a, "rules", 3), "rules[3]");
	assert_string_equal(fl_jpath_key(&b, fl_jpath_idx(&a, "rules", 0), "until"),
			    "rules[0].until");
	assert_string_equal(fl_jpath_idx(&b, "market.book", 12), "market.book[12]");
}

static void test_parse_ok(void **state)
{
	cJSON *r = parse("\xef\xbb\xbf  {\"a\": [1, 2, {\"b\": null}]}\n\n");

	assert_non_null(r);
	assert_int_equal(ctx.nerr, 0);
	assert_string_equal(err, "");
	cJSON_Delete(r);
}

static void test_parse_errors(void **state)
{
	parse_fails("{\n  \"a\": 1,\n  \"b\": tru\n}",
		    "p.json: line 3, column 8: invalid JSON: expected a value near 'tru'\n");
	parse_fails("{\"a\": 1,}",
		    "p.json: line 1, column 9: invalid JSON: a trailing comma is not allowed near '}'\n");
	parse_fails("[1, 2,]",
		    "p.json: line 1, column 7: invalid JSON: a trailing comma is not allowed near ']'\n");
	parse_fails("{\"a\": 1} {}", "p.json: line 1, column 10: invalid JSON: expected the "
		    "end of input after the top-level value near '{}'\n");
	parse_fails("{'a': 1}", "p.json: line 1, column 2: invalid JSON: expected a key in "
		    "double quotes near ''a': 1}'\n");
	parse_fails("{\"a\" 1}", "p.json: line 1, column 6: invalid JSON: expected ':' "
		    "after the key near '1}'\n");
	parse_fails("{\"a\": 1 \"b\": 2}", "p.json: line 1, column 9: invalid JSON: "
		    "expected ',' or '}' near '\"b\": 2}'\n");
	parse_fails("{\"a\": [1 2]}", "p.json: line 1, column 10: invalid JSON: "
		    "expected ',' or ']' near '2]}'\n");
	parse_fails("{\"a\": 1.}", "p.json: line 1, column 9: invalid JSON: expected "
		    "digits after the decimal point near '}'\n");
	parse_fails("{\"a\": \"\\q\"}", "p.json: line 1, column 9: invalid JSON: "
		    "invalid escape in a string near 'q\"}'\n");
	parse_fails("{\"a\": \"\\u12x4\"}", "p.json: line 1, column 12: invalid JSON: "
		    "expected 4 hex digits after \\u near 'x4\"}'\n");
	parse_fails("{\"a\": \"x\ny\"}", "p.json: line 1, column 9: invalid JSON: a "
		    "control character (e.g. a raw newline) in a string\n");
	parse_fails("{\n  // a comment\n  \"a\": 1}", "p.json: line 2, column 3: invalid "
		    "JSON: comments are not allowed in JSON near '// a comment'\n");
	parse_fails("", "p.json: empty input: expected a JSON object\n");
	parse_fails(" \n\t ", "p.json: empty input: expected a JSON object\n");
}

static void test_parse_deep(void **state)
{
	char *deep = malloc(3001);

	memset(deep, '[', 1500);
	memset(deep + 1500, ']', 1500);
	deep[3000] = '\0';
	parse_fails(deep, "p.json: line 1, column 1001: invalid JSON: nested too deeply "
		    "near '[[[[[[[[[[[[[[[[[[[[[[['\n");
	free(deep);
}

static void test_parse_truncated(void **state)
{
	parse_fails("{\"a\": 1",
		    "p.json: line 1, column 8: unexpected end of input: the JSON is "
		    "truncated (the object opened at line 1, column 1 is not closed)\n");
	parse_fails("{\"a\": [1, 2,\n",
		    "p.json: line 2, column 1: unexpected end of input: the JSON is "
		    "truncated (the array opened at line 1, column 7 is not closed)\n");
	parse_fails("{\"a\": \"abc",
		    "p.json: line 1, column 11: unexpected end of input: the JSON is "
		    "truncated (the string opened at line 1, column 7 is not closed)\n");
	parse_fails("{\"a\": \"x\\\"}",
		    "p.json: line 1, column 12: unexpected end of input: the JSON is "
		    "truncated (the string opened at line 1, column 7 is not closed)\n");
	parse_fails("{\"a\": {\"b\": ",
		    "p.json: line 1, column 13: unexpected end of input: the JSON is "
		    "truncated (the object opened at line 1, column 7 is not closed)\n");
}

static void test_parse_nul_byte(void **state)
{
	setup(NULL);
	assert_null(fl_json_parse(&ctx, "{\"a\":\n 1}\0xx", 12));
	assert_string_equal(err, "p.json: line 2, column 4: invalid JSON: a NUL byte inside the text\n");
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/fl-test-jsonutil-XXXXXX";
	int fd = mkstemp(path);
	cJSON *r;

	assert_true(fd >= 0);
	assert_null(fl_json_load_file(&ctx, "/nonexistent/p.json"));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "p.json: cannot open: No such file or directory\n");
	setup(NULL);
	assert_null(fl_json_load_file(&ctx, path)); /* empty */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(write(fd, "{\"k\": true}", 11), 11);
	close(fd);
	setup(NULL);
	r = fl_json_load_file(&ctx, path);
	unlink(path);
	assert_non_null(r);
	assert_int_equal(ctx.nerr, 0);
	cJSON_Delete(r);
	setup(NULL);
	assert_null(fl_json_load_file(&ctx, "/"));
	assert_int_equal(errno, EISDIR);
	assert_string_equal(err, "p.json: cannot read: Is a directory\n");
}

static void test_only_keys(void **state)
{
	static const char *const allowed[] = { "a", "b", NULL };
	cJSON *r = parse("{\"a\": 1, \"B\": 2, \"a\": 3, \"c\": 4}");

	assert_int_equal(fl_json_only_keys(&ctx, r, "rules[0]", allowed), 3);
	assert_string_equal(err, "p.json: rules[0].B: unknown key; expected one of: a b\n"
			    "p.json: rules[0].a: duplicate key\n"
			    "p.json: rules[0].c: unknown key; expected one of: a b\n");
	setup(NULL);
	assert_int_equal(fl_json_only_keys(&ctx, r, "targets", NULL), 1);
	assert_string_equal(err, "p.json: targets.a: duplicate key\n");
	setup(NULL);
	assert_int_equal(fl_json_only_keys(&ctx, cJSON_GetObjectItem(r, "c"), "x", allowed), 1);
	assert_string_equal(err, "p.json: x: expected an object; got 4\n");
	cJSON_Delete(r);
}

static void test_num(void **state)
{
	cJSON *r = parse("{\"p\": 0.25, \"big\": 1.5, \"s\": \"0.5\", \"inf\": 1e999}");
	double d = -7;

	assert_int_equal(fl_json_num(&ctx, r, "rules[1]", "p", true, 0, 1, &d), 0);
	assert_true(d == 0.25);
	assert_int_equal(fl_json_num(&ctx, r, "rules[1]", "nope", false, 0, 1, &d), 0);
	assert_true(d == 0.25); /* optional and missing: untouched */
	assert_int_equal(ctx.nerr, 0);
	assert_int_equal(fl_json_num(&ctx, r, "rules[1]", "big", true, 0, 1, &d), -EINVAL);
	assert_int_equal(fl_json_num(&ctx, r, "rules[1]", "s", true, 0, 1, &d), -EINVAL);
	assert_int_equal(fl_json_num(&ctx, r, "rules[1]", "nope", true, 0, 1, &d), -EINVAL);
	assert_int_equal(fl_json_num(&ctx, r, "rules[1]", "P", true, 0, 1, &d), -EINVAL);
	assert_int_equal(fl_json_num(&ctx, r, "", "inf", true, -1e300, 1e300, &d), -EINVAL);
	assert_true(d == 0.25);
	assert_string_equal(err,
		"p.json: rules[1].big: expected a number in [0, 1]; got 1.5\n"
		"p.json: rules[1].s: expected a number in [0, 1]; got \"0.5\"\n"
		"p.json: rules[1].nope: missing; expected a number in [0, 1]\n"
		"p.json: rules[1].P: missing; expected a number in [0, 1]\n"
		"p.json: inf: expected a number in [-1e+300, 1e+300]; got inf\n");
	cJSON_Delete(r);
}

static void test_int(void **state)
{
	cJSON *r = parse("{\"port\": 9201, \"half\": 2.5, \"huge\": 1e17, \"neg\": -3}");
	long long v = 0;

	assert_int_equal(fl_json_int(&ctx, r, "", "port", true, 1, 65535, &v), 0);
	assert_int_equal(v, 9201);
	assert_int_equal(fl_json_int(&ctx, r, "", "neg", true, -5, 5, &v), 0);
	assert_int_equal(v, -3);
	assert_int_equal(fl_json_int(&ctx, r, "", "half", true, 0, 10, &v), -EINVAL);
	assert_int_equal(fl_json_int(&ctx, r, "", "huge", true, 0, INT64_MAX, &v), -EINVAL);
	assert_int_equal(fl_json_int(&ctx, r, "", "port", true, 1, 1000, &v), -EINVAL);
	assert_string_equal(err,
		"p.json: half: expected an integer in 0..10; got 2.5\n"
		"p.json: huge: expected an integer in 0..9007199254740992; got 1e+17\n"
		"p.json: port: expected an integer in 1..1000; got 9201\n");
	cJSON_Delete(r);
}

static void test_bool_str(void **state)
{
	cJSON *r = parse("{\"on\": true, \"n\": 1, \"name\": \"custodian\", \"long\": \"abcdefgh\"}");
	char buf[8] = "zz";
	bool b = false;

	assert_int_equal(fl_json_bool(&ctx, r, "", "on", true, &b), 0);
	assert_true(b);
	assert_int_equal(fl_json_bool(&ctx, r, "", "n", true, &b), -EINVAL);
	assert_int_equal(fl_json_str(&ctx, r, "t", "long", true, buf, sizeof(buf)), -EINVAL);
	assert_string_equal(buf, "zz");
	assert_int_equal(fl_json_str(&ctx, r, "t", "n", true, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(fl_json_str(&ctx, r, "t", "x", false, buf, sizeof(buf)), 0);
	assert_string_equal(err,
		"p.json: n: expected true or false; got 1\n"
		"p.json: t.long: expected a string of at most 7 bytes; got 8 bytes\n"
		"p.json: t.n: expected a string; got 1\n");
	setup(NULL);
	char big[16];
	assert_int_equal(fl_json_str(&ctx, r, "t", "name", true, big, sizeof(big)), 0);
	assert_string_equal(big, "custodian");
	cJSON_Delete(r);
}

static void test_obj_arr(void **state)
{
	cJSON *r = parse("{\"o\": {}, \"a\": [], \"s\": \"x\"}");

	assert_non_null(fl_json_obj(&ctx, r, "", "o", true));
	assert_non_null(fl_json_arr(&ctx, r, "", "a", true));
	assert_null(fl_json_obj(&ctx, r, "", "none", false));
	assert_int_equal(ctx.nerr, 0);
	assert_null(fl_json_obj(&ctx, r, "", "a", true));
	assert_null(fl_json_arr(&ctx, r, "", "s", false));
	assert_null(fl_json_arr(&ctx, r, "m", "rules", true));
	assert_string_equal(err,
		"p.json: a: expected an object; got an array\n"
		"p.json: s: expected an array; got \"x\"\n"
		"p.json: m.rules: missing; expected an array\n");
	cJSON_Delete(r);
}

static void test_types(void **state)
{
	cJSON *r = parse("[\"s\", 1, true, null, [], {}]");

	assert_string_equal(fl_json_type(cJSON_GetArrayItem(r, 0)), "a string");
	assert_string_equal(fl_json_type(cJSON_GetArrayItem(r, 1)), "a number");
	assert_string_equal(fl_json_type(cJSON_GetArrayItem(r, 2)), "a boolean");
	assert_string_equal(fl_json_type(cJSON_GetArrayItem(r, 3)), "null");
	assert_string_equal(fl_json_type(cJSON_GetArrayItem(r, 4)), "an array");
	assert_string_equal(fl_json_type(cJSON_GetArrayItem(r, 5)), "an object");
	assert_string_equal(fl_json_type(NULL), "nothing");
	cJSON_Delete(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_jerr_format, setup),
		cmocka_unit_test_setup(test_jerr_full_buffer, setup),
		cmocka_unit_test_setup(test_paths, setup),
		cmocka_unit_test_setup(test_parse_ok, setup),
		cmocka_unit_test_setup(test_parse_errors, setup),
		cmocka_unit_test_setup(test_parse_deep, setup),
		cmocka_unit_test_setup(test_parse_truncated, setup),
		cmocka_unit_test_setup(test_parse_nul_byte, setup),
		cmocka_unit_test_setup(test_load_file, setup),
		cmocka_unit_test_setup(test_only_keys, setup),
		cmocka_unit_test_setup(test_num, setup),
		cmocka_unit_test_setup(test_int, setup),
		cmocka_unit_test_setup(test_bool_str, setup),
		cmocka_unit_test_setup(test_obj_arr, setup),
		cmocka_unit_test_setup(test_types, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
