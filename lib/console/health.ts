// GET /api/health: can the console do its job? netlink (a CT_GET_STATS request in the managed namespace, which
// needs CAP_NET_ADMIN there), the database (the tables a destructive action needs: a read of each auth table and
// a committed write to the audit log, plus audit results still waiting to be written), and every check
// registered by another part of the server (the history recorder: "recorder", reported as not_configured until it
// registers; the cleanup policies: "policies", when any are configured). No check waits for a locked database: it says so instead. The table alarm rides along as `alarm`.
import { authService, probeAuthStorage } from '@/lib/auth';
import { expectHealthCheck, registerHealthCheck, runHealthChecks, type CheckResult, type HealthReport } from '@/lib/observability';
import { dataDir, describeStoreError } from '@/lib/store';
import { tableAlarm, type AlarmLevel } from './alarm';
import { unwrittenCompletions } from './audited';
import { monitoringAccess } from './monitoring';
import { consoleService } from './service';
import { statsRuntime } from './stats';
import { processValue } from '@/lib/process';

async function netlinkCheck(): Promise<CheckResult> {
  const entries = await consoleService().conntrack.count();
  return { status: 'ok', detail: `CT_GET_STATS answered: ${entries} entries` };
}

function databaseCheck(): CheckResult {
  const dir = dataDir();
  try {
    probeAuthStorage(authService().db);
  } catch (error) {
    return { status: 'fail', detail: `${describeStoreError(error)} (data directory ${dir})` };
  }
  const unwritten = unwrittenCompletions();
  if (unwritten) return { status: 'fail', detail: `${unwritten} audit results are not written yet (their entries read "pending"; retried every 2 s)` };
  return { status: 'ok', detail: `the audit log in ${dir} takes writes` };
}

function registerBuiltins(): void {
  processValue('health-builtins', () => {
    registerHealthCheck('netlink', netlinkCheck);
    registerHealthCheck('database', databaseCheck);
    expectHealthCheck('recorder');
    return true;
  });
}

/** Without monitoring access: the overall status, each check's status only, and the table alarm. */
export interface PublicHealth {
  status: HealthReport['status'];
  checks: Record<string, HealthReport['checks'][string]['status']>;
  alarm: AlarmLevel;
}

/** The health report (with details for a viewer or the metrics token) and its HTTP status: 200 or 503. */
export async function healthResponse(request: Request): Promise<Response> {
  registerBuiltins();
  statsRuntime();
  const report = await runHealthChecks();
  // A full table is the admin's to fix, not a console fault: the alarm never turns the status to 503.
  const alarm = tableAlarm().level;
  const status = report.status === 'ok' ? 200 : 503;
  const headers = { 'Cache-Control': 'no-store' };
  if (monitoringAccess(request, { optional: true })) return Response.json({ ...report, alarm }, { status, headers });
  const checks = Object.fromEntries(Object.entries(report.checks).map(([name, check]) => [name, check.status]));
  return Response.json({ status: report.status, checks, alarm } satisfies PublicHealth, { status, headers });
}
