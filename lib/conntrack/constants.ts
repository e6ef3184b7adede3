// Constants from the Linux uapi headers. Each keeps its C name in a comment so a reader can grep the kernel:
// include/uapi/linux/netlink.h, netfilter/nfnetlink.h, netfilter/nfnetlink_conntrack.h,
// netfilter/nf_conntrack_common.h, netfilter/nf_conntrack_tcp.h.

export const NETLINK_NETFILTER = 12; // NETLINK_NETFILTER

// struct nlmsghdr flags
export const NLM_F = {
  REQUEST: 0x1, // NLM_F_REQUEST
  MULTI: 0x2, // NLM_F_MULTI
  ACK: 0x4, // NLM_F_ACK
  DUMP_INTR: 0x10, // NLM_F_DUMP_INTR
  DUMP_FILTERED: 0x20, // NLM_F_DUMP_FILTERED
  ROOT: 0x100, // NLM_F_ROOT
  MATCH: 0x200, // NLM_F_MATCH
  DUMP: 0x300, // NLM_F_DUMP
  EXCL: 0x200, // NLM_F_EXCL
  CREATE: 0x400, // NLM_F_CREATE
  CAPPED: 0x100, // NLM_F_CAPPED (in NLMSG_ERROR replies)
  ACK_TLVS: 0x200, // NLM_F_ACK_TLVS (in NLMSG_ERROR replies)
} as const;

export const NLMSG = {
  NOOP: 1, // NLMSG_NOOP
  ERROR: 2, // NLMSG_ERROR
  DONE: 3, // NLMSG_DONE
  OVERRUN: 4, // NLMSG_OVERRUN
} as const;

export const NLMSG_HDRLEN = 16;
export const NFGENMSG_LEN = 4; // struct nfgenmsg
export const NLA_HDRLEN = 4;
export const NLA_F_NESTED = 0x8000; // NLA_F_NESTED
export const NLA_F_NET_BYTEORDER = 0x4000; // NLA_F_NET_BYTEORDER
export const NLA_TYPE_MASK = 0x3fff; // NLA_TYPE_MASK

export const NFNL_SUBSYS_CTNETLINK = 1; // NFNL_SUBSYS_CTNETLINK

// enum cntl_msg_types
export const IPCTNL_MSG = {
  CT_NEW: 0, // IPCTNL_MSG_CT_NEW
  CT_GET: 1, // IPCTNL_MSG_CT_GET
  CT_DELETE: 2, // IPCTNL_MSG_CT_DELETE
  CT_GET_CTRZERO: 3, // IPCTNL_MSG_CT_GET_CTRZERO
  CT_GET_STATS_CPU: 4, // IPCTNL_MSG_CT_GET_STATS_CPU
  CT_GET_STATS: 5, // IPCTNL_MSG_CT_GET_STATS
  CT_GET_DYING: 6, // IPCTNL_MSG_CT_GET_DYING
  CT_GET_UNCONFIRMED: 7, // IPCTNL_MSG_CT_GET_UNCONFIRMED
} as const;

export const ctnlMsgType = (op: number): number => (NFNL_SUBSYS_CTNETLINK << 8) | op;

export const NFNL_SUBSYS_CTNETLINK_EXP = 2; // NFNL_SUBSYS_CTNETLINK_EXP

// enum ctnl_exp_msg_types
export const IPCTNL_MSG_EXP = {
  NEW: 0, // IPCTNL_MSG_EXP_NEW
  GET: 1, // IPCTNL_MSG_EXP_GET
  DELETE: 2, // IPCTNL_MSG_EXP_DELETE
  GET_STATS_CPU: 3, // IPCTNL_MSG_EXP_GET_STATS_CPU
} as const;

export const expMsgType = (op: number): number => (NFNL_SUBSYS_CTNETLINK_EXP << 8) | op;

/** What a ctnetlink request of this nlmsg type is about, as an error's reason names it. */
export const subjectOf = (type: number): 'connection' | 'expectation' => (type >> 8 === NFNL_SUBSYS_CTNETLINK_EXP ? 'expectation' : 'connection');

