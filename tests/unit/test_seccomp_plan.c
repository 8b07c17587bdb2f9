/*
 * test_seccomp_plan.c — what the seccomp supervisor accepts and what its
 * filter notifies (controller/seccomp.c): every refusal of
 * fl_sc_check_rules names its rule and reason; a hold's gate op is added
 * to the filter; the time namespace carries the sum of the monotonic and
 * boottime offsets; read(2) shared by recv and read is notified once;
 * fl_sc_ops_all covers every op that has system calls.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "seccomp_sup.h"

static struct fl_ctl *ctl_new(void)
{
	struct fl_ctl *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->hdr.ntargets = 2;
	return c;
}

static struct fl_rule *add(struct fl_ctl *c, unsigned op, unsigned fault)
{
	struct fl_rule *r = &c->rules[c->hdr.nrules++];
	memset(r, 0, sizeof(*r));
	r->target = 1;
	r->op = (uint8_t)op;
	r->fault = (uint8_t)fault;
	return r;
}

static struct fl_rule *add_clock(struct fl_ctl *c, unsigned clk, unsigned fault, int64_t ns)
{
	struct fl_rule *r = &c->rules[c->hdr.nrules++];
	memset(r, 0, sizeof(*r));
	r->flags = FL_RF_CLOCK;
	r->clock = (uint8_t)clk;
	r->fault = (uint8_t)fault;
	r->ns = ns;
	return r;
}

static void refused(struct fl_ctl *c, const char *expect)
{
	char err[512] = "";
	assert_int_equal(fl_sc_check_rules(c, err, sizeof(err)), -EINVAL);
	if (!strstr(err, expect))
		fail_msg("message '%s' lacks '%s'", err, expect);
	assert_non_null(strstr(err, "rules["));
}

static void test_refusals(void **st)
{
	struct fl_ctl *c = ctl_new();
	char err[512];
	struct fl_rule *r;

	add(c, FL_OP_CONNECT, FL_FAULT_ERROR);
	add(c, FL_OP_RECV, FL_FAULT_DELAY);
	add(c, FL_OP_FSYNC, FL_FAULT_LATE_ACK);
	r = add(c, FL_OP_RECV, FL_FAULT_HOLD);
	r->flags |= FL_RF_UNTIL;
	r->until_target = 1;
	r->until_op = FL_OP_SEND;
	add_clock(c, FL_CLK_BOOTTIME, FL_FAULT_OFFSET, 1000);
	assert_int_equal(fl_sc_check_rules(c, err, sizeof(err)), 0);

	c->hdr.nrules = 0;
	add_clock(c, FL_CLK_REALTIME, FL_FAULT_OFFSET, 1000);
	refused(c, "vDSO");
	c->hdr.nrules = 0;
	add_clock(c, FL_CLK_MONOTONIC, FL_FAULT_DRIFT, 0);
	refused(c, "constant \"offset\"");
	c->hdr.nrules = 0;
	add_clock(c, FL_CLK_MONOTONIC, FL_FAULT_OFFSET, 1000)->flags |= FL_RF_WINDOW;
	refused(c, "constant \"offset\"");
	c->hdr.nrules = 0;
	add(c, FL_OP_CLOSE, FL_FAULT_HOLD);
	refused(c, "a hold on close");
	c->hdr.nrules = 0;
	add(c, FL_OP_CLOSE, FL_FAULT_ERROR);
	refused(c, "close error");
	c->hdr.nrules = 0;
	add(c, FL_OP_RESOLVE, FL_FAULT_ERROR);
	refused(c, "resolve");
	c->hdr.nrules = 0;
	add(c, FL_OP_READ, FL_FAULT_STALE);
	refused(c, "stale");
	c->hdr.nrules = 0;
	add(c, FL_OP_RECV, FL_FAULT_DELAY)->flags |= FL_RF_UNTIL;
	refused(c, "pinned orders");
	free(c);
}

static void test_filter(void **st)
{
	struct fl_ctl *c = ctl_new();
	struct fl_sc_plan p;
	char err[512];
	struct fl_rule *r;

	r = add(c, FL_OP_ACCEPT, FL_FAULT_HOLD);
	r->flags |= FL_RF_UNTIL;
	r->until_target = 1;
	r->until_op = FL_OP_SEND;
	assert_int_equal(fl_sc_plan_init(&p, c, false, err, sizeof(err)), 0);
	assert_non_null(strstr(p.sys, "accept4"));
	assert_non_null(strstr(p.sys, "sendto")); /* the gate's op is seen */
	assert_null(strstr(p.sys, "recvfrom"));
	assert_false(p.timens);
	assert_int_equal(p.ops, (1u << FL_OP_ACCEPT) | (1u << FL_OP_SEND));
	fl_sc_plan_fini(&p);

	/* read(2) is recv's and read's: notified once */
	assert_int_equal(fl_sc_plan_ops(&p, (1u << FL_OP_RECV) | (1u << FL_OP_READ), err,
					sizeof(err)), 0);
	assert_int_equal(p.nsys, 6); /* recvfrom recvmsg read readv pread64 preadv */
	assert_null(strstr(strstr(p.sys, "read ") + 1, " read "));
	fl_sc_plan_fini(&p);

	for (unsigned op = 1; op < FL_OP__COUNT; op++)
		if (op != FL_OP_RESOLVE && op != FL_OP_PACKET)
			assert_true(fl_sc_ops_all() & (1u << op));
	assert_false(fl_sc_ops_all() & (1u << FL_OP_RESOLVE));
	free(c);
}

static void test_timens_offsets(void **st)
{
	struct fl_ctl *c = ctl_new();
	struct fl_sc_plan p;
	char err[512];

	if (geteuid() != 0 || access("/proc/self/ns/time", F_OK) != 0) {
		print_message("skip: time namespaces need root and CONFIG_TIME_NS\n");
		skip();
	}
	add_clock(c, FL_CLK_MONOTONIC, FL_FAULT_OFFSET, 3600000000000ll);
	add_clock(c, FL_CLK_MONOTONIC, FL_FAULT_OFFSET, 1500000000ll);
	add_clock(c, FL_CLK_BOOTTIME, FL_FAULT_OFFSET, 7000000000ll);
	assert_int_equal(fl_sc_plan_init(&p, c, false, err, sizeof(err)), 0);
	assert_true(p.timens);
	assert_int_equal(p.tn_mono_ns, 3601500000000ll);
	assert_int_equal(p.tn_boot_ns, 7000000000ll);
	assert_int_equal(p.nsys, 0);
	fl_sc_plan_fini(&p);
	/* --timens with no clock rule: a namespace, zero offsets */
	c->hdr.nrules = 0;
	assert_int_equal(fl_sc_plan_init(&p, c, true, err, sizeof(err)), 0);
	assert_true(p.timens);
	assert_int_equal(p.tn_mono_ns, 0);
	fl_sc_plan_fini(&p);
	free(c);
}

int main(void)
{
	const struct CMUnitTest t[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_filter),
		cmocka_unit_test(test_timens_offsets),
	};
	return cmocka_run_group_tests(t, NULL, NULL);
}
