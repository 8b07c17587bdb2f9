// SPDX-License-Identifier: GPL-2.0
/*
 * inject.bpf.c — faults for any binary in the cgroup, whatever its libc or
 * lack of one: refused connects (cgroup/connect4, connect6) and dropped
 * packets (cgroup_skb egress and ingress). The rules are in rodata, fixed
 * at load; ihits counts what each one did (fl_bpf.h). A rule's live
 * threshold is in live_prob (.bss, mmaped by the controller): its
 * probability, scaled by the market's intensity when the rule is bound to
 * a signal in a scenario ("scale", "when_signal"), rewritten as it moves.
 *
 * A refused connect fails with the rule's errno: the program returns 0
 * (reject) after bpf_set_retval(-errno); without bpf_set_retval the kernel
 * would answer EPERM.
 *
 * Drops: egress matches the packet's destination, ingress its source, so
 * the target's traffic is lost both ways whichever side of the loopback
 * the cgroup is on. Egress returns 2 (drop, congestion notification):
 * TCP then treats the segment as sent and its retransmission timer does
 * the rest, and UDP's send succeeds, as on a lossy wire; a plain 0 would
 * make the sending call fail with EPERM, which no real network does.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "fl_bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET 2
#define AF_INET6 10
#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

const volatile __u32 nrules = 0;
const volatile struct flb_irule rules[FLB_IRULES] = {};

/* fire when bpf_get_prandom_u32() < live_prob[i]; FLB_ALWAYS = always,
 * 0 = never (intensity 0). Set before load, then written by the
 * controller only (one aligned 32-bit store per rule: never torn). */
__u32 live_prob[FLB_IRULES] = {};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FLB_IRULES);
	__type(key, __u32);
	__type(value, __u64);
} ihits SEC(".maps");

static __always_inline bool fire(__u32 i)
{
	__u32 p;
	__u64 *h;

	if (i >= FLB_IRULES)
		return false;
	p = *(volatile __u32 *)&live_prob[i];
	if (p != FLB_ALWAYS && bpf_get_prandom_u32() >= p)
		return false;
	h = bpf_map_lookup_elem(&ihits, &i);
	if (h)
		(*h)++;
	return true;
}

/* addr: 16 bytes, IPv4 in the first 4 (fam AF_INET). An IPv4 rule also
 * matches an IPv4-mapped IPv6 address (::ffff:a.b.c.d). */
/* n 32-bit words of a rule's address against a; BPF has no memcmp. */
static __always_inline bool eqw(const volatile __u8 *ra, const __u8 *a, int n)
{
	const volatile __u32 *x = (const volatile __u32 *)ra;
	const __u32 *y = (const __u32 *)a;

	for (int k = 0; k < n; k++)
		if (x[k] != y[k])
			return false;
	return true;
}

static __always_inline bool match(__u32 i, __u16 fam, const __u8 *addr, __u16 port)
{
	const volatile struct flb_irule *r = &rules[i];

	if (r->port && r->port != port)
		return false;
	if (!r->family)
		return true;
	if (r->family == AF_INET && fam == AF_INET)
		return eqw(r->addr, addr, 1);
	if (r->family == AF_INET && fam == AF_INET6) {
		const __u32 *w = (const __u32 *)addr;

		return w[0] == 0 && w[1] == 0 && w[2] == bpf_htonl(0xffff) &&
		       eqw(r->addr, addr + 12, 1);
	}
	if (r->family == AF_INET6 && fam == AF_INET6)
		return eqw(r->addr, addr, 4);
	return false;
}

static __always_inline int connect_common(struct bpf_sock_addr *ctx, __u16 fam,
					  const __u8 *addr)
{
	__u16 port = bpf_ntohs((__u16)ctx->user_port);

	for (__u32 i = 0; i < FLB_IRULES && i < nrules; i++) {
		if (rules[i].kind != FLB_I_CONNECT || !match(i, fam, addr, port))
			continue;
		if (!fire(i))
			continue;
		bpf_set_retval(-rules[i].err);
		return 0;
	}
	return 1;
}

SEC("cgroup/connect4")
int fl_connect4(struct bpf_sock_addr *ctx)
{
	__u8 addr[16] = {};
	__u32 a = ctx->user_ip4;

	__builtin_memcpy(addr, &a, 4);
	return connect_common(ctx, AF_INET, addr);
}

SEC("cgroup/connect6")
int fl_connect6(struct bpf_sock_addr *ctx)
{
	__u32 a[4];

	a[0] = ctx->user_ip6[0];
	a[1] = ctx->user_ip6[1];
	a[2] = ctx->user_ip6[2];
	a[3] = ctx->user_ip6[3];
	return connect_common(ctx, AF_INET6, (const __u8 *)a);
}

/* The packet's address and port on one side: dst for egress, src for
 * ingress. Returns false for what no rule can match. */
static __always_inline bool pkt_side(struct __sk_buff *skb, bool dst, __u16 *fam,
				     __u8 *addr, __u16 *port, __u8 *proto)
{
	__u16 ports[2];
	__u32 off;

	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) < 0)
			return false;
		*fam = AF_INET;
		*proto = ip.protocol;
		__builtin_memcpy(addr, dst ? &ip.daddr : &ip.saddr, 4);
		/* fragments after the first carry no ports */
		if (ip.frag_off & bpf_htons(0x1fff))
			return false;
		off = (__u32)ip.ihl * 4;
	} else if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, 0, &ip6, sizeof(ip6)) < 0)
			return false;
		*fam = AF_INET6;
		*proto = ip6.nexthdr; /* extension headers: not matched */
		__builtin_memcpy(addr, dst ? &ip6.daddr : &ip6.saddr, 16);
		off = sizeof(ip6);
	} else {
		return false;
	}
	if (*proto != IPPROTO_TCP && *proto != IPPROTO_UDP)
		return false;
	if (bpf_skb_load_bytes(skb, off, ports, sizeof(ports)) < 0)
		return false;
	*port = bpf_ntohs(dst ? ports[1] : ports[0]);
	return true;
}

static __always_inline bool drop(struct __sk_buff *skb, bool egress)
{
	__u8 addr[16] = {}, proto = 0;
	__u16 fam = 0, port = 0;

	if (!pkt_side(skb, egress, &fam, addr, &port, &proto))
		return false;
	for (__u32 i = 0; i < FLB_IRULES && i < nrules; i++)
		if (rules[i].kind == FLB_I_DROP && rules[i].proto == proto &&
		    match(i, fam, addr, port) && fire(i))
			return true;
	return false;
}

SEC("cgroup_skb/egress")
int fl_egress(struct __sk_buff *skb)
{
	return drop(skb, true) ? 2 : 1;
}

SEC("cgroup_skb/ingress")
int fl_ingress(struct __sk_buff *skb)
{
	return drop(skb, false) ? 0 : 1;
}
