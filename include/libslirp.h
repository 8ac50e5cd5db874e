/* SPDX-License-Identifier: MIT */
/*
 * libslirp.h - qnet's user-mode stack behind libslirp 4.7's public API and ABI
 *
 * Written from libslirp's documented API: programs built against libslirp
 * (QEMU, slirp4netns, ...) run unchanged on build/libslirp.so.0. Types, field
 * order and sizes are those of libslirp 4.7 (tests/slirp/abi.sh checks them
 * against the system's libslirp-dev). What qnet does differently is listed in
 * docs/behaviour.md ("libslirp.so.0").
 */
#ifndef LIBSLIRP_H
#define LIBSLIRP_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "libslirp-version.h"

#ifdef __cplusplus
extern "C" {
#endif

/* one stack instance; the application only holds the pointer */
typedef struct Slirp Slirp;

/* poll events: what SlirpAddPollCb is asked to watch, what SlirpGetREventsCb reports */
enum {
	SLIRP_POLL_IN = 1 << 0,
	SLIRP_POLL_OUT = 1 << 1,
	SLIRP_POLL_PRI = 1 << 2,
	SLIRP_POLL_ERR = 1 << 3,
	SLIRP_POLL_HUP = 1 << 4,
};

/* read/write: bytes done, or <0 on error */
typedef ssize_t (*SlirpReadCb)(void *buf, size_t len, void *opaque);
typedef ssize_t (*SlirpWriteCb)(const void *buf, size_t len, void *opaque);
typedef void (*SlirpTimerCb)(void *opaque);
/* add_poll: watch @fd for SLIRP_POLL_* @events, return an index for get_revents */
typedef int (*SlirpAddPollCb)(int fd, int events, void *opaque);
/* get_revents: the SLIRP_POLL_* seen on the fd registered as @idx */
typedef int (*SlirpGetREventsCb)(int idx, void *opaque);

/* timers created through SlirpCb.timer_new_opaque */
typedef enum SlirpTimerId {
	SLIRP_TIMER_RA,
	SLIRP_TIMER_NUM,
} SlirpTimerId;

/*
 * SlirpCb - what the application provides; every callback gets the opaque
 * pointer given to slirp_new() / slirp_init() as its last argument.
 */
typedef struct SlirpCb {
	/* one Ethernet frame to the guest; <0 is an I/O error (the frame is lost) */
	SlirpWriteCb send_packet;
	/* report something the guest did wrong */
	void (*guest_error)(const char *msg, void *opaque);
	/* the clock, in nanoseconds */
	int64_t (*clock_get_ns)(void *opaque);
	/* a timer calling cb(cb_opaque) (unused when timer_new_opaque is given) */
	void *(*timer_new)(SlirpTimerCb cb, void *cb_opaque, void *opaque);
	/* delete a timer */
	void (*timer_free)(void *timer, void *opaque);
	/* (re)arm a timer to fire at @expire_time, in milliseconds of clock_get_ns's clock */
	void (*timer_mod)(void *timer, int64_t expire_time, void *opaque);
	/* an fd the stack opened / is about to close (for hosts that track them) */
	void (*register_poll_fd)(int fd, void *opaque);
	void (*unregister_poll_fd)(int fd, void *opaque);
	/* wake the host's loop: slirp_socket_can_recv() may return more now */
	void (*notify)(void *opaque);

	/* from SlirpConfig version 4 on: */
	/* the instance exists (called inside slirp_new, before any timer fires) */
	void (*init_completed)(Slirp *slirp, void *opaque);
	/* a timer that, when it fires, makes the host call slirp_handle_timer(slirp, id, cb_opaque) */
	void *(*timer_new_opaque)(SlirpTimerId id, void *cb_opaque, void *opaque);
} SlirpCb;

#define SLIRP_CONFIG_VERSION_MIN 1
#define SLIRP_CONFIG_VERSION_MAX 4

/* SlirpConfig - the instance's settings; @version says which fields below are valid */
typedef struct SlirpConfig {
	uint32_t version;

	/* version 1 */
	int restricted;			/* no traffic to the outside, only the virtual hosts */
	bool in_enabled;		/* IPv4 */
	struct in_addr vnetwork;	/* guest network */
	struct in_addr vnetmask;
	struct in_addr vhost;		/* gateway / host alias */
	bool in6_enabled;		/* IPv6 */
	struct in6_addr vprefix_addr6;
	uint8_t vprefix_len;
	struct in6_addr vhost6;
	const char *vhostname;		/* DHCP host name */
	const char *tftp_server_name;
	const char *tftp_path;
	const char *bootfile;
	struct in_addr vdhcp_start;	/* first DHCP lease */
	struct in_addr vnameserver;	/* DNS alias */
	struct in6_addr vnameserver6;
	const char **vdnssearch;	/* NULL-terminated list of search domains */
	const char *vdomainname;
	size_t if_mtu;			/* 0: the default (1500) */
	size_t if_mru;			/* 0: the default */
	bool disable_host_loopback;	/* no connections to the host's loopback */
	bool enable_emu;		/* protocol emulation (qnet: none) */

	/* version 2 */
	struct sockaddr_in *outbound_addr;
	struct sockaddr_in6 *outbound_addr6;

	/* version 3 */
	bool disable_dns;		/* no DNS service on the DNS alias */

	/* version 4 */
	bool disable_dhcp;		/* no DHCP service */
} SlirpConfig;

/* slirp_new() - a new instance (the config is copied); NULL if it cannot be made */
Slirp *slirp_new(const SlirpConfig *cfg, const SlirpCb *callbacks, void *opaque);
/* slirp_init() - the older form of slirp_new() (a version 1 config, field by field) */
Slirp *slirp_init(int restricted, bool in_enabled, struct in_addr vnetwork,
		  struct in_addr vnetmask, struct in_addr vhost, bool in6_enabled,
		  struct in6_addr vprefix_addr6, uint8_t vprefix_len, struct in6_addr vhost6,
		  const char *vhostname, const char *tftp_server_name, const char *tftp_path,
		  const char *bootfile, struct in_addr vdhcp_start, struct in_addr vnameserver,
		  struct in6_addr vnameserver6, const char **vdnssearch, const char *vdomainname,
		  const SlirpCb *callbacks, void *opaque);
/* slirp_cleanup() - close everything of the instance and free it */
void slirp_cleanup(Slirp *slirp);

/*
 * slirp_pollfds_fill() - before the host sleeps: add_poll() is called for each
 * fd to watch; *timeout (ms, UINT32_MAX for none) may be lowered.
 */
void slirp_pollfds_fill(Slirp *slirp, uint32_t *timeout, SlirpAddPollCb add_poll, void *opaque);
/*
 * slirp_pollfds_poll() - after the sleep: get_revents() is asked for each
 * index add_poll() returned; @select_error: the host's poll() failed.
 */
void slirp_pollfds_poll(Slirp *slirp, int select_error, SlirpGetREventsCb get_revents,
			void *opaque);
/* slirp_input() - one Ethernet frame from the guest */
void slirp_input(Slirp *slirp, const uint8_t *pkt, int pkt_len);
/* slirp_handle_timer() - a timer made with timer_new_opaque fired */
void slirp_handle_timer(Slirp *slirp, SlirpTimerId id, void *cb_opaque);

/* slirp_add_hostfwd() / slirp_remove_hostfwd() - host port -> guest port; 0 or -1 */
int slirp_add_hostfwd(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port,
		      struct in_addr guest_addr, int guest_port);
int slirp_remove_hostfwd(Slirp *slirp, int is_udp, struct in_addr host_addr, int host_port);

#define SLIRP_HOSTFWD_UDP 1
#define SLIRP_HOSTFWD_V6ONLY 2
/* slirp_add_hostxfwd() / slirp_remove_hostxfwd() - the same with socket addresses; 0 or -1 */
int slirp_add_hostxfwd(Slirp *slirp, const struct sockaddr *haddr, socklen_t haddrlen,
		       const struct sockaddr *gaddr, socklen_t gaddrlen, int flags);
int slirp_remove_hostxfwd(Slirp *slirp, const struct sockaddr *haddr, socklen_t haddrlen,
			  int flags);

/*
 * guest -> host forwarding: connections of the guest to *guest_addr:guest_port
 * go to a command (its stdin/stdout), a unix socket, or the application
 * (write_cb gets the guest's data, slirp_socket_recv() sends it data). A zero
 * *guest_addr is replaced by the default (network + .4). 0 or -1.
 */
int slirp_add_exec(Slirp *slirp, const char *cmdline, struct in_addr *guest_addr,
		   int guest_port);
int slirp_add_unix(Slirp *slirp, const char *unixsock, struct in_addr *guest_addr,
		   int guest_port);
int slirp_add_guestfwd(Slirp *slirp, SlirpWriteCb write_cb, void *opaque,
		       struct in_addr *guest_addr, int guest_port);
/* slirp_socket_can_recv() - bytes slirp_socket_recv() can take now for that guestfwd */
size_t slirp_socket_can_recv(Slirp *slirp, struct in_addr guest_addr, int guest_port);
/* slirp_socket_recv() - data from the application to the guest's guestfwd connection */
void slirp_socket_recv(Slirp *slirp, struct in_addr guest_addr, int guest_port,
		       const uint8_t *buf, int size);
/* slirp_remove_guestfwd() - remove a rule of slirp_add_exec/unix/guestfwd; 0 or -1 */
int slirp_remove_guestfwd(Slirp *slirp, struct in_addr guest_addr, int guest_port);

/* human-readable state (malloc'ed, the caller frees it): connections, ARP table */
char *slirp_connection_info(Slirp *slirp);
char *slirp_neighbor_info(Slirp *slirp);

/* migration: see docs/behaviour.md (qnet carries no connection state) */
void slirp_state_save(Slirp *s, SlirpWriteCb write_cb, void *opaque);
int slirp_state_version(void);
int slirp_state_load(Slirp *s, int version_id, SlirpReadCb read_cb, void *opaque);

/* slirp_version_string() - the implementation's version */
const char *slirp_version_string(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBSLIRP_H */
