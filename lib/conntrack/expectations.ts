// The expectation table (NFNL_SUBSYS_CTNETLINK_EXP): list with the master connections resolved, delete one,
// delete those of one master, flush. Reached as `conntrack.expectations`.
import { AF, IPCTNL_MSG_EXP, expMsgType } from './constants';
import { NetlinkError } from './errors';
import { matchesExpectation, sameTuple, type ExpectationFilter } from './expectation-filter';
import { AttrWriter } from './netlink/attributes';
import { attrsOf, nfgenOf } from './netlink/message';
import type { BatchItem, NfnetlinkSocket } from './netlink/socket';
import { familyFromNumber, familyToNumber } from './codec/connection';
import { decodeExpectation, encodeExpectationIdentity } from './codec/expectation';
import type { Connection, Expectation, Family, Tuple } from './types';

/** What names one expectation exactly: its expected tuple, the zone (its master's) and the kernel's id. */
export interface ExpectationRef {
  family: Family;
  tuple: Tuple;
  zone?: number;
  id: number;
}

/** An expectation with the connection whose helper created it, when that is still in the table. */
export interface ListedExpectation {
  expectation: Expectation;
  master?: Connection;
}

export interface ExpectationDeleteResult {
  deleted: number;
  /** Expectations already gone (used, timed out, or replaced) by the time of the delete. */
  alreadyGone: number;
  failed: { ref: ExpectationRef; error: NetlinkError }[];
}

/** What the expectation table needs from the client: sockets, and connection lookups for the masters. */
export interface ExpectationHost {
  openSocket(): NfnetlinkSocket;
  get(entry: { family: Family; original: Tuple; zone?: number }): Promise<Connection | undefined>;
  dump(filter: { family?: Family; protocol?: number }): AsyncGenerator<Connection[]>;
}

const GET = expMsgType(IPCTNL_MSG_EXP.GET);
const DELETE = expMsgType(IPCTNL_MSG_EXP.DELETE);

const masterKey = (family: Family, t: Tuple): string => `${family} ${t.protocol} [${t.src}]:${t.sport ?? ''} [${t.dst}]:${t.dport ?? ''} ${t.icmp?.id ?? ''}`;

export class ConntrackExpectations {
  constructor(private readonly host: ExpectationHost) {}

  private async withSocket<T>(work: (socket: NfnetlinkSocket) => Promise<T>): Promise<T> {
    const socket = this.host.openSocket();
    try {
      return await work(socket);
    } finally {
      socket.close();
    }
  }

  /** Every expectation as the kernel reports it (zone 0: the kernel does not say; list() fills it in). */
  async dump(): Promise<Expectation[]> {
    const out: Expectation[] = [];
    await this.withSocket((socket) =>
      socket.dump({ type: GET, family: AF.UNSPEC }, undefined, 'dump expectations', (msg) => {
        const { start, end } = attrsOf(msg);
        out.push(decodeExpectation(msg.buf, start, end, familyFromNumber(nfgenOf(msg).family)));
      }),
    );
    return out;
  }

  /**
   * The master connection of each expectation, by its original tuple: a lookup in zone 0 (the common case),
   * then one dump of the master's protocol for any not found there (a master in another zone).
   */
  private async masters(expectations: readonly Expectation[]): Promise<Map<string, Connection>> {
    const found = new Map<string, Connection>();
    const missing = new Map<string, Expectation>();
    for (const exp of expectations) {
      const key = masterKey(exp.family, exp.master);
      if (found.has(key) || missing.has(key)) continue;
      const master = await this.host.get({ family: exp.family, original: exp.master, zone: 0 });
      if (master) found.set(key, master);
      else missing.set(key, exp);
    }
    for (const protocol of new Set([...missing.values()].map((exp) => exp.master.protocol))) {
      for await (const batch of this.host.dump({ protocol })) {
        for (const connection of batch) {
          const key = masterKey(connection.family, connection.original);
          const exp = missing.get(key);
          if (exp && sameTuple(exp.master, connection.original)) {
            found.set(key, connection);
            missing.delete(key);
          }
        }
      }
    }
    return found;
  }

  /** The expectations matching the filter, each with its master connection (and the master's zone). */
  async list(filter: ExpectationFilter = {}): Promise<ListedExpectation[]> {
    const expectations = await this.dump();
    const masters = await this.masters(expectations);
    const out: ListedExpectation[] = [];
    for (const expectation of expectations) {
      const master = masters.get(masterKey(expectation.family, expectation.master));
      if (master) expectation.zone = master.zone;
      if (!matchesExpectation(filter, expectation, master?.id)) continue;
      out.push(master ? { expectation, master } : { expectation });
    }
    return out;
  }

  /** Deletes one expectation by tuple + zone + id. 'gone' when it was not there (or the tuple names a newer one). */
  async delete(ref: ExpectationRef): Promise<'deleted' | 'gone'> {
    const result = await this.deleteMany([ref]);
    if (result.failed.length) throw result.failed[0].error;
    return result.deleted ? 'deleted' : 'gone';
  }

  /** Deletes expectations pipelined, each by tuple + zone + id. */
  async deleteMany(refs: readonly ExpectationRef[]): Promise<ExpectationDeleteResult> {
    const items: BatchItem[] = refs.map((ref) => {
      const w = new AttrWriter();
      encodeExpectationIdentity({ family: ref.family, tuple: ref.tuple, zone: ref.zone ?? 0, id: ref.id }, w);
      return { type: DELETE, family: familyToNumber(ref.family), attrs: w.finish() };
    });
    const errors = items.length ? await this.withSocket((socket) => socket.batch(items, 'delete expectations')) : new Int32Array(0);
    const result: ExpectationDeleteResult = { deleted: 0, alreadyGone: 0, failed: [] };
    errors.forEach((errno, i) => {
      if (errno === 0) result.deleted++;
      else if (errno === 2) result.alreadyGone++; // ENOENT
      else result.failed.push({ ref: refs[i], error: new NetlinkError({ errno, operation: 'delete expectation', subject: 'expectation' }) });
    });
    return result;
  }

  /**
   * Deletes every expectation of one master connection. The kernel has no request for that (a delete naming only
   * CTA_EXPECT_MASTER would flush them all): a dump, then a delete of each by tuple and id.
   */
  async deleteOfMaster(master: { family: Family; original: Tuple; zone?: number; id?: number }): Promise<ExpectationDeleteResult & { matched: number }> {
    const listed = await this.list({ family: master.family });
    const refs = listed
      .filter(({ expectation, master: m }) => sameTuple(expectation.master, master.original) && expectation.zone === (master.zone ?? 0) && (master.id === undefined || m?.id === master.id))
      .map(({ expectation }) => ({ family: expectation.family, tuple: expectation.tuple, zone: expectation.zone, id: expectation.id }));
    return { matched: refs.length, ...(await this.deleteMany(refs)) };
  }

  /** Deletes every expectation (IPCTNL_MSG_EXP_DELETE without attributes). Returns how many there were. */
  async flush(): Promise<{ deleted: number }> {
    const before = (await this.dump()).length;
    await this.withSocket((socket) => socket.request({ type: DELETE, family: AF.UNSPEC }, undefined, 'flush expectations'));
    return { deleted: before };
  }
}
