/*
 * pure_match.c — does an address, a path or a host name belong to a target?
 *
 * Pure functions over a control block: no libc calls that could allocate,
 * lock or re-enter the shim, so they are safe on any thread at any time and
 * unit-testable without preloading. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d)
 * match IPv4 targets: a dual-stack server accepts IPv4 clients that way.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "shim.h"

/* Normalise a socket address to (family, 16 address bytes, port). */
static bool sa_norm(const struct sockaddr *sa, socklen_t len, int *fam,
		    uint8_t addr[16], uint16_t *port)
{
	static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	memset(addr, 0, 16);
	if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		*fam = AF_INET;
		memcpy(addr, &in->sin_addr, 4);
		*port = ntohs(in->sin_port);
		return true;
	}
	if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		*port = ntohs(in6->sin6_port);
		if (memcmp(&in6->sin6_addr, v4mapped, 12) == 0) {
			*fam = AF_INET;
			memcpy(addr, (const uint8_t *)&in6->sin6_addr + 12, 4);
		} else {
			*fam = AF_INET6;
			memcpy(addr, &in6->sin6_addr, 16);
		}
		return true;
	}
	return false;
}

static bool addr_is_any(int fam, const uint8_t addr[16])
{
	static const uint8_t zero[16];
	return memcmp(addr, zero, fam == AF_INET ? 4 : 16) == 0;
}

static bool inet_match(const struct fl_target *t, int fam, const uint8_t addr[16],
		       uint16_t port, bool listener)
{
	if (!(t->flags & FL_TF_ANY_PORT) && t->port != port)
		return false;
	if (t->flags & FL_TF_ANY_HOST)
		return true;
	/* a listener bound to the wildcard address serves every address */
	if (listener && addr_is_any(fam, addr))
		return true;
	return t->family == fam &&
	       memcmp(t->addr, addr, fam == AF_INET ? 4 : 16) == 0;
}

static unsigned unix_match(const struct fl_ctl *c, const struct sockaddr *sa,
			   socklen_t len)
{
	const struct sockaddr_un *un = (const void *)sa;
	char path[sizeof(un->sun_path) + 1];
	size_t n;

	if (len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (n > sizeof(un->sun_path))
		n = sizeof(un->sun_path);
	if (n == 0 || un->sun_path[0] == '\0')
		return 0; /* unnamed or abstract */
	memcpy(path, un->sun_path, n);
	path[n] = '\0';
	for (unsigned i = 1; i < c->hdr.ntargets && i < FL_MAX_TARGETS; i++)
		if (c->targets[i].kind == FL_TK_UNIX &&
		    fl__glob(c->targets[i].pattern, path))
			return i;
	return 0;
}

unsigned fl__match_sockaddr(const struct fl_ctl *c, const struct sockaddr *sa,
			    socklen_t len, int socktype, bool listener)
{
	uint8_t addr[16];
	uint16_t port;
	int fam;

	if (!sa || len < (socklen_t)sizeof(sa_family_t))
		return 0;
	if (sa->sa_family == AF_UNIX)
		return unix_match(c, sa, len);
	if (!sa_norm(sa, len, &fam, addr, &port))
		return 0;
	for (unsigned i = 1; i < c->hdr.ntargets && i < FL_MAX_TARGETS; i++) {
		const struct fl_target *t = &c->targets[i];
		int want = t->kind == FL_TK_TCP ? SOCK_STREAM :
			   t->kind == FL_TK_UDP ? SOCK_DGRAM : -1;
		if ((socktype < 0 ? want >= 0 : want == socktype) &&
		    inet_match(t, fam, addr, port, listener))
			return i;
	}
	return 0;
}

unsigned fl__match_path(const struct fl_ctl *c, const char *path)
{
	for (unsigned i = 1; i < c->hdr.ntargets && i < FL_MAX_TARGETS; i++)
		if (c->targets[i].kind == FL_TK_PATH &&
		    fl__glob(c->targets[i].pattern, path))
			return i;
	return 0;
}

unsigned fl__match_host(const struct fl_ctl *c, const char *host)
{
	for (unsigned i = 1; i < c->hdr.ntargets && i < FL_MAX_TARGETS; i++)
		if (c->targets[i].kind == FL_TK_HOST &&
		    fl__glob(c->targets[i].pattern, host))
			return i;
	return 0;
}

/* One bracket expression at *pp against ch; advances *pp past ']'.
 * Returns -1 when the expression is malformed (treated as a literal '['). */
static int glob_class(const char **pp, char ch)
{
	const char *p = *pp + 1;
	bool neg = false, hit = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	if (*p == ']') { /* a leading ']' is literal */
		hit = ch == ']';
		p++;
	}
	for (; *p && *p != ']'; p++) {
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hit |= ch >= p[0] && ch <= p[2];
			p += 2;
		} else {
			hit |= ch == *p;
		}
	}
	if (*p != ']')
		return -1;
	*pp = p + 1;
	return hit != neg;
}

/* Iterative glob with single-star backtracking: linear in practice, no
 * recursion, no allocation. '*' also matches '/', as shell users expect
 * of "/var/lib/wallet/ledger*". */
bool fl__glob(const char *pat, const char *s)
{
	const char *star = NULL, *mark = NULL;

	while (*s) {
		if (*pat == '*') {
			star = ++pat;
			mark = s;
			continue;
		}
		if (*pat == '[') {
			const char *p = pat;
			int r = glob_class(&p, *s);
			if (r == 1) {
				pat = p;
				s++;
				continue;
			}
			if (r == -1 && *s == '[') {
				pat++;
				s++;
				continue;
			}
		} else if (*pat == '?' || (*pat && *pat == *s)) {
			pat++;
			s++;
			continue;
		}
		if (!star)
			return false;
		pat = star;
		s = ++mark;
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}
