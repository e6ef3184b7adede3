// Who may do what. Authentication arrives with a later issue (lib/auth); until then every request is allowed,
// but every route already declares the permission it needs, so that issue only has to fill in authorize().

/** What a route does to the table: read it, delete entries from it, or empty it. */
export type Permission = 'read' | 'delete' | 'flush';

/** Throws when the request may not do what the permission names; allows everything for now. */
export async function authorize(_request: Request, _permission: Permission): Promise<void> {}
