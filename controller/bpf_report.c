/*
 * bpf_report.c — the eBPF layer's maps, read into cumulative counters and
 * written to the timeline: a "kernel" record per period with what changed,
 * and each rule's kernel account in the summary (see bpf.h).
 *
 * Records (members after type and t_ms):
 *   first:  "observer": true|false, "why" (when off), "cgroup", "cgroup_id",
 *           "latency_sample": S (one call in S is timed: log2_ns and
 *           mean_us are over that sample; n, errors, errno are exact),
 *           "injectors": [rule ids applied in the kernel],
 *           "hook": "fentry/fexit" (a trampoline on each observed call's
 *           entry point) or "sys_enter/sys_exit" (the fallback where the
 *           kernel refuses trampolines, with "hook_why"),
 *           "syscalls_observed": [NAME] (with fentry/fexit, the only
 *           system calls the period records' "syscalls" can list, see
 *           bpf.c), or null (the tracepoints: every call)
 *   period: "interval_ms",
 *           "syscalls": {NAME: {"n", "errors", "mean_us", "log2_ns": {B: n},
 *                       "errno": {ENAME: n}}}   calls that ended in the
 *                       interval; log2_ns bucket B counts [2^B, 2^(B+1)) ns
 *           "connects": [{"dst": "ADDR:PORT", "result": "ok"|ENAME, "n"}]
 *           "tcp": {"retransmits", "state_to": {STATE: n}}
 *           "io_uring": {"sqes", "ops": {OP: n}}
 *           "injected": {RULE: n}    the kernel rules' faults
 * Only what changed is listed; every record has every key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpf_int.h"
#include "profile.h"
#include "timeline.h"
#include "observe.skel.h"
#include "inject.skel.h"

static const char *const sysnames[] = {
#include "syscall_names.h"
};
#define NSYSNAMES (sizeof(sysnames) / sizeof(sysnames[0]))

const char *fl__bpf_sysname(unsigned nr)
{
	return nr < NSYSNAMES && sysnames[nr] ? sysnames[nr] : NULL;
}

int fl__bpf_sysnr(const char *name)
{
	for (unsigned i = 0; i < NSYSNAMES; i++)
		if (sysnames[i] && !strcmp(sysnames[i], name))
			return (int)i;
	return -1;
}

static const char *const tcp_states[FLB_TCP_STATES] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV",
	[4] = "FIN_WAIT1", [5] = "FIN_WAIT2", [6] = "TIME_WAIT", [7] = "CLOSE",
	[8] = "CLOSE_WAIT", [9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING",
	[12] = "NEW_SYN_RECV", [13] = "BOUND_INACTIVE",
};

/* IORING_OP_* in the kernel's uapi order. */
static const char *const uring_ops[] = {
	"NOP", "READV", "WRITEV", "FSYNC", "READ_FIXED", "WRITE_FIXED",
	"POLL_ADD", "POLL_REMOVE", "SYNC_FILE_RANGE", "SENDMSG", "RECVMSG",
	"TIMEOUT", "TIMEOUT_REMOVE", "ACCEPT", "ASYNC_CANCEL", "LINK_TIMEOUT",
	"CONNECT", "FALLOCATE", "OPENAT", "CLOSE", "FILES_UPDATE", "STATX",
	"READ", "WRITE", "FADVISE", "MADVISE", "SEND", "RECV", "OPENAT2",
	"EPOLL_CTL", "SPLICE", "PROVIDE_BUFFERS", "REMOVE_BUFFERS", "TEE",
	"SHUTDOWN", "RENAMEAT", "UNLINKAT", "MKDIRAT", "SYMLINKAT", "LINKAT",
	"MSG_RING", "FSETXATTR", "SETXATTR", "FGETXATTR", "GETXATTR", "SOCKET",
	"URING_CMD", "SEND_ZC", "SENDMSG_ZC", "READ_MULTISHOT", "WAITID",
	"FUTEX_WAIT", "FUTEX_WAKE", "FUTEX_WAITV", "FIXED_FD_INSTALL",
	"FTRUNCATE", "BIND", "LISTEN", "RECV_ZC", "EPOLL_WAIT", "READV_FIXED",
	"WRITEV_FIXED", "PIPE",
};

