// Loads the captured ctnetlink fixtures (scripts/capture-fixtures.ts) and builds raw netlink bytes for tests,
// independently of the codecs under test.
import fs from 'node:fs';
import path from 'node:path';

export const fixtureDir = path.resolve(__dirname, '../../fixtures/ctnetlink');

export interface ExpectedTuple {
  src: string;
  dst: string;
  protocol: number;
  sport?: number;
  dport?: number;
  icmp?: { type: number; code: number; id: number };
  zone?: number;
  packets?: string;
  bytes?: string;
}

export interface ExpectedConnection {
  family: 'ipv4' | 'ipv6';
  original: ExpectedTuple;
  reply: ExpectedTuple;
  id: number;
  state?: string;
  mark?: number;
  zone?: number;
  use?: number;
  assured: boolean;
  unreplied: boolean;
  timestampStart?: string;
  timestampStop?: string;
}

/** What `conntrack -L expect -o xml` printed for an expectation at capture time. */
export interface ExpectedExpectation {
  family: 'ipv4' | 'ipv6';
  protocol: number;
  tuple: { src: string; dst: string; sport: number; dport: number };
  mask: { src: string; dst: string; sport: number; dport: number };
  master: { src: string; dst: string; sport: number; dport: number };
  helper?: string;
  timeout: number;
  class: number;
}

interface FixtureBase {
  name: string;
  description: string;
  /** The whole netlink message: nlmsghdr (16) + nfgenmsg (4) + attributes. */
  message: Buffer;
  /** End of the attributes (nlmsg_len). */
  end: number;
  /** nfgenmsg */
  family: number;
  resId: number;
}

export type Fixture =
  | (FixtureBase & { kind: 'ct'; conntrack: ExpectedConnection })
  | (FixtureBase & { kind: 'stats'; conntrack: { entries: number; maxEntries: number } })
  | (FixtureBase & { kind: 'stats-cpu'; conntrack: Record<string, number> })
  | (FixtureBase & { kind: 'expect'; conntrack: ExpectedExpectation });

export const ATTRS_START = 20;

export function loadFixtures(): Fixture[] {
  return fs
    .readdirSync(fixtureDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      const raw = JSON.parse(fs.readFileSync(path.join(fixtureDir, file), 'utf8')) as { kind: Fixture['kind']; description: string; hex: string; conntrack: never };
      const message = Buffer.from(raw.hex, 'hex');
      return {
        name: file.replace(/\.json$/, ''),
        kind: raw.kind,
        description: raw.description,
        message,
        end: message.readUInt32LE(0),
        family: message[16],
        resId: message.readUInt16BE(18),
        conntrack: raw.conntrack,
      };
    });
}

export const connectionFixtures = (): Extract<Fixture, { kind: 'ct' }>[] =>
  loadFixtures().filter((f): f is Extract<Fixture, { kind: 'ct' }> => f.kind === 'ct');

export const expectationFixtures = (): Extract<Fixture, { kind: 'expect' }>[] =>
  loadFixtures().filter((f): f is Extract<Fixture, { kind: 'expect' }> => f.kind === 'expect');

export function fixture(name: string): Extract<Fixture, { kind: 'ct' }> {
  const found = connectionFixtures().find((f) => f.name === name);
  if (!found) throw new Error(`no fixture ${name}`);
  return found;
}

/** The attribute bytes of a message (after nfgenmsg). */
export const attrsOf = (f: FixtureBase): Buffer => f.message.subarray(ATTRS_START, f.end);

/** One netlink attribute, header and padding included (written by hand, not by AttrWriter). */
export function nla(type: number, payload: Uint8Array, flags = 0): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type | flags, 2);
  Buffer.from(payload).copy(out, 4);
  return out;
}

export const NESTED = 0x8000;

/** Top-level attributes as [type (flags masked), whole attribute bytes] pairs, walking the bytes by hand. */
export function splitAttrs(buf: Buffer): { type: number; raw: Buffer; payload: Buffer }[] {
  const out: { type: number; raw: Buffer; payload: Buffer }[] = [];
  let offset = 0;
  while (offset + 4 <= buf.length) {
    const len = buf.readUInt16LE(offset);
    const aligned = (len + 3) & ~3;
    out.push({ type: buf.readUInt16LE(offset + 2) & 0x3fff, raw: buf.subarray(offset, offset + aligned), payload: buf.subarray(offset + 4, offset + len) });
    offset += aligned;
  }
  return out;
}
