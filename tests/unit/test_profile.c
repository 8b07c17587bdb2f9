/*
 * test_profile.c — the profile/scenario loader and publish.
 *
 * Bad input: every case checks the exact "FILE: JSON.PATH: ..." message and
 * that nothing is returned. Good input: the DESIGN example field by field,
 * every bundled profile and scenario, rule_head chains after publish.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "market/market.h"
#include "profile.h"

static char err[16384];

/* Run from the repository root (tests/run.sh does); fall back to the root
 * derived from this file's path. */
static void to_repo_root(void)
{
	char dir[4096];
	char *p;

	if (access("profiles", F_OK) == 0)
		return;
	snprintf(dir, sizeof(dir), "%s", __FILE__);
	p = strstr(dir, "tests/unit/");
	if (p) {
		*p = '\0';
		if (*dir)
			assert_int_equal(chdir(dir), 0);
	}
}

static int parse(const char *json, struct fl_profile *p)
{
	memset(p, 0x5a, sizeof(*p)); /* must come back zeroed on error */
	return fl_profile_parse("t.json", json, strlen(json), p, err, sizeof(err));
}

static bool all_zero(const void *v, size_t n)
{
	const unsigned char *b = v;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* The load fails, nothing is returned, and `want` is in the errors: with
 * prefix, `want` is a message line without its "t.json: " (or the start of
 * one); without, any part of one. */
static void bad_(const char *json, const char *want, bool prefix,
		 const char *file, int line)
{
	static struct fl_profile p;
	char line_want[1024];
	int rc;

	rc = parse(json, &p);
	snprintf(line_want, sizeof(line_want), "%s%s", prefix ? "t.json: " : "", want);
	if (rc != -EINVAL || !strstr(err, line_want))
		print_error("%s:%d: rc %d\nwanted: %s\ngot:\n%s", file, line, rc,
			    line_want, err);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err, line_want));
	assert_true(all_zero(&p, sizeof(p)));
}
#define bad(json, want) bad_(json, want, true, __FILE__, __LINE__)
#define bad_sub(json, want) bad_(json, want, false, __FILE__, __LINE__)

static void good_(const char *json, struct fl_profile *p, const char *file, int line)
{
	int rc = parse(json, p);

	if (rc)
		print_error("%s:%d: rc %d\n%s", file, line, rc, err);
	assert_int_equal(rc, 0);
	assert_string_equal(err, "");
}
#define good(json, p) good_(json, p, __FILE__, __LINE__)

#define HEAD "{\"faultline\": 1, \"targets\": {" \
	"\"custodian\": {\"tcp\": \"127.0.0.1:9201\"}, " \
	"\"venue\": {\"tcp\": \"127.0.0.1:9101\"}, " \
	"\"ledger\": {\"path\": \"/var/lib/wallet/ledger*\"}}, "
/* A profile whose only rule is R. */
#define RULE(r) HEAD "\"rules\": [" r "]}"
/* A scenario (empty market: the model's defaults) whose only rule is R. */
#define SRULE(r) HEAD "\"market\": {}, \"rules\": [" r "]}"
/* A profile with one target T (its JSON value) and no rules. */
#define TARGET(t) "{\"faultline\": 1, \"targets\": {\"custodian\": " t "}, \"rules\": []}"

/* ---- file level ----------------------------------------------------------- */

static void test_truncated(void **state)
{
	bad("{\"faultline\": 1, \"rules\": [", "line 1, column 28: unexpected end of "
	    "input: the JSON is truncated (the array opened at line 1, column 27 "
	    "is not closed)");
	bad("{\"faultline\": 1,\n \"description\": \"abc",
	    "line 2, column 21: unexpected end of input: the JSON is truncated "
	    "(the string opened at line 2, column 17 is not closed)");
	bad("", "empty input: expected a JSON object");
}

static void test_syntax_error_line_col(void **state)
{
	bad("{\"faultline\": 1,\n  \"rules\": [ }\n}", "line 2, column 14: invalid JSON: expected a value near '}'\n");
	bad("{\"faultline\": 1} trailing", "line 1, column 18: invalid JSON: expected the end of input after the "
	    "top-level value near 'trailing'\n");
}

static void test_not_object(void **state)
{
	bad("[1, 2]", "expected a JSON object at the top level; got an array\n");
	bad("42", "expected a JSON object at the top level; got a number\n");
}

static void test_version(void **state)
{
	bad("{\"rules\": []}", "faultline: missing; expected 1 (the profile format version)\n");
	bad("{\"faultline\": 2, \"rules\": []}",
	    "faultline: expected 1 (the only profile format version this build reads); got 2\n");
	bad("{\"faultline\": \"1\", \"rules\": []}",
	    "faultline: expected 1 (the only profile format version this build reads); got \"1\"\n");
}

static void test_top_level_keys(void **state)
{
	bad("{\"faultline\": 1, \"rules\": [], \"colour\": 3}",
	    "colour: unknown key; expected one of: faultline seed description "
	    "targets rules market budgets $schema\n");
	bad("{\"faultline\": 1, \"rules\": [], \"$schema\": 3}",
	    "$schema: expected a string (the schema's path or URL, for editors); "
	    "got a number\n");
	bad("{\"faultline\": 1, \"Rules\": []}", "rules: missing; expected an array\n");
	bad("{\"faultline\": 1, \"rules\": [], \"rules\": []}", "rules: duplicate key\n");
	bad("{\"faultline\": 1, \"rules\": {}}", "rules: expected an array; got an object\n");
}

static void test_seed(void **state)
{
	struct fl_profile p;

	good("{\"faultline\": 1, \"seed\": 42, \"rules\": []}", &p);
	assert_true(p.has_seed);
	assert_int_equal(p.seed, 42);
	good("{\"faultline\": 1, \"seed\": \"18446744073709551615\", \"rules\": []}", &p);
	assert_true(p.seed == UINT64_MAX);
	good("{\"faultline\": 1, \"seed\": \"0xdeadbeefcafef00d\", \"rules\": []}", &p);
	assert_true(p.seed == 0xdeadbeefcafef00dull);
	good("{\"faultline\": 1, \"rules\": []}", &p);
	assert_false(p.has_seed);
	bad("{\"faultline\": 1, \"seed\": -1, \"rules\": []}", "seed: expected an integer in 0..2^53");
	bad("{\"faultline\": 1, \"seed\": 1.5, \"rules\": []}", "seed: expected an integer in 0..2^53");
	bad("{\"faultline\": 1, \"seed\": \"18446744073709551616\", \"rules\": []}",
	    "seed: expected an integer in 0..2^53");
}

