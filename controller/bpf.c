/*
 * bpf.c — the eBPF layer's loader and lifecycle (see bpf.h); the maps are
 * read and reported by bpf_report.c.
 *
 * Invariants
 *  - A rule with FL_RF_KERNEL is never in the shim's chains (profile.c's
 *    publish skips it): exactly one layer applies it.
 *  - The observer attaches to the system calls the run needs and no
 *    others (pick_calls): an fentry/fexit pair per call, never the
 *    sys_enter/sys_exit tracepoints, which would slow every system call of
 *    every process on the machine.
 *  - Programs are attached through links whose only reference is our fd:
 *    the fentry/fexit and tp_btf observers by the skeleton, the cgroup injectors by
 *    bpf_program__attach_cgroup (BPF_LINK_CREATE). Nothing is pinned, so
 *    nothing outlives this process.
 *  - libbpf's own messages are kept, not printed: the last warning is
 *    quoted in our one-line reason when a load fails.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "bpf_int.h"
#include "profile.h"
#include "inject.skel.h"
#include "observe.skel.h"

#define BTF_PATH "/sys/kernel/btf/vmlinux"
#define NS_PER_S 1000000000ll

static char lastlog[256];

static int on_libbpf(enum libbpf_print_level lvl, const char *fmt, va_list ap)
{
	size_t n;

	if (lvl == LIBBPF_DEBUG)
		return 0;
	vsnprintf(lastlog, sizeof(lastlog), fmt, ap);
	n = strlen(lastlog);
	while (n && (lastlog[n - 1] == '\n' || lastlog[n - 1] == ' '))
		lastlog[--n] = '\0';
	return 0;
}

bool fl_bpf_rule_is_kernel(const struct fl_profile *p, uint32_t rule)
{
	return p && rule < p->nrules && (p->rules[rule].flags & FL_RF_KERNEL);
}

/* The first rule that needs the layer, or -1. */
static int first_kernel_rule(const struct fl_profile *p)
{
	for (uint32_t i = 0; p && i < p->nrules; i++)
		if (fl_bpf_rule_is_kernel(p, i))
			return (int)i;
	return -1;
}

static void say_needed(const struct fl_profile *p, int rule, const char *why)
{
	const struct fl_rule *r = &p->rules[rule];

	fprintf(stderr, "faultline: %s: rule %d (%s %s on \"%s\") needs the eBPF "
		"layer, which is not available: %s\n", p->file, rule,
		fl_op_name(r->op), fl_fault_name(r->fault),
		p->targets[r->target].name, why);
}

/* Why a load failed, and what to do about it. */
static void load_why(struct fl_bpf *b, const char *what, int err)
{
	if (err == -EPERM || err == -EACCES)
		snprintf(b->why, sizeof(b->why), "loading the %s was refused (%s): it "
			 "needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (or root)",
			 what, strerror(-err));
	else
		snprintf(b->why, sizeof(b->why), "cannot load the %s: %s%s%s", what,
			 strerror(-err), lastlog[0] ? "; libbpf: " : "", lastlog);
}

static void put_irule(struct fl_inject *sk, unsigned k, const struct fl_profile *p,
		      const struct fl_rule *r)
{
	const struct fl_target *t = &p->targets[r->target];
	struct flb_irule ir;

	memset(&ir, 0, sizeof(ir));
	ir.kind = r->op == FL_OP_PACKET ? FLB_I_DROP : FLB_I_CONNECT;
	/* prob_thresh is p * 2^64; the kernel's PRNG gives 32 bits */
	ir.prob = (r->flags & FL_RF_PROB) && r->prob_thresh != UINT64_MAX
		? (uint32_t)(r->prob_thresh >> 32) : FLB_ALWAYS;
	if (!(t->flags & FL_TF_ANY_HOST)) {
		ir.family = t->family;
		memcpy(ir.addr, t->addr, sizeof(ir.addr));
	}
	ir.port = (t->flags & FL_TF_ANY_PORT) ? 0 : t->port;
	ir.proto = t->kind == FL_TK_UDP ? 17 : 6;
	ir.err = r->err;
	memcpy((void *)&sk->rodata->rules[k], &ir, sizeof(ir));
	sk->bss->live_prob[k] = ir.prob; /* until the market says otherwise */
}

/* The threshold of a rule whose own is `base` at intensity k, as the shim
 * scales a connect error's or a drop's probability (pure_decide.c): 0 is
 * never, 1 the rule's own. */
