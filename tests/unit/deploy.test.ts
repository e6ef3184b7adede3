// The Prometheus rules (promtool check + promtool test over a few series) and the Grafana dashboard's shape.
// Whether each metric the dashboard queries is one the console exports is checked against a live /metrics in
// tests/integration/ops.test.ts.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dashboardQueries, metricsOf, readDashboard } from '../support/grafana';

const RULES_DIR = resolve(__dirname, '../../deploy/prometheus');
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = promtool.status === 0;
if (!hasPromtool) console.warn('skipped: promtool is not installed (Debian package "prometheus"; scripts/setup.sh installs it)');

function run(args: string[]): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd: RULES_DIR, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

describe.skipIf(!hasPromtool)('deploy/prometheus/conntrack-console.rules.yml (promtool)', () => {
  it('passes promtool check rules', () => {
    const r = run(['check', 'rules', 'conntrack-console.rules.yml']);
    expect(r.status, r.output).toBe(0);
    expect(r.output).toContain('SUCCESS: 5 rules found');
  });

  it('fires as promtool test rules expects over the test series (alarm gauge, drops, lost events, console down)', () => {
    const r = run(['test', 'rules', 'conntrack-console.rules.test.yml']);
    expect(r.status, r.output).toBe(0);
  });
});

describe('deploy/grafana/conntrack-console.json', () => {
  it('has an instance variable and every panel query is narrowed by it', () => {
    const dashboard = readDashboard();
    expect(dashboard.templating.list.map((v) => v.name)).toContain('instance');
    const queries = dashboardQueries(dashboard);
    expect(queries.length).toBeGreaterThan(5);
    for (const { panel, expr } of queries) expect(expr, panel).toContain('instance=~"$instance"');
  });

  it('reads metric names out of PromQL (what the /metrics check compares)', () => {
    expect(metricsOf('sum by (instance) (rate(conntrack_drop_total{instance=~"$instance"}[$__rate_interval]))')).toEqual(['conntrack_drop_total']);
    expect(metricsOf('histogram_quantile(0.95, sum by (le, route) (rate(conntrack_console_http_request_duration_seconds_bucket{a="b"}[5m])))')).toEqual(['conntrack_console_http_request_duration_seconds_bucket']);
    expect(metricsOf('up{job="x"} == 0 or conntrack_console_netlink_up == 0')).toEqual(['up', 'conntrack_console_netlink_up']);
  });
});
