// The route wrapper's input errors: every malformed request is a 400 naming the field and the reason, the handler
// never runs, and no stack trace or raw parser message reaches the client. On a real auth store in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { authService } from '@/lib/auth';
import { route } from '@/lib/console';

let dir: string;
let token: string;
const previousDir = process.env.CONNTRACK_DATA_DIR;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ctc-route-input-'));
  process.env.CONNTRACK_DATA_DIR = dir;
  await authService().users.add({ name: 'admin', role: 'admin', password: 'long-enough-pw' });
  token = authService().tokens.create({ name: 'script', role: 'admin', createdBy: 'test' }).secret;
});

afterAll(() => {
  if (previousDir === undefined) delete process.env.CONNTRACK_DATA_DIR;
  else process.env.CONNTRACK_DATA_DIR = previousDir;
  rmSync(dir, { recursive: true, force: true });
});

const context = { params: Promise.resolve({}) };
let ran = 0;
const queryRoute = route({
  permission: 'read',
  source: 'query',
  schema: z.strictObject({ limit: z.coerce.number().int('limit must be a whole number').min(1, 'limit must be >= 1').optional(), state: z.string().optional() }),
  handler: async ({ input }) => {
    ran++;
    return input;
  },
});
const bodyRoute = route({
  permission: 'read',
  source: 'body',
  schema: z.strictObject({ ids: z.array(z.number()).optional(), filter: z.strictObject({ src: z.string() }).optional() }),
  handler: async ({ input }) => {
    ran++;
    return input;
  },
  maxBodyBytes: 64,
});

const get = (query: string) => new Request(`http://console.test/api/x${query}`, { headers: { authorization: `Bearer ${token}` } });
const post = (body: string) => new Request('http://console.test/api/x', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body });

async function refused(answer: Response): Promise<{ field: string; message: string }> {
  expect(answer.status).toBe(400);
  const text = await answer.text();
  expect(text).not.toMatch(/\n\s+at |SyntaxError|ZodError/);
  return (JSON.parse(text) as { error: { field: string; message: string } }).error;
}

describe('input errors are 400 naming the field; the handler never runs', () => {
  it('query: an unknown field, a bad value, a value out of range', async () => {
    ran = 0;
    expect(await refused(await queryRoute(get('?nope=1'), context))).toMatchObject({ field: 'nope' });
    expect(await refused(await queryRoute(get('?limit=1.5'), context))).toMatchObject({ field: 'limit', message: expect.stringContaining('whole number') });
    expect(await refused(await queryRoute(get('?limit=0'), context))).toMatchObject({ field: 'limit', message: expect.stringContaining('>= 1') });
    expect(ran).toBe(0);
    expect((await queryRoute(get('?limit=5'), context)).status).toBe(200);
    expect(ran).toBe(1);
  });

  it('body: not JSON, too large, an unknown nested field, a wrong element type', async () => {
    ran = 0;
    expect(await refused(await bodyRoute(post('{"ids": [1,'), context))).toMatchObject({ field: 'body' });
    expect(await refused(await bodyRoute(post(JSON.stringify({ ids: Array.from({ length: 40 }, (_, i) => i) })), context))).toMatchObject({
      field: 'body',
      message: expect.stringContaining('64 bytes'),
    });
    expect(await refused(await bodyRoute(post('{"filter":{"src":"a","nope":1}}'), context))).toMatchObject({ field: 'filter.nope' });
    expect(await refused(await bodyRoute(post('{"ids":[1,"2"]}'), context))).toMatchObject({ field: 'ids.1' });
    expect(ran).toBe(0);
  });
});