static void test_cannot_read(void **state)
{
	struct fl_profile p;

	assert_int_equal(fl_profile_load("/nonexistent/x.json", &p, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/x.json: cannot open: No such file or directory\n");
	assert_int_equal(fl_profile_load("/", &p, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "/: cannot read: Is a directory"));
}

static void test_load_file_bad_json(void **state)
{
	char path[] = "/tmp/fl-test-profile-XXXXXX";
	const char *text = "{\"faultline\": 1,\n\"rules\": [\n  {\"op\": }\n]}\n";
	struct fl_profile p;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(fl_profile_load(path, &p, err, sizeof(err)), -EINVAL);
	unlink(path);
	assert_non_null(strstr(err, ": line 3, column 10: invalid JSON: expected a value near '}'\n"));
	assert_memory_equal(err, path, strlen(path));
}

/* ---- targets ----------------------------------------------------------------- */

static void test_target_addresses(void **state)
{
	struct fl_profile p;
	uint8_t v6[16];

	good(TARGET("{\"tcp\": \"127.0.0.1:9201\"}"), &p);
	assert_int_equal(p.ntargets, 2);
	assert_int_equal(p.targets[1].kind, FL_TK_TCP);
	assert_int_equal(p.targets[1].family, AF_INET);
	assert_int_equal(p.targets[1].port, 9201);
	assert_int_equal(p.targets[1].flags, 0);
	assert_memory_equal(p.targets[1].addr, "\x7f\0\0\x01", 4);
	assert_string_equal(p.targets[1].name, "custodian");
	good(TARGET("{\"udp\": \"[::1]:53\"}"), &p);
	assert_int_equal(p.targets[1].kind, FL_TK_UDP);
	assert_int_equal(p.targets[1].family, AF_INET6);
	inet_pton(AF_INET6, "::1", v6);
	assert_memory_equal(p.targets[1].addr, v6, 16);
	good(TARGET("{\"tcp\": \"*:*\"}"), &p);
	assert_int_equal(p.targets[1].flags, FL_TF_ANY_HOST | FL_TF_ANY_PORT);
	good(TARGET("{\"tcp\": \"10.0.0.1:*\"}"), &p);
	assert_int_equal(p.targets[1].flags, FL_TF_ANY_PORT);
	good(TARGET("{\"unix\": \"/run/custodian/*.sock\"}"), &p);
	assert_int_equal(p.targets[1].kind, FL_TK_UNIX);
	assert_string_equal(p.targets[1].pattern, "/run/custodian/*.sock");
	good(TARGET("{\"host\": \"*.custodian.internal\"}"), &p);
	assert_int_equal(p.targets[1].kind, FL_TK_HOST);
}

static void test_target_bad_addresses(void **state)
{
	static const char *const forms[] = {
		"localhost:80", "127.0.0.1", "::1:80", "[::1]80", "[::1:80",
		"1.2.3:80", "127.0.0.1:-1", "127.0.0.1:http", "", ":80",
		"127.0.0.1:", "[127.0.0.1]:80", "127.0.0.1:+80",
	};
	char json[256];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(json, sizeof(json), TARGET("{\"tcp\": \"%s\"}"), forms[i]);
		bad(json, "targets.custodian.tcp: expected \"HOST:PORT\" (HOST: numeric "
		    "IPv4, [IPv6] or *; PORT: 1..65535 or *): ");
	}
	bad(TARGET("{\"tcp\": \"localhost:80\"}"), "targets.custodian.tcp: expected "
	    "\"HOST:PORT\" (HOST: numeric IPv4, [IPv6] or *; PORT: 1..65535 or *): "
	    "HOST must be a numeric IPv4 address, [IPv6] or * (names are not "
	    "resolved); got \"localhost:80\"\n");
	bad_sub(TARGET("{\"tcp\": \"::1:80\"}"), ": an IPv6 HOST goes in brackets: "
		"\"[::1]:PORT\"; got \"::1:80\"\n");
}

static void test_target_bad_ports(void **state)
{
	bad(TARGET("{\"tcp\": \"127.0.0.1:0\"}"), "targets.custodian.tcp: expected "
	    "\"HOST:PORT\" (HOST: numeric IPv4, [IPv6] or *; PORT: 1..65535 or *): "
	    "PORT must be 1..65535 or *; got \"127.0.0.1:0\"\n");
	bad(TARGET("{\"udp\": \"127.0.0.1:70000\"}"), "targets.custodian.udp: expected "
	    "\"HOST:PORT\" (HOST: numeric IPv4, [IPv6] or *; PORT: 1..65535 or *): "
	    "PORT must be 1..65535 or *; got \"127.0.0.1:70000\"\n");
	bad_sub(TARGET("{\"tcp\": \"[::1]:123456\"}"), ": PORT must be 1..65535 or *; "
		"got \"[::1]:123456\"\n");
}

static void test_target_shapes(void **state)
{
	char json[512];

	bad(TARGET("{\"tcp\": \"127.0.0.1:1\", \"path\": \"/x\"}"),
	    "targets.custodian: expected exactly one of \"tcp\", \"udp\", \"unix\", "
	    "\"path\", \"host\"; got 2 of them\n");
	bad(TARGET("{}"), "targets.custodian: expected one of \"tcp\", \"udp\", "
	    "\"unix\", \"path\", \"host\"; got none\n");
	bad(TARGET("{\"sctp\": \"127.0.0.1:1\"}"),
	    "targets.custodian.sctp: unknown key; expected one of: tcp udp unix path host\n");
	bad(TARGET("\"127.0.0.1:1\""), "targets.custodian: expected an object; got \"127.0.0.1:1\"\n");
	bad(TARGET("{\"tcp\": 9201}"), "targets.custodian.tcp: expected a string; got 9201\n");
	bad(TARGET("{\"path\": \"ledger*\"}"), "targets.custodian.path: expected an "
	    "absolute path (glob) starting with /; got \"ledger*\"\n");
	bad(TARGET("{\"unix\": \"/run/[a.sock\"}"), "targets.custodian.unix: expected "
	    "a glob; got \"/run/[a.sock\" with an unclosed [\n");
	bad("{\"faultline\": 1, \"targets\": {\"a b\": {\"tcp\": \"*:1\"}}, \"rules\": []}",
	    "targets.a b: invalid target name: expected 1..31 of [A-Za-z0-9_.-]\n");
	bad("{\"faultline\": 1, \"targets\": {\"abcdefghijabcdefghijabcdefghij12\": "
	    "{\"tcp\": \"*:1\"}}, \"rules\": []}",
	    "targets.abcdefghijabcdefghijabcdefghij12: invalid target name");
	bad("{\"faultline\": 1, \"targets\": {\"a\": {\"tcp\": \"*:1\"}, \"a\": "
	    "{\"tcp\": \"*:2\"}}, \"rules\": []}", "targets.a: duplicate key\n");
	(void)json;
}

static void test_too_many_targets(void **state)
{
	char *json = malloc(8192);
	size_t o = 0;
	struct fl_profile p;

	o += (size_t)sprintf(json + o, "{\"faultline\": 1, \"targets\": {");
	for (int i = 0; i < 63; i++)
		o += (size_t)sprintf(json + o, "%s\"t%d\": {\"tcp\": \"*:%d\"}",
				     i ? ", " : "", i, i + 1);
	strcpy(json + o, "}, \"rules\": [{\"target\": \"t62\", \"op\": \"recv\", "
	       "\"fault\": \"reset\"}]}");
	good(json, &p);
	assert_int_equal(p.ntargets, 64);
	assert_int_equal(p.rules[0].target, 63);
	sprintf(json + o, ", \"t63\": {\"tcp\": \"*:64\"}}, \"rules\": []}");
	bad(json, "targets: too many targets (64); at most 63\n");
	free(json);
}

/* ---- rules: structure ------------------------------------------------------------ */

static void test_rule_unknown_key(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"colour\": 1}"),
	    "rules[0].colour: unknown key; expected one of: target op fault nth "
	    "window_ms probability note scale when_signal ms jitter_ms errno bytes "
	    "until max_ms ppm layer\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"Op\": \"send\"}"),
	    "rules[0].Op: unknown key");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"fault\": \"stale\"}"),
	    "rules[0].fault: duplicate key\n");
	bad(RULE("42"), "rules[0]: expected an object (a rule); got a number\n");
}

