/*
 * mode_run.c — the interception layer of one `run` session (mode.h): the
 * choice, the filter before fork, the supervisor after it. session.c calls
 * these and nothing else of the seccomp code.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#include <linux/seccomp.h>

#include "elfinfo.h"
#include "mode.h"
#include "spawn.h"

int fl_layer_choose(struct fl_layer *ly, enum fl_mode want, char *const *cmd,
		    unsigned uid, unsigned gid, bool verbose)
{
	static struct fl_elf_info info; /* big (two PATH_MAX); one session */
	char path[PATH_MAX];
	int err = fl_exe_resolve(cmd[0], path, sizeof(path));

	memset(ly, 0, sizeof(*ly));
	ly->plan.listener = -1;
	if (err == 0)
		err = fl_elf_inspect(path, &info);
	if (err < 0 && want == FL_MODE_AUTO) {
		ly->mode = FL_MODE_PRELOAD;
		snprintf(ly->why, sizeof(ly->why), "%s: cannot inspect it (%s): the shim",
			 cmd[0], strerror(-err));
	} else {
		ly->mode = fl_mode_choose(want, err < 0 ? NULL : &info, uid, gid,
					  ly->why, sizeof(ly->why));
	}
	if (verbose)
		fprintf(stderr, "faultline: layer %s: %s\n", fl_mode_name(ly->mode), ly->why);
	return err == -ENOENT ? err : 0;
}

/* A monotonic or boottime clock rule in c. */
static bool has_mono_clock(const struct fl_ctl *c)
{
	for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++)
		if ((c->rules[i].flags & FL_RF_CLOCK) && c->rules[i].clock != FL_CLK_REALTIME)
			return true;
	return false;
}

int fl_layer_prepare(struct fl_layer *ly, const struct fl_ctl *c, bool timens,
		     bool verbose, char *err, size_t len)
{
	bool sc = ly->mode == FL_MODE_SECCOMP || ly->mode == FL_MODE_BOTH;
	int r;

	if (timens && ly->mode != FL_MODE_SECCOMP) {
		/* the shim measures run time and the controller's heartbeat
		 * on CLOCK_MONOTONIC: a shifted one would skew both */
		snprintf(err, len, "--timens needs --mode seccomp (layer %s here): the "
			 "shim moves a dynamic program's clocks itself and reads "
			 "CLOCK_MONOTONIC for run time and the dead-man heartbeat, "
			 "which a time namespace would shift", fl_mode_name(ly->mode));
		return -EINVAL;
	}
	if (!sc)
		return 0;
	if (ly->mode == FL_MODE_BOTH && has_mono_clock(c)) {
		snprintf(err, len, "monotonic/boottime clock rules in --mode both: the "
			 "shim would move them for dynamic processes only, and a time "
			 "namespace for the static ones would shift the shim's own "
			 "clock too; use --mode preload or --mode seccomp");
		return -EINVAL;
	}
	r = fl_sc_plan_init(&ly->plan, c, timens, err, len);
	if (r < 0)
		return r;
	ly->planned = true;
	ly->verbose = verbose;
	if (verbose)
		fprintf(stderr, "faultline: seccomp: notifying %u system calls: %s\n",
			ly->plan.nsys, ly->plan.nsys ? ly->plan.sys : "(none)");
	if (verbose && ly->plan.timens)
		fprintf(stderr, "faultline: time namespace: monotonic %+.3f s, boottime %+.3f s\n",
			(double)ly->plan.tn_mono_ns / 1e9, (double)ly->plan.tn_boot_ns / 1e9);
	return 0;
}

bool fl_layer_spawn(struct fl_layer *ly, struct fl_spawn *sp)
{
	if (ly->planned && (ly->plan.nsys > 0 || ly->plan.timens)) {
		sp->child_hook = fl_sc_child;
		sp->parent_hook = fl_sc_take;
		sp->hook_arg = &ly->plan;
	}
	return ly->mode != FL_MODE_SECCOMP;
}

