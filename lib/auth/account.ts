// A signed-in user changes their own password: the current one first (a wrong one counts toward the same
// throttle as a failed login, so the form cannot be used to guess it), the new one twice. The session that asked
// stays; every other session of the user ends (a stolen cookie stops working).
import { z } from 'zod';
import { AuthInputError, PermissionError } from './errors';
import { actorOf, clientAddress, type Principal } from './http';
import { throttledCheck } from './login';
import { PASSWORD_MAX, passwordSchema } from './roles';
import type { AuthService } from './service';

/** POST /api/auth/password */
export const passwordChangeSchema = z
  .strictObject({
    currentPassword: z.string({ message: 'currentPassword must be text' }).min(1, 'currentPassword must not be empty').max(PASSWORD_MAX, `currentPassword must be at most ${PASSWORD_MAX} characters`),
    newPassword: passwordSchema,
    confirmPassword: z.string({ message: 'confirmPassword must be text' }),
  })
  .refine((body) => body.confirmPassword === body.newPassword, { path: ['confirmPassword'], message: 'the two new passwords differ' })
  .refine((body) => body.newPassword !== body.currentPassword, { path: ['newPassword'], message: 'the new password must differ from the current one' });
export type PasswordChange = z.output<typeof passwordChangeSchema>;

export const WRONG_CURRENT_PASSWORD = 'the current password is wrong';

/** Returns how many other sessions ended. Throws AuthInputError (wrong current password) or ThrottledError. */
export async function changeOwnPassword(service: AuthService, request: Request, principal: Principal, body: PasswordChange): Promise<{ endedSessions: number }> {
  if (principal.kind !== 'session') throw new PermissionError(principal.role, 'change a password with an API token (log in with the browser, or use ctconsole user passwd)');
  // The same throttle as a login, for the same name and address: the form is no way around it.
  const attempt = { name: principal.name, address: clientAddress(request) };
  const { value: user } = await throttledCheck(service, { attempt, actor: actorOf(principal, request), action: 'user.passwd' }, () =>
    service.users.verify(principal.name, body.currentPassword),
  );
  if (!user) throw new AuthInputError('currentPassword', WRONG_CURRENT_PASSWORD);
  return { endedSessions: await service.users.setPassword(user.name, body.newPassword, { keepSession: principal.session.idHash }) };
}
