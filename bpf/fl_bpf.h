/*
 * bpf/fl_bpf.h — what the BPF programs and the controller share: map value
 * layouts and limits. Included by *.bpf.c (after vmlinux.h) and by
 * controller/bpf*.c (after <linux/types.h>), so only __u* types here.
 *
 * Observer maps (observe.bpf.c), all filtered in the kernel to one cgroup:
 *   sc      percpu array [FLB_NR_MAX] of struct flb_sc: per syscall number,
 *           calls, errors, and a log2 latency histogram (ns)
 *   errs    percpu hash struct flb_err_key -> __u64: calls per (nr, errno)
 *   conns   hash struct flb_conn_key -> __u64: connect(2) per destination
 *           and result (0, or the errno, EINPROGRESS included)
 *   misc    percpu array [1] of struct flb_misc: TCP retransmits and state
 *           changes of the cgroup's sockets, io_uring submissions
 * Injector maps (inject.bpf.c):
 *   rules   rodata [FLB_IRULES] of struct flb_irule, written before load
 *   live_prob  .bss [FLB_IRULES] of __u32: each rule's threshold now (its
 *           probability times the market's intensity), mmaped and written
 *           by the controller as the scenario ticks
 *   ihits   percpu array [FLB_IRULES] of __u64: faults injected per rule
 */
#ifndef FL_BPF_SHARED_H
#define FL_BPF_SHARED_H

#define FLB_NR_MAX 512      /* syscall numbers tracked; larger ones are counted in misc */
#define FLB_HBUCKETS 40     /* bucket b: [2^b, 2^(b+1)) ns; 2^39 ns ~ 9 min */
#define FLB_ERRS_MAX 4096
#define FLB_CONNS_MAX 1024
#define FLB_TCP_STATES 16
#define FLB_URING_OPS 64
#define FLB_IRULES 32
#define FLB_LAT_SHIFT 4     /* latency of one call in 16 (per CPU) is measured */

struct flb_sc {
	__u64 n;       /* exits seen */
	__u64 errs;    /* exits returning -4095..-1 */
	__u64 sum_ns;  /* over the timed calls (hist's): a sample, see FLB_LAT_SHIFT */
	__u64 hist[FLB_HBUCKETS];
};

struct flb_err_key {
	__u32 nr;
	__u32 err; /* positive errno */
};

struct flb_conn_key {
	__u16 family; /* AF_INET, AF_INET6, or 0 when the address was unreadable */
	__u16 port;   /* host byte order */
	__s32 err;    /* 0 ok, else positive errno (EINPROGRESS for non-blocking) */
	__u8 addr[16];
};

struct flb_misc {
	__u64 retrans;                  /* tcp:tcp_retransmit_skb */
	__u64 state_to[FLB_TCP_STATES]; /* sock:inet_sock_set_state, by new state */
	__u64 uring_sqes;               /* io_uring:io_uring_submit_req */
	__u64 uring_op[FLB_URING_OPS];  /* by IORING_OP_* */
	__u64 nr_big;                   /* syscalls with nr >= FLB_NR_MAX */
};

/* An injector rule: match a destination (egress) or source (ingress)
 * address and port; port 0 = any port, family 0 = any address. */
enum flb_ikind { FLB_I_NONE = 0, FLB_I_CONNECT = 1, FLB_I_DROP = 2 };
struct flb_irule {
	__u32 kind;     /* enum flb_ikind */
	__u32 prob;     /* the rule's own threshold (live_prob starts here) */
	__u16 family;   /* AF_INET, AF_INET6, 0 = any address */
	__u16 port;     /* host byte order, 0 = any port */
	__u8 proto;     /* IPPROTO_TCP or IPPROTO_UDP (drop rules) */
	__u8 pad[3];
	__s32 err;      /* connect: the errno the program sees (positive) */
	__u8 addr[16];  /* IPv4 in the first 4 bytes */
};
#define FLB_ALWAYS 0xffffffffu

#endif /* FL_BPF_SHARED_H */
