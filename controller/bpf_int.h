/*
 * bpf_int.h — internal to controller/bpf*.c: the layer's state, shared by
 * the loader (bpf.c) and the reader of its maps (bpf_report.c).
 */
#ifndef FL_BPF_INT_H
#define FL_BPF_INT_H

#include <linux/types.h>
#include <stdbool.h>
#include <stdint.h>

#include "bpf.h"
#include "cgroup.h"
#include "fl_bpf.h"

struct fl_observe;
struct fl_inject;

/* A counter keyed by a map key, with what the last record reported. */
struct fl__bpf_err { struct flb_err_key k; uint64_t tot, prev; };
struct fl__bpf_conn { struct flb_conn_key k; uint64_t tot, prev; };

struct fl_bpf {
	const struct fl_profile *p;
	struct fl_cgroup cg;
	struct fl_observe *obs;    /* NULL: observer off (why says why) */
	struct fl_inject *inj;     /* NULL: no kernel rules */
	char why[512];
	bool tramp;                /* fentry/fexit pairs; false: sys_enter/sys_exit */
	char hook_why[320];        /* why not fentry/fexit, or "" */
	uint64_t observed[FLB_NR_MAX / 64]; /* with tramp: the calls with a pair */
	int ncpu;
	int64_t period_ns, last_ns;
	bool started;
	/* cumulative, summed over CPUs, and as last reported */
	struct flb_sc sc[FLB_NR_MAX], sc_prev[FLB_NR_MAX];
	void *buf;                 /* percpu read buffer */
	size_t buflen;
	struct fl__bpf_err errs[FLB_ERRS_MAX];
	unsigned nerrs;
	struct fl__bpf_conn conns[FLB_CONNS_MAX];
	unsigned nconns;
	struct flb_misc misc, misc_prev;
	/* injector rules: irule[k] is profile rule rule_of[k] */
	unsigned nirules;
	uint32_t rule_of[FLB_IRULES];
	uint32_t base_prob[FLB_IRULES]; /* the rule's own threshold (flb_irule.prob) */
	uint64_t ihits[FLB_IRULES], ihits_prev[FLB_IRULES];
};

/* bpf_report.c: read every map into the cumulative counters. */
void fl__bpf_read(struct fl_bpf *b);
/* Syscall name for nr ("?" none) and nr of a name (-1). */
const char *fl__bpf_sysname(unsigned nr);
int fl__bpf_sysnr(const char *name);
/* The system calls of op, space-separated names, or NULL. */
const char *fl__bpf_op_calls(unsigned op);

#endif /* FL_BPF_INT_H */