static void test_unknown_target(void **state)
{
	bad(RULE("{\"target\": \"x\", \"op\": \"recv\", \"fault\": \"reset\"}"),
	    "rules[0].target: unknown target \"x\"; known: custodian, venue, ledger\n");
	bad("{\"faultline\": 1, \"rules\": [{\"target\": \"x\", \"op\": \"recv\", "
	    "\"fault\": \"reset\"}]}",
	    "rules[0].target: unknown target \"x\"; known: none (the file has no \"targets\")\n");
	bad(RULE("{\"op\": \"recv\", \"fault\": \"reset\"}"),
	    "rules[0].target: missing; expected a string\n");
}

static void test_unknown_op(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"connnect\", \"fault\": \"reset\"}"),
	    "rules[0].op: expected one of connect accept send recv read write open "
	    "fsync rename close resolve packet; got \"connnect\"\n");
}

static void test_op_for_target_kind(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"fsync\", \"fault\": \"delay\", \"ms\": 1}"),
	    "rules[0].op: op \"fsync\" does not apply to target \"venue\" (tcp); "
	    "expected one of connect accept send recv close packet\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"read\", \"fault\": \"delay\", \"ms\": 1}"),
	    "rules[0].op: op \"read\" does not apply to target \"venue\" (tcp); "
	    "expected one of connect accept send recv close packet (read and write on a "
	    "socket count as recv and send)\n");
	bad(RULE("{\"target\": \"ledger\", \"op\": \"connect\", \"fault\": \"delay\", \"ms\": 1}"),
	    "rules[0].op: op \"connect\" does not apply to target \"ledger\" (path); "
	    "expected one of read write open fsync rename close\n");
}

/* The eBPF layer's rules: op "packet" implies it, "layer": "bpf" asks for
 * it; either way the rule is kept out of the shim's chains. */
static void test_bpf_layer_rules(void **state)
{
	static struct fl_profile p;
	static struct fl_ctl ctl;

	good(RULE("{\"target\": \"venue\", \"op\": \"packet\", \"fault\": \"drop\", "
		  "\"probability\": 0.25}, {\"target\": \"venue\", \"op\": \"connect\", "
		  "\"fault\": \"error\", \"errno\": \"EPERM\", \"layer\": \"bpf\"}, "
		  "{\"target\": \"venue\", \"op\": \"connect\", \"fault\": \"error\", "
		  "\"errno\": \"EPERM\"}"), &p);
	assert_int_equal(p.rules[0].op, FL_OP_PACKET);
	assert_int_equal(p.rules[0].fault, FL_FAULT_DROP);
	assert_true(p.rules[0].flags & FL_RF_KERNEL);
	assert_true(p.rules[0].flags & FL_RF_PROB);
	assert_true(p.rules[1].flags & FL_RF_KERNEL);
	assert_false(p.rules[2].flags & FL_RF_KERNEL);
	fl_profile_publish(&p, &ctl);
	/* only rule 2 is the shim's */
	assert_int_equal(ctl.hdr.rule_head[p.rules[1].target][FL_OP_CONNECT], 3);
	assert_int_equal(ctl.rules[2].next, 0);
	assert_int_equal(ctl.hdr.rule_head[p.rules[0].target][FL_OP_PACKET], 0);
	fl_profile__free(&p);

	bad(RULE("{\"target\": \"venue\", \"op\": \"packet\", \"fault\": \"delay\", \"ms\": 1}"),
	    "rules[0].fault: fault \"delay\" is not valid for op \"packet\"; valid for "
	    "packet: drop\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"drop\"}"),
	    "rules[0].fault: fault \"drop\" is not valid for op \"recv\"");
	bad(RULE("{\"target\": \"venue\", \"op\": \"connect\", \"fault\": \"delay\", "
		 "\"ms\": 1, \"layer\": \"bpf\"}"),
	    "rules[0].layer: the bpf layer does connect error and packet drop; got "
	    "connect delay\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"packet\", \"fault\": \"drop\", \"nth\": 2}"),
	    "rules[0].nth: not supported by the bpf layer (\"probability\" is, and in "
	    "a scenario \"scale\" and \"when_signal\")\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"connect\", \"fault\": \"error\", "
		 "\"errno\": \"EPERM\", \"layer\": \"kernel\"}"),
	    "rules[0].layer: expected \"bpf\"");
	bad(RULE("{\"target\": \"ledger\", \"op\": \"packet\", \"fault\": \"drop\"}"),
	    "rules[0].op: op \"packet\" does not apply to target \"ledger\" (path)");
}

static void test_unknown_fault(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"explode\"}"),
	    "rules[0].fault: expected one of delay late_ack error timeout reset "
	    "short stale hold drop; got \"explode\"\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"offset\", \"ms\": 1}"),
	    "rules[0].fault: \"offset\" is a clock fault: a clock rule has \"clock\" "
	    "instead of \"target\" and \"op\"\n");
	bad(RULE("{\"clock\": \"realtime\", \"fault\": \"delay\", \"ms\": 1}"),
	    "rules[0].fault: expected one of offset drift freeze jump (a clock rule); "
	    "got \"delay\"\n");
}

static void test_fault_invalid_for_op(void **state)
{
	bad(RULE("{\"target\": \"ledger\", \"op\": \"fsync\", \"fault\": \"short\", \"bytes\": 1}"),
	    "rules[0].fault: fault \"short\" is not valid for op \"fsync\"; valid "
	    "for fsync: delay late_ack error hold\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"connect\", \"fault\": \"reset\"}"),
	    "rules[0].fault: fault \"reset\" is not valid for op \"connect\"; valid "
	    "for connect: delay late_ack error timeout hold\n");
}

static void test_errno_invalid_for_op(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"connect\", \"fault\": \"error\", \"errno\": \"EFOO\"}"),
	    "rules[0].errno: expected one of ECONNREFUSED ETIMEDOUT ENETUNREACH "
	    "EHOSTUNREACH EADDRNOTAVAIL EACCES EPERM EAGAIN EINTR ECONNRESET ENOENT; "
	    "got \"EFOO\"\n");
	bad(RULE("{\"target\": \"ledger\", \"op\": \"fsync\", \"fault\": \"error\", \"errno\": \"ECONNREFUSED\"}"),
	    "rules[0].errno: expected one of EIO ENOSPC EDQUOT EROFS EINTR; got \"ECONNREFUSED\"\n");
	bad(RULE("{\"target\": \"ledger\", \"op\": \"fsync\", \"fault\": \"error\", \"errno\": 5}"),
	    "rules[0].errno: expected a string; got 5\n");
}

static void test_missing_param(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\"}"),
	    "rules[0].ms: missing; fault \"delay\" needs it\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"error\"}"),
	    "rules[0].errno: missing; fault \"error\" needs it\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"short\"}"),
	    "rules[0].bytes: missing; fault \"short\" needs it\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", "
		 "\"until\": {\"target\": \"venue\", \"op\": \"send\", \"nth\": 1}}"),
	    "rules[0].max_ms: missing; fault \"hold\" needs it\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\"}"),
	    "rules[0].fault: missing; expected a string\n");
	bad(RULE("{\"target\": \"ledger\", \"op\": \"read\", \"fault\": \"stale\"}"),
	    "rules[0].window_ms: missing; fault \"stale\" needs it");
}