/* The system calls that carry each op, by name (resolved per arch): what
 * the summary counts for a rule, and what the observer attaches to for a
 * profile's rules (bpf.c; observe.bpf.c has a program pair for each). A
 * superset of seccomp.c's op_syscalls. */
static const char *const op_calls[FL_OP__COUNT] = {
	[FL_OP_CONNECT] = "connect",
	[FL_OP_ACCEPT] = "accept accept4",
	[FL_OP_SEND] = "sendto sendmsg sendmmsg write writev",
	[FL_OP_RECV] = "recvfrom recvmsg recvmmsg read readv",
	[FL_OP_READ] = "read readv pread64 preadv preadv2",
	[FL_OP_WRITE] = "write writev pwrite64 pwritev pwritev2",
	[FL_OP_OPEN] = "open openat openat2 creat",
	[FL_OP_FSYNC] = "fsync fdatasync",
	[FL_OP_RENAME] = "rename renameat renameat2",
	[FL_OP_CLOSE] = "close",
};

const char *fl__bpf_op_calls(unsigned op)
{
	return op < FL_OP__COUNT ? op_calls[op] : NULL;
}

static void put_errname(FILE *f, int e)
{
	const char *n = strerrorname_np(e);

	if (n)
		fprintf(f, "\"%s\"", n);
	else
		fprintf(f, "\"E%d\"", e);
}

/* ---- reading the maps ------------------------------------------------------ */

static void read_sc(struct fl_bpf *b)
{
	int fd = bpf_map__fd(b->obs->maps.sc);
	size_t vs = sizeof(struct flb_sc);
	__u32 keys[FLB_NR_MAX], out = 0, count = FLB_NR_MAX;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	int err;

	err = bpf_map_lookup_batch(fd, NULL, &out, keys, b->buf, &count, &opts);
	if (err < 0 && errno != ENOENT)
		count = 0;
	if (count == 0) {
		/* no batch ops: one lookup per number */
		for (__u32 k = 0; k < FLB_NR_MAX; k++) {
			keys[k] = k;
			if (bpf_map_lookup_elem(fd, &k, (char *)b->buf +
						(size_t)k * b->ncpu * vs) < 0)
				memset((char *)b->buf + (size_t)k * b->ncpu * vs, 0,
				       b->ncpu * vs);
		}
		count = FLB_NR_MAX;
	}
	for (__u32 k = 0; k < count; k++) {
		struct flb_sc *dst;

		if (keys[k] >= FLB_NR_MAX)
			continue;
		dst = &b->sc[keys[k]];
		memset(dst, 0, sizeof(*dst));
		for (int c = 0; c < b->ncpu; c++) {
			const __u64 *src = (const __u64 *)((char *)b->buf +
							   ((size_t)k * b->ncpu + c) * vs);
			__u64 *d = (__u64 *)dst;

			for (size_t w = 0; w < vs / 8; w++)
				d[w] += src[w];
		}
	}
}

static uint64_t sum_percpu(const __u64 *v, int ncpu)
{
	uint64_t s = 0;

	for (int c = 0; c < ncpu; c++)
		s += v[c];
	return s;
}

static void read_errs(struct fl_bpf *b)
{
	int fd = bpf_map__fd(b->obs->maps.errs);
	struct flb_err_key k, next;
	__u64 v[b->ncpu];
	bool first = true;

	while (bpf_map_get_next_key(fd, first ? NULL : &k, &next) == 0) {
		unsigned i;

		first = false;
		k = next;
		if (bpf_map_lookup_elem(fd, &k, v) < 0)
			continue;
		for (i = 0; i < b->nerrs; i++)
			if (!memcmp(&b->errs[i].k, &k, sizeof(k)))
				break;
		if (i == b->nerrs) {
			if (b->nerrs == FLB_ERRS_MAX)
				continue;
			b->errs[b->nerrs++].k = k;
		}
		b->errs[i].tot = sum_percpu(v, b->ncpu);
	}
}

