/* SPDX-License-Identifier: MIT */
/* inet.h - IPv4 helpers shared by the socket and dgram backends (QEMU's texts) */
#ifndef QNET_INET_H
#define QNET_INET_H

#include <netinet/in.h>

#include "../core/util.h"

/**
 * inet_host_port() - QEMU's convert_host_port(): IPv4 only
 * @host:	"" (any), a dotted quad, or a name resolved to IPv4
 * @port:	a number as strtol base 0 reads it (trailing text ignored, as QEMU)
 * Return: 0, or -1 with "host address '%s' is not a valid IPv4 address" and the like
 */
int inet_host_port(struct sockaddr_in *sin, const char *host, const char *port, struct error *e);
/* inet_parse_host_port() - QEMU's parse_host_port(): "[host]:port" */
int inet_parse_host_port(struct sockaddr_in *sin, const char *str, struct error *e);
/**
 * inet_mcast_socket() - QEMU's multicast socket: bound to the group, a member of it on @local
 * (or any interface), multicast loop on, sending through @local if given
 * Return: a non-blocking fd, or -1
 */
int inet_mcast_socket(const struct sockaddr_in *group, const struct in_addr *local,
		      struct error *e);
/* inet_udp_socket() - a non-blocking UDP socket bound to @local with SO_REUSEADDR; fd or -1 */
int inet_udp_socket(const struct sockaddr_in *local, struct error *e);

#endif /* QNET_INET_H */