static void test_foreign_param(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", "
		 "\"ms\": 5, \"errno\": \"EIO\"}"),
	    "rules[0].errno: not a parameter of fault \"delay\" (it takes: ms jitter_ms)\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"ms\": 5}"),
	    "rules[0].ms: not a parameter of fault \"reset\" (it takes none)\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"timeout\", "
		 "\"ms\": 5, \"jitter_ms\": 1}"),
	    "rules[0].jitter_ms: not a parameter of fault \"timeout\" (it takes: ms)\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"ms\": 5, "
		 "\"until\": {\"target\": \"venue\", \"op\": \"send\", \"nth\": 1}, \"max_ms\": 10}"),
	    "rules[0].ms: not a parameter of fault \"hold\" (it takes: until max_ms)\n");
	bad(RULE("{\"clock\": \"realtime\", \"fault\": \"offset\", \"ms\": 5, \"ppm\": 3}"),
	    "rules[0].ppm: not a parameter of fault \"offset\" (it takes: ms)\n");
	bad(RULE("{\"clock\": \"realtime\", \"fault\": \"offset\", \"ms\": 5, \"nth\": 3}"),
	    "rules[0].nth: unknown key; expected one of: clock fault window_ms note");
}

static void test_param_ranges(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": -1}"),
	    "rules[0].ms: expected a number in [0, 86400000]; got -1\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"short\", \"bytes\": 0}"),
	    "rules[0].bytes: expected an integer in 1..1073741824; got 0\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": \"5\"}"),
	    "rules[0].ms: expected a number in [0, 86400000]; got \"5\"\n");
}

static void test_bad_nth(void **state)
{
	static const char *const forms[] = {
		"\"0\"", "\"5-3\"", "\"x\"", "\"3-\"", "\"-3\"", "\"3++\"", "\" 3\"",
		"\"3-5x\"", "\"\"", "0", "1.5", "-2", "true", "\"99999999999999999999\"",
	};
	char json[256], want[256];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(json, sizeof(json), RULE("{\"target\": \"venue\", \"op\": "
			 "\"recv\", \"fault\": \"reset\", \"nth\": %s}"), forms[i]);
		snprintf(want, sizeof(want), "rules[0].nth: expected \"N\", \"N-M\" or "
			 "\"N+\" (1 <= N <= M), or an integer N >= 1; got %s\n", forms[i]);
		bad(json, want);
	}
}

static void test_good_nth(void **state)
{
	struct fl_profile p;

	good(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"nth\": \"3+\"}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"nth\": \"3-5\"}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"nth\": 7}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"nth\": \"4-4\"}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\"}"), &p);
	assert_int_equal(p.rules[0].flags, FL_RF_NTH);
	assert_int_equal(p.rules[0].nth_lo, 3);
	assert_true(p.rules[0].nth_hi == UINT64_MAX);
	assert_int_equal(p.rules[1].nth_lo, 3);
	assert_int_equal(p.rules[1].nth_hi, 5);
	assert_int_equal(p.rules[2].nth_lo, 7);
	assert_int_equal(p.rules[2].nth_hi, 7);
	assert_int_equal(p.rules[3].nth_lo, 4);
	assert_int_equal(p.rules[3].nth_hi, 4);
	assert_int_equal(p.rules[4].flags, 0);
	assert_true(p.rules[4].prob_thresh == UINT64_MAX);
}

static void test_bad_window(void **state)
{
	static const char *const forms[] = {
		"[5000,1000]", "[1000,1000]", "[-1,5]", "[1]", "[1,2,3]", "{}",
		"[\"1\",2]", "5", "[0,2000000000000]",
	};
	char json[256], want[320];

	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(json, sizeof(json), RULE("{\"target\": \"venue\", \"op\": "
			 "\"recv\", \"fault\": \"reset\", \"window_ms\": %s}"), forms[i]);
		snprintf(want, sizeof(want), "rules[0].window_ms: expected [FROM, TO] "
			 "in ms of run time (FROM inclusive, TO exclusive) with 0 <= "
			 "FROM < TO <= 1e12; got %s\n", forms[i]);
		bad(json, want);
	}
}

static void test_probability(void **state)
{
	struct fl_profile p;

	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"probability\": 1.5}"),
	    "rules[0].probability: expected a number in [0, 1]; got 1.5\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"probability\": -0.1}"),
	    "rules[0].probability: expected a number in [0, 1]; got -0.1\n");
	good(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"probability\": 0.2}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"probability\": 1}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"probability\": 0}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", \"probability\": 0.5}"), &p);
	/* 0.2 is 3602879701896397 / 2^54 as a double: times 2^64 exactly */
	assert_true(p.rules[0].prob_thresh == 3689348814741910528ull);
	assert_int_equal(p.rules[0].flags, FL_RF_PROB);
	assert_true(p.rules[1].prob_thresh == UINT64_MAX);
	assert_true(p.rules[2].prob_thresh == 0);
	assert_true(p.rules[3].prob_thresh == (1ull << 63));
}

static void test_jitter(void **state)
{
	struct fl_profile p;

	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 800, \"jitter_ms\": 900}"),
	    "rules[0].jitter_ms: expected at most ms (800); got 900\n");
	good(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 0.5, \"jitter_ms\": 0.5}"), &p);
	assert_int_equal(p.rules[0].ns, 500000);
	assert_int_equal(p.rules[0].jitter_ns, 500000);
}

static void test_errno_values(void **state)
{
	struct fl_profile p;

	good("{\"faultline\": 1, \"targets\": {\"dns\": {\"host\": \"*\"}, "
	     "\"led\": {\"path\": \"/x\"}}, \"rules\": ["
	     "{\"target\": \"dns\", \"op\": \"resolve\", \"fault\": \"error\", \"errno\": \"EAI_AGAIN\"}, "
	     "{\"target\": \"led\", \"op\": \"write\", \"fault\": \"error\", \"errno\": \"ENOSPC\"}]}", &p);
	assert_int_equal(p.rules[0].err, EAI_AGAIN);
	assert_true(p.rules[0].err < 0);
	assert_int_equal(p.rules[1].err, ENOSPC);
	bad("{\"faultline\": 1, \"targets\": {\"dns\": {\"host\": \"*\"}}, \"rules\": ["
	    "{\"target\": \"dns\", \"op\": \"resolve\", \"fault\": \"error\", \"errno\": \"EIO\"}]}",
	    "rules[0].errno: expected one of EAI_AGAIN EAI_FAIL EAI_NONAME EAI_NODATA "
	    "EAI_MEMORY; got \"EIO\"\n");
}

/* ---- clocks ---------------------------------------------------------------------- */

