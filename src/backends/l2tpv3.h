/* SPDX-License-Identifier: MIT */
/* l2tpv3.h - the l2tpv3 netdev's input path and counters, for the unit test and the fuzzer */
#ifndef QNET_L2TPV3_H
#define QNET_L2TPV3_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/net.h"

/**
 * struct l2tpv3_counters - datagrams the l2tpv3 netdev dropped, by reason
 * @bad_ip:	IP encapsulation over IPv4: not an IPv4 header
 * @short_hdr:	shorter than the configured header plus an Ethernet header
 * @wrong_session: another session id
 * @wrong_cookie: another cookie
 * @old_counter: counter=on: not newer than the last one taken
 */
struct l2tpv3_counters {
	uint64_t bad_ip;
	uint64_t short_hdr;
	uint64_t wrong_session;
	uint64_t wrong_cookie;
	uint64_t old_counter;
};

/**
 * l2tpv3_input() - one datagram as the socket delivered it (IPv4 raw: with its IP header)
 * Return: as net_send(): >0 delivered, 0 queued, <0 dropped (and counted)
 */
ssize_t l2tpv3_input(struct net_client *nc, const uint8_t *buf, size_t len);
/* l2tpv3_counters() - the drop counters of an l2tpv3 netdev */
const struct l2tpv3_counters *l2tpv3_counters(const struct net_client *nc);

#endif /* QNET_L2TPV3_H */
