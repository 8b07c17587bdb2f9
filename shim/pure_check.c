/*
 * pure_check.c — the shim's judgement of a plan before it uses it.
 *
 * The plan comes from a peer that passed SO_PEERCRED (root or our own uid)
 * and is sealed read-only for us, but "trusted sender" is not "valid
 * content": a buggy or forged plan must never make a program misbehave.
 * So the shim refuses what the loader would refuse (ops.h's tables: faults
 * by op, errnos by op, sizes, durations) and every count, index and string
 * it would otherwise have to trust. Anything refused means pass-through.
 *
 * Invariants: pure (no system calls, no libc, no allocation); reads only
 * inside the struct.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "shim.h"

/* The loader's bounds (controller/profile_rules.c). */
#define MAX_DUR_NS (86400000ll * 1000000ll) /* 24 h */
#define MAX_WIN_NS (1000000000000ll * 1000000ll)
#define MAX_BYTES (1ll << 30)

static const char *const op_errnos[FL_OP__COUNT] = {
	[FL_OP_NONE] = "",
#define X(id, name, errs) [FL_OP_##id] = errs,
	FL_OPS(X)
#undef X
};

static const unsigned fault_valid[FL_FAULT__COUNT] = {
#define X(id, name, valid) [FL_FAULT_##id] = (valid),
	FL_FAULTS(X)
#undef X
};

static const struct {
	const char *name;
	int value;
} errnos[] = {
#define X(name, value) { #name, value },
	FL_ERRNOS(X)
#undef X
};

/* Is `name` (n chars) a word of the space-separated list? */
static bool in_list(const char *list, const char *name, size_t n)
{
	const char *p = list;

	while (*p) {
		size_t k = 0;

		while (p[k] && p[k] != ' ')
			k++;
		if (k == n) {
			size_t i = 0;
			while (i < n && p[i] == name[i])
				i++;
			if (i == n)
				return true;
		}
		p += k;
		while (*p == ' ')
			p++;
	}
	return false;
}

bool fl__errno_ok(unsigned op, int err)
{
	if (op == 0 || op >= FL_OP__COUNT)
		return false;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++) {
		if (errnos[i].value != err)
			continue;
		size_t n = 0;
		while (errnos[i].name[n])
			n++;
		if (in_list(op_errnos[op], errnos[i].name, n))
			return true;
	}
	return false;
}

static bool terminated(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i])
			return true;
	return false;
}

static int check_target(const struct fl_target *t)
{
	if (!terminated(t->name, sizeof(t->name)) ||
	    !terminated(t->pattern, sizeof(t->pattern)))
		return FL_REFUSE_TARGET;
	switch (t->kind) {
	case FL_TK_TCP:
	case FL_TK_UDP:
		if (!(t->flags & FL_TF_ANY_HOST) && t->family != AF_INET &&
		    t->family != AF_INET6)
			return FL_REFUSE_TARGET;
		return 0;
	case FL_TK_UNIX:
	case FL_TK_PATH:
	case FL_TK_HOST:
		return 0;
	default:
		return FL_REFUSE_TARGET;
	}
}

static bool is_clock_fault(unsigned f)
{
	return f == FL_FAULT_OFFSET || f == FL_FAULT_DRIFT || f == FL_FAULT_FREEZE ||
	       f == FL_FAULT_JUMP;
}

static int check_rule(const struct fl_ctl *c, const struct fl_rule *r)
{
	unsigned nt = c->hdr.ntargets, nr = c->hdr.nrules;

	if ((r->flags & FL_RF_WINDOW) &&
	    (r->win_from_ns > r->win_to_ns || r->win_from_ns < -MAX_WIN_NS ||
	     r->win_to_ns > MAX_WIN_NS))
		return FL_REFUSE_RULE;
	if (r->flags & FL_RF_CLOCK)
		return r->clock < FL_CLK__COUNT && is_clock_fault(r->fault) ? 0
									    : FL_REFUSE_RULE;
	if (r->target == 0 || r->target >= nt || r->next > nr)
		return FL_REFUSE_RULE; /* r->op: fl__rule_act_check */
	if ((r->flags & FL_RF_NTH) && r->nth_lo > r->nth_hi)
		return FL_REFUSE_RULE;
	if ((r->flags & FL_RF_UNTIL) &&
	    (r->until_target == 0 || r->until_target >= nt || r->until_op == 0 ||
	     r->until_op >= FL_OP__COUNT || r->until_max_ns < 0 ||
	     r->until_max_ns > MAX_DUR_NS))
		return FL_REFUSE_RULE;
	return fl__rule_act_check(r, r->op);
}

/* What the act layer would carry out: the fault for the op, its errno, its
 * sizes and durations. Also run at decision time on the rule that fired
 * (fl__decide_at): the controller may republish rules after attach, and a
 * rule read while it is rewritten may be torn. */
int fl__rule_act_check(const struct fl_rule *r, unsigned op)
{
	if (op == 0 || op >= FL_OP__COUNT || r->fault == 0 || r->fault >= FL_FAULT__COUNT ||
	    !((fault_valid[r->fault] >> op) & 1u))
		return FL_REFUSE_RULE;
	/* 0 <= jitter <= ns: no negative duration either */
	if (r->ns > MAX_DUR_NS || r->jitter_ns < 0 || r->jitter_ns > r->ns)
		return FL_REFUSE_SIZE;
	if (r->fault == FL_FAULT_SHORT && (r->bytes < 1 || r->bytes > MAX_BYTES))
		return FL_REFUSE_SIZE;
	/* an error needs a whitelisted errno; any other fault may carry none */
	if ((r->fault == FL_FAULT_ERROR || r->err != 0) && !fl__errno_ok(op, r->err))
		return FL_REFUSE_ERRNO;
	return 0;
}

int fl__plan_check(const struct fl_ctl *c, uint32_t euid)
{
	const struct fl_hdr *h = &c->hdr;
	int err;

	if (atomic_load_explicit((const _Atomic uint64_t *)&h->magic,
				 memory_order_acquire) != FL_CTL_MAGIC ||
	    h->abi != FL_ABI_VERSION || h->size != sizeof(*c) || h->owner_uid != euid ||
	    h->ntargets < 1 || h->ntargets > FL_MAX_TARGETS || h->nrules > FL_MAX_RULES)
		return FL_REFUSE_HEADER;
	if (h->stale_ns < FL_HEARTBEAT_NS || h->stale_ns > FL_STALE_NS_MAX)
		return FL_REFUSE_STALE_NS;
	if (!terminated(h->snapdir, sizeof(h->snapdir)) ||
	    (h->snapdir[0] && h->snapdir[0] != '/'))
		return FL_REFUSE_STRING;
	for (unsigned t = 0; t < FL_MAX_TARGETS; t++)
		for (unsigned op = 0; op < FL_OP__COUNT; op++)
			if (h->rule_head[t][op] > h->nrules)
				return FL_REFUSE_RULE;
	for (unsigned i = 1; i < h->ntargets; i++)
		if ((err = check_target(&c->targets[i])))
			return err;
	for (unsigned i = 0; i < h->nrules; i++)
		if ((err = check_rule(c, &c->rules[i])))
			return err;
	return 0;
}
