/*
 * test_pure_check.c — the shim's judgement of a plan (shim/pure_check.c):
 * a valid plan is accepted, and each broken field is refused with its
 * reason; the decision-time re-check (fl__rule_act_check, through
 * fl__decide_at) refuses a rule republished after attach.
 *
 * Every case starts from the same valid plan (every kind of target, every
 * kind of rule) and breaks exactly one thing, so a refusal can only come
 * from the check that case is about.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "shim.h"

#define EUID 1234u
static struct fl_ctl *ctl;
static const int64_t NOW = 1000000000000ll;

static unsigned add_rule(struct fl_rule r)
{
	unsigned id = ctl->hdr.nrules++;

	r.intensity = FL_INTENSITY_ONE;
	ctl->rules[id] = r;
	if (r.flags & FL_RF_CLOCK)
		return id;
	uint16_t *link = &ctl->hdr.rule_head[r.target][r.op];
	while (*link)
		link = &ctl->rules[*link - 1].next;
	*link = (uint16_t)(id + 1);
	return id;
}

/* Rule ids of the valid plan, for the cases to break. */
enum { R_ERROR, R_SHORT, R_DELAY, R_HOLD, R_GATED, R_CLOCK, R_RESOLVE, R_STALE, R__N };

static int setup(void **state)
{
	struct fl_hdr *h;

	ctl = calloc(1, sizeof(*ctl));
	h = &ctl->hdr;
	h->magic = FL_CTL_MAGIC;
	h->abi = FL_ABI_VERSION;
	h->size = sizeof(*ctl);
	h->owner_uid = EUID;
	h->state = FL_STATE_ACTIVE;
	h->heartbeat_ns = NOW;
	h->stale_ns = FL_STALE_NS_DEFAULT;
	h->epoch_mono_ns = NOW - 5000000000ll;
	h->ntargets = 6;
	strcpy(h->snapdir, "/run/faultline/snap");
	ctl->targets[1] = (struct fl_target){ .kind = FL_TK_TCP, .family = AF_INET, .port = 80 };
	inet_pton(AF_INET, "127.0.0.1", ctl->targets[1].addr);
	strcpy(ctl->targets[1].name, "web");
	ctl->targets[2] = (struct fl_target){ .kind = FL_TK_UDP, .flags = FL_TF_ANY_HOST, .port = 53 };
	ctl->targets[3] = (struct fl_target){ .kind = FL_TK_UNIX };
	strcpy(ctl->targets[3].pattern, "/run/*.sock");
	ctl->targets[4] = (struct fl_target){ .kind = FL_TK_PATH };
	strcpy(ctl->targets[4].pattern, "/var/lib/db/*");
	ctl->targets[5] = (struct fl_target){ .kind = FL_TK_HOST };
	strcpy(ctl->targets[5].pattern, "*.example");
	add_rule((struct fl_rule){ .target = 1, .op = FL_OP_CONNECT, .fault = FL_FAULT_ERROR,
				   .err = ECONNREFUSED, .flags = FL_RF_NTH, .nth_lo = 1,
				   .nth_hi = UINT64_MAX });
	add_rule((struct fl_rule){ .target = 1, .op = FL_OP_SEND, .fault = FL_FAULT_SHORT,
				   .bytes = 1 });
	add_rule((struct fl_rule){ .target = 1, .op = FL_OP_RECV, .fault = FL_FAULT_DELAY,
				   .ns = 20000000, .jitter_ns = 5000000, .flags = FL_RF_WINDOW,
				   .win_from_ns = 0, .win_to_ns = 60000000000ll });
	add_rule((struct fl_rule){ .target = 4, .op = FL_OP_WRITE, .fault = FL_FAULT_HOLD,
				   .ns = 1000000000, .flags = FL_RF_UNTIL, .until_target = 4,
				   .until_op = FL_OP_FSYNC, .until_nth = 1,
				   .until_max_ns = 1000000000 });
	add_rule((struct fl_rule){ .target = 3, .op = FL_OP_CONNECT, .fault = FL_FAULT_TIMEOUT,
				   .ns = 500000000, .flags = FL_RF_UNTIL, .until_target = 3,
				   .until_op = FL_OP_ACCEPT, .until_nth = 2, .until_max_ns = 0 });
	add_rule((struct fl_rule){ .flags = FL_RF_CLOCK, .clock = FL_CLK_REALTIME,
				   .fault = FL_FAULT_OFFSET, .ns = 3600000000000ll });
	add_rule((struct fl_rule){ .target = 5, .op = FL_OP_RESOLVE, .fault = FL_FAULT_ERROR,
				   .err = EAI_AGAIN });
	add_rule((struct fl_rule){ .target = 4, .op = FL_OP_READ, .fault = FL_FAULT_STALE,
				   .flags = FL_RF_WINDOW, .win_from_ns = 1000000000,
				   .win_to_ns = 2000000000 });
	for (unsigned i = 0; i < FL_JOURNAL_SLOTS; i++)
		ctl->journal.slot[i].seq = i;
	return 0;
}

