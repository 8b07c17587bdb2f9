/*
 * faultline/journal.h — THE journal producer (the protocol is in ctl.h),
 * used by the shim (every process) and by the controller (its own records,
 * tests). Header-only so the shim needs no controller object and the
 * controller no shim object.
 *
 * Invariants
 *  - Never blocks and never spins unbounded: the ring is in the shared area,
 *    which the program under test can write, so head and sequences may be
 *    anything. At most FL_JOURNAL_TRIES turns, then the record is dropped and
 *    counted.
 *  - No libc calls, no allocation: safe inside any interposed call.
 */
#ifndef FAULTLINE_JOURNAL_H
#define FAULTLINE_JOURNAL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "faultline/ctl.h"

/* Enough for heavy honest contention (a lost CAS costs one turn). */
#define FL_JOURNAL_TRIES 256

_Static_assert(offsetof(struct fl_jrec, seq) == 0, "the payload copy skips seq first");
_Static_assert((FL_JOURNAL_SLOTS & (FL_JOURNAL_SLOTS - 1)) == 0, "power of two");

enum { FL_JPUSH_OK = 0, FL_JPUSH_FULL = 1, FL_JPUSH_GAVE_UP = 2 };

/* Append rec's payload (every field but seq). Returns FL_JPUSH_OK, or
 * FL_JPUSH_FULL / FL_JPUSH_GAVE_UP with journal.dropped incremented. */
static inline int fl_journal_push(struct fl_journal *j, const struct fl_jrec *rec)
{
	uint64_t pos = atomic_load_explicit(&j->head, memory_order_relaxed);
	struct fl_jrec *s = NULL;
	int turn;

	for (turn = 0; turn < FL_JOURNAL_TRIES; turn++) {
		s = &j->slot[pos & (FL_JOURNAL_SLOTS - 1)];
		uint64_t seq = atomic_load_explicit(&s->seq, memory_order_acquire);
		int64_t dif = (int64_t)(seq - pos);

		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(
				    &j->head, &pos, pos + 1, memory_order_relaxed,
				    memory_order_relaxed))
				break;
		} else if (dif < 0) {
			atomic_fetch_add_explicit(&j->dropped, 1, memory_order_relaxed);
			return FL_JPUSH_FULL;
		} else {
			pos = atomic_load_explicit(&j->head, memory_order_relaxed);
		}
	}
	if (turn == FL_JOURNAL_TRIES) {
		atomic_fetch_add_explicit(&j->dropped, 1, memory_order_relaxed);
		return FL_JPUSH_GAVE_UP;
	}
	/* every field but the sequence, which publishes them */
	__builtin_memcpy((char *)s + sizeof(s->seq), (const char *)rec + sizeof(rec->seq),
			 sizeof(*s) - sizeof(s->seq));
	atomic_store_explicit(&s->seq, pos + 1, memory_order_release);
	return FL_JPUSH_OK;
}

#endif /* FAULTLINE_JOURNAL_H */
