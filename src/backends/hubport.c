// SPDX-License-Identifier: MIT
// hubport.c - the hubport netdev: its options, onto the hubs of core/hub.c

#include <stdint.h>
#include <string.h>

#include "../cli/netdev.h"
#include "../core/hub.h"

/* -netdev hubport,id=ID,hubid=N[,netdev=ND][,mode=flood|switch][,ageing=S] */
static int hubport_init(struct opts *o, const char *id, struct net_client *peer,
			   struct error *e)
{
	const char *nd = opts_get(o, "netdev"), *mode = opts_get(o, "mode");
	struct net_client *target = NULL;
	uint64_t ageing = HUB_AGEING_DEFAULT;
	int64_t hubid;
	struct hub *h;
	int r;

	r = opts_get_i64(o, "hubid", &hubid, e);
	if (r < 0)
		return -1;
	if (r == 0)
		return err_set(e, "Parameter 'hubid' is missing");
	if (hubid < INT32_MIN || hubid > INT32_MAX)
		return err_set(e, "Parameter 'hubid' expects int32_t");
	if (opts_get_u64(o, "ageing", &ageing, e) < 0)
		return -1;
	if (ageing == 0 || ageing > 86400)
		return err_set(e, "Parameter 'ageing' expects a number of seconds from 1 to 86400");
	if (mode && strcmp(mode, "flood") && strcmp(mode, "switch"))
		return err_set(e, "Parameter 'mode' expects 'flood' or 'switch'");
	if (nd) {
		target = net_find(nd);
		if (!target || target->ops->driver == NET_DRIVER_NIC)
			return err_set(e, "netdev '%s' not found", nd);
		if (target->peer)
			return err_set(e, "netdev '%s' is already connected to '%s'", nd,
				       target->peer->name);
	}
	h = hub_get((int)hubid);
	if ((mode || opts_has(o, "ageing")) &&
	    hub_set_mode(h, mode && !strcmp(mode, "switch") ? HUB_SWITCH : HUB_FLOOD,
			 (unsigned)ageing, e) < 0)
		return -1;
	hub_add_port(h, id, target ? target : peer, true);
	return 0;
}

static const struct opt_desc hubport_opts[] = {
	{ "hubid", OPT_NUMBER, "hub number (created on first use)" },
	{ "netdev", OPT_STRING, "id of a netdev to connect to this port" },
	{ "mode", OPT_STRING, "qnet: flood (QEMU's hub, default) or switch (learning switch)" },
	{ "ageing", OPT_NUMBER, "qnet: seconds a learned MAC stays in a switch's table (300)" },
	{ NULL, 0, NULL },
};

const struct netdev_type netdev_hubport = {
	.name = "hubport",
	.driver = NET_DRIVER_HUBPORT,
	.opts = hubport_opts,
	.modern = false,
	.legacy_ok = false,
	.init = hubport_init,
};