static int teardown(void **state)
{
	free(ctl);
	return 0;
}

static int check(void)
{
	return fl__plan_check(ctl, EUID);
}

static void test_valid_plan_accepted(void **state)
{
	assert_int_equal(ctl->hdr.nrules, R__N);
	assert_int_equal(check(), 0);
	/* the edges of every bound are still accepted */
	ctl->hdr.stale_ns = FL_HEARTBEAT_NS;
	assert_int_equal(check(), 0);
	ctl->hdr.stale_ns = FL_STALE_NS_MAX;
	assert_int_equal(check(), 0);
	ctl->hdr.ntargets = FL_MAX_TARGETS;
	for (unsigned t = 6; t < FL_MAX_TARGETS; t++)
		ctl->targets[t] = ctl->targets[5];
	assert_int_equal(check(), 0);
	ctl->hdr.snapdir[0] = '\0';
	assert_int_equal(check(), 0);
	ctl->rules[R_SHORT].bytes = 1ll << 30;
	ctl->rules[R_DELAY].jitter_ns = ctl->rules[R_DELAY].ns;
	assert_int_equal(check(), 0);
	ctl->rules[R_DELAY].ns = ctl->rules[R_DELAY].jitter_ns = 86400000ll * 1000000ll;
	assert_int_equal(check(), 0);
}

/* ---- header ---------------------------------------------------------------- */

static void test_header(void **state)
{
	struct fl_hdr *h = &ctl->hdr;
	struct { uint64_t *p64; uint32_t *p32; uint64_t bad; } cases[] = {
		{ &h->magic, NULL, 0 },
		{ &h->magic, NULL, FL_CTL_MAGIC + 1 },
		{ NULL, &h->abi, FL_ABI_VERSION - 1 },
		{ NULL, &h->abi, FL_ABI_VERSION + 1 },
		{ NULL, &h->size, sizeof(struct fl_ctl) - 4096 },
		{ NULL, &h->size, sizeof(struct fl_ctl) + 4096 },
		{ NULL, &h->owner_uid, EUID + 1 },
		{ NULL, &h->owner_uid, 0 },
		{ NULL, &h->ntargets, 0 },
		{ NULL, &h->ntargets, FL_MAX_TARGETS + 1 },
		{ NULL, &h->ntargets, UINT32_MAX },
		{ NULL, &h->nrules, FL_MAX_RULES + 1 },
		{ NULL, &h->nrules, UINT32_MAX },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint64_t o64 = cases[i].p64 ? *cases[i].p64 : 0;
		uint32_t o32 = cases[i].p32 ? *cases[i].p32 : 0;
		if (cases[i].p64)
			*cases[i].p64 = cases[i].bad;
		else
			*cases[i].p32 = (uint32_t)cases[i].bad;
		print_message("header case %zu\n", i);
		assert_int_equal(check(), FL_REFUSE_HEADER);
		if (cases[i].p64)
			*cases[i].p64 = o64;
		else
			*cases[i].p32 = o32;
		assert_int_equal(check(), 0);
	}
}

static void test_stale_ns(void **state)
{
	int64_t bad[] = { 0, -1, FL_HEARTBEAT_NS - 1, FL_STALE_NS_MAX + 1,
			  1000000000000000000ll, INT64_MIN, INT64_MAX };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ctl->hdr.stale_ns = bad[i];
		assert_int_equal(check(), FL_REFUSE_STALE_NS);
	}
}

static void test_snapdir(void **state)
{
	memset(ctl->hdr.snapdir, 'a', sizeof(ctl->hdr.snapdir));
	ctl->hdr.snapdir[0] = '/';
	assert_int_equal(check(), FL_REFUSE_STRING); /* unterminated */
	strcpy(ctl->hdr.snapdir, "relative/snap");
	assert_int_equal(check(), FL_REFUSE_STRING);
}