static void test_clock_backwards(void **state)
{
	bad(RULE("{\"clock\": \"monotonic\", \"fault\": \"offset\", \"ms\": -5}"),
	    "rules[0].ms: expected >= 0 for an offset of the monotonic clock (it "
	    "must never go backwards); got -5\n");
	bad(RULE("{\"clock\": \"boottime\", \"fault\": \"offset\", \"ms\": 5, \"window_ms\": [0, 10]}"),
	    "rules[0].window_ms: not allowed for an offset of the boottime clock: "
	    "the offset must be permanent (removing it at the window's end would "
	    "make the clock go backwards)\n");
	bad(RULE("{\"clock\": \"monotonic\", \"fault\": \"jump\", \"ms\": -1000, \"window_ms\": [0, 10]}"),
	    "rules[0].ms: expected > 0 for a jump of the monotonic clock (it must "
	    "never go backwards); got -1000\n");
	bad(RULE("{\"clock\": \"boottime\", \"fault\": \"jump\", \"ms\": 0, \"window_ms\": [0, 10]}"),
	    "rules[0].ms: expected > 0 for a jump of the boottime clock");
	bad(RULE("{\"clock\": \"monotonic\", \"fault\": \"drift\", \"ppm\": -2e6}"),
	    "rules[0].ppm: expected > -1000000 (a drift of -1000000 ppm or less "
	    "stops the clock or runs it backwards); got -2e+06\n");
	bad(RULE("{\"clock\": \"realtime\", \"fault\": \"drift\", \"ppm\": -1000000}"),
	    "rules[0].ppm: expected > -1000000");
	bad(RULE("{\"clock\": \"realtime\", \"fault\": \"drift\", \"ppm\": 1.5}"),
	    "rules[0].ppm: expected an integer in -999999..1000000000; got 1.5\n");
}

static void test_clock_rules(void **state)
{
	struct fl_profile p;

	bad(RULE("{\"clock\": \"realtime\", \"fault\": \"freeze\"}"),
	    "rules[0].window_ms: missing; fault \"freeze\" needs it\n");
	bad(RULE("{\"clock\": \"realtime\", \"fault\": \"jump\", \"ms\": 5}"),
	    "rules[0].window_ms: missing; fault \"jump\" needs it\n");
	bad(RULE("{\"clock\": \"tai\", \"fault\": \"freeze\", \"window_ms\": [0, 1]}"),
	    "rules[0].clock: expected one of realtime monotonic boottime; got \"tai\"\n");
	bad(RULE("{\"clock\": \"realtime\", \"target\": \"venue\", \"fault\": \"offset\", \"ms\": 1}"),
	    "rules[0].target: unknown key; expected one of: clock fault window_ms note");
	good(RULE("{\"clock\": \"realtime\", \"fault\": \"jump\", \"ms\": -3600000, \"window_ms\": [5000, 6000]}, "
		  "{\"clock\": \"monotonic\", \"fault\": \"jump\", \"ms\": 1000, \"window_ms\": [5000, 6000]}, "
		  "{\"clock\": \"boottime\", \"fault\": \"freeze\", \"window_ms\": [1000, 2000]}, "
		  "{\"clock\": \"monotonic\", \"fault\": \"offset\", \"ms\": 250}, "
		  "{\"clock\": \"realtime\", \"fault\": \"offset\", \"ms\": -30000, \"window_ms\": [0, 1000]}, "
		  "{\"clock\": \"boottime\", \"fault\": \"drift\", \"ppm\": -999999, \"window_ms\": [0, 1000]}"), &p);
	assert_int_equal(p.nrules, 6);
	assert_int_equal(p.rules[0].flags, FL_RF_CLOCK | FL_RF_WINDOW);
	assert_int_equal(p.rules[0].clock, FL_CLK_REALTIME);
	assert_int_equal(p.rules[0].fault, FL_FAULT_JUMP);
	assert_true(p.rules[0].ns == -3600000000000ll);
	assert_int_equal(p.rules[0].win_from_ns, 5000000000ll);
	assert_int_equal(p.rules[1].clock, FL_CLK_MONOTONIC);
	assert_int_equal(p.rules[2].fault, FL_FAULT_FREEZE);
	assert_int_equal(p.rules[2].clock, FL_CLK_BOOTTIME);
	assert_int_equal(p.rules[3].ns, 250000000);
	assert_int_equal(p.rules[3].flags, FL_RF_CLOCK);
	assert_int_equal(p.rules[5].ppm, -999999);
	assert_int_equal(p.rules[5].target, 0);
	assert_int_equal(p.rules[5].op, FL_OP_NONE);
}

/* ---- hold ------------------------------------------------------------------------ */

static void test_hold(void **state)
{
	struct fl_profile p;

	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"max_ms\": 100}"),
	    "rules[0].until: missing; fault \"hold\" needs it\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"max_ms\": 100, "
		 "\"until\": {\"target\": \"nope\", \"op\": \"send\", \"nth\": 2}}"),
	    "rules[0].until.target: unknown target \"nope\"; known: custodian, venue, ledger\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"max_ms\": 100, "
		 "\"until\": {\"target\": \"venue\", \"op\": \"sned\", \"nth\": 2}}"),
	    "rules[0].until.op: expected one of connect");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"max_ms\": 100, "
		 "\"until\": {\"target\": \"venue\", \"op\": \"send\", \"nth\": \"2+\"}}"),
	    "rules[0].until.nth: expected an integer N >= 1 or \"N\"; got \"2+\"\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"max_ms\": 100, "
		 "\"until\": {\"target\": \"venue\", \"op\": \"send\"}}"),
	    "rules[0].until.nth: missing; expected an integer N >= 1 or \"N\"\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"max_ms\": 100, "
		 "\"until\": {\"target\": \"venue\", \"op\": \"send\", \"nth\": 1, \"after_ms\": 3}}"),
	    "rules[0].until.after_ms: unknown key; expected one of: target op nth\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"max_ms\": 0, "
		 "\"until\": {\"target\": \"venue\", \"op\": \"send\", \"nth\": 1}}"),
	    "rules[0].max_ms: expected a number in [1, 86400000]; got 0\n");
	good(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"hold\", \"max_ms\": 100, "
		  "\"until\": {\"target\": \"ledger\", \"op\": \"fsync\", \"nth\": \"3\"}}"), &p);
	assert_int_equal(p.rules[0].flags, FL_RF_UNTIL);
	assert_int_equal(p.rules[0].until_target, 3);
	assert_int_equal(p.rules[0].until_op, FL_OP_FSYNC);
	assert_int_equal(p.rules[0].until_nth, 3);
	assert_int_equal(p.rules[0].ns, 100000000);
}

/* ---- scenarios ------------------------------------------------------------------- */

static void test_scale_in_profile(void **state)
{
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 5, "
		 "\"scale\": {\"signal\": \"stress\", \"lo\": 0, \"hi\": 1}}"),
	    "rules[0].scale: only allowed in a scenario (a file with \"market\")\n");
	bad(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 5, "
		 "\"when_signal\": {\"signal\": \"stress\", \"above\": 0.5}}"),
	    "rules[0].when_signal: only allowed in a scenario (a file with \"market\")\n");
}

