// Which part of a Filter the kernel can apply, and how to say it in CTA_* attributes: a translation of the one
// evaluator (snapshot/match.ts), held to it against the real kernel in tests/integration/conntrack-filters.test.ts.
// A dump only pre-reduces (the evaluator runs on every entry afterwards); a filtered flush relies on `complete`.
import { release } from 'node:os';
import { AF, CTA, CTA_FILTER_ATTR, CTA_FILTER_F, CTA_IP, CTA_PROTO, CTA_TUPLE, PORTED_PROTOCOLS } from './constants';
import type { Filter, PortRange } from './filter';
import type { Prefix } from '@/lib/netlink/address';
import { AttrWriter } from './netlink/attributes';

/** Kernel abilities, learnt from the running kernel (and corrected when a request is refused). */
export interface KernelSupport {
  /** CTA_FILTER in dumps (5.8+). */
  dumpFilter: boolean;
  /** CTA_STATUS + CTA_STATUS_MASK in dumps (5.15+). */
  dumpStatus: boolean;
  /** CTA_ZONE in dumps (6.8+). */
  dumpZone: boolean;
  /** CT_DELETE without a tuple honours CTA_MARK. */
  flushMark: boolean;
  /** ... and CTA_STATUS (5.15+). */
  flushStatus: boolean;
  /** ... and CTA_FILTER with tuples (6.12+). Older kernels ignore it and flush everything: never guess. */
  flushFilter: boolean;
}

export function kernelVersion(text = release()): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(text);
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

export function supportFor(version: [number, number] = kernelVersion()): KernelSupport {
  const atLeast = (major: number, minor: number) => version[0] > major || (version[0] === major && version[1] >= minor);
  return {
    dumpFilter: atLeast(5, 8),
    dumpStatus: atLeast(5, 15),
    dumpZone: atLeast(6, 8),
    flushMark: atLeast(4, 19),
    flushStatus: atLeast(5, 15),
    flushFilter: atLeast(6, 12),
  };
}

/** One kernel request: the nfgenmsg family and the filter attributes to send with it. */
export interface KernelRequest {
  family: number;
  attrs?: Uint8Array;
}

export interface KernelPlan {
  requests: KernelRequest[];
  /** True when the kernel applies the whole filter (so a filtered flush deletes exactly the matching entries). */
  complete: boolean;
}

const exactPort = (range: PortRange | undefined): number | undefined => (range && range.min === range.max ? range.min : undefined);
const exactV4 = (prefix: Prefix | undefined): Uint8Array | undefined => (prefix && prefix.family === 'ipv4' && prefix.length === 32 ? prefix.bytes : undefined);

/** The family every address condition implies, 'none' when they disagree. */
function impliedFamily(filter: Filter): 'ipv4' | 'ipv6' | undefined | 'none' {
  let family: 'ipv4' | 'ipv6' | undefined = filter.family;
  for (const prefix of [filter.ip, filter.src, filter.dst, filter.replySrc, filter.replyDst]) {
    if (!prefix) continue;
    if (family && family !== prefix.family) return 'none';
    family = prefix.family;
  }
  return family;
}

interface TupleFilter {
  flags: number;
  src?: Uint8Array;
  dst?: Uint8Array;
  sport?: number;
  dport?: number;
}

function writeTupleFilter(w: AttrWriter, type: number, family: number, protocol: number | undefined, t: TupleFilter): void {
  w.nested(type, (tuple) => {
    tuple.nested(CTA_TUPLE.IP, (ip) => {
      if (t.src) ip.bytes(family === AF.INET ? CTA_IP.V4_SRC : CTA_IP.V6_SRC, t.src);
      if (t.dst) ip.bytes(family === AF.INET ? CTA_IP.V4_DST : CTA_IP.V6_DST, t.dst);
    });
    if (protocol === undefined) return;
    tuple.nested(CTA_TUPLE.PROTO, (proto) => {
      proto.u8(CTA_PROTO.NUM, protocol);
      if (t.sport !== undefined) proto.u16be(CTA_PROTO.SRC_PORT, t.sport);
      if (t.dport !== undefined) proto.u16be(CTA_PROTO.DST_PORT, t.dport);
    });
  });
}

/**
 * Plans the kernel side of a dump (purpose 'dump') or of a tuple-less CT_DELETE (purpose 'flush').
 * For a flush, `complete` tells whether the kernel would delete exactly the matching entries.
 */
