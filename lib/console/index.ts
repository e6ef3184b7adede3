// The console's server-side service layer: what app/api routes call. Knows HTTP shapes, not netlink.
export { authorize, type Permission, type Principal } from './auth';
export { deleteAudit, deleteOneAudit, flushAudit, type AuditIntent, type AuditSpec } from './audit';
export { MAX_BODY_BYTES, route, routePattern, type Access, type RouteContext, type RouteOptions } from './route';
export { errorResponse, SnapshotNotFoundError, ConnectionGoneError, SettingReadOnlyError, type ApiErrorBody } from './errors';
export { consoleService, createConsoleService, type ConsoleService } from './service';
export { SnapshotRegistry } from './snapshots';
export { apiConnectionBase, toApiConnection, snapshotSummary, apiStatusNames, type ApiConnectionBase, type ApiConnection, type ApiEndpoint, type ApiSnapshot, type ApiCounter, type ApiNatTarget } from './connection';
export * from './schemas';
export * from './connections';
export { listAudit, LOGIN_MAX_BODY_BYTES, loginResponse, logoutResponse, whoAmI } from './account';
export { healthResponse, type PublicHealth } from './health';
export { countTable, metricsText, startTableCounter, stopTableCounter } from './metrics';
export { monitoringAccess } from './monitoring';
export * from './history';
export * from './history-schemas';
export type * from './history-types';
export { csvField, exportResponse, CONNECTION_COLUMNS, HISTORY_COLUMNS, type ExportColumn, type ExportFormat } from './export';
export { listSettings, changeSetting, persistenceFor, settingChangeAudit, type ApiSetting, type ApiSettings, type SettingChange, type Persistence, type ReadOnlyReason } from './settings';
