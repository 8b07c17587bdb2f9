// SPDX-License-Identifier: GPL-2.0
/*
 * observe.bpf.c — the kernel's own account of one cgroup (see fl_bpf.h for
 * the maps). Every program returns at once unless the current task (or, for
 * TCP events that run in softirq, the socket) belongs to target_cgid.
 *
 * Which calls: no sys_enter/sys_exit tracepoint (attaching one sets
 * SYSCALL_WORK_SYSCALL_TRACEPOINT on every task of the machine, and every
 * system call of every process then takes the slow entry path: ~100 ns a
 * call here, observed or not). Instead an fentry/fexit pair (a BPF
 * trampoline) on the entry point of each system call the profile needs
 * (OBSERVE below; bpf.c picks them): every other call, and every other
 * system call of the rest of the machine, runs untouched. Tasks outside the
 * cgroup that make an observed call pay the trampoline and the compare.
 *
 * Latency: the entry stores (nr, ts) in task-local storage, the exit takes
 * the difference. Counts and errnos are exact; latency is sampled, one
 * call in 2^lat_shift per CPU on average, at random gaps (connects always), because reading the clock
 * is the dearest part of the program (~30 ns a read on a VM whose TSC is
 * virtualised). A call that never reaches its entry point is not seen:
 * one seccomp answers itself (an error the supervisor injects, like the
 * shim's, never reaches the kernel) or an ia32 compat call.
  */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "fl_bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u64 target_cgid = 0;
const volatile __u32 nr_connect = 0;
const volatile __u32 lat_shift = FLB_LAT_SHIFT;

#define AF_INET 2
#define AF_INET6 10

struct start {
	__u64 ts;
	__u32 nr;
	__u32 pad;
	struct flb_conn_key dst; /* for connect: read at entry */
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct start);
} starts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_NR_MAX);
	__type(key, __u32);
	__type(value, struct flb_sc);
} sc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, FLB_ERRS_MAX);
	__type(key, struct flb_err_key);
	__type(value, __u64);
} errs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, FLB_CONNS_MAX);
	__type(key, struct flb_conn_key);
	__type(value, __u64);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct flb_misc);
} misc SEC(".maps");

/* calls to skip before the next timed one, per CPU */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} tick SEC(".maps");

/* Calls timed at their entry whose exit has not been seen yet, on every CPU
 * (a call can leave on another CPU than it came in): while it is 0, an exit
 * has no entry of its own to look up in task storage, which is most of an
 * exit's cost. A task that dies inside a timed call leaves it one too high:
 * exits then look up for nothing, which costs time, never a count. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s64);
} inflight SEC(".maps");

/* The current task is in the observed cgroup: what bpf_get_current_cgroup_id()
 * compares (the default hierarchy's cgroup, its kernfs id), read through
 * the task's BTF pointers — three loads instead of the helper, which costs
 * ~55 ns a call on this VM (bench_bpf: 110 -> 50 ns of ours per observed
 * call, every call of the machine pays this compare on the fallback). */
static __always_inline bool ours(void)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return t->cgroups->dfl_cgrp->kn->id == target_cgid;
}

static __always_inline struct flb_misc *misc_get(void)
{
	__u32 k = 0;

	return bpf_map_lookup_elem(&misc, &k);
}

/* floor(log2(v)), v > 0, without loops the verifier has to unroll. */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, s;

	s = (v > 0xffffffffULL) << 5; v >>= s; r |= s;
	s = (v > 0xffffULL) << 4; v >>= s; r |= s;
	s = (v > 0xffULL) << 3; v >>= s; r |= s;
	s = (v > 0xfULL) << 2; v >>= s; r |= s;
	s = (v > 0x3ULL) << 1; v >>= s; r |= s;
	return r | (__u32)(v >> 1);
}

