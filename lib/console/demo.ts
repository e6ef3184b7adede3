// The demo's uplink controls on the Router page: what happens to a real router's uplinks (a PPPoE reconnect, the
// carrier lost upstream, the link set down, a failover of the default route), done to the demo lab's router so the
// console can be watched reacting - stale entries, the notice, the cleanup. Only when the console manages a demo
// lab (CONNTRACK_DEMO_LAB, set by npm run demo); a real router has no such switch.
import { z } from 'zod';
import { NotFoundError } from '@/lib/auth';
import { config } from '@/lib/config';
import { attachLab, failover, replaceWanAddress, setWanCarrier, setWanLink, WANS } from '@/lib/lab/uplinks';
import type { AuditSpec } from './audit';

export const DEMO_ACTIONS = ['new-address', 'carrier-down', 'carrier-up', 'link-down', 'link-up', 'default-route'] as const;
export type DemoAction = (typeof DEMO_ACTIONS)[number];

/** POST /api/router/demo */
export const demoBodySchema = z.strictObject({
  wan: z.enum(WANS, { message: `wan must be one of ${WANS.join(', ')}` }),
  action: z.enum(DEMO_ACTIONS, { message: `action must be one of ${DEMO_ACTIONS.join(', ')}` }),
});
export type DemoBody = z.output<typeof demoBodySchema>;

export interface DemoOutcome {
  wan: DemoBody['wan'];
  action: DemoAction;
  /** What was done, in a sentence for the page. */
  done: string;
}

/** Whether the demo controls are on (the Router page shows them). */
export const demoEnabled = (): boolean => config().demo.lab !== undefined;

export async function runDemoAction({ wan, action }: DemoBody): Promise<DemoOutcome> {
  const name = config().demo.lab;
  if (!name) throw new NotFoundError('the demo controls are off: this console does not manage a demo lab');
  const lab = attachLab(name);
  let done: string;
  switch (action) {
    case 'new-address': {
      const next = await replaceWanAddress(lab, wan);
      done = `${wan} has new addresses ${next.ipv4} and ${next.ipv6} (as after a PPPoE reconnect)`;
      break;
    }
    case 'carrier-down':
    case 'carrier-up':
      await setWanCarrier(lab, wan, action === 'carrier-up');
      done = action === 'carrier-up' ? `${wan} has its carrier back` : `${wan} lost its carrier (the link stays up)`;
      break;
    case 'link-down':
    case 'link-up':
      await setWanLink(lab, wan, action === 'link-up');
      done = `${wan} is set ${action === 'link-up' ? 'up' : 'down'}`;
      break;
    case 'default-route':
      await failover(lab, { to: wan });
      done = `the default route goes through ${wan} now`;
      break;
  }
  return { wan, action, done };
}

export const demoAudit: AuditSpec<DemoBody, unknown, DemoOutcome> = {
  intent: ({ input }) => ({ action: 'demo.uplink', target: `uplink ${input.wan}`, details: { wan: input.wan, action: input.action } }),
  result: (outcome) => ({ affected: 0, details: { done: outcome.done } }),
};
