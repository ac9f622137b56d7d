/**
 * Wire constants of netlink (RFC 3549; linux/netlink.h), rtnetlink (linux/rtnetlink.h, if_link.h,
 * if_addr.h, if_tunnel.h, lwtunnel.h, mpls_iptunnel.h) and generic netlink (linux/genetlink.h, fou.h),
 * as the uapi headers define them. Only what src/netlink uses.
 */

/** Our routing protocol number (rtm_protocol), marking every route this project installs so that a
 * restarted daemon finds its own routes again. 0xc9 = 201: unused by iproute2's rt_protos and by the
 * routing daemons that register numbers (FRR uses 186-198, BIRD 12, zebra 11, Babel 42, OpenR 99). */
export const RTPROT_GSI = 201

export const AF = { UNSPEC: 0, INET: 2, INET6: 10, PACKET: 17, MPLS: 28 } as const
export const NETLINK_ROUTE = 0
export const NETLINK_GENERIC = 16

export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const
export const NLM_F = {
  REQUEST: 0x1, MULTI: 0x2, ACK: 0x4, ECHO: 0x8, DUMP_INTR: 0x10,
  ROOT: 0x100, MATCH: 0x200, DUMP: 0x300,
  REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800,
} as const

export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
} as const

export const IFF = { UP: 0x1, RUNNING: 0x40, LOWER_UP: 0x10000 } as const

export const IFLA = {
  ADDRESS: 1, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, OPERSTATE: 16, LINKINFO: 18,
  NET_NS_PID: 19, NET_NS_FD: 28,
} as const
export const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4 } as const
export const VETH_INFO_PEER = 1
export const IFLA_VRF_TABLE = 1
export const IFLA_GRE = {
  LINK: 1, IFLAGS: 2, OFLAGS: 3, IKEY: 4, OKEY: 5, LOCAL: 6, REMOTE: 7, TTL: 8, TOS: 9, PMTUDISC: 10,
} as const
export const IFLA_IPTUN = {
  LINK: 1, LOCAL: 2, REMOTE: 3, TTL: 4, TOS: 5, PROTO: 9, PMTUDISC: 10,
  ENCAP_TYPE: 15, ENCAP_FLAGS: 16, ENCAP_SPORT: 17, ENCAP_DPORT: 18,
} as const
export const TUNNEL_ENCAP = { NONE: 0, FOU: 1, GUE: 2 } as const
export const IPPROTO = { IPIP: 4, GRE: 47, MPLS: 137 } as const
/** IF_OPER_* (RFC 2863 operStatus as the kernel numbers it). */
export const OPERSTATES = ['unknown', 'notpresent', 'down', 'lowerlayerdown', 'testing', 'dormant', 'up'] as const

export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, FLAGS: 8 } as const

export const RTA = {
  DST: 1, SRC: 2, IIF: 3, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, METRICS: 8, MULTIPATH: 9,
  TABLE: 15, VIA: 18, NEWDST: 19, PREF: 20, ENCAP_TYPE: 21, ENCAP: 22, TTL_PROPAGATE: 26, NH_ID: 30,
} as const
export const RTN = {
  UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5, BLACKHOLE: 6,
  UNREACHABLE: 7, PROHIBIT: 8,
} as const
export const RT_SCOPE = { UNIVERSE: 0, LINK: 253, HOST: 254, NOWHERE: 255 } as const
export const RT_TABLE = { UNSPEC: 0, DEFAULT: 253, MAIN: 254, LOCAL: 255 } as const
export const RTNH_F = { DEAD: 1, PERVASIVE: 2, ONLINK: 4, OFFLOAD: 8, LINKDOWN: 16 } as const
/** RTAX_* route metrics (nested in RTA_METRICS). */
export const RTAX = { LOCK: 1, MTU: 2, WINDOW: 3, RTT: 4, ADVMSS: 8, HOPLIMIT: 10, INITCWND: 11 } as const
export const LWTUNNEL_ENCAP_MPLS = 1
export const MPLS_IPTUNNEL_DST = 1

/** rtnetlink multicast groups (RTNLGRP_*), joined with NETLINK_ADD_MEMBERSHIP. */
export const RTNLGRP = {
  LINK: 1, IPV4_IFADDR: 5, IPV4_ROUTE: 7, IPV6_IFADDR: 9, IPV6_ROUTE: 11, MPLS_ROUTE: 27,
} as const

export const GENL_ID_CTRL = 0x10
export const CTRL_CMD_GETFAMILY = 3
export const CTRL_ATTR = { FAMILY_ID: 1, FAMILY_NAME: 2 } as const
export const FOU_CMD = { ADD: 1, DEL: 2, GET: 3 } as const
export const FOU_ATTR = { PORT: 1, AF: 2, IPPROTO: 3, TYPE: 4 } as const
export const FOU_ENCAP = { DIRECT: 1, GUE: 2 } as const

export const NLA_F_NESTED = 0x8000
export const NLA_TYPE_MASK = 0x3fff
