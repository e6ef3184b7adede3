// Users and tokens for tests, written straight into a server's data directory (the same library the CLI uses),
// and logging a Playwright page in through the API so its browser context carries the session cookies.
import type { Page } from '@playwright/test';
import { createAuthService, type AuthService, type Role } from '../../lib/auth';
import { openStore } from '../../lib/store';

export interface Credentials {
  name: string;
  password: string;
  role: Role;
}

/** Opens the auth service on a data directory (migrating it); close with service.db.close(). */
export function authAt(dataDir: string): AuthService {
  return createAuthService({ db: openStore(dataDir), dir: dataDir });
}

async function withAuth<T>(dataDir: string, action: (service: AuthService) => Promise<T> | T): Promise<T> {
  const service = authAt(dataDir);
  try {
    return await action(service);
  } finally {
    service.db.close();
  }
}

export const randomPassword = (): string => `pw-${Math.random().toString(36).slice(2)}-${Math.random().toString(36).slice(2)}`;

/** Creates a user with a random password (unless given) and returns its credentials. */
export function createUser(dataDir: string, options: { name: string; role: Role; password?: string }): Promise<Credentials> {
  const password = options.password ?? randomPassword();
  return withAuth(dataDir, async (service) => {
    await service.users.add({ name: options.name, role: options.role, password });
    return { name: options.name, password, role: options.role };
  });
}

/** Creates an API token and returns its secret (send as "Authorization: Bearer <secret>"). */
export function createToken(dataDir: string, options: { name: string; role: Role }): Promise<string> {
  return withAuth(dataDir, (service) => service.tokens.create({ ...options, createdBy: 'test' }).secret);
}

/** Logs the page's browser context in (POST /api/auth/login via page.request, which shares its cookies). */
export async function loginViaApi(page: Page, credentials: Pick<Credentials, 'name' | 'password'>): Promise<void> {
  const response = await page.request.post('/api/auth/login', { data: { name: credentials.name, password: credentials.password } });
  if (!response.ok()) throw new Error(`login as ${credentials.name} failed: ${response.status()} ${await response.text()}`);
}
