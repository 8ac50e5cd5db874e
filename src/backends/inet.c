// SPDX-License-Identifier: MIT
// inet.c - IPv4 addresses and datagram sockets for the socket and dgram backends

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"

int inet_host_port(struct sockaddr_in *sin, const char *host, const char *port, struct error *e)
{
	char *end;
	long p;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	if (host[0] >= '0' && host[0] <= '9') {
		if (!inet_aton(host, &sin->sin_addr))
			return err_set(e, "host address '%s' is not a valid IPv4 address", host);
	} else if (host[0]) {
		struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
		struct addrinfo *res = NULL;

		if (getaddrinfo(host, NULL, &hints, &res) || !res)
			return err_set(e, "can't resolve host address '%s'", host);
		sin->sin_addr = ((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr;
		freeaddrinfo(res);
	}
	errno = 0;
	p = strtol(port, &end, 0);
	if (end == port || errno == ERANGE)
		return err_set(e, "port number '%s' is invalid", port);
	sin->sin_port = htons((uint16_t)p);
	return 0;
}

int inet_parse_host_port(struct sockaddr_in *sin, const char *str, struct error *e)
{
	const char *colon = strchr(str, ':');
	char *host;
	int r;

	memset(sin, 0, sizeof(*sin));
	if (!colon)
		return err_set(e, "host address '%s' doesn't contain ':' separating host from port",
			       str);
	host = xasprintf("%.*s", (int)(colon - str), str);
	r = inet_host_port(sin, host, colon + 1, e);
	free(host);
	return r;
}

static int inet_dgram_socket(struct error *e)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;

	if (fd < 0)
		return err_set_errno(e, errno, "can't create datagram socket");
	sock_set_dgram_bufs(fd);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		err_set_errno(e, errno, "can't set socket option SO_REUSEADDR");
		close(fd);
		return -1;
	}
	return fd;
}

int inet_udp_socket(const struct sockaddr_in *local, struct error *e)
{
	int fd = inet_dgram_socket(e);

	if (fd < 0)
		return -1;
	if (bind(fd, (const struct sockaddr *)local, sizeof(*local)) < 0) {
		err_set_errno(e, errno, "can't bind ip=%s to socket", inet_ntoa(local->sin_addr));
		close(fd);
		return -1;
	}
	return fd;
}

int inet_mcast_socket(const struct sockaddr_in *group, const struct in_addr *local,
		      struct error *e)
{
	struct ip_mreq mreq = { .imr_multiaddr = group->sin_addr };
	int fd, one = 1;

	if (!IN_MULTICAST(ntohl(group->sin_addr.s_addr)))
		return err_set(e, "specified mcastaddr %s (0x%08x) does not contain a multicast address",
			       inet_ntoa(group->sin_addr), ntohl(group->sin_addr.s_addr));
	fd = inet_udp_socket(group, e);
	if (fd < 0)
		return -1;
	mreq.imr_interface.s_addr = local ? local->s_addr : htonl(INADDR_ANY);
	if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
		err_set_errno(e, errno, "can't add socket to multicast group %s",
			      inet_ntoa(mreq.imr_multiaddr));
	} else if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &one, sizeof(one)) < 0) {
		err_set_errno(e, errno, "can't force multicast message to loopback");
	} else if (local && setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, local, sizeof(*local)) < 0) {
		err_set_errno(e, errno, "can't set the default network send interface");
	} else {
		return fd;
	}
	close(fd);
	return -1;
}