static void read_conns(struct fl_bpf *b)
{
	int fd = bpf_map__fd(b->obs->maps.conns);
	struct flb_conn_key k, next;
	bool first = true;
	__u64 v;

	memset(&k, 0, sizeof(k));
	while (bpf_map_get_next_key(fd, first ? NULL : &k, &next) == 0) {
		unsigned i;

		first = false;
		k = next;
		if (bpf_map_lookup_elem(fd, &k, &v) < 0)
			continue;
		for (i = 0; i < b->nconns; i++)
			if (!memcmp(&b->conns[i].k, &k, sizeof(k)))
				break;
		if (i == b->nconns) {
			if (b->nconns == FLB_CONNS_MAX)
				continue;
			b->conns[b->nconns++].k = k;
		}
		b->conns[i].tot = v;
	}
}

static void read_misc(struct fl_bpf *b)
{
	int fd = bpf_map__fd(b->obs->maps.misc);
	size_t words = sizeof(struct flb_misc) / 8;
	__u64 *v = calloc((size_t)b->ncpu, sizeof(struct flb_misc));
	__u32 k = 0;

	if (!v)
		return;
	if (bpf_map_lookup_elem(fd, &k, v) == 0) {
		__u64 *d = (__u64 *)&b->misc;

		memset(&b->misc, 0, sizeof(b->misc));
		for (int c = 0; c < b->ncpu; c++)
			for (size_t w = 0; w < words; w++)
				d[w] += v[(size_t)c * words + w];
	}
	free(v);
}

static void read_ihits(struct fl_bpf *b)
{
	int fd;
	__u64 v[b->ncpu];

	if (!b->inj)
		return;
	fd = bpf_map__fd(b->inj->maps.ihits);
	for (__u32 k = 0; k < b->nirules; k++)
		if (bpf_map_lookup_elem(fd, &k, v) == 0)
			b->ihits[k] = sum_percpu(v, b->ncpu);
}

void fl__bpf_read(struct fl_bpf *b)
{
	if (b->obs) {
		read_sc(b);
		read_errs(b);
		read_conns(b);
		read_misc(b);
	}
	read_ihits(b);
}

/* ---- records --------------------------------------------------------------- */

static void put_dst(FILE *f, const struct flb_conn_key *k)
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (k->family == AF_INET || k->family == AF_INET6)
		inet_ntop(k->family, k->addr, a, sizeof(a));
	fprintf(f, k->family == AF_INET6 ? "\"[%s]:%u\"" : "\"%s:%u\"", a, k->port);
}

static void put_syscalls(FILE *f, struct fl_bpf *b)
{
	bool first = true;

	fputs(",\"syscalls\":{", f);
	for (unsigned nr = 0; nr < FLB_NR_MAX; nr++) {
		const struct flb_sc *c = &b->sc[nr], *p = &b->sc_prev[nr];
		uint64_t n = c->n - p->n, timed = 0;
		const char *name = fl__bpf_sysname(nr);
		bool f2 = true;

		if (!n)
			continue;
		for (int h = 0; h < FLB_HBUCKETS; h++)
			timed += c->hist[h] - p->hist[h];
		fprintf(f, "%s", first ? "" : ",");
		first = false;
		if (name)
			fprintf(f, "\"%s\"", name);
		else
			fprintf(f, "\"nr%u\"", nr);
		fprintf(f, ":{\"n\":%" PRIu64 ",\"errors\":%" PRIu64 ",\"mean_us\":%.3f"
			",\"log2_ns\":{", n, (uint64_t)(c->errs - p->errs),
			timed ? (double)(c->sum_ns - p->sum_ns) / (double)timed / 1e3 : 0.0);
		for (int h = 0; h < FLB_HBUCKETS; h++)
			if (c->hist[h] != p->hist[h]) {
				fprintf(f, "%s\"%d\":%" PRIu64, f2 ? "" : ",", h,
					(uint64_t)(c->hist[h] - p->hist[h]));
				f2 = false;
			}
		fputs("},\"errno\":{", f);
		f2 = true;
		for (unsigned i = 0; i < b->nerrs; i++) {
			const struct fl__bpf_err *e = &b->errs[i];

			if (e->k.nr != nr || e->tot == e->prev)
				continue;
			fputs(f2 ? "" : ",", f);
			put_errname(f, (int)e->k.err);
			fprintf(f, ":%" PRIu64, e->tot - e->prev);
			f2 = false;
		}
		fputs("}}", f);
	}
	fputc('}', f);
}

