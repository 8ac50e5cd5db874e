// SPDX-License-Identifier: MIT
// dns.c - the host resolver from resolv-conf=, and guest <-> host address translation

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "stack.h"

/*
 * Like libslirp: the first IPv4 `nameserver` of the file is the resolver
 * (for IPv6 flows the first IPv6 one, "%ifname" scope suffixes honoured, or
 * else the IPv4 one);
 * a file without any nameserver means 127.0.0.1; an unreadable file fails the
 * flow. The file is re-checked at most once a second (dev, inode, size,
 * mtime) and re-read when it changed, so a resolver that changes at run
 * time (NetworkManager, systemd-resolved's 127.0.0.53) is followed.
 */
static int dns_read(struct user_stack *s, const struct stat *st)
{
	struct dns_state *d = &s->dns;
	FILE *f = fopen(s->cfg.resolv_conf, "r");
	char line[512];
	bool any = false;

	d->have = d->have6 = false;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && !(d->have && d->have6)) {
		char addr[256], *pct;
		struct in_addr a;
		struct in6_addr a6;

		if (sscanf(line, " nameserver %255s", addr) != 1)
			continue;
		any = true;
		pct = strchr(addr, '%');
		if (pct)
			*pct++ = 0;
		if (!d->have6 && inet_pton(AF_INET6, addr, &a6) == 1) {
			memset(&d->addr6, 0, sizeof(d->addr6));
			d->addr6.sin6_family = AF_INET6;
			d->addr6.sin6_addr = a6;
			d->addr6.sin6_port = htons(53);
			d->addr6.sin6_scope_id = pct ? if_nametoindex(pct) : 0;
			d->have6 = true;
			continue;
		}
		if (!d->have && !pct && inet_pton(AF_INET, addr, &a) == 1) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&d->addr;

			memset(&d->addr, 0, sizeof(d->addr));
			sin->sin_family = AF_INET;
			sin->sin_addr = a;
			sin->sin_port = htons(53);
			d->addrlen = sizeof(*sin);
			d->have = true;
		}
	}
	fclose(f);
	if (!any) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&d->addr;

		memset(&d->addr, 0, sizeof(d->addr));
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin->sin_port = htons(53);
		d->addrlen = sizeof(*sin);
		d->have = true;
	}
	d->st_dev = st->st_dev;
	d->st_ino = st->st_ino;
	d->st_size = st->st_size;
	d->st_mtim = st->st_mtim;
	return d->have || d->have6 ? 0 : -EHOSTUNREACH;
}

/* dns_refresh() - re-read the file if it changed (checked at most once a second); 0 or -errno */
static int dns_refresh(struct user_stack *s)
{
	struct dns_state *d = &s->dns;
	uint64_t now = stack_now_ms(s);

	if (!d->checked_ms || now - d->checked_ms >= 1000) {
		struct stat st;

		d->checked_ms = now ? now : 1;
		if (stat(s->cfg.resolv_conf, &st) < 0) {
			d->have = false;
			d->st_ino = 0;
			return -errno;
		}
		if ((!d->have && !d->have6) || st.st_dev != d->st_dev || st.st_ino != d->st_ino ||
		    st.st_size != d->st_size || st.st_mtim.tv_sec != d->st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != d->st_mtim.tv_nsec) {
			int r = dns_read(s, &st);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

int dns_resolver(struct user_stack *s, struct sockaddr_storage *sa, socklen_t *salen)
{
	struct dns_state *d = &s->dns;
	int r = dns_refresh(s);

	if (r < 0)
		return r;
	if (!d->have)
		return -EHOSTUNREACH;
	memcpy(sa, &d->addr, d->addrlen);
	*salen = d->addrlen;
	return 0;
}

int stack_translate_out4(struct user_stack *s, struct in_addr dst, uint16_t dport,
			 struct sockaddr_storage *sa, socklen_t *salen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	if (dst.s_addr == s->cfg.dns.s_addr) {
		if (dport != 53 || s->cfg.no_dns)
			return -EPERM;
		return dns_resolver(s, sa, salen);
	}
	if (s->cfg.no_host_loopback && (dst.s_addr == s->cfg.host.s_addr ||
					dst.s_addr == INADDR_BROADCAST || (ntohl(dst.s_addr) >> 24) == 127))
		return -EPERM;
	memset(sa, 0, sizeof(*sa));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(dport);
	if (dst.s_addr == s->cfg.host.s_addr || dst.s_addr == INADDR_BROADCAST)
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	else
		sin->sin_addr = dst;
	*salen = sizeof(*sin);
	return 0;
}

struct in_addr stack_translate_in4(struct user_stack *s, struct in_addr orig,
				   const struct sockaddr_storage *sa)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;
	uint32_t inv = ~s->cfg.mask.s_addr;
	struct in_addr a;

	if (sa->ss_family != AF_INET)
		return orig;
	a = sin->sin_addr;
	/*
	 * libslirp's rule (sotranslate_in): only flows the guest sent into the
	 * virtual network are translated. To the subnet broadcast: the reply is
	 * from the gateway. To any other virtual address (DNS, a guestfwd address,
	 * the gateway): from that address, except that a peer other than host
	 * loopback answering a flow sent to the gateway shows its real address.
	 */
	if (!stack_in_net(s, orig))
		return a;
	if ((orig.s_addr & inv) == inv)
		return s->cfg.host;
	if ((ntohl(a.s_addr) >> 24) == 127 || orig.s_addr != s->cfg.host.s_addr)
		return orig;
	return a;
}

int dns_resolver6(struct user_stack *s, struct sockaddr_in6 *sa)
{
	struct dns_state *d = &s->dns;
	int r = dns_refresh(s);

	if (r < 0)
		return r;
	if (d->have6) {
		*sa = d->addr6;
		return 0;
	}
	if (d->have && d->addr.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&d->addr;

		memset(sa, 0, sizeof(*sa));
		sa->sin6_family = AF_INET6;
		sa->sin6_port = sin->sin_port;
		sa->sin6_addr.s6_addr[10] = sa->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&sa->sin6_addr.s6_addr[12], &sin->sin_addr, 4);
		return 0;
	}
	return -EHOSTUNREACH;
}

int stack_translate_out6(struct user_stack *s, const struct in6_addr *dst, uint16_t dport,
			 struct sockaddr_in6 *sa)
{
	if (!memcmp(dst, &s->cfg.dns6, sizeof(*dst))) {
		if (dport != 53)
			return -EPERM;
		return dns_resolver6(s, sa);
	}
	memset(sa, 0, sizeof(*sa));
	sa->sin6_family = AF_INET6;
	sa->sin6_port = htons(dport);
	if (ip6_in_prefix(s, dst) || ip6_is_ours(s, dst)) {
		sa->sin6_addr = in6addr_loopback;
		return 0;
	}
	if (dst->s6_addr[0] == 0xff || ip6_is_linklocal(dst) || ip6_is_unspec(dst) ||
	    IN6_IS_ADDR_V4MAPPED(dst))
		return -ENETUNREACH;
	sa->sin6_addr = *dst;
	return 0;
}

void stack_translate_in6(struct user_stack *s, const struct in6_addr *orig,
			 const struct sockaddr_storage *sa, struct in6_addr *out)
{
	if (ip6_in_prefix(s, orig) || ip6_is_ours(s, orig) || sa->ss_family != AF_INET6) {
		*out = *orig;
		return;
	}
	*out = ((const struct sockaddr_in6 *)sa)->sin6_addr;
}