export function planKernelFilter(filter: Filter, support: KernelSupport, purpose: 'dump' | 'flush'): KernelPlan {
  const family = impliedFamily(filter);
  if (family === 'none') return { requests: [], complete: true };

  const useStatus = purpose === 'dump' ? support.dumpStatus : support.flushStatus;
  const useTuple = purpose === 'dump' ? support.dumpFilter : support.flushFilter;
  const useMark = purpose === 'dump' || support.flushMark;
  const useZone = purpose === 'dump' && support.dumpZone;
  let complete = true;

  // What CTA_FILTER can carry: protocol, exact ports with a protocol, exact IPv4 addresses
  // (IPv6 address matching is inverted on current kernels, so IPv6 addresses stay in userspace).
  const protocol = filter.protocol;
  const orig: TupleFilter = { flags: 0 };
  const reply: TupleFilter = { flags: 0 };
  if (useTuple) {
    if (protocol !== undefined) {
      orig.flags |= CTA_FILTER_F.CTA_PROTO_NUM;
      // The kernel compares whatever the tuple holds there (GRE keys too); the evaluator only ports of ported protocols.
      const ported = PORTED_PROTOCOLS.includes(protocol);
      const sport = ported ? exactPort(filter.sport) : undefined;
      const dport = ported ? exactPort(filter.dport) : undefined;
      if (sport !== undefined) {
        orig.sport = sport;
        orig.flags |= CTA_FILTER_F.CTA_PROTO_SRC_PORT;
      }
      if (dport !== undefined) {
        orig.dport = dport;
        orig.flags |= CTA_FILTER_F.CTA_PROTO_DST_PORT;
      }
    }
    const take = (tuple: TupleFilter, field: 'src' | 'dst', bytes: Uint8Array | undefined, flag: number) => {
      if (!bytes) return;
      tuple[field] = bytes;
      tuple.flags |= flag;
    };
    take(orig, 'src', exactV4(filter.src), CTA_FILTER_F.CTA_IP_SRC);
    take(orig, 'dst', exactV4(filter.dst), CTA_FILTER_F.CTA_IP_DST);
    take(reply, 'src', exactV4(filter.replySrc), CTA_FILTER_F.CTA_IP_SRC);
    take(reply, 'dst', exactV4(filter.replyDst), CTA_FILTER_F.CTA_IP_DST);
    if (reply.flags && protocol !== undefined) {
      reply.flags |= CTA_FILTER_F.CTA_PROTO_NUM;
    }
  }

  // Conditions left to userspace make a flush inexact.
  const kernelTakes = new Set<keyof Filter>(['family']);
  if (orig.flags & CTA_FILTER_F.CTA_PROTO_NUM) kernelTakes.add('protocol');
  if (orig.sport !== undefined) kernelTakes.add('sport');
  if (orig.dport !== undefined) kernelTakes.add('dport');
  if (orig.src) kernelTakes.add('src');
  if (orig.dst) kernelTakes.add('dst');
  if (reply.src) kernelTakes.add('replySrc');
  if (reply.dst) kernelTakes.add('replyDst');
  if (useMark && filter.mark) kernelTakes.add('mark');
  if (useStatus && filter.status) kernelTakes.add('status');
  if (useZone && filter.zone !== undefined) kernelTakes.add('zone');
  for (const key of Object.keys(filter) as (keyof Filter)[]) if (!kernelTakes.has(key)) complete = false;

  const tupleFilter = orig.flags !== 0 || reply.flags !== 0;
  const families = family ? [family === 'ipv4' ? AF.INET : AF.INET6] : tupleFilter ? [AF.INET, AF.INET6] : [AF.UNSPEC];

  const requests = families.map((af): KernelRequest => {
    const w = new AttrWriter();
    // CTA_FILTER needs a family; IPv4 addresses only make sense for AF_INET.
    const v4Only = af !== AF.INET && (orig.src || orig.dst || reply.src || reply.dst);
    if (tupleFilter && !v4Only) {
      if (orig.flags) writeTupleFilter(w, CTA.TUPLE_ORIG, af, protocol, orig);
      if (reply.flags) writeTupleFilter(w, CTA.TUPLE_REPLY, af, protocol, reply);
      w.nested(CTA.FILTER, (f) => {
        f.u32host(CTA_FILTER_ATTR.ORIG_FLAGS, orig.flags);
        f.u32host(CTA_FILTER_ATTR.REPLY_FLAGS, reply.flags);
      });
    }
    if (useMark && filter.mark) {
      w.u32be(CTA.MARK, filter.mark.value);
      w.u32be(CTA.MARK_MASK, filter.mark.mask);
    }
    if (useStatus && filter.status) {
      w.u32be(CTA.STATUS, filter.status.value);
      w.u32be(CTA.STATUS_MASK, filter.status.mask);
    }
    if (useZone && filter.zone !== undefined) w.u16be(CTA.ZONE, filter.zone);
    return { family: af, attrs: w.size ? w.finish() : undefined };
  });
  return { requests, complete };
}
