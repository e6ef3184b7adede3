// What the expectations API does, one function per route, and the JSON shape of an expectation.
import { z } from 'zod';
import { NF_CT_EXPECT, PROTOCOL_NAMES, expectationFilterShape, toExpectationFilter, type Expectation, type ListedExpectation, type Tuple } from '@/lib/conntrack';
import type { AuditSpec } from './audit';
import type { ApiEndpoint } from './connection';
import { ConnectionGoneError, ExpectationGoneError } from './errors';
import { consoleService } from './service';

/** GET /api/expectations: helper, master (connection id), address (or prefix), port (or range), family. */
export const expectationListQuerySchema = z.strictObject(expectationFilterShape);
export type ExpectationListQuery = z.output<typeof expectationListQuerySchema>;

const kernelId = (field: string) =>
  z
    .union([z.number(), z.string().trim().regex(/^\d+$/, `${field} must be a whole number`).transform(Number)])
    .pipe(z.number().int(`${field} must be a whole number`).min(0, `${field} must be >= 0`).max(0xffffffff, `${field} must be <= 4294967295`));

/** /api/expectations/{id} */
export const expectationIdParamsSchema = z.strictObject({ id: kernelId('id') });

/** POST /api/expectations/delete: every expectation of one master connection (its connection id). */
export const expectationDeleteBodySchema = z.strictObject({ master: kernelId('master') });
export type ExpectationDeleteBody = z.output<typeof expectationDeleteBodySchema>;

/** POST /api/expectations/flush: no parameters (the page asks for a typed confirmation first). */
export const expectationFlushBodySchema = z.strictObject({});

export interface ApiExpectation {
  /** CTA_EXPECT_ID. */
  id: number;
  family: Expectation['family'];
  protocol: string;
  protocolNumber: number;
  /** The connection the helper expects: a zero mask part matches anything (shown as "*" by the page). */
  expected: ApiEndpoint;
  mask: ApiEndpoint;
  /** The connection whose helper created it: its id when still in the table, and its original tuple. */
  master: { id: number | null; original: ApiEndpoint };
  helper: string | null;
  class: number;
  /** NF_CT_EXPECT_* names. */
  flags: string[];
  /** The master's zone. */
  zone: number;
  /** Seconds until it lapses, when listed. */
  timeout: number;
  /** The function the expected connection is set up with (e.g. nat-follow-master), when the helper set one. */
  fn?: string;
  /** What NAT keeps for the expected connection (a helper behind NAT): an address (absent: unchanged) and a port. */
  nat?: { dir: 'original' | 'reply'; src?: string; sport?: number };
}

function endpoint(tuple: Tuple): ApiEndpoint {
  const out: ApiEndpoint = { src: tuple.src, dst: tuple.dst };
  if (tuple.sport !== undefined) out.sport = tuple.sport;
  if (tuple.dport !== undefined) out.dport = tuple.dport;
  return out;
}

const FLAG_BITS = Object.entries(NF_CT_EXPECT);

export function toApiExpectation({ expectation: e, master }: ListedExpectation): ApiExpectation {
  const out: ApiExpectation = {
    id: e.id,
    family: e.family,
    protocol: PROTOCOL_NAMES[e.tuple.protocol] ?? String(e.tuple.protocol),
    protocolNumber: e.tuple.protocol,
    expected: endpoint(e.tuple),
    mask: endpoint(e.mask),
    master: { id: master?.id ?? null, original: endpoint(e.master) },
    helper: e.helper ?? null,
    class: e.class,
    flags: FLAG_BITS.filter(([, bit]) => e.flags & bit).map(([name]) => name),
    zone: e.zone,
    timeout: e.timeout,
  };
  if (e.fn !== undefined) out.fn = e.fn;
  if (e.nat) {
    // nf_nat_ftp and friends save only the port when the address stays: the saved address is then all zero.
    out.nat = { dir: e.nat.dir === 0 ? 'original' : 'reply' };
    if (e.nat.tuple.src !== '0.0.0.0' && e.nat.tuple.src !== '::') out.nat.src = e.nat.tuple.src;
    if (e.nat.tuple.sport !== undefined) out.nat.sport = e.nat.tuple.sport;
  }
  return out;
}

export async function listExpectations(query: ExpectationListQuery): Promise<{ matched: number; items: ApiExpectation[] }> {
  const listed = await consoleService().conntrack.expectations.list(toExpectationFilter(query));
  return { matched: listed.length, items: listed.map(toApiExpectation) };
}

/** Deletes one expectation, named by its id (looked up live, then deleted by tuple + zone + id). */
export async function deleteExpectation(expectationId: number): Promise<{ id: number; deleted: true }> {
  const { expectations } = consoleService().conntrack;
  const found = (await expectations.list()).find((l) => l.expectation.id === expectationId);
  if (!found) throw new ExpectationGoneError(expectationId);
  const { family, tuple, zone, id: eid } = found.expectation;
  if ((await expectations.delete({ family, tuple, zone, id: eid })) === 'gone') throw new ExpectationGoneError(expectationId);
  return { id: expectationId, deleted: true };
}

export interface ExpectationsDeleteOutcome {
  master: number;
  matched: number;
  deleted: number;
  alreadyGone: number;
  failed: number;
}

/** Deletes every expectation of one master connection. */
export async function deleteExpectationsOfMaster(body: ExpectationDeleteBody): Promise<ExpectationsDeleteOutcome> {
  const { conntrack, snapshots } = consoleService();
  const snapshot = snapshots.peek();
  const row = snapshot ? snapshot.rowOfId(body.master) : -1;
  const master = snapshot && row >= 0 ? snapshot.connection(row) : await conntrack.findById(body.master);
  if (!master) throw new ConnectionGoneError(body.master);
  const result = await conntrack.expectations.deleteOfMaster({ family: master.family, original: master.original, zone: master.zone, id: body.master });
  return { master: body.master, matched: result.matched, deleted: result.deleted, alreadyGone: result.alreadyGone, failed: result.failed.length };
}

export async function flushExpectations(): Promise<{ deleted: number }> {
  return consoleService().conntrack.expectations.flush();
}

export const deleteExpectationAudit: AuditSpec<unknown, { id: number }, unknown> = {
  intent: ({ params }) => ({ action: 'expectation.delete', target: `expectation ${params.id}`, details: { id: params.id } }),
  result: () => ({ affected: 1 }),
};

export const deleteExpectationsAudit: AuditSpec<ExpectationDeleteBody, unknown, ExpectationsDeleteOutcome> = {
  intent: ({ input }) => ({ action: 'expectations.delete-master', target: `expectations of connection ${input.master}`, details: { master: input.master } }),
  result: (outcome) => ({ affected: outcome.deleted, details: { matched: outcome.matched, alreadyGone: outcome.alreadyGone, failed: outcome.failed } }),
};

export const flushExpectationsAudit: AuditSpec<unknown, unknown, { deleted: number }> = {
  intent: () => ({ action: 'expectations.flush', target: 'every expectation' }),
  result: (outcome) => ({ affected: outcome.deleted }),
};