static uint32_t scaled_prob(uint32_t base, double k)
{
	if (!(k > 0.0))
		return 0;
	if (k >= 1.0)
		return base;
	return (uint32_t)((double)base * k);
}

void fl_bpf_intensities(struct fl_bpf *b, const int *rules, const double *inten, int n)
{
	if (!b || !b->inj || !b->inj->bss)
		return;
	for (int j = 0; j < n; j++)
		for (unsigned k = 0; k < b->nirules; k++) {
			uint32_t v;

			if (rules[j] < 0 || b->rule_of[k] != (uint32_t)rules[j])
				continue;
			v = scaled_prob(b->base_prob[k], inten[j]);
			/* the programs read it with one 32-bit load */
			__atomic_store_n(&b->inj->bss->live_prob[k], v, __ATOMIC_RELAXED);
		}
}

static int attach_cg(struct fl_bpf *b, struct bpf_program *prog, struct bpf_link **slot)
{
	struct bpf_link *l = bpf_program__attach_cgroup(prog, b->cg.dirfd);
	int err;

	if (!l) {
		err = -errno;
		snprintf(b->why, sizeof(b->why), "cannot attach %s to %.300s: %s",
			 bpf_program__name(prog), b->cg.path, strerror(-err));
		return err;
	}
	*slot = l; /* destroyed with the skeleton */
	return 0;
}

static int setup_inject(struct fl_bpf *b)
{
	const struct fl_profile *p = b->p;
	bool conn = false, drop = false;
	struct fl_inject *sk;
	int err;

	if (!(sk = fl_inject__open())) {
		load_why(b, "eBPF injectors", -errno);
		return -errno;
	}
	b->inj = sk;
	for (uint32_t i = 0; i < p->nrules; i++) {
		if (!fl_bpf_rule_is_kernel(p, i))
			continue;
		if (b->nirules == FLB_IRULES) {
			snprintf(b->why, sizeof(b->why), "more than %d bpf rules", FLB_IRULES);
			return -E2BIG;
		}
		put_irule(sk, b->nirules, p, &p->rules[i]);
		b->base_prob[b->nirules] = sk->bss->live_prob[b->nirules];
		conn |= p->rules[i].op == FL_OP_CONNECT;
		drop |= p->rules[i].op == FL_OP_PACKET;
		b->rule_of[b->nirules++] = i;
	}
	sk->rodata->nrules = b->nirules;
	bpf_program__set_autoload(sk->progs.fl_connect4, conn);
	bpf_program__set_autoload(sk->progs.fl_connect6, conn);
	bpf_program__set_autoload(sk->progs.fl_egress, drop);
	bpf_program__set_autoload(sk->progs.fl_ingress, drop);
	if ((err = fl_inject__load(sk)) < 0) {
		load_why(b, "eBPF injectors", err);
		return err;
	}
	if (conn && ((err = attach_cg(b, sk->progs.fl_connect4, &sk->links.fl_connect4)) < 0 ||
		     (err = attach_cg(b, sk->progs.fl_connect6, &sk->links.fl_connect6)) < 0))
		return err;
	if (drop && ((err = attach_cg(b, sk->progs.fl_egress, &sk->links.fl_egress)) < 0 ||
		     (err = attach_cg(b, sk->progs.fl_ingress, &sk->links.fl_ingress)) < 0))
		return err;
	return 0;
}

/* Is `name` one of the space-separated words of list? */
static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);

	while (list && *list) {
		const char *e = strchr(list, ' ');
		size_t len = e ? (size_t)(e - list) : strlen(list);

		if (len == n && !memcmp(list, name, n))
			return true;
		list = e ? e + 1 : NULL;
	}
	return false;
}

/* The system calls the observer sees: connect and io_uring_enter always
 * (connects per destination; io_uring's submissions, which no interposer
 * sees); then the calls of every rule's op, and of a hold's gate
 * (bpf_report.c's op_calls). A run without rules, which is there to be
 * observed, sees the calls of every op. Any other system call is not
 * observed, so costs nothing. */
static bool observe_call(const struct fl_profile *p, const char *name)
{
	if (!strcmp(name, "connect") || !strcmp(name, "io_uring_enter"))
		return true;
	if (!p || !p->nrules)
		return true; /* every program is one of some op's calls */
	for (uint32_t i = 0; i < p->nrules; i++) {
		const struct fl_rule *r = &p->rules[i];

		if (r->flags & FL_RF_CLOCK)
			continue;
		if (in_list(fl__bpf_op_calls(r->op), name))
			return true;
		if (r->fault == FL_FAULT_HOLD && (r->flags & FL_RF_UNTIL) &&
		    in_list(fl__bpf_op_calls(r->until_op), name))
			return true;
	}
	return false;
}

