/*
 * pure_act.c — the rules of the act layer that need no system: the ops
 * table's act column, why a wait ends, and how a signal ends a blocked
 * call (signal(7)). act.c carries them out; the unit tests check them.
 *
 * Invariants: no libc calls, no state; pure functions of their arguments.
 */
#include <errno.h>
#include <stddef.h>

#include "shim.h"

static const struct fl_op_act op_acts[FL_OP__COUNT] = {
#define FL__ACT_ROW(id, after, fail, tmo, dir, sotmo, nb)                      \
	[FL_OP_##id] = {(after), (fail), (tmo), (dir), (sotmo), (nb)},
	FL_OP_ACTS(FL__ACT_ROW)
#undef FL__ACT_ROW
};

const struct fl_op_act *fl__op_act(unsigned op)
{
	if (op == FL_OP_NONE || op >= FL_OP__COUNT)
		return NULL;
	return &op_acts[op];
}

/* Order: the drill's end first (pass-through at once), then the gate (an
 * event that came is not a timeout), then whichever of the planned end and
 * the socket's own timeout comes first (at the same instant, the plan). */
int fl__wait_step(const struct fl_wait *w, int64_t now, uint64_t gate_cur, bool live)
{
	if (!live)
		return FL_W_ENDED;
	if (w->gate && gate_cur >= w->gate_nth)
		return FL_W_GATE;
	if (w->bound < w->end && now >= w->bound)
		return FL_W_BOUND;
	if (now >= w->end)
		return FL_W_DUE;
	return -1;
}

/* signal(7), "Interruption of system calls and library functions by signal
 * handlers": a blocked socket call (accept, connect, recv*, send*) is
 * restarted after a handler with SA_RESTART, except when a timeout is set
 * on the socket for its direction (SO_RCVTIMEO for input, SO_SNDTIMEO for
 * output, connect included): then it fails with EINTR whatever the flags.
 * Disk files are not slow devices: their calls are not interrupted. A wait
 * after the real call (late_ack, a held send) has moved data already: the
 * kernel returns what moved, never EINTR. */
int fl__intr_class(unsigned op, bool sock, int64_t timeo_ns, bool before)
{
	const struct fl_op_act *a = fl__op_act(op);

	if (!a || !sock || !before || a->dir == FL_DIR_NONE)
		return FL_INTR_NONE;
	return timeo_ns > 0 ? FL_INTR_ALWAYS : FL_INTR_RESTART;
}

int fl__intr_errno(int intr, bool sa_restart)
{
	switch (intr) {
	case FL_INTR_ALWAYS: return EINTR;
	case FL_INTR_RESTART: return sa_restart ? 0 : EINTR;
	default: return 0;
	}
}
