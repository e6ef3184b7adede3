// The filter vocabulary shared by the API, the UI, the CLI and the library: a zod schema that accepts query
// strings or JSON values and the parsed Filter. What a filter means is snapshot/match.ts (the one evaluator).
import { z } from 'zod';
import { IPS, PROTOCOL_NAMES, STATUS_FLAGS, TCP_STATES, type StatusFlag, type TcpState } from './constants';
import { parsePrefix, type Prefix } from '@/lib/netlink/address';
import { ValidationError } from './errors';
import type { Family } from './types';

export interface PortRange {
  min: number;
  max: number;
}

/** Status condition: (status & mask) === value. UNREPLIED is SEEN_REPLY clear. */
export interface StatusMatch {
  names: string[];
  value: number;
  mask: number;
}

export interface Filter {
  family?: Family;
  protocol?: number;
  states?: TcpState[];
  status?: StatusMatch;
  /** Any address of either direction. */
  ip?: Prefix;
  /** Original direction. */
  src?: Prefix;
  dst?: Prefix;
  /** Reply direction; replyDst is the external address after SNAT. */
  replySrc?: Prefix;
  replyDst?: Prefix;
  /** Any port of either direction. */
  port?: PortRange;
  sport?: PortRange;
  dport?: PortRange;
  mark?: { value: number; mask: number };
  zone?: number;
  id?: number;
  /** The helper attached to the connection (CTA_HELP_NAME), exactly. */
  helper?: string;
  /** Label bits that must all be set (CTA_LABELS). */
  labels?: number[];
  /**
   * A host by name (host=): any address of either direction is one of the addresses the name stands for. The
   * caller resolves the name (toFilter's hostAddresses); an empty list matches nothing.
   */
  host?: HostMatch;
}

export interface HostMatch {
  /** The name as asked, lower-case: "laptop.lan", or "*.lan" for every name ending in ".lan". */
  name: string;
  /** Full-length prefixes, one per address the name resolved to. */
  addresses: Prefix[];
}

const PROTOCOL_NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(PROTOCOL_NAMES).map(([num, name]) => [name, Number(num)]));
export const STATUS_NAMES = [...STATUS_FLAGS, 'UNREPLIED'] as const;

const trimmed = z.string().trim();
const listOf = (input: unknown): unknown =>
  typeof input === 'string' ? input.split(',').map((s) => s.trim()).filter(Boolean) : input;

const u32 = (field: string) =>
  z.union([z.number(), trimmed.regex(/^(0x[0-9a-f]+|\d+)$/i, `${field} must be a number`).transform(Number)]).pipe(
    z.number().int(`${field} must be a whole number`).min(0, `${field} must be >= 0`).max(0xffffffff, `${field} must be <= 4294967295`),
  );

const portNumber = z.number().int('a port must be a whole number').min(0, 'a port must be 0..65535').max(65535, 'a port must be 0..65535');

/** A port or a range "a-b" (also used by the expectation filter). */
export const portRange = z
  .union([z.number(), trimmed])
  .transform((input, ctx): PortRange => {
    if (typeof input === 'number') return { min: input, max: input };
    const match = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(input);
    if (!match) {
      ctx.addIssue({ code: 'custom', message: 'expected a port (0..65535) or a range "a-b"' });
      return z.NEVER;
    }
    return { min: Number(match[1]), max: Number(match[2] ?? match[1]) };
  })
  .superRefine((range, ctx) => {
    for (const value of [range.min, range.max]) {
      const result = portNumber.safeParse(value);
      if (!result.success) ctx.addIssue({ code: 'custom', message: result.error.issues[0].message });
    }
    if (range.min > range.max) ctx.addIssue({ code: 'custom', message: 'a range must be "low-high"' });
  });

/** An address or CIDR prefix (also used by the expectation filter). */
export const prefix = trimmed.transform((input, ctx): Prefix => {
  const parsed = parsePrefix(input);
  if (typeof parsed === 'string') {
    ctx.addIssue({ code: 'custom', message: parsed });
    return z.NEVER;
  }
  return parsed;
});

const protocol = z.union([z.number(), trimmed]).transform((input, ctx): number => {
  const value = typeof input === 'number' ? input : /^\d+$/.test(input) ? Number(input) : PROTOCOL_NUMBERS[input.toLowerCase()];
  if (value === undefined || !Number.isInteger(value) || value < 0 || value > 255) {
    ctx.addIssue({ code: 'custom', message: `expected one of ${Object.keys(PROTOCOL_NUMBERS).join(', ')} or a number 0..255` });
    return z.NEVER;
  }
  return value;
});

const states = z.preprocess(
  listOf,
  z.array(
    z.string().transform((input, ctx): TcpState => {
      const upper = input.toUpperCase() as TcpState;
      if (!TCP_STATES.includes(upper)) {
        ctx.addIssue({ code: 'custom', message: `unknown TCP state "${input}" (expected ${TCP_STATES.join(', ')})` });
        return z.NEVER;
      }
      return upper;
    }),
  ).min(1, 'give at least one state'),
);

const status = z.preprocess(
  listOf,
  z
    .array(
      z.string().transform((input, ctx) => {
        const upper = input.toUpperCase();
        if (!(STATUS_NAMES as readonly string[]).includes(upper)) {
          ctx.addIssue({ code: 'custom', message: `unknown status flag "${input}" (expected ${STATUS_NAMES.join(', ')})` });
          return z.NEVER;
        }
        return upper;
      }),
    )
    .min(1, 'give at least one flag')
    .transform((names, ctx): StatusMatch => {
      let value = 0;
      let mask = 0;
      for (const name of names) {
        const bit = name === 'UNREPLIED' ? IPS.SEEN_REPLY : IPS[name as StatusFlag];
        const want = name === 'UNREPLIED' ? 0 : bit;
        if (mask & bit && (value & bit) !== want) {
          ctx.addIssue({ code: 'custom', message: 'SEEN_REPLY and UNREPLIED exclude each other' });
          return z.NEVER;
        }
        mask |= bit;
        value |= want;
      }
      return { names, value, mask };
    }),
);