/* Autoload only the fe_NAME/fx_NAME pairs the run needs, and of those only
 * the ones whose entry point this kernel has (arm64 has no open, creat or
 * rename); note which numbers are observed, for the start record. Without
 * trampolines (tramp false): the sys_enter/sys_exit pair instead, which
 * sees every call. */
static void pick_calls(struct fl_bpf *b, struct fl_observe *sk, bool tramp)
{
	struct btf *vb = tramp ? btf__load_vmlinux_btf() : NULL;
	struct bpf_program *prog;

	memset(b->observed, 0, sizeof(b->observed));
	if (vb && libbpf_get_error(vb))
		vb = NULL; /* then let the load say what is missing */
	bpf_program__set_autoload(sk->progs.fl_sys_enter, !tramp);
	bpf_program__set_autoload(sk->progs.fl_sys_exit, !tramp);
	bpf_object__for_each_program(prog, sk->obj) {
		const char *pn = bpf_program__name(prog);
		const char *sec = bpf_program__section_name(prog);
		const char *fn = sec ? strchr(sec, '/') : NULL;
		bool on;
		int nr;

		if (strncmp(pn, "fe_", 3) && strncmp(pn, "fx_", 3))
			continue; /* the tcp and io_uring tracepoints: always */
		on = tramp && observe_call(b->p, pn + 3) &&
		     (!vb || !fn || btf__find_by_name_kind(vb, fn + 1, BTF_KIND_FUNC) >= 0);
		bpf_program__set_autoload(prog, on);
		nr = fl__bpf_sysnr(pn + 3);
		if (on && pn[1] == 'x' && nr >= 0 && nr < FLB_NR_MAX)
			b->observed[nr / 64] |= 1ull << (nr % 64);
	}
	btf__free(vb);
}

/* Does this kernel load an fentry program? Two instructions on the entry
 * point of prog (fe_connect), loaded and closed, never attached: a kernel
 * that refuses trampolines then costs one failed load, not a skeleton's. */
static int probe_fentry(struct bpf_program *prog)
{
	const char *sec = bpf_program__section_name(prog);
	const char *fn = sec ? strchr(sec, '/') : NULL;
	struct bpf_insn insn[2] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, o, .expected_attach_type = BPF_TRACE_FENTRY);
	struct btf *vb;
	int id, fd;

	if (!fn)
		return -EINVAL;
	vb = btf__load_vmlinux_btf();
	if (!vb || libbpf_get_error(vb))
		return -ENOENT;
	id = btf__find_by_name_kind(vb, fn + 1, BTF_KIND_FUNC);
	btf__free(vb);
	if (id < 0)
		return -ENOENT;
	o.attach_btf_id = (__u32)id;
	fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "fl_probe", "GPL", insn, 2, &o);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/* Open, pick, load and attach; with tramp, a refusal leaves b->obs set so
 * that the caller falls back. */
static int load_observe(struct fl_bpf *b, bool tramp)
{
	struct fl_observe *sk = fl_observe__open();
	int err;

	if (!sk) {
		load_why(b, "eBPF observer", -errno);
		return -ECANCELED;
	}
	b->obs = sk;
	if (tramp && (err = probe_fentry(sk->progs.fe_connect)) < 0) {
		/* nothing loaded yet: go on with this skeleton */
		snprintf(b->hook_why, sizeof(b->hook_why), "this kernel refuses "
			 "fentry/fexit programs (%s)", strerror(-err));
		tramp = false;
	}
	b->tramp = tramp;
	sk->rodata->target_cgid = b->cg.id;
	sk->rodata->nr_connect = SYS_connect;
	pick_calls(b, sk, tramp);
	if ((err = fl_observe__load(sk)) < 0) {
		if (!tramp)
			load_why(b, "eBPF observer", err);
		return err;
	}
	if ((err = fl_observe__attach(sk)) < 0 && !tramp)
		snprintf(b->why, sizeof(b->why), "cannot attach the eBPF observer: %s",
			 strerror(-err));
	return err;
}

