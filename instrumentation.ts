// Runs once when the server starts: the connection-history recorder starts with it (Node.js runtime only; the
// runtime module guards against a second start in the same process).
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { historyRuntime } = await import('./lib/history/runtime');
  // Subscribing happens at once; the seeding dump continues in the background.
  historyRuntime();
}
