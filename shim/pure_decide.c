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
static bool rule_fires(const struct fl_ctl *c, const struct fl_rule *r,
		       unsigned ri, uint64_t nth, int64_t t, double *scale_ns)
{
	uint32_t inten = atomic_load_explicit(&r->intensity, memory_order_relaxed);
	uint64_t thresh = UINT64_MAX;

	*scale_ns = 1.0;
	if ((r->flags & FL_RF_NTH) && (nth < r->nth_lo || nth > r->nth_hi))
		return false;
	if ((r->flags & FL_RF_WINDOW) && (t < r->win_from_ns || t >= r->win_to_ns))
		return false;
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

/* Record that call nth of (t, op) has passed; wake pinning gates. */
void fl__passed_at(struct fl_ctl *c, unsigned t, unsigned op, uint64_t nth)
{
	_Atomic uint64_t *w = &c->passed[t][op];
	uint64_t cur;

	if (!c->watched[t][op])
		return; /* no pinning gate waits on this counter */
	cur = atomic_load_explicit(w, memory_order_relaxed);

	while (cur < nth && !atomic_compare_exchange_weak(w, &cur, nth))
		;
	if (atomic_load(&c->waiters[t][op]))
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

bool fl__decide_at(struct fl_ctl *c, unsigned target, unsigned op,
		   int64_t now_mono, struct fl_verdict *v)
{
	uint64_t nth;
	unsigned head;

	v->fault = FL_FAULT_NONE;
	v->journaled = false;
	v->pregate = false;
	if (target == 0 || target >= FL_MAX_TARGETS || op >= FL_OP__COUNT)
		return false;
	v->target = (uint8_t)target;
	v->op = (uint8_t)op;
	nth = atomic_fetch_add_explicit(&c->counters[target][op], 1,
					memory_order_acq_rel) + 1;
	v->nth = nth;
	v->t_run = now_mono - c->hdr.epoch_mono_ns;
	v->tick = atomic_load_explicit(&c->hdr.tick, memory_order_acquire);
	if (atomic_load_explicit(&c->waiters[target][op], memory_order_acquire))
		fl__gate_kick_at(c, target, op);
	if (!fl__live(c, now_mono)) {
		fl__passed_at(c, target, op, nth);
		return false;
	}
	head = c->hdr.rule_head[target][op];
	for (unsigned n = 0; head && n < FL_MAX_RULES; n++) {
		unsigned ri = head - 1;
		const struct fl_rule *r;
		double scale;

		if (ri >= FL_MAX_RULES)
			break;
		r = &c->rules[ri];
		if (rule_fires(c, r, ri, nth, v->t_run, &scale)) {
			fill_verdict(r, ri, scale, v);
			atomic_fetch_add_explicit(&c->hits[ri], 1,
						  memory_order_relaxed);
			if (!v->pregate)
				fl__passed_at(c, target, op, nth);
			return true;
		}
		head = r->next;
	}
	fl__passed_at(c, target, op, nth);
	return false;
}

/* The low 32 bits of a counter are its futex word (little-endian). */
static uint32_t *counter_word(struct fl_ctl *c, unsigned t, unsigned op)
{
	return (uint32_t *)(void *)&c->counters[t][op];
}

void fl__gate_kick_at(struct fl_ctl *c, unsigned target, unsigned op)
{
	syscall(SYS_futex, counter_word(c, target, op), FUTEX_WAKE, INT_MAX,
		NULL, NULL, 0);
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