const mark = z.union([z.number(), trimmed]).transform((input, ctx) => {
  const [valueText, maskText] = typeof input === 'number' ? [String(input), undefined] : input.split('/');
  const value = u32('mark').safeParse(valueText);
  const mask = maskText === undefined ? { success: true as const, data: 0xffffffff } : u32('mark mask').safeParse(maskText);
  if (!value.success || !mask.success) {
    ctx.addIssue({ code: 'custom', message: 'expected a mark "value" or "value/mask" (decimal or 0x hex, 32 bits)' });
    return z.NEVER;
  }
  return { value: (value.data & mask.data) >>> 0, mask: mask.data };
});

// NF_CT_HELPER_NAME_LEN is 16 with the NUL; names are words like "ftp", "sip", "amanda", "RAS".
export const helperName = trimmed.regex(/^[A-Za-z0-9_.-]{1,15}$/, 'helper must be a helper name such as ftp or sip (letters, digits, "_", "-", ".", at most 15)');

/** Labels as written: names from connlabel.conf or bit numbers; toFilter turns them into bits. */
const labelList = z.preprocess(
  listOf,
  z.array(z.string().trim().regex(/^(\d{1,3}|[A-Za-z0-9_.:-]{1,64})$/, 'a label is a bit number 0..127 or a name from connlabel.conf')).min(1, 'give at least one label'),
);

/** A host name ("laptop.lan"), or "*.suffix" for every name ending in ".suffix". */
export const hostPattern = trimmed
  .toLowerCase()
  .regex(/^(\*\.)?[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*\.?$/, 'host must be a host name such as laptop.lan, or "*.suffix" for every name ending in it')
  .transform((name) => name.replace(/\.$/, ''));

/** The fields a filter may have, for a schema that extends it (paging, sort, q). */
export const filterShape = {
  family: z.enum(['ipv4', 'ipv6'], { message: 'expected ipv4 or ipv6' }).optional(),
  protocol: protocol.optional(),
  state: states.optional(),
  status: status.optional(),
  ip: prefix.optional(),
  src: prefix.optional(),
  dst: prefix.optional(),
  replySrc: prefix.optional(),
  replyDst: prefix.optional(),
  port: portRange.optional(),
  sport: portRange.optional(),
  dport: portRange.optional(),
  mark: mark.optional(),
  zone: z.union([z.number(), trimmed.regex(/^\d+$/, 'zone must be a number').transform(Number)]).pipe(z.number().int().min(0).max(65535, 'zone must be 0..65535')).optional(),
  id: u32('id').optional(),
  helper: helperName.optional(),
  label: labelList.optional(),
  host: hostPattern.optional(),
};

export const filterSchema = z.strictObject(filterShape);
export type FilterInput = z.input<typeof filterSchema>;

export interface ToFilterOptions {
  /** A label name -> its bit (connlabel.conf); without it only bit numbers are understood. */
  labelBit?: (written: string) => number | undefined;
  /** A host pattern (hostPattern's output) -> the addresses it names; without it host= is refused. */
  hostAddresses?: (pattern: string) => readonly string[];
}

const MAX_LABEL_BIT = 127;
const numericLabel = (written: string): number | undefined => (/^\d+$/.test(written) && Number(written) <= MAX_LABEL_BIT ? Number(written) : undefined);

/** Turns schema output into the Filter the library works with; ValidationError for a label it cannot resolve. */
export function toFilter(parsed: z.output<typeof filterSchema>, options: ToFilterOptions = {}): Filter {
  const { state, label, host, ...rest } = parsed;
  const filter: Filter = { ...rest, states: state };
  if (host !== undefined) {
    if (!options.hostAddresses) throw new ValidationError('host', 'host names are not known here (no name files)');
    const addresses: Prefix[] = [];
    for (const address of options.hostAddresses(host)) {
      const prefix = parsePrefix(address);
      if (typeof prefix !== 'string') addresses.push(prefix);
    }
    filter.host = { name: host, addresses };
  }
  if (label) {
    const resolve = options.labelBit ?? numericLabel;
    filter.labels = label.map((written) => {
      const bit = resolve(written);
      if (bit === undefined) throw new ValidationError('label', `unknown label "${written}" (a bit number 0..127, or a name connlabel.conf defines)`);
      return bit;
    });
  }
  for (const key of Object.keys(filter) as (keyof Filter)[]) if (filter[key] === undefined) delete filter[key];
  return filter;
}

/** Parses a filter given as data; throws ValidationError naming the first bad field. */
export function parseFilter(input: unknown, options: ToFilterOptions = {}): Filter {
  const result = filterSchema.safeParse(input ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new ValidationError(issue.path.join('.') || 'filter', issue.message);
  }
  return toFilter(result.data, options);
}

export function isEmptyFilter(filter: Filter): boolean {
  return Object.keys(filter).length === 0;
}

/** Whether label bit `bit` is set in a CTA_LABELS bitmap (bit n is bit n % 8 of byte n / 8). */
export const hasLabel = (bitmap: Uint8Array | undefined, bit: number): boolean => bitmap !== undefined && bit >> 3 < bitmap.length && (bitmap[bit >> 3] & (1 << (bit & 7))) !== 0;
