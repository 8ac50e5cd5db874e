/* SPDX-License-Identifier: MIT */
/* user.h - the `user` netdev: qnet's glue around the user stack library (src/stack) */
#ifndef QNET_USER_H
#define QNET_USER_H

#include "../cli/opts.h"
#include "../core/net.h"
#include "../stack/stack.h"

/*
 * A `user` netdev is a net client whose receive() hands the guest's frames
 * to stack_input() and whose stack sends through net_send(). user.c parses
 * -netdev user's options into a struct stack_cfg, implements struct
 * stack_env on qnet's loop (one loop_timer, one loop_fd per stack_fd kept in
 * its env storage, loop_defer for stack_flush) and raises the stack's events
 * through core/event.h with "netdev-id" added. It also keeps the list of
 * every user netdev for the monitor (info usernet, hostfwd_add...).
 */

/* user_parse_cfg() - -netdev user's options into @c (QEMU's texts); free with stack_cfg_free() */
int user_parse_cfg(struct stack_cfg *c, struct opts *o, struct error *e);
/* user_add_fwds() - the guestfwd= then hostfwd= rules of @o, onto @s */
int user_add_fwds(struct user_stack *s, struct opts *o, struct error *e);

/* user_smb_check_addr() - smbserver= parses ("Failed to parse SMB address"); 0 or -1 */
int user_smb_check_addr(struct opts *o, struct error *e);
/**
 * user_smb_start() - smb=DIR[,smbserver=ADDR]: smbd's private directory and configuration, and
 * guestfwds on ADDR:445 and :139 that start smbd per guest connection (QEMU's errors)
 * @dirp:	set to the directory as soon as it exists (remove it with user_smb_remove(), also
 *		on failure)
 * Return: 0 (nothing done without smb=), or -1 with @e set
 */
int user_smb_start(struct user_stack *s, struct opts *o, char **dirp, struct error *e);
/* user_smb_remove() - remove the directory of user_smb_start() and free @dir (NULL: nothing) */
void user_smb_remove(char *dir);

/* user_first() / user_next() - the stack of every user netdev, in creation order */
struct user_stack *user_first(void);
struct user_stack *user_next(struct user_stack *s);
/* user_of() - the stack of a user netdev client, NULL for other clients */
struct user_stack *user_of(struct net_client *nc);
/* user_info_usernet() - QEMU's `info usernet` block of one netdev ("Hub N (id):" and the table) */
void user_info_usernet(struct user_stack *s, struct sbuf *out);

#endif /* QNET_USER_H */
