import { changeSetting, emptySchema, listSettings, route, settingChangeAudit, settingChangeSchema } from '@/lib/console';

export const GET = route({ permission: 'read', source: 'query', schema: emptySchema, handler: async () => listSettings() });

export const POST = route({ permission: 'configure', source: 'body', schema: settingChangeSchema, audit: settingChangeAudit, handler: async ({ input }) => changeSetting(input) });
