/* SPDX-License-Identifier: MIT */
/* wire.h - numbers of the wire formats qnet reads and writes, named once */
#ifndef QNET_WIRE_H
#define QNET_WIRE_H

/*
 * DOC: Wire constants
 *
 * Parsers name what they compare with: the constants below, not bare
 * numbers. All values are as on the wire (read them with the cursor's
 * be16/be32 into host order first). The WIRE_ prefix keeps them apart from
 * the libc headers' ETH_* / IPPROTO_* / ICMP_* / TCP_* names, which some
 * files also include.
 */

/* ---- Ethernet ---- */
#define WIRE_ETH_ALEN 6
#define WIRE_ETH_HLEN 14		/* dst, src, type */
#define WIRE_ETH_TYPE_OFF 12		/* offset of the ethertype */
#define WIRE_ETHERTYPE_IPV4 0x0800
#define WIRE_ETHERTYPE_ARP 0x0806
#define WIRE_ETHERTYPE_RARP 0x8035
#define WIRE_ETHERTYPE_VLAN 0x8100
#define WIRE_ETHERTYPE_IPV6 0x86dd

/* ---- ARP (Ethernet/IPv4) ---- */
#define WIRE_ARP_LEN 28			/* htype, ptype, hlen, plen, op, sha, spa, tha, tpa */
#define WIRE_ARP_HTYPE_ETHER 1
#define WIRE_ARP_PLEN_IPV4 4
#define WIRE_ARP_OP_REQUEST 1
#define WIRE_ARP_OP_REPLY 2
#define WIRE_RARP_OP_REQUEST 3

/* ---- IPv4 ---- */
#define WIRE_IP4_HLEN 20		/* without options */
#define WIRE_IP4_HLEN_MAX 60
#define WIRE_IP4_VERSION 4
#define WIRE_IP4_FLAG_DF 0x4000
#define WIRE_IP4_FLAG_MF 0x2000
#define WIRE_IP4_OFFMASK 0x1fff		/* fragment offset, in 8-byte units */
#define WIRE_IP4_MAX 65535		/* tot_len limit */
#define WIRE_IP4_ADDR_LEN 4
#define WIRE_IP4_SADDR_OFF 12
#define WIRE_IP4_DADDR_OFF 16

/* IP protocol numbers */
#define WIRE_IPPROTO_ICMP 1
#define WIRE_IPPROTO_TCP 6
#define WIRE_IPPROTO_UDP 17
#define WIRE_IPPROTO_GRE 47
#define WIRE_IPPROTO_ICMPV6 58

/* ---- IPv6 (RFC 8200) ---- */
#define WIRE_IP6_HLEN 40
#define WIRE_IP6_VERSION 6
#define WIRE_IP6_ADDR_LEN 16
#define WIRE_IP6_MIN_MTU 1280
/* next-header values of the extension headers, and "no next header" */
#define WIRE_IP6_NH_HOPOPTS 0
#define WIRE_IP6_NH_ROUTING 43
#define WIRE_IP6_NH_FRAGMENT 44
#define WIRE_IP6_NH_NONE 59
#define WIRE_IP6_NH_DSTOPTS 60
#define WIRE_IP6_FRAG_HLEN 8