// nfnetlink multicast groups (enum nfnetlink_groups)
export const NFNLGRP = {
  CONNTRACK_NEW: 1, // NFNLGRP_CONNTRACK_NEW
  CONNTRACK_UPDATE: 2, // NFNLGRP_CONNTRACK_UPDATE
  CONNTRACK_DESTROY: 3, // NFNLGRP_CONNTRACK_DESTROY
} as const;

export const AF = {
  UNSPEC: 0, // AF_UNSPEC
  INET: 2, // AF_INET
  INET6: 10, // AF_INET6
} as const;

// enum ctattr_type
export const CTA = {
  TUPLE_ORIG: 1, // CTA_TUPLE_ORIG
  TUPLE_REPLY: 2, // CTA_TUPLE_REPLY
  STATUS: 3, // CTA_STATUS
  PROTOINFO: 4, // CTA_PROTOINFO
  HELP: 5, // CTA_HELP
  NAT_SRC: 6, // CTA_NAT_SRC
  TIMEOUT: 7, // CTA_TIMEOUT
  MARK: 8, // CTA_MARK
  COUNTERS_ORIG: 9, // CTA_COUNTERS_ORIG
  COUNTERS_REPLY: 10, // CTA_COUNTERS_REPLY
  USE: 11, // CTA_USE
  ID: 12, // CTA_ID
  NAT_DST: 13, // CTA_NAT_DST
  TUPLE_MASTER: 14, // CTA_TUPLE_MASTER
  SEQ_ADJ_ORIG: 15, // CTA_SEQ_ADJ_ORIG
  SEQ_ADJ_REPLY: 16, // CTA_SEQ_ADJ_REPLY
  SECMARK: 17, // CTA_SECMARK
  ZONE: 18, // CTA_ZONE
  SECCTX: 19, // CTA_SECCTX
  TIMESTAMP: 20, // CTA_TIMESTAMP
  MARK_MASK: 21, // CTA_MARK_MASK
  LABELS: 22, // CTA_LABELS
  LABELS_MASK: 23, // CTA_LABELS_MASK
  SYNPROXY: 24, // CTA_SYNPROXY
  FILTER: 25, // CTA_FILTER
  STATUS_MASK: 26, // CTA_STATUS_MASK
  TIMESTAMP_EVENT: 27, // CTA_TIMESTAMP_EVENT
} as const;

// enum ctattr_expect
export const CTA_EXPECT = {
  MASTER: 1, // CTA_EXPECT_MASTER
  TUPLE: 2, // CTA_EXPECT_TUPLE
  MASK: 3, // CTA_EXPECT_MASK
  TIMEOUT: 4, // CTA_EXPECT_TIMEOUT
  ID: 5, // CTA_EXPECT_ID
  HELP_NAME: 6, // CTA_EXPECT_HELP_NAME
  ZONE: 7, // CTA_EXPECT_ZONE
  FLAGS: 8, // CTA_EXPECT_FLAGS
  CLASS: 9, // CTA_EXPECT_CLASS
  NAT: 10, // CTA_EXPECT_NAT
  FN: 11, // CTA_EXPECT_FN
} as const;

// enum ctattr_expect_nat
export const CTA_EXPECT_NAT = {
  DIR: 1, // CTA_EXPECT_NAT_DIR
  TUPLE: 2, // CTA_EXPECT_NAT_TUPLE
} as const;

// NF_CT_EXPECT_* (include/uapi/linux/netfilter/nf_conntrack_common.h)
export const NF_CT_EXPECT = {
  PERMANENT: 0x1, // NF_CT_EXPECT_PERMANENT
  INACTIVE: 0x2, // NF_CT_EXPECT_INACTIVE
  USERSPACE: 0x4, // NF_CT_EXPECT_USERSPACE
} as const;

// enum ctattr_tuple
export const CTA_TUPLE = {
  IP: 1, // CTA_TUPLE_IP
  PROTO: 2, // CTA_TUPLE_PROTO
  ZONE: 3, // CTA_TUPLE_ZONE
} as const;