static void put_connects(FILE *f, const struct fl_bpf *b)
{
	bool first = true;

	fputs(",\"connects\":[", f);
	for (unsigned i = 0; i < b->nconns; i++) {
		const struct fl__bpf_conn *c = &b->conns[i];

		if (c->tot == c->prev)
			continue;
		fputs(first ? "{\"dst\":" : ",{\"dst\":", f);
		first = false;
		put_dst(f, &c->k);
		fputs(",\"result\":", f);
		if (c->k.err)
			put_errname(f, c->k.err);
		else
			fputs("\"ok\"", f);
		fprintf(f, ",\"n\":%" PRIu64 "}", c->tot - c->prev);
	}
	fputc(']', f);
}

static void put_misc(FILE *f, const struct fl_bpf *b)
{
	const struct flb_misc *c = &b->misc, *p = &b->misc_prev;
	bool first = true;

	fprintf(f, ",\"tcp\":{\"retransmits\":%" PRIu64 ",\"state_to\":{",
		(uint64_t)(c->retrans - p->retrans));
	for (int s = 0; s < FLB_TCP_STATES; s++)
		if (c->state_to[s] != p->state_to[s]) {
			fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",",
				tcp_states[s] ? tcp_states[s] : "?", (uint64_t)(c->state_to[s] - p->state_to[s]));
			first = false;
		}
	fprintf(f, "}},\"io_uring\":{\"sqes\":%" PRIu64 ",\"ops\":{",
		(uint64_t)(c->uring_sqes - p->uring_sqes));
	first = true;
	for (int o = 0; o < FLB_URING_OPS; o++)
		if (c->uring_op[o] != p->uring_op[o]) {
			if (o < (int)(sizeof(uring_ops) / sizeof(uring_ops[0])))
				fprintf(f, "%s\"%s\"", first ? "" : ",", uring_ops[o]);
			else
				fprintf(f, "%s\"op%d\"", first ? "" : ",", o);
			fprintf(f, ":%" PRIu64, (uint64_t)(c->uring_op[o] - p->uring_op[o]));
			first = false;
		}
	fputs("}}", f);
}

struct period { struct fl_bpf *b; int64_t interval_ns; };

static void put_period(FILE *f, void *arg)
{
	struct period *pr = arg;
	struct fl_bpf *b = pr->b;
	bool first = true;

	fprintf(f, ",\"interval_ms\":%.3f", (double)pr->interval_ns / 1e6);
	put_syscalls(f, b);
	put_connects(f, b);
	put_misc(f, b);
	fputs(",\"injected\":{", f);
	for (unsigned k = 0; k < b->nirules; k++)
		if (b->ihits[k] != b->ihits_prev[k]) {
			fprintf(f, "%s\"%u\":%" PRIu64, first ? "" : ",", b->rule_of[k],
				b->ihits[k] - b->ihits_prev[k]);
			first = false;
		}
	fputc('}', f);
}