/* ---- ICMPv6 (RFC 4443) and NDP (RFC 4861, RFC 8106) ---- */
#define WIRE_ICMP6_HLEN 8
#define WIRE_ICMP6_DST_UNREACH 1
#define WIRE_ICMP6_PACKET_TOO_BIG 2
#define WIRE_ICMP6_TIME_EXCEEDED 3
#define WIRE_ICMP6_PARAM_PROB 4
#define WIRE_ICMP6_ECHO_REQUEST 128
#define WIRE_ICMP6_ECHO_REPLY 129
#define WIRE_ND_ROUTER_SOLICIT 133
#define WIRE_ND_ROUTER_ADVERT 134
#define WIRE_ND_NEIGHBOR_SOLICIT 135
#define WIRE_ND_NEIGHBOR_ADVERT 136
#define WIRE_ND_REDIRECT 137
#define WIRE_ND_HOP_LIMIT 255		/* every NDP message carries it (RFC 4861 6.1) */
#define WIRE_ND_RS_LEN 8		/* type .. reserved, then options */
#define WIRE_ND_RA_LEN 16
#define WIRE_ND_NS_LEN 24		/* type .. target */
#define WIRE_ND_NA_LEN 24
/* NA flags (first byte after the checksum) */
#define WIRE_ND_NA_ROUTER 0x80
#define WIRE_ND_NA_SOLICITED 0x40
#define WIRE_ND_NA_OVERRIDE 0x20
/* option types; an option's length is in units of 8 bytes, 0 is invalid */
#define WIRE_ND_OPT_SLLA 1
#define WIRE_ND_OPT_TLLA 2
#define WIRE_ND_OPT_PREFIX 3
#define WIRE_ND_OPT_MTU 5
#define WIRE_ND_OPT_RDNSS 25
#define WIRE_ND_OPT_DNSSL 31
#define WIRE_ND_OPT_UNIT 8
#define WIRE_ND_PREFIX_ONLINK 0x80
#define WIRE_ND_PREFIX_AUTO 0x40

/* ---- UDP ---- */
#define WIRE_UDP_HLEN 8

/* ---- TCP ---- */
#define WIRE_TCP_HLEN 20		/* without options */
#define WIRE_TCP_HLEN_MAX 60
#define WIRE_TCP_FIN 0x01
#define WIRE_TCP_SYN 0x02
#define WIRE_TCP_RST 0x04
#define WIRE_TCP_PSH 0x08
#define WIRE_TCP_ACK 0x10
#define WIRE_TCP_URG 0x20
#define WIRE_TCP_ECE 0x40
#define WIRE_TCP_CWR 0x80
/* option kinds and their lengths */
#define WIRE_TCPOPT_EOL 0
#define WIRE_TCPOPT_NOP 1
#define WIRE_TCPOPT_MSS 2
#define WIRE_TCPOPT_WSCALE 3
#define WIRE_TCPOPT_SACK_PERM 4
#define WIRE_TCPOPT_SACK 5
#define WIRE_TCPOPT_TIMESTAMP 8
#define WIRE_TCPOLEN_MSS 4
#define WIRE_TCPOLEN_WSCALE 3

/* ---- ICMP ---- */
#define WIRE_ICMP_HLEN 8		/* type, code, checksum, 4 bytes (id/seq, unused, mtu) */
#define WIRE_ICMP_ECHOREPLY 0
#define WIRE_ICMP_DEST_UNREACH 3
#define WIRE_ICMP_ECHO 8
#define WIRE_ICMP_TIME_EXCEEDED 11
#define WIRE_ICMP_PARAMPROB 12
/* codes of DEST_UNREACH */
#define WIRE_ICMP_NET_UNREACH 0
#define WIRE_ICMP_HOST_UNREACH 1
#define WIRE_ICMP_PROT_UNREACH 2
#define WIRE_ICMP_PORT_UNREACH 3
#define WIRE_ICMP_FRAG_NEEDED 4
/* codes of TIME_EXCEEDED */
#define WIRE_ICMP_EXC_TTL 0
#define WIRE_ICMP_EXC_FRAGTIME 1
/* RFC 1812 4.3.2.3: an error datagram is at most this long */
#define WIRE_ICMP_ERROR_MAX 576