static __always_inline void read_dst(struct pt_regs *regs, struct flb_conn_key *k)
{
	const void *uaddr = (const void *)PT_REGS_PARM2_CORE_SYSCALL(regs);
	__u16 fam = 0;

	__builtin_memset(k, 0, sizeof(*k));
	if (bpf_probe_read_user(&fam, sizeof(fam), uaddr) < 0)
		return;
	if (fam == AF_INET) {
		struct sockaddr_in sin;

		if (bpf_probe_read_user(&sin, sizeof(sin), uaddr) < 0)
			return;
		k->family = AF_INET;
		k->port = bpf_ntohs(sin.sin_port);
		__builtin_memcpy(k->addr, &sin.sin_addr, 4);
	} else if (fam == AF_INET6) {
		struct sockaddr_in6 sin6;

		if (bpf_probe_read_user(&sin6, sizeof(sin6), uaddr) < 0)
			return;
		k->family = AF_INET6;
		k->port = bpf_ntohs(sin6.sin6_port);
		__builtin_memcpy(k->addr, &sin6.sin6_addr, 16);
	}
}

/* The system call's number, from the user's registers the entry point is
 * given (a BTF pointer: a direct, CO-RE relocated load). */
static __always_inline __u32 sys_nr(struct pt_regs *regs)
{
#if defined(__TARGET_ARCH_x86)
	return (__u32)regs->orig_ax;
#elif defined(__TARGET_ARCH_arm64)
	return (__u32)regs->syscallno;
#else
#error "add this architecture's syscall number register"
#endif
}

/* Entry: count the sample; a timed call stores (nr, ts) in task storage. */
static __always_inline int on_enter(struct pt_regs *regs)
{
	struct start *st;
	__u32 k = 0, *t;
	__u32 nr;

	if (!ours())
		return 0;
	nr = sys_nr(regs);
	if (nr != nr_connect) {
		/* a random gap between timed calls, 1 .. 2S - 1 (mean S): a
		 * fixed one in S would time the same call of a loop every time
		 * (dd's read, never its write) */
		t = bpf_map_lookup_elem(&tick, &k);
		if (!t)
			return 0;
		if (*t) {
			(*t)--;
			return 0;
		}
		*t = bpf_get_prandom_u32() % ((2u << lat_shift) - 1);
	}
	st = bpf_task_storage_get(&starts, bpf_get_current_task_btf(), 0,
				  BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!st)
		return 0;
	st->nr = nr;
	if (nr == nr_connect)
		read_dst(regs, &st->dst);
	if (!st->ts) {
		__s64 *f = bpf_map_lookup_elem(&inflight, &k);

		if (f)
			__sync_fetch_and_add(f, 1);
	}
	st->ts = bpf_ktime_get_ns();
	return 0;
}

static __always_inline int on_exit(struct pt_regs *regs, long ret)
{
	struct start *st = NULL;
	struct flb_sc *v;
	__u64 now, lat = 0;
	__u32 nr, k = 0;
	__s64 *f;
	bool timed = false;

	if (!ours())
		return 0;
	nr = sys_nr(regs);
	f = bpf_map_lookup_elem(&inflight, &k);
	if (f && *f > 0)
		st = bpf_task_storage_get(&starts, bpf_get_current_task_btf(), 0, 0);
	if (st && st->ts) {
		if (st->nr == nr) {
			now = bpf_ktime_get_ns();
			lat = now - st->ts;
			timed = true;
		}
		st->ts = 0;
		if (f)
			__sync_fetch_and_add(f, -1);
	}
	if (nr >= FLB_NR_MAX) {
		struct flb_misc *m = misc_get();

		if (m)
			m->nr_big++;
		return 0;
	}
	v = bpf_map_lookup_elem(&sc, &nr);
	if (!v)
		return 0;
	v->n++;
	if (timed) {
		__u32 b = lat ? log2_u64(lat) : 0;

		v->sum_ns += lat;
		if (b >= FLB_HBUCKETS)
			b = FLB_HBUCKETS - 1;
		v->hist[b]++;
	}
	if (ret < 0 && ret >= -4095) {
		struct flb_err_key ek = { .nr = nr, .err = (__u32)-ret };
		__u64 one = 1, *c;

		v->errs++;
		c = bpf_map_lookup_elem(&errs, &ek);
		if (c)
			(*c)++;
		else
			bpf_map_update_elem(&errs, &ek, &one, BPF_NOEXIST);
	}
	if (nr == nr_connect && timed) {
		struct flb_conn_key ck = st->dst;
		__u64 one = 1, *c;

		ck.err = ret < 0 ? (__s32)-ret : 0;
		c = bpf_map_lookup_elem(&conns, &ck);
		if (c)
			__sync_fetch_and_add(c, 1);
		else
			bpf_map_update_elem(&conns, &ck, &one, BPF_NOEXIST);
	}
	return 0;
}

