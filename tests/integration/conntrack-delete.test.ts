// Deleting single entries by tuple + id, refusing stale ids, and pipelined deletes of thousands of entries: the
// table afterwards (read with conntrack -L) holds exactly what it held before minus what we asked to delete.
import { describe, expect, it } from 'vitest';
import { ValidationError, type Connection, type EntryRef } from '@/lib/conntrack';
import { deleteWithConntrack, insertWithConntrack, listAll, type OracleEntry } from '../support/oracle';
import { idsOf, insertVaried, loadBulk, withTestNamespace } from './conntrack-setup';

const refOf = (c: Connection): EntryRef => ({ family: c.family, original: c.original, zone: c.zone, id: c.id });
const without = (entries: OracleEntry[], gone: Set<number | undefined>) => idsOf(entries.filter((e) => !gone.has(e.id)));

describe('delete by tuple and id', () => {
  it('deletes exactly the entry named, one per family and protocol kind, and get() then returns undefined', async () => {
    await withTestNamespace(async (ns, ct) => {
      await insertVaried(ns.name);
      const listed = await ct.list();
      // One entry of each family x protocol, including a zoned one and a NATed one.
      const victims = new Map<string, Connection>();
      for (const c of listed) victims.set(`${c.family}/${c.original.protocol}/${c.zone}/${c.reply.dst === c.original.src}`, c);
      expect(victims.size).toBeGreaterThan(8);
      let before = await listAll(ns.name);
      for (const victim of victims.values()) {
        expect(await ct.get(refOf(victim))).toMatchObject({ id: victim.id });
        expect(await ct.delete(refOf(victim))).toBe('deleted');
        const after = await listAll(ns.name);
        expect(idsOf(after), `after deleting ${JSON.stringify(victim.original)}`).toEqual(without(before, new Set([victim.id])));
        expect(await ct.get(refOf(victim))).toBeUndefined();
        expect(await ct.get({ ...refOf(victim), id: undefined })).toBeUndefined();
        // A second delete finds nothing.
        expect(await ct.delete(refOf(victim))).toBe('gone');
        before = after;
      }
    });
  });

  it('a stale id (the tuple now names a newer entry) deletes nothing and reports gone', async () => {
    await withTestNamespace(async (ns, ct) => {
      const spec = { protocol: 'tcp', src: '10.9.0.1', dst: '10.9.0.2', sport: 1234, dport: 80, state: 'ESTABLISHED', timeout: 600 } as const;
      await insertWithConntrack(ns.name, { protocol: 'udp', src: '10.9.0.3', dst: '10.9.0.4', sport: 1, dport: 2, timeout: 600 });
      await insertWithConntrack(ns.name, spec);
      const [old] = await ct.list({ protocol: 6 });
      // Re-create the same tuple until the kernel hands out another id (it hashes the object's address,
      // which a freed slot may reuse); a filler entry takes the old slot.
      let fresh: Connection | undefined;
      for (let attempt = 0; attempt < 5 && (!fresh || fresh.id === old.id); attempt++) {
        expect((await deleteWithConntrack(ns.name, ['-p', 'tcp', '-s', spec.src, '-d', spec.dst, '--sport', '1234', '--dport', '80'])).deleted).toBe(1);
        await insertWithConntrack(ns.name, { protocol: 'udp', src: '10.9.1.1', dst: '10.9.1.2', sport: 1000 + attempt, dport: 2, timeout: 600 });
        await insertWithConntrack(ns.name, spec);
        [fresh] = await ct.list({ protocol: 6 });
      }
      if (!fresh) throw new Error('the re-created entry is missing');
      expect(fresh.id).not.toBe(old.id);
      expect(fresh.original).toEqual(old.original);

      const before = await listAll(ns.name);
      expect(await ct.get(refOf(old))).toBeUndefined();
      expect(await ct.delete(refOf(old))).toBe('gone');
      expect(await ct.deleteMany([refOf(old)])).toEqual({ deleted: 0, alreadyGone: 1, failed: [], errnos: Int32Array.of(2) });
      expect(idsOf(await listAll(ns.name))).toEqual(idsOf(before));
      // The tuple alone finds the newer entry, and its own id deletes it.
      expect((await ct.get({ ...refOf(old), id: undefined }))?.id).toBe(fresh.id);
      expect(await ct.delete(refOf(fresh))).toBe('deleted');
      expect(idsOf(await listAll(ns.name))).toEqual(without(before, new Set([fresh.id])));
    });
  });

  it('refuses to delete without an id', async () => {
    await withTestNamespace(async (ns, ct) => {
      await insertVaried(ns.name);
      const [first] = await ct.list();
      await expect(ct.deleteMany([{ ...refOf(first), id: undefined }])).rejects.toBeInstanceOf(ValidationError);
      expect(await ct.count()).toBe((await listAll(ns.name)).length);
      expect((await listAll(ns.name)).some((e) => e.id === first.id)).toBe(true);
    });
  });

  it('counts each write as it begins and as it ends (the console joins a dump in flight only while it stays the same)', async () => {
    await withTestNamespace(async (ns, ct) => {
      await insertVaried(ns.name);
      const [first, second] = await ct.list({ protocol: 6 });
      const before = ct.writes;
      // Reads and refused requests leave it.
      await ct.snapshot();
      await ct.count();
      await expect(ct.deleteMany([{ ...refOf(first), id: undefined }])).rejects.toBeInstanceOf(ValidationError);
      await expect(ct.deleteMatching({})).rejects.toBeInstanceOf(ValidationError);
      expect(ct.writes).toBe(before);
      // Each write: odd while it runs, two more once done.
      const udp = { src: '10.77.0.1', dst: '10.77.0.2', protocol: 17, sport: 1, dport: 2 };
      const writes: [string, () => Promise<unknown>][] = [
        ['delete', () => ct.delete(refOf(first))],
        ['deleteMatching', () => ct.deleteMatching({ protocol: 17 })],
        ['create', () => ct.create([{ family: 'ipv4', original: udp, reply: { src: udp.dst, dst: udp.src, protocol: 17, sport: udp.dport, dport: udp.sport }, status: 0, zone: 0, timeout: 60 }])],
        ['flush', () => ct.flush('ipv6')],
        ['delete of one gone', () => ct.delete(refOf(first))],
      ];
      let expected = before;
      for (const [name, write] of writes) {
        const running = write();
        expect(ct.writes, `${name} running`).toBe(expected + 1);
        await running;
        expected += 2;
        expect(ct.writes, `${name} done`).toBe(expected);
      }
      expect((await listAll(ns.name)).some((e) => e.id === second.id)).toBe(true);
    });
  });
});

