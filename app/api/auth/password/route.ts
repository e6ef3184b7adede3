import { passwordChangeSchema } from '@/lib/auth';
import { changePassword, LOGIN_MAX_BODY_BYTES, passwordAudit, route } from '@/lib/console';

export const POST = route({
  permission: 'read',
  source: 'body',
  schema: passwordChangeSchema,
  maxBodyBytes: LOGIN_MAX_BODY_BYTES,
  audit: passwordAudit,
  handler: ({ input, request, principal }) => changePassword(request, principal, input),
});
