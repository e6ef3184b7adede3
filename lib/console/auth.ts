// Who may do what: every API route names the permission it needs, and route.ts calls authorize() before
// anything else. Users, sessions, tokens and roles live in lib/auth; this is where the console asks it.
import { authenticate, authorize as allow, authService, checkCsrf, type AuthService, type Permission, type Principal } from '@/lib/auth';

export type { Permission, Principal };

/**
 * The principal behind the request when its role grants `permission`. Throws AuthenticationError (401),
 * PermissionError (403), CsrfError (403) or SetupRequiredError (503).
 */
export function authorize(request: Request, permission: Permission, service: AuthService = authService()): Principal {
  const principal = authenticate(request, service);
  allow(principal, permission);
  checkCsrf(request, principal, service);
  return principal;
}