static void test_rule_head(void **state)
{
	ctl->hdr.rule_head[FL_MAX_TARGETS - 1][FL_OP__COUNT - 1] = (uint16_t)(R__N + 1);
	assert_int_equal(check(), FL_REFUSE_RULE);
	ctl->hdr.rule_head[FL_MAX_TARGETS - 1][FL_OP__COUNT - 1] = R__N; /* last rule: fine */
	assert_int_equal(check(), 0);
	ctl->hdr.rule_head[0][0] = UINT16_MAX;
	assert_int_equal(check(), FL_REFUSE_RULE);
}

/* ---- targets ------------------------------------------------------------------ */

static void test_targets(void **state)
{
	struct fl_target keep = ctl->targets[1];

	memset(ctl->targets[1].name, 'n', sizeof(ctl->targets[1].name));
	assert_int_equal(check(), FL_REFUSE_TARGET);
	ctl->targets[1] = keep;
	memset(ctl->targets[1].pattern, 'p', sizeof(ctl->targets[1].pattern));
	assert_int_equal(check(), FL_REFUSE_TARGET);
	ctl->targets[1] = keep;
	ctl->targets[1].kind = FL_TK_NONE;
	assert_int_equal(check(), FL_REFUSE_TARGET);
	ctl->targets[1].kind = FL_TK_HOST + 1;
	assert_int_equal(check(), FL_REFUSE_TARGET);
	ctl->targets[1] = keep;
	ctl->targets[1].family = AF_UNIX; /* tcp with a host needs inet */
	assert_int_equal(check(), FL_REFUSE_TARGET);
	ctl->targets[1].flags = FL_TF_ANY_HOST; /* no host: no family needed */
	assert_int_equal(check(), 0);
	/* only targets below ntargets are judged */
	ctl->targets[FL_MAX_TARGETS - 1].kind = 200;
	assert_int_equal(check(), 0);
	ctl->hdr.ntargets = FL_MAX_TARGETS;
	for (unsigned t = 6; t < FL_MAX_TARGETS - 1; t++)
		ctl->targets[t] = ctl->targets[5];
	assert_int_equal(check(), FL_REFUSE_TARGET);
}

/* ---- rules ------------------------------------------------------------------- */

static void test_rule_structure(void **state)
{
	struct fl_rule keep;

#define BREAK(ri, stmt, why)                                              \
	do {                                                              \
		keep = ctl->rules[ri];                                    \
		stmt;                                                     \
		print_message("%s\n", #stmt);                             \
		assert_int_equal(check(), why);                                   \
		ctl->rules[ri] = keep;                                    \
		assert_int_equal(check(), 0);                             \
	} while (0)
	BREAK(R_ERROR, ctl->rules[R_ERROR].target = 0, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].target = 6, FL_REFUSE_RULE); /* >= ntargets */
	BREAK(R_ERROR, ctl->rules[R_ERROR].op = 0, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].op = FL_OP__COUNT, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].op = 250, FL_REFUSE_RULE);
	/* past the width of the fault's op mask: x86 would shift by op & 31 */
	BREAK(R_ERROR, ctl->rules[R_ERROR].op = 32 + FL_OP_CONNECT, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].fault = 0, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].fault = FL_FAULT__COUNT, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].fault = 250, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].fault = FL_FAULT_STALE, FL_REFUSE_RULE); /* not on connect */
	BREAK(R_ERROR, ctl->rules[R_ERROR].fault = FL_FAULT_OFFSET, FL_REFUSE_RULE); /* clock fault on an op */
	BREAK(R_ERROR, ctl->rules[R_ERROR].next = R__N + 1, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].next = UINT16_MAX, FL_REFUSE_RULE);
	BREAK(R_ERROR, ctl->rules[R_ERROR].nth_lo = 5; ctl->rules[R_ERROR].nth_hi = 4,
	      FL_REFUSE_RULE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].win_from_ns = 2; ctl->rules[R_DELAY].win_to_ns = 1,
	      FL_REFUSE_RULE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].win_from_ns = INT64_MIN, FL_REFUSE_RULE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].win_to_ns = INT64_MAX, FL_REFUSE_RULE);
	BREAK(R_HOLD, ctl->rules[R_HOLD].until_target = 0, FL_REFUSE_RULE);
	BREAK(R_HOLD, ctl->rules[R_HOLD].until_target = 6, FL_REFUSE_RULE);
	BREAK(R_HOLD, ctl->rules[R_HOLD].until_op = 0, FL_REFUSE_RULE);
	BREAK(R_HOLD, ctl->rules[R_HOLD].until_op = FL_OP__COUNT, FL_REFUSE_RULE);
	BREAK(R_GATED, ctl->rules[R_GATED].until_max_ns = -1, FL_REFUSE_RULE);
	BREAK(R_GATED, ctl->rules[R_GATED].until_max_ns = INT64_MAX, FL_REFUSE_RULE);
	BREAK(R_CLOCK, ctl->rules[R_CLOCK].clock = FL_CLK__COUNT, FL_REFUSE_RULE);
	BREAK(R_CLOCK, ctl->rules[R_CLOCK].fault = FL_FAULT_DELAY, FL_REFUSE_RULE);
	BREAK(R_CLOCK, ctl->rules[R_CLOCK].win_from_ns = 1;
	      ctl->rules[R_CLOCK].win_to_ns = 0; ctl->rules[R_CLOCK].flags |= FL_RF_WINDOW,
	      FL_REFUSE_RULE);
	/* only rules below nrules are judged */
	ctl->rules[R__N].fault = 250;
	assert_int_equal(check(), 0);
	ctl->hdr.nrules = R__N + 1;
	assert_int_equal(check(), FL_REFUSE_RULE);
}