static void put_status(FILE *f, void *arg)
{
	struct fl_bpf *b = arg;

	fprintf(f, ",\"observer\":%s", b->obs ? "true" : "false");
	if (!b->obs) {
		fputs(",\"why\":", f);
		fl_json_put_str(f, b->why);
		return;
	}
	fputs(",\"cgroup\":", f);
	fl_json_put_str(f, b->cg.path);
	fprintf(f, ",\"cgroup_id\":%" PRIu64 ",\"latency_sample\":%u,\"injectors\":[",
		b->cg.id, 1u << FLB_LAT_SHIFT);
	for (unsigned k = 0; k < b->nirules; k++)
		fprintf(f, "%s%u", k ? "," : "", b->rule_of[k]);
	fprintf(f, "],\"hook\":\"%s\"", b->tramp ? "fentry/fexit" : "sys_enter/sys_exit");
	if (!b->tramp) {
		/* every system call is seen, and the whole machine pays */
		fputs(",\"hook_why\":", f);
		fl_json_put_str(f, b->hook_why);
		fputs(",\"syscalls_observed\":null", f);
		return;
	}
	fputs(",\"syscalls_observed\":[", f);
	for (unsigned nr = 0, n = 0; nr < FLB_NR_MAX; nr++)
		if (b->observed[nr / 64] & (1ull << (nr % 64))) {
			const char *name = fl__bpf_sysname(nr);

			fputs(n++ ? "," : "", f);
			if (name)
				fprintf(f, "\"%s\"", name);
			else
				fprintf(f, "\"nr%u\"", nr);
		}
	fputc(']', f);
}

void fl_bpf_start(struct fl_bpf *b, struct fl_timeline *tl)
{
	if (!b || b->started)
		return;
	b->started = true;
	fl_timeline_kernel(tl, 0, put_status, b);
}

static void publish_hits(struct fl_bpf *b, struct fl_ctl *ctl)
{
	for (unsigned k = 0; ctl && k < b->nirules; k++)
		atomic_store_explicit(&ctl->hits[b->rule_of[k]], b->ihits[k],
				      memory_order_relaxed);
}

static void record(struct fl_bpf *b, struct fl_timeline *tl, struct fl_ctl *ctl,
		   int64_t t_ns)
{
	struct period pr = { b, t_ns - b->last_ns };

	fl__bpf_read(b);
	publish_hits(b, ctl);
	if (b->obs)
		fl_timeline_kernel(tl, t_ns, put_period, &pr);
	memcpy(b->sc_prev, b->sc, sizeof(b->sc));
	for (unsigned i = 0; i < b->nerrs; i++)
		b->errs[i].prev = b->errs[i].tot;
	for (unsigned i = 0; i < b->nconns; i++)
		b->conns[i].prev = b->conns[i].tot;
	b->misc_prev = b->misc;
	memcpy(b->ihits_prev, b->ihits, sizeof(b->ihits));
	b->last_ns = t_ns;
}

void fl_bpf_poll(struct fl_bpf *b, struct fl_timeline *tl, struct fl_ctl *ctl,
		 int64_t t_ns)
{
	if (!b || (!b->obs && !b->inj) || t_ns - b->last_ns < b->period_ns)
		return;
	record(b, tl, ctl, t_ns);
}

void fl_bpf_final(struct fl_bpf *b, struct fl_timeline *tl, struct fl_ctl *ctl,
		  int64_t t_ns)
{
	if (b && (b->obs || b->inj))
		record(b, tl, ctl, t_ns);
}

/* ---- the summary's per-rule account ------------------------------------------ */

static bool conn_to(const struct fl_target *t, const struct flb_conn_key *k)
{
	if (!(t->flags & FL_TF_ANY_PORT) && t->port != k->port)
		return false;
	if (t->flags & FL_TF_ANY_HOST)
		return true;
	return t->family == k->family &&
	       !memcmp(t->addr, k->addr, t->family == AF_INET ? 4 : 16);
}

