/* SPDX-License-Identifier: MIT */
/* dns.h - the host's resolver (resolv-conf=) and the guest->host address translation */
#ifndef QNET_DNS_H
#define QNET_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>

struct user_stack;

/**
 * struct dns_state - the resolver address, re-read when the file changes
 * @have:	a nameserver was found
 * @addr:	its address (IPv4 for now; port 53)
 * @have6, @addr6: the first IPv6 nameserver of the file, for IPv6 flows (else @addr, v4-mapped)
 * @checked_ms:	last stat() of the file (at most once a second)
 * @st_dev, @st_ino, @st_size, @st_mtim: the file as last read
 */
struct dns_state {
	bool have;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	bool have6;
	struct sockaddr_in6 addr6;
	uint64_t checked_ms;
	dev_t st_dev;
	ino_t st_ino;
	off_t st_size;
	struct timespec st_mtim;
};

/**
 * dns_resolver() - the resolver to send the guest's DNS to (first IPv4 nameserver of the file;
 * 127.0.0.1 when the file names none, as libslirp 4.8)
 * Return: 0 with *sa set (port 53), or -errno (file unreadable: -ENOENT...)
 */
int dns_resolver(struct user_stack *s, struct sockaddr_storage *sa, socklen_t *salen);

/**
 * stack_translate_out4() - where a guest flow to @dst:@dport goes on the host
 * gateway (cfg.host) -> 127.0.0.1, cfg.dns:53 -> the resolver, cfg.dns:other -> -EPERM,
 * anything else as is.
 * Return: 0 with *sa set, or -errno
 */
int stack_translate_out4(struct user_stack *s, struct in_addr dst, uint16_t dport,
			 struct sockaddr_storage *sa, socklen_t *salen);
/**
 * stack_translate_in4() - the source the guest sees for data from host peer @sa on a flow it
 * sent to @orig, as libslirp's sotranslate_in: flows to the subnet broadcast answer from the
 * gateway; flows to another address of the virtual network answer from that address (host
 * loopback answering the gateway included); anything else shows the peer's real address.
 * Return: the address (network order)
 */
struct in_addr stack_translate_in4(struct user_stack *s, struct in_addr orig,
				   const struct sockaddr_storage *sa);

/**
 * dns_resolver6() - the resolver for a guest's IPv6 DNS flow: the file's first IPv6 nameserver,
 * else its IPv4 one (v4-mapped, for a dual-stack socket)
 * Return: 0 with *sa set (port 53), or -errno
 */
int dns_resolver6(struct user_stack *s, struct sockaddr_in6 *sa);
/**
 * stack_translate_out6() - where a guest IPv6 flow to @dst:@dport goes on the host
 * [ipv6-dns]:53 -> the resolver, [ipv6-dns]:other -> -EPERM, the rest of the prefix and the
 * stack's link-local addresses -> ::1 (libslirp), other link-local or multicast -> -ENETUNREACH,
 * anything else as is.
 * Return: 0 with *sa set, or -errno
 */
int stack_translate_out6(struct user_stack *s, const struct in6_addr *dst, uint16_t dport,
			 struct sockaddr_in6 *sa);
/**
 * stack_translate_in6() - the source the guest sees for data from host peer @sa on a flow it
 * sent to @orig: @orig itself when that lies in the prefix (the host's ::1, the resolver),
 * else the peer's address
 */
void stack_translate_in6(struct user_stack *s, const struct in6_addr *orig,
			 const struct sockaddr_storage *sa, struct in6_addr *out);

#endif /* QNET_DNS_H */
