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
 * @checked_ms:	last stat() of the file (at most once a second)
 * @st_dev, @st_ino, @st_size, @st_mtim: the file as last read
 */
struct dns_state {
	bool have;
	struct sockaddr_storage addr;
	socklen_t addrlen;
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

#endif /* QNET_DNS_H */