/* "calls" of the op's system calls, and how many returned `err`. */
static void op_totals(const struct fl_bpf *b, int op, int err, uint64_t *calls,
		      uint64_t *errs)
{
	char list[128], *save = NULL;

	*calls = *errs = 0;
	snprintf(list, sizeof(list), "%s", op_calls[op] ? op_calls[op] : "");
	for (char *w = strtok_r(list, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		int nr = fl__bpf_sysnr(w);

		if (nr < 0 || nr >= FLB_NR_MAX)
			continue;
		*calls += b->sc[nr].n;
		for (unsigned i = 0; i < b->nerrs; i++)
			if (b->errs[i].k.nr == (unsigned)nr && (int)b->errs[i].k.err == err)
				*errs += b->errs[i].tot;
	}
}

/* The target's connects by result; returns their total. */
static uint64_t put_target(FILE *f, const struct fl_bpf *b, const struct fl_target *t)
{
	uint64_t n = 0;
	bool first = true;

	for (unsigned i = 0; i < b->nconns; i++)
		if (conn_to(t, &b->conns[i].k))
			n += b->conns[i].tot;
	fprintf(f, ",\"target\":{\"calls\":%" PRIu64 ",\"results\":{", n);
	for (unsigned i = 0; i < b->nconns; i++) {
		const struct fl__bpf_conn *c = &b->conns[i];

		if (!conn_to(t, &c->k))
			continue;
		fputs(first ? "" : ",", f);
		first = false;
		if (c->k.err)
			put_errname(f, c->k.err);
		else
			fputs("\"ok\"", f);
		fprintf(f, ":%" PRIu64, c->tot);
	}
	fputs("}}", f);
	return n;
}

void fl_bpf_summary_rule(FILE *f, uint32_t rule, void *arg)
{
	struct fl_bpf *b = arg;
	const struct fl_rule *r;
	const struct fl_target *t;
	uint64_t calls, errs, to;
	bool kern;

	if (!b || !b->obs || !b->p || rule >= b->p->nrules)
		return;
	r = &b->p->rules[rule];
	kern = r->flags & FL_RF_KERNEL;
	if (kern) /* the others follow --mode (the start record says which) */
		fputs(",\"layer\":\"bpf\"", f);
	if ((r->flags & FL_RF_CLOCK) || r->op == FL_OP_RESOLVE ||
	    (!op_calls[r->op] && r->op != FL_OP_PACKET)) {
		/* clocks go through the vDSO and names through the resolver:
		 * no system call of theirs to count */
		fputs(",\"kernel\":null", f);
		return;
	}
	t = &b->p->targets[r->target];
	fputs(",\"kernel\":{", f);
	if (r->op == FL_OP_PACKET) {
		fprintf(f, "\"tcp_retransmits\":%" PRIu64 "}", (uint64_t)(b->misc.retrans));
		return;
	}
	op_totals(b, r->op, r->err, &calls, &errs);
	fprintf(f, "\"calls\":%" PRIu64, calls);
	if (r->fault == FL_FAULT_ERROR) {
		fputs(",\"errno\":{", f);
		put_errname(f, r->err);
		fprintf(f, ":%" PRIu64 "}", errs);
	}
	if (r->op == FL_OP_CONNECT && (t->kind == FL_TK_TCP || t->kind == FL_TK_UDP)) {
		to = put_target(f, b, t);
		/* An unconditional error rule replaces every call it matches:
		 * one of the target's connects that reached the kernel escaped
		 * the layer that should have failed it. */
		if (!kern && r->fault == FL_FAULT_ERROR &&
		    !(r->flags & (FL_RF_NTH | FL_RF_WINDOW | FL_RF_PROB | FL_RF_SCALED |
				  FL_RF_UNTIL)))
			fprintf(f, ",\"escaped\":%" PRIu64, to);
	}
	fputc('}', f);
}
