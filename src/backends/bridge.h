/* SPDX-License-Identifier: MIT */
/* bridge.h - qemu-bridge-helper (bridge.c) and the tap client made from its fd (tap.c) */
#ifndef QNET_BRIDGE_H
#define QNET_BRIDGE_H

#include "../core/net.h"
#include "../core/util.h"

#define BRIDGE_DEFAULT_HELPER "/usr/lib/qemu/qemu-bridge-helper"
#define BRIDGE_DEFAULT_BR "br0"

/**
 * bridge_helper_fd() - run @helper for bridge @br, QEMU's protocol (bridge.c DOC)
 * Return: the tap fd, or -1 with QEMU's text in @e
 */
int bridge_helper_fd(const char *helper, const char *br, struct error *e);
/**
 * tap_new_fd() - a tap client of model @model on an open tap fd, which it takes
 * Return: the client, or NULL with @e set (@fd closed)
 */
struct net_client *tap_new_fd(struct net_client *peer, const char *model, const char *id, int fd,
			      struct error *e);

#endif /* QNET_BRIDGE_H */