static void test_rule_sizes(void **state)
{
	struct fl_rule keep;

	BREAK(R_SHORT, ctl->rules[R_SHORT].bytes = 0, FL_REFUSE_SIZE);
	BREAK(R_SHORT, ctl->rules[R_SHORT].bytes = -1, FL_REFUSE_SIZE);
	BREAK(R_SHORT, ctl->rules[R_SHORT].bytes = (1ll << 30) + 1, FL_REFUSE_SIZE);
	BREAK(R_SHORT, ctl->rules[R_SHORT].bytes = INT64_MIN, FL_REFUSE_SIZE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].ns = -1, FL_REFUSE_SIZE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].ns = INT64_MIN, FL_REFUSE_SIZE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].ns = 86400000ll * 1000000ll + 1, FL_REFUSE_SIZE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].ns = INT64_MAX, FL_REFUSE_SIZE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].jitter_ns = -1, FL_REFUSE_SIZE);
	BREAK(R_DELAY, ctl->rules[R_DELAY].jitter_ns = ctl->rules[R_DELAY].ns + 1,
	      FL_REFUSE_SIZE);
	BREAK(R_HOLD, ctl->rules[R_HOLD].ns = -5, FL_REFUSE_SIZE);
}

static void test_rule_errnos(void **state)
{
	struct fl_rule keep;

	BREAK(R_ERROR, ctl->rules[R_ERROR].err = 0, FL_REFUSE_ERRNO);
	BREAK(R_ERROR, ctl->rules[R_ERROR].err = 1000000, FL_REFUSE_ERRNO);
	BREAK(R_ERROR, ctl->rules[R_ERROR].err = -5, FL_REFUSE_ERRNO);
	BREAK(R_ERROR, ctl->rules[R_ERROR].err = EIO, FL_REFUSE_ERRNO); /* not connect's */
	BREAK(R_ERROR, ctl->rules[R_ERROR].err = EAI_AGAIN, FL_REFUSE_ERRNO);
	BREAK(R_RESOLVE, ctl->rules[R_RESOLVE].err = ECONNREFUSED, FL_REFUSE_ERRNO);
	BREAK(R_RESOLVE, ctl->rules[R_RESOLVE].err = 0, FL_REFUSE_ERRNO);
	/* a fault that is not an error may carry no errno, or a whitelisted one */
	BREAK(R_DELAY, ctl->rules[R_DELAY].err = 1000000, FL_REFUSE_ERRNO);
	BREAK(R_DELAY, ctl->rules[R_DELAY].err = EIO, FL_REFUSE_ERRNO);
	ctl->rules[R_DELAY].err = ETIMEDOUT;
	assert_int_equal(check(), 0);
#undef BREAK
}

static void test_errno_ok(void **state)
{
	assert_true(fl__errno_ok(FL_OP_CONNECT, ECONNREFUSED));
	assert_true(fl__errno_ok(FL_OP_CONNECT, ENOENT)); /* last of its list */
	assert_true(fl__errno_ok(FL_OP_FSYNC, EIO));
	assert_true(fl__errno_ok(FL_OP_RESOLVE, EAI_NONAME));
	assert_false(fl__errno_ok(FL_OP_FSYNC, ECONNREFUSED));
	assert_false(fl__errno_ok(FL_OP_PACKET, EIO)); /* an empty list */
	assert_false(fl__errno_ok(FL_OP_NONE, EIO));
	assert_false(fl__errno_ok(FL_OP__COUNT, EIO));
	assert_false(fl__errno_ok(FL_OP_CONNECT, 0));
	assert_false(fl__errno_ok(FL_OP_CONNECT, -1));
}

