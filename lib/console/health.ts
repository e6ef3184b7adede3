// GET /api/health: can the console do its job? netlink (a CT_GET_STATS request in the managed namespace, which
// needs CAP_NET_ADMIN there), the database (a real committed write: a transaction rolled back would not touch
// the disk), and every check registered by another part of the server (the history recorder: "recorder",
// reported as not_configured until it registers).
import { dataDir, migrate, sharedStore, type Migration } from '@/lib/store';
import { expectHealthCheck, registerHealthCheck, runHealthChecks, type CheckResult, type HealthReport } from '@/lib/observability';
import { monitoringAccess } from './monitoring';
import { consoleService } from './service';
import { processValue } from '@/lib/process';

const HEALTH_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'one row rewritten by each health check, to prove the database takes writes',
    sql: 'CREATE TABLE health_probe (id INTEGER PRIMARY KEY CHECK (id = 1), checked_at TEXT NOT NULL)',
  },
];

async function netlinkCheck(): Promise<CheckResult> {
  const entries = await consoleService().conntrack.count();
  return { status: 'ok', detail: `CT_GET_STATS answered: ${entries} entries` };
}

function databaseCheck(): CheckResult {
  const dir = dataDir();
  const db = sharedStore(dir);
  migrate(db, 'health', HEALTH_MIGRATIONS);
  db.prepare('INSERT INTO health_probe (id, checked_at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at').run(new Date().toISOString());
  return { status: 'ok', detail: `wrote to ${dir}` };
}

function registerBuiltins(): void {
  processValue('health-builtins', () => {
    registerHealthCheck('netlink', netlinkCheck);
    registerHealthCheck('database', databaseCheck);
    expectHealthCheck('recorder');
    return true;
  });
}

/** Without monitoring access: the overall status and each check's status only. */
export interface PublicHealth {
  status: HealthReport['status'];
  checks: Record<string, HealthReport['checks'][string]['status']>;
}

/** The health report (with details for a viewer or the metrics token) and its HTTP status: 200 or 503. */
export async function healthResponse(request: Request): Promise<Response> {
  registerBuiltins();
  const report = await runHealthChecks();
  const status = report.status === 'ok' ? 200 : 503;
  const headers = { 'Cache-Control': 'no-store' };
  if (monitoringAccess(request, { optional: true })) return Response.json(report, { status, headers });
  const checks = Object.fromEntries(Object.entries(report.checks).map(([name, check]) => [name, check.status]));
  return Response.json({ status: report.status, checks } satisfies PublicHealth, { status, headers });
}
