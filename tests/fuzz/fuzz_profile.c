/*
 * fuzz_profile.c — libFuzzer harness for the profile/scenario loader.
 *
 * Built and run by `make fuzz` (scripts/fuzz.sh: FUZZ_SECONDS each, seeded
 * from profiles/, scenarios/ and tests/fuzz/corpus/profile, with
 * tests/fuzz/profile.dict).
 *
 * Checks, for every input: the loader returns 0 or -EINVAL, never crashes or
 * leaks; on error the output is all zeros and there is at least one message;
 * on success every id and index is in range and publish builds chains that
 * only visit rules of their own (target, op), in file order, ending.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "market/market.h"
#include "profile.h"

static void check_loaded(const struct fl_profile *p)
{
	if (p->ntargets < 1 || p->ntargets > FL_MAX_TARGETS || p->nrules > FL_MAX_RULES)
		abort();
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct fl_rule *r = &p->rules[i];

		if (r->fault == 0 || r->fault >= FL_FAULT__COUNT)
			abort();
		if (!(r->flags & FL_RF_CLOCK) &&
		    (r->target == 0 || r->target >= p->ntargets || r->op == 0 ||
		     r->op >= FL_OP__COUNT || !fl_fault_valid_for_op(r->fault, r->op)))
			abort();
		if ((r->flags & FL_RF_NTH) && (r->nth_lo == 0 || r->nth_lo > r->nth_hi))
			abort();
		if ((r->flags & FL_RF_WINDOW) && !(0 <= r->win_from_ns && r->win_from_ns < r->win_to_ns))
			abort();
		if (p->bind[i].signal >= MKT_SIG__COUNT)
			abort();
	}
}

static void check_published(const struct fl_profile *p, const struct fl_ctl *ctl)
{
	for (int t = 0; t < FL_MAX_TARGETS; t++)
		for (int op = 0; op < FL_OP__COUNT; op++) {
			unsigned id = ctl->hdr.rule_head[t][op], last = 0, n = 0;

			for (; id; id = ctl->rules[id - 1].next, n++) {
				if (id > p->nrules || id <= last || n > FL_MAX_RULES ||
				    ctl->rules[id - 1].target != t || ctl->rules[id - 1].op != op)
					abort();
				last = id;
			}
		}
	if (atomic_load(&ctl->hdr.gen) & 1u)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fl_profile p;
	static struct fl_ctl *ctl;
	static char err[16384];
	int rc;

	if (!ctl && !(ctl = calloc(1, sizeof(*ctl))))
		abort();
	rc = fl_profile_parse("fuzz.json", (const char *)data, size, &p, err, sizeof(err));
	if (rc != 0 && rc != -EINVAL && rc != -ENOMEM)
		abort();
	if (rc) {
		for (size_t i = 0; i < sizeof(p); i++)
			if (((const unsigned char *)&p)[i])
				abort();
		if (!err[0])
			abort();
		return 0;
	}
	check_loaded(&p);
	fl_profile_publish(&p, ctl);
	check_published(&p, ctl);
	fl_profile__free(&p);
	return 0;
}