// enum ctattr_ip
export const CTA_IP = {
  V4_SRC: 1, // CTA_IP_V4_SRC
  V4_DST: 2, // CTA_IP_V4_DST
  V6_SRC: 3, // CTA_IP_V6_SRC
  V6_DST: 4, // CTA_IP_V6_DST
} as const;

// enum ctattr_l4proto
export const CTA_PROTO = {
  NUM: 1, // CTA_PROTO_NUM
  SRC_PORT: 2, // CTA_PROTO_SRC_PORT
  DST_PORT: 3, // CTA_PROTO_DST_PORT
  ICMP_ID: 4, // CTA_PROTO_ICMP_ID
  ICMP_TYPE: 5, // CTA_PROTO_ICMP_TYPE
  ICMP_CODE: 6, // CTA_PROTO_ICMP_CODE
  ICMPV6_ID: 7, // CTA_PROTO_ICMPV6_ID
  ICMPV6_TYPE: 8, // CTA_PROTO_ICMPV6_TYPE
  ICMPV6_CODE: 9, // CTA_PROTO_ICMPV6_CODE
} as const;

// enum ctattr_protoinfo
export const CTA_PROTOINFO = {
  TCP: 1, // CTA_PROTOINFO_TCP
  DCCP: 2, // CTA_PROTOINFO_DCCP
  SCTP: 3, // CTA_PROTOINFO_SCTP
} as const;

// enum ctattr_protoinfo_tcp
export const CTA_PROTOINFO_TCP = {
  STATE: 1, // CTA_PROTOINFO_TCP_STATE
  WSCALE_ORIGINAL: 2, // CTA_PROTOINFO_TCP_WSCALE_ORIGINAL
  WSCALE_REPLY: 3, // CTA_PROTOINFO_TCP_WSCALE_REPLY
  FLAGS_ORIGINAL: 4, // CTA_PROTOINFO_TCP_FLAGS_ORIGINAL
  FLAGS_REPLY: 5, // CTA_PROTOINFO_TCP_FLAGS_REPLY
} as const;

// enum ctattr_protoinfo_dccp
export const CTA_PROTOINFO_DCCP = {
  STATE: 1, // CTA_PROTOINFO_DCCP_STATE
  ROLE: 2, // CTA_PROTOINFO_DCCP_ROLE
  HANDSHAKE_SEQ: 3, // CTA_PROTOINFO_DCCP_HANDSHAKE_SEQ
} as const;

// enum ctattr_protoinfo_sctp
export const CTA_PROTOINFO_SCTP = {
  STATE: 1, // CTA_PROTOINFO_SCTP_STATE
  VTAG_ORIGINAL: 2, // CTA_PROTOINFO_SCTP_VTAG_ORIGINAL
  VTAG_REPLY: 3, // CTA_PROTOINFO_SCTP_VTAG_REPLY
} as const;

// enum ctattr_counters
export const CTA_COUNTERS = {
  PACKETS: 1, // CTA_COUNTERS_PACKETS
  BYTES: 2, // CTA_COUNTERS_BYTES
} as const;

// enum ctattr_tstamp
export const CTA_TIMESTAMP_ATTR = {
  START: 1, // CTA_TIMESTAMP_START
  STOP: 2, // CTA_TIMESTAMP_STOP
} as const;

// enum ctattr_help
export const CTA_HELP = {
  NAME: 1, // CTA_HELP_NAME
  INFO: 2, // CTA_HELP_INFO
} as const;

// enum ctattr_secctx
export const CTA_SECCTX = {
  NAME: 1, // CTA_SECCTX_NAME
} as const;

// enum ctattr_seqadj
export const CTA_SEQADJ = {
  CORRECTION_POS: 1, // CTA_SEQADJ_CORRECTION_POS
  OFFSET_BEFORE: 2, // CTA_SEQADJ_OFFSET_BEFORE
  OFFSET_AFTER: 3, // CTA_SEQADJ_OFFSET_AFTER
} as const;

// enum ctattr_synproxy
export const CTA_SYNPROXY_ATTR = {
  ISN: 1, // CTA_SYNPROXY_ISN
  ITS: 2, // CTA_SYNPROXY_ITS
  TSOFF: 3, // CTA_SYNPROXY_TSOFF
} as const;