static void test_scale(void **state)
{
	struct fl_profile p;

	bad(SRULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 5, "
		  "\"scale\": {\"signal\": \"stress\", \"lo\": 5, \"hi\": 2}}"),
	    "rules[0].scale.hi: expected a number > lo (5); got 2\n");
	bad(SRULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 5, "
		  "\"scale\": {\"signal\": \"stress\", \"lo\": 1, \"hi\": 1}}"),
	    "rules[0].scale.hi: expected a number > lo (1); got 1\n");
	bad(SRULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 5, "
		  "\"scale\": {\"signal\": \"panic\", \"lo\": 0, \"hi\": 1}}"),
	    "rules[0].scale.signal: unknown signal \"panic\"; expected one of spot perp mark");
	bad(SRULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 5, "
		  "\"when_signal\": {\"signal\": \"stress\", \"above\": 0.5, \"below\": 0.1}}"),
	    "rules[0].when_signal: expected exactly one of \"below\" or \"above\"\n");
	bad(SRULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 5, "
		  "\"when_signal\": {\"signal\": \"nope\", \"above\": 0.5}}"),
	    "rules[0].when_signal.signal: unknown signal \"nope\"");
	good(SRULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 5, "
		   "\"scale\": {\"signal\": \"liquidations_usd_per_s\", \"lo\": 0, \"hi\": 2e8}}, "
		   "{\"target\": \"venue\", \"op\": \"send\", \"fault\": \"reset\", "
		   "\"when_signal\": {\"signal\": \"venue_status\", \"above\": 2.5}}, "
		   "{\"target\": \"venue\", \"op\": \"send\", \"fault\": \"reset\"}"), &p);
	assert_true(p.is_scenario);
	assert_non_null(p.market);
	assert_int_equal(p.rules[0].flags, FL_RF_SCALED);
	assert_int_equal(p.bind[0].signal, MKT_SIG_LIQUIDATIONS_USD_PER_S);
	assert_true(p.bind[0].scale);
	assert_true(p.bind[0].hi == 2e8);
	assert_int_equal(p.bind[1].signal, MKT_SIG_VENUE_STATUS);
	assert_true(p.bind[1].when && p.bind[1].has_above && !p.bind[1].has_below);
	assert_true(p.bind[1].above == 2.5);
	assert_int_equal(p.rules[1].flags, FL_RF_SCALED);
	assert_int_equal(p.bind[2].signal, -1);
	assert_true(p.budget_max_faults == -1);
	fl_profile__free(&p);
	assert_null(p.market);
}

static void test_budgets(void **state)
{
	struct fl_profile p;

	good(HEAD "\"market\": {}, \"budgets\": {\"max_faults\": 500}, \"rules\": []}", &p);
	assert_true(p.budget_max_faults == 500);
	fl_profile__free(&p);
	bad(HEAD "\"market\": {}, \"budgets\": {\"max_fault\": 500}, \"rules\": []}",
	    "budgets.max_fault: unknown key; expected one of: max_faults probe_p99_ms "
	    "probe_error_rate invariant_violations metric_max time_to_stable_s\n");
	/* every budget, in a plain profile too */
	good(HEAD "\"budgets\": {\"probe_p99_ms\": 800, \"probe_error_rate\": 0.02, "
	     "\"invariant_violations\": 0, \"time_to_stable_s\": 120, "
	     "\"metric_max\": {\"settlement_lag_ms\": 5000, \"q\": -1}}, \"rules\": []}", &p);
	assert_true(p.budgets.probe_p99_ms == 800);
	assert_true(p.budgets.probe_error_rate == 0.02);
	assert_true(p.budgets.invariant_violations == 0);
	assert_true(p.budgets.time_to_stable_s == 120);
	assert_true(p.budgets.max_faults == -1);
	assert_int_equal(p.budgets.nmetric, 2);
	assert_string_equal(p.budgets.metric_max[0].name, "settlement_lag_ms");
	assert_true(p.budgets.metric_max[1].max == -1);
	fl_profile__free(&p);
	bad(HEAD "\"budgets\": {\"probe_error_rate\": 2}, \"rules\": []}",
	    "budgets.probe_error_rate: expected a number in [0, 1]; got 2\n");
	bad(HEAD "\"budgets\": {\"metric_max\": {\"lag\": \"x\"}}, \"rules\": []}",
	    "budgets.metric_max.lag: expected a number (the metric's maximum); got a string\n");
	bad(HEAD "\"budgets\": {\"metric_max\": []}, \"rules\": []}",
	    "budgets.metric_max: expected an object; got an array\n");
	bad(HEAD "\"market\": {}, \"budgets\": {\"max_faults\": -1}, \"rules\": []}",
	    "budgets.max_faults: expected an integer in 0..9007199254740992; got -1\n");
}

/* ---- limits and collection -------------------------------------------------------- */

static void test_too_many_rules(void **state)
{
	const char *r = "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\"}";
	char *json = malloc(64 * 1024);
	struct fl_profile *p = malloc(sizeof(*p));
	size_t o;

	o = (size_t)sprintf(json, HEAD "\"rules\": [");
	for (int i = 0; i < 128; i++)
		o += (size_t)sprintf(json + o, "%s%s", i ? ", " : "", r);
	strcpy(json + o, "]}");
	good(json, p);
	assert_int_equal(p->nrules, 128);
	sprintf(json + o, ", %s]}", r);
	bad(json, "rules: too many rules (129); at most 128\n");
	free(p);
	free(json);
}

static void test_collects_every_error(void **state)
{
	struct fl_profile p;
	int lines = 0;

	assert_int_equal(parse("{\"faultline\": 1, \"colour\": 1, \"targets\": {"
			       "\"venue\": {\"tcp\": \"127.0.0.1:0\"}}, \"rules\": ["
			       "{\"target\": \"x\", \"op\": \"recv\", \"fault\": \"reset\"}, "
			       "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\"}, "
			       "{\"clock\": \"monotonic\", \"fault\": \"offset\", \"ms\": -1}, "
			       "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\", "
			       "\"nth\": \"0\", \"probability\": 2}]}", &p), -EINVAL);
	for (const char *s = err; (s = strchr(s, '\n')); s++)
		lines++;
	assert_int_equal(lines, 7);
	assert_non_null(strstr(err, "t.json: colour: unknown key"));
	assert_non_null(strstr(err, "t.json: targets.venue.tcp: expected"));
	assert_non_null(strstr(err, "t.json: rules[0].target: unknown target \"x\"; known: venue\n"));
	assert_non_null(strstr(err, "t.json: rules[1].ms: missing"));
	assert_non_null(strstr(err, "t.json: rules[2].ms: expected >= 0"));
	assert_non_null(strstr(err, "t.json: rules[3].nth: expected"));
	assert_non_null(strstr(err, "t.json: rules[3].probability: expected"));
}

