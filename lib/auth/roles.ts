// Roles and what each may do. A viewer reads (list, details, export, stats, history, settings); an admin does
// everything.
import { z } from 'zod';

export const ROLES = ['viewer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = ['read', 'delete', 'flush', 'clear-history', 'read-audit', 'configure'] as const;
/** What a route does: read the table, delete entries, empty it, clear the history, read the audit log, change the conntrack settings. */
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, ReadonlySet<Permission>> = {
  viewer: new Set(['read']),
  admin: new Set(PERMISSIONS),
};

export function roleAllows(role: Role, permission: Permission): boolean {
  return GRANTS[role].has(permission);
}

export const roleSchema = z.enum(ROLES, { message: `role must be one of ${ROLES.join(', ')}` });

export const NAME_MAX = 64;
/** User and token names: what a shell and a log line can show without quoting. */
export const nameSchema = z
  .string({ message: 'name must be text' })
  .min(1, 'name must not be empty')
  .max(NAME_MAX, `name must be at most ${NAME_MAX} characters`)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]*$/, 'name may use letters, digits and . _ @ - (starting with a letter or digit)');

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 1024;
export const passwordSchema = z
  .string({ message: 'password must be text' })
  .min(PASSWORD_MIN, `password must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `password must be at most ${PASSWORD_MAX} characters`);
