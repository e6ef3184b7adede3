// The integration project's global setup: one `next build` before any test file starts a server, so no test's
// hook spends its timeout waiting for a build, and no two files race to build the same checkout.
import { ensureBuild } from './server';

export default async function setup(): Promise<void> {
  await ensureBuild();
}
