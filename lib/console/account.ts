// What the auth and audit routes do: log in and out (cookies), say who is asking, read the audit log.
import { authService, changeOwnPassword, describePrincipal, login, logout, type AuditQuery, type LoginBody, type Me, type PasswordChange, type Principal } from '@/lib/auth';
import type { AuditSpec } from './audit';
import { withDescription, type ApiAuditEntry } from './audit-text';

/** The largest login body: a name and a password, with room to spare. */
export const LOGIN_MAX_BODY_BYTES = 16 * 1024;

function withCookies(body: object, cookies: string[]): Response {
  const headers = new Headers({ 'Cache-Control': 'no-store' });
  for (const value of cookies) headers.append('Set-Cookie', value);
  return Response.json(body, { headers });
}

export async function loginResponse(request: Request, body: LoginBody): Promise<Response> {
  const { me, cookies } = await login(authService(), request, body);
  return withCookies({ me }, cookies);
}

export async function logoutResponse(request: Request, principal: Principal): Promise<Response> {
  return withCookies({ loggedOut: true }, logout(authService(), request, principal));
}

export async function whoAmI(principal: Principal): Promise<{ me: Me }> {
  return { me: describePrincipal(principal) };
}

/** GET /api/audit: the entries, each with its description in words. */
export async function listAudit(query: AuditQuery): Promise<{ matched: number; items: ApiAuditEntry[] }> {
  const { matched, items } = authService().audit.query(query);
  return { matched, items: items.map(withDescription) };
}

/** POST /api/auth/password: the user's own password; their other sessions end. */
export async function changePassword(request: Request, principal: Principal, body: PasswordChange): Promise<{ changed: true; endedSessions: number }> {
  const { endedSessions } = await changeOwnPassword(authService(), request, principal, body);
  return { changed: true, endedSessions };
}

/** Audited like every configuring action; a wrong current password is recorded as failed (AuthInputError). */
export const passwordAudit: AuditSpec<PasswordChange, unknown, { endedSessions: number }> = {
  intent: () => ({ action: 'user.passwd', target: 'own password' }),
  result: (outcome) => ({ affected: outcome.endedSessions, details: { endedSessions: outcome.endedSessions } }),
};
