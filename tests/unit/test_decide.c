/*
 * test_decide.c — the shim's decision function, matching and journal, on a
 * control block in ordinary memory (no preload).
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "faultline/prng.h"
#include "shim.h"

static struct fl_ctl *ctl;
static const int64_t NOW = 1000000000000ll;

static int setup(void **state)
{
	ctl = calloc(1, sizeof(*ctl));
	ctl->hdr.magic = FL_CTL_MAGIC;
	ctl->hdr.abi = FL_ABI_VERSION;
	ctl->hdr.size = sizeof(*ctl);
	ctl->hdr.state = FL_STATE_ACTIVE;
	ctl->hdr.heartbeat_ns = NOW;
	ctl->hdr.stale_ns = FL_STALE_NS_DEFAULT;
	ctl->hdr.epoch_mono_ns = NOW - 5000000000ll; /* run time 5 s */
	ctl->hdr.seed = 42;
	ctl->hdr.ntargets = 3;
	ctl->targets[1] = (struct fl_target){.kind = FL_TK_TCP, .family = AF_INET, .port = 9201};
	inet_pton(AF_INET, "127.0.0.1", ctl->targets[1].addr);
	strcpy(ctl->targets[1].name, "custodian");
	ctl->targets[2] = (struct fl_target){.kind = FL_TK_PATH};
	strcpy(ctl->targets[2].pattern, "/var/lib/wallet/ledger*");
	for (unsigned i = 0; i < FL_JOURNAL_SLOTS; i++)
		ctl->journal.slot[i].seq = i;
	return 0;
}

static int teardown(void **state)
{
	free(ctl);
	return 0;
}

/* Append rule r for (target, op) and chain it like the publisher does. */
static void add_rule(struct fl_rule r)
{
	unsigned id = ctl->hdr.nrules++;
	r.intensity = FL_INTENSITY_ONE;
	ctl->rules[id] = r;
	uint16_t *link = &ctl->hdr.rule_head[r.target][r.op];
	while (*link)
		link = &ctl->rules[*link - 1].next;
	*link = (uint16_t)(id + 1);
}

static void test_nth_exact(void **state)
{
	struct fl_verdict v;
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_CONNECT, .fault = FL_FAULT_TIMEOUT,
				  .flags = FL_RF_NTH, .nth_lo = 3, .nth_hi = 3, .ns = 2000000000});
	for (int i = 1; i <= 5; i++) {
		bool hit = fl__decide_at(ctl, 1, FL_OP_CONNECT, NOW, &v);
		assert_int_equal(v.nth, i);
		assert_int_equal(hit, i == 3);
	}
	assert_int_equal(v.fault, FL_FAULT_NONE);
	assert_int_equal(ctl->hits[0], 1);
}

static void test_nth_range_and_open(void **state)
{
	struct fl_verdict v;
	int hits = 0;
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_ERROR,
				  .err = ECONNRESET, .flags = FL_RF_NTH, .nth_lo = 3,
				  .nth_hi = UINT64_MAX});
	for (int i = 1; i <= 10; i++)
		hits += fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v);
	assert_int_equal(hits, 8);
	assert_int_equal(v.err, ECONNRESET);
}

static void test_window(void **state)
{
	struct fl_verdict v;
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_DELAY,
				  .flags = FL_RF_WINDOW, .win_from_ns = 4000000000ll,
				  .win_to_ns = 6000000000ll, .ns = 400000000});
	assert_true(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v));              /* 5 s */
	assert_int_equal(v.ns, 400000000);
	assert_false(fl__decide_at(ctl, 1, FL_OP_RECV, NOW + 1000000000ll, &v)); /* 6 s: open end */
	assert_false(fl__decide_at(ctl, 1, FL_OP_RECV, NOW - 1000000001ll, &v)); /* < 4 s */
}

static void test_probability_deterministic(void **state)
{
	struct fl_verdict v;
	int hits = 0;
	add_rule((struct fl_rule){.target = 2, .op = FL_OP_FSYNC, .fault = FL_FAULT_ERROR,
				  .err = EIO, .flags = FL_RF_PROB,
				  .prob_thresh = (uint64_t)(0.2 * 18446744073709551616.0)});
	for (uint64_t n = 1; n <= 10000; n++) {
		bool hit = fl__decide_at(ctl, 2, FL_OP_FSYNC, NOW, &v);
		/* the verdict is a pure function of (seed, rule, nth) */
		assert_int_equal(hit, fl_prng(42, FL_STREAM(0, FL_STREAM_PROB), n) <
					      ctl->rules[0].prob_thresh);
		hits += hit;
	}
	assert_in_range(hits, 1800, 2200);
}

