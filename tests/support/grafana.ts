// The Grafana dashboard's queries and the metric names they read (for the tests that hold it to /metrics).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

export const DASHBOARD_FILE = resolve(__dirname, '../../deploy/grafana/conntrack-console.json');

export interface Dashboard {
  templating: { list: { name: string; query?: unknown }[] };
  panels: { title: string; targets?: { expr: string }[] }[];
}

export const readDashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

/** PromQL words that are not metric names. */
const PROMQL_WORDS = new Set(['sum', 'by', 'without', 'rate', 'irate', 'increase', 'histogram_quantile', 'avg', 'max', 'min', 'count', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'le', 'bool', 'offset']);

/** The metric names an expression reads: identifiers outside label matchers, strings and ranges, that are not PromQL words or label names after by(...). */
export function metricsOf(expr: string): string[] {
  const bare = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/\[[^\]]*\]/g, '[]')
    .replace(/\b(by|without|on|ignoring)\s*\([^)]*\)/g, '');
  const names = new Set<string>();
  for (const [, word] of bare.matchAll(/([A-Za-z_:][A-Za-z0-9_:]*)/g)) {
    if (!PROMQL_WORDS.has(word) && !/^\d/.test(word)) names.add(word);
  }
  return [...names];
}

/** Every panel's queries. */
export const dashboardQueries = (d: Dashboard = readDashboard()): { panel: string; expr: string }[] => d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
