/* SPDX-License-Identifier: MIT */
/* hub.h - QEMU hubs: ports that flood frames to each other, or a learning switch */
#ifndef QNET_HUB_H
#define QNET_HUB_H

#include <stdbool.h>
#include <stdint.h>

#include "net.h"

/*
 * A hub joins any number of ports (net clients of type hubport). A frame
 * received by a port from its peer goes to every other port's peer (flood
 * mode, QEMU's behaviour), or, in switch mode, to the one port its
 * destination MAC was learned on (unknown unicast, broadcast and multicast
 * are flooded).
 *
 * Each destination has its own bounded incoming queue (the core's): a member
 * that stops reading fills its own queue and then drops (counted on that
 * member), while the others go on. A source is paused (back-pressure) only
 * while a destination that is still draining is above its high watermark.
 */

enum hub_mode { HUB_FLOOD, HUB_SWITCH };

struct hub;

/* seconds a learned MAC stays in a switch-mode hub's table unless ageing= says otherwise */
#define HUB_AGEING_DEFAULT 300

/* hub_find() - hub @id, or NULL */
struct hub *hub_find(int id);
/* hub_get() - hub @id, created (flood mode) on first use */
struct hub *hub_get(int id);
int hub_id(const struct hub *h);
/* hub_set_mode() - 0, or -1 if the hub already has another mode set explicitly */
int hub_set_mode(struct hub *h, enum hub_mode mode, unsigned ageing_s, struct error *e);

/**
 * hub_add_port() - new port on @h
 * @name:	port name, or NULL for QEMU's "hub<H>port<N>"
 * @peer:	client to link the port to, or NULL
 * @is_netdev:	true for -netdev hubport
 * Return: the port's client
 */
struct net_client *hub_add_port(struct hub *h, const char *name, struct net_client *peer,
				bool is_netdev);
/* hub_port_hub() - the hub of a hubport client, NULL for other clients */
struct hub *hub_port_hub(const struct net_client *nc);

/**
 * hub_port_path_offloads() - the offloads every other member of @nc's hub accepts (what a
 * frame sent into port @nc can carry without being segmented for someone); 0 if none
 */
uint32_t hub_port_path_offloads(const struct net_client *nc);

/* hub_info() - the hubs part of `info network` (newest hub and port first) */
void hub_info(struct sbuf *out);
/* hub_info_mac_table() - learned MACs of switch-mode hubs */
void hub_info_mac_table(struct sbuf *out);
/* hub_mac_cb - one learned MAC: hub id, MAC, port name, seconds since last seen */
typedef void hub_mac_cb(int hubid, const uint8_t *mac, const char *port, unsigned age_s,
			void *opaque);
/* hub_mac_foreach() - every live learned MAC of switch-mode hubs */
void hub_mac_foreach(hub_mac_cb *cb, void *opaque);
/* hub_check_clients() - QEMU's start-up warnings ("hub port %s has no peer"...) */
void hub_check_clients(void);
/* hub_free_all() - at exit, after the clients */
void hub_free_all(void);

#endif /* QNET_HUB_H */