/* ---- decision time --------------------------------------------------------------- */

/* After attach the controller may republish rules: what fires is checked
 * again before it is carried out, and no fault comes of a bad one. */
static void test_decide_rechecks(void **state)
{
	struct fl_verdict v;

	assert_int_equal(check(), 0);
	assert_true(fl__decide_at(ctl, 1, FL_OP_CONNECT, NOW, &v));
	assert_int_equal(v.err, ECONNREFUSED);
	assert_int_equal(v.refused, 0);
	uint64_t hits = ctl->hits[R_ERROR];

	int bad_errs[] = { 0, 1000000, -5, EIO };
	for (size_t i = 0; i < sizeof(bad_errs) / sizeof(bad_errs[0]); i++) {
		ctl->rules[R_ERROR].err = bad_errs[i];
		assert_false(fl__decide_at(ctl, 1, FL_OP_CONNECT, NOW, &v));
		assert_int_equal(v.fault, FL_FAULT_NONE);
		assert_int_equal(v.refused, FL_REFUSE_ERRNO);
		assert_int_equal(v.rule, R_ERROR);
		assert_int_equal(ctl->hits[R_ERROR], hits); /* not counted as a fault */
	}
	ctl->rules[R_ERROR].err = ECONNREFUSED;
	assert_true(fl__decide_at(ctl, 1, FL_OP_CONNECT, NOW, &v));
	assert_int_equal(v.refused, 0);

	assert_true(fl__decide_at(ctl, 1, FL_OP_SEND, NOW, &v));
	assert_int_equal(v.bytes, 1);
	ctl->rules[R_SHORT].bytes = 0;
	assert_false(fl__decide_at(ctl, 1, FL_OP_SEND, NOW, &v));
	assert_int_equal(v.refused, FL_REFUSE_SIZE);
	ctl->rules[R_SHORT].bytes = -7;
	assert_false(fl__decide_at(ctl, 1, FL_OP_SEND, NOW, &v));
	assert_int_equal(v.refused, FL_REFUSE_SIZE);

	/* a rule relinked into a chain whose op it cannot act on */
	ctl->rules[R_STALE].target = 1;
	ctl->rules[R_STALE].flags = 0;
	ctl->hdr.rule_head[1][FL_OP_CONNECT] = R_STALE + 1;
	assert_false(fl__decide_at(ctl, 1, FL_OP_CONNECT, NOW, &v));
	assert_int_equal(v.refused, FL_REFUSE_RULE);

	/* a dead block refuses nothing: it is simply not live */
	ctl->hdr.heartbeat_ns = NOW - FL_STALE_NS_MAX - 1;
	assert_false(fl__decide_at(ctl, 1, FL_OP_SEND, NOW, &v));
	assert_int_equal(v.refused, 0);
}

static void test_rule_act_check(void **state)
{
	struct fl_rule r = { .fault = FL_FAULT_SHORT, .bytes = 10 };

	assert_int_equal(fl__rule_act_check(&r, FL_OP_RECV), 0);
	assert_int_equal(fl__rule_act_check(&r, FL_OP_CONNECT), FL_REFUSE_RULE);
	assert_int_equal(fl__rule_act_check(&r, 0), FL_REFUSE_RULE);
	assert_int_equal(fl__rule_act_check(&r, FL_OP__COUNT), FL_REFUSE_RULE);
	r.bytes = 0;
	assert_int_equal(fl__rule_act_check(&r, FL_OP_RECV), FL_REFUSE_SIZE);
	r = (struct fl_rule){ .fault = FL_FAULT_ERROR, .err = EIO };
	assert_int_equal(fl__rule_act_check(&r, FL_OP_READ), 0);
	assert_int_equal(fl__rule_act_check(&r, FL_OP_CONNECT), FL_REFUSE_ERRNO);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid_plan_accepted), T(test_header),        T(test_stale_ns),
		T(test_snapdir),             T(test_rule_head),     T(test_targets),
		T(test_rule_structure),      T(test_rule_sizes),    T(test_rule_errnos),
		T(test_errno_ok),            T(test_decide_rechecks), T(test_rule_act_check),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
