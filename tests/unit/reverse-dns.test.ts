// Reverse DNS against real resolvers on loopback (the lab's responder): PTR names for both families, "no name",
// the cache, the per-page limit, one lookup per address at a time, and a resolver that never answers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ptrName, startLabDns, type LabDns } from '@/lib/lab/dns';
import { ReverseDns } from '@/lib/names';

let answering: LabDns;
let silent: LabDns;

beforeAll(async () => {
  answering = await startLabDns({ names: { '192.0.2.10': 'echo.example.net', '2001:db8:ff::10': 'Echo6.Example.NET.' } });
  silent = await startLabDns({ silent: true });
});
afterAll(async () => {
  await answering?.close();
  await silent?.close();
});

describe('the lab resolver', () => {
  it('names addresses as PTR questions ask for them', () => {
    expect(ptrName('192.0.2.10')).toBe('10.2.0.192.in-addr.arpa');
    expect(ptrName('2001:db8::1')).toBe('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    expect(ptrName('laptop')).toBeUndefined();
  });
});

describe('ReverseDns', () => {
  it('answers PTR names for both families (lower-case, no trailing dot) and "no name" for the rest', async () => {
    const dns = new ReverseDns({ servers: [answering.server] });
    const answers = await dns.lookup(['192.0.2.10', '2001:db8:ff::10', '192.0.2.99']);
    expect(Object.fromEntries(answers)).toEqual({
      '192.0.2.10': { name: 'echo.example.net' },
      '2001:db8:ff::10': { name: 'echo6.example.net' },
      '192.0.2.99': { name: null },
    });
  });

  it('keeps answers: the second page asks the resolver nothing; an expired answer is asked again', async () => {
    let clock = 1_000_000;
    const dns = new ReverseDns({ servers: [answering.server], ttlMs: 3_600_000, now: () => clock });
    const asked = () => answering.questions.filter((q) => q === '10.2.0.192.in-addr.arpa').length;
    const before = asked();
    await dns.lookup(['192.0.2.10']);
    await dns.lookup(['192.0.2.10']);
    expect(dns.known('192.0.2.10')).toEqual({ name: 'echo.example.net' });
    expect(asked() - before).toBe(1);
    clock += 3_600_000;
    expect(dns.known('192.0.2.10')).toBeUndefined();
    await dns.lookup(['192.0.2.10']);
    expect(asked() - before).toBe(2);
  });

  it('starts at most `limit` lookups per call; the rest come back pending', async () => {
    const dns = new ReverseDns({ servers: [answering.server] });
    const addresses = Array.from({ length: 8 }, (_, i) => `198.51.100.${i + 1}`);
    const answers = await dns.lookup(addresses, 3);
    expect([...answers.values()].filter((a) => a === 'pending')).toHaveLength(5);
    expect([...answers.values()].filter((a) => a !== 'pending')).toHaveLength(3);
  });

  it('a resolver that never answers: each lookup gives up after the timeout, is remembered as failed, and the same address is asked once', async () => {
    const dns = new ReverseDns({ servers: [silent.server], timeoutMs: 300 });
    const before = silent.questions.length;
    const [first, second] = await Promise.all([dns.lookup(['192.0.2.77']), dns.lookup(['192.0.2.77'])]);
    expect(first.get('192.0.2.77')).toEqual({ name: null, failed: true });
    expect(second.get('192.0.2.77')).toEqual({ name: null, failed: true });
    expect(silent.questions.length - before).toBe(1);
    // Remembered: the next page does not wait for it again.
    expect(dns.known('192.0.2.77')).toEqual({ name: null, failed: true });
  });
});
