// What the auth and audit routes do: log in and out (cookies), say who is asking, read the audit log.
import { authService, describePrincipal, login, logout, type AuditEntry, type AuditQuery, type LoginBody, type Me, type Principal } from '@/lib/auth';

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

export async function listAudit(query: AuditQuery): Promise<{ matched: number; items: AuditEntry[] }> {
  return authService().audit.query(query);
}