describe('deleteMany', () => {
  it('pipelined over a few thousand entries deletes exactly those and counts the ones already gone', async () => {
    await withTestNamespace(async (ns, ct) => {
      const created = await loadBulk(ns.name, 1500);
      await insertVaried(ns.name);
      const listed = await ct.list();
      const before = await listAll(ns.name);
      expect(listed.length).toBe(before.length);
      expect(before.length).toBeGreaterThanOrEqual(created);

      // Every other entry, in both families.
      const chosen = listed.filter((_c, i) => i % 2 === 0);
      expect(chosen.length).toBeGreaterThan(1500);
      // A few of them go first (conntrack -D by tuple), so deleteMany finds them already gone.
      const early = chosen.slice(0, 5);
      for (const c of early) {
        const args = ['-f', c.family, '-p', String(c.original.protocol), '-s', c.original.src, '-d', c.original.dst, '-w', String(c.zone)];
        if (c.original.sport !== undefined) args.push('--sport', String(c.original.sport), '--dport', String(c.original.dport));
        if (c.original.icmp) {
          const p = c.family === 'ipv4' ? '--icmp' : '--icmpv6';
          args.push(`${p}-type`, String(c.original.icmp.type), `${p}-code`, String(c.original.icmp.code), `${p}-id`, String(c.original.icmp.id));
        }
        expect((await deleteWithConntrack(ns.name, args)).deleted, JSON.stringify(args)).toBe(1);
      }

      const result = await ct.deleteMany(chosen.map(refOf));
      expect(result.failed).toEqual([]);
      expect(result.alreadyGone).toBe(early.length);
      expect(result.deleted).toBe(chosen.length - early.length);
      const after = await listAll(ns.name);
      expect(idsOf(after)).toEqual(without(before, new Set(chosen.map((c) => c.id))));
    });
  });
});
