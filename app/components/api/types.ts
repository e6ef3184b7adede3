// The JSON the console's API returns, as the API's own modules declare it. Type-only imports: nothing
// server-side reaches the browser bundle, and a change to a response shape breaks the build here.
import type { ApiConnection, ApiSnapshot } from '@/lib/console/connection';
import type { ConnectionDetails, ConnectionPage, ConnectionSummary, DeleteOutcome, ExternalAddress, TableStats } from '@/lib/console/connections';
import type { Me } from '@/lib/auth/login';
import type { AuditState } from '@/lib/console/audited';
import type { ApiErrorBody } from '@/lib/console/errors';
import type { ApiSetting, ApiSettings, SettingChange } from '@/lib/console/settings';
import type { ApiNamesStatus, ApiReverseNames, PageNames } from '@/lib/console/names';
import type { ApiRouter } from '@/lib/console/router-overview';
import type { CleanupOutcome } from '@/lib/console/cleanup';
import type { OverviewResponse as ApiOverview } from '@/lib/console/overview';
import type { ApiStatsSeries } from '@/lib/console/stats';
import type { ApiAuditEntry } from '@/lib/console/audit-text';

export type { ApiConnection, ApiSnapshot, ApiErrorBody, ApiSetting, Me, PageNames };

/** GET /api/connections */
export type ListResponse = ConnectionPage;
/** POST /api/connections/refresh */
export interface RefreshResponse {
  snapshot: ApiSnapshot;
}
/** GET /api/connections/{id}: the live entry, its master (RELATED) and its expectations. */
export type ConnectionResponse = ConnectionDetails;
/** What every audited action adds: whether its audit entry is complete or still waiting to be written. */
export interface Audited {
  audit?: AuditState;
}
/** POST /api/connections/delete (a dry run has no `audit`) */
export type DeleteResponse = DeleteOutcome & Audited;
/** POST /api/connections/flush */
export interface FlushResponse extends Audited {
  deleted: number;
}
/** GET /api/stats */
export type StatsResponse = TableStats;
/** GET /api/connections/external-addresses */
export interface ExternalAddressesResponse {
  items: ExternalAddress[];
}
/** GET /api/connections/summary */
export type SummaryResponse = ConnectionSummary;
/** GET /api/auth/me */
export interface MeResponse {
  me: Me;
}
/** GET /api/settings */
export type SettingsResponse = ApiSettings;
/** POST /api/settings */
export type SettingChangeResponse = SettingChange;

/** GET /api/router */
export type RouterResponse = ApiRouter;
/** POST /api/connections/cleanup */
export type CleanupResponse = CleanupOutcome;
/** GET /api/names */
export type NamesStatusResponse = ApiNamesStatus;
/** GET /api/names/reverse */
export type ReverseNamesResponse = ApiReverseNames;
/** GET /api/overview */
export type OverviewResponse = ApiOverview;
/** GET /api/stats/series */
export type StatsSeriesResponse = ApiStatsSeries;
/** GET /api/audit */
export interface AuditListResponse {
  matched: number;
  items: ApiAuditEntry[];
}
