/*
 * profile_names.c — name tables for ops, faults, errnos, clocks and target
 * kinds, all expanded from faultline/ops.h so a name exists in one place.
 *
 * Invariant: every table is indexed by its enum; index 0 (NONE) is "none".
 */
#include <stdbool.h>
#include <string.h>

#include "profile.h"

static const char *const op_names[FL_OP__COUNT] = {
	[FL_OP_NONE] = "none",
#define X(id, name, errs) [FL_OP_##id] = name,
	FL_OPS(X)
#undef X
};

static const char *const op_errnos[FL_OP__COUNT] = {
	[FL_OP_NONE] = "",
#define X(id, name, errs) [FL_OP_##id] = errs,
	FL_OPS(X)
#undef X
};

static const char *const fault_names[FL_FAULT__COUNT] = {
	[FL_FAULT_NONE] = "none",
#define X(id, name, valid) [FL_FAULT_##id] = name,
	FL_FAULTS(X)
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

static const char *const clock_names[FL_CLK__COUNT] = {
	[FL_CLK_REALTIME] = "realtime",
	[FL_CLK_MONOTONIC] = "monotonic",
	[FL_CLK_BOOTTIME] = "boottime",
};

static const char *const kind_names[] = {
	[FL_TK_NONE] = "none", [FL_TK_TCP] = "tcp", [FL_TK_UDP] = "udp",
	[FL_TK_UNIX] = "unix", [FL_TK_PATH] = "path", [FL_TK_HOST] = "host",
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static int by_name(const char *const *names, int n, int first, const char *name)
{
	for (int i = first; name && i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

const char *fl_op_name(int op)
{
	return op >= 0 && op < FL_OP__COUNT ? op_names[op] : "?";
}

const char *fl_fault_name(int fault)
{
	return fault >= 0 && fault < FL_FAULT__COUNT ? fault_names[fault] : "?";
}

const char *fl_clock_name(int clock)
{
	return clock >= 0 && clock < FL_CLK__COUNT ? clock_names[clock] : "?";
}

const char *fl_target_kind_name(int kind)
{
	return kind >= 0 && kind < COUNT(kind_names) ? kind_names[kind] : "?";
}

const char *fl_errno_name(int err)
{
	for (int i = 0; i < COUNT(errnos); i++)
		if (errnos[i].value == err)
			return errnos[i].name;
	return NULL;
}

int fl_op_by_name(const char *name)
{
	return by_name(op_names, FL_OP__COUNT, 1, name);
}

int fl_fault_by_name(const char *name)
{
	return by_name(fault_names, FL_FAULT__COUNT, 1, name);
}

int fl_clock_by_name(const char *name)
{
	return by_name(clock_names, FL_CLK__COUNT, 0, name);
}

bool fl_errno_by_name(const char *name, int *out)
{
	for (int i = 0; name && i < COUNT(errnos); i++) {
		if (strcmp(errnos[i].name, name) == 0) {
			*out = errnos[i].value;
			return true;
		}
	}
	return false;
}

const char *fl_op_errnos(int op)
{
	return op > 0 && op < FL_OP__COUNT ? op_errnos[op] : "";
}

/* Is `word` one of the space-separated words of `list`? */
static bool in_list(const char *list, const char *word)
{
	size_t n = strlen(word);

	while (*list) {
		size_t len = strcspn(list, " ");

		if (len == n && memcmp(list, word, n) == 0)
			return true;
		list += len;
		list += strspn(list, " ");
	}
	return false;
}

bool fl_errno_valid_for_op(int op, int err)
{
	const char *name = fl_errno_name(err);

	return name && in_list(fl_op_errnos(op), name);
}

bool fl_fault_valid_for_op(int fault, int op)
{
	if (fault <= 0 || fault >= FL_FAULT__COUNT || op <= 0 || op >= FL_OP__COUNT)
		return false;
	return (fault_valid[fault] >> op) & 1u;
}

bool fl_fault_is_clock(int fault)
{
	return fault == FL_FAULT_OFFSET || fault == FL_FAULT_DRIFT ||
	       fault == FL_FAULT_FREEZE || fault == FL_FAULT_JUMP;
}

unsigned fl_target_kind_ops(int kind)
{
	/* The shim counts read()/write() on a socket as recv/send. */
	const unsigned sock = FL_OPS_SOCK | FL_OPBIT(CLOSE);

	switch (kind) {
	case FL_TK_TCP:
	case FL_TK_UDP:
		return sock | FL_OPBIT(PACKET);
	case FL_TK_UNIX:
		return sock;
	case FL_TK_PATH:
		return FL_OPBIT(OPEN) | FL_OPBIT(READ) | FL_OPBIT(WRITE) |
		       FL_OPBIT(FSYNC) | FL_OPBIT(RENAME) | FL_OPBIT(CLOSE);
	case FL_TK_HOST:
		return FL_OPBIT(RESOLVE);
	default:
		return 0;
	}
}

/* Here, with the other lookups by name, so that profile_rules.c (which
 * needs it) does not import from profile.c (which imports it): the loader's
 * files depend one way, profile.c -> profile_rules.c -> profile_names.c. */
int fl__profile_target_id(const struct fl_profile *p, const char *name)
{
	for (uint32_t i = 1; name && i < p->ntargets; i++)
		if (strcmp(p->targets[i].name, name) == 0)
			return (int)i;
	return 0;
}
