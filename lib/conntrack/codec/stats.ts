// CT_GET_STATS (CTA_STATS_GLOBAL_*) and CT_GET_STATS_CPU (CTA_STATS_*, one message per CPU, res_id = cpu) <-> values.
// Kernel order: ctnetlink_stat_ct_fill_info (ENTRIES, MAX_ENTRIES) and ctnetlink_ct_stat_cpu_fill_info (below).
import { CTA_STATS as CTA_STATS_, CTA_STATS_GLOBAL as CTA_STATS_GLOBAL_ } from '../constants';
import { readU32be as readU32be_, type AttrWriter } from '../netlink/attributes';
import type { CpuStats, RawAttribute } from '../types';
import { CTA_STATS_GLOBAL_NAMES as CTA_STATS_GLOBAL_NAMES_, CTA_STATS_NAMES as CTA_STATS_NAMES_ } from './names';
import { checkUint as checkUint_ } from './nest';
import { scalarNest } from './scalar-nest';
import { decodeLevel as decodeLevel_, InPlaceWriter as InPlaceWriter_ } from './raw';

// Imported bindings can compile to getters (CommonJS interop, bundlers), which cost more than the decoding on the
// per-attribute path; the hot code reads these module-local copies.
const CTA_STATS = CTA_STATS_;
const CTA_STATS_GLOBAL = CTA_STATS_GLOBAL_;
const readU32be = readU32be_;
const CTA_STATS_GLOBAL_NAMES = CTA_STATS_GLOBAL_NAMES_;
const CTA_STATS_NAMES = CTA_STATS_NAMES_;
const checkUint = checkUint_;
const InPlaceWriter = InPlaceWriter_;
const decodeLevel = decodeLevel_;

export interface GlobalStats {
  entries: number;
  maxEntries: number;
  unknown?: RawAttribute[];
}

/** One CPU's counters; the counters the kernel no longer fills (SEARCHED, NEW, ...) are kept raw if sent. */
export interface CpuStatsMessage extends CpuStats {
  unknown?: RawAttribute[];
}

type CpuCounter = Exclude<keyof CpuStats, 'cpu'>;

/** The counters of a CT_GET_STATS_CPU message, in the kernel's order. */
const CPU_FIELDS: readonly (readonly [number, CpuCounter])[] = [
  [CTA_STATS.FOUND, 'found'],
  [CTA_STATS.INVALID, 'invalid'],
  [CTA_STATS.INSERT, 'insert'],
  [CTA_STATS.INSERT_FAILED, 'insertFailed'],
  [CTA_STATS.DROP, 'drop'],
  [CTA_STATS.EARLY_DROP, 'earlyDrop'],
  [CTA_STATS.ERROR, 'error'],
  [CTA_STATS.SEARCH_RESTART, 'searchRestart'],
  [CTA_STATS.CLASH_RESOLVE, 'clashResolve'],
  [CTA_STATS.CHAIN_TOOLONG, 'chainTooLong'],
];
const CPU_FIELD_BY_TYPE: ReadonlyMap<number, CpuCounter> = new Map(CPU_FIELDS);

const globalCodec = scalarNest<GlobalStats>({
  fields: [
    { type: CTA_STATS_GLOBAL.ENTRIES, name: 'CTA_STATS_GLOBAL_ENTRIES', key: 'entries', kind: 'u32' },
    { type: CTA_STATS_GLOBAL.MAX_ENTRIES, name: 'CTA_STATS_GLOBAL_MAX_ENTRIES', key: 'maxEntries', kind: 'u32' },
  ],
  names: CTA_STATS_GLOBAL_NAMES,
});

/** Decodes the attributes of a CT_GET_STATS reply (after nfgenmsg). */
export const decodeGlobalStats = globalCodec.decode;
/** Writes a CT_GET_STATS body (flat attributes). */
export const encodeGlobalStats = globalCodec.encodeLevel;

/**
 * Decodes the attributes of one CT_GET_STATS_CPU message; cpu is the nfgenmsg res_id (the caller has the header).
 * A counter an older kernel does not send (CLASH_RESOLVE before 5.9, CHAIN_TOOLONG before 5.15) reads as 0.
 */
export function decodeCpuStats(buf: Uint8Array, start: number, end: number, cpu = 0): CpuStatsMessage {
  const stats: CpuStatsMessage = {
    cpu,
    found: 0,
    invalid: 0,
    insert: 0,
    insertFailed: 0,
    drop: 0,
    earlyDrop: 0,
    error: 0,
    searchRestart: 0,
    clashResolve: 0,
    chainTooLong: 0,
  };
  const unknown = decodeLevel(buf, start, end, CTA_STATS_NAMES, (attr) => {
    const field = CPU_FIELD_BY_TYPE.get(attr.type);
    if (!field) return false;
    stats[field] = readU32be(attr, CTA_STATS_NAMES[attr.type]);
    return true;
  });
  if (unknown) stats.unknown = unknown;
  return stats;
}

export function encodeCpuStats(stats: CpuStatsMessage, w: AttrWriter): void {
  const level = new InPlaceWriter(w, stats.unknown);
  for (const [type, field] of CPU_FIELDS) level.next().u32be(type, checkUint(stats[field], 32, field));
  level.finish();
}
