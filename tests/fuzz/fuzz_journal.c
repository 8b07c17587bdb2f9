/*
 * fuzz_journal.c — libFuzzer harness for the controller's journal reader,
 * the one part of the shared area the program under test may write. The
 * input is a script of what the program's side does to the ring between the
 * controller's drains:
 *
 *   byte 0..3  op: 0 push a record (the next 48 bytes are its payload, as
 *              an honest shim would push it), 1 poke (next byte: which word
 *              — head, shared tail, dropped, or a slot's seq or payload
 *              word — then 8 bytes stored there), 2 drain (next byte: how
 *              many ms pass first, next byte: max records), 3 claim a slot
 *              and never fill it (a producer killed mid-record);
 *   end        a last drain, 2 s later (past the stuck-slot bound).
 *
 * Whatever the script does: fl_block_drain returns at most `max`, never
 * hangs (libFuzzer's -timeout), reads nothing out of bounds, and passes on
 * only records fl_jrec_valid accepts, which the timeline writer then writes
 * as JSON without a crash; the producer never loops past its bound; the
 * consumer's counts only grow.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block.h"
#include "faultline/journal.h"
#include "profile.h"
#include "timeline.h"

static struct fl_ctl *ctl;
static struct fl_timeline tl;
static struct fl_profile prof;
static uint64_t passed;

static void on_rec(const struct fl_jrec *r, void *arg)
{
	(void)arg;
	if (!fl_jrec_valid(r))
		abort();
	passed++;
	fl_timeline_jrec(&tl, r);
}

static const char profile_text[] =
	"{\"faultline\": 1, \"seed\": 3,"
	" \"targets\": {\"a\": {\"tcp\": \"127.0.0.1:9\"}, \"f\": {\"path\": \"/tmp/x/*\"}},"
	" \"rules\": [{\"target\": \"a\", \"op\": \"recv\", \"fault\": \"delay\", \"ms\": 4},"
	"  {\"target\": \"f\", \"op\": \"open\", \"fault\": \"error\", \"errno\": \"EIO\"}]}";

static void setup(void)
{
	char err[4096];

	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		abort();
	/* two targets, two rules: records naming them and naming what the
	 * profile does not have both occur */
	if (fl_profile_parse("p.json", profile_text, sizeof(profile_text) - 1, &prof, err,
			     sizeof(err)) != 0) {
		fputs(err, stderr);
		abort();
	}
	if (fl_timeline_open(&tl, "/dev/null", &prof) != 0)
		abort();
}

static void reset_ring(void)
{
	struct fl_journal *j = &ctl->journal;

	atomic_store(&j->head, 0);
	atomic_store(&j->tail, 0);
	atomic_store(&j->dropped, 0);
	for (uint64_t i = 0; i < FL_JOURNAL_SLOTS; i++) {
		memset(&j->slot[i], 0, sizeof(j->slot[i]));
		atomic_store(&j->slot[i].seq, i);
	}
}

static uint64_t take64(const uint8_t **p, const uint8_t *end)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && *p < end; i++)
		v |= (uint64_t)*(*p)++ << (8 * i);
	return v;
}

static void poke(uint8_t which, uint64_t v)
{
	struct fl_journal *j = &ctl->journal;
	/* a handful of slots: the ones around the head and tail matter */
	unsigned slot = (which >> 3) & 7;
	struct fl_jrec *s = &j->slot[(atomic_load(&j->head) + slot - 2) & (FL_JOURNAL_SLOTS - 1)];

	switch (which & 7) {
	case 0: atomic_store(&j->head, v); break;
	case 1: atomic_store(&j->tail, v); break;
	case 2: atomic_store(&j->dropped, v); break;
	case 3: atomic_store(&s->seq, v); break;
	case 4: atomic_store(&s->seq, atomic_load(&j->head) + (v & 3)); break;
	default: /* a payload word */
		memcpy((char *)s + 8 * (1 + (which & 7) - 5 + (which >> 6)), &v, 8);
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	struct fl_jdrain d = {0};
	int64_t now = 1000000000;
	uint64_t last_read = 0, last_bad = 0, last_skip = 0;

	if (!ctl)
		setup();
	reset_ring();
	passed = 0;
	for (int steps = 0; p < end && steps < 4096; steps++) {
		uint8_t op = *p++ & 3;
		struct fl_jrec r;
		unsigned n, max;

		switch (op) {
		case 0:
			memset(&r, 0, sizeof(r));
			for (size_t i = 8; i < sizeof(r) && p < end; i++)
				((uint8_t *)&r)[i] = *p++;
			(void)fl_block_journal_put(ctl, &r);
			break;
		case 1: {
			uint8_t which = p < end ? *p++ : 0;
			poke(which, take64(&p, end));
			break;
		}
		case 2:
			now += (int64_t)(p < end ? *p++ : 0) * 1000000;
			max = p < end ? *p++ : 64;
			n = fl_block_drain(ctl, &d, now, max, on_rec, NULL);
			if (n > max)
				abort();
			break;
		case 3: { /* claim the head slot, never fill it */
			uint64_t h = atomic_load(&ctl->journal.head);
			atomic_store(&ctl->journal.head, h + 1);
			break;
		}
		}
		if (d.read < last_read || d.malformed < last_bad || d.skipped < last_skip)
			abort();
		last_read = d.read;
		last_bad = d.malformed;
		last_skip = d.skipped;
	}
	now += 2 * FL_JOURNAL_STUCK_NS;
	(void)fl_block_drain(ctl, &d, now, 1024, on_rec, NULL);
	now += 2 * FL_JOURNAL_STUCK_NS;
	(void)fl_block_drain(ctl, &d, now, 1024, on_rec, NULL);
	if (d.read != passed)
		abort();
	return 0;
}
