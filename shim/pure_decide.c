/*
 * pure_decide.c — the one decision function, and the journal producer.
 *
 * (target, op) → verdict. Every interposer calls fl__decide(); nothing else
 * chooses a fault. The verdict is a pure function of the rules, the call's
 * sequence number nth (shared by every process through the block's
 * counters), the run time, the rule's live intensity and the seed: the same
 * profile and the same call order give the same verdicts, run after run.
 *
 * Invariants: no allocation, no locks, no libc calls; a producer never
 * blocks (a full journal drops and counts; see faultline/journal.h).
 */
#include <limits.h>
#include <linux/futex.h>
#include <stddef.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "faultline/journal.h"
#include "faultline/prng.h"
#include "shim.h"

bool fl__live(const struct fl_ctl *c, int64_t now_mono)
{
	if (atomic_load_explicit(&c->hdr.state, memory_order_acquire) != FL_STATE_ACTIVE)
		return false;
	int64_t hb = atomic_load_explicit(&c->hdr.heartbeat_ns, memory_order_relaxed);
	int64_t age = now_mono - hb;
	/* Judged against our own clock: a heartbeat from the future is as
	 * stale as an old one (one beat of slack for a beat stored between
	 * our clock read and this load), and the bound is capped even if the
	 * plan changed after it was checked at attach. */
	int64_t bound = c->hdr.stale_ns < FL_STALE_NS_MAX ? c->hdr.stale_ns : FL_STALE_NS_MAX;
	return age >= -FL_HEARTBEAT_NS && age <= bound;
}

static bool duration_fault(unsigned fault)
{
	return fault == FL_FAULT_DELAY || fault == FL_FAULT_LATE_ACK ||
	       fault == FL_FAULT_TIMEOUT;
}

/* Does rule r (id ri) fire for call number nth at run time t? On a fire,
 * *scale_ns gets the factor (0..1) to apply to its duration. */
/* The clock, read only when a rule needs it (a window) or fires: an armed
 * call that matches no rule reads no clock. */
struct clk {
	int64_t ns;
	int64_t (*read)(void);
	bool have;
};

static int64_t clk_now(struct clk *k)
{
	if (!k->have) {
		k->ns = k->read();
		k->have = true;
	}
	return k->ns;
}

static bool rule_fires(const struct fl_ctl *c, const struct fl_rule *r,
		       unsigned ri, uint64_t nth, struct clk *clk, double *scale_ns)
{
	uint32_t inten = atomic_load_explicit(&r->intensity, memory_order_relaxed);
	uint64_t thresh = UINT64_MAX;

	*scale_ns = 1.0;
	if ((r->flags & FL_RF_NTH) && (nth < r->nth_lo || nth > r->nth_hi))
		return false;
	if (r->flags & FL_RF_WINDOW) {
		int64_t t = clk_now(clk) - c->hdr.epoch_mono_ns;
		if (t < r->win_from_ns || t >= r->win_to_ns)
			return false;
	}
	if (r->flags & FL_RF_PROB)
		thresh = r->prob_thresh;
	if (r->flags & FL_RF_SCALED) {
		double k = (double)inten / FL_INTENSITY_ONE;
		if (inten == 0)
			return false;
		/* a binding scales the probability if the rule has one or
		 * no duration; otherwise it scales the duration */
		if ((r->flags & FL_RF_PROB) || !duration_fault(r->fault))
			thresh = k >= 1.0 ? thresh : (uint64_t)((double)thresh * k);
		else
			*scale_ns = k;
	}
	if (thresh == UINT64_MAX)
		return true;
	return fl_prng(c->hdr.seed, FL_STREAM(ri, FL_STREAM_PROB), nth) < thresh;
}