static int setup_observe(struct fl_bpf *b)
{
	int err = load_observe(b, true);

	if (err < 0 && err != -ECANCELED && b->tramp) {
		/* No BPF trampolines here (some kernels refuse fentry/fexit
		 * outright, EPERM before the verifier): observe through the
		 * syscall tracepoints, and say so in the start record, since
		 * then every process on the machine pays for it. */
		snprintf(b->hook_why, sizeof(b->hook_why), "fentry/fexit programs "
			 "did not load or attach (%s)", strerror(-err));
		fl_observe__destroy(b->obs);
		b->obs = NULL;
		lastlog[0] = '\0';
		err = load_observe(b, false);
	}
	if (err < 0)
		return err == -ECANCELED ? -ENOMEM : err;
	b->ncpu = libbpf_num_possible_cpus();
	if (b->ncpu <= 0)
		return b->ncpu < 0 ? b->ncpu : -EINVAL;
	b->buflen = (size_t)b->ncpu * sizeof(struct flb_sc) * FLB_NR_MAX;
	if (!(b->buf = malloc(b->buflen)))
		return -ENOMEM;
	return 0;
}

static int setup(struct fl_bpf *b, const struct fl_bpf_opts *o, bool need)
{
	int err;

	if (access(BTF_PATH, R_OK) < 0) {
		snprintf(b->why, sizeof(b->why), "this kernel has no BTF (%s: %s; it "
			 "needs CONFIG_DEBUG_INFO_BTF=y)", BTF_PATH, strerror(errno));
		return -ENOENT;
	}
	err = o->cgroup ? fl_cgroup_open(&b->cg, o->cgroup, b->why, sizeof(b->why))
			: fl_cgroup_create(&b->cg, b->why, sizeof(b->why));
	if (err < 0)
		return err;
	libbpf_set_print(on_libbpf);
	if ((err = setup_observe(b)) < 0)
		return err;
	return need ? setup_inject(b) : 0;
}

static void unload(struct fl_bpf *b)
{
	fl_inject__destroy(b->inj);
	fl_observe__destroy(b->obs);
	b->inj = NULL;
	b->obs = NULL;
}

int fl_bpf_open(struct fl_bpf **out, const struct fl_bpf_opts *o)
{
	struct fl_bpf *b = calloc(1, sizeof(*b));
	int need = first_kernel_rule(o->p), err;

	*out = b;
	if (!b) {
		fprintf(stderr, "faultline: out of memory\n");
		return -ENOMEM;
	}
	b->p = o->p;
	b->period_ns = o->period_ns > 0 ? o->period_ns : NS_PER_S;
	fl_cgroup_init(&b->cg);
	if (o->off) {
		snprintf(b->why, sizeof(b->why), "--no-bpf");
		err = -ECANCELED;
	} else if (!o->run && !o->cgroup) {
		snprintf(b->why, sizeof(b->why), "no cgroup to observe (give faultline "
			 "drill --cgroup PATH, e.g. /sys/fs/cgroup/system.slice/"
			 "NAME.service)");
		err = -ENOENT;
	} else {
		err = setup(b, o, need >= 0);
	}
	if (err >= 0) {
		/* The tracepoint fallback is not free for bystanders: every
		 * system call of every process on the host takes the kernel's
		 * slow path while it is attached (bench/RESULTS.md, section 7).
		 * Say so once, with the way out. */
		if (b->obs && !b->tramp && !o->quiet)
			fprintf(stderr, "faultline: eBPF observer on sys_enter/sys_exit "
				"(%s): every system call of every process on this host "
				"takes the kernel's slow path while the run lasts "
				"(~150 ns a call, measured on a 2-core VM); --no-bpf "
				"turns the observer off\n",
				b->hook_why[0] ? b->hook_why : "no BPF trampolines");
		return 0;
	}
	unload(b);
	fl_cgroup_close(&b->cg);
	if (need >= 0) {
		say_needed(o->p, need, b->why);
		return err;
	}
	/* Nothing needs it: run on, but say so (a run as root on a kernel
	 * with BTF always has it, so this is the locked-down case). */
	if (!o->quiet && err != -ECANCELED)
		fprintf(stderr, "faultline: eBPF observer off: %s\n", b->why);
	return 0;
}

const int *fl_bpf_cgroup_procs(const struct fl_bpf *b)
{
	return b && b->obs && b->cg.procs_fd >= 0 ? &b->cg.procs_fd : NULL;
}

bool fl_bpf_observing(const struct fl_bpf *b)
{
	return b && b->obs;
}

void fl_bpf_close(struct fl_bpf *b)
{
	if (!b)
		return;
	unload(b);
	fl_cgroup_close(&b->cg);
	free(b->buf);
	free(b);
}