static void test_first_matching_rule_wins(void **state)
{
	struct fl_verdict v;
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_SEND, .fault = FL_FAULT_ERROR,
				  .err = EPIPE, .flags = FL_RF_NTH, .nth_lo = 2, .nth_hi = 2});
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_SEND, .fault = FL_FAULT_DELAY,
				  .ns = 1000});
	assert_true(fl__decide_at(ctl, 1, FL_OP_SEND, NOW, &v));
	assert_int_equal(v.fault, FL_FAULT_DELAY);
	assert_int_equal(v.rule, 1);
	assert_true(fl__decide_at(ctl, 1, FL_OP_SEND, NOW, &v));
	assert_int_equal(v.fault, FL_FAULT_ERROR);
	assert_int_equal(v.rule, 0);
}

static void test_dead_controller_passes(void **state)
{
	struct fl_verdict v;
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_ERROR, .err = ECONNRESET});
	assert_true(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v));
	/* heartbeat older than stale_ns: fail open, but still count */
	assert_false(fl__decide_at(ctl, 1, FL_OP_RECV, NOW + FL_STALE_NS_DEFAULT + 1, &v));
	assert_int_equal(v.nth, 2);
	ctl->hdr.state = FL_STATE_ABORTED;
	assert_false(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v));
}

static void test_intensity_scales_delay(void **state)
{
	struct fl_verdict v;
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_DELAY,
				  .flags = FL_RF_SCALED, .ns = 800000000});
	ctl->rules[0].intensity = FL_INTENSITY_ONE / 4;
	assert_true(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v));
	assert_int_equal(v.ns, 200000000);
	ctl->rules[0].intensity = 0;
	assert_false(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v));
}

static void test_jitter_bounded_and_repeatable(void **state)
{
	struct fl_verdict v;
	int64_t first[50];
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_DELAY,
				  .ns = 800000000, .jitter_ns = 50000000});
	for (int i = 0; i < 50; i++) {
		assert_true(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v));
		assert_in_range(v.ns, 750000000, 850000000);
		first[i] = v.ns;
	}
	ctl->counters[1][FL_OP_RECV] = 0;
	for (int i = 0; i < 50; i++) {
		fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v);
		assert_int_equal(v.ns, first[i]);
	}
}

static void test_match_sockaddr(void **state)
{
	struct sockaddr_in in = {.sin_family = AF_INET, .sin_port = htons(9201)};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(9201)};

	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	assert_int_equal(fl__match_sockaddr(ctl, (void *)&in, sizeof(in), SOCK_STREAM, false), 1);
	assert_int_equal(fl__match_sockaddr(ctl, (void *)&in, sizeof(in), SOCK_DGRAM, false), 0);
	in.sin_port = htons(9202);
	assert_int_equal(fl__match_sockaddr(ctl, (void *)&in, sizeof(in), SOCK_STREAM, false), 0);
	/* IPv4-mapped IPv6 peer of a dual-stack socket */
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &in6.sin6_addr);
	assert_int_equal(fl__match_sockaddr(ctl, (void *)&in6, sizeof(in6), SOCK_STREAM, false), 1);
	/* a listener on the wildcard address serves the target */
	in.sin_port = htons(9201);
	in.sin_addr.s_addr = htonl(INADDR_ANY);
	assert_int_equal(fl__match_sockaddr(ctl, (void *)&in, sizeof(in), SOCK_STREAM, false), 0);
	assert_int_equal(fl__match_sockaddr(ctl, (void *)&in, sizeof(in), SOCK_STREAM, true), 1);
	/* any-port and any-host targets */
	ctl->targets[1].flags = FL_TF_ANY_PORT;
	inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
	in.sin_port = htons(1);
	assert_int_equal(fl__match_sockaddr(ctl, (void *)&in, sizeof(in), SOCK_STREAM, false), 1);
}

static void test_match_unix_and_path(void **state)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	ctl->targets[1] = (struct fl_target){.kind = FL_TK_UNIX};
	strcpy(ctl->targets[1].pattern, "/run/custodian*.sock");
	strcpy(un.sun_path, "/run/custodian-1.sock");
	assert_int_equal(fl__match_sockaddr(ctl, (void *)&un, sizeof(un), SOCK_STREAM, false), 1);
	assert_int_equal(fl__match_path(ctl, "/var/lib/wallet/ledger.db"), 2);
	assert_int_equal(fl__match_path(ctl, "/var/lib/wallet/ledger.db-wal"), 2);
	assert_int_equal(fl__match_path(ctl, "/var/lib/wallet/other"), 0);
}

