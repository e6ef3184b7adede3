import { loginBodySchema } from '@/lib/auth';
import { LOGIN_MAX_BODY_BYTES, loginResponse, route } from '@/lib/console';

export const POST = route({
  permission: 'anyone',
  source: 'body',
  schema: loginBodySchema,
  maxBodyBytes: LOGIN_MAX_BODY_BYTES,
  handler: ({ input, request }) => loginResponse(request, input),
});
