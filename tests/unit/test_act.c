/*
 * test_act.c — the pure rules of the act layer (shim/pure_act.c): the ops
 * table's act column, why a wait ends, and how a signal ends a blocked call
 * (signal(7), socket(7)).
 */
#include <errno.h>
#include <netdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "shim.h"

#define BIT(f) (1u << FL_FAULT_##f)

static void test_every_op_has_a_row(void **state)
{
	(void)state;
	assert_null(fl__op_act(FL_OP_NONE));
	assert_null(fl__op_act(FL_OP__COUNT));
	for (unsigned op = 1; op < FL_OP__COUNT; op++) {
		const struct fl_op_act *a = fl__op_act(op);
		assert_non_null(a);
		assert_true(a->after & BIT(LATE_ACK) || op == FL_OP_RESOLVE || op == FL_OP_PACKET);
		assert_int_not_equal(a->tmo_err, 0);
		/* socket ops, and only they, wait on readiness and socket timeouts */
		bool sock = op == FL_OP_CONNECT || op == FL_OP_ACCEPT || op == FL_OP_SEND ||
			    op == FL_OP_RECV;
		assert_int_equal(a->dir != FL_DIR_NONE, sock);
		assert_int_equal(a->sotmo_err != 0, sock);
		assert_int_equal(a->nb_err != 0, sock);
	}
}

static void test_rows(void **state)
{
	(void)state;
	const struct fl_op_act *c = fl__op_act(FL_OP_CONNECT);
	assert_int_equal(c->tmo_err, ETIMEDOUT);
	assert_int_equal(c->sotmo_err, EINPROGRESS); /* socket(7) */
	assert_int_equal(c->nb_err, EINPROGRESS);
	assert_int_equal(c->dir, FL_DIR_OUT);
	assert_int_equal(fl__op_act(FL_OP_RECV)->dir, FL_DIR_IN);
	assert_int_equal(fl__op_act(FL_OP_ACCEPT)->dir, FL_DIR_IN);
	assert_int_equal(fl__op_act(FL_OP_RECV)->sotmo_err, EAGAIN);
	assert_int_equal(fl__op_act(FL_OP_SEND)->nb_err, EAGAIN);
	/* the call is made first: a close always closes, an fsync always syncs */
	assert_true(fl__op_act(FL_OP_CLOSE)->after & BIT(ERROR));
	assert_true(fl__op_act(FL_OP_CLOSE)->after & BIT(DELAY));
	assert_true(fl__op_act(FL_OP_FSYNC)->after & BIT(ERROR));
	assert_false(fl__op_act(FL_OP_CONNECT)->after & BIT(ERROR));
	/* a held call whose effect must not be lost is performed, then held */
	for (unsigned op = 1; op < FL_OP__COUNT; op++) {
		bool held_after = op == FL_OP_SEND || op == FL_OP_WRITE ||
				  op == FL_OP_FSYNC || op == FL_OP_CLOSE;
		assert_int_equal((fl__op_act(op)->after & BIT(HOLD)) != 0, held_after);
	}
	assert_int_equal(fl__op_act(FL_OP_RESOLVE)->fail, FL_FAIL_CODE);
	assert_int_equal(fl__op_act(FL_OP_RESOLVE)->tmo_err, EAI_AGAIN);
	assert_int_equal(fl__op_act(FL_OP_OPEN)->fail, FL_FAIL_ERRNO);
}

