/*
 * bpf.h — the eBPF layer of a session: the kernel's own account of the
 * command's cgroup (the observer), and the faults only the kernel can make
 * for any binary in it (the injectors); the programs are in the bpf directory.
 *
 * Lifecycle, from session.c:
 *   fl_bpf_open        before CMD starts: cgroup, load, attach. A rule that
 *                      needs the layer (op "packet", or "layer": "bpf") and
 *                      cannot have it is an error here, so CMD never starts.
 *                      Without such a rule a missing layer only turns the
 *                      observer off, with what is missing and how to get it.
 *   fl_bpf_cgroup_procs  what the child writes itself into (spawn.h)
 *   fl_bpf_start       one "kernel" record saying what is on
 *   fl_bpf_poll        from the heartbeat: a "kernel" record per period
 *                      (a scenario tick, or 1 s), and the kernel rules'
 *                      counts into the block's hits (budgets, summary)
 *   fl_bpf_intensities from the ticker's publish: a market-bound kernel
 *                      rule's probability follows its intensity, as a
 *                      shim rule's does (written into the injectors'
 *                      mmaped .bss: no system call)
 *   fl_bpf_final       the last record, before the summary
 *   fl_bpf_summary_rule  the summary's per-rule "kernel" object
 *   fl_bpf_close       links, programs, maps and the cgroup released
 *
 * Nothing is pinned: every program is held by a link whose only reference
 * is our fd, so a controller killed with -9 leaves nothing attached; the
 * cgroup it leaves is swept by the next run (cgroup.h).
 *
 * Ownership: fl_bpf_open allocates; fl_bpf_close frees and accepts NULL.
 */
#ifndef FL_BPF_H
#define FL_BPF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct fl_bpf;
struct fl_profile;
struct fl_timeline;
struct fl_ctl;

struct fl_bpf_opts {
	const struct fl_profile *p; /* NULL: no rules */
	bool run;                   /* faultline run: a cgroup for CMD */
	const char *cgroup;         /* drill --cgroup PATH, or NULL */
	bool off;                   /* --no-bpf */
	bool quiet;                 /* -q: no notice when the observer is off */
	int64_t period_ns;          /* kernel record period, 0 = 1 s */
};

/* Returns 0 and *out (never NULL on success, maybe with everything off),
 * or -errno after printing why (a rule needs what is missing). */
int fl_bpf_open(struct fl_bpf **out, const struct fl_bpf_opts *o);
/* The cgroup.procs fd the child joins before exec, or NULL. */
const int *fl_bpf_cgroup_procs(const struct fl_bpf *b);
bool fl_bpf_observing(const struct fl_bpf *b);
void fl_bpf_start(struct fl_bpf *b, struct fl_timeline *tl);
void fl_bpf_poll(struct fl_bpf *b, struct fl_timeline *tl, struct fl_ctl *ctl,
		 int64_t t_ns);
/* Intensities (0..1) of the bound rules rules[0..n): the same arrays as the
 * ticker's scaled/inten. Rules that are not kernel rules are ignored. */
void fl_bpf_intensities(struct fl_bpf *b, const int *rules, const double *inten, int n);
void fl_bpf_final(struct fl_bpf *b, struct fl_timeline *tl, struct fl_ctl *ctl,
		  int64_t t_ns);
/* For struct fl_tl_summary's rule_extra: writes ,"kernel":{...} for rule
 * `rule` (nothing when the observer is off). arg is the struct fl_bpf. */
void fl_bpf_summary_rule(FILE *f, uint32_t rule, void *arg);
void fl_bpf_close(struct fl_bpf *b);

/* True when the profile has a rule only the eBPF layer can apply. */
bool fl_bpf_rule_is_kernel(const struct fl_profile *p, uint32_t rule);

#endif /* FL_BPF_H */
