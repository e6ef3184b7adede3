import { externalAddresses, externalAddressesQuerySchema, route } from '@/lib/console';

export const GET = route({
  permission: 'read',
  source: 'query',
  schema: externalAddressesQuerySchema,
  handler: ({ input }) => externalAddresses(input),
});
