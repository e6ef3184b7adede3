// A lab whose router holds real expectations, in a process of its own: Playwright's loader cannot import lib/lab
// (the agent client needs import.meta), so end-to-end tests spawn this with tsx. It prints one JSON line (the
// namespaces and the FTP sessions), then keeps the lab until its stdin closes, and removes it on the way out.
import { createLab, pingRouter, startFtpSession, type FtpSession } from '../../lib/lab';

export interface HelperLabInfo {
  namespaces: { lan: string; router: string; internet: string };
  sessions: Omit<FtpSession, 'close'>[];
}

async function main(): Promise<void> {
  const lab = await createLab({ removeStale: false });
  const stop = () => void lab.destroy().then(() => process.exit(0));
  process.stdin.on('end', stop);
  process.on('SIGTERM', stop);
  const sessions = [await startFtpSession(lab, { client: 0 }), await startFtpSession(lab, { client: 1 }), await startFtpSession(lab, { family: 'ipv6' })];
  await pingRouter(lab, { keepAlive: true });
  const info: HelperLabInfo = { namespaces: lab.namespaces, sessions: sessions.map(({ close: _close, ...session }) => session) };
  process.stdout.write(`${JSON.stringify(info)}\n`);
  process.stdin.resume();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
