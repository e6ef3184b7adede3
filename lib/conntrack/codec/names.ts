// C names of the attribute types, for error paths ("CTA_TUPLE_ORIG: CTA_TUPLE_IP: ...") that grep into the kernel.
import {
  CTA,
  CTA_COUNTERS,
  CTA_EXPECT,
  CTA_EXPECT_NAT,
  CTA_HELP,
  CTA_IP,
  CTA_PROTO,
  CTA_PROTOINFO,
  CTA_PROTOINFO_TCP,
  CTA_SECCTX,
  CTA_SEQADJ,
  CTA_STATS,
  CTA_STATS_GLOBAL,
  CTA_SYNPROXY_ATTR,
  CTA_TIMESTAMP_ATTR,
  CTA_TUPLE,
} from '../constants';

function names(prefix: string, values: Readonly<Record<string, number>>): Readonly<Record<number, string>> {
  const out: Record<number, string> = {};
  for (const [key, value] of Object.entries(values)) out[value] = `${prefix}${key}`;
  return out;
}

export const CTA_NAMES = names('CTA_', CTA);
export const CTA_TUPLE_NAMES = names('CTA_TUPLE_', CTA_TUPLE);
export const CTA_IP_NAMES = names('CTA_IP_', CTA_IP);
export const CTA_PROTO_NAMES = names('CTA_PROTO_', CTA_PROTO);
export const CTA_PROTOINFO_NAMES = names('CTA_PROTOINFO_', CTA_PROTOINFO);
export const CTA_PROTOINFO_TCP_NAMES = names('CTA_PROTOINFO_TCP_', CTA_PROTOINFO_TCP);
export const CTA_COUNTERS_NAMES = names('CTA_COUNTERS_', CTA_COUNTERS);
export const CTA_TIMESTAMP_NAMES = names('CTA_TIMESTAMP_', CTA_TIMESTAMP_ATTR);
export const CTA_HELP_NAMES = names('CTA_HELP_', CTA_HELP);
export const CTA_SECCTX_NAMES = names('CTA_SECCTX_', CTA_SECCTX);
export const CTA_SEQADJ_NAMES = names('CTA_SEQADJ_', CTA_SEQADJ);
export const CTA_SYNPROXY_NAMES = names('CTA_SYNPROXY_', CTA_SYNPROXY_ATTR);
export const CTA_STATS_NAMES = names('CTA_STATS_', CTA_STATS);
export const CTA_STATS_GLOBAL_NAMES = names('CTA_STATS_GLOBAL_', CTA_STATS_GLOBAL);
export const CTA_EXPECT_NAMES = names('CTA_EXPECT_', CTA_EXPECT);
export const CTA_EXPECT_NAT_NAMES = names('CTA_EXPECT_NAT_', CTA_EXPECT_NAT);
