// Health checks as a registry: the console registers its own (netlink, database) and other parts of the server
// join with registerHealthCheck(name, fn) - the history recorder as "recorder", which is reported as
// "not_configured" until it does. GET /api/health runs them all.
import { processValue } from '@/lib/process';
export type CheckStatus = 'ok' | 'fail' | 'not_configured';

export interface CheckResult {
  status: 'ok' | 'fail';
  /** What was found, for an authenticated caller (never secrets). */
  detail?: string;
}

export type HealthCheck = () => Promise<CheckResult> | CheckResult;

export interface HealthReport {
  status: 'ok' | 'fail';
  checks: Record<string, { status: CheckStatus; detail?: string; ms?: number }>;
}

interface Holder {
  checks: Map<string, HealthCheck>;
  expected: Set<string>;
}
function holder(): Holder {
  return processValue<Holder>('health', () => ({ checks: new Map(), expected: new Set() }));
}

/** Adds (or replaces) the check `name`. Returns a function that removes it. */
export function registerHealthCheck(name: string, check: HealthCheck): () => void {
  holder().checks.set(name, check);
  return () => {
    if (holder().checks.get(name) === check) holder().checks.delete(name);
  };
}

/** Names a check that should exist: reported as "not_configured" until someone registers it. */
export function expectHealthCheck(name: string): void {
  holder().expected.add(name);
}

const failure = (error: unknown): CheckResult => {
  const code = (error as { code?: unknown }).code;
  return { status: 'fail', detail: `${error instanceof Error ? error.message : String(error)}${typeof code === 'string' && !String(error).includes(code) ? ` (${code})` : ''}` };
};

/** Runs every check (each within `timeoutMs`); the report fails when one check fails. */
export async function runHealthChecks(timeoutMs = 5000): Promise<HealthReport> {
  const { checks, expected } = holder();
  const names = [...new Set([...checks.keys(), ...expected])].sort();
  const results = await Promise.all(
    names.map(async (name) => {
      const check = checks.get(name);
      if (!check) return [name, { status: 'not_configured' as const }] as const;
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<CheckResult>((resolve) => {
        timer = setTimeout(() => resolve({ status: 'fail', detail: `no answer within ${timeoutMs} ms` }), timeoutMs);
      });
      const result = await Promise.race([Promise.resolve().then(check).catch(failure), timeout]);
      clearTimeout(timer);
      return [name, { ...result, ms: Math.round(performance.now() - started) }] as const;
    }),
  );
  const report: HealthReport = { status: 'ok', checks: {} };
  for (const [name, result] of results) {
    report.checks[name] = result;
    if (result.status === 'fail') report.status = 'fail';
  }
  return report;
}
