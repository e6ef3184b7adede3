// Who closed a TCP connection, from real traffic through the lab router: CLOSE_INIT on the original direction when
// the client sent the first FIN, on the reply direction when the server did, on neither after a reset (CLOSE).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conntrack, type Connection } from '@/lib/conntrack';
import { closedBy } from '@/lib/conntrack/codec/connection';
import { createLab, generateTraffic, type GeneratedFlow, type GeneratedTraffic, type Lab, type TrafficKind } from '@/lib/lab';
import { entryOf, flowsOf as flowsOfKind } from '../support/flows';
import { listAll, type OracleEntry } from '../support/oracle';

const CLOSE_INIT = 0x04; // IP_CT_TCP_FLAG_CLOSE_INIT

let lab: Lab | undefined;
let traffic: GeneratedTraffic;
let listed: Connection[];
let oracle: OracleEntry[];
let snapshotRows: Connection[];

beforeAll(async () => {
  lab = await createLab();
  traffic = await generateTraffic(lab, { kinds: ['tcp-established', 'tcp-client-closed', 'tcp-server-closed', 'tcp-reset'] });
  // Let the last FIN/ACK or RST cross the router.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const ct = new Conntrack({ netns: lab.namespaces.router });
  listed = await ct.list({ protocol: 6 });
  oracle = await listAll(lab.namespaces.router, ['-p', 'tcp']);
  const snapshot = await ct.snapshot({ protocol: 6 });
  snapshotRows = Array.from({ length: snapshot.size }, (_v, row) => snapshot.connection(row));
});

afterAll(async () => {
  await lab?.destroy();
});

const flowsOf = (kind: TrafficKind): GeneratedFlow[] => flowsOfKind(traffic, kind);

const closeInit = (c: Connection) => ({
  original: ((c.protoinfo?.tcp?.flagsOriginal?.flags ?? 0) & CLOSE_INIT) !== 0,
  reply: ((c.protoinfo?.tcp?.flagsReply?.flags ?? 0) & CLOSE_INIT) !== 0,
});

describe('who closed', () => {
  const cases: [TrafficKind, ReturnType<typeof closedBy>, { original: boolean; reply: boolean }][] = [
    ['tcp-client-closed', 'client', { original: true, reply: false }],
    ['tcp-server-closed', 'server', { original: false, reply: true }],
    ['tcp-reset', undefined, { original: false, reply: false }],
    ['tcp-established', undefined, { original: false, reply: false }],
  ];
  for (const [kind, who, flags] of cases) {
    it(`${kind}: closedBy ${String(who)}, CLOSE_INIT ${JSON.stringify(flags)}, in list() and snapshot()`, () => {
      for (const flow of flowsOf(kind)) {
        const c = entryOf(flow, listed);
        expect(closeInit(c)).toEqual(flags);
        expect(closedBy(c)).toBe(who);
        const row = entryOf(flow, snapshotRows);
        expect(closedBy(row)).toBe(who);
        // The state is conntrack's too.
        expect(c.protoinfo?.tcp?.state).toBe(oracle.find((o) => o.id === c.id)?.tcpState);
      }
    });
  }

  it('a reset connection is in CLOSE, an open one ESTABLISHED, closed ones past ESTABLISHED', () => {
    for (const flow of flowsOf('tcp-reset')) expect(entryOf(flow, listed).protoinfo?.tcp?.state).toBe('CLOSE');
    for (const flow of flowsOf('tcp-established')) expect(entryOf(flow, listed).protoinfo?.tcp?.state).toBe('ESTABLISHED');
    for (const kind of ['tcp-client-closed', 'tcp-server-closed'] as const) {
      for (const flow of flowsOf(kind)) expect(['FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT']).toContain(entryOf(flow, listed).protoinfo?.tcp?.state);
    }
  });
});