static void test_small_error_buffer(void **state)
{
	struct fl_profile p;
	char small[40];

	memset(small, 'x', sizeof(small));
	assert_int_equal(fl_profile_parse("t.json", "[]", 2, &p, small, sizeof(small)), -EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	assert_memory_equal(small, "t.json: expected a JSON object", 30);
}

/* ---- good files --------------------------------------------------------------------- */

static void test_design_example(void **state)
{
	struct fl_profile p;
	const struct fl_rule *r = p.rules;

	to_repo_root();
	assert_int_equal(fl_profile_load("profiles/design-example.json", &p, err, sizeof(err)), 0);
	assert_string_equal(p.file, "profiles/design-example.json");
	assert_true(p.has_seed && p.seed == 42);
	assert_false(p.is_scenario);
	assert_null(p.market);
	assert_int_equal(p.ntargets, 4);
	assert_string_equal(p.targets[1].name, "custodian");
	assert_int_equal(p.targets[1].port, 9201);
	assert_string_equal(p.targets[2].name, "venue");
	assert_int_equal(p.targets[2].port, 9101);
	assert_string_equal(p.targets[3].name, "ledger");
	assert_int_equal(p.targets[3].kind, FL_TK_PATH);
	assert_string_equal(p.targets[3].pattern, "/var/lib/wallet/ledger*");
	assert_int_equal(p.nrules, 7);
	/* custodian connect nth 3 timeout 2000 */
	assert_int_equal(r[0].target, 1);
	assert_int_equal(r[0].op, FL_OP_CONNECT);
	assert_int_equal(r[0].fault, FL_FAULT_TIMEOUT);
	assert_int_equal(r[0].flags, FL_RF_NTH);
	assert_int_equal(r[0].nth_lo, 3);
	assert_int_equal(r[0].nth_hi, 3);
	assert_int_equal(r[0].ns, 2000000000ll);
	/* custodian recv window [1000, 5000) delay 800 jitter 50 */
	assert_int_equal(r[1].op, FL_OP_RECV);
	assert_int_equal(r[1].fault, FL_FAULT_DELAY);
	assert_int_equal(r[1].flags, FL_RF_WINDOW);
	assert_int_equal(r[1].win_from_ns, 1000000000ll);
	assert_int_equal(r[1].win_to_ns, 5000000000ll);
	assert_int_equal(r[1].ns, 800000000ll);
	assert_int_equal(r[1].jitter_ns, 50000000ll);
	/* ledger fsync probability 0.2 error EIO */
	assert_int_equal(r[2].target, 3);
	assert_int_equal(r[2].op, FL_OP_FSYNC);
	assert_int_equal(r[2].fault, FL_FAULT_ERROR);
	assert_int_equal(r[2].flags, FL_RF_PROB);
	assert_true(r[2].prob_thresh == 3689348814741910528ull);
	assert_int_equal(r[2].err, EIO);
	/* ledger read window [2000, 4000) stale */
	assert_int_equal(r[3].op, FL_OP_READ);
	assert_int_equal(r[3].fault, FL_FAULT_STALE);
	assert_int_equal(r[3].win_to_ns, 4000000000ll);
	/* custodian recv nth 1 hold until venue send 2, max 5000 */
	assert_int_equal(r[4].fault, FL_FAULT_HOLD);
	assert_int_equal(r[4].flags, FL_RF_NTH | FL_RF_UNTIL);
	assert_int_equal(r[4].until_target, 2);
	assert_int_equal(r[4].until_op, FL_OP_SEND);
	assert_int_equal(r[4].until_nth, 2);
	assert_int_equal(r[4].ns, 5000000000ll);
	/* realtime offset -30 s */
	assert_int_equal(r[5].flags, FL_RF_CLOCK);
	assert_int_equal(r[5].clock, FL_CLK_REALTIME);
	assert_int_equal(r[5].fault, FL_FAULT_OFFSET);
	assert_true(r[5].ns == -30000000000ll);
	/* monotonic drift 500 ppm in [10 s, 20 s) */
	assert_int_equal(r[6].flags, FL_RF_CLOCK | FL_RF_WINDOW);
	assert_int_equal(r[6].clock, FL_CLK_MONOTONIC);
	assert_int_equal(r[6].fault, FL_FAULT_DRIFT);
	assert_int_equal(r[6].ppm, 500);
	for (int i = 0; i < 7; i++) {
		assert_int_equal(atomic_load(&r[i].intensity), FL_INTENSITY_ONE);
		assert_int_equal(r[i].next, 0);
		assert_int_equal(p.bind[i].signal, -1);
	}
	fl_profile__free(&p);
}

/* Every *.json in dir loads (a missing dir is fine). Returns the count. */
static int load_dir(const char *dir, bool scenario)
{
	struct fl_profile *p = malloc(sizeof(*p));
	char path[1024];
	struct dirent *e;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d) {
		free(p);
		return 0;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len < 5 || strcmp(e->d_name + len - 5, ".json"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (fl_profile_load(path, p, err, sizeof(err)))
			print_error("%s", err);
		assert_string_equal(err, "");
		assert_true(p->description[0] != '\0');
		assert_true(p->is_scenario == scenario);
		fl_profile__free(p);
		n++;
	}
	closedir(d);
	free(p);
	return n;
}

static void test_bundled_files(void **state)
{
	to_repo_root();
	assert_true(load_dir("profiles", false) >= 6);
	load_dir("scenarios", true);
}

static void test_custodian_timeout(void **state)
{
	struct fl_profile p;

	to_repo_root();
	assert_int_equal(fl_profile_load("profiles/custodian-timeout.json", &p, err, sizeof(err)), 0);
	assert_int_equal(p.nrules, 3);
	assert_int_equal(p.rules[0].fault, FL_FAULT_TIMEOUT);
	assert_int_equal(p.rules[0].nth_lo, 3);
	assert_int_equal(p.rules[0].ns, 2000000000ll);
	assert_int_equal(p.rules[1].fault, FL_FAULT_LATE_ACK);
	assert_int_equal(p.rules[1].op, FL_OP_FSYNC);
	assert_int_equal(p.rules[1].ns, 300000000ll);
	assert_string_equal(p.targets[p.rules[1].target].pattern, "/tmp/faultline-wallet/ledger*");
	assert_int_equal(p.rules[2].op, FL_OP_RECV);
	assert_int_equal(p.rules[2].win_from_ns, 10000000000ll);
	assert_int_equal(p.rules[2].win_to_ns, 40000000000ll);
	assert_int_equal(p.rules[2].ns, 400000000ll);
	assert_string_equal(p.targets[p.rules[2].target].name, "venue");
}

/* ---- publish ----------------------------------------------------------------------- */

static void test_publish_chains(void **state)
{
	struct fl_ctl *ctl = calloc(1, sizeof(*ctl));
	struct fl_profile p;

	to_repo_root();
	assert_non_null(ctl);
	assert_int_equal(fl_profile_load("profiles/design-example.json", &p, err, sizeof(err)), 0);
	atomic_store(&ctl->hdr.gen, 4);
	ctl->hdr.rule_head[5][FL_OP_OPEN] = 9; /* stale: must be cleared */
	ctl->rules[100].fault = FL_FAULT_DELAY;
	fl_profile_publish(&p, ctl);
	assert_int_equal(atomic_load(&ctl->hdr.gen), 6);
	assert_int_equal(ctl->hdr.ntargets, 4);
	assert_int_equal(ctl->hdr.nrules, 7);
	assert_string_equal(ctl->targets[1].name, "custodian");
	assert_string_equal(ctl->targets[3].pattern, "/var/lib/wallet/ledger*");
	/* custodian recv: rules 1 then 4 */
	assert_int_equal(ctl->hdr.rule_head[1][FL_OP_RECV], 2);
	assert_int_equal(ctl->rules[1].next, 5);
	assert_int_equal(ctl->rules[4].next, 0);
	assert_int_equal(ctl->hdr.rule_head[1][FL_OP_CONNECT], 1);
	assert_int_equal(ctl->rules[0].next, 0);
	assert_int_equal(ctl->hdr.rule_head[3][FL_OP_FSYNC], 3);
	assert_int_equal(ctl->hdr.rule_head[3][FL_OP_READ], 4);
	assert_int_equal(ctl->hdr.rule_head[2][FL_OP_SEND], 0);
	assert_int_equal(ctl->hdr.rule_head[5][FL_OP_OPEN], 0);
	/* clock rules are in no chain */
	for (int t = 0; t < FL_MAX_TARGETS; t++)
		for (int op = 0; op < FL_OP__COUNT; op++) {
			unsigned h = ctl->hdr.rule_head[t][op];
			assert_true(h != 6 && h != 7);
		}
	assert_int_equal(ctl->rules[5].flags, FL_RF_CLOCK);
	assert_int_equal(atomic_load(&ctl->rules[0].intensity), FL_INTENSITY_ONE);
	assert_int_equal(ctl->rules[100].fault, 0);
	assert_true(ctl->rules[2].prob_thresh == p.rules[2].prob_thresh);
	/* republish from an odd (crashed writer) generation stays consistent */
	atomic_store(&ctl->hdr.gen, 7);
	fl_profile_publish(&p, ctl);
	assert_int_equal(atomic_load(&ctl->hdr.gen) % 2, 0);
	assert_true(atomic_load(&ctl->hdr.gen) > 7);
	assert_int_equal(ctl->rules[1].next, 5);
	free(ctl);
}

static void test_publish_many_chains(void **state)
{
	struct fl_ctl *ctl = calloc(1, sizeof(*ctl));
	struct fl_profile p;

	good(RULE("{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"reset\"}, "
		  "{\"target\": \"venue\", \"op\": \"send\", \"fault\": \"reset\"}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"stale\", \"window_ms\": [0, 1]}, "
		  "{\"clock\": \"realtime\", \"fault\": \"offset\", \"ms\": 1}, "
		  "{\"target\": \"venue\", \"op\": \"send\", \"fault\": \"delay\", \"ms\": 1}, "
		  "{\"target\": \"venue\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 1}"), &p);
	fl_profile_publish(&p, ctl);
	assert_int_equal(ctl->hdr.rule_head[2][FL_OP_RECV], 1);
	assert_int_equal(ctl->rules[0].next, 3);
	assert_int_equal(ctl->rules[2].next, 6);
	assert_int_equal(ctl->rules[5].next, 0);
	assert_int_equal(ctl->hdr.rule_head[2][FL_OP_SEND], 2);
	assert_int_equal(ctl->rules[1].next, 5);
	assert_int_equal(ctl->rules[4].next, 0);
	assert_int_equal(ctl->rules[3].next, 0);
	free(ctl);
}

/* ---- names --------------------------------------------------------------------------- */

static void test_names(void **state)
{
	int e;

	assert_string_equal(fl_op_name(FL_OP_CONNECT), "connect");
	assert_string_equal(fl_op_name(FL_OP_RESOLVE), "resolve");
	assert_string_equal(fl_op_name(FL_OP__COUNT), "?");
	assert_string_equal(fl_fault_name(FL_FAULT_LATE_ACK), "late_ack");
	assert_string_equal(fl_fault_name(-1), "?");
	assert_int_equal(fl_op_by_name("fsync"), FL_OP_FSYNC);
	assert_int_equal(fl_op_by_name("none"), -1);
	assert_int_equal(fl_op_by_name("FSYNC"), -1);
	assert_int_equal(fl_fault_by_name("jump"), FL_FAULT_JUMP);
	assert_int_equal(fl_fault_by_name(NULL), -1);
	assert_string_equal(fl_errno_name(EIO), "EIO");
	assert_string_equal(fl_errno_name(EAI_NONAME), "EAI_NONAME");
	assert_null(fl_errno_name(12345));
	assert_true(fl_errno_by_name("ECONNRESET", &e) && e == ECONNRESET);
	assert_false(fl_errno_by_name("EFOO", &e));
	assert_true(fl_errno_valid_for_op(FL_OP_FSYNC, EIO));
	assert_false(fl_errno_valid_for_op(FL_OP_FSYNC, ECONNRESET));
	assert_true(fl_errno_valid_for_op(FL_OP_RESOLVE, EAI_AGAIN));
	assert_false(fl_errno_valid_for_op(FL_OP_RESOLVE, EIO));
	assert_false(fl_errno_valid_for_op(0, EIO));
	/* no whitelist prefix confusion: EAI_FAIL must not match "EAI_FAILX" */
	assert_false(fl_errno_valid_for_op(FL_OP_READ, EINVAL));
	assert_string_equal(fl_clock_name(FL_CLK_BOOTTIME), "boottime");
	assert_int_equal(fl_clock_by_name("monotonic"), FL_CLK_MONOTONIC);
	assert_true(fl_fault_valid_for_op(FL_FAULT_SHORT, FL_OP_WRITE));
	assert_false(fl_fault_valid_for_op(FL_FAULT_SHORT, FL_OP_FSYNC));
	assert_false(fl_fault_valid_for_op(FL_FAULT_OFFSET, FL_OP_READ));
}

/* Every errno a whitelist names is in FL_ERRNOS (the tables agree). */
static void test_whitelists_resolve(void **state)
{
	for (int op = 1; op < FL_OP__COUNT; op++) {
		char list[512], *save = NULL;

		snprintf(list, sizeof(list), "%s", fl_op_errnos(op));
		for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
			int e;

			assert_true(fl_errno_by_name(w, &e));
			assert_true(fl_errno_valid_for_op(op, e));
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_syntax_error_line_col),
		cmocka_unit_test(test_not_object),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_top_level_keys),
		cmocka_unit_test(test_seed),
		cmocka_unit_test(test_cannot_read),
		cmocka_unit_test(test_load_file_bad_json),
		cmocka_unit_test(test_target_addresses),
		cmocka_unit_test(test_target_bad_addresses),
		cmocka_unit_test(test_target_bad_ports),
		cmocka_unit_test(test_target_shapes),
		cmocka_unit_test(test_too_many_targets),
		cmocka_unit_test(test_rule_unknown_key),
		cmocka_unit_test(test_unknown_target),
		cmocka_unit_test(test_unknown_op),
		cmocka_unit_test(test_op_for_target_kind),
		cmocka_unit_test(test_bpf_layer_rules),
		cmocka_unit_test(test_unknown_fault),
		cmocka_unit_test(test_fault_invalid_for_op),
		cmocka_unit_test(test_errno_invalid_for_op),
		cmocka_unit_test(test_missing_param),
		cmocka_unit_test(test_foreign_param),
		cmocka_unit_test(test_param_ranges),
		cmocka_unit_test(test_bad_nth),
		cmocka_unit_test(test_good_nth),
		cmocka_unit_test(test_bad_window),
		cmocka_unit_test(test_probability),
		cmocka_unit_test(test_jitter),
		cmocka_unit_test(test_errno_values),
		cmocka_unit_test(test_clock_backwards),
		cmocka_unit_test(test_clock_rules),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_scale_in_profile),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_budgets),
		cmocka_unit_test(test_too_many_rules),
		cmocka_unit_test(test_collects_every_error),
		cmocka_unit_test(test_small_error_buffer),
		cmocka_unit_test(test_design_example),
		cmocka_unit_test(test_bundled_files),
		cmocka_unit_test(test_custodian_timeout),
		cmocka_unit_test(test_publish_chains),
		cmocka_unit_test(test_publish_many_chains),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_whitelists_resolve),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