// enum ctattr_filter
export const CTA_FILTER_ATTR = {
  ORIG_FLAGS: 1, // CTA_FILTER_ORIG_FLAGS
  REPLY_FLAGS: 2, // CTA_FILTER_REPLY_FLAGS
} as const;

// CTA_FILTER_F_* (net/netfilter/nf_conntrack_netlink.c)
export const CTA_FILTER_F = {
  CTA_IP_SRC: 1 << 0, // CTA_FILTER_F_CTA_IP_SRC
  CTA_IP_DST: 1 << 1, // CTA_FILTER_F_CTA_IP_DST
  CTA_TUPLE_ZONE: 1 << 2, // CTA_FILTER_F_CTA_TUPLE_ZONE
  CTA_PROTO_NUM: 1 << 3, // CTA_FILTER_F_CTA_PROTO_NUM
  CTA_PROTO_SRC_PORT: 1 << 4, // CTA_FILTER_F_CTA_PROTO_SRC_PORT
  CTA_PROTO_DST_PORT: 1 << 5, // CTA_FILTER_F_CTA_PROTO_DST_PORT
  CTA_PROTO_ICMP_TYPE: 1 << 6, // CTA_FILTER_F_CTA_PROTO_ICMP_TYPE
  CTA_PROTO_ICMP_CODE: 1 << 7, // CTA_FILTER_F_CTA_PROTO_ICMP_CODE
  CTA_PROTO_ICMP_ID: 1 << 8, // CTA_FILTER_F_CTA_PROTO_ICMP_ID
  CTA_PROTO_ICMPV6_TYPE: 1 << 9, // CTA_FILTER_F_CTA_PROTO_ICMPV6_TYPE
  CTA_PROTO_ICMPV6_CODE: 1 << 10, // CTA_FILTER_F_CTA_PROTO_ICMPV6_CODE
  CTA_PROTO_ICMPV6_ID: 1 << 11, // CTA_FILTER_F_CTA_PROTO_ICMPV6_ID
} as const;

// enum ctattr_stats_cpu
export const CTA_STATS = {
  SEARCHED: 1, // CTA_STATS_SEARCHED (no longer used by the kernel)
  FOUND: 2, // CTA_STATS_FOUND
  NEW: 3, // CTA_STATS_NEW (no longer used)
  INVALID: 4, // CTA_STATS_INVALID
  IGNORE: 5, // CTA_STATS_IGNORE (no longer used)
  DELETE: 6, // CTA_STATS_DELETE (no longer used)
  DELETE_LIST: 7, // CTA_STATS_DELETE_LIST (no longer used)
  INSERT: 8, // CTA_STATS_INSERT
  INSERT_FAILED: 9, // CTA_STATS_INSERT_FAILED
  DROP: 10, // CTA_STATS_DROP
  EARLY_DROP: 11, // CTA_STATS_EARLY_DROP
  ERROR: 12, // CTA_STATS_ERROR
  SEARCH_RESTART: 13, // CTA_STATS_SEARCH_RESTART
  CLASH_RESOLVE: 14, // CTA_STATS_CLASH_RESOLVE
  CHAIN_TOOLONG: 15, // CTA_STATS_CHAIN_TOOLONG
} as const;

// enum ctattr_stats_global
export const CTA_STATS_GLOBAL = {
  ENTRIES: 1, // CTA_STATS_GLOBAL_ENTRIES
  MAX_ENTRIES: 2, // CTA_STATS_GLOBAL_MAX_ENTRIES
} as const;

