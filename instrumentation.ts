// Runs once when the server starts (Node.js runtime only): audit entries the previous run left pending are closed
// as interrupted, the connection-history recorder, the table-usage sampler and the cleanup policies start (each
// guards against a second start), and the health route is handed to the server entry.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { closeInterrupted } = await import('./lib/console/audit');
  const { logger } = await import('./lib/observability');
  // The pending entries are read before this returns (so before any request); counting them needs a dump.
  closeInterrupted().catch((error: unknown) => logger().error({ err: error }, 'could not close the audit entries of interrupted actions'));
  // The console service starts the history recorder: subscribing happens at once, and the seeding dump continues in
  // the background through the service's snapshot registry (a first refresh meanwhile joins it).
  const { consoleService } = await import('./lib/console/service');
  consoleService();
  // The table-usage sampler behind the Overview charts and the alarm.
  const { statsRuntime } = await import('./lib/console/stats');
  statsRuntime();
  // The cleanup policies (config `policies`) open the router view and follow its WAN events from now on.
  const { startPolicies } = await import('./lib/console/policy-actions');
  startPolicies();
  // GET /api/health is answered by scripts/serve.ts before Next's request path (lib/process/direct.ts says why).
  const health = await import('./app/api/health/route');
  const { registerDirectRoute } = await import('./lib/process/direct');
  registerDirectRoute('/api/health', (request) => health.GET(request, { params: Promise.resolve({}) }));
}