static void test_glob(void **state)
{
	assert_true(fl__glob("*", ""));
	assert_true(fl__glob("a*c", "abbbc"));
	assert_false(fl__glob("a*c", "abbbd"));
	assert_true(fl__glob("/x/*/z", "/x/y/w/z")); /* '*' crosses '/' */
	assert_true(fl__glob("f?o", "foo"));
	assert_true(fl__glob("[a-c]x", "bx"));
	assert_false(fl__glob("[!a-c]x", "bx"));
	assert_true(fl__glob("[]]", "]"));
	assert_true(fl__glob("a[", "a[")); /* unterminated class is literal */
	assert_true(fl__glob("*.example.com", "api.example.com"));
	assert_false(fl__glob("*.example.com", "example.org"));
}

static void test_journal_full_drops(void **state)
{
	struct fl_jrec r = {.kind = FL_J_FAULT, .nth = 7};
	for (unsigned i = 0; i < FL_JOURNAL_SLOTS; i++)
		assert_true(fl__journal_push(ctl, &r));
	assert_false(fl__journal_push(ctl, &r));
	assert_int_equal(ctl->journal.dropped, 1);
	assert_int_equal(ctl->journal.slot[5].seq, 6); /* committed */
	assert_int_equal(ctl->journal.slot[5].nth, 7);
}

static int64_t now_fn(void)
{
	return NOW;
}

/* A non-blocking receive made before it is counted: fl__may_fire agrees
 * with fl__decide_at call by call, and counting after the call gives the
 * same nth as counting before it. */
static void test_may_fire_and_count_made(void **state)
{
	struct fl_verdict v;
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_ERROR,
				  .err = ECONNRESET, .flags = FL_RF_NTH, .nth_lo = 3,
				  .nth_hi = 3});
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_DELAY,
				  .ns = 1000, .flags = FL_RF_PROB,
				  .prob_thresh = (uint64_t)(0.3 * 18446744073709551616.0)});
	for (uint64_t n = 1; n <= 200; n++) {
		uint64_t seen = ctl->counters[1][FL_OP_RECV];
		bool may = fl__may_fire(ctl, 1, FL_OP_RECV, seen + 1, now_fn);
		assert_int_equal(ctl->counters[1][FL_OP_RECV], seen); /* nothing counted */
		if (may) {
			assert_true(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v));
			assert_int_equal(v.nth, n);
		} else {
			assert_int_equal(fl__count_made(ctl, 1, FL_OP_RECV, seen, now_fn), n);
			/* what deciding that number would have said */
			ctl->counters[1][FL_OP_RECV] = seen;
			assert_false(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v));
		}
	}
	assert_true(fl__may_fire(ctl, 1, FL_OP_RECV, 3, now_fn));
	assert_false(fl__may_fire(ctl, 2, FL_OP_RECV, 3, now_fn)); /* no rule there */
	assert_false(fl__may_fire(ctl, FL_MAX_TARGETS, FL_OP_RECV, 3, now_fn));
}

/* Another call took the number meanwhile: the next free number is counted
 * unless it would fire; then the call is left uncounted and that number
 * goes to the next call, which is decided before it is made. */
static void test_count_made_race(void **state)
{
	struct fl_verdict v;
	add_rule((struct fl_rule){.target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_ERROR,
				  .err = ECONNRESET, .flags = FL_RF_NTH, .nth_lo = 5,
				  .nth_hi = 5});
	ctl->counters[1][FL_OP_RECV] = 2; /* we saw 1, another call made it 2 */
	assert_int_equal(fl__count_made(ctl, 1, FL_OP_RECV, 1, now_fn), 3);
	assert_int_equal(ctl->counters[1][FL_OP_RECV], 3);
	ctl->counters[1][FL_OP_RECV] = 4; /* we saw 3; 5 would fire */
	assert_int_equal(fl__count_made(ctl, 1, FL_OP_RECV, 3, now_fn), 0);
	assert_int_equal(ctl->counters[1][FL_OP_RECV], 4);
	assert_true(fl__decide_at(ctl, 1, FL_OP_RECV, NOW, &v)); /* the next call gets it */
	assert_int_equal(v.nth, 5);
	assert_int_equal(fl__count_made(ctl, FL_MAX_TARGETS, FL_OP_RECV, 0, now_fn), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_nth_exact), T(test_nth_range_and_open), T(test_window),
		T(test_probability_deterministic), T(test_first_matching_rule_wins),
		T(test_dead_controller_passes), T(test_intensity_scales_delay),
		T(test_jitter_bounded_and_repeatable), T(test_match_sockaddr),
		T(test_match_unix_and_path), T(test_glob), T(test_journal_full_drops),
		T(test_may_fire_and_count_made), T(test_count_made_race),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