// enum ip_conntrack_status (nf_conntrack_common.h)
export const IPS = {
  EXPECTED: 0x1, // IPS_EXPECTED
  SEEN_REPLY: 0x2, // IPS_SEEN_REPLY
  ASSURED: 0x4, // IPS_ASSURED
  CONFIRMED: 0x8, // IPS_CONFIRMED
  SRC_NAT: 0x10, // IPS_SRC_NAT
  DST_NAT: 0x20, // IPS_DST_NAT
  SEQ_ADJUST: 0x40, // IPS_SEQ_ADJUST
  SRC_NAT_DONE: 0x80, // IPS_SRC_NAT_DONE
  DST_NAT_DONE: 0x100, // IPS_DST_NAT_DONE
  DYING: 0x200, // IPS_DYING
  FIXED_TIMEOUT: 0x400, // IPS_FIXED_TIMEOUT
  TEMPLATE: 0x800, // IPS_TEMPLATE
  UNTRACKED: 0x1000, // IPS_UNTRACKED
  HELPER: 0x2000, // IPS_HELPER
  OFFLOAD: 0x4000, // IPS_OFFLOAD
  HW_OFFLOAD: 0x8000, // IPS_HW_OFFLOAD
} as const;

export type StatusFlag = keyof typeof IPS;
export const STATUS_FLAGS = Object.keys(IPS) as StatusFlag[];

// enum tcp_conntrack (nf_conntrack_tcp.h), in kernel order.
export const TCP_STATES = [
  'NONE', // TCP_CONNTRACK_NONE
  'SYN_SENT', // TCP_CONNTRACK_SYN_SENT
  'SYN_RECV', // TCP_CONNTRACK_SYN_RECV
  'ESTABLISHED', // TCP_CONNTRACK_ESTABLISHED
  'FIN_WAIT', // TCP_CONNTRACK_FIN_WAIT
  'CLOSE_WAIT', // TCP_CONNTRACK_CLOSE_WAIT
  'LAST_ACK', // TCP_CONNTRACK_LAST_ACK
  'TIME_WAIT', // TCP_CONNTRACK_TIME_WAIT
  'CLOSE', // TCP_CONNTRACK_CLOSE
  'SYN_SENT2', // TCP_CONNTRACK_SYN_SENT2
] as const;
export type TcpState = (typeof TCP_STATES)[number];

// IP_CT_TCP_FLAG_* (nf_conntrack_tcp.h)
export const IP_CT_TCP_FLAG = {
  WINDOW_SCALE: 0x01, // IP_CT_TCP_FLAG_WINDOW_SCALE
  SACK_PERM: 0x02, // IP_CT_TCP_FLAG_SACK_PERM
  CLOSE_INIT: 0x04, // IP_CT_TCP_FLAG_CLOSE_INIT
  BE_LIBERAL: 0x08, // IP_CT_TCP_FLAG_BE_LIBERAL
  DATA_UNACKNOWLEDGED: 0x10, // IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED
  MAXACK_SET: 0x20, // IP_CT_TCP_FLAG_MAXACK_SET
  EXP_CHALLENGE_ACK: 0x40, // IP_CT_EXP_CHALLENGE_ACK
  SIMULTANEOUS_OPEN: 0x80, // IP_CT_TCP_SIMULTANEOUS_OPEN
} as const;

// IP protocol numbers (include/uapi/linux/in.h) that the console names.
export const IPPROTO = {
  ICMP: 1, // IPPROTO_ICMP
  TCP: 6, // IPPROTO_TCP
  UDP: 17, // IPPROTO_UDP
  DCCP: 33, // IPPROTO_DCCP
  GRE: 47, // IPPROTO_GRE
  ICMPV6: 58, // IPPROTO_ICMPV6
  SCTP: 132, // IPPROTO_SCTP
  UDPLITE: 136, // IPPROTO_UDPLITE
} as const;

/** Protocols whose tuples carry ports that filters treat as ports (GRE keys travel in the same attributes, but are not ports). */
export const PORTED_PROTOCOLS: readonly number[] = [IPPROTO.TCP, IPPROTO.UDP, IPPROTO.UDPLITE, IPPROTO.SCTP, IPPROTO.DCCP];

export const PROTOCOL_NAMES: Readonly<Record<number, string>> = {
  [IPPROTO.ICMP]: 'icmp',
  [IPPROTO.TCP]: 'tcp',
  [IPPROTO.UDP]: 'udp',
  [IPPROTO.DCCP]: 'dccp',
  [IPPROTO.GRE]: 'gre',
  [IPPROTO.ICMPV6]: 'icmpv6',
  [IPPROTO.SCTP]: 'sctp',
  [IPPROTO.UDPLITE]: 'udplite',
};