/* ---- BOOTP / DHCP (RFC 951, 2131, 2132) ---- */
#define WIRE_BOOTP_FIXED 236		/* op .. file, before the magic cookie */
#define WIRE_BOOTP_CHADDR_OFF 28
#define WIRE_BOOTP_REQUEST 1
#define WIRE_BOOTP_REPLY 2
#define WIRE_DHCP_MAGIC 0x63825363
#define WIRE_DHCP_MAGIC_LEN 4
/* message types (option 53) */
#define WIRE_DHCP_DISCOVER 1
#define WIRE_DHCP_OFFER 2
#define WIRE_DHCP_REQUEST 3
#define WIRE_DHCP_DECLINE 4
#define WIRE_DHCP_ACK 5
#define WIRE_DHCP_NAK 6
#define WIRE_DHCP_RELEASE 7
#define WIRE_DHCP_INFORM 8
/* option numbers */
#define WIRE_DHCPO_PAD 0
#define WIRE_DHCPO_SUBNET_MASK 1
#define WIRE_DHCPO_ROUTER 3
#define WIRE_DHCPO_DNS 6
#define WIRE_DHCPO_HOSTNAME 12
#define WIRE_DHCPO_DOMAIN_NAME 15
#define WIRE_DHCPO_TFTP_SERVER 66
#define WIRE_DHCPO_BOOTFILE 67
#define WIRE_DHCPO_MTU 26
#define WIRE_DHCPO_REQUESTED_ADDR 50
#define WIRE_DHCPO_LEASE_TIME 51
#define WIRE_DHCPO_MSG_TYPE 53
#define WIRE_DHCPO_SERVER_ID 54
#define WIRE_DHCPO_PARAM_LIST 55
#define WIRE_DHCPO_T1 58
#define WIRE_DHCPO_T2 59
#define WIRE_DHCPO_CLIENT_ID 61
#define WIRE_DHCPO_DOMAIN_SEARCH 119
#define WIRE_DHCPO_END 255

/* ---- well-known ports ---- */
#define WIRE_PORT_DNS 53
#define WIRE_PORT_BOOTPS 67
#define WIRE_PORT_BOOTPC 68
#define WIRE_PORT_TFTP 69

/* ---- TFTP (RFC 1350, 2347) ---- */
#define WIRE_TFTP_RRQ 1
#define WIRE_TFTP_WRQ 2
#define WIRE_TFTP_DATA 3
#define WIRE_TFTP_ACK 4
#define WIRE_TFTP_ERROR 5
#define WIRE_TFTP_OACK 6
#define WIRE_TFTP_HLEN 4		/* opcode + block number (DATA, ACK) or error code */

/* ---- DNS (RFC 1035) ---- */
#define WIRE_DNS_HLEN 12

/* ---- qnet/QEMU framings ---- */
/* stream, socket (TCP/unix), passt "qemu" protocol: a be32 frame length, then the frame */
#define WIRE_STREAM_LEN_SIZE 4
/* filter-mirror/redirector with vnet_hdr_support: be32 length, be32 vnet header length */
#define WIRE_REDIR_VNET_LEN_SIZE 4

/* ---- VXLAN (RFC 7348): flags, 3 reserved, VNI (24 bits), 1 reserved ---- */
#define WIRE_VXLAN_HLEN 8
#define WIRE_VXLAN_FLAG_I 0x08		/* the VNI is valid; the other flag bits are ignored */
#define WIRE_VXLAN_VNI_MAX 0xffffff
#define WIRE_VXLAN_PORT 4789		/* IANA */

/* ---- L2TPv3 data messages (RFC 3931), as QEMU 7.2's -netdev l2tpv3 ---- */
#define WIRE_IPPROTO_L2TP 115		/* IP encapsulation */
#define WIRE_L2TP_UDP_WORD 0x00030000	/* UDP encapsulation: T=0 (data), Ver=3, first word */
#define WIRE_L2TP_WORD_LEN 4		/* that word, the session id, a 32-bit cookie, the counter */
#define WIRE_L2TP_COOKIE64_LEN 8
#define WIRE_L2TP_OFFSET_MAX 256	/* QEMU accepts offset=256 ("less than 256" in its text) */

#endif /* QNET_WIRE_H */
