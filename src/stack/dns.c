// SPDX-License-Identifier: MIT
// dns.c - the host resolver from resolv-conf=, and guest <-> host address translation

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "stack.h"

/*
 * Like libslirp: the first IPv4 `nameserver` of the file is the resolver;
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

	d->have = false;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char addr[256];
		struct in_addr a;

		if (sscanf(line, " nameserver %255s", addr) != 1)
			continue;
		any = true;
		if (inet_pton(AF_INET, addr, &a) == 1) {
			struct sockaddr_in *sin = (struct sockaddr_in *)&d->addr;

			memset(&d->addr, 0, sizeof(d->addr));
			sin->sin_family = AF_INET;
			sin->sin_addr = a;
			sin->sin_port = htons(53);
			d->addrlen = sizeof(*sin);
			d->have = true;
			break;
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
	return d->have ? 0 : -EHOSTUNREACH;
}

int dns_resolver(struct user_stack *s, struct sockaddr_storage *sa, socklen_t *salen)
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
		if (!d->have || st.st_dev != d->st_dev || st.st_ino != d->st_ino ||
		    st.st_size != d->st_size || st.st_mtim.tv_sec != d->st_mtim.tv_sec ||
		    st.st_mtim.tv_nsec != d->st_mtim.tv_nsec) {
			int r = dns_read(s, &st);

			if (r < 0)
				return r;
		}
	}
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