static void test_intr_class(void **state)
{
	(void)state;
	/* signal(7): restarted with SA_RESTART ... */
	assert_int_equal(fl__intr_class(FL_OP_RECV, true, 0, true), FL_INTR_RESTART);
	assert_int_equal(fl__intr_class(FL_OP_ACCEPT, true, 0, true), FL_INTR_RESTART);
	assert_int_equal(fl__intr_class(FL_OP_CONNECT, true, 0, true), FL_INTR_RESTART);
	assert_int_equal(fl__intr_class(FL_OP_SEND, true, 0, true), FL_INTR_RESTART);
	/* ... unless a timeout is set on the socket: never restarted */
	assert_int_equal(fl__intr_class(FL_OP_RECV, true, 1000000000, true), FL_INTR_ALWAYS);
	assert_int_equal(fl__intr_class(FL_OP_CONNECT, true, 1, true), FL_INTR_ALWAYS);
	/* disk files are not slow devices; the resolver is not a syscall */
	assert_int_equal(fl__intr_class(FL_OP_READ, false, 0, true), FL_INTR_NONE);
	assert_int_equal(fl__intr_class(FL_OP_FSYNC, false, 0, true), FL_INTR_NONE);
	assert_int_equal(fl__intr_class(FL_OP_RESOLVE, false, 0, true), FL_INTR_NONE);
	/* after the real call the data moved: the kernel returns it */
	assert_int_equal(fl__intr_class(FL_OP_RECV, true, 0, false), FL_INTR_NONE);
	assert_int_equal(fl__intr_class(FL_OP_SEND, true, 5, false), FL_INTR_NONE);
	assert_int_equal(fl__intr_class(FL_OP_NONE, true, 0, true), FL_INTR_NONE);
}

static void test_intr_errno(void **state)
{
	(void)state;
	assert_int_equal(fl__intr_errno(FL_INTR_RESTART, false), EINTR);
	assert_int_equal(fl__intr_errno(FL_INTR_RESTART, true), 0);
	assert_int_equal(fl__intr_errno(FL_INTR_ALWAYS, true), EINTR);
	assert_int_equal(fl__intr_errno(FL_INTR_ALWAYS, false), EINTR);
	assert_int_equal(fl__intr_errno(FL_INTR_NONE, false), 0);
	assert_int_equal(fl__intr_errno(FL_INTR_NONE, true), 0);
}

static void test_wait_step(void **state)
{
	(void)state;
	_Atomic uint64_t word = 0;
	struct fl_wait w = {.end = 3000, .bound = INT64_MAX};

	assert_int_equal(fl__wait_step(&w, 0, 0, true), -1);
	assert_int_equal(fl__wait_step(&w, 2999, 0, true), -1);
	assert_int_equal(fl__wait_step(&w, 3000, 0, true), FL_W_DUE);
	/* the drill's end comes first, whatever else holds */
	assert_int_equal(fl__wait_step(&w, 3000, 0, false), FL_W_ENDED);
	/* the socket's own timeout before the planned end */
	w.bound = 1000;
	assert_int_equal(fl__wait_step(&w, 999, 0, true), -1);
	assert_int_equal(fl__wait_step(&w, 1000, 0, true), FL_W_BOUND);
	assert_int_equal(fl__wait_step(&w, 5000, 0, true), FL_W_BOUND);
	/* a timeout no shorter than the fault: the fault's end wins */
	w.bound = 3000;
	assert_int_equal(fl__wait_step(&w, 3000, 0, true), FL_W_DUE);
	w.bound = 4000;
	assert_int_equal(fl__wait_step(&w, 3500, 0, true), FL_W_DUE);
	/* a gate: opens when the named call's nth has happened */
	w = (struct fl_wait){.end = 3000, .bound = INT64_MAX, .gate = &word, .gate_nth = 2};
	assert_int_equal(fl__wait_step(&w, 10, 1, true), -1);
	assert_int_equal(fl__wait_step(&w, 10, 2, true), FL_W_GATE);
	assert_int_equal(fl__wait_step(&w, 3000, 2, true), FL_W_GATE);
	assert_int_equal(fl__wait_step(&w, 3000, 1, true), FL_W_DUE);
	assert_int_equal(fl__wait_step(&w, 10, 5, false), FL_W_ENDED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_op_has_a_row),
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_intr_class),
		cmocka_unit_test(test_intr_errno),
		cmocka_unit_test(test_wait_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