static const char *exec_cant(const struct fl_rule *r, uint32_t ops)
{
	if (r->flags & FL_RF_KERNEL)
		return NULL; /* the eBPF layer's */
	if (r->flags & FL_RF_CLOCK)
		return "a clock rule cannot reach a service started by `faultline "
		       "exec`: its time namespace would have to exist before the "
		       "program starts (use `faultline run --mode seccomp`)";
	if (r->op < 32 && (r->op == 0 || !(ops & (1u << r->op))))
		return "its op is not in the filter of the `faultline exec` that "
		       "started the service (see its --ops)";
	if (r->fault == FL_FAULT_HOLD && (r->flags & FL_RF_UNTIL) && r->until_op < 32 &&
	    !(ops & (1u << r->until_op)))
		return "the op its hold waits for is not in the filter of the "
		       "`faultline exec` that started the service (see its --ops)";
	return NULL;
}

int fl_layer_attach_exec(struct fl_layer *ly, const char *ctl, const struct fl_ctl *c,
			 bool verbose, char *err, size_t len)
{
	int n = fl_sc_exec_attach(ctl, ly->att, FL_LAYER_MAX_EXEC, err, len), r;

	if (n <= 0)
		return n;
	ly->natt = n;
	if ((r = fl_sc_check_rules(c, err, len)) < 0)
		goto refuse;
	for (int k = 0; k < n; k++)
		for (unsigned i = 0; i < c->hdr.nrules && i < FL_MAX_RULES; i++) {
			const char *why = exec_cant(&c->rules[i], ly->att[k].ops);
			if (why) {
				snprintf(err, len, "rules[%u]: %s: %s", i, ly->att[k].path, why);
				r = -EINVAL;
				goto refuse;
			}
		}
	if (verbose)
		for (int k = 0; k < n; k++)
			fprintf(stderr, "faultline: seccomp: serving the service of %s\n",
				ly->att[k].path);
	/* for the start record: which services this drill serves */
	{
		size_t o = (size_t)snprintf(ly->why, sizeof(ly->why),
					    "the seccomp supervisor for %d service%s started by "
					    "faultline exec:", n, n > 1 ? "s" : "");
		for (int k = 0; k < n && o < sizeof(ly->why); k++)
			o += (size_t)snprintf(ly->why + o, sizeof(ly->why) - o, " %s",
					      ly->att[k].path);
	}
	return 0;
refuse:
	for (int k = 0; k < n; k++) { /* each keeper passes everything again */
		close(ly->att[k].lfd);
		close(ly->att[k].tabfd);
		close(ly->att[k].conn);
	}
	ly->natt = 0;
	return r;
}

int fl_layer_start(struct fl_layer *ly, struct fl_loop *l, struct fl_ctl *c)
{
	int r;

	for (int k = 0; k < ly->natt; k++) {
		struct fl_sc_attached *a = &ly->att[k];
		r = fl_sup_new(l, c, a->lfd, a->tabfd, &ly->asup[k]);
		a->lfd = a->tabfd = -1; /* taken (closed on failure) */
		if (r < 0) {
			close(a->conn);
			a->conn = -1;
			return r;
		}
		fl_sup_hold(ly->asup[k], a->conn);
		a->conn = -1;
	}
	if (!ly->planned || ly->plan.listener < 0)
		return 0;
	r = fl_sup_new(l, c, ly->plan.listener, -1, &ly->sup);
	ly->plan.listener = -1; /* taken (closed on failure) */
	if (r == 0 && ly->verbose) {
		struct fl_sup_stats st;
		fl_sup_stats(ly->sup, &st);
		/* Go preempts threads with SIGURG: without a killable wait a
		 * notified call is restarted by every signal */
		fprintf(stderr, "faultline: seccomp: wait_killable_recv %s, sync_wake_up %s\n",
			ly->plan.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV ? "on" : "off (kernel < 5.19)",
			st.sync_wake ? "on" : "off (kernel < 6.6)");
	}
	return r;
}

void fl_layer_release(struct fl_layer *ly)
{
	fl_sup_release(ly->sup);
	for (int k = 0; k < ly->natt; k++)
		fl_sup_release(ly->asup[k]);
}

void fl_layer_fini(struct fl_layer *ly)
{
	fl_sup__free(ly->sup);
	ly->sup = NULL;
	for (int k = 0; k < ly->natt; k++) {
		struct fl_sc_attached *a = &ly->att[k];
		fl_sup__free(ly->asup[k]);
		ly->asup[k] = NULL;
		if (a->lfd >= 0) /* attached, never started */
			close(a->lfd);
		if (a->tabfd >= 0)
			close(a->tabfd);
		if (a->conn >= 0)
			close(a->conn);
	}
	ly->natt = 0;
	if (ly->planned)
		fl_sc_plan_fini(&ly->plan);
	ly->planned = false;
}