/* Call nth of (t, op) has happened: raise its gate word, wake gates. */
void fl__passed_at(struct fl_ctl *c, unsigned t, unsigned op, uint64_t nth)
{
	_Atomic uint64_t *w = FL_PASSED(c, t, op);
	uint64_t cur;

	if (!FL_WATCHED(c, t, op))
		return; /* no gate waits on this call: it costs nothing */
	cur = atomic_load_explicit(w, memory_order_relaxed);

	while (cur < nth && !atomic_compare_exchange_weak(w, &cur, nth))
		;
	if (atomic_load(FL_WAITERS(c, t, op)))
		syscall(SYS_futex, (uint32_t *)(void *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void fill_verdict(const struct fl_rule *r, unsigned ri, double scale,
			 struct fl_verdict *v)
{
	v->fault = r->fault;
	v->err = r->err;
	v->rule = (int16_t)ri;
	v->bytes = r->bytes;
	v->ns = (int64_t)((double)r->ns * scale);
	v->until_target = r->until_target;
	v->until_op = r->until_op;
	v->until_nth = r->until_nth;
	v->until_max_ns = r->until_max_ns;
	v->pregate = (r->flags & FL_RF_UNTIL) && r->fault != FL_FAULT_HOLD;
	if (r->fault == FL_FAULT_STALE && (r->flags & FL_RF_WINDOW))
		v->ns = r->win_to_ns - v->t_run; /* stale until the window closes */
	if (r->jitter_ns > 0 && r->fault == FL_FAULT_DELAY) {
		uint64_t x = fl_prng(0, FL_STREAM(ri, FL_STREAM_JITTER), v->nth);
		int64_t span = 2 * r->jitter_ns + 1;
		int64_t j = (int64_t)(x % (uint64_t)span) - r->jitter_ns;
		v->ns = v->ns + (int64_t)((double)j * scale);
		if (v->ns < 0)
			v->ns = 0;
	}
}

/* The first rule of (target, op) whose `when` holds for call nth, or -1;
 * *scale_ns as rule_fires gives it. Nothing counted. */
static int first_firing(const struct fl_ctl *c, unsigned target, unsigned op, uint64_t nth,
			struct clk *k, double *scale_ns)
{
	unsigned head = c->hdr.rule_head[target][op];

	for (unsigned n = 0; head && n < FL_MAX_RULES; n++) {
		unsigned ri = head - 1;

		if (ri >= FL_MAX_RULES)
			break;
		if (rule_fires(c, &c->rules[ri], ri, nth, k, scale_ns))
			return (int)ri;
		head = c->rules[ri].next;
	}
	return -1;
}

static bool decide(struct fl_ctl *c, unsigned target, unsigned op, struct clk *k,
		   struct fl_verdict *v)
{
	const struct fl_rule *r;
	uint64_t nth;
	int64_t now;
	double scale;
	int ri, why;

	v->fault = FL_FAULT_NONE;
	v->journaled = false;
	v->pregate = false;
	v->deferred = false;
	v->refused = 0;
	v->nth = 0;
	v->t_run = 0;
	if (target == 0 || target >= FL_MAX_TARGETS || op >= FL_OP__COUNT)
		return false;
	v->target = (uint8_t)target;
	v->op = (uint8_t)op;
	nth = atomic_fetch_add_explicit(FL_CTR(c, target, op), 1, memory_order_acq_rel) + 1;
	v->nth = nth; /* counted even when the drill is over: it still happens */
	ri = first_firing(c, target, op, nth, k, &scale);
	if (ri < 0)
		return false;
	r = &c->rules[ri];
	now = clk_now(k);
	if (!fl__live(c, now)) {
		v->t_run = -1; /* fired, but the drill is not live */
		return false;  /* aborted, over, or the controller is dead */
	}
	v->t_run = now - c->hdr.epoch_mono_ns;
	/* checked at attach, but rules may be republished since: re-check
	 * what is about to be carried out */
	why = fl__rule_act_check(r, op);
	if (why) {
		v->refused = (uint8_t)why;
		v->rule = (int16_t)ri;
		return false;
	}
	v->tick = atomic_load_explicit(&c->hdr.tick, memory_order_acquire);
	fill_verdict(r, (unsigned)ri, scale, v);
	atomic_fetch_add_explicit(FL_HITS(c, ri), 1, memory_order_relaxed);
	return true;
}

/* Could a rule of (target, op) fire for call nth (no side effect)? */
bool fl__may_fire(const struct fl_ctl *c, unsigned target, unsigned op, uint64_t nth,
		  int64_t (*now)(void))
{
	struct clk k = {0, now, false};
	double scale;

	if (target == 0 || target >= FL_MAX_TARGETS || op >= FL_OP__COUNT)
		return false;
	return first_firing(c, target, op, nth, &k, &scale) >= 0;
}

uint64_t fl__count_made(struct fl_ctl *c, unsigned target, unsigned op, uint64_t seen,
			int64_t (*now)(void))
{
	_Atomic uint64_t *ctr;

	if (target == 0 || target >= FL_MAX_TARGETS || op >= FL_OP__COUNT)
		return 0;
	ctr = FL_CTR(c, target, op);
	/* bounded: the counters are in the area the program can write */
	for (int tries = 0; tries < 64; tries++) {
		if (atomic_compare_exchange_weak_explicit(ctr, &seen, seen + 1,
							  memory_order_acq_rel,
							  memory_order_relaxed))
			return seen + 1;
		if (fl__may_fire(c, target, op, seen + 1, now))
			return 0; /* the next number fires: it goes to the next call */
	}
	return 0;
}

bool fl__decide_at(struct fl_ctl *c, unsigned target, unsigned op,
		   int64_t now_mono, struct fl_verdict *v)
{
	struct clk k = {now_mono, NULL, true};
	return decide(c, target, op, &k, v);
}

bool fl__decide_lazy(struct fl_ctl *c, unsigned target, unsigned op,
		     int64_t (*now)(void), struct fl_verdict *v)
{
	struct clk k = {0, now, false};
	return decide(c, target, op, &k, v);
}

int64_t fl__verdict_ns(const struct fl_verdict *v)
{
	return v->ns > 0 ? v->ns : 0;
}

/* The one producer (faultline/journal.h): bounded, drops and counts. */
bool fl__journal_push(struct fl_ctl *c, const struct fl_jrec *rec)
{
	return fl_journal_push(&c->journal, rec) == FL_JPUSH_OK;
}