/*
 * The fallback, for a kernel that refuses trampolines (bpf.c tries the
 * pairs below first): every system call of the machine, through the
 * sys_enter/sys_exit tracepoints. Here an exit whose entry never ran (a
 * call seccomp answered itself, which happens before sys_enter) is counted
 * too, with its errno.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(fl_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(regs);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(fl_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit(regs, ret);
}

/*
 * One fentry/fexit pair per system call the observer can see, on the
 * call's own entry point (__x64_sys_NAME: the function the syscall table
 * calls, with the user's registers). The loader turns autoload off for
 * every pair the profile does not need, so an unneeded call has no
 * trampoline at all. Program names: fe_NAME / fx_NAME (bpf.c relies on it).
 */
#if defined(__TARGET_ARCH_x86)
#define SYS_FN(name) "__x64_sys_" #name
#elif defined(__TARGET_ARCH_arm64)
#define SYS_FN(name) "__arm64_sys_" #name
#endif

#define OBSERVE(name)							\
SEC("fentry/" SYS_FN(name))						\
int BPF_PROG(fe_##name, struct pt_regs *regs)				\
{									\
	return on_enter(regs);						\
}									\
SEC("fexit/" SYS_FN(name))						\
int BPF_PROG(fx_##name, struct pt_regs *regs, long ret)		\
{									\
	return on_exit(regs, ret);					\
}

/* keep in step with bpf_report.c's op_calls */
OBSERVE(connect)
OBSERVE(io_uring_enter)
OBSERVE(accept)
OBSERVE(accept4)
OBSERVE(sendto)
OBSERVE(sendmsg)
OBSERVE(sendmmsg)
OBSERVE(recvfrom)
OBSERVE(recvmsg)
OBSERVE(recvmmsg)
OBSERVE(read)
OBSERVE(readv)
OBSERVE(pread64)
OBSERVE(preadv)
OBSERVE(preadv2)
OBSERVE(write)
OBSERVE(writev)
OBSERVE(pwrite64)
OBSERVE(pwritev)
OBSERVE(pwritev2)
OBSERVE(open)
OBSERVE(openat)
OBSERVE(openat2)
OBSERVE(creat)
OBSERVE(fsync)
OBSERVE(fdatasync)
OBSERVE(rename)
OBSERVE(renameat)
OBSERVE(renameat2)
OBSERVE(close)

static __always_inline __u64 sk_cgid(const struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_cgrp_data.cgroup, kn, id);
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(fl_tcp_retrans, const struct sock *sk, const struct sk_buff *skb)
{
	struct flb_misc *m;

	if (sk_cgid(sk) != target_cgid || !(m = misc_get()))
		return 0;
	m->retrans++;
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(fl_sock_state, const struct sock *sk, const int oldstate,
	     const int newstate)
{
	struct flb_misc *m;

	if (sk_cgid(sk) != target_cgid || !(m = misc_get()))
		return 0;
	/* masked, not compared: clang folds the range check into a form the
	 * verifier cannot bound */
	m->state_to[(__u32)newstate & (FLB_TCP_STATES - 1)]++;
	return 0;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(fl_uring_submit, struct io_kiocb *req)
{
	struct flb_misc *m;
	__u8 op;

	if (!ours() || !(m = misc_get()))
		return 0;
	op = BPF_CORE_READ(req, opcode);
	m->uring_sqes++;
	m->uring_op[op & (FLB_URING_OPS - 1)]++;
	return 0;
}
